/* A process tree for `loopscope run --fail-on`: the parent is clean; its forked child creates a
 * thread that ends and is never joined (unjoined-thread, routine ci_child_worker). run must judge the
 * child's report too: --fail-on=leaks fails although the program's own process has no finding.
 * The parent waits for the child and exits 0. Prints "child=PID". */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "thread_wait.h"

static sem_t started;
static pid_t worker_tid;

static void *ci_child_worker(void *arg) {
  worker_tid = thread_wait_gettid();
  sem_post(&started);
  return arg;
}

static int child(void) {
  pthread_t t;
  sem_init(&started, 0, 0);
  if (pthread_create(&t, NULL, ci_child_worker, NULL) != 0) return 1; /* LS-SITE: child */
  while (sem_wait(&started) != 0) {
  }
  return thread_wait_gone(worker_tid) != 0;
}

int main(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) _exit(child());
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  printf("child=%d\n", (int)pid);
  return 0;
}
