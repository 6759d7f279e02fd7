/* unclosed-resource, clean: the documented idiom. uv_loop_close returns UV_EBUSY because a timer is
 * still open; uv_walk closes every handle, uv_run lets the close callbacks run, and the second
 * uv_loop_close succeeds. The failed first close is not a finding. loopscope must report nothing.
 * Prints "first=RC second=RC". */
#include <stdio.h>
#include <uv.h>

static uv_loop_t loop;
static uv_timer_t timer;

static void on_timer(uv_timer_t *t) { (void)t; }

static void close_one(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

int main(void) {
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer); /* LS-SITE: init */
  uv_timer_start(&timer, on_timer, 3600000, 0);
  int first = uv_loop_close(&loop);
  uv_walk(&loop, close_one, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  int second = uv_loop_close(&loop);
  printf("first=%d second=%d\n", first, second);
  return first == UV_EBUSY && second == 0 ? 0 : 1;
}
