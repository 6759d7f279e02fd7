/* loop-reentry, clean: a timer callback of loop A runs a *different* loop, B, with uv_run(NOWAIT):
 * nested loops are fine as long as each runs once at a time. B's timer fires inside that nested run.
 * loopscope must report nothing. Prints "a=N b=M". */
#include <stdio.h>
#include <uv.h>

static uv_loop_t loop_a, loop_b;
static int ticks_a, ticks_b;

static void on_b(uv_timer_t *t) {
  ticks_b++;
  uv_close((uv_handle_t *)t, NULL);
}

static void on_a(uv_timer_t *t) {
  ticks_a++;
  uv_close((uv_handle_t *)t, NULL);
  uv_run(&loop_b, UV_RUN_NOWAIT); /* LS-SITE: other_loop */
}

int main(void) {
  uv_timer_t ta, tb;
  if (uv_loop_init(&loop_a) != 0 || uv_loop_init(&loop_b) != 0) return 1;
  uv_timer_init(&loop_a, &ta);
  uv_timer_init(&loop_b, &tb);
  uv_timer_start(&tb, on_b, 0, 0);
  uv_timer_start(&ta, on_a, 1, 0);
  uv_run(&loop_a, UV_RUN_DEFAULT);
  uv_run(&loop_b, UV_RUN_DEFAULT); /* B's close callback, if the nested run left it pending */
  if (uv_loop_close(&loop_a) != 0 || uv_loop_close(&loop_b) != 0) return 1;
  printf("a=%d b=%d\n", ticks_a, ticks_b);
  return ticks_a == 1 && ticks_b == 1 ? 0 : 1;
}
