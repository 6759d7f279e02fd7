/* The shim's own fds (the report, and the control socket from `loopscope run`) survive a program that
 * closes "all" its fds, and the program sees exactly what it would see without them: our fds are
 * numbers that are not open in the program's eyes. close() of one fails with EBADF as it would;
 * close_range/closefrom do everything they do, around our fds; dup2/dup3 onto one first move ours
 * elsewhere. What these hooks do not see (a raw syscall) the writer notices by the fd's identity. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <unistd.h>

#include "shim.h"

#define FD_HOOKS(X) X(close) X(close_range) X(closefrom) X(dup2) X(dup3)
#define DECLARE(name) LS_REAL_SLOT(name);
FD_HOOKS(DECLARE)
#undef DECLARE

static inline bool protected_fd(int fd) { return ls_is_report_fd(fd) || ls_is_control_fd(fd); }

static int ebadf(void) {
  errno = EBADF;
  return -1;
}

LS_EXPORT int close(int fd) {
  if (LS_UNLIKELY(protected_fd(fd))) return ebadf(); /* not open, as far as the program knows */
  if (!LS_REAL_FN(close, NULL)) return ls_enosys();
  ls_fd_forget(fd);
  return real_close(fd);
}

/* Our fds in [lo, hi], ascending; returns how many (0..2). */
static int ours_in(unsigned lo, unsigned hi, unsigned out[2]) {
  int fds[2] = {ls_writer_fd(), ls_control_fd()}, n = 0;
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0 && (unsigned)fds[i] >= lo && (unsigned)fds[i] <= hi) out[n++] = (unsigned)fds[i];
  if (n == 2 && out[0] > out[1]) {
    unsigned t = out[0];
    out[0] = out[1];
    out[1] = t;
  }
  return n;
}

/* [lo, hi] minus our fds, as one call per piece. Everything the kernel would refuse (lo > hi, a flag
 * it does not know, no close_range at all) goes to it unchanged, so the answer is its own. Marking
 * close-on-exec needs no split (ours are O_CLOEXEC already). The one number never open in any process,
 * ~0U, lets a range that holds nothing but ours still be checked by the kernel, and fail as it would. */
LS_EXPORT int close_range(unsigned lo, unsigned hi, int flags) {
  if (!LS_REAL_FN(close_range, NULL)) return ls_enosys();
  unsigned ours[2];
  int n = lo > hi || (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) || (flags & CLOSE_RANGE_CLOEXEC)
              ? 0
              : ours_in(lo, hi, ours);
  if (n == 0) {
    int rc = real_close_range(lo, hi, flags);
    if (rc == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) ls_fd_forget_range(lo, hi);
    return rc;
  }
  unsigned from = lo;
  bool called = false;
  for (int i = 0; i < n; i++) {
    if (ours[i] > from) {
      int rc = real_close_range(from, ours[i] - 1, flags);
      if (rc != 0) return rc;
      called = true;
    }
    from = ours[i] + 1; /* ours[i] < hi or == hi; never ~0U, which is never open */
  }
  if (ours[n - 1] < hi) {
    int rc = real_close_range(from, hi, flags);
    if (rc != 0) return rc;
    called = true;
  }
  if (!called && real_close_range(~0U, ~0U, flags) != 0) return -1;
  ls_fd_forget_range(lo, hi);
  return 0;
}

/* glibc's closefrom calls its close_range internally, where our hook cannot see it. Without a
 * close_range in the kernel glibc falls back to closing what /proc/self/fd lists, ours included: the
 * writer then notices its fd is gone. */
LS_EXPORT void closefrom(int lo) {
  if (lo < 0) lo = 0;
  unsigned ours[2];
  if (ours_in((unsigned)lo, ~0U, ours) > 0 && close_range((unsigned)lo, ~0U, 0) == 0) return;
  if (LS_REAL_FN(closefrom, NULL)) real_closefrom(lo);
  ls_fd_forget_range((unsigned)lo, ~0U);
}

LS_EXPORT int dup2(int old, int new) {
  if (!LS_REAL_FN(dup2, NULL)) return ls_enosys();
  if (LS_UNLIKELY(protected_fd(old))) return ebadf();
  if (LS_UNLIKELY(protected_fd(new)) && old != new) ls_fd_evacuate(new);
  ls_fd_forget(new);
  return real_dup2(old, new);
}

LS_EXPORT int dup3(int old, int new, int flags) {
  if (!LS_REAL_FN(dup3, NULL)) return ls_enosys();
  if (LS_UNLIKELY(protected_fd(old))) return ebadf();
  if (LS_UNLIKELY(protected_fd(new)) && old != new) ls_fd_evacuate(new);
  ls_fd_forget(new);
  return real_dup3(old, new, flags);
}
