/* Streaming JSON writer. Every string in a report came from the target (argv, thread names, paths),
 * so every string is escaped here and bytes that are not valid UTF-8 become U+FFFD. */
#include "json_out.h"

#include <inttypes.h>
#include <string.h>

void json_init(struct json *j, FILE *out) {
  memset(j, 0, sizeof(*j));
  j->out = out;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one (overlong forms,
 * surrogates and code points above U+10FFFF included). */
size_t json_utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  size_t n;
  unsigned cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
  else return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0; /* also stops at the terminating NUL */
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  return n;
}

void json_write_escaped(FILE *out, const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  fputc('"', out);
  while (*s) {
    unsigned c = *s;
    size_t n = json_utf8_len(s);
    if (n == 0) {
      fputs("\\ufffd", out);
      s++;
      continue;
    }
    if (n > 1) {
      fwrite(s, 1, n, out);
      s += n;
      continue;
    }
    switch (c) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\r': fputs("\\r", out); break;
    case '\t': fputs("\\t", out); break;
    case '\b': fputs("\\b", out); break;
    case '\f': fputs("\\f", out); break;
    default:
      if (c < 0x20 || c == 0x7f) fprintf(out, "\\u%04x", c);
      else fputc((int)c, out);
    }
    s++;
  }
  fputc('"', out);
}

static void indent(struct json *j) {
  fputc('\n', j->out);
  for (int i = 0; i < j->depth; i++) fputs("  ", j->out);
}

/* Comma, newline, indentation and "key": before a value. */
static void prefix(struct json *j, const char *key) {
  if (j->depth > 0) {
    if (j->need_comma[j->depth]) fputc(',', j->out);
    indent(j);
  }
  j->need_comma[j->depth] = true;
  if (key) {
    json_write_escaped(j->out, key);
    fputs(": ", j->out);
  }
}

static void open_(struct json *j, const char *key, char c) {
  prefix(j, key);
  fputc(c, j->out);
  if (j->depth < JSON_MAX_DEPTH - 1) j->depth++;
  j->need_comma[j->depth] = false;
}

static void close_(struct json *j, char c) {
  bool had = j->need_comma[j->depth];
  if (j->depth > 0) j->depth--;
  if (had) indent(j);
  fputc(c, j->out);
}

void json_begin_object(struct json *j, const char *key) { open_(j, key, '{'); }
void json_end_object(struct json *j) { close_(j, '}'); }
void json_begin_array(struct json *j, const char *key) { open_(j, key, '['); }
void json_end_array(struct json *j) { close_(j, ']'); }

void json_string(struct json *j, const char *key, const char *s) {
  prefix(j, key);
  if (s) json_write_escaped(j->out, s);
  else fputs("null", j->out);
}

void json_u64(struct json *j, const char *key, uint64_t v) {
  prefix(j, key);
  fprintf(j->out, "%" PRIu64, v);
}

void json_i64(struct json *j, const char *key, int64_t v) {
  prefix(j, key);
  fprintf(j->out, "%" PRId64, v);
}

void json_bool(struct json *j, const char *key, bool v) {
  prefix(j, key);
  fputs(v ? "true" : "false", j->out);
}

void json_null(struct json *j, const char *key) {
  prefix(j, key);
  fputs("null", j->out);
}

void json_hex(struct json *j, const char *key, uint64_t v) {
  prefix(j, key);
  fprintf(j->out, "\"0x%" PRIx64 "\"", v);
}

void json_finish(struct json *j) { fputc('\n', j->out); }
