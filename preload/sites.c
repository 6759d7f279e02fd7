/* Callback sites (a callback function + where it was registered) and their aggregates.
 *
 * The callback path (ls_site_account) touches only this thread's own stats page: two clock reads, a
 * handful of relaxed stores, no locks, no malloc, no syscalls. The flush thread sums the per-thread
 * pages racily (relaxed loads of aligned words: a snapshot may be one callback behind, never torn). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "account.h"
#include "map.h"
#include "shim.h"

#define CHUNK_BITS LS_CHUNK_BITS
#define CHUNK (1u << CHUNK_BITS)
#define MAX_CHUNKS (LS_MAX_SITES / CHUNK)


static struct ls_site *chunks[MAX_CHUNKS];
static uint32_t nsites; /* ids 1..nsites are valid */
static struct ls_map site_map;
static struct ls_map bindings;
static struct ls_tstats *all_stats; /* every thread's, never freed: threads end, their counts stay */
static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t no_pending; /* where a thread's first pending histogram bump goes */

/* A NULL callback (a request we stand in for) is a site too; 0 is the map's empty key. */
static inline uintptr_t site_key(const void *cb) { return cb ? (uintptr_t)cb : 2; }

static struct ls_site *site_at(uint32_t id) { return &chunks[id >> CHUNK_BITS][id & (CHUNK - 1)]; }

static void write_site(uint32_t id) {
  struct ls_site *s = site_at(id);
  char buf[512];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'C');
  ls_rec_u(&r, "id", id);
  ls_rec_s(&r, "kind", s->kind);
  ls_rec_x(&r, "cb", (uintptr_t)s->cb);
  ls_rec_u(&r, "stack", s->stack);
  ls_write_locked(&r);
}

/* Under the writer lock: a new site id with its C record, or LS_SITE_NONE. */
static uint32_t site_alloc_locked(const char *kind, const void *cb, uint32_t stack) {
  if (nsites + 1 >= CHUNK * MAX_CHUNKS) return LS_SITE_NONE;
  uint32_t nid = nsites + 1;
  struct ls_site **c = &chunks[nid >> CHUNK_BITS];
  if (!*c) *c = calloc(CHUNK, sizeof(struct ls_site));
  if (!*c) return LS_SITE_NONE;
  struct ls_site *s = site_at(nid);
  s->kind = kind;
  s->cb = cb;
  s->stack = stack;
  __atomic_store_n(&nsites, nid, __ATOMIC_RELEASE);
  write_site(nid);
  return nid;
}

uint32_t ls_site_new_unkeyed(const char *kind, const void *cb, uint32_t stack) {
  ls_writer_lock();
  uint32_t id = site_alloc_locked(kind, cb, stack);
  ls_writer_unlock();
  return id;
}

static struct ls_map creation_map;

uint32_t ls_creation_stack(const void *tag, const void *caller) {
  uintptr_t v;
  if (ls_map_get(&creation_map, (uintptr_t)caller, (uintptr_t)tag, &v, NULL)) return (uint32_t)v;
  int saved_errno = errno;
  ls_tls.guard++;
  uint32_t stack = ls_stack_capture();
  ls_map_put(&creation_map, (uintptr_t)caller, (uintptr_t)tag, stack, 0);
  ls_tls.guard--;
  errno = saved_errno;
  return stack;
}

void ls_site_account_ns(uint32_t site, uint64_t ns) {
  struct ls_site_stats *st = ls_stats_for(site);
  if (!st) return;
  struct ls_tstats *ts = ls_tls.stats;
  LS_BUMP(ts->hist_pending, 1);
  LS_BUMP(&st->count, 1);
  LS_BUMP(&st->total_ns, ns);
  if (ns > st->max_ns) LS_RELAXED_STORE(&st->max_ns, ns);
  LS_RELAXED_STORE(&ts->hist_pending, &st->hist[ls_hist_bucket(ns)]);
}

static uint32_t site_create(const char *kind, const void *cb, const void *caller) {
  uintptr_t v;
  int saved_errno = errno; /* unwinding may touch errno; the program must not see it */
  ls_tls.guard++;
  uint32_t stack = ls_stack_capture(); /* outside the writer lock: it unwinds */
  ls_writer_lock();
  uint32_t id = LS_SITE_NONE;
  if (ls_map_get(&site_map, site_key(cb), (uintptr_t)caller, &v, NULL)) {
    id = (uint32_t)v; /* another thread made it meanwhile */
  } else {
    uint32_t nid = site_alloc_locked(kind, cb, stack);
    if (nid && ls_map_put(&site_map, site_key(cb), (uintptr_t)caller, nid, 0) == 0) id = nid;
  }
  ls_writer_unlock();
  ls_tls.guard--;
  errno = saved_errno;
  return id;
}

uint32_t ls_site_get(const char *kind, const void *cb, const void *caller) {
  uintptr_t v;
  if (LS_LIKELY(ls_map_get(&site_map, site_key(cb), (uintptr_t)caller, &v, NULL))) return (uint32_t)v;
  if (!ls_active) return LS_SITE_NONE;
  return site_create(kind, cb, caller);
}


void *ls_site_tramp(uint32_t site, void *(*take)(uint32_t site, void *cb)) {
  struct ls_site *s = site_at(site);
  void *t = __atomic_load_n(&s->tramp, __ATOMIC_ACQUIRE);
  if (LS_UNLIKELY(!t)) {
    void *mine = take(site, (void *)s->cb);
    if (!mine) mine = (void *)1;
    void *expected = NULL;
    /* Two threads registering a new site at once: one trampoline wins, the other slot is left idle. */
    t = __atomic_compare_exchange_n(&s->tramp, &expected, mine, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
            ? mine
            : expected;
  }
  return t == (void *)1 ? NULL : t;
}

/* ---- per-thread aggregates ---- */

struct ls_site_stats *ls_stats_page_new(uint32_t site) {
  struct ls_tstats *ts = ls_tls.stats;
  if (!ts) {
    ts = mmap(NULL, sizeof(*ts), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ts == MAP_FAILED) return NULL;
    ts->hist_pending = &no_pending;
    pthread_mutex_lock(&stats_mu);
    ts->next = all_stats;
    __atomic_store_n(&all_stats, ts, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&stats_mu);
    ls_tls.stats = ts;
  }
  struct ls_site_stats *p = mmap(NULL, LS_PAGE * sizeof(struct ls_site_stats), PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  __atomic_store_n(&ts->page[site >> LS_PAGE_BITS], p, __ATOMIC_RELEASE);
  return p + (site & (LS_PAGE - 1));
}




/* Sum of every thread's page for one site. */
static void sum_site(uint32_t id, struct ls_site_stats *out) {
  memset(out, 0, sizeof(*out));
  for (struct ls_tstats *ts = __atomic_load_n(&all_stats, __ATOMIC_ACQUIRE); ts; ts = ts->next) {
    struct ls_site_stats *p = __atomic_load_n(&ts->page[id >> LS_PAGE_BITS], __ATOMIC_ACQUIRE);
    if (!p) continue;
    p += id & (LS_PAGE - 1);
    uint64_t c = LS_RELAXED_LOAD(&p->count);
    if (!c) continue;
    out->count += c;
    out->total_ns += LS_RELAXED_LOAD(&p->total_ns);
    uint64_t mx = LS_RELAXED_LOAD(&p->max_ns);
    if (mx > out->max_ns) out->max_ns = mx;
    for (unsigned b = 0; b < LS_HIST_BUCKETS; b++) out->hist[b] += LS_RELAXED_LOAD(&p->hist[b]);
    /* The thread's last callback, counted in count but not yet in its bucket. */
    uint64_t *pend = LS_RELAXED_LOAD(&ts->hist_pending);
    if (pend >= p->hist && pend < p->hist + LS_HIST_BUCKETS) out->hist[pend - p->hist]++;
  }
}

/* Writes a G record for every site whose count moved since the last flush. Caller holds the writer
 * lock; async-signal-safe (the crash handler calls it). */
void ls_sites_flush_locked(void) {
  static struct ls_site_stats sum; /* only under the writer lock */
  char buf[LS_REC_MAX];
  uint32_t n = __atomic_load_n(&nsites, __ATOMIC_ACQUIRE);
  for (uint32_t id = 1; id <= n; id++) {
    struct ls_site *s = site_at(id);
    sum_site(id, &sum);
    if (sum.count == s->flushed_count) continue;
    struct ls_rec r;
    ls_rec_begin(&r, buf, sizeof(buf), 'G');
    ls_rec_u(&r, "site", id);
    ls_rec_u(&r, "count", sum.count);
    ls_rec_u(&r, "total_ns", sum.total_ns);
    ls_rec_u(&r, "max_ns", sum.max_ns);
    ls_rec_hist(&r, "hist", sum.hist, LS_HIST_BUCKETS);
    if (ls_write_locked(&r) == 0) s->flushed_count = sum.count;
  }
}

void ls_sites_rewrite_all(void) {
  ls_writer_lock();
  uint32_t n = nsites;
  for (uint32_t id = 1; id <= n; id++) {
    struct ls_site *s = site_at(id);
    write_site(id);
    s->flushed_count = 0;
    s->finding = 0;
    s->slow_count = s->slow_total = s->slow_max = 0;
  }
  ls_writer_unlock();
}

/* Child after fork: its report counts its own callbacks only. */
void ls_sites_reset_counts(void) {
  for (struct ls_tstats *ts = all_stats; ts; ts = ts->next) {
    ts->hist_pending = &no_pending;
    for (size_t i = 0; i < LS_MAX_PAGES; i++)
      if (ts->page[i]) memset(ts->page[i], 0, LS_PAGE * sizeof(struct ls_site_stats));
  }
}

/* Slow-callback bookkeeping, under the writer lock (see findings.c). */
struct ls_site *ls_site_ptr(uint32_t id) { return site_at(id); }

/* ---- bindings: which user callback a trampoline stands in for ---- */

void ls_bind(const void *obj, enum ls_slot slot, void *cb, uint32_t site) {
  uintptr_t c, s;
  /* A restart with the same callback from the same site (the common case) needs no lock. */
  if (ls_map_get(&bindings, (uintptr_t)obj, slot, &c, &s) && c == (uintptr_t)cb && s == site) return;
  ls_map_put(&bindings, (uintptr_t)obj, slot, (uintptr_t)cb, site);
}

bool ls_binding(const void *obj, enum ls_slot slot, void **cb, uint32_t *site) {
  uintptr_t c, s;
  if (!ls_map_get(&bindings, (uintptr_t)obj, slot, &c, &s)) return false;
  *cb = (void *)c;
  *site = (uint32_t)s;
  return true;
}

void ls_unbind(const void *obj, enum ls_slot slot) { ls_map_del(&bindings, (uintptr_t)obj, slot); }
