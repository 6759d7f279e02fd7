/* A plugin that uses libuv, loaded RTLD_LOCAL by a program that does not link libuv itself (as lua-luv
 * is loaded). dlsym(RTLD_NEXT, ...) cannot see a libuv loaded this way, yet the plugin's uv_* calls bind
 * to the shim: the shim must still find the real functions, and still see plugin_tick take 250 ms. */
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "uv_plugin.h"

#include "busy.h"

int plugin_run(void);

static int slow_ticks, fast_ticks;

static void plugin_tick(uv_timer_t *timer) {
  busy_wait_ms(250); /* busy, not asleep */
  if (++slow_ticks == PLUGIN_SLOW_TICKS) uv_close((uv_handle_t *)timer, NULL);
}

static void plugin_fast(uv_timer_t *timer) {
  if (++fast_ticks == PLUGIN_FAST_TICKS) uv_close((uv_handle_t *)timer, NULL);
}

__attribute__((visibility("default"))) int plugin_run(void) {
  uv_loop_t loop;
  uv_timer_t slow, fast;
  if (uv_loop_init(&loop) != 0) return -1;
  uv_timer_init(&loop, &slow);
  uv_timer_init(&loop, &fast);
  if (uv_timer_start(&slow, plugin_tick, 10, 10) != 0) return -1; /* LS-SITE: plugin-slow */
  if (uv_timer_start(&fast, plugin_fast, 1, 1) != 0) return -1; /* LS-SITE: plugin-fast */
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return -1;
  return slow_ticks + fast_ticks;
}
