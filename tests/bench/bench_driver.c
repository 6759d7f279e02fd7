/* The benchmark driver: runs bench_uv plain and under the shim, alternating, pinned to one CPU, and
 * prints the medians side by side with the goals of issue 2 (at most 30 ns added per dispatched
 * callback, at most 20 ns added per registration on a known site, stacks on). The goals are printed,
 * not enforced: this is a benchmark, not a timed test.
 *
 * Then it proves the shimmed runs measured what they claim: `loopscope report --format=json` on one
 * shimmed run's report must hold sites for bench_on_timer and bench_on_idle whose counts add up to
 * exactly what that run counted itself ("counted: OK"); otherwise it exits with status 1.
 *
 * Paths come from the build (compile definitions), each overridable by a flag:
 *   LS_BENCH_CHILD  bench_uv          LS_BENCH_SHIM  libloopscope.so          LS_BENCH_CLI  loopscope
 *
 * Exit status: 0 done and counted, 1 a run failed or the counts disagree, 2 usage or set-up error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench_common.h"

#ifndef LS_BENCH_CHILD
#error "LS_BENCH_CHILD (the path of bench_uv) must be defined by the build"
#endif
#ifndef LS_BENCH_SHIM
#error "LS_BENCH_SHIM (the path of libloopscope.so) must be defined by the build"
#endif
#ifndef LS_BENCH_CLI
#error "LS_BENCH_CLI (the path of the loopscope command) must be defined by the build"
#endif

#define GOAL_DISPATCH_NS 30.0
#define GOAL_REGISTRATION_NS 20.0
#define MAX_RUNS BENCH_MAX_RUNS
#define MAX_CHILD_ARGS BENCH_MAX_CHILD_ARGS

/* What one run of bench_uv printed. */
struct figures {
  uint64_t batch, timer_callbacks, idle_callbacks, registrations, callbacks;
  double timer_ns, idle_ns, registration_ns;
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench_driver [--runs=N] [--cpu=N] [--keep] [--shim-options=K=V:...]\n"
          "                    [--child=PATH] [--shim=PATH] [--cli=PATH] [-- TIMER_CBS [IDLE_CBS [REGS [BATCH]]]]\n"
          "Runs bench_uv N times plain and N times under the shim (default 5 each, alternating), pinned\n"
          "to one CPU (default: the last one this process may use), prints the medians, and checks that\n"
          "the shimmed report counted every callback. Arguments after -- go to bench_uv.\n");
}

static void parse_args(int argc, char **argv, struct bench_config *c) {
  bench_parse_config(argc, argv, c, LS_BENCH_CHILD, LS_BENCH_SHIM, LS_BENCH_CLI, BENCH_MAX_CHILD_ARGS - 4, usage);
}

static bool parse_figures(const char *out, struct figures *f) {
  unsigned seen = 0;
  memset(f, 0, sizeof(*f));
  for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    char key[32];
    double v;
    if (sscanf(line, "%31s %lf", key, &v) != 2) continue;
    if (strcmp(key, "batch") == 0) f->batch = (uint64_t)v, seen |= 1;
    else if (strcmp(key, "timer_callbacks") == 0) f->timer_callbacks = (uint64_t)v, seen |= 2;
    else if (strcmp(key, "timer_ns") == 0) f->timer_ns = v, seen |= 4;
    else if (strcmp(key, "idle_callbacks") == 0) f->idle_callbacks = (uint64_t)v, seen |= 8;
    else if (strcmp(key, "idle_ns") == 0) f->idle_ns = v, seen |= 16;
    else if (strcmp(key, "registrations") == 0) f->registrations = (uint64_t)v, seen |= 32;
    else if (strcmp(key, "registration_ns") == 0) f->registration_ns = v, seen |= 64;
    else if (strcmp(key, "callbacks") == 0) f->callbacks = (uint64_t)v, seen |= 128;
  }
  return seen == 255;
}

/* Runs bench_uv once, pinned to the CPU, plain or under the shim; *pid gets its pid (which names its
 * report). Returns 0, or -1 after saying why. */
static int run_child(const struct bench_config *c, bool shimmed, struct figures *f, pid_t *pid) {
  char *out = bench_run_child(c, shimmed, pid);
  if (!out) return -1;
  bool ok = parse_figures(out, f);
  if (!ok) fprintf(stderr, "%s: could not read the figures bench_uv printed:\n%s", bench_prog, out);
  free(out);
  return ok ? 0 : -1;
}

static void print_row(const char *what, const double *plain, const double *shimmed, int n, double goal) {
  double p = bench_median(plain, n), s = bench_median(shimmed, n), added = s - p;
  printf("%-28s %9.2f %9.2f %+9.2f %7.2fx   <= %2.0f ns added: %s\n", what, p, s, added, p > 0 ? s / p : 0.0,
         goal, added <= goal ? "met" : "NOT met");
}

/* Sums the counts of the sites of bench_on_timer and bench_on_idle in the JSON report and compares
 * them with what the run counted itself. Returns 0 when they agree exactly. */
static int check_counted(const char *json_path, const struct figures *f) {
  json_object *root = json_object_from_file(json_path);
  if (!root) {
    fprintf(stderr, "bench_driver: %s is not JSON: %s\n", json_path, json_util_get_last_err());
    return -1;
  }
  uint64_t timer = 0, idle = 0;
  size_t timer_sites = 0, idle_sites = 0, nsites = 0;
  json_object *procs, *trunc;
  if (json_object_object_get_ex(root, "truncated", &trunc) && json_object_get_boolean(trunc))
    printf("note: the report says it is truncated\n");
  if (json_object_object_get_ex(root, "processes", &procs) && json_object_is_type(procs, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(procs); i++) {
      json_object *sites, *proc = json_object_array_get_idx(procs, i);
      if (!json_object_object_get_ex(proc, "sites", &sites) || !json_object_is_type(sites, json_type_array)) continue;
      for (size_t j = 0; j < json_object_array_length(sites); j++) {
        json_object *count, *site = json_object_array_get_idx(sites, j);
        const char *fn = bench_site_function(site);
        uint64_t n = json_object_object_get_ex(site, "count", &count) ? (uint64_t)json_object_get_int64(count) : 0;
        nsites++;
        if (fn && strcmp(fn, "bench_on_timer") == 0) timer += n, timer_sites++;
        else if (fn && strcmp(fn, "bench_on_idle") == 0) idle += n, idle_sites++;
      }
    }
  }
  json_object_put(root);
  printf("report: %zu sites; bench_on_timer: %zu site(s), %llu calls; bench_on_idle: %zu site(s), %llu calls\n",
         nsites, timer_sites, (unsigned long long)timer, idle_sites, (unsigned long long)idle);
  printf("program counted: timers %llu, idle %llu\n", (unsigned long long)f->timer_callbacks,
         (unsigned long long)f->idle_callbacks);
  if (timer == f->timer_callbacks && idle == f->idle_callbacks && timer + idle == f->callbacks) {
    printf("counted: OK (%llu callbacks)\n", (unsigned long long)(timer + idle));
    return 0;
  }
  printf("counted: FAILED (report %llu, program %llu)\n", (unsigned long long)(timer + idle),
         (unsigned long long)f->callbacks);
  return -1;
}

int main(int argc, char **argv) {
  bench_prog = "bench_driver";
  static struct bench_config c;
  parse_args(argc, argv, &c);
  setvbuf(stdout, NULL, _IOLBF, 0);

  const char *paths[][2] = {{"bench_uv", c.child}, {"the shim", c.shim}, {"the loopscope command", c.cli}};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
    if (access(paths[i][1], R_OK) < 0) {
      fprintf(stderr, "bench_driver: %s is not at %s: %s (build it first, or pass its path)\n", paths[i][0],
              paths[i][1], strerror(errno));
      return 2;
    }
  snprintf(c.tmpdir, sizeof(c.tmpdir), "/tmp/loopscope-bench.XXXXXX");
  if (!mkdtemp(c.tmpdir)) {
    perror("bench_driver: mkdtemp");
    return 2;
  }

  printf("loopscope benchmark: %d plain and %d shimmed runs of %s, alternating, pinned to CPU %d\n", c.runs, c.runs,
         c.child, c.cpu);
  printf("shim: %s (LOOPSCOPE_OPTIONS=log_path=%s/bench.%%p.lsr%s%s)\n", c.shim, c.tmpdir,
         c.shim_options ? ":" : "", c.shim_options ? c.shim_options : "");
  printf("\n%-4s %-8s %10s %14s %10s %14s %10s\n", "run", "mode", "timer cbs", "timer ns/cb", "idle cbs",
         "idle ns/cb", "reg ns");

  /* One plain run first, discarded: it brings the CPU's clock up and the files into the page cache,
   * which otherwise penalises whichever mode happens to run first. */
  {
    struct figures f;
    pid_t pid;
    if (run_child(&c, false, &f, &pid) < 0) return 1;
    printf("%-4s %-8s %10llu %14.2f %10llu %14.2f %10.2f   (warm-up, discarded)\n", "0", "plain",
           (unsigned long long)f.timer_callbacks, f.timer_ns, (unsigned long long)f.idle_callbacks, f.idle_ns,
           f.registration_ns);
  }

  double plain[3][MAX_RUNS], shimmed[3][MAX_RUNS];
  struct figures last_shimmed = {0};
  pid_t last_shimmed_pid = 0;
  int failed = 0;
  for (int r = 0; r < c.runs && !failed; r++) {
    for (int s = 0; s < 2 && !failed; s++) {
      struct figures f;
      pid_t pid;
      if (run_child(&c, s == 1, &f, &pid) < 0) {
        failed = 1;
        break;
      }
      double(*dst)[MAX_RUNS] = s ? shimmed : plain;
      dst[0][r] = f.timer_ns;
      dst[1][r] = f.idle_ns;
      dst[2][r] = f.registration_ns;
      if (s) last_shimmed = f, last_shimmed_pid = pid;
      printf("%-4d %-8s %10llu %14.2f %10llu %14.2f %10.2f\n", r + 1, s ? "shimmed" : "plain",
             (unsigned long long)f.timer_callbacks, f.timer_ns, (unsigned long long)f.idle_callbacks, f.idle_ns,
             f.registration_ns);
    }
  }
  if (failed) {
    fprintf(stderr, "bench_driver: stopped; reports kept in %s\n", c.tmpdir);
    return 1;
  }

  printf("\nmedians of %d run(s) each (%llu timer callbacks in batches of %llu, %llu idle callbacks, %llu registrations "
         "per run)\n",
         c.runs, (unsigned long long)last_shimmed.timer_callbacks, (unsigned long long)last_shimmed.batch,
         (unsigned long long)last_shimmed.idle_callbacks, (unsigned long long)last_shimmed.registrations);
  printf("%-28s %9s %9s %9s %8s   %s\n", "ns per", "plain", "shimmed", "added", "ratio", "goal");
  print_row("timer callback dispatched", plain[0], shimmed[0], c.runs, GOAL_DISPATCH_NS);
  print_row("idle callback dispatched", plain[1], shimmed[1], c.runs, GOAL_DISPATCH_NS);
  print_row("uv_timer_start, known site", plain[2], shimmed[2], c.runs, GOAL_REGISTRATION_NS);

  /* Proof: the last shimmed run's report counted every callback that run dispatched. */
  char report[512], json[512];
  int rc = 0;
  snprintf(json, sizeof(json), "%s/bench.json", c.tmpdir);
  printf("\n");
  if (!bench_find_report(c.tmpdir, "bench", last_shimmed_pid, report, sizeof(report))) {
    fprintf(stderr, "bench_driver: no report bench.%d.*lsr in %s\n", (int)last_shimmed_pid, c.tmpdir);
    printf("counted: FAILED (no report)\n");
    rc = 1;
  } else {
    printf("checking %s\n", report);
    if (bench_render_json(c.cli, report, json) < 0) {
      printf("counted: FAILED (loopscope report did not render it)\n");
      rc = 1;
    } else if (check_counted(json, &last_shimmed) < 0) {
      rc = 1;
    }
  }
  if (rc || c.keep) printf("reports kept in %s\n", c.tmpdir);
  else bench_remove_tmpdir(c.tmpdir);
  return rc;
}
