/* The libuv adapter. Every callback the program hands to libuv is swapped for a trampoline that
 * looks the original up by handle/request pointer, times it and adds to its site's aggregate.
 *
 * Rules (DESIGN.md §4): a NULL callback is passed on untouched except where NULL only means "nobody
 * is told" (uv_close: we stand in to forget the handle's bindings); libuv calling its own exports
 * (uv_loop_init -> uv_async_init, uv_timer_again -> uv_timer_start) is neither a site nor wrapped;
 * uv_async_send is not hooked at all, so it stays lock-free and signal-safe as libuv promises. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <uv.h>

#include "shim.h"

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

/* One trampoline per callback shape. ONESHOT requests forget their binding before the callback runs,
 * since the callback may reuse the request for the next call. */
#define TRAMPOLINE(name, slot, oneshot, obj, cbtype, params, args)                                          \
  static void name params {                                                                                 \
    void *cb_;                                                                                              \
    uint32_t site_;                                                                                         \
    if (LS_UNLIKELY(!ls_binding(obj, slot, &cb_, &site_))) lost_binding(#name, obj);                        \
    if (oneshot) ls_unbind(obj, slot);                                                                      \
    uint64_t t0_ = ls_now();                                                                                \
    ((cbtype)cb_)args;                                                                                      \
    ls_site_account(site_, t0_);                                                                            \
  }

TRAMPOLINE(tramp_handle, LS_SLOT_MAIN, 0, h, uv_close_cb, (uv_handle_t * h), (h))
TRAMPOLINE(tramp_poll, LS_SLOT_MAIN, 0, h, uv_poll_cb, (uv_poll_t * h, int status, int events), (h, status, events))
TRAMPOLINE(tramp_alloc, LS_SLOT_ALLOC, 0, h, uv_alloc_cb, (uv_handle_t * h, size_t size, uv_buf_t *buf),
           (h, size, buf))
TRAMPOLINE(tramp_read, LS_SLOT_MAIN, 0, s, uv_read_cb, (uv_stream_t * s, ssize_t nread, const uv_buf_t *buf),
           (s, nread, buf))
TRAMPOLINE(tramp_write, LS_SLOT_MAIN, 1, req, uv_write_cb, (uv_write_t * req, int status), (req, status))
TRAMPOLINE(tramp_after_work, LS_SLOT_AFTER, 1, req, uv_after_work_cb, (uv_work_t * req, int status), (req, status))

/* The close callback is the handle's last word: forget every binding it has, then call the program's
 * callback if it gave one (we stand in for a NULL one only to learn the handle is gone). */
static void tramp_close(uv_handle_t *h) {
  void *cb = NULL;
  uint32_t site = LS_SITE_NONE;
  if (!ls_binding(h, LS_SLOT_CLOSE, &cb, &site)) lost_binding("tramp_close", h);
  ls_unbind(h, LS_SLOT_MAIN);
  ls_unbind(h, LS_SLOT_ALLOC);
  ls_unbind(h, LS_SLOT_CLOSE);
  if (!cb) return;
  uint64_t t0 = ls_now();
  ((uv_close_cb)cb)(h);
  if (site != LS_SITE_NONE) ls_site_account(site, t0);
}

/* The swap itself: returns what to hand to libuv in place of cb. */
static void *wrap(const void *obj, enum ls_slot slot, void *cb, void *tramp, const char *kind, const void *caller,
                  const void *lib_fn) {
  if (!cb || cb == tramp || ls_tls.guard || !ls_active) return cb;
  uint32_t site = ls_site_get(kind, cb, caller, lib_fn);
  if (site == LS_SITE_NONE || site == LS_SITE_INTERNAL) return cb;
  ls_bind(obj, slot, cb, site);
  return tramp;
}

#define CALLER __builtin_return_address(0)
#define WRAP(obj, slot, cb, tramp, kind) \
  ((__typeof__(cb))wrap(obj, slot, (void *)(cb), (void *)(tramp), kind, CALLER, (void *)real_))

/* Functions that take one callback and return int: X(name, params, args, obj, tramp, kind).
 * In args, the callback is spelled cb_ (the possibly swapped one). */
#define UV_ONE_CALLBACK(X)                                                                                   \
  X(uv_timer_start, (uv_timer_t * h, uv_timer_cb cb, uint64_t timeout, uint64_t repeat),                     \
    (h, cb_, timeout, repeat), h, tramp_handle, "uv timer")                                                  \
  X(uv_idle_start, (uv_idle_t * h, uv_idle_cb cb), (h, cb_), h, tramp_handle, "uv idle")                    \
  X(uv_prepare_start, (uv_prepare_t * h, uv_prepare_cb cb), (h, cb_), h, tramp_handle, "uv prepare")        \
  X(uv_check_start, (uv_check_t * h, uv_check_cb cb), (h, cb_), h, tramp_handle, "uv check")                \
  X(uv_async_init, (uv_loop_t * loop, uv_async_t * h, uv_async_cb cb), (loop, h, cb_), h, tramp_handle,     \
    "uv async")                                                                                              \
  X(uv_poll_start, (uv_poll_t * h, int events, uv_poll_cb cb), (h, events, cb_), h, tramp_poll, "uv poll")  \
  X(uv_write, (uv_write_t * req, uv_stream_t * h, const uv_buf_t bufs[], unsigned int n, uv_write_cb cb),  \
    (req, h, bufs, n, cb_), req, tramp_write, "uv write")

#define GEN_ONE_CALLBACK(name, params, args, obj, tramp, kind)                                              \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT int name params {                                                                               \
    __typeof__(&name) real_ = LS_REAL_FN(name, UV_SONAME);                                                  \
    if (!real_) return UV_ENOSYS;                                                                           \
    __typeof__(cb) cb_ = WRAP(obj, LS_SLOT_MAIN, cb, tramp, kind);                                          \
    return real_ args;                                                                                      \
  }
UV_ONE_CALLBACK(GEN_ONE_CALLBACK)

/* The three whose shape differs: two callbacks, or no return value. */
LS_REAL_SLOT(uv_read_start);
LS_EXPORT int uv_read_start(uv_stream_t *s, uv_alloc_cb alloc_cb, uv_read_cb read_cb) {
  __typeof__(&uv_read_start) real_ = LS_REAL_FN(uv_read_start, UV_SONAME);
  if (!real_) return UV_ENOSYS;
  uv_alloc_cb a = WRAP(s, LS_SLOT_ALLOC, alloc_cb, tramp_alloc, "uv alloc");
  uv_read_cb r = WRAP(s, LS_SLOT_MAIN, read_cb, tramp_read, "uv read");
  return real_(s, a, r);
}

LS_REAL_SLOT(uv_queue_work);
LS_EXPORT int uv_queue_work(uv_loop_t *loop, uv_work_t *req, uv_work_cb work_cb, uv_after_work_cb after_cb) {
  __typeof__(&uv_queue_work) real_ = LS_REAL_FN(uv_queue_work, UV_SONAME);
  if (!real_) return UV_ENOSYS;
  uv_after_work_cb a = WRAP(req, LS_SLOT_AFTER, after_cb, tramp_after_work, "uv after work");
  return real_(loop, req, work_cb, a);
}

LS_REAL_SLOT(uv_close);
LS_EXPORT void uv_close(uv_handle_t *h, uv_close_cb cb) {
  __typeof__(&uv_close) real_ = LS_REAL_FN(uv_close, UV_SONAME);
  if (!real_) return;
  if (ls_tls.guard || !ls_active || cb == tramp_close) {
    real_(h, cb);
    return;
  }
  uint32_t site = LS_SITE_NONE;
  if (cb) {
    site = ls_site_get("uv close", (void *)cb, CALLER, (void *)real_);
    if (site == LS_SITE_INTERNAL) {
      real_(h, cb);
      return;
    }
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
