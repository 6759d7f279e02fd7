/* Where findings are written and logged live. Each detector decides; this file records. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "map.h"
#include "shim.h"

static uint32_t next_finding = 1;

uint32_t ls_finding_new_id(void) { return __atomic_fetch_add(&next_finding, 1, __ATOMIC_RELAXED); }

/* A bounded string builder for live lines: no stdio, no malloc. */
struct sb {
  char *buf;
  size_t cap, len;
};

static void sb_put(struct sb *b, const char *s, size_t n) {
  size_t room = b->cap - 1 > b->len ? b->cap - 1 - b->len : 0; /* one byte kept for a newline */
  if (n > room) n = room;
  memcpy(b->buf + b->len, s, n);
  b->len += n;
}

static void sb_str(struct sb *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_hex(struct sb *b, uintptr_t v) {
  static const char hex[] = "0123456789abcdef";
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = hex[v & 15];
    v >>= 4;
  } while (v);
  sb_str(b, "0x");
  while (n) sb_put(b, &tmp[--n], 1);
}

/* "<uv timer on_tick>" from the dynamic symbol table, else "<uv timer prog+0x11f9>". The report names
 * everything properly; the live line only knows what the running process can see cheaply. */
static void describe(struct sb *b, const char *kind, const void *fn) {
  char name[300];
  ls_live_name(name, sizeof(name), 0, fn);
  sb_str(b, "<");
  sb_str(b, kind);
  sb_str(b, " ");
  sb_str(b, name);
  sb_str(b, ">");
}

static void log_live(const char *msg, size_t ml, uint64_t count) {
  char line[600];
  struct sb b = {line, sizeof(line) - 1, 0};
  sb_str(&b, "loopscope: ");
  sb_put(&b, msg, ml);
  if (count > 1) {
    char num[24];
    sb_str(&b, " (");
    sb_put(&b, num, ls_fmt_u(num, count));
    sb_str(&b, " times)");
  }
  line[b.len++] = '\n';
  ls_log_line(line, b.len);
}

/* Live lines: a finding's first occurrence, then at most one updated line ("(N times)") per finding
 * every LIVE_EVERY_NS, so a daemon's stderr says what is wrong without repeating it. The report file has
 * every occurrence. Caller holds the writer lock (*last_logged is the finding's). */
#define LIVE_EVERY_NS (10ull * 1000000000ull)
static bool worth_logging(uint64_t *last_logged, uint64_t count) {
  uint64_t now = ls_now();
  if (count > 1 && *last_logged && ls_ticks_to_ns(now - *last_logged) < LIVE_EVERY_NS) return false;
  *last_logged = now ? now : 1;
  return true;
}

static size_t fmt_seconds(char *out, uint64_t ns) {
  uint64_t ms = ns / 1000000;
  size_t n = ls_fmt_u(out, ms / 1000);
  out[n++] = '.';
  out[n++] = (char)('0' + ms / 100 % 10);
  out[n++] = (char)('0' + ms / 10 % 10);
  out[n++] = (char)('0' + ms % 10);
  return n;
}

/* The site's slow-callback record, cumulative (the reader keeps the last one per id). Writer lock held. */
static void write_slow_locked(struct ls_site *s, uint32_t site, pid_t tid, const char *msg, size_t ml) {
  char line[LS_REC_MAX];
  struct ls_rec r;
  ls_rec_begin(&r, line, sizeof(line), 'F');
  ls_rec_u(&r, "id", s->finding);
  ls_rec_s(&r, "category", ls_finding_table[LS_F_SLOW_CALLBACK].id);
  ls_rec_s(&r, "severity", ls_finding_table[LS_F_SLOW_CALLBACK].severity);
  ls_rec_u(&r, "tid", (uint64_t)tid);
  ls_rec_u(&r, "count", s->slow_count);
  ls_rec_u(&r, "duration_ns", s->slow_max);
  ls_rec_u(&r, "total_ns", s->slow_total);
  ls_rec_u(&r, "site", site);
  ls_rec_s(&r, "kind", s->kind);
  ls_rec_x(&r, "cb", (uintptr_t)s->cb);
  ls_rec_u(&r, "stack", s->stack);
  if (s->samples) ls_rec_s(&r, "samples", s->samples);
  if (s->has_cpu) ls_rec_u(&r, "cpu_ns", s->cpu_ns);
  ls_rec_sn(&r, "message", msg, ml);
  ls_write_locked(&r);
}

static size_t slow_message(char *msg, size_t cap, const struct ls_site *s, uint64_t ns) {
  char num[32];
  struct sb m = {msg, cap, 0};
  sb_str(&m, "Executing ");
  describe(&m, s->kind, s->cb);
  sb_str(&m, " took ");
  sb_put(&m, num, fmt_seconds(num, ns));
  sb_str(&m, " seconds");
  return m.len;
}

void ls_finding_slow_callback(uint32_t site, uint64_t ns) {
  struct ls_site *s = ls_site_ptr(site);
  char msg[400];
  int saved_errno = errno;
  ls_tls.guard++;
  size_t ml = slow_message(msg, sizeof(msg), s, ns);
  ls_writer_lock();
  if (!s->finding) s->finding = ls_finding_new_id();
  s->slow_count++;
  s->slow_total += ns;
  if (ns > s->slow_max) s->slow_max = ns;
  s->slow_last = ls_now();
  uint64_t count = s->slow_count;
  write_slow_locked(s, site, ls_gettid(), msg, ml);
  bool log_now = worth_logging(&s->live_logged, count);
  ls_writer_unlock();

  if (!s->live_suppressed) s->live_suppressed = ls_suppressed(LS_F_SLOW_CALLBACK, s->cb, s->stack) ? 2 : 1;
  if (ls_opt.verbosity >= 1 && s->live_suppressed == 1 && log_now) log_live(msg, ml, count);
  ls_tls.guard--;
  errno = saved_errno;
}

bool ls_finding_slow_callback_samples(uint32_t site, pid_t tid, uint64_t since, const char *samples,
                                      uint32_t nsamples, uint64_t cpu_ns) {
  struct ls_site *s = ls_site_ptr(site);
  if (!s) return false;
  bool attached = false;
  char msg[400];
  ls_writer_lock();
  if (s->finding && s->slow_last >= since) {
    attached = true;
    if (nsamples > s->samples_n) { /* keep the best-sampled stall's picture */
      char *copy = strdup(samples);
      if (copy) {
        free(s->samples);
        s->samples = copy;
        s->samples_n = nsamples;
        s->cpu_ns = cpu_ns;
        s->has_cpu = true;
        write_slow_locked(s, site, tid, msg, slow_message(msg, sizeof(msg), s, s->slow_max));
      }
    }
  }
  ls_writer_unlock();
  return attached;
}

/* wrong-thread, whichever loop library: recorded once per (call, calling line), then
 * wrong_thread=abort aborts as asyncio raises (a suppressed finding does not). */
void ls_finding_wrong_thread(const char *call, const void *caller, pid_t running, const char *msg) {
  struct ls_finding_info fi = {.call = call, .capture = true, .other_tid = running, .message = msg};
  bool suppressed = ls_finding_keyed(LS_F_WRONG_THREAD, (uintptr_t)call, (uintptr_t)caller, &fi);
  if (!suppressed && strcmp(ls_opt.wrong_thread, "abort") == 0) {
    static const char line[] = "loopscope: wrong_thread=abort: aborting\n";
    ls_log_line(line, sizeof(line) - 1);
    ls_finish("signal", 6);
    abort();
  }
}

/* A thread's ending nobody collected: unjoined-thread, or unretrieved-error when its result says it
 * failed (PTHREAD_CANCELED, or a negative errno cast to a pointer as the kernel's IS_ERR does). */
void ls_finding_thread(uint32_t id, bool failed, uint64_t count, pid_t tid, const void *routine, uint32_t stack,
                       void *result) {
  enum ls_finding_kind k = failed ? LS_F_UNRETRIEVED_ERROR : LS_F_UNJOINED_THREAD;
  char line[1024], msg[400];
  struct sb m = {msg, sizeof(msg), 0};
  sb_str(&m, "Thread ");
  describe(&m, "thread", routine);
  sb_str(&m, failed ? " ended with result " : " finished with result ");
  sb_hex(&m, (uintptr_t)result);
  sb_str(&m, failed ? ", an error nobody retrieved: never joined nor detached"
                    : " but was never joined nor detached");
  struct ls_rec r;
  ls_rec_begin(&r, line, sizeof(line), 'F');
  ls_rec_u(&r, "id", id);
  ls_rec_s(&r, "category", ls_finding_table[k].id);
  ls_rec_s(&r, "severity", ls_finding_table[k].severity);
  ls_rec_u(&r, "tid", (uint64_t)tid);
  ls_rec_u(&r, "count", count);
  ls_rec_u(&r, "duration_ns", 0);
  ls_rec_u(&r, "total_ns", 0);
  ls_rec_s(&r, "kind", "thread");
  ls_rec_x(&r, "cb", (uintptr_t)routine);
  ls_rec_u(&r, "stack", stack);
  ls_rec_x(&r, "result", (uintptr_t)result);
  ls_rec_sn(&r, "message", msg, m.len);
  ls_write(&r);
  if (ls_opt.verbosity >= 1 && !ls_suppressed(k, routine, stack)) log_live(msg, m.len, 1);
}

/* ---- accumulating findings keyed by what they are about ---- */

struct keyed {
  uint32_t id, stack;
  uint64_t count, dur_max, dur_total;
  uint64_t live_logged; /* worth_logging's */
  bool suppressed;
};

static struct ls_map keyed_map;

/* keyed_map's key of (k, key1, key2): never the map's reserved 0 or 1. */
static inline void keyed_key(enum ls_finding_kind k, uintptr_t key1, uintptr_t key2, uintptr_t *k1, uintptr_t *k2) {
  *k1 = key1 ^ ((uintptr_t)1 << 63);
  *k2 = key2 ^ ((uintptr_t)k << 56);
}

bool ls_finding_known(enum ls_finding_kind k, uintptr_t key1, uintptr_t key2) {
  uintptr_t k1, k2, v;
  keyed_key(k, key1, key2, &k1, &k2);
  return ls_map_get(&keyed_map, k1, k2, &v, NULL);
}

bool ls_finding_keyed(enum ls_finding_kind k, uintptr_t key1, uintptr_t key2, const struct ls_finding_info *fi) {
  if (!ls_active) return false;
  bool suppressed = false;
  int saved_errno = errno;
  ls_tls.guard++;
  uintptr_t k1, k2, v;
  struct keyed *e;
  keyed_key(k, key1, key2, &k1, &k2);
  if (ls_map_get(&keyed_map, k1, k2, &v, NULL)) {
    e = (struct keyed *)v;
  } else {
    e = calloc(1, sizeof(*e));
    if (!e) goto out;
    e->id = ls_finding_new_id();
    e->stack = fi->stack ? fi->stack : fi->capture ? ls_stack_capture() : 0;
    e->suppressed = ls_suppressed(k, fi->cb, e->stack);
    ls_map_put(&keyed_map, k1, k2, (uintptr_t)e, 0);
  }
  char line[LS_REC_MAX];
  struct ls_rec r;
  ls_writer_lock();
  e->count += fi->count ? fi->count : 1;
  e->dur_total += fi->duration_ns;
  if (fi->duration_ns > e->dur_max) e->dur_max = fi->duration_ns;
  uint64_t count = e->count;
  ls_rec_begin(&r, line, sizeof(line), 'F');
  ls_rec_u(&r, "id", e->id);
  ls_rec_s(&r, "category", ls_finding_table[k].id);
  ls_rec_s(&r, "severity", ls_finding_table[k].severity);
  ls_rec_u(&r, "tid", (uint64_t)(fi->tid ? fi->tid : ls_gettid()));
  ls_rec_u(&r, "count", count);
  ls_rec_u(&r, "duration_ns", e->dur_max);
  ls_rec_u(&r, "total_ns", e->dur_total);
  if (fi->site) ls_rec_u(&r, "site", fi->site);
  if (fi->kind) ls_rec_s(&r, "kind", fi->kind);
  if (fi->cb) ls_rec_x(&r, "cb", (uintptr_t)fi->cb);
  if (e->stack) ls_rec_u(&r, "stack", e->stack);
  if (fi->call) ls_rec_s(&r, "call", fi->call);
  if (fi->other_tid) ls_rec_u(&r, "other_tid", (uint64_t)fi->other_tid);
  if (fi->has_status) ls_rec_i(&r, "status", fi->status);
  if (fi->samples) ls_rec_s(&r, "samples", fi->samples);
  if (fi->has_cpu) ls_rec_u(&r, "cpu_ns", fi->cpu_ns);
  ls_rec_s(&r, "message", fi->message ? fi->message : ls_finding_table[k].description);
  ls_write_locked(&r);
  bool log_now = worth_logging(&e->live_logged, count);
  ls_writer_unlock();
  suppressed = e->suppressed;
  if (ls_opt.verbosity >= 1 && fi->message && !suppressed && log_now) log_live(fi->message, strlen(fi->message), count);
out:
  ls_tls.guard--;
  errno = saved_errno;
  return suppressed;
}
