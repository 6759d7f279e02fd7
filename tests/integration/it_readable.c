/* Reports that read well: the rendered text says what each stack is, how long a call took, how the
 * process ended (as a shell sees it, or by the signal `run` saw), shows as much as the verbosity asks,
 * colors without leaking escape codes into the text, and SARIF points at the program's own line. Each
 * check is on the JSON where the point is about content, and on the exact text where it is about text. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it_util.h"

/* `loopscope report ARGS... DIR/report.*.lsr` (one report) in dir: its stdout. */
static char *report_text(const char *dir, const char *a1, const char *a2) {
  char **paths;
  size_t n = it_reports(dir, &paths);
  ck_assert_uint_eq(n, 1);
  const char *argv[] = {LS_CLI, "report", a1 ? a1 : paths[0], a1 ? (a2 ? a2 : paths[0]) : NULL,
                        a1 && a2 ? paths[0] : NULL, NULL};
  struct it_proc p;
  it_run(&p, dir, argv, NULL, NULL);
  ck_assert_msg(p.code == 0, "report exited %d:\n%s", p.code, p.err);
  char *out = strdup(p.out);
  it_proc_free(&p);
  it_free_paths(paths, n);
  return out;
}

START_TEST(color_is_escape_codes_around_the_severity_only) {
  struct it_report_run r;
  const char *argv[] = {LS_PROG_uv_slow_callback, NULL};
  it_run_report(&r, "it_readable_color", NULL, argv, 0);
  char *text = report_text(r.dir, "--color=always", NULL);
  const char *want = "loopscope: \033[1;35mwarning\033[0m: slow-callback: Executing <uv timer on_tick (";
  ck_assert_msg(strstr(text, want) != NULL, "no colored finding header in:\n%s", text);
  ck_assert_msg(strstr(text, "\\x1b") == NULL, "an escape code came out as text:\n%s", text);
  /* the only escape sequences are the two around "warning" */
  size_t escapes = 0;
  for (const char *p = text; (p = strchr(p, '\033')) != NULL; p++) escapes++;
  ck_assert_uint_eq(escapes, 2);
  free(text);
  it_run_report_free(&r);
}
END_TEST

START_TEST(stacks_say_what_they_are) {
  static const struct {
    const char *prog, *category, *kind, *heading;
  } cases[] = {
      {LS_PROG_blk_sleep, "blocking-call", "called", "called at (most recent call last):"},
      {LS_PROG_uv_slow_callback, "slow-callback", "registered", "registered at (most recent call last):"},
      {LS_PROG_thread_unjoined, "unjoined-thread", "created", "created at (most recent call last):"},
      {LS_PROG_stall_spin, "loop-stall", "sampled", "sampled stack (most recent call last):"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct it_report_run r;
    const char *argv[] = {cases[i].prog, NULL};
    it_run_report(&r, "it_readable_stacks", NULL, argv, 0);
    json_object *f[8];
    size_t n = it_findings(r.root, cases[i].category, f, 8);
    ck_assert_msg(n >= 1, "no %s finding from %s", cases[i].category, cases[i].prog);
    for (size_t k = 0; k < n && k < 8; k++)
      ck_assert_msg(strcmp(it_str(f[k], "stack_kind"), cases[i].kind) == 0, "%s: stack_kind %s, expected %s",
                    cases[i].category, it_str(f[k], "stack_kind"), cases[i].kind);
    ck_assert_msg(strstr(r.p.err, cases[i].heading) != NULL, "%s: no '%s' in:\n%s", cases[i].category, cases[i].heading,
                  r.p.err);
    it_run_report_free(&r);
  }
}
END_TEST

START_TEST(a_blocking_call_says_how_long_it_took) {
  struct it_report_run r;
  const char *argv[] = {LS_PROG_blk_sleep, NULL};
  it_run_report(&r, "it_readable_durations", NULL, argv, 0);
  /* nanosleep once (uv_sleep): its duration, as asyncio words it */
  json_object *f[8];
  size_t n = it_findings(r.root, "blocking-call", f, 8);
  bool once = false, repeated = false;
  for (size_t k = 0; k < n && k < 8; k++) {
    const char *call = it_str(f[k], "call");
    char want[128];
    if (strcmp(call, "nanosleep") == 0) {
      ck_assert_int_eq(it_int(f[k], "count"), 1);
      snprintf(want, sizeof(want), "made on the loop thread\nloopscope:   took %.3f seconds\n",
               (double)it_int(f[k], "duration_ns") / 1e9);
      ck_assert_msg(strstr(r.p.err, want) != NULL, "no '%s' in:\n%s", want, r.p.err);
      once = true;
    } else if (strcmp(call, "usleep") == 0) {
      ck_assert_int_gt(it_int(f[k], "count"), 1);
      snprintf(want, sizeof(want), "seen %" PRId64 " times: the longest took ", it_int(f[k], "count"));
      ck_assert_msg(strstr(r.p.err, want) != NULL, "no '%s' in:\n%s", want, r.p.err);
      repeated = true;
    }
  }
  ck_assert(once && repeated);
  it_run_report_free(&r);
}
END_TEST

START_TEST(exit_status_as_the_shell_sees_it) {
  struct it_report_run r;
  const char *argv[] = {LS_PROG_exit_with, "-1", NULL};
  it_run_report(&r, "it_readable_exit", NULL, argv, 255);
  ck_assert_int_eq(it_int(r.proc, "exit.status"), 255);
  ck_assert_int_eq(it_int(r.proc, "exit.status_passed"), -1);
  ck_assert_msg(strstr(r.p.err, "ended: exit with status 255 (the program passed -1)\n") != NULL, "%s", r.p.err);
  it_run_report_free(&r);
}
END_TEST

START_TEST(killed_from_outside_says_by_which_signal) {
  char *dir = it_mkdir("it_readable_killed");
  struct it_proc p;
  const char *argv[] = {"/bin/sh", "-c", "kill -KILL $$", NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_int_eq(p.code, 128 + 9);
  ck_assert_msg(strstr(p.err, "ended: killed by signal 9 (SIGKILL) (the process could not write its exit") != NULL,
                "%s", p.err);
  ck_assert_msg(strstr(p.err, "no exit record") == NULL, "%s", p.err);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* thread_clean joins two threads and detaches two: at verbosity 0 one summary line, no thread rows, no
 * loop or site tables; at 1 the finished threads are folded; `report` lists every thread. */
START_TEST(verbosity_decides_how_much_is_shown) {
  struct it_report_run r;
  const char *argv[] = {LS_PROG_thread_clean, NULL};
  const char *quiet[] = {"--verbosity=0", NULL};
  it_run_report(&r, "it_readable_v0", quiet, argv, 0);
  ck_assert_msg(strstr(r.p.err, "loopscope:   threads: 5 (4 finished and joined or detached, 1 still running or not "
                                "collected)\n") != NULL,
                "%s", r.p.err);
  ck_assert_msg(strstr(r.p.err, "tid ") == NULL && strstr(r.p.err, "callback sites") == NULL &&
                    strstr(r.p.err, "loops:") == NULL,
                "verbosity 0 shows more than the summary:\n%s", r.p.err);
  ck_assert_msg(strstr(r.p.err, "loopscope: no findings\n") != NULL, "%s", r.p.err);
  char *full = report_text(r.dir, NULL, NULL);
  size_t rows = 0;
  for (const char *p = full; (p = strstr(p, "    tid ")) != NULL; p++) rows++;
  ck_assert_msg(rows == 5, "report lists %zu threads, expected 5:\n%s", rows, full);
  free(full);
  it_run_report_free(&r);

  it_run_report(&r, "it_readable_v1", NULL, argv, 0);
  rows = 0;
  for (const char *p = r.p.err; (p = strstr(p, "    tid ")) != NULL; p++) rows++;
  ck_assert_msg(rows == 1 && strstr(r.p.err, "threads (5), 4 finished and joined or detached:\n"), "%s", r.p.err);
  it_run_report_free(&r);
}
END_TEST

/* rd_unfired_timer registers a timer it closes before it fires: ranked sites are the ones that ran. */
START_TEST(sites_that_never_ran_are_not_ranked) {
  struct it_report_run r;
  const char *argv[] = {LS_PROG_rd_unfired_timer, NULL};
  it_run_report(&r, "it_readable_sites", NULL, argv, 0);
  it_no_findings(&r, "rd_unfired_timer");
  json_object *sites = it_need(r.proc, "sites");
  size_t idle = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++)
    if (it_int(json_object_array_get_idx(sites, i), "count") == 0) idle++;
  ck_assert_msg(idle >= 1, "the program's timer site ran after all:\n%s", it_json_text(sites));
  ck_assert_msg(strstr(r.p.err, "         0 ") == NULL, "a site that never ran is in the table:\n%s", r.p.err);
  char want[96];
  snprintf(want, sizeof(want), "(and %zu site%s registered that never ran)", idle, idle == 1 ? "" : "s");
  ck_assert_msg(strstr(r.p.err, want) != NULL, "no '%s' in:\n%s", want, r.p.err);
  it_run_report_free(&r);
}
END_TEST

/* A blocking call's SARIF location is the program's line (blk_sleep.c), as an absolute file:// URI, not
 * the innermost frame with any source (glibc's libc_start_call_main.h, relative). */
START_TEST(sarif_points_at_the_program) {
  struct it_report_run r;
  const char *argv[] = {LS_PROG_blk_sleep, NULL};
  it_run_report(&r, "it_readable_sarif", NULL, argv, 0);
  char *sarif = report_text(r.dir, "--format=sarif", NULL);
  json_object *root = json_tokener_parse(sarif);
  ck_assert_msg(root != NULL, "not JSON:\n%s", sarif);
  json_object *loc = it_need(root, "runs.0.results.0.locations.0.physicalLocation");
  const char *uri = it_str(loc, "artifactLocation.uri");
  ck_assert_msg(strncmp(uri, "file:///", 8) == 0 && strstr(uri, "/blk_sleep.c"), "location %s", it_json_text(loc));
  ck_assert_str_eq(it_str(root, "runs.0.results.0.stacks.0.message.text"), "called at");
  json_object_put(root);
  free(sarif);
  it_run_report_free(&r);

  /* without debug information the program has no line to point at: its module, not glibc's source */
  const char *nodebug[] = {LS_PROG_blk_sleep_nodebug, NULL};
  it_run_report(&r, "it_readable_sarif_nodebug", NULL, nodebug, 0);
  sarif = report_text(r.dir, "--format=sarif", NULL);
  root = json_tokener_parse(sarif);
  ck_assert_msg(root != NULL, "not JSON:\n%s", sarif);
  loc = it_need(root, "runs.0.results.0.locations.0.physicalLocation");
  uri = it_str(loc, "artifactLocation.uri");
  ck_assert_msg(strncmp(uri, "file:///", 8) == 0 && strstr(uri, "/blk_sleep_nodebug") && !strstr(uri, ".h"),
                "location %s", it_json_text(loc));
  json_object_put(root);
  free(sarif);
  it_run_report_free(&r);
}
END_TEST

/* The live lines a run prints before its report: those before "loopscope: process". */
static size_t live_count(const char *err, const char *what) {
  const char *end = strstr(err, "loopscope: process ");
  size_t n = 0;
  for (const char *p = err; (p = strstr(p, what)) != NULL && (!end || p < end); p++) n++;
  return n;
}

/* Five slow calls of one site within a second: one live line, the report counts five. A 1.2 s poll is
 * a statistic: no live line at the default verbosity, one at verbosity 2. */
START_TEST(live_output_is_quiet_by_default) {
  struct it_report_run r;
  const char *argv[] = {LS_PROG_rd_live_lines, NULL};
  it_run_report(&r, "it_readable_live", NULL, argv, 0);
  json_object *f[4];
  ck_assert_uint_eq(it_findings(r.root, "slow-callback", f, 4), 1);
  ck_assert_int_eq(it_int(f[0], "count"), 5);
  ck_assert_int_ge(it_int(it_need(r.proc, "loops.0"), "long_polls"), 1);
  ck_assert_msg(live_count(r.p.err, "loopscope: Executing <uv timer ") == 1, "live lines:\n%s", r.p.err);
  ck_assert_msg(live_count(r.p.err, "loopscope: poll ") == 0, "a long poll logged live:\n%s", r.p.err);
  it_run_report_free(&r);

  const char *v2[] = {"--verbosity=2", NULL};
  it_run_report(&r, "it_readable_live_v2", v2, argv, 0);
  ck_assert_msg(live_count(r.p.err, "loopscope: poll ") == 1, "no long poll at verbosity 2:\n%s", r.p.err);
  it_run_report_free(&r);
}
END_TEST

/* The thread of threads[] with this tid (NULL: none). */
static json_object *thread_by_name(json_object *proc, const char *name) {
  json_object *ts = it_need(proc, "threads");
  for (size_t i = 0; i < json_object_array_length(ts); i++) {
    json_object *t = json_object_array_get_idx(ts, i);
    const char *n = it_str(t, "name");
    if (n && strcmp(n, name) == 0) return t;
  }
  return NULL;
}

/* rd_threads: libuv's pool thread is "uv pool", the program's own uv_thread_create thread a "worker";
 * the worker renamed itself behind every hook's back and is still running at exit: the report has its
 * name as /proc has it and the CPU it used (>= the 200 ms of CPU it spun), as for the main thread. */
START_TEST(threads_are_labelled_and_measured_as_the_system_sees_them) {
  struct it_report_run r;
  const char *argv[] = {LS_PROG_rd_threads, NULL};
  const char *v2[] = {"--verbosity=2", NULL};
  it_run_report(&r, "it_readable_threads", v2, argv, 0);
  json_object *ts = it_need(r.proc, "threads");
  size_t pool = 0;
  for (size_t i = 0; i < json_object_array_length(ts); i++) {
    const char *role = it_str(json_object_array_get_idx(ts, i), "role");
    if (role && strcmp(role, "uv pool") == 0) pool++;
  }
  ck_assert_msg(pool >= 1, "no uv pool thread:\n%s", it_json_text(ts));
  json_object *w = thread_by_name(r.proc, "rd-renamed");
  ck_assert_msg(w != NULL, "the renamed thread is not named as /proc names it:\n%s", it_json_text(ts));
  ck_assert_str_eq(it_str(w, "role"), "worker");
  ck_assert_msg(it_int(w, "cpu_ns") >= 200000000, "running at exit, cpu_ns:\n%s", it_json_text(w));
  json_object *main = it_need(ts, "0");
  ck_assert_str_eq(it_str(main, "role"), "main");
  ck_assert_msg(it_int(main, "cpu_ns") >= 200000000, "main's cpu_ns:\n%s", it_json_text(main));
  it_run_report_free(&r);
}
END_TEST

/* The value of a defined symbol in an ELF file (nm), or 0. */
static uint64_t symbol_offset(const char *file, const char *sym) {
  char *cmd = NULL;
  ck_assert(asprintf(&cmd, "nm --defined-only %s 2>/dev/null; nm -D --defined-only %s 2>/dev/null", file, file) >= 0);
  FILE *p = popen(cmd, "r");
  ck_assert(p != NULL);
  char line[512];
  uint64_t v = 0;
  while (!v && fgets(line, sizeof(line), p)) {
    char name[256], type;
    unsigned long long addr;
    if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 && (type == 'T' || type == 't') && strcmp(name, sym) == 0)
      v = addr;
  }
  pclose(p);
  free(cmd);
  return v;
}

/* A stack whose innermost frame lies in loopscope's own shim (a hook sampled while it ran) is shown
 * without it: the program's frame is frame 0. The report is made by hand, so the shim's frame is
 * certainly there (a sample landing in a hook is rare by nature). */
START_TEST(the_shim_never_appears_in_a_stack) {
  char *dir = it_mkdir("it_readable_shim_frames");
  uint64_t hook = symbol_offset(LS_SHIM, "read"), prog = symbol_offset(LS_PROG_blk_sleep, "main");
  ck_assert_msg(hook && prog, "no symbols: read in %s, main in %s", LS_SHIM, LS_PROG_blk_sleep);
  char *text = NULL, *path = NULL;
  uint64_t shim_base = 0x7f1200000000ull, prog_base = 0x561200000000ull;
  ck_assert(asprintf(&text,
                     "loopscope-report 1\n"
                     "P pid=4242 ppid=1 start_ns=1 exe=%s seq=0\n"
                     "M id=1 base=0x%llx lo=0x%llx hi=0x%llx path=%s build_id=-\n"
                     "M id=2 base=0x%llx lo=0x%llx hi=0x%llx path=%s build_id=-\n"
                     "S id=1 ips=0x%llx,0x%llx\n"
                     "F id=1 category=blocking-call severity=warning tid=4242 count=1 duration_ns=5000000 "
                     "total_ns=5000000 stack=1 call=read message=Blocking%%20call%%20read()\n"
                     "X how=exit status=0\n",
                     LS_PROG_blk_sleep, (unsigned long long)shim_base, (unsigned long long)shim_base,
                     (unsigned long long)shim_base + 0x1000000, LS_SHIM, (unsigned long long)prog_base,
                     (unsigned long long)prog_base, (unsigned long long)prog_base + 0x100000, LS_PROG_blk_sleep,
                     (unsigned long long)(shim_base + hook + 4), (unsigned long long)(prog_base + prog + 4)) >= 0);
  ck_assert(asprintf(&path, "%s/report.4242.0.lsr", dir) >= 0);
  it_write_file(path, text, strlen(text));
  json_object *root = it_report_json(dir);
  json_object *stack = it_need(root, "findings.0.stack");
  ck_assert_msg(json_object_array_length(stack) >= 1, "%s", it_json_text(stack));
  for (size_t i = 0; i < json_object_array_length(stack); i++) {
    const char *m = it_str(json_object_array_get_idx(stack, i), "module");
    ck_assert_msg(!m || !strstr(m, "libloopscope"), "the shim's frame is shown:\n%s", it_json_text(stack));
  }
  ck_assert_str_eq(it_str(stack, "0.function"), "main");
  json_object_put(root);
  free(text);
  free(path);
  it_done(dir);
}
END_TEST

/* A live line names code the running process has no symbol for by its file (not argv[0]: the program is
 * started through a symlink of another name) and the offset objdump and addr2line take, PIE or not. */
static void live_name_is(const char *prog, const char *file) {
  char *dir = it_mkdir("it_readable_live_name"), *link = NULL, want[256];
  ck_assert(asprintf(&link, "%s/started-as", dir) >= 0);
  ck_assert_int_eq(symlink(prog, link), 0);
  uint64_t off = symbol_offset(prog, "on_tick");
  ck_assert(off != 0);
  snprintf(want, sizeof(want), "loopscope: Executing <uv timer %s+0x%" PRIx64 "> took ", file, off);
  struct it_proc p;
  const char *argv[] = {link, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_int_eq(p.code, 0);
  ck_assert_msg(strstr(p.err, want) != NULL, "no '%s' in:\n%s", want, p.err);
  it_proc_free(&p);
  free(link);
  it_done(dir);
}

START_TEST(live_names_are_file_and_offset) {
  live_name_is(LS_PROG_uv_slow_callback, "uv_slow_callback");
  live_name_is(LS_PROG_uv_slow_callback_nopie, "uv_slow_callback_nopie");
}
END_TEST

/* rd_clone stalls in burn, which only the symbol table names, as its GCC clone burn.constprop.0: the
 * rendered report says burn, by function, in the message and in "where the time went"; the live line
 * said what the running process could. */
START_TEST(samples_are_grouped_by_function_and_clones_are_the_function) {
  struct it_report_run r;
  const char *argv[] = {LS_PROG_rd_clone, NULL};
  it_run_report(&r, "it_readable_clone", NULL, argv, 0);
  ck_assert_msg(symbol_offset(LS_PROG_rd_clone, "burn.constprop.0") != 0, "the compiler made no clone of burn");
  json_object *f[4];
  ck_assert_uint_eq(it_findings(r.root, "loop-stall", f, 4), 1);
  ck_assert_msg(strstr(it_str(f[0], "message"), "most samples in <burn>") != NULL, "%s", it_json_text(f[0]));
  char *text = report_text(r.dir, NULL, NULL);
  const char *where = strstr(text, "where the time went (");
  ck_assert_msg(where != NULL, "%s", text);
  ck_assert_msg(strstr(where, " samples (") && strstr(where, "%)  burn ("), "not grouped by function:\n%s", where);
  ck_assert_msg(strstr(strstr(text, "loopscope: warning"), "constprop") == NULL, "a clone's name is shown:\n%s", text);
  free(text);
  it_run_report_free(&r);
}
END_TEST

/* A process ended by SIGTRAP (GLib's fatal-critical) or SIGSYS has an exit record naming the signal, as
 * SIGSEGV and SIGABRT have: `report` says it without knowing what `run` saw. */
START_TEST(every_fatal_signal_is_told) {
  static const struct {
    const char *sig;
    int num;
  } cases[] = {{"TRAP", 5}, {"SYS", 31}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *dir = it_mkdir("it_readable_fatal"), *script = NULL;
    ck_assert(asprintf(&script, "kill -%s $$", cases[i].sig) >= 0);
    struct it_proc p;
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    it_loopscope_run(&p, dir, NULL, argv);
    ck_assert_int_eq(p.code, 128 + cases[i].num);
    json_object *root = it_report_json(dir);
    ck_assert_msg(strcmp(it_str(root, "processes.0.exit.how"), "signal") == 0 &&
                      it_int(root, "processes.0.exit.status") == cases[i].num,
                  "SIG%s: %s", cases[i].sig, it_json_text(it_need(root, "processes.0")));
    json_object_put(root);
    it_proc_free(&p);
    free(script);
    it_done(dir);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_readable");
  TCase *tc = it_tcase(s, "text");
  tcase_add_test(tc, color_is_escape_codes_around_the_severity_only);
  tcase_add_test(tc, stacks_say_what_they_are);
  tcase_add_test(tc, a_blocking_call_says_how_long_it_took);
  tcase_add_test(tc, exit_status_as_the_shell_sees_it);
  tcase_add_test(tc, killed_from_outside_says_by_which_signal);
  tcase_add_test(tc, verbosity_decides_how_much_is_shown);
  tcase_add_test(tc, sites_that_never_ran_are_not_ranked);
  tcase_add_test(tc, sarif_points_at_the_program);
  tcase_add_test(tc, live_output_is_quiet_by_default);
  tcase_add_test(tc, threads_are_labelled_and_measured_as_the_system_sees_them);
  tcase_add_test(tc, the_shim_never_appears_in_a_stack);
  tcase_add_test(tc, live_names_are_file_and_offset);
  tcase_add_test(tc, samples_are_grouped_by_function_and_clones_are_the_function);
  tcase_add_test(tc, every_fatal_signal_is_told);
  return it_main(s);
}
