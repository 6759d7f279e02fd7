/* Text output for a person at a terminal, in asyncio's debug-log words: a summary per process, then
 * each finding with the stack where its callback or thread was created, "most recent call last".
 * Every string from a report is untrusted: control characters are shown escaped, so a thread name
 * cannot forge lines or send terminal escape sequences. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

#define TOP_SITES 10
#define TOP_OPEN 100 /* entries of "still open at exit" shown; the JSON has them all */

/* Where lines go. prefix_all: every line starts with "loopscope" (under `loopscope run` the output
 * shares stderr with the program's, and a reader or a test must be able to tell ours apart). */
struct tout {
  FILE *f;
  bool prefix_all, color;
  uint64_t timeout_ms; /* the --timeout that ended the run; 0 when not known */
  unsigned verbosity;  /* render_opts' */
  uint64_t signaled_pid;
  int signal;
};

/* Writes s with control characters escaped. */
static void put_escaped(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\x%02x", *p);
    else fputc(*p, f);
  }
}

/* Formats one output line, escapes control characters in it, and ends it with a newline.
 * color: when not NULL, the line starts with "loopscope: ", then `word` in that color (the escape
 * sequences raw, the word itself escaped like any text), then the formatted rest. */
static void vline(struct tout *o, const char *color, const char *word, const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) return;
  if (color) {
    fputs("loopscope: ", o->f);
    fputs(color, o->f);
    put_escaped(o->f, word);
    fputs("\033[0m", o->f);
  } else if (o->prefix_all && strncmp(s, "loopscope:", 10) != 0) {
    fputs(s[0] ? "loopscope: " : "loopscope:", o->f);
  }
  put_escaped(o->f, s);
  fputc('\n', o->f);
  free(s);
}

__attribute__((format(printf, 2, 3))) static void line(struct tout *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vline(o, NULL, NULL, fmt, ap);
  va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void line_colored(struct tout *o, const char *color, const char *word,
                                                               const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vline(o, color, word, fmt, ap);
  va_end(ap);
}

static const char *str(const char *s) { return s ? s : "?"; }

/* argv as a shell would need it typed, so a person can copy it. */
static char *join_argv(const struct ls_report *r) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  for (size_t i = 0; i < r->argc; i++) {
    const char *a = r->argv[i];
    if (i) fputc(' ', f);
    if (a[0] && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") == strlen(a)) {
      fputs(a, f);
      continue;
    }
    fputc('\'', f);
    for (; *a; a++) {
      if (*a == '\'') fputs("'\\''", f);
      else fputc(*a, f);
    }
    fputc('\'', f);
  }
  fclose(f);
  return buf;
}

static void exit_line(struct tout *out, const struct ls_report *r) {
  if (!r->has_exit && r->has_hang) {
    line(out, "  ended: no exit record (a signal ended it after the hang dump, as --timeout does)");
    return;
  }
  if (!r->has_exit && out->signal && r->pid == out->signaled_pid) {
    const char *name = sigabbrev_np(out->signal);
    line(out, "  ended: killed by signal %d%s%s%s (the process could not write its exit; its aggregates are from the "
              "last flush)",
         out->signal, name ? " (SIG" : "", name ? name : "", name ? ")" : "");
    return;
  }
  if (!r->has_exit) {
    line(out, "  ended: no exit record (killed, crashed, or still running when the report was read)");
    return;
  }
  const char *how = str(r->exit_how);
  if (strcmp(how, "signal") == 0) {
    const char *name = r->exit_status > 0 && r->exit_status < 65 ? sigabbrev_np((int)r->exit_status) : NULL;
    line(out, "  ended: killed by signal %" PRId64 "%s%s%s", r->exit_status, name ? " (SIG" : "", name ? name : "",
         name ? ")" : "");
  } else if (strcmp(how, "exec") == 0) {
    line(out, "  ended: replaced by execve (the new image has its own report)");
  } else if (lsm_exit_code(r) != r->exit_status) {
    line(out, "  ended: %s with status %" PRId64 " (the program passed %" PRId64 ")", how, lsm_exit_code(r),
         r->exit_status);
  } else {
    line(out, "  ended: %s with status %" PRId64, how, r->exit_status);
  }
}

/* A thread that ended and was joined or detached: nothing left to say about it but that it was there. */
static bool thread_done(const struct lsm_thread *t) {
  return t->t->ended && (strcmp(t->state, "joined") == 0 || strcmp(t->state, "detached") == 0);
}

static void threads(struct tout *out, const struct lsm_process *p) {
  const struct ls_report *r = p->r;
  if (r->nthreads == 0) return;
  size_t joined = 0, detached = 0;
  for (size_t i = 0; i < r->nthreads; i++)
    if (thread_done(&p->threads[i])) strcmp(p->threads[i].state, "joined") == 0 ? joined++ : detached++;
  bool fold = out->verbosity < 2 && joined + detached > 0;
  char folded[96] = "";
  if (fold)
    snprintf(folded, sizeof(folded), "%zu finished and %s%s%s", joined + detached, joined ? "joined" : "",
             joined && detached ? " or " : "", detached ? "detached" : "");
  if (out->verbosity == 0) { /* one line: how many, and those that are not done */
    line(out, "  threads: %zu (%s%s%zu still running or not collected)", r->nthreads, folded, fold ? ", " : "",
         r->nthreads - joined - detached);
    return;
  }
  line(out, "  threads (%zu)%s%s:", r->nthreads, fold ? ", " : "", folded);
  for (size_t i = 0; i < r->nthreads; i++) {
    const struct lsm_thread *t = &p->threads[i];
    if (fold && thread_done(t)) continue;
    char routine[1024] = "", result[64] = "";
    if (t->has_routine) {
      char d[900];
      lsm_describe(&t->routine, d, sizeof(d));
      snprintf(routine, sizeof(routine), ", runs %s", d);
    }
    if (t->t->ended) snprintf(result, sizeof(result), ", result 0x%" PRIx64, t->t->result);
    /* "running" in a report that has an exit record means: still running when the process ended. */
    bool at_exit = r->has_exit && strcmp(t->state, "running") == 0;
    line(out, "    tid %-7" PRIu64 " %-16s %-8s %s%s%s%s", t->t->tid, str(t->t->name), str(t->t->role), t->state,
         at_exit ? " at exit" : "", result, routine);
  }
}

/* "; 1.204 s polling, 12.3 ms in callbacks; lag p50 12.0 us, p99 1.5 ms; 1 poll took >= 1 s (closed)":
 * each part only when the report has it (older writers have none of them). */
static void loop_accounting(const struct lsm_loop *lo, char *buf, size_t len) {
  const struct ls_rd_loop *l = lo->l;
  char a[32], b[32];
  size_t n = 0;
  buf[0] = 0;
#define APPEND(...) (n < len ? n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__) : 0)
  if (l->has_poll_ns && l->has_callback_ns) {
    lsm_duration(l->poll_ns, a, sizeof(a));
    lsm_duration(l->callback_ns, b, sizeof(b));
    APPEND("; %s polling, %s in callbacks", a, b);
  } else if (l->has_poll_ns) {
    lsm_duration(l->poll_ns, a, sizeof(a));
    APPEND("; %s polling", a);
  } else if (l->has_callback_ns) {
    lsm_duration(l->callback_ns, b, sizeof(b));
    APPEND("; %s in callbacks", b);
  }
  if (lo->has_lag) {
    lsm_duration(lo->lag_p50_ns, a, sizeof(a));
    lsm_duration(lo->lag_p99_ns, b, sizeof(b));
    APPEND("; lag p50 %s, p99 %s", a, b);
  }
  if (l->has_long_polls && l->long_polls == 0) APPEND("; no poll took >= 1 s");
  else if (l->has_long_polls) APPEND("; %" PRIu64 " poll%s took >= 1 s", l->long_polls, l->long_polls == 1 ? "" : "s");
  if (l->has_file_io && l->file_io) {
    lsm_duration(l->file_io_ns, a, sizeof(a));
    APPEND("; %" PRIu64 " regular-file I/O call%s took %s", l->file_io, l->file_io == 1 ? "" : "s", a);
  }
  if (l->preempted_stalls)
    APPEND("; %" PRIu64 " stall%s while preempted (a busy machine, not findings)", l->preempted_stalls,
           l->preempted_stalls == 1 ? "" : "s");
  if (lo->closed_known) APPEND(" %s", lo->closed ? "(closed)" : "(never closed)");
#undef APPEND
}

static void loops(struct tout *out, const struct lsm_process *p) {
  const struct ls_report *r = p->r;
  if (r->nloops == 0) return;
  line(out, "  loops:");
  for (size_t i = 0; i < r->nloops; i++) {
    const struct ls_rd_loop *l = &r->loops[i];
    char acc[512];
    loop_accounting(&p->loops[i], acc, sizeof(acc));
    char where[48] = "never run"; /* a loop created but never run has no thread */
    if (l->thread) snprintf(where, sizeof(where), "on tid %" PRIu64, l->thread);
    const struct lsm_loop *g = &p->loops[i];
    char site[900];
    if (g->has_poll_site) lsm_describe(&g->poll_site, site, sizeof(site));
    if (!l->has_callback_ns && l->callbacks == 0 && g->has_poll_site) /* a generic loop, named by its polling line */
      line(out, "    %s loop in %s %s: %" PRIu64 " iterations (callbacks not seen: no adapter)%s", str(l->lib), site, where,
           l->iterations, acc);
    else if (!l->has_callback_ns && l->callbacks == 0) /* a generic poll loop: no adapter sees its callbacks */
      line(out, "    %s loop at 0x%" PRIx64 " %s: %" PRIu64 " iterations (callbacks not seen: no adapter)%s", str(l->lib),
           l->addr, where, l->iterations, acc);
    else
      line(out, "    %s loop 0x%" PRIx64 " %s: %" PRIu64 " iterations, %" PRIu64 " callbacks%s", str(l->lib), l->addr,
           where, l->iterations, l->callbacks, acc);
    const struct lsm_loop *lo = &p->loops[i];
    if (lo->static_lib)
      line(out, "      %s is linked statically into %s (this loop polls from %s): no adapter can see its callbacks; "
                "only thread, poll and stall findings are available",
           lo->static_lib, lo->static_module ? lo->static_module : "the program", lo->static_poll_fn);
  }
}

static void pool(struct tout *out, const struct ls_report *r) {
  if (!r->has_pool) return;
  line(out, "  thread pool: %" PRIu64 " thread%s, peak queue %" PRIu64, r->pool_size, r->pool_size == 1 ? "" : "s",
       r->pool_peak_queue);
  if (r->pool_has_pending)
    line(out, "  requests outstanding: at most %" PRIu64 " at once, %" PRIu64 " at the end", r->pool_peak_pending,
         r->pool_pending);
}

static const struct lsm_site *sort_base;

static int by_total_desc(const void *a, const void *b) {
  uint64_t x = sort_base[*(const size_t *)a].s->total_ns, y = sort_base[*(const size_t *)b].s->total_ns;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* One table of sites: callbacks (waiting = false) or the " wait" / " latency" distributions. */
static void site_table(struct tout *out, const struct lsm_process *p, bool waiting) {
  size_t n = 0, total = p->r->nsites;
  bool latency = false;
  size_t *idx = malloc((total ? total : 1) * sizeof(*idx));
  if (!idx) return;
  size_t idle = 0; /* registered, never ran: nothing to rank by time */
  for (size_t i = 0; i < total; i++) {
    const char *kind = p->sites[i].s->kind;
    if (lsm_site_is_wait(kind) != waiting) continue;
    if (p->sites[i].s->count == 0) {
      idle++;
      continue;
    }
    idx[n++] = i;
    latency |= waiting && strcmp(kind + strlen(kind) - 5, " wait") != 0;
  }
  if (n == 0) {
    if (idle && !waiting) line(out, "  callback sites: %zu registered, none ran", idle);
    free(idx);
    return;
  }
  sort_base = p->sites;
  qsort(idx, n, sizeof(*idx), by_total_desc);
  if (!waiting) line(out, "  callback sites (top %d by total time):", TOP_SITES);
  else if (latency) line(out, "  waiting (submit -> start; \"latency\": submit -> done):");
  else line(out, "  waiting (submit -> start):");
  line(out, "    %10s %11s %11s %11s %11s  %s", "count", "total", "p50", "p99", "max", waiting ? "what" : "callback");
  for (size_t k = 0; k < n && k < TOP_SITES; k++) {
    const struct lsm_site *s = &p->sites[idx[k]];
    char tot[32], p50[32], p99[32], max[32], cb[1024], reg[1024] = "";
    lsm_duration(s->s->total_ns, tot, sizeof(tot));
    lsm_duration(s->p50_ns, p50, sizeof(p50));
    lsm_duration(s->p99_ns, p99, sizeof(p99));
    lsm_duration(s->s->max_ns, max, sizeof(max));
    lsm_describe(&s->cb, cb, sizeof(cb));
    if (s->stack.n) {
      char d[900];
      lsm_describe(&s->stack.frames[0], d, sizeof(d));
      snprintf(reg, sizeof(reg), ", %s in %s", waiting ? "submitted" : "registered", d);
    }
    line(out, "    %10" PRIu64 " %11s %11s %11s %11s  %s %s%s", s->s->count, tot, p50, p99, max, str(s->s->kind), cb, reg);
  }
  if (n > TOP_SITES) line(out, "    ... and %zu more sites", n - TOP_SITES);
  if (idle) line(out, "    (and %zu site%s registered that never ran)", idle, idle == 1 ? "" : "s");
  free(idx);
}

/* Python's traceback lines, outermost first. A GCC clone (burn.constprop.0) is shown as its function. */
static void frame(struct tout *out, const char *indent, const struct ls_frame *f) {
  char fb[600];
  const char *inl = f->inlined ? " (inlined)" : "";
  int fn = f->function ? (int)lsm_function_base_len(f->function) : 0;
  if (f->path && f->line && f->function)
    line(out, "%sFile \"%s\", line %u, in %.*s%s", indent, f->path, f->line, fn, f->function, inl);
  else if (f->path && f->line)
    line(out, "%sFile \"%s\", line %u, in %s%s", indent, f->path, f->line, ls_frame_fallback(f, fb, sizeof(fb)), inl);
  else if (f->function) line(out, "%sin %.*s (%s)%s", indent, fn, f->function, ls_frame_fallback(f, fb, sizeof(fb)), inl);
  else line(out, "%sin %s", indent, ls_frame_fallback(f, fb, sizeof(fb)));
}

/* "tcp 127.0.0.1:8080 -> 127.0.0.1:40112", "pipe", "file /var/log/x": what an fd is. */
static void fd_words(const struct ls_rd_open *h, char *buf, size_t len) {
  snprintf(buf, len, "%s%s%s%s%s", h->what ? h->what : "fd of unknown kind", h->addr ? " " : "", h->addr ? h->addr : "",
           h->peer ? " -> " : "", h->peer ? h->peer : "");
}

/* One entry of a handle list: kind, flags, loop, count, creation stack. A generic loop's fd entry
 * (kind "fd") is the fd and what it is; a handle waiting on an fd says which. */
static void open_entry(struct tout *out, const struct lsm_open *o, bool show_loop, const char *indent) {
  const struct ls_rd_open *h = o->h;
  char loop[64] = "", count[64] = "", deeper[32], fd[512] = "", words[400];
  if (o->loop && show_loop) snprintf(loop, sizeof(loop), " on loop 0x%" PRIx64, o->loop->addr);
  if (o->count > 1) snprintf(count, sizeof(count), " (%" PRIu64 " handles)", o->count);
  if (h->has_fd) {
    fd_words(h, words, sizeof(words));
    if (strcmp(h->kind, "fd") == 0) {
      line(out, "%sfd %" PRIu64 ": %s%s%s%s%s", indent, h->fd, words, h->events ? ", waiting for " : "", str(h->events),
           loop, count);
      return;
    }
    snprintf(fd, sizeof(fd), " on fd %" PRIu64 " (%s)", h->fd, words);
  }
  line(out, "%s%s%s%s%s%s%s%s%s", indent, str(h->kind), fd, !h->has_active ? "" : h->active ? ", active" : ", inactive",
       !h->has_ref ? "" : h->ref ? ", ref" : ", unref", h->has_closing && h->closing ? ", closing" : "", loop, count,
       o->stack.n ? ", created at (most recent call last):" : "");
  snprintf(deeper, sizeof(deeper), "%s  ", indent);
  for (size_t k = o->stack.n; k-- > 0;) frame(out, deeper, &o->stack.frames[k]);
}

/* What happened to loopscope itself, in its own words: not the program's doing. */
static void incidents(struct tout *out, const struct lsm_process *p) {
  const struct ls_report *r = p->r;
  for (size_t i = 0; i < r->nincidents; i++) {
    const struct ls_rd_incident *k = &r->incidents[i];
    const struct lsm_stack *st = &p->incidents[i];
    if (strcmp(k->what, "fd-lost") == 0) {
      line(out, "  note: the program closed or replaced the report's descriptor %" PRIu64
           " unseen (a raw system call); loopscope reopened the report and went on", k->fd);
    } else if (strcmp(k->what, "write-failed") == 0) {
      const char *desc = k->error > 0 && k->error < 4096 ? strerrordesc_np((int)k->error) : NULL;
      line(out, "  report incomplete: writing it failed at byte %" PRIu64 " (%s); %" PRIu64
           " records after that were lost", k->at, str(desc), k->lost);
    } else if (strcmp(k->what, "internal-error") == 0) {
      char where[700] = "?";
      if (st->n) lsm_describe(&st->frames[0], where, sizeof(where));
      const char *sig = k->sig > 0 && k->sig < 65 ? sigabbrev_np((int)k->sig) : NULL;
      line(out, "  loopscope internal error: SIG%s in the %s hook, at %s; the program was not at fault — please report",
           str(sig), str(k->hook), where);
      if (st->n) line(out, "  loopscope's stack (most recent call last):");
      for (size_t f = st->n; f-- > 0;) frame(out, "    ", &st->frames[f]);
    }
  }
}

/* LSan's "still reachable": listed, never a finding. */
static void still_open(struct tout *out, const struct lsm_process *p) {
  if (p->nopen == 0) return;
  line(out, "  still open at exit (%zu handle%s; not findings):", p->nopen_handles, p->nopen_handles == 1 ? "" : "s");
  for (size_t i = 0; i < p->nopen && i < TOP_OPEN; i++) open_entry(out, &p->open[i], true, "    ");
  if (p->nopen > TOP_OPEN) line(out, "    ... and %zu more (the JSON output lists them all)", p->nopen - TOP_OPEN);
}

/* /proc's state letters in words. */
static const char *state_words(const char *st) {
  if (!st || !st[0] || st[1]) return NULL;
  switch (st[0]) {
  case 'R': return "running";
  case 'S': return "sleeping";
  case 'D': return "in uninterruptible sleep";
  case 'T': return "stopped";
  case 't': return "stopped by a tracer";
  case 'Z': return "a zombie";
  case 'X': return "dead";
  case 'I': return "idle";
  case 'P': return "parked";
  default: return NULL;
  }
}

/* why-is-node-running: where every thread was and what each loop still had open when --timeout
 * asked, before SIGTERM. */
static void hang(struct tout *out, const struct lsm_process *p) {
  const struct ls_report *r = p->r;
  if (!r->has_hang) return;
  char after[64] = "";
  if (out->timeout_ms) snprintf(after, sizeof(after), " after %g s", (double)out->timeout_ms / 1000.0);
  if (!r->hang_reason || strcmp(r->hang_reason, "timeout") == 0)
    line(out, "  timed out%s: what kept it alive", after);
  else
    line(out, "  hang dump (%s): what kept it alive", r->hang_reason);
  if (r->nhang_threads == 0) line(out, "    no thread listed (the dump was cut short)");
  for (size_t i = 0; i < r->nhang_threads; i++) {
    const struct ls_rd_hang_thread *w = &r->hang_threads[i];
    const struct ls_rd_thread *t = ls_report_thread(r, w->tid);
    char role[256] = "", where[160];
    const struct ls_rd_loop *runs = NULL;
    for (size_t k = 0; k < r->nloops && !runs; k++)
      if (r->loops[k].thread == w->tid && !(p->loops[k].closed_known && p->loops[k].closed)) runs = &r->loops[k];
    if (t && t->role && runs)
      snprintf(role, sizeof(role), " (%s, runs %s loop 0x%" PRIx64 ")", t->role, str(runs->lib), runs->addr);
    else if (t && t->role) snprintf(role, sizeof(role), " (%s)", t->role);
    else if (runs) snprintf(role, sizeof(role), " (runs %s loop 0x%" PRIx64 ")", str(runs->lib), runs->addr);
    const char *words = state_words(w->state), *sc = w->syscall;
    bool no_call = !sc || strcmp(sc, "?") == 0 || strcmp(sc, "running") == 0;
    if (words && no_call) snprintf(where, sizeof(where), "%s", words);
    else if (words) snprintf(where, sizeof(where), "%s in %s", words, sc);
    else if (no_call) snprintf(where, sizeof(where), "state %s", str(w->state));
    else snprintf(where, sizeof(where), "state %s, in %s", str(w->state), sc);
    line(out, "    tid %" PRIu64 " %s%s: %s", w->tid, str(w->name), role, where);
  }
  /* each loop with what it still had open and the fds it waits on; then handles whose loop the report
   * does not know */
  size_t shown = 0;
  for (size_t k = 0; k <= r->nloops; k++) {
    const struct ls_rd_loop *l = k < r->nloops ? &r->loops[k] : NULL;
    size_t handles = 0, fds = 0;
    for (size_t i = 0; i < p->nhang_open; i++)
      if (p->hang_open[i].loop == l) *(strcmp(p->hang_open[i].h->kind, "fd") == 0 ? &fds : &handles) += p->hang_open[i].count;
    if (!handles && !fds) continue;
    char what[128] = "";
    if (handles) snprintf(what, sizeof(what), "%zu open handle%s", handles, handles == 1 ? "" : "s");
    if (fds)
      snprintf(what + strlen(what), sizeof(what) - strlen(what), "%swaits on %zu fd%s", handles ? ", " : "", fds,
               fds == 1 ? "" : "s");
    if (l) line(out, "    %s loop 0x%" PRIx64 " on tid %" PRIu64 ": %s", str(l->lib), l->addr, l->thread, what);
    else line(out, "    on a loop the report does not describe: %s", what);
    for (size_t i = 0; i < p->nhang_open; i++) {
      if (p->hang_open[i].loop != l) continue;
      if (shown++ < TOP_OPEN) open_entry(out, &p->hang_open[i], false, "      ");
    }
  }
  if (shown > TOP_OPEN) line(out, "    ... and %zu more (the JSON output lists them all)", shown - TOP_OPEN);
  if (p->nhang_open == 0) line(out, "    no loop had a handle, an event, a source or an fd to wait on");
}

static void process(struct tout *out, const struct lsm_process *p) {
  const struct ls_report *r = p->r;
  char *args = join_argv(r);
  line(out, "loopscope: process %" PRIu64 " (parent %" PRIu64 "): %s", r->pid, r->ppid, args && *args ? args : str(r->exe));
  free(args);
  if (r->error) line(out, "  report %s is corrupt: %s; showing what came before", str(r->path), r->error);
  else if (r->truncated)
    line(out, "  report %s is truncated at byte %" PRIu64 ": showing what it holds", str(r->path), r->truncated_at);
  exit_line(out, r);
  incidents(out, p);
  threads(out, p);
  if (out->verbosity > 0) {
    loops(out, p);
    pool(out, r);
    site_table(out, p, false);
    site_table(out, p, true);
    still_open(out, p);
  }
  hang(out, p);
}

/* Two samples are of one function when their names match but for a GCC clone suffix, in one file. */
static bool same_function(const struct ls_frame *a, const struct ls_frame *b) {
  if (!a->function || !b->function) return a->address == b->address;
  size_t n = lsm_function_base_len(a->function);
  return n == lsm_function_base_len(b->function) && strncmp(a->function, b->function, n) == 0 &&
         ((!a->file && !b->file) || (a->file && b->file && strcmp(a->file, b->file) == 0));
}

/* The stall samples by function, most sampled first, with the share of each and its lines: the samples
 * come one entry per line, most sampled first, so a function's first entry fixes its place. */
static void where_the_time_went(struct tout *out, const struct lsm_finding *lf) {
  uint64_t total = 0;
  for (size_t i = 0; i < lf->nsamples; i++) total += lf->samples[i].count;
  line(out, "where the time went (%" PRIu64 " samples):", total);
  bool *done = calloc(lf->nsamples, sizeof(*done));
  if (!done) return;
  /* by total per function: find the next function with the most samples not yet shown */
  for (;;) {
    size_t best = lf->nsamples;
    uint64_t best_count = 0;
    for (size_t i = 0; i < lf->nsamples; i++) {
      if (done[i]) continue;
      uint64_t c = 0;
      for (size_t k = i; k < lf->nsamples; k++)
        if (!done[k] && same_function(&lf->samples[i].frame, &lf->samples[k].frame)) c += lf->samples[k].count;
      if (best == lf->nsamples || c > best_count) best = i, best_count = c;
    }
    if (best == lf->nsamples) break;
    const struct ls_frame *f = &lf->samples[best].frame;
    char who[600], lines[400] = "";
    size_t ln = 0, nlines = 0;
    if (f->function) {
      char fb[600];
      snprintf(who, sizeof(who), "%.*s (%s)", (int)lsm_function_base_len(f->function), f->function,
               f->file ? f->file : ls_frame_fallback(f, fb, sizeof(fb)));
    } else {
      lsm_describe(f, who, sizeof(who));
    }
    for (size_t k = best; k < lf->nsamples; k++) {
      if (done[k] || !same_function(f, &lf->samples[k].frame)) continue;
      done[k] = true;
      if (lf->samples[k].frame.line && ln < sizeof(lines)) {
        ln += (size_t)snprintf(lines + ln, sizeof(lines) - ln, "%s%u (%" PRIu64 ")", ln ? ", " : "",
                               lf->samples[k].frame.line, lf->samples[k].count);
        nlines++;
      }
    }
    line(out, "  %5" PRIu64 " of %" PRIu64 " samples (%2.0f%%)  %s%s%s", best_count, total,
         total ? 100.0 * (double)best_count / (double)total : 0.0, who,
         nlines == 0 ? "" : nlines == 1 ? ", line " : ", lines ", lines);
  }
  free(done);
}

static const char *severity_color(const char *sev) {
  if (strcmp(sev, "error") == 0) return "\033[1;31m";
  if (strcmp(sev, "warning") == 0) return "\033[1;35m";
  return "\033[1m";
}

static void finding(struct tout *out, const struct lsm *m, const struct lsm_group *g) {
  const struct lsm_finding *lf = g->f;
  const struct ls_rd_finding *f = lf->f;
  const char *sev = str(f->severity);
  if (out->color) {
    line_colored(out, severity_color(sev), sev, ": %s: %s", str(f->category), lf->message);
  } else {
    line(out, "loopscope: %s: %s: %s", sev, str(f->category), lf->message);
  }
  if (g->nprocs > 1) {
    /* merged: the message is the first process's; say where else it happened */
    char pids[256];
    size_t n = 0;
    pids[0] = 0;
    for (size_t i = 0; i < g->nprocs && i < 8 && n < sizeof(pids); i++)
      n += (size_t)snprintf(pids + n, sizeof(pids) - n, "%s%" PRIu64 " (%" PRIu64 ")", i ? ", " : "", g->procs[i].pid,
                            g->procs[i].count);
    line(out, "  in %zu processes: %s%s", g->nprocs, pids, g->nprocs > 8 ? ", ..." : "");
  } else if (m->nprocs > 1) {
    line(out, "  in process %" PRIu64 ", thread %" PRIu64, lf->proc->r->pid, f->tid);
  }
  /* how long, as asyncio says it ("took 0.302 seconds"); repeated: the longest, the count and the sum */
  if (g->count > 1 && (!lf->count_in_message || g->count != f->count)) {
    char tot[32], max[32];
    lsm_duration(g->total_ns, tot, sizeof(tot));
    lsm_duration(g->duration_ns, max, sizeof(max));
    if (g->total_ns) line(out, "  seen %" PRIu64 " times: the longest took %s, %s in total", g->count, max, tot);
    else line(out, "  seen %" PRIu64 " times", g->count);
  } else if (g->duration_ns && !lsm_message_has_duration(lf)) {
    line(out, "  took %.3f seconds", (double)g->duration_ns / 1e9);
  }
  if (lf->nsamples) where_the_time_went(out, lf);
  if (lf->stack.n) {
    const char *kind = lsm_stack_kind(lf);
    if (strcmp(kind, "sampled") == 0) line(out, "sampled stack (most recent call last):");
    else line(out, "%s at (most recent call last):", kind);
    for (size_t i = lf->stack.n; i-- > 0;) frame(out, "  ", &lf->stack.frames[i]);
  }
}

/* "3 findings: 2 slow-callback, 1 unjoined-thread", categories in order of first appearance. A
 * hostile report may hold a million made-up categories: past MAX_CATS they are counted as "other". */
#define MAX_CATS 32

static void totals(struct tout *out, const struct lsm *m) {
  struct {
    const char *cat;
    size_t count;
  } cats[MAX_CATS];
  size_t ncats = 0, other = 0;
  if (m->nsuppressed) line(out, "loopscope: %zu finding%s suppressed", m->nsuppressed, m->nsuppressed == 1 ? "" : "s");
  if (m->nshown == 0) {
    line(out, "loopscope: no findings");
    return;
  }
  for (size_t i = 0; i < m->ngroups; i++) {
    if (m->groups[i].supp) continue;
    const char *cat = str(m->groups[i].f->f->category);
    size_t k = 0;
    while (k < ncats && strcmp(cats[k].cat, cat) != 0) k++;
    if (k == ncats && ncats == MAX_CATS) {
      other++;
      continue;
    }
    if (k == ncats) cats[ncats++] = (typeof(cats[0])){cat, 0};
    cats[k].count++;
  }
  char buf[4096];
  size_t len = (size_t)snprintf(buf, sizeof(buf), "loopscope: %zu finding%s:", m->nshown, m->nshown == 1 ? "" : "s");
  for (size_t k = 0; k < ncats && len < sizeof(buf); k++)
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %zu %s", k ? "," : "", cats[k].count, cats[k].cat);
  if (other && len < sizeof(buf)) snprintf(buf + len, sizeof(buf) - len, ", %zu other", other);
  line(out, "%s", buf);
}

void render_text(FILE *f, const struct lsm *m, const struct render_opts *opts) {
  struct tout o = {.f = f,
                   .prefix_all = opts->prefix_all,
                   .color = opts->color,
                   .timeout_ms = opts->timeout_ms,
                   .verbosity = opts->verbosity,
                   .signaled_pid = opts->signaled_pid,
                   .signal = opts->signal};
  for (size_t i = 0; i < m->nprocs; i++) process(&o, &m->procs[i]);
  for (size_t i = 0; i < m->ngroups; i++) {
    if (m->groups[i].supp) continue;
    line(&o, "%s", "");
    finding(&o, m, &m->groups[i]);
  }
  if (m->nshown || m->nsuppressed) line(&o, "%s", "");
  totals(&o, m);
}
