/* Trampoline pools: LS_POOL_SIZE compiled trampolines per callback shape, each bound to one callback
 * site. A pooled trampoline knows its site and the program's callback from a static slot, so the
 * callback path needs no lookup by handle at all: clock, call, clock, add. Sites beyond the pool fall
 * back to the adapter's lookup-by-handle trampoline.
 *
 * LS_TRAMP_POOL(shape, ...) defines, for one shape:
 *   static void *shape##_pool_take(uint32_t site, void *cb)  -> a trampoline for this site, or NULL */
#ifndef LS_TRAMP_POOL_H
#define LS_TRAMP_POOL_H

#include "account.h"

#define LS_POOL_SIZE 256

struct ls_pool_slot {
  void *cb;
  uint32_t site;
};

/* 256 expansions of M(n) with n = 0x00 .. 0xff (pasted, so n is also a valid name suffix). */
#define LS_REP16(M, p)                                                                                       \
  M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) M(p##5) M(p##6) M(p##7) M(p##8) M(p##9) M(p##a) M(p##b) M(p##c)   \
      M(p##d) M(p##e) M(p##f)
#define LS_REP256(M)                                                                                         \
  LS_REP16(M, 0x0) LS_REP16(M, 0x1) LS_REP16(M, 0x2) LS_REP16(M, 0x3) LS_REP16(M, 0x4) LS_REP16(M, 0x5)     \
  LS_REP16(M, 0x6) LS_REP16(M, 0x7) LS_REP16(M, 0x8) LS_REP16(M, 0x9) LS_REP16(M, 0xa) LS_REP16(M, 0xb)     \
  LS_REP16(M, 0xc) LS_REP16(M, 0xd) LS_REP16(M, 0xe) LS_REP16(M, 0xf)

/* One pooled trampoline, number n, for a shape. */
#define LS_POOL_FN_ONE(shape, cbtype, params, args, n)                                                      \
  static void shape##_tramp_##n params {                                                                    \
    const struct ls_pool_slot *s_ = &shape##_slots[n];                                                      \
    uint64_t t0_ = ls_now();                                                                                \
    ((cbtype)s_->cb) args;                                                                                  \
    ls_site_account(s_->site, t0_);                                                                         \
  }

/* The pool for a shape. FN(n) must expand to LS_POOL_FN_ONE(shape, ..., n) and NAME(n) to
 * shape##_tramp_##n followed by a comma (the preprocessor cannot curry, so each shape spells both). */
#define LS_TRAMP_POOL(shape, ptypes, FN, NAME)                                                              \
  static struct ls_pool_slot shape##_slots[LS_POOL_SIZE];                                                   \
  static uint32_t shape##_used;                                                                             \
  LS_REP256(FN)                                                                                             \
  static void(*const shape##_tramps[LS_POOL_SIZE]) ptypes = {LS_REP256(NAME)};                              \
  static void *shape##_pool_take(uint32_t site, void *cb) {                                                 \
    uint32_t i = __atomic_fetch_add(&shape##_used, 1, __ATOMIC_RELAXED);                                     \
    if (i >= LS_POOL_SIZE) return NULL;                                                                     \
    shape##_slots[i].cb = cb;                                                                               \
    shape##_slots[i].site = site;                                                                           \
    __atomic_thread_fence(__ATOMIC_RELEASE); /* filled before the library can call through it */           \
    return (void *)shape##_tramps[i];                                                                       \
  }

#endif
