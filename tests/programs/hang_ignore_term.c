/* A hung job that ignores SIGTERM: `loopscope run --timeout --kill-after` must SIGKILL it after the
 * grace period and still exit 124 with the hang dump in the report. A libuv timer keeps its loop alive,
 * as in hang_loop. Prints "started" once the loop runs. */
#include <signal.h>
#include <stdio.h>
#include <uv.h>

static uv_timer_t tick;
static unsigned long ticks;

static void on_tick(uv_timer_t *t) {
  (void)t;
  if (ticks++ == 0) {
    printf("started\n");
    fflush(stdout);
  }
}

int main(void) {
  signal(SIGTERM, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  if (!loop) return 1;
  uv_timer_init(loop, &tick); /* LS-SITE: timer */
  uv_timer_start(&tick, on_tick, 10, 50);
  uv_run(loop, UV_RUN_DEFAULT); /* never returns */
  return 0;
}
