/* pool-wait, clean: a pool of four (UV_THREADPOOL_SIZE=4) and two works of 20 ms each: a thread is
 * free for each at once. loopscope must report nothing. Prints "works=N after=M". */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#include "busy.h"

#define WORKS 2
#define BUSY_MS 20

static atomic_int works_done;
static int after_ran;

static void quick_work(uv_work_t *w) {
  (void)w;
  busy_wait_ms(BUSY_MS);
  atomic_fetch_add(&works_done, 1);
}

static void after_work(uv_work_t *w, int status) {
  (void)w;
  (void)status;
  after_ran++;
}

int main(void) {
  static uv_loop_t loop;
  static uv_work_t work[WORKS];
  setenv("UV_THREADPOOL_SIZE", "4", 1);
  if (uv_loop_init(&loop) != 0) return 1;
  for (int i = 0; i < WORKS; i++)
    if (uv_queue_work(&loop, &work[i], quick_work, after_work) != 0) return 1; /* LS-SITE: queue */
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("works=%d after=%d\n", atomic_load(&works_done), after_ran);
  return atomic_load(&works_done) == WORKS && after_ran == WORKS ? 0 : 1;
}
