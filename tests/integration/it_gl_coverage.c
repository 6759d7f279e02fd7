/* The GLib adapter's coverage (issue 6 items 1 and 2): every way a program hands GLib a callback is
 * a site named after the callback, with the stack where the source was attached and the count the
 * program itself counted (gl_quiet, which must give no finding at all); contexts are loops with the
 * thread that iterated them; a slow timeout callback and a slow custom source's dispatch are
 * slow-callback findings at their attach lines (gl_slow_callback: 250 ms busy-waits against the
 * 100 ms default). */
#include "it_gl_run.h"

#define SRC_Q "gl_quiet.c"

static const struct {
  const char *marker, *function, *kind;
} quiet_sites[] = {
    {"idle", "on_idle", "glib idle"},
    {"idle_full", "on_idle_full", "glib idle"},
    {"idle_once", "on_idle_once", "glib idle"},
    {"timeout", "on_timeout", "glib timeout"},
    {"timeout_full", "on_timeout_full", "glib timeout"},
    {"timeout_once", "on_timeout_once", "glib timeout"},
    {"timeout_seconds", "on_seconds", "glib timeout"},
    {"io", "on_io", "glib io watch"},
    {"unix_fd", "on_fd", "glib unix fd"},
    {"child", "on_child", "glib child watch"},
    {"custom", "custom_dispatch", "glib source"},
    {"set_callback", "on_set_cb", "glib timeout"},
    {"invoke_direct", "on_invoke_direct", "glib invoke"},
    {"invoke_thread", "on_invoke_thread", "glib invoke"},
    {"manual", "on_manual", "glib idle"},
};

START_TEST(every_callback_kind_is_a_site_and_the_clean_program_is_quiet) {
  struct it_report_run r;
  run_prog(&r, "it_gl_coverage_quiet", LS_PROG_gl_quiet, NULL);
  it_no_findings(&r, "gl_quiet");
  /* Transparent: the same output and status as without loopscope. */
  struct it_proc plain;
  const char *argv[] = {LS_PROG_gl_quiet, NULL};
  it_run(&plain, r.dir, argv, NULL, NULL);
  ck_assert_int_eq(plain.code, 0);
  ck_assert_msg(strcmp(plain.out, r.p.out) == 0, "output differs:\nplain: %s\nshimmed: %s", plain.out, r.p.out);
  it_proc_free(&plain);
  ck_assert_msg(printed(r.p.out, "notified") == 2, "destroy notifies not chained: %s", r.p.out);
  int64_t callbacks = 0;
  for (size_t k = 0; k < sizeof(quiet_sites) / sizeof(quiet_sites[0]); k++) {
    long want = printed(r.p.out, quiet_sites[k].marker);
    ck_assert_msg(want > 0, "the program ran no %s callback:\n%s", quiet_sites[k].marker, r.p.out);
    json_object *s = site_at(&r, SRC_Q, it_marker_line(SRC_Q, quiet_sites[k].marker));
    ck_assert_str_eq(it_str(s, "callback.function"), quiet_sites[k].function);
    ck_assert_str_eq(it_str(s, "kind"), quiet_sites[k].kind);
    ck_assert_msg(it_int(s, "count") == want, "%s: the program counted %ld, the report %lld:\n%s",
                  quiet_sites[k].marker, want, (long long)it_int(s, "count"), it_json_text(s));
    callbacks += want;
  }
  /* Three contexts: the default one (g_main_loop_run), the private one (g_main_context_iteration) and
   * the one iterated by hand (g_main_context_dispatch), all by the main thread; together they ran every
   * callback above. The hand-run one's polls are the program's own (g_poll): no iterations counted
   * there. */
  json_object *loops = it_need(r.proc, "loops");
  size_t nloops = json_object_array_length(loops), glib_loops = 0;
  int64_t sum = 0;
  for (size_t i = 0; i < nloops; i++) {
    json_object *l = json_object_array_get_idx(loops, i);
    if (strcmp(it_str(l, "library"), "glib") != 0) continue; /* the hand-run g_poll may be a generic loop */
    glib_loops++;
    ck_assert_int_eq(it_int(l, "thread"), it_int(r.proc, "pid"));
    sum += it_int(l, "callbacks");
  }
  ck_assert_msg(glib_loops == 3, "three glib loops expected:\n%s", it_json_text(loops));
  /* invoke_direct ran before any loop did (no loop's callback); gl_quiet's loop_running, which starts
   * the invoking thread, is one more callback the program does not count. */
  callbacks += 1 - printed(r.p.out, "invoke_direct");
  ck_assert_msg(sum == callbacks, "loops counted %lld callbacks, the program %lld:\n%s", (long long)sum,
                (long long)callbacks, it_json_text(loops));
  ck_assert_msg(json_object_array_length(it_need(r.proc, "still_open_at_exit")) == 0,
                "gl_quiet removed and unreffed everything:\n%s", it_json_text(it_need(r.proc, "still_open_at_exit")));
  it_run_report_free(&r);
}
END_TEST

#define SRC_S "gl_slow_callback.c"

START_TEST(slow_timeout_and_slow_custom_dispatch) {
  struct it_report_run r;
  run_prog(&r, "it_gl_coverage_slow", LS_PROG_gl_slow_callback, NULL);
  ck_assert_msg(printed(r.p.out, "dispatched") == 2, "program printed: %s", r.p.out);
  json_object *f[4];
  ck_assert_msg(it_findings(r.root, NULL, f, 4) == 2, "two findings expected:\n%s",
                it_json_text(it_need(r.root, "findings")));
  json_object *t = finding_at(&r, "slow-callback", SRC_S, it_marker_line(SRC_S, "timeout"), "on_slow_timeout");
  ck_assert_str_eq(it_str(t, "kind"), "glib timeout");
  ck_assert_int_ge(it_int(t, "duration_ns"), 250000000);
  json_object *c = finding_at(&r, "slow-callback", SRC_S, it_marker_line(SRC_S, "attach"), "custom_dispatch");
  ck_assert_str_eq(it_str(c, "kind"), "glib source ls-custom"); /* g_source_set_name names it */
  ck_assert_int_ge(it_int(c, "duration_ns"), 250000000);
  /* The watchdog sampled the glib loop while each callback spun (250 ms against stall_ms=100): the
   * samples are in the slow-callback, the busy-wait on top, and no separate loop-stall (counted above). */
  json_object *both[] = {t, c};
  for (size_t i = 0; i < 2; i++) {
    json_object *samples = it_need(both[i], "samples");
    ck_assert_msg(json_object_array_length(samples) >= 1, "no samples:\n%s", it_json_text(both[i]));
    const char *top = it_str(json_object_array_get_idx(samples, 0), "frame.function");
    ck_assert_msg(top && (strcmp(top, "now_ns") == 0 || strcmp(top, "busy_wait_ms") == 0),
                  "top sampled frame is %s, not the busy-wait:\n%s", top ? top : "(none)", it_json_text(both[i]));
  }
  ck_assert_msg(strstr(r.p.err, "Executing <glib timeout"), "no live line:\n%s", r.p.err);
  it_run_report_free(&r);
}
END_TEST

/* Four contexts, each iterated by its own thread: four glib loops, each on its thread, counting the
 * callbacks dispatched there; sources added to the main thread's context from the workers are sites
 * of their own, and no finding (GMainContext is thread-safe). */
START_TEST(each_thread_iterates_its_own_context) {
  struct it_report_run r;
  run_prog(&r, "it_gl_coverage_threads", LS_PROG_gl_threads, NULL);
  ck_assert_msg(printed(r.p.out, "worker_ticks") == 15 && printed(r.p.out, "cross") == 3, "program printed: %s",
                r.p.out);
  it_no_findings(&r, "gl_threads");
  json_object *loops = it_need(r.proc, "loops");
  ck_assert_msg(json_object_array_length(loops) == 4, "four glib loops expected:\n%s", it_json_text(loops));
  int64_t pid = it_int(r.proc, "pid"), tids[4], worker_callbacks = 0;
  for (size_t i = 0; i < 4; i++) {
    json_object *l = json_object_array_get_idx(loops, i);
    ck_assert_str_eq(it_str(l, "library"), "glib");
    tids[i] = it_int(l, "thread");
    for (size_t j = 0; j < i; j++)
      ck_assert_msg(tids[j] != tids[i], "two loops on tid %lld:\n%s", (long long)tids[i], it_json_text(loops));
    if (tids[i] == pid) {
      ck_assert_int_eq(it_int(l, "callbacks"), 3); /* the three cross-thread idles */
    } else {
      ck_assert_int_eq(it_int(l, "callbacks"), 5); /* its own timeouts */
      worker_callbacks += it_int(l, "callbacks");
    }
  }
  ck_assert_int_eq(worker_callbacks, 15);
  json_object *w = site_at(&r, "gl_threads.c", it_marker_line("gl_threads.c", "worker"));
  ck_assert_int_eq(it_int(w, "count"), 15);
  ck_assert_str_eq(it_str(w, "callback.function"), "on_worker_tick");
  json_object *c = site_at(&r, "gl_threads.c", it_marker_line("gl_threads.c", "cross"));
  ck_assert_int_eq(it_int(c, "count"), 3);
  ck_assert_str_eq(it_str(c, "callback.function"), "on_cross");
  ck_assert_msg(json_object_array_length(it_need(r.proc, "still_open_at_exit")) == 0, "open at exit:\n%s",
                it_json_text(it_need(r.proc, "still_open_at_exit")));
  it_run_report_free(&r);
}
END_TEST

/* Every g_* function libloopscope.so exports (its hooks: nothing else is exported) is named in the
 * WRAPPED GLIB FUNCTIONS section of loopscope-report(1), and the section names no function the shim
 * does not export. */
START_TEST(every_wrapped_glib_function_is_in_the_man_page) {
  size_t len;
  char *man = it_read_file(LS_MAN_DIR "/loopscope-report.1", &len);
  ck_assert_ptr_nonnull(man);
  char *sec = strstr(man, ".SH WRAPPED GLIB FUNCTIONS");
  ck_assert_ptr_nonnull(sec);
  char *end = strstr(sec + 1, "\n.SH ");
  if (end) *end = 0;
  FILE *nm = popen("nm -D --defined-only " LS_SHIM, "r");
  ck_assert_ptr_nonnull(nm);
  char line[512], exported[8192] = " ";
  size_t n = 0;
  while (fgets(line, sizeof(line), nm)) {
    char *name = strrchr(line, ' ');
    if (!name || strncmp(name + 1, "g_", 2) != 0) continue;
    name[1 + strcspn(name + 1, "\n")] = 0;
    n++;
    char word[128];
    snprintf(word, sizeof(word), "%s,", name + 1);
    ck_assert_msg(strstr(sec, word) || (snprintf(word, sizeof(word), "%s\n", name + 1), strstr(sec, word)),
                  "%s is exported by the shim but not listed in loopscope-report(1)", name + 1);
    strncat(exported, name + 1, sizeof(exported) - strlen(exported) - 2);
    strcat(exported, " ");
  }
  ck_assert_int_eq(pclose(nm), 0);
  ck_assert_msg(n >= 40, "only %zu g_* hooks exported", n);
  /* the other way: each ".B g_..." entry names exported functions only */
  for (char *p = strstr(sec, "\n.B g_"); p; p = strstr(p + 1, "\n.B g_")) {
    char entry[512];
    size_t k = strcspn(p + 4, "\n");
    snprintf(entry, sizeof(entry), "%.*s", (int)k, p + 4);
    for (char *tok = strtok(entry, ", "); tok; tok = strtok(NULL, ", ")) {
      char word[128];
      snprintf(word, sizeof(word), " %s ", tok);
      ck_assert_msg(strstr(exported, word), "loopscope-report(1) lists %s, which the shim does not export", tok);
    }
  }
  free(man);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_gl_coverage");
  TCase *tc = tcase_create("glib");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, every_callback_kind_is_a_site_and_the_clean_program_is_quiet);
  tcase_add_test(tc, slow_timeout_and_slow_custom_dispatch);
  tcase_add_test(tc, every_wrapped_glib_function_is_in_the_man_page);
  tcase_add_test(tc, each_thread_iterates_its_own_context);
  suite_add_tcase(s, tc);
  return it_main(s);
}
