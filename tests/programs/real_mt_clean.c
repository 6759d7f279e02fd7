/* Clean multi-threaded program (issue 4 item 5): one epoll loop thread that does only non-blocking
 * work, and worker threads that block freely, each in its own way, while the loop runs:
 *   sleeper   nanosleep, usleep, sleep(1)
 *   syncer    writes and fsyncs a temporary file, fdatasync
 *   reader    a blocking read on a pipe until the writer (a second worker) writes, after a sleep
 *   lockers   two threads contending one mutex, each holding it 50 ms at a time
 *   waiter    a condvar wait until the signaller (another worker) signals, after a sleep
 *   resolver  getaddrinfo("localhost")
 * Each worker tells the loop it finished with one non-blocking byte on a pipe; the loop counts the
 * bytes (non-blocking reads) and ends when every worker has reported. The main thread only starts and
 * joins threads: it never polls, so none of its blocking is on a loop thread.
 * loopscope must see the loop and report nothing at all. Prints "workers=N iterations=M". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 9

static int done_pipe[2]; /* workers -> loop: one byte per finished worker (write end non-blocking) */
static int data_pipe[2]; /* writer -> reader, both ends blocking */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int signalled;
static int failures;

static void report_done(void) {
  if (write(done_pipe[1], "d", 1) != 1) __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
}

static void fail(const char *what) {
  fprintf(stderr, "real_mt_clean: %s: %s\n", what, strerror(errno));
  __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
}

static void *sleeper(void *arg) {
  (void)arg;
  struct timespec ts = {0, 50000000};
  nanosleep(&ts, NULL);
  usleep(50000);
  sleep(1);
  report_done();
  return NULL;
}

static void *syncer(void *arg) {
  (void)arg;
  char path[] = "real_mt_clean.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    fail("mkstemp");
  } else {
    unlink(path);
    if (write(fd, "data\n", 5) != 5 || fsync(fd) != 0 || fdatasync(fd) != 0) fail("write/fsync");
    close(fd);
  }
  report_done();
  return NULL;
}

static void *reader(void *arg) {
  (void)arg;
  char buf[8];
  if (read(data_pipe[0], buf, sizeof(buf)) <= 0) fail("read"); /* blocks until the writer writes */
  report_done();
  return NULL;
}

static void *writer(void *arg) {
  (void)arg;
  usleep(100000);
  if (write(data_pipe[1], "hello", 5) != 5) fail("write");
  report_done();
  return NULL;
}

static void *locker(void *arg) {
  (void)arg;
  for (int i = 0; i < 3; i++) {
    pthread_mutex_lock(&lock); /* the other locker holds it half the time: contended */
    usleep(50000);
    pthread_mutex_unlock(&lock);
  }
  report_done();
  return NULL;
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&cv_lock);
  while (!signalled) pthread_cond_wait(&cv, &cv_lock);
  pthread_mutex_unlock(&cv_lock);
  report_done();
  return NULL;
}

static void *signaller(void *arg) {
  (void)arg;
  usleep(150000);
  pthread_mutex_lock(&cv_lock);
  signalled = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&cv_lock);
  report_done();
  return NULL;
}

static void *resolver(void *arg) {
  (void)arg;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  int rc = getaddrinfo("localhost", "80", &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "real_mt_clean: getaddrinfo: %s\n", gai_strerror(rc));
    __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
  } else {
    freeaddrinfo(res);
  }
  report_done();
  return NULL;
}

/* The loop thread: polls the done pipe (10 ms timeout, so it also iterates while nothing happens) and
 * drains it with non-blocking reads. */
static void *loop(void *arg) {
  int *iterations = arg;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = done_pipe[0]};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, done_pipe[0], &ev) != 0) exit(1);
  int finished = 0;
  while (finished < WORKERS) {
    struct epoll_event got[4];
    if (epoll_wait(ep, got, 4, 10) < 0 && errno != EINTR) exit(1);
    ++*iterations;
    char buf[16];
    ssize_t r;
    while ((r = read(done_pipe[0], buf, sizeof(buf))) > 0) finished += (int)r;
  }
  close(ep);
  return NULL;
}

int main(void) {
  if (pipe2(done_pipe, O_CLOEXEC | O_NONBLOCK) != 0 || pipe2(data_pipe, O_CLOEXEC) != 0) return 1;
  int iterations = 0;
  pthread_t lt, w[WORKERS];
  void *(*const fn[WORKERS])(void *) = {sleeper, syncer, reader, writer, locker, locker, waiter, signaller, resolver};
  if (pthread_create(&lt, NULL, loop, &iterations) != 0) return 1;
  for (int i = 0; i < WORKERS; i++)
    if (pthread_create(&w[i], NULL, fn[i], NULL) != 0) return 1;
  for (int i = 0; i < WORKERS; i++) pthread_join(w[i], NULL);
  pthread_join(lt, NULL);
  printf("workers=%d iterations=%d\n", WORKERS, iterations);
  return failures == 0 ? 0 : 1;
}
