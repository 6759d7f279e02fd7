/* unclosed-resource trigger: a started timer is never closed; uv_loop_close returns UV_EBUSY and the
 * program gives the loop up and exits (asyncio's ResourceWarning "unclosed ..."). loopscope must report
 * one unclosed-resource finding, kind "uv timer", created at the marked uv_timer_init line.
 * Prints "close=RC" (UV_EBUSY, -16). */
#include <stdio.h>
#include <uv.h>

static uv_loop_t loop;
static uv_timer_t timer;

static void on_timer(uv_timer_t *t) { (void)t; }

int main(void) {
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer); /* LS-SITE: init */
  uv_timer_start(&timer, on_timer, 3600000, 0);
  int rc = uv_loop_close(&loop);
  printf("close=%d\n", rc);
  return rc == UV_EBUSY ? 0 : 1;
}
