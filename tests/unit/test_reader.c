/* The report reader on a small but complete report written with the encoder: every field, every
 * truncation point, corrupted bytes, version and unknown-kind handling, and the lookups.
 * The reader takes untrusted input: these tests also run as test_reader_san under ASan/UBSan. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls_hist.h"
#include "ls_record.h"
#include "ls_report.h"

/* ---- a report built with the encoder --------------------------------------------------------------- */

#define EXE "/opt/my prog/bin/server"
#define ARG1 "--name=a b%c\tx"
#define T0 1700000000123456789ULL
#define EIO_RESULT ((uint64_t)(int64_t)-EIO)

struct line {
  size_t start, end; /* [start, end): end is one past the newline */
  char kind;
  const char *tag; /* names the lines the checks refer to */
};

static char report[8192];
static size_t report_len;
static struct line lines[64];
static size_t nlines;
static size_t header_end;

static struct ls_rec rec;
static const char *cur_tag;

static void begin(char kind, const char *tag) {
  ls_rec_begin(&rec, report + report_len, sizeof(report) - report_len, kind);
  cur_tag = tag;
}

static void end(void) {
  long n = ls_rec_end(&rec);
  ck_assert_int_gt(n, 0);
  ck_assert_uint_lt(nlines, sizeof(lines) / sizeof(lines[0]));
  lines[nlines++] = (struct line){report_len, report_len + (size_t)n, report[report_len], cur_tag};
  report_len += (size_t)n;
}

static uint64_t hist1[LS_HIST_BUCKETS], hist1b[LS_HIST_BUCKETS], hist2[LS_HIST_BUCKETS], lag1[LS_HIST_BUCKETS];

static void build_report(void) {
  report_len = nlines = 0;
  report_len = (size_t)snprintf(report, sizeof(report), "%s %d\n", LS_REPORT_MAGIC, LS_REPORT_VERSION);
  header_end = report_len;

  begin('P', "P");
  ls_rec_u(&rec, "pid", 4242);
  ls_rec_u(&rec, "ppid", 1);
  ls_rec_u(&rec, "start_ns", T0);
  ls_rec_s(&rec, "exe", EXE);
  ls_rec_u(&rec, "seq", 2);
  end();

  begin('A', "A0");
  ls_rec_u(&rec, "i", 0);
  ls_rec_s(&rec, "v", "./server");
  end();
  begin('A', "A1");
  ls_rec_u(&rec, "i", 1);
  ls_rec_s(&rec, "v", ARG1);
  end();

  begin('O', "O1");
  ls_rec_s(&rec, "key", "slow_callback_ms");
  ls_rec_s(&rec, "value", "100");
  end();
  begin('O', "O2");
  ls_rec_s(&rec, "key", "log_path");
  ls_rec_s(&rec, "value", "/tmp/r.%p.lsr");
  end();

  begin('M', "M1");
  ls_rec_u(&rec, "id", 1);
  ls_rec_x(&rec, "base", 0x555555554000);
  ls_rec_x(&rec, "lo", 0x555555554000);
  ls_rec_x(&rec, "hi", 0x55555555a000);
  ls_rec_s(&rec, "path", EXE);
  ls_rec_s(&rec, "build_id", "0123abcd");
  end();
  begin('M', "M2");
  ls_rec_u(&rec, "id", 2);
  ls_rec_x(&rec, "base", 0x7ffff7a00000);
  ls_rec_x(&rec, "lo", 0x7ffff7a28000);
  ls_rec_x(&rec, "hi", 0x7ffff7bbd000);
  ls_rec_s(&rec, "path", "/usr/lib/x86_64-linux-gnu/libuv.so.1");
  ls_rec_s(&rec, "build_id", "-");
  end();

  static const uintptr_t ips1[] = {0x555555555123, 0x555555555456, 0x7ffff7a29000};
  static const uintptr_t ips2[] = {0x555555555789};
  begin('S', "S1");
  ls_rec_u(&rec, "id", 1);
  ls_rec_xs(&rec, "ips", ips1, 3);
  end();
  begin('S', "S2");
  ls_rec_u(&rec, "id", 2);
  ls_rec_xs(&rec, "ips", ips2, 1);
  end();

  begin('T', "T1");
  ls_rec_u(&rec, "tid", 4242);
  ls_rec_u(&rec, "parent", 0);
  ls_rec_u(&rec, "stack", 0);
  ls_rec_x(&rec, "routine", 0);
  ls_rec_u(&rec, "start_ns", T0);
  ls_rec_s(&rec, "role", "loop");
  ls_rec_s(&rec, "name", "server");
  end();
  begin('T', "T2");
  ls_rec_u(&rec, "tid", 4243);
  ls_rec_u(&rec, "parent", 4242);
  ls_rec_u(&rec, "stack", 2);
  ls_rec_x(&rec, "routine", 0x555555555200);
  ls_rec_u(&rec, "start_ns", T0 + 1000);
  ls_rec_s(&rec, "role", "worker");
  ls_rec_s(&rec, "name", "worker");
  end();
  begin('N', "N2");
  ls_rec_u(&rec, "tid", 4243);
  ls_rec_s(&rec, "name", "worker 1");
  end();
  begin('E', "E2");
  ls_rec_u(&rec, "tid", 4243);
  ls_rec_u(&rec, "end_ns", T0 + 5000);
  ls_rec_u(&rec, "cpu_ns", 1234);
  ls_rec_x(&rec, "result", EIO_RESULT);
  ls_rec_s(&rec, "how", "returned");
  end();
  begin('T', "T3");
  ls_rec_u(&rec, "tid", 4244);
  ls_rec_u(&rec, "parent", 4242);
  ls_rec_u(&rec, "stack", 2);
  ls_rec_x(&rec, "routine", 0x555555555300);
  ls_rec_u(&rec, "start_ns", T0 + 2000);
  ls_rec_s(&rec, "role", "worker");
  ls_rec_s(&rec, "name", "joiner");
  end();
  begin('E', "E3");
  ls_rec_u(&rec, "tid", 4244);
  ls_rec_u(&rec, "end_ns", T0 + 6000);
  ls_rec_u(&rec, "cpu_ns", 99);
  ls_rec_x(&rec, "result", 0);
  ls_rec_s(&rec, "how", "exited");
  end();
  begin('J', "J3");
  ls_rec_u(&rec, "tid", 4244);
  ls_rec_u(&rec, "by", 4242);
  end();
  begin('T', "T4");
  ls_rec_u(&rec, "tid", 4245);
  ls_rec_u(&rec, "parent", 4243);
  ls_rec_u(&rec, "stack", 0);
  ls_rec_x(&rec, "routine", 0x555555555400);
  ls_rec_u(&rec, "start_ns", T0 + 3000);
  ls_rec_s(&rec, "role", "other");
  ls_rec_s(&rec, "name", "detached");
  end();
  begin('D', "D4");
  ls_rec_u(&rec, "tid", 4245);
  end();

  begin('L', "L1a");
  ls_rec_u(&rec, "id", 1);
  ls_rec_s(&rec, "lib", "libuv");
  ls_rec_x(&rec, "addr", 0x5555555580a0);
  ls_rec_u(&rec, "thread", 4242);
  ls_rec_u(&rec, "iterations", 10);
  ls_rec_u(&rec, "callbacks", 42);
  end();

  begin('C', "C1");
  ls_rec_u(&rec, "id", 1);
  ls_rec_s(&rec, "kind", "uv timer");
  ls_rec_x(&rec, "cb", 0x555555555100);
  ls_rec_u(&rec, "stack", 1);
  end();
  begin('C', "C2");
  ls_rec_u(&rec, "id", 2);
  ls_rec_s(&rec, "kind", "uv timer");
  ls_rec_x(&rec, "cb", 0x555555555100);
  ls_rec_u(&rec, "stack", 2);
  end();

  memset(hist1, 0, sizeof(hist1));
  memset(hist1b, 0, sizeof(hist1b));
  memset(hist2, 0, sizeof(hist2));
  hist1[ls_hist_bucket(250000000)] = 2;
  hist1b[ls_hist_bucket(250000000)] = 2;
  hist1b[ls_hist_bucket(260000000)] += 1;
  hist2[ls_hist_bucket(1200)] = 4;
  hist2[ls_hist_bucket(3)] = 1;

  begin('G', "G1a");
  ls_rec_u(&rec, "site", 1);
  ls_rec_u(&rec, "count", 2);
  ls_rec_u(&rec, "total_ns", 500000000);
  ls_rec_u(&rec, "max_ns", 250000000);
  ls_rec_hist(&rec, "hist", hist1, LS_HIST_BUCKETS);
  end();
  begin('G', "G2");
  ls_rec_u(&rec, "site", 2);
  ls_rec_u(&rec, "count", 5);
  ls_rec_u(&rec, "total_ns", 4803);
  ls_rec_u(&rec, "max_ns", 1200);
  ls_rec_hist(&rec, "hist", hist2, LS_HIST_BUCKETS);
  end();

  /* cumulative snapshots: the last one per id wins */
  /* L1a is a loop as older writers wrote it; L1b adds the loop accounting */
  memset(lag1, 0, sizeof(lag1));
  lag1[ls_hist_bucket(2000)] = 15;
  lag1[ls_hist_bucket(3000000)] = 4;
  lag1[ls_hist_bucket(1500000000)] = 1;
  begin('L', "L1b");
  ls_rec_u(&rec, "id", 1);
  ls_rec_s(&rec, "lib", "libuv");
  ls_rec_x(&rec, "addr", 0x5555555580a0);
  ls_rec_u(&rec, "thread", 4242);
  ls_rec_u(&rec, "iterations", 20);
  ls_rec_u(&rec, "callbacks", 49);
  ls_rec_u(&rec, "callback_ns", 760004000);
  ls_rec_u(&rec, "poll_ns", 2500000000);
  ls_rec_u(&rec, "long_polls", 1);
  ls_rec_u(&rec, "closed", 1);
  ls_rec_hist(&rec, "lag", lag1, LS_HIST_BUCKETS);
  end();
  /* a snapshot replaces the whole entry: L2b's missing keys are unknown again */
  begin('L', "L2a");
  ls_rec_u(&rec, "id", 2);
  ls_rec_s(&rec, "lib", "libuv");
  ls_rec_x(&rec, "addr", 0x5555555590b0);
  ls_rec_u(&rec, "thread", 4243);
  ls_rec_u(&rec, "iterations", 1);
  ls_rec_u(&rec, "callbacks", 0);
  ls_rec_u(&rec, "poll_ns", 7);
  ls_rec_u(&rec, "closed", 0);
  ls_rec_hist(&rec, "lag", lag1, LS_HIST_BUCKETS);
  end();
  begin('L', "L2b");
  ls_rec_u(&rec, "id", 2);
  ls_rec_s(&rec, "lib", "libuv");
  ls_rec_x(&rec, "addr", 0x5555555590b0);
  ls_rec_u(&rec, "thread", 4243);
  ls_rec_u(&rec, "iterations", 2);
  ls_rec_u(&rec, "callbacks", 1);
  end();
  begin('G', "G1b");
  ls_rec_u(&rec, "site", 1);
  ls_rec_u(&rec, "count", 3);
  ls_rec_u(&rec, "total_ns", 760000000);
  ls_rec_u(&rec, "max_ns", 260000000);
  ls_rec_hist(&rec, "hist", hist1b, LS_HIST_BUCKETS);
  end();

  begin('F', "F1");
  ls_rec_u(&rec, "id", 1);
  ls_rec_s(&rec, "category", "slow-callback");
  ls_rec_s(&rec, "severity", "warning");
  ls_rec_u(&rec, "tid", 4242);
  ls_rec_u(&rec, "count", 3);
  ls_rec_u(&rec, "duration_ns", 260000000);
  ls_rec_u(&rec, "total_ns", 760000000);
  ls_rec_u(&rec, "site", 1);
  ls_rec_s(&rec, "kind", "uv timer");
  ls_rec_x(&rec, "cb", 0x555555555100);
  ls_rec_u(&rec, "stack", 1);
  ls_rec_s(&rec, "message", "Executing <uv timer server+0x1100> took 0.260 seconds");
  end();
  begin('F', "F2");
  ls_rec_u(&rec, "id", 2);
  ls_rec_s(&rec, "category", "unretrieved-error");
  ls_rec_s(&rec, "severity", "error");
  ls_rec_u(&rec, "tid", 4243);
  ls_rec_u(&rec, "count", 1);
  ls_rec_u(&rec, "duration_ns", 0);
  ls_rec_u(&rec, "total_ns", 0);
  ls_rec_u(&rec, "stack", 2);
  ls_rec_s(&rec, "call", "pthread_create");
  ls_rec_x(&rec, "result", EIO_RESULT);
  ls_rec_u(&rec, "other_tid", 4242);
  ls_rec_s(&rec, "message", "thread 4243 ended with -EIO and was never joined");
  end();
  begin('F', "F3");
  ls_rec_u(&rec, "id", 3);
  ls_rec_s(&rec, "category", "unretrieved-error");
  ls_rec_s(&rec, "severity", "error");
  ls_rec_u(&rec, "tid", 4242);
  ls_rec_u(&rec, "count", 2);
  ls_rec_u(&rec, "duration_ns", 0);
  ls_rec_u(&rec, "total_ns", 0);
  ls_rec_s(&rec, "kind", "uv write");
  ls_rec_u(&rec, "stack", 1);
  ls_rec_s(&rec, "call", "uv_write");
  ls_rec_i(&rec, "status", -EPIPE);
  ls_rec_s(&rec, "message", "uv_write() failed with -32 (EPIPE) and no callback was there to see it");
  end();
  begin('F', "F4");
  ls_rec_u(&rec, "id", 4);
  ls_rec_s(&rec, "category", "wrong-thread");
  ls_rec_s(&rec, "severity", "error");
  ls_rec_u(&rec, "tid", 4243);
  ls_rec_u(&rec, "count", 1);
  ls_rec_u(&rec, "duration_ns", 0);
  ls_rec_u(&rec, "total_ns", 0);
  ls_rec_u(&rec, "stack", 2);
  ls_rec_s(&rec, "call", "uv_timer_start");
  ls_rec_u(&rec, "other_tid", 4242);
  ls_rec_i(&rec, "status", -4095); /* UV_EOF: not an errno, still a valid status */
  ls_rec_s(&rec, "message", "Non-thread-safe call uv_timer_start()");
  end();

  /* still open at exit: two identical handles, one without loop or stack */
  begin('H', "H1");
  ls_rec_u(&rec, "loop", 1);
  ls_rec_s(&rec, "kind", "uv timer");
  ls_rec_u(&rec, "stack", 1);
  ls_rec_u(&rec, "active", 1);
  ls_rec_u(&rec, "ref", 1);
  end();
  begin('H', "H2");
  ls_rec_u(&rec, "loop", 1);
  ls_rec_s(&rec, "kind", "uv timer");
  ls_rec_u(&rec, "stack", 1);
  ls_rec_u(&rec, "active", 1);
  ls_rec_u(&rec, "ref", 1);
  end();
  begin('H', "H3"); /* every key but kind is optional */
  ls_rec_s(&rec, "kind", "uv tcp");
  ls_rec_u(&rec, "closing", 1);
  end();
  begin('H', "H4");
  ls_rec_u(&rec, "loop", 2);
  ls_rec_s(&rec, "kind", "uv idle");
  ls_rec_u(&rec, "stack", 0);
  ls_rec_u(&rec, "active", 0);
  ls_rec_u(&rec, "ref", 0);
  ls_rec_u(&rec, "closing", 0);
  end();
  begin('Q', "Q1");
  ls_rec_u(&rec, "size", 4);
  ls_rec_u(&rec, "peak_queue", 3);
  end();
  begin('Q', "Q2"); /* last wins */
  ls_rec_u(&rec, "size", 4);
  ls_rec_u(&rec, "peak_queue", 12);
  end();

  begin('X', "X");
  ls_rec_s(&rec, "how", "exit");
  ls_rec_i(&rec, "status", -3);
  end();
  begin('Z', "Z");
  ls_rec_u(&rec, "records", nlines);
  end();
}

static char *copy_of(const char *data, size_t len) {
  char *c = malloc(len ? len : 1); /* exactly len bytes: ASan sees any read past the end */
  ck_assert_ptr_nonnull(c);
  memcpy(c, data, len);
  return c;
}

static const struct line *line_tagged(const char *tag) {
  for (size_t i = 0; i < nlines; i++)
    if (lines[i].tag && strcmp(lines[i].tag, tag) == 0) return &lines[i];
  ck_abort_msg("no line tagged %s", tag);
  return NULL;
}

/* Whether the line with this tag is wholly inside the first k bytes. */
static bool has(const char *tag, size_t k) { return line_tagged(tag)->end <= k; }

static size_t count_kind(char kind, size_t k) {
  size_t n = 0;
  for (size_t i = 0; i < nlines; i++)
    if (lines[i].kind == kind && lines[i].end <= k) n++;
  return n;
}

/* The end of the last whole line (header included) inside the first k bytes. */
static size_t boundary(size_t k) {
  size_t b = header_end <= k ? header_end : 0;
  for (size_t i = 0; i < nlines; i++)
    if (lines[i].end <= k) b = lines[i].end;
  return b;
}

/* [start, end) of the line holding byte i (the header is a line too). */
static void line_of(size_t i, size_t *start, size_t *endp) {
  if (i < header_end) {
    *start = 0;
    *endp = header_end;
    return;
  }
  for (size_t l = 0; l < nlines; l++)
    if (i >= lines[l].start && i < lines[l].end) {
      *start = lines[l].start;
      *endp = lines[l].end;
      return;
    }
  ck_abort_msg("byte %zu in no line", i);
}

static const struct ls_rd_finding *finding(const struct ls_report *r, uint64_t id) {
  for (size_t i = 0; i < r->nfindings; i++)
    if (r->findings[i].id == id) return &r->findings[i];
  return NULL;
}

static const struct ls_rd_loop *loop(const struct ls_report *r, uint64_t id) {
  for (size_t i = 0; i < r->nloops; i++)
    if (r->loops[i].id == id) return &r->loops[i];
  return NULL;
}

/* Everything in the first k bytes of the report is in *r, nothing after it. */
static void assert_holds_prefix(const struct ls_report *r, size_t k, bool exact) {
#define CNT(have, want)                                                                                    \
  do {                                                                                                     \
    if (exact) ck_assert_msg((have) == (want), "k=%zu: " #have " = %zu, expected %zu", k, (size_t)(have),  \
                             (size_t)(want));                                                             \
    else ck_assert_msg((have) >= (want), "k=%zu: " #have " = %zu, expected >= %zu", k, (size_t)(have),     \
                       (size_t)(want));                                                                   \
  } while (0)
  CNT(r->argc, count_kind('A', k));
  CNT(r->nopts, count_kind('O', k));
  CNT(r->nmodules, count_kind('M', k));
  CNT(r->nstacks, count_kind('S', k));
  CNT(r->nthreads, count_kind('T', k));
  CNT(r->nsites, count_kind('C', k));
  CNT(r->nloops, (size_t)has("L1a", k) + (size_t)has("L2a", k));
  CNT(r->nfindings, count_kind('F', k));
  CNT(r->nopen, count_kind('H', k));
#undef CNT
  if (has("P", k)) {
    ck_assert_uint_eq(r->pid, 4242);
    ck_assert_str_eq(r->exe, EXE);
  } else if (exact) {
    ck_assert_uint_eq(r->pid, 0);
  }
  if (has("A1", k)) ck_assert_str_eq(r->argv[1], ARG1);
  if (has("N2", k)) ck_assert_str_eq(ls_report_thread(r, 4243)->name, "worker 1");
  else if (has("T2", k) && exact) ck_assert_str_eq(ls_report_thread(r, 4243)->name, "worker");
  if (has("E2", k)) ck_assert(ls_report_thread(r, 4243)->ended);
  else if (has("T2", k) && exact) ck_assert(!ls_report_thread(r, 4243)->ended);
  if (has("J3", k)) ck_assert(ls_report_thread(r, 4244)->joined);
  if (has("D4", k)) ck_assert(ls_report_thread(r, 4245)->detached);
  if (has("L1b", k)) {
    ck_assert_uint_eq(loop(r, 1)->iterations, 20);
    ck_assert(loop(r, 1)->has_lag && loop(r, 1)->closed);
  } else if (has("L1a", k) && exact) {
    const struct ls_rd_loop *l = loop(r, 1);
    ck_assert_uint_eq(l->iterations, 10);
    ck_assert(!l->has_poll_ns && !l->has_callback_ns && !l->has_long_polls && !l->has_lag && !l->has_closed);
  }
  if (has("L2b", k)) ck_assert(!loop(r, 2)->has_poll_ns && !loop(r, 2)->has_lag && !loop(r, 2)->has_closed);
  else if (has("L2a", k) && exact) ck_assert(loop(r, 2)->has_poll_ns && loop(r, 2)->has_lag && loop(r, 2)->has_closed);
  if (has("Q2", k)) ck_assert_uint_eq(r->pool_peak_queue, 12);
  else if (has("Q1", k) && exact) ck_assert_uint_eq(r->pool_peak_queue, 3);
  if (exact) ck_assert(r->has_pool == has("Q1", k));
  if (has("G1b", k)) ck_assert_uint_eq(ls_report_site(r, 1)->count, 3);
  else if (has("G1a", k) && exact) ck_assert_uint_eq(ls_report_site(r, 1)->count, 2);
  else if (has("C1", k) && exact) ck_assert_uint_eq(ls_report_site(r, 1)->count, 0);
  if (has("G2", k)) ck_assert_uint_eq(ls_report_site(r, 2)->count, 5);
  if (has("X", k)) {
    ck_assert(r->has_exit);
    ck_assert_int_eq(r->exit_status, -3);
  } else if (exact) {
    ck_assert(!r->has_exit);
  }
}

/* ---- the whole report ------------------------------------------------------------------------------ */

START_TEST(parse_every_field) {
  build_report();
  char *data = copy_of(report, report_len);
  struct ls_report r;
  int rc = ls_report_parse(data, report_len, &r);
  ck_assert_msg(rc == 0, "rc=%d error=%s", rc, r.error ? r.error : "(none)");
  ck_assert_ptr_null(r.error);
  ck_assert_int_eq(r.version, 1);
  ck_assert(r.complete);
  ck_assert(!r.truncated);
  ck_assert_uint_eq(r.nwarnings, 0);

  ck_assert_uint_eq(r.pid, 4242);
  ck_assert_uint_eq(r.ppid, 1);
  ck_assert_uint_eq(r.start_ns, T0);
  ck_assert_uint_eq(r.seq, 2);
  ck_assert_str_eq(r.exe, EXE);
  ck_assert_uint_eq(r.argc, 2);
  ck_assert_str_eq(r.argv[0], "./server");
  ck_assert_str_eq(r.argv[1], ARG1);
  ck_assert_uint_eq(r.nopts, 2);
  ck_assert_str_eq(r.opt_keys[0], "slow_callback_ms");
  ck_assert_str_eq(r.opt_values[0], "100");
  ck_assert_str_eq(r.opt_keys[1], "log_path");
  ck_assert_str_eq(r.opt_values[1], "/tmp/r.%p.lsr");

  ck_assert(r.has_exit);
  ck_assert_str_eq(r.exit_how, "exit");
  ck_assert_int_eq(r.exit_status, -3);

  ck_assert_uint_eq(r.nmodules, 2);
  const struct ls_rd_module *m = ls_report_module_for(&r, 0x555555555123);
  ck_assert_ptr_nonnull(m);
  ck_assert_uint_eq(m->id, 1);
  ck_assert_uint_eq(m->base, 0x555555554000);
  ck_assert_uint_eq(m->lo, 0x555555554000);
  ck_assert_uint_eq(m->hi, 0x55555555a000);
  ck_assert_str_eq(m->path, EXE);
  ck_assert_str_eq(m->build_id, "0123abcd");
  m = ls_report_module_for(&r, 0x7ffff7a29000);
  ck_assert_ptr_nonnull(m);
  ck_assert_uint_eq(m->id, 2);
  ck_assert_uint_eq(m->base, 0x7ffff7a00000);
  ck_assert_str_eq(m->path, "/usr/lib/x86_64-linux-gnu/libuv.so.1");
  ck_assert_str_eq(m->build_id, "-");
  ck_assert_uint_eq(ls_report_module_for(&r, 0x555555554000)->id, 1); /* lo is inside */
  ck_assert_ptr_null(ls_report_module_for(&r, 0x55555555a000));      /* hi is not */
  ck_assert_ptr_null(ls_report_module_for(&r, 0x555555553fff));
  ck_assert_ptr_null(ls_report_module_for(&r, 0x7ffff7a27fff));
  ck_assert_ptr_null(ls_report_module_for(&r, 0));
  ck_assert_ptr_null(ls_report_module_for(&r, UINT64_MAX));

  ck_assert_uint_eq(r.nstacks, 2);
  const struct ls_rd_stack *s = ls_report_stack(&r, 1);
  ck_assert_ptr_nonnull(s);
  ck_assert_uint_eq(s->n, 3);
  ck_assert_uint_eq(s->ips[0], 0x555555555123);
  ck_assert_uint_eq(s->ips[1], 0x555555555456);
  ck_assert_uint_eq(s->ips[2], 0x7ffff7a29000);
  s = ls_report_stack(&r, 2);
  ck_assert_ptr_nonnull(s);
  ck_assert_uint_eq(s->n, 1);
  ck_assert_uint_eq(s->ips[0], 0x555555555789);
  ck_assert_ptr_null(ls_report_stack(&r, 0));
  ck_assert_ptr_null(ls_report_stack(&r, 3));

  ck_assert_uint_eq(r.nthreads, 4);
  const struct ls_rd_thread *t = ls_report_thread(&r, 4242);
  ck_assert_ptr_nonnull(t);
  ck_assert_uint_eq(t->parent, 0);
  ck_assert_uint_eq(t->stack, 0);
  ck_assert_uint_eq(t->routine, 0);
  ck_assert_uint_eq(t->start_ns, T0);
  ck_assert_str_eq(t->role, "loop");
  ck_assert_str_eq(t->name, "server");
  ck_assert(!t->ended && !t->joined && !t->detached);
  ck_assert_ptr_null(t->how);
  t = ls_report_thread(&r, 4243);
  ck_assert_ptr_nonnull(t);
  ck_assert_uint_eq(t->parent, 4242);
  ck_assert_uint_eq(t->stack, 2);
  ck_assert_uint_eq(t->routine, 0x555555555200);
  ck_assert_uint_eq(t->start_ns, T0 + 1000);
  ck_assert_str_eq(t->role, "worker");
  ck_assert_str_eq(t->name, "worker 1"); /* renamed by N */
  ck_assert(t->ended);
  ck_assert_uint_eq(t->end_ns, T0 + 5000);
  ck_assert_uint_eq(t->cpu_ns, 1234);
  ck_assert_uint_eq(t->result, EIO_RESULT);
  ck_assert_str_eq(t->how, "returned");
  ck_assert(!t->joined && !t->detached);
  t = ls_report_thread(&r, 4244);
  ck_assert_ptr_nonnull(t);
  ck_assert(t->ended && t->joined && !t->detached);
  ck_assert_uint_eq(t->joined_by, 4242);
  ck_assert_str_eq(t->how, "exited");
  ck_assert_uint_eq(t->result, 0);
  ck_assert_str_eq(t->name, "joiner");
  t = ls_report_thread(&r, 4245);
  ck_assert_ptr_nonnull(t);
  ck_assert(!t->ended && !t->joined && t->detached);
  ck_assert_uint_eq(t->parent, 4243);
  ck_assert_str_eq(t->role, "other");
  ck_assert_ptr_null(ls_report_thread(&r, 1));

  ck_assert_uint_eq(r.nloops, 2);
  ck_assert_ptr_eq(ls_report_loop(&r, 1), &r.loops[0]);
  ck_assert_ptr_eq(ls_report_loop(&r, 2), &r.loops[1]);
  ck_assert_ptr_null(ls_report_loop(&r, 0));
  ck_assert_ptr_null(ls_report_loop(&r, 3));
  ck_assert_uint_eq(r.loops[0].id, 1);
  ck_assert_str_eq(r.loops[0].lib, "libuv");
  ck_assert_uint_eq(r.loops[0].addr, 0x5555555580a0);
  ck_assert_uint_eq(r.loops[0].thread, 4242);
  ck_assert_uint_eq(r.loops[0].iterations, 20); /* last wins */
  ck_assert_uint_eq(r.loops[0].callbacks, 49);
  ck_assert(r.loops[0].has_poll_ns && r.loops[0].poll_ns == 2500000000u);
  ck_assert(r.loops[0].has_callback_ns && r.loops[0].callback_ns == 760004000u);
  ck_assert(r.loops[0].has_long_polls && r.loops[0].long_polls == 1);
  ck_assert(r.loops[0].has_lag);
  ck_assert(memcmp(r.loops[0].lag, lag1, sizeof(lag1)) == 0);
  ck_assert(r.loops[0].has_closed && r.loops[0].closed);
  const struct ls_rd_loop *l2 = &r.loops[1];
  ck_assert_uint_eq(l2->id, 2);
  ck_assert_uint_eq(l2->addr, 0x5555555590b0);
  ck_assert_uint_eq(l2->thread, 4243);
  ck_assert_uint_eq(l2->iterations, 2);
  ck_assert_uint_eq(l2->callbacks, 1);
  ck_assert(!l2->has_poll_ns && !l2->has_callback_ns && !l2->has_long_polls && !l2->has_lag && !l2->has_closed);
  ck_assert(!l2->closed && l2->poll_ns == 0);
  for (size_t b = 0; b < LS_HIST_BUCKETS; b++) ck_assert_uint_eq(l2->lag[b], 0);

  ck_assert_uint_eq(r.nsites, 2);
  const struct ls_rd_site *site = ls_report_site(&r, 1);
  ck_assert_ptr_nonnull(site);
  ck_assert_str_eq(site->kind, "uv timer");
  ck_assert_uint_eq(site->cb, 0x555555555100);
  ck_assert_uint_eq(site->stack, 1);
  ck_assert_uint_eq(site->count, 3); /* last wins */
  ck_assert_uint_eq(site->total_ns, 760000000);
  ck_assert_uint_eq(site->max_ns, 260000000);
  ck_assert(memcmp(site->hist, hist1b, sizeof(hist1b)) == 0);
  site = ls_report_site(&r, 2);
  ck_assert_ptr_nonnull(site);
  ck_assert_uint_eq(site->stack, 2);
  ck_assert_uint_eq(site->count, 5);
  ck_assert_uint_eq(site->total_ns, 4803);
  ck_assert_uint_eq(site->max_ns, 1200);
  ck_assert(memcmp(site->hist, hist2, sizeof(hist2)) == 0);
  ck_assert_ptr_null(ls_report_site(&r, 3));

  ck_assert_uint_eq(r.nfindings, 4);
  const struct ls_rd_finding *f = finding(&r, 1);
  ck_assert_ptr_nonnull(f);
  ck_assert_str_eq(f->category, "slow-callback");
  ck_assert_str_eq(f->severity, "warning");
  ck_assert_uint_eq(f->tid, 4242);
  ck_assert_uint_eq(f->count, 3);
  ck_assert_uint_eq(f->duration_ns, 260000000);
  ck_assert_uint_eq(f->total_ns, 760000000);
  ck_assert(f->has_site && f->site == 1);
  ck_assert(f->has_cb && f->cb == 0x555555555100);
  ck_assert(f->has_stack && f->stack == 1);
  ck_assert(!f->has_result);
  ck_assert_str_eq(f->kind, "uv timer");
  ck_assert_ptr_null(f->call);
  ck_assert_str_eq(f->message, "Executing <uv timer server+0x1100> took 0.260 seconds");
  f = finding(&r, 2);
  ck_assert_ptr_nonnull(f);
  ck_assert_str_eq(f->category, "unretrieved-error");
  ck_assert_str_eq(f->severity, "error");
  ck_assert_uint_eq(f->tid, 4243);
  ck_assert(!f->has_site && !f->has_cb);
  ck_assert(f->has_stack && f->stack == 2);
  ck_assert(f->has_result && f->result == EIO_RESULT);
  ck_assert_uint_eq(f->other_tid, 4242);
  ck_assert_ptr_null(f->kind);
  ck_assert_str_eq(f->call, "pthread_create");
  ck_assert_str_eq(f->message, "thread 4243 ended with -EIO and was never joined");
  ck_assert(!f->has_status);
  f = finding(&r, 3);
  ck_assert_ptr_nonnull(f);
  ck_assert_str_eq(f->category, "unretrieved-error");
  ck_assert_uint_eq(f->count, 2);
  ck_assert(f->has_status);
  ck_assert_int_eq(f->status, -EPIPE);
  ck_assert_str_eq(f->call, "uv_write");
  ck_assert_str_eq(f->kind, "uv write");
  ck_assert(!f->has_result && !f->has_site && !f->has_cb);
  ck_assert(f->has_stack && f->stack == 1);
  ck_assert_uint_eq(f->other_tid, 0);
  f = finding(&r, 4);
  ck_assert_ptr_nonnull(f);
  ck_assert_str_eq(f->category, "wrong-thread");
  ck_assert_uint_eq(f->tid, 4243);
  ck_assert_uint_eq(f->other_tid, 4242);
  ck_assert_str_eq(f->call, "uv_timer_start");
  ck_assert(f->has_status && f->status == -4095);

  ck_assert_uint_eq(r.nopen, 4);
  for (size_t i = 0; i < 2; i++) {
    const struct ls_rd_open *h = &r.open[i];
    ck_assert_uint_eq(h->loop, 1);
    ck_assert_str_eq(h->kind, "uv timer");
    ck_assert_uint_eq(h->stack, 1);
    ck_assert(h->has_active && h->active && h->has_ref && h->ref);
    ck_assert(!h->has_closing && !h->closing);
  }
  const struct ls_rd_open *h = &r.open[2];
  ck_assert_uint_eq(h->loop, 0);
  ck_assert_str_eq(h->kind, "uv tcp");
  ck_assert_uint_eq(h->stack, 0);
  ck_assert(!h->has_active && !h->active && !h->has_ref && !h->ref);
  ck_assert(h->has_closing && h->closing);
  h = &r.open[3];
  ck_assert_uint_eq(h->loop, 2);
  ck_assert_str_eq(h->kind, "uv idle");
  ck_assert_uint_eq(h->stack, 0);
  ck_assert(h->has_active && !h->active && h->has_ref && !h->ref && h->has_closing && !h->closing);

  ck_assert(r.has_pool);
  ck_assert_uint_eq(r.pool_size, 4);
  ck_assert_uint_eq(r.pool_peak_queue, 12);

  ls_report_free(&r);
  free(data);
}
END_TEST

/* ---- every truncation point ------------------------------------------------------------------------ */

START_TEST(every_truncation_point) {
  build_report();
  for (size_t k = 0; k <= report_len; k++) {
    char *data = copy_of(report, k);
    struct ls_report r;
    int rc = ls_report_parse(data, k, &r);
    if (k < header_end) {
      /* no whole header line: not a report, and nothing of it is kept */
      ck_assert_msg(rc == -ENOMSG, "prefix of %zu bytes (inside the header): rc=%d", k, rc);
      ck_assert_msg(r.error && strstr(r.error, "not a loopscope report"), "prefix %zu: error %s", k,
                    r.error ? r.error : "(none)");
      ck_assert(!r.truncated && !r.complete && r.pid == 0);
      ls_report_free(&r);
      free(data);
      continue;
    }
    ck_assert_msg(rc == 0, "prefix of %zu/%zu bytes: rc=%d error=%s", k, report_len, rc,
                  r.error ? r.error : "(none)");
    ck_assert_msg(r.complete == (k == report_len), "prefix %zu/%zu: complete=%d", k, report_len, r.complete);
    ck_assert_msg(r.truncated == !r.complete, "prefix %zu: truncated=%d complete=%d", k, r.truncated, r.complete);
    if (r.truncated) {
      size_t b = boundary(k);
      ck_assert_msg(r.truncated_at >= b && r.truncated_at <= k,
                    "prefix %zu: truncated_at %" PRIu64 " outside [%zu, %zu] (last whole line ends at %zu)", k,
                    r.truncated_at, b, k, b);
    }
    assert_holds_prefix(&r, k, true);
    ls_report_free(&r);
    free(data);
  }
}
END_TEST

/* ---- corrupted bytes ------------------------------------------------------------------------------- */

static const unsigned char bad_bytes[] = {0x00, 0x01, ' ', '\n', 'z', '%', '=', 0x7f, 0xff};

START_TEST(corrupted_bytes) {
  build_report();
  for (size_t i = 0; i < report_len; i++) {
    size_t ls, le;
    line_of(i, &ls, &le);
    for (size_t v = 0; v < sizeof(bad_bytes); v++) {
      if ((unsigned char)report[i] == bad_bytes[v]) continue;
      char *data = copy_of(report, report_len);
      data[i] = (char)bad_bytes[v];
      struct ls_report r;
      int rc = ls_report_parse(data, report_len, &r);
      ck_assert_msg(rc == 0 || rc == -EBADMSG || ((rc == -EPROTONOSUPPORT || rc == -ENOMSG) && i < header_end),
                    "byte %zu -> 0x%02x: rc=%d", i, bad_bytes[v], rc);
      if (rc == -EBADMSG) {
        ck_assert_msg(r.error != NULL, "byte %zu -> 0x%02x: -EBADMSG without a message", i, bad_bytes[v]);
        char off[32];
        snprintf(off, sizeof(off), "%" PRIu64, r.error_offset);
        ck_assert_msg(strstr(r.error, off), "byte %zu: error does not name its offset %s: %s", i, off, r.error);
        ck_assert_msg(r.error_offset <= report_len, "byte %zu: error offset %" PRIu64 " past the end", i,
                      r.error_offset);
        if (r.error_offset >= le) {
          /* The reader went past the damaged line, so that line was acceptable on its own (e.g. a kind
           * letter turned into an unknown kind, skipped with a warning) and the error is a later
           * consequence, such as a reference to the record the damage removed. Prove it: the file cut
           * right after the damaged line parses cleanly. */
          struct ls_report r2;
          int rc2 = ls_report_parse(data, le, &r2);
          ck_assert_msg(rc2 == 0,
                        "byte %zu -> 0x%02x in line [%zu,%zu): error reported at %" PRIu64
                        " (after the damaged line) but the damaged line itself is rejected: %s",
                        i, bad_bytes[v], ls, le, r.error_offset, r2.error ? r2.error : "?");
          ls_report_free(&r2);
        }
      }
      /* whatever came before the damaged line is kept */
      if (rc != -EPROTONOSUPPORT && rc != -ENOMSG) assert_holds_prefix(&r, ls, false);
      ls_report_free(&r);
      free(data);
    }
  }
}
END_TEST

/* Every byte of the file replaced by every value, on a smaller report: no crash, no hang. */
START_TEST(every_byte_value_at_header_and_first_record) {
  build_report();
  size_t upto = lines[0].end; /* header + P */
  for (size_t i = 0; i < upto; i++) {
    for (int v = 0; v < 256; v++) {
      if ((unsigned char)report[i] == v) continue;
      char *data = copy_of(report, report_len);
      data[i] = (char)v;
      struct ls_report r;
      int rc = ls_report_parse(data, report_len, &r);
      ck_assert_msg(rc == 0 || rc == -EBADMSG || rc == -EPROTONOSUPPORT || (rc == -ENOMSG && i < header_end),
                    "byte %zu -> 0x%02x: rc=%d", i, v, rc);
      if (rc == -EBADMSG) ck_assert_uint_le(r.error_offset, lines[0].end);
      ls_report_free(&r);
      free(data);
    }
  }
}
END_TEST

/* ---- versions and unknown records ------------------------------------------------------------------ */

static int parse_text(const char *text, struct ls_report *r) {
  char *data = copy_of(text, strlen(text));
  int rc = ls_report_parse(data, strlen(text), r);
  free(data);
  return rc;
}

START_TEST(newer_version_refused) {
  build_report();
  static const char *const versions[] = {"2", "10", "999999999999"};
  for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
    static char text[9000];
    snprintf(text, sizeof(text), "%s %s\n%s", LS_REPORT_MAGIC, versions[i], report + header_end);
    struct ls_report r;
    ck_assert_int_eq(parse_text(text, &r), -EPROTONOSUPPORT);
    ck_assert_ptr_nonnull(r.error);
    ck_assert_msg(strstr(r.error, "version"), "error does not say 'version': %s", r.error);
    ck_assert_msg(strstr(r.error, versions[i]), "error does not name version %s: %s", versions[i], r.error);
    ck_assert_uint_eq(r.nmodules, 0); /* nothing of a format we do not know is used */
    ck_assert(!r.complete);
    ls_report_free(&r);
  }
}
END_TEST

START_TEST(bad_header) {
  static const char *const texts[] = {"loopscape-report 1\nZ records=0\n", "loopscope-report\nZ records=0\n",
                                      "loopscope-report 0\nZ records=0\n", "loopscope-report x\nZ records=0\n",
                                      "LOOPSCOPE-REPORT 1\n", "\n", "{\"format\": 1}\n",
                                      "loopscope-report 1 \nZ records=0\n", "loopscope-report -1\n"};
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    struct ls_report r;
    int rc = parse_text(texts[i], &r);
    ck_assert_msg(rc == -ENOMSG, "'%s': rc=%d", texts[i], rc);
    ck_assert_ptr_nonnull(r.error);
    ck_assert_msg(strstr(r.error, "not a loopscope report"), "'%s': %s", texts[i], r.error);
    ck_assert(!r.truncated && r.nfindings == 0);
    ck_assert(!r.complete);
    ls_report_free(&r);
  }
}
END_TEST

START_TEST(unknown_kind_skipped_with_warning) {
  build_report();
  /* unknown records after P and before Z, and an unknown key in a known record */
  static char text[9000];
  const struct line *p = line_tagged("P"), *z = line_tagged("Z");
  size_t n = 0;
  memcpy(text, report, p->end - 1);
  n = p->end - 1;
  n += (size_t)sprintf(text + n, " future_key=0x42\nK foo=bar baz=%%41\n");
  memcpy(text + n, report + p->end, z->start - p->end);
  n += z->start - p->end;
  n += (size_t)sprintf(text + n, "V\n");
  memcpy(text + n, report + z->start, z->end - z->start);
  n += z->end - z->start;
  text[n] = 0;
  struct ls_report r;
  int rc = parse_text(text, &r);
  ck_assert_msg(rc == 0, "rc=%d: %s", rc, r.error ? r.error : "");
  ck_assert(r.complete);
  ck_assert_uint_eq(r.pid, 4242);
  ck_assert_uint_ge(r.nwarnings, 2);
  ck_assert_msg(strstr(r.warnings[0], "'K'"), "warning does not name the kind: %s", r.warnings[0]);
  ck_assert_msg(strstr(r.warnings[1], "V"), "warning does not name the kind: %s", r.warnings[1]);
  ck_assert_uint_eq(r.nfindings, 4);
  ck_assert_uint_eq(r.nopen, 4);
  ck_assert_uint_eq(r.nsites, 2);
  ck_assert_uint_eq(r.nthreads, 4);
  ls_report_free(&r);
}
END_TEST

/* A file without its trailer is truncated even when it ends on a whole line; a record after Z means the
 * trailer was not the end. */
START_TEST(trailer_decides_complete) {
  build_report();
  const struct line *z = line_tagged("Z");
  char *data = copy_of(report, z->start);
  struct ls_report r;
  ck_assert_int_eq(ls_report_parse(data, z->start, &r), 0);
  ck_assert(!r.complete && r.truncated);
  ck_assert_uint_eq(r.truncated_at, z->start);
  ck_assert(r.has_exit); /* X is there, Z is not */
  ls_report_free(&r);
  free(data);

  static char text[9000];
  memcpy(text, report, report_len);
  strcpy(text + report_len, "X how=exit status=0\n");
  ck_assert_int_eq(parse_text(text, &r), 0);
  ck_assert(!r.complete);
  ls_report_free(&r);
}
END_TEST

/* Hand-made corruption the writer can never produce: each is -EBADMSG at that record. */
START_TEST(semantic_corruption) {
  static const char *const bodies[] = {
      "C id=1 kind=uv%20timer cb=0x1 stack=7\n",                /* undefined stack */
      "G site=9 count=1 total_ns=1 max_ns=1 hist=\n",          /* undefined site */
      "S id=5 ips=0x2\n",                                      /* stack defined twice */
      "S id=0 ips=0x1\n",                                      /* reserved id */
      "M id=1 base=0x0 lo=0x2000 hi=0x1000 path=a build_id=-\n", /* empty range */
      "A i=1 v=x\n",                                           /* argv gap */
      "T tid=1 parent=0 stack=0 routine=0x0 start_ns=1 role=loop\n", /* required key missing */
      "G site=1 count=1 total_ns=1 max_ns=1 hist=999:1\n",     /* bucket out of range */
      "L id=1 lib=libuv addr=0x1 thread=1 iterations=1 callbacks=1 iterations=2\n", /* key twice */
      "X how=exit status=1x\n",
      "E tid=1 end_ns=1 cpu_ns=1 result=1 how=returned\n",     /* hex without 0x */
      "S id=2 ips=0x1,,0x2\n",
      "P  pid=1\n",
      "L id=1 lib=libuv addr=0x1 thread=1 iterations=1 callbacks=1 closed=2\n",          /* a flag is 0 or 1 */
      "L id=1 lib=libuv addr=0x1 thread=1 iterations=1 callbacks=1 lag=305:1\n",          /* bucket out of range */
      "L id=1 lib=libuv addr=0x1 thread=1 iterations=1 callbacks=1 poll_ns=-1\n",
      "L id=1 lib=libuv addr=0x1 thread=1 iterations=1 callbacks=1 long_polls=0x1\n",
      "H loop=1 kind=uv%20timer stack=7 active=1 ref=1\n",                              /* undefined stack */
      "H loop=1 kind=uv%20timer stack=5 active=2 ref=1\n",
      "H loop=1 kind=uv%20timer stack=5 active=1 ref=7\n",
      "H loop=1 kind=uv%20timer stack=5 closing=2\n",
      "H loop=1 stack=5 active=1 ref=1\n",                                             /* kind missing */
      "H loop=x kind=k active=1 ref=1\n",
      "Q size=4\n",
      "Q size=4 peak_queue=-1\n",
      "F id=1 category=c severity=s tid=1 count=1 duration_ns=0 total_ns=0 status=3x message=m\n",
      "F id=1 category=c severity=s tid=1 count=1 duration_ns=0 total_ns=0 status=- message=m\n",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    char text[512];
    static const char prefix[] = "loopscope-report 1\nS id=5 ips=0x10\nC id=1 kind=k cb=0x1 stack=5\n";
    snprintf(text, sizeof(text), "%s%sZ records=3\n", prefix, bodies[i]);
    struct ls_report r;
    int rc = parse_text(text, &r);
    ck_assert_msg(rc == -EBADMSG, "'%s': rc=%d", bodies[i], rc);
    ck_assert_ptr_nonnull(r.error);
    ck_assert_msg(r.error_offset >= strlen(prefix) && r.error_offset < strlen(text),
                  "'%s': error offset %" PRIu64 " not in the bad record", bodies[i], r.error_offset);
    ck_assert_uint_eq(r.nstacks, 1); /* what came before is kept */
    ck_assert_uint_eq(r.nsites, 1);
    ls_report_free(&r);
  }
}
END_TEST

/* A line longer than any record is corrupt, not a reason to read on forever. */
START_TEST(overlong_line) {
  size_t len = LS_REC_MAX * 3;
  char *data = malloc(len);
  ck_assert_ptr_nonnull(data);
  int h = sprintf(data, "loopscope-report 1\nA i=0 v=");
  memset(data + h, 'a', len - (size_t)h);
  struct ls_report r;
  ck_assert_int_eq(ls_report_parse(data, len, &r), -EBADMSG);
  ck_assert_uint_eq(r.error_offset, 19);
  ls_report_free(&r);
  free(data);
}
END_TEST

/* ---- files ----------------------------------------------------------------------------------------- */

START_TEST(load_files) {
  build_report();
  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s/test_reader.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[4200];
  snprintf(path, sizeof(path), "%s/report.lsr", dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(report, 1, report_len, f), report_len);
  ck_assert_int_eq(fclose(f), 0);

  struct ls_report r;
  ck_assert_int_eq(ls_report_load(path, &r), 0);
  ck_assert_str_eq(r.path, path);
  ck_assert(r.complete);
  ck_assert_uint_eq(r.nfindings, 4);
  ls_report_free(&r);

  char missing[4200];
  snprintf(missing, sizeof(missing), "%s/missing.lsr", dir);
  ck_assert_int_eq(ls_report_load(missing, &r), -ENOENT);
  ck_assert_ptr_nonnull(r.error);
  ck_assert_msg(strstr(r.error, missing), "error does not name the file: %s", r.error);
  ls_report_free(&r);

  ck_assert_int_eq(ls_report_load(dir, &r), -EISDIR);
  ck_assert_ptr_nonnull(r.error);
  ls_report_free(&r);

  /* an empty file is not a report (the writer puts its header down before anything else) */
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  ck_assert_int_eq(ls_report_load(path, &r), -ENOMSG);
  ck_assert(!r.truncated && !r.complete);
  ck_assert_ptr_nonnull(r.error);
  ls_report_free(&r);

  unlink(path);
  rmdir(dir);
}
END_TEST

/* The hang dump (`loopscope run --timeout`): W and the H records after Y, up to the dump's aggregates,
 * are the hang; H records at exit are still open at exit; a second Y replaces the first dump. */
START_TEST(hang_dump) {
  static const char text[] =
      "loopscope-report 1\n"
      "P pid=7 ppid=1 start_ns=1 exe=/bin/x\n"
      "S id=1 ips=0x10\n"
      "T tid=7 parent=0 stack=0 routine=0x0 start_ns=1 role=main name=x\n"
      "W tid=9 name=early state=S syscall=futex\n"
      "Y reason=timeout\n"
      "W tid=7 name=x state=S syscall=epoll_wait\n"
      "H loop=1 kind=uv%20timer stack=1\n"
      "C id=1 kind=k cb=0x1 stack=1\n" /* another thread's record inside the dump */
      "H loop=1 kind=uv%20timer stack=1\n"
      "L id=1 lib=libuv addr=0x1 thread=7 iterations=1 callbacks=1\n"
      "H loop=1 kind=uv%20tcp stack=0\n"
      "X how=exit status=0\n"
      "Z records=12\n";
  struct ls_report r;
  ck_assert_int_eq(parse_text(text, &r), 0);
  ck_assert(r.complete && r.has_hang);
  ck_assert_str_eq(r.hang_reason, "timeout");
  ck_assert_uint_eq(r.nhang_threads, 2);
  ck_assert_uint_eq(r.hang_threads[0].tid, 9);
  ck_assert_uint_eq(r.hang_threads[1].tid, 7);
  ck_assert_str_eq(r.hang_threads[1].state, "S");
  ck_assert_str_eq(r.hang_threads[1].syscall, "epoll_wait");
  ck_assert_uint_eq(r.nhang_open, 2);
  ck_assert_str_eq(r.hang_open[1].kind, "uv timer");
  ck_assert_uint_eq(r.nopen, 1);
  ck_assert_str_eq(r.open[0].kind, "uv tcp");
  ls_report_free(&r);

  /* no Y: H records are still open at exit, hang is absent */
  ck_assert_int_eq(parse_text("loopscope-report 1\nH loop=1 kind=k\n", &r), 0);
  ck_assert(!r.has_hang && r.nopen == 1 && r.nhang_open == 0 && !r.hang_reason);
  ls_report_free(&r);

  /* a second dump replaces the first */
  ck_assert_int_eq(parse_text("loopscope-report 1\nY reason=timeout\nW tid=1 name=a state=R syscall=running\nH kind=k\n"
                              "Q size=1 peak_queue=0\nY reason=again\nH kind=j\n",
                              &r),
                   0);
  ck_assert_str_eq(r.hang_reason, "again");
  ck_assert_uint_eq(r.nhang_threads, 0);
  ck_assert_uint_eq(r.nhang_open, 1);
  ck_assert_str_eq(r.hang_open[0].kind, "j");
  ls_report_free(&r);

  /* the fds a loop waits on: fd, what it is, addresses, events; each optional */
  ck_assert_int_eq(parse_text("loopscope-report 1\nY reason=timeout\n"
                              "H loop=1 kind=fd fd=12 what=tcp addr=127.0.0.1:80 peer=127.0.0.1:4000 events=in,rdhup\n"
                              "H loop=1 kind=fd fd=5 what=pipe\nH kind=k\n",
                              &r),
                   0);
  ck_assert_uint_eq(r.nhang_open, 3);
  ck_assert(r.hang_open[0].has_fd && r.hang_open[0].fd == 12);
  ck_assert_str_eq(r.hang_open[0].what, "tcp");
  ck_assert_str_eq(r.hang_open[0].addr, "127.0.0.1:80");
  ck_assert_str_eq(r.hang_open[0].peer, "127.0.0.1:4000");
  ck_assert_str_eq(r.hang_open[0].events, "in,rdhup");
  ck_assert(r.hang_open[1].has_fd && r.hang_open[1].fd == 5 && !r.hang_open[1].addr && !r.hang_open[1].peer);
  ck_assert(!r.hang_open[1].events && !r.hang_open[2].has_fd && !r.hang_open[2].what);
  ls_report_free(&r);

  /* damage: each is corrupt at its record, what came before is kept */
  static const char *const bad[] = {
      "Y\n",
      "Y reason=a%zz\n",
      "W tid=1 name=a state=S\n",
      "W tid=-1 name=a state=S syscall=futex\n",
      "W tid=1 name=a state= syscall=futex\n",
      "Y reason=timeout\nH kind=k stack=9\n",
      "Y reason=timeout\nH kind=fd fd=-1\n",
      "Y reason=timeout\nH kind=fd fd=3 what=a%zz\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char buf[256];
    snprintf(buf, sizeof(buf), "loopscope-report 1\nW tid=3 name=b state=S syscall=read\n%sZ records=2\n", bad[i]);
    ck_assert_msg(parse_text(buf, &r) == -EBADMSG, "'%s' parsed", bad[i]);
    ck_assert_ptr_nonnull(r.error);
    ck_assert_uint_ge(r.nhang_threads, 1);
    ls_report_free(&r);
  }
}
END_TEST

static Suite *reader_suite(void) {
  Suite *s = suite_create("reader");
  TCase *tc = tcase_create("parse");
  tcase_add_test(tc, parse_every_field);
  tcase_add_test(tc, newer_version_refused);
  tcase_add_test(tc, bad_header);
  tcase_add_test(tc, unknown_kind_skipped_with_warning);
  tcase_add_test(tc, trailer_decides_complete);
  tcase_add_test(tc, semantic_corruption);
  tcase_add_test(tc, overlong_line);
  tcase_add_test(tc, load_files);
  tcase_add_test(tc, hang_dump);
  suite_add_tcase(s, tc);
  tc = tcase_create("damage");
  tcase_add_test(tc, every_truncation_point);
  tcase_add_test(tc, corrupted_bytes);
  tcase_add_test(tc, every_byte_value_at_header_and_first_record);
  tcase_set_timeout(tc, 300); /* thousands of parses, under ASan too */
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(reader_suite());
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
