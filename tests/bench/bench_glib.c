/* What the GLib adapter costs (issue 6). Run with no argument it is the driver: it runs itself as the
 * child ("child") plain and under libloopscope.so, alternating RUNS times each, pinned to one CPU,
 * and prints the median ns per operation of each and the difference. The shimmed child's report must
 * count every dispatched callback, or the benchmark fails. The child:
 *
 *   idle dispatch       one g_idle_add callback dispatched N times by g_main_loop_run: GLib's
 *                       dispatch, our record's get, the trampoline's two clock reads and its add
 *   custom dispatch     a source of the program's own GSourceFuncs dispatched N times: our prepare
 *                       and dispatch trampolines, the dispatch's lookup by source pointer
 *   g_idle_add+remove   a registration on a known site and its removal (our record, the attach)
 *   GTask cycle         g_task_new, g_task_return_boolean, g_task_propagate_boolean, g_object_unref
 *                       (no callback): the task record, its weak reference, the flags
 *
 * Not a CTest test: the figures depend on the machine. `cmake --build BUILD --target bench-glib`. */
#define _GNU_SOURCE
#include <gio/gio.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#define RUNS 5
#define NCASES 4
#define N_DISPATCH 2000000L

static const char *const names[NCASES] = {"idle dispatch", "custom dispatch", "g_idle_add+g_source_remove",
                                          "GTask new/return/propagate"};
static const long iters[NCASES] = {N_DISPATCH, N_DISPATCH, 200000, 200000};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static GMainLoop *loop;
static long count;

static gboolean on_idle(gpointer data) {
  (void)data;
  if (++count < N_DISPATCH) return G_SOURCE_CONTINUE;
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

static gboolean ready(GSource *s, gint *timeout) {
  (void)s;
  *timeout = 0;
  return TRUE;
}

static gboolean custom_dispatch(GSource *s, GSourceFunc cb, gpointer data) {
  (void)s, (void)cb, (void)data;
  if (++count < N_DISPATCH) return G_SOURCE_CONTINUE;
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

static GSourceFuncs custom_funcs = {ready, NULL, custom_dispatch, NULL, NULL, NULL};

static gboolean never(gpointer data) {
  (void)data;
  return G_SOURCE_REMOVE;
}

static double time_case(int c) {
  count = 0;
  uint64_t t0 = now_ns();
  switch (c) {
  case 0:
    g_idle_add(on_idle, NULL);
    g_main_loop_run(loop);
    break;
  case 1: {
    GSource *s = g_source_new(&custom_funcs, sizeof(GSource));
    g_source_attach(s, NULL);
    g_source_unref(s);
    g_main_loop_run(loop);
    break;
  }
  case 2:
    for (long i = 0; i < iters[c]; i++) g_source_remove(g_idle_add(never, NULL));
    break;
  case 3:
    for (long i = 0; i < iters[c]; i++) {
      GTask *t = g_task_new(NULL, NULL, NULL, NULL);
      g_task_return_boolean(t, TRUE);
      g_task_propagate_boolean(t, NULL);
      g_object_unref(t);
    }
    break;
  }
  return (double)(now_ns() - t0) / (double)iters[c];
}

static int child(void) {
  loop = g_main_loop_new(NULL, FALSE);
  for (int c = 0; c < NCASES; c++) printf("%.2f\n", time_case(c));
  g_main_loop_unref(loop);
  return 0;
}

/* One run of the child; its figures into out[], its pid into *pid. */
static int run_child(bool shim, const char *tmpdir, double out[NCASES], pid_t *pid) {
  int pfd[2];
  if (pipe(pfd) != 0) return -1;
  *pid = fork();
  if (*pid == 0) {
    dup2(pfd[1], 1);
    close(pfd[0]);
    unsetenv("LD_PRELOAD");
    unsetenv("LOOPSCOPE_OPTIONS");
    if (shim) {
      char opts[4200];
      snprintf(opts, sizeof(opts), "log_path=%s/bench.%%p.lsr:verbosity=0", tmpdir);
      setenv("LD_PRELOAD", LS_BENCH_SHIM, 1);
      setenv("LOOPSCOPE_OPTIONS", opts, 1);
    }
    execl("/proc/self/exe", "bench_glib", "child", (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  FILE *f = fdopen(pfd[0], "r");
  int got = 0;
  while (got < NCASES && fscanf(f, "%lf", &out[got]) == 1) got++;
  fclose(f);
  int st;
  waitpid(*pid, &st, 0);
  return got == NCASES && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The shimmed report counted every dispatch of on_idle and custom_dispatch. */
static int check_report(const char *tmpdir, pid_t pid) {
  char report[4200], json[4300];
  if (!bench_find_report(tmpdir, "bench", pid, report, sizeof(report))) {
    fprintf(stderr, "bench_glib: no report from the shimmed child\n");
    return -1;
  }
  snprintf(json, sizeof(json), "%s/report.json", tmpdir);
  if (bench_render_json(LS_BENCH_CLI, report, json) < 0) return -1;
  json_object *root = json_object_from_file(json), *procs, *sites;
  if (!root || !json_object_object_get_ex(root, "processes", &procs) ||
      !json_object_object_get_ex(json_object_array_get_idx(procs, 0), "sites", &sites))
    return -1;
  int64_t idle = 0, custom = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i), *c;
    const char *fn = bench_site_function(s);
    if (!fn || !json_object_object_get_ex(s, "count", &c)) continue;
    if (strcmp(fn, "on_idle") == 0) idle += json_object_get_int64(c);
    if (strcmp(fn, "custom_dispatch") == 0) custom += json_object_get_int64(c);
  }
  json_object_put(root);
  if (idle != N_DISPATCH || custom != N_DISPATCH) {
    fprintf(stderr, "bench_glib: the report counted %lld idle and %lld custom dispatches, expected %ld each\n",
            (long long)idle, (long long)custom, N_DISPATCH);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  bench_prog = "bench_glib";
  if (argc > 1 && strcmp(argv[1], "child") == 0) return child();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &set);
  sched_setaffinity(0, sizeof(set), &set);
  char tmpdir[] = "/tmp/bench_glib.XXXXXX";
  if (!mkdtemp(tmpdir)) return 2;
  double plain[NCASES][RUNS], shim[NCASES][RUNS], r[NCASES];
  pid_t pid = 0;
  for (int i = 0; i < RUNS; i++) {
    if (run_child(false, tmpdir, r, &pid) != 0) return 1;
    for (int c = 0; c < NCASES; c++) plain[c][i] = r[c];
    if (run_child(true, tmpdir, r, &pid) != 0) return 1;
    for (int c = 0; c < NCASES; c++) shim[c][i] = r[c];
  }
  int rc = check_report(tmpdir, pid) == 0 ? 0 : 1;
  printf("GLib adapter, ns per operation, median of %d runs each\n", RUNS);
  printf("%-30s %10s %10s %10s\n", "operation", "plain", "shim", "added");
  for (int c = 0; c < NCASES; c++) {
    double p = bench_median(plain[c], RUNS), s = bench_median(shim[c], RUNS);
    printf("%-30s %10.1f %10.1f %10.1f\n", names[c], p, s, s - p);
  }
  bench_remove_tmpdir(tmpdir);
  return rc;
}
