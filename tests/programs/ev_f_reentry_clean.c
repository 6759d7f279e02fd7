/* loop-reentry's clean twin for libevent: a timer callback runs a second base (legal: one loop per base,
 * nested bases on one thread are fine) that fires one callback of its own. loopscope must report no
 * finding at all. Prints "inner=1 nested=1". */
#include <stdio.h>

#include <event2/event.h>

static struct event_base *base, *other;
static int inner = 99, nested;

static void on_nested(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  nested++;
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  if (event_base_once(other, -1, EV_TIMEOUT, on_nested, NULL, NULL) != 0) return;
  inner = event_base_loop(other, 0); /* runs on_nested, then has nothing left: 1 */
}

int main(void) {
  base = event_base_new();
  other = event_base_new();
  if (!base || !other) return 1;
  struct timeval tv = {0, 1000};
  if (event_base_once(base, -1, EV_TIMEOUT, on_timer, NULL, &tv) != 0) return 1;
  event_base_dispatch(base);
  printf("inner=%d nested=%d\n", inner, nested);
  event_base_free(other);
  event_base_free(base);
  return 0;
}
