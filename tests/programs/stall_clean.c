/* A hand-written epoll loop that never stalls: 60 iterations of a 10 ms wait on a pipe, each followed
 * by a little work. loopscope must see the loop and report nothing. Prints "iterations=N". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

volatile unsigned long work_sink;

int main(void) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return 1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return 1;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = pipefd[0]}, out[4];
  if (epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) != 0) return 1;
  int i;
  for (i = 0; i < 60; i++) {
    if (epoll_wait(ep, out, 4, 10) < 0) return 1;
    for (int k = 0; k < 10000; k++) work_sink += (unsigned long)k; /* short work */
  }
  printf("iterations=%d\n", i);
  return 0;
}
