/* Own calls, libuv: a program built with -O2 whose callbacks end in tail calls, so the return address
 * a hook sees is the shim's trampoline, not the program. Every such call is still the program's:
 *  - on_poke (main loop) ends in `jmp uv_timer_start@plt` on a timer of another loop, which a second
 *    thread is running: one wrong-thread finding (the second thread waits inside a callback until main
 *    is done, so no real race happens);
 *  - on_a starts timer b with a plain call (the marked line: the site's stack) and ends in a tail call
 *    to uv_idle_init: the program's idle handle, never closed, so still open at exit;
 *  - on_b ends in a tail call to uv_timer_start(c): the program's site of on_c.
 * it_own_calls checks with objdump that these are `jmp`s. Prints "other_tid=N a=1 b=1 c=1". */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t other;
static uv_timer_t keepalive, started, far, poke, a, b, c;
static uv_idle_t idle;
static uv_async_t stop;
static sem_t other_running, main_done;
static pid_t other_tid;
static int fired_a, fired_b, fired_c;

void on_keepalive(uv_timer_t *t) { (void)t; }
void on_far(uv_timer_t *t) { (void)t; }

void on_started(uv_timer_t *t) {
  (void)t;
  sem_post(&other_running);
  sem_wait(&main_done);
}

void close_one(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void on_stop(uv_async_t *s) { uv_walk(s->loop, close_one, NULL); }

void *other_thread(void *arg) {
  (void)arg;
  other_tid = (pid_t)syscall(SYS_gettid);
  uv_run(&other, UV_RUN_DEFAULT);
  return NULL;
}

void on_poke(uv_timer_t *t) {
  (void)t;
  uv_timer_start(&far, on_far, 3600000, 0); /* a tail call, on the other loop */
}

void on_c(uv_timer_t *t) {
  (void)t;
  fired_c++;
  uv_close((uv_handle_t *)&poke, NULL);
  uv_close((uv_handle_t *)&a, NULL);
  uv_close((uv_handle_t *)&b, NULL);
  uv_close((uv_handle_t *)&c, NULL);
}

void on_b(uv_timer_t *t) {
  (void)t;
  fired_b++;
  uv_timer_start(&c, on_c, 1, 0); /* a tail call */
}

void on_a(uv_timer_t *t) {
  uv_timer_start(&b, on_b, 1, 0); /* LS-SITE: start_b */
  fired_a++;
  uv_idle_init(t->loop, &idle); /* a tail call */
}

int main(void) {
  pthread_t runner;
  sem_init(&other_running, 0, 0);
  sem_init(&main_done, 0, 0);
  if (uv_loop_init(&other) != 0) return 1;
  uv_timer_init(&other, &keepalive);
  uv_timer_init(&other, &started);
  uv_timer_init(&other, &far);
  uv_async_init(&other, &stop, on_stop);
  uv_timer_start(&keepalive, on_keepalive, 3600000, 3600000);
  uv_timer_start(&started, on_started, 0, 0);
  if (pthread_create(&runner, NULL, other_thread, NULL) != 0) return 1;
  sem_wait(&other_running);

  uv_loop_t *loop = uv_default_loop();
  uv_timer_init(loop, &poke);
  uv_timer_init(loop, &a);
  uv_timer_init(loop, &b);
  uv_timer_init(loop, &c);
  uv_timer_start(&poke, on_poke, 0, 0);
  uv_timer_start(&a, on_a, 5, 0);
  uv_run(loop, UV_RUN_DEFAULT);

  sem_post(&main_done);
  uv_async_send(&stop);
  pthread_join(runner, NULL);
  if (uv_loop_close(&other) != 0) return 1;
  printf("other_tid=%d a=%d b=%d c=%d\n", (int)other_tid, fired_a, fired_b, fired_c);
  return 0;
}
