/* The control channel from `loopscope run`: when the program outlives --timeout, the CLI asks (over a
 * socket it passed as LOOPSCOPE_CONTROL_FD) for a picture of what keeps it alive before it sends
 * SIGTERM: every thread and where it waits, every loop and its open handles. The flush thread answers
 * between flushes; the program itself is not interrupted. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"
#include "uv_track.h"

static int control_fd = -1;

void ls_control_init(void) {
  const char *v = getenv("LOOPSCOPE_CONTROL_FD");
  if (!v) return;
  char *end;
  long fd = strtol(v, &end, 10);
  if (*end || fd < 3 || fd > 1 << 20 || fcntl((int)fd, F_GETFD) < 0) return;
  /* Ours alone: not inherited by the program's children, not in the program's environment. */
  fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  control_fd = (int)fd;
  unsetenv("LOOPSCOPE_CONTROL_FD");
}

bool ls_is_control_fd(int fd) { return fd >= 0 && fd == control_fd; }
int ls_control_fd(void) { return control_fd; }

/* The program dup2()s onto our control fd: ours moves to a free number first. */
void ls_control_evacuate(int fd) {
  if (!ls_is_control_fd(fd)) return;
  control_fd = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
}

/* A syscall number as a name, for the ones a stuck thread is usually in. */
static const char *syscall_name(long nr) {
  switch (nr) {
  case SYS_read: return "read";
  case SYS_write: return "write";
  case SYS_poll: return "poll";
  case SYS_ppoll: return "ppoll";
  case SYS_select: return "select";
  case SYS_pselect6: return "pselect6";
  case SYS_epoll_wait: return "epoll_wait";
  case SYS_epoll_pwait: return "epoll_pwait";
  case SYS_nanosleep: return "nanosleep";
  case SYS_clock_nanosleep: return "clock_nanosleep";
  case SYS_futex: return "futex";
  case SYS_wait4: return "wait4";
  case SYS_waitid: return "waitid";
  case SYS_accept: return "accept";
  case SYS_accept4: return "accept4";
  case SYS_connect: return "connect";
  case SYS_recvfrom: return "recvfrom";
  case SYS_recvmsg: return "recvmsg";
  case SYS_sendto: return "sendto";
  case SYS_sendmsg: return "sendmsg";
  case SYS_pause: return "pause";
  case SYS_rt_sigtimedwait: return "rt_sigtimedwait";
  case SYS_fsync: return "fsync";
  case SYS_fdatasync: return "fdatasync";
  default: return NULL;
  }
}

static ssize_t read_small(const char *path, char *buf, size_t cap) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = syscall(SYS_read, fd, buf, cap - 1);
  syscall(SYS_close, fd);
  if (n >= 0) buf[n] = '\0';
  return n;
}

/* W tid=u name=s state=s syscall=s: one per thread of the program, from /proc (no signal, no
 * interruption). Y reason=timeout marks the dump; H records list the open handles at that moment. */
static void dump_threads(void) {
  DIR *d = opendir("/proc/self/task");
  if (!d) return;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);
    if (tid == ls_gettid() || ls_threads_is_own(tid)) continue; /* the shim's own threads, this one answering */
    char path[300], stat[512], sc[128], name[32] = "?", state[2] = "?", call[32] = "?";
    snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
    if (read_small(path, stat, sizeof(stat)) > 0) {
      /* "tid (comm) S ...": comm may hold spaces and parentheses, so take the last ')'. */
      char *open = strchr(stat, '('), *close = strrchr(stat, ')');
      if (open && close && close > open) {
        snprintf(name, sizeof(name), "%.*s", (int)(close - open - 1), open + 1);
        if (close[1] == ' ' && close[2]) state[0] = close[2];
      }
    }
    snprintf(path, sizeof(path), "/proc/self/task/%s/syscall", e->d_name);
    if (read_small(path, sc, sizeof(sc)) > 0) {
      if (strncmp(sc, "running", 7) == 0) snprintf(call, sizeof(call), "running");
      else {
        long nr = strtol(sc, NULL, 10);
        const char *n = syscall_name(nr);
        if (n) snprintf(call, sizeof(call), "%s", n);
        else snprintf(call, sizeof(call), "syscall %ld", nr);
      }
    }
    char buf[256];
    struct ls_rec r;
    ls_rec_begin(&r, buf, sizeof(buf), 'W');
    ls_rec_u(&r, "tid", strtoull(e->d_name, NULL, 10));
    ls_rec_s(&r, "name", name);
    ls_rec_s(&r, "state", state);
    ls_rec_s(&r, "syscall", call);
    ls_write(&r);
  }
  closedir(d);
}

/* Waits up to ms for a request; answers it. Returns false when there is no channel (plain sleep). */
bool ls_control_wait(uint64_t ms) {
  if (control_fd < 0) return false;
  struct pollfd p = {control_fd, POLLIN, 0};
  int rc = poll(&p, 1, (int)ms);
  if (rc <= 0) return true;
  char cmd[16];
  ssize_t n = syscall(SYS_read, control_fd, cmd, sizeof(cmd) - 1);
  if (n <= 0) { /* the CLI went away: back to plain sleeping */
    control_fd = -1;
    return true;
  }
  cmd[n] = '\0';
  if (strncmp(cmd, "dump", 4) == 0) {
    char buf[64];
    struct ls_rec r;
    ls_rec_begin(&r, buf, sizeof(buf), 'Y');
    ls_rec_s(&r, "reason", "timeout");
    ls_write(&r);
    dump_threads();
    ls_uv_dump_open();
    ls_adapters_dump_open();
    ls_loops_dump_fds();
    ls_loops_mark_dirty(); /* the L records after the H records end the dump for the reader */
    ls_flush_aggregates();
    static const char done[] = "done\n";
    ssize_t w = syscall(SYS_write, control_fd, done, sizeof(done) - 1);
    (void)w;
  }
  return true;
}
