/* The callback path: what a trampoline does after the program's callback returns. Inline, so a
 * pooled trampoline is clock, call, clock and a few stores with no further call.
 *
 * Each thread adds into its own stats pages only (no locks, no atomics beyond relaxed loads and
 * stores of aligned words); the flush thread sums every thread's pages. */
#ifndef LS_ACCOUNT_H
#define LS_ACCOUNT_H

#include "shim.h"

#define LS_CHUNK_BITS 10
#define LS_MAX_SITES ((1u << LS_CHUNK_BITS) * 1024u)
#define LS_PAGE_BITS 4
#define LS_PAGE (1u << LS_PAGE_BITS)
#define LS_MAX_PAGES (LS_MAX_SITES / LS_PAGE)

struct ls_site_stats {
  uint64_t count, total_ns, max_ns;
  uint64_t hist[LS_HIST_BUCKETS];
};

struct ls_tstats {
  struct ls_tstats *next;
  /* The histogram bucket of this thread's previous callback, not yet counted. Bumping it one
   * callback late takes the bucket arithmetic off the path that waits for the second clock read:
   * ~8 ns of the ~30 ns budget on this machine. The flush adds it when it sums. */
  uint64_t *hist_pending;
  struct ls_site_stats *page[LS_MAX_PAGES];
};

/* First callback of a site's page on this thread: maps the page (and the thread's table). */
struct ls_site_stats *ls_stats_page_new(uint32_t site);

static inline struct ls_site_stats *ls_stats_for(uint32_t site) {
  struct ls_tstats *ts = ls_tls.stats;
  struct ls_site_stats *p;
  if (LS_LIKELY(ts && (p = ts->page[site >> LS_PAGE_BITS]) != NULL)) return p + (site & (LS_PAGE - 1));
  return ls_stats_page_new(site);
}

#define LS_BUMP(p, v) LS_RELAXED_STORE((p), LS_RELAXED_LOAD(p) + (v))

/* A trampoline's clock start: also tells the watchdog which site the loop is running (a stall sampled
 * now is this callback's). ls_site_account clears it. */
static inline uint64_t ls_cb_begin(uint32_t site) {
  struct ls_loop *l = ls_tls.loop;
  if (l) LS_RELAXED_STORE(&l->cur_site, site);
  return ls_now();
}

static inline void ls_site_account(uint32_t site, uint64_t t0) {
  uint64_t ns = ls_ticks_to_ns(ls_now() - t0);
  struct ls_site_stats *st = ls_stats_for(site);
  if (LS_LIKELY(st != NULL)) {
    struct ls_tstats *ts = ls_tls.stats;
    LS_BUMP(ts->hist_pending, 1);
    LS_BUMP(&st->count, 1);
    LS_BUMP(&st->total_ns, ns);
    if (ns > st->max_ns) LS_RELAXED_STORE(&st->max_ns, ns);
    LS_RELAXED_STORE(&ts->hist_pending, &st->hist[ls_hist_bucket(ns)]);
  }
  struct ls_loop *l = ls_tls.loop;
  if (l) {
    LS_RELAXED_STORE(&l->cur_site, 0);
    LS_BUMP(&l->callbacks, 1);
    LS_BUMP(&l->callback_ns, ns);
  }
  if (LS_UNLIKELY(ns >= ls_slow_ns)) ls_finding_slow_callback(site, ns);
}

#endif
