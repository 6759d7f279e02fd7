/* Clean programs give zero findings: a 50 ms callback under the default 100 ms threshold, three threads
 * waking a loop with uv_async_send, and threads that are joined or detached. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/* Runs prog under `loopscope run`; checks its exit status 0 and that the report has no findings.
 * Returns the parsed report (caller puts it) and the program's stdout in *out. */
static json_object *run_quiet(const char *name, const char *prog, char **out) {
  char *dir = it_mkdir(name);
  struct it_proc p;
  const char *argv[] = {prog, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "%s under loopscope exited %d\nstdout:\n%s\nstderr:\n%s", name, p.code, p.out, p.err);
  json_object *root = it_report_json(dir);
  json_object *findings = it_need(root, "findings");
  ck_assert_msg(json_object_is_type(findings, json_type_array) && json_object_array_length(findings) == 0,
                "%s: expected no findings, got:\n%s\nstderr:\n%s", name, it_json_text(findings), p.err);
  ck_assert(!json_object_get_boolean(it_need(root, "truncated")));
  *out = strdup(p.out);
  it_proc_free(&p);
  it_done(dir);
  return root;
}

START_TEST(quiet_50ms_callback) {
  char *out;
  json_object *root = run_quiet("it_quiet_callback", LS_PROG_uv_quiet_callback, &out);
  int ticks = -1;
  ck_assert_msg(sscanf(out, "ticks=%d", &ticks) == 1, "program printed: %s", out);
  /* it was seen, just not slow */
  json_object *sites = it_need(root, "processes.0.sites");
  int line = it_marker_line("uv_quiet_callback.c", "quiet");
  bool seen = false;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    if (!it_frame_is(it_get(s, "stack.0"), "uv_quiet_callback.c", line)) continue;
    seen = true;
    ck_assert_int_eq(it_int(s, "count"), ticks);
    ck_assert_int_ge(it_int(s, "max_ns"), 49950000);
    ck_assert_int_lt(it_int(s, "max_ns"), 100000000 * 10); /* sanity; not a timing assertion */
  }
  ck_assert_msg(seen, "no site at uv_quiet_callback.c:%d:\n%s", line, it_json_text(sites));
  json_object_put(root);
  free(out);
}
END_TEST

START_TEST(quiet_async_threads) {
  char *out;
  json_object *root = run_quiet("it_quiet_async", LS_PROG_uv_async_threads, &out);
  int sent = -1, received = -2, callbacks = -1;
  ck_assert_msg(sscanf(out, "sent=%d received=%d callbacks=%d", &sent, &received, &callbacks) == 3,
                "program printed: %s", out);
  ck_assert_int_eq(sent, received);
  /* the async callback's site counted every dispatch the program counted; libuv's own internal async
   * handle is libuv's business, not a site */
  json_object *sites = it_need(root, "processes.0.sites");
  int line = it_marker_line("uv_async_threads.c", "async");
  size_t n = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    if (!it_frame_is(it_get(s, "stack.0"), "uv_async_threads.c", line)) continue;
    n++;
    ck_assert_str_eq(it_str(s, "callback.function"), "on_async");
    ck_assert_int_eq(it_int(s, "count"), callbacks);
  }
  ck_assert_msg(n == 1, "%zu sites at uv_async_threads.c:%d:\n%s", n, line, it_json_text(sites));
  /* main, the loop thread and three senders */
  json_object *threads = it_need(root, "processes.0.threads");
  ck_assert_int_ge(json_object_array_length(threads), 5);
  json_object_put(root);
  free(out);
}
END_TEST

START_TEST(quiet_threads) {
  char *out;
  json_object *root = run_quiet("it_quiet_threads", LS_PROG_thread_clean, &out);
  ck_assert_msg(strcmp(out, "joined=2 result=-5 detached=2\n") == 0, "program printed: %s", out);
  /* main + 4 workers, each once, each with its own tid; none left finished and unjoined */
  json_object *threads = it_need(root, "processes.0.threads");
  const char *text = it_json_text(threads);
  ck_assert_msg(json_object_array_length(threads) == 5, "%zu threads listed, expected 5:\n%s",
                json_object_array_length(threads), text);
  for (size_t i = 0; i < 5; i++) {
    json_object *t = json_object_array_get_idx(threads, i);
    int64_t tid = it_int(t, "tid");
    ck_assert_msg(tid > 0, "thread %zu has tid %lld:\n%s", i, (long long)tid, text);
    for (size_t j = 0; j < i; j++)
      ck_assert_msg(it_int(json_object_array_get_idx(threads, j), "tid") != tid, "tid %lld listed twice:\n%s",
                    (long long)tid, text);
    const char *state = it_str(t, "state");
    ck_assert_msg(!state || strcmp(state, "finished-unjoined") != 0, "a joined or detached thread shows as '%s':\n%s",
                  state, text);
  }
  json_object_put(root);
  free(out);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_quiet");
  TCase *tc = tcase_create("quiet");
  tcase_add_test(tc, quiet_50ms_callback);
  tcase_add_test(tc, quiet_async_threads);
  tcase_add_test(tc, quiet_threads);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
