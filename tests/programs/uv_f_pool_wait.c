/* pool-wait trigger: a thread pool of one (UV_THREADPOOL_SIZE=1, set before the first libuv call) and
 * three queued works from one line, each busy-waiting 250 ms on the pool thread: the second waits
 * ~250 ms and the third ~500 ms for the pool (run_in_executor on a saturated executor). Time inside
 * slow_work is pool time, never a slow-callback. loopscope must report a pool-wait finding naming
 * slow_work at the marked line. Prints "works=N after=M". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#include "busy.h"

#define WORKS 3
#define BUSY_MS 250

static int works_done, after_ran; /* works_done: the one pool thread only, read after the loop */

static void slow_work(uv_work_t *w) {
  (void)w;
  busy_wait_ms(BUSY_MS);
  works_done++;
}

static void after_work(uv_work_t *w, int status) {
  (void)w;
  (void)status;
  after_ran++;
}

int main(void) {
  static uv_loop_t loop;
  static uv_work_t work[WORKS];
  setenv("UV_THREADPOOL_SIZE", "1", 1);
  if (uv_loop_init(&loop) != 0) return 1;
  for (int i = 0; i < WORKS; i++)
    if (uv_queue_work(&loop, &work[i], slow_work, after_work) != 0) return 1; /* LS-SITE: queue */
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("works=%d after=%d\n", works_done, after_ran);
  return works_done == WORKS && after_ran == WORKS ? 0 : 1;
}
