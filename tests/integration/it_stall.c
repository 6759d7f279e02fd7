/* loop-stall (issue 4 item 2) on a generic epoll loop: the watchdog samples a loop thread that stays out
 * of its poll for stall_ms (100 ms) or longer. stall_spin spins 400 ms in spin_here once: exactly one
 * loop-stall, at least 300 ms long, whose most-sampled frame (or stack[0]) is spin_here, with its CPU
 * time. stall_clean waits a lot and works briefly: no finding. Margins are wide on purpose. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

static json_object *run(struct it_proc *p, const char *dir, const char *prog) {
  const char *argv[] = {prog, NULL};
  it_loopscope_run(p, dir, NULL, argv);
  json_object *root = it_report_json(dir);
  ck_assert(!json_object_get_boolean(it_need(root, "truncated")));
  return root;
}

START_TEST(spin_is_one_stall_in_spin_here) {
  char *dir = it_mkdir("it_stall_spin");
  struct it_proc p;
  json_object *root = run(&p, dir, LS_PROG_stall_spin);
  ck_assert_msg(strncmp(p.out, "spun", 4) == 0, "program printed: %s\nstderr:\n%s", p.out, p.err);
  json_object *f[4];
  size_t n = it_findings(root, "loop-stall", f, 4);
  ck_assert_msg(n == 1, "%zu loop-stall findings, expected one:\n%s", n, it_json_text(it_need(root, "findings")));
  const char *text = it_json_text(f[0]);
  ck_assert_msg(it_int(f[0], "duration_ns") >= 300000000, "too short:\n%s", text);
  ck_assert_msg(it_int(f[0], "cpu_ns") >= 0, "no cpu_ns:\n%s", text);
  const char *top = it_str(f[0], "samples.0.frame.function");
  const char *s0 = it_str(f[0], "stack.0.function");
  ck_assert_msg((top && strcmp(top, "spin_here") == 0) || (s0 && strcmp(s0, "spin_here") == 0),
                "spin_here is not the top sampled frame:\n%s", text);
  ck_assert_msg(it_int(f[0], "samples.0.count") >= 1, "no sample count:\n%s", text);
  json_object *all[4];
  ck_assert_uint_eq(it_findings(root, NULL, all, 4), 1);
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

START_TEST(clean_loop_has_no_stall) {
  char *dir = it_mkdir("it_stall_clean");
  struct it_proc p;
  json_object *root = run(&p, dir, LS_PROG_stall_clean);
  ck_assert_msg(p.code == 0, "exit %d\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(strncmp(p.out, "iterations=60", 13) == 0, "program printed: %s", p.out);
  json_object *f[4];
  size_t n = it_findings(root, NULL, f, 4);
  ck_assert_msg(n == 0, "%zu findings, expected none:\n%s", n, it_json_text(it_need(root, "findings")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* The stall signal never makes a wait return EINTR: stall_waits stalls its loop in a retry loop of
 * 1 ms waits (every hooked kind) with no signal handler of its own, sampled every millisecond. Plainly
 * none of them can return EINTR; under the shim none may either. The stall is still found and sampled:
 * one loop-stall, as long as the waits (600 x >= 1 ms) at least, with spin_here among its sampled
 * frames; the only other findings are the program's own sleeps on the loop thread (blocking-call). */
START_TEST(waits_in_a_stall_never_see_eintr) {
  char *dir = it_mkdir("it_stall_waits");
  struct it_proc p;
  const char *flags[] = {"--stall-sample=1ms", NULL};
  const char *argv[] = {LS_PROG_stall_waits, NULL};
  it_loopscope_run(&p, dir, flags, argv);
  ck_assert_msg(p.code == 0, "exit %d\nstdout: %s\nstderr:\n%s", p.code, p.out, p.err);
  unsigned eintr = 1;
  ck_assert_msg(sscanf(p.out, "eintr=%u", &eintr) == 1, "program printed: %s", p.out);
  ck_assert_msg(eintr == 0, "waits returned EINTR under the shim: %s", p.out);
  json_object *root = it_report_json(dir);
  ck_assert(!json_object_get_boolean(it_need(root, "truncated")));
  json_object *f[8];
  size_t n = it_findings(root, "loop-stall", f, 8);
  ck_assert_msg(n == 1, "%zu loop-stall findings, expected one:\n%s", n, it_json_text(it_need(root, "findings")));
  const char *text = it_json_text(f[0]);
  ck_assert_msg(it_int(f[0], "duration_ns") >= 600000000, "shorter than the waits:\n%s", text);
  bool spin = false;
  json_object *samples = it_need(f[0], "samples");
  for (size_t i = 0; i < json_object_array_length(samples); i++) {
    const char *fn = it_str(json_object_array_get_idx(samples, i), "frame.function");
    spin |= fn && strcmp(fn, "spin_here") == 0;
  }
  ck_assert_msg(spin, "spin_here was never sampled:\n%s", text);
  n = it_findings(root, NULL, f, 8);
  for (size_t i = 0; i < n && i < 8; i++) {
    const char *cat = it_str(f[i], "category"), *call = it_str(f[i], "call");
    bool sleep = strcmp(cat, "blocking-call") == 0 && call &&
                 (!strcmp(call, "nanosleep") || !strcmp(call, "clock_nanosleep") || !strcmp(call, "usleep"));
    ck_assert_msg(sleep || strcmp(cat, "loop-stall") == 0, "unexpected finding:\n%s", it_json_text(f[i]));
  }
  ck_assert_msg(n <= 4, "%zu findings:\n%s", n, it_json_text(it_need(root, "findings")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* The race itself, forced: nointr_waits gets the stall signal every 200 us while it makes 5 ms waits of
 * every hooked kind, with no handler of its own. None returns EINTR, none ends early (a wait cut short
 * waits the rest); a wait its own SIGUSR1 interrupts still returns EINTR (the program ends). */
START_TEST(stall_signal_inside_waits_is_never_seen) {
  char *dir = it_mkdir("it_stall_nointr");
  struct it_proc p;
  const char *argv[] = {LS_PROG_nointr_waits, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "exit %d\nstdout: %s\nstderr:\n%s", p.code, p.out, p.err);
  unsigned eintr = 1, shortw = 1;
  ck_assert_msg(sscanf(p.out, "eintr=%u short=%u", &eintr, &shortw) == 2, "program printed: %s", p.out);
  ck_assert_msg(eintr == 0 && shortw == 0, "waits cut short by the stall signal: %s", p.out);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_stall");
  TCase *tc = tcase_create("stall");
  tcase_add_test(tc, spin_is_one_stall_in_spin_here);
  tcase_add_test(tc, clean_loop_has_no_stall);
  tcase_add_test(tc, waits_in_a_stall_never_see_eintr);
  tcase_add_test(tc, stall_signal_inside_waits_is_never_seen);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
