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

static inline void busy_wait_ms(uint64_t ms) {
  uint64_t until = now_ns() + ms * 1000000u;
  while (now_ns() < until) {
  }
}

#endif
