/* wrong-thread trigger: a loop runs on a second thread (a keep-alive timer holds it in uv_run); the
 * main thread, once the loop is running (a timer callback on the loop posts a semaphore), starts a
 * timer of that loop itself -- the non-thread-safe call libuv users make by mistake. The callback waits
 * for main to have made the call before it returns, so the loop thread is inside uv_run but touches
 * nothing meanwhile: the mistake is made without a real data race. Main then stops the loop the right
 * way, with uv_async_send, whose callback closes every handle; the loop thread is joined and the loop
 * closed. The wrongly started timer would fire in an hour: it never runs.
 * loopscope must report one wrong-thread finding: call uv_timer_start at the marked line, other_tid
 * the loop thread. Prints "loop_tid=N". */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t loop;
static uv_timer_t keepalive, started_timer, other;
static uv_async_t stop;
static sem_t loop_running, call_made;
static pid_t loop_tid;

static void on_keepalive(uv_timer_t *t) { (void)t; }
static void on_other(uv_timer_t *t) { (void)t; }

static void on_started(uv_timer_t *t) {
  (void)t;
  sem_post(&loop_running);
  sem_wait(&call_made);
}

static void close_one(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void on_stop(uv_async_t *a) { uv_walk(a->loop, close_one, NULL); }

static void *loop_thread(void *arg) {
  (void)arg;
  loop_tid = (pid_t)syscall(SYS_gettid);
  uv_run(&loop, UV_RUN_DEFAULT);
  return NULL;
}

int main(void) {
  pthread_t runner;
  sem_init(&loop_running, 0, 0);
  sem_init(&call_made, 0, 0);
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &keepalive);
  uv_timer_init(&loop, &started_timer);
  uv_timer_init(&loop, &other);
  uv_async_init(&loop, &stop, on_stop);
  uv_timer_start(&keepalive, on_keepalive, 3600000, 3600000);
  uv_timer_start(&started_timer, on_started, 0, 0);
  if (pthread_create(&runner, NULL, loop_thread, NULL) != 0) return 1;
  sem_wait(&loop_running);
  uv_timer_start(&other, on_other, 3600000, 0); /* LS-SITE: wrong */
  sem_post(&call_made);
  uv_async_send(&stop);
  pthread_join(runner, NULL);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("loop_tid=%d\n", (int)loop_tid);
  return 0;
}
