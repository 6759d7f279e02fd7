/* Hung jobs (issue 7 item 6): `loopscope run --timeout=1s --kill-after=2s` on a libuv program that
 * never stops. The program is asked for a hang dump over the control socket, then gets SIGTERM (and
 * SIGKILL when it ignores SIGTERM); run exits 124, as timeout(1) does, after rendering the dump: the
 * main thread waiting in epoll_wait and the repeating timer, with its creation line, that kept the loop
 * alive. Only statuses and report contents are asserted, never wall-clock times. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/* The hang dump of the report's only process: reason, the main thread in epoll_wait, the timer created
 * at src's "timer" marker. */
static void check_hang(json_object *root, const char *src) {
  json_object *procs = it_need(root, "processes");
  ck_assert_uint_eq(json_object_array_length(procs), 1);
  json_object *pr = json_object_array_get_idx(procs, 0);
  json_object *hang = it_get(pr, "hang");
  ck_assert_msg(hang && json_object_is_type(hang, json_type_object), "no hang dump:\n%s", it_json_text(pr));
  ck_assert_str_eq(it_str(hang, "reason"), "timeout");
  int64_t pid = it_int(pr, "pid");
  json_object *threads = it_need(hang, "threads");
  bool main_in_poll = false;
  for (size_t i = 0; i < json_object_array_length(threads); i++) {
    json_object *t = json_object_array_get_idx(threads, i);
    if (it_int(t, "tid") != pid) continue;
    const char *sc = it_str(t, "syscall");
    main_in_poll = sc && (strcmp(sc, "epoll_wait") == 0 || strcmp(sc, "epoll_pwait") == 0);
    ck_assert_ptr_nonnull(it_str(t, "state"));
    ck_assert_ptr_nonnull(it_str(t, "name"));
  }
  /* the program's threads only: loopscope's own (flush "loopscope", watchdog "loopscope-wd") are not its */
  for (size_t i = 0; i < json_object_array_length(threads); i++) {
    const char *name = it_str(json_object_array_get_idx(threads, i), "name");
    ck_assert_msg(!name || strncmp(name, "loopscope", 9) != 0, "the tool's own thread in the hang dump:\n%s",
                  it_json_text(hang));
  }
  ck_assert_msg(main_in_poll, "the main thread is not listed in epoll_wait:\n%s", it_json_text(hang));
  int line = it_marker_line(src, "timer");
  json_object *open = it_need(hang, "open");
  bool timer = false;
  for (size_t i = 0; i < json_object_array_length(open); i++) {
    json_object *h = json_object_array_get_idx(open, i);
    if (strcmp(it_str(h, "kind") ? it_str(h, "kind") : "", "uv timer") != 0) continue;
    timer = it_frame_is(it_get(h, "stack.0"), src, line);
    ck_assert_int_eq(it_int(h, "count"), 1);
    ck_assert_ptr_nonnull(it_str(h, "loop"));
  }
  ck_assert_msg(timer, "no uv timer created at %s:%d in hang.open:\n%s", src, line, it_json_text(hang));
  /* the dump's handles are not "still open at exit": the process never got to exit */
  ck_assert_uint_eq(json_object_array_length(it_need(pr, "still_open_at_exit")), 0);
}

START_TEST(hang_loop_times_out) {
  char *dir = it_mkdir("it_timeout_loop");
  struct it_proc p;
  const char *flags[] = {"--timeout=1s", "--kill-after=2s", NULL};
  const char *argv[] = {LS_PROG_hang_loop, NULL};
  it_loopscope_run(&p, dir, flags, argv);
  ck_assert_msg(p.code == 124, "exit %d, expected 124:\n%s", p.code, p.err);
  ck_assert_str_eq(p.out, "started\n");
  /* the text section: the thread, where it waits, the loop's timer and its creation line */
  ck_assert_msg(strstr(p.err, "loopscope:   timed out after 1 s: what kept it alive"), "no hang section:\n%s", p.err);
  ck_assert_msg(strstr(p.err, "(main, runs libuv loop") && strstr(p.err, "sleeping in epoll_"),
                "the main thread's line is missing:\n%s", p.err);
  char *where;
  ck_assert_int_ge(asprintf(&where, "hang_loop.c\", line %d, in main", it_marker_line("hang_loop.c", "timer")), 0);
  ck_assert_msg(strstr(p.err, "1 open handle") && strstr(p.err, "uv timer, created at") && strstr(p.err, where),
                "the timer is missing:\n%s", p.err);
  ck_assert_msg(!strstr(p.err, "SIGKILL"), "SIGTERM was enough:\n%s", p.err);
  free(where);
  it_proc_free(&p);
  json_object *root = it_report_json(dir);
  check_hang(root, "hang_loop.c");
  json_object_put(root);
  it_done(dir);
}
END_TEST

/* A hung generic loop (no adapter): the dump lists the fds it waits on, with what each is -- the
 * listening port, the connection of the program's own client (local -> remote), the pipe -- and
 * nothing else; for an epoll loop from its epoll set, for poll and select from its latest poll. */
static void check_server_fds(const char *mode) {
  char *dir, name[64];
  snprintf(name, sizeof(name), "it_timeout_server_%s", mode);
  dir = it_mkdir(name);
  struct it_proc p;
  const char *flags[] = {"--timeout=2s", "--kill-after=5s", NULL};
  const char *argv[] = {LS_PROG_hang_epoll_server, strcmp(mode, "epoll") == 0 ? NULL : mode, NULL};
  it_loopscope_run(&p, dir, flags, argv);
  ck_assert_msg(p.code == 124, "exit %d, expected 124:\n%s", p.code, p.err);
  int port = 0, client = 0;
  ck_assert_msg(sscanf(p.out, "port=%d client=%d", &port, &client) == 2, "program printed: %s", p.out);
  char listen_at[64], client_at[64];
  snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
  snprintf(client_at, sizeof(client_at), "127.0.0.1:%d", client);
  char *want;
  ck_assert_int_ge(asprintf(&want, ": tcp %s -> %s, waiting for in", listen_at, client_at), 0);
  ck_assert_msg(strstr(p.err, "waits on 3 fds") && strstr(p.err, "pipe, waiting for in") && strstr(p.err, want),
                "text:\n%s", p.err);
  free(want);
  json_object *root = it_report_json(dir);
  json_object *hang = it_need(root, "processes.0.hang"), *open = it_need(hang, "open");
  const char *loop_addr = it_str(root, "processes.0.loops.0.address");
  ck_assert_str_eq(it_str(root, "processes.0.loops.0.library"), mode);
  ck_assert_msg(json_object_array_length(open) == 3, "3 fds expected in hang.open:\n%s", it_json_text(hang));
  bool listening = false, conn = false, pipe = false;
  for (size_t i = 0; i < json_object_array_length(open); i++) {
    json_object *h = json_object_array_get_idx(open, i);
    ck_assert_str_eq(it_str(h, "kind"), "fd");
    ck_assert_str_eq(it_str(h, "loop"), loop_addr);
    ck_assert_int_ge(it_int(h, "fd"), 0);
    ck_assert_int_eq(it_int(h, "count"), 1);
    const char *what = it_str(h, "fd_kind"), *a = it_str(h, "address"), *peer = it_str(h, "peer");
    ck_assert_msg(what && strncmp(it_str(h, "events"), "in", 2) == 0, "%s", it_json_text(h));
    if (strcmp(what, "tcp listen") == 0) listening = a && strcmp(a, listen_at) == 0 && !peer;
    else if (strcmp(what, "tcp") == 0) conn = a && strcmp(a, listen_at) == 0 && peer && strcmp(peer, client_at) == 0;
    else if (strcmp(what, "pipe") == 0) pipe = !a && !peer;
  }
  ck_assert_msg(listening && conn && pipe, "port %d, client %d:\n%s", port, client, it_json_text(hang));
  json_object *f[1];
  ck_assert_msg(it_findings(root, NULL, f, 1) == 0, "findings:\n%s", it_json_text(it_need(root, "findings")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}

START_TEST(epoll_server_dump_lists_its_fds) { check_server_fds("epoll"); }
END_TEST

START_TEST(poll_and_select_servers_dump_their_fds) {
  check_server_fds("poll");
  check_server_fds("select");
}
END_TEST

/* SIGTERM ignored: SIGKILL after the grace period, still 124, still the dump. */
START_TEST(ignore_term_gets_killed) {
  char *dir = it_mkdir("it_timeout_kill");
  struct it_proc p;
  const char *flags[] = {"--timeout=1s", "--kill-after=2s", NULL};
  const char *argv[] = {LS_PROG_hang_ignore_term, NULL};
  it_loopscope_run(&p, dir, flags, argv);
  ck_assert_msg(p.code == 124, "exit %d, expected 124:\n%s", p.code, p.err);
  ck_assert_str_eq(p.out, "started\n");
  ck_assert_msg(strstr(p.err, "after SIGTERM: SIGKILL"), "no word of the SIGKILL:\n%s", p.err);
  ck_assert_msg(strstr(p.err, "timed out after 1 s: what kept it alive"), "no hang section:\n%s", p.err);
  it_proc_free(&p);
  json_object *root = it_report_json(dir);
  check_hang(root, "hang_ignore_term.c");
  json_object_put(root);
  it_done(dir);
}
END_TEST

/* A program that ends in time: its own status, no dump; the control socket is not in its environment. */
START_TEST(ends_in_time) {
  char *dir = it_mkdir("it_timeout_in_time");
  struct it_proc p;
  const char *flags[] = {"--timeout=120s", NULL};
  const char *argv[] = {LS_PROG_exit_with, "3", NULL};
  it_loopscope_run(&p, dir, flags, argv);
  ck_assert_msg(p.code == 3, "exit %d, expected 3:\n%s", p.code, p.err);
  ck_assert_msg(!strstr(p.err, "timed out"), "%s", p.err);
  it_proc_free(&p);
  json_object *root = it_report_json(dir);
  json_object *hang = it_get(root, "processes.0.hang");
  ck_assert_msg(hang == NULL && json_object_object_get_ex(it_need(root, "processes.0"), "hang", NULL),
                "hang is not null:\n%s", it_json_text(root));
  json_object_put(root);
  /* the socket's number is for the shim alone: the program's environment does not show it */
  const char *envp[] = {LS_CLI, "run", "--timeout=120s", "--", "/usr/bin/env", NULL};
  it_run(&p, dir, envp, NULL, NULL);
  ck_assert_int_eq(p.code, 0);
  ck_assert_msg(!strstr(p.out, "LOOPSCOPE_CONTROL_FD"), "%s", p.out);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

START_TEST(bad_durations) {
  char *dir = it_mkdir("it_timeout_bad");
  static const char *const cases[][3] = {
      {"--timeout=soon", NULL},
      {"--timeout=1s", "--kill-after=-1", NULL},
      {"--kill-after=1s", NULL}, /* without --timeout */
      {"--timeout", NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct it_proc p;
    const char *argv[8];
    size_t n = 0;
    argv[n++] = LS_CLI;
    argv[n++] = "run";
    for (size_t k = 0; cases[i][k]; k++) argv[n++] = cases[i][k];
    if (strcmp(cases[i][0], "--timeout") != 0) argv[n++] = "--";
    argv[n++] = LS_PROG_exit_with;
    argv[n] = NULL;
    it_run(&p, dir, argv, NULL, NULL);
    ck_assert_msg(p.code == 125, "case %zu: exit %d:\n%s", i, p.code, p.err);
    ck_assert_msg(strstr(p.err, "--timeout") || strstr(p.err, "--kill-after"), "case %zu:\n%s", i, p.err);
    it_proc_free(&p);
  }
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_timeout");
  TCase *tc = tcase_create("timeout");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, hang_loop_times_out);
  tcase_add_test(tc, ignore_term_gets_killed);
  tcase_add_test(tc, epoll_server_dump_lists_its_fds);
  tcase_add_test(tc, poll_and_select_servers_dump_their_fds);
  tcase_add_test(tc, ends_in_time);
  tcase_add_test(tc, bad_durations);
  suite_add_tcase(s, tc);
  return it_main(s);
}
