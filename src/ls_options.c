/* LOOPSCOPE_OPTIONS parsing from the one table in ls_options_def.h. */
#include "ls_options.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

const struct ls_option_desc ls_option_table[] = {
#define LS_OPT_ROW(key, flag, type, def, min, max, choices, help) \
  {#key, flag, type, def, min, max, choices, help, offsetof(struct ls_options, key)},
    LS_OPTIONS(LS_OPT_ROW)
#undef LS_OPT_ROW
};
const size_t ls_option_count = sizeof(ls_option_table) / sizeof(ls_option_table[0]);

static const struct ls_option_desc *find(const char *s, size_t len, int by_flag) {
  for (size_t i = 0; i < ls_option_count; i++) {
    const char *name = by_flag ? ls_option_table[i].flag : ls_option_table[i].key;
    if (strlen(name) == len && memcmp(name, s, len) == 0) return &ls_option_table[i];
  }
  return NULL;
}

const struct ls_option_desc *ls_option_by_key(const char *key, size_t len) { return find(key, len, 0); }
const struct ls_option_desc *ls_option_by_flag(const char *flag, size_t len) { return find(flag, len, 1); }

/* Whole decimal number, no sign, no overflow. */
static int parse_u64(const char *s, size_t len, uint64_t *out) {
  uint64_t v = 0;
  if (len == 0) return -EINVAL;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -EINVAL;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return -EINVAL;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* A real-time signal by number ("37") or by name, as kill -l and signal(7) write them: "SIGRTMIN",
 * "SIGRTMIN+3", "SIGRTMAX-2" (also without "SIG"). The number; -EINVAL when it is neither. */
static int parse_rtsig(const char *s, size_t len, uint64_t *out) {
  if (parse_u64(s, len, out) == 0) return 0;
  if (len >= 3 && memcmp(s, "SIG", 3) == 0) s += 3, len -= 3;
  if (len < 5 || (memcmp(s, "RTMIN", 5) != 0 && memcmp(s, "RTMAX", 5) != 0)) return -EINVAL;
  bool min = s[4] == 'N';
  uint64_t k = 0;
  if (len > 5) {
    if ((min && s[5] != '+') || (!min && s[5] != '-') || parse_u64(s + 6, len - 6, &k) < 0 || k > 64) return -EINVAL;
  }
  int64_t v = min ? (int64_t)SIGRTMIN + (int64_t)k : (int64_t)SIGRTMAX - (int64_t)k;
  if (v <= 0) return -EINVAL;
  *out = (uint64_t)v;
  return 0;
}

int ls_parse_duration_ms(const char *s, size_t len, uint64_t *ms) {
  static const struct { const char *suffix; uint64_t ns; } units[] = {
      {"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000},
  };
  uint64_t unit_ns = 1000000; /* plain numbers are milliseconds */
  size_t numlen = len;
  for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
    size_t sl = strlen(units[u].suffix);
    if (len > sl && memcmp(s + len - sl, units[u].suffix, sl) == 0) {
      /* "ms" also ends in "s": the first match in table order wins, and "ns"/"us"/"ms" come first. */
      unit_ns = units[u].ns;
      numlen = len - sl;
      break;
    }
  }
  /* Integer part and an optional fraction (0.25s). */
  size_t dot = numlen;
  for (size_t i = 0; i < numlen; i++)
    if (s[i] == '.') { dot = i; break; }
  uint64_t whole, frac = 0, frac_scale = 1;
  if (parse_u64(s, dot, &whole) < 0) return -EINVAL;
  if (dot < numlen) {
    size_t flen = numlen - dot - 1;
    if (flen == 0 || flen > 9 || parse_u64(s + dot + 1, flen, &frac) < 0) return -EINVAL;
    for (size_t i = 0; i < flen; i++) frac_scale *= 10;
  }
  if (whole > UINT64_MAX / unit_ns / 2) return -EINVAL;
  uint64_t ns = whole * unit_ns + frac * unit_ns / frac_scale;
  if (ns % 1000000 != 0) return -EINVAL;
  *ms = ns / 1000000;
  return 0;
}

/* Is val one of the '|'-separated words? */
static bool is_choice(const char *choices, const char *val, size_t vallen) {
  for (const char *p = choices; *p;) {
    const char *end = strchr(p, '|');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == vallen && memcmp(p, val, len) == 0) return true;
    if (!end) break;
    p = end + 1;
  }
  return false;
}

static const char *type_words(enum ls_opt_type t) {
  switch (t) {
  case LS_OPT_STRING: return "a path";
  case LS_OPT_UINT: return "a whole number";
  case LS_OPT_MS: return "a duration in whole milliseconds (100, 250ms, 0.5s)";
  case LS_OPT_BOOL: return "0 or 1";
  case LS_OPT_RTSIG: return "a real-time signal number";
  }
  return "?";
}

/* Messages quote the user's text: a control byte in it (a newline in LOOPSCOPE_OPTIONS) would break
 * the one line a message must be, so it is shown as '?'. */
static int bad_value(char *err, size_t errlen) {
  for (char *c = err; errlen && *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
  return -EINVAL;
}

int ls_option_set(struct ls_options *o, const char *key, size_t keylen, const char *val, size_t vallen,
                  char *err, size_t errlen) {
  const struct ls_option_desc *d = ls_option_by_key(key, keylen);
  if (!d) {
    size_t n = (size_t)snprintf(err, errlen, "unknown option '%.*s' (accepted:", (int)keylen, key);
    for (size_t i = 0; i < ls_option_count && n < errlen; i++)
      n += (size_t)snprintf(err + n, errlen - n, " %s", ls_option_table[i].key);
    if (n < errlen) snprintf(err + n, errlen - n, ")");
    return bad_value(err, errlen);
  }
  char *field = (char *)o + d->offset;
  uint64_t v = 0;
  int rc = 0;
  switch (d->type) {
  case LS_OPT_STRING:
    if (vallen < d->min || vallen >= LS_PATH_MAX || (d->choices && !is_choice(d->choices, val, vallen))) rc = -EINVAL;
    else {
      memcpy(field, val, vallen); /* vallen may be 0: an empty list */
      field[vallen] = '\0';
    }
    break;
  case LS_OPT_UINT: rc = parse_u64(val, vallen, &v); break;
  case LS_OPT_RTSIG:
    rc = parse_rtsig(val, vallen, &v);
    if (rc == 0 && v != 0 && (v < (uint64_t)SIGRTMIN || v > (uint64_t)SIGRTMAX)) rc = -EINVAL;
    break;
  case LS_OPT_MS: rc = ls_parse_duration_ms(val, vallen, &v); break;
  case LS_OPT_BOOL:
    if (vallen == 1 && (val[0] == '0' || val[0] == '1')) v = (uint64_t)(val[0] - '0');
    else rc = -EINVAL;
    break;
  }
  if (rc == 0 && (d->type == LS_OPT_UINT || d->type == LS_OPT_MS) && (v < d->min || v > d->max))
    rc = -EINVAL;
  if (rc < 0) {
    /* The option's name first: a 5000-byte bad path must not push it out of the message. */
    int shown = vallen > 64 ? 64 : (int)vallen;
    const char *more = vallen > 64 ? "..." : "";
    if (d->type == LS_OPT_RTSIG)
      snprintf(err, errlen,
               "option '%s': bad value '%.*s%s': expected 0 (= SIGRTMIN+3) or a real-time signal from %d (SIGRTMIN) "
               "to %d (SIGRTMAX), by number or as SIGRTMIN+N / SIGRTMAX-N; no other signal is free to borrow",
               d->key, shown, val, more, SIGRTMIN, SIGRTMAX);
    else if (d->type == LS_OPT_UINT || d->type == LS_OPT_MS)
      snprintf(err, errlen, "option '%s': bad value '%.*s%s': expected %s from %llu to %llu", d->key, shown, val,
               more, type_words(d->type), (unsigned long long)d->min, (unsigned long long)d->max);
    else if (d->choices)
      snprintf(err, errlen, "option '%s': bad value '%.*s%s': expected one of %s", d->key, shown, val, more,
               d->choices);
    else
      snprintf(err, errlen, "option '%s': bad value '%.*s%s': expected %s", d->key, shown, val, more,
               d->type == LS_OPT_STRING ? "a non-empty path shorter than 4096 bytes" : type_words(d->type));
    return bad_value(err, errlen);
  }
  if (d->type == LS_OPT_BOOL) *(bool *)field = v != 0;
  else if (d->type != LS_OPT_STRING) *(uint64_t *)field = v;
  return 0;
}

void ls_options_defaults(struct ls_options *o) {
  char err[256];
  memset(o, 0, sizeof(*o));
  for (size_t i = 0; i < ls_option_count; i++) {
    const struct ls_option_desc *d = &ls_option_table[i];
    /* Defaults are parsed like user input; the unit tests prove every default parses. */
    (void)ls_option_set(o, d->key, strlen(d->key), d->def, strlen(d->def), err, sizeof(err));
  }
}

int ls_options_parse(struct ls_options *o, const char *text, char *err, size_t errlen) {
  const char *p = text;
  while (p && *p) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > 0) {
      const char *eq = memchr(p, '=', len);
      if (!eq) {
        snprintf(err, errlen, "option '%.*s' has no value: expected key=value, separated by ':'", (int)len, p);
        return bad_value(err, errlen);
      }
      int rc = ls_option_set(o, p, (size_t)(eq - p), eq + 1, len - (size_t)(eq - p) - 1, err, errlen);
      if (rc < 0) return rc;
    }
    p = end ? end + 1 : NULL;
  }
  return 0;
}

size_t ls_options_format_help(char *buf, size_t len) {
  size_t n = (size_t)snprintf(buf, len, "loopscope options (LOOPSCOPE_OPTIONS=key=value:key=value):\n");
  for (size_t i = 0; i < ls_option_count && n < len; i++) {
    const struct ls_option_desc *d = &ls_option_table[i];
    n += (size_t)snprintf(buf + n, len - n, "  %-18s default %-26s %s\n", d->key, d->def, d->help);
  }
  return n < len ? n : len - 1;
}
