/* slow-callback's clean twin for libevent: the same shapes as ev_f_slow (a persistent timer made with
 * event_new, an event_assign'd event re-activated with event_active, an event_base_once) with quick
 * callbacks, everything deleted and freed before the base. loopscope must report no finding at all.
 * Prints "ticks=5 quick=3 once=1". */
#include <stdio.h>

#include <event2/event.h>
#include <event2/event_struct.h>

static int ticks, quick_runs, once_runs;
static struct event *tick_ev;
static struct event quick_ev;

static void on_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  if (++ticks == 5) event_del(tick_ev);
}

static void on_quick(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  if (++quick_runs < 3) event_active(&quick_ev, EV_TIMEOUT, 1);
}

static void on_once(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  once_runs++;
}

int main(void) {
  struct event_base *base = event_base_new();
  if (!base) return 1;
  tick_ev = event_new(base, -1, EV_PERSIST, on_tick, NULL);
  if (!tick_ev || event_assign(&quick_ev, base, -1, 0, on_quick, NULL) != 0) return 1;
  struct timeval tv = {0, 1000};
  if (event_add(tick_ev, &tv) != 0) return 1;
  event_active(&quick_ev, EV_TIMEOUT, 1);
  if (event_base_once(base, -1, EV_TIMEOUT, on_once, NULL, &tv) != 0) return 1;
  if (event_base_dispatch(base) != 1) return 1;
  printf("ticks=%d quick=%d once=%d\n", ticks, quick_runs, once_runs);
  event_free(tick_ev);
  event_base_free(base);
  return 0;
}
