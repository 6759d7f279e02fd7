/* unretrieved-error trigger: uv_write with a NULL callback on a pipe whose peer is already closed. The
 * write fails with UV_EPIPE (SIGPIPE is ignored) and libuv has nobody to tell ("Task exception was
 * never retrieved"). loopscope must report one unretrieved-error finding: call uv_write, a negative
 * status, at the marked line. Prints "write=RC" (uv_write itself returns 0: the error comes later). */
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t loop;
static uv_pipe_t pipe_h;
static uv_write_t write_req;

int main(void) {
  int sv[2];
  signal(SIGPIPE, SIG_IGN);
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_pipe_init(&loop, &pipe_h, 0);
  if (uv_pipe_open(&pipe_h, sv[0]) != 0) return 1;
  close(sv[1]);
  static char msg[] = "nobody reads this";
  uv_buf_t buf = uv_buf_init(msg, sizeof(msg) - 1);
  int rc = uv_write(&write_req, (uv_stream_t *)&pipe_h, &buf, 1, NULL); /* LS-SITE: write */
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&pipe_h, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("write=%d\n", rc);
  return 0;
}
