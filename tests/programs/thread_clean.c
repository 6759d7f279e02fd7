/* Threads handled properly: loopscope must report nothing.
 *  - joined_failing returns -EIO, and main joins it and looks at the result (the error is retrieved);
 *  - joined_exit leaves with pthread_exit and is joined;
 *  - detached_worker is detached and has ended before exit;
 *  - born_detached is created detached.
 * Prints what it saw: "joined=2 result=-5 detached=2". */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>

#include "thread_wait.h"

static sem_t started;
static pid_t tids[2];

static void *joined_failing(void *arg) {
  (void)arg;
  return (void *)(intptr_t)-EIO;
}

static void *joined_exit(void *arg) { pthread_exit(arg); }

static void *detached_worker(void *arg) {
  tids[(intptr_t)arg] = thread_wait_gettid();
  sem_post(&started);
  return (void *)(intptr_t)-EIO; /* detached: nobody can retrieve it, and nobody promised to */
}

int main(void) {
  pthread_t a, b, c, d;
  void *ra = NULL, *rb = NULL;
  sem_init(&started, 0, 0);
  if (pthread_create(&a, NULL, joined_failing, NULL) != 0) return 1;
  if (pthread_create(&b, NULL, joined_exit, (void *)7) != 0) return 1;
  if (pthread_create(&c, NULL, detached_worker, (void *)0) != 0) return 1;
  pthread_detach(c);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&d, &attr, detached_worker, (void *)1) != 0) return 1;
  pthread_attr_destroy(&attr);
  pthread_join(a, &ra);
  pthread_join(b, &rb);
  for (int i = 0; i < 2; i++)
    while (sem_wait(&started) != 0) {
    }
  for (int i = 0; i < 2; i++)
    if (thread_wait_gone(tids[i]) != 0) return 1;
  printf("joined=2 result=%d detached=2\n", (int)(intptr_t)ra);
  return (intptr_t)ra == -EIO && (intptr_t)rb == 7 ? 0 : 1;
}
