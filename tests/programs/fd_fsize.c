/* A program that limits the size of the files it writes (RLIMIT_FSIZE, as a sandboxed service may)
 * and writes none: the limit must not change what it does, though a report written beside it runs
 * into the limit (the kernel answers EFBIG and sends SIGXFSZ, whose default action kills). It starts
 * and joins threads, then with argv[1] "raise" lifts its limit again before it returns (room came
 * back); with "keep" it does not.
 * Prints "threads=N". */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define THREADS 200
#define LIMIT 4096

static void *worker(void *arg) { return arg; }

static int set_soft(rlim_t v) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_FSIZE, &rl) != 0) return -1;
  rl.rlim_cur = v == RLIM_INFINITY ? rl.rlim_max : v;
  return setrlimit(RLIMIT_FSIZE, &rl);
}

int main(int argc, char **argv) {
  if (argc != 2 || (strcmp(argv[1], "raise") != 0 && strcmp(argv[1], "keep") != 0)) {
    fprintf(stderr, "usage: fd_fsize raise|keep\n");
    return 2;
  }
  if (set_soft(LIMIT) != 0) return 2;
  int n = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0 || pthread_join(t, NULL) != 0) return 1;
    n++;
  }
  if (strcmp(argv[1], "raise") == 0 && set_soft(RLIM_INFINITY) != 0) return 2;
  printf("threads=%d\n", n);
  return 0;
}
