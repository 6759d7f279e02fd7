/* unretrieved-error, clean: uv_write with a NULL callback that succeeds (the peer is open and reads
 * the bytes). A NULL callback is legal; only a failure nobody sees is a finding. loopscope must
 * report nothing. Prints "write=RC read=N". */
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
  static char msg[] = "somebody reads this";
  uv_buf_t buf = uv_buf_init(msg, sizeof(msg) - 1);
  int rc = uv_write(&write_req, (uv_stream_t *)&pipe_h, &buf, 1, NULL); /* LS-SITE: write */
  uv_run(&loop, UV_RUN_DEFAULT);
  char got[64];
  ssize_t n = read(sv[1], got, sizeof(got));
  uv_close((uv_handle_t *)&pipe_h, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  close(sv[1]);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("write=%d read=%zd\n", rc, n);
  return rc == 0 && n == (ssize_t)(sizeof(msg) - 1) ? 0 : 1;
}
