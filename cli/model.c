/* Joins each report with its symbols and rebuilds finding messages with real names. The shim logs
 * live lines with what the dynamic symbol table knows; the report names everything. */
#define _GNU_SOURCE
#include "model.h"

#include <errno.h>
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

/* Every recorded frame is a return address; each may expand into inlined frames. */
static int symbolize_stack(struct ls_symbolizer *sym, const struct ls_rd_stack *st, struct lsm_stack *out) {
  out->frames = NULL;
  out->n = 0;
  if (!st || st->n == 0) return 0;
  size_t cap = st->n;
  out->frames = malloc(cap * sizeof(*out->frames));
  if (!out->frames) return -ENOMEM;
  for (size_t i = 0; i < st->n; i++) {
    const struct ls_frame *fr;
    size_t n = ls_sym_lookup(sym, st->ips[i], true, &fr);
    if (out->n + n > cap) {
      cap = (out->n + n) * 2;
      struct ls_frame *nf = realloc(out->frames, cap * sizeof(*nf));
      if (!nf) return -ENOMEM;
      out->frames = nf;
    }
    memcpy(out->frames + out->n, fr, n * sizeof(*fr));
    out->n += n;
  }
  return 0;
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

static bool is_thread_category(const char *c) {
  return strcmp(c, "unjoined-thread") == 0 || strcmp(c, "unretrieved-error") == 0;
}

/* asyncio's words, with the names the symbolizer found. NULL: keep the recorded message. */
static char *rebuild_message(const struct lsm_finding *lf, const struct ls_rd_thread *t) {
  const struct ls_rd_finding *f = lf->f;
  char who[1024], *msg = NULL;
  int rc = -1;
  if (!lf->has_cb) return NULL;
  lsm_describe(&lf->cb, who, sizeof(who));
  if (strcmp(f->category, "slow-callback") == 0) {
    rc = asprintf(&msg, "Executing <%s%s%s> took %.3f seconds", lf->kind ? lf->kind : "", lf->kind ? " " : "", who,
                  (double)f->duration_ns / 1e9);
  } else if (is_thread_category(f->category) && !f->has_site && (t || f->has_result)) {
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

static int build_finding(struct lsm_process *p, const struct ls_rd_finding *f, struct lsm_finding *lf) {
  const struct ls_report *r = p->r;
  const struct ls_rd_site *site = f->has_site ? ls_report_site(r, f->site) : NULL;
  const struct ls_rd_thread *t = is_thread_category(f->category) ? ls_report_thread(r, f->tid) : NULL;
  lf->f = f;
  lf->proc = p;
  lf->kind = f->kind ? f->kind : site ? site->kind : NULL;
  uint64_t cb = f->has_cb ? f->cb : site ? site->cb : t ? t->routine : 0;
  lf->has_cb = cb != 0;
  if (lf->has_cb) lf->cb = function_frame(p->sym, cb);
  uint64_t stack = f->has_stack ? f->stack : site ? site->stack : t ? t->stack : 0;
  if (symbolize_stack(p->sym, ls_report_stack(r, stack), &lf->stack) < 0) return -ENOMEM;
  lf->message = rebuild_message(lf, t);
  if (!lf->message) lf->message = strdup(f->message ? f->message : "");
  return lf->message ? 0 : -ENOMEM;
}

static int build_process(struct lsm_process *p, bool debuginfod) {
  const struct ls_report *r = p->r;
  p->sym = ls_sym_new(r, debuginfod);
  if (!p->sym) return -ENOMEM;
  int rc = build_threads(p);
  if (rc == 0) rc = build_sites(p);
  if (rc < 0) return rc;
  p->findings = calloc(r->nfindings ? r->nfindings : 1, sizeof(*p->findings));
  if (!p->findings) return -ENOMEM;
  for (size_t i = 0; i < r->nfindings; i++, p->nfindings++)
    if ((rc = build_finding(p, &r->findings[i], &p->findings[i])) < 0) return rc;
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
    free(p->findings[i].stack.frames);
    free(p->findings[i].message);
  }
  free(p->threads);
  free(p->sites);
  free(p->findings);
  ls_sym_free(p->sym);
}

void lsm_free(struct lsm *m) {
  for (size_t i = 0; i < m->nprocs; i++) free_process(&m->procs[i]);
  free(m->procs);
  free(m->findings);
  memset(m, 0, sizeof(*m));
}
