/* The libuv adapter. Every callback the program hands to libuv is swapped for a trampoline that
 * times it and adds to its site's aggregate: a pooled per-site trampoline (tramp_pool.h), or past
 * the pool one that looks the original up by handle/request pointer.
 *
 * Rules (DESIGN.md §4): a NULL callback is passed on untouched except where NULL only means "nobody
 * is told" (uv_close of a handle with lookup bindings: we stand in to forget them); libuv calling its own exports
 * (uv_loop_init -> uv_async_init, uv_timer_again -> uv_timer_start) is neither a site nor wrapped;
 * uv_async_send is not hooked at all, so it stays lock-free and signal-safe as libuv promises. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <uv.h>

#include "account.h"
#include "tramp_pool.h"

#define UV_SONAME "libuv.so.1"
#define UV_LIB "libuv"

static __attribute__((noreturn, noinline)) void lost_binding(const char *tramp, const void *obj) {
  /* The handle holds our trampoline but we have no record of its callback: calling anything would be
   * a guess. This is a loopscope bug (or a handle copied by value); say so and stop. */
  char line[160] = "loopscope: internal error: no callback recorded for libuv object in ";
  size_t n = 0;
  while (line[n]) n++;
  for (const char *p = tramp; *p && n < sizeof(line) - 2; p++) line[n++] = *p;
  line[n++] = '\n';
  ls_log_line(line, n);
  (void)obj;
  abort();
}

/* Callback shapes: X(shape, cbtype, params, args, obj, slot, oneshot).
 * Each shape gets a pool of per-site trampolines (no lookup on the callback path) and one fallback
 * trampoline that finds the callback by handle/request pointer when the pool is exhausted. Oneshot
 * requests forget their fallback binding before the callback runs: it may reuse the request. */
#define UV_SHAPES(X)                                                                                        \
  X(handle, uv_close_cb, (uv_handle_t * h), (h), h, LS_SLOT_MAIN, 0)                                        \
  X(poll, uv_poll_cb, (uv_poll_t * h, int status, int events), (h, status, events), h, LS_SLOT_MAIN, 0)      \
  X(alloc, uv_alloc_cb, (uv_handle_t * h, size_t size, uv_buf_t *buf), (h, size, buf), h, LS_SLOT_ALLOC, 0)  \
  X(read, uv_read_cb, (uv_stream_t * s, ssize_t nread, const uv_buf_t *buf), (s, nread, buf), s,            \
    LS_SLOT_MAIN, 0)                                                                                         \
  X(write, uv_write_cb, (uv_write_t * req, int status), (req, status), req, LS_SLOT_MAIN, 1)                 \
  X(after_work, uv_after_work_cb, (uv_work_t * req, int status), (req, status), req, LS_SLOT_AFTER, 1)

#define FALLBACK_TRAMPOLINE(shape, cbtype, params, args, obj, slot, oneshot)                                \
  static void shape##_fallback params {                                                                     \
    void *cb_;                                                                                              \
    uint32_t site_;                                                                                         \
    if (LS_UNLIKELY(!ls_binding(obj, slot, &cb_, &site_))) lost_binding(#shape, obj);                       \
    if (oneshot) ls_unbind(obj, slot);                                                                      \
    uint64_t t0_ = ls_now();                                                                                \
    ((cbtype)cb_)args;                                                                                      \
    ls_site_account(site_, t0_);                                                                            \
  }
UV_SHAPES(FALLBACK_TRAMPOLINE)

#define FN_handle(n) LS_POOL_FN_ONE(handle, uv_close_cb, (uv_handle_t * h), (h), n)
#define FN_poll(n) LS_POOL_FN_ONE(poll, uv_poll_cb, (uv_poll_t * h, int status, int events), (h, status, events), n)
#define FN_alloc(n) LS_POOL_FN_ONE(alloc, uv_alloc_cb, (uv_handle_t * h, size_t size, uv_buf_t *buf), (h, size, buf), n)
#define FN_read(n) \
  LS_POOL_FN_ONE(read, uv_read_cb, (uv_stream_t * s, ssize_t nread, const uv_buf_t *buf), (s, nread, buf), n)
#define FN_write(n) LS_POOL_FN_ONE(write, uv_write_cb, (uv_write_t * req, int status), (req, status), n)
#define FN_after_work(n) LS_POOL_FN_ONE(after_work, uv_after_work_cb, (uv_work_t * req, int status), (req, status), n)
#define NAME_handle(n) handle_tramp_##n,
#define NAME_poll(n) poll_tramp_##n,
#define NAME_alloc(n) alloc_tramp_##n,
#define NAME_read(n) read_tramp_##n,
#define NAME_write(n) write_tramp_##n,
#define NAME_after_work(n) after_work_tramp_##n,
LS_TRAMP_POOL(handle, (uv_handle_t *), FN_handle, NAME_handle)
LS_TRAMP_POOL(poll, (uv_poll_t *, int, int), FN_poll, NAME_poll)
LS_TRAMP_POOL(alloc, (uv_handle_t *, size_t, uv_buf_t *), FN_alloc, NAME_alloc)
LS_TRAMP_POOL(read, (uv_stream_t *, ssize_t, const uv_buf_t *), FN_read, NAME_read)
LS_TRAMP_POOL(write, (uv_write_t *, int), FN_write, NAME_write)
LS_TRAMP_POOL(after_work, (uv_work_t *, int), FN_after_work, NAME_after_work)

/* A handle closed while it has fallback bindings: forget them all, then call the program's close
 * callback if it gave one (we stand in for a NULL one only to learn the handle is gone). */
static void tramp_close(uv_handle_t *h) {
  void *cb = NULL;
  uint32_t site = LS_SITE_NONE;
  if (!ls_binding(h, LS_SLOT_CLOSE, &cb, &site)) lost_binding("close", h);
  ls_unbind(h, LS_SLOT_MAIN);
  ls_unbind(h, LS_SLOT_ALLOC);
  ls_unbind(h, LS_SLOT_CLOSE);
  if (!cb) return;
  uint64_t t0 = ls_now();
  ((uv_close_cb)cb)(h);
  if (site != LS_SITE_NONE) ls_site_account(site, t0);
}

/* The swap itself: returns what to hand to libuv in place of cb. */
static void *wrap(const void *obj, enum ls_slot slot, void *cb, void *(*take)(uint32_t, void *), void *fallback,
                  const char *kind, const void *caller, const void *lib_fn) {
  if (!cb || ls_is_shim_code(cb) || ls_tls.guard || !ls_active) return cb;
  uint32_t site = ls_site_get(kind, cb, caller, lib_fn);
  if (site == LS_SITE_NONE || site == LS_SITE_INTERNAL) return cb;
  void *t = ls_site_tramp(site, take);
  if (LS_LIKELY(t != NULL)) return t;
  ls_bind(obj, slot, cb, site);
  return fallback;
}

#define CALLER __builtin_return_address(0)
#define WRAP(obj, slot, cb, shape, kind)                                                                     \
  ((__typeof__(cb))wrap(obj, slot, (void *)(cb), shape##_pool_take, (void *)shape##_fallback, kind, CALLER,  \
                        (void *)real_))

/* Functions that take one callback and return int: X(name, params, args, obj, shape, kind).
 * In args, the callback is spelled cb_ (the possibly swapped one). */
#define UV_ONE_CALLBACK(X)                                                                                   \
  X(uv_timer_start, (uv_timer_t * h, uv_timer_cb cb, uint64_t timeout, uint64_t repeat),                     \
    (h, cb_, timeout, repeat), h, handle, "uv timer")                                                  \
  X(uv_idle_start, (uv_idle_t * h, uv_idle_cb cb), (h, cb_), h, handle, "uv idle")                    \
  X(uv_prepare_start, (uv_prepare_t * h, uv_prepare_cb cb), (h, cb_), h, handle, "uv prepare")        \
  X(uv_check_start, (uv_check_t * h, uv_check_cb cb), (h, cb_), h, handle, "uv check")                \
  X(uv_async_init, (uv_loop_t * loop, uv_async_t * h, uv_async_cb cb), (loop, h, cb_), h, handle,     \
    "uv async")                                                                                              \
  X(uv_poll_start, (uv_poll_t * h, int events, uv_poll_cb cb), (h, events, cb_), h, poll, "uv poll")  \
  X(uv_write, (uv_write_t * req, uv_stream_t * h, const uv_buf_t bufs[], unsigned int n, uv_write_cb cb),  \
    (req, h, bufs, n, cb_), req, write, "uv write")

#define GEN_ONE_CALLBACK(name, params, args, obj, shape, kind)                                              \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT int name params {                                                                               \
    __typeof__(&name) real_ = LS_REAL_FN(name, UV_SONAME);                                                  \
    if (!real_) return UV_ENOSYS;                                                                           \
    __typeof__(cb) cb_ = WRAP(obj, LS_SLOT_MAIN, cb, shape, kind);                                          \
    return real_ args;                                                                                      \
  }
UV_ONE_CALLBACK(GEN_ONE_CALLBACK)

/* The three whose shape differs: two callbacks, or no return value. */
LS_REAL_SLOT(uv_read_start);
LS_EXPORT int uv_read_start(uv_stream_t *s, uv_alloc_cb alloc_cb, uv_read_cb read_cb) {
  __typeof__(&uv_read_start) real_ = LS_REAL_FN(uv_read_start, UV_SONAME);
  if (!real_) return UV_ENOSYS;
  uv_alloc_cb a = WRAP(s, LS_SLOT_ALLOC, alloc_cb, alloc, "uv alloc");
  uv_read_cb r = WRAP(s, LS_SLOT_MAIN, read_cb, read, "uv read");
  return real_(s, a, r);
}

LS_REAL_SLOT(uv_queue_work);
LS_EXPORT int uv_queue_work(uv_loop_t *loop, uv_work_t *req, uv_work_cb work_cb, uv_after_work_cb after_cb) {
  __typeof__(&uv_queue_work) real_ = LS_REAL_FN(uv_queue_work, UV_SONAME);
  if (!real_) return UV_ENOSYS;
  uv_after_work_cb a = WRAP(req, LS_SLOT_AFTER, after_cb, after_work, "uv after work");
  return real_(loop, req, work_cb, a);
}

LS_REAL_SLOT(uv_close);
LS_EXPORT void uv_close(uv_handle_t *h, uv_close_cb cb) {
  __typeof__(&uv_close) real_ = LS_REAL_FN(uv_close, UV_SONAME);
  if (!real_) return;
  if (ls_tls.guard || !ls_active || ls_is_shim_code((void *)cb)) {
    real_(h, cb);
    return;
  }
  void *ignored_cb;
  uint32_t ignored_site;
  if (!ls_binding(h, LS_SLOT_MAIN, &ignored_cb, &ignored_site) && !ls_binding(h, LS_SLOT_ALLOC, &ignored_cb, &ignored_site)) {
    /* The common case: nothing recorded by handle, so the close callback is wrapped like any other. */
    real_(h, WRAP(h, LS_SLOT_CLOSE, cb, handle, "uv close"));
    return;
  }
  uint32_t site = LS_SITE_NONE;
  if (cb) {
    site = ls_site_get("uv close", (void *)cb, CALLER, (void *)real_);
    if (site == LS_SITE_INTERNAL) site = LS_SITE_NONE;
  }
  ls_bind(h, LS_SLOT_CLOSE, (void *)cb, site);
  real_(h, tramp_close);
}

LS_REAL_SLOT(uv_run);
LS_EXPORT int uv_run(uv_loop_t *loop, uv_run_mode mode) {
  __typeof__(&uv_run) real_ = LS_REAL_FN(uv_run, UV_SONAME);
  if (!real_) return UV_ENOSYS;
  if (ls_tls.guard || !ls_active) return real_(loop, mode);
  struct ls_loop *l = ls_loop_get(UV_LIB, loop);
  if (l) LS_RELAXED_STORE(&l->thread, ls_gettid());
  struct ls_loop *outer = ls_tls.loop;
  ls_tls.loop = l;
  int rc = real_(loop, mode);
  ls_tls.loop = outer;
  return rc;
}
