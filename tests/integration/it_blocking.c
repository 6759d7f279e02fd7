/* blocking-call, the calls that block by nature (issue 4, item 3): made by the program on a loop
 * thread inside a callback they are reported, one finding per (call, calling line), counted as often
 * as the program made them; made anywhere else, in a non-blocking form, or by the loop library itself
 * (libuv reaping a child with waitpid) they are not. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

#define SRC "blk_sleep.c"

/* The one blocking-call finding about `call`; fails the test unless there is exactly one. */
static json_object *finding_for(json_object *root, const char *call) {
  json_object *f[16], *found = NULL;
  size_t n = it_findings(root, "blocking-call", f, 16), m = 0;
  for (size_t i = 0; i < n && i < 16; i++) {
    const char *c = it_str(f[i], "call");
    if (c && strcmp(c, call) == 0) found = f[i], m++;
  }
  ck_assert_msg(m == 1, "%zu blocking-call findings about %s(), expected 1:\n%s", m, call,
                it_json_text(it_need(root, "findings")));
  return found;
}

static void check_common(json_object *f, const char *call, int count) {
  const char *text = it_json_text(f);
  char want[96];
  snprintf(want, sizeof(want), "Blocking call %s() made on the loop thread", call);
  ck_assert_str_eq(it_str(f, "severity"), "warning");
  ck_assert_msg(it_str(f, "message") && strstr(it_str(f, "message"), want), "message:\n%s", text);
  ck_assert_msg(it_int(f, "count") == count, "count %lld, the program made %d calls:\n%s",
                (long long)it_int(f, "count"), count, text);
  ck_assert_msg(it_int(f, "duration_ns") > 0 && it_int(f, "total_ns") >= it_int(f, "duration_ns"),
                "durations:\n%s", text);
}

START_TEST(sleep_and_fsync_in_a_callback) {
  int usleep_line = it_marker_line(SRC, "usleep"), fsync_line = it_marker_line(SRC, "fsync");
  int uv_sleep_line = it_marker_line(SRC, "uv_sleep");
  char *dir = it_mkdir("it_blocking_sleep");
  struct it_proc p;
  const char *argv[] = {LS_PROG_blk_sleep, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "loopscope run exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  int usleeps = -1, fsyncs = -1, uv_sleeps = -1;
  ck_assert_msg(sscanf(p.out, "usleep=%d fsync=%d uv_sleep=%d", &usleeps, &fsyncs, &uv_sleeps) == 3,
                "program printed: %s", p.out);
  ck_assert_msg(strstr(p.err, "Blocking call usleep() made on the loop thread"), "no live line on stderr:\n%s", p.err);

  json_object *root = it_report_json(dir);
  json_object *all[8];
  size_t n = it_findings(root, NULL, all, 8);
  ck_assert_msg(n == 3, "%zu findings, expected usleep, fsync and nanosleep (uv_sleep):\n%s", n,
                it_json_text(it_need(root, "findings")));

  json_object *f = finding_for(root, "usleep");
  check_common(f, "usleep", usleeps);
  ck_assert_msg(it_frame_is(it_get(f, "stack.0"), SRC, usleep_line), "stack[0] is not %s:%d:\n%s", SRC,
                usleep_line, it_json_text(f));
  ck_assert_str_eq(it_str(f, "stack.0.function"), "on_tick");
  /* usleep(20000) sleeps at least 20 ms each time; the shim's clock may be the TSC calibrated against
   * CLOCK_MONOTONIC: a 5% margin below that floor, no ceiling. */
  ck_assert_msg(it_int(f, "total_ns") >= (int64_t)usleeps * 19000000, "total_ns:\n%s", it_json_text(f));

  f = finding_for(root, "fsync");
  check_common(f, "fsync", fsyncs);
  ck_assert_msg(it_frame_is(it_get(f, "stack.0"), SRC, fsync_line), "stack[0] is not %s:%d:\n%s", SRC,
                fsync_line, it_json_text(f));

  /* uv_sleep is libuv's, but blocks at the program's request: reported, the program's line under libuv's frame */
  f = finding_for(root, "nanosleep");
  check_common(f, "nanosleep", uv_sleeps);
  ck_assert_msg(it_frame_is(it_get(f, "stack.1"), SRC, uv_sleep_line), "stack[1] is not %s:%d:\n%s", SRC,
                uv_sleep_line, it_json_text(f));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

static void run_clean(const char *name, const char *prog, const char *expect_out) {
  char *dir = it_mkdir(name);
  struct it_proc p;
  const char *argv[] = {prog, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "loopscope run exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  ck_assert_msg(strstr(p.out, expect_out), "program printed %s, expected %s", p.out, expect_out);
  ck_assert_msg(!strstr(p.err, "Blocking call"), "a live blocking-call line:\n%s", p.err);
  json_object *root = it_report_json(dir);
  json_object *f[4];
  size_t n = it_findings(root, NULL, f, 4);
  ck_assert_msg(n == 0, "%zu findings, expected none:\n%s", n, it_json_text(it_need(root, "findings")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}

START_TEST(blocking_off_the_loop_thread_is_quiet) { run_clean("it_blocking_clean", LS_PROG_blk_clean, "worker=5 "); }
END_TEST

START_TEST(libuv_reaping_its_child_is_quiet) { run_clean("it_blocking_spawn", LS_PROG_blk_spawn, "exited=1 status=3"); }
END_TEST

/* libuv's own fsync for a synchronous uv_fs_fsync: one finding, the adapter's, not a second for fsync. */
/* The calls that block only sometimes: each reported at its line when it slept or waited; the allowed
 * function's read is not; the regular file is counted on the loop's line, not reported. The callback
 * is slow as a result (it waits ~170 ms): its slow-callback finding explains the stall, so there is
 * no loop-stall finding. */
START_TEST(blocking_fd_and_lock_waits_are_reported) {
  const char *src = "blk_maybe.c";
  char *dir = it_mkdir("it_blocking_maybe");
  struct it_proc p;
  const char *flags[] = {"--allow-blocking=allowed_reader", NULL};
  const char *argv[] = {LS_PROG_blk_maybe, NULL};
  it_loopscope_run(&p, dir, flags, argv);
  ck_assert_msg(p.code == 0, "loopscope run exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  ck_assert_msg(strstr(p.out, "read=1 lock=1 cond=1 file=2"), "program printed: %s", p.out);
  json_object *root = it_report_json(dir);
  struct {
    const char *call, *marker, *function;
  } want[] = {{"read", "read", "read_waiting_for_writer"},
              {"pthread_mutex_lock", "lock", "lock_contended"},
              {"pthread_cond_timedwait", "cond", "wait_on_nobody"}};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    json_object *f = finding_for(root, want[i].call);
    check_common(f, want[i].call, 1);
    int line = it_marker_line(src, want[i].marker);
    ck_assert_msg(it_frame_is(it_get(f, "stack.0"), src, line), "stack[0] is not %s:%d:\n%s", src, line,
                  it_json_text(f));
    ck_assert_str_eq(it_str(f, "stack.0.function"), want[i].function);
  }
  json_object *all[8];
  size_t n = it_findings(root, "blocking-call", all, 8);
  ck_assert_msg(n == 3, "%zu blocking-call findings, expected 3 (allowed_reader's read is allowed):\n%s", n,
                it_json_text(it_need(root, "findings")));
  ck_assert_msg(it_findings(root, "loop-stall", all, 8) == 0, "a loop-stall beside the slow-callback:\n%s",
                it_json_text(it_need(root, "findings")));
  ck_assert_msg(it_findings(root, NULL, all, 8) == 4, "expected 3 blocking-call + 1 slow-callback:\n%s",
                it_json_text(it_need(root, "findings")));
  json_object *loop = it_need(root, "processes.0.loops.0");
  ck_assert_msg(it_int(loop, "file_io") >= 2 && it_int(loop, "file_io_ns") > 0, "file I/O not counted:\n%s",
                it_json_text(loop));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

START_TEST(non_blocking_io_and_blocking_workers_are_quiet) {
  run_clean("it_blocking_maybe_clean", LS_PROG_blk_maybe_clean, "ticks=5");
}
END_TEST

START_TEST(libuv_fsync_for_a_sync_request_is_reported_once) {
  char *dir = it_mkdir("it_blocking_uv_fs_sync");
  struct it_proc p;
  const char *argv[] = {LS_PROG_blk_uv_fs_sync, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "loopscope run exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  ck_assert_msg(strstr(p.out, "fsyncs=1"), "program printed %s", p.out);
  json_object *root = it_report_json(dir);
  json_object *all[4];
  size_t n = it_findings(root, NULL, all, 4);
  ck_assert_msg(n == 1, "%zu findings, expected the one uv_fs_fsync:\n%s", n, it_json_text(it_need(root, "findings")));
  json_object *f = finding_for(root, "uv_fs_fsync");
  ck_assert_int_eq(it_int(f, "count"), 1);
  ck_assert_msg(it_frame_is(it_get(f, "stack.0"), "blk_uv_fs_sync.c", it_marker_line("blk_uv_fs_sync.c", "uv_fs_fsync")),
                "stack[0]:\n%s", it_json_text(f));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* A synchronous uv_getaddrinfo of a name blocks the loop; of a number, or uv_random, does not. */
START_TEST(sync_name_lookup_is_reported_numbers_are_not) {
  char *dir = it_mkdir("it_blocking_uv_gai_sync");
  struct it_proc p;
  const char *argv[] = {LS_PROG_blk_uv_gai_sync, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "loopscope run exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  ck_assert_msg(strstr(p.out, "lookups=2 random=1"), "program printed %s", p.out);
  json_object *root = it_report_json(dir);
  json_object *all[4];
  size_t n = it_findings(root, NULL, all, 4);
  ck_assert_msg(n == 1, "%zu findings, expected the one uv_getaddrinfo of a name:\n%s", n,
                it_json_text(it_need(root, "findings")));
  json_object *f = finding_for(root, "uv_getaddrinfo");
  ck_assert_int_eq(it_int(f, "count"), 1);
  ck_assert_msg(it_frame_is(it_get(f, "stack.0"), "blk_uv_gai_sync.c", it_marker_line("blk_uv_gai_sync.c", "lookup")),
                "stack[0]:\n%s", it_json_text(f));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_blocking");
  TCase *tc = tcase_create("blocking_call");
  tcase_add_test(tc, sleep_and_fsync_in_a_callback);
  tcase_add_test(tc, blocking_off_the_loop_thread_is_quiet);
  tcase_add_test(tc, libuv_reaping_its_child_is_quiet);
  tcase_add_test(tc, libuv_fsync_for_a_sync_request_is_reported_once);
  tcase_add_test(tc, sync_name_lookup_is_reported_numbers_are_not);
  tcase_add_test(tc, blocking_fd_and_lock_waits_are_reported);
  tcase_add_test(tc, non_blocking_io_and_blocking_workers_are_quiet);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
