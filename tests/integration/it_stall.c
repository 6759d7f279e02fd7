/* loop-stall (issue 4 item 2) on a generic epoll loop: the watchdog samples a loop thread that stays out
 * of its poll for stall_ms (100 ms) or longer. stall_spin spins 400 ms in spin_here once: exactly one
 * loop-stall, at least 300 ms long, whose most-sampled frame (or stack[0]) is spin_here, with its CPU
 * time. stall_clean waits a lot and works briefly: no finding. Margins are wide on purpose. */
#define _GNU_SOURCE
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

int main(void) {
  Suite *s = suite_create("it_stall");
  TCase *tc = tcase_create("stall");
  tcase_add_test(tc, spin_is_one_stall_in_spin_here);
  tcase_add_test(tc, clean_loop_has_no_stall);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
