/* Threads that finished but nobody joined or detached: with an error result (-EIO) that is an
 * unretrieved-error, with an ordinary result an unjoined-thread; either names the start routine and
 * the pthread_create line. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

static void check_thread_finding(const char *name, const char *prog, const char *src, const char *category,
                                 const char *severity, const char *routine) {
  int line = it_marker_line(src, "create");
  char *dir = it_mkdir(name);
  struct it_proc p;
  const char *argv[] = {prog, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "%s exited %d\nstdout:\n%s\nstderr:\n%s", name, p.code, p.out, p.err);
  ck_assert_str_eq(p.out, "ended=1\n");
  json_object *root = it_report_json(dir);
  json_object *f[8];
  size_t n = it_findings(root, category, f, 8);
  ck_assert_msg(n == 1, "%s: %zu %s findings, expected 1:\n%s", name, n, category,
                it_json_text(it_need(root, "findings")));
  size_t nall = it_findings(root, NULL, f + 1, 7);
  ck_assert_msg(nall == 1, "%s: %zu findings in all, expected 1:\n%s", name, nall,
                it_json_text(it_need(root, "findings")));
  const char *text = it_json_text(f[0]);
  ck_assert_msg(it_str(f[0], "callback.function") && strcmp(it_str(f[0], "callback.function"), routine) == 0,
                "%s: the start routine is not named %s:\n%s", name, routine, text);
  ck_assert_msg(strcmp(it_base(it_str(f[0], "callback.file")), src) == 0, "%s: callback file:\n%s", name, text);
  ck_assert_msg(it_frame_is(it_get(f[0], "stack.0"), src, line), "%s: stack[0] is not %s:%d (pthread_create):\n%s",
                name, src, line, text);
  ck_assert_str_eq(it_str(f[0], "stack.0.function"), "main");
  ck_assert_str_eq(it_str(f[0], "severity"), severity);
  ck_assert_int_eq(it_int(f[0], "count"), 1);
  ck_assert_int_eq(it_int(f[0], "pid"), it_int(root, "processes.0.pid"));
  /* the main thread and the finished worker are both listed */
  json_object *threads = it_need(root, "processes.0.threads");
  ck_assert_msg(json_object_array_length(threads) >= 2, "%s: threads:\n%s", name, it_json_text(threads));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}

START_TEST(unretrieved_error) {
  check_thread_finding("it_thread_unretrieved", LS_PROG_thread_unretrieved, "thread_unretrieved.c",
                       "unretrieved-error", "error", "failing_worker");
}
END_TEST

START_TEST(unjoined_thread) {
  check_thread_finding("it_thread_unjoined", LS_PROG_thread_unjoined, "thread_unjoined.c", "unjoined-thread",
                       "warning", "lonely_worker");
}
END_TEST

/* Detached threads that end at once (often before their creator is back from pthread_create), half of
 * them detaching themselves: no finding, and every one is listed as detached. */
START_TEST(detached_burst) {
  struct it_report_run r;
  const char *argv[] = {LS_PROG_thread_detached_burst, NULL};
  it_run_report(&r, "it_thread_burst", NULL, argv, 0);
  ck_assert_str_eq(r.p.out, "detached=100 self=100\n");
  it_no_findings(&r, "thread_detached_burst");
  json_object *threads = it_need(r.proc, "threads");
  size_t n = json_object_array_length(threads), detached = 0;
  for (size_t i = 0; i < n; i++) {
    const char *state = it_str(json_object_array_get_idx(threads, i), "state");
    if (state && strcmp(state, "detached") == 0) detached++;
  }
  ck_assert_msg(detached == 200, "%zu of %zu threads listed as detached, expected 200:\n%s", detached, n,
                it_json_text(threads));
  it_run_report_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_threads");
  TCase *tc = tcase_create("threads");
  tcase_add_test(tc, unretrieved_error);
  tcase_add_test(tc, unjoined_thread);
  tcase_add_test(tc, detached_burst);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
