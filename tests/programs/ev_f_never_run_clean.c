/* never-run's clean twin for libevent: the one-shot work that was due ran (an event_base_once, an
 * activated event); what is pending when the base is freed was not due: an event_base_once an hour
 * away. A timeout not yet come is not work left undone. loopscope must report no finding at all.
 * Prints "once=1 active=1". */
#include <stdio.h>

#include <event2/event.h>
#include <event2/event_struct.h>

static struct event active_ev;
static int once_runs, active_runs;

static void on_once(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  once_runs++;
}

static void on_active(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  active_runs++;
}

static void on_hour(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  printf("on_hour ran\n");
}

int main(void) {
  struct event_base *base = event_base_new();
  if (!base) return 1;
  struct timeval hour = {3600, 0};
  if (event_base_once(base, -1, EV_TIMEOUT, on_once, NULL, NULL) != 0) return 1;
  if (event_assign(&active_ev, base, -1, 0, on_active, NULL) != 0) return 1;
  event_active(&active_ev, EV_TIMEOUT, 1);
  event_base_loop(base, EVLOOP_NONBLOCK); /* runs the two that are due */
  if (event_base_once(base, -1, EV_TIMEOUT, on_hour, NULL, &hour) != 0) return 1;
  printf("once=%d active=%d\n", once_runs, active_runs);
  event_base_free(base);
  return 0;
}
