/* A hand-written epoll loop, no libuv, that stalls once: the main thread waits on a pipe with a 5 ms
 * timeout; on its 10th iteration the "handler" calls spin_here, which busy-waits 400 ms on the CPU.
 * loopscope must report exactly one loop-stall whose top sampled frame is spin_here. Prints "spun". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* CPU time, not wall time: on a busy machine the spin takes longer but always uses 400 ms of CPU, so the
 * stall is never the machine's (a preempted stall is not a finding). */
static inline __attribute__((always_inline)) double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

volatile unsigned long spin_sink;

__attribute__((noinline)) void spin_here(double seconds) {
  double end = now_s() + seconds;
  while (now_s() < end)
    for (int i = 0; i < 1000; i++) spin_sink += (unsigned long)i;
}

__attribute__((noinline)) static void handle(int iteration) {
  if (iteration == 10) spin_here(0.4);
}

int main(void) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return 1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return 1;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = pipefd[0]}, out[4];
  if (epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) != 0) return 1;
  for (int i = 0; i < 30; i++) {
    if (epoll_wait(ep, out, 4, 5) < 0) return 1;
    handle(i);
  }
  printf("spun\n");
  return 0;
}
