/* libevent bookkeeping behind the findings that need memory of the past (see ev.h): which bases exist
 * and whether they have a lock (wrong-thread), the program's events with their creation stacks
 * (unclosed-resource at event_base_free), one-shot work still due (never-run), bufferevents and
 * listeners never freed (still open at exit).
 *
 * At event_base_free libevent itself is asked what is still in the base (event_base_foreach_event):
 * no per-callback tracking is needed, so the callback path stays the plain pooled trampoline. That is
 * the moment libevent reads every event of the base itself; at exit it reads none, and the base's
 * lists may link events in memory the program has freed, so they are never walked then: only the
 * events libevent allocated and the program never freed are looked at. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "map.h"

static const char *const kinds[] = {
    "event read", "event write", "event read write", "event closed", "timer",  "signal",
    "event once", "event_base",  "bufferevent",      "evconnlistener", "event",
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))
#define KIND_SHIFT 32
#define OWNED_BIT ((uintptr_t)1 << 40) /* made by event_new: readable until event_free */
#define FD_SHIFT 41                     /* fd + 1 of an event on an fd (0: none, or too large to keep) */
#define FD_MAX 0x3fffff

static unsigned kind_index(const char *kind) {
  for (unsigned i = 0; i < N_KINDS; i++)
    if (kinds[i] == kind || strcmp(kinds[i], kind) == 0) return i;
  return N_KINDS - 1;
}
static const char *kind_of(uintptr_t v1) { return kinds[(v1 >> KIND_SHIFT) & 0xff]; }

/* ev -> (stack | kind << 32 | OWNED_BIT | (fd + 1) << FD_SHIFT, base) */
static struct ls_map events;
/* base -> (creation stack, 0) for bases not freed */
static struct ls_map bases;
/* cfg -> (EVENT_BASE_FLAG_* the program set, 0) */
static struct ls_map configs;
/* once context -> (1, 0) while its callback has not run */
static struct ls_map onces;
/* bufferevent / listener -> (stack | kind << 32, base) */
static struct ls_map objects;
static bool locking; /* evthread_set_lock_callbacks installed locks */

/* ---- bases ---- */

void ls_ev_locking(bool on) { __atomic_store_n(&locking, on, __ATOMIC_RELEASE); }

void ls_ev_config_flag(const struct event_config *cfg, int flag) {
  int saved_errno = errno; /* our bookkeeping never changes the errno the program sees */
  uintptr_t v = 0, v2;
  ls_map_get(&configs, (uintptr_t)cfg, 0, &v, &v2);
  ls_map_put(&configs, (uintptr_t)cfg, 0, v | (unsigned)flag, 0);
  errno = saved_errno;
}

void ls_ev_config_gone(const struct event_config *cfg) { ls_map_del(&configs, (uintptr_t)cfg, 0); }

void ls_ev_base_made(struct event_base *base, const struct event_config *cfg, const void *caller) {
  int saved_errno = errno; /* our bookkeeping never changes the errno the program sees */
  struct ls_loop *l = ls_loop_get(LS_EV_LIB, base);
  if (!l) {
    errno = saved_errno;
    return;
  }
  uintptr_t flags = 0, v2;
  if (cfg) ls_map_get(&configs, (uintptr_t)cfg, 0, &flags, &v2);
  /* libevent gives a base a lock only when lock callbacks exist as it is made, and the program did
   * not ask for EVENT_BASE_FLAG_NOLOCK. The same memory may have held an older base: reset. */
  LS_RELAXED_STORE(&l->thread_safe, __atomic_load_n(&locking, __ATOMIC_ACQUIRE) && !(flags & EVENT_BASE_FLAG_NOLOCK));
  LS_RELAXED_STORE(&l->closed, false);
  ls_map_put(&bases, (uintptr_t)base, 0, ls_creation_stack(kinds[kind_index("event_base")], caller), 0);
  errno = saved_errno;
}

/* ---- events ---- */

void ls_ev_event_made(const struct event *ev, const char *kind, const void *caller, bool owned) {
  int saved_errno = errno; /* our bookkeeping never changes the errno the program sees */
  unsigned k = kind_index(kind);
  uint32_t stack = ls_creation_stack(kinds[k], caller);
  /* A timer's fd is -1 and a signal event's is the signal's number: only an event on an fd keeps one. */
  bool on_fd = strcmp(kinds[k], "timer") != 0 && strcmp(kinds[k], "signal") != 0;
  evutil_socket_t fd = on_fd ? ev->ev_fd : -1;
  uintptr_t fd1 = fd >= 0 && fd < FD_MAX ? (uintptr_t)fd + 1 : 0;
  ls_map_put(&events, (uintptr_t)ev, 0,
             stack | (uintptr_t)k << KIND_SHIFT | (owned ? OWNED_BIT : 0) | fd1 << FD_SHIFT, (uintptr_t)ev->ev_base);
  errno = saved_errno;
}

void ls_ev_event_gone(const struct event *ev) { ls_map_del(&events, (uintptr_t)ev, 0); }

/* ---- one-shot work ---- */

struct ls_ev_once *ls_ev_once_new(event_callback_fn cb, void *arg, uint32_t site, const struct event_base *base,
                                  const struct timeval *tv) {
  struct ls_ev_once *o = malloc(sizeof(*o));
  if (!o) return NULL;
  *o = (struct ls_ev_once){cb, arg, site, base, 0};
  if (tv && (tv->tv_sec || tv->tv_usec))
    o->due = ls_clock_mono_ns() + (uint64_t)tv->tv_sec * 1000000000u + (uint64_t)tv->tv_usec * 1000u;
  if (ls_map_put(&onces, (uintptr_t)o, 0, 1, 0) < 0) {
    free(o);
    return NULL;
  }
  return o;
}

void ls_ev_once_ran(struct ls_ev_once *o) { ls_map_del(&onces, (uintptr_t)o, 0); }

void ls_ev_once_failed(struct ls_ev_once *o) {
  ls_map_del(&onces, (uintptr_t)o, 0);
  free(o);
}

/* ---- collecting map entries (findings are written outside the map's lock) ---- */

struct ent_list {
  struct ls_map_ent *items;
  size_t n, cap;
  uintptr_t only_v2; /* 0: every entry */
};

static void collect(struct ls_map_ent *e, void *arg) {
  struct ent_list *c = arg;
  if (c->only_v2 && e->v2 != c->only_v2) return;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 32;
    struct ls_map_ent *it = realloc(c->items, cap * sizeof(*it));
    if (!it) return;
    c->items = it;
    c->cap = cap;
  }
  c->items[c->n++] = *e;
}

/* ---- never-run: one-shot work that was due and never ran ---- */

static void once_never_run(const struct event_base *base, const char *when) {
  struct ent_list c = {0};
  ls_map_each(&onces, collect, &c);
  uint64_t now = ls_clock_mono_ns();
  for (size_t i = 0; i < c.n; i++) {
    struct ls_ev_once *o = (struct ls_ev_once *)c.items[i].k1;
    if (base && o->base != base) continue;
    ls_map_del(&onces, (uintptr_t)o, 0);
    /* A timeout still in the future was not due yet: not work left undone. */
    if (!o->due || now >= o->due) {
      struct ls_site *s = ls_site_ptr(o->site);
      char msg[160];
      ls_join(msg, sizeof(msg), "an event_base_once callback was never run before ", when, NULL);
      struct ls_finding_info fi = {.call = "event_base_once", .kind = s->kind, .cb = s->cb, .site = o->site,
                                   .stack = s->stack, .message = msg};
      ls_finding_keyed(LS_F_NEVER_RUN, o->site, 0, &fi);
    }
    if (base) free(o); /* libevent freed its event with the base: our context is ours to free */
  }
  free(c.items);
}

/* One of the program's events (v1: its entry in our map), when libevent holds it (freeing: at
 * event_base_free; else at exit). */
static void inspect_one(const struct event *ev, uintptr_t v1, bool freeing) {
  short fl = ev->ev_evcallback.evcb_flags;
  const char *kind = kind_of(v1);
  uint32_t stack = (uint32_t)v1;
  void *tramp = (void *)ev->ev_evcallback.evcb_cb_union.evcb_callback, *cb = ls_ev_orig(tramp);
  uint32_t site = LS_SITE_NONE;
  void *ignored;
  if (tramp != cb) ls_binding(tramp, LS_SLOT_MAIN, &ignored, &site);
  if (freeing && (fl & (EVLIST_INSERTED | EVLIST_TIMEOUT | EVLIST_SIGNAL))) {
    struct ls_finding_info fi = {.call = "event_base_free", .kind = kind, .cb = cb, .site = site, .stack = stack,
                                 .message = "an event was still added when its base was freed (event_base_free)"};
    ls_finding_keyed(LS_F_UNCLOSED_RESOURCE, (uintptr_t)kind, stack, &fi);
  }
  /* Active and no longer waiting for anything: made active by event_active, or a one-shot event that
   * fired (libevent deleted it). Its callback was due and never ran. A persistent event still added is
   * not one-shot work. */
  if ((fl & (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER)) && !(fl & (EVLIST_INSERTED | EVLIST_TIMEOUT | EVLIST_SIGNAL))) {
    struct ls_finding_info fi = {.kind = kind, .cb = cb, .site = site, .stack = stack,
                                 .message = freeing ? "an active event's callback never ran before event_base_free"
                                                    : "an active event's callback never ran before exit"};
    ls_finding_keyed(LS_F_NEVER_RUN, (uintptr_t)ev, stack, &fi);
  }
}

/* event_base_foreach_event's callback: only the program's events (in our map) count. */
static int inspect_event(const struct event_base *b, const struct event *ev, void *arg) {
  (void)b, (void)arg;
  uintptr_t v1, v2;
  if (ls_map_get(&events, (uintptr_t)ev, 0, &v1, &v2)) inspect_one(ev, v1, true);
  return 0;
}

LS_REAL_SLOT(event_base_foreach_event);

/* At event_base_free, before the real call: libevent is about to read every event of the base. */
static void inspect_base(struct event_base *base) {
  __typeof__(&event_base_foreach_event) real_ = EV_REAL_FN(event_base_foreach_event);
  if (!real_) return;
  ls_tls.guard++;
  real_(base, inspect_event, NULL);
  ls_tls.guard--;
}

static void forget_events_of(const struct event_base *base) {
  struct ent_list c = {.only_v2 = (uintptr_t)base};
  ls_map_each(&events, collect, &c);
  for (size_t i = 0; i < c.n; i++) ls_map_del(&events, c.items[i].k1, 0);
  free(c.items);
}

void ls_ev_base_freeing(struct event_base *base) {
  int saved_errno = errno; /* our bookkeeping never changes the errno the program sees */
  uintptr_t v1, v2;
  if (!base || !ls_map_get(&bases, (uintptr_t)base, 0, &v1, &v2)) {
    errno = saved_errno;
    return;
  }
  inspect_base(base);
  once_never_run(base, "event_base_free");
  forget_events_of(base);
  ls_map_del(&bases, (uintptr_t)base, 0);
  struct ls_loop *l = ls_loop_find(base);
  if (l) ls_loop_mark_closed(l);
  errno = saved_errno;
}

/* ---- bufferevents and listeners ---- */

void ls_ev_object_made(const void *obj, const char *kind, const struct event_base *base, const void *caller) {
  int saved_errno = errno; /* our bookkeeping never changes the errno the program sees */
  unsigned k = kind_index(kind);
  uint32_t stack = ls_creation_stack(kinds[k], caller);
  ls_map_put(&objects, (uintptr_t)obj, 0, stack | (uintptr_t)k << KIND_SHIFT, (uintptr_t)base);
  errno = saved_errno;
}

void ls_ev_object_gone(const void *obj) { ls_map_del(&objects, (uintptr_t)obj, 0); }

/* ---- wrong-thread ---- */

void ls_ev_wrong_thread(struct ls_loop *l, pid_t running, const char *call, const void *caller) {
  (void)l;
  if (!ls_programs_call(LS_LIB_EV, caller)) return; /* libevent's own call (asked before its real call) */
  char msg[200];
  ls_join(msg, sizeof(msg), "Non-thread-safe call ", call, "() made while another thread runs its base (no lock)");
  ls_finding_wrong_thread(call, caller, running, msg);
}

/* ---- at exit ---- */

/* Bases never freed, bufferevents and listeners never freed: "still open at exit" (H records), or
 * unclosed-resource findings with report_open_at_exit=1 (as_findings). */
static void report_open(bool as_findings) {
  struct ent_list b = {0}, o = {0};
  ls_map_each(&bases, collect, &b);
  ls_map_each(&objects, collect, &o);
  char buf[256];
  for (size_t pass = 0; pass < 2; pass++) {
    struct ent_list *c = pass ? &o : &b;
    for (size_t i = 0; i < c->n; i++) {
      const char *kind = pass ? kind_of(c->items[i].v1) : "event_base";
      uint32_t stack = (uint32_t)c->items[i].v1;
      const void *base = pass ? (const void *)c->items[i].v2 : (const void *)c->items[i].k1;
      if (as_findings) {
        struct ls_finding_info fi = {.kind = kind, .stack = stack, .message = "a handle was still open at exit"};
        ls_finding_keyed(LS_F_UNCLOSED_RESOURCE, (uintptr_t)kind, stack, &fi);
        continue;
      }
      struct ls_loop *l = ls_loop_find(base);
      struct ls_rec r;
      ls_rec_begin(&r, buf, sizeof(buf), 'H');
      ls_rec_u(&r, "loop", l ? l->id : 0);
      ls_rec_s(&r, "kind", kind);
      ls_rec_u(&r, "stack", stack);
      ls_rec_u(&r, "closing", 0);
      ls_write(&r);
    }
  }
  free(b.items);
  free(o.items);
}

static void ev_finish(void) {
  /* Activated events of bases nobody runs now (asking about a running base would race its thread),
   * from our records: only events libevent allocated and the program never freed are read. */
  struct ent_list e = {0};
  ls_map_each(&events, collect, &e);
  for (size_t i = 0; i < e.n; i++) {
    if (!(e.items[i].v1 & OWNED_BIT)) continue;
    struct ls_loop *l = ls_loop_find((const void *)e.items[i].v2);
    if (l && !LS_RELAXED_LOAD(&l->running)) inspect_one((const struct event *)e.items[i].k1, e.items[i].v1, false);
  }
  free(e.items);
  once_never_run(NULL, "exit");
  report_open(ls_opt.report_open_at_exit);
}

/* The hang dump's events: every event the program made on a base not freed and has not freed itself,
 * with its kind, creation stack and fd (what the fd is, from /proc). From our records only: asking
 * libevent would read a base another thread is running, and an event_assign'd struct may be memory the
 * program has since reused. Whether each event is still added is not known this way: an event the
 * program deleted and kept is listed too. */
static void dump_events(void) {
  struct ent_list e = {0};
  ls_map_each(&events, collect, &e);
  int *fds = calloc(e.n ? e.n : 1, sizeof(*fds));
  struct ls_fd_desc *d = calloc(e.n ? e.n : 1, sizeof(*d));
  size_t nfds = 0;
  for (size_t i = 0; fds && d && i < e.n; i++) {
    uintptr_t fd1 = e.items[i].v1 >> FD_SHIFT & FD_MAX, v1, v2;
    if (fd1 && ls_map_get(&bases, e.items[i].v2, 0, &v1, &v2)) fds[nfds++] = (int)(fd1 - 1);
  }
  if (d) ls_fds_describe(fds, nfds, d);
  char buf[1024];
  for (size_t i = 0, k = 0; fds && d && i < e.n; i++) {
    uintptr_t fd1 = e.items[i].v1 >> FD_SHIFT & FD_MAX, v1, v2;
    if (!ls_map_get(&bases, e.items[i].v2, 0, &v1, &v2)) continue; /* its base is gone: so is the event */
    struct ls_loop *l = ls_loop_find((const void *)e.items[i].v2);
    struct ls_rec r;
    ls_rec_begin(&r, buf, sizeof(buf), 'H');
    ls_rec_u(&r, "loop", l ? l->id : 0);
    ls_rec_s(&r, "kind", kind_of(e.items[i].v1));
    ls_rec_u(&r, "stack", (uint32_t)e.items[i].v1);
    if (fd1) ls_rec_fd(&r, fds[k], &d[k]), k++;
    ls_write(&r);
  }
  free(fds);
  free(d);
  free(e.items);
}

static void ev_dump_open(void) {
  report_open(false);
  dump_events();
}

static const struct ls_adapter ev_adapter = {ev_finish, ev_dump_open};

__attribute__((constructor)) static void ev_register(void) { ls_adapter_add(&ev_adapter); }
