/* The libuv adapter. Every callback the program hands to libuv is swapped for a trampoline that
 * times it and adds to its site's aggregate: a pooled per-site trampoline (tramp_pool.h), or past
 * the pool one that looks the original up by handle/request pointer. The hooks also feed
 * uv_track.c: handles opened and closed, requests pending, which thread runs each loop.
 *
 * Rules (DESIGN.md §4): a NULL callback is passed on untouched where NULL changes behaviour (uv_fs_*,
 * uv_getaddrinfo, uv_getnameinfo and uv_random run synchronously with it); where NULL only means
 * "nobody is told" (uv_write, uv_write2, uv_shutdown, uv_tcp_connect, uv_udp_send, uv_close) we stand
 * in, to see the outcome. libuv calling its own exports (uv_loop_init -> uv_async_init,
 * uv_timer_again -> uv_timer_start) is neither a site nor wrapped nor checked: every hook decides
 * ls_programs_call before its real call and makes the real call at one libuv depth more (own.c). uv_async_send is not
 * hooked at all, so it stays lock-free and signal-safe as libuv promises. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <uv.h>

#include "account.h"
#include "tramp_pool.h"
#include "uv_track.h"

#define UV_SONAME "libuv.so.1"
#define CALLER __builtin_return_address(0)
/* The loop of a handle or request the program passed, which may be NULL: libuv rejects some NULLs
 * itself (uv_read_start(NULL, ...) is UV_EINVAL), and a hook never dereferences first. */
#define LOOP_OF(h) ((h) ? (h)->loop : NULL)
/* The program made this call (decided before the real call raises the depth); the real call. */
#define MINE ls_programs_call(LS_LIB_UV, CALLER)
#define UV_CALL(call) LS_LIB_CALL(LS_LIB_UV, call)
#define UV_CALL_VOID(call) LS_LIB_CALL_VOID(LS_LIB_UV, call)

static __attribute__((noreturn, noinline)) void lost_binding(const char *tramp, const void *obj) {
  /* The object holds our trampoline but we have no record of its callback: calling anything would be
   * a guess. This is a loopscope bug (or a handle copied by value); say so and stop. */
  char line[160] = "loopscope: internal error: no callback recorded for libuv object in ";
  size_t n = strlen(line);
  for (const char *p = tramp; *p && n < sizeof(line) - 2; p++) line[n++] = *p;
  line[n++] = '\n';
  ls_log_line(line, n);
  (void)obj;
  abort();
}

/* ---- trampolines ---- */

/* What runs before the program's callback (it may free the object), and how the time is kept. */
static inline void pre_none(const void *o, uint32_t s) { (void)o, (void)s; }
static inline void pre_closed(const void *o, uint32_t s) { (void)s, ls_uv_handle_closed(o); }
static inline void pre_req(const void *o, uint32_t s) { (void)s, ls_uv_req_done(o); }
static inline void pre_work(const void *o, uint32_t s) { ls_uv_work_started(o, s); }
/* Work callbacks run on pool threads: pool time, never a slow-callback, no loop's counters. */
static inline void account_pool(uint32_t site, uint64_t t0) { ls_site_account_ns(site, ls_ticks_to_ns(ls_now() - t0)); }

typedef void (*req_status_cb)(void *req, int status);
typedef void (*handle_status_cb)(void *h, int status);

/* Callback shapes: X(shape, cbtype, params, args, obj, slot, oneshot, pre, account). Oneshot requests
 * forget their fallback binding before the callback: it may reuse the request. */
#define UV_SHAPES(X)                                                                                          \
  X(handle, uv_close_cb, (uv_handle_t * h), (h), h, LS_SLOT_MAIN, 0, pre_none, ls_site_account)               \
  X(close, uv_close_cb, (uv_handle_t * h), (h), h, LS_SLOT_CLOSE, 0, pre_closed, ls_site_account)             \
  X(poll, uv_poll_cb, (uv_poll_t * h, int status, int events), (h, status, events), h, LS_SLOT_MAIN, 0,        \
    pre_none, ls_site_account)                                                                                 \
  X(alloc, uv_alloc_cb, (uv_handle_t * h, size_t size, uv_buf_t *buf), (h, size, buf), h, LS_SLOT_ALLOC, 0,    \
    pre_none, ls_site_account)                                                                                 \
  X(read, uv_read_cb, (uv_stream_t * h, ssize_t nread, const uv_buf_t *buf), (h, nread, buf), h,              \
    LS_SLOT_MAIN, 0, pre_none, ls_site_account)                                                                \
  X(req_status, req_status_cb, (void *h, int status), (h, status), h, LS_SLOT_MAIN, 1, pre_req,               \
    ls_site_account)                                                                                           \
  X(after_work, uv_after_work_cb, (uv_work_t * h, int status), (h, status), h, LS_SLOT_AFTER, 1, pre_req,      \
    ls_site_account)                                                                                           \
  X(work, uv_work_cb, (uv_work_t * h), (h), h, LS_SLOT_WORK, 0, pre_work, account_pool)                       \
  X(status, handle_status_cb, (void *h, int status), (h, status), h, LS_SLOT_MAIN, 0, pre_none,               \
    ls_site_account)                                                                                           \
  X(fs, uv_fs_cb, (uv_fs_t * h), (h), h, LS_SLOT_MAIN, 1, pre_req, ls_site_account)                           \
  X(gai, uv_getaddrinfo_cb, (uv_getaddrinfo_t * h, int status, struct addrinfo *res), (h, status, res), h,    \
    LS_SLOT_MAIN, 1, pre_req, ls_site_account)                                                                 \
  X(gni, uv_getnameinfo_cb, (uv_getnameinfo_t * h, int status, const char *host, const char *service),        \
    (h, status, host, service), h, LS_SLOT_MAIN, 1, pre_req, ls_site_account)                                  \
  X(random, uv_random_cb, (uv_random_t * h, int status, void *buf, size_t len), (h, status, buf, len), h,     \
    LS_SLOT_MAIN, 1, pre_req, ls_site_account)                                                                 \
  X(udp_recv, uv_udp_recv_cb,                                                                                 \
    (uv_udp_t * h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags),           \
    (h, nread, buf, addr, flags), h, LS_SLOT_MAIN, 0, pre_none, ls_site_account)                               \
  X(exit, uv_exit_cb, (uv_process_t * h, int64_t status, int sig), (h, status, sig), h, LS_SLOT_MAIN, 0,      \
    pre_none, ls_site_account)                                                                                 \
  X(fs_event, uv_fs_event_cb, (uv_fs_event_t * h, const char *name, int events, int status),                  \
    (h, name, events, status), h, LS_SLOT_MAIN, 0, pre_none, ls_site_account)                                  \
  X(fs_poll, uv_fs_poll_cb, (uv_fs_poll_t * h, int status, const uv_stat_t *prev, const uv_stat_t *curr),     \
    (h, status, prev, curr), h, LS_SLOT_MAIN, 0, pre_none, ls_site_account)

#define FALLBACK_TRAMPOLINE(shape, cbtype, params, args, obj, slot, oneshot, pre, account)                  \
  static void shape##_fallback params {                                                                     \
    void *cb_;                                                                                              \
    uint32_t site_;                                                                                         \
    if (LS_UNLIKELY(!ls_binding(obj, slot, &cb_, &site_))) lost_binding(#shape, obj);                       \
    if (oneshot) ls_unbind(obj, slot);                                                                      \
    pre(obj, site_);                                                                                        \
    uint64_t t0_ = ls_cb_begin(site_);                                                                      \
    LS_PROGRAM_RUN(((cbtype)cb_)args);                                                                      \
    account(site_, t0_);                                                                                    \
  }
#define POOL(shape, cbtype, params, args, obj, slot, oneshot, pre, account) \
  LS_TRAMP_POOL(shape, cbtype, params, args, obj, pre, account)
UV_SHAPES(FALLBACK_TRAMPOLINE)
UV_SHAPES(POOL)

/* uv_close of a handle that has lookup bindings: forget them all, then the program's callback, if any. */
static void tramp_close(uv_handle_t *h) {
  void *cb = NULL;
  uint32_t site = LS_SITE_NONE;
  if (!ls_binding(h, LS_SLOT_CLOSE, &cb, &site)) lost_binding("close", h);
  ls_unbind(h, LS_SLOT_MAIN);
  ls_unbind(h, LS_SLOT_ALLOC);
  ls_unbind(h, LS_SLOT_CLOSE);
  ls_uv_handle_closed(h);
  if (!cb) return;
  uint64_t t0 = ls_cb_begin(site);
  LS_PROGRAM_RUN(((uv_close_cb)cb)(h));
  if (site != LS_SITE_NONE) ls_site_account(site, t0);
}

/* Stand-ins for a NULL callback: nobody would have been told; we look, then tell nobody. */
static void null_close(uv_handle_t *h) { ls_uv_handle_closed(h); }
#define NULL_STANDIN(call)                                                                                   \
  static void null_##call(void *req, int status) { ls_uv_req_null_done(req, status, #call); }
NULL_STANDIN(uv_write)
NULL_STANDIN(uv_shutdown)
NULL_STANDIN(uv_tcp_connect)
NULL_STANDIN(uv_udp_send)

/* ---- the swap ---- */

struct swap {
  const void *obj;
  enum ls_slot slot;
  void *(*take)(uint32_t, void *);
  void *fallback;
  const char *kind;
  const void *caller;
};

/* The site for cb registered from caller, or LS_SITE_NONE: libuv's own registration, or the shim off. */
static uint32_t site_for(const struct swap *w, void *cb) {
  if (!ls_programs_call(LS_LIB_UV, w->caller)) return LS_SITE_NONE;
  return ls_site_get(w->kind, cb, w->caller);
}

/* What to hand to libuv in place of cb (cb itself when it is not ours to wrap). */
static __attribute__((noinline)) void *swap_cb_slow(const struct swap *w, void *cb, uint32_t *site_out,
                                                      struct ls_reg_cache *e) {
  uint32_t site = site_for(w, cb);
  if (site == LS_SITE_NONE) return cb;
  *site_out = site;
  void *t = ls_site_tramp(site, w->take);
  if (LS_LIKELY(t != NULL)) {
    *e = (struct ls_reg_cache){w->caller, cb, (const void *)w->take, t, site};
    return t;
  }
  ls_bind(w->obj, w->slot, cb, site);
  return w->fallback;
}

static inline void *swap_cb(const struct swap *w, void *cb, uint32_t *site_out) {
  *site_out = LS_SITE_NONE;
  /* No object: libuv rejects the call (a NULL handle or request), and there is nothing to bind to. */
  if (!cb || !w->obj || ls_is_shim_code(cb) || !ls_programs_call(LS_LIB_UV, w->caller)) return cb;
  struct ls_reg_cache *e = &ls_tls.reg_cache[((uintptr_t)w->caller >> 2) & 31];
  if (LS_LIKELY(e->caller == w->caller && e->cb == cb && e->pool == (const void *)w->take)) {
    *site_out = e->site;
    return e->tramp;
  }
  return swap_cb_slow(w, cb, site_out, e);
}

#define SWAP(obj_, slot_, shape, kind_) \
  ((struct swap){(obj_), (slot_), shape##_pool_take, (void *)shape##_fallback, (kind_), CALLER})
#define WRAP(obj, slot, cb, shape, kind)                                                                    \
  ({                                                                                                        \
    uint32_t site_ignored_;                                                                                 \
    struct swap w_ = SWAP(obj, slot, shape, kind);                                                          \
    (__typeof__(cb))swap_cb(&w_, (void *)(cb), &site_ignored_);                                             \
  })

/* A call on the loop must come from the thread running it (if any). libuv's own calls are let be
 * (ls_uv_wrong_thread asks, before the real call). */
static inline void check(const void *loop, const char *call, const void *caller) {
  if (LS_UNLIKELY(!ls_active || ls_tls.guard)) return;
  ls_uv_check_thread(loop, call, caller);
}

#define REAL_OR(name, fail)                                                                                 \
  __typeof__(&name) real_ = LS_REAL_FN(name, UV_SONAME);                                                    \
  if (!real_) return fail

/* ---- handles: init (opened), start with a callback ---- */

/* X(name, params, args, loop, handle, kind) */
#define UV_INITS(X)                                                                                          \
  X(uv_timer_init, (uv_loop_t * loop, uv_timer_t * h), (loop, h), loop, h, "uv timer")                       \
  X(uv_idle_init, (uv_loop_t * loop, uv_idle_t * h), (loop, h), loop, h, "uv idle")                          \
  X(uv_prepare_init, (uv_loop_t * loop, uv_prepare_t * h), (loop, h), loop, h, "uv prepare")                 \
  X(uv_check_init, (uv_loop_t * loop, uv_check_t * h), (loop, h), loop, h, "uv check")                       \
  X(uv_poll_init, (uv_loop_t * loop, uv_poll_t * h, int fd), (loop, h, fd), loop, h, "uv poll")              \
  X(uv_poll_init_socket, (uv_loop_t * loop, uv_poll_t * h, uv_os_sock_t s), (loop, h, s), loop, h, "uv poll") \
  X(uv_tcp_init, (uv_loop_t * loop, uv_tcp_t * h), (loop, h), loop, h, "uv tcp")                             \
  X(uv_tcp_init_ex, (uv_loop_t * loop, uv_tcp_t * h, unsigned int f), (loop, h, f), loop, h, "uv tcp")       \
  X(uv_pipe_init, (uv_loop_t * loop, uv_pipe_t * h, int ipc), (loop, h, ipc), loop, h, "uv pipe")            \
  X(uv_tty_init, (uv_loop_t * loop, uv_tty_t * h, uv_file fd, int readable), (loop, h, fd, readable), loop,  \
    h, "uv tty")                                                                                             \
  X(uv_udp_init, (uv_loop_t * loop, uv_udp_t * h), (loop, h), loop, h, "uv udp")                             \
  X(uv_udp_init_ex, (uv_loop_t * loop, uv_udp_t * h, unsigned int f), (loop, h, f), loop, h, "uv udp")       \
  X(uv_signal_init, (uv_loop_t * loop, uv_signal_t * h), (loop, h), loop, h, "uv signal")                    \
  X(uv_fs_event_init, (uv_loop_t * loop, uv_fs_event_t * h), (loop, h), loop, h, "uv fs event")              \
  X(uv_fs_poll_init, (uv_loop_t * loop, uv_fs_poll_t * h), (loop, h), loop, h, "uv fs poll")

#define GEN_INIT(name, params, args, loop, h, kind)                                                         \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT int name params {                                                                               \
    REAL_OR(name, UV_ENOSYS);                                                                               \
    bool mine_ = MINE;                                                                                      \
    if (mine_) check(loop, #name, CALLER);                                                                  \
    int rc_ = UV_CALL(real_ args);                                                                          \
    if (rc_ == 0 && mine_) ls_uv_handle_opened(h, kind, loop, CALLER);                                      \
    return rc_;                                                                                             \
  }
UV_INITS(GEN_INIT)

/* Functions that take one callback and return int: X(name, params, args, loop, obj, slot, shape, kind).
 * In args the callback is spelled cb_ (the possibly swapped one). */
#define UV_ONE_CALLBACK(X)                                                                                   \
  X(uv_timer_start, (uv_timer_t * h, uv_timer_cb cb, uint64_t timeout, uint64_t repeat),                     \
    (h, cb_, timeout, repeat), LOOP_OF(h), h, LS_SLOT_MAIN, handle, "uv timer")                                 \
  X(uv_idle_start, (uv_idle_t * h, uv_idle_cb cb), (h, cb_), LOOP_OF(h), h, LS_SLOT_MAIN, handle, "uv idle")   \
  X(uv_prepare_start, (uv_prepare_t * h, uv_prepare_cb cb), (h, cb_), LOOP_OF(h), h, LS_SLOT_MAIN, handle,     \
    "uv prepare")                                                                                            \
  X(uv_check_start, (uv_check_t * h, uv_check_cb cb), (h, cb_), LOOP_OF(h), h, LS_SLOT_MAIN, handle,           \
    "uv check")                                                                                              \
  X(uv_poll_start, (uv_poll_t * h, int events, uv_poll_cb cb), (h, events, cb_), LOOP_OF(h), h, LS_SLOT_MAIN,  \
    poll, "uv poll")                                                                                         \
  X(uv_listen, (uv_stream_t * h, int backlog, uv_connection_cb cb), (h, backlog, cb_), LOOP_OF(h), h,          \
    LS_SLOT_MAIN, status, "uv connection")                                                                   \
  X(uv_signal_start, (uv_signal_t * h, uv_signal_cb cb, int signum), (h, cb_, signum), LOOP_OF(h), h,          \
    LS_SLOT_MAIN, status, "uv signal")                                                                       \
  X(uv_signal_start_oneshot, (uv_signal_t * h, uv_signal_cb cb, int signum), (h, cb_, signum), LOOP_OF(h), h,  \
    LS_SLOT_MAIN, status, "uv signal")                                                                       \
  X(uv_fs_event_start, (uv_fs_event_t * h, uv_fs_event_cb cb, const char *path, unsigned int flags),        \
    (h, cb_, path, flags), LOOP_OF(h), h, LS_SLOT_MAIN, fs_event, "uv fs event")                                \
  X(uv_fs_poll_start, (uv_fs_poll_t * h, uv_fs_poll_cb cb, const char *path, unsigned int interval),         \
    (h, cb_, path, interval), LOOP_OF(h), h, LS_SLOT_MAIN, fs_poll, "uv fs poll")

#define GEN_ONE_CALLBACK(name, params, args, loop, obj, slot, shape, kind)                                  \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT int name params {                                                                               \
    REAL_OR(name, UV_ENOSYS);                                                                               \
    check(loop, #name, CALLER);                                                                             \
    __typeof__(cb) cb_ = WRAP(obj, slot, cb, shape, kind);                                                  \
    return UV_CALL(real_ args);                                                                             \
  }
UV_ONE_CALLBACK(GEN_ONE_CALLBACK)

LS_REAL_SLOT(uv_async_init);
LS_EXPORT int uv_async_init(uv_loop_t *loop, uv_async_t *h, uv_async_cb cb) {
  REAL_OR(uv_async_init, UV_ENOSYS);
  bool mine = MINE;
  if (mine) check(loop, "uv_async_init", CALLER);
  uv_async_cb cb_ = WRAP(h, LS_SLOT_MAIN, cb, handle, "uv async");
  int rc = UV_CALL(real_(loop, h, cb_));
  if (rc == 0 && mine) ls_uv_handle_opened(h, "uv async", loop, CALLER);
  return rc;
}

LS_REAL_SLOT(uv_read_start);
LS_EXPORT int uv_read_start(uv_stream_t *s, uv_alloc_cb alloc_cb, uv_read_cb read_cb) {
  REAL_OR(uv_read_start, UV_ENOSYS);
  check(LOOP_OF(s), "uv_read_start", CALLER);
  uv_alloc_cb a = WRAP(s, LS_SLOT_ALLOC, alloc_cb, alloc, "uv alloc");
  uv_read_cb r = WRAP(s, LS_SLOT_MAIN, read_cb, read, "uv read");
  return UV_CALL(real_(s, a, r));
}

LS_REAL_SLOT(uv_udp_recv_start);
LS_EXPORT int uv_udp_recv_start(uv_udp_t *h, uv_alloc_cb alloc_cb, uv_udp_recv_cb recv_cb) {
  REAL_OR(uv_udp_recv_start, UV_ENOSYS);
  check(LOOP_OF(h), "uv_udp_recv_start", CALLER);
  uv_alloc_cb a = WRAP(h, LS_SLOT_ALLOC, alloc_cb, alloc, "uv alloc");
  uv_udp_recv_cb r = WRAP(h, LS_SLOT_MAIN, recv_cb, udp_recv, "uv udp recv");
  return UV_CALL(real_(h, a, r));
}

LS_REAL_SLOT(uv_spawn);
LS_EXPORT int uv_spawn(uv_loop_t *loop, uv_process_t *p, const uv_process_options_t *options) {
  REAL_OR(uv_spawn, UV_ENOSYS);
  bool mine = MINE;
  if (mine) check(loop, "uv_spawn", CALLER);
  if (!options) return UV_CALL(real_(loop, p, options)); /* libuv's to refuse */
  /* libuv keeps exit_cb, not the options: a copy with our trampoline in it is invisible. */
  uv_process_options_t copy = *options;
  copy.exit_cb = WRAP(p, LS_SLOT_MAIN, options->exit_cb, exit, "uv exit");
  int rc = UV_CALL(real_(loop, p, &copy));
  if (rc == 0 && mine) ls_uv_handle_opened(p, "uv process", loop, CALLER);
  return rc;
}

/* uv_close and uv_tcp_close_reset: the close callback is the handle's last word. */
static void close_with(void (*real)(uv_handle_t *, uv_close_cb), int (*real_reset)(uv_tcp_t *, uv_close_cb),
                       int *rc, uv_handle_t *h, uv_close_cb cb, const void *caller, const char *call) {
  uv_close_cb use = cb;
  if (ls_programs_call(LS_LIB_UV, caller) && !ls_is_shim_code((void *)cb)) {
    ls_uv_check_thread(LOOP_OF(h), call, caller);
    ls_uv_handle_closing(h);
    void *ignored_cb;
    uint32_t ignored_site, site = LS_SITE_NONE;
    if (ls_binding(h, LS_SLOT_MAIN, &ignored_cb, &ignored_site) || ls_binding(h, LS_SLOT_ALLOC, &ignored_cb, &ignored_site)) {
      if (cb) site = ls_site_get("uv close", (void *)cb, caller);
      ls_bind(h, LS_SLOT_CLOSE, (void *)cb, site);
      use = tramp_close;
    } else if (!cb) {
      use = null_close;
    } else {
      struct swap w = {h, LS_SLOT_CLOSE, close_pool_take, (void *)close_fallback, "uv close", caller};
      use = (uv_close_cb)swap_cb(&w, (void *)cb, &site);
      if (use == (uv_close_cb)close_fallback || site == LS_SITE_NONE) {
        /* no trampoline of ours (internal, or off): the handle's end is libuv's business */
        if (use == cb) ls_uv_handle_closed(h);
      }
    }
  }
  if (real) UV_CALL_VOID(real(h, use));
  else *rc = UV_CALL(real_reset((uv_tcp_t *)h, use));
}

LS_REAL_SLOT(uv_close);
LS_EXPORT void uv_close(uv_handle_t *h, uv_close_cb cb) {
  __typeof__(&uv_close) real_ = LS_REAL_FN(uv_close, UV_SONAME);
  if (!real_) return;
  close_with(real_, NULL, NULL, h, cb, CALLER, "uv_close");
}

LS_REAL_SLOT(uv_tcp_close_reset);
LS_EXPORT int uv_tcp_close_reset(uv_tcp_t *h, uv_close_cb cb) {
  REAL_OR(uv_tcp_close_reset, UV_ENOSYS);
  int rc = 0;
  bool was_closing = ls_uv_handle_is_closing(h);
  close_with(NULL, real_, &rc, (uv_handle_t *)h, cb, CALLER, "uv_tcp_close_reset");
  /* Refused (never connected, or shutting down): libuv closed nothing and calls no close callback for
   * this attempt, so the handle is as open as it was. (A close binding it may have left is rebound by
   * the next close before any trampoline reads it.) */
  if (rc < 0 && !was_closing) ls_uv_handle_close_refused(h);
  return rc;
}

/* ---- requests: pending from submission until their callback runs ---- */

/* Swaps a request's callback (or stands in for a NULL one) and marks it pending. */
static void *submit(const struct swap *w, void *cb, void *null_standin, const void *loop, const char *partner) {
  /* a NULL request: libuv says EINVAL */
  if (!w->obj || !ls_programs_call(LS_LIB_UV, w->caller) || ls_is_shim_code(cb)) return cb;
  uint32_t site;
  void *use;
  if (!cb) {
    if (!null_standin) return cb;
    site = site_for(w, NULL);
    if (site == LS_SITE_NONE) return cb;
    use = null_standin;
  } else {
    use = swap_cb(w, cb, &site);
    if (site == LS_SITE_NONE) return use;
  }
  if (partner) ls_uv_partner(site, partner);
  ls_uv_req_submitted(w->obj, site, loop);
  return use;
}

#define SUBMIT(req, cb, shape, kind, standin, loop, partner)                                                \
  ({                                                                                                        \
    struct swap w_ = SWAP(req, LS_SLOT_MAIN, shape, kind);                                                  \
    (__typeof__(cb))submit(&w_, (void *)(cb), (void *)(standin), loop, partner);                            \
  })
#define FORGET_ON_ERROR(rc, req)                                                                            \
  do {                                                                                                      \
    if ((rc) < 0 && (req)) ls_uv_req_forget(req);                                                           \
  } while (0)

/* X(name, params, args, loop, req, shape, kind, NULL stand-in or 0, partner kind or 0, NULL means sync,
 *   and whether such a synchronous call blocks: a name lookup does, parsing a number or reading random
 *   bytes does not) */
#define UV_REQUESTS(X)                                                                                       \
  X(uv_write, (uv_write_t * req, uv_stream_t * h, const uv_buf_t bufs[], unsigned int n, uv_write_cb cb),   \
    (req, h, bufs, n, cb_), LOOP_OF(h), req, req_status, "uv write", null_uv_write, 0, 0, 0)                          \
  X(uv_write2,                                                                                               \
    (uv_write_t * req, uv_stream_t * h, const uv_buf_t bufs[], unsigned int n, uv_stream_t *send,            \
     uv_write_cb cb),                                                                                        \
    (req, h, bufs, n, send, cb_), LOOP_OF(h), req, req_status, "uv write", null_uv_write, 0, 0, 0)                    \
  X(uv_shutdown, (uv_shutdown_t * req, uv_stream_t * h, uv_shutdown_cb cb), (req, h, cb_), LOOP_OF(h), req,    \
    req_status, "uv shutdown", null_uv_shutdown, 0, 0, 0)                                                          \
  X(uv_tcp_connect, (uv_connect_t * req, uv_tcp_t * h, const struct sockaddr *addr, uv_connect_cb cb),      \
    (req, h, addr, cb_), LOOP_OF(h), req, req_status, "uv connect", null_uv_tcp_connect, 0, 0, 0)                     \
  X(uv_udp_send,                                                                                             \
    (uv_udp_send_t * req, uv_udp_t * h, const uv_buf_t bufs[], unsigned int n, const struct sockaddr *addr,  \
     uv_udp_send_cb cb),                                                                                     \
    (req, h, bufs, n, addr, cb_), LOOP_OF(h), req, req_status, "uv udp send", null_uv_udp_send, 0, 0, 0)              \
  X(uv_getaddrinfo,                                                                                          \
    (uv_loop_t * loop, uv_getaddrinfo_t * req, uv_getaddrinfo_cb cb, const char *node, const char *service,  \
     const struct addrinfo *hints),                                                                          \
    (loop, req, cb_, node, service, hints), loop, req, gai, "uv getaddrinfo", 0, "uv getaddrinfo latency", 1,   \
    ls_gai_blocks(node, hints))   \
  X(uv_getnameinfo,                                                                                          \
    (uv_loop_t * loop, uv_getnameinfo_t * req, uv_getnameinfo_cb cb, const struct sockaddr *addr, int flags),\
    (loop, req, cb_, addr, flags), loop, req, gni, "uv getnameinfo", 0, "uv getnameinfo latency", 1,   \
    !(flags & NI_NUMERICHOST))            \
  X(uv_random,                                                                                               \
    (uv_loop_t * loop, uv_random_t * req, void *buf, size_t len, unsigned flags, uv_random_cb cb),           \
    (loop, req, buf, len, flags, cb_), loop, req, random, "uv random", 0, "uv random latency", 1, 0)

/* With no stand-in, a NULL callback means "synchronous" (getaddrinfo, getnameinfo, random): left
 * exactly as it is, and not a pending request. */
static void sync_on_loop(const char *call, const char *kind, const void *real, const void *caller, uint64_t t0);
/* The calling thread is inside a loop's callback (a macro parameter named loop would shadow the field). */
static inline bool on_loop_thread(void) { return ls_tls.loop != NULL && ls_active && !ls_tls.guard; }

#define GEN_REQUEST(name, params, args, loop, req, shape, kind, standin, partner, sync_when_null, sync_blocks) \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT int name params {                                                                               \
    REAL_OR(name, UV_ENOSYS);                                                                               \
    if ((sync_when_null) && !cb && on_loop_thread() && (sync_blocks) && MINE) {                             \
      __typeof__(cb) cb_ = NULL;                                                                            \
      uint64_t t0_ = ls_now();                                                                              \
      int rc_ = UV_CALL(real_ args);                                                                        \
      sync_on_loop(#name, kind " sync", (void *)real_, CALLER, t0_);                                        \
      return rc_;                                                                                           \
    }                                                                                                       \
    if (cb || !(sync_when_null)) check(loop, #name, CALLER);                                                \
    __typeof__(cb) cb_ = SUBMIT(req, cb, shape, kind, standin, loop, partner);                              \
    int rc_ = UV_CALL(real_ args);                                                                          \
    FORGET_ON_ERROR(rc_, req);                                                                              \
    return rc_;                                                                                             \
  }
UV_REQUESTS(GEN_REQUEST)

/* uv_pipe_connect returns nothing: failures come through the callback. */
LS_REAL_SLOT(uv_pipe_connect);
LS_EXPORT void uv_pipe_connect(uv_connect_t *req, uv_pipe_t *h, const char *name, uv_connect_cb cb) {
  __typeof__(&uv_pipe_connect) real_ = LS_REAL_FN(uv_pipe_connect, UV_SONAME);
  if (!real_) return;
  check(LOOP_OF(h), "uv_pipe_connect", CALLER);
  uv_connect_cb cb_ = SUBMIT(req, cb, req_status, "uv connect", null_uv_tcp_connect, LOOP_OF(h), 0);
  UV_CALL_VOID(real_(req, h, name, cb_));
}

LS_REAL_SLOT(uv_queue_work);
LS_EXPORT int uv_queue_work(uv_loop_t *loop, uv_work_t *req, uv_work_cb work_cb, uv_after_work_cb after_cb) {
  REAL_OR(uv_queue_work, UV_ENOSYS);
  check(loop, "uv_queue_work", CALLER);
  uint32_t work_site = LS_SITE_NONE;
  uv_work_cb w = work_cb;
  if (work_cb) {
    struct swap sw = SWAP(req, LS_SLOT_WORK, work, "uv work");
    w = (uv_work_cb)swap_cb(&sw, (void *)work_cb, &work_site);
    if (work_site) ls_uv_partner(work_site, "uv work wait");
  }
  uv_after_work_cb a = after_cb;
  if (after_cb) {
    struct swap sa = SWAP(req, LS_SLOT_AFTER, after_work, "uv after work");
    a = (uv_after_work_cb)submit(&sa, (void *)after_cb, NULL, loop, 0);
  } else if (work_site) {
    ls_uv_req_submitted(req, work_site, loop); /* pending until the work itself runs */
  }
  if (work_site) ls_uv_work_queued();
  int rc = UV_CALL(real_(loop, req, w, a));
  FORGET_ON_ERROR(rc, req);
  return rc;
}

/* ---- uv_fs_*: with a callback a pending request; with NULL synchronous, left alone ---- */

/* X(op, params, args): every uv_fs_* of libuv 1.44 that takes a callback; cb is the last parameter. */
#define UV_FS_OPS(X)                                                                                          \
  X(close, (uv_loop_t * loop, uv_fs_t * req, uv_file file, uv_fs_cb cb), (loop, req, file, cb_))             \
  X(open, (uv_loop_t * loop, uv_fs_t * req, const char *path, int flags, int mode, uv_fs_cb cb),             \
    (loop, req, path, flags, mode, cb_))                                                                      \
  X(read, (uv_loop_t * loop, uv_fs_t * req, uv_file file, const uv_buf_t bufs[], unsigned int n, int64_t off, \
           uv_fs_cb cb),                                                                                      \
    (loop, req, file, bufs, n, off, cb_))                                                                     \
  X(unlink, (uv_loop_t * loop, uv_fs_t * req, const char *path, uv_fs_cb cb), (loop, req, path, cb_))        \
  X(write, (uv_loop_t * loop, uv_fs_t * req, uv_file file, const uv_buf_t bufs[], unsigned int n,            \
            int64_t off, uv_fs_cb cb),                                                                        \
    (loop, req, file, bufs, n, off, cb_))                                                                     \
  X(copyfile, (uv_loop_t * loop, uv_fs_t * req, const char *path, const char *new_path, int flags,           \
               uv_fs_cb cb),                                                                                  \
    (loop, req, path, new_path, flags, cb_))                                                                  \
  X(mkdir, (uv_loop_t * loop, uv_fs_t * req, const char *path, int mode, uv_fs_cb cb),                       \
    (loop, req, path, mode, cb_))                                                                             \
  X(mkdtemp, (uv_loop_t * loop, uv_fs_t * req, const char *tpl, uv_fs_cb cb), (loop, req, tpl, cb_))         \
  X(mkstemp, (uv_loop_t * loop, uv_fs_t * req, const char *tpl, uv_fs_cb cb), (loop, req, tpl, cb_))         \
  X(rmdir, (uv_loop_t * loop, uv_fs_t * req, const char *path, uv_fs_cb cb), (loop, req, path, cb_))          \
  X(scandir, (uv_loop_t * loop, uv_fs_t * req, const char *path, int flags, uv_fs_cb cb),                    \
    (loop, req, path, flags, cb_))                                                                            \
  X(opendir, (uv_loop_t * loop, uv_fs_t * req, const char *path, uv_fs_cb cb), (loop, req, path, cb_))       \
  X(readdir, (uv_loop_t * loop, uv_fs_t * req, uv_dir_t * dir, uv_fs_cb cb), (loop, req, dir, cb_))          \
  X(closedir, (uv_loop_t * loop, uv_fs_t * req, uv_dir_t * dir, uv_fs_cb cb), (loop, req, dir, cb_))         \
  X(stat, (uv_loop_t * loop, uv_fs_t * req, const char *path, uv_fs_cb cb), (loop, req, path, cb_))           \
  X(fstat, (uv_loop_t * loop, uv_fs_t * req, uv_file file, uv_fs_cb cb), (loop, req, file, cb_))             \
  X(rename, (uv_loop_t * loop, uv_fs_t * req, const char *path, const char *new_path, uv_fs_cb cb),          \
    (loop, req, path, new_path, cb_))                                                                         \
  X(fsync, (uv_loop_t * loop, uv_fs_t * req, uv_file file, uv_fs_cb cb), (loop, req, file, cb_))             \
  X(fdatasync, (uv_loop_t * loop, uv_fs_t * req, uv_file file, uv_fs_cb cb), (loop, req, file, cb_))         \
  X(ftruncate, (uv_loop_t * loop, uv_fs_t * req, uv_file file, int64_t off, uv_fs_cb cb),                    \
    (loop, req, file, off, cb_))                                                                              \
  X(sendfile, (uv_loop_t * loop, uv_fs_t * req, uv_file out, uv_file in, int64_t off, size_t len,            \
               uv_fs_cb cb),                                                                                  \
    (loop, req, out, in, off, len, cb_))                                                                      \
  X(access, (uv_loop_t * loop, uv_fs_t * req, const char *path, int mode, uv_fs_cb cb),                      \
    (loop, req, path, mode, cb_))                                                                             \
  X(chmod, (uv_loop_t * loop, uv_fs_t * req, const char *path, int mode, uv_fs_cb cb),                       \
    (loop, req, path, mode, cb_))                                                                             \
  X(utime, (uv_loop_t * loop, uv_fs_t * req, const char *path, double at, double mt, uv_fs_cb cb),           \
    (loop, req, path, at, mt, cb_))                                                                           \
  X(futime, (uv_loop_t * loop, uv_fs_t * req, uv_file file, double at, double mt, uv_fs_cb cb),              \
    (loop, req, file, at, mt, cb_))                                                                           \
  X(lutime, (uv_loop_t * loop, uv_fs_t * req, const char *path, double at, double mt, uv_fs_cb cb),          \
    (loop, req, path, at, mt, cb_))                                                                           \
  X(lstat, (uv_loop_t * loop, uv_fs_t * req, const char *path, uv_fs_cb cb), (loop, req, path, cb_))          \
  X(link, (uv_loop_t * loop, uv_fs_t * req, const char *path, const char *new_path, uv_fs_cb cb),            \
    (loop, req, path, new_path, cb_))                                                                         \
  X(symlink, (uv_loop_t * loop, uv_fs_t * req, const char *path, const char *new_path, int flags,            \
              uv_fs_cb cb),                                                                                   \
    (loop, req, path, new_path, flags, cb_))                                                                  \
  X(readlink, (uv_loop_t * loop, uv_fs_t * req, const char *path, uv_fs_cb cb), (loop, req, path, cb_))      \
  X(realpath, (uv_loop_t * loop, uv_fs_t * req, const char *path, uv_fs_cb cb), (loop, req, path, cb_))      \
  X(fchmod, (uv_loop_t * loop, uv_fs_t * req, uv_file file, int mode, uv_fs_cb cb),                          \
    (loop, req, file, mode, cb_))                                                                             \
  X(chown, (uv_loop_t * loop, uv_fs_t * req, const char *path, uv_uid_t uid, uv_gid_t gid, uv_fs_cb cb),     \
    (loop, req, path, uid, gid, cb_))                                                                         \
  X(fchown, (uv_loop_t * loop, uv_fs_t * req, uv_file file, uv_uid_t uid, uv_gid_t gid, uv_fs_cb cb),        \
    (loop, req, file, uid, gid, cb_))                                                                         \
  X(lchown, (uv_loop_t * loop, uv_fs_t * req, const char *path, uv_uid_t uid, uv_gid_t gid, uv_fs_cb cb),    \
    (loop, req, path, uid, gid, cb_))                                                                         \
  X(statfs, (uv_loop_t * loop, uv_fs_t * req, const char *path, uv_fs_cb cb), (loop, req, path, cb_))

/* A synchronous request (uv_fs_*, uv_getaddrinfo, uv_getnameinfo, uv_random with a NULL callback)
 * made on a loop thread blocks that loop: time it as a site of its own (named after the libuv
 * function) and report it as a blocking call. */
static __attribute__((noinline)) void sync_on_loop(const char *call, const char *kind, const void *real,
                                                       const void *caller, uint64_t t0) {
  uint64_t ns = ls_ticks_to_ns(ls_now() - t0);
  uint32_t site = ls_site_get(kind, real, caller);
  if (site == LS_SITE_NONE) return;
  ls_site_account_ns(site, ns);
  struct ls_site *s = ls_site_ptr(site);
  char msg[160];
  ls_join(msg, sizeof(msg), "Blocking call ", call, "() (synchronous: NULL callback) made on the loop thread");
  struct ls_finding_info fi = {.call = call, .kind = kind, .site = site, .stack = s->stack, .duration_ns = ns,
                               .message = msg};
  ls_finding_keyed(LS_F_BLOCKING_CALL, (uintptr_t)call, (uintptr_t)caller, &fi);
}

#define GEN_FS(op, params, args)                                                                            \
  LS_REAL_SLOT(uv_fs_##op);                                                                                 \
  LS_EXPORT int uv_fs_##op params {                                                                         \
    REAL_OR(uv_fs_##op, UV_ENOSYS);                                                                         \
    if (!cb && ls_tls.loop && MINE) {                                                                       \
      __typeof__(cb) cb_ = NULL;                                                                            \
      uint64_t t0_ = ls_now();                                                                              \
      int rc_ = UV_CALL(real_ args);                                                                        \
      sync_on_loop("uv_fs_" #op, "uv fs " #op " sync", (void *)real_, CALLER, t0_);                      \
      return rc_;                                                                                           \
    }                                                                                                       \
    if (cb) check(loop, "uv_fs_" #op, CALLER);                                                              \
    __typeof__(cb) cb_ = SUBMIT(req, cb, fs, "uv fs " #op, 0, loop, "uv fs " #op " latency");               \
    int rc_ = UV_CALL(real_ args);                                                                          \
    FORGET_ON_ERROR(rc_, req);                                                                              \
    return rc_;                                                                                             \
  }
UV_FS_OPS(GEN_FS)

/* ---- uv_walk: its callback runs inside the call, through our own walk callback ---- */

struct walk_ctx {
  uv_walk_cb cb;
  void *arg;
  uint32_t site;
};

static void walk_tramp(uv_handle_t *h, void *arg) {
  struct walk_ctx *c = arg;
  uint64_t t0 = ls_cb_begin(c->site);
  LS_PROGRAM_RUN(c->cb(h, c->arg));
  ls_site_account(c->site, t0);
}

LS_REAL_SLOT(uv_walk);
LS_EXPORT void uv_walk(uv_loop_t *loop, uv_walk_cb cb, void *arg) {
  __typeof__(&uv_walk) real_ = LS_REAL_FN(uv_walk, UV_SONAME);
  if (!real_) return;
  struct swap w = {loop, LS_SLOT_MAIN, NULL, NULL, "uv walk", CALLER};
  uint32_t site = cb && !ls_is_shim_code((void *)cb) ? site_for(&w, (void *)cb) : LS_SITE_NONE;
  if (site == LS_SITE_NONE) {
    UV_CALL_VOID(real_(loop, cb, arg));
    return;
  }
  check(loop, "uv_walk", CALLER);
  struct walk_ctx c = {cb, arg, site};
  UV_CALL_VOID(real_(loop, walk_tramp, &c));
}

/* ---- calls without a callback that are still not thread-safe: checked, passed on ---- */

/* X(ret, name, params, args, loop) */
#define UV_CHECKED(X)                                                                                        \
  X(int, uv_timer_stop, (uv_timer_t * h), (h), LOOP_OF(h))                                                      \
  X(int, uv_timer_again, (uv_timer_t * h), (h), LOOP_OF(h))                                                     \
  X(int, uv_idle_stop, (uv_idle_t * h), (h), LOOP_OF(h))                                                        \
  X(int, uv_prepare_stop, (uv_prepare_t * h), (h), LOOP_OF(h))                                                  \
  X(int, uv_check_stop, (uv_check_t * h), (h), LOOP_OF(h))                                                      \
  X(int, uv_poll_stop, (uv_poll_t * h), (h), LOOP_OF(h))                                                        \
  X(int, uv_read_stop, (uv_stream_t * h), (h), LOOP_OF(h))                                                      \
  X(int, uv_udp_recv_stop, (uv_udp_t * h), (h), LOOP_OF(h))                                                     \
  X(int, uv_signal_stop, (uv_signal_t * h), (h), LOOP_OF(h))                                                    \
  X(int, uv_fs_event_stop, (uv_fs_event_t * h), (h), LOOP_OF(h))                                                \
  X(int, uv_fs_poll_stop, (uv_fs_poll_t * h), (h), LOOP_OF(h))                                                  \
  X(int, uv_try_write, (uv_stream_t * h, const uv_buf_t bufs[], unsigned int n), (h, bufs, n), LOOP_OF(h))      \
  X(int, uv_accept, (uv_stream_t * server, uv_stream_t * client), (server, client), LOOP_OF(server))

#define GEN_CHECKED(ret, name, params, args, loop)                                                          \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT ret name params {                                                                               \
    REAL_OR(name, UV_ENOSYS);                                                                               \
    check(loop, #name, CALLER);                                                                             \
    return UV_CALL(real_ args);                                                                             \
  }
UV_CHECKED(GEN_CHECKED)

/* X(name, params, args, loop) for the void ones. */
#define UV_CHECKED_VOID(X)                                                                                   \
  X(uv_timer_set_repeat, (uv_timer_t * h, uint64_t repeat), (h, repeat), LOOP_OF(h))                           \
  X(uv_ref, (uv_handle_t * h), (h), LOOP_OF(h))                                                                 \
  X(uv_unref, (uv_handle_t * h), (h), LOOP_OF(h))                                                               \
  X(uv_stop, (uv_loop_t * loop), (loop), loop)                                                               \
  X(uv_update_time, (uv_loop_t * loop), (loop), loop)

#define GEN_CHECKED_VOID(name, params, args, loop)                                                          \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT void name params {                                                                              \
    __typeof__(&name) real_ = LS_REAL_FN(name, UV_SONAME);                                                  \
    if (!real_) return;                                                                                     \
    check(loop, #name, CALLER);                                                                             \
    UV_CALL_VOID(real_ args);                                                                               \
  }
UV_CHECKED_VOID(GEN_CHECKED_VOID)

/* ---- loops ---- */

LS_REAL_SLOT(uv_loop_init);
LS_EXPORT int uv_loop_init(uv_loop_t *loop) {
  REAL_OR(uv_loop_init, UV_ENOSYS);
  int rc = UV_CALL(real_(loop));
  if (rc == 0 && ls_active && !ls_tls.guard) {
    struct ls_loop *l = ls_loop_get(LS_UV_LIB, loop);
    if (l) LS_RELAXED_STORE(&l->closed, false); /* the same memory may hold a new loop */
  }
  return rc;
}

LS_REAL_SLOT(uv_default_loop);
LS_EXPORT uv_loop_t *uv_default_loop(void) {
  __typeof__(&uv_default_loop) real_ = LS_REAL_FN(uv_default_loop, UV_SONAME);
  if (!real_) return NULL;
  uv_loop_t *loop = UV_CALL(real_());
  if (loop && ls_active && !ls_tls.guard) ls_loop_get(LS_UV_LIB, loop);
  return loop;
}

LS_REAL_SLOT(uv_loop_close);
LS_EXPORT int uv_loop_close(uv_loop_t *loop) {
  REAL_OR(uv_loop_close, UV_ENOSYS);
  check(loop, "uv_loop_close", CALLER);
  int rc = UV_CALL(real_(loop));
  if (ls_active && !ls_tls.guard) ls_uv_loop_closed(loop, rc);
  return rc;
}

/* "This event loop is already running": re-entered from one of its own callbacks, or run by a second
 * thread. libuv does not say; we do, and then let the call go on as the program asked. */
static void reentry(struct ls_loop *l, pid_t running, const void *caller) {
  const char *msg = running == ls_gettid()
                        ? "This event loop is already running: uv_run() called from inside one of its callbacks"
                        : "This event loop is already running in another thread: uv_run() called again";
  struct ls_finding_info fi = {.call = "uv_run", .capture = true, .other_tid = running, .message = msg};
  ls_finding_keyed(LS_F_LOOP_REENTRY, (uintptr_t)l, (uintptr_t)caller, &fi);
}

LS_REAL_SLOT(uv_run);
LS_EXPORT int uv_run(uv_loop_t *loop, uv_run_mode mode) {
  REAL_OR(uv_run, UV_ENOSYS);
  if (ls_tls.guard || !ls_active) return UV_CALL(real_(loop, mode));
  struct ls_loop *l = ls_loop_get(LS_UV_LIB, loop);
  if (!l) return UV_CALL(real_(loop, mode));
  pid_t me = ls_gettid(), running = 0;
  if (!__atomic_compare_exchange_n(&l->running, &running, me, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    reentry(l, running, CALLER);
  LS_RELAXED_STORE(&l->thread, me);
  struct ls_loop *outer = ls_tls.loop;
  ls_tls.loop = l;
  int rc = UV_CALL(real_(loop, mode));
  ls_tls.loop = outer;
  if (!running) __atomic_store_n(&l->running, 0, __ATOMIC_RELEASE);
  return rc;
}
