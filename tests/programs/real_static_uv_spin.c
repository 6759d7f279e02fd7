/* A libuv program whose libuv is linked in statically (Debian's libuv_a.a), as official Node.js builds
 * embed it: the shim's libuv hooks never see its uv_* calls, so no adapter site and no "libuv" loop can
 * appear; what remains is the generic poll loop (libuv's own epoll_wait call site) and loop-stall.
 * A 5 ms repeating timer ticks TICKS times; on tick SPIN_TICK the callback calls spin_in_static_libuv,
 * which runs 400 ms of its own CPU time (4x the default stall_ms) in its own instructions, not in
 * the clock read, so the sampled top frame is that function. The earlier ticks make the poll site a loop
 * (the shim wants a few polls in a row from one site) before the stall happens.
 * Prints "shared libuv: none" when no libuv shared object is mapped (the build is what the test relies
 * on), then "ticks=N". */
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define TICKS 20
#define SPIN_TICK 10
#define SPIN_MS 400

static int ticks;
volatile unsigned long spin_sink;

/* The spin is measured in the thread's own CPU time, not on the wall clock: however loaded the
 * machine, it has really run SPIN_MS on a CPU (and taken at least that long), so the stall is the
 * code's, never a preempted thread's. */
static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Long stretches of plain arithmetic between clock reads: nearly every sample lands in this frame. */
__attribute__((noinline)) void spin_in_static_libuv(uint64_t ms) {
  uint64_t until = thread_cpu_ns() + ms * 1000000u;
  while (thread_cpu_ns() < until)
    for (unsigned long i = 0; i < 200000; i++) spin_sink += i; /* LS-SITE: spin */
}

static void on_tick(uv_timer_t *timer) {
  if (++ticks == SPIN_TICK) spin_in_static_libuv(SPIN_MS); /* LS-SITE: spin call */
  if (ticks == TICKS) uv_close((uv_handle_t *)timer, NULL);
}

static int find_libuv(struct dl_phdr_info *info, size_t size, void *found) {
  (void)size;
  if (strstr(info->dlpi_name, "libuv")) *(int *)found = 1;
  return 0;
}

int main(void) {
  int shared = 0;
  dl_iterate_phdr(find_libuv, &shared);
  printf("shared libuv: %s\n", shared ? "mapped" : "none");
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  if (uv_timer_init(&loop, &timer) != 0) return 1;
  if (uv_timer_start(&timer, on_tick, 5, 5) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("ticks=%d\n", ticks);
  return ticks == TICKS ? 0 : 1;
}
