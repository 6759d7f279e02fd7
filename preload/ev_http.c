/* The libevent adapter, evhttp and evdns: their callbacks swapped for pooled trampolines that keep the
 * program's argument. evhttp's own requests (the server side makes one per incoming request through
 * evhttp_request_new) and its own bufferevents are libevent's: passed through. evhttp has no getter
 * that hands a callback back, so nothing needs translating. */
#define _GNU_SOURCE

#include <event2/dns.h>
#include <event2/http.h>

#include "ev.h"

typedef void (*http_req_fn)(struct evhttp_request *, void *);
typedef void (*http_conn_fn)(struct evhttp_connection *, void *);

/* ---- server side ---- */

LS_REAL_SLOT(evhttp_set_cb);
LS_EXPORT int evhttp_set_cb(struct evhttp *http, const char *path, http_req_fn cb, void *cb_arg) {
  EV_REAL_OR(evhttp_set_cb, -1);
  uint32_t site;
  if (EV_MINE_CB(cb))
    cb = (http_req_fn)ls_ev_wrap(ls_ev_take_ptr2, "evhttp request", (void *)cb, CALLER, &site);
  return EV_CALL(real_(http, path, cb, cb_arg));
}

LS_REAL_SLOT(evhttp_set_gencb);
LS_EXPORT void evhttp_set_gencb(struct evhttp *http, http_req_fn cb, void *arg) {
  __typeof__(&evhttp_set_gencb) real_ = EV_REAL_FN(evhttp_set_gencb);
  if (!real_) return;
  uint32_t site;
  if (EV_MINE_CB(cb))
    cb = (http_req_fn)ls_ev_wrap(ls_ev_take_ptr2, "evhttp request", (void *)cb, CALLER, &site);
  EV_CALL_VOID(real_(http, cb, arg));
}

LS_REAL_SLOT(evhttp_send_reply_chunk_with_cb);
LS_EXPORT void evhttp_send_reply_chunk_with_cb(struct evhttp_request *req, struct evbuffer *buf, http_conn_fn cb,
                                               void *arg) {
  __typeof__(&evhttp_send_reply_chunk_with_cb) real_ = EV_REAL_FN(evhttp_send_reply_chunk_with_cb);
  if (!real_) return;
  uint32_t site;
  if (EV_MINE_CB(cb))
    cb = (http_conn_fn)ls_ev_wrap(ls_ev_take_ptr2, "evhttp chunk sent", (void *)cb, CALLER, &site);
  EV_CALL_VOID(real_(req, buf, cb, arg));
}

/* ---- client side ---- */

/* A NULL callback is passed on as it is: libevent 2.1 calls it anyway when the connection fails (the
 * program crashes without loopscope too), so standing in would change what the program does. */
LS_REAL_SLOT(evhttp_request_new);
LS_EXPORT struct evhttp_request *evhttp_request_new(http_req_fn cb, void *arg) {
  EV_REAL_OR(evhttp_request_new, NULL);
  uint32_t site;
  if (EV_MINE_CB(cb))
    cb = (http_req_fn)ls_ev_wrap(ls_ev_take_ptr2, "evhttp response", (void *)cb, CALLER, &site);
  return EV_CALL(real_(cb, arg));
}

LS_REAL_SLOT(evhttp_request_set_error_cb);
LS_EXPORT void evhttp_request_set_error_cb(struct evhttp_request *req, void (*cb)(enum evhttp_request_error, void *)) {
  __typeof__(&evhttp_request_set_error_cb) real_ = EV_REAL_FN(evhttp_request_set_error_cb);
  if (!real_) return;
  uint32_t site;
  if (EV_MINE_CB(cb))
    cb = (void (*)(enum evhttp_request_error, void *))ls_ev_wrap(ls_ev_take_http_err, "evhttp error", (void *)cb,
                                                                 CALLER, &site);
  EV_CALL_VOID(real_(req, cb));
}

LS_REAL_SLOT(evhttp_request_set_chunked_cb);
LS_EXPORT void evhttp_request_set_chunked_cb(struct evhttp_request *req, http_req_fn cb) {
  __typeof__(&evhttp_request_set_chunked_cb) real_ = EV_REAL_FN(evhttp_request_set_chunked_cb);
  if (!real_) return;
  uint32_t site;
  if (EV_MINE_CB(cb))
    cb = (http_req_fn)ls_ev_wrap(ls_ev_take_ptr2, "evhttp chunk", (void *)cb, CALLER, &site);
  EV_CALL_VOID(real_(req, cb));
}

LS_REAL_SLOT(evhttp_request_set_on_complete_cb);
LS_EXPORT void evhttp_request_set_on_complete_cb(struct evhttp_request *req, http_req_fn cb, void *cb_arg) {
  __typeof__(&evhttp_request_set_on_complete_cb) real_ = EV_REAL_FN(evhttp_request_set_on_complete_cb);
  if (!real_) return;
  uint32_t site;
  if (EV_MINE_CB(cb))
    cb = (http_req_fn)ls_ev_wrap(ls_ev_take_ptr2, "evhttp complete", (void *)cb, CALLER, &site);
  EV_CALL_VOID(real_(req, cb, cb_arg));
}

LS_REAL_SLOT(evhttp_connection_set_closecb);
LS_EXPORT void evhttp_connection_set_closecb(struct evhttp_connection *evcon, http_conn_fn cb, void *arg) {
  __typeof__(&evhttp_connection_set_closecb) real_ = EV_REAL_FN(evhttp_connection_set_closecb);
  if (!real_) return;
  uint32_t site;
  if (EV_MINE_CB(cb))
    cb = (http_conn_fn)ls_ev_wrap(ls_ev_take_ptr2, "evhttp close", (void *)cb, CALLER, &site);
  EV_CALL_VOID(real_(evcon, cb, arg));
}

/* ---- evdns ---- */

/* X(name, params, args): the resolve family, callback spelled cb_ in args */
#define EVDNS_RESOLVE(X)                                                                                     \
  X(evdns_base_resolve_ipv4, (struct evdns_base * base, const char *name, int flags, evdns_callback_type cb,   \
                              void *ptr),                                                                    \
    (base, name, flags, cb_, ptr))                                                                           \
  X(evdns_base_resolve_ipv6, (struct evdns_base * base, const char *name, int flags, evdns_callback_type cb,   \
                              void *ptr),                                                                    \
    (base, name, flags, cb_, ptr))                                                                           \
  X(evdns_base_resolve_reverse, (struct evdns_base * base, const struct in_addr *in, int flags,                \
                                 evdns_callback_type cb, void *ptr),                                         \
    (base, in, flags, cb_, ptr))                                                                             \
  X(evdns_base_resolve_reverse_ipv6, (struct evdns_base * base, const struct in6_addr *in, int flags,          \
                                      evdns_callback_type cb, void *ptr),                                    \
    (base, in, flags, cb_, ptr))

#define GEN_RESOLVE(name, params, args)                                                                     \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT struct evdns_request *name params {                                                             \
    EV_REAL_OR(name, NULL);                                                                                 \
    uint32_t site_;                                                                                         \
    evdns_callback_type cb_ = cb;                                                                           \
    if (EV_MINE_CB(cb))                                                                        \
      cb_ = (evdns_callback_type)ls_ev_wrap(ls_ev_take_dns_resolve, "evdns resolve", (void *)cb, CALLER,         \
                                            &site_);                                                        \
    return EV_CALL(real_ args);                                                                             \
  }
EVDNS_RESOLVE(GEN_RESOLVE)

LS_REAL_SLOT(evdns_getaddrinfo);
LS_EXPORT struct evdns_getaddrinfo_request *evdns_getaddrinfo(struct evdns_base *dns_base, const char *nodename,
                                                              const char *servname,
                                                              const struct evutil_addrinfo *hints_in,
                                                              evdns_getaddrinfo_cb cb, void *arg) {
  EV_REAL_OR(evdns_getaddrinfo, NULL);
  uint32_t site;
  if (EV_MINE_CB(cb))
    cb = (evdns_getaddrinfo_cb)ls_ev_wrap(ls_ev_take_dns_gai, "evdns getaddrinfo", (void *)cb, CALLER, &site);
  return EV_CALL(real_(dns_base, nodename, servname, hints_in, cb, arg));
}

LS_REAL_SLOT(evdns_add_server_port_with_base);
LS_EXPORT struct evdns_server_port *evdns_add_server_port_with_base(struct event_base *base, evutil_socket_t socket,
                                                                    int flags, evdns_request_callback_fn_type cb,
                                                                    void *user_data) {
  EV_REAL_OR(evdns_add_server_port_with_base, NULL);
  uint32_t site;
  if (EV_MINE_CB(cb))
    cb = (evdns_request_callback_fn_type)ls_ev_wrap(ls_ev_take_ptr2, "evdns server", (void *)cb, CALLER, &site);
  return EV_CALL(real_(base, socket, flags, cb, user_data));
}
