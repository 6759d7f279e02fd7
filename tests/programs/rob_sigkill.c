/* A program killed with SIGKILL still leaves a readable report of what was flushed before. One libuv
 * timer (kill_tick) fires every 5 ms for ever; after READY_TICKS calls the program prints
 * "ready pid=P" (flushed) and goes on until the test kills it. */
#include <stdio.h>
#include <unistd.h>
#include <uv.h>

#define READY_TICKS 20

static long ticks;

static void kill_tick(uv_timer_t *timer) {
  (void)timer;
  if (++ticks == READY_TICKS) {
    printf("ready pid=%d\n", (int)getpid());
    fflush(stdout);
  }
}

int main(void) {
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  if (uv_timer_start(&timer, kill_tick, 5, 5) != 0) return 1; /* LS-SITE: tick */
  uv_run(&loop, UV_RUN_DEFAULT);
  return 1; /* not reached: the timer never stops */
}
