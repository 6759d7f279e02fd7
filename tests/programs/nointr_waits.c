/* The stall signal delivered inside a wait, on purpose and often: the race the watchdog cannot rule
 * out (it looks, the thread enters a wait, the signal comes), forced. Run under the shim only (plainly
 * the stall signal, SIGRTMIN+3, would end the process).
 *
 * The main thread becomes a generic loop (three polls of a pipe from one line), so the shim arms its
 * stall signal; then a helper thread sends that signal to it every 200 us while it makes ROUNDS rounds
 * of 5 ms waits of every hooked kind (poll, ppoll, epoll_wait, epoll_pwait, select, pselect, nanosleep,
 * clock_nanosleep, usleep). The program has no signal handler: none may return EINTR, and none may end
 * before its 5 ms (a wait cut short must wait the rest). Then it installs a SIGUSR1 handler and waits
 * in poll(-1) while the stall signals go on and one SIGUSR1 comes: its own signal must still end the
 * wait (a shim that waited again would hang here). Prints "eintr=N short=M". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 20
#define KINDS 9
#define WAIT_NS 5000000L

static int quiet_fd, quiet_ep;
static pthread_t main_thread;
static atomic_bool stop;
static atomic_int own_after; /* the helper sends SIGUSR1 once this many stall signals from now, 0: not yet */
static volatile sig_atomic_t got_usr1;

static long mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void *sender(void *arg) {
  (void)arg;
  struct timespec d = {0, 200000};
  while (!atomic_load(&stop)) {
    pthread_kill(main_thread, SIGRTMIN + 3);
    int n = atomic_load(&own_after);
    if (n > 0 && atomic_fetch_sub(&own_after, 1) == 1) pthread_kill(main_thread, SIGUSR1);
    nanosleep(&d, NULL);
  }
  return NULL;
}

/* One 5 ms wait of the given kind: 0, or -1 with errno. */
static int wait_5ms(int kind) {
  struct pollfd pfd = {.fd = quiet_fd, .events = POLLIN};
  struct epoll_event ev;
  struct timespec ts = {0, WAIT_NS};
  struct timeval tv = {0, WAIT_NS / 1000};
  sigset_t none;
  sigemptyset(&none);
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(quiet_fd, &rd);
  int rc;
  switch (kind) {
  case 0: return poll(&pfd, 1, WAIT_NS / 1000000) < 0 ? -1 : 0;
  case 1: return ppoll(&pfd, 1, &ts, &none) < 0 ? -1 : 0;
  case 2: return epoll_wait(quiet_ep, &ev, 1, WAIT_NS / 1000000) < 0 ? -1 : 0;
  case 3: return epoll_pwait(quiet_ep, &ev, 1, WAIT_NS / 1000000, &none) < 0 ? -1 : 0;
  case 4: return select(quiet_fd + 1, &rd, NULL, NULL, &tv) < 0 ? -1 : 0;
  case 5: return pselect(quiet_fd + 1, &rd, NULL, NULL, &ts, &none) < 0 ? -1 : 0;
  case 6: return nanosleep(&ts, NULL);
  case 7:
    rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    if (rc) errno = rc;
    return rc ? -1 : 0;
  default: return usleep(WAIT_NS / 1000);
  }
}

static void on_usr1(int sig) {
  (void)sig;
  got_usr1 = 1;
}

int main(void) {
  int pipefd[2], quiet[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0 || pipe2(quiet, O_CLOEXEC) != 0) return 1;
  quiet_fd = quiet[0];
  quiet_ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  if (quiet_ep < 0 || epoll_ctl(quiet_ep, EPOLL_CTL_ADD, quiet_fd, &ev) != 0) return 1;
  for (int i = 0; i < 3; i++) { /* a loop: the shim arms its stall signal */
    struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
    if (poll(&pfd, 1, 1) < 0) return 1;
  }
  main_thread = pthread_self();
  pthread_t t;
  if (pthread_create(&t, NULL, sender, NULL) != 0) return 1;
  unsigned eintr = 0, shortw = 0;
  for (int r = 0; r < ROUNDS; r++)
    for (int k = 0; k < KINDS; k++) {
      long t0 = mono_ns();
      if (wait_5ms(k) != 0) {
        if (errno != EINTR) {
          fprintf(stderr, "nointr_waits: kind %d: %s\n", k, strerror(errno));
          return 2;
        }
        eintr++;
      } else if (mono_ns() - t0 < WAIT_NS) {
        shortw++;
      }
    }
  /* The program's own signal still ends a wait. */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  atomic_store(&own_after, 50);
  struct pollfd pfd = {.fd = quiet_fd, .events = POLLIN};
  while (!got_usr1)
    if (poll(&pfd, 1, -1) != -1 || errno != EINTR) return 3;
  atomic_store(&stop, true);
  pthread_join(t, NULL);
  printf("eintr=%u short=%u\n", eintr, shortw);
  return 0;
}
