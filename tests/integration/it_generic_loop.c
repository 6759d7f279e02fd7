/* Generic loops (issue 4 item 1): a thread outside any adapter's loop that polls repeatedly on an fd
 * from one call site is a loop thread. A hand-written epoll loop gets one loop, library "epoll", on the
 * main thread, with an iteration per poll; a program that polls once or twice, or sleeps with
 * poll(NULL, 0, ms), gets none. Neither has a finding. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/* Runs prog under `loopscope run`: exit 0, a complete report, no findings. Returns the report. */
static json_object *run_clean(struct it_proc *p, const char *dir, const char *prog) {
  const char *argv[] = {prog, NULL};
  it_loopscope_run(p, dir, NULL, argv);
  ck_assert_msg(p->code == 0, "loopscope run exited %d\nstdout:\n%s\nstderr:\n%s", p->code, p->out, p->err);
  json_object *root = it_report_json(dir);
  ck_assert(!json_object_get_boolean(it_need(root, "truncated")));
  json_object *f[4];
  size_t n = it_findings(root, NULL, f, 4);
  ck_assert_msg(n == 0, "%zu findings, expected none:\n%s", n, it_json_text(it_need(root, "findings")));
  return root;
}

START_TEST(epoll_server_is_one_epoll_loop) {
  char *dir = it_mkdir("it_generic_loop_epoll");
  struct it_proc p;
  json_object *root = run_clean(&p, dir, LS_PROG_epoll_server);
  int events = -1, polls = -1;
  ck_assert_msg(sscanf(p.out, "events=%d polls=%d", &events, &polls) == 2, "program printed: %s", p.out);
  ck_assert_int_gt(events, 0);
  json_object *proc = it_need(root, "processes.0");
  json_object *loops = it_need(proc, "loops");
  ck_assert_msg(json_object_array_length(loops) == 1, "expected one loop:\n%s", it_json_text(loops));
  json_object *loop = it_need(proc, "loops.0");
  const char *text = it_json_text(loop);
  ck_assert_msg(it_str(loop, "library") && strcmp(it_str(loop, "library"), "epoll") == 0, "library:\n%s", text);
  ck_assert_int_eq(it_int(loop, "thread"), it_int(proc, "pid")); /* the main thread */
  /* one iteration per epoll_wait from the loop's call site: every one the program made */
  ck_assert_msg(it_int(loop, "iterations") >= events, "iterations < %d events:\n%s", events, text);
  ck_assert_int_eq(it_int(loop, "iterations"), polls);
  ck_assert_int_eq(it_int(loop, "callbacks"), 0);
  ck_assert_int_eq(it_int(loop, "long_polls"), 0);
  ck_assert_msg(it_get(loop, "poll_ns") && it_int(loop, "poll_ns") > 0, "no time polling:\n%s", text);
  ck_assert_msg(it_get(loop, "lag_p50_ns") && json_object_get_type(it_get(loop, "lag_p50_ns")) == json_type_int,
                "no lag histogram:\n%s", text);
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

START_TEST(poll_once_is_no_loop) {
  char *dir = it_mkdir("it_generic_loop_once");
  struct it_proc p;
  json_object *root = run_clean(&p, dir, LS_PROG_poll_once);
  ck_assert_msg(strncmp(p.out, "ready=2", 7) == 0, "program printed: %s", p.out);
  json_object *loops = it_get(root, "processes.0.loops");
  ck_assert_msg(!loops || json_object_array_length(loops) == 0, "expected no loop:\n%s", it_json_text(loops));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_generic_loop");
  TCase *tc = tcase_create("generic_loop");
  tcase_add_test(tc, epoll_server_is_one_epoll_loop);
  tcase_add_test(tc, poll_once_is_no_loop);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
