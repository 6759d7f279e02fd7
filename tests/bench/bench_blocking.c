/* What the blocking-call hooks cost (issue 4, item 6: at most 20 ns added to a call made off a loop
 * thread). Run with no argument it is the driver: it runs itself as the child ("child") plain and under
 * libloopscope.so, alternating, pinned to one CPU, and prints the median ns per call of each and the
 * difference. The child times hooked calls whose real work is small, so the hook's share shows:
 *
 *   popen(bad mode)    glibc rejects the mode (EINVAL) without a syscall: almost only the hook
 *   waitpid(WNOHANG)   on a pid that is no child (ECHILD): one syscall
 *   usleep(0)          nanosleep with zero: one syscall, then the timer slack (~50-100 us)
 *   getpwuid           an NSS lookup in /etc/passwd: microseconds
 *   mutex lock+unlock  an uncontended pthread mutex (the lock is hooked: lock_wait_ms)
 *   write(/dev/null)   one byte to a character device in blocking mode: one syscall (blocking_min_ms)
 *   on loop: ...       the same calls from inside a libuv callback: the loop-thread paths (waitpid in
 *                      its non-blocking form: the predicate says no; the mutex: trylock, uncontended;
 *                      the write: timed, and its thread's voluntary context switches read around it,
 *                      because the fd is a blocking one)
 *
 * Not a CTest test: the figures depend on the machine. `cmake --build BUILD --target bench-blocking`. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#ifndef LS_BENCH_SHIM
#error "LS_BENCH_SHIM (the path of libloopscope.so) must be defined by the build"
#endif

#define NOT_A_CHILD 0x7ffffff0
#define RUNS 7
#define NCASES 9
#define FIRST_ON_LOOP 6

static const char *const names[NCASES] = {"popen(bad mode)",   "waitpid(WNOHANG)",          "usleep(0)",
                                          "getpwuid",          "mutex lock+unlock",         "write(/dev/null)",
                                          "on loop: waitpid(WNOHANG)", "on loop: mutex lock+unlock",
                                          "on loop: write(/dev/null)"};
static const long iters[NCASES] = {2000000, 200000, 2000, 20000, 5000000, 1000000, 200000, 5000000, 1000000};
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int devnull = -1;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double time_case(int c) {
  long n = iters[c];
  uint64_t t0 = now_ns();
  for (long i = 0; i < n; i++) {
    switch (c) {
    case 0: {
      FILE *f = popen("true", "x");
      if (f) pclose(f);
      break;
    }
    case 1:
    case 6: (void)waitpid(NOT_A_CHILD, NULL, WNOHANG); break;
    case 2: usleep(0); break;
    case 3: (void)getpwuid(0); break;
    case 4:
    case 7:
      pthread_mutex_lock(&mu);
      pthread_mutex_unlock(&mu);
      break;
    case 5:
    case 8:
      if (write(devnull, "x", 1) != 1) exit(1);
      break;
    }
  }
  return (double)(now_ns() - t0) / (double)n;
}

static double on_loop_ns[NCASES];
static void on_timer(uv_timer_t *t) {
  for (int c = FIRST_ON_LOOP; c < NCASES; c++) on_loop_ns[c] = time_case(c);
  uv_close((uv_handle_t *)t, NULL);
}

static int child(void) {
  devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0) return 1;
  for (int c = 0; c < FIRST_ON_LOOP; c++) printf("%.2f\n", time_case(c));
  uv_loop_t loop;
  uv_timer_t t;
  uv_loop_init(&loop);
  uv_timer_init(&loop, &t);
  uv_timer_start(&t, on_timer, 0, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  for (int c = FIRST_ON_LOOP; c < NCASES; c++) printf("%.2f\n", on_loop_ns[c]);
  return 0;
}

/* One run of the child; its figures into out[]. */
static int run_child(const char *self, bool shim, const char *tmpdir, double out[NCASES]) {
  int pfd[2];
  if (pipe(pfd) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pfd[1], 1);
    close(pfd[0]);
    unsetenv("LD_PRELOAD");
    unsetenv("LOOPSCOPE_OPTIONS");
    if (shim) {
      char opts[4200];
      snprintf(opts, sizeof(opts), "log_path=%s/bench.%%p.lsr:verbosity=0", tmpdir);
      setenv("LD_PRELOAD", LS_BENCH_SHIM, 1);
      setenv("LOOPSCOPE_OPTIONS", opts, 1);
    }
    execl(self, self, "child", (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  FILE *f = fdopen(pfd[0], "r");
  int got = 0;
  while (got < NCASES && fscanf(f, "%lf", &out[got]) == 1) got++;
  fclose(f);
  int st;
  waitpid(pid, &st, 0);
  return got == NCASES && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) return child();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &set);
  sched_setaffinity(0, sizeof(set), &set);
  char tmpdir[] = "/tmp/bench_blocking.XXXXXX";
  if (!mkdtemp(tmpdir)) return 2;
  double plain[NCASES][RUNS], shim[NCASES][RUNS], r[NCASES];
  for (int i = 0; i < RUNS; i++) {
    if (run_child("/proc/self/exe", false, tmpdir, r) != 0) return 1;
    for (int c = 0; c < NCASES; c++) plain[c][i] = r[c];
    if (run_child("/proc/self/exe", true, tmpdir, r) != 0) return 1;
    for (int c = 0; c < NCASES; c++) shim[c][i] = r[c];
  }
  printf("blocking-call hooks, ns per call, median of %d runs each (goal: <= 20 ns added off a loop thread)\n", RUNS);
  printf("%-28s %10s %10s %10s\n", "call", "plain", "shim", "added");
  for (int c = 0; c < NCASES; c++) {
    qsort(plain[c], RUNS, sizeof(double), cmp);
    qsort(shim[c], RUNS, sizeof(double), cmp);
    double p = plain[c][RUNS / 2], s = shim[c][RUNS / 2];
    printf("%-28s %10.1f %10.1f %10.1f\n", names[c], p, s, s - p);
  }
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : 1;
}
