/* A hung job for `loopscope run --timeout`: a libuv program whose repeating timer (created at the
 * marked line) keeps its loop alive forever. Under --timeout the report must show the main thread
 * waiting in epoll_wait and the timer, with its creation line, as what kept it alive. SIGTERM ends it
 * (default action). Prints "started" once the loop runs. */
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
  uv_loop_t *loop = uv_default_loop();
  if (!loop) return 1;
  uv_timer_init(loop, &tick); /* LS-SITE: timer */
  uv_timer_start(&tick, on_tick, 10, 50);
  uv_run(loop, UV_RUN_DEFAULT); /* never returns */
  return 0;
}
