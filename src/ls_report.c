/* The report reader. A report file is untrusted input: every field is decoded with the ls_dec_*
 * helpers, every table and list is bounded, and a bad record stops the parse with its byte offset
 * while keeping everything before it. Tables are found by id through hash maps while parsing (a file
 * may hold a million records), then sorted by id so the const lookups can binary-search. */
#define _GNU_SOURCE
#include "ls_report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ls_record.h"

#define MAX_WARNINGS 100            /* a file of unknown records must not make a million warnings */
#define MAX_FILE_BYTES (1ull << 30) /* /dev/zero or a runaway writer must not exhaust memory */

/* ---- id -> index maps (open addressing, seeded so crafted ids cannot force collisions) ---- */

struct idmap {
  uint64_t *keys;
  size_t *vals; /* index + 1; 0 = empty slot */
  size_t cap, n;
  uint64_t seed;
};

static uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static bool idmap_get(const struct idmap *m, uint64_t key, size_t *idx) {
  if (m->cap == 0) return false;
  for (size_t i = mix(key ^ m->seed) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (m->vals[i] == 0) return false;
    if (m->keys[i] == key) {
      *idx = m->vals[i] - 1;
      return true;
    }
  }
}

static int idmap_grow(struct idmap *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  uint64_t *keys = calloc(cap, sizeof(*keys));
  size_t *vals = calloc(cap, sizeof(*vals));
  if (!keys || !vals) {
    free(keys);
    free(vals);
    return -ENOMEM;
  }
  for (size_t j = 0; j < m->cap; j++) {
    if (!m->vals[j]) continue;
    size_t i = mix(m->keys[j] ^ m->seed) & (cap - 1);
    while (vals[i]) i = (i + 1) & (cap - 1);
    keys[i] = m->keys[j];
    vals[i] = m->vals[j];
  }
  free(m->keys);
  free(m->vals);
  m->keys = keys;
  m->vals = vals;
  m->cap = cap;
  return 0;
}

/* Inserts or replaces. */
static int idmap_put(struct idmap *m, uint64_t key, size_t idx) {
  if ((m->n + 1) * 2 > m->cap && idmap_grow(m) < 0) return -ENOMEM;
  size_t i = mix(key ^ m->seed) & (m->cap - 1);
  while (m->vals[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
  if (!m->vals[i]) m->n++;
  m->keys[i] = key;
  m->vals[i] = idx + 1;
  return 0;
}

static void idmap_free(struct idmap *m) {
  free(m->keys);
  free(m->vals);
}

/* ---- record schemas ---- */

enum ftype { T_U, T_I, T_X, T_S, T_XS, T_H, T_SAMPLES };

struct fspec {
  const char *key;
  enum ftype type;
  bool required;
};

#define MAX_SPEC 24
/* Every schema fits the decoder's value array (its NULL terminator not counted). */
#define SPEC_FITS(spec) _Static_assert(sizeof(spec) / sizeof((spec)[0]) - 1 <= MAX_SPEC, #spec " has too many keys")

struct fval {
  bool set;
  uint64_t u; /* T_U, T_X; T_I is stored in i */
  int64_t i;
  const char *s; /* T_S: NUL-terminated, in the parser's line buffer */
};

struct parser;
typedef int (*handler_fn)(struct parser *p, const struct fval *v);

struct kind {
  char kind;
  const struct fspec *spec;
  handler_fn handle;
};

struct parser {
  struct ls_report *r;
  uint64_t line_off;
  char sbuf[LS_REC_MAX + 1]; /* decoded strings of the current line; they never outgrow it */
  size_t sused;
  uint64_t ips[LS_RD_MAX_FRAMES];
  size_t nips;
  uint64_t hist[LS_HIST_BUCKETS];
  struct ls_rd_sample samples[LS_RD_MAX_SAMPLES];
  size_t nsamples;
  struct idmap modules, stacks, sites, loops, findings, threads;
  size_t cap_modules, cap_stacks, cap_sites, cap_loops, cap_findings, cap_threads, cap_argv, cap_opts, cap_open;
  size_t cap_warnings, cap_hang_threads, cap_hang_open, cap_incidents;
  uint64_t dropped_warnings;
  bool seen_process;
  bool in_dump; /* after a Y, until the dump's aggregates (L, G, Q) or the ending (X, Z): H is hang_open */
};

/* ---- errors and warnings ---- */

static char *vfmt(const char *f, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, f, ap) < 0) return NULL;
  return s;
}

/* Marks the report corrupt at byte off; keeps the first error only. */
static int corrupt(struct parser *p, uint64_t off, const char *f, ...) {
  struct ls_report *r = p->r;
  if (r->error) return -EBADMSG;
  char *what;
  va_list ap;
  va_start(ap, f);
  what = vfmt(f, ap);
  va_end(ap);
  if (!what || asprintf(&r->error, "corrupt record at byte %llu: %s", (unsigned long long)off, what) < 0)
    r->error = NULL;
  free(what);
  r->error_offset = off;
  return -EBADMSG;
}

static int oom(struct parser *p) {
  if (!p->r->error) p->r->error = strdup("out of memory");
  return -ENOMEM;
}

static int push_warning(struct parser *p, char *s) {
  struct ls_report *r = p->r;
  if (!s) return oom(p);
  if (r->nwarnings == p->cap_warnings) {
    size_t cap = p->cap_warnings ? p->cap_warnings * 2 : 8;
    char **w = realloc(r->warnings, cap * sizeof(*w));
    if (!w) {
      free(s);
      return oom(p);
    }
    r->warnings = w;
    p->cap_warnings = cap;
  }
  r->warnings[r->nwarnings++] = s;
  return 0;
}

static int warn(struct parser *p, const char *f, ...) {
  if (p->r->nwarnings >= MAX_WARNINGS) {
    p->dropped_warnings++;
    return 0;
  }
  va_list ap;
  va_start(ap, f);
  char *s = vfmt(f, ap);
  va_end(ap);
  return push_warning(p, s);
}

/* ---- growable tables ---- */

/* Makes room for one more element; -EBADMSG past the per-table limit. */
static int grow(struct parser *p, void **arr, size_t n, size_t *cap, size_t elsize, const char *what) {
  if (n < *cap) return 0;
  if (n >= LS_RD_MAX_ITEMS) return corrupt(p, p->line_off, "more than %d %s", LS_RD_MAX_ITEMS, what);
  size_t ncap = *cap ? *cap * 2 : 16;
  if (ncap > LS_RD_MAX_ITEMS) ncap = LS_RD_MAX_ITEMS;
  void *a = realloc(*arr, ncap * elsize);
  if (!a) return oom(p);
  memset((char *)a + *cap * elsize, 0, (ncap - *cap) * elsize);
  *arr = a;
  *cap = ncap;
  return 0;
}

#define GROW(p, arr, n, cap, what) grow(p, (void **)&(arr), n, &(cap), sizeof(*(arr)), what)

static int dup_str(struct parser *p, char **dst, const char *s) {
  char *c = strdup(s);
  if (!c) return oom(p);
  free(*dst);
  *dst = c;
  return 0;
}

/* ---- value decoders for lists ---- */

static int dec_xs(struct parser *p, const char *s, size_t n, uint64_t off) {
  p->nips = 0;
  if (n == 0) return 0;
  for (size_t i = 0; i <= n;) {
    const char *comma = memchr(s + i, ',', n - i);
    size_t end = comma ? (size_t)(comma - s) : n;
    if (p->nips == LS_RD_MAX_FRAMES)
      return corrupt(p, off, "more than %d frames in a stack", LS_RD_MAX_FRAMES);
    if (ls_dec_x(s + i, end - i, &p->ips[p->nips]) < 0)
      return corrupt(p, off + i, "bad address in a list of return addresses");
    p->nips++;
    i = end + 1;
  }
  return 0;
}

static int dec_hist(struct parser *p, const char *s, size_t n, uint64_t off) {
  memset(p->hist, 0, sizeof(p->hist));
  if (n == 0) return 0;
  for (size_t i = 0; i <= n;) {
    const char *comma = memchr(s + i, ',', n - i);
    size_t end = comma ? (size_t)(comma - s) : n;
    const char *colon = memchr(s + i, ':', end - i);
    uint64_t b, c;
    if (!colon || ls_dec_u(s + i, (size_t)(colon - (s + i)), &b) < 0 ||
        ls_dec_u(colon + 1, (size_t)(s + end - colon - 1), &c) < 0)
      return corrupt(p, off + i, "bad histogram entry (expected bucket:count)");
    if (b >= LS_HIST_BUCKETS)
      return corrupt(p, off + i, "histogram bucket %llu out of range (0..%u)", (unsigned long long)b,
                     LS_HIST_BUCKETS - 1);
    p->hist[b] = c;
    i = end + 1;
  }
  return 0;
}

/* "0xIP:N,0xIP:N": sampled frames and their counts (loop-stall). */
static int dec_samples(struct parser *p, const char *s, size_t n, uint64_t off) {
  p->nsamples = 0;
  if (n == 0) return 0;
  for (size_t i = 0; i <= n;) {
    const char *comma = memchr(s + i, ',', n - i);
    size_t end = comma ? (size_t)(comma - s) : n;
    const char *colon = memchr(s + i, ':', end - i);
    struct ls_rd_sample sm;
    if (p->nsamples == LS_RD_MAX_SAMPLES)
      return corrupt(p, off + i, "more than %d sampled frames", LS_RD_MAX_SAMPLES);
    if (!colon || ls_dec_x(s + i, (size_t)(colon - (s + i)), &sm.ip) < 0 ||
        ls_dec_u(colon + 1, (size_t)(s + end - colon - 1), &sm.count) < 0)
      return corrupt(p, off + i, "bad sample (expected 0xaddress:count)");
    p->samples[p->nsamples++] = sm;
    i = end + 1;
  }
  return 0;
}

static int dec_value(struct parser *p, const struct fspec *sp, const char *s, size_t n, uint64_t off,
                     struct fval *v) {
  int rc = 0;
  switch (sp->type) {
  case T_U: rc = ls_dec_u(s, n, &v->u); break;
  case T_I: rc = ls_dec_i(s, n, &v->i); break;
  case T_X: rc = ls_dec_x(s, n, &v->u); break;
  case T_S: {
    size_t outlen;
    char *out = p->sbuf + p->sused; /* an escaped string never decodes longer than its text */
    rc = ls_dec_s(s, n, out, &outlen);
    if (rc == 0) {
      v->s = out;
      p->sused += outlen + 1;
    }
    break;
  }
  case T_XS: return dec_xs(p, s, n, off);
  case T_H: return dec_hist(p, s, n, off);
  case T_SAMPLES: return dec_samples(p, s, n, off);
  }
  if (rc < 0) {
    static const char *const words[] = {"an unsigned decimal number", "a signed decimal number",
                                        "a 0x hex number", "an escaped string"};
    return corrupt(p, off, "bad value for '%s': expected %s", sp->key, words[sp->type]);
  }
  return 0;
}

/* Splits "KIND key=value key=value" and decodes the keys the schema knows; others are ignored. */
static int dec_fields(struct parser *p, const char *line, size_t len, const struct fspec *spec,
                      struct fval *vals) {
  size_t nspec = 0;
  while (spec[nspec].key) nspec++;
  memset(vals, 0, sizeof(*vals) * nspec);
  p->sused = 0;
  for (size_t i = 1; i < len;) {
    uint64_t foff = p->line_off + i;
    if (line[i] != ' ') return corrupt(p, foff, "expected a space before a key");
    size_t k = ++i;
    while (i < len && ((line[i] >= 'a' && line[i] <= 'z') || line[i] == '_')) i++;
    size_t klen = i - k;
    if (klen == 0 || i >= len || line[i] != '=')
      return corrupt(p, p->line_off + k, "expected key=value with a key of [a-z_]");
    size_t vstart = ++i;
    while (i < len && line[i] != ' ') i++;
    const struct fspec *sp = NULL;
    size_t si;
    for (si = 0; si < nspec; si++)
      if (strlen(spec[si].key) == klen && memcmp(spec[si].key, line + k, klen) == 0) {
        sp = &spec[si];
        break;
      }
    if (!sp) continue; /* newer writers may add keys */
    if (vals[si].set) return corrupt(p, p->line_off + k, "key '%s' given twice", sp->key);
    int rc = dec_value(p, sp, line + vstart, i - vstart, p->line_off + vstart, &vals[si]);
    if (rc < 0) return rc;
    vals[si].set = true;
  }
  for (size_t si = 0; si < nspec; si++)
    if (spec[si].required && !vals[si].set)
      return corrupt(p, p->line_off, "%c record lacks '%s'", line[0], spec[si].key);
  return 0;
}

/* ---- record handlers (vals are in schema order) ---- */

static const struct fspec spec_P[] = {{"pid", T_U, 1},      {"ppid", T_U, 1}, {"start_ns", T_U, 1},
                                      {"exe", T_S, 1},      {"seq", T_U, 0},  {"tool", T_S, 0},
                                      {NULL, 0, 0}}; /* seq: 0 when absent; tool: absent before 0.1.0 */
static const struct fspec spec_A[] = {{"i", T_U, 1}, {"v", T_S, 1}, {NULL, 0, 0}};
static const struct fspec spec_O[] = {{"key", T_S, 1}, {"value", T_S, 1}, {NULL, 0, 0}};
static const struct fspec spec_M[] = {{"id", T_U, 1},   {"base", T_X, 1}, {"lo", T_X, 1},         {"hi", T_X, 1},
                                      {"path", T_S, 1}, {"build_id", T_S, 1}, {NULL, 0, 0}};
static const struct fspec spec_S[] = {{"id", T_U, 1}, {"ips", T_XS, 1}, {NULL, 0, 0}};
static const struct fspec spec_T[] = {{"tid", T_U, 1},      {"parent", T_U, 1}, {"stack", T_U, 1},
                                      {"routine", T_X, 1},  {"start_ns", T_U, 1}, {"role", T_S, 1},
                                      {"name", T_S, 1},     {NULL, 0, 0}};
static const struct fspec spec_N[] = {{"tid", T_U, 1}, {"name", T_S, 1}, {"cpu_ns", T_U, 0}, {NULL, 0, 0}};
static const struct fspec spec_E[] = {{"tid", T_U, 1},    {"end_ns", T_U, 1}, {"cpu_ns", T_U, 1},
                                      {"result", T_X, 1}, {"how", T_S, 1},    {NULL, 0, 0}};
static const struct fspec spec_J[] = {{"tid", T_U, 1}, {"by", T_U, 1}, {NULL, 0, 0}};
static const struct fspec spec_D[] = {{"tid", T_U, 1}, {NULL, 0, 0}};
/* L: the keys after callbacks came with the libuv accounting; a report from before them still parses. */
enum { L_ID, L_LIB, L_ADDR, L_THREAD, L_ITER, L_CBS, L_POLL, L_CBNS, L_LONG, L_LAG, L_CLOSED, L_FILE, L_FILE_NS, L_PREEMPTED };
static const struct fspec spec_L[] = {{"id", T_U, 1},          {"lib", T_S, 1},         {"addr", T_X, 1},
                                      {"thread", T_U, 1},      {"iterations", T_U, 1},  {"callbacks", T_U, 1},
                                      {"poll_ns", T_U, 0},     {"callback_ns", T_U, 0}, {"long_polls", T_U, 0},
                                      {"lag", T_H, 0},         {"closed", T_U, 0},      {"file_io", T_U, 0},
                                      {"file_io_ns", T_U, 0},  {"preempted_stalls", T_U, 0}, {NULL, 0, 0}};
static const struct fspec spec_C[] = {{"id", T_U, 1}, {"kind", T_S, 1}, {"cb", T_X, 1}, {"stack", T_U, 1}, {NULL, 0, 0}};
static const struct fspec spec_G[] = {{"site", T_U, 1},   {"count", T_U, 1}, {"total_ns", T_U, 1},
                                      {"max_ns", T_U, 1}, {"hist", T_H, 1},  {NULL, 0, 0}};
enum { F_ID, F_CAT, F_SEV, F_TID, F_COUNT, F_DUR, F_TOTAL, F_SITE, F_KIND, F_CB, F_STACK, F_CALL, F_RESULT,
       F_OTHER, F_MSG, F_STATUS, F_SAMPLES, F_CPU };
static const struct fspec spec_F[] = {
    {"id", T_U, 1},       {"category", T_S, 1}, {"severity", T_S, 1}, {"tid", T_U, 1},  {"count", T_U, 1},
    {"duration_ns", T_U, 1}, {"total_ns", T_U, 1}, {"site", T_U, 0},   {"kind", T_S, 0}, {"cb", T_X, 0},
    {"stack", T_U, 0},    {"call", T_S, 0},     {"result", T_X, 0},   {"other_tid", T_U, 0},
    {"message", T_S, 1},  {"status", T_I, 0},   {"samples", T_SAMPLES, 0}, {"cpu_ns", T_U, 0},
    {NULL, 0, 0}};
enum { H_LOOP, H_KIND, H_STACK, H_ACTIVE, H_REF, H_CLOSING, H_FD, H_WHAT, H_ADDR, H_PEER, H_EVENTS };
static const struct fspec spec_H[] = {{"loop", T_U, 0},   {"kind", T_S, 1},    {"stack", T_U, 0},  {"active", T_U, 0},
                                      {"ref", T_U, 0},    {"closing", T_U, 0}, {"fd", T_U, 0},     {"what", T_S, 0},
                                      {"addr", T_S, 0},   {"peer", T_S, 0},    {"events", T_S, 0}, {NULL, 0, 0}};
static const struct fspec spec_Y[] = {{"reason", T_S, 1}, {NULL, 0, 0}};
static const struct fspec spec_W[] = {{"tid", T_U, 1},   {"name", T_S, 1}, {"state", T_S, 1},
                                      {"syscall", T_S, 1}, {NULL, 0, 0}};
static const struct fspec spec_Q[] = {{"size", T_U, 1}, {"peak_queue", T_U, 1}, {"pending", T_U, 0}, {"peak_pending", T_U, 0}, {NULL, 0, 0}};
static const struct fspec spec_X[] = {{"how", T_S, 1}, {"status", T_I, 1}, {NULL, 0, 0}};
static const struct fspec spec_Z[] = {{"records", T_U, 1}, {NULL, 0, 0}};
enum { I_WHAT, I_HOOK, I_ERROR, I_FD, I_COUNT, I_AT, I_LOST, I_SIG, I_ADDR, I_IPS };
static const struct fspec spec_I[] = {{"what", T_S, 1}, {"hook", T_S, 0}, {"error", T_I, 0}, {"fd", T_U, 0},
                                      {"count", T_U, 0}, {"at", T_U, 0},  {"lost", T_U, 0},  {"sig", T_U, 0},
                                      {"addr", T_X, 0},  {"ips", T_XS, 0}, {NULL, 0, 0}};
SPEC_FITS(spec_I);
SPEC_FITS(spec_P); SPEC_FITS(spec_A); SPEC_FITS(spec_O); SPEC_FITS(spec_M); SPEC_FITS(spec_S); SPEC_FITS(spec_T);
SPEC_FITS(spec_N); SPEC_FITS(spec_E); SPEC_FITS(spec_J); SPEC_FITS(spec_D); SPEC_FITS(spec_L); SPEC_FITS(spec_C);
SPEC_FITS(spec_G); SPEC_FITS(spec_F); SPEC_FITS(spec_H); SPEC_FITS(spec_Y); SPEC_FITS(spec_W); SPEC_FITS(spec_Q); SPEC_FITS(spec_X); SPEC_FITS(spec_Z);

/* A flag written as a number: 0 or 1, anything else is damage. */
static int dec_flag(struct parser *p, const struct fval *v, const char *key, bool *out) {
  if (!v->set) {
    *out = false;
    return 0;
  }
  if (v->u > 1) return corrupt(p, p->line_off, "'%s' must be 0 or 1, not %llu", key, (unsigned long long)v->u);
  *out = v->u == 1;
  return 0;
}

static int on_P(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  if (p->seen_process) return corrupt(p, p->line_off, "a second P (process) record");
  p->seen_process = true;
  r->pid = v[0].u;
  r->ppid = v[1].u;
  r->start_ns = v[2].u;
  r->seq = v[4].u;
  if (v[5].s && dup_str(p, &r->tool, v[5].s) < 0) return -ENOMEM;
  return dup_str(p, &r->exe, v[3].s);
}

/* The writer emits argv in order; a gap or a jump back means the file was tampered with. */
static int on_A(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  if (v[0].u != r->argc)
    return corrupt(p, p->line_off, "argv index %llu out of order (expected %zu)", (unsigned long long)v[0].u,
                   r->argc);
  int rc = GROW(p, r->argv, r->argc, p->cap_argv, "argv entries");
  if (rc < 0) return rc;
  if ((rc = dup_str(p, &r->argv[r->argc], v[1].s)) < 0) return rc;
  r->argc++;
  return 0;
}

static int on_O(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  size_t cap = p->cap_opts;
  int rc = GROW(p, r->opt_keys, r->nopts, cap, "options");
  if (rc == 0) rc = GROW(p, r->opt_values, r->nopts, p->cap_opts, "options");
  if (rc < 0) return rc;
  if ((rc = dup_str(p, &r->opt_keys[r->nopts], v[0].s)) < 0) return rc;
  if ((rc = dup_str(p, &r->opt_values[r->nopts], v[1].s)) < 0) return rc;
  r->nopts++;
  return 0;
}

static bool is_build_id(const char *s) {
  if (strcmp(s, "-") == 0) return true;
  size_t n = strlen(s);
  if (n == 0 || n % 2) return false;
  return strspn(s, "0123456789abcdef") == n;
}

/* Last wins per id: the writer re-reports the map after dlopen. */
static int on_M(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  if (v[2].u >= v[3].u) return corrupt(p, p->line_off, "module %llu has an empty range", (unsigned long long)v[0].u);
  if (!is_build_id(v[5].s)) return corrupt(p, p->line_off, "bad build_id (expected lower-case hex or '-')");
  size_t i;
  if (!idmap_get(&p->modules, v[0].u, &i)) {
    int rc = GROW(p, r->modules, r->nmodules, p->cap_modules, "modules");
    if (rc < 0) return rc;
    i = r->nmodules++;
    if (idmap_put(&p->modules, v[0].u, i) < 0) return oom(p);
  }
  struct ls_rd_module *m = &r->modules[i];
  m->id = v[0].u;
  m->base = v[1].u;
  m->lo = v[2].u;
  m->hi = v[3].u;
  int rc = dup_str(p, &m->path, v[4].s);
  return rc < 0 ? rc : dup_str(p, &m->build_id, v[5].s);
}

static int on_S(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  size_t i;
  if (v[0].u == 0) return corrupt(p, p->line_off, "stack id 0 is reserved for 'no stack'");
  if (idmap_get(&p->stacks, v[0].u, &i))
    return corrupt(p, p->line_off, "stack %llu defined twice", (unsigned long long)v[0].u);
  int rc = GROW(p, r->stacks, r->nstacks, p->cap_stacks, "stacks");
  if (rc < 0) return rc;
  struct ls_rd_stack *s = &r->stacks[r->nstacks];
  s->ips = malloc((p->nips ? p->nips : 1) * sizeof(*s->ips));
  if (!s->ips) return oom(p);
  memcpy(s->ips, p->ips, p->nips * sizeof(*s->ips));
  s->n = p->nips;
  s->id = v[0].u;
  if (idmap_put(&p->stacks, v[0].u, r->nstacks) < 0) return oom(p);
  r->nstacks++;
  return 0;
}

/* A reference to a stack must name one defined earlier; 0 means none. */
static int check_stack_ref(struct parser *p, uint64_t id) {
  size_t i;
  if (id == 0 || idmap_get(&p->stacks, id, &i)) return 0;
  return corrupt(p, p->line_off, "reference to undefined stack %llu", (unsigned long long)id);
}

static int new_thread(struct parser *p, uint64_t tid, struct ls_rd_thread **out) {
  struct ls_report *r = p->r;
  int rc = GROW(p, r->threads, r->nthreads, p->cap_threads, "threads");
  if (rc < 0) return rc;
  if (idmap_put(&p->threads, tid, r->nthreads) < 0) return oom(p);
  *out = &r->threads[r->nthreads++];
  (*out)->tid = tid;
  return 0;
}

/* Tid 0 is no thread (the kernel never hands it out); a writer that did not know the tid yet wrote it.
 * Keeping such a record would list a phantom thread, so it is dropped with a warning. Returns 1 then. */
static int phantom_tid(struct parser *p, uint64_t tid) {
  if (tid != 0) return 0;
  int rc = warn(p, "record about tid 0 at byte %llu ignored (no such thread)", (unsigned long long)p->line_off);
  return rc < 0 ? rc : 1;
}

/* The thread table is keyed by tid; records about a tid not seen yet create its entry. */
static int thread_for(struct parser *p, uint64_t tid, struct ls_rd_thread **out) {
  size_t i;
  int rc = phantom_tid(p, tid);
  if (rc != 0) {
    *out = NULL;
    return rc;
  }
  if (idmap_get(&p->threads, tid, &i)) {
    *out = &p->r->threads[i];
    return 0;
  }
  return new_thread(p, tid, out);
}

static int on_T(struct parser *p, const struct fval *v) {
  struct ls_rd_thread *t;
  int rc = check_stack_ref(p, v[2].u);
  if (rc == 0) rc = phantom_tid(p, v[0].u);
  if (rc != 0) return rc < 0 ? rc : 0;
  size_t i;
  /* The kernel reuses tids: a T for a tid whose thread already ended is a new thread. */
  if (idmap_get(&p->threads, v[0].u, &i) && !p->r->threads[i].ended) t = &p->r->threads[i];
  else if ((rc = new_thread(p, v[0].u, &t)) < 0) return rc;
  t->parent = v[1].u;
  t->stack = v[2].u;
  t->routine = v[3].u;
  t->start_ns = v[4].u;
  if ((rc = dup_str(p, &t->role, v[5].s)) < 0) return rc;
  return dup_str(p, &t->name, v[6].s);
}

static int on_N(struct parser *p, const struct fval *v) {
  struct ls_rd_thread *t;
  int rc = thread_for(p, v[0].u, &t);
  if (rc != 0) return rc < 0 ? rc : 0;
  if (v[2].set && !t->ended) t->cpu_ns = v[2].u; /* running at exit: its CPU so far; an E record has the last word */
  return dup_str(p, &t->name, v[1].s);
}

static int on_E(struct parser *p, const struct fval *v) {
  struct ls_rd_thread *t;
  int rc = thread_for(p, v[0].u, &t);
  if (rc != 0) return rc < 0 ? rc : 0;
  t->ended = true;
  t->end_ns = v[1].u;
  t->cpu_ns = v[2].u;
  t->result = v[3].u;
  return dup_str(p, &t->how, v[4].s);
}

static int on_J(struct parser *p, const struct fval *v) {
  struct ls_rd_thread *t;
  int rc = thread_for(p, v[0].u, &t);
  if (rc != 0) return rc < 0 ? rc : 0;
  t->joined = true;
  t->joined_by = v[1].u;
  return 0;
}

static int on_D(struct parser *p, const struct fval *v) {
  struct ls_rd_thread *t;
  int rc = thread_for(p, v[0].u, &t);
  if (rc != 0) return rc < 0 ? rc : 0;
  t->detached = true;
  return 0;
}

static int on_L(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  size_t i;
  bool closed = false;
  int rc = dec_flag(p, &v[L_CLOSED], "closed", &closed);
  if (rc < 0) return rc;
  if (!idmap_get(&p->loops, v[L_ID].u, &i)) {
    if ((rc = GROW(p, r->loops, r->nloops, p->cap_loops, "loops")) < 0) return rc;
    i = r->nloops++;
    if (idmap_put(&p->loops, v[L_ID].u, i) < 0) return oom(p);
  }
  /* A snapshot replaces the whole entry: a key the newer record lacks is unknown again. */
  struct ls_rd_loop *l = &r->loops[i];
  l->id = v[L_ID].u;
  l->addr = v[L_ADDR].u;
  l->thread = v[L_THREAD].u;
  l->iterations = v[L_ITER].u;
  l->callbacks = v[L_CBS].u;
  l->has_poll_ns = v[L_POLL].set;
  l->poll_ns = v[L_POLL].set ? v[L_POLL].u : 0;
  l->has_callback_ns = v[L_CBNS].set;
  l->callback_ns = v[L_CBNS].set ? v[L_CBNS].u : 0;
  l->has_long_polls = v[L_LONG].set;
  l->long_polls = v[L_LONG].set ? v[L_LONG].u : 0;
  l->has_lag = v[L_LAG].set;
  if (l->has_lag) memcpy(l->lag, p->hist, sizeof(l->lag));
  else memset(l->lag, 0, sizeof(l->lag));
  l->has_closed = v[L_CLOSED].set;
  l->closed = closed;
  l->has_file_io = v[L_FILE].set && v[L_FILE_NS].set;
  l->file_io = l->has_file_io ? v[L_FILE].u : 0;
  l->file_io_ns = l->has_file_io ? v[L_FILE_NS].u : 0;
  l->has_preempted_stalls = v[L_PREEMPTED].set;
  l->preempted_stalls = v[L_PREEMPTED].set ? v[L_PREEMPTED].u : 0;
  return dup_str(p, &l->lib, v[L_LIB].s);
}

static int on_C(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  size_t i;
  if (v[0].u == 0) return corrupt(p, p->line_off, "site id 0 is reserved");
  if (idmap_get(&p->sites, v[0].u, &i))
    return corrupt(p, p->line_off, "site %llu defined twice", (unsigned long long)v[0].u);
  int rc = check_stack_ref(p, v[3].u);
  if (rc == 0) rc = GROW(p, r->sites, r->nsites, p->cap_sites, "callback sites");
  if (rc < 0) return rc;
  struct ls_rd_site *s = &r->sites[r->nsites];
  s->id = v[0].u;
  s->cb = v[2].u;
  s->stack = v[3].u;
  if ((rc = dup_str(p, &s->kind, v[1].s)) < 0) return rc;
  if (idmap_put(&p->sites, v[0].u, r->nsites) < 0) return oom(p);
  r->nsites++;
  return 0;
}

static int on_G(struct parser *p, const struct fval *v) {
  size_t i;
  if (!idmap_get(&p->sites, v[0].u, &i))
    return corrupt(p, p->line_off, "aggregate for undefined site %llu", (unsigned long long)v[0].u);
  struct ls_rd_site *s = &p->r->sites[i];
  s->count = v[1].u;
  s->total_ns = v[2].u;
  s->max_ns = v[3].u;
  memcpy(s->hist, p->hist, sizeof(s->hist));
  return 0;
}

static int set_opt_str(struct parser *p, char **dst, const struct fval *v) {
  if (!v->set) {
    free(*dst);
    *dst = NULL;
    return 0;
  }
  return dup_str(p, dst, v->s);
}

static int on_F(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  size_t i;
  /* site=0 / stack=0 mean "none", as ids start at 1. */
  bool has_site = v[F_SITE].set && v[F_SITE].u, has_stack = v[F_STACK].set && v[F_STACK].u;
  if (has_site && !idmap_get(&p->sites, v[F_SITE].u, &i))
    return corrupt(p, p->line_off, "finding refers to undefined site %llu", (unsigned long long)v[F_SITE].u);
  int rc = check_stack_ref(p, has_stack ? v[F_STACK].u : 0);
  if (rc < 0) return rc;
  if (!idmap_get(&p->findings, v[F_ID].u, &i)) {
    if ((rc = GROW(p, r->findings, r->nfindings, p->cap_findings, "findings")) < 0) return rc;
    i = r->nfindings++;
    if (idmap_put(&p->findings, v[F_ID].u, i) < 0) return oom(p);
  }
  struct ls_rd_finding *f = &r->findings[i];
  f->id = v[F_ID].u;
  f->tid = v[F_TID].u;
  f->count = v[F_COUNT].u;
  f->duration_ns = v[F_DUR].u;
  f->total_ns = v[F_TOTAL].u;
  f->has_site = has_site;
  f->site = has_site ? v[F_SITE].u : 0;
  f->has_stack = has_stack;
  f->stack = has_stack ? v[F_STACK].u : 0;
  f->has_cb = v[F_CB].set;
  f->cb = v[F_CB].set ? v[F_CB].u : 0;
  f->has_result = v[F_RESULT].set;
  f->result = v[F_RESULT].set ? v[F_RESULT].u : 0;
  f->other_tid = v[F_OTHER].set ? v[F_OTHER].u : 0;
  f->has_status = v[F_STATUS].set;
  f->status = v[F_STATUS].set ? v[F_STATUS].i : 0;
  f->nsamples = v[F_SAMPLES].set ? p->nsamples : 0;
  memcpy(f->samples, p->samples, f->nsamples * sizeof(*f->samples));
  f->has_cpu = v[F_CPU].set;
  f->cpu_ns = v[F_CPU].set ? v[F_CPU].u : 0;
  if ((rc = dup_str(p, &f->category, v[F_CAT].s)) < 0 || (rc = dup_str(p, &f->severity, v[F_SEV].s)) < 0 ||
      (rc = dup_str(p, &f->message, v[F_MSG].s)) < 0 || (rc = set_opt_str(p, &f->kind, &v[F_KIND])) < 0 ||
      (rc = set_opt_str(p, &f->call, &v[F_CALL])) < 0)
    return rc;
  return 0;
}

/* One entry per handle, not keyed: identical handles give identical records, and each one counts.
 * The loop is not checked against the L records (a loop the writer never flushed is still a loop);
 * the renderers show an unknown one as null. Inside a hang dump the handle goes to hang_open. */
static int on_H(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  bool dump = p->in_dump;
  struct ls_rd_open **arr = dump ? &r->hang_open : &r->open;
  size_t *n = dump ? &r->nhang_open : &r->nopen, *cap = dump ? &p->cap_hang_open : &p->cap_open;
  bool active = false, ref = false, closing = false;
  uint64_t stack = v[H_STACK].set ? v[H_STACK].u : 0;
  int rc = check_stack_ref(p, stack);
  if (rc == 0) rc = dec_flag(p, &v[H_ACTIVE], "active", &active);
  if (rc == 0) rc = dec_flag(p, &v[H_REF], "ref", &ref);
  if (rc == 0) rc = dec_flag(p, &v[H_CLOSING], "closing", &closing);
  if (rc == 0)
    rc = grow(p, (void **)arr, *n, cap, sizeof(**arr), dump ? "handles open at the hang dump" : "handles still open at exit");
  if (rc < 0) return rc;
  struct ls_rd_open *h = &(*arr)[*n];
  h->loop = v[H_LOOP].set ? v[H_LOOP].u : 0;
  h->stack = stack;
  h->active = active;
  h->ref = ref;
  h->closing = closing;
  h->has_active = v[H_ACTIVE].set;
  h->has_ref = v[H_REF].set;
  h->has_closing = v[H_CLOSING].set;
  h->has_fd = v[H_FD].set;
  h->fd = v[H_FD].u;
  h->what = h->addr = h->peer = h->events = NULL;
  if ((rc = dup_str(p, &h->kind, v[H_KIND].s)) < 0) return rc;
  (*n)++; /* counted here, so ls_report_free releases the optional strings set below */
  if ((rc = set_opt_str(p, &h->what, &v[H_WHAT])) < 0 || (rc = set_opt_str(p, &h->addr, &v[H_ADDR])) < 0 ||
      (rc = set_opt_str(p, &h->peer, &v[H_PEER])) < 0 || (rc = set_opt_str(p, &h->events, &v[H_EVENTS])) < 0)
    return rc;
  return 0;
}

static void free_open(struct ls_rd_open *h, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(h[i].kind);
    free(h[i].what);
    free(h[i].addr);
    free(h[i].peer);
    free(h[i].events);
  }
  free(h);
}

static void free_hang(struct ls_report *r) {
  for (size_t i = 0; i < r->nhang_threads; i++) {
    free(r->hang_threads[i].name);
    free(r->hang_threads[i].state);
    free(r->hang_threads[i].syscall);
  }
  free(r->hang_threads);
  free_open(r->hang_open, r->nhang_open);
  free(r->hang_reason);
  r->hang_threads = NULL;
  r->hang_open = NULL;
  r->hang_reason = NULL;
  r->nhang_threads = r->nhang_open = 0;
}

/* Y starts the hang dump. The CLI asks once; should a file hold a second dump, the last one wins
 * (W records before the first Y belong to it: a writer may list the threads first). */
static int on_Y(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  if (r->hang_reason) {
    free_hang(r);
    p->cap_hang_threads = p->cap_hang_open = 0;
  }
  r->has_hang = true;
  p->in_dump = true;
  return dup_str(p, &r->hang_reason, v[0].s);
}

static int on_W(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  if (!v[2].s[0]) return corrupt(p, p->line_off, "W record with an empty state");
  int rc = GROW(p, r->hang_threads, r->nhang_threads, p->cap_hang_threads, "threads in the hang dump");
  if (rc < 0) return rc;
  struct ls_rd_hang_thread *t = &r->hang_threads[r->nhang_threads];
  t->tid = v[0].u;
  r->nhang_threads++; /* counted at once, so ls_report_free releases what was set */
  r->has_hang = true;
  if ((rc = dup_str(p, &t->name, v[1].s)) < 0 || (rc = dup_str(p, &t->state, v[2].s)) < 0 ||
      (rc = dup_str(p, &t->syscall, v[3].s)) < 0)
    return rc;
  return 0;
}

static int on_Q(struct parser *p, const struct fval *v) {
  p->r->has_pool = true;
  p->r->pool_size = v[0].u;
  p->r->pool_peak_queue = v[1].u;
  p->r->pool_has_pending = v[2].set && v[3].set;
  p->r->pool_pending = v[2].u;
  p->r->pool_peak_pending = v[3].u;
  return 0;
}

static int on_X(struct parser *p, const struct fval *v) {
  p->r->has_exit = true;
  p->r->exit_status = v[1].i;
  return dup_str(p, &p->r->exit_how, v[0].s);
}

static int on_Z(struct parser *p, const struct fval *v) {
  (void)p;
  (void)v;
  return 0; /* completeness is decided by position: Z must be the last record */
}

static int on_I(struct parser *p, const struct fval *v) {
  struct ls_report *r = p->r;
  int rc = GROW(p, r->incidents, r->nincidents, p->cap_incidents, "incidents");
  if (rc < 0) return rc;
  struct ls_rd_incident *k = &r->incidents[r->nincidents++]; /* counted at once, so free releases it */
  k->error = v[I_ERROR].i;
  k->fd = v[I_FD].u;
  k->count = v[I_COUNT].u;
  k->at = v[I_AT].u;
  k->lost = v[I_LOST].u;
  k->sig = v[I_SIG].u;
  k->addr = v[I_ADDR].u;
  if (v[I_IPS].set && p->nips) {
    if (!(k->ips = malloc(p->nips * sizeof(*k->ips)))) return oom(p);
    memcpy(k->ips, p->ips, p->nips * sizeof(*k->ips));
    k->nips = p->nips;
  }
  if ((rc = dup_str(p, &k->what, v[I_WHAT].s)) < 0 || (rc = set_opt_str(p, &k->hook, &v[I_HOOK])) < 0) return rc;
  return 0;
}

static const struct kind kinds[] = {
    {'P', spec_P, on_P}, {'A', spec_A, on_A}, {'O', spec_O, on_O}, {'M', spec_M, on_M}, {'S', spec_S, on_S},
    {'T', spec_T, on_T}, {'N', spec_N, on_N}, {'E', spec_E, on_E}, {'J', spec_J, on_J}, {'D', spec_D, on_D},
    {'L', spec_L, on_L}, {'C', spec_C, on_C}, {'G', spec_G, on_G}, {'F', spec_F, on_F}, {'H', spec_H, on_H},
    {'Q', spec_Q, on_Q}, {'X', spec_X, on_X}, {'Z', spec_Z, on_Z}, {'Y', spec_Y, on_Y}, {'W', spec_W, on_W},
    {'I', spec_I, on_I},
};

/* ---- lines ---- */

static int parse_record(struct parser *p, const char *line, size_t len) {
  struct fval vals[MAX_SPEC];
  if (len == 0) return corrupt(p, p->line_off, "empty line");
  char k = line[0];
  bool letter = (k >= 'A' && k <= 'Z') || (k >= 'a' && k <= 'z');
  if (!letter || (len > 1 && line[1] != ' '))
    return corrupt(p, p->line_off, "bad record kind (expected one ASCII letter)");
  /* The hang dump ends where the shim's aggregates flush after it (L, G, Q) or the process ends. */
  if (strchr("LGQXZ", k)) p->in_dump = false;
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    if (kinds[i].kind != k) continue;
    int rc = dec_fields(p, line, len, kinds[i].spec, vals);
    return rc < 0 ? rc : kinds[i].handle(p, vals);
  }
  return warn(p, "unknown record kind '%c' at byte %llu skipped", k, (unsigned long long)p->line_off);
}

/* A file whose first line is not "loopscope-report N" is not a report at all: nothing in it is used. */
static int not_report(struct parser *p, const char *why) {
  if (asprintf(&p->r->error, "not a loopscope report (%s)", why) < 0) p->r->error = NULL;
  p->r->error_offset = 0;
  return -ENOMSG;
}

/* "loopscope-report N" and its newline. Returns 1 when the header is fine. The writer puts the whole
 * line down in one write before anything else, so a file that ends before it (an empty one too) was
 * never a report. */
static int parse_header(struct parser *p, const char *data, size_t len, size_t *next) {
  static const char magic[] = LS_REPORT_MAGIC " ";
  const size_t mlen = sizeof(magic) - 1;
  if (len == 0) return not_report(p, "the file is empty");
  const char *nl = memchr(data, '\n', len < 64 ? len : 64);
  size_t hlen = nl ? (size_t)(nl - data) : len;
  size_t cmp = hlen < mlen ? hlen : mlen;
  if (memcmp(data, magic, cmp) != 0) return not_report(p, "no '" LS_REPORT_MAGIC "' header");
  if (!nl) return not_report(p, len >= 64 ? "header line too long" : "the file ends inside its header line");
  uint64_t version;
  if (hlen <= mlen || ls_dec_u(data + mlen, hlen - mlen, &version) < 0 || version == 0)
    return not_report(p, "bad format version in the header");
  p->r->version = version > 1000000 ? 1000000 : (int)version;
  if (version > LS_REPORT_VERSION) {
    if (asprintf(&p->r->error, "report format version %llu is newer than this loopscope understands (%d)",
                 (unsigned long long)version, LS_REPORT_VERSION) < 0)
      p->r->error = NULL;
    return -EPROTONOSUPPORT;
  }
  *next = hlen + 1;
  return 1;
}

static void parser_init(struct parser *p, struct ls_report *r) {
  memset(p, 0, sizeof(*p));
  p->r = r;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t seed = mix((uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)p ^ ((uint64_t)getpid() << 32));
  p->modules.seed = p->stacks.seed = p->sites.seed = seed;
  p->loops.seed = p->findings.seed = p->threads.seed = mix(seed);
}

static void parser_free(struct parser *p) {
  idmap_free(&p->modules);
  idmap_free(&p->stacks);
  idmap_free(&p->sites);
  idmap_free(&p->loops);
  idmap_free(&p->findings);
  idmap_free(&p->threads);
}

/* ---- sorting for the lookups ---- */

/* Stable: on equal keys the later record stays later, so a lookup can prefer the newest. */
struct sort_ent {
  uint64_t key;
  size_t idx;
};

static int cmp_ent(const void *a, const void *b) {
  const struct sort_ent *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int sort_table(void *base, size_t n, size_t size, size_t key_off) {
  if (n < 2) return 0;
  struct sort_ent *e = malloc(n * sizeof(*e));
  char *tmp = malloc(n * size);
  if (!e || !tmp) {
    free(e);
    free(tmp);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    memcpy(&e[i].key, (char *)base + i * size + key_off, sizeof(uint64_t));
    e[i].idx = i;
  }
  qsort(e, n, sizeof(*e), cmp_ent);
  for (size_t i = 0; i < n; i++) memcpy(tmp + i * size, (char *)base + e[i].idx * size, size);
  memcpy(base, tmp, n * size);
  free(e);
  free(tmp);
  return 0;
}

static int sort_tables(struct ls_report *r) {
  int rc = sort_table(r->stacks, r->nstacks, sizeof(*r->stacks), offsetof(struct ls_rd_stack, id));
  if (rc == 0) rc = sort_table(r->sites, r->nsites, sizeof(*r->sites), offsetof(struct ls_rd_site, id));
  if (rc == 0) rc = sort_table(r->threads, r->nthreads, sizeof(*r->threads), offsetof(struct ls_rd_thread, tid));
  if (rc == 0) rc = sort_table(r->loops, r->nloops, sizeof(*r->loops), offsetof(struct ls_rd_loop, id));
  if (rc == 0) rc = sort_table(r->modules, r->nmodules, sizeof(*r->modules), offsetof(struct ls_rd_module, lo));
  return rc;
}

/* ---- entry points ---- */

static int parse_body(struct parser *p, const char *data, size_t len, size_t pos) {
  struct ls_report *r = p->r;
  char last_kind = 0;
  while (pos < len) {
    size_t rest = len - pos, window = rest < LS_REC_MAX ? rest : LS_REC_MAX;
    const char *nl = memchr(data + pos, '\n', window);
    p->line_off = pos;
    if (!nl) {
      if (rest >= LS_REC_MAX) return corrupt(p, pos, "record longer than %d bytes", LS_REC_MAX);
      r->truncated_at = pos; /* the writer appends whole lines: a partial one is where it stopped */
      return 0;
    }
    size_t llen = (size_t)(nl - (data + pos));
    int rc = parse_record(p, data + pos, llen);
    if (rc < 0) return rc;
    last_kind = data[pos];
    pos += llen + 1;
  }
  r->truncated_at = len;
  r->complete = last_kind == 'Z';
  return 0;
}

int ls_report_parse(const char *data, size_t len, struct ls_report *r) {
  memset(r, 0, sizeof(*r));
  r->version = LS_REPORT_VERSION;
  struct parser *p = malloc(sizeof(*p)); /* ~20 KiB of line buffers: not for the stack */
  if (!p) {
    r->error = strdup("out of memory");
    return -ENOMEM;
  }
  parser_init(p, r);
  size_t pos = 0;
  int rc = parse_header(p, data, len, &pos);
  if (rc == 1) rc = parse_body(p, data, len, pos);
  if (rc == -EBADMSG) r->truncated_at = p->line_off;
  if (p->dropped_warnings) {
    char *s = NULL;
    if (asprintf(&s, "%llu more warnings not shown", (unsigned long long)p->dropped_warnings) < 0) s = NULL;
    if (push_warning(p, s) < 0 && rc >= 0) rc = -ENOMEM;
  }
  if (!r->complete) r->truncated = rc != -EPROTONOSUPPORT && rc != -ENOMSG;
  parser_free(p);
  free(p);
  if (sort_tables(r) < 0 && rc >= 0) rc = -ENOMEM;
  return rc;
}

static const char *file_type(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISLNK(m)) return "a symbolic link";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  return "not a regular file";
}

static int refuse(char **why, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  *why = vfmt(f, ap);
  va_end(ap);
  return -EPERM;
}

/* What st must be under trust; 0, or -EPERM with *why. */
static int check_trust(const struct stat *st, enum ls_rd_trust trust, char **why) {
  if (S_ISDIR(st->st_mode)) return -EISDIR;
  if (!S_ISREG(st->st_mode) && !(trust == LS_RD_NAMED && S_ISFIFO(st->st_mode)))
    return refuse(why, "%s, not a regular file", file_type(st->st_mode));
  if (trust != LS_RD_OWN) return 0;
  uid_t me = geteuid();
  if (st->st_uid != me && st->st_uid != 0)
    return refuse(why, "owned by uid %u, not by you (uid %u) or root", (unsigned)st->st_uid, (unsigned)me);
  if (st->st_mode & 077)
    return refuse(why, "mode %04o: others may read or write it (loopscope writes its reports 0600)",
                  (unsigned)(st->st_mode & 07777));
  if (st->st_nlink != 1)
    return refuse(why, "%ju hard links (loopscope's reports have one)", (uintmax_t)st->st_nlink);
  return 0;
}

int ls_report_open(const char *path, enum ls_rd_trust trust, struct stat *st, char **why) {
  *why = NULL;
  /* A name found in a directory is looked at before it is opened: opening a device can do things. */
  if (trust != LS_RD_NAMED && (trust == LS_RD_OWN ? lstat(path, st) : stat(path, st)) < 0) return -errno;
  if (trust != LS_RD_NAMED) {
    int rc = check_trust(st, trust, why);
    if (rc < 0) return rc;
  }
  /* O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the shim never writes through a
   * link, so one in its place was put there by someone else. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (trust == LS_RD_OWN ? O_NOFOLLOW : 0));
  if (fd < 0) return errno == ELOOP && trust == LS_RD_OWN ? refuse(why, "a symbolic link") : -errno;
  /* The file opened is the one judged: checked again on the descriptor, so a swap after the look
   * changes nothing. */
  int rc = fstat(fd, st) < 0 ? -errno : check_trust(st, trust, why);
  if (rc == 0 && S_ISREG(st->st_mode) && (uint64_t)st->st_size > MAX_FILE_BYTES) rc = -EFBIG;
  /* A FIFO the user named (process substitution) is read blocking, as a pipe is. */
  if (rc == 0 && S_ISFIFO(st->st_mode) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) rc = -errno;
  if (rc < 0) {
    close(fd);
    return rc;
  }
  return fd;
}

/* Reads fd to its end (closing it). */
static int read_all(int fd, const struct stat *st, char **out, size_t *outlen) {
  size_t cap = S_ISREG(st->st_mode) ? (size_t)st->st_size + 1 : 65536, len = 0;
  char *buf = malloc(cap);
  int rc = buf ? 0 : -ENOMEM;
  while (rc == 0) {
    if (len == cap) {
      if (cap >= MAX_FILE_BYTES) {
        rc = -EFBIG;
        break;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        rc = -ENOMEM;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) rc = -errno;
    else if (n == 0) break;
    else len += (size_t)n;
  }
  close(fd);
  if (rc < 0) {
    free(buf);
    return rc;
  }
  *out = buf;
  *outlen = len;
  return 0;
}

static int load_failed(const char *path, int rc, char *why, struct ls_report *r) {
  memset(r, 0, sizeof(*r));
  r->path = strdup(path);
  if (asprintf(&r->error, "%s: %s", path, why ? why : strerror(-rc)) < 0) r->error = NULL;
  free(why);
  return rc;
}

int ls_report_load_fd(int fd, const struct stat *st, const char *path, struct ls_report *r) {
  char *data = NULL;
  size_t len = 0;
  int rc = read_all(fd, st, &data, &len);
  if (rc < 0) return load_failed(path, rc, NULL, r);
  rc = ls_report_parse(data, len, r);
  free(data);
  r->path = strdup(path);
  return rc;
}

int ls_report_load(const char *path, struct ls_report *r) {
  return ls_report_load_as(path, LS_RD_NAMED, r);
}

int ls_report_load_as(const char *path, enum ls_rd_trust trust, struct ls_report *r) {
  struct stat st;
  char *why;
  int fd = ls_report_open(path, trust, &st, &why);
  if (fd < 0) return load_failed(path, fd, why, r);
  return ls_report_load_fd(fd, &st, path, r);
}

void ls_report_free(struct ls_report *r) {
  free(r->path);
  free(r->exe);
  free(r->tool);
  for (size_t i = 0; i < r->argc; i++) free(r->argv[i]);
  free(r->argv);
  for (size_t i = 0; i < r->nopts; i++) {
    free(r->opt_keys[i]);
    free(r->opt_values[i]);
  }
  free(r->opt_keys);
  free(r->opt_values);
  free(r->exit_how);
  free(r->error);
  for (size_t i = 0; i < r->nwarnings; i++) free(r->warnings[i]);
  free(r->warnings);
  for (size_t i = 0; i < r->nmodules; i++) {
    free(r->modules[i].path);
    free(r->modules[i].build_id);
  }
  free(r->modules);
  for (size_t i = 0; i < r->nstacks; i++) free(r->stacks[i].ips);
  free(r->stacks);
  for (size_t i = 0; i < r->nthreads; i++) {
    free(r->threads[i].role);
    free(r->threads[i].name);
    free(r->threads[i].how);
  }
  free(r->threads);
  for (size_t i = 0; i < r->nloops; i++) free(r->loops[i].lib);
  free(r->loops);
  free_open(r->open, r->nopen);
  free_hang(r);
  for (size_t i = 0; i < r->nincidents; i++) {
    free(r->incidents[i].what);
    free(r->incidents[i].hook);
    free(r->incidents[i].ips);
  }
  free(r->incidents);
  for (size_t i = 0; i < r->nsites; i++) free(r->sites[i].kind);
  free(r->sites);
  for (size_t i = 0; i < r->nfindings; i++) {
    struct ls_rd_finding *f = &r->findings[i];
    free(f->category);
    free(f->severity);
    free(f->kind);
    free(f->call);
    free(f->message);
  }
  free(r->findings);
  memset(r, 0, sizeof(*r));
}

/* ---- lookups: binary search over the tables sorted by parse ---- */

/* Index of the last element whose key is <= key, or n when none. */
static size_t upper_le(const void *base, size_t n, size_t size, size_t key_off, uint64_t key) {
  size_t lo = 0, hi = n; /* first element with key > key */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    uint64_t k;
    memcpy(&k, (const char *)base + mid * size + key_off, sizeof(k));
    if (k <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo == 0 ? n : lo - 1;
}

#define FIND_EXACT(arr, n, field, key)                                                              \
  do {                                                                                              \
    size_t i_ = upper_le(arr, n, sizeof(*(arr)), offsetof(__typeof__(*(arr)), field), key);       \
    return i_ < (n) && (arr)[i_].field == (key) ? &(arr)[i_] : NULL;                                \
  } while (0)

const struct ls_rd_stack *ls_report_stack(const struct ls_report *r, uint64_t id) {
  FIND_EXACT(r->stacks, r->nstacks, id, id);
}

const struct ls_rd_site *ls_report_site(const struct ls_report *r, uint64_t id) {
  FIND_EXACT(r->sites, r->nsites, id, id);
}

const struct ls_rd_loop *ls_report_loop(const struct ls_report *r, uint64_t id) {
  FIND_EXACT(r->loops, r->nloops, id, id);
}

/* With tid reuse several entries share a tid; the last one (the newest thread) wins. */
const struct ls_rd_thread *ls_report_thread(const struct ls_report *r, uint64_t tid) {
  FIND_EXACT(r->threads, r->nthreads, tid, tid);
}

const struct ls_rd_module *ls_report_module_for(const struct ls_report *r, uint64_t addr) {
  size_t i = upper_le(r->modules, r->nmodules, sizeof(*r->modules), offsetof(struct ls_rd_module, lo), addr);
  /* Ranges can overlap after dlclose + dlopen; walk back to the newest that holds addr. */
  for (size_t k = 0; i < r->nmodules && k < 64; k++, i--) {
    if (addr >= r->modules[i].lo && addr < r->modules[i].hi) return &r->modules[i];
    if (i == 0) break;
  }
  return NULL;
}
