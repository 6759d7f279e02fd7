/* The benchmark's child: a libuv program that dispatches many callbacks and registers timers, and
 * prints what each costs. bench_driver runs it plain and under the shim and compares.
 *
 *   timers        BATCH timers started with timeout 0 all fire in one uv_run(UV_RUN_NOWAIT); the
 *                 program restarts them between runs (untimed) until TIMER_CBS callbacks ran.
 *                 Only the uv_run calls are timed: this is the dispatch path, including libuv's timer
 *                 heap (most of the plain cost: removing the minimum of a 1000-node heap is ~10
 *                 levels of pointer swaps) and one loop iteration per BATCH callbacks.
 *   idle          BATCH idle handles stay started; each uv_run(UV_RUN_NOWAIT) calls every one once,
 *                 until IDLE_CBS callbacks ran. The cheapest dispatch libuv has: a list walk.
 *   registration  uv_timer_start on one timer, from one line, with one callback, REGS times after a
 *                 first untimed call: every timed call is on a site the shim has already seen.
 *
 * Output, one "key value" per line on stdout (the driver parses it):
 *   timer_callbacks N, timer_ns P, idle_callbacks N, idle_ns P, registrations N, registration_ns P,
 *   callbacks N (the sum of both callback counts).
 * The callbacks are named bench_on_timer and bench_on_idle so the driver can find their sites in the
 * report by name. Usage: bench_uv [TIMER_CBS [IDLE_CBS [REGS [BATCH]]]]; defaults 10M, 10M, 10M, 1000.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

static uint64_t batch = 1000;
static uv_timer_t *timers;
static uv_idle_t *idles;
static uv_timer_t reg_timer;

/* What the program itself counted: the report must agree exactly. */
static uint64_t timer_calls, idle_calls;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Not static, not inlined: the report names them, and the driver looks for these names. */
__attribute__((noinline)) void bench_on_timer(uv_timer_t *t) {
  (void)t;
  timer_calls++;
}

__attribute__((noinline)) void bench_on_idle(uv_idle_t *h) {
  (void)h;
  idle_calls++;
}

/* Never fires: the registration timer is restarted long before its timeout and stopped at the end. */
__attribute__((noinline)) void bench_on_reg(uv_timer_t *t) { (void)t; }

static uint64_t parse_count(const char *s) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v == 0) {
    fprintf(stderr, "bench_uv: bad count '%s': expected a positive whole number\n", s);
    exit(2);
  }
  return v;
}

static void check(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "bench_uv: %s: %s\n", what, uv_strerror(rc));
    exit(2);
  }
}

static uint64_t bench_timers(uv_loop_t *loop, uint64_t target) {
  uint64_t ns = 0;
  for (uint64_t i = 0; i < batch; i++) check(uv_timer_init(loop, &timers[i]), "uv_timer_init");
  while (timer_calls < target) {
    uint64_t left = target - timer_calls;
    uint64_t n = left < batch ? left : batch;
    /* One registration line for all timers and rounds: one site in the report. */
    for (uint64_t i = 0; i < n; i++) check(uv_timer_start(&timers[i], bench_on_timer, 0, 0), "uv_timer_start");
    uint64_t before = timer_calls, t0 = now_ns();
    uv_run(loop, UV_RUN_NOWAIT);
    ns += now_ns() - t0;
    if (timer_calls - before != n) {
      fprintf(stderr, "bench_uv: %llu timers started with timeout 0, %llu fired in one iteration\n",
              (unsigned long long)n, (unsigned long long)(timer_calls - before));
      exit(2);
    }
  }
  return ns;
}

static uint64_t bench_idle(uv_loop_t *loop, uint64_t target) {
  uint64_t ns = 0;
  for (uint64_t i = 0; i < batch; i++) {
    check(uv_idle_init(loop, &idles[i]), "uv_idle_init");
    check(uv_idle_start(&idles[i], bench_on_idle), "uv_idle_start");
  }
  /* Every idle handle runs once per iteration. Stop the surplus in the last round so the count is
   * exactly the target. */
  while (idle_calls < target) {
    uint64_t left = target - idle_calls;
    if (left < batch)
      for (uint64_t i = left; i < batch; i++) uv_idle_stop(&idles[i]);
    uint64_t t0 = now_ns();
    uv_run(loop, UV_RUN_NOWAIT);
    ns += now_ns() - t0;
  }
  for (uint64_t i = 0; i < batch; i++) uv_idle_stop(&idles[i]);
  return ns;
}

static uint64_t bench_registration(uv_loop_t *loop, uint64_t regs) {
  uint64_t t0 = 0;
  check(uv_timer_init(loop, &reg_timer), "uv_timer_init");
  /* Iteration 0 is untimed: it makes the site known (the shim unwinds its stack once). */
  for (uint64_t i = 0; i <= regs; i++) {
    if (i == 1) t0 = now_ns();
    uv_timer_start(&reg_timer, bench_on_reg, 3600 * 1000, 0);
  }
  uint64_t ns = now_ns() - t0;
  uv_timer_stop(&reg_timer);
  return ns;
}

int main(int argc, char **argv) {
  uint64_t timer_target = argc > 1 ? parse_count(argv[1]) : 10000000;
  uint64_t idle_target = argc > 2 ? parse_count(argv[2]) : 10000000;
  uint64_t regs = argc > 3 ? parse_count(argv[3]) : 10000000;
  if (argc > 4) batch = parse_count(argv[4]);
  timers = calloc(batch, sizeof(*timers));
  idles = calloc(batch, sizeof(*idles));
  if (!timers || !idles) {
    fprintf(stderr, "bench_uv: out of memory for %llu handles\n", (unsigned long long)batch);
    return 2;
  }

  uv_loop_t loop;
  check(uv_loop_init(&loop), "uv_loop_init");

  uint64_t timer_ns = bench_timers(&loop, timer_target);
  uint64_t idle_ns = bench_idle(&loop, idle_target);
  uint64_t reg_ns = bench_registration(&loop, regs);

  for (uint64_t i = 0; i < batch; i++) uv_close((uv_handle_t *)&timers[i], NULL);
  for (uint64_t i = 0; i < batch; i++) uv_close((uv_handle_t *)&idles[i], NULL);
  uv_close((uv_handle_t *)&reg_timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  check(uv_loop_close(&loop), "uv_loop_close");
  free(timers);
  free(idles);

  printf("batch %llu\n", (unsigned long long)batch);
  printf("timer_callbacks %llu\n", (unsigned long long)timer_calls);
  printf("timer_ns %.3f\n", (double)timer_ns / (double)timer_calls);
  printf("idle_callbacks %llu\n", (unsigned long long)idle_calls);
  printf("idle_ns %.3f\n", (double)idle_ns / (double)idle_calls);
  printf("registrations %llu\n", (unsigned long long)regs);
  printf("registration_ns %.3f\n", (double)reg_ns / (double)regs);
  printf("callbacks %llu\n", (unsigned long long)(timer_calls + idle_calls));
  return 0;
}
