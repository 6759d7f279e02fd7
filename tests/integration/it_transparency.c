/* The shim is transparent: exit status, stdout and stderr of a program are the same plain, under
 * LD_PRELOAD=libloopscope.so, and under `loopscope run` (once loopscope's own lines, which start with
 * "loopscope", are taken out of stderr). A program killed by a signal keeps it: `loopscope run` exits
 * 128+N, as a shell reports it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

struct variant {
  struct it_proc plain, preload, run;
};

static void run_three(struct variant *v, const char *name, const char *const argv[], const char *stdin_path) {
  char *dir = it_mkdir(name);
  it_run(&v->plain, dir, argv, NULL, stdin_path);

  char *opts;
  ck_assert_int_ge(asprintf(&opts, "LOOPSCOPE_OPTIONS=log_path=%s/preload.%%p.lsr", dir), 0);
  const char *env[] = {"LD_PRELOAD=" LS_PRELOAD, opts, NULL};
  it_run(&v->preload, dir, argv, env, stdin_path);
  free(opts);

  const char *largv[64];
  char *out;
  ck_assert_int_ge(asprintf(&out, "%s/report.%%p.%%s.lsr", dir), 0);
  size_t n = 0;
  largv[n++] = LS_CLI;
  largv[n++] = "run";
  largv[n++] = "-o";
  largv[n++] = out;
  largv[n++] = "--";
  for (size_t i = 0; argv[i]; i++) largv[n++] = argv[i];
  largv[n] = NULL;
  it_run(&v->run, dir, largv, NULL, stdin_path);
  free(out);
  it_done(dir);
}

static void assert_same(const char *name, const char *how, const struct it_proc *plain, const struct it_proc *other) {
  ck_assert_msg(plain->code == other->code, "%s %s: exit status %d, plain %d\nstderr:\n%s", name, how, other->code,
                plain->code, other->err);
  ck_assert_msg(plain->outlen == other->outlen && memcmp(plain->out, other->out, plain->outlen) == 0,
                "%s %s: stdout differs\n--- plain:\n%s\n--- %s:\n%s", name, how, plain->out, how, other->out);
  char *a = it_without_loopscope_lines(plain->err), *b = it_without_loopscope_lines(other->err);
  ck_assert_msg(strcmp(a, b) == 0, "%s %s: stderr differs (lines starting 'loopscope' removed)\n--- plain:\n%s\n--- %s:\n%s",
                name, how, a, how, b);
  free(a);
  free(b);
}

static void check_program(const char *name, const char *const argv[], const char *stdin_path) {
  struct variant v;
  run_three(&v, name, argv, stdin_path);
  /* under the bare shim even a signal death is identical */
  ck_assert_int_eq(v.preload.status, v.plain.status);
  assert_same(name, "LD_PRELOAD", &v.plain, &v.preload);
  assert_same(name, "loopscope run", &v.plain, &v.run);
  ck_assert_msg(!v.run.signaled, "%s: loopscope run itself died of signal %d", name, v.run.sig);
  it_proc_free(&v.plain);
  it_proc_free(&v.preload);
  it_proc_free(&v.run);
}

START_TEST(libuv_programs) {
  const char *slow[] = {LS_PROG_uv_slow_callback, NULL};
  check_program("it_transp_slow", slow, NULL);
  const char *quiet[] = {LS_PROG_uv_quiet_callback, NULL};
  check_program("it_transp_quiet", quiet, NULL);
  const char *plugin[] = {LS_PROG_dlopen_local, NULL};
  check_program("it_transp_plugin", plugin, NULL);
}
END_TEST

/* Handles and events whose memory the program freed or unmapped without closing them: libuv's
 * uv_loop_close and libevent's exit read none of them, and neither may the shim. */
START_TEST(freed_handles_and_events) {
  const char *uv[] = {LS_PROG_uv_f_unclosed_freed, NULL};
  check_program("it_transp_uv_freed", uv, NULL);
  const char *ev[] = {LS_PROG_ev_f_freed_at_exit, NULL};
  check_program("it_transp_ev_freed", ev, NULL);
}
END_TEST

START_TEST(thread_programs) {
  const char *clean[] = {LS_PROG_thread_clean, NULL};
  check_program("it_transp_threads", clean, NULL);
  const char *unretrieved[] = {LS_PROG_thread_unretrieved, NULL};
  check_program("it_transp_unretrieved", unretrieved, NULL);
}
END_TEST

START_TEST(arguments_and_status) {
  const char *args[] = {LS_PROG_exit_with, "0", "two words", "", "--", "-o", "x'y\"z", "%p", NULL};
  check_program("it_transp_args", args, NULL);
  const char *three[] = {LS_PROG_exit_with, "3", NULL};
  struct variant v;
  run_three(&v, "it_transp_three", three, NULL);
  ck_assert_int_eq(v.plain.code, 3);
  ck_assert_int_eq(v.preload.code, 3);
  ck_assert_int_eq(v.run.code, 3);
  assert_same("exit_with 3", "loopscope run", &v.plain, &v.run);
  it_proc_free(&v.plain);
  it_proc_free(&v.preload);
  it_proc_free(&v.run);
}
END_TEST

START_TEST(killed_by_sigterm) {
  const char *term[] = {LS_PROG_exit_with, "TERM", NULL};
  struct variant v;
  run_three(&v, "it_transp_term", term, NULL);
  ck_assert(v.plain.signaled && v.plain.sig == 15);
  ck_assert_msg(v.preload.signaled && v.preload.sig == 15, "under LD_PRELOAD: status 0x%x", v.preload.status);
  ck_assert_msg(!v.run.signaled && v.run.code == 128 + 15, "loopscope run: %s %d, expected exit status 143",
                v.run.signaled ? "signal" : "exit status", v.run.signaled ? v.run.sig : v.run.code);
  assert_same("exit_with TERM", "loopscope run", &v.plain, &v.run);
  it_proc_free(&v.plain);
  it_proc_free(&v.preload);
  it_proc_free(&v.run);
}
END_TEST

START_TEST(stdin_passes_through) {
  char *dir = it_mkdir("it_transp_stdin");
  char *in;
  ck_assert_int_ge(asprintf(&in, "%s/input", dir), 0);
  static char data[200000];
  for (size_t i = 0; i < sizeof(data); i++) data[i] = (char)('a' + i % 26);
  data[777] = '\n';
  it_write_file(in, data, sizeof(data));
  const char *cat[] = {LS_PROG_exit_with, "stdin", "4", NULL};
  struct variant v;
  run_three(&v, "it_transp_stdin", cat, in);
  ck_assert_int_eq(v.plain.code, 4);
  ck_assert_uint_eq(v.plain.outlen, sizeof(data));
  assert_same("exit_with stdin", "LD_PRELOAD", &v.plain, &v.preload);
  assert_same("exit_with stdin", "loopscope run", &v.plain, &v.run);
  it_proc_free(&v.plain);
  it_proc_free(&v.preload);
  it_proc_free(&v.run);
  free(in);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_transparency");
  TCase *tc = tcase_create("transparency");
  tcase_add_test(tc, libuv_programs);
  tcase_add_test(tc, freed_handles_and_events);
  tcase_add_test(tc, thread_programs);
  tcase_add_test(tc, arguments_and_status);
  tcase_add_test(tc, killed_by_sigterm);
  tcase_add_test(tc, stdin_passes_through);
  tcase_set_timeout(tc, 600);
  suite_add_tcase(s, tc);
  return it_main(s);
}
