/* The libevent adapter, bufferevents and listeners: their callbacks swapped for pooled trampolines
 * (read, write, event; accept, accept error), the objects tracked for "still open at exit", the calls
 * that are not thread-safe on a base without a lock checked.
 *
 * A NULL event callback only means "nobody is told" (libevent skips the call), so we stand in for it
 * to see an error or EOF nobody will ever hear of (unretrieved-error); bufferevent_getcb still says
 * NULL. Bufferevents made inside libevent (evhttp's, a filter's underlying one) are libevent's. */
#define _GNU_SOURCE
#include <errno.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/listener.h>

#include "ev.h"

#include <event2/bufferevent_compat.h> /* bufferevent_new */

static inline struct event_base *bev_base(const struct bufferevent *bev) { return bev ? bev->ev_base : NULL; }

/* ---- made and freed ---- */

LS_REAL_SLOT(bufferevent_socket_new);
LS_EXPORT struct bufferevent *bufferevent_socket_new(struct event_base *base, evutil_socket_t fd, int options) {
  EV_REAL_OR(bufferevent_socket_new, NULL);
  bool mine = EV_MINE;
  struct bufferevent *bev = EV_CALL(real_(base, fd, options));
  if (bev && mine) ls_ev_object_made(bev, "bufferevent", base, CALLER);
  return bev;
}

LS_REAL_SLOT(bufferevent_pair_new);
LS_EXPORT int bufferevent_pair_new(struct event_base *base, int options, struct bufferevent *pair[2]) {
  EV_REAL_OR(bufferevent_pair_new, -1);
  bool mine = EV_MINE;
  int rc = EV_CALL(real_(base, options, pair));
  if (rc == 0 && mine) {
    ls_ev_object_made(pair[0], "bufferevent", base, CALLER);
    ls_ev_object_made(pair[1], "bufferevent", base, CALLER);
  }
  return rc;
}

static void forget_null_event(const struct bufferevent *bev) { ls_unbind(bev, LS_SLOT_CLOSE); }

LS_REAL_SLOT(bufferevent_free);
LS_EXPORT void bufferevent_free(struct bufferevent *bev) {
  __typeof__(&bufferevent_free) real_ = EV_REAL_FN(bufferevent_free);
  if (!real_) return;
  if (bev && ls_active && !ls_tls.guard) {
    ls_ev_check_thread(bev_base(bev), "bufferevent_free", CALLER);
    ls_ev_object_gone(bev);
    forget_null_event(bev);
  }
  EV_CALL_VOID(real_(bev));
}

/* ---- callbacks ---- */


static void bev_unretrieved(const void *bev, short what) {
  int err = errno; /* libevent's EVUTIL_SOCKET_ERROR() for this error, unless the callback was deferred */
  void *ignored;
  uint32_t stack;
  if (!ls_active || !ls_binding(bev, LS_SLOT_CLOSE, &ignored, &stack)) return;
  const char *msg = (what & BEV_EVENT_ERROR)
                        ? "a bufferevent hit an error and no event callback was set to see it"
                        : "a bufferevent reached end of file and no event callback was set to see it";
  struct ls_finding_info fi = {.call = "bufferevent_setcb", .kind = "bufferevent event", .stack = stack,
                               .message = msg};
  if ((what & BEV_EVENT_ERROR) && err) {
    fi.has_status = true;
    fi.status = -err;
  }
  ls_finding_keyed(LS_F_UNRETRIEVED_ERROR, stack, (uintptr_t)(what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)), &fi);
  errno = err;
}

void ls_ev_null_bev_event(struct bufferevent *bev, short what, void *ctx) {
  (void)ctx;
  if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) bev_unretrieved(bev, what);
}

/* The callbacks as the program's call site gave them, swapped; a NULL event callback stood in for. */
static void swap_bev_cbs(struct bufferevent *bev, bufferevent_data_cb *r, bufferevent_data_cb *w,
                         bufferevent_event_cb *e, const void *caller) {
  uint32_t site;
  *r = (bufferevent_data_cb)ls_ev_wrap(ls_ev_take_bev_data, "bufferevent read", (void *)*r, caller, &site);
  *w = (bufferevent_data_cb)ls_ev_wrap(ls_ev_take_bev_data, "bufferevent write", (void *)*w, caller, &site);
  if (*e) {
    forget_null_event(bev);
    *e = (bufferevent_event_cb)ls_ev_wrap(ls_ev_take_bev_event, "bufferevent event", (void *)*e, caller, &site);
    return;
  }
  /* No site (nothing of the program's runs): the binding keeps where the callbacks were set instead. */
  ls_bind(bev, LS_SLOT_CLOSE, NULL, ls_creation_stack("bufferevent event", caller));
  *e = ls_ev_null_bev_event;
}

LS_REAL_SLOT(bufferevent_setcb);
LS_EXPORT void bufferevent_setcb(struct bufferevent *bev, bufferevent_data_cb readcb, bufferevent_data_cb writecb,
                                 bufferevent_event_cb eventcb, void *cbarg) {
  __typeof__(&bufferevent_setcb) real_ = EV_REAL_FN(bufferevent_setcb);
  if (!real_) return;
  /* evhttp sets its bufferevents' callbacks to its own functions, from entry points no hook sees. */
  if (bev && EV_MINE && !ls_lib_code(LS_LIB_EV, (const void *)readcb) &&
      !ls_lib_code(LS_LIB_EV, (const void *)eventcb)) {
    ls_ev_check_thread(bev_base(bev), "bufferevent_setcb", CALLER);
    swap_bev_cbs(bev, &readcb, &writecb, &eventcb, CALLER);
  }
  EV_CALL_VOID(real_(bev, readcb, writecb, eventcb, cbarg));
}

/* bufferevent_new (deprecated): a socket bufferevent with no base yet, and its callbacks. */
LS_REAL_SLOT(bufferevent_new);
LS_EXPORT struct bufferevent *bufferevent_new(evutil_socket_t fd, bufferevent_data_cb readcb,
                                              bufferevent_data_cb writecb, bufferevent_event_cb eventcb, void *cbarg) {
  EV_REAL_OR(bufferevent_new, NULL);
  if (!EV_MINE) return EV_CALL(real_(fd, readcb, writecb, eventcb, cbarg));
  struct bufferevent *bev = EV_CALL(real_(fd, NULL, NULL, NULL, cbarg));
  if (!bev) return NULL;
  __typeof__(&bufferevent_setcb) setcb = EV_REAL_FN(bufferevent_setcb);
  ls_ev_object_made(bev, "bufferevent", NULL, CALLER);
  swap_bev_cbs(bev, &readcb, &writecb, &eventcb, CALLER);
  if (setcb) EV_CALL_VOID(setcb(bev, readcb, writecb, eventcb, cbarg));
  return bev;
}

LS_REAL_SLOT(bufferevent_getcb);
LS_EXPORT void bufferevent_getcb(struct bufferevent *bev, bufferevent_data_cb *readcb_ptr,
                                 bufferevent_data_cb *writecb_ptr, bufferevent_event_cb *eventcb_ptr,
                                 void **cbarg_ptr) {
  __typeof__(&bufferevent_getcb) real_ = EV_REAL_FN(bufferevent_getcb);
  if (!real_) return;
  real_(bev, readcb_ptr, writecb_ptr, eventcb_ptr, cbarg_ptr);
  if (readcb_ptr) *readcb_ptr = (bufferevent_data_cb)ls_ev_orig((void *)*readcb_ptr);
  if (writecb_ptr) *writecb_ptr = (bufferevent_data_cb)ls_ev_orig((void *)*writecb_ptr);
  if (eventcb_ptr) *eventcb_ptr = (bufferevent_event_cb)ls_ev_orig((void *)*eventcb_ptr);
}

/* ---- not thread-safe on a base without a lock: checked, passed on ---- */

/* X(ret, name, params, args, fail) */
#define BEV_CHECKED(X)                                                                                       \
  X(int, bufferevent_write, (struct bufferevent * bev, const void *data, size_t size), (bev, data, size), -1) \
  X(int, bufferevent_write_buffer, (struct bufferevent * bev, struct evbuffer * buf), (bev, buf), -1)        \
  X(size_t, bufferevent_read, (struct bufferevent * bev, void *data, size_t size), (bev, data, size), 0)     \
  X(int, bufferevent_read_buffer, (struct bufferevent * bev, struct evbuffer * buf), (bev, buf), -1)         \
  X(int, bufferevent_enable, (struct bufferevent * bev, short event), (bev, event), -1)                     \
  X(int, bufferevent_disable, (struct bufferevent * bev, short event), (bev, event), -1)                   \
  X(int, bufferevent_set_timeouts, (struct bufferevent * bev, const struct timeval *r, const struct timeval *w), \
    (bev, r, w), -1)

#define GEN_BEV_CHECKED(ret, name, params, args, fail)                                                      \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT ret name params {                                                                               \
    EV_REAL_OR(name, fail);                                                                                 \
    ls_ev_check_thread(bev_base(bev), #name, CALLER);                                                       \
    return EV_CALL(real_ args);                                                                             \
  }
BEV_CHECKED(GEN_BEV_CHECKED)

/* ---- listeners ---- */

static evconnlistener_cb listener_cb(evconnlistener_cb cb, const void *caller) {
  uint32_t site;
  return (evconnlistener_cb)ls_ev_wrap(ls_ev_take_listener, "evconnlistener", (void *)cb, caller, &site);
}

static struct evconnlistener *listener_made(struct evconnlistener *lev, struct event_base *base,
                                            const void *caller) {
  if (lev) ls_ev_object_made(lev, "evconnlistener", base, caller);
  return lev;
}

LS_REAL_SLOT(evconnlistener_new);
LS_EXPORT struct evconnlistener *evconnlistener_new(struct event_base *base, evconnlistener_cb cb, void *ptr,
                                                    unsigned flags, int backlog, evutil_socket_t fd) {
  EV_REAL_OR(evconnlistener_new, NULL);
  if (!EV_MINE_CB(cb)) return EV_CALL(real_(base, cb, ptr, flags, backlog, fd));
  cb = listener_cb(cb, CALLER);
  return listener_made(EV_CALL(real_(base, cb, ptr, flags, backlog, fd)), base, CALLER);
}

LS_REAL_SLOT(evconnlistener_new_bind);
LS_EXPORT struct evconnlistener *evconnlistener_new_bind(struct event_base *base, evconnlistener_cb cb, void *ptr,
                                                         unsigned flags, int backlog, const struct sockaddr *sa,
                                                         int socklen) {
  EV_REAL_OR(evconnlistener_new_bind, NULL);
  if (!EV_MINE_CB(cb)) return EV_CALL(real_(base, cb, ptr, flags, backlog, sa, socklen));
  cb = listener_cb(cb, CALLER);
  return listener_made(EV_CALL(real_(base, cb, ptr, flags, backlog, sa, socklen)), base, CALLER);
}

LS_REAL_SLOT(evconnlistener_set_cb);
LS_EXPORT void evconnlistener_set_cb(struct evconnlistener *lev, evconnlistener_cb cb, void *arg) {
  __typeof__(&evconnlistener_set_cb) real_ = EV_REAL_FN(evconnlistener_set_cb);
  if (!real_) return;
  if (EV_MINE_CB(cb)) cb = listener_cb(cb, CALLER);
  EV_CALL_VOID(real_(lev, cb, arg));
}

LS_REAL_SLOT(evconnlistener_set_error_cb);
LS_EXPORT void evconnlistener_set_error_cb(struct evconnlistener *lev, evconnlistener_errorcb cb) {
  __typeof__(&evconnlistener_set_error_cb) real_ = EV_REAL_FN(evconnlistener_set_error_cb);
  if (!real_) return;
  uint32_t site;
  if (EV_MINE_CB(cb))
    cb = (evconnlistener_errorcb)ls_ev_wrap(ls_ev_take_listener_err, "evconnlistener error", (void *)cb, CALLER,
                                            &site);
  EV_CALL_VOID(real_(lev, cb));
}

LS_REAL_SLOT(evconnlistener_free);
LS_EXPORT void evconnlistener_free(struct evconnlistener *lev) {
  __typeof__(&evconnlistener_free) real_ = EV_REAL_FN(evconnlistener_free);
  if (!real_) return;
  if (lev && ls_active && !ls_tls.guard) ls_ev_object_gone(lev);
  EV_CALL_VOID(real_(lev));
}

/* ---- bufferevent_openssl (libevent_openssl): the bufferevents it makes, for the still-open list; their
 * callbacks go through bufferevent_setcb above. The SSL object stays opaque: no OpenSSL header. ---- */

struct ssl_st;
LS_REAL_SLOT(bufferevent_openssl_socket_new);
LS_EXPORT struct bufferevent *bufferevent_openssl_socket_new(struct event_base *base, evutil_socket_t fd,
                                                             struct ssl_st *ssl, enum bufferevent_ssl_state state,
                                                             int options) {
  EV_REAL_OR(bufferevent_openssl_socket_new, NULL);
  bool mine = EV_MINE;
  struct bufferevent *bev = EV_CALL(real_(base, fd, ssl, state, options));
  if (bev && mine) ls_ev_object_made(bev, "bufferevent", base, CALLER);
  return bev;
}

LS_REAL_SLOT(bufferevent_openssl_filter_new);
LS_EXPORT struct bufferevent *bufferevent_openssl_filter_new(struct event_base *base, struct bufferevent *underlying,
                                                             struct ssl_st *ssl, enum bufferevent_ssl_state state,
                                                             int options) {
  EV_REAL_OR(bufferevent_openssl_filter_new, NULL);
  bool mine = EV_MINE;
  struct bufferevent *bev = EV_CALL(real_(base, underlying, ssl, state, options));
  if (bev && mine) ls_ev_object_made(bev, "bufferevent", base, CALLER);
  return bev;
}
