/* The libevent adapter, event core: bases and their loops, events, event_base_once, the getters that
 * hand a callback back, and the calls that are not thread-safe on a base without a lock.
 *
 * Every callback the program hands to libevent is swapped for a pooled per-site trampoline
 * (ev_tramp.c) that keeps the program's argument: event_self_cbarg() still becomes the event inside
 * event_assign, event_get_callback_arg is untouched, and the getters translate the trampoline back.
 * libevent's own calls into these functions (event_new -> event_assign, bufferevents -> event_assign /
 * event_add, evhttp -> event_new) are let through untouched: neither sites nor findings (EV_MINE). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "ev.h"

#include <event2/event_compat.h> /* after event.h: it names struct event in its prototypes */
#include <event2/thread.h>

/* The kind a callback is named by, from what the event waits for. */
static const char *event_kind(evutil_socket_t fd, short events) {
  if (events & EV_SIGNAL) return "signal";
  if ((events & (EV_READ | EV_WRITE)) == (EV_READ | EV_WRITE)) return "event read write";
  if (events & EV_READ) return "event read";
  if (events & EV_WRITE) return "event write";
  if (events & EV_CLOSED) return "event closed";
  return fd < 0 ? "timer" : "event";
}

/* ---- events: made with a callback ---- */

LS_REAL_SLOT(event_new);
LS_EXPORT struct event *event_new(struct event_base *base, evutil_socket_t fd, short events, event_callback_fn cb,
                                  void *arg) {
  EV_REAL_OR(event_new, NULL);
  if (!EV_MINE_CB(cb)) return EV_CALL(real_(base, fd, events, cb, arg));
  const char *kind = event_kind(fd, events);
  uint32_t site;
  event_callback_fn cb_ = (event_callback_fn)ls_ev_wrap(ls_ev_take_event, kind, (void *)cb, CALLER, &site);
  struct event *ev = EV_CALL(real_(base, fd, events, cb_, arg));
  if (ev) ls_ev_event_made(ev, kind, CALLER, true);
  return ev;
}

LS_REAL_SLOT(event_assign);
LS_EXPORT int event_assign(struct event *ev, struct event_base *base, evutil_socket_t fd, short events,
                           event_callback_fn cb, void *arg) {
  EV_REAL_OR(event_assign, -1);
  if (!EV_MINE_CB(cb)) return EV_CALL(real_(ev, base, fd, events, cb, arg));
  const char *kind = event_kind(fd, events);
  uint32_t site;
  event_callback_fn cb_ = (event_callback_fn)ls_ev_wrap(ls_ev_take_event, kind, (void *)cb, CALLER, &site);
  int rc = EV_CALL(real_(ev, base, fd, events, cb_, arg));
  if (rc == 0) ls_ev_event_made(ev, kind, CALLER, false);
  return rc;
}

LS_REAL_SLOT(event_free);
LS_EXPORT void event_free(struct event *ev) {
  __typeof__(&event_free) real_ = EV_REAL_FN(event_free);
  if (!real_) return;
  if (ev && ls_active && !ls_tls.guard) {
    ls_ev_check_thread(ev->ev_base, "event_free", CALLER);
    ls_ev_event_gone(ev); /* before: once freed, the address may be another thread's new event */
  }
  EV_CALL_VOID(real_(ev));
}

/* event_free_finalize frees the event itself, later, once its finalizer has run inside the loop: from
 * the call on, the event is not ours to read (its finalizer is not wrapped). */
LS_REAL_SLOT(event_free_finalize);
LS_EXPORT int event_free_finalize(unsigned flags, struct event *ev, event_finalize_callback_fn cb) {
  EV_REAL_OR(event_free_finalize, -1);
  if (ev && ls_active && !ls_tls.guard) ls_ev_event_gone(ev);
  return real_(flags, ev, cb);
}

/* ---- event_base_once: our context carries the program's callback and argument ---- */

static void once_tramp(evutil_socket_t fd, short what, void *arg) {
  struct ls_ev_once *o = arg;
  event_callback_fn cb = o->cb;
  void *cbarg = o->arg;
  uint32_t site = o->site;
  ls_ev_once_ran(o);
  free(o); /* libevent frees its event after this returns; the callback may free the base */
  uint64_t t0 = ls_cb_begin(site); /* the watchdog knows which callback a stall is in */
  LS_PROGRAM_RUN(cb(fd, what, cbarg));
  ls_site_account(site, t0);
}

LS_REAL_SLOT(event_base_once);

static int once_on(struct event_base *base, evutil_socket_t fd, short events, event_callback_fn cb, void *arg,
                   const struct timeval *tv, const void *caller) {
  __typeof__(&event_base_once) real_ = EV_REAL_FN(event_base_once);
  if (!real_) return -1;
  ls_ev_check_thread(base, "event_base_once", caller);
  uint32_t site = ls_site_get("event once", (void *)cb, caller);
  struct ls_ev_once *o = NULL;
  if (site != LS_SITE_NONE) o = ls_ev_once_new(cb, arg, site, base, tv);
  if (!o) return EV_CALL(real_(base, fd, events, cb, arg, tv));
  int rc = EV_CALL(real_(base, fd, events, once_tramp, o, tv));
  if (rc != 0) ls_ev_once_failed(o);
  return rc;
}

LS_EXPORT int event_base_once(struct event_base *base, evutil_socket_t fd, short events, event_callback_fn cb,
                              void *arg, const struct timeval *tv) {
  EV_REAL_OR(event_base_once, -1);
  if (!cb || !base || !EV_MINE_CB(cb)) return EV_CALL(real_(base, fd, events, cb, arg, tv));
  return once_on(base, fd, events, cb, arg, tv, CALLER);
}

/* ---- getters: what the program set, never our trampolines ---- */

LS_REAL_SLOT(event_get_callback);
LS_EXPORT event_callback_fn event_get_callback(const struct event *ev) {
  EV_REAL_OR(event_get_callback, NULL);
  return (event_callback_fn)ls_ev_orig((void *)real_(ev));
}

LS_REAL_SLOT(event_get_assignment);
LS_EXPORT void event_get_assignment(const struct event *ev, struct event_base **base_out, evutil_socket_t *fd_out,
                                    short *events_out, event_callback_fn *callback_out, void **arg_out) {
  __typeof__(&event_get_assignment) real_ = EV_REAL_FN(event_get_assignment);
  if (!real_) return;
  real_(ev, base_out, fd_out, events_out, callback_out, arg_out);
  if (callback_out) *callback_out = (event_callback_fn)ls_ev_orig((void *)*callback_out);
}

/* ---- calls that are not thread-safe on a base without a lock: checked, passed on ---- */

/* X(ret, name, params, args, base, fail) */
#define EV_CHECKED(X)                                                                                        \
  X(int, event_add, (struct event * ev, const struct timeval *tv), (ev, tv), ev ? ev->ev_base : NULL, -1)    \
  X(int, event_del, (struct event * ev), (ev), ev ? ev->ev_base : NULL, -1)                                  \
  X(int, event_remove_timer, (struct event * ev), (ev), ev ? ev->ev_base : NULL, -1)                         \
  X(int, event_priority_set, (struct event * ev, int pri), (ev, pri), ev ? ev->ev_base : NULL, -1)           \
  X(int, event_base_loopbreak, (struct event_base * b), (b), b, -1)                                          \
  X(int, event_base_loopcontinue, (struct event_base * b), (b), b, -1)                                       \
  X(int, event_base_loopexit, (struct event_base * b, const struct timeval *tv), (b, tv), b, -1)

#define GEN_CHECKED(ret, name, params, args, base, fail)                                                    \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT ret name params {                                                                               \
    EV_REAL_OR(name, fail);                                                                                 \
    ls_ev_check_thread(base, #name, CALLER);                                                                \
    return EV_CALL(real_ args);                                                                             \
  }
EV_CHECKED(GEN_CHECKED)

/* event_active: checked. Whether its callback ever ran is asked of libevent when the base goes. */
LS_REAL_SLOT(event_active);
LS_EXPORT void event_active(struct event *ev, int res, short ncalls) {
  __typeof__(&event_active) real_ = EV_REAL_FN(event_active);
  if (LS_UNLIKELY(!real_)) return;
  if (LS_LIKELY(ev != NULL)) ls_ev_check_thread(ev->ev_base, "event_active", CALLER);
  EV_CALL_VOID(real_(ev, res, ncalls));
}

/* ---- bases ---- */

/* event_base_new and event_init make their base through event_base_new_with_config: the program's
 * call site is the outer one (set while the outer hook runs). */
static LS_TLS const void *outer_caller;

LS_REAL_SLOT(event_base_new_with_config);
LS_EXPORT struct event_base *event_base_new_with_config(const struct event_config *cfg) {
  EV_REAL_OR(event_base_new_with_config, NULL);
  bool mine = EV_MINE;
  struct event_base *base = EV_CALL(real_(cfg));
  /* Inside event_base_new / event_init the outer hook records the base: its stack starts at the
   * program's line, not in libevent. */
  if (base && mine && !outer_caller) ls_ev_base_made(base, cfg, CALLER);
  return base;
}

#define EV_BASE_NEW(X)                                                                                       \
  X(event_base_new, 0)                                                                                       \
  X(event_init, 1)

static void set_current_base(struct event_base *b);

#define GEN_BASE_NEW(name, current)                                                                         \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT struct event_base *name(void) {                                                                 \
    EV_REAL_OR(name, NULL);                                                                                 \
    const void *saved_ = outer_caller;                                                                      \
    bool mine_ = EV_MINE;                                                                                   \
    outer_caller = CALLER;                                                                                  \
    struct event_base *b_ = EV_CALL(real_());                                                               \
    outer_caller = saved_;                                                                                  \
    if (b_ && mine_) ls_ev_base_made(b_, NULL, CALLER); /* default config: no flags */                      \
    if (current && b_) set_current_base(b_);                                                                \
    return b_;                                                                                              \
  }
EV_BASE_NEW(GEN_BASE_NEW)

LS_REAL_SLOT(event_config_set_flag);
LS_EXPORT int event_config_set_flag(struct event_config *cfg, int flag) {
  EV_REAL_OR(event_config_set_flag, -1);
  int rc = real_(cfg, flag);
  if (rc == 0 && ls_active && !ls_tls.guard) ls_ev_config_flag(cfg, flag);
  return rc;
}

LS_REAL_SLOT(event_config_free);
LS_EXPORT void event_config_free(struct event_config *cfg) {
  __typeof__(&event_config_free) real_ = EV_REAL_FN(event_config_free);
  if (!real_) return;
  if (ls_active && !ls_tls.guard) ls_ev_config_gone(cfg);
  real_(cfg);
}

/* libevent_pthreads' evthread_use_pthreads installs its locks through this one (a call between two
 * libraries, so it reaches us). */
LS_REAL_SLOT(evthread_set_lock_callbacks);
LS_EXPORT int evthread_set_lock_callbacks(const struct evthread_lock_callbacks *cbs) {
  EV_REAL_OR(evthread_set_lock_callbacks, -1);
  int rc = real_(cbs);
  if (rc == 0 && ls_active) ls_ev_locking(cbs && cbs->alloc);
  return rc;
}

#define EV_BASE_FREE(X)                                                                                      \
  X(event_base_free)                                                                                         \
  X(event_base_free_nofinalize)

#define GEN_BASE_FREE(name)                                                                                 \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT void name(struct event_base *base) {                                                            \
    __typeof__(&name) real_ = EV_REAL_FN(name);                                                             \
    if (!real_) return;                                                                                     \
    struct event_base *b_ = base ? base : ls_ev_current_base(); /* NULL means current_base */             \
    if (ls_active && !ls_tls.guard) ls_ev_base_freeing(b_);                                                 \
    ls_ev_current_base_gone(b_);                                                                            \
    EV_CALL_VOID(real_(base));                                                                              \
  }
EV_BASE_FREE(GEN_BASE_FREE)

/* ---- running a base ---- */

/* "This event loop is already running": libevent warns and returns -1; we say where it happened. */
static __attribute__((noinline)) void reentry(struct ls_loop *l, pid_t running, const char *call,
                                                const void *caller) {
  const char *msg =
      running == ls_gettid()
          ? "This event loop is already running: event_base_loop() called from inside one of its callbacks"
          : "This event loop is already running in another thread: event_base_loop() called again";
  struct ls_finding_info fi = {.call = call, .capture = true, .other_tid = running, .message = msg};
  ls_finding_keyed(LS_F_LOOP_REENTRY, (uintptr_t)l, (uintptr_t)caller, &fi);
}

/* The base's loop is this thread's while it runs (polls are counted as its iterations; nested bases on
 * one thread save and restore). */
static int run(int (*real)(struct event_base *, int), struct event_base *base, int flags, const char *call,
               const void *caller) {
  bool mine = ls_programs_call(LS_LIB_EV, caller);
  if (ls_tls.guard || !ls_active || !base) return EV_CALL(real(base, flags));
  struct ls_loop *l = ls_loop_get(LS_EV_LIB, base);
  if (!l) return EV_CALL(real(base, flags));
  pid_t me = ls_gettid(), running = 0;
  if (!__atomic_compare_exchange_n(&l->running, &running, me, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) && mine)
    reentry(l, running, call, caller);
  LS_RELAXED_STORE(&l->thread, me);
  struct ls_loop *outer = ls_tls.loop;
  ls_tls.loop = l;
  int rc = EV_CALL(real(base, flags));
  ls_tls.loop = outer;
  if (!running) __atomic_store_n(&l->running, 0, __ATOMIC_RELEASE);
  return rc;
}

LS_REAL_SLOT(event_base_loop);
LS_EXPORT int event_base_loop(struct event_base *base, int flags) {
  EV_REAL_OR(event_base_loop, -1);
  return run(real_, base, flags, "event_base_loop", CALLER);
}

/* event_base_dispatch is event_base_loop(base, 0); libevent calls its own loop directly, so the hook
 * runs the real event_base_loop itself. */
LS_EXPORT int event_base_dispatch(struct event_base *base) {
  __typeof__(&event_base_loop) loop_ = EV_REAL_FN(event_base_loop);
  if (!loop_) return -1;
  return run(loop_, base, 0, "event_base_dispatch", CALLER);
}

/* ---- the deprecated current_base forms (tmux uses them): event_init's base is current_base ---- */

static struct event_base *current_base; /* what event_init made, until it is freed */
static void set_current_base(struct event_base *b) { __atomic_store_n(&current_base, b, __ATOMIC_RELEASE); }

struct event_base *ls_ev_current_base(void) { return __atomic_load_n(&current_base, __ATOMIC_ACQUIRE); }
void ls_ev_current_base_gone(const struct event_base *base) {
  struct event_base *cur = (struct event_base *)base;
  __atomic_compare_exchange_n(&current_base, &cur, NULL, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* event_loop(flags) is event_base_loop(current_base, flags); event_dispatch() is event_loop(0). */
LS_REAL_SLOT(event_loop);
LS_EXPORT int event_loop(int flags) {
  EV_REAL_OR(event_loop, -1);
  __typeof__(&event_base_loop) loop_ = EV_REAL_FN(event_base_loop);
  struct event_base *b = ls_ev_current_base();
  if (!b || !loop_) return EV_CALL(real_(flags));
  return run(loop_, b, flags, "event_loop", CALLER);
}

LS_REAL_SLOT(event_dispatch);
LS_EXPORT int event_dispatch(void) {
  EV_REAL_OR(event_dispatch, -1);
  __typeof__(&event_base_loop) loop_ = EV_REAL_FN(event_base_loop);
  struct event_base *b = ls_ev_current_base();
  if (!b || !loop_) return EV_CALL(real_());
  return run(loop_, b, 0, "event_dispatch", CALLER);
}

/* event_set is event_assign on current_base (libevent's inner call is its own: this is the site). */
LS_REAL_SLOT(event_set);
LS_EXPORT void event_set(struct event *ev, evutil_socket_t fd, short events, event_callback_fn cb, void *arg) {
  __typeof__(&event_set) real_ = EV_REAL_FN(event_set);
  if (!real_) return;
  if (!EV_MINE_CB(cb)) {
    EV_CALL_VOID(real_(ev, fd, events, cb, arg));
    return;
  }
  const char *kind = event_kind(fd, events);
  uint32_t site;
  event_callback_fn cb_ = (event_callback_fn)ls_ev_wrap(ls_ev_take_event, kind, (void *)cb, CALLER, &site);
  EV_CALL_VOID(real_(ev, fd, events, cb_, arg));
  if (ev->ev_base) ls_ev_event_made(ev, kind, CALLER, false);
}

/* event_once is event_base_once on current_base. */
LS_REAL_SLOT(event_once);
LS_EXPORT int event_once(evutil_socket_t fd, short events, event_callback_fn cb, void *arg, const struct timeval *tv) {
  EV_REAL_OR(event_once, -1);
  struct event_base *b = ls_ev_current_base();
  if (!b || !cb || !EV_MINE_CB(cb)) return EV_CALL(real_(fd, events, cb, arg, tv));
  return once_on(b, fd, events, cb, arg, tv, CALLER);
}
