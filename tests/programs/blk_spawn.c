/* blocking-call, clean: a child started with uv_spawn and reaped by libuv, which calls waitpid inside
 * uv_run when SIGCHLD arrives. That waitpid is the loop library's own: loopscope must report nothing.
 * Prints "exited=N status=S". */
#include <stdio.h>
#include <uv.h>

static int exited;
static int64_t exit_status = -1;

static void child_exited(uv_process_t *p, int64_t status, int sig) {
  (void)sig;
  exited++;
  exit_status = status;
  uv_close((uv_handle_t *)p, NULL);
}

int main(void) {
  uv_loop_t loop;
  uv_process_t child;
  char *args[] = {"/bin/sh", "-c", "exit 3", NULL};
  uv_process_options_t o = {.exit_cb = child_exited, .file = args[0], .args = args};
  if (uv_loop_init(&loop) != 0) return 1;
  if (uv_spawn(&loop, &child, &o) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("exited=%d status=%lld\n", exited, (long long)exit_status);
  return exited == 1 && exit_status == 3 ? 0 : 1;
}
