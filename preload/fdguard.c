/* The shim's own fds (the report, and the control socket from `loopscope run`) survive a program that
 * closes "all" its fds: close() of one pretends to succeed, close_range/closefrom skip them, and
 * dup2/dup3 onto one first move ours elsewhere. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "shim.h"

#define FD_HOOKS(X) X(close) X(close_range) X(dup2) X(dup3)
#define DECLARE(name) LS_REAL_SLOT(name);
FD_HOOKS(DECLARE)
#undef DECLARE

static inline bool protected_fd(int fd) { return ls_is_report_fd(fd) || ls_is_control_fd(fd); }

LS_EXPORT int close(int fd) {
  if (LS_UNLIKELY(protected_fd(fd))) return 0;
  if (!LS_REAL_FN(close, NULL)) return ls_enosys();
  ls_fd_forget(fd);
  return real_close(fd);
}

/* [lo, hi] minus our fds, as a few calls. */
LS_EXPORT int close_range(unsigned lo, unsigned hi, int flags) {
  if (!LS_REAL_FN(close_range, NULL)) return ls_enosys();
  int ours[2] = {ls_writer_fd(), ls_control_fd()};
  if (ours[0] > ours[1]) {
    int t = ours[0];
    ours[0] = ours[1];
    ours[1] = t;
  }
  unsigned from = lo;
  for (int i = 0; i < 2; i++) {
    if (ours[i] < 0 || (unsigned)ours[i] < from || (unsigned)ours[i] > hi) continue;
    if ((unsigned)ours[i] > from) {
      int rc = real_close_range(from, (unsigned)ours[i] - 1, flags);
      if (rc != 0) return rc;
    }
    from = (unsigned)ours[i] + 1;
  }
  if (from > hi || from == 0) return 0;
  return real_close_range(from, hi, flags);
}

LS_EXPORT void closefrom(int lo) {
  if (lo < 0) lo = 0;
  close_range((unsigned)lo, ~0U, 0);
}

LS_EXPORT int dup2(int old, int new) {
  if (!LS_REAL_FN(dup2, NULL)) return ls_enosys();
  if (LS_UNLIKELY(protected_fd(new)) && old != new) ls_fd_evacuate(new);
  ls_fd_forget(new);
  return real_dup2(old, new);
}

LS_EXPORT int dup3(int old, int new, int flags) {
  if (!LS_REAL_FN(dup3, NULL)) return ls_enosys();
  if (LS_UNLIKELY(protected_fd(new)) && old != new) ls_fd_evacuate(new);
  ls_fd_forget(new);
  return real_dup3(old, new, flags);
}
