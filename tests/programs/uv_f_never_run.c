/* never-run trigger: queued work and an async uv_fs_stat are submitted, then main returns without
 * running the loop: after_never and on_stat_never never run ("coroutine was never awaited"). The work
 * function itself may or may not run on a pool thread before the process ends; that is not the point.
 * loopscope must report two never-run findings, one naming after_never at the "work" line and one
 * naming on_stat_never at the "stat" line. Prints "submitted=2". */
#include <stdio.h>
#include <uv.h>

static uv_loop_t loop;
static uv_work_t work;
static uv_fs_t stat_req;

static void do_work(uv_work_t *w) { (void)w; }

static void after_never(uv_work_t *w, int status) {
  (void)w;
  (void)status;
  printf("after_never ran\n");
}

static void on_stat_never(uv_fs_t *req) {
  printf("on_stat_never ran\n");
  uv_fs_req_cleanup(req);
}

int main(void) {
  if (uv_loop_init(&loop) != 0) return 1;
  if (uv_queue_work(&loop, &work, do_work, after_never) != 0) return 1; /* LS-SITE: work */
  if (uv_fs_stat(&loop, &stat_req, ".", on_stat_never) != 0) return 1; /* LS-SITE: stat */
  printf("submitted=2\n");
  return 0;
}
