/* A callback that busy-waits 50 ms, half the default slow_callback_ms of 100: loopscope must stay quiet.
 * Prints what it counted: "ticks=N". */
#include <stdio.h>
#include <time.h>
#include <uv.h>

#include "busy.h"

#define FIRES 4

static int ticks;

static void on_tick(uv_timer_t *timer) {
  busy_wait_ms(50);
  if (++ticks == FIRES) uv_close((uv_handle_t *)timer, NULL);
}

int main(void) {
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  uv_timer_start(&timer, on_tick, 5, 5); /* LS-SITE: quiet */
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("ticks=%d\n", ticks);
  return ticks == FIRES ? 0 : 1;
}
