/* The poll family. For now: a poll made while a thread runs a loop (uv_run) marks one iteration. */
#define _GNU_SOURCE
#include <sys/epoll.h>

#include "shim.h"

#define POLL_HOOKS(X) X(epoll_wait) X(epoll_pwait)
#define DECLARE(name) LS_REAL_SLOT(name);
POLL_HOOKS(DECLARE)
#undef DECLARE

static inline void count_iteration(void) {
  struct ls_loop *l = ls_tls.loop;
  if (l && !ls_tls.guard) LS_RELAXED_STORE(&l->iterations, LS_RELAXED_LOAD(&l->iterations) + 1);
}

LS_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout) {
  if (!LS_REAL_FN(epoll_wait, NULL)) return ls_enosys();
  count_iteration();
  return real_epoll_wait(epfd, ev, max, timeout);
}

LS_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask) {
  if (!LS_REAL_FN(epoll_pwait, NULL)) return ls_enosys();
  count_iteration();
  return real_epoll_pwait(epfd, ev, max, timeout, mask);
}
