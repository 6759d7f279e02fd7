/* loop-reentry trigger: a timer callback runs its own loop again with uv_run(UV_RUN_NOWAIT) -- libuv
 * lets it happen and nothing good comes of it ("This event loop is already running", asyncio says).
 * loopscope must report one loop-reentry finding: call uv_run at the marked line. Prints "ticks=N". */
#include <stdio.h>
#include <uv.h>

static int ticks;

static void on_tick(uv_timer_t *t) {
  ticks++;
  uv_close((uv_handle_t *)t, NULL);
  uv_run(t->loop, UV_RUN_NOWAIT); /* LS-SITE: reentry */
}

int main(void) {
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  uv_timer_start(&timer, on_tick, 1, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("ticks=%d\n", ticks);
  return ticks == 1 ? 0 : 1;
}
