/* The leaf of it_tree's three-process tree (shell -> tree_parent -> fork + exec of this): a thread whose
 * start routine fails with -EIO and that nobody joins or detaches. loopscope must report one
 * unretrieved-error naming tree_leaf_worker and the marked pthread_create line, in this process only.
 * main waits for the thread to end without joining it. Prints "leaf=PID". */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "thread_wait.h"

static sem_t started;
static pid_t worker_tid;

static void *tree_leaf_worker(void *arg) {
  (void)arg;
  worker_tid = thread_wait_gettid();
  sem_post(&started);
  return (void *)(intptr_t)-EIO;
}

int main(void) {
  pthread_t t;
  sem_init(&started, 0, 0);
  if (pthread_create(&t, NULL, tree_leaf_worker, NULL) != 0) return 1; /* LS-SITE: create */
  while (sem_wait(&started) != 0) {
  }
  if (thread_wait_gone(worker_tid) != 0) return 1;
  printf("leaf=%d\n", (int)getpid());
  return 0;
}
