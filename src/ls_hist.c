#include "ls_hist.h"

#include <math.h>

uint64_t ls_hist_bucket_low(unsigned b) {
  if (b < LS_HIST_LINEAR) return b;
  if (b >= LS_HIST_BUCKETS - 1) return (uint64_t)1 << LS_HIST_MAX_LOG2;
  unsigned i = b - LS_HIST_LINEAR;
  unsigned lg = 4 + i / LS_HIST_SUB, sub = i % LS_HIST_SUB;
  return ((uint64_t)1 << lg) + ((uint64_t)sub << (lg - LS_HIST_SUB_BITS));
}

uint64_t ls_hist_bucket_high(unsigned b) {
  if (b >= LS_HIST_BUCKETS - 1) return UINT64_MAX;
  return ls_hist_bucket_low(b + 1) - 1;
}

uint64_t ls_hist_quantile(const uint64_t *counts, size_t n, double q, uint64_t max_seen) {
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) total += counts[i];
  if (total == 0) return 0;
  if (q < 0) q = 0;
  if (q > 1) q = 1;
  uint64_t rank = (uint64_t)ceil(q * (double)total);
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < n; i++) {
    seen += counts[i];
    if (seen >= rank) {
      uint64_t lo = ls_hist_bucket_low((unsigned)i), hi = ls_hist_bucket_high((unsigned)i);
      if (max_seen && hi > max_seen) hi = max_seen;
      if (hi < lo) return hi;
      return lo + (hi - lo) / 2;
    }
  }
  return max_seen;
}
