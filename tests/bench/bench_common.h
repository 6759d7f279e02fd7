/* What the benchmark drivers share: argument parsing, child status words, medians, finding the
 * shimmed child's report and reading it back as JSON. */
#ifndef LS_BENCH_COMMON_H
#define LS_BENCH_COMMON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The driver's name, for its messages ("bench_driver: ..."). Each driver sets it first thing. */
extern const char *bench_prog;

#include <stdio.h>

#define BENCH_MAX_RUNS 100
#define BENCH_MAX_CHILD_ARGS 8

/* What the plain-versus-shim drivers (bench_driver, bench_ev_driver) are told. */
struct bench_config {
  const char *child, *shim, *cli, *shim_options;
  int runs, cpu;
  bool keep;
  char *child_args[BENCH_MAX_CHILD_ARGS];
  int nchild_args;
  char tmpdir[64];
};

/* The last CPU this process may use (the drivers pin to it). */
int bench_default_cpu(void);
/* The drivers' flags (--runs --cpu --keep --shim-options --child --shim --cli --help, then -- and at
 * most max_child_args arguments for the child) into c, the given defaults first; a bad flag is a
 * message, usage and exit status 2. */
void bench_parse_config(int argc, char **argv, struct bench_config *c, const char *child, const char *shim,
                        const char *cli, int max_child_args, void (*usage)(FILE *));

/* Runs c->child with c->child_args once, pinned to c->cpu, plain or under the shim (report in
 * c->tmpdir, c->shim_options appended); *pid gets its pid (which names its report). Returns its whole
 * stdout (malloc'd) when it exited 0, else NULL after saying why. */
char *bench_run_child(const struct bench_config *c, bool shimmed, pid_t *pid);

/* "--name=value" -> "value", else NULL. */
const char *bench_flag_value(const char *arg, const char *name);
/* A whole number in [lo, hi], or a message and exit status 2. */
int bench_parse_int(const char *s, const char *what, int lo, int hi);
/* "exited with status 3", "was killed by signal 9 (Killed)", ... */
void bench_describe_status(int status, char *buf, size_t len);
/* The median of n values (n <= 128). */
double bench_median(const double *v, int n);
/* The report the shim wrote in dir for pid, named PREFIX.PID.*.lsr*. */
bool bench_find_report(const char *dir, const char *prefix, pid_t pid, char *path, size_t len);
/* `CLI report --format=json REPORT > json_path`; 0, or -1 after saying why. */
int bench_render_json(const char *cli, const char *report, const char *json_path);
/* A JSON site's callback function name (sites[].callback.function), or NULL. */
const char *bench_site_function(json_object *site);
/* rm -r of a flat temporary directory. */
void bench_remove_tmpdir(const char *dir);

#endif
