/* One callback function, on_tick, registered with uv_timer_start from two lines. Only the timer started
 * from the first line is slow: it busy-waits 250 ms per call (on the clock, not sleeping: a sleep is a
 * blocking-call, a different finding). The other spends no time. loopscope must report exactly one
 * slow-callback, naming on_tick and the first registration line.
 * Prints what it counted: "slow=N fast=M". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#include "busy.h"

#define SLOW_FIRES 3
#define FAST_FIRES 5

struct ticker {
  uint64_t busy_ms; /* how long each call spins */
  int limit;        /* stop after this many calls */
  int count;
};

static void on_tick(uv_timer_t *timer) {
  struct ticker *t = timer->data;
  busy_wait_ms(t->busy_ms);
  if (++t->count == t->limit) uv_close((uv_handle_t *)timer, NULL);
}

int main(void) {
  uv_loop_t loop;
  uv_timer_t slow_timer, fast_timer;
  struct ticker slow = {250, SLOW_FIRES, 0}, fast = {0, FAST_FIRES, 0};

  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &slow_timer);
  uv_timer_init(&loop, &fast_timer);
  slow_timer.data = &slow;
  fast_timer.data = &fast;
  if (uv_timer_start(&slow_timer, on_tick, 10, 10) != 0) return 1; /* LS-SITE: slow */
  if (uv_timer_start(&fast_timer, on_tick, 1, 1) != 0) return 1; /* LS-SITE: fast */
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("slow=%d fast=%d\n", slow.count, fast.count);
  return slow.count == SLOW_FIRES && fast.count == FAST_FIRES ? 0 : 1;
}
