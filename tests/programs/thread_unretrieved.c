/* A thread whose start routine fails with -EIO (the kernel's IS_ERR convention) and that nobody joins
 * or detaches: the error is delivered where no code can see it. loopscope must report one
 * unretrieved-error naming failing_worker and the pthread_create line.
 * main waits for the thread to end (it publishes its tid, then main waits for the task to vanish), so the
 * thread has finished, not merely "still running at exit". Prints "ended=1". */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>

#include "thread_wait.h"

static sem_t started;
static pid_t worker_tid;

static void *failing_worker(void *arg) {
  (void)arg;
  worker_tid = thread_wait_gettid();
  sem_post(&started);
  return (void *)(intptr_t)-EIO;
}

int main(void) {
  pthread_t t;
  sem_init(&started, 0, 0);
  if (pthread_create(&t, NULL, failing_worker, NULL) != 0) return 1; /* LS-SITE: create */
  while (sem_wait(&started) != 0) {
  }
  if (thread_wait_gone(worker_tid) != 0) return 1;
  printf("ended=1\n");
  return 0;
}
