/* How a process ends under the shim: the report is whole however it ends, and what ended it is told
 * truly. */
#define _GNU_SOURCE
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
  const char *env[] = {"LD_PRELOAD=" LS_SHIM, opts, NULL};
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

int main(void) {
  Suite *s = suite_create("ending");
  TCase *tc = it_tcase(s, "ending");
  tcase_add_test(tc, two_threads_exiting_at_once_keep_the_report_whole);
  return it_main(s);
}
