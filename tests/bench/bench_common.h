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
