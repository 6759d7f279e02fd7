/* JSON output: DESIGN.md section 6 is the floor, and field names are a contract (tests, CI scripts).
 * Unknown values are null, never invented: a frame without symbols has "function": null and the
 * module + offset to look it up elsewhere. Numbers are integers; addresses are "0x..." strings. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <string.h>

#include "json_out.h"
#include "render.h"
#include "suppress.h"

static void line_field(struct json *j, unsigned line) {
  if (line) json_u64(j, "line", line);
  else json_null(j, "line");
}

static void frame_fields(struct json *j, const struct ls_frame *f) {
  json_string(j, "function", f->function);
  json_string(j, "file", f->file);
  line_field(j, f->line);
  json_string(j, "path", f->path);
  json_string(j, "module", f->module);
  json_hex(j, "address", f->address);
  json_hex(j, "offset", f->offset);
}

static void frame(struct json *j, const char *key, const struct ls_frame *f) {
  json_begin_object(j, key);
  frame_fields(j, f);
  json_bool(j, "inlined", f->inlined);
  json_end_object(j);
}

/* A callback or thread routine: the function and where it is defined. */
static void location(struct json *j, const char *key, bool has, const struct ls_frame *f) {
  if (!has) {
    json_null(j, key);
    return;
  }
  json_begin_object(j, key);
  frame_fields(j, f);
  json_end_object(j);
}

static void stack(struct json *j, const struct lsm_stack *s) {
  json_begin_array(j, "stack");
  for (size_t i = 0; i < s->n; i++) frame(j, NULL, &s->frames[i]);
  json_end_array(j);
}

static void exit_info(struct json *j, const struct ls_report *r) {
  if (!r->has_exit) {
    json_null(j, "exit");
    return;
  }
  json_begin_object(j, "exit");
  json_string(j, "how", r->exit_how);
  json_i64(j, "status", lsm_exit_code(r));
  if (lsm_exit_code(r) != r->exit_status) json_i64(j, "status_passed", r->exit_status); /* exit(-1): 255, -1 */
  json_end_object(j);
}

static void thread(struct json *j, const struct lsm_thread *t) {
  const struct ls_rd_thread *rt = t->t;
  json_begin_object(j, NULL);
  json_u64(j, "tid", rt->tid);
  json_string(j, "name", rt->name);
  json_string(j, "role", rt->role);
  json_u64(j, "parent", rt->parent);
  json_string(j, "state", t->state);
  if (rt->ended) json_hex(j, "result", rt->result);
  else json_null(j, "result");
  json_string(j, "how", rt->how);
  json_u64(j, "cpu_ns", rt->cpu_ns);
  json_u64(j, "start_ns", rt->start_ns);
  if (rt->ended) json_u64(j, "end_ns", rt->end_ns);
  else json_null(j, "end_ns");
  if (rt->joined) json_u64(j, "joined_by", rt->joined_by);
  location(j, "start_routine", t->has_routine, &t->routine);
  stack(j, &t->stack);
  json_end_object(j);
}

static void opt_u64(struct json *j, const char *key, bool has, uint64_t v) {
  if (has) json_u64(j, key, v);
  else json_null(j, key);
}

static void opt_bool(struct json *j, const char *key, bool has, bool v) {
  if (has) json_bool(j, key, v);
  else json_null(j, key);
}

static void loop(struct json *j, const struct lsm_loop *lo) {
  const struct ls_rd_loop *l = lo->l;
  json_begin_object(j, NULL);
  json_string(j, "library", l->lib);
  json_u64(j, "thread", l->thread);
  json_u64(j, "iterations", l->iterations);
  json_u64(j, "callbacks", l->callbacks);
  json_hex(j, "address", l->addr);
  opt_u64(j, "poll_ns", l->has_poll_ns, l->poll_ns);
  opt_u64(j, "callback_ns", l->has_callback_ns, l->callback_ns);
  opt_u64(j, "long_polls", l->has_long_polls, l->long_polls);
  opt_u64(j, "file_io", l->has_file_io, l->file_io);
  opt_u64(j, "file_io_ns", l->has_file_io, l->file_io_ns);
  opt_u64(j, "preempted_stalls", l->has_preempted_stalls, l->preempted_stalls);
  opt_u64(j, "lag_p50_ns", lo->has_lag, lo->lag_p50_ns);
  opt_u64(j, "lag_p99_ns", lo->has_lag, lo->lag_p99_ns);
  opt_u64(j, "lag_max_ns", lo->has_lag, lo->lag_max_ns);
  opt_bool(j, "closed", lo->closed_known, lo->closed);
  if (lo->has_poll_site) frame(j, "poll_site", &lo->poll_site);
  if (lo->static_lib) {
    json_string(j, "static_library", lo->static_lib);
    json_string(j, "static_module", lo->static_module);
  }
  json_end_object(j);
}

static void still_open(struct json *j, const struct lsm_open *o) {
  json_begin_object(j, NULL);
  json_string(j, "kind", o->h->kind);
  if (o->loop) json_hex(j, "loop", o->loop->addr);
  else json_null(j, "loop");
  opt_bool(j, "active", o->h->has_active, o->h->active);
  opt_bool(j, "ref", o->h->has_ref, o->h->ref);
  opt_bool(j, "closing", o->h->has_closing, o->h->closing);
  opt_u64(j, "fd", o->h->has_fd, o->h->fd);
  json_string(j, "fd_kind", o->h->what);
  json_string(j, "address", o->h->addr);
  json_string(j, "peer", o->h->peer);
  json_string(j, "events", o->h->events);
  json_u64(j, "count", o->count);
  stack(j, &o->stack);
  json_end_object(j);
}

/* `loopscope run --timeout`: every thread and the handles open when the dump was asked for; null
 * when the process was not dumped. */
static void hang(struct json *j, const struct lsm_process *p) {
  const struct ls_report *r = p->r;
  if (!r->has_hang) {
    json_null(j, "hang");
    return;
  }
  json_begin_object(j, "hang");
  json_string(j, "reason", r->hang_reason);
  json_begin_array(j, "threads");
  for (size_t i = 0; i < r->nhang_threads; i++) {
    const struct ls_rd_hang_thread *w = &r->hang_threads[i];
    const struct ls_rd_thread *t = ls_report_thread(r, w->tid);
    json_begin_object(j, NULL);
    json_u64(j, "tid", w->tid);
    json_string(j, "name", w->name);
    json_string(j, "role", t ? t->role : NULL);
    json_string(j, "state", w->state);
    json_string(j, "syscall", w->syscall);
    json_end_object(j);
  }
  json_end_array(j);
  json_begin_array(j, "open");
  for (size_t i = 0; i < p->nhang_open; i++) still_open(j, &p->hang_open[i]);
  json_end_array(j);
  json_end_object(j);
}

static void pool(struct json *j, const struct ls_report *r) {
  if (!r->has_pool) {
    json_null(j, "pool");
    return;
  }
  json_begin_object(j, "pool");
  json_u64(j, "size", r->pool_size);
  json_u64(j, "peak_queue", r->pool_peak_queue);
  if (r->pool_has_pending) {
    json_u64(j, "pending_at_end", r->pool_pending);
    json_u64(j, "peak_pending", r->pool_peak_pending);
  }
  json_end_object(j);
}

static void site(struct json *j, const struct lsm_site *s) {
  json_begin_object(j, NULL);
  json_u64(j, "id", s->s->id);
  json_string(j, "kind", s->s->kind);
  location(j, "callback", true, &s->cb);
  stack(j, &s->stack);
  json_u64(j, "count", s->s->count);
  json_u64(j, "total_ns", s->s->total_ns);
  json_u64(j, "max_ns", s->s->max_ns);
  json_u64(j, "p50_ns", s->p50_ns);
  json_u64(j, "p99_ns", s->p99_ns);
  json_end_object(j);
}

/* What happened to loopscope itself: {"what": "fd-lost" | "write-failed" | "internal-error", ...}. */
static void incident(struct json *j, const struct ls_rd_incident *k, const struct lsm_stack *st) {
  json_begin_object(j, NULL);
  json_string(j, "what", k->what);
  if (strcmp(k->what, "fd-lost") == 0) {
    json_u64(j, "fd", k->fd);
    json_u64(j, "count", k->count);
  } else if (strcmp(k->what, "write-failed") == 0) {
    json_i64(j, "errno", k->error);
    json_string(j, "error", k->error > 0 && k->error < 4096 ? strerrorname_np((int)k->error) : NULL);
    json_u64(j, "at", k->at);
    json_u64(j, "lost_records", k->lost);
  } else if (strcmp(k->what, "internal-error") == 0) {
    json_u64(j, "signal", k->sig);
    json_string(j, "signal_name", k->sig > 0 && k->sig < 65 ? sigabbrev_np((int)k->sig) : NULL);
    json_hex(j, "address", k->addr);
    json_string(j, "hook", k->hook);
    if (st->n) frame(j, "frame", &st->frames[0]);
    else json_null(j, "frame");
    stack(j, st);
  }
  json_end_object(j);
}

static void process(struct json *j, const struct lsm_process *p) {
  const struct ls_report *r = p->r;
  json_begin_object(j, NULL);
  json_u64(j, "pid", r->pid);
  json_u64(j, "ppid", r->ppid);
  json_begin_array(j, "argv");
  for (size_t i = 0; i < r->argc; i++) json_string(j, NULL, r->argv[i]);
  json_end_array(j);
  json_string(j, "exe", r->exe);
  json_u64(j, "start_ns", r->start_ns);
  json_u64(j, "seq", r->seq);
  if (r->tool) json_string(j, "tool", r->tool);
  json_string(j, "report", r->path);
  json_bool(j, "truncated", r->truncated);
  if (r->truncated) json_u64(j, "truncated_at", r->truncated_at);
  if (r->error) json_string(j, "error", r->error);
  json_bool(j, "incomplete", p->incomplete);
  exit_info(j, r);
  json_begin_array(j, "incidents");
  for (size_t i = 0; i < r->nincidents; i++) incident(j, &r->incidents[i], &p->incidents[i]);
  json_end_array(j);
  json_begin_object(j, "options");
  for (size_t i = 0; i < r->nopts; i++) json_string(j, r->opt_keys[i], r->opt_values[i]);
  json_end_object(j);
  json_begin_array(j, "threads");
  for (size_t i = 0; i < r->nthreads; i++) thread(j, &p->threads[i]);
  json_end_array(j);
  json_begin_array(j, "loops");
  for (size_t i = 0; i < r->nloops; i++) loop(j, &p->loops[i]);
  json_end_array(j);
  pool(j, r);
  json_begin_array(j, "sites");
  for (size_t i = 0; i < r->nsites; i++) site(j, &p->sites[i]);
  json_end_array(j);
  json_begin_array(j, "still_open_at_exit");
  for (size_t i = 0; i < p->nopen; i++) still_open(j, &p->open[i]);
  json_end_array(j);
  hang(j, p);
  json_begin_array(j, "warnings");
  for (size_t i = 0; i < r->nwarnings; i++) json_string(j, NULL, r->warnings[i]);
  json_end_array(j);
  json_end_object(j);
}

static void finding(struct json *j, const struct lsm_group *g) {
  const struct lsm_finding *lf = g->f;
  const struct ls_rd_finding *f = lf->f;
  json_begin_object(j, NULL);
  json_string(j, "category", f->category);
  json_string(j, "severity", f->severity);
  json_u64(j, "pid", lf->proc->r->pid);
  json_u64(j, "tid", f->tid);
  json_string(j, "message", lf->message);
  json_u64(j, "count", g->count);
  json_u64(j, "duration_ns", g->duration_ns);
  json_u64(j, "total_ns", g->total_ns);
  json_begin_array(j, "processes");
  for (size_t i = 0; i < g->nprocs; i++) {
    json_begin_object(j, NULL);
    json_u64(j, "pid", g->procs[i].pid);
    json_u64(j, "count", g->procs[i].count);
    json_end_object(j);
  }
  json_end_array(j);
  if (g->supp) json_string(j, "suppression", g->supp->text);
  json_string(j, "kind", lf->kind);
  location(j, "callback", lf->has_cb, &lf->cb);
  if (f->call) json_string(j, "call", f->call);
  if (f->has_result) json_hex(j, "result", f->result);
  if (f->other_tid) json_u64(j, "other_tid", f->other_tid);
  if (f->has_status) {
    json_i64(j, "status", f->status);
    json_string(j, "status_name", lsm_status_name(f->status));
  }
  if (f->has_site) json_u64(j, "site", f->site);
  if (f->has_cpu) json_u64(j, "cpu_ns", f->cpu_ns);
  if (lf->nsamples) {
    json_begin_array(j, "samples");
    for (size_t i = 0; i < lf->nsamples; i++) {
      json_begin_object(j, NULL);
      json_begin_object(j, "frame");
      frame_fields(j, &lf->samples[i].frame);
      json_end_object(j);
      json_u64(j, "count", lf->samples[i].count);
      json_end_object(j);
    }
    json_end_array(j);
  }
  json_string(j, "stack_kind", lsm_stack_kind(lf));
  stack(j, &lf->stack);
  json_end_object(j);
}

void render_json(FILE *out, const struct lsm *m) {
  struct json j;
  json_init(&j, out);
  json_begin_object(&j, NULL);
  json_u64(&j, "format", 1);
  json_bool(&j, "truncated", m->truncated);
  json_begin_array(&j, "processes");
  for (size_t i = 0; i < m->nprocs; i++) process(&j, &m->procs[i]);
  json_end_array(&j);
  json_begin_array(&j, "findings");
  for (size_t i = 0; i < m->ngroups; i++)
    if (!m->groups[i].supp) finding(&j, &m->groups[i]);
  json_end_array(&j);
  json_begin_array(&j, "suppressed");
  for (size_t i = 0; i < m->ngroups; i++)
    if (m->groups[i].supp) finding(&j, &m->groups[i]);
  json_end_array(&j);
  json_end_object(&j);
  json_finish(&j);
}
