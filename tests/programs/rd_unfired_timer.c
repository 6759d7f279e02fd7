/* Two timer sites: `fires` runs three times; `never` is armed for an hour and closed when the program
 * ends, so its site is registered but never runs. No finding: a timer that was stopped is fine.
 * Prints "fired=3". */
#include <stdio.h>
#include <uv.h>

static int fired;
static uv_timer_t never_timer;

static void on_fire(uv_timer_t *t) {
  if (++fired == 3) {
    uv_close((uv_handle_t *)t, NULL);
    uv_close((uv_handle_t *)&never_timer, NULL);
  }
}

static void on_never(uv_timer_t *t) { (void)t; }

int main(void) {
  uv_loop_t loop;
  uv_timer_t fire_timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &fire_timer);
  uv_timer_init(&loop, &never_timer);
  if (uv_timer_start(&fire_timer, on_fire, 1, 1) != 0) return 1;          /* LS-SITE: fires */
  if (uv_timer_start(&never_timer, on_never, 3600000, 0) != 0) return 1;  /* LS-SITE: never */
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("fired=%d\n", fired);
  return 0;
}
