/* A hand-written epoll loop, no libuv: the main thread waits on the read end of a pipe that a second
 * thread feeds one byte at a time, FEEDS times, then closes. The loop reads one byte per iteration
 * (level-triggered, so bytes the feeder wrote ahead come back on the next epoll_wait) and stops at
 * end of file. loopscope must see one generic loop, library "epoll", on the main thread, with at least
 * FEEDS iterations, and no finding. Prints "events=N polls=M". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

#define FEEDS 50

static int pipefd[2];

static void *feeder(void *arg) {
  (void)arg;
  for (int i = 0; i < FEEDS; i++)
    if (write(pipefd[1], "x", 1) != 1) break;
  close(pipefd[1]);
  return NULL;
}

int main(void) {
  if (pipe2(pipefd, O_CLOEXEC) != 0) return 1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return 1;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = pipefd[0]};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) != 0) return 1;
  pthread_t t;
  if (pthread_create(&t, NULL, feeder, NULL) != 0) return 1;
  int events = 0, polls = 0;
  for (;;) {
    struct epoll_event got[4];
    int n = epoll_wait(ep, got, 4, 5000); /* LS-SITE: poll */
    polls++;
    if (n < 0) return 1;
    if (n == 0) continue;
    char c;
    ssize_t r = read(pipefd[0], &c, 1);
    if (r == 0) break; /* the feeder closed its end */
    if (r == 1) events++;
  }
  pthread_join(t, NULL);
  close(ep);
  close(pipefd[0]);
  printf("events=%d polls=%d\n", events, polls);
  return events == FEEDS ? 0 : 1;
}
