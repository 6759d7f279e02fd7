/* Closing "every" descriptor in the ways real programs do, printing what each call answered and which
 * of the program's own descriptors are still open (or close-on-exec) afterwards. Run plainly and under
 * the shim it must print the same: the shim's own descriptors are invisible, never a reason for a call
 * to do less or answer differently. The ways that close 0, 1 and 2 run in a forked child, which reports
 * through its exit status.
 * Prints one line per check, then "done". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LAST_FD 1023
#define OWN_FDS 6 /* 0, 1, 2 and the three it opens */

/* Bit i: fd i (0 .. OWN_FDS-1) is open; with cloexec, open and close-on-exec. */
static int open_mask(bool cloexec) {
  int mask = 0;
  for (int fd = 0; fd < OWN_FDS; fd++) {
    int f = fcntl(fd, F_GETFD);
    if (f >= 0 && (!cloexec || (f & FD_CLOEXEC))) mask |= 1 << fd;
  }
  return mask;
}

static void report(const char *what, int rc, int err) {
  printf("%s: rc=%d errno=%s\n", what, rc, rc < 0 ? strerrorname_np(err) : "-");
}

/* In a child: close_range(0, hi, how) (closefrom(3) when how < 0) and, on success, which of fds 0..5
 * stay open. */
static void in_child(const char *what, unsigned hi, int how) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int rc = 0;
    if (how < 0) closefrom(3);
    else rc = close_range(0, hi, how);
    _exit(rc == 0 ? open_mask(false) : 100 + errno);
  }
  int st;
  if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
    printf("%s: child failed\n", what);
    return;
  }
  printf("%s: open=0x%x\n", what, WEXITSTATUS(st));
}

int main(void) {
  for (int i = 3; i < OWN_FDS; i++)
    if (open("/dev/null", O_RDONLY) != i) {
      fprintf(stderr, "fd_close_all: fds 3..5 must be free at start\n");
      return 2;
    }

  /* A close() loop over every number it did not open: all of them fail with EBADF. */
  int closed = 0, ebadf = 0;
  for (int fd = OWN_FDS; fd <= LAST_FD; fd++) {
    if (close(fd) == 0) closed++;
    else if (errno == EBADF) ebadf++;
  }
  printf("close loop: closed=%d ebadf=%d\n", closed, ebadf);

  /* What the kernel refuses. */
  int rc = close_range(5, 3, 0);
  report("close_range(5, 3)", rc, errno);
  rc = close_range(3, ~0U, 1 << 30);
  report("close_range(3, ~0U, bad flag)", rc, errno);

  /* Everything close-on-exec, 0..2 included; then 0..2 back as they were. */
  rc = close_range(0, 63, CLOSE_RANGE_CLOEXEC);
  report("close_range(0, 63, CLOEXEC)", rc, errno);
  printf("cloexec=0x%x\n", open_mask(true));
  for (int fd = 0; fd < 3; fd++) fcntl(fd, F_SETFD, 0);

  in_child("close_range(0, ~0U)", ~0U, 0);
  in_child("close_range(0, 63)", 63, 0);
  in_child("close_range(0, ~0U, UNSHARE)", ~0U, CLOSE_RANGE_UNSHARE);
  in_child("closefrom(3)", 0, -1);

  /* A range that closes only the program's own 3..5. */
  rc = close_range(3, LAST_FD, 0);
  report("close_range(3, 1023)", rc, errno);
  printf("open=0x%x\n", open_mask(false));
  printf("done\n");
  return 0;
}
