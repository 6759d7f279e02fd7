/* Trampoline pools: LS_POOL_SIZE compiled trampolines per callback shape, each bound to one callback
 * site. A pooled trampoline knows its site and the program's callback from a static slot, so the
 * callback path needs no lookup by handle at all: clock, call, clock, add. Sites beyond the pool fall
 * back to the adapter's lookup-by-handle trampoline.
 *
 * LS_TRAMP_POOL(shape, cbtype, params, args, obj, pre, account) defines, for one shape:
 *   static void *shape##_pool_take(uint32_t site, void *cb)  -> a trampoline for this site, or NULL
 * where each trampoline runs pre(obj, site) (bookkeeping before the callback, which may free obj),
 * then the callback (the program's code: LS_PROGRAM_RUN), then account(site, t0). */
#ifndef LS_TRAMP_POOL_H
#define LS_TRAMP_POOL_H

#include "account.h"

#define LS_POOL_SIZE 256

struct ls_pool_slot {
  void *cb;
  uint32_t site;
};

/* 256 expansions of M(A, n) with n = 0x00 .. 0xff (pasted, so n is also a valid name suffix). */
#define LS_REP16(M, A, p)                                                                                    \
  M(A, p##0) M(A, p##1) M(A, p##2) M(A, p##3) M(A, p##4) M(A, p##5) M(A, p##6) M(A, p##7) M(A, p##8)        \
      M(A, p##9) M(A, p##a) M(A, p##b) M(A, p##c) M(A, p##d) M(A, p##e) M(A, p##f)
#define LS_REP256(M, A)                                                                                      \
  LS_REP16(M, A, 0x0) LS_REP16(M, A, 0x1) LS_REP16(M, A, 0x2) LS_REP16(M, A, 0x3) LS_REP16(M, A, 0x4)       \
  LS_REP16(M, A, 0x5) LS_REP16(M, A, 0x6) LS_REP16(M, A, 0x7) LS_REP16(M, A, 0x8) LS_REP16(M, A, 0x9)       \
  LS_REP16(M, A, 0xa) LS_REP16(M, A, 0xb) LS_REP16(M, A, 0xc) LS_REP16(M, A, 0xd) LS_REP16(M, A, 0xe)       \
  LS_REP16(M, A, 0xf)

/* A is the shape's parenthesised argument bundle; these unpack it (the preprocessor cannot curry). */
#define LS_EXPAND(...) __VA_ARGS__
#define LS_POOL_FN(A, n) LS_POOL_FN_I(n, LS_EXPAND A)
#define LS_POOL_FN_I(...) LS_POOL_FN_II(__VA_ARGS__)
#define LS_POOL_FN_II(n, shape, cbtype, params, args, obj, pre, account)                                   \
  static void shape##_tramp_##n params {                                                                    \
    const struct ls_pool_slot *s_ = &shape##_slots[n];                                                      \
    void *cb_ = __atomic_load_n(&s_->cb, __ATOMIC_ACQUIRE); /* a plain load on x86 */                       \
    pre(obj, s_->site);                                                                                     \
    uint64_t t0_ = ls_cb_begin(s_->site);                                                                   \
    LS_PROGRAM_RUN(((cbtype)cb_) args);                                                                     \
    account(s_->site, t0_);                                                                                 \
  }
#define LS_POOL_NAME(A, n) LS_POOL_NAME_I(n, LS_EXPAND A)
#define LS_POOL_NAME_I(...) LS_POOL_NAME_II(__VA_ARGS__)
#define LS_POOL_NAME_II(n, shape, ...) shape##_tramp_##n,

#define LS_TRAMP_POOL(shape, cbtype, params, args, obj, pre, account)                                      \
  static struct ls_pool_slot shape##_slots[LS_POOL_SIZE];                                                   \
  static uint32_t shape##_used;                                                                             \
  LS_REP256(LS_POOL_FN, (shape, cbtype, params, args, obj, pre, account))                                   \
  static void(*const shape##_tramps[LS_POOL_SIZE]) params = {                                               \
      LS_REP256(LS_POOL_NAME, (shape, cbtype, params, args, obj, pre, account))};                           \
  static void *shape##_pool_take(uint32_t site, void *cb) {                                                 \
    uint32_t i = __atomic_fetch_add(&shape##_used, 1, __ATOMIC_RELAXED);                                     \
    if (i >= LS_POOL_SIZE) return NULL;                                                                     \
    shape##_slots[i].site = site;                                                                           \
    /* filled before the library can call through it (a release store, not a fence: TSan sees it) */      \
    __atomic_store_n(&shape##_slots[i].cb, cb, __ATOMIC_RELEASE);                                            \
    return (void *)shape##_tramps[i];                                                                       \
  }

#endif
