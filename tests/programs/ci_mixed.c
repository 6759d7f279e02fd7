/* Two findings of two categories from two functions, for CI mode (it_ci_mode): a thread that fails
 * with -EIO and is never joined (unretrieved-error, routine ci_failing_worker, created in
 * start_failing) and one that returns normally and is never joined (unjoined-thread, routine
 * ci_lonely_worker, created in start_lonely). Suppressions can take one and leave the other.
 * main waits until both threads have ended, so both are findings, not "running at exit".
 * Prints "ended=2". */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>

#include "thread_wait.h"

static sem_t started;
static pid_t tids[2];

static void *ci_failing_worker(void *arg) {
  (void)arg;
  tids[0] = thread_wait_gettid();
  sem_post(&started);
  return (void *)(intptr_t)-EIO;
}

static void *ci_lonely_worker(void *arg) {
  tids[1] = thread_wait_gettid();
  sem_post(&started);
  return arg;
}

static int start_failing(void) {
  pthread_t t;
  return pthread_create(&t, NULL, ci_failing_worker, NULL); /* LS-SITE: failing */
}

static int start_lonely(void) {
  pthread_t t;
  return pthread_create(&t, NULL, ci_lonely_worker, NULL); /* LS-SITE: lonely */
}

int main(void) {
  sem_init(&started, 0, 0);
  if (start_failing() != 0 || start_lonely() != 0) return 1;
  for (int i = 0; i < 2; i++)
    while (sem_wait(&started) != 0) {
    }
  if (thread_wait_gone(tids[0]) != 0 || thread_wait_gone(tids[1]) != 0) return 1;
  printf("ended=2\n");
  return 0;
}
