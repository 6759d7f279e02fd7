/* Helpers for the integration tests: run programs (plain, under the shim, under `loopscope run`) with
 * their output captured in a private directory, read the JSON report, find marked source lines. Every
 * helper fails the current Check test (ck_abort) instead of returning an error. */
#ifndef IT_UTIL_H
#define IT_UTIL_H

#include <check.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Paths from CMake. */
#ifndef LS_CLI
#error LS_CLI must name the loopscope binary
#endif

struct it_proc {
  int status;     /* raw wait status */
  int code;       /* the exit code, or 128+N for signal N, as a shell reports it */
  bool signaled;
  int sig;
  char *out, *err; /* captured stdout and stderr, NUL-terminated */
  size_t outlen, errlen;
};

/* A fresh private directory for one test (under the build tree's it-tmp, or $TMPDIR). */
char *it_mkdir(const char *name);
/* Removes the directory and what the test left in it, and frees the name. Tests call it on success only:
 * a failed test leaves its directory (reports, captured output) to look at. */
void it_done(char *dir);

/* Runs argv[0] (a path) with argv in dir, stdout and stderr captured. env adds "K=V" entries (and a
 * bare "K" removes K); LD_PRELOAD and LOOPSCOPE_OPTIONS never leak in from the test's own environment.
 * stdin_path NULL means /dev/null. Kills the child and fails the test after 120 s. */
void it_run(struct it_proc *p, const char *dir, const char *const argv[], const char *const env[],
            const char *stdin_path);
void it_proc_free(struct it_proc *p);

/* `loopscope run -o DIR/report.%p.%s.lsr FLAGS... -- PROG ARGS...` */
void it_loopscope_run(struct it_proc *p, const char *dir, const char *const flags[], const char *const prog_argv[]);

/* The report files a run left in dir (DIR/report.*.lsr); at least one, or the test fails. */
size_t it_reports(const char *dir, char ***paths);
void it_free_paths(char **paths, size_t n);

/* `loopscope report --format=json DIR/report.*.lsr`: exit 0 and valid JSON, or the test fails.
 * Caller json_object_put()s the result. */
json_object *it_report_json(const char *dir);

/* The line of "/ * LS-SITE: marker * /" in tests/programs/file (exactly one, or the test fails). */
int it_marker_line(const char *file, const char *marker);

/* JSON access. Paths are dot-separated keys and array indices: "findings.0.stack.0.line". */
json_object *it_get(json_object *o, const char *path);      /* NULL when absent */
json_object *it_need(json_object *o, const char *path);     /* fails the test when absent */
const char *it_str(json_object *o, const char *path);       /* NULL when absent or JSON null */
int64_t it_int(json_object *o, const char *path);           /* fails the test when absent or not a number */
const char *it_json_text(json_object *o);                   /* pretty text, owned by o */

/* The findings with this category (NULL = all), up to max; returns how many there are in all. */
size_t it_findings(json_object *root, const char *category, json_object **out, size_t max);

/* Basename of a path ("" for NULL). */
const char *it_base(const char *path);

/* Whether the frame's file (by basename) and line are file:line. */
bool it_frame_is(json_object *frame, const char *file, int line);

/* Reads a whole file (NUL-terminated); NULL when it cannot. */
char *it_read_file(const char *path, size_t *len);
void it_write_file(const char *path, const char *data, size_t len);

/* text without the lines that start with "loopscope" (the tool's own lines on stderr). */
char *it_without_loopscope_lines(const char *text);

/* A Check main: runs the suite, prints Check's summary, exit status 0 only when all passed. */
/* What one `loopscope run` of a program left: its stdout/stderr/status, the parsed JSON report and
 * its one process. */
struct it_report_run {
  char *dir;
  struct it_proc p;
  json_object *root, *proc;
};
/* `loopscope run FLAGS -- ARGV` in a private directory NAME; the program must exit want_code (loopscope
 * run returns its status unchanged) and leave exactly one process's report. */
void it_run_report(struct it_report_run *r, const char *name, const char *const flags[], const char *const argv[],
                   int want_code);
void it_run_report_free(struct it_report_run *r);
/* A clean program's report: no finding at all. */
void it_no_findings(struct it_report_run *r, const char *prog);

/* A test case of the suite with a 300 s timeout (a loaded machine runs real programs slowly). */
TCase *it_tcase(Suite *s, const char *name);
int it_main(Suite *s);

/* environ without LD_PRELOAD and LOOPSCOPE_OPTIONS, with env applied: "K=V" sets K, a bare "K" removes
 * it. The array is calloc'd (the strings are environ's and env's own). */
char **it_child_env(const char *const env[]);

#endif
