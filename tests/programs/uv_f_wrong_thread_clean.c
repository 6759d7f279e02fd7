/* wrong-thread, clean: the same two threads as uv_f_wrong_thread, done properly. The main thread never
 * touches the loop's handles while the loop runs: it asks with uv_async_send, and the timer is started
 * inside the async callback, on the loop thread; the timer's callback closes every handle.
 * loopscope must report nothing. Prints "fired=N". */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <uv.h>

static uv_loop_t loop;
static uv_timer_t keepalive, started_timer, other;
static uv_async_t request;
static sem_t loop_running;
static int fired;

static void on_keepalive(uv_timer_t *t) { (void)t; }

static void on_started(uv_timer_t *t) {
  (void)t;
  sem_post(&loop_running);
}

static void close_one(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void on_other(uv_timer_t *t) {
  fired++;
  uv_walk(t->loop, close_one, NULL);
}

static void on_request(uv_async_t *a) {
  (void)a;
  uv_timer_start(&other, on_other, 0, 0); /* LS-SITE: right */
}

static void *loop_thread(void *arg) {
  (void)arg;
  uv_run(&loop, UV_RUN_DEFAULT);
  return NULL;
}

int main(void) {
  pthread_t runner;
  sem_init(&loop_running, 0, 0);
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &keepalive);
  uv_timer_init(&loop, &started_timer);
  uv_timer_init(&loop, &other);
  uv_async_init(&loop, &request, on_request);
  uv_timer_start(&keepalive, on_keepalive, 3600000, 3600000);
  uv_timer_start(&started_timer, on_started, 0, 0);
  if (pthread_create(&runner, NULL, loop_thread, NULL) != 0) return 1;
  sem_wait(&loop_running);
  uv_async_send(&request);
  pthread_join(runner, NULL);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("fired=%d\n", fired);
  return fired == 1 ? 0 : 1;
}
