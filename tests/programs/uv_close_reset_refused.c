/* A close libuv refuses leaves the handle open: uv_tcp_close_reset on a tcp handle that was never
 * connected fails (UV_EBADF: no socket to set SO_LINGER on) and closes nothing. The handle is then
 * still open at exit on the default loop, and loopscope must list it as open, created at the "init"
 * line, not as closing. Prints "reset=RC" (UV_EBADF, -9). */
#include <stdio.h>
#include <uv.h>

static uv_tcp_t tcp;

static void on_close(uv_handle_t *h) { (void)h; }

int main(void) {
  uv_loop_t *loop = uv_default_loop();
  if (!loop) return 1;
  uv_tcp_init(loop, &tcp); /* LS-SITE: init */
  int rc = uv_tcp_close_reset(&tcp, on_close);
  printf("reset=%d\n", rc);
  return rc == UV_EBADF ? 0 : 1;
}
