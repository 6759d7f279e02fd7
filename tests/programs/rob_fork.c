/* fork: each process gets its own report with its own counts. Before forking, the parent runs a fast
 * timer (before_tick) BEFORE_FIRES times; the child inherits those counts in memory and must not report
 * them. The child runs its own loop with one slow timer callback (child_tick, 250 ms busy-wait,
 * CHILD_FIRES times) and exits 0. The parent waits for it, then runs another fast timer (parent_tick)
 * PARENT_FIRES times.
 * The parent prints "parent=PID child=PID before=N after=M child_status=S"; the child prints
 * "child ticks=N". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "busy.h"

#define BEFORE_FIRES 4
#define CHILD_FIRES 2
#define PARENT_FIRES 5

struct ticker {
  uint64_t busy_ms;
  int limit;
  int count;
};

static void tick(uv_timer_t *timer) {
  struct ticker *t = timer->data;
  busy_wait_ms(t->busy_ms);
  if (++t->count == t->limit) uv_close((uv_handle_t *)timer, NULL);
}

/* Three callback functions so each process's sites are told apart by name. */
static void before_tick(uv_timer_t *timer) { tick(timer); }
static void child_tick(uv_timer_t *timer) { tick(timer); }
static void parent_tick(uv_timer_t *timer) { tick(timer); }

/* Runs one timer in a fresh loop until it has fired t->limit times. */
static int run_timer(uv_timer_cb cb, struct ticker *t, int which) {
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return -1;
  uv_timer_init(&loop, &timer);
  timer.data = t;
  int rc;
  switch (which) {
  case 0: rc = uv_timer_start(&timer, cb, 1, 1); break; /* LS-SITE: before */
  case 1: rc = uv_timer_start(&timer, cb, 1, 1); break; /* LS-SITE: child */
  default: rc = uv_timer_start(&timer, cb, 1, 1); break; /* LS-SITE: parent */
  }
  if (rc != 0) return -1;
  uv_run(&loop, UV_RUN_DEFAULT);
  return uv_loop_close(&loop);
}

int main(void) {
  struct ticker before = {0, BEFORE_FIRES, 0}, child = {250, CHILD_FIRES, 0}, after = {0, PARENT_FIRES, 0};
  if (run_timer(before_tick, &before, 0) != 0) return 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    if (run_timer(child_tick, &child, 1) != 0) exit(1);
    printf("child ticks=%d\n", child.count);
    exit(child.count == CHILD_FIRES ? 0 : 1);
  }
  int status = -1;
  if (waitpid(pid, &status, 0) != pid) return 1;
  if (run_timer(parent_tick, &after, 2) != 0) return 1;
  printf("parent=%d child=%d before=%d after=%d child_status=%d\n", (int)getpid(), (int)pid, before.count,
         after.count, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return before.count == BEFORE_FIRES && after.count == PARENT_FIRES && WIFEXITED(status) &&
                 WEXITSTATUS(status) == 0
             ? 0
             : 1;
}
