/* The stall signal never makes a wait return EINTR.
 *
 * The watchdog samples a stalled loop thread that is on a CPU with a signal (watchdog.c), and never
 * one it sees inside a hooked wait. That check is racy: the thread may enter a wait between the look
 * and the signal (a retry loop of 1 ms polls does it all the time), and poll, ppoll, epoll_wait,
 * epoll_pwait(2), select, pselect, nanosleep, clock_nanosleep and usleep then fail with EINTR whatever
 * SA_RESTART says. A program with no signal handler of its own never sees that plainly.
 *
 * So every hooked wait (the poll family in poll.c, the sleep family in blocking.c) is marked while it
 * runs (ls_wait_begin), on every thread once the stall signal is armed; the handler notes when it was
 * delivered inside a marked wait (stall_cut). A wait that returns EINTR with that note, when no
 * signal but ours could have interrupted it -- no other signal the wait lets through has a handler
 * (the kernel's dispositions, read raw; SIG_DFL and SIG_IGN interrupt nothing) -- is waited again for
 * what is left of its timeout, and the program sees one wait. When the program has a handler that
 * could have cut the wait, the EINTR is passed on: it may be the program's own, and hiding that would
 * be worse (a program that waits for its signal would never wake); such a program handles EINTR
 * anyway, and the watchdog's look makes it rare.
 *
 * Cost: on every hooked wait, a clock read and a few thread-local stores (nothing before the first
 * loop); on a wait the signal cut short, one rt_sigaction read per signal number. Unhooked waits (a
 * raw syscall(), libc's own internal polls, sem_wait, a socket read with SO_RCVTIMEO) are not covered:
 * SA_RESTART restarts reads, writes and the rest, and the watchdog's look is all that protects them. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

int ls_nointr_sig;

/* Could a signal other than the stall signal have interrupted a wait that ran with this mask (NULL:
 * the thread's current one)? Whether one of them has a handler that is not the shim's. The signals
 * glibc keeps for itself below SIGRTMIN (32 and 33: thread cancellation, which unwinds rather than
 * returns, and set*id() on every thread, whose handler every threaded program has) are not counted. */
static bool other_handler(const sigset_t *mask) {
  sigset_t blocked;
  if (mask) blocked = *mask;
  else if (pthread_sigmask(SIG_BLOCK, NULL, &blocked) != 0) return true;
  for (int sig = 1; sig < 65; sig++) {
    if (sig == ls_nointr_sig || sig == SIGKILL || sig == SIGSTOP || (sig >= 32 && sig < SIGRTMIN) ||
        sigismember(&blocked, sig) == 1)
      continue;
    void *act[4]; /* the kernel's struct sigaction: handler first */
    if (syscall(SYS_rt_sigaction, sig, NULL, act, 8) != 0) continue;
    if (act[0] == (void *)SIG_DFL || act[0] == (void *)SIG_IGN || ls_is_shim_code(act[0])) continue;
    return true;
  }
  return false;
}

bool ls_wait_again_slow(struct ls_wait *w, bool eintr, const void *mask) {
  ls_tls.stall_cut = false;
  if (eintr) {
    int saved = errno;
    bool ours = !other_handler(mask);
    errno = saved;
    if (ours) return true; /* still marked: the wait goes on */
  }
  ls_tls.in_wait = w->outer;
  if (w->l && !w->outer) LS_RELAXED_STORE(&w->l->wait_call, (const char *)NULL);
  return false;
}

static uint64_t left_ns(const struct ls_wait *w, uint64_t total) {
  uint64_t spent = ls_ticks_to_ns(ls_now() - w->t0);
  return spent < total ? total - spent : 0;
}

int ls_wait_left_ms(const struct ls_wait *w, int timeout) {
  if (timeout <= 0) return timeout;
  return (int)((left_ns(w, (uint64_t)timeout * 1000000u) + 999999u) / 1000000u); /* rounded up, as poll does */
}

const struct timespec *ls_wait_left_ts(const struct ls_wait *w, const struct timespec *total, struct timespec *buf) {
  if (!total || total->tv_sec < 0 || total->tv_nsec < 0 || total->tv_nsec >= 1000000000L) return total;
  uint64_t ns = (uint64_t)total->tv_sec > UINT64_MAX / 2000000000u
                    ? UINT64_MAX / 2
                    : (uint64_t)total->tv_sec * 1000000000u + (uint64_t)total->tv_nsec;
  ns = left_ns(w, ns);
  buf->tv_sec = (time_t)(ns / 1000000000u);
  buf->tv_nsec = (long)(ns % 1000000000u);
  return buf;
}

unsigned ls_wait_left_us(const struct ls_wait *w, unsigned us) {
  return (unsigned)((left_ns(w, (uint64_t)us * 1000u) + 999u) / 1000u);
}
