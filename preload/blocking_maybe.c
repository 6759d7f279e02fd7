/* blocking-call, the calls that block only sometimes: I/O on a socket, pipe or
 * terminal without O_NONBLOCK, and lock waits. Made by the program on a loop thread, they are reported
 * when they actually blocked: an I/O call that slept at least blocking_min_ms, a lock or semaphore that
 * was contended and waited at least lock_wait_ms, a condition variable waited on that long. A quick
 * write to stderr is not a finding; a read on a blocking pipe that waited for its writer is.
 *
 * "Slept" is the kernel's word, not the clock's: a thread preempted on a busy machine in the middle of a
 * quick write took as long as one that waited for the pipe. For an fd known to be in blocking mode the
 * hook reads the thread's voluntary context switches around the call (getrusage, RUSAGE_THREAD) and
 * reports only a call that slept. Which fds are which is remembered per fd number as a hint (learnt at
 * first sight with fcntl and fstat, forgotten by close) and checked again after every slow call, so a
 * stale hint can skip one report but never make a false one.
 *
 * Regular files (and block devices) are not findings: every loop reads files, and a read from the page
 * cache does not sleep. Their calls on a loop thread are counted per loop with the time they took, and
 * shown beside the loop's statistics.
 *
 * Locks: the hook first tries the lock (pthread_mutex_trylock...). Uncontended, that is the whole call
 * and nothing is timed; contended, the real call waits and is timed. glibc's trylock and lock agree on
 * every mutex kind (errorcheck: EBUSY then EDEADLK from the real lock; robust: EOWNERDEAD either way).
 * GLib's GMutex waits on futex directly and is out of reach.
 *
 * Off a loop thread every hook is the real call behind two TLS loads and a branch. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

#define CALLER __builtin_return_address(0)
#define EXPAND(...) __VA_ARGS__

/* ---- what an fd is ---- */

enum fd_class { FD_UNKNOWN = 0, FD_NONBLOCK, FD_FILE, FD_BLOCKING_STREAM, FD_OTHER };
#define FD_HINTS 65536
static uint8_t fd_hint[FD_HINTS];

static enum fd_class classify_fd(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return FD_OTHER;
  struct stat st;
  if (fstat(fd, &st) != 0) return FD_OTHER;
  if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) return FD_FILE;
  if (fl & O_NONBLOCK) return FD_NONBLOCK;
  if (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) return FD_BLOCKING_STREAM;
  return FD_OTHER;
}

static enum fd_class fd_class_hint(int fd) {
  if (fd < 0 || fd >= FD_HINTS) return FD_UNKNOWN;
  enum fd_class c = LS_RELAXED_LOAD(&fd_hint[fd]);
  if (c == FD_UNKNOWN) {
    int saved = errno;
    c = classify_fd(fd);
    errno = saved;
    LS_RELAXED_STORE(&fd_hint[fd], (uint8_t)c);
  }
  return c;
}

void ls_fd_forget(int fd) {
  if (fd >= 0 && fd < FD_HINTS) LS_RELAXED_STORE(&fd_hint[fd], FD_UNKNOWN);
}

void ls_fd_forget_range(unsigned lo, unsigned hi) {
  for (unsigned fd = lo; fd <= hi && fd < FD_HINTS; fd++) LS_RELAXED_STORE(&fd_hint[fd], FD_UNKNOWN);
}

static long voluntary_switches(void) {
  struct rusage ru;
  return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : -1;
}

/* ---- I/O ---- */

static uint64_t io_min_ns(void) { return ls_opt.blocking_min_ms * 1000000u; }

/* A slow call on fd (hint c before it, nvcsw0 the thread's voluntary switches then, or -1). */
static __attribute__((noinline)) void io_after(const char *call, int fd, enum fd_class c, long nvcsw0,
                                               const void *caller, uint64_t ns) {
  int saved = errno;
  enum fd_class now = classify_fd(fd);
  if (fd >= 0 && fd < FD_HINTS) LS_RELAXED_STORE(&fd_hint[fd], (uint8_t)now);
  if (now == FD_BLOCKING_STREAM && c == FD_BLOCKING_STREAM && nvcsw0 >= 0 && ns >= io_min_ns()) {
    long nvcsw1 = voluntary_switches();
    const void *key;
    if (nvcsw1 > nvcsw0 && (key = ls_blocking_key(caller)) != NULL) ls_blocking_report(call, key, ns);
  }
  errno = saved;
}

static inline void count_file_io(uint64_t ns) {
  struct ls_loop *l = ls_tls.loop ? ls_tls.loop : ls_tls.gloop;
  if (l) {
    LS_RELAXED_STORE(&l->file_io, l->file_io + 1);
    LS_RELAXED_STORE(&l->file_io_ns, l->file_io_ns + ns);
  }
}

/* X(ret, name, params, args, fd, fail) */
#define IO_CALLS(X)                                                                                          \
  X(ssize_t, read, (int fd, void *buf, size_t n), (fd, buf, n), fd, ls_enosys())                             \
  X(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n), fd, ls_enosys())                      \
  X(ssize_t, readv, (int fd, const struct iovec *iov, int n), (fd, iov, n), fd, ls_enosys())                 \
  X(ssize_t, writev, (int fd, const struct iovec *iov, int n), (fd, iov, n), fd, ls_enosys())                \
  X(ssize_t, pread, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), fd, ls_enosys())            \
  X(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off), fd, ls_enosys())     \
  X(ssize_t, pread64, (int fd, void *buf, size_t n, off64_t off), (fd, buf, n, off), fd, ls_enosys())        \
  X(ssize_t, pwrite64, (int fd, const void *buf, size_t n, off64_t off), (fd, buf, n, off), fd, ls_enosys()) \
  X(ssize_t, recv, (int fd, void *buf, size_t n, int fl), (fd, buf, n, fl), fd, ls_enosys())                 \
  X(ssize_t, recvfrom, (int fd, void *buf, size_t n, int fl, struct sockaddr *a, socklen_t *al),             \
    (fd, buf, n, fl, a, al), fd, ls_enosys())                                                                \
  X(ssize_t, recvmsg, (int fd, struct msghdr *m, int fl), (fd, m, fl), fd, ls_enosys())                      \
  X(ssize_t, send, (int fd, const void *buf, size_t n, int fl), (fd, buf, n, fl), fd, ls_enosys())           \
  X(ssize_t, sendto, (int fd, const void *buf, size_t n, int fl, const struct sockaddr *a, socklen_t al),    \
    (fd, buf, n, fl, a, al), fd, ls_enosys())                                                                \
  X(ssize_t, sendmsg, (int fd, const struct msghdr *m, int fl), (fd, m, fl), fd, ls_enosys())                \
  X(int, accept, (int fd, struct sockaddr *a, socklen_t *al), (fd, a, al), fd, ls_enosys())                  \
  X(int, accept4, (int fd, struct sockaddr *a, socklen_t *al, int fl), (fd, a, al, fl), fd, ls_enosys())     \
  X(int, connect, (int fd, const struct sockaddr *a, socklen_t al), (fd, a, al), fd, ls_enosys())

/* On a loop thread: time the call; only a slow one is looked at again. */
#define GEN_IO(ret, name, params, args, fdexpr, fail)                                                        \
  LS_REAL_SLOT(name);                                                                                        \
  static __attribute__((noinline)) ret name##_on_loop(__typeof__(&name) real_, const void *caller_,         \
                                                      EXPAND params) {                                    \
    if (ls_tls.guard || !ls_active) return real_ args;                                                       \
    enum fd_class c_ = fd_class_hint(fdexpr);                                                                \
    long nv_ = -1;                                                                                           \
    if (c_ == FD_BLOCKING_STREAM) {                                                                          \
      int saved_ = errno;                                                                                    \
      nv_ = voluntary_switches();                                                                            \
      errno = saved_;                                                                                        \
    }                                                                                                        \
    uint64_t t0_ = ls_now();                                                                                 \
    ret r_ = real_ args;                                                                                     \
    uint64_t ns_ = ls_ticks_to_ns(ls_now() - t0_);                                                           \
    if (c_ == FD_FILE) count_file_io(ns_);                                                                   \
    if (LS_UNLIKELY(ns_ >= io_min_ns()) && c_ != FD_NONBLOCK)                                                \
      io_after(#name, fdexpr, c_, nv_, caller_, ns_);                                                        \
    return r_;                                                                                               \
  }                                                                                                          \
  LS_EXPORT ret name params {                                                                                \
    __typeof__(&name) real_ = LS_REAL_FN(name, NULL);                                                        \
    if (LS_UNLIKELY(!real_)) return fail;                                                                    \
    if (LS_LIKELY(!ls_on_loop_thread())) return real_ args;                                                  \
    return name##_on_loop(real_, CALLER, EXPAND args);                                                    \
  }
IO_CALLS(GEN_IO)

/* ---- locks ---- */

static uint64_t lock_min_ns(void) { return ls_opt.lock_wait_ms * 1000000u; }

static __attribute__((noinline)) void waited(const char *call, const void *caller, uint64_t ns) {
  int saved = errno;
  const void *key = ls_blocking_key(caller);
  if (key) ls_blocking_report(call, key, ns);
  errno = saved;
}

/* X(name, params, args, try_call, busy): try_call is the non-waiting form, busy says it found the lock
 * contended (a condition variable always waits: try_call 0, busy true). */
#define LOCK_CALLS(X)                                                                                        \
  X(pthread_mutex_lock, (pthread_mutex_t * m), (m), pthread_mutex_trylock(m), r_ == EBUSY)                   \
  X(pthread_rwlock_rdlock, (pthread_rwlock_t * l), (l), pthread_rwlock_tryrdlock(l), r_ == EBUSY)            \
  X(pthread_rwlock_wrlock, (pthread_rwlock_t * l), (l), pthread_rwlock_trywrlock(l), r_ == EBUSY)            \
  X(sem_wait, (sem_t * s), (s), sem_trywait(s), r_ != 0 && errno == EAGAIN)                                 \
  X(sem_timedwait, (sem_t * s, const struct timespec *t), (s, t), sem_trywait(s), r_ != 0 && errno == EAGAIN) \
  X(pthread_cond_wait, (pthread_cond_t * c, pthread_mutex_t * m), (c, m), 0, true)                           \
  X(pthread_cond_timedwait, (pthread_cond_t * c, pthread_mutex_t * m, const struct timespec *t), (c, m, t),   \
    0, true)

#define GEN_LOCK(name, params, args, try_call, busy)                                                         \
  LS_REAL_SLOT(name);                                                                                        \
  static __attribute__((noinline)) int name##_on_loop(__typeof__(&name) real_, const void *caller_,         \
                                                      EXPAND params) {                                    \
    if (ls_tls.guard || !ls_active || ls_is_shim_code(caller_)) return real_ args;                           \
    int saved_ = errno, r_ = (try_call);                                                                     \
    if (!(busy)) return r_;                                                                                  \
    errno = saved_;                                                                                          \
    uint64_t t0_ = ls_now();                                                                                 \
    r_ = real_ args;                                                                                         \
    uint64_t ns_ = ls_ticks_to_ns(ls_now() - t0_);                                                           \
    if (LS_UNLIKELY(ns_ >= lock_min_ns())) waited(#name, caller_, ns_);                                      \
    return r_;                                                                                               \
  }                                                                                                          \
  LS_EXPORT int name params {                                                                                \
    __typeof__(&name) real_ = LS_REAL_FN(name, NULL);                                                        \
    if (LS_UNLIKELY(!real_)) return ENOSYS;                                                                  \
    if (LS_LIKELY(!ls_on_loop_thread())) return real_ args;                                                  \
    return name##_on_loop(real_, CALLER, EXPAND args);                                                    \
  }
LOCK_CALLS(GEN_LOCK)
