/* The report fd survives a program that closes "all" its fds: close() of it pretends to succeed,
 * close_range/closefrom skip it, and dup2/dup3 onto it first move our copy elsewhere. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "shim.h"

#define FD_HOOKS(X) X(close) X(close_range) X(closefrom) X(dup2) X(dup3)
#define DECLARE(name) LS_REAL_SLOT(name);
FD_HOOKS(DECLARE)
#undef DECLARE

LS_EXPORT int close(int fd) {
  if (LS_UNLIKELY(ls_is_report_fd(fd))) return 0;
  if (!LS_REAL_FN(close, NULL)) return ls_enosys();
  return real_close(fd);
}

/* [lo, hi] minus our fd, as at most two calls. */
LS_EXPORT int close_range(unsigned lo, unsigned hi, int flags) {
  if (!LS_REAL_FN(close_range, NULL)) return ls_enosys();
  int ours = ls_writer_fd();
  if (ours < 0 || (unsigned)ours < lo || (unsigned)ours > hi) return real_close_range(lo, hi, flags);
  int rc = 0;
  if ((unsigned)ours > lo) rc = real_close_range(lo, (unsigned)ours - 1, flags);
  if (rc == 0 && (unsigned)ours < hi) rc = real_close_range((unsigned)ours + 1, hi, flags);
  return rc;
}

LS_EXPORT void closefrom(int lo) {
  int ours = ls_writer_fd();
  if (ours >= lo && ours >= 0) {
    if (ours > lo) close_range((unsigned)lo, (unsigned)ours - 1, 0);
    lo = ours + 1;
  }
  if (LS_REAL_FN(closefrom, NULL)) real_closefrom(lo);
}

LS_EXPORT int dup2(int old, int new) {
  if (!LS_REAL_FN(dup2, NULL)) return ls_enosys();
  if (LS_UNLIKELY(ls_is_report_fd(new)) && old != new) ls_writer_evacuate(new);
  return real_dup2(old, new);
}

LS_EXPORT int dup3(int old, int new, int flags) {
  if (!LS_REAL_FN(dup3, NULL)) return ls_enosys();
  if (LS_UNLIKELY(ls_is_report_fd(new)) && old != new) ls_writer_evacuate(new);
  return real_dup3(old, new, flags);
}
