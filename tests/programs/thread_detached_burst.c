/* Many short detached threads, ending while their creator is still in pthread_create: half are created
 * detached, half detach themselves first thing. None is a finding; no thread is left unjoined.
 * Prints "detached=N self=N". */
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "thread_wait.h"

#define N 100

static sem_t started;
static pid_t tids[2 * N];

static void *quick(void *arg) {
  tids[(intptr_t)arg] = thread_wait_gettid();
  sem_post(&started);
  return arg;
}

static void *self_detaching(void *arg) {
  pthread_detach(pthread_self());
  return quick(arg);
}

int main(void) {
  pthread_attr_t detached;
  pthread_attr_init(&detached);
  pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
  int made = 0, self = 0;
  for (intptr_t i = 0; i < 2 * N; i++) {
    pthread_t t;
    bool born_detached = i % 2 == 0;
    if (pthread_create(&t, born_detached ? &detached : NULL, born_detached ? quick : self_detaching, (void *)i) != 0)
      return 1;
    if (born_detached) made++;
    else self++;
  }
  pthread_attr_destroy(&detached);
  for (int i = 0; i < 2 * N; i++)
    while (sem_wait(&started) != 0) {
    }
  for (int i = 0; i < 2 * N; i++)
    if (thread_wait_gone(tids[i]) != 0) return 1;
  printf("detached=%d self=%d\n", made, self);
  return 0;
}
