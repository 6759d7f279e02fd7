/* Loops: which thread runs which loop, iterations, time polling versus in callbacks, the loop lag
 * (poll return -> next poll) and polls that took a second or more (a statistic, never a finding:
 * waiting is what loops do). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "shim.h"

#define MAX_LOOPS 1024
#define LONG_POLL_NS 1000000000ull

static struct ls_loop *loops[MAX_LOOPS];
static uint32_t nloops;
static struct ls_map by_addr;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

struct ls_loop *ls_loop_find_slow(const void *addr) {
  uintptr_t v;
  if (!ls_map_get(&by_addr, (uintptr_t)addr, 0, &v, NULL)) return NULL;
  ls_tls.found_addr = addr;
  ls_tls.found_loop = (struct ls_loop *)v;
  return ls_tls.found_loop;
}

/* Caller holds mu. */
static struct ls_loop *add_locked(const char *lib, const void *addr) {
  struct ls_loop *l = NULL;
  if (nloops < MAX_LOOPS && (l = calloc(1, sizeof(*l))) != NULL) {
    l->id = nloops + 1;
    l->lib = lib;
    l->addr = addr;
    loops[nloops] = l;
    __atomic_store_n(&nloops, nloops + 1, __ATOMIC_RELEASE);
  }
  return l;
}

struct ls_loop *ls_loop_get(const char *lib, const void *addr) {
  struct ls_loop *l = ls_loop_find(addr);
  if (LS_LIKELY(l != NULL)) return l;
  pthread_mutex_lock(&mu);
  l = ls_loop_find(addr);
  bool added = false;
  if (!l && (l = add_locked(lib, addr)) != NULL) {
    ls_map_put(&by_addr, (uintptr_t)addr, 0, (uintptr_t)l, 0);
    added = true;
  }
  pthread_mutex_unlock(&mu);
  if (added) ls_watchdog_arm();
  return l;
}

/* Generic loops (poll.c): one per thread, keyed by nothing (several threads may poll from one call
 * site, each its own loop). */
struct ls_loop *ls_loop_new(const char *lib, const void *addr) {
  pthread_mutex_lock(&mu);
  struct ls_loop *l = add_locked(lib, addr);
  pthread_mutex_unlock(&mu);
  if (l) ls_watchdog_arm();
  return l;
}

uint64_t ls_poll_enter(void) { return ls_poll_enter_loop(ls_tls.loop); }

uint64_t ls_poll_enter_loop(struct ls_loop *l) {
  if (!l || ls_tls.guard) return 0;
  uint64_t t = ls_now();
  if (l->last_poll_exit) {
    uint64_t *b = &l->lag_hist[ls_hist_bucket(ls_ticks_to_ns(t - l->last_poll_exit))];
    LS_RELAXED_STORE(b, *b + 1);
  }
  LS_RELAXED_STORE(&l->iterations, l->iterations + 1);
  LS_RELAXED_STORE(&l->last_poll_enter, t);
  __atomic_store_n(&l->in_poll, true, __ATOMIC_RELEASE);
  return t;
}

static void log_long_poll(int timeout_ms, uint64_t ns, int nevents) {
  /* asyncio 3.7: "poll %.3f ms took %.3f ms: %s events" */
  char line[160];
  size_t n = 0;
  const char *head = "loopscope: poll ";
  for (const char *p = head; *p; p++) line[n++] = *p;
  if (timeout_ms >= 0) {
    n += ls_fmt_u(line + n, (uint64_t)timeout_ms);
    const char *ms = ".000 ms ";
    for (const char *p = ms; *p; p++) line[n++] = *p;
  }
  const char *took = "took ";
  for (const char *p = took; *p; p++) line[n++] = *p;
  n += ls_fmt_u(line + n, ns / 1000000);
  line[n++] = '.';
  uint64_t frac = ns / 1000 % 1000;
  line[n++] = (char)('0' + frac / 100);
  line[n++] = (char)('0' + frac / 10 % 10);
  line[n++] = (char)('0' + frac % 10);
  const char *mid = " ms: ";
  for (const char *p = mid; *p; p++) line[n++] = *p;
  n += ls_fmt_u(line + n, nevents > 0 ? (uint64_t)nevents : 0);
  const char *tail = " events (loop on tid ";
  for (const char *p = tail; *p; p++) line[n++] = *p;
  n += ls_fmt_u(line + n, (uint64_t)ls_gettid());
  line[n++] = ')';
  line[n++] = '\n';
  ls_log_line(line, n);
}

void ls_poll_exit(uint64_t t0, int timeout_ms, int nevents) { ls_poll_exit_loop(ls_tls.loop, t0, timeout_ms, nevents); }

void ls_poll_exit_loop(struct ls_loop *l, uint64_t t0, int timeout_ms, int nevents) {
  if (!t0 || !l) return;
  uint64_t t1 = ls_now();
  uint64_t ns = ls_ticks_to_ns(t1 - t0);
  LS_RELAXED_STORE(&l->poll_ns, l->poll_ns + ns);
  LS_RELAXED_STORE(&l->last_poll_exit, t1);
  __atomic_store_n(&l->in_poll, false, __ATOMIC_RELEASE);
  if (LS_UNLIKELY(ns >= LONG_POLL_NS)) {
    LS_RELAXED_STORE(&l->long_polls, l->long_polls + 1);
    /* waiting is not a problem: a statistic for the report, live only when asked for (verbosity 2) */
    if (ls_opt.verbosity >= 2) log_long_poll(timeout_ms, ns, nevents);
  }
}

/* A loop found by its polls alone: no adapter sees its callbacks, and it has no close call. */
bool ls_loop_is_generic(const struct ls_loop *l) {
  return strcmp(l->lib, "epoll") == 0 || strcmp(l->lib, "poll") == 0 || strcmp(l->lib, "select") == 0;
}

/* Caller holds the writer lock; async-signal-safe. */
void ls_loops_flush_locked(void) {
  char buf[LS_REC_MAX];
  uint32_t n = __atomic_load_n(&nloops, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; i++) {
    struct ls_loop *l = loops[i];
    if (LS_RELAXED_LOAD(&l->provisional)) continue;
    uint64_t it = LS_RELAXED_LOAD(&l->iterations), cb = LS_RELAXED_LOAD(&l->callbacks);
    uint64_t ps = LS_RELAXED_LOAD(&l->preempted_stalls);
    bool closed = LS_RELAXED_LOAD(&l->closed); /* a close is news even when the counters did not move */
    if (l->written && it == l->flushed_iterations && cb == l->flushed_callbacks && ps == l->flushed_preempted &&
        closed == l->flushed_closed)
      continue;
    uint64_t lag[LS_HIST_BUCKETS];
    for (unsigned b = 0; b < LS_HIST_BUCKETS; b++) lag[b] = LS_RELAXED_LOAD(&l->lag_hist[b]);
    struct ls_rec r;
    ls_rec_begin(&r, buf, sizeof(buf), 'L');
    ls_rec_u(&r, "id", l->id);
    ls_rec_s(&r, "lib", l->lib);
    ls_rec_x(&r, "addr", (uintptr_t)l->addr);
    ls_rec_u(&r, "thread", (uint64_t)LS_RELAXED_LOAD(&l->thread));
    ls_rec_u(&r, "iterations", it);
    ls_rec_u(&r, "callbacks", cb);
    if (!ls_loop_is_generic(l)) ls_rec_u(&r, "callback_ns", LS_RELAXED_LOAD(&l->callback_ns)); /* seen by an adapter */
    ls_rec_u(&r, "poll_ns", LS_RELAXED_LOAD(&l->poll_ns));
    ls_rec_u(&r, "long_polls", LS_RELAXED_LOAD(&l->long_polls));
    if (strcmp(l->lib, "libuv") == 0 || strcmp(l->lib, "libevent") == 0) /* has a close (free) call */
      ls_rec_u(&r, "closed", closed);
    ls_rec_hist(&r, "lag", lag, LS_HIST_BUCKETS);
    ls_rec_u(&r, "file_io", LS_RELAXED_LOAD(&l->file_io));
    ls_rec_u(&r, "file_io_ns", LS_RELAXED_LOAD(&l->file_io_ns));
    ls_rec_u(&r, "preempted_stalls", LS_RELAXED_LOAD(&l->preempted_stalls));
    if (ls_write_locked(&r) == 0) {
      l->flushed_iterations = it;
      l->flushed_callbacks = cb;
      l->flushed_preempted = ps;
      l->flushed_closed = closed;
      l->written = true;
    }
  }
}

/* Every loop's L record goes out with the next flush (it ends a hang dump's H records). */
void ls_loops_mark_dirty(void) {
  uint32_t n = __atomic_load_n(&nloops, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; i++) loops[i]->written = false;
}

/* The flush thread compares it with what it wrote last (written belongs to the flush thread). */
void ls_loop_mark_closed(struct ls_loop *l) { LS_RELAXED_STORE(&l->closed, true); }

/* Child after fork: its report counts its own iterations only. */
void ls_loops_reset_counts(void) {
  for (uint32_t i = 0; i < nloops; i++) {
    struct ls_loop *l = loops[i];
    l->iterations = l->callbacks = l->callback_ns = l->poll_ns = l->long_polls = 0;
    l->file_io = l->file_io_ns = l->preempted_stalls = 0;
    l->flushed_iterations = l->flushed_callbacks = 0;
    l->last_poll_exit = l->last_poll_enter = 0;
    l->in_poll = false;
    l->cur_site = 0;
    l->blk_call = NULL;
    for (unsigned b = 0; b < LS_HIST_BUCKETS; b++) l->lag_hist[b] = 0;
    l->running = 0;
    l->written = false;
  }
  /* The forking thread's generic loop is the child's: it runs on the child's (new) tid. */
  if (ls_tls.gloop) ls_tls.gloop->thread = ls_tls.gloop->running = ls_gettid();
}

/* The loops, for the exit report (still open) and the adapters. */
uint32_t ls_loop_count(void) { return __atomic_load_n(&nloops, __ATOMIC_ACQUIRE); }
struct ls_loop *ls_loop_at(uint32_t i) { return loops[i]; }

/* ---- adapters' exit work ---- */

#define MAX_ADAPTERS 8
static const struct ls_adapter *adapters[MAX_ADAPTERS];
static uint32_t nadapters;

void ls_adapter_add(const struct ls_adapter *a) {
  uint32_t i = __atomic_fetch_add(&nadapters, 1, __ATOMIC_ACQ_REL);
  if (i < MAX_ADAPTERS) __atomic_store_n(&adapters[i], a, __ATOMIC_RELEASE);
}

void ls_adapters_finish(void) {
  for (uint32_t i = 0; i < MAX_ADAPTERS; i++) {
    const struct ls_adapter *a = __atomic_load_n(&adapters[i], __ATOMIC_ACQUIRE);
    if (a && a->finish) a->finish();
  }
}

void ls_adapters_dump_open(void) {
  for (uint32_t i = 0; i < MAX_ADAPTERS; i++) {
    const struct ls_adapter *a = __atomic_load_n(&adapters[i], __ATOMIC_ACQUIRE);
    if (a && a->dump_open) a->dump_open();
  }
}
