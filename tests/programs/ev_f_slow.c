/* slow-callback trigger for libevent: a timer made with evtimer_new whose callback busy-waits 250 ms
 * (against the 100 ms default), fired twice from one persistent timer, next to a quick event made with
 * event_assign that is activated with event_active. loopscope must report one slow-callback naming
 * on_slow, created at the "slow" line, count 2; on_quick is a site of its own and no finding.
 *
 * It also checks, under the shim as without it, that libevent hands back exactly what the program set
 * (event_get_callback, event_get_callback_arg, event_get_assignment, event_self_cbarg()), and prints
 * "getters=ok slow=2 quick=3". */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "busy.h"

static int slow_runs, quick_runs;
static struct event *slow_ev;
static struct event quick_ev;

static void on_slow(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  busy_wait_ms(250);
  if (++slow_runs == 2) event_del(slow_ev);
  (void)arg;
}

static void on_quick(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  struct event *self = arg; /* event_self_cbarg(): libevent passes the event itself */
  if (self != &quick_ev) printf("self arg is %p, not the event %p\n", (void *)self, (void *)&quick_ev);
  if (++quick_runs < 3) event_active(&quick_ev, EV_TIMEOUT, 1);
}

static int getters_ok(struct event_base *base, int *marker) {
  if (event_get_callback(slow_ev) != on_slow) return 0;
  if (event_get_callback_arg(slow_ev) != marker) return 0;
  struct event_base *b = NULL;
  evutil_socket_t fd = 0;
  short events = 0;
  event_callback_fn cb = NULL;
  void *arg = NULL;
  event_get_assignment(slow_ev, &b, &fd, &events, &cb, &arg);
  if (b != base || fd != -1 || events != EV_PERSIST || cb != on_slow || arg != marker) return 0;
  if (event_get_callback(&quick_ev) != on_quick || event_get_callback_arg(&quick_ev) != &quick_ev) return 0;
  return 1;
}

int main(void) {
  static int marker;
  struct event_base *base = event_base_new();
  if (!base) return 1;
  slow_ev = event_new(base, -1, EV_PERSIST, on_slow, &marker); /* LS-SITE: slow */
  if (!slow_ev) return 1;
  if (event_assign(&quick_ev, base, -1, 0, on_quick, event_self_cbarg()) != 0) return 1; /* LS-SITE: quick */
  int ok = getters_ok(base, &marker);
  struct timeval tv = {0, 1000};
  if (event_add(slow_ev, &tv) != 0) return 1;
  event_active(&quick_ev, EV_TIMEOUT, 1);
  if (event_base_dispatch(base) != 1) return 1; /* 1: no events left */
  printf("getters=%s slow=%d quick=%d\n", ok ? "ok" : "WRONG", slow_runs, quick_runs);
  event_free(slow_ev);
  event_base_free(base);
  return 0;
}
