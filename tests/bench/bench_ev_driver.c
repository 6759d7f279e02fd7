/* The libevent benchmark driver (issue 5 item 9): runs bench_ev plain and under the shim, alternating,
 * pinned to one CPU, and prints the medians beside the goal (at most 30 ns added per dispatched
 * callback, as for libuv). The goal is printed, not enforced: a benchmark, not a timed test.
 *
 * Then it proves the shimmed runs measured what they claim: the last shimmed run's report must hold
 * the sites of bench_on_self and bench_on_batch with exactly the counts that run counted itself
 * ("counted: OK"); otherwise the exit status is 1.
 *
 * Paths come from the build, each overridable: --child (bench_ev), --shim, --cli. Exit status: 0 done
 * and counted, 1 a run failed or the counts disagree, 2 usage or set-up error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench_common.h"

#ifndef LS_BENCH_EV_CHILD
#error "LS_BENCH_EV_CHILD (the path of bench_ev) must be defined by the build"
#endif

#define GOAL_DISPATCH_NS 30.0
#define MAX_RUNS BENCH_MAX_RUNS
#define MAX_CHILD_ARGS BENCH_MAX_CHILD_ARGS
#define NFIG 3

struct figures {
  uint64_t batch, self_callbacks, batch_callbacks;
  double ns[NFIG]; /* self_ns, dispatch_ns, activate_ns */
};
static const char *const fig_keys[NFIG] = {"self_ns", "dispatch_ns", "activate_ns"};
static const char *const fig_rows[NFIG] = {"event_active + dispatch (self)", "dispatch of an active event",
                                           "event_active call"};

static void usage(FILE *f) {
  fprintf(f, "usage: bench_ev_driver [--runs=N] [--cpu=N] [--keep] [--shim-options=K=V:...] [--child=PATH]\n"
             "                       [--shim=PATH] [--cli=PATH] [-- SELF_CBS [BATCH_CBS [BATCH]]]\n"
             "Runs bench_ev N times plain and N times under the shim (default 5 each, alternating), pinned to\n"
             "one CPU, prints the medians, and checks that the shimmed report counted every callback.\n");
}

static void parse_args(int argc, char **argv, struct bench_config *c) {
  bench_parse_config(argc, argv, c, LS_BENCH_EV_CHILD, LS_BENCH_SHIM, LS_BENCH_CLI, BENCH_MAX_CHILD_ARGS - 2, usage);
}

static bool parse_figures(const char *out, struct figures *f) {
  unsigned seen = 0;
  memset(f, 0, sizeof(*f));
  for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    char key[32];
    double v;
    if (sscanf(line, "%31s %lf", key, &v) != 2) continue;
    if (strcmp(key, "batch") == 0) f->batch = (uint64_t)v, seen |= 1;
    else if (strcmp(key, "self_callbacks") == 0) f->self_callbacks = (uint64_t)v, seen |= 2;
    else if (strcmp(key, "batch_callbacks") == 0) f->batch_callbacks = (uint64_t)v, seen |= 4;
    for (int k = 0; k < NFIG; k++)
      if (strcmp(key, fig_keys[k]) == 0) f->ns[k] = v, seen |= 8u << k;
  }
  return seen == 63;
}

/* One run of bench_ev, pinned, plain or under the shim; *pid names its report. 0, or -1 after saying why. */
static int run_child(const struct bench_config *c, bool shimmed, struct figures *f, pid_t *pid) {
  char *out = bench_run_child(c, shimmed, pid);
  if (!out) return -1;
  bool ok = parse_figures(out, f);
  if (!ok) fprintf(stderr, "%s: could not read the figures bench_ev printed:\n%s", bench_prog, out);
  free(out);
  return ok ? 0 : -1;
}

/* The report's counts of bench_on_self and bench_on_batch against what the run counted itself. */
static int check_counted(const char *json_path, const struct figures *f) {
  json_object *root = json_object_from_file(json_path), *procs;
  if (!root) {
    fprintf(stderr, "bench_ev_driver: %s is not JSON: %s\n", json_path, json_util_get_last_err());
    return -1;
  }
  uint64_t self = 0, batch = 0;
  if (json_object_object_get_ex(root, "processes", &procs) && json_object_is_type(procs, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(procs); i++) {
      json_object *sites;
      if (!json_object_object_get_ex(json_object_array_get_idx(procs, i), "sites", &sites)) continue;
      for (size_t j = 0; j < json_object_array_length(sites); j++) {
        json_object *count, *site = json_object_array_get_idx(sites, j);
        const char *fn = bench_site_function(site);
        uint64_t n = json_object_object_get_ex(site, "count", &count) ? (uint64_t)json_object_get_int64(count) : 0;
        if (fn && strcmp(fn, "bench_on_self") == 0) self += n;
        else if (fn && strcmp(fn, "bench_on_batch") == 0) batch += n;
      }
    }
  }
  json_object_put(root);
  printf("report: bench_on_self %llu calls, bench_on_batch %llu calls; program counted %llu and %llu\n",
         (unsigned long long)self, (unsigned long long)batch, (unsigned long long)f->self_callbacks,
         (unsigned long long)f->batch_callbacks);
  bool ok = self == f->self_callbacks && batch == f->batch_callbacks;
  printf("counted: %s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : -1;
}

int main(int argc, char **argv) {
  bench_prog = "bench_ev_driver";
  static struct bench_config c;
  parse_args(argc, argv, &c);
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *paths[][2] = {{"bench_ev", c.child}, {"the shim", c.shim}, {"the loopscope command", c.cli}};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
    if (access(paths[i][1], R_OK) < 0) {
      fprintf(stderr, "bench_ev_driver: %s is not at %s: %s\n", paths[i][0], paths[i][1], strerror(errno));
      return 2;
    }
  snprintf(c.tmpdir, sizeof(c.tmpdir), "/tmp/loopscope-bench-ev.XXXXXX");
  if (!mkdtemp(c.tmpdir)) {
    perror("bench_ev_driver: mkdtemp");
    return 2;
  }
  printf("loopscope libevent benchmark: %d plain and %d shimmed runs of %s, alternating, pinned to CPU %d\n", c.runs,
         c.runs, c.child, c.cpu);
  printf("\n%-4s %-8s %12s %14s %14s %14s\n", "run", "mode", "callbacks", "self ns/cb", "dispatch ns/cb",
         "activate ns");
  struct figures f, last = {0};
  pid_t pid, last_pid = 0;
  /* one plain run first, discarded: CPU clock up, files in the page cache */
  if (run_child(&c, false, &f, &pid) < 0) return 1;
  double v[2][NFIG][MAX_RUNS];
  for (int r = 0; r < c.runs; r++)
    for (int s = 0; s < 2; s++) {
      if (run_child(&c, s == 1, &f, &pid) < 0) {
        fprintf(stderr, "bench_ev_driver: stopped; reports kept in %s\n", c.tmpdir);
        return 1;
      }
      for (int k = 0; k < NFIG; k++) v[s][k][r] = f.ns[k];
      if (s) last = f, last_pid = pid;
      printf("%-4d %-8s %12llu %14.2f %14.2f %14.2f\n", r + 1, s ? "shimmed" : "plain",
             (unsigned long long)(f.self_callbacks + f.batch_callbacks), f.ns[0], f.ns[1], f.ns[2]);
    }
  printf("\nmedians of %d run(s) each (%llu self-activating callbacks, %llu in batches of %llu)\n", c.runs,
         (unsigned long long)last.self_callbacks, (unsigned long long)last.batch_callbacks,
         (unsigned long long)last.batch);
  printf("%-32s %9s %9s %9s %8s   %s\n", "ns per", "plain", "shimmed", "added", "ratio", "goal");
  for (int k = 0; k < NFIG; k++) {
    double p = bench_median(v[0][k], c.runs), s = bench_median(v[1][k], c.runs), added = s - p;
    printf("%-32s %9.2f %9.2f %+9.2f %7.2fx", fig_rows[k], p, s, added, p > 0 ? s / p : 0.0);
    if (k < 2) printf("   <= %2.0f ns added: %s", GOAL_DISPATCH_NS, added <= GOAL_DISPATCH_NS ? "met" : "NOT met");
    printf("\n");
  }
  char report[512], json[512];
  int rc = 0;
  snprintf(json, sizeof(json), "%s/bench.json", c.tmpdir);
  printf("\n");
  if (!bench_find_report(c.tmpdir, "bench", last_pid, report, sizeof(report))) {
    printf("counted: FAILED (no report bench.%d.*lsr in %s)\n", (int)last_pid, c.tmpdir);
    rc = 1;
  } else if (bench_render_json(c.cli, report, json) < 0) {
    printf("counted: FAILED (loopscope report did not render %s)\n", report);
    rc = 1;
  } else if (check_counted(json, &last) < 0) {
    rc = 1;
  }
  if (rc || c.keep) printf("reports kept in %s\n", c.tmpdir);
  else bench_remove_tmpdir(c.tmpdir);
  return rc;
}
