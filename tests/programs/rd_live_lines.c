/* Live output at the default verbosity: one timer callback that takes 150 ms, run five times in a row
 * (one finding, five occurrences within a second: one live line), then a poll that waits 1.2 s for
 * the last timer (a long poll: a statistic, not a live line unless verbosity=2). Prints "slow=5". */
#include <stdio.h>
#include <time.h>
#include <uv.h>

#include "busy.h"

static int slow;
static uv_timer_t idle_timer;

static void on_idle_done(uv_timer_t *t) { uv_close((uv_handle_t *)t, NULL); }

static void on_slow(uv_timer_t *t) {
  busy_wait_ms(150);
  if (++slow == 5) {
    uv_close((uv_handle_t *)t, NULL);
    uv_timer_start(&idle_timer, on_idle_done, 1200, 0); /* LS-SITE: idle */
  }
}

int main(void) {
  uv_loop_t loop;
  uv_timer_t slow_timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &slow_timer);
  uv_timer_init(&loop, &idle_timer);
  if (uv_timer_start(&slow_timer, on_slow, 1, 1) != 0) return 1; /* LS-SITE: slow */
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("slow=%d\n", slow);
  return 0;
}
