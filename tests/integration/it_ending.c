/* How a process ends under the shim: the report is whole however it ends, and what ended it is told
 * truly. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

#define EXIT_RACE_RUNS 200
#define EXIT_RACE_TICKS 20

/* Both racers' libuv loops, each with its timer site's 20 calls (19 of them before the _exit). */
static bool both_loops_whole(json_object *proc) {
  json_object *loops = it_need(proc, "loops"), *sites = it_need(proc, "sites");
  size_t uv = 0;
  for (size_t i = 0; i < json_object_array_length(loops); i++) {
    const char *lib = it_str(json_object_array_get_idx(loops, i), "library");
    if (lib && strcmp(lib, "libuv") == 0) uv++;
  }
  int64_t calls = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    const char *fn = it_str(s, "callback.function");
    if (fn && strcmp(fn, "tick") == 0) calls += it_int(s, "count");
  }
  return uv == 2 && calls >= 2 * (EXIT_RACE_TICKS - 1);
}

/* Two loop threads calling _exit(0) at once, many times: every report has its exit record, its
 * trailer, and both loops with every tick counted. Whether the two really overlap depends on both
 * running on a CPU at that moment, which a loaded machine often denies (then there is no race): so
 * many runs, each under the bare shim (cheap), all rendered by one `loopscope report`. */
START_TEST(two_threads_exiting_at_once_keep_the_report_whole) {
  const char *argv[] = {LS_PROG_exit_race, NULL};
  char *dir = it_mkdir("it_ending_exit_race"), *opts;
  ck_assert_int_ge(asprintf(&opts, "LOOPSCOPE_OPTIONS=log_path=%s/report.%%p.%%s.lsr", dir), 0);
  const char *env[] = {"LD_PRELOAD=" LS_PRELOAD, opts, NULL};
  for (int run = 0; run < EXIT_RACE_RUNS; run++) {
    struct it_proc p;
    it_run(&p, dir, argv, env, NULL);
    ck_assert_msg(p.code == 0 && strcmp(p.out, "ready\n") == 0, "run %d exited %d:\n%s%s", run, p.code, p.out, p.err);
    it_proc_free(&p);
  }
  json_object *root = it_report_json(dir), *procs = it_need(root, "processes");
  ck_assert_uint_eq(json_object_array_length(procs), EXIT_RACE_RUNS);
  int bad = 0;
  const char *first = NULL;
  for (size_t i = 0; i < EXIT_RACE_RUNS; i++) {
    json_object *proc = json_object_array_get_idx(procs, i);
    const char *how = it_str(proc, "exit.how");
    bool whole = !json_object_get_boolean(it_need(proc, "truncated")) && how && strcmp(how, "_exit") == 0 &&
                 it_int(proc, "exit.status") == 0 && json_object_array_length(it_need(proc, "threads")) == 3 &&
                 both_loops_whole(proc);
    if (!whole && !bad++) first = it_json_text(proc);
  }
  ck_assert_msg(bad == 0, "%d of %d reports not whole; the first:\n%s", bad, EXIT_RACE_RUNS, first);
  json_object_put(root);
  free(opts);
  it_done(dir);
}
END_TEST

/* ---- a crash: in the shim's code, or in the program's ------------------------------------------ */

/* `loopscope run` of argv with the preload library at shim; the one process's report. */
static void run_with_shim(struct it_report_run *r, const char *name, const char *shim, const char *const argv[]) {
  r->dir = it_mkdir(name);
  char *out, *env_shim;
  ck_assert_int_ge(asprintf(&out, "%s/report.%%p.%%s.lsr", r->dir), 0);
  ck_assert_int_ge(asprintf(&env_shim, "LOOPSCOPE_SHIM=%s", shim), 0);
  const char *largv[16] = {LS_CLI, "run", "-o", out, "--"};
  size_t n = 5;
  for (size_t i = 0; argv[i] && n < 15; i++) largv[n++] = argv[i];
  const char *env[] = {env_shim, NULL};
  it_run(&r->p, r->dir, largv, env, NULL);
  free(out);
  free(env_shim);
  r->root = it_report_json(r->dir);
  ck_assert_uint_eq(json_object_array_length(it_need(r->root, "processes")), 1);
  r->proc = it_need(r->root, "processes.0");
}

/* A fault in the shim's own code (a test copy of the shim with one faulting hook-shaped function):
 * the report and a live line say it was loopscope's, where, and that the program was not at fault. */
START_TEST(crash_in_the_shim_is_told_as_loopscopes) {
  const char *argv[] = {LS_PROG_shim_crash, NULL};
  struct it_report_run r;
  run_with_shim(&r, "it_ending_shim_crash", LS_FAULT_SHIM, argv);
  ck_assert_msg(r.p.code == 128 + 11 && strcmp(r.p.out, "calling\n") == 0, "exit %d, stdout:\n%s\nstderr:\n%s", r.p.code,
                r.p.out, r.p.err);
  size_t lines = 0;
  for (const char *l = r.p.err; (l = strstr(l, "loopscope: internal error: ")); l++) {
    lines++;
    const char *eol = strchr(l, '\n');
    const char *hook = strstr(l, "SIGSEGV in the loopscope_test_fault hook ("),
               *fault = strstr(l, "the program was not at fault");
    ck_assert_msg(eol && hook && hook < eol && fault && fault < eol, "the live line does not say it all:\n%s", r.p.err);
  }
  ck_assert_msg(lines == 1, "%zu internal-error lines, expected one:\n%s", lines, r.p.err);

  const char *text = it_json_text(r.proc);
  ck_assert_msg(!json_object_get_boolean(it_need(r.proc, "truncated")), "truncated:\n%s", text);
  ck_assert_str_eq(it_str(r.proc, "exit.how"), "signal");
  ck_assert_int_eq(it_int(r.proc, "exit.status"), 11);
  json_object *inc = it_need(r.proc, "incidents");
  ck_assert_msg(json_object_array_length(inc) == 1, "one incident expected:\n%s", text);
  json_object *k = it_need(inc, "0");
  ck_assert_str_eq(it_str(k, "what"), "internal-error");
  ck_assert_int_eq(it_int(k, "signal"), 11);
  ck_assert_str_eq(it_str(k, "signal_name"), "SEGV");
  ck_assert_str_eq(it_str(k, "address"), "0x0");
  ck_assert_str_eq(it_str(k, "hook"), "loopscope_test_fault");
  /* The faulting line of the shim's code, then the hook, then the program's call of it. */
  ck_assert_msg(it_frame_is(it_need(k, "frame"), "shim_fault.c", it_marker_line("shim_fault.c", "fault")) &&
                    strcmp(it_str(k, "frame.function"), "broken_helper") == 0,
                "frame is not broken_helper at the marked line:\n%s", text);
  ck_assert_str_eq(it_str(k, "stack.0.function"), "broken_helper");
  ck_assert_str_eq(it_str(k, "stack.1.function"), "loopscope_test_fault");
  ck_assert_str_eq(it_str(k, "stack.2.function"), "main");
  ck_assert_str_eq(it_base(it_str(k, "stack.2.file")), "shim_crash.c");
  it_no_findings(&r, "shim_crash");
  it_run_report_free(&r);
}
END_TEST

/* The program's own crash (a NULL dereference in its timer callback) is the program's: no incident. */
START_TEST(crash_in_the_program_is_no_incident) {
  const char *argv[] = {LS_PROG_rob_crash, NULL};
  struct it_report_run r;
  run_with_shim(&r, "it_ending_prog_crash", LS_SHIM, argv);
  ck_assert_msg(r.p.code == 128 + 11 && !strstr(r.p.err, "internal error"), "exit %d, stderr:\n%s", r.p.code, r.p.err);
  ck_assert_str_eq(it_str(r.proc, "exit.how"), "signal");
  ck_assert_msg(json_object_array_length(it_need(r.proc, "incidents")) == 0, "incidents:\n%s", it_json_text(r.proc));
  it_run_report_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ending");
  TCase *tc = it_tcase(s, "ending");
  tcase_add_test(tc, two_threads_exiting_at_once_keep_the_report_whole);
  tcase_add_test(tc, crash_in_the_shim_is_told_as_loopscopes);
  tcase_add_test(tc, crash_in_the_program_is_no_incident);
  return it_main(s);
}
