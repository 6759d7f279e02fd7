/* Issue 3's libuv findings, each from its trigger program (tests/programs/uv_f_*.c) and proved quiet
 * on its clean twin: wrong-thread, loop-reentry, never-run, unclosed-resource (and "still open at
 * exit", which is not a finding unless asked for), unretrieved-error, pool-wait; and the loop
 * accounting of uv_slow_callback. Every trigger test checks the category, the callback's function
 * where there is one, and that stack[0] is the program's marked line; every clean program must give
 * no finding at all. Durations are busy-waits of 250 ms against 100 ms thresholds, never wall-clock
 * limits on how fast something ran. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/* Runs prog under `loopscope run FLAGS -- prog` in a private directory; the program must exit with
 * `want_code` (its own status: loopscope run returns it unchanged). */
static void run_prog(struct it_report_run *r, const char *name, const char *prog, const char *const flags[],
                     int want_code) {
  const char *argv[] = {prog, NULL};
  it_run_report(r, name, flags, argv, want_code);
}

/* The only finding of the report, of this category; fails the test otherwise. */
static json_object *only_finding(struct it_report_run *r, const char *category) {
  json_object *f[8];
  size_t n = it_findings(r->root, category, f, 8), all = it_findings(r->root, NULL, f + 1, 7);
  ck_assert_msg(n == 1 && all == 1, "%zu %s findings and %zu in all, expected exactly one %s:\n%s", n, category, all,
                category, it_json_text(it_need(r->root, "findings")));
  return f[0];
}

static void str_is(json_object *o, const char *path, const char *want) {
  const char *got = it_str(o, path);
  ck_assert_msg(got && strcmp(got, want) == 0, "'%s' is %s%s%s, expected \"%s\" in:\n%s", path, got ? "\"" : "",
                got ? got : "absent or null", got ? "\"" : "", want, it_json_text(o));
}

static void frame0_at(json_object *o, const char *src, int line, const char *function) {
  ck_assert_msg(it_frame_is(it_get(o, "stack.0"), src, line), "stack[0] is not %s:%d:\n%s", src, line, it_json_text(o));
  if (function) str_is(o, "stack.0.function", function);
}

/* ---- wrong-thread ---- */

#define SRC_WT "uv_f_wrong_thread.c"

START_TEST(wrong_thread_from_main_while_the_loop_thread_runs) {
  int line = it_marker_line(SRC_WT, "wrong");
  struct it_report_run r;
  run_prog(&r, "it_uv_f_wrong_thread", LS_PROG_uv_f_wrong_thread, NULL, 0);
  int loop_tid = 0;
  ck_assert_msg(sscanf(r.p.out, "loop_tid=%d", &loop_tid) == 1 && loop_tid > 0, "program printed: %s", r.p.out);
  ck_assert_msg(strstr(r.p.err, "uv_timer_start"), "no live wrong-thread line on stderr:\n%s", r.p.err);

  json_object *f = only_finding(&r, "wrong-thread");
  str_is(f, "severity", "error");
  str_is(f, "call", "uv_timer_start");
  frame0_at(f, SRC_WT, line, "main");
  json_object *proc = it_need(r.root, "processes.0");
  ck_assert_int_eq(it_int(f, "tid"), it_int(proc, "pid")); /* the offending call came from main */
  ck_assert_msg(json_object_array_length(it_need(proc, "loops")) == 1, "one loop expected:\n%s",
                it_json_text(it_need(proc, "loops")));
  int64_t loop_thread = it_int(proc, "loops.0.thread");
  ck_assert_int_eq(loop_thread, loop_tid);
  ck_assert_msg(it_int(f, "other_tid") == loop_thread, "other_tid is not the loop's thread %lld:\n%s",
                (long long)loop_thread, it_json_text(f));
  it_run_report_free(&r);
}
END_TEST

/* wrong_thread=abort: asyncio raises at once; the shim aborts at the call, after recording it. */
START_TEST(wrong_thread_abort_stops_at_the_call) {
  int line = it_marker_line(SRC_WT, "wrong");
  const char *flags[] = {"--wrong-thread=abort", NULL};
  struct it_report_run r;
  run_prog(&r, "it_uv_f_wrong_thread_abort", LS_PROG_uv_f_wrong_thread, flags, 128 + 6);
  ck_assert_msg(strstr(r.p.out, "loop_tid=") == NULL, "the program went on after the wrong call:\n%s", r.p.out);
  json_object *f = only_finding(&r, "wrong-thread");
  str_is(f, "call", "uv_timer_start");
  frame0_at(f, SRC_WT, line, "main");
  it_run_report_free(&r);
}
END_TEST

START_TEST(wrong_thread_clean_uses_uv_async_send) {
  struct it_report_run r;
  run_prog(&r, "it_uv_f_wrong_thread_clean", LS_PROG_uv_f_wrong_thread_clean, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "fired=1"), "program printed: %s", r.p.out);
  it_no_findings(&r, "uv_f_wrong_thread_clean");
  it_run_report_free(&r);
}
END_TEST

/* ---- loop-reentry ---- */

START_TEST(loop_reentry_from_its_own_callback) {
  int line = it_marker_line("uv_f_reentry.c", "reentry");
  struct it_report_run r;
  run_prog(&r, "it_uv_f_reentry", LS_PROG_uv_f_reentry, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "ticks=1"), "program printed: %s", r.p.out);
  json_object *f = only_finding(&r, "loop-reentry");
  str_is(f, "severity", "error");
  str_is(f, "call", "uv_run");
  frame0_at(f, "uv_f_reentry.c", line, "on_tick");
  it_run_report_free(&r);
}
END_TEST

START_TEST(loop_reentry_clean_runs_another_loop) {
  struct it_report_run r;
  run_prog(&r, "it_uv_f_reentry_clean", LS_PROG_uv_f_reentry_clean, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "a=1 b=1"), "program printed: %s", r.p.out);
  it_no_findings(&r, "uv_f_reentry_clean");
  ck_assert_msg(json_object_array_length(it_need(r.root, "processes.0.loops")) == 2, "two loops expected:\n%s",
                it_json_text(it_need(r.root, "processes.0.loops")));
  it_run_report_free(&r);
}
END_TEST

/* ---- never-run ---- */

#define SRC_NR "uv_f_never_run.c"

/* The never-run finding whose callback is `function`; exactly one. */
static json_object *never_run_of(json_object *root, const char *function) {
  json_object *f[8], *found = NULL;
  size_t n = it_findings(root, "never-run", f, 8), m = 0;
  for (size_t i = 0; i < n && i < 8; i++) {
    const char *fn = it_str(f[i], "callback.function");
    if (fn && strcmp(fn, function) == 0) found = f[i], m++;
  }
  ck_assert_msg(m == 1, "%zu never-run findings name %s, expected 1:\n%s", m, function,
                it_json_text(it_need(root, "findings")));
  return found;
}

START_TEST(never_run_work_and_fs_request_at_exit) {
  int work_line = it_marker_line(SRC_NR, "work"), stat_line = it_marker_line(SRC_NR, "stat");
  struct it_report_run r;
  run_prog(&r, "it_uv_f_never_run", LS_PROG_uv_f_never_run, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "submitted=2") && !strstr(r.p.out, "ran"), "program printed: %s", r.p.out);
  json_object *f[8];
  size_t n = it_findings(r.root, "never-run", f, 8), all = it_findings(r.root, NULL, f, 8);
  ck_assert_msg(n == 2 && all == 2, "%zu never-run findings, %zu in all, expected 2 never-run:\n%s", n, all,
                it_json_text(it_need(r.root, "findings")));

  json_object *work = never_run_of(r.root, "after_never");
  str_is(work, "severity", "warning");
  str_is(work, "callback.file", SRC_NR);
  frame0_at(work, SRC_NR, work_line, "main");
  const char *kind = it_str(work, "kind");
  ck_assert_msg(kind && strncmp(kind, "uv ", 3) == 0 && strstr(kind, "work"), "kind of the work request:\n%s",
                it_json_text(work));

  json_object *stat = never_run_of(r.root, "on_stat_never");
  str_is(stat, "severity", "warning");
  str_is(stat, "kind", "uv fs stat");
  frame0_at(stat, SRC_NR, stat_line, "main");
  it_run_report_free(&r);
}
END_TEST

START_TEST(never_run_clean_completes_before_close) {
  struct it_report_run r;
  run_prog(&r, "it_uv_f_never_run_clean", LS_PROG_uv_f_never_run_clean, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "after=1 stat=1"), "program printed: %s", r.p.out);
  it_no_findings(&r, "uv_f_never_run_clean");
  it_run_report_free(&r);
}
END_TEST

/* ---- unclosed-resource and still open at exit ---- */

static size_t still_open(struct it_report_run *r) {
  json_object *o = it_need(r->root, "processes.0.still_open_at_exit");
  ck_assert_msg(json_object_is_type(o, json_type_array), "still_open_at_exit is not an array:\n%s", it_json_text(o));
  return json_object_array_length(o);
}

START_TEST(unclosed_resource_when_loop_close_is_busy) {
  int line = it_marker_line("uv_f_unclosed.c", "init");
  struct it_report_run r;
  run_prog(&r, "it_uv_f_unclosed", LS_PROG_uv_f_unclosed, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "close=-16"), "program printed (UV_EBUSY is -16): %s", r.p.out);
  json_object *f = only_finding(&r, "unclosed-resource");
  str_is(f, "severity", "warning");
  str_is(f, "kind", "uv timer");
  frame0_at(f, "uv_f_unclosed.c", line, "main");
  /* already a finding: not listed again as merely open at exit */
  ck_assert_msg(still_open(&r) == 0, "the blocking handle is also under still_open_at_exit:\n%s",
                it_json_text(it_need(r.root, "processes.0.still_open_at_exit")));
  it_run_report_free(&r);
}
END_TEST

START_TEST(unclosed_resource_clean_walk_run_close_again) {
  struct it_report_run r;
  run_prog(&r, "it_uv_f_unclosed_clean", LS_PROG_uv_f_unclosed_clean, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "first=-16 second=0"), "program printed: %s", r.p.out);
  it_no_findings(&r, "uv_f_unclosed_clean");
  ck_assert_msg(still_open(&r) == 0, "handles listed as open at exit after a successful close:\n%s",
                it_json_text(it_need(r.root, "processes.0.still_open_at_exit")));
  it_run_report_free(&r);
}
END_TEST

/* Handles freed or unmapped without uv_close are still in libuv's queue: uv_loop_close reads only up
 * to the first of the program's handles, and loopscope must read no further (the program runs as it
 * does plainly), yet report every handle it saw opened and never closed. */
#define SRC_UF "uv_f_unclosed_freed.c"

START_TEST(unclosed_resource_of_freed_handles_reads_none_of_them) {
  const char *argv[] = {LS_PROG_uv_f_unclosed_freed, NULL};
  struct it_report_run r;
  it_run_report(&r, "it_uv_f_unclosed_freed", NULL, argv, 0);
  struct it_proc plain;
  it_run(&plain, r.dir, argv, NULL, NULL);
  ck_assert_msg(plain.code == 0 && strcmp(plain.out, "close=-16\n") == 0, "plain run: status %d, printed: %s",
                plain.code, plain.out);
  ck_assert_str_eq(r.p.out, plain.out);
  str_is(r.proc, "exit.how", "exit");

  json_object *f[8];
  size_t n = it_findings(r.root, "unclosed-resource", f, 8), all = it_findings(r.root, NULL, f + 4, 4);
  ck_assert_msg(n == 3 && all == 3, "%zu unclosed-resource findings, %zu in all, expected 3:\n%s", n, all,
                it_json_text(it_need(r.root, "findings")));
  static const char *const marks[] = {"alive", "unmapped", "freed"};
  for (size_t m = 0; m < 3; m++) {
    int line = it_marker_line(SRC_UF, marks[m]), found = 0;
    for (size_t i = 0; i < n; i++)
      if (it_frame_is(it_get(f[i], "stack.0"), SRC_UF, line)) {
        found++;
        str_is(f[i], "kind", "uv timer");
        str_is(f[i], "stack.0.function", "main");
      }
    ck_assert_msg(found == 1, "%d findings created at the %s line %d, expected 1:\n%s", found, marks[m], line,
                  it_json_text(it_need(r.root, "findings")));
  }
  ck_assert_msg(still_open(&r) == 0, "blocking handles also listed under still_open_at_exit:\n%s",
                it_json_text(it_need(r.root, "processes.0.still_open_at_exit")));
  it_proc_free(&plain);
  it_run_report_free(&r);
}
END_TEST

#define SRC_OE "uv_f_open_at_exit.c"

START_TEST(open_at_exit_is_listed_not_found) {
  int line = it_marker_line(SRC_OE, "init");
  struct it_report_run r;
  run_prog(&r, "it_uv_f_open_at_exit", LS_PROG_uv_f_open_at_exit, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "ran=1"), "program printed: %s", r.p.out);
  it_no_findings(&r, "uv_f_open_at_exit");
  /* exactly the program's timer: libuv's own handles of the default loop are not listed */
  json_object *list = it_need(r.root, "processes.0.still_open_at_exit");
  ck_assert_msg(still_open(&r) == 1, "one handle expected still open at exit:\n%s", it_json_text(list));
  json_object *h = it_need(list, "0");
  str_is(h, "kind", "uv timer");
  frame0_at(h, SRC_OE, line, "main");
  it_run_report_free(&r);
}
END_TEST

START_TEST(open_at_exit_is_a_finding_when_asked) {
  int line = it_marker_line(SRC_OE, "init");
  const char *flags[] = {"--report-open-at-exit=1", NULL};
  struct it_report_run r;
  run_prog(&r, "it_uv_f_open_at_exit_report", LS_PROG_uv_f_open_at_exit, flags, 0);
  json_object *f = only_finding(&r, "unclosed-resource");
  str_is(f, "kind", "uv timer");
  frame0_at(f, SRC_OE, line, "main");
  ck_assert_msg(still_open(&r) == 0, "the handle is a finding and also listed as open at exit:\n%s",
                it_json_text(it_need(r.root, "processes.0.still_open_at_exit")));
  it_run_report_free(&r);
}
END_TEST

/* A close libuv refused (uv_tcp_close_reset on a tcp never connected: UV_EBADF) closed nothing: the
 * handle is still open at exit, not closing. */
START_TEST(open_at_exit_after_a_refused_close_reset) {
  int line = it_marker_line("uv_close_reset_refused.c", "init");
  struct it_report_run r;
  run_prog(&r, "it_uv_close_reset_refused", LS_PROG_uv_close_reset_refused, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "reset=-9"), "program printed (UV_EBADF is -9): %s", r.p.out);
  it_no_findings(&r, "uv_close_reset_refused");
  json_object *list = it_need(r.root, "processes.0.still_open_at_exit");
  ck_assert_msg(still_open(&r) == 1, "one handle expected still open at exit:\n%s", it_json_text(list));
  json_object *h = it_need(list, "0");
  str_is(h, "kind", "uv tcp");
  frame0_at(h, "uv_close_reset_refused.c", line, "main");
  json_object *closing = it_get(h, "closing");
  ck_assert_msg(closing && !json_object_get_boolean(closing), "the handle is listed as closing:\n%s",
                it_json_text(h));
  it_run_report_free(&r);
}
END_TEST

/* ---- unretrieved-error ---- */

START_TEST(unretrieved_error_null_callback_write_to_closed_peer) {
  int line = it_marker_line("uv_f_unretrieved.c", "write");
  struct it_report_run r;
  run_prog(&r, "it_uv_f_unretrieved", LS_PROG_uv_f_unretrieved, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "write=0"), "program printed: %s", r.p.out);
  json_object *f = only_finding(&r, "unretrieved-error");
  str_is(f, "severity", "error");
  str_is(f, "call", "uv_write");
  int64_t status = it_int(f, "status");
  ck_assert_msg(status < 0, "status %lld is not a negative error (UV_EPIPE is -32):\n%s", (long long)status,
                it_json_text(f));
  frame0_at(f, "uv_f_unretrieved.c", line, "main");
  it_run_report_free(&r);
}
END_TEST

START_TEST(unretrieved_error_clean_write_succeeds) {
  struct it_report_run r;
  run_prog(&r, "it_uv_f_unretrieved_clean", LS_PROG_uv_f_unretrieved_clean, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "write=0 read=19"), "program printed: %s", r.p.out);
  it_no_findings(&r, "uv_f_unretrieved_clean");
  it_run_report_free(&r);
}
END_TEST

/* ---- pool-wait ---- */

#define SRC_PW "uv_f_pool_wait.c"

/* The site of this kind whose callback is `function`; exactly one. */
static json_object *site_of(json_object *proc, const char *kind, const char *function) {
  json_object *sites = it_need(proc, "sites"), *found = NULL;
  size_t m = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    const char *k = it_str(s, "kind"), *fn = it_str(s, "callback.function");
    if (k && fn && strcmp(k, kind) == 0 && strcmp(fn, function) == 0) found = s, m++;
  }
  ck_assert_msg(m == 1, "%zu '%s' sites for %s, expected 1:\n%s", m, kind, function, it_json_text(sites));
  return found;
}

START_TEST(pool_wait_with_one_pool_thread) {
  int line = it_marker_line(SRC_PW, "queue");
  struct it_report_run r;
  run_prog(&r, "it_uv_f_pool_wait", LS_PROG_uv_f_pool_wait, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "works=3 after=3"), "program printed: %s", r.p.out);
  /* only pool-wait: 750 ms inside slow_work is pool time, never a slow-callback */
  json_object *f = only_finding(&r, "pool-wait");
  str_is(f, "severity", "warning");
  str_is(f, "callback.function", "slow_work");
  frame0_at(f, SRC_PW, line, "main");
  /* the second work waited for the first's 250 ms, the third for 500 ms */
  int64_t dur = it_int(f, "duration_ns");
  ck_assert_msg(dur >= 200000000, "duration_ns %lld < 200 ms:\n%s", (long long)dur, it_json_text(f));
  ck_assert_msg(dur < 60000000000LL, "duration_ns %lld is absurd", (long long)dur);

  json_object *proc = it_need(r.root, "processes.0");
  json_object *work = site_of(proc, "uv work", "slow_work"), *wait = site_of(proc, "uv work wait", "slow_work");
  ck_assert_int_eq(it_int(work, "count"), 3);
  ck_assert_int_eq(it_int(wait, "count"), 3);
  ck_assert_int_ge(it_int(work, "max_ns"), 249750000); /* 0.1% for a TSC calibrated against the clock */
  ck_assert_int_ge(it_int(wait, "max_ns"), 200000000);
  frame0_at(work, SRC_PW, line, "main");
  frame0_at(wait, SRC_PW, line, "main");
  ck_assert_int_eq(it_int(proc, "pool.size"), 1);
  ck_assert_int_ge(it_int(proc, "pool.peak_queue"), 2); /* two wait while the first runs */
  it_run_report_free(&r);
}
END_TEST

START_TEST(pool_wait_clean_with_free_threads) {
  struct it_report_run r;
  run_prog(&r, "it_uv_f_pool_wait_clean", LS_PROG_uv_f_pool_wait_clean, NULL, 0);
  ck_assert_msg(strstr(r.p.out, "works=2 after=2"), "program printed: %s", r.p.out);
  it_no_findings(&r, "uv_f_pool_wait_clean");
  ck_assert_int_eq(it_int(r.root, "processes.0.pool.size"), 4);
  it_run_report_free(&r);
}
END_TEST

/* ---- loop accounting ---- */

START_TEST(loop_accounting_of_uv_slow_callback) {
  struct it_report_run r;
  run_prog(&r, "it_uv_f_accounting", LS_PROG_uv_slow_callback, NULL, 0);
  int slow = -1, fast = -1;
  ck_assert_msg(sscanf(r.p.out, "slow=%d fast=%d", &slow, &fast) == 2 && slow == 3, "program printed: %s", r.p.out);
  json_object *loop = it_need(r.root, "processes.0.loops.0");
  ck_assert_int_gt(it_int(loop, "poll_ns"), 0);
  /* three callbacks of 250 ms each (busy-waits), 0.1% allowed for the TSC's calibration */
  int64_t cb_ns = it_int(loop, "callback_ns");
  ck_assert_msg(cb_ns >= 3 * 249750000LL, "callback_ns %lld < 3 x 250 ms:\n%s", (long long)cb_ns, it_json_text(loop));
  ck_assert_msg(cb_ns < 60000000000LL, "callback_ns %lld is absurd", (long long)cb_ns);
  it_run_report_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_uv_findings");
  TCase *tc = it_tcase(s, "wrong_thread");
  tcase_add_test(tc, wrong_thread_from_main_while_the_loop_thread_runs);
  tcase_add_test(tc, wrong_thread_abort_stops_at_the_call);
  tcase_add_test(tc, wrong_thread_clean_uses_uv_async_send);
  tc = it_tcase(s, "loop_reentry");
  tcase_add_test(tc, loop_reentry_from_its_own_callback);
  tcase_add_test(tc, loop_reentry_clean_runs_another_loop);
  tc = it_tcase(s, "never_run");
  tcase_add_test(tc, never_run_work_and_fs_request_at_exit);
  tcase_add_test(tc, never_run_clean_completes_before_close);
  tc = it_tcase(s, "unclosed_resource");
  tcase_add_test(tc, unclosed_resource_when_loop_close_is_busy);
  tcase_add_test(tc, unclosed_resource_clean_walk_run_close_again);
  tcase_add_test(tc, unclosed_resource_of_freed_handles_reads_none_of_them);
  tcase_add_test(tc, open_at_exit_is_listed_not_found);
  tcase_add_test(tc, open_at_exit_is_a_finding_when_asked);
  tcase_add_test(tc, open_at_exit_after_a_refused_close_reset);
  tc = it_tcase(s, "unretrieved_error");
  tcase_add_test(tc, unretrieved_error_null_callback_write_to_closed_peer);
  tcase_add_test(tc, unretrieved_error_clean_write_succeeds);
  tc = it_tcase(s, "pool_wait");
  tcase_add_test(tc, pool_wait_with_one_pool_thread);
  tcase_add_test(tc, pool_wait_clean_with_free_threads);
  tc = it_tcase(s, "loop_accounting");
  tcase_add_test(tc, loop_accounting_of_uv_slow_callback);
  return it_main(s);
}
