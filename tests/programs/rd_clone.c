/* A generic epoll loop that stalls once in burn, which GCC (-O2) splits into two symbols: the function
 * itself (called with a run-time argument) and its constant-argument clone burn.constprop.0. Built
 * without debug information, so only the symbol table names them: the report shows one function,
 * burn, with all its samples. Prints "burned". */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long sink;

static inline __attribute__((always_inline)) double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time, so a busy machine cannot make the stall the machine's */
__attribute__((noinline)) static void burn(int step, double seconds) {
  double end = cpu_s() + seconds;
  while (cpu_s() < end)
    for (int i = 0; i < 1000; i++) sink += (unsigned long)(i * step);
}

int main(int argc, char **argv) {
  (void)argv;
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = pipefd[0]}, out[4];
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) != 0) return 1;
  for (int i = 0; i < 20; i++) {
    if (epoll_wait(ep, out, 4, 5) < 0) return 1;
    if (i == 10) {
      burn(3, 0.2);    /* the clone: both arguments constant */
      burn(argc, 0.2); /* the function itself */
    }
  }
  printf("burned\n");
  return 0;
}
