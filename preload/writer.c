/* The report file: opened once per process image, appended in whole records, guarded against a
 * program that closes or dup2()s over "all" fds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

static int report_fd = -1;
static char report_path[LS_PATH_MAX];
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t records;
static unsigned report_seq;
static bool sealed;

/* Expand %p %n %s %% of the template into out. Returns -ENAMETOOLONG or 0; *had_seq tells whether
 * the template names the sequence number itself. */
static int expand(const char *tmpl, const char *prog, unsigned seq, char *out, size_t cap, bool *had_seq) {
  size_t n = 0;
  char num[24];
  *had_seq = false;
  for (const char *p = tmpl; *p; p++) {
    const char *piece = p;
    size_t len = 1;
    if (*p == '%' && p[1]) {
      p++;
      switch (*p) {
      case 'p': piece = num; len = ls_fmt_u(num, (uint64_t)getpid()); break;
      case 'n': piece = prog; len = strlen(prog); break;
      case 's': piece = num; len = ls_fmt_u(num, seq); *had_seq = true; break;
      case '%': piece = "%"; break;
      default: piece = p - 1; len = 2; break;
      }
    }
    if (n + len >= cap) return -ENAMETOOLONG;
    memcpy(out + n, piece, len);
    n += len;
  }
  out[n] = '\0';
  return 0;
}

static int make_absolute(char *path, size_t cap) {
  if (path[0] == '/') return 0;
  char cwd[LS_PATH_MAX];
  if (!getcwd(cwd, sizeof(cwd))) return -errno;
  size_t cl = strlen(cwd), pl = strlen(path);
  if (cl + 1 + pl >= cap) return -ENAMETOOLONG;
  memmove(path + cl + 1, path, pl + 1);
  memcpy(path, cwd, cl);
  path[cl] = '/';
  return 0;
}

/* Keep the report fd away from the low numbers a program expects to get from open(). */
static int move_high(int fd) {
  struct rlimit rl;
  int want = 900;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (rlim_t)want >= rl.rlim_cur / 2)
    want = (int)(rl.rlim_cur / 2);
  if (want <= 2) return fd;
  int hi = fcntl(fd, F_DUPFD_CLOEXEC, want);
  if (hi < 0) return fd;
  syscall(SYS_close, fd);
  return hi;
}

int ls_writer_open(const char *progname, unsigned seq) {
  char tmpl[LS_PATH_MAX];
  bool had_seq;
  for (unsigned tries = 0; tries < 1000; tries++, seq++) {
    int rc = expand(ls_opt.log_path, progname, seq, tmpl, sizeof(tmpl), &had_seq);
    if (rc == 0 && !had_seq && seq > 0) {
      /* No %s in the template: the plain name first, then name.1, name.2, ... */
      size_t l = strlen(tmpl);
      char num[24];
      size_t nl = ls_fmt_u(num, seq);
      if (l + 1 + nl >= sizeof(tmpl)) return -ENAMETOOLONG;
      tmpl[l] = '.';
      memcpy(tmpl + l + 1, num, nl);
      tmpl[l + 1 + nl] = '\0';
    }
    if (rc == 0) rc = make_absolute(tmpl, sizeof(tmpl));
    if (rc < 0) return rc;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, tmpl, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_APPEND,
                          0600);
    if (fd >= 0) {
      report_fd = move_high(fd);
      report_seq = seq;
      sealed = false;
      memcpy(report_path, tmpl, strlen(tmpl) + 1);
      records = 0;
      return 0;
    }
    if (errno != EEXIST) return -errno;
  }
  return -EEXIST;
}

bool ls_writer_ok(void) { return report_fd >= 0; }
const char *ls_writer_path(void) { return report_path; }
int ls_writer_fd(void) { return report_fd; }
uint64_t ls_writer_records(void) { return records; }
unsigned ls_writer_seq(void) { return report_seq; }
bool ls_is_report_fd(int fd) { return fd >= 0 && fd == __atomic_load_n(&report_fd, __ATOMIC_RELAXED); }

void ls_writer_lock(void) { pthread_mutex_lock(&write_mu); }
void ls_writer_unlock(void) { pthread_mutex_unlock(&write_mu); }
bool ls_writer_trylock(void) { return pthread_mutex_trylock(&write_mu) == 0; }
void ls_writer_reinit_lock(void) { pthread_mutex_init(&write_mu, NULL); }
void ls_writer_seal(bool on) { sealed = on; }

int ls_write_locked(struct ls_rec *r) {
  long len = ls_rec_end(r);
  if (len < 0) return (int)len;
  if (report_fd < 0) return -EBADF;
  if (sealed) return -EPIPE; /* after the trailer: libraries' destructors still join threads */
  const char *p = r->buf;
  size_t left = (size_t)len;
  int saved = errno;
  while (left) {
    ssize_t w = syscall(SYS_write, report_fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      errno = saved;
      return -EIO;
    }
    p += w;
    left -= (size_t)w;
  }
  errno = saved;
  records++;
  return 0;
}

int ls_write(struct ls_rec *r) {
  ls_writer_lock();
  int rc = ls_write_locked(r);
  ls_writer_unlock();
  return rc;
}

void ls_writer_evacuate(int fd) {
  if (!ls_is_report_fd(fd)) return;
  int hi = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
  if (hi >= 0) __atomic_store_n(&report_fd, hi, __ATOMIC_RELAXED);
  else __atomic_store_n(&report_fd, -1, __ATOMIC_RELAXED);
  /* The program's dup2/dup3 then replaces fd; our copy lives on at hi. */
}

void ls_writer_close(void) {
  if (report_fd >= 0) syscall(SYS_close, report_fd);
  report_fd = -1;
}

void ls_fd_evacuate(int fd) {
  ls_writer_evacuate(fd);
  ls_control_evacuate(fd);
}
