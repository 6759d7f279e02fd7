/* The record encoder and decoder: round trips of every value type, escaping of every byte value in
 * strings, and overflow that never leaves a partial line. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_hist.h"
#include "ls_record.h"

/* Finds " key=" in a finished line and returns the value's span (up to the next space or newline). */
static const char *value_of(const char *line, size_t len, const char *key, size_t *vlen) {
  char pat[64];
  int pl = snprintf(pat, sizeof(pat), " %s=", key);
  for (size_t i = 0; i + (size_t)pl <= len; i++) {
    if (memcmp(line + i, pat, (size_t)pl) == 0) {
      const char *v = line + i + pl;
      size_t n = 0;
      while (v + n < line + len && v[n] != ' ' && v[n] != '\n') n++;
      *vlen = n;
      return v;
    }
  }
  ck_abort_msg("key %s not in record %.*s", key, (int)len, line);
  return NULL;
}

/* Every finished record: KIND, fields of printable ASCII separated by single spaces, one newline at the end. */
static void assert_well_formed(const char *buf, long len) {
  ck_assert_int_gt(len, 1);
  ck_assert_msg(buf[0] >= 'A' && buf[0] <= 'Z', "kind byte 0x%02x", (unsigned char)buf[0]);
  ck_assert_msg(buf[len - 1] == '\n', "record does not end with a newline");
  for (long i = 1; i < len - 1; i++) {
    unsigned char c = (unsigned char)buf[i];
    ck_assert_msg(c == ' ' || (c > 0x20 && c < 0x7f), "byte 0x%02x at %ld", c, i);
  }
  ck_assert_ptr_null(memchr(buf, '\n', (size_t)len - 1));
}

START_TEST(unsigned_round_trip) {
  static const uint64_t vals[] = {0, 1, 9, 10, 99, 100, 4294967295u, 4294967296u, 1000000000000000000u,
                                  9999999999999999999u, UINT64_MAX - 1, UINT64_MAX};
  for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
    char buf[128];
    struct ls_rec r;
    ls_rec_begin(&r, buf, sizeof(buf), 'G');
    ls_rec_u(&r, "count", vals[i]);
    ls_rec_x(&r, "addr", vals[i]);
    long n = ls_rec_end(&r);
    assert_well_formed(buf, n);
    size_t vl;
    const char *v = value_of(buf, (size_t)n, "count", &vl);
    uint64_t out = 0;
    ck_assert_int_eq(ls_dec_u(v, vl, &out), 0);
    ck_assert_uint_eq(out, vals[i]);
    char expect[32];
    snprintf(expect, sizeof(expect), "%" PRIu64, vals[i]);
    ck_assert_uint_eq(vl, strlen(expect));
    ck_assert(memcmp(v, expect, vl) == 0);

    v = value_of(buf, (size_t)n, "addr", &vl);
    snprintf(expect, sizeof(expect), "0x%" PRIx64, vals[i]);
    ck_assert_uint_eq(vl, strlen(expect));
    ck_assert(memcmp(v, expect, vl) == 0);
    out = 1;
    ck_assert_int_eq(ls_dec_x(v, vl, &out), 0);
    ck_assert_uint_eq(out, vals[i]);
  }
}
END_TEST

START_TEST(signed_round_trip) {
  static const int64_t vals[] = {0, 1, -1, 3, -3, 125, -125, 2147483647, -2147483648LL, INT64_MAX, INT64_MIN,
                                 INT64_MIN + 1};
  for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
    char buf[64];
    struct ls_rec r;
    ls_rec_begin(&r, buf, sizeof(buf), 'X');
    ls_rec_s(&r, "how", "exit");
    ls_rec_i(&r, "status", vals[i]);
    long n = ls_rec_end(&r);
    assert_well_formed(buf, n);
    size_t vl;
    const char *v = value_of(buf, (size_t)n, "status", &vl);
    char expect[32];
    snprintf(expect, sizeof(expect), "%" PRId64, vals[i]);
    ck_assert_uint_eq(vl, strlen(expect));
    ck_assert(memcmp(v, expect, vl) == 0);
    int64_t out = 7;
    ck_assert_int_eq(ls_dec_i(v, vl, &out), 0);
    ck_assert_int_eq(out, vals[i]);
  }
}
END_TEST

START_TEST(fmt_u) {
  char buf[32];
  ck_assert_uint_eq(ls_fmt_u(buf, 0), 1);
  ck_assert(buf[0] == '0');
  ck_assert_uint_eq(ls_fmt_u(buf, UINT64_MAX), 20);
  ck_assert(memcmp(buf, "18446744073709551615", 20) == 0);
  ck_assert_uint_eq(ls_fmt_u(buf, 1234567), 7);
  ck_assert(memcmp(buf, "1234567", 7) == 0);
}
END_TEST

/* Each byte value 1..255 alone, at the start, middle and end of a string, round-trips and never appears raw
 * when it could break a record. */
START_TEST(string_every_byte) {
  for (int c = 1; c <= 255; c++) {
    char in[8];
    const char *forms[3];
    char alone[2] = {(char)c, 0};
    snprintf(in, sizeof(in), "a%cb", c);
    char tail[3] = {'z', (char)c, 0};
    forms[0] = alone;
    forms[1] = in;
    forms[2] = tail;
    for (int f = 0; f < 3; f++) {
      char buf[64];
      struct ls_rec r;
      ls_rec_begin(&r, buf, sizeof(buf), 'N');
      ls_rec_u(&r, "tid", 1);
      ls_rec_s(&r, "name", forms[f]);
      ls_rec_u(&r, "after", 2);
      long n = ls_rec_end(&r);
      assert_well_formed(buf, n);
      size_t vl;
      const char *v = value_of(buf, (size_t)n, "name", &vl);
      if (c <= 0x20 || c >= 0x7f) ck_assert_msg(memchr(v, c, vl) == NULL, "byte 0x%02x written raw", c);
      if (c <= 0x20 || c == '%' || c >= 0x7f) {
        char esc[4];
        snprintf(esc, sizeof(esc), "%%%02x", (unsigned)c);
        ck_assert_msg(memmem(v, vl, esc, 3) != NULL, "byte 0x%02x not written as %s", c, esc);
        ck_assert_uint_eq(vl, strlen(forms[f]) + 2); /* one byte became three */
      }
      char out[64];
      size_t olen = 99;
      ck_assert_int_eq(ls_dec_s(v, vl, out, &olen), 0);
      ck_assert_uint_eq(olen, strlen(forms[f]));
      ck_assert_msg(strcmp(out, forms[f]) == 0, "byte 0x%02x form %d: round trip gave '%s'", c, f, out);
      /* the next field is still where it belongs */
      uint64_t after = 0;
      v = value_of(buf, (size_t)n, "after", &vl);
      ck_assert_int_eq(ls_dec_u(v, vl, &after), 0);
      ck_assert_uint_eq(after, 2);
    }
  }
}
END_TEST

START_TEST(string_all_bytes_at_once) {
  char in[256];
  for (int c = 1; c <= 255; c++) in[c - 1] = (char)c;
  in[255] = 0;
  char buf[1024];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'A');
  ls_rec_u(&r, "i", 0);
  ls_rec_s(&r, "v", in);
  long n = ls_rec_end(&r);
  assert_well_formed(buf, n);
  size_t vl;
  const char *v = value_of(buf, (size_t)n, "v", &vl);
  char out[1024];
  size_t olen;
  ck_assert_int_eq(ls_dec_s(v, vl, out, &olen), 0);
  ck_assert_uint_eq(olen, 255);
  ck_assert(memcmp(out, in, 256) == 0);
  /* ls_rec_sn takes a length and stops there */
  ls_rec_begin(&r, buf, sizeof(buf), 'A');
  ls_rec_sn(&r, "v", "abc def", 3);
  n = ls_rec_end(&r);
  ck_assert_int_eq(n, 8);
  ck_assert(memcmp(buf, "A v=abc\n", 8) == 0);
}
END_TEST

START_TEST(string_empty_and_null) {
  char buf[64];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'N');
  ls_rec_s(&r, "a", "");
  ls_rec_s(&r, "b", NULL);
  long n = ls_rec_end(&r);
  ck_assert_int_eq(n, 8);
  buf[n] = 0;
  ck_assert_str_eq(buf, "N a= b=\n");
  char out[4];
  size_t olen = 9;
  ck_assert_int_eq(ls_dec_s("", 0, out, &olen), 0);
  ck_assert_uint_eq(olen, 0);
  ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(list_and_hist) {
  uintptr_t ips[] = {0x1, 0x7f00deadbeef, (uintptr_t)-1};
  uint64_t counts[LS_HIST_BUCKETS] = {0};
  counts[0] = 5;
  counts[17] = 1;
  counts[LS_HIST_BUCKETS - 1] = 12345678901ULL;
  char buf[512];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'S');
  ls_rec_u(&r, "id", 3);
  ls_rec_xs(&r, "ips", ips, 3);
  ls_rec_xs(&r, "none", ips, 0);
  ls_rec_hist(&r, "hist", counts, LS_HIST_BUCKETS);
  uint64_t zero[4] = {0};
  ls_rec_hist(&r, "empty", zero, 4);
  long n = ls_rec_end(&r);
  assert_well_formed(buf, n);
  buf[n] = 0;
  char expect[256];
  snprintf(expect, sizeof(expect),
           "S id=3 ips=0x1,0x7f00deadbeef,0x%" PRIxPTR " none= hist=0:5,17:1,%u:12345678901 empty=\n",
           (uintptr_t)-1, (unsigned)(LS_HIST_BUCKETS - 1));
  ck_assert_str_eq(buf, expect);
}
END_TEST

/* ---- decoders refuse what the encoder never writes ----------------------------------------------- */

START_TEST(decode_u_bad) {
  static const char *const bad[] = {"", "-1", "+1", "1a", "a1", " 1", "1 ", "0x1", "18446744073709551616",
                                    "99999999999999999999", "000000000000000000001" /* 21 digits */, "1.0"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint64_t out = 77;
    ck_assert_msg(ls_dec_u(bad[i], strlen(bad[i]), &out) == -EINVAL, "'%s' accepted", bad[i]);
    ck_assert_uint_eq(out, 77);
  }
  uint64_t out;
  ck_assert_int_eq(ls_dec_u("18446744073709551615", 20, &out), 0);
  ck_assert_uint_eq(out, UINT64_MAX);
  ck_assert_int_eq(ls_dec_u("123junk", 3, &out), 0); /* bounded by n */
  ck_assert_uint_eq(out, 123);
}
END_TEST

START_TEST(decode_i_bad) {
  static const char *const bad[] = {"", "-", "--1", "+1", "9223372036854775808", "-9223372036854775809", "1-",
                                    "0x1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int64_t out = 77;
    ck_assert_msg(ls_dec_i(bad[i], strlen(bad[i]), &out) == -EINVAL, "'%s' accepted", bad[i]);
    ck_assert_int_eq(out, 77);
  }
  int64_t out;
  ck_assert_int_eq(ls_dec_i("-9223372036854775808", 20, &out), 0);
  ck_assert_int_eq(out, INT64_MIN);
  ck_assert_int_eq(ls_dec_i("9223372036854775807", 19, &out), 0);
  ck_assert_int_eq(out, INT64_MAX);
}
END_TEST

START_TEST(decode_x_bad) {
  static const char *const bad[] = {"", "0", "0x", "x1", "1", "00x1", "0X1", "0xg", "0x1g", "0x 1",
                                    "0x10000000000000000" /* 17 digits */, "-0x1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint64_t out = 77;
    ck_assert_msg(ls_dec_x(bad[i], strlen(bad[i]), &out) == -EINVAL, "'%s' accepted", bad[i]);
    ck_assert_uint_eq(out, 77);
  }
  uint64_t out;
  ck_assert_int_eq(ls_dec_x("0xFFFFffffFFFFffff", 18, &out), 0);
  ck_assert_uint_eq(out, UINT64_MAX);
  ck_assert_int_eq(ls_dec_x("0x0000000000000001", 18, &out), 0);
  ck_assert_uint_eq(out, 1);
}
END_TEST

START_TEST(decode_s_bad) {
  static const char *const bad[] = {"%", "%4", "a%", "%00", "%zz", "%4g", "%g4", "a b", "a\nb", "a\tb"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char out[16];
    size_t olen;
    ck_assert_msg(ls_dec_s(bad[i], strlen(bad[i]), out, &olen) == -EINVAL, "'%s' accepted", bad[i]);
  }
  /* raw control and high bytes */
  for (int c = 1; c <= 255; c++) {
    if (c > 0x20 && c < 0x7f) continue;
    char in[3] = {'x', (char)c, 'y'};
    char out[8];
    size_t olen;
    ck_assert_msg(ls_dec_s(in, 3, out, &olen) == -EINVAL, "raw byte 0x%02x accepted", c);
  }
  char out[16];
  size_t olen;
  ck_assert_int_eq(ls_dec_s("%41%2a%2A%25", 12, out, &olen), 0);
  ck_assert_str_eq(out, "A**%");
  ck_assert_uint_eq(olen, 4);
  /* n bounds the read: "%4" cut from "%41" is an incomplete escape */
  ck_assert_int_eq(ls_dec_s("%41", 2, out, &olen), -EINVAL);
}
END_TEST

/* ---- overflow ------------------------------------------------------------------------------------ */

static long encode_full(char *buf, size_t cap) {
  static const uintptr_t ips[] = {0x5555deadbeef, 0x7fff00001234, 0x42};
  uint64_t counts[LS_HIST_BUCKETS] = {0};
  counts[3] = 9;
  counts[100] = 1;
  struct ls_rec r;
  ls_rec_begin(&r, buf, cap, 'F');
  ls_rec_u(&r, "id", 12);
  ls_rec_s(&r, "category", "slow-callback");
  ls_rec_i(&r, "delta", -42);
  ls_rec_x(&r, "cb", 0x5555deadbeef);
  ls_rec_xs(&r, "ips", ips, 3);
  ls_rec_hist(&r, "hist", counts, LS_HIST_BUCKETS);
  ls_rec_s(&r, "message", "Executing <uv timer on_tick (x.c:42)> took 0.250 seconds 100%");
  return ls_rec_end(&r);
}

START_TEST(overflow_never_partial) {
  char ref[512];
  long full = encode_full(ref, sizeof(ref));
  assert_well_formed(ref, full);
  for (size_t cap = 0; cap <= (size_t)full + 3; cap++) {
    char buf[600];
    memset(buf, '#', sizeof(buf));
    long n = encode_full(buf, cap);
    if (cap < (size_t)full) {
      ck_assert_msg(n == -ENOSPC, "cap %zu < %ld: returned %ld", cap, full, n);
      ck_assert_msg(memchr(buf, '\n', sizeof(buf)) == NULL, "cap %zu: a newline was written on overflow", cap);
    } else {
      ck_assert_msg(n == full, "cap %zu >= %ld: returned %ld", cap, full, n);
      ck_assert(memcmp(buf, ref, (size_t)full) == 0);
    }
    for (size_t k = cap; k < sizeof(buf); k++)
      ck_assert_msg(buf[k] == '#', "cap %zu: wrote byte %zu", cap, k);
  }
}
END_TEST

/* A string too long for the biggest record is refused whole; a record of exactly LS_REC_MAX fits. */
START_TEST(overflow_long_string) {
  static char buf[LS_REC_MAX];
  static char s[LS_REC_MAX];
  memset(s, 'a', sizeof(s) - 1);
  s[sizeof(s) - 1] = 0;
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'A');
  ls_rec_s(&r, "v", s);
  ck_assert_int_eq(ls_rec_end(&r), -ENOSPC);
  /* "A v=" + n + "\n" == LS_REC_MAX */
  size_t n = LS_REC_MAX - 5;
  ls_rec_begin(&r, buf, sizeof(buf), 'A');
  ls_rec_sn(&r, "v", s, n);
  ck_assert_int_eq(ls_rec_end(&r), LS_REC_MAX);
  ls_rec_begin(&r, buf, sizeof(buf), 'A');
  ls_rec_sn(&r, "v", s, n + 1);
  ck_assert_int_eq(ls_rec_end(&r), -ENOSPC);
  /* escapes count three bytes each */
  memset(s, ' ', n);
  ls_rec_begin(&r, buf, sizeof(buf), 'A');
  ls_rec_sn(&r, "v", s, n / 3 + 1);
  ck_assert_int_eq(ls_rec_end(&r), -ENOSPC);
  ls_rec_begin(&r, buf, sizeof(buf), 'A');
  ls_rec_sn(&r, "v", s, n / 3);
  ck_assert_int_eq(ls_rec_end(&r), (long)(5 + n / 3 * 3));
}
END_TEST

static Suite *record_suite(void) {
  Suite *s = suite_create("record");
  TCase *tc = tcase_create("encode");
  tcase_add_test(tc, unsigned_round_trip);
  tcase_add_test(tc, signed_round_trip);
  tcase_add_test(tc, fmt_u);
  tcase_add_test(tc, string_every_byte);
  tcase_add_test(tc, string_all_bytes_at_once);
  tcase_add_test(tc, string_empty_and_null);
  tcase_add_test(tc, list_and_hist);
  suite_add_tcase(s, tc);
  tc = tcase_create("decode");
  tcase_add_test(tc, decode_u_bad);
  tcase_add_test(tc, decode_i_bad);
  tcase_add_test(tc, decode_x_bad);
  tcase_add_test(tc, decode_s_bad);
  suite_add_tcase(s, tc);
  tc = tcase_create("overflow");
  tcase_add_test(tc, overflow_never_partial);
  tcase_add_test(tc, overflow_long_string);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(record_suite());
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
