/* loop-reentry trigger for libevent: a timer callback runs its own base again with event_base_loop
 * (libevent warns "reentrant invocation" on stderr and returns -1). loopscope must report one
 * loop-reentry naming event_base_loop at the "reentry" line, tid == other_tid. Prints "inner=-1". */
#include <stdio.h>

#include <event2/event.h>

static struct event_base *base;
static int inner = 99;

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  inner = event_base_loop(base, EVLOOP_NONBLOCK); /* LS-SITE: reentry */
}

int main(void) {
  base = event_base_new();
  if (!base) return 1;
  struct timeval tv = {0, 1000};
  if (event_base_once(base, -1, EV_TIMEOUT, on_timer, NULL, &tv) != 0) return 1;
  event_base_dispatch(base);
  printf("inner=%d\n", inner);
  event_base_free(base);
  return 0;
}
