/* The poll family. For now: a poll made while a thread runs a loop (uv_run) marks one iteration and
 * is timed (loops.c does the accounting). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/epoll.h>

#include "shim.h"

#define POLL_HOOKS(X) X(epoll_wait) X(epoll_pwait)
#define DECLARE(name) LS_REAL_SLOT(name);
POLL_HOOKS(DECLARE)
#undef DECLARE

LS_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout) {
  if (!LS_REAL_FN(epoll_wait, NULL)) return ls_enosys();
  uint64_t t0 = ls_poll_enter();
  int rc = real_epoll_wait(epfd, ev, max, timeout);
  if (t0) {
    int saved = errno;
    ls_poll_exit(t0, timeout, rc);
    errno = saved;
  }
  return rc;
}

LS_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask) {
  if (!LS_REAL_FN(epoll_pwait, NULL)) return ls_enosys();
  uint64_t t0 = ls_poll_enter();
  int rc = real_epoll_pwait(epfd, ev, max, timeout, mask);
  if (t0) {
    int saved = errno;
    ls_poll_exit(t0, timeout, rc);
    errno = saved;
  }
  return rc;
}
