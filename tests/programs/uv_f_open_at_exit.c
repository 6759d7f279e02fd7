/* Still open at exit: the default loop is never closed and a timer on it is still open when main
 * returns -- what a server does when it exits from a signal handler. This is LSan's "still reachable",
 * not a finding: loopscope must report nothing, and list the timer (created at the marked line) under
 * "still open at exit"; with report_open_at_exit=1 it is one unclosed-resource finding.
 * Prints "ran=N" (the loop ran once, without waiting). */
#include <stdio.h>
#include <uv.h>

static uv_timer_t timer;
static int ran;

static void on_timer(uv_timer_t *t) { (void)t; }

int main(void) {
  uv_loop_t *loop = uv_default_loop();
  if (!loop) return 1;
  uv_timer_init(loop, &timer); /* LS-SITE: init */
  uv_timer_start(&timer, on_timer, 3600000, 0);
  ran = uv_run(loop, UV_RUN_NOWAIT) != 0;
  printf("ran=%d\n", ran);
  return 0;
}
