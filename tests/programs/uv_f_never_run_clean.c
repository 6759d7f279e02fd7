/* never-run, clean: the same two requests as uv_f_never_run, but the loop runs until both callbacks
 * have run, and is closed. loopscope must report nothing. Prints "after=N stat=M". */
#include <stdio.h>
#include <uv.h>

static uv_loop_t loop;
static uv_work_t work;
static uv_fs_t stat_req;
static int after_ran, stat_ran;

static void do_work(uv_work_t *w) { (void)w; }

static void after_done(uv_work_t *w, int status) {
  (void)w;
  (void)status;
  after_ran++;
}

static void on_stat(uv_fs_t *req) {
  stat_ran++;
  uv_fs_req_cleanup(req);
}

int main(void) {
  if (uv_loop_init(&loop) != 0) return 1;
  if (uv_queue_work(&loop, &work, do_work, after_done) != 0) return 1; /* LS-SITE: work */
  if (uv_fs_stat(&loop, &stat_req, ".", on_stat) != 0) return 1; /* LS-SITE: stat */
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("after=%d stat=%d\n", after_ran, stat_ran);
  return after_ran == 1 && stat_ran == 1 ? 0 : 1;
}
