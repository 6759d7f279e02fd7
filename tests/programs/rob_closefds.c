/* A program that closes "all" its fds before it starts its loop, as daemons do, in one of four ways
 * (argv[1]): "close" (close() on 3..1023 one by one), "close_range" (close_range(3, ~0U, 0)),
 * "closefrom" (closefrom(3)), "dup2" (/dev/null dup2()ed onto every fd 3..1023). Then one libuv timer
 * whose callback busy-waits 250 ms runs once. The report fd of loopscope must survive all four: the
 * report is complete and holds the slow callback.
 * Prints "mode=M ticks=N". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "busy.h"

#define LAST_FD 1023

static int ticks;

static void slow_tick(uv_timer_t *timer) {
  busy_wait_ms(250);
  ticks++;
  uv_close((uv_handle_t *)timer, NULL);
}

static int close_all(const char *mode) {
  if (strcmp(mode, "close") == 0) {
    for (int fd = 3; fd <= LAST_FD; fd++) close(fd);
    return 0;
  }
  if (strcmp(mode, "close_range") == 0) return close_range(3, ~0U, 0);
  if (strcmp(mode, "closefrom") == 0) {
    closefrom(3);
    return 0;
  }
  if (strcmp(mode, "dup2") == 0) {
    int null = open("/dev/null", O_RDWR);
    if (null < 0) return -1;
    for (int fd = 3; fd <= LAST_FD; fd++)
      if (fd != null && dup2(null, fd) != fd) return -1;
    return 0;
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 2 || close_all(argv[1]) != 0) {
    fprintf(stderr, "usage: rob_closefds close|close_range|closefrom|dup2\n");
    return 2;
  }
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  if (uv_timer_start(&timer, slow_tick, 1, 0) != 0) return 1; /* LS-SITE: slow */
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("mode=%s ticks=%d\n", argv[1], ticks);
  return ticks == 1 ? 0 : 1;
}
