/* blocking-call, the calls that block only sometimes, clean twin of blk_maybe: on the loop thread
 * only calls that do not block — a write to a non-blocking pipe, a read of a pipe that already holds
 * data, an uncontended mutex, a regular file — while two worker threads (not loop threads) block
 * freely: a blocking read waiting for its writer, a contended mutex, a condition variable wait, sleep,
 * fsync, getaddrinfo("localhost"), pthread_join. loopscope must report nothing.
 * Prints "ticks=N". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define TICKS 5

static int nb_pipe[2], full_pipe[2], worker_pipe[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER, cond_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t loop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ticks, signalled;

static void sleep_ms(long ms) {
  struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&d, &d) != 0 && errno == EINTR) {
  }
}

/* Worker A: blocks in read until worker B writes, waits on a condition variable, sleeps, fsyncs. */
static void *worker_a(void *arg) {
  (void)arg;
  char c;
  if (read(worker_pipe[0], &c, 1) != 1) exit(1);
  pthread_mutex_lock(&cond_mu);
  while (!signalled) pthread_cond_wait(&cond, &cond_mu);
  pthread_mutex_unlock(&cond_mu);
  pthread_mutex_lock(&mu); /* contended with worker B for a while */
  pthread_mutex_unlock(&mu);
  char path[] = "blk_maybe_clean.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) exit(1);
  unlink(path);
  if (write(fd, "x", 1) != 1 || fsync(fd) != 0) exit(1);
  close(fd);
  struct addrinfo *res = NULL;
  if (getaddrinfo("localhost", "80", NULL, &res) == 0) freeaddrinfo(res);
  return NULL;
}

static void *worker_b(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  sleep_ms(30);
  if (write(worker_pipe[1], "x", 1) != 1) exit(1);
  sleep_ms(30);
  pthread_mutex_lock(&cond_mu);
  signalled = 1;
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&cond_mu);
  sleep_ms(30);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void on_tick(uv_timer_t *timer) {
  char c = 'x', buf[8];
  if (write(nb_pipe[1], &c, 1) != 1) exit(1);  /* non-blocking: never a finding */
  if (read(nb_pipe[0], buf, 1) != 1) exit(1);
  if (write(full_pipe[1], &c, 1) != 1) exit(1); /* blocking pipe with room: does not sleep */
  if (read(full_pipe[0], buf, 1) != 1) exit(1); /* blocking pipe holding data: does not sleep */
  pthread_mutex_lock(&loop_mu); /* nobody else takes it: uncontended */
  pthread_mutex_unlock(&loop_mu);
  if (++ticks == TICKS) uv_close((uv_handle_t *)timer, NULL);
}

int main(void) {
  if (pipe2(nb_pipe, O_NONBLOCK) != 0 || pipe(full_pipe) != 0 || pipe(worker_pipe) != 0) return 1;
  pthread_t a, b; /* they block while the loop runs */
  if (pthread_create(&a, NULL, worker_a, NULL) != 0 || pthread_create(&b, NULL, worker_b, NULL) != 0) return 1;
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  if (uv_timer_start(&timer, on_tick, 1, 20) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  printf("ticks=%d\n", ticks);
  return ticks == TICKS ? 0 : 1;
}
