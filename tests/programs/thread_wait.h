/* Waiting until a thread has really ended, without joining it: the thread publishes its kernel tid, and
 * the kernel task is gone once the thread has returned through its start routine and exited. Whatever a
 * preload library records at thread end has happened by then. Polled from main, never from a loop. */
#ifndef THREAD_WAIT_H
#define THREAD_WAIT_H

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline pid_t thread_wait_gettid(void) { return (pid_t)syscall(SYS_gettid); }

/* 0 when the task ended, -1 if it was still there after ~60 s. */
static inline int thread_wait_gone(pid_t tid) {
  for (int i = 0; i < 60000; i++) {
    if (syscall(SYS_tgkill, getpid(), tid, 0) != 0 && errno == ESRCH) return 0;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return -1;
}

#endif
