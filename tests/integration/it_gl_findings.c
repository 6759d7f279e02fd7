/* The GLib adapter's findings (issue 6 items 3-5 and 7), each from its trigger program
 * (tests/programs/gl_*.c) and proved quiet on its clean twin: unretrieved-error (a GTask error nobody
 * propagated), never-run (an idle source whose context was freed first, a GTask dropped without
 * returning), loop-reentry (a context iterated from its own source's prepare; a nested
 * g_main_loop_run from a callback is legal and quiet), pool-wait (g_task_run_in_thread work waiting
 * for GLib's pool). Each trigger test checks the category, the callback's function and that stack[0]
 * is the program's marked line. Durations are 300 ms sleeps on pool threads against the 100 ms
 * threshold, never limits on how fast something ran. */
#include "it_gl_run.h"

static void exactly(struct it_report_run *r, size_t want) {
  json_object *f[8];
  size_t n = it_findings(r->root, NULL, f, 8);
  ck_assert_msg(n == want, "%zu findings, expected %zu:\n%s\nstderr:\n%s", n, want,
                it_json_text(it_need(r->root, "findings")), r->p.err);
}

/* ---- unretrieved-error ---- */

START_TEST(unretrieved_error_gtask_error_never_propagated) {
  struct it_report_run r;
  run_prog(&r, "it_gl_unretrieved", LS_PROG_gl_task_unretrieved, NULL);
  ck_assert_msg(printed(r.p.out, "done") == 1, "program printed: %s", r.p.out);
  /* The task kept the program's user_data: our trampoline is keyed by the task pointer. */
  ck_assert_msg(printed(r.p.out, "user_data_ok") == 1, "g_async_result_get_user_data changed: %s", r.p.out);
  exactly(&r, 1);
  json_object *f = finding_at(&r, "unretrieved-error", "gl_task_unretrieved.c",
                              it_marker_line("gl_task_unretrieved.c", "task"), "on_done");
  ck_assert_str_eq(it_str(f, "severity"), "error");
  ck_assert_str_eq(it_str(f, "kind"), "gtask");
  ck_assert_msg(strstr(it_str(f, "message"), "Task exception was never retrieved"), "message: %s", it_str(f, "message"));
  it_run_report_free(&r);
}
END_TEST

START_TEST(unretrieved_error_clean_propagated_or_looked_at) {
  struct it_report_run r;
  run_prog(&r, "it_gl_unretrieved_clean", LS_PROG_gl_task_unretrieved_clean, NULL);
  ck_assert_msg(printed(r.p.out, "done") == 3 && printed(r.p.out, "errors_seen") == 2, "program printed: %s", r.p.out);
  it_no_findings(&r, "gl_task_unretrieved_clean");
  it_run_report_free(&r);
}
END_TEST

/* ---- never-run ---- */

START_TEST(never_run_idle_source_one_shot_timeout_and_gtask) {
  struct it_report_run r;
  run_prog(&r, "it_gl_never_run", LS_PROG_gl_never_run, NULL);
  ck_assert_msg(printed(r.p.out, "ran") == 1, "program printed: %s", r.p.out);
  exactly(&r, 3);
  json_object *idle = finding_at(&r, "never-run", "gl_never_run.c", it_marker_line("gl_never_run.c", "attach"),
                                 "on_never_idle");
  ck_assert_str_eq(it_str(idle, "kind"), "glib idle");
  json_object *once = finding_at(&r, "never-run", "gl_never_run.c", it_marker_line("gl_never_run.c", "timeout"),
                                 "on_once");
  ck_assert_str_eq(it_str(once, "kind"), "glib timeout");
  json_object *task = finding_at(&r, "never-run", "gl_never_run.c", it_marker_line("gl_never_run.c", "task"),
                                 "on_task_never");
  ck_assert_str_eq(it_str(task, "kind"), "gtask");
  it_run_report_free(&r);
}
END_TEST

START_TEST(never_run_clean_dispatched_cancelled_or_long_lived) {
  struct it_report_run r;
  run_prog(&r, "it_gl_never_run_clean", LS_PROG_gl_never_run_clean, NULL);
  ck_assert_msg(printed(r.p.out, "ran") == 2 && printed(r.p.out, "twice") == 2, "program printed: %s", r.p.out);
  it_no_findings(&r, "gl_never_run_clean");
  it_run_report_free(&r);
}
END_TEST

/* ---- loop-reentry ---- */

START_TEST(loop_reentry_iteration_from_prepare) {
  struct it_report_run r;
  run_prog(&r, "it_gl_reentry", LS_PROG_gl_reentry, NULL);
  ck_assert_msg(printed(r.p.out, "dispatched") == 1, "program printed: %s", r.p.out);
  exactly(&r, 1);
  json_object *f =
      finding_at(&r, "loop-reentry", "gl_reentry.c", it_marker_line("gl_reentry.c", "reentry"), NULL);
  ck_assert_str_eq(it_str(f, "severity"), "error");
  ck_assert_str_eq(it_str(f, "call"), "g_main_context_iteration");
  ck_assert_str_eq(it_str(f, "stack.0.function"), "bad_prepare");
  it_run_report_free(&r);
}
END_TEST

START_TEST(loop_reentry_clean_nested_run_from_a_callback) {
  struct it_report_run r;
  run_prog(&r, "it_gl_reentry_clean", LS_PROG_gl_reentry_clean, NULL);
  ck_assert_msg(printed(r.p.out, "outer") == 1 && printed(r.p.out, "inner") == 1 && printed(r.p.out, "custom") == 1,
                "program printed: %s", r.p.out);
  it_no_findings(&r, "gl_reentry_clean");
  it_run_report_free(&r);
}
END_TEST

/* ---- pool-wait ---- */

START_TEST(pool_wait_gtask_run_in_thread) {
  struct it_report_run r;
  run_prog(&r, "it_gl_pool_wait", LS_PROG_gl_pool_wait, NULL);
  ck_assert_msg(printed(r.p.out, "done") == 20, "program printed: %s", r.p.out);
  exactly(&r, 1);
  json_object *f =
      finding_at(&r, "pool-wait", "gl_pool_wait.c", it_marker_line("gl_pool_wait.c", "run"), "slow_work");
  ck_assert_str_eq(it_str(f, "kind"), "gtask thread");
  ck_assert_int_ge(it_int(f, "duration_ns"), 100000000);
  /* the work itself is timed on the pool threads: 20 runs of slow_work */
  json_object *s = site_at(&r, "gl_pool_wait.c", it_marker_line("gl_pool_wait.c", "run"));
  ck_assert_int_eq(it_int(s, "count"), 20);
  it_run_report_free(&r);
}
END_TEST

START_TEST(pool_wait_clean_free_threads) {
  struct it_report_run r;
  run_prog(&r, "it_gl_pool_wait_clean", LS_PROG_gl_pool_wait_clean, NULL);
  ck_assert_msg(printed(r.p.out, "done") == 3, "program printed: %s", r.p.out);
  it_no_findings(&r, "gl_pool_wait_clean");
  it_run_report_free(&r);
}
END_TEST

/* ---- still open at exit (not findings unless asked for) ---- */

#define SRC_O "gl_open_at_exit.c"

static const struct {
  const char *marker, *kind;
} open_items[] = {
    {"timeout", "glib timeout"},
    {"idle", "glib idle"},
    {"context", "glib main context"},
    {"loop", "glib main loop"},
};
#define N_OPEN (sizeof(open_items) / sizeof(open_items[0]))

START_TEST(open_at_exit_listed_not_findings) {
  struct it_report_run r;
  run_prog(&r, "it_gl_open_at_exit", LS_PROG_gl_open_at_exit, NULL);
  ck_assert_msg(printed(r.p.out, "open") == 4, "program printed: %s", r.p.out);
  it_no_findings(&r, "gl_open_at_exit (without report_open_at_exit)");
  json_object *open = it_need(r.proc, "still_open_at_exit");
  ck_assert_msg(json_object_array_length(open) == N_OPEN, "%d open items expected:\n%s", (int)N_OPEN,
                it_json_text(open));
  for (size_t k = 0; k < N_OPEN; k++) {
    int line = it_marker_line(SRC_O, open_items[k].marker), hits = 0;
    for (size_t i = 0; i < N_OPEN; i++) {
      json_object *o = json_object_array_get_idx(open, i);
      if (strcmp(it_str(o, "kind"), open_items[k].kind) == 0 && it_frame_is(it_get(o, "stack.0"), SRC_O, line)) hits++;
    }
    ck_assert_msg(hits == 1, "no %s open at %s:%d:\n%s", open_items[k].kind, SRC_O, line, it_json_text(open));
  }
  it_run_report_free(&r);
}
END_TEST

START_TEST(open_at_exit_as_findings_when_asked) {
  struct it_report_run r;
  const char *flags[] = {"--report-open-at-exit=1", NULL};
  run_prog(&r, "it_gl_open_at_exit_findings", LS_PROG_gl_open_at_exit, flags);
  exactly(&r, N_OPEN);
  for (size_t k = 0; k < N_OPEN; k++) {
    json_object *f = finding_at(&r, "unclosed-resource", SRC_O, it_marker_line(SRC_O, open_items[k].marker), NULL);
    ck_assert_str_eq(it_str(f, "kind"), open_items[k].kind);
  }
  it_run_report_free(&r);
}
END_TEST

/* ---- a hang: --timeout's dump names GLib's open sources ---- */

START_TEST(hang_dump_lists_glib_sources) {
  char *dir = it_mkdir("it_gl_hang");
  struct it_proc p;
  const char *flags[] = {"--timeout=1s", "--kill-after=5s", NULL};
  const char *argv[] = {LS_PROG_gl_hang, NULL};
  it_loopscope_run(&p, dir, flags, argv);
  ck_assert_msg(p.code == 124, "exit %d, expected 124:\n%s", p.code, p.err);
  ck_assert_str_eq(p.out, "started\n");
  json_object *root = it_report_json(dir);
  json_object *proc = it_need(root, "processes.0"), *hang = it_need(proc, "hang");
  json_object *open = it_need(hang, "open");
  static const struct {
    const char *marker, *kind;
  } want[] = {{"timeout", "glib timeout"}, {"loop", "glib main loop"}};
  for (size_t k = 0; k < 2; k++) {
    int line = it_marker_line("gl_hang.c", want[k].marker), hits = 0;
    for (size_t i = 0; i < json_object_array_length(open); i++) {
      json_object *h = json_object_array_get_idx(open, i);
      if (strcmp(it_str(h, "kind"), want[k].kind) != 0 || !it_frame_is(it_get(h, "stack.0"), "gl_hang.c", line))
        continue;
      ck_assert_ptr_nonnull(it_str(h, "loop")); /* on the main thread's glib loop */
      hits++;
    }
    ck_assert_msg(hits == 1, "no %s at gl_hang.c:%d in hang.open:\n%s", want[k].kind, line, it_json_text(hang));
  }
  json_object *f[1];
  ck_assert_msg(it_findings(root, NULL, f, 1) == 0, "findings:\n%s", it_json_text(it_need(root, "findings")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_gl_findings");
  TCase *tc = tcase_create("glib");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, unretrieved_error_gtask_error_never_propagated);
  tcase_add_test(tc, unretrieved_error_clean_propagated_or_looked_at);
  tcase_add_test(tc, never_run_idle_source_one_shot_timeout_and_gtask);
  tcase_add_test(tc, never_run_clean_dispatched_cancelled_or_long_lived);
  tcase_add_test(tc, loop_reentry_iteration_from_prepare);
  tcase_add_test(tc, loop_reentry_clean_nested_run_from_a_callback);
  tcase_add_test(tc, pool_wait_gtask_run_in_thread);
  tcase_add_test(tc, pool_wait_clean_free_threads);
  tcase_add_test(tc, open_at_exit_listed_not_findings);
  tcase_add_test(tc, open_at_exit_as_findings_when_asked);
  tcase_add_test(tc, hang_dump_lists_glib_sources);
  suite_add_tcase(s, tc);
  return it_main(s);
}
