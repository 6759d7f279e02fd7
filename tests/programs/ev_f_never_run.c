/* never-run trigger for libevent: one-shot work that was due and never ran because the program freed
 * the base without running it: an event_base_once with no timeout (due at once) and an event made
 * active with event_active. loopscope must report two never-run findings: on_once_never at the "once"
 * line and on_active_never at the "active" line (where its event was made). Prints "scheduled=2". */
#include <stdio.h>

#include <event2/event.h>
#include <event2/event_struct.h>

static struct event active_ev;

static void on_once_never(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  printf("on_once_never ran\n");
}

static void on_active_never(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  printf("on_active_never ran\n");
}

int main(void) {
  struct event_base *base = event_base_new();
  if (!base) return 1;
  if (event_base_once(base, -1, EV_TIMEOUT, on_once_never, NULL, NULL) != 0) return 1; /* LS-SITE: once */
  if (event_assign(&active_ev, base, -1, 0, on_active_never, NULL) != 0) return 1; /* LS-SITE: active */
  event_active(&active_ev, EV_TIMEOUT, 1);
  printf("scheduled=2\n");
  event_base_free(base);
  return 0;
}
