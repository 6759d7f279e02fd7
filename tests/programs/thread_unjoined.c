/* A thread that ends with an ordinary (non-error) result and is never joined nor detached: loopscope
 * must report one unjoined-thread naming lonely_worker and the pthread_create line (`return arg;` is a
 * common idiom, so this is a warning, not an error). Prints "ended=1". */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

#include "thread_wait.h"

static sem_t started;
static pid_t worker_tid;
static int answer = 42;

static void *lonely_worker(void *arg) {
  worker_tid = thread_wait_gettid();
  sem_post(&started);
  return arg;
}

int main(void) {
  pthread_t t;
  sem_init(&started, 0, 0);
  if (pthread_create(&t, NULL, lonely_worker, &answer) != 0) return 1; /* LS-SITE: create */
  while (sem_wait(&started) != 0) {
  }
  if (thread_wait_gone(worker_tid) != 0) return 1;
  printf("ended=1\n");
  return 0;
}
