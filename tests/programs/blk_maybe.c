/* blocking-call, the calls that block only sometimes, trigger: a libuv timer callback that
 *   - reads a blocking pipe whose writer (another thread) writes only 40 ms later,
 *   - locks a mutex another thread holds for 60 ms,
 *   - waits 30 ms on a condition variable nobody signals (a timed wait),
 *   - writes and reads a regular file (counted on the loop's line, not a finding),
 *   - and, made by a function named in allow_blocking by the test, reads the pipe again.
 * loopscope must report "read", "pthread_mutex_lock" and "pthread_cond_timedwait" at the marked
 * lines, and nothing about the allowed function's read.
 * Prints "read=1 lock=1 cond=1 file=N". */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static int pipefd[2];
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cond_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int holding;     /* the holder thread has the mutex */
static int want_lock;   /* the callback is about to lock it */
static int about_to_read; /* how many reads the callback is about to make */
static int reads, locks, conds, file_io;

static void sleep_ms(long ms) {
  struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&d, &d) != 0 && errno == EINTR) {
  }
}

static void *late_writer(void *arg) {
  (void)arg;
  /* Each byte 40 ms after the callback says it is about to read: the read waits, however loaded the machine. */
  for (int i = 0; i < 2; i++) {
    while (__atomic_load_n(&about_to_read, __ATOMIC_ACQUIRE) <= i) sched_yield();
    sleep_ms(40);
    if (write(pipefd[1], "x", 1) != 1) exit(1);
  }
  return NULL;
}

static void *holder(void *arg) {
  (void)arg;
  pthread_mutex_lock(&held);
  __atomic_store_n(&holding, 1, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&want_lock, __ATOMIC_ACQUIRE)) sched_yield();
  sleep_ms(60);
  pthread_mutex_unlock(&held);
  return NULL;
}

__attribute__((noinline)) static void read_waiting_for_writer(void) {
  char c;
  __atomic_store_n(&about_to_read, 1, __ATOMIC_RELEASE);
  if (read(pipefd[0], &c, 1) != 1) exit(1); /* LS-SITE: read */
  reads++;
}

__attribute__((noinline)) void allowed_reader(void) {
  char c;
  __atomic_store_n(&about_to_read, 2, __ATOMIC_RELEASE);
  if (read(pipefd[0], &c, 1) != 1) exit(1); /* LS-SITE: allowed */
}

__attribute__((noinline)) static void lock_contended(void) {
  while (!__atomic_load_n(&holding, __ATOMIC_ACQUIRE)) sched_yield();
  __atomic_store_n(&want_lock, 1, __ATOMIC_RELEASE);
  pthread_mutex_lock(&held); /* LS-SITE: lock */
  locks++;
  pthread_mutex_unlock(&held);
}

__attribute__((noinline)) static void wait_on_nobody(void) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += 30000000L;
  if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&cond_mu);
  int rc = pthread_cond_timedwait(&never, &cond_mu, &until); /* LS-SITE: cond */
  pthread_mutex_unlock(&cond_mu);
  if (rc == ETIMEDOUT) conds++;
}

static void file_round_trip(void) {
  char path[] = "blk_maybe.XXXXXX", buf[64] = "hello";
  int fd = mkstemp(path);
  if (fd < 0) exit(1);
  unlink(path);
  if (write(fd, buf, 5) != 5 || pread(fd, buf, 5, 0) != 5) exit(1);
  file_io += 2;
  close(fd);
}

static pthread_t writer_thread, holder_thread;

static void on_tick(uv_timer_t *timer) {
  if (pthread_create(&writer_thread, NULL, late_writer, NULL) != 0 ||
      pthread_create(&holder_thread, NULL, holder, NULL) != 0)
    exit(1);
  read_waiting_for_writer();
  lock_contended();
  wait_on_nobody();
  file_round_trip();
  allowed_reader();
  uv_close((uv_handle_t *)timer, NULL);
}

int main(void) {
  if (pipe(pipefd) != 0) return 1;
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  if (uv_timer_start(&timer, on_tick, 1, 0) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  pthread_join(writer_thread, NULL); /* off the loop: joining is no finding here */
  pthread_join(holder_thread, NULL);
  printf("read=%d lock=%d cond=%d file=%d\n", reads, locks, conds, file_io);
  return reads == 1 && locks == 1 && conds == 1 ? 0 : 1;
}
