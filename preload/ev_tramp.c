/* libevent's callbacks swapped for pooled trampolines (tramp_pool.h): one pool per callback shape, each
 * trampoline bound to one site (callback + where it was registered), so the callback path is clock,
 * call, clock, add, with no lookup. The program's argument goes through untouched; only the function
 * pointer libevent holds is ours, and the getters translate it back (ls_ev_orig).
 *
 * Past a pool's 256 sites the callback is handed over unwrapped: libevent passes no event pointer
 * (fd, what, arg), so a lookup trampoline would need our own context in place of arg, which the
 * program could see (event_get_callback_arg). Unwatched is better than visible. */
#define _GNU_SOURCE

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "ev.h"
#include "map.h"
#include "tramp_pool.h"

/* ---- resolving ---- */

/* libevent-2.1.so.7 holds core and extra; libevent_core/_extra split them. RTLD_NEXT finds whichever
 * the program linked; the sonames are for a plugin that loaded one RTLD_LOCAL. */
static const char *const sonames[] = {"libevent_core-2.1.so.7", "libevent-2.1.so.7", "libevent_extra-2.1.so.7",
                                      "libevent_pthreads-2.1.so.7", "libevent_openssl-2.1.so.7"};

void *ls_ev_real(void **slot, const char *name) {
  void *fn = ls_real(slot, name, NULL);
  for (size_t i = 0; !fn && i < sizeof(sonames) / sizeof(sonames[0]); i++) fn = ls_real(slot, name, sonames[i]);
  return fn;
}

/* ---- the pools ---- */

static inline void pre_none(const void *o, uint32_t s) { (void)o, (void)s; }

typedef void (*bev_data_fn)(struct bufferevent *, void *);
typedef void (*bev_event_fn)(struct bufferevent *, short, void *);

LS_TRAMP_POOL(event, event_callback_fn, (evutil_socket_t fd, short what, void *arg), (fd, what, arg), NULL,
              pre_none, ls_site_account)
LS_TRAMP_POOL(bev_data, bev_data_fn, (struct bufferevent * bev, void *ctx), (bev, ctx), NULL, pre_none,
              ls_site_account)
LS_TRAMP_POOL(bev_event, bev_event_fn, (struct bufferevent * bev, short what, void *ctx), (bev, what, ctx), NULL,
              pre_none, ls_site_account)
LS_TRAMP_POOL(listener, evconnlistener_cb,
              (struct evconnlistener * l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg),
              (l, fd, sa, len, arg), NULL, pre_none, ls_site_account)
LS_TRAMP_POOL(listener_err, evconnlistener_errorcb, (struct evconnlistener * l, void *arg), (l, arg), NULL,
              pre_none, ls_site_account)
/* evhttp's request, chunk and complete callbacks, its connection close and chunk-sent callbacks, and
 * evdns's server callbacks all take (object, argument). */
typedef void (*ptr2_fn)(void *, void *);
typedef void (*http_err_fn)(enum evhttp_request_error, void *);
LS_TRAMP_POOL(ptr2, ptr2_fn, (void *obj, void *arg), (obj, arg), NULL, pre_none, ls_site_account)
LS_TRAMP_POOL(http_err, http_err_fn, (enum evhttp_request_error err, void *arg), (err, arg), NULL, pre_none,
              ls_site_account)
LS_TRAMP_POOL(dns_resolve, evdns_callback_type, (int result, char type, int count, int ttl, void *addrs, void *arg),
              (result, type, count, ttl, addrs, arg), NULL, pre_none, ls_site_account)
LS_TRAMP_POOL(dns_gai, evdns_getaddrinfo_cb, (int result, struct evutil_addrinfo *res, void *arg), (result, res, arg),
              NULL, pre_none, ls_site_account)

/* Each take remembers tramp -> (cb, site) for the getters: a binding keyed by the trampoline itself. */
#define TAKE(shape)                                                                                         \
  void *ls_ev_take_##shape(uint32_t site, void *cb) {                                                       \
    void *t = shape##_pool_take(site, cb);                                                                  \
    if (t) ls_bind(t, LS_SLOT_MAIN, cb, site);                                                              \
    return t;                                                                                               \
  }
TAKE(event)
TAKE(bev_data)
TAKE(bev_event)
TAKE(listener)
TAKE(listener_err)
TAKE(ptr2)
TAKE(http_err)
TAKE(dns_resolve)
TAKE(dns_gai)

/* ---- the swap ---- */

static __attribute__((noinline)) void *wrap_slow(void *(*take)(uint32_t, void *), const char *kind, void *cb,
                                                   const void *caller, uint32_t *site_out,
                                                   struct ls_reg_cache *e) {
  /* A callback inside libevent is libevent's, whoever seems to pass it. */
  if (ls_lib_code(LS_LIB_EV, cb)) return cb;
  uint32_t site = ls_site_get(kind, cb, caller);
  if (site == LS_SITE_NONE) return cb;
  *site_out = site;
  void *t = ls_site_tramp(site, take);
  if (!t) return cb; /* pool exhausted: unwatched, never visible */
  *e = (struct ls_reg_cache){caller, cb, (const void *)take, t, site};
  return t;
}

void *ls_ev_wrap(void *(*take)(uint32_t, void *), const char *kind, void *cb, const void *caller,
                 uint32_t *site_out) {
  *site_out = LS_SITE_NONE;
  if (!cb || ls_is_shim_code(cb) || !ls_programs_call(LS_LIB_EV, caller)) return cb;
  struct ls_reg_cache *e = &ls_tls.reg_cache[((uintptr_t)caller >> 2) & 31];
  if (LS_LIKELY(e->caller == caller && e->cb == cb && e->pool == (const void *)take)) {
    *site_out = e->site;
    return e->tramp;
  }
  return wrap_slow(take, kind, cb, caller, site_out, e);
}

/* Stand-ins (ev_bev.c's NULL event callback) say NULL; trampolines say the program's callback. */

void *ls_ev_orig(void *fn) {
  if (!fn || !ls_is_shim_code(fn)) return fn;
  if (fn == (void *)ls_ev_null_bev_event) return NULL;
  void *cb;
  uint32_t site;
  if (ls_binding(fn, LS_SLOT_MAIN, &cb, &site)) return cb;
  return fn;
}
