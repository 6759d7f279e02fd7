/* CI mode (issue 7): --fail-on and --error-exitcode on run and report, suppressions (matching, not
 * matching, malformed, generated and fed back, counted), merging 100 reports, SARIF and JUnit. The
 * programs: thread_unretrieved (unretrieved-error, in "leaks"), uv_slow_callback (slow-callback, in
 * no group), ci_mixed (one unretrieved-error and one unjoined-thread from two functions), ci_fork_leak
 * (the leak is in a forked child). The SARIF schema check is its own CTest test (tests/sarif). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "it_util.h"

/* `loopscope report ARGS... DIR/report.*.lsr` (all of dir's reports unless files is given). */
static void report(struct it_proc *p, const char *dir, const char *const args[], const char *const files[]) {
  const char *argv[64];
  size_t n = 0;
  argv[n++] = LS_CLI;
  argv[n++] = "report";
  for (size_t i = 0; args && args[i]; i++) argv[n++] = args[i];
  char **paths = NULL;
  size_t np = 0;
  if (files) {
    for (size_t i = 0; files[i]; i++) argv[n++] = files[i];
  } else {
    np = it_reports(dir, &paths);
    for (size_t i = 0; i < np && n < 62; i++) argv[n++] = paths[i];
  }
  argv[n] = NULL;
  it_run(p, dir, argv, NULL, NULL);
  it_free_paths(paths, np);
}

static json_object *parse_json(const char *text) {
  json_object *root = json_tokener_parse(text);
  ck_assert_msg(root != NULL, "not JSON:\n%s", text);
  return root;
}

/* `loopscope run FLAGS -- prog`: its exit code; the reports stay in dir. */
static int run_code(const char *dir, const char *const flags[], const char *prog, struct it_proc *keep) {
  struct it_proc p;
  const char *argv[] = {prog, NULL};
  it_loopscope_run(&p, dir, flags, argv);
  int code = p.code;
  if (keep) *keep = p;
  else it_proc_free(&p);
  return code;
}

static char *write_supp(const char *dir, const char *name, const char *text) {
  char *path;
  ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
  it_write_file(path, text, strlen(text));
  return path;
}

static char *flag(const char *name, const char *value) {
  char *f;
  ck_assert_int_ge(asprintf(&f, "--%s=%s", name, value), 0);
  return f;
}

/* ---- --fail-on on run --------------------------------------------------------------------------- */

START_TEST(fail_on_run) {
  char *dir = it_mkdir("it_ci_fail_on_run");
  struct it_proc p;
  /* a group that holds the finding: 1, or --error-exitcode */
  const char *leaks[] = {"--fail-on=leaks", NULL};
  ck_assert_int_eq(run_code(dir, leaks, LS_PROG_thread_unretrieved, &p), 1);
  ck_assert_str_eq(p.out, "ended=1\n"); /* the program ran as ever */
  it_proc_free(&p);
  const char *leaks42[] = {"--fail-on=leaks", "--error-exitcode=42", NULL};
  ck_assert_int_eq(run_code(dir, leaks42, LS_PROG_thread_unretrieved, NULL), 42);
  const char *one[] = {"--fail-on", "unretrieved-error", "--error-exitcode", "7", NULL};
  ck_assert_int_eq(run_code(dir, one, LS_PROG_thread_unretrieved, NULL), 7);
  /* a group that does not: the program's own status */
  const char *threads[] = {"--fail-on=threads", NULL};
  ck_assert_int_eq(run_code(dir, threads, LS_PROG_thread_unretrieved, NULL), 0);
  const char *slow_leaks[] = {"--fail-on=leaks,threads,pool-wait", NULL};
  ck_assert_int_eq(run_code(dir, slow_leaks, LS_PROG_uv_slow_callback, NULL), 0);
  /* all, and the id itself */
  const char *all[] = {"--fail-on=all", NULL};
  ck_assert_int_eq(run_code(dir, all, LS_PROG_uv_slow_callback, NULL), 1);
  const char *slow[] = {"--fail-on=never-run,slow-callback", NULL};
  ck_assert_int_eq(run_code(dir, slow, LS_PROG_uv_slow_callback, NULL), 1);
  /* no finding: the program's own status comes through, whatever --fail-on says */
  const char *argv[] = {LS_PROG_exit_with, "3", NULL};
  it_loopscope_run(&p, dir, all, argv);
  ck_assert_msg(p.code == 3, "exit_with 3 under --fail-on=all exited %d:\n%s", p.code, p.err);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

START_TEST(fail_on_bad_id) {
  char *dir = it_mkdir("it_ci_bad_id");
  struct it_proc p;
  const char *bad[] = {"--fail-on=leaks,slow-calback", NULL};
  ck_assert_int_eq(run_code(dir, bad, LS_PROG_thread_unretrieved, &p), 125);
  ck_assert_str_eq(p.out, ""); /* refused before the program ran */
  ck_assert_msg(strstr(p.err, "'slow-calback'") && strstr(p.err, "slow-callback") && strstr(p.err, "leaks") &&
                    strstr(p.err, "threads") && strstr(p.err, "all") && strstr(p.err, "unjoined-thread"),
                "the error names neither the bad id nor the accepted ones:\n%s", p.err);
  it_proc_free(&p);
  const char *badcode[] = {"--fail-on=all", "--error-exitcode=0", NULL};
  ck_assert_int_eq(run_code(dir, badcode, LS_PROG_thread_unretrieved, NULL), 125);
  /* report: 2 */
  const char *ok[] = {NULL};
  ck_assert_int_eq(run_code(dir, ok, LS_PROG_thread_unretrieved, NULL), 0);
  const char *rbad[] = {"--fail-on=bogus", NULL};
  report(&p, dir, rbad, NULL);
  ck_assert_int_eq(p.code, 2);
  ck_assert_msg(strstr(p.err, "'bogus'") && strstr(p.err, "never-run"), "%s", p.err);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* ---- --fail-on on report ------------------------------------------------------------------------ */

START_TEST(fail_on_report) {
  char *dir = it_mkdir("it_ci_fail_on_report");
  const char *none[] = {NULL};
  ck_assert_int_eq(run_code(dir, none, LS_PROG_ci_mixed, NULL), 0);
  struct it_proc p;
  static const struct {
    const char *args[4];
    int code;
  } cases[] = {
      {{"--fail-on=leaks"}, 1},
      {{"--fail-on=unjoined-thread", "--error-exitcode=9"}, 9},
      {{"--fail-on=threads"}, 0},
      {{"--fail-on=slow-callback,pool-wait"}, 0},
      {{"--fail-on=all", "--format=json"}, 1},
      {{"--format=sarif", "--fail-on=unretrieved-error", "--error-exitcode=3"}, 3},
      {{NULL}, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    report(&p, dir, cases[i].args, NULL);
    ck_assert_msg(p.code == cases[i].code, "case %zu (%s %s): exit %d, expected %d\n%s", i,
                  cases[i].args[0] ? cases[i].args[0] : "", cases[i].args[1] ? cases[i].args[1] : "", p.code,
                  cases[i].code, p.err);
    it_proc_free(&p);
  }
  it_done(dir);
}
END_TEST

/* The leak is in a forked child's report: run judges the whole tree. */
START_TEST(fail_on_child) {
  char *dir = it_mkdir("it_ci_child");
  struct it_proc p;
  const char *leaks[] = {"--fail-on=leaks", NULL};
  ck_assert_int_eq(run_code(dir, leaks, LS_PROG_ci_fork_leak, &p), 1);
  int child = 0;
  ck_assert_int_eq(sscanf(p.out, "child=%d", &child), 1);
  ck_assert_msg(strstr(p.err, "ci_child_worker"), "the child's finding is not rendered:\n%s", p.err);
  it_proc_free(&p);
  json_object *root = it_report_json(dir);
  json_object *f[4];
  ck_assert_uint_eq(it_findings(root, "unjoined-thread", f, 4), 1);
  ck_assert_int_eq(it_int(f[0], "pid"), child);
  ck_assert_int_eq(it_int(f[0], "processes.0.pid"), child);
  json_object_put(root);
  it_done(dir);
}
END_TEST

/* ---- suppressions ------------------------------------------------------------------------------- */

START_TEST(suppression_matches) {
  char *dir = it_mkdir("it_ci_supp_match");
  const char *none[] = {NULL};
  ck_assert_int_eq(run_code(dir, none, LS_PROG_ci_mixed, NULL), 0);
  /* by function (the callback), by source file, by module path: each takes its own id only */
  static const char *const files[] = {
      "# the failing worker is known\n\nunretrieved-error:ci_failing_*\n",
      "unretrieved-error:ci_mixed.c\n",
      "  unretrieved-error : */ci_mixed  \n",
      "unretrieved-error:start_fail?ng\n",
  };
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    char *supp = write_supp(dir, "match.supp", files[i]), *sflag = flag("suppressions", supp);
    const char *args[] = {"--format=json", sflag, "--fail-on=unretrieved-error", NULL};
    struct it_proc p;
    report(&p, dir, args, NULL);
    ck_assert_msg(p.code == 0, "file %zu: exit %d\n%s", i, p.code, p.err);
    json_object *root = parse_json(p.out), *f[4];
    ck_assert_msg(it_findings(root, NULL, f, 4) == 1, "file %zu:\n%s", i, it_json_text(root));
    ck_assert_str_eq(it_str(f[0], "category"), "unjoined-thread");
    json_object *sup = it_need(root, "suppressed");
    ck_assert_uint_eq(json_object_array_length(sup), 1);
    ck_assert_str_eq(it_str(sup, "0.category"), "unretrieved-error");
    ck_assert_msg(strncmp(it_str(sup, "0.suppression"), "unretrieved-error:", 18) == 0, "%s", it_json_text(sup));
    json_object_put(root);
    it_proc_free(&p);
    /* text: the suppressed one is not shown, and is counted */
    const char *targs[] = {sflag, NULL};
    report(&p, dir, targs, NULL);
    ck_assert_int_eq(p.code, 0);
    ck_assert_msg(strstr(p.out, "1 finding suppressed") && !strstr(p.out, "unretrieved-error:") &&
                      strstr(p.out, "1 finding: 1 unjoined-thread"),
                  "file %zu:\n%s", i, p.out);
    it_proc_free(&p);
    free(supp);
    free(sflag);
  }
  /* on run: the suppressed finding does not fail it, the other still does */
  char *supp = write_supp(dir, "run.supp", "unretrieved-error:ci_failing_worker\n"), *sflag = flag("suppressions", supp);
  const char *f1[] = {sflag, "--fail-on=unretrieved-error", NULL};
  ck_assert_int_eq(run_code(dir, f1, LS_PROG_ci_mixed, NULL), 0);
  const char *f2[] = {sflag, "--fail-on=leaks", NULL};
  ck_assert_int_eq(run_code(dir, f2, LS_PROG_ci_mixed, NULL), 1);
  free(supp);
  free(sflag);
  it_done(dir);
}
END_TEST

START_TEST(suppression_does_not_match) {
  char *dir = it_mkdir("it_ci_supp_nomatch");
  const char *none[] = {NULL};
  ck_assert_int_eq(run_code(dir, none, LS_PROG_ci_mixed, NULL), 0);
  /* right function, wrong id; right id, a function in no stack; a pattern that must match whole */
  char *supp = write_supp(dir, "nomatch.supp",
                          "unjoined-thread:ci_failing_worker\nunretrieved-error:no_such_function\n"
                          "unretrieved-error:ci_failing\n"),
       *sflag = flag("suppressions", supp);
  const char *args[] = {"--format=json", sflag, "--fail-on=leaks", NULL};
  struct it_proc p;
  report(&p, dir, args, NULL);
  ck_assert_int_eq(p.code, 1);
  json_object *root = parse_json(p.out), *f[4];
  ck_assert_uint_eq(it_findings(root, NULL, f, 4), 2);
  ck_assert_uint_eq(json_object_array_length(it_need(root, "suppressed")), 0);
  json_object_put(root);
  it_proc_free(&p);
  free(supp);
  free(sflag);
  it_done(dir);
}
END_TEST

START_TEST(suppressions_malformed) {
  char *dir = it_mkdir("it_ci_supp_bad");
  static const struct {
    const char *text, *want;
  } bad[] = {
      {"# comment\n\nunjoined-thread:ok\nno colon here\n", ":4:"},
      {"unjoined-thread:ok\nnot-a-finding:main\n", ":2:"},
      {"unjoined-thread:\n", ":1:"},
  };
  const char *none[] = {NULL};
  ck_assert_int_eq(run_code(dir, none, LS_PROG_thread_unretrieved, NULL), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *supp = write_supp(dir, "bad.supp", bad[i].text), *sflag = flag("suppressions", supp), *want;
    ck_assert_int_ge(asprintf(&want, "%s%s", supp, bad[i].want), 0);
    struct it_proc p;
    const char *flags[] = {sflag, NULL};
    ck_assert_int_eq(run_code(dir, flags, LS_PROG_thread_unretrieved, &p), 125);
    ck_assert_msg(strstr(p.err, want) && p.out[0] == 0, "case %zu: no '%s' in:\n%s", i, want, p.err);
    it_proc_free(&p);
    report(&p, dir, flags, NULL);
    ck_assert_int_eq(p.code, 2);
    ck_assert_msg(strstr(p.err, want), "case %zu: no '%s' in:\n%s", i, want, p.err);
    it_proc_free(&p);
    free(want);
    free(supp);
    free(sflag);
  }
  it_done(dir);
}
END_TEST

/* --gen-suppressions, fed back as a file, suppresses everything it was generated from. */
START_TEST(gen_suppressions_roundtrip) {
  const char *progs[] = {LS_PROG_ci_mixed, LS_PROG_uv_slow_callback, LS_PROG_thread_unretrieved};
  for (size_t k = 0; k < 3; k++) {
    char *dir = it_mkdir("it_ci_gen");
    const char *none[] = {NULL};
    ck_assert_int_eq(run_code(dir, none, progs[k], NULL), 0);
    struct it_proc p;
    const char *gen[] = {"--gen-suppressions", NULL};
    report(&p, dir, gen, NULL);
    ck_assert_int_eq(p.code, 0);
    const char *block = strstr(p.out, "# loopscope suppressions");
    ck_assert_msg(block != NULL, "no suppressions block:\n%s", p.out);
    char *supp = write_supp(dir, "gen.supp", block), *sflag = flag("suppressions", supp);
    it_proc_free(&p);
    const char *args[] = {"--format=json", sflag, "--fail-on=all", NULL};
    report(&p, dir, args, NULL);
    ck_assert_msg(p.code == 0, "%s: exit %d\n%s\n%s", progs[k], p.code, p.err, it_read_file(supp, NULL));
    json_object *root = parse_json(p.out), *f[4];
    ck_assert_uint_eq(it_findings(root, NULL, f, 4), 0);
    ck_assert_uint_ge(json_object_array_length(it_need(root, "suppressed")), 1);
    json_object_put(root);
    it_proc_free(&p);
    /* and with run: nothing fails */
    const char *rflags[] = {sflag, "--fail-on=all", NULL};
    ck_assert_int_eq(run_code(dir, rflags, progs[k], NULL), 0);
    free(supp);
    free(sflag);
    it_done(dir);
  }
}
END_TEST

START_TEST(print_suppressions_counts) {
  char *dir = it_mkdir("it_ci_print");
  const char *none[] = {NULL};
  ck_assert_int_eq(run_code(dir, none, LS_PROG_ci_mixed, NULL), 0);
  ck_assert_int_eq(run_code(dir, none, LS_PROG_ci_mixed, NULL), 0); /* two processes */
  char *supp = write_supp(dir, "p.supp", "slow-callback:stale_one\n*:main\nunjoined-thread:never_reached\n"),
       *sflag = flag("suppressions", supp);
  const char *args[] = {sflag, "--print-suppressions", NULL};
  struct it_proc p;
  report(&p, dir, args, NULL);
  ck_assert_int_eq(p.code, 0);
  /* "*:main" takes both findings of both processes; the others are stale */
  ck_assert_msg(strstr(p.out, "       0  slow-callback:stale_one") && strstr(p.out, "       4  *:main") &&
                    strstr(p.out, "       0  unjoined-thread:never_reached") && strstr(p.out, "2 findings suppressed"),
                "%s", p.out);
  it_proc_free(&p);
  /* JSON goes to stdout alone; the counts go to stderr */
  const char *jargs[] = {"--format=json", sflag, "--print-suppressions", NULL};
  report(&p, dir, jargs, NULL);
  ck_assert_int_eq(p.code, 0);
  json_object_put(parse_json(p.out));
  ck_assert_msg(strstr(p.err, "4  *:main"), "%s", p.err);
  it_proc_free(&p);
  /* run: on stderr, prefixed */
  const char *rargs[] = {sflag, "--print-suppressions", NULL};
  ck_assert_int_eq(run_code(dir, rargs, LS_PROG_ci_mixed, &p), 0);
  ck_assert_msg(strstr(p.err, "loopscope:          2  *:main"), "%s", p.err);
  it_proc_free(&p);
  free(supp);
  free(sflag);
  it_done(dir);
}
END_TEST

/* ---- merging ------------------------------------------------------------------------------------ */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100 reports of one program (one real report, its pid made 1000..1099, as 100 runs would have it):
 * one finding, in 100 processes, counted 100 times, fast. A directory argument reads them all. */
START_TEST(merge_100_reports) {
  char *dir = it_mkdir("it_ci_merge");
  const char *none[] = {NULL};
  ck_assert_int_eq(run_code(dir, none, LS_PROG_thread_unretrieved, NULL), 0);
  char **paths;
  ck_assert_uint_eq(it_reports(dir, &paths), 1);
  size_t len;
  char *text = it_read_file(paths[0], &len), *many, *pidkey;
  json_object *one = it_report_json(dir);
  ck_assert_int_ge(asprintf(&pidkey, "\nP pid=%lld ", (long long)it_int(one, "processes.0.pid")), 0);
  char *at = strstr(text, pidkey);
  ck_assert_msg(at != NULL, "no '%s' record in the report", pidkey + 1);
  ck_assert_int_ge(asprintf(&many, "%s/many", dir), 0);
  ck_assert_int_eq(mkdir(many, 0700), 0);
  for (int i = 0; i < 100; i++) {
    char *path, *copy;
    size_t head = (size_t)(at - text);
    ck_assert_int_ge(asprintf(&path, "%s/copy.%d.lsr", many, 1000 + i), 0);
    ck_assert_int_ge(asprintf(&copy, "%.*s\nP pid=%d %s", (int)head, text, 1000 + i, at + strlen(pidkey)), 0);
    it_write_file(path, copy, strlen(copy));
    free(path);
    free(copy);
  }
  struct it_proc p;
  const char *args[] = {"--format=json", NULL}, *files[] = {many, NULL};
  double t0 = now_s();
  report(&p, dir, args, files);
  double took = now_s() - t0;
  ck_assert_msg(p.code == 0, "exit %d\n%s", p.code, p.err);
  ck_assert_msg(took < 10.0, "merging 100 reports took %.1f s", took);
  json_object *root = parse_json(p.out), *f[4];
  ck_assert_uint_eq(json_object_array_length(it_need(root, "processes")), 100);
  ck_assert_uint_eq(it_findings(root, NULL, f, 4), 1);
  ck_assert_str_eq(it_str(f[0], "category"), "unretrieved-error");
  ck_assert_int_eq(it_int(f[0], "count"), 100);
  json_object *procs = it_need(f[0], "processes");
  ck_assert_uint_eq(json_object_array_length(procs), 100);
  for (int i = 0; i < 100; i++) {
    json_object *pc = json_object_array_get_idx(procs, (size_t)i);
    ck_assert_int_eq(it_int(pc, "pid"), 1000 + i); /* the directory is read in version order */
    ck_assert_int_eq(it_int(pc, "count"), 1);
  }
  /* the same finding as the single report's, stack and all */
  ck_assert_str_eq(it_json_text(it_need(f[0], "stack")), it_json_text(it_need(one, "findings.0.stack")));
  json_object_put(root);
  it_proc_free(&p);
  const char *targs[] = {NULL};
  report(&p, dir, targs, files);
  ck_assert_msg(strstr(p.out, "in 100 processes") && strstr(p.out, "1 finding: 1 unretrieved-error"), "%s", p.out);
  it_proc_free(&p);
  json_object_put(one);
  free(text);
  free(pidkey);
  free(many);
  it_free_paths(paths, 1);
  it_done(dir);
}
END_TEST

/* ---- SARIF and JUnit ---------------------------------------------------------------------------- */

START_TEST(sarif_shape) {
  char *dir = it_mkdir("it_ci_sarif");
  const char *none[] = {NULL};
  ck_assert_int_eq(run_code(dir, none, LS_PROG_ci_mixed, NULL), 0);
  ck_assert_int_eq(run_code(dir, none, LS_PROG_ci_mixed, NULL), 0);
  char *root_flag = flag("source-root", LS_PROGRAMS_SRC "/../..");
  const char *args[] = {"--format=sarif", root_flag, NULL};
  struct it_proc p;
  report(&p, dir, args, NULL);
  ck_assert_int_eq(p.code, 0);
  json_object *root = parse_json(p.out);
  ck_assert_str_eq(it_str(root, "version"), "2.1.0");
  ck_assert_uint_eq(json_object_array_length(it_need(root, "runs")), 1);
  json_object *run = it_need(root, "runs.0"), *rules = it_need(run, "tool.driver.rules");
  ck_assert_str_eq(it_str(run, "tool.driver.name"), "loopscope");
  ck_assert_uint_eq(json_object_array_length(rules), 10);
  ck_assert_str_eq(it_str(rules, "0.id"), "slow-callback");
  json_object *results = it_need(run, "results");
  /* two processes, two findings each: merged into two results */
  ck_assert_uint_eq(json_object_array_length(results), 2);
  for (size_t i = 0; i < 2; i++) {
    json_object *r = json_object_array_get_idx(results, i);
    const char *id = it_str(r, "ruleId");
    bool failing = strcmp(id, "unretrieved-error") == 0;
    ck_assert_msg(failing || strcmp(id, "unjoined-thread") == 0, "%s", id);
    ck_assert_str_eq(it_str(r, "level"), failing ? "error" : "warning");
    ck_assert_str_eq(it_str(r, "locations.0.physicalLocation.artifactLocation.uri"), "tests/programs/ci_mixed.c");
    ck_assert_int_eq(it_int(r, "locations.0.physicalLocation.region.startLine"),
                     it_marker_line("ci_mixed.c", failing ? "failing" : "lonely"));
    ck_assert_uint_eq(strlen(it_str(r, "partialFingerprints.loopscope/v1")), 16);
  }
  /* the fingerprint does not change with the run (other pids, other addresses) */
  char *dir2 = it_mkdir("it_ci_sarif2");
  ck_assert_int_eq(run_code(dir2, none, LS_PROG_ci_mixed, NULL), 0);
  struct it_proc p2;
  report(&p2, dir2, args, NULL);
  json_object *root2 = parse_json(p2.out);
  ck_assert_str_eq(it_str(root2, "runs.0.results.0.partialFingerprints.loopscope/v1"),
                   it_str(run, "results.0.partialFingerprints.loopscope/v1"));
  ck_assert_str_eq(it_str(root2, "runs.0.results.1.partialFingerprints.loopscope/v1"),
                   it_str(run, "results.1.partialFingerprints.loopscope/v1"));
  ck_assert_str_ne(it_str(root2, "runs.0.results.0.partialFingerprints.loopscope/v1"),
                   it_str(run, "results.1.partialFingerprints.loopscope/v1"));
  json_object_put(root2);
  it_proc_free(&p2);
  it_done(dir2);
  /* without --source-root: absolute file:// URIs */
  const char *abs_args[] = {"--format=sarif", NULL};
  report(&p2, dir, abs_args, NULL);
  root2 = parse_json(p2.out);
  const char *uri = it_str(root2, "runs.0.results.0.locations.0.physicalLocation.artifactLocation.uri");
  ck_assert_msg(strncmp(uri, "file:///", 8) == 0 && strstr(uri, "/tests/programs/ci_mixed.c"), "%s", uri);
  json_object_put(root2);
  it_proc_free(&p2);
  json_object_put(root);
  it_proc_free(&p);
  free(root_flag);
  it_done(dir);
}
END_TEST

START_TEST(junit_shape) {
  char *dir = it_mkdir("it_ci_junit");
  const char *none[] = {NULL};
  ck_assert_int_eq(run_code(dir, none, LS_PROG_ci_mixed, NULL), 0);
  ck_assert_int_eq(run_code(dir, none, LS_PROG_thread_unretrieved, NULL), 0);
  char *supp = write_supp(dir, "j.supp", "unjoined-thread:ci_lonely_worker\n"), *sflag = flag("suppressions", supp);
  const char *args[] = {"--format=junit", sflag, "-o", "out.xml", NULL};
  struct it_proc p;
  report(&p, dir, args, NULL);
  ck_assert_msg(p.code == 0, "%s", p.err);
  it_proc_free(&p);
  char *xml;
  ck_assert_int_ge(asprintf(&xml, "%s/out.xml", dir), 0);
  char *text = it_read_file(xml, NULL);
  ck_assert_ptr_nonnull(text);
  ck_assert_msg(strstr(text, "<testsuite name=\"loopscope\" tests=\"2\" failures=\"2\"") &&
                    strstr(text, "name=\"ci_mixed ") && strstr(text, "name=\"thread_unretrieved ") &&
                    strstr(text, "type=\"unretrieved-error\"") && !strstr(text, "type=\"unjoined-thread\"") &&
                    strstr(text, "Thread &lt;ci_failing_worker"),
                "%s", text);
  /* well-formed: xmllint (libxml2-utils, which CI installs), else python3's parser */
  const char *lint[] = {"/bin/sh", "-c",
                        "if command -v xmllint >/dev/null; then xmllint --noout out.xml; "
                        "elif command -v python3 >/dev/null; then python3 -c 'import xml.dom.minidom,sys; "
                        "xml.dom.minidom.parse(\"out.xml\")'; else echo no XML checker; exit 1; fi",
                        NULL};
  it_run(&p, dir, lint, NULL, NULL);
  ck_assert_msg(p.code == 0, "out.xml is not well-formed:\n%s\n%s", p.err, text);
  it_proc_free(&p);
  free(text);
  free(xml);
  free(supp);
  free(sflag);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_ci_mode");
  TCase *tc = tcase_create("ci");
  tcase_add_test(tc, fail_on_run);
  tcase_add_test(tc, fail_on_bad_id);
  tcase_add_test(tc, fail_on_report);
  tcase_add_test(tc, fail_on_child);
  tcase_add_test(tc, suppression_matches);
  tcase_add_test(tc, suppression_does_not_match);
  tcase_add_test(tc, suppressions_malformed);
  tcase_add_test(tc, gen_suppressions_roundtrip);
  tcase_add_test(tc, print_suppressions_counts);
  tcase_add_test(tc, merge_100_reports);
  tcase_add_test(tc, sarif_shape);
  tcase_add_test(tc, junit_shape);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
