/* Joins each report with its symbols and rebuilds finding messages with real names. The shim logs
 * live lines with what the dynamic symbol table knows; the report names everything. */
#define _GNU_SOURCE
#include "model.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_hist.h"

void lsm_describe(const struct ls_frame *f, char *buf, size_t len) {
  char fb[512];
  if (!f->function) snprintf(buf, len, "%s", ls_frame_fallback(f, fb, sizeof(fb)));
  else if (f->file && f->line) snprintf(buf, len, "%s (%s:%u)", f->function, f->file, f->line);
  else snprintf(buf, len, "%s", f->function);
}

void lsm_duration(uint64_t ns, char *buf, size_t len) {
  if (ns >= 1000000000ull) snprintf(buf, len, "%.3f s", (double)ns / 1e9);
  else if (ns >= 1000000ull) snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
  else if (ns >= 1000ull) snprintf(buf, len, "%.1f us", (double)ns / 1e3);
  else snprintf(buf, len, "%" PRIu64 " ns", ns);
}

bool lsm_site_is_wait(const char *kind) {
  size_t n = kind ? strlen(kind) : 0;
  return (n >= 5 && strcmp(kind + n - 5, " wait") == 0) || (n >= 8 && strcmp(kind + n - 8, " latency") == 0);
}

/* libuv's codes that are not negated errno values on Linux, named as uv_err_name names them. */
static const struct {
  int64_t code;
  const char *name;
} uv_codes[] = {
    {-4095, "EOF"},          {-4080, "ECHARSET"},      {-4028, "EFTYPE"},         {-3000, "EAI_ADDRFAMILY"},
    {-3001, "EAI_AGAIN"},    {-3002, "EAI_BADFLAGS"},  {-3003, "EAI_CANCELED"},   {-3004, "EAI_FAIL"},
    {-3005, "EAI_FAMILY"},   {-3006, "EAI_MEMORY"},    {-3007, "EAI_NODATA"},     {-3008, "EAI_NONAME"},
    {-3009, "EAI_OVERFLOW"}, {-3010, "EAI_SERVICE"},   {-3011, "EAI_SOCKTYPE"},   {-3013, "EAI_BADHINTS"},
    {-3014, "EAI_PROTOCOL"},
};

const char *lsm_status_name(int64_t status) {
  for (size_t i = 0; i < sizeof(uv_codes) / sizeof(uv_codes[0]); i++)
    if (uv_codes[i].code == status) return uv_codes[i].name;
  if (status < 0 && status > -4096) return strerrorname_np((int)-status);
  return NULL;
}

/* A frame of loopscope's own shim (a hook that made the call for the program, a sampled wrapper): not
 * shown in the program's stacks, as the sanitizers hide their runtime. */
static bool shim_frame(const struct ls_frame *f) {
  const char *base = f->module ? strrchr(f->module, '/') : NULL;
  base = base ? base + 1 : f->module;
  return base && strncmp(base, "libloopscope", 12) == 0;
}

/* Every recorded frame is a return address (but the first one when first_is_pc: a faulting
 * instruction, looked up as it is); each may expand into inlined frames. hide_shim: the shim's own
 * frames are left out (an internal error's stack keeps them: they are its point). */
static int symbolize_ips(struct ls_symbolizer *sym, const uint64_t *ips, size_t nips, bool first_is_pc,
                         bool hide_shim, struct lsm_stack *out) {
  out->frames = NULL;
  out->n = 0;
  if (nips == 0) return 0;
  size_t cap = nips;
  out->frames = malloc(cap * sizeof(*out->frames));
  if (!out->frames) return -ENOMEM;
  for (size_t i = 0; i < nips; i++) {
    const struct ls_frame *fr;
    size_t n = ls_sym_lookup(sym, ips[i], i > 0 || !first_is_pc, &fr);
    if (out->n + n > cap) {
      cap = (out->n + n) * 2;
      struct ls_frame *nf = realloc(out->frames, cap * sizeof(*nf));
      if (!nf) return -ENOMEM;
      out->frames = nf;
    }
    for (size_t k = 0; k < n; k++)
      if (!hide_shim || !shim_frame(&fr[k])) out->frames[out->n++] = fr[k];
  }
  return 0;
}

static int symbolize_stack(struct ls_symbolizer *sym, const struct ls_rd_stack *st, struct lsm_stack *out) {
  return symbolize_ips(sym, st ? st->ips : NULL, st ? st->n : 0, false, true, out);
}

static struct ls_frame function_frame(struct ls_symbolizer *sym, uint64_t addr) {
  const struct ls_frame *fr;
  ls_sym_lookup(sym, addr, false, &fr);
  return fr[0];
}

static const char *thread_state(const struct ls_rd_thread *t) {
  if (t->joined) return "joined";
  if (t->detached) return "detached";
  if (t->ended) return "finished-unjoined";
  return "running";
}

static int build_threads(struct lsm_process *p) {
  const struct ls_report *r = p->r;
  p->threads = calloc(r->nthreads ? r->nthreads : 1, sizeof(*p->threads));
  if (!p->threads) return -ENOMEM;
  for (size_t i = 0; i < r->nthreads; i++) {
    struct lsm_thread *t = &p->threads[i];
    t->t = &r->threads[i];
    t->state = thread_state(t->t);
    t->has_routine = t->t->routine != 0; /* the main thread has none */
    if (t->has_routine) t->routine = function_frame(p->sym, t->t->routine);
    if (symbolize_stack(p->sym, ls_report_stack(r, t->t->stack), &t->stack) < 0) return -ENOMEM;
  }
  return 0;
}

static int build_sites(struct lsm_process *p) {
  const struct ls_report *r = p->r;
  p->sites = calloc(r->nsites ? r->nsites : 1, sizeof(*p->sites));
  if (!p->sites) return -ENOMEM;
  for (size_t i = 0; i < r->nsites; i++) {
    struct lsm_site *s = &p->sites[i];
    s->s = &r->sites[i];
    s->cb = function_frame(p->sym, s->s->cb);
    s->p50_ns = ls_hist_quantile(s->s->hist, LS_HIST_BUCKETS, 0.50, s->s->max_ns);
    s->p99_ns = ls_hist_quantile(s->s->hist, LS_HIST_BUCKETS, 0.99, s->s->max_ns);
    if (symbolize_stack(p->sym, ls_report_stack(r, s->s->stack), &s->stack) < 0) return -ENOMEM;
  }
  return 0;
}

/* The poll functions of loop libraries, by the library's name: a generic loop polling from one of them
 * runs that library linked statically (an official Node.js build, a program linked with libuv_a.a). */
static const struct {
  const char *lib, *poll_fn;
} loop_poll_fns[] = {{"libuv", "uv__io_poll"}};

static void static_library(struct lsm_process *p, struct lsm_loop *lo) {
  const char *lib = lo->l->lib;
  if (!lib || (strcmp(lib, "epoll") != 0 && strcmp(lib, "poll") != 0 && strcmp(lib, "select") != 0)) return;
  const struct ls_frame *site;
  if (lo->l->addr && ls_sym_lookup(p->sym, lo->l->addr, true, &site) > 0) { /* innermost: the polling line */
    lo->has_poll_site = true;
    lo->poll_site = site[0];
  }
  struct ls_frame f = function_frame(p->sym, lo->l->addr);
  for (size_t i = 0; f.function && i < sizeof(loop_poll_fns) / sizeof(loop_poll_fns[0]); i++)
    if (strcmp(f.function, loop_poll_fns[i].poll_fn) == 0) {
      lo->static_lib = loop_poll_fns[i].lib;
      lo->static_module = f.module;
      lo->static_poll_fn = loop_poll_fns[i].poll_fn;
    }
}

static int build_loops(struct lsm_process *p) {
  const struct ls_report *r = p->r;
  p->loops = calloc(r->nloops ? r->nloops : 1, sizeof(*p->loops));
  if (!p->loops) return -ENOMEM;
  for (size_t i = 0; i < r->nloops; i++) {
    struct lsm_loop *lo = &p->loops[i];
    const struct ls_rd_loop *l = lo->l = &r->loops[i];
    unsigned top = LS_HIST_BUCKETS;
    for (unsigned b = 0; b < LS_HIST_BUCKETS; b++)
      if (l->lag[b]) top = b;
    if (top < LS_HIST_BUCKETS) {
      lo->has_lag = true;
      /* The last bucket has no upper bound: its lower one (2^40 ns) is the honest "at least". */
      lo->lag_max_ns = top == LS_HIST_BUCKETS - 1 ? ls_hist_bucket_low(top) : ls_hist_bucket_high(top);
      lo->lag_p50_ns = ls_hist_quantile(l->lag, LS_HIST_BUCKETS, 0.50, lo->lag_max_ns);
      lo->lag_p99_ns = ls_hist_quantile(l->lag, LS_HIST_BUCKETS, 0.99, lo->lag_max_ns);
    }
    /* A writer that does the loop accounting writes closed= too; one that does not knows nothing of it. */
    /* Only loops with a close call (libuv's uv_loop_close) say whether they were closed. */
    lo->closed_known = l->has_closed;
    lo->closed = l->closed;
    static_library(p, lo);
  }
  return 0;
}

/* Still open at exit: identical handles are one entry with a count, in order of first appearance. */
static const struct ls_rd_open *open_base;

static int cmp_nullable(const char *a, const char *b) { return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL); }

/* The fd an entry waits on, and what it is: entries on different fds are different. */
static int cmp_open_fd(const struct ls_rd_open *x, const struct ls_rd_open *y) {
  if (x->has_fd != y->has_fd || x->fd != y->fd) return x->has_fd != y->has_fd ? x->has_fd - y->has_fd : x->fd < y->fd ? -1 : 1;
  int c = cmp_nullable(x->what, y->what);
  if (!c) c = cmp_nullable(x->addr, y->addr);
  if (!c) c = cmp_nullable(x->peer, y->peer);
  return c ? c : cmp_nullable(x->events, y->events);
}

static int cmp_open_key(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  const struct ls_rd_open *x = &open_base[i], *y = &open_base[j];
  if (x->loop != y->loop) return x->loop < y->loop ? -1 : 1;
  if (x->stack != y->stack) return x->stack < y->stack ? -1 : 1;
  int fx = x->active | x->ref << 1 | x->closing << 2 | x->has_active << 3 | x->has_ref << 4 | x->has_closing << 5;
  int fy = y->active | y->ref << 1 | y->closing << 2 | y->has_active << 3 | y->has_ref << 4 | y->has_closing << 5;
  if (fx != fy) return fx < fy ? -1 : 1;
  int c = strcmp(x->kind, y->kind);
  if (!c) c = cmp_open_fd(x, y);
  if (c) return c;
  return i < j ? -1 : i > j;
}

static bool same_open(const struct ls_rd_open *x, const struct ls_rd_open *y) {
  return x->loop == y->loop && x->stack == y->stack && x->active == y->active && x->ref == y->ref &&
         x->closing == y->closing && x->has_active == y->has_active && x->has_ref == y->has_ref &&
         x->has_closing == y->has_closing && strcmp(x->kind, y->kind) == 0 && cmp_open_fd(x, y) == 0;
}

static int cmp_open_first(const void *a, const void *b) {
  const struct lsm_open *x = a, *y = b;
  return x->h < y->h ? -1 : x->h > y->h;
}

/* n handles (H records) -> *out: identical ones merged, in order of first appearance. */
static int build_open_list(struct lsm_process *p, const struct ls_rd_open *handles, size_t n, struct lsm_open **out,
                           size_t *nout) {
  const struct ls_report *r = p->r;
  struct lsm_open *list = calloc(n ? n : 1, sizeof(*list));
  size_t *idx = malloc((n ? n : 1) * sizeof(*idx)), nl = 0;
  *out = list;
  *nout = 0;
  if (!list || !idx) {
    free(idx);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) idx[i] = i;
  open_base = handles;
  qsort(idx, n, sizeof(*idx), cmp_open_key);
  for (size_t k = 0; k < n; k++) {
    const struct ls_rd_open *h = &handles[idx[k]];
    if (nl > 0 && same_open(list[nl - 1].h, h)) {
      list[nl - 1].count++;
      continue;
    }
    list[nl++] = (struct lsm_open){.h = h, .count = 1}; /* the first of its kind: sorted by index last */
  }
  free(idx);
  qsort(list, nl, sizeof(*list), cmp_open_first);
  *nout = nl;
  for (size_t k = 0; k < nl; k++) {
    struct lsm_open *o = &list[k];
    o->loop = o->h->loop ? ls_report_loop(r, o->h->loop) : NULL;
    if (symbolize_stack(p->sym, ls_report_stack(r, o->h->stack), &o->stack) < 0) return -ENOMEM;
  }
  return 0;
}

static int build_open(struct lsm_process *p) {
  const struct ls_report *r = p->r;
  p->nopen_handles = r->nopen;
  p->nhang_open_handles = r->nhang_open;
  int rc = build_open_list(p, r->open, r->nopen, &p->open, &p->nopen);
  if (rc == 0) rc = build_open_list(p, r->hang_open, r->nhang_open, &p->hang_open, &p->nhang_open);
  return rc;
}

/* Thread findings are about a thread (its routine and creation stack); an unretrieved-error with a
 * status is about a request instead. */
static bool is_thread_finding(const struct ls_rd_finding *f) {
  return strcmp(f->category, "unjoined-thread") == 0 ||
         (strcmp(f->category, "unretrieved-error") == 0 && !f->has_status);
}

size_t lsm_function_base_len(const char *name) {
  static const char *const suffixes[] = {".constprop.", ".isra.", ".part.", ".cold", ".lto_priv.", ".localalias"};
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
    const char *at = strstr(name, suffixes[i]);
    if (at && (size_t)(at - name) < n) n = (size_t)(at - name);
  }
  return n;
}

const char *lsm_stack_kind(const struct lsm_finding *lf) {
  const char *c = lf->f->category ? lf->f->category : "";
  if (strcmp(c, "loop-stall") == 0) return "sampled";
  if (strcmp(c, "blocking-call") == 0 || strcmp(c, "wrong-thread") == 0 || strcmp(c, "loop-reentry") == 0)
    return "called";
  if (strcmp(c, "unclosed-resource") == 0 || is_thread_finding(lf->f)) return "created";
  return "registered";
}

int64_t lsm_exit_code(const struct ls_report *r) {
  if (r->exit_how && strcmp(r->exit_how, "signal") == 0) return r->exit_status;
  return r->exit_status & 0xff; /* the kernel keeps the low 8 bits of what exit() was given */
}

bool lsm_message_has_duration(const struct lsm_finding *lf) {
  const char *c = lf->f->category ? lf->f->category : "";
  return strcmp(c, "slow-callback") == 0 || strcmp(c, "pool-wait") == 0 || strcmp(c, "loop-stall") == 0;
}

/* "<uv write on_write (file.c:12)>", "<uv write>" without a callback, "<on_write ...>" without a kind.
 * strip: a suffix to drop from the kind (a wait site's " wait"). false when there is nothing to name. */
static bool repr(const struct lsm_finding *lf, const char *strip, char *buf, size_t len) {
  char who[1024] = "", kind[256] = "";
  if (lf->kind) {
    snprintf(kind, sizeof(kind), "%s", lf->kind);
    size_t n = strlen(kind), s = strip ? strlen(strip) : 0;
    if (s && n > s && strcmp(kind + n - s, strip) == 0) kind[n - s] = 0;
  }
  if (lf->has_cb) lsm_describe(&lf->cb, who, sizeof(who));
  if (!kind[0] && !who[0]) return false;
  snprintf(buf, len, "<%s%s%s>", kind, kind[0] && who[0] ? " " : "", who);
  return true;
}

/* " (3 requests)" when more than one. */
static const char *times(char *buf, size_t len, uint64_t count, const char *what) {
  buf[0] = 0;
  if (count > 1) snprintf(buf, len, " (%" PRIu64 " %ss)", count, what);
  return buf;
}

/* An unclosed-resource finding is about a loop given up (uv_loop_close returned UV_EBUSY) or, with
 * report_open_at_exit=1, about a handle merely open at exit. A writer that names the call says which;
 * without it, only the option can tell them apart. */
static bool gave_loop_up(const struct ls_rd_finding *f, const struct ls_report *r) {
  if (f->call) return strcmp(f->call, "uv_loop_close") == 0;
  for (size_t i = 0; i < r->nopts; i++)
    if (strcmp(r->opt_keys[i], "report_open_at_exit") == 0) return strcmp(r->opt_values[i], "0") == 0;
  return true;
}

static char *new_category_message(struct lsm_finding *lf) {
  const struct ls_rd_finding *f = lf->f;
  const struct ls_report *r = lf->proc->r;
  const char *c = f->category;
  char *msg = NULL, rp[1400], n[64] = ""; /* n: the count, when the message carries it */
  int rc = -1;
  if (strcmp(c, "wrong-thread") == 0 && f->call && f->other_tid) {
    const struct ls_rd_thread *t = ls_report_thread(r, f->tid);
    if (t && t->name && t->name[0])
      rc = asprintf(&msg, "Non-thread-safe call %s() from thread %s (tid %" PRIu64 ") while the loop runs in tid %" PRIu64,
                    f->call, t->name, f->tid, f->other_tid);
    else
      rc = asprintf(&msg, "Non-thread-safe call %s() from tid %" PRIu64 " while the loop runs in tid %" PRIu64, f->call,
                    f->tid, f->other_tid);
  } else if (strcmp(c, "loop-reentry") == 0 && f->other_tid) {
    const char *call = f->call ? f->call : "uv_run";
    if (f->tid == f->other_tid)
      rc = asprintf(&msg, "This event loop is already running: %s() called from inside one of its own callbacks (tid %" PRIu64 ")",
                    call, f->tid);
    else
      rc = asprintf(&msg, "This event loop is already running in tid %" PRIu64 ": %s() called from tid %" PRIu64, f->other_tid,
                    call, f->tid);
  } else if (strcmp(c, "never-run") == 0 && f->call && strcmp(f->call, "g_main_context_unref") == 0 &&
             repr(lf, NULL, rp, sizeof(rp))) { /* GLib: a one-shot source */
    rc = asprintf(&msg, "%s was never dispatched: its context was freed first%s", rp,
                  times(n, sizeof(n), f->count, "source"));
  } else if (strcmp(c, "never-run") == 0 && lf->kind && strcmp(lf->kind, "gtask") == 0 && repr(lf, NULL, rp, sizeof(rp))) {
    rc = asprintf(&msg, "%s was never run: its GTask was destroyed without ever returning (no g_task_return_*)%s", rp,
                  times(n, sizeof(n), f->count, "task"));
  } else if (strcmp(c, "never-run") == 0 && repr(lf, NULL, rp, sizeof(rp))) {
    rc = asprintf(&msg, "%s was never run: its request was still pending when the loop was closed or the process exited%s", rp,
                  times(n, sizeof(n), f->count, "request"));
  } else if (strcmp(c, "unclosed-resource") == 0 && lf->kind && f->call && strcmp(f->call, "event_base_free") == 0) {
    rc = asprintf(&msg, "%s still added when the program freed its base (event_base_free)%s", lf->kind,
                  times(n, sizeof(n), f->count, "event"));
  } else if (strcmp(c, "unclosed-resource") == 0 && lf->kind) {
    if (gave_loop_up(f, r))
      rc = asprintf(&msg, "%s handle still open when the program gave its loop up (uv_loop_close returned UV_EBUSY)%s",
                    lf->kind, times(n, sizeof(n), f->count, "handle"));
    else
      rc = asprintf(&msg, "%s handle still open when the process exited%s", lf->kind, times(n, sizeof(n), f->count, "handle"));
  } else if (strcmp(c, "unretrieved-error") == 0 && lf->kind && strcmp(lf->kind, "gtask") == 0 &&
             repr(lf, NULL, rp, sizeof(rp))) { /* GLib: asyncio's "Task exception was never retrieved" */
    rc = asprintf(&msg, "Task exception was never retrieved: the GTask of %s returned an error nobody propagated "
                        "(no g_task_propagate_* or g_task_had_error before it was destroyed)%s",
                  rp, times(n, sizeof(n), f->count, "task"));
  } else if (strcmp(c, "unretrieved-error") == 0 && f->has_status && (f->call || lf->kind)) {
    const char *name = lsm_status_name(f->status);
    char st[128];
    if (name) snprintf(st, sizeof(st), "%" PRId64 " (%s)", f->status, name);
    else snprintf(st, sizeof(st), "%" PRId64, f->status);
    if (lf->kind && strcmp(lf->kind, "bufferevent event") == 0) /* libevent: the error of a bufferevent */
      rc = asprintf(&msg, "a bufferevent failed with %s and no event callback was set to see it%s", st,
                    times(n, sizeof(n), f->count, "time"));
    else if (f->call)
      rc = asprintf(&msg, "%s() failed with %s and no callback was there to see it%s", f->call, st,
                    times(n, sizeof(n), f->count, "request"));
    else
      rc = asprintf(&msg, "%s request failed with %s and no callback was there to see it%s", lf->kind, st,
                    times(n, sizeof(n), f->count, "request"));
  } else if (strcmp(c, "pool-wait") == 0 && repr(lf, " wait", rp, sizeof(rp))) {
    char pool[96] = "";
    if (r->has_pool)
      snprintf(pool, sizeof(pool), " (pool size %" PRIu64 ", peak queue %" PRIu64 ")", r->pool_size, r->pool_peak_queue);
    rc = asprintf(&msg, "%s waited %.3f seconds for a pool thread%s", rp, (double)f->duration_ns / 1e9, pool);
  }
  if (rc < 0) return NULL;
  lf->count_in_message = n[0] != 0;
  return msg;
}

/* asyncio's words, with the names the symbolizer found. NULL: keep the recorded message. */
static char *rebuild_message(struct lsm_finding *lf, const struct ls_rd_thread *t) {
  const struct ls_rd_finding *f = lf->f;
  char who[1024], *msg = NULL;
  int rc = -1;
  if ((msg = new_category_message(lf)) != NULL) return msg;
  if (!lf->has_cb) return NULL;
  lsm_describe(&lf->cb, who, sizeof(who));
  if (strcmp(f->category, "slow-callback") == 0) {
    rc = asprintf(&msg, "Executing <%s%s%s> took %.3f seconds", lf->kind ? lf->kind : "", lf->kind ? " " : "", who,
                  (double)f->duration_ns / 1e9);
  } else if (is_thread_finding(f) && !f->has_site && (t || f->has_result)) {
    uint64_t result = f->has_result ? f->result : t->result;
    int64_t err = (int64_t)result;
    bool cancelled = result == UINT64_MAX || (t && t->how && strcmp(t->how, "cancelled") == 0);
    if (strcmp(f->category, "unjoined-thread") == 0)
      rc = asprintf(&msg, "Thread <%s> tid %" PRIu64 " finished with result 0x%" PRIx64
                          " but was never joined nor detached", who, f->tid, result);
    else if (cancelled)
      rc = asprintf(&msg, "Thread <%s> tid %" PRIu64 " was cancelled and never joined nor detached", who, f->tid);
    else if (err >= -4095 && err <= -1) {
      const char *name = strerrorname_np((int)-err);
      rc = asprintf(&msg, "Thread <%s> tid %" PRIu64 " ended with error %" PRId64 " (%s) that nobody retrieved: "
                          "never joined nor detached", who, f->tid, err, name ? name : "unknown errno");
    }
  }
  return rc < 0 ? NULL : msg;
}

/* Samples are recorded per instruction; a reader wants them per source line: two addresses of one
 * line (a loop's compare and its increment) are one entry. Without a line, per address. */
static bool same_line(const struct ls_frame *a, const struct ls_frame *b) {
  if (a->function && b->function && a->file && b->file && a->line && b->line)
    return a->line == b->line && strcmp(a->function, b->function) == 0 && strcmp(a->file, b->file) == 0;
  return a->address == b->address;
}

static int by_count_desc(const void *x, const void *y) {
  const struct lsm_sample *a = x, *b = y;
  return a->count < b->count ? 1 : a->count > b->count ? -1 : 0;
}

/* The shim's loop-stall message names the most sampled code as the running process could ("most samples
 * in <prog+0x139b>"); the report has its symbol: "most samples in <spin_here (server.c:22)>", a GCC clone
 * by its function's name. NULL: nothing to rename. */
static char *named_message(const struct lsm_finding *lf) {
  static const char mark[] = "most samples in <";
  const char *msg = lf->f->message, *at = msg ? strstr(msg, mark) : NULL;
  const char *close = at ? strchr(at, '>') : NULL;
  if (!close || !lf->nsamples || !lf->samples[0].frame.function) return NULL;
  const struct ls_frame *f = &lf->samples[0].frame;
  char name[600];
  int n = (int)lsm_function_base_len(f->function);
  if (f->file && f->line) snprintf(name, sizeof(name), "%.*s (%s:%u)", n, f->function, f->file, f->line);
  else snprintf(name, sizeof(name), "%.*s", n, f->function);
  char *out = NULL;
  if (asprintf(&out, "%.*s%s%s", (int)(at + sizeof(mark) - 1 - msg), msg, name, close) < 0) return NULL;
  return out;
}

static int build_finding(struct lsm_process *p, const struct ls_rd_finding *f, struct lsm_finding *lf) {
  const struct ls_report *r = p->r;
  const struct ls_rd_site *site = f->has_site ? ls_report_site(r, f->site) : NULL;
  const struct ls_rd_thread *t = is_thread_finding(f) ? ls_report_thread(r, f->tid) : NULL;
  lf->f = f;
  lf->proc = p;
  lf->kind = f->kind ? f->kind : site ? site->kind : NULL;
  uint64_t cb = f->has_cb ? f->cb : site ? site->cb : t ? t->routine : 0;
  lf->has_cb = cb != 0;
  if (lf->has_cb) lf->cb = function_frame(p->sym, cb);
  uint64_t stack = f->has_stack ? f->stack : site ? site->stack : t ? t->stack : 0;
  if (symbolize_stack(p->sym, ls_report_stack(r, stack), &lf->stack) < 0) return -ENOMEM;
  if (f->nsamples) {
    lf->samples = calloc(f->nsamples, sizeof(*lf->samples));
    if (!lf->samples) return -ENOMEM;
    for (size_t i = 0; i < f->nsamples; i++) {
      struct ls_frame fr = function_frame(p->sym, f->samples[i].ip);
      size_t j = 0;
      while (j < lf->nsamples && !same_line(&lf->samples[j].frame, &fr)) j++;
      if (j == lf->nsamples) lf->samples[lf->nsamples++].frame = fr;
      lf->samples[j].count += f->samples[i].count;
    }
    qsort(lf->samples, lf->nsamples, sizeof(*lf->samples), by_count_desc);
  }
  lf->message = rebuild_message(lf, t);
  if (!lf->message) lf->message = named_message(lf);
  if (!lf->message) lf->message = strdup(f->message ? f->message : "");
  return lf->message ? 0 : -ENOMEM;
}

/* allow_blocking=FUNC[,FUNC] (the process's own options): a blocking call made by one of those functions
 * is not a finding. The shim silenced what it could name with dladdr; here every function has its name.
 * The function that made the call is the innermost frame and the inlined frames around it. */
static bool allowed_blocking(const struct ls_report *r, const struct lsm_finding *lf) {
  if (!lf->f->category || strcmp(lf->f->category, "blocking-call") != 0) return false;
  const char *list = NULL;
  for (size_t i = 0; i < r->nopts; i++)
    if (strcmp(r->opt_keys[i], "allow_blocking") == 0) list = r->opt_values[i];
  if (!list || !*list) return false;
  for (size_t f = 0; f < lf->stack.n; f++) {
    const char *fn = lf->stack.frames[f].function;
    char pat[256];
    for (const char *s = list; fn && *s;) {
      size_t n = strcspn(s, ",");
      if (n && n < sizeof(pat)) {
        memcpy(pat, s, n);
        pat[n] = '\0';
        if (fnmatch(pat, fn, 0) == 0) return true;
      }
      s += n;
      if (*s) s++;
    }
    if (!lf->stack.frames[f].inlined) break;
  }
  return false;
}

static void free_finding(struct lsm_finding *lf) {
  free(lf->stack.frames);
  free(lf->samples);
  free(lf->message);
}

static int build_process(struct lsm_process *p, bool debuginfod) {
  const struct ls_report *r = p->r;
  p->sym = ls_sym_new(r, debuginfod);
  if (!p->sym) return -ENOMEM;
  int rc = build_threads(p);
  if (rc == 0) rc = build_sites(p);
  if (rc == 0) rc = build_loops(p);
  if (rc == 0) rc = build_open(p);
  if (rc < 0) return rc;
  p->incidents = calloc(r->nincidents ? r->nincidents : 1, sizeof(*p->incidents));
  if (!p->incidents) return -ENOMEM;
  for (size_t i = 0; i < r->nincidents; i++) {
    const struct ls_rd_incident *k = &r->incidents[i];
    if (k->what && strcmp(k->what, "write-failed") == 0) p->incomplete = true;
    if ((rc = symbolize_ips(p->sym, k->ips, k->nips, true, false, &p->incidents[i])) < 0) return rc;
  }
  if (r->truncated || r->error) p->incomplete = true;
  p->findings = calloc(r->nfindings ? r->nfindings : 1, sizeof(*p->findings));
  if (!p->findings) return -ENOMEM;
  for (size_t i = 0; i < r->nfindings; i++) {
    struct lsm_finding *lf = &p->findings[p->nfindings];
    memset(lf, 0, sizeof(*lf));
    if ((rc = build_finding(p, &r->findings[i], lf)) < 0) {
      free_finding(lf);
      return rc;
    }
    if (allowed_blocking(r, lf)) free_finding(lf);
    else p->nfindings++;
  }
  return 0;
}

int lsm_build(struct lsm *m, struct ls_report *reports, size_t n, bool debuginfod) {
  memset(m, 0, sizeof(*m));
  m->procs = calloc(n ? n : 1, sizeof(*m->procs));
  if (!m->procs) return -ENOMEM;
  size_t total = 0;
  for (size_t i = 0; i < n; i++, m->nprocs++) {
    m->procs[i].r = &reports[i];
    if (reports[i].truncated || reports[i].error) m->truncated = true;
    int rc = build_process(&m->procs[i], debuginfod);
    if (rc < 0) return rc;
    total += m->procs[i].nfindings;
  }
  m->findings = calloc(total ? total : 1, sizeof(*m->findings));
  if (!m->findings) return -ENOMEM;
  for (size_t i = 0; i < m->nprocs; i++)
    for (size_t j = 0; j < m->procs[i].nfindings; j++) m->findings[m->nfindings++] = &m->procs[i].findings[j];
  return 0;
}

static void free_process(struct lsm_process *p) {
  const struct ls_report *r = p->r;
  if (p->threads)
    for (size_t i = 0; i < r->nthreads; i++) free(p->threads[i].stack.frames);
  if (p->sites)
    for (size_t i = 0; i < r->nsites; i++) free(p->sites[i].stack.frames);
  for (size_t i = 0; i < p->nfindings; i++) {
    free_finding(&p->findings[i]);
  }
  if (p->open)
    for (size_t i = 0; i < p->nopen; i++) free(p->open[i].stack.frames);
  if (p->hang_open)
    for (size_t i = 0; i < p->nhang_open; i++) free(p->hang_open[i].stack.frames);
  free(p->hang_open);
  if (p->incidents)
    for (size_t i = 0; i < p->r->nincidents; i++) free(p->incidents[i].frames);
  free(p->incidents);
  free(p->threads);
  free(p->sites);
  free(p->loops);
  free(p->open);
  free(p->findings);
  ls_sym_free(p->sym);
}

void lsm_free(struct lsm *m) {
  for (size_t i = 0; i < m->nprocs; i++) free_process(&m->procs[i]);
  free(m->procs);
  free(m->findings);
  for (size_t i = 0; i < m->ngroups; i++) free(m->groups[i].procs);
  free(m->groups);
  memset(m, 0, sizeof(*m));
}
