/* One callback function registered from two lines; only the timer from the first line takes 250 ms.
 * loopscope must report exactly one slow-callback, naming on_tick and the first registration line, and
 * its per-site counts must equal what the program itself counted. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

#define SRC "uv_slow_callback.c"

/* The site of on_tick registered at `line`; NULL when there is none. */
static json_object *site_at(json_object *proc, const char *function, int line, size_t *nmatch) {
  json_object *sites = it_need(proc, "sites"), *found = NULL;
  *nmatch = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    const char *fn = it_str(s, "callback.function");
    if (!fn || strcmp(fn, function) != 0) continue;
    if (!it_frame_is(it_get(s, "stack.0"), SRC, line)) continue;
    found = s;
    (*nmatch)++;
  }
  return found;
}

START_TEST(one_slow_callback_at_the_first_line) {
  int slow_line = it_marker_line(SRC, "slow"), fast_line = it_marker_line(SRC, "fast");
  char *dir = it_mkdir("it_slow_callback");
  struct it_proc p;
  const char *argv[] = {LS_PROG_uv_slow_callback, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "loopscope run exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  int slow_count = -1, fast_count = -1;
  ck_assert_msg(sscanf(p.out, "slow=%d fast=%d", &slow_count, &fast_count) == 2, "program printed: %s", p.out);
  ck_assert_int_gt(slow_count, 0);
  ck_assert_int_gt(fast_count, 0);
  /* logged live, as asyncio does */
  ck_assert_msg(strstr(p.err, "Executing <uv timer"), "no live slow-callback line on stderr:\n%s", p.err);

  json_object *root = it_report_json(dir);
  ck_assert_int_eq(it_int(root, "format"), 1);
  ck_assert(!json_object_get_boolean(it_need(root, "truncated")));

  json_object *f[8];
  size_t n = it_findings(root, "slow-callback", f, 8);
  ck_assert_msg(n == 1, "%zu slow-callback findings, expected 1:\n%s", n, it_json_text(it_need(root, "findings")));
  size_t nall = it_findings(root, NULL, f + 1, 7);
  ck_assert_msg(nall == 1, "%zu findings in all, expected only the slow callback:\n%s", nall,
                it_json_text(it_need(root, "findings")));
  json_object *finding = f[0];
  const char *text = it_json_text(finding);
  ck_assert_msg(it_str(finding, "callback.function") && strcmp(it_str(finding, "callback.function"), "on_tick") == 0,
                "callback is not on_tick:\n%s", text);
  ck_assert_msg(strcmp(it_base(it_str(finding, "callback.file")), SRC) == 0, "callback file:\n%s", text);
  ck_assert_msg(it_frame_is(it_get(finding, "stack.0"), SRC, slow_line),
                "stack[0] is not %s:%d (the first uv_timer_start):\n%s", SRC, slow_line, text);
  ck_assert_msg(it_str(finding, "stack.0.function") && strcmp(it_str(finding, "stack.0.function"), "main") == 0,
                "stack[0] is not in main:\n%s", text);
  ck_assert_str_eq(it_str(finding, "severity"), "warning");
  /* Each slow call busy-waits 250 ms on CLOCK_MONOTONIC. The shim's clock may be the TSC calibrated
   * against that clock: allow it 0.1% (250 us), far less than anything that would hide a wrong measure. */
  int64_t dur = it_int(finding, "duration_ns"), total = it_int(finding, "total_ns");
  ck_assert_msg(dur >= 249750000, "duration_ns %lld < 250 ms:\n%s", (long long)dur, text);
  ck_assert_msg(dur < 60000000000LL, "duration_ns %lld is absurd", (long long)dur);
  ck_assert_int_eq(it_int(finding, "count"), slow_count); /* every slow call was >= 100 ms */
  ck_assert_msg(total >= dur && total >= (int64_t)slow_count * 249750000, "total_ns %lld:\n%s", (long long)total, text);
  ck_assert_int_eq(it_int(finding, "pid"), it_int(root, "processes.0.pid"));
  /* The watchdog sampled the loop while the callback spun (250 ms against stall_ms=100): where the time
   * went is in this finding, counted by the innermost frame outside libc and the vDSO, which is the
   * spinning code of busy.h. How many samples a loaded machine allows varies; that there are some
   * with the busy-wait on top does not. */
  json_object *samples = it_need(finding, "samples");
  ck_assert_msg(json_object_array_length(samples) >= 1, "no samples in the slow-callback:\n%s", text);
  const char *top = it_str(json_object_array_get_idx(samples, 0), "frame.function");
  ck_assert_msg(top && (strcmp(top, "now_ns") == 0 || strcmp(top, "busy_wait_ms") == 0),
                "top sampled frame is %s, not the busy-wait:\n%s", top ? top : "(none)", text);
  ck_assert_msg(it_int(finding, "cpu_ns") > 0, "no CPU time for the stall:\n%s", text);
  /* one entry per source line, most sampled first, however many instructions of it were sampled */
  for (size_t i = 0; i < json_object_array_length(samples); i++)
    for (size_t k = i + 1; k < json_object_array_length(samples); k++) {
      json_object *a = json_object_array_get_idx(samples, i), *b = json_object_array_get_idx(samples, k);
      const char *fa = it_str(a, "frame.function"), *fb = it_str(b, "frame.function");
      ck_assert_msg(!(fa && fb && strcmp(fa, fb) == 0 && it_int(a, "frame.line") == it_int(b, "frame.line")),
                    "two sample entries for %s line %lld:\n%s", fa, (long long)it_int(a, "frame.line"), text);
      ck_assert_msg(it_int(a, "count") >= it_int(b, "count"), "samples not most sampled first:\n%s", text);
    }

  /* the site counts equal what the program counted, one site per registration line */
  json_object *proc = it_need(root, "processes.0");
  size_t m;
  json_object *slow = site_at(proc, "on_tick", slow_line, &m);
  ck_assert_msg(slow && m == 1, "%zu sites for on_tick at %s:%d:\n%s", m, SRC, slow_line, it_json_text(it_get(proc, "sites")));
  json_object *fast = site_at(proc, "on_tick", fast_line, &m);
  ck_assert_msg(fast && m == 1, "%zu sites for on_tick at %s:%d:\n%s", m, SRC, fast_line, it_json_text(it_get(proc, "sites")));
  ck_assert_int_eq(it_int(slow, "count"), slow_count);
  ck_assert_int_eq(it_int(fast, "count"), fast_count);
  ck_assert_str_eq(it_str(slow, "kind"), "uv timer");
  ck_assert_int_ge(it_int(slow, "max_ns"), 249750000);
  ck_assert_int_ge(it_int(slow, "total_ns"), (int64_t)slow_count * 249750000);
  ck_assert_int_ge(it_int(slow, "p50_ns"), 220000000); /* within a histogram bucket (12.5%) of 250 ms */
  ck_assert_int_ge(it_int(slow, "p99_ns"), 220000000);
  ck_assert_int_lt(it_int(fast, "max_ns"), 100000000);

  /* the loop: libuv, run by the main thread */
  json_object *loop = it_need(proc, "loops.0");
  ck_assert_str_eq(it_str(loop, "library"), "libuv");
  ck_assert_int_eq(it_int(loop, "thread"), it_int(proc, "pid"));
  ck_assert_int_ge(it_int(loop, "callbacks"), slow_count + fast_count);
  ck_assert_int_gt(it_int(loop, "iterations"), 0);
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_slow_callback");
  TCase *tc = tcase_create("slow_callback");
  tcase_add_test(tc, one_slow_callback_at_the_first_line);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
