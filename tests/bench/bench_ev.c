/* The libevent benchmark's child: dispatches many callbacks of persistent events activated with
 * event_active, and prints what each costs. bench_ev_driver runs it plain and under the shim.
 *
 *   self    one persistent event whose callback activates it again, SELF_CBS times: libevent keeps
 *           dispatching from its active queue without polling, RUN callbacks per event_base_loop call.
 *           Per callback: one event_active and one dispatch, the whole loop timed.
 *   batch   BATCH persistent events, each activated by main (event_active, timed on its own), then one
 *           event_base_loop(EVLOOP_NONBLOCK) dispatches them all (timed on its own), until BATCH_CBS
 *           callbacks ran.
 *
 * Output, one "key value" per line on stdout: self_callbacks N, self_ns P (per callback),
 * batch_callbacks N, dispatch_ns P (per callback), activate_ns P (per event_active call), batch N.
 * The callbacks are bench_on_self and bench_on_batch: the driver finds their sites by name.
 * Usage: bench_ev [SELF_CBS [BATCH_CBS [BATCH]]]; defaults 10M, 10M, 1000. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#define RUN 1000

static uint64_t self_calls, self_target, batch_calls;
static struct event *self_ev;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Not static, not inlined: the report names them, and the driver looks for these names. */
__attribute__((noinline)) void bench_on_self(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  /* a run of RUN callbacks per loop call: iterations stay short (a stall watchdog has nothing to see) */
  if (++self_calls < self_target && self_calls % RUN != 0) event_active(self_ev, EV_TIMEOUT, 1);
}

__attribute__((noinline)) void bench_on_batch(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  batch_calls++;
}

static uint64_t parse_count(const char *s) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v == 0) {
    fprintf(stderr, "bench_ev: bad count '%s': expected a positive whole number\n", s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  self_target = argc > 1 ? parse_count(argv[1]) : 10000000;
  uint64_t batch_target = argc > 2 ? parse_count(argv[2]) : 10000000;
  uint64_t batch = argc > 3 ? parse_count(argv[3]) : 1000;
  struct event_base *base = event_base_new();
  struct event **evs = calloc(batch, sizeof(*evs));
  if (!base || !evs) return 2;

  self_ev = event_new(base, -1, EV_PERSIST, bench_on_self, NULL);
  if (!self_ev) return 2;
  uint64_t t0 = now_ns();
  while (self_calls < self_target) {
    event_active(self_ev, EV_TIMEOUT, 1);
    event_base_loop(base, EVLOOP_NONBLOCK);
  }
  uint64_t self_ns = now_ns() - t0;
  if (self_calls != self_target) {
    fprintf(stderr, "bench_ev: %llu self-activations ran, expected %llu\n", (unsigned long long)self_calls,
            (unsigned long long)self_target);
    return 2;
  }

  /* One registration line for every batch event: one site in the report. */
  for (uint64_t i = 0; i < batch; i++)
    if (!(evs[i] = event_new(base, -1, EV_PERSIST, bench_on_batch, NULL))) return 2;
  uint64_t activate_ns = 0, dispatch_ns = 0, activations = 0;
  while (batch_calls < batch_target) {
    uint64_t left = batch_target - batch_calls, n = left < batch ? left : batch, before = batch_calls;
    t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) event_active(evs[i], EV_TIMEOUT, 1);
    uint64_t t1 = now_ns();
    event_base_loop(base, EVLOOP_NONBLOCK);
    dispatch_ns += now_ns() - t1;
    activate_ns += t1 - t0;
    activations += n;
    if (batch_calls - before != n) {
      fprintf(stderr, "bench_ev: %llu events activated, %llu dispatched\n", (unsigned long long)n,
              (unsigned long long)(batch_calls - before));
      return 2;
    }
  }
  for (uint64_t i = 0; i < batch; i++) event_free(evs[i]);
  event_free(self_ev);
  event_base_free(base);
  free(evs);
  printf("batch %llu\n", (unsigned long long)batch);
  printf("self_callbacks %llu\nself_ns %.3f\n", (unsigned long long)self_calls, (double)self_ns / (double)self_calls);
  printf("batch_callbacks %llu\ndispatch_ns %.3f\nactivate_ns %.3f\n", (unsigned long long)batch_calls,
         (double)dispatch_ns / (double)batch_calls, (double)activate_ns / (double)activations);
  return 0;
}
