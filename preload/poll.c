/* The poll family: epoll_wait, epoll_pwait, epoll_pwait2, poll, ppoll, select, pselect (and glibc's
 * fortified __poll_chk/__ppoll_chk, which do not go through poll). Each poll a loop makes is one
 * iteration, timed (loops.c does the accounting: iterations, time polling versus working, the lag
 * from a poll's return to the next poll, polls >= 1 s).
 *
 * Which loop: the one an adapter says the thread runs (ls_tls.loop, set by uv_run) comes first and is
 * accounted exactly as before. A thread outside any adapter's loop becomes a generic loop thread when
 * it polls repeatedly, on at least one fd, from one call site: the LS_POLL_LOOP_AFTER-th such poll in a
 * row from one return address makes a loop with lib "epoll", "poll" or "select" and addr = that call
 * site. Not counted: a poll on no fd (poll(NULL, 0, ms), select(0, ...) used as a sleep) and a poll
 * made by libc itself (its resolver). From then on the thread's polls from that site feed the loop;
 * the fast path of a classified thread is two TLS loads and a compare. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

#include "shim.h"

#define CALLER __builtin_return_address(0)
/* The 3rd poll in a row from one call site makes a loop. The 2nd already makes it a provisional one,
 * watched but not described in the report until the 3rd confirms it: Node.js runs a 50 ms timer after
 * its 2nd poll, and a stall in that first timer must be seen, while a thread that polls twice and never
 * again (a client waiting for two answers) is no loop. */
#define LS_POLL_LOOP_AFTER 3u
#define LS_POLL_WATCH_AFTER 2u
#define LS_POLL_NEVER UINT32_MAX

/* glibc's fortified entry points (-D_FORTIFY_SOURCE with a known array size). */
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *ss, size_t fdslen);

static int ts_ms(const struct timespec *t) {
  if (!t) return -1;
  if (t->tv_sec > 2000000) return 2000000000;
  return (int)(t->tv_sec * 1000 + t->tv_nsec / 1000000);
}
static int tv_ms(const struct timeval *t) {
  if (!t) return -1;
  if (t->tv_sec > 2000000) return 2000000000;
  return (int)(t->tv_sec * 1000 + t->tv_usec / 1000);
}

/* The thread's latest polls do not make a loop yet: count this one (slow path, unclassified threads). */
static __attribute__((noinline)) struct ls_loop *classify(const void *caller, int ident, bool has_fds,
                                                          const char *lib, const void *real) {
  if (!has_fds || ls_tls.guard || !ls_active) return NULL;
  if (caller != ls_tls.poll_site) {
    ls_tls.guard++;
    bool libc = ls_same_object_cached(caller, real); /* preserves errno */
    ls_tls.guard--;
    ls_tls.poll_site = caller;
    ls_tls.poll_count = libc ? LS_POLL_NEVER : 0;
  }
  if (ls_tls.poll_count == LS_POLL_NEVER || ++ls_tls.poll_count < LS_POLL_WATCH_AFTER) return NULL;
  ls_tls.guard++;
  struct ls_loop *l = ls_loop_new(lib, caller);
  ls_tls.guard--;
  if (!l) {
    ls_tls.poll_count = LS_POLL_NEVER; /* out of loops: stop asking */
    return NULL;
  }
  pid_t me = ls_gettid();
  LS_RELAXED_STORE(&l->thread, me);
  LS_RELAXED_STORE(&l->running, me);
  LS_RELAXED_STORE(&l->iterations, (uint64_t)(LS_POLL_WATCH_AFTER - 1)); /* the polls before this one */
  LS_RELAXED_STORE(&l->provisional, true);
  l->poll_fd = ident;
  ls_tls.gloop = l;
  return l;
}

/* The loop this poll belongs to, or NULL. */
/* A generic loop is its thread's polls from one call site and, for epoll, on one epoll fd: Node.js
 * polls a second libuv loop from the same uv__io_poll at exit, which is not the main loop's next
 * iteration. */
static inline struct ls_loop *poll_loop(const void *caller, int ident, bool has_fds, const char *lib,
                                        const void *real) {
  struct ls_loop *l = ls_tls.loop;
  if (l) return l;
  l = ls_tls.gloop;
  if (LS_LIKELY(l != NULL)) {
    if (l->addr != caller || l->poll_fd != ident) return NULL;
    if (LS_UNLIKELY(l->provisional) && l->iterations + 1 >= LS_POLL_LOOP_AFTER) LS_RELAXED_STORE(&l->provisional, false);
    return l;
  }
  return classify(caller, ident, has_fds, lib, real);
}

/* A poll or select generic loop keeps its latest poll's fds for the hang dump (the first LS_LOOP_FDS and
 * the count): a copy of a few words per poll, once the loop is confirmed. */
static inline bool keeps_fds(const struct ls_loop *l) { return l == ls_tls.gloop && !LS_RELAXED_LOAD(&l->provisional); }

/* A seqlock without fences (TSan refuses them): the fds are stored with release after the odd sequence
 * number and loaded with acquire before the sequence is read again. On x86 both are plain moves. */
static void wait_begin(struct ls_loop *l) { __atomic_store_n(&l->wait_seq, l->wait_seq + 1, __ATOMIC_RELAXED); }
static void wait_end(struct ls_loop *l, uint32_t nwait, uint32_t kept) {
  __atomic_store_n(&l->nwait, nwait | kept << 24, __ATOMIC_RELEASE);
  __atomic_store_n(&l->wait_seq, l->wait_seq + 1, __ATOMIC_RELEASE);
}

static void note_pollfds(struct ls_loop *l, const struct pollfd *fds, nfds_t nfds) {
  if (!keeps_fds(l)) return;
  wait_begin(l);
  uint32_t k = 0;
  for (nfds_t i = 0; i < nfds && k < LS_LOOP_FDS; i++) {
    if (fds[i].fd < 0) continue; /* poll ignores it */
    __atomic_store_n(&l->wait_fd[k], fds[i].fd, __ATOMIC_RELEASE);
    __atomic_store_n(&l->wait_ev[k], (uint16_t)fds[i].events, __ATOMIC_RELEASE);
    k++;
  }
  wait_end(l, nfds > 0xffffff ? 0xffffff : (uint32_t)nfds, k);
}

static void note_fdsets(struct ls_loop *l, int nfds, const fd_set *r, const fd_set *w, const fd_set *e) {
  if (!keeps_fds(l)) return;
  wait_begin(l);
  uint32_t k = 0, total = 0;
  for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
    uint16_t ev = (uint16_t)((r && FD_ISSET(fd, r) ? POLLIN : 0) | (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
                             (e && FD_ISSET(fd, e) ? POLLPRI : 0));
    if (!ev) continue;
    total++;
    if (k == LS_LOOP_FDS) continue;
    __atomic_store_n(&l->wait_fd[k], fd, __ATOMIC_RELEASE);
    __atomic_store_n(&l->wait_ev[k], ev, __ATOMIC_RELEASE);
    k++;
  }
  wait_end(l, total, k);
}

size_t ls_loop_wait_fds(struct ls_loop *l, int *fds, uint32_t *events, size_t max) {
  for (int tries = 0; tries < 100; tries++) {
    uint32_t seq = __atomic_load_n(&l->wait_seq, __ATOMIC_ACQUIRE);
    if (seq & 1) continue;
    uint32_t kept = __atomic_load_n(&l->nwait, __ATOMIC_ACQUIRE) >> 24;
    size_t n = kept < max ? kept : max;
    for (size_t i = 0; i < n; i++) {
      fds[i] = __atomic_load_n(&l->wait_fd[i], __ATOMIC_ACQUIRE);
      events[i] = __atomic_load_n(&l->wait_ev[i], __ATOMIC_ACQUIRE);
    }
    if (__atomic_load_n(&l->wait_seq, __ATOMIC_RELAXED) == seq) return n;
  }
  return 0;
}

/* X(name, params, args, ident, has_fds, timeout_ms, lib, mask, again, note): ident tells loops of one call
 * site apart (the epoll fd; -1 for poll and select, whose fd sets change); has_fds says the call waits
 * on at least one fd; timeout_ms is evaluated only for a poll that took >= 1 s (the live line); mask is
 * the signal mask the call waits with (NULL: the thread's); again are the arguments that wait for what
 * is left after the stall signal cut the call short (nointr.c; select's timeout is what the kernel left
 * in it, its fd sets are untouched on EINTR); note keeps a poll or select loop's fds for the hang dump. */
#define NO_NOTE(l) (void)(l)
#define NOTE_POLL(l) note_pollfds((l), fds, nfds)
#define NOTE_SELECT(l) note_fdsets((l), nfds, r, w, e)
#define POLL_HOOKS(X)                                                                                        \
  X(epoll_wait, (int epfd, struct epoll_event *ev, int max, int timeout), (epfd, ev, max, timeout), epfd,       \
    epfd >= 0, timeout, "epoll", NULL, (epfd, ev, max, ls_wait_left_ms(&w_, timeout)), NO_NOTE)               \
  X(epoll_pwait, (int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask),              \
    (epfd, ev, max, timeout, mask), epfd, epfd >= 0, timeout, "epoll", mask,                                 \
    (epfd, ev, max, ls_wait_left_ms(&w_, timeout), mask), NO_NOTE)                                            \
  X(epoll_pwait2,                                                                                            \
    (int epfd, struct epoll_event *ev, int max, const struct timespec *timeout, const sigset_t *mask),       \
    (epfd, ev, max, timeout, mask), epfd, epfd >= 0, ts_ms(timeout), "epoll", mask,                          \
    (epfd, ev, max, ls_wait_left_ts(&w_, timeout, &ts_), mask), NO_NOTE)                                     \
  X(poll, (struct pollfd *fds, nfds_t nfds, int timeout), (fds, nfds, timeout), -1, fds && nfds >= 1, timeout, \
    "poll", NULL, (fds, nfds, ls_wait_left_ms(&w_, timeout)), NOTE_POLL)                                      \
  X(__poll_chk, (struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen), (fds, nfds, timeout, fdslen), -1, \
    fds && nfds >= 1, timeout, "poll", NULL, (fds, nfds, ls_wait_left_ms(&w_, timeout), fdslen), NOTE_POLL)   \
  X(ppoll, (struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *ss),                \
    (fds, nfds, tmo, ss), -1, fds && nfds >= 1, ts_ms(tmo), "poll", ss,                                      \
    (fds, nfds, ls_wait_left_ts(&w_, tmo, &ts_), ss), NOTE_POLL)                                             \
  X(__ppoll_chk,                                                                                             \
    (struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *ss, size_t fdslen),        \
    (fds, nfds, tmo, ss, fdslen), -1, fds && nfds >= 1, ts_ms(tmo), "poll", ss,                              \
    (fds, nfds, ls_wait_left_ts(&w_, tmo, &ts_), ss, fdslen), NOTE_POLL)                                     \
  X(select, (int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv), (nfds, r, w, e, tv), -1,            \
    nfds >= 1 && (r || w || e), tv_ms(tv), "select", NULL, (nfds, r, w, e, tv), NOTE_SELECT)                 \
  X(pselect,                                                                                                 \
    (int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *tmo, const sigset_t *ss),             \
    (nfds, r, w, e, tmo, ss), -1, nfds >= 1 && (r || w || e), ts_ms(tmo), "select", ss,                      \
    (nfds, r, w, e, ls_wait_left_ts(&w_, tmo, &ts_), ss), NOTE_SELECT)

/* The real call, marked as a wait the stall signal must not cut short (nointr.c); it gets the real
 * function in front of the call's own parameters. */
#define NOINTR_PARAMS(...) (void *real_v_, __VA_ARGS__)
#define NOINTR_ARGS(...) ((void *)real_, __VA_ARGS__)
#define GEN_NOINTR(name, params, args, ident, has_fds, timeout_ms, lib, mask, again, note)                   \
  static __attribute__((noinline)) int name##_nointr NOINTR_PARAMS params {                                   \
    __typeof__(&name) real_ = (__typeof__(&name))real_v_;                                                    \
    __attribute__((unused)) struct timespec ts_;                                                             \
    int rc_;                                                                                                 \
    LS_NOINTR(rc_, name, real_ args, rc_ < 0 && errno == EINTR, (mask), real_ again);                        \
    return rc_;                                                                                              \
  }
POLL_HOOKS(GEN_NOINTR)

/* ls_nointr_sig is set once by the watchdog thread: read atomically (relaxed: a late view only means one
 * more wait without the re-wait, before any stall signal exists) */
#define REAL_CALL(name, args) (LS_LIKELY(!LS_RELAXED_LOAD(&ls_nointr_sig)) ? real_ args : name##_nointr NOINTR_ARGS args)

#define GEN_HOOK(name, params, args, ident, has_fds, timeout_ms, lib, mask, again, note)                     \
  LS_REAL_SLOT(name);                                                                                        \
  LS_EXPORT int name params {                                                                                \
    __typeof__(&name) real_ = LS_REAL_FN(name, NULL);                                                        \
    if (LS_UNLIKELY(!real_)) return ls_enosys();                                                             \
    struct ls_loop *l_ = poll_loop(CALLER, (ident), (has_fds), lib, (const void *)real_);                    \
    if (LS_LIKELY(!l_)) return REAL_CALL(name, args);                                                        \
    if (LS_UNLIKELY(ls_tls.nblk_pending)) ls_blocking_flush();                                               \
    note(l_);                                                                                                \
    uint64_t t0_ = ls_poll_enter_loop(l_);                                                                   \
    int rc_ = REAL_CALL(name, args);                                                                         \
    if (t0_) {                                                                                               \
      int saved_ = errno;                                                                                    \
      ls_poll_exit_loop(l_, t0_, (timeout_ms), rc_);                                                         \
      errno = saved_;                                                                                        \
    }                                                                                                        \
    return rc_;                                                                                              \
  }
POLL_HOOKS(GEN_HOOK)
