/* The report file: opened once per process image, appended in whole records, guarded against a
 * program that closes or dup2()s over "all" fds, and never written anywhere but into its own file.
 *
 * Each time the writer lock is taken the first write checks, with one fstat, that the fd is still the
 * file it opened (dev, inode): a raw close_range or close(N) by number that no hook saw, then an open
 * that got the number, would otherwise send records into the program's file. When it is not, the
 * number is left alone (it is the program's now), the report is reopened by its path (the same file:
 * the reopened inode must be the one created) and an fd-lost record says what happened; when it cannot
 * be reopened a live line says that the rest is not recorded. (A thread of the program that closes
 * and reopens the number between that check and the write is not caught.)
 *
 * The first write that fails (a full disk, a file size limit) is said once on stderr; from then on
 * nothing is written, so the file stays a clean prefix of whole records, and at the end one
 * write-failed record (error, byte offset, records lost) and the ending are tried once more: when
 * space came back the report says how it is incomplete, else the reader calls it truncated. A file
 * size limit (RLIMIT_FSIZE) is checked before writing, never run into: the kernel would send SIGXFSZ
 * to the process, which kills a program that writes no files of its own. */
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
static pid_t write_owner; /* the thread holding write_mu, 0 when none */
static uint64_t records;
static unsigned report_seq;
static bool sealed;
/* Identity of the file we created, and what the current lock holder learnt of it. */
static dev_t report_dev;
static ino_t report_ino;
static bool verified;       /* checked during this hold of the lock */
static uint64_t file_size;  /* while verified: bytes in the file */
static uint64_t size_limit; /* while verified: RLIMIT_FSIZE */
/* The first failed write: its error (positive errno), where it happened, and records not written. */
static int fail_errno;
static uint64_t fail_at, lost;
static bool fail_said; /* the live line: once per report, also when the ending fails after the note */
static unsigned fds_lost;

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
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) != 0) {
      int e = errno;
      syscall(SYS_close, fd);
      return -e;
    }
    if (fd >= 0) {
      report_fd = move_high(fd);
      report_dev = st.st_dev;
      report_ino = st.st_ino;
      report_seq = seq;
      sealed = verified = false;
      memcpy(report_path, tmpl, strlen(tmpl) + 1);
      __atomic_store_n(&records, 0, __ATOMIC_RELAXED);
      lost = 0;
      fail_errno = 0;
      fail_said = false;
      fds_lost = 0;
      return 0;
    }
    if (errno != EEXIST) return -errno;
  }
  return -EEXIST;
}

bool ls_writer_ok(void) { return report_fd >= 0; }
const char *ls_writer_path(void) { return report_path; }
int ls_writer_fd(void) { return report_fd; }
uint64_t ls_writer_records(void) { return __atomic_load_n(&records, __ATOMIC_RELAXED); }
unsigned ls_writer_seq(void) { return report_seq; }
bool ls_is_report_fd(int fd) { return fd >= 0 && fd == __atomic_load_n(&report_fd, __ATOMIC_RELAXED); }

static void lock_taken(void) {
  write_owner = ls_gettid();
  verified = false;
}

void ls_writer_lock(void) {
  pthread_mutex_lock(&write_mu);
  lock_taken();
}
void ls_writer_unlock(void) {
  write_owner = 0;
  pthread_mutex_unlock(&write_mu);
}
bool ls_writer_trylock(void) {
  if (pthread_mutex_trylock(&write_mu) != 0) return false;
  lock_taken();
  return true;
}
bool ls_writer_held_by_me(void) { return LS_RELAXED_LOAD(&write_owner) == ls_gettid(); }
void ls_writer_reinit_lock(void) {
  pthread_mutex_init(&write_mu, NULL);
  write_owner = 0;
}
void ls_writer_seal(bool on) { sealed = on; }

static void say(const char *a, const char *b, const char *c) {
  char line[LS_PATH_MAX + 512] = "loopscope: ";
  size_t n = strlen(line);
  n += ls_join(line + n, sizeof(line) - n - 1, a, b, c);
  line[n++] = '\n';
  ls_log_line(line, n);
}

static int write_all(const char *p, size_t left) {
  while (left) {
    ssize_t w = syscall(SYS_write, report_fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -errno;
    if (w == 0) return -ENOSPC;
    p += w;
    left -= (size_t)w;
    file_size += (uint64_t)w;
  }
  return 0;
}

/* Writes one whole line or nothing: a partial line is cut off again. */
static int append(const char *p, size_t len) {
  if (file_size + len > size_limit) return -EFBIG;
  uint64_t before = file_size;
  int rc = write_all(p, len);
  if (rc < 0 && file_size != before && syscall(SYS_ftruncate, report_fd, (off_t)before) == 0) file_size = before;
  return rc;
}

/* The program took our number over behind the hooks' back: reopen the file we created, by its path. */
static void reopen(int gone) {
  char num[24], why[160];
  num[ls_fmt_u(num, (uint64_t)gone)] = '\0';
  fds_lost++;
  int fd = (int)syscall(SYS_openat, AT_FDCWD, report_path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  int err = fd < 0 ? errno : fstat(fd, &st) != 0 ? errno : (st.st_dev != report_dev || st.st_ino != report_ino) ? ESTALE : 0;
  if (err == 0) {
    __atomic_store_n(&report_fd, move_high(fd), __ATOMIC_RELAXED);
    return;
  }
  if (fd >= 0) syscall(SYS_close, fd);
  ls_join(why, sizeof(why), ") and the report cannot be reopened (", err == ESTALE ? "it was replaced" : strerrordesc_np(err),
          "): nothing more is recorded for this process");
  say("the program closed the report's file descriptor (", num, why);
}

/* Once per hold of the lock: is report_fd still our file, how long is it, may it grow? */
static bool verify(void) {
  struct stat st;
  int fd = report_fd;
  bool gone = syscall(SYS_fstat, fd, &st) != 0 || st.st_dev != report_dev || st.st_ino != report_ino;
  if (gone) {
    __atomic_store_n(&report_fd, -1, __ATOMIC_RELAXED); /* not closed: the number is the program's */
    reopen(fd);
    if (report_fd < 0 || syscall(SYS_fstat, report_fd, &st) != 0) return false;
  }
  struct rlimit rl;
  file_size = (uint64_t)st.st_size;
  size_limit = getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : UINT64_MAX;
  verified = true;
  if (gone) {
    char buf[128];
    struct ls_rec r;
    ls_rec_begin(&r, buf, sizeof(buf), 'I');
    ls_rec_s(&r, "what", "fd-lost");
    ls_rec_u(&r, "fd", (uint64_t)fd);
    ls_rec_u(&r, "count", fds_lost);
    ls_write_locked(&r);
  }
  return true;
}

/* The first failed write: said once; the file keeps the whole records before it. strerrordesc_np, not
 * strerror: a static string, no locale, fine in the crash handler. */
static void failed(int err) {
  if (fail_errno) return;
  fail_errno = err;
  fail_at = file_size;
  if (fail_said) return;
  fail_said = true;
  char why[160];
  ls_join(why, sizeof(why), ": ", strerrordesc_np(err), "; the rest of the report is lost (the program runs on)");
  say("cannot write the report ", report_path, why);
}

/* One whole line (or more) into the report, or nothing. */
static int write_line(const char *p, size_t len) {
  if (report_fd < 0) return -EBADF;
  if (sealed) return -EPIPE; /* after the trailer: libraries' destructors still join threads */
  int saved = errno;
  int rc = verified || verify() ? 0 : -EBADF;
  if (rc == 0 && fail_errno) rc = -EIO;
  else if (rc == 0 && (rc = append(p, len)) < 0) failed(-rc);
  if (rc == 0) __atomic_fetch_add(&records, 1, __ATOMIC_RELAXED); /* read unlocked: ls_finish's waiters */
  else if (rc != -EBADF) lost++;
  errno = saved;
  return rc;
}

int ls_write_locked(struct ls_rec *r) {
  long len = ls_rec_end(r);
  return len < 0 ? (int)len : write_line(r->buf, (size_t)len);
}

int ls_write_header_locked(void) {
  static const char hdr[] = LS_REPORT_MAGIC " 1\n";
  int rc = write_line(hdr, sizeof(hdr) - 1);
  if (rc == 0) __atomic_fetch_sub(&records, 1, __ATOMIC_RELAXED); /* the header is not a record */
  return rc;
}

/* At the end, once: where writing failed and how much was lost, if there is room for it now. */
void ls_writer_note_failure(void) {
  if (!fail_errno || report_fd < 0 || sealed || (!verified && !verify())) return;
  char buf[160];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'I');
  ls_rec_s(&r, "what", "write-failed");
  ls_rec_i(&r, "error", fail_errno);
  ls_rec_u(&r, "at", fail_at);
  ls_rec_u(&r, "lost", lost);
  long len = ls_rec_end(&r);
  if (len < 0 || append(r.buf, (size_t)len) < 0) return;
  __atomic_fetch_add(&records, 1, __ATOMIC_RELAXED);
  fail_errno = 0; /* the ending after it may be written too */
}

int ls_write(struct ls_rec *r) {
  ls_writer_lock();
  int rc = ls_write_locked(r);
  ls_writer_unlock();
  return rc;
}

/* The program dup2()s onto our fd: ours moves first, under the lock so no write goes to the number
 * the program is about to take (unless this thread holds it: a signal handler's dup2 mid-write). */
void ls_writer_evacuate(int fd) {
  if (!ls_is_report_fd(fd)) return;
  bool lock = !ls_writer_held_by_me();
  if (lock) ls_writer_lock();
  int hi = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
  if (hi >= 0) __atomic_store_n(&report_fd, hi, __ATOMIC_RELAXED); /* else the next write finds it gone */
  verified = false;
  if (lock) ls_writer_unlock();
}

void ls_writer_close(void) {
  if (report_fd >= 0) syscall(SYS_close, report_fd);
  report_fd = -1;
}

void ls_fd_evacuate(int fd) {
  ls_writer_evacuate(fd);
  ls_control_evacuate(fd);
}
