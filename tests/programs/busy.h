/* Busy-waiting for the test programs: a callback that must take a known time spins on the monotonic
 * clock instead of sleeping, because sleeping on a loop thread is a finding of its own
 * (blocking-call). A spin ends at the first clock read past the deadline, so it lasts at least ms. */
#ifndef LS_TEST_BUSY_H
#define LS_TEST_BUSY_H

#include <stdint.h>
#include <time.h>

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spins until this thread has used ms of CPU (not wall) time: a busy machine makes it take longer, never
 * use less. */
static inline void busy_cpu_ms(uint64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  uint64_t until = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + ms * 1000000u;
  for (;;) {
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    if ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec >= until) return;
  }
}

static inline void busy_wait_ms(uint64_t ms) {
  uint64_t until = now_ns() + ms * 1000000u;
  while (now_ns() < until) {
  }
}

#endif
