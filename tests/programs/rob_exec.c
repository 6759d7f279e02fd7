/* exec: each process image gets its own report (same pid, the next sequence number). The first image
 * runs a fast timer (first_tick) FIRST_FIRES times, prints its count, then execl()s itself with
 * argv[1] = "second". The second image runs one slow timer callback (second_tick, 250 ms busy-wait)
 * once and exits 0.
 * Prints "first pid=P ticks=N", then "second pid=P ticks=1". */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "busy.h"

#define FIRST_FIRES 6

struct ticker {
  uint64_t busy_ms;
  int limit;
  int count;
};

static void tick(uv_timer_t *timer) {
  struct ticker *t = timer->data;
  busy_wait_ms(t->busy_ms);
  if (++t->count == t->limit) uv_close((uv_handle_t *)timer, NULL);
}

static void first_tick(uv_timer_t *timer) { tick(timer); }
static void second_tick(uv_timer_t *timer) { tick(timer); }

int main(int argc, char **argv) {
  int second = argc > 1 && strcmp(argv[1], "second") == 0;
  struct ticker t = {second ? 250 : 0, second ? 1 : FIRST_FIRES, 0};
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  timer.data = &t;
  if (second) {
    if (uv_timer_start(&timer, second_tick, 1, 0) != 0) return 1; /* LS-SITE: second */
  } else {
    if (uv_timer_start(&timer, first_tick, 1, 1) != 0) return 1; /* LS-SITE: first */
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("%s pid=%d ticks=%d\n", second ? "second" : "first", (int)getpid(), t.count);
  fflush(stdout);
  if (second) return t.count == 1 ? 0 : 1;
  if (t.count != FIRST_FIRES) return 1;
  execl("/proc/self/exe", argv[0], "second", (char *)NULL);
  perror("execl");
  return 1;
}
