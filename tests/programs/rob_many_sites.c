/* More callback sites of one shape than the shim's trampoline pool holds (256 per shape): 300 distinct
 * timer callbacks (tick_000 .. tick_299), each registered once by its own uv_timer_start call (the
 * macros below expand to 300 separate call instructions; a loop would be one call site for all).
 * Sites past the pool go through the lookup-by-handle fallback, and must be counted just the same.
 * Each timer fires FIRES times; tick_299, registered last and so certainly past the pool, busy-waits
 * 250 ms on its first call. Prints "timers=300 fires=900" (what it counted). */
#include <stdio.h>
#include <time.h>
#include <uv.h>

#include "busy.h"

#define NTIMERS 300
#define FIRES 3

static uv_timer_t timers[NTIMERS];
static int counts[NTIMERS];
static int next; /* the timer the next registration uses */

static void tick(uv_timer_t *timer) {
  int *count = timer->data;
  if (count == &counts[NTIMERS - 1] && *count == 0) busy_wait_ms(250);
  if (++*count == FIRES) uv_timer_stop(timer);
}

/* Repeat M over decimal suffixes: T10(M, 12) is M(120) .. M(129). */
#define T9(M, p) M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) M(p##5) M(p##6) M(p##7) M(p##8)
#define T10(M, p) T9(M, p) M(p##9)
#define T100(M, p)                                                                                          \
  T10(M, p##0) T10(M, p##1) T10(M, p##2) T10(M, p##3) T10(M, p##4) T10(M, p##5) T10(M, p##6) T10(M, p##7)   \
  T10(M, p##8) T10(M, p##9)

#define DEFINE_TICK(n) \
  static void tick_##n(uv_timer_t *timer) { tick(timer); }
T100(DEFINE_TICK, 0)
T100(DEFINE_TICK, 1)
T100(DEFINE_TICK, 2)

/* One call instruction per expansion: a distinct site each. */
#define START(n)                                                                                            \
  if (uv_timer_start(&timers[next++], tick_##n, 1, 1) != 0) return -1;

static int start_all(void) {
  T100(START, 0)
  T100(START, 1)
  T10(START, 20) T10(START, 21) T10(START, 22) T10(START, 23) T10(START, 24)
  T10(START, 25) T10(START, 26) T10(START, 27) T10(START, 28) T9(START, 29)
  if (next != NTIMERS - 1) return -1;
  if (uv_timer_start(&timers[next++], tick_299, 1, 1) != 0) return -1; /* LS-SITE: last */
  return 0;
}

int main(void) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return 1;
  for (int i = 0; i < NTIMERS; i++) {
    uv_timer_init(&loop, &timers[i]);
    timers[i].data = &counts[i];
  }
  if (start_all() != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT); /* returns when every timer has stopped itself */
  for (int i = 0; i < NTIMERS; i++) uv_close((uv_handle_t *)&timers[i], NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  int fires = 0, exact = 1;
  for (int i = 0; i < NTIMERS; i++) {
    fires += counts[i];
    if (counts[i] != FIRES) exact = 0;
  }
  printf("timers=%d fires=%d\n", NTIMERS, fires);
  return exact ? 0 : 1;
}
