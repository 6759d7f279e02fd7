/* Bounded children for the tests on real programs: see it_child.h. */
#define _GNU_SOURCE
#include "it_child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

double it_elapsed_s(const struct timespec *since) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

void it_pause_ms(long ms) {
  struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&d, &d) != 0 && errno == EINTR) {
  }
}

void it_child_start(struct it_child *c, const char *dir, const char *tag, const char *const argv[],
                    const char *const env[]) {
  memset(c, 0, sizeof(*c));
  ck_assert_int_ge(asprintf(&c->outp, "%s/%s.stdout", dir, tag), 0);
  ck_assert_int_ge(asprintf(&c->errp, "%s/%s.stderr", dir, tag), 0);
  char **envp = it_child_env(env);
  fflush(NULL);
  clock_gettime(CLOCK_MONOTONIC, &c->start);
  c->pid = fork();
  ck_assert_int_ge(c->pid, 0);
  if (c->pid == 0) {
    /* its own group, so that a timeout kills loopscope and the program it started together */
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    int out = open(c->outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(c->errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || chdir(dir) != 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    close(in);
    close(out);
    close(err);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    execve(argv[0], (char *const *)argv, envp);
    dprintf(2, "it_child: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(c->pid, c->pid); /* also from here: no window where a kill of the group misses it */
  free(envp);
}

void it_child_kill(struct it_child *c) {
  kill(-c->pid, SIGKILL);
  kill(c->pid, SIGKILL);
  while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

bool it_child_ended(struct it_child *c, int *status) {
  pid_t w = waitpid(c->pid, status, WNOHANG);
  ck_assert_msg(w >= 0 || errno == EINTR, "waitpid: %s", strerror(errno));
  return w == c->pid;
}

void it_child_fail(struct it_child *c, const char *why) {
  it_child_kill(c);
  char *err = it_read_file(c->errp, NULL), *out = it_read_file(c->outp, NULL);
  ck_abort_msg("%s\nstdout:\n%s\nstderr:\n%s", why, out ? out : "", err ? err : "");
}

void it_child_output(struct it_child *c, struct it_proc *p, int status) {
  memset(p, 0, sizeof(*p));
  p->status = status;
  p->signaled = WIFSIGNALED(status);
  p->sig = p->signaled ? WTERMSIG(status) : 0;
  p->code = p->signaled ? 128 + p->sig : WEXITSTATUS(status);
  p->out = it_read_file(c->outp, &p->outlen);
  p->err = it_read_file(c->errp, &p->errlen);
  ck_assert_msg(p->out && p->err, "cannot read %s or %s", c->outp, c->errp);
  free(c->outp);
  free(c->errp);
}

void it_child_wait(struct it_child *c, struct it_proc *p, const char *what) {
  int status = 0;
  while (!it_child_ended(c, &status)) {
    if (it_elapsed_s(&c->start) > IT_CHILD_TIMEOUT_S) {
      char why[512];
      snprintf(why, sizeof(why), "%s did not end within %d s: killed", what, IT_CHILD_TIMEOUT_S);
      it_child_fail(c, why);
    }
    it_pause_ms(5);
  }
  it_child_output(c, p, status);
}

void it_run_bounded(struct it_proc *p, const char *dir, const char *tag, const char *const argv[],
                    const char *const env[]) {
  struct it_child c;
  it_child_start(&c, dir, tag, argv, env);
  it_child_wait(&c, p, argv[0]);
}

void it_loopscope_argv(const char **out, size_t n, char **report_tmpl, const char *dir, const char *const flags[],
                       const char *const prog_argv[]) {
  size_t k = 0;
  ck_assert_int_ge(asprintf(report_tmpl, "%s/report.%%p.%%s.lsr", dir), 0);
  out[k++] = LS_CLI;
  out[k++] = "run";
  out[k++] = "-o";
  out[k++] = *report_tmpl;
  for (size_t i = 0; flags && flags[i]; i++) {
    ck_assert_uint_lt(k, n - 2);
    out[k++] = flags[i];
  }
  out[k++] = "--";
  for (size_t i = 0; prog_argv[i]; i++) {
    ck_assert_uint_lt(k, n - 1);
    out[k++] = prog_argv[i];
  }
  out[k] = NULL;
}
