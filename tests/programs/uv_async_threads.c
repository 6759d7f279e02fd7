/* A clean libuv program: three threads wake a loop with uv_async_send, the one libuv call that is safe
 * from any thread. The loop runs on its own thread; main coordinates: it starts the senders once the
 * loop is running, joins them, then sends a last wake-up with `stopping` set so the loop closes the
 * handle. No thread touches the handle after that, threads are joined, the loop is closed, and the loop
 * side takes no locks: loopscope must report nothing.
 * Sends coalesce, so the program counts messages with an atomic counter the loop drains, and counts its
 * callbacks separately. Prints "sent=N received=N callbacks=K". */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <uv.h>

#define THREADS 3
#define SENDS 1000

static uv_loop_t loop;
static uv_async_t async;
static uv_timer_t started_timer;
static sem_t loop_running;
static atomic_int sent, stopping;
static int received, callbacks; /* loop thread only */

static void on_async(uv_async_t *handle) {
  received = atomic_load(&sent);
  callbacks++;
  if (atomic_load(&stopping)) uv_close((uv_handle_t *)handle, NULL);
}

static void on_started(uv_timer_t *timer) {
  sem_post(&loop_running);
  uv_close((uv_handle_t *)timer, NULL);
}

static void *loop_thread(void *arg) {
  (void)arg;
  uv_run(&loop, UV_RUN_DEFAULT);
  return NULL;
}

static void *sender(void *arg) {
  (void)arg;
  for (int i = 0; i < SENDS; i++) {
    atomic_fetch_add(&sent, 1);
    uv_async_send(&async);
    if (i % 50 == 49) { /* let the loop run between bursts, so sends and callbacks interleave */
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
  }
  return NULL;
}

int main(void) {
  pthread_t runner, senders[THREADS];
  sem_init(&loop_running, 0, 0);
  if (uv_loop_init(&loop) != 0) return 1;
  if (uv_async_init(&loop, &async, on_async) != 0) return 1; /* LS-SITE: async */
  uv_timer_init(&loop, &started_timer);
  uv_timer_start(&started_timer, on_started, 0, 0);
  if (pthread_create(&runner, NULL, loop_thread, NULL) != 0) return 1;
  while (sem_wait(&loop_running) != 0) {
  }
  for (int i = 0; i < THREADS; i++)
    if (pthread_create(&senders[i], NULL, sender, NULL) != 0) return 1;
  for (int i = 0; i < THREADS; i++) pthread_join(senders[i], NULL);
  atomic_store(&stopping, 1);
  uv_async_send(&async); /* the last touch of the handle from outside the loop */
  pthread_join(runner, NULL);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("sent=%d received=%d callbacks=%d\n", THREADS * SENDS, received, callbacks);
  return received == THREADS * SENDS ? 0 : 1;
}
