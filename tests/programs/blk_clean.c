/* blocking-call, clean: blocking calls made freely where they block no loop. The main thread sleeps
 * before uv_run; while the loop runs, a second thread (no loop) sleeps, fsyncs, forks a child and
 * waits for it, looks up a user and joins a thread of its own; the loop thread itself only makes the
 * hooked calls in their non-blocking forms (waitpid with WNOHANG, getaddrinfo of a numeric address,
 * msync with MS_ASYNC). After uv_run the main thread joins the worker. loopscope must report nothing.
 * Prints "worker=N ticks=M". */
#define _GNU_SOURCE
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#define NOT_A_CHILD 0x7ffffff0

static atomic_int worker_done;
static int worker_steps, ticks;
static void *page;

static void *nothing(void *arg) { return arg; }

static void *worker(void *arg) {
  (void)arg;
  char path[] = "blk_clean.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) exit(1);
  unlink(path);
  usleep(10000), worker_steps++;
  if (write(fd, "x", 1) != 1 || fsync(fd) != 0) exit(1);
  worker_steps++;
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int st;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) exit(1);
  worker_steps++;
  if (getpwuid(getuid()) == NULL) { /* no entry is fine: the lookup was made */
  }
  worker_steps++;
  pthread_t t;
  if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0) exit(1);
  worker_steps++;
  close(fd);
  atomic_store(&worker_done, 1);
  return NULL;
}

static void on_tick(uv_timer_t *timer) {
  /* A pid that is no child of ours: waitpid(-1) here could reap the worker's child under it. */
  int st;
  siginfo_t si;
  (void)waitpid(NOT_A_CHILD, &st, WNOHANG);
  (void)waitid(P_PID, NOT_A_CHILD, &si, WEXITED | WNOHANG);
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  if (getaddrinfo("127.0.0.1", "80", &hints, &res) == 0) freeaddrinfo(res);
  if (getaddrinfo("::1", NULL, &hints, &res) == 0) freeaddrinfo(res);
  if (msync(page, 4096, MS_ASYNC) != 0) exit(1);
  ticks++;
  if (atomic_load(&worker_done)) uv_close((uv_handle_t *)timer, NULL);
}

int main(void) {
  page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return 1;
  usleep(1000); /* before any loop runs */
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  if (uv_timer_start(&timer, on_tick, 1, 1) != 0) return 1;
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  if (pthread_join(t, NULL) != 0) return 1;
  if (uv_loop_close(&loop) != 0) return 1;
  printf("worker=%d ticks=%d\n", worker_steps, ticks);
  return worker_steps == 5 && ticks > 0 ? 0 : 1;
}
