/* A libuv program whose libuv is linked in statically (Debian's libuv_a.a), as official Node.js builds
 * embed it: the shim's libuv hooks never see its uv_* calls, so no adapter site and no "libuv" loop can
 * appear; what remains is the generic poll loop (libuv's own epoll_wait call site) and loop-stall.
 * A 5 ms repeating timer ticks TICKS times; on tick SPIN_TICK the callback calls spin_in_static_libuv,
 * which runs about 500 ms of its own CPU time (5x the default stall_ms) in its own instructions, so
 * the sampled top frame is that function. The earlier ticks make the poll site a loop (the shim
 * wants a few polls in a row from one site) before the stall happens.
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
#define SPIN_MS 500

static int ticks;
volatile unsigned long spin_sink;

/* The spin is a fixed amount of plain arithmetic, no clock read inside it, so nearly every sample
 * lands in its own frame (a clock read is a syscall where a preempted thread resumes, and gathers
 * samples on a loaded machine). Its length is calibrated in the thread's CPU time before the loop
 * starts: however loaded the machine, the stall is SPIN_MS of the code's own work, never a
 * preempted thread's, and lasts at least about that long. */
#define CHUNK 100000UL
#define CALIBRATE_MS 50
static unsigned long chunks_per_calibration;

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) void spin_in_static_libuv(unsigned long chunks) {
  for (unsigned long c = 0; c < chunks; c++)
    for (unsigned long i = 0; i < CHUNK; i++) spin_sink += i; /* LS-SITE: spin */
}

/* How many chunks take CALIBRATE_MS of CPU time (before any loop: not a stall). */
static void calibrate(void) {
  uint64_t start = thread_cpu_ns();
  while (thread_cpu_ns() - start < CALIBRATE_MS * 1000000u) {
    spin_in_static_libuv(1);
    chunks_per_calibration++;
  }
}

static void on_tick(uv_timer_t *timer) {
  unsigned long chunks = chunks_per_calibration * SPIN_MS / CALIBRATE_MS;
  if (++ticks == SPIN_TICK) spin_in_static_libuv(chunks); /* LS-SITE: spin call */
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
  calibrate();
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
