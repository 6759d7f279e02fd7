/* Threads as the report should label them. The main thread runs a libuv loop whose one queued work item
 * runs on libuv's pool ("uv pool"); a thread the program starts with uv_thread_create runs its own code
 * ("worker", though libuv's code created it); that worker renames itself with prctl (no pthread call a
 * hook could see), burns 200 ms of CPU, then waits for ever: still running at exit, with its
 * new name and its CPU time in the report. The main thread burns 200 ms of CPU too. Prints "work=1". */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "busy.h"

static int work_done;
static uv_sem_t burned;

static void spinner(void *arg) {
  (void)arg;
  prctl(PR_SET_NAME, "rd-renamed", 0, 0, 0);
  busy_cpu_ms(200);
  uv_sem_post(&burned);
  for (;;) pause();
}

static void on_work(uv_work_t *req) { (void)req; }
static void on_work_done(uv_work_t *req, int status) {
  (void)req;
  work_done = status == 0;
}

int main(void) {
  uv_loop_t loop;
  uv_thread_t spin;
  uv_work_t work;
  if (uv_loop_init(&loop) != 0 || uv_sem_init(&burned, 0) != 0) return 1;
  if (uv_thread_create(&spin, spinner, NULL) != 0) return 1;
  uv_queue_work(&loop, &work, on_work, on_work_done);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_sem_wait(&burned);
  busy_cpu_ms(200);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("work=%d\n", work_done);
  return 0;
}
