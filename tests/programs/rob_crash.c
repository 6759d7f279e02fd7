/* A crash still leaves a complete report. One libuv timer callback (crash_tick) runs normally once,
 * then on its second call dereferences NULL: the process dies of SIGSEGV (no handler of its own).
 * Prints "ticks=1" (flushed) before the crash. */
#include <stdio.h>
#include <uv.h>

static int ticks;
static volatile int *volatile nowhere; /* NULL, and the compiler may not assume anything about it */

static void crash_tick(uv_timer_t *timer) {
  (void)timer;
  if (ticks == 1) {
    *nowhere = 42;
    return;
  }
  ticks++;
  printf("ticks=%d\n", ticks);
  fflush(stdout);
}

int main(void) {
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  if (uv_timer_start(&timer, crash_tick, 1, 1) != 0) return 1; /* LS-SITE: crash */
  uv_run(&loop, UV_RUN_DEFAULT);
  return 1; /* not reached */
}
