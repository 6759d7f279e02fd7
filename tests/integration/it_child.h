/* Bounded children for the tests on real programs (Debian's servers, tools): a child in its own
 * process group, stdin from /dev/null, stdout and stderr into DIR/TAG.stdout and .stderr, the test's
 * child environment (it_child_env); waits are bounded by IT_CHILD_TIMEOUT_S, past which the child and
 * its group are killed and the test fails. */
#ifndef IT_CHILD_H
#define IT_CHILD_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "it_util.h"

#define IT_CHILD_TIMEOUT_S 60

struct it_child {
  pid_t pid;
  char *outp, *errp;
  struct timespec start;
};

double it_elapsed_s(const struct timespec *since);
void it_pause_ms(long ms);
void it_child_start(struct it_child *c, const char *dir, const char *tag, const char *const argv[],
                    const char *const env[]);
void it_child_kill(struct it_child *c); /* SIGKILL to its group, reaped */
bool it_child_ended(struct it_child *c, int *status); /* without waiting; *status when it has */
/* Kills the child and fails the test with why, quoting its stdout and stderr. */
void it_child_fail(struct it_child *c, const char *why);
/* Its ending (status, stdout, stderr) into p; frees the child's paths. */
void it_child_output(struct it_child *c, struct it_proc *p, int status);
/* Waits for the child to end (failing past the bound), then it_child_output. */
void it_child_wait(struct it_child *c, struct it_proc *p, const char *what);
/* argv run to its end, bounded: it_run's shape. */
void it_run_bounded(struct it_proc *p, const char *dir, const char *tag, const char *const argv[],
                    const char *const env[]);
/* `loopscope run -o DIR/report.%p.%s.lsr FLAGS... -- PROG ARGS...` into out (n entries at most);
 * *report_tmpl is the -o template, for the caller to free. */
void it_loopscope_argv(const char **out, size_t n, char **report_tmpl, const char *dir, const char *const flags[],
                       const char *const prog_argv[]);

#endif
