/* A hand-written epoll loop whose handler stalls in a retry loop of short waits, the way a program
 * polls a device until it is ready: on its 5th iteration handle() spins on the CPU in spin_here (300 ms
 * of its own CPU time, so the stall is sampled with a stack however busy the machine is: the watchdog
 * only starts sampling once the iteration is stall_ms (100 ms) old), then makes
 * WAITS waits of 1 ms with some work between them (tens of microseconds: the thread is often on a CPU
 * when the watchdog looks, and in its next wait when the signal comes), cycling through every hooked wait:
 * poll, ppoll, epoll_wait, epoll_pwait, select, pselect, nanosleep, clock_nanosleep and usleep.
 * The program installs no signal handler, so none of these waits can return EINTR plainly; it counts
 * the ones that did and prints "eintr=N" and the count per call. A wait that fails otherwise exits 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#define WAITS 600
#define KINDS 9

static const char *const kind_names[KINDS] = {"poll",   "ppoll",   "epoll_wait",      "epoll_pwait", "select",
                                              "pselect", "nanosleep", "clock_nanosleep", "usleep"};
static unsigned eintr[KINDS];
static int quiet_fd, quiet_ep; /* never ready: every wait times out */

/* inlined: a sample of the spin lands in spin_here, not in a helper of its own */
static inline __attribute__((always_inline)) double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

volatile unsigned long spin_sink;

__attribute__((noinline)) void spin_here(double cpu_seconds) {
  double end = cpu_s() + cpu_seconds;
  while (cpu_s() < end)
    for (int i = 0; i < 1000; i++) spin_sink += (unsigned long)i;
}

/* One 1 ms wait of the given kind: 0, or -1 with errno. */
static int wait_1ms(int kind) {
  struct pollfd pfd = {.fd = quiet_fd, .events = POLLIN};
  struct epoll_event ev;
  struct timespec ts = {0, 1000000};
  struct timeval tv = {0, 1000};
  sigset_t none;
  sigemptyset(&none);
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(quiet_fd, &rd);
  int rc;
  switch (kind) {
  case 0: return poll(&pfd, 1, 1) < 0 ? -1 : 0;
  case 1: return ppoll(&pfd, 1, &ts, &none) < 0 ? -1 : 0;
  case 2: return epoll_wait(quiet_ep, &ev, 1, 1) < 0 ? -1 : 0;
  case 3: return epoll_pwait(quiet_ep, &ev, 1, 1, &none) < 0 ? -1 : 0;
  case 4: return select(quiet_fd + 1, &rd, NULL, NULL, &tv) < 0 ? -1 : 0;
  case 5: return pselect(quiet_fd + 1, &rd, NULL, NULL, &ts, &none) < 0 ? -1 : 0;
  case 6: return nanosleep(&ts, NULL);
  case 7:
    rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    if (rc) errno = rc;
    return rc ? -1 : 0;
  default: return usleep(1000);
  }
}

__attribute__((noinline)) static int retry_until_ready(void) {
  for (int i = 0; i < WAITS; i++) {
    int kind = i % KINDS;
    if (wait_1ms(kind) != 0) {
      if (errno != EINTR) {
        fprintf(stderr, "stall_waits: %s: %s\n", kind_names[kind], strerror(errno));
        return -1;
      }
      eintr[kind]++;
    }
    for (int j = 0; j < 20000; j++) spin_sink += (unsigned long)j; /* some work between two tries */
  }
  return 0;
}

__attribute__((noinline)) static int handle(int iteration) {
  if (iteration != 5) return 0;
  spin_here(0.3);
  return retry_until_ready();
}

int main(void) {
  int pipefd[2], quiet[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0 || pipe2(quiet, O_CLOEXEC) != 0) return 1;
  quiet_fd = quiet[0];
  int ep = epoll_create1(EPOLL_CLOEXEC);
  quiet_ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0 || quiet_ep < 0) return 1;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = pipefd[0]}, out[4];
  if (epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) != 0 || epoll_ctl(quiet_ep, EPOLL_CTL_ADD, quiet_fd, &ev) != 0)
    return 1;
  for (int i = 0; i < 20; i++) {
    if (epoll_wait(ep, out, 4, 5) < 0) return 1;
    if (handle(i) != 0) return 2;
  }
  unsigned total = 0;
  for (int k = 0; k < KINDS; k++) total += eintr[k];
  printf("eintr=%u", total);
  for (int k = 0; k < KINDS; k++) printf(" %s=%u", kind_names[k], eintr[k]);
  printf("\n");
  return 0;
}
