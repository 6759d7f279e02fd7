/* Loops: which thread runs which loop, iterations and callbacks. A loop's counters are bumped only by
 * the thread running it; the flush thread reads them relaxed. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "shim.h"

#define MAX_LOOPS 1024

static struct ls_loop *loops[MAX_LOOPS];
static uint32_t nloops;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

struct ls_loop *ls_loop_get(const char *lib, const void *addr) {
  uint32_t n = __atomic_load_n(&nloops, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; i++)
    if (loops[i]->addr == addr && loops[i]->lib == lib) return loops[i];
  pthread_mutex_lock(&mu);
  struct ls_loop *l = NULL;
  for (uint32_t i = 0; i < nloops && !l; i++)
    if (loops[i]->addr == addr && loops[i]->lib == lib) l = loops[i];
  if (!l && nloops < MAX_LOOPS && (l = calloc(1, sizeof(*l))) != NULL) {
    l->id = nloops + 1;
    l->lib = lib;
    l->addr = addr;
    loops[nloops] = l;
    __atomic_store_n(&nloops, nloops + 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&mu);
  return l;
}

/* Caller holds the writer lock; async-signal-safe. */
void ls_loops_flush_locked(void) {
  char buf[256];
  uint32_t n = __atomic_load_n(&nloops, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; i++) {
    struct ls_loop *l = loops[i];
    uint64_t it = LS_RELAXED_LOAD(&l->iterations), cb = LS_RELAXED_LOAD(&l->callbacks);
    pid_t th = LS_RELAXED_LOAD(&l->thread);
    if (l->written && it == l->flushed_iterations && cb == l->flushed_callbacks) continue;
    struct ls_rec r;
    ls_rec_begin(&r, buf, sizeof(buf), 'L');
    ls_rec_u(&r, "id", l->id);
    ls_rec_s(&r, "lib", l->lib);
    ls_rec_x(&r, "addr", (uintptr_t)l->addr);
    ls_rec_u(&r, "thread", (uint64_t)th);
    ls_rec_u(&r, "iterations", it);
    ls_rec_u(&r, "callbacks", cb);
    if (ls_write_locked(&r) == 0) {
      l->flushed_iterations = it;
      l->flushed_callbacks = cb;
      l->written = true;
    }
  }
}

/* Child after fork: its report counts its own iterations only. */
void ls_loops_reset_counts(void) {
  for (uint32_t i = 0; i < nloops; i++) {
    struct ls_loop *l = loops[i];
    l->iterations = l->callbacks = l->flushed_iterations = l->flushed_callbacks = 0;
    l->written = false;
  }
}
