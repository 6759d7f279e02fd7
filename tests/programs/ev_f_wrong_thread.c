/* wrong-thread trigger for libevent: a thread runs a base that has no lock while main calls event_add
 * on it. Without arguments the base has no lock because evthread_use_pthreads never ran; with
 * "nolock-flag" it ran, but the base was made with EVENT_BASE_FLAG_NOLOCK. Either way loopscope must
 * report one wrong-thread naming event_add at the "wrong" line, from main, with the loop's thread as
 * other_tid. With "bufferevent" main writes to a bufferevent of that base instead: one wrong-thread
 * naming bufferevent_write at the "wrong_bev" line. The loop thread stops itself (its own tick sees
 * the flag): no other cross-thread call. Prints "loop_tid=N". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/thread.h>

static struct event_base *base;
static struct event *tick_ev, *late_ev;
static int loop_running, stop, loop_tid;

static void on_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  __atomic_store_n(&loop_running, 1, __ATOMIC_RELEASE);
  if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
    event_del(late_ev);
    event_base_loopbreak(base);
  }
}

static void on_late(evutil_socket_t fd, short what, void *arg) { (void)fd, (void)what, (void)arg; }

static void *loop_main(void *arg) {
  (void)arg;
  loop_tid = gettid();
  event_base_dispatch(base);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "nolock-flag") == 0) {
    if (evthread_use_pthreads() != 0) return 1;
    struct event_config *cfg = event_config_new();
    if (!cfg || event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK) != 0) return 1;
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
  } else {
    base = event_base_new();
  }
  if (!base) return 1;
  tick_ev = event_new(base, -1, EV_PERSIST, on_tick, NULL);
  late_ev = event_new(base, -1, 0, on_late, NULL);
  struct timeval tick = {0, 10000}, hour = {3600, 0};
  if (!tick_ev || !late_ev || event_add(tick_ev, &tick) != 0) return 1;
  struct bufferevent *pair[2] = {NULL, NULL};
  bool bev = argc > 1 && strcmp(argv[1], "bufferevent") == 0;
  if (bev && bufferevent_pair_new(base, 0, pair) != 0) return 1;
  pthread_t t;
  if (pthread_create(&t, NULL, loop_main, NULL) != 0) return 1;
  while (!__atomic_load_n(&loop_running, __ATOMIC_ACQUIRE)) usleep(1000);
  if (bev)
    bufferevent_write(pair[0], "x", 1); /* LS-SITE: wrong_bev */
  else
    event_add(late_ev, &hour); /* LS-SITE: wrong */
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  pthread_join(t, NULL);
  printf("loop_tid=%d\n", loop_tid);
  if (bev) {
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
  }
  event_free(tick_ev);
  event_free(late_ev);
  event_base_free(base);
  return 0;
}
