/* The libevent adapter's internal interface: finding libevent's real functions, telling libevent's own
 * calls from the program's, swapping callbacks for pooled trampolines (ev_tramp.c) and the bookkeeping
 * behind the findings (ev_track.c). ev.c hooks the event core, ev_bev.c bufferevents and listeners.
 *
 * Transparency: a trampoline keeps the program's own argument, so event_get_callback_arg and
 * event_self_cbarg() need nothing; the getters that hand a callback back (event_get_callback,
 * event_get_assignment, bufferevent_getcb) translate our trampolines with ls_ev_orig. */
#ifndef LS_EV_H
#define LS_EV_H

#include <event2/event.h>
#include <event2/event_struct.h>

#include "shim.h"

#define LS_EV_LIB "libevent"
#define CALLER __builtin_return_address(0)

/* ---- resolving: a program may link libevent-2.1 (core + extra), libevent_core, libevent_extra ---- */
void *ls_ev_real(void **slot, const char *name);
#define EV_REAL_FN(name)                                                                                   \
  ((__typeof__(&name))(LS_LIKELY(__atomic_load_n((void **)&real_##name, __ATOMIC_ACQUIRE) != NULL)          \
                           ? (void *)real_##name                                                           \
                           : ls_ev_real((void **)&real_##name, #name)))
#define EV_REAL_OR(name, fail)                                                                             \
  __typeof__(&name) real_ = EV_REAL_FN(name);                                                              \
  if (LS_UNLIKELY(!real_)) return fail

/* libevent calls its exported functions itself (bufferevents assign and add their events, evhttp sets
 * its bufferevents' callbacks): those calls are libevent's, neither sites nor findings. Every hook
 * decides EV_MINE before its real call and makes the real call at one libevent depth more (own.c). */
#define EV_MINE ls_programs_call(LS_LIB_EV, CALLER)
#define EV_CALL(call) LS_LIB_CALL(LS_LIB_EV, call)
#define EV_CALL_VOID(call) LS_LIB_CALL_VOID(LS_LIB_EV, call)
/* A callback inside libevent is libevent's, whoever seems to pass it (event_loopexit reaches
 * event_once with its own callback through no hook of ours). */
#define EV_MINE_CB(cb) ls_programs_callback(LS_LIB_EV, CALLER, (const void *)(cb))

/* ---- trampolines (ev_tramp.c) ---- */
/* A pool per callback shape; each take binds the trampoline to its site and remembers tramp -> cb. */
void *ls_ev_take_event(uint32_t site, void *cb);
void *ls_ev_take_bev_data(uint32_t site, void *cb);
void *ls_ev_take_bev_event(uint32_t site, void *cb);
void *ls_ev_take_listener(uint32_t site, void *cb);
void *ls_ev_take_listener_err(uint32_t site, void *cb);
void *ls_ev_take_ptr2(uint32_t site, void *cb); /* (object, argument): evhttp, evdns server */
void *ls_ev_take_http_err(uint32_t site, void *cb);
void *ls_ev_take_dns_resolve(uint32_t site, void *cb);
void *ls_ev_take_dns_gai(uint32_t site, void *cb);
/* What to hand to libevent in place of cb registered from caller: a pooled trampoline for its site, or
 * cb itself (NULL, ours already, libevent's own registration, the pool of that shape exhausted). *site
 * is the site, or LS_SITE_NONE. */
void *ls_ev_wrap(void *(*take)(uint32_t, void *), const char *kind, void *cb, const void *caller,
                 uint32_t *site);
/* The program's callback behind fn (one of our trampolines), or fn itself; NULL for a stand-in. */
void *ls_ev_orig(void *fn);

/* ---- bookkeeping (ev_track.c) ---- */
/* A base was made, from caller (the program's call into event_base_new, event_init or
 * event_base_new_with_config), with cfg (NULL: the default configuration). */
void ls_ev_base_made(struct event_base *base, const struct event_config *cfg, const void *caller);
/* evthread_set_lock_callbacks ran: bases made from now on get a lock (unless EVENT_BASE_FLAG_NOLOCK). */
void ls_ev_locking(bool on);
void ls_ev_config_flag(const struct event_config *cfg, int flag);
void ls_ev_config_gone(const struct event_config *cfg);
/* The program is freeing base: unclosed-resource for its events still added, never-run for its
 * one-shot work still due. Before the real call (the events are still there to look at). */
void ls_ev_base_freeing(struct event_base *base);

/* Events the program assigned: creation stack and kind, for the findings at event_base_free. owned:
 * libevent allocated it (event_new), so it stays readable until event_free, whatever else the program
 * frees. */
void ls_ev_event_made(const struct event *ev, const char *kind, const void *caller, bool owned);
void ls_ev_event_gone(const struct event *ev);
/* event_base_once: our context stands in for the program's argument (libevent keeps the event to
 * itself, so nothing the program can ask for shows it). */
struct ls_ev_once {
  event_callback_fn cb;
  void *arg;
  uint32_t site;
  const struct event_base *base;
  uint64_t due; /* CLOCK_MONOTONIC ns when its timeout comes due; 0: due at once (no timeout) */
};
struct ls_ev_once *ls_ev_once_new(event_callback_fn cb, void *arg, uint32_t site, const struct event_base *base,
                                  const struct timeval *tv);
void ls_ev_once_ran(struct ls_ev_once *o);    /* its callback is about to run: no longer pending */
void ls_ev_once_failed(struct ls_ev_once *o); /* event_base_once refused it */

/* Objects that may be still open at exit: bufferevents and listeners (bases are tracked above). */
void ls_ev_object_made(const void *obj, const char *kind, const struct event_base *base, const void *caller);
void ls_ev_object_gone(const void *obj);

/* wrong-thread: a call on base while another thread runs it, and base has no lock. Inline check, the
 * report out of line (it also decides whether the caller is the program: call it before the real call). */
void ls_ev_wrong_thread(struct ls_loop *l, pid_t running, const char *call, const void *caller);
static inline void ls_ev_check_thread(const struct event_base *base, const char *call, const void *caller) {
  if (LS_UNLIKELY(!base || !ls_active)) return;
  struct ls_loop *l = ls_loop_find(base);
  if (!l) return;
  pid_t running = LS_RELAXED_LOAD(&l->running);
  if (LS_LIKELY(!running || l->thread_safe)) return;
  pid_t me = ls_tls.tid; /* ls_gettid() without the call, once this thread's tid is known */
  if (LS_LIKELY(running == (me ? me : ls_gettid()))) return;
  ls_ev_wrong_thread(l, running, call, caller);
}

/* event_init's base (libevent's current_base), for the deprecated forms that use it; NULL when none. */
struct event_base *ls_ev_current_base(void);
void ls_ev_current_base_gone(const struct event_base *base);

/* The stand-in for a NULL bufferevent event callback (ev_bev.c): an error or end of file it hears of
 * is an unretrieved-error. */
struct bufferevent;
void ls_ev_null_bev_event(struct bufferevent *bev, short what, void *ctx);

#endif
