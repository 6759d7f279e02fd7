/* loop-reentry trigger for libevent: a timer callback runs its own base again with event_base_loop
 * (libevent warns "reentrant invocation" on stderr and returns -1). loopscope must report one
 * loop-reentry naming event_base_loop at the "reentry" line, tid == other_tid. Prints "inner=-1".
 *
 * With "thread": a second thread runs the base while main's callback keeps it running (the base has a
 * lock, so the call itself is legal; libevent refuses it all the same): one loop-reentry at the
 * "reentry_thread" line, from that thread, with main as other_tid. Prints "second=-1 main_tid=N". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

static struct event_base *base;
static int inner = 99;

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  inner = event_base_loop(base, EVLOOP_NONBLOCK); /* LS-SITE: reentry */
}

static int second = 99, second_done;

static void *second_main(void *arg) {
  (void)arg;
  second = event_base_loop(base, EVLOOP_NONBLOCK); /* LS-SITE: reentry_thread */
  __atomic_store_n(&second_done, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* main's callback: the base is running on main until the second thread has tried. It spins (sleeping
 * or joining on the loop thread would be a blocking-call of its own); the thread is detached. */
static void on_wait(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  pthread_t t;
  if (pthread_create(&t, NULL, second_main, NULL) != 0) return;
  pthread_detach(t);
  while (!__atomic_load_n(&second_done, __ATOMIC_ACQUIRE)) {
  }
}

static int from_thread(void) {
  if (evthread_use_pthreads() != 0 || !(base = event_base_new())) return 1;
  struct timeval tv = {0, 1000};
  if (event_base_once(base, -1, EV_TIMEOUT, on_wait, NULL, &tv) != 0) return 1;
  event_base_dispatch(base);
  printf("second=%d main_tid=%d\n", second, getpid());
  event_base_free(base);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "thread") == 0) return from_thread();
  base = event_base_new();
  if (!base) return 1;
  struct timeval tv = {0, 1000};
  if (event_base_once(base, -1, EV_TIMEOUT, on_timer, NULL, &tv) != 0) return 1;
  event_base_dispatch(base);
  printf("inner=%d\n", inner);
  event_base_free(base);
  return 0;
}
