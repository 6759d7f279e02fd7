/* blocking-call, trigger: a libuv timer callback that sleeps (usleep) on every tick and fsyncs a
 * temporary file on every other tick, and a second callback that calls uv_sleep(), a libuv function
 * that blocks on the program's behalf. loopscope must report three blocking calls: "usleep" and
 * "fsync" with stack[0] at the marked lines, "nanosleep" (what uv_sleep calls) with the marked line
 * just under libuv's frame, each counted as often as the program made it.
 * Prints what it counted: "usleep=N fsync=M uv_sleep=K". */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#define TICKS 4

static int ticks, usleeps, fsyncs, uv_sleeps;
static int fd = -1;

static void on_tick(uv_timer_t *timer) {
  usleep(20000); /* LS-SITE: usleep */
  usleeps++;
  if (ticks % 2 == 0) {
    if (write(fd, "x", 1) != 1) exit(1);
    if (fsync(fd) != 0) exit(1); /* LS-SITE: fsync */
    fsyncs++;
  }
  if (++ticks == TICKS) uv_close((uv_handle_t *)timer, NULL);
}

static void on_once(uv_timer_t *timer) {
  uv_sleep(5); /* LS-SITE: uv_sleep */
  uv_sleeps++;
  uv_close((uv_handle_t *)timer, NULL);
}

int main(void) {
  char path[] = "blk_sleep.XXXXXX";
  fd = mkstemp(path);
  if (fd < 0) return 1;
  unlink(path);
  uv_loop_t loop;
  uv_timer_t timer, once;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  uv_timer_init(&loop, &once);
  if (uv_timer_start(&timer, on_tick, 1, 1) != 0) return 1;
  if (uv_timer_start(&once, on_once, 2, 0) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  close(fd);
  printf("usleep=%d fsync=%d uv_sleep=%d\n", usleeps, fsyncs, uv_sleeps);
  return usleeps == TICKS && fsyncs == TICKS / 2 && uv_sleeps == 1 ? 0 : 1;
}
