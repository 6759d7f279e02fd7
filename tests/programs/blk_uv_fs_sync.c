/* blocking-call, reported once: a synchronous uv_fs_fsync (NULL callback) in a timer callback. libuv
 * calls fsync() for it from inside the library; that fsync is libuv's own work, already reported by the
 * libuv adapter as the uv_fs_fsync call the program made. loopscope must report exactly one
 * blocking-call, call "uv_fs_fsync", not a second one for fsync. Prints "fsyncs=N". */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

static int fsyncs;
static int fd = -1;

static void on_tick(uv_timer_t *timer) {
  uv_fs_t req;
  if (write(fd, "x", 1) != 1) exit(1);
  if (uv_fs_fsync(timer->loop, &req, fd, NULL) != 0) exit(1); /* LS-SITE: uv_fs_fsync */
  uv_fs_req_cleanup(&req);
  fsyncs++;
  uv_close((uv_handle_t *)timer, NULL);
}

int main(void) {
  char path[] = "blk_uv_fs_sync.XXXXXX";
  fd = mkstemp(path);
  if (fd < 0) return 1;
  unlink(path);
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  if (uv_timer_start(&timer, on_tick, 1, 0) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  close(fd);
  printf("fsyncs=%d\n", fsyncs);
  return fsyncs == 1 ? 0 : 1;
}
