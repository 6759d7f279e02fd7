/* Two loop threads end the process at the same moment, as a server ending each loop thread with
 * _exit(0) does: each runs its own libuv loop with a repeating timer, and the timer callback's
 * 20th call waits at a barrier and calls _exit(0). Each loop also has 100 timers it never starts. The barrier spins, so both leave it at once when
 * they run on two CPUs (a sleeping barrier wakes the second one tens of microseconds late). Whichever
 * is first, the process exits 0; a report of it must still be whole: the loops' data, the exit record
 * and the trailer written before either _exit ends the process.
 * Prints "ready" before the race. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <uv.h>

#define RACERS 2
#define TICKS 20
#define IDLE_TIMERS 100 /* open at exit: the report lists each, so there is much to write at the end */

static int arrived;

static void tick(uv_timer_t *t) {
  int *ticks = t->data;
  if (++*ticks < TICKS) return;
  __atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < RACERS) {
  }
  _exit(0);
}

static void *racer(void *arg) {
  (void)arg;
  uv_loop_t loop;
  uv_timer_t timer, idle[IDLE_TIMERS];
  int ticks = 0;
  if (uv_loop_init(&loop) != 0) return NULL;
  for (int i = 0; i < IDLE_TIMERS; i++) uv_timer_init(&loop, &idle[i]);
  uv_timer_init(&loop, &timer);
  timer.data = &ticks;
  uv_timer_start(&timer, tick, 1, 1);
  uv_run(&loop, UV_RUN_DEFAULT);
  return NULL;
}

int main(void) {
  pthread_t t[RACERS];
  printf("ready\n");
  fflush(stdout);
  for (int i = 0; i < RACERS; i++)
    if (pthread_create(&t[i], NULL, racer, NULL) != 0) return 1;
  for (int i = 0; i < RACERS; i++) pthread_join(t[i], NULL);
  return 1; /* not reached: a racer ends the process */
}
