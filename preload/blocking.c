/* blocking-call, the calls that block by nature: made on a loop thread inside a callback, they stop
 * the loop for as long as they take (asyncio's "Running blocking code", BlockHound's "Blocking
 * call!"). Every hook comes from one table; a predicate per call says when it blocks (waitpid
 * without WNOHANG, getaddrinfo of a name that is not a numeric address, msync with MS_SYNC...).
 *
 * Off a loop thread a hook is the real call behind two TLS loads and a branch (ls_tls.loop is set by
 * the adapters only while the thread is inside its loop's run call; ls_tls.gloop once the thread is a
 * generic loop's, whose every moment outside its poll is inside an iteration). On a loop thread the call is
 * reported when the program made it: not the shim (ls_tls.guard), not the loop library doing its own
 * work (libuv reaps children with waitpid inside uv_run). One finding per (call, caller), counted,
 * with the longest and the total time blocked; its stack is unwound once.
 *
 * pthread_join is hooked in threads.c (one definition per symbol); its hook calls
 * ls_blocking_begin/ls_blocking_end from shim.h. The "sometimes blocking" calls (read/write on a
 * blocking fd, contended locks) are another detector's. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <libunwind.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h> /* FILE, for popen and pclose */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define CALLER __builtin_return_address(0)

/* ---- when a call blocks ---- */

/* A host name is looked up (files, DNS: it may wait on the network) unless it is a numeric address,
 * which getaddrinfo and gethostbyname parse without any lookup. inet_aton takes every IPv4 form they
 * take ("127.1", "0x7f.1"); an IPv6 address may carry a "%scope". */
static bool names_a_host(const char *node) {
  if (!node) return false;
  int saved = errno;
  struct in_addr a4;
  struct in6_addr a6;
  char buf[INET6_ADDRSTRLEN + 1];
  const char *pct = strchr(node, '%');
  size_t n = pct ? (size_t)(pct - node) : strlen(node);
  bool numeric = inet_aton(node, &a4) != 0;
  if (!numeric && n < sizeof(buf)) {
    memcpy(buf, node, n);
    buf[n] = '\0';
    numeric = inet_pton(AF_INET6, buf, &a6) == 1;
  }
  errno = saved;
  return !numeric;
}

static bool gai_blocks(const char *node, const struct addrinfo *hints) {
  if (hints && (hints->ai_flags & AI_NUMERICHOST)) return false;
  return names_a_host(node);
}

bool ls_gai_blocks(const char *node, const struct addrinfo *hints) { return gai_blocks(node, hints); }

/* ---- the table ---- */

/* What a hook returns when its real function cannot be found (a NULL real is never called). */
#define FAIL_ERRNO_NULL (errno = ENOSYS, NULL)
#define FAIL_R(result) (*(result) = NULL, ENOSYS)

/* X(ret, name, params, args, blocks, fail, shape): blocks is an expression over the parameters;
 * shape VAL returns what the real call returned, VOID returns nothing, WAIT is VAL for a wait the stall
 * signal must not cut short (its row in SLEEP_WAITS below). */
#define BLOCKING_CALLS(X)                                                                                    \
  X(unsigned, sleep, (unsigned s), (s), true, s, WAIT)                                                        \
  X(int, usleep, (useconds_t us), (us), true, ls_enosys(), WAIT)                                              \
  X(int, nanosleep, (const struct timespec *req, struct timespec *rem), (req, rem), true, ls_enosys(), WAIT)  \
  X(int, clock_nanosleep, (clockid_t c, int flags, const struct timespec *req, struct timespec *rem),        \
    (c, flags, req, rem), true, ENOSYS, WAIT)                                                                 \
  X(int, fsync, (int fd), (fd), true, ls_enosys(), VAL)                                                      \
  X(int, fdatasync, (int fd), (fd), true, ls_enosys(), VAL)                                                  \
  X(void, sync, (), (), true, , VOID)                                                                    \
  X(int, syncfs, (int fd), (fd), true, ls_enosys(), VAL)                                                     \
  X(int, msync, (void *addr, size_t len, int flags), (addr, len, flags), (flags & MS_SYNC) != 0,            \
    ls_enosys(), VAL)                                                                                        \
  X(int, getaddrinfo,                                                                                        \
    (const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res),           \
    (node, service, hints, res), gai_blocks(node, hints), (errno = ENOSYS, EAI_SYSTEM), VAL)                 \
  X(struct hostent *, gethostbyname, (const char *name), (name), names_a_host(name),                         \
    (h_errno = NO_RECOVERY, NULL), VAL)                                                                      \
  X(struct hostent *, gethostbyname2, (const char *name, int af), (name, af), names_a_host(name),            \
    (h_errno = NO_RECOVERY, NULL), VAL)                                                                      \
  X(int, gethostbyname_r,                                                                                    \
    (const char *name, struct hostent *ret, char *buf, size_t len, struct hostent **result, int *herr),      \
    (name, ret, buf, len, result, herr), names_a_host(name), FAIL_R(result), VAL)                            \
  X(int, gethostbyname2_r,                                                                                   \
    (const char *name, int af, struct hostent *ret, char *buf, size_t len, struct hostent **result,          \
     int *herr),                                                                                             \
    (name, af, ret, buf, len, result, herr), names_a_host(name), FAIL_R(result), VAL)                        \
  X(struct passwd *, getpwnam, (const char *name), (name), true, FAIL_ERRNO_NULL, VAL)                       \
  X(struct passwd *, getpwuid, (uid_t uid), (uid), true, FAIL_ERRNO_NULL, VAL)                               \
  X(int, getpwnam_r,                                                                                         \
    (const char *name, struct passwd *pw, char *buf, size_t len, struct passwd **result),                    \
    (name, pw, buf, len, result), true, FAIL_R(result), VAL)                                                 \
  X(int, getpwuid_r, (uid_t uid, struct passwd *pw, char *buf, size_t len, struct passwd **result),          \
    (uid, pw, buf, len, result), true, FAIL_R(result), VAL)                                                  \
  X(struct group *, getgrnam, (const char *name), (name), true, FAIL_ERRNO_NULL, VAL)                        \
  X(struct group *, getgrgid, (gid_t gid), (gid), true, FAIL_ERRNO_NULL, VAL)                                \
  X(pid_t, wait, (int *status), (status), true, ls_enosys(), VAL)                                            \
  X(pid_t, waitpid, (pid_t pid, int *status, int options), (pid, status, options),                          \
    (options & WNOHANG) == 0, ls_enosys(), VAL)                                                              \
  X(int, waitid, (idtype_t type, id_t id, siginfo_t *info, int options), (type, id, info, options),         \
    (options & WNOHANG) == 0, ls_enosys(), VAL)                                                              \
  X(int, system, (const char *command), (command), true, ls_enosys(), VAL)                                   \
  X(FILE *, popen, (const char *command, const char *mode), (command, mode), true, FAIL_ERRNO_NULL, VAL)     \
  X(int, pclose, (FILE * stream), (stream), true, ls_enosys(), VAL)

/* ---- who made the call ---- */

/* The loop library (LS_LIB_*) an adapter's loop belongs to, by the name its ls_loop carries; -1 for a
 * generic loop (poll.c). */
static int loop_library(const struct ls_loop *l) {
  static const char *const names[LS_LIB_N] = {[LS_LIB_UV] = "libuv", [LS_LIB_EV] = "libevent", [LS_LIB_GLIB] = "glib"};
  for (int i = 0; i < LS_LIB_N; i++)
    if (strcmp(l->lib, names[i]) == 0) return i;
  return -1;
}

#define WALK_DEPTH 48

/* A blocking function of the library the program called (uv_sleep, g_usleep) made the call: the
 * program's frame is the first one out of the library (and out of the shim), following the stack;
 * NULL when none is found. */
static __attribute__((noinline)) const void *program_frame_above_library(enum ls_lib lib) {
  void *raw[WALK_DEPTH];
  int got = unw_backtrace(raw, WALK_DEPTH);
  for (int i = 0; i < got && raw[i]; i++)
    if (!ls_is_shim_code(raw[i]) && !ls_lib_code(lib, raw[i])) return raw[i];
  return NULL;
}

/* The address that keys the finding when the program made this call (on a loop thread, in a
 * callback), else NULL: the call is passed through untimed. Whether the loop library made it for its
 * own work (reaping children inside uv_run, the fsync of a synchronous uv_fs_fsync the adapter
 * already reports) is the one answer every adapter asks (own.c); a program's callback that ends in a
 * tail call to sleep() is the program's, though its return address is the shim's trampoline. */
static __attribute__((noinline)) const void *programs_call(const void *caller) {
  struct ls_loop *l = ls_tls.loop ? ls_tls.loop : ls_tls.gloop;
  if (!l || ls_tls.guard || !ls_active) return NULL;
  int lib = loop_library(l);
  if (lib < 0) return ls_is_shim_code(caller) ? NULL : caller;
  int saved = errno; /* the address lookups may touch errno; the program must not see it */
  const void *key = NULL;
  if (ls_programs_call((enum ls_lib)lib, caller)) {
    key = caller;
    if (ls_lib_code((enum ls_lib)lib, caller)) {
      ls_tls.guard++;
      const void *above = program_frame_above_library((enum ls_lib)lib);
      ls_tls.guard--;
      if (above) key = above;
    }
  }
  errno = saved;
  return key;
}

/* ---- what the watchdog sees ---- */

/* The loop thread is about to sleep in `call`: publish it with the stack at entry, so a stall sampled
 * meanwhile is attributed to this call (the thread is never signalled out of it). Returns the loop to
 * unpublish from, or NULL. */
static __attribute__((noinline)) struct ls_loop *publish_blocked(const char *call) {
  struct ls_loop *l = ls_tls.loop ? ls_tls.loop : ls_tls.gloop;
  if (!l) return NULL;
  void *raw[24];
  ls_tls.guard++;
  int got = unw_backtrace(raw, 24), i = 0;
  ls_tls.guard--;
  while (i < got && ls_is_shim_code(raw[i])) i++;
  uint32_t seq = LS_RELAXED_LOAD(&l->blk_seq);
  __atomic_store_n(&l->blk_seq, seq + 1, __ATOMIC_RELEASE);
  uint32_t n = 0;
  for (; i < got && raw[i] && n < 16; i++) LS_RELAXED_STORE(&l->blk_ips[n++], raw[i]);
  LS_RELAXED_STORE(&l->blk_n, n);
  LS_RELAXED_STORE(&l->blk_call, n ? call : NULL);
  __atomic_store_n(&l->blk_seq, seq + 2, __ATOMIC_RELEASE);
  return l;
}

static inline void unpublish_blocked(struct ls_loop *l) {
  if (l) __atomic_store_n(&l->blk_call, NULL, __ATOMIC_RELEASE);
}

/* ---- the finding ---- */

const void *ls_blocking_key(const void *caller) { return programs_call(caller); }

/* allow_blocking=FUNC[,FUNC]: the running process knows the dynamic symbol table only (dladdr); the
 * report applies the list again with full symbols (a static function is silenced there). */
static bool allowed(const void *key) {
  if (!ls_opt.allow_blocking[0]) return false;
  Dl_info di;
  if (!dladdr(key, &di) || !di.dli_sname) return false;
  char pat[256];
  for (const char *p = ls_opt.allow_blocking; *p;) {
    size_t n = strcspn(p, ",");
    if (n && n < sizeof(pat)) {
      memcpy(pat, p, n);
      pat[n] = '\0';
      if (fnmatch(pat, di.dli_sname, 0) == 0) return true;
    }
    p += n;
    if (*p) p++;
  }
  return false;
}

static void report_now(const char *call, const void *key, uint64_t ns, uint32_t stack) {
  char msg[128];
  ls_join(msg, sizeof(msg), "Blocking call ", call, "() made on the loop thread");
  struct ls_finding_info fi = {.call = call, .stack = stack, .capture = stack == 0, .duration_ns = ns, .message = msg};
  ls_finding_keyed(LS_F_BLOCKING_CALL, (uintptr_t)call, (uintptr_t)key, &fi);
}

/* On a generic loop an iteration runs from a poll's return to the next poll: a call is inside one only
 * once the thread polls again. One made after the last poll is the program shutting down (joining its
 * workers after its loop ended, as Node.js does), not a blocked loop. So the report waits for the next
 * poll (ls_blocking_flush, from the poll hooks), with the stack taken now; a thread that never polls
 * again drops it. */
void ls_blocking_report(const char *call, const void *key, uint64_t ns) {
  if (allowed(key)) return;
  if (ls_tls.loop || !ls_tls.gloop) {
    report_now(call, key, ns, 0);
    return;
  }
  if (ls_tls.nblk_pending == LS_BLK_PENDING) ls_blocking_flush(); /* full: this iteration is long enough */
  /* The stack is unwound only for a finding not made yet: a loop that sleeps every iteration from one
   * line pays the unwind once, not every time. */
  uint32_t stack = 0;
  if (!ls_finding_known(LS_F_BLOCKING_CALL, (uintptr_t)call, (uintptr_t)key)) {
    ls_tls.guard++;
    stack = ls_stack_capture();
    ls_tls.guard--;
  }
  struct ls_blk_pending *p = &ls_tls.blk_pending[ls_tls.nblk_pending++];
  p->call = call;
  p->key = key;
  p->ns = ns;
  p->stack = stack;
}

void ls_blocking_flush(void) {
  int saved = errno;
  uint32_t n = ls_tls.nblk_pending;
  ls_tls.nblk_pending = 0;
  for (uint32_t i = 0; i < n; i++) {
    const struct ls_blk_pending *p = &ls_tls.blk_pending[i];
    report_now(p->call, p->key, p->ns, p->stack);
  }
  errno = saved;
}


const void *ls_blocking_begin_slow(const char *call, const void *caller, uint64_t *t0) {
  const void *key = programs_call(caller);
  if (key) {
    int saved = errno;
    publish_blocked(call);
    errno = saved;
    *t0 = ls_now();
  }
  return key;
}

void ls_blocking_end(const char *call, const void *key, uint64_t t0, uint64_t min_ns) {
  int saved = errno;
  unpublish_blocked(ls_tls.loop ? ls_tls.loop : ls_tls.gloop);
  uint64_t ns = ls_ticks_to_ns(ls_now() - t0);
  if (ns >= min_ns) ls_blocking_report(call, key, ns);
  errno = saved;
}

/* ---- the hooks ---- */

/* Each hook is the real call behind the loop check, nothing else, so it compiles to two loads, a
 * branch and a tail jump; on a loop thread it goes on in name##_on_loop, which gets the real function
 * and the caller in front of the call's own parameters (sync's params are () for that: GNU's
 * ", ##__VA_ARGS__" drops the comma before an empty list, not before "void"). */
/* X(ret, name, params, args, first, eintr, again): the sleep family, marked as waits (nointr.c):
 * first is the call, eintr says it was cut short by a signal, again sleeps what is left. nanosleep and
 * a relative clock_nanosleep sleep what the kernel left in rem (exact on any clock), in one of ours
 * when the program gave none; sleep and usleep what is left by our clock. */
#define SLEEP_WAITS(X)                                                                                       \
  X(unsigned, sleep, (unsigned s), (s), real_(s), r_ != 0, sleep_rest(&w_, s))                              \
  X(int, usleep, (useconds_t us), (us), real_(us), r_ < 0 && errno == EINTR, real_(ls_wait_left_us(&w_, us)))  \
  X(int, nanosleep, (const struct timespec *req, struct timespec *rem), (req, rem),                         \
    real_(req, rem_ = rem ? rem : &own_), r_ < 0 && errno == EINTR, real_((left_ = *rem_, &left_), rem_))     \
  X(int, clock_nanosleep, (clockid_t c, int flags, const struct timespec *req, struct timespec *rem),        \
    (c, flags, req, rem), real_(c, flags, req, rem_ = rem ? rem : &own_), r_ == EINTR,                       \
    real_(c, flags, (flags & TIMER_ABSTIME) ? req : (left_ = *rem_, &left_), rem_))

#define NOINTR_PARAMS(...) (void *real_v_, ##__VA_ARGS__)
#define NOINTR_ARGS(...) ((void *)real_, ##__VA_ARGS__)
#define DECL_NOINTR(ret, name, params, args, first, eintr, again) \
  static __attribute__((noinline)) ret name##_nointr NOINTR_PARAMS params;
SLEEP_WAITS(DECL_NOINTR)

#define ON_LOOP_PARAMS(...) (void *real_v_, const void *caller_, ##__VA_ARGS__)
#define ON_LOOP_ARGS(...) ((void *)real_, CALLER, ##__VA_ARGS__)
#define INVOKE_VAL(call) __typeof__(call) r_ = call
#define INVOKE_VOID(call) call
#define INVOKE_WAIT INVOKE_VAL
#define RETURN_VAL return r_
#define RETURN_VOID return
#define RETURN_WAIT RETURN_VAL
#define PASS_VAL(call) return call
#define PASS_VOID(call) \
  do {                  \
    call;               \
    return;             \
  } while (0)
#define PASS_WAIT PASS_VAL
/* The real call; a wait once the stall signal is armed goes through name##_nointr. */
#define CALL_VAL(name, args) real_ args
#define CALL_VOID CALL_VAL
#define CALL_WAIT(name, args) (LS_LIKELY(!LS_RELAXED_LOAD(&ls_nointr_sig)) ? real_ args : name##_nointr NOINTR_ARGS args)

#define GEN_HOOK(ret, name, params, args, blocks, fail, shape)                                               \
  LS_REAL_SLOT(name);                                                                                        \
  static __attribute__((noinline)) ret name##_on_loop ON_LOOP_PARAMS params {                                \
    __typeof__(&name) real_ = (__typeof__(&name))real_v_;                                                    \
    const void *key_;                                                                                        \
    if (!(blocks) || !(key_ = programs_call(caller_))) PASS_##shape(CALL_##shape(name, args));               \
    int saved_ = errno;                                                                                      \
    publish_blocked(#name);                                                                                  \
    errno = saved_;                                                                                          \
    uint64_t t0_ = ls_now();                                                                                 \
    INVOKE_##shape(CALL_##shape(name, args));                                                                \
    ls_blocking_end(#name, key_, t0_, 0);                                                                       \
    RETURN_##shape;                                                                                          \
  }                                                                                                          \
  LS_EXPORT ret name params {                                                                                \
    __typeof__(&name) real_ = LS_REAL_FN(name, NULL);                                                        \
    if (LS_UNLIKELY(!real_)) return fail;                                                                    \
    if (LS_LIKELY(!ls_on_loop_thread())) PASS_##shape(CALL_##shape(name, args));                             \
    PASS_##shape(name##_on_loop ON_LOOP_ARGS args);                                                          \
  }
BLOCKING_CALLS(GEN_HOOK)

/* sleep(s) cut short by the stall signal sleeps the rest with nanosleep (sleep itself counts whole
 * seconds); returns what sleep would: 0, or the seconds left, rounded up, when a signal cut it. */
static unsigned sleep_rest(const struct ls_wait *w, unsigned s) {
  struct timespec total = {(time_t)s, 0}, buf, rem;
  if (LS_REAL_FN(nanosleep, NULL)(ls_wait_left_ts(w, &total, &buf), &rem) == 0) return 0;
  return (unsigned)rem.tv_sec + (rem.tv_nsec > 0);
}

#define GEN_NOINTR(ret, name, params, args, first, eintr, again)                                             \
  static ret name##_nointr NOINTR_PARAMS params {                                                            \
    __typeof__(&name) real_ = (__typeof__(&name))real_v_;                                                    \
    __attribute__((unused)) struct timespec own_, left_, *rem_;                                              \
    ret r_;                                                                                                  \
    LS_NOINTR(r_, name, first, eintr, NULL, again);                                                          \
    return r_;                                                                                               \
  }
SLEEP_WAITS(GEN_NOINTR)
