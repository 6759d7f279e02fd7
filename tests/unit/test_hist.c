/* The log-linear histogram: bucket boundaries and width, and percentiles of random samples against a
 * direct sort. Samples come from a fixed-seed generator, so every run sees the same numbers. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_hist.h"

/* splitmix64: small, fixed, the same on every libc. */
static uint64_t rng_state;
static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static double rng_unit(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; } /* [0, 1) */

static void check_value(uint64_t v) {
  unsigned b = ls_hist_bucket(v);
  ck_assert_msg(b < LS_HIST_BUCKETS, "v=%llu -> bucket %u", (unsigned long long)v, b);
  uint64_t lo = ls_hist_bucket_low(b), hi = ls_hist_bucket_high(b);
  ck_assert_msg(lo <= v && v <= hi, "v=%llu in bucket %u [%llu, %llu]", (unsigned long long)v, b,
                (unsigned long long)lo, (unsigned long long)hi);
}

START_TEST(bucket_contains_value) {
  for (uint64_t v = 0; v < 200000; v++) check_value(v);
  for (unsigned s = 0; s < 64; s++) {
    uint64_t p = (uint64_t)1 << s;
    check_value(p);
    check_value(p - 1);
    check_value(p + 1);
  }
  check_value(UINT64_MAX);
  rng_state = 1;
  for (int i = 0; i < 200000; i++) check_value(rng_next() >> (rng_next() % 64));
}
END_TEST

START_TEST(bucket_monotonic) {
  unsigned prev = 0;
  for (uint64_t v = 0; v < 200000; v++) {
    unsigned b = ls_hist_bucket(v);
    ck_assert_msg(b >= prev, "bucket(%llu)=%u < bucket(%llu)=%u", (unsigned long long)v, b,
                  (unsigned long long)(v - 1), prev);
    ck_assert_msg(b <= prev + 1, "bucket skipped at %llu", (unsigned long long)v);
    prev = b;
  }
  /* sparse: geometric steps up to the top */
  prev = 0;
  for (double x = 1; x < 1.8e19; x *= 1.01) {
    uint64_t v = (uint64_t)x;
    unsigned b = ls_hist_bucket(v);
    ck_assert_msg(b >= prev, "bucket(%llu)=%u decreased from %u", (unsigned long long)v, b, prev);
    prev = b;
  }
  ck_assert_uint_eq(ls_hist_bucket(UINT64_MAX), LS_HIST_BUCKETS - 1);
  ck_assert_uint_eq(ls_hist_bucket((uint64_t)1 << LS_HIST_MAX_LOG2), LS_HIST_BUCKETS - 1);
  ck_assert_uint_eq(ls_hist_bucket(((uint64_t)1 << LS_HIST_MAX_LOG2) - 1), LS_HIST_BUCKETS - 2);
}
END_TEST

/* Buckets tile the range without gaps or overlaps; each is at most 12.5% of its low bound wide. */
START_TEST(bucket_bounds_and_width) {
  for (unsigned b = 0; b < LS_HIST_BUCKETS; b++) {
    uint64_t lo = ls_hist_bucket_low(b), hi = ls_hist_bucket_high(b);
    ck_assert_msg(lo <= hi, "bucket %u: [%llu, %llu]", b, (unsigned long long)lo, (unsigned long long)hi);
    ck_assert_uint_eq(ls_hist_bucket(lo), b);
    ck_assert_uint_eq(ls_hist_bucket(hi), b);
    if (b == 0) ck_assert_uint_eq(lo, 0);
    if (b + 1 < LS_HIST_BUCKETS) ck_assert_uint_eq(ls_hist_bucket_low(b + 1), hi + 1);
    if (b < LS_HIST_LINEAR) {
      ck_assert_uint_eq(lo, b);
      ck_assert_uint_eq(hi, b);
    } else if (b < LS_HIST_BUCKETS - 1) {
      uint64_t width = hi - lo + 1;
      ck_assert_msg(width * 8 <= lo, "bucket %u: width %llu > 12.5%% of %llu", b, (unsigned long long)width,
                    (unsigned long long)lo);
    } else {
      ck_assert_uint_eq(hi, UINT64_MAX);
    }
  }
}
END_TEST

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

enum dist { UNIFORM, EXPONENTIAL, BIMODAL };

static uint64_t sample(enum dist d) {
  switch (d) {
  case UNIFORM: return 1000 + rng_next() % 1000000000; /* 1 us .. 1 s */
  case EXPONENTIAL: return (uint64_t)(-log(1.0 - rng_unit()) * 5e6) + 1; /* mean 5 ms */
  case BIMODAL:
    if (rng_unit() < 0.9) return 800000 + rng_next() % 400000; /* ~1 ms */
    return 180000000 + rng_next() % 40000000;                  /* ~200 ms */
  }
  return 0;
}

static void check_percentiles(enum dist d, uint64_t seed, size_t n) {
  static uint64_t samples[100000];
  uint64_t counts[LS_HIST_BUCKETS] = {0};
  uint64_t max = 0;
  ck_assert_uint_le(n, sizeof(samples) / sizeof(samples[0]));
  rng_state = seed;
  for (size_t i = 0; i < n; i++) {
    samples[i] = sample(d);
    counts[ls_hist_bucket(samples[i])]++;
    if (samples[i] > max) max = samples[i];
  }
  qsort(samples, n, sizeof(samples[0]), cmp_u64);
  static const double qs[] = {0.5, 0.9, 0.99, 0.999, 0.0, 1.0};
  for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
    double q = qs[k];
    size_t rank = (size_t)ceil(q * (double)n); /* 1-based, as ls_hist_quantile counts */
    if (rank == 0) rank = 1;
    uint64_t exact = samples[rank - 1];
    unsigned b = ls_hist_bucket(exact);
    uint64_t width = ls_hist_bucket_high(b) - ls_hist_bucket_low(b) + 1;
    for (int clamp = 0; clamp < 2; clamp++) {
      uint64_t got = ls_hist_quantile(counts, LS_HIST_BUCKETS, q, clamp ? max : 0);
      uint64_t diff = got > exact ? got - exact : exact - got;
      ck_assert_msg(diff <= width, "dist %d seed %llu q=%.3f: histogram %llu, sorted %llu, bucket width %llu", d,
                    (unsigned long long)seed, q, (unsigned long long)got, (unsigned long long)exact,
                    (unsigned long long)width);
      if (clamp) ck_assert_uint_le(got, max);
    }
  }
}

START_TEST(percentiles_uniform) {
  check_percentiles(UNIFORM, 42, 100000);
  check_percentiles(UNIFORM, 7, 1000);
  check_percentiles(UNIFORM, 9, 3);
}
END_TEST

START_TEST(percentiles_exponential) {
  check_percentiles(EXPONENTIAL, 42, 100000);
  check_percentiles(EXPONENTIAL, 1234, 5000);
}
END_TEST

START_TEST(percentiles_bimodal) {
  check_percentiles(BIMODAL, 42, 100000);
  check_percentiles(BIMODAL, 99, 2000);
}
END_TEST

START_TEST(quantile_edges) {
  uint64_t counts[LS_HIST_BUCKETS] = {0};
  ck_assert_uint_eq(ls_hist_quantile(counts, LS_HIST_BUCKETS, 0.5, 0), 0); /* empty */
  ck_assert_uint_eq(ls_hist_quantile(counts, LS_HIST_BUCKETS, 0.5, 123), 0);
  /* one sample: every quantile is in its bucket, and clamped to the max seen */
  uint64_t v = 250000000; /* 250 ms */
  counts[ls_hist_bucket(v)] = 1;
  for (double q = 0; q <= 1.0; q += 0.125) {
    uint64_t got = ls_hist_quantile(counts, LS_HIST_BUCKETS, q, v);
    ck_assert_uint_le(got, v);
    ck_assert_uint_eq(ls_hist_bucket(got), ls_hist_bucket(v));
  }
  /* out-of-range q is clamped, not a crash */
  ck_assert_uint_eq(ls_hist_bucket(ls_hist_quantile(counts, LS_HIST_BUCKETS, -1, 0)), ls_hist_bucket(v));
  ck_assert_uint_eq(ls_hist_bucket(ls_hist_quantile(counts, LS_HIST_BUCKETS, 2, 0)), ls_hist_bucket(v));
  /* exact small values */
  memset(counts, 0, sizeof(counts));
  counts[3] = 10;
  counts[7] = 10;
  ck_assert_uint_eq(ls_hist_quantile(counts, LS_HIST_BUCKETS, 0.5, 0), 3);
  ck_assert_uint_eq(ls_hist_quantile(counts, LS_HIST_BUCKETS, 0.51, 0), 7);
  /* the open-ended last bucket is bounded by max_seen */
  memset(counts, 0, sizeof(counts));
  counts[LS_HIST_BUCKETS - 1] = 1;
  uint64_t got = ls_hist_quantile(counts, LS_HIST_BUCKETS, 0.99, 5000000000000ULL);
  ck_assert_uint_ge(got, (uint64_t)1 << LS_HIST_MAX_LOG2);
  ck_assert_uint_le(got, 5000000000000ULL);
}
END_TEST

static Suite *hist_suite(void) {
  Suite *s = suite_create("hist");
  TCase *tc = tcase_create("buckets");
  tcase_add_test(tc, bucket_contains_value);
  tcase_add_test(tc, bucket_monotonic);
  tcase_add_test(tc, bucket_bounds_and_width);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  tc = tcase_create("percentiles");
  tcase_add_test(tc, percentiles_uniform);
  tcase_add_test(tc, percentiles_exponential);
  tcase_add_test(tc, percentiles_bimodal);
  tcase_add_test(tc, quantile_edges);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(hist_suite());
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
