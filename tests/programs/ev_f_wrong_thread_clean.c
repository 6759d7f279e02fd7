/* wrong-thread's clean twin for libevent: the same cross-thread calls as ev_f_wrong_thread (event_add,
 * event_active, event_del and event_base_loopbreak from main while a thread runs the base), made legal
 * by evthread_use_pthreads before the base exists, so the base has a lock. loopscope must report no
 * finding at all. Prints "late=1". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

static struct event_base *base;
static struct event *tick_ev, *late_ev;
static int loop_running, late_runs;

static void on_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  __atomic_store_n(&loop_running, 1, __ATOMIC_RELEASE);
}

static void on_late(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  __atomic_add_fetch(&late_runs, 1, __ATOMIC_RELEASE);
}

static void *loop_main(void *arg) {
  (void)arg;
  event_base_dispatch(base);
  return NULL;
}

int main(void) {
  if (evthread_use_pthreads() != 0) return 1;
  base = event_base_new();
  if (!base) return 1;
  tick_ev = event_new(base, -1, EV_PERSIST, on_tick, NULL);
  late_ev = event_new(base, -1, 0, on_late, NULL);
  struct timeval tick = {0, 10000}, hour = {3600, 0};
  if (!tick_ev || !late_ev || event_add(tick_ev, &tick) != 0) return 1;
  pthread_t t;
  if (pthread_create(&t, NULL, loop_main, NULL) != 0) return 1;
  while (!__atomic_load_n(&loop_running, __ATOMIC_ACQUIRE)) usleep(1000);
  event_add(late_ev, &hour);
  event_del(late_ev);
  event_active(late_ev, EV_TIMEOUT, 1);
  while (!__atomic_load_n(&late_runs, __ATOMIC_ACQUIRE)) usleep(1000);
  event_base_loopbreak(base);
  pthread_join(t, NULL);
  printf("late=%d\n", late_runs);
  event_free(tick_ev);
  event_free(late_ev);
  event_base_free(base);
  return 0;
}
