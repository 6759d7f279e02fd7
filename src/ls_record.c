#include "ls_record.h"

#include <errno.h>
#include <string.h>

static const char hexdig[] = "0123456789abcdef";

size_t ls_fmt_u(char *buf, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  return n;
}

static size_t fmt_x(char *buf, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = hexdig[v & 15];
    v >>= 4;
  } while (v);
  buf[0] = '0';
  buf[1] = 'x';
  for (size_t i = 0; i < n; i++) buf[2 + i] = tmp[n - 1 - i];
  return n + 2;
}

static void put(struct ls_rec *r, const char *s, size_t n) {
  if (r->overflow || r->len + n + 1 > r->cap) { /* +1 keeps room for the newline */
    r->overflow = true;
    return;
  }
  memcpy(r->buf + r->len, s, n);
  r->len += n;
}

static void put_key(struct ls_rec *r, const char *key) {
  put(r, " ", 1);
  put(r, key, strlen(key));
  put(r, "=", 1);
}

void ls_rec_begin(struct ls_rec *r, char *buf, size_t cap, char kind) {
  r->buf = buf;
  r->cap = cap;
  r->len = 0;
  r->overflow = false;
  put(r, &kind, 1);
}

void ls_rec_u(struct ls_rec *r, const char *key, uint64_t v) {
  char tmp[24];
  put_key(r, key);
  put(r, tmp, ls_fmt_u(tmp, v));
}

void ls_rec_i(struct ls_rec *r, const char *key, int64_t v) {
  char tmp[24];
  put_key(r, key);
  if (v < 0) put(r, "-", 1);
  put(r, tmp, ls_fmt_u(tmp, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v));
}

void ls_rec_x(struct ls_rec *r, const char *key, uint64_t v) {
  char tmp[24];
  put_key(r, key);
  put(r, tmp, fmt_x(tmp, v));
}

void ls_rec_sn(struct ls_rec *r, const char *key, const char *s, size_t n) {
  put_key(r, key);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == '%' || c >= 0x7f) {
      char e[3] = {'%', hexdig[c >> 4], hexdig[c & 15]};
      put(r, e, 3);
    } else {
      put(r, (const char *)&c, 1);
    }
  }
}

void ls_rec_s(struct ls_rec *r, const char *key, const char *s) { ls_rec_sn(r, key, s ? s : "", s ? strlen(s) : 0); }

void ls_rec_xs(struct ls_rec *r, const char *key, const uintptr_t *v, size_t n) {
  char tmp[24];
  put_key(r, key);
  for (size_t i = 0; i < n; i++) {
    if (i) put(r, ",", 1);
    put(r, tmp, fmt_x(tmp, v[i]));
  }
}

void ls_rec_hist(struct ls_rec *r, const char *key, const uint64_t *counts, size_t n) {
  char tmp[24];
  bool first = true;
  put_key(r, key);
  for (size_t i = 0; i < n; i++) {
    if (!counts[i]) continue;
    if (!first) put(r, ",", 1);
    first = false;
    put(r, tmp, ls_fmt_u(tmp, i));
    put(r, ":", 1);
    put(r, tmp, ls_fmt_u(tmp, counts[i]));
  }
}

long ls_rec_end(struct ls_rec *r) {
  if (r->overflow) return -ENOSPC;
  r->buf[r->len++] = '\n';
  return (long)r->len;
}

int ls_dec_u(const char *s, size_t n, uint64_t *out) {
  uint64_t v = 0;
  if (n == 0 || n > 20) return -EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -EINVAL;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return -EINVAL;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

int ls_dec_i(const char *s, size_t n, int64_t *out) {
  uint64_t v;
  bool neg = n > 0 && s[0] == '-';
  if (ls_dec_u(s + neg, n - neg, &v) < 0) return -EINVAL;
  if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) return -EINVAL;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int ls_dec_x(const char *s, size_t n, uint64_t *out) {
  uint64_t v = 0;
  if (n < 3 || n > 18 || s[0] != '0' || s[1] != 'x') return -EINVAL;
  for (size_t i = 2; i < n; i++) {
    int h = hexval(s[i]);
    if (h < 0) return -EINVAL;
    v = v << 4 | (unsigned)h;
  }
  *out = v;
  return 0;
}

int ls_dec_s(const char *s, size_t n, char *out, size_t *outlen) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c >= 0x7f) return -EINVAL;
    if (c == '%') {
      if (i + 2 >= n) return -EINVAL;
      int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
      if (hi < 0 || lo < 0) return -EINVAL;
      c = (unsigned char)(hi << 4 | lo);
      if (c == 0) return -EINVAL;
      i += 2;
    }
    out[o++] = (char)c;
  }
  out[o] = '\0';
  *outlen = o;
  return 0;
}
