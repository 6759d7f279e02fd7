/* A plugin that uses libevent (libevent_core), for dlopen_local: loaded RTLD_NOW|RTLD_LOCAL by a program
 * that does not link libevent, so the shim finds libevent's functions through its soname, not
 * RTLD_NEXT. Its timer fires PLUGIN_SLOW_TICKS times busy-waiting 250 ms (slow-callback, against the
 * 100 ms default), a second one PLUGIN_FAST_TICKS times quickly. Same interface as uv_plugin. */
#include <event2/event.h>

#include "busy.h"
#include "uv_plugin.h"

static int slow_ticks, fast_ticks;
static struct event *slow_ev, *fast_ev;

__attribute__((visibility("default"))) int plugin_run(void);

static void ev_plugin_slow(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  busy_wait_ms(250);
  if (++slow_ticks == PLUGIN_SLOW_TICKS) event_del(slow_ev);
}

static void ev_plugin_fast(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  if (++fast_ticks == PLUGIN_FAST_TICKS) event_del(fast_ev);
}

int plugin_run(void) {
  struct event_base *base = event_base_new();
  if (!base) return -1;
  slow_ev = event_new(base, -1, EV_PERSIST, ev_plugin_slow, NULL); /* LS-SITE: plugin-slow */
  fast_ev = event_new(base, -1, EV_PERSIST, ev_plugin_fast, NULL);
  struct timeval tv = {0, 1000};
  if (!slow_ev || !fast_ev || event_add(slow_ev, &tv) != 0 || event_add(fast_ev, &tv) != 0) return -1;
  event_base_dispatch(base);
  event_free(slow_ev);
  event_free(fast_ev);
  event_base_free(base);
  return slow_ticks + fast_ticks;
}
