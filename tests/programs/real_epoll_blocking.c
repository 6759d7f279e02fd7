/* A hand-written epoll server, no loop library: a server thread serves one-byte requests on a
 * socketpair (its end non-blocking) that the main thread sends one at a time, waiting for each reply
 * with plain blocking reads and writes (it never polls, so it is not a loop thread). The server's
 * handler does three bad things, once each, in named functions:
 *   request FSYNC_AT: flush_journal() fsyncs a temporary file            -> blocking-call "fsync"
 *   request SLEEP_AT: throttle() usleep(20000)s                          -> blocking-call "usleep"
 *   request SPIN_AT:  spin_in_epoll_handler() runs ~500 ms of CPU time   -> loop-stall there
 * The first requests make the epoll_wait call site a loop before any of them.
 * Prints "requests=N" (the client counts the replies) and exits 0 when all were answered. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQUESTS 20
#define FSYNC_AT 6
#define SLEEP_AT 8
#define SPIN_AT 12
#define SPIN_MS 500

static int sv[2]; /* sv[0] the server's end, sv[1] the client's */
static int journal = -1;
volatile unsigned long spin_sink;

__attribute__((noinline)) static void flush_journal(void) {
  if (write(journal, "entry\n", 6) != 6) exit(2);
  if (fsync(journal) != 0) exit(2); /* LS-SITE: fsync */
}

__attribute__((noinline)) static void throttle(void) {
  usleep(20000); /* LS-SITE: usleep */
}

/* The spin is a fixed amount of plain arithmetic, no clock read inside it, so nearly every sample
 * lands in its own frame (a clock read is a syscall where a preempted thread resumes, and gathers
 * samples on a loaded machine). Its length is calibrated in the thread's CPU time before the loop
 * starts: however loaded the machine, the stall is SPIN_MS of the code's own work, never a
 * preempted thread's, and lasts at least about that long. */
#define CHUNK 100000UL
#define CALIBRATE_MS 50
static unsigned long chunks_per_calibration;

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) void spin_in_epoll_handler(unsigned long chunks) {
  for (unsigned long c = 0; c < chunks; c++)
    for (unsigned long i = 0; i < CHUNK; i++) spin_sink += i; /* LS-SITE: spin */
}

/* How many chunks take CALIBRATE_MS of CPU time (before any loop: not a stall). */
static void calibrate(void) {
  uint64_t start = thread_cpu_ns();
  while (thread_cpu_ns() - start < CALIBRATE_MS * 1000000u) {
    spin_in_epoll_handler(1);
    chunks_per_calibration++;
  }
}

static void handle_request(int n) {
  if (n == FSYNC_AT) flush_journal();
  if (n == SLEEP_AT) throttle();
  unsigned long chunks = chunks_per_calibration * SPIN_MS / CALIBRATE_MS;
  if (n == SPIN_AT) spin_in_epoll_handler(chunks); /* LS-SITE: spin call */
}

/* The server thread: the epoll loop, until the client shuts its end down. It only polls, reads,
 * handles and replies; everything blocking the program does outside the handler (joining, closing
 * up) happens on the main thread, which never polls. */
static void *serve(void *arg) {
  int *served = arg;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = sv[0]};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) != 0) exit(1);
  /* one read per poll (level-triggered: a request already waiting makes the next poll return at
   * once), so every request is its own iteration */
  for (;;) {
    struct epoll_event got[4];
    int n = epoll_wait(ep, got, 4, 1000);
    if (n < 0 && errno != EINTR) exit(1);
    if (n <= 0) continue;
    char c;
    ssize_t r = read(sv[0], &c, 1);
    if (r == 0) break; /* the client is done */
    if (r != 1) continue;
    handle_request(++*served);
    if (write(sv[0], "a", 1) != 1) exit(1);
  }
  close(ep);
  return NULL;
}

int main(void) {
  calibrate(); /* the main thread never polls: not a stall */
  char path[] = "real_epoll_blocking.XXXXXX";
  journal = mkstemp(path);
  if (journal < 0) return 1;
  unlink(path);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 1;
  if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) != 0) return 1;
  int served = 0, answered = 0;
  pthread_t server;
  if (pthread_create(&server, NULL, serve, &served) != 0) return 1;
  /* the client: one-byte requests, each followed by a blocking wait for its reply */
  for (int i = 0; i < REQUESTS; i++) {
    char c = 'q';
    if (write(sv[1], &c, 1) != 1 || read(sv[1], &c, 1) != 1 || c != 'a') break;
    answered++;
  }
  /* The client lingers before hanging up: the watchdog writes a stall when it next looks at the loop
   * (every stall_sample_ms), and a loop thread that has ended by then loses it (the shim's limitation,
   * not what this program is about). 300 ms is 30 looks. */
  usleep(300000);
  shutdown(sv[1], SHUT_WR);
  pthread_join(server, NULL);
  close(sv[0]);
  close(sv[1]);
  close(journal);
  printf("requests=%d\n", answered);
  return answered == REQUESTS && served == REQUESTS ? 0 : 1;
}
