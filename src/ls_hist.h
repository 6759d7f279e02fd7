/* Log-linear duration histogram: exact buckets below 16 ns, then 8 buckets per power of two (each at
 * most 12.5% wide), up to 2^40 ns (~18 minutes); everything longer lands in the last bucket.
 * The shim adds into it on the callback path, so ls_hist_bucket is branch-light and inline. */
#ifndef LS_HIST_H
#define LS_HIST_H

#include <stddef.h>
#include <stdint.h>

#define LS_HIST_SUB_BITS 3
#define LS_HIST_SUB (1u << LS_HIST_SUB_BITS)
#define LS_HIST_LINEAR 16u  /* values 0..15 have a bucket each */
#define LS_HIST_MAX_LOG2 40 /* values >= 2^40 share the last bucket */
#define LS_HIST_BUCKETS (LS_HIST_LINEAR + (LS_HIST_MAX_LOG2 - 4) * LS_HIST_SUB + 1)

static inline unsigned ls_hist_bucket(uint64_t v) {
  if (v < LS_HIST_LINEAR) return (unsigned)v;
  unsigned lg = 63u - (unsigned)__builtin_clzll(v); /* >= 4 */
  if (lg >= LS_HIST_MAX_LOG2) return LS_HIST_BUCKETS - 1;
  unsigned sub = (unsigned)(v >> (lg - LS_HIST_SUB_BITS)) & (LS_HIST_SUB - 1);
  return LS_HIST_LINEAR + (lg - 4) * LS_HIST_SUB + sub;
}

/* Smallest and largest value that fall into bucket b (inclusive). */
uint64_t ls_hist_bucket_low(unsigned b);
uint64_t ls_hist_bucket_high(unsigned b);

/* The value at quantile q (0..1) of a histogram of n buckets: the midpoint of the bucket that holds
 * the ceil(q*total)-th smallest sample, clamped to max_seen when given (non-zero). 0 when empty. */
uint64_t ls_hist_quantile(const uint64_t *counts, size_t n, double q, uint64_t max_seen);

#endif
