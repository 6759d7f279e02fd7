/* Internal interface of libloopscope.so: one header for the pieces every concern file uses.
 * Nothing here is exported: the shim builds with -fvisibility=hidden and only hooks are public. */
#ifndef LS_SHIM_H
#define LS_SHIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ls_findings.h"
#include "ls_hist.h"
#include "ls_options.h"
#include "ls_record.h"

#define LS_EXPORT __attribute__((visibility("default")))
#define LS_TLS __thread __attribute__((tls_model("initial-exec")))
#define LS_LIKELY(x) __builtin_expect(!!(x), 1)
#define LS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LS_RELAXED_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define LS_RELAXED_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* ---- core.c: process-wide state ---- */
extern struct ls_options ls_opt;
extern bool ls_active;         /* false: options bad, setuid, or report could not be opened */
extern uint64_t ls_slow_ns;    /* slow_callback_ms in ns */

/* Per-thread state. initial-exec TLS: the shim is always loaded at start-up (LD_PRELOAD). */
struct ls_thread_rec;
struct ls_tstats;
struct ls_loop;
struct ls_tls {
  int guard;                  /* > 0 while the shim itself is working: hooks pass straight through */
  uint64_t lib_depth;         /* per loop library (16 bits each, LS_LIB_*): its hooked calls this thread is
                                 inside now, counted since the program's code last ran (own.c) */
  pid_t tid;
  struct ls_tstats *stats;    /* this thread's per-site aggregates */
  struct ls_loop *loop;       /* loop this thread is running (innermost uv_run), or NULL */
  struct ls_thread_rec *rec;  /* this thread's record, or NULL for threads we did not see start */
  const void *found_addr;     /* ls_loop_find's one-entry cache (loops are never freed) */
  struct ls_loop *found_loop;
  /* Generic loops (poll.c), for a thread outside an adapter's loop: its loop once classified, else the
   * call site of its latest poll on at least one fd and how many such polls came from it in a row
   * (LS_POLL_NEVER: the site is libc's own). */
  struct ls_loop *gloop;
  const void *poll_site;
  uint32_t poll_count;
  /* Registrations seen lately: (caller, callback) -> the pooled trampoline to hand over. A pooled
   * trampoline belongs to its site for good, so a hit needs no further lookup. */
  struct ls_reg_cache {
    const void *caller, *cb, *pool; /* pool: the shape's take function (one call site, two callbacks) */
    void *tramp;
    uint32_t site;
  } reg_cache[32];
  /* blocking-call findings of a generic loop thread waiting for its next poll (blocking.c). */
#define LS_BLK_PENDING 8
  struct ls_blk_pending {
    const char *call;
    const void *key;
    uint64_t ns;
    uint32_t stack;
  } blk_pending[LS_BLK_PENDING];
  uint32_t nblk_pending;
  /* The stall sampler (watchdog.c): its signal handler unwinds into these, on this thread. */
  void *stall_ips[48];
  int stall_n;
  uintptr_t stall_pc; /* the interrupted instruction */
  /* nointr.c: inside a hooked wait (poll family, sleep family), and whether the stall signal was
   * delivered meanwhile (it may have cut the wait short). */
  bool in_wait;
  bool stall_cut;
};
extern LS_TLS struct ls_tls ls_tls;

pid_t ls_gettid(void);
uint64_t ls_realtime_ns(void);
void ls_init(void);              /* idempotent; hooks call it when they run before the constructor */
void ls_finish(const char *how, int status); /* write the final findings and the trailer, once */
void ls_note_exit_status(int status);
void ls_log_line(const char *line, size_t len); /* one whole line to stderr, errno preserved */
/* a, b and c (NULLs skipped) into out, cut to fit and NUL-terminated; returns the length. */
size_t ls_join(char *out, size_t cap, const char *a, const char *b, const char *c);
void ls_die_bad_options(const char *msg);

/* ---- resolve.c: finding the real functions ---- */
/* The real `name`: dlsym(RTLD_NEXT), else through a dlopen(soname, RTLD_NOLOAD) handle (a library
 * loaded RTLD_LOCAL by a plugin is invisible to RTLD_NEXT). Cached in *slot; NULL if not found. */
void *ls_real(void **slot, const char *name, const char *soname);
#define LS_REAL_SLOT(name) static __typeof__(name) *real_##name
#define LS_REAL_FN(name, soname)                                                                            \
  ((__typeof__(&name))(LS_LIKELY(__atomic_load_n((void **)&real_##name, __ATOMIC_ACQUIRE) != NULL)           \
                           ? (void *)real_##name                                                            \
                           : ls_real((void **)&real_##name, #name, soname)))
/* What a libc hook returns when its real function cannot be found: -1 with errno ENOSYS. */
int ls_enosys(void);
/* Do two code addresses lie in the same loaded object? (a library calling its own exports) */
bool ls_same_object(const void *a, const void *b);
/* The same, remembered per (a, b): for hooks that ask on every call. */
bool ls_same_object_cached(const void *a, const void *b);

/* ---- own.c: is this call the loop library's own? ----
 * The loop libraries call their own exports (libuv: uv_loop_init -> uv_async_init, uv__run_timers ->
 * uv_timer_stop; libevent: bufferevents -> event_assign / event_add; GIO -> g_idle_add, g_source_attach):
 * those calls are the library's, never sites or findings (DESIGN.md §4). The return address cannot tell:
 * a program function that ends in a tail call (`jmp g_main_loop_unref@plt`) returns into whoever called
 * it, often the library; a program callback the library runs calls from the program. So the shim keeps
 * the answer itself, per thread: every adapter hook raises its library's depth around the real call
 * (LS_LIB_CALL), a thread the library started runs at depth 1, and everything that runs the program's
 * code (trampolines, the program's thread routine, destroy notifies) saves the depths, zeroes them and
 * puts them back (LS_PROGRAM_RUN). A call is the library's own when it arrives at depth > 0 from the
 * library's code or from a hook of ours (a real function that tail-called another export); at depth 0
 * it is the program's. Only on a thread the shim never saw start (no record, so no depth either) is the
 * return address all that is left: there, a caller inside the library is the library. */
enum ls_lib { LS_LIB_UV, LS_LIB_EV, LS_LIB_GLIB, LS_LIB_N };
#define LS_LIB_BITS 16
#define LS_LIB_ONE(lib) ((uint64_t)1 << ((lib) * LS_LIB_BITS))
static inline unsigned ls_lib_depth(enum ls_lib lib) {
  return (unsigned)(ls_tls.lib_depth >> (lib * LS_LIB_BITS)) & ((1u << LS_LIB_BITS) - 1);
}
static inline void ls_lib_enter(enum ls_lib lib) { ls_tls.lib_depth += LS_LIB_ONE(lib); }
static inline void ls_lib_leave(enum ls_lib lib) { ls_tls.lib_depth -= LS_LIB_ONE(lib); }
/* The real call of a hook of lib, at one depth more. errno is left as the real call set it. */
#define LS_LIB_CALL(lib, call)                                                                              \
  ({                                                                                                        \
    ls_lib_enter(lib);                                                                                      \
    __typeof__(call) lib_r_ = call;                                                                         \
    ls_lib_leave(lib);                                                                                      \
    lib_r_;                                                                                                 \
  })
#define LS_LIB_CALL_VOID(lib, call)                                                                         \
  do {                                                                                                      \
    ls_lib_enter(lib);                                                                                      \
    call;                                                                                                   \
    ls_lib_leave(lib);                                                                                      \
  } while (0)
/* Run the program's code (a callback, a notify, a thread routine): no library is inside a call of its
 * own while it runs. Statements, so a callback's result can be assigned inside. */
#define LS_PROGRAM_RUN(...)                                                                                 \
  do {                                                                                                      \
    uint64_t lib_saved_ = ls_tls.lib_depth;                                                                 \
    ls_tls.lib_depth = 0;                                                                                   \
    __VA_ARGS__;                                                                                            \
    ls_tls.lib_depth = lib_saved_;                                                                          \
  } while (0)
/* Is this code address inside one of lib's own objects (libuv; libevent's core, extra, pthreads,
 * openssl; libglib, libgio, libgobject, libgmodule, libgthread)? Cached per address; errno preserved. */
bool ls_lib_code(enum ls_lib lib, const void *addr);
/* The library whose code addr lies in, or -1. Uncached (thread start-up only). */
int ls_lib_of(const void *addr);
bool ls_own_call_slow(enum ls_lib lib, const void *caller);
/* The program made this call into lib from caller (the hook's return address): the shim is on, not
 * working itself, and the call is not lib's own (above). Decide before LS_LIB_CALL raises the depth. */
static inline bool ls_programs_call(enum ls_lib lib, const void *caller) {
  if (LS_UNLIKELY(!ls_active || ls_tls.guard)) return false;
  if (LS_LIKELY(ls_lib_depth(lib) == 0 && ls_tls.rec != NULL)) return true;
  return !ls_own_call_slow(lib, caller);
}
/* The same for a call that hands lib a callback: a callback inside lib's own code is lib's, whoever
 * seems to pass it (bufferevents assign their events with libevent's callbacks; GIO attaches sources
 * with its own from entry points no hook sees). */
static inline bool ls_programs_callback(enum ls_lib lib, const void *caller, const void *cb) {
  return ls_programs_call(lib, caller) && !ls_lib_code(lib, cb);
}

/* ---- clock.c ---- */
extern bool ls_clock_tsc;
extern uint64_t ls_clock_mult; /* ns = ticks * mult >> 32 */
void ls_clock_init(void);
void ls_clock_refine(void); /* flush thread, once a long baseline exists */
uint64_t ls_clock_mono_ns(void);
static inline uint64_t ls_now(void) {
  if (LS_LIKELY(ls_clock_tsc)) return __builtin_ia32_rdtsc();
  return ls_clock_mono_ns();
}
static inline uint64_t ls_ticks_to_ns(uint64_t t) {
  /* relaxed: the flush thread refines the factor once while loop threads convert (a plain load on x86) */
  uint64_t mult = __atomic_load_n(&ls_clock_mult, __ATOMIC_RELAXED);
  return ls_clock_tsc ? (uint64_t)(((unsigned __int128)t * mult) >> 32) : t;
}

/* ---- writer.c: the report file ---- */
int ls_writer_open(const char *progname, unsigned seq_start);
bool ls_writer_ok(void);
const char *ls_writer_path(void);
/* Append one finished record (a whole line). Locks; returns -errno on failure. */
int ls_write(struct ls_rec *r);
void ls_writer_lock(void);
void ls_writer_unlock(void);
bool ls_writer_trylock(void);
void ls_writer_reinit_lock(void); /* child after fork */
/* After the trailer nothing more is written (until unsealed: an exec that failed). Writer lock held. */
void ls_writer_seal(bool on);
int ls_write_locked(struct ls_rec *r);
int ls_write_header_locked(void); /* the format line, first in the file */
/* Before the ending: if a write failed, an I record saying where and how much was lost (if it fits now). */
void ls_writer_note_failure(void);
bool ls_writer_held_by_me(void);
void ls_writer_close(void);
int ls_writer_fd(void);
/* Hooks on close/dup2/... ask this before touching fd. */
bool ls_is_report_fd(int fd);
/* Moves the report fd away when the program dup2()s onto it. */
void ls_writer_evacuate(int fd);
uint64_t ls_writer_records(void);
unsigned ls_writer_seq(void); /* the sequence number in the report's name */

/* ---- modules.c: module map ---- */
void ls_modules_write(void); /* writes M records for objects not yet written */
void ls_modules_dirty(void);
/* The name a live line gives code at addr, from what the running process can see cheaply: its dynamic
 * symbol ("on_tick"), else its object file and the offset from that object's load bias
 * ("server+0x11f9": what addr2line and objdump take, PIE or not), else the bare address. Appended to
 * out[n..cap); returns the new length. Async-signal-safe apart from dladdr's lock. */
size_t ls_live_name(char *out, size_t cap, size_t n, const void *addr);
void ls_modules_reset(void);  /* child after fork: every module is new to the new report */

/* ---- stack.c ---- */
/* Capture the calling stack (shim frames removed) and intern it; returns the stack id (0 = none). */
uint32_t ls_stack_capture(void);
/* Is this code address inside libloopscope.so (one of our trampolines, say)? */
bool ls_is_shim_code(const void *p);
void ls_self_range_init(void);
/* A copy of stack id's return addresses (at most max); 0 when unknown. Takes the writer lock. */
size_t ls_stack_ips(uint32_t id, uintptr_t *out, size_t max);
/* Intern a stack already captured (innermost first); 0 when empty. Takes the writer lock. */
uint32_t ls_stack_intern(const uintptr_t *ips, size_t n);

/* blocking.c: would getaddrinfo(node, hints) look a name up (files, DNS) rather than parse a number? */
struct addrinfo;
bool ls_gai_blocks(const char *node, const struct addrinfo *hints);

/* ---- suppress.c ---- */
int ls_suppressions_load(const char *list, char *err, size_t errlen);
/* Would a loaded suppression match this finding (by its callback or a stack frame's dynamic symbol
 * or module)? Unwinds nothing; dladdr per frame. */
bool ls_suppressed(enum ls_finding_kind k, const void *cb, uint32_t stack);
void ls_stack_rewrite_all(void); /* child after fork */

/* ---- sites.c: callback sites, per-thread aggregates, bindings ---- */
#define LS_SITE_NONE 0u
/* The site of cb registered by the program from caller (whose call it is, the adapter decided first:
 * ls_programs_call); LS_SITE_NONE when the shim is off or out of sites. */
uint32_t ls_site_get(const char *kind, const void *cb, const void *caller);
void ls_sites_flush_locked(void);
void ls_sites_rewrite_all(void); /* child after fork */
void ls_sites_reset_counts(void);

struct ls_site {
  const char *kind;
  const void *cb;
  uint32_t stack;
  void *tramp; /* the adapter's pooled trampoline for this site, once taken; (void *)1 = pool was full */
  uint32_t partner; /* a site for this one's waiting time (request latency, queue wait), or 0 */
  /* slow-callback finding, under the writer lock */
  uint32_t finding;
  uint64_t slow_count, slow_total, slow_max;
  uint64_t slow_last;  /* clock ticks when the latest slow call ended */
  uint64_t live_logged; /* clock ticks of its latest live line, 0 = none yet */
  char *samples;       /* loop-stall samples attached to this slow-callback ("0xIP:N,..."), or NULL */
  uint32_t samples_n;  /* how many samples that string sums */
  uint64_t cpu_ns;     /* CPU time of that stall */
  bool has_cpu;
  int8_t live_suppressed; /* 0 = not yet asked, 1 = no, 2 = yes */
  uint64_t flushed_count;
};
struct ls_site *ls_site_ptr(uint32_t id);
/* A site that no (callback, caller) key finds: a partner distribution of another site. */
uint32_t ls_site_new_unkeyed(const char *kind, const void *cb, uint32_t stack);
/* The stack of a creation site (a handle's *_init) keyed by (tag, caller): unwound once per key. */
uint32_t ls_creation_stack(const void *tag, const void *caller);
/* Accounting with no slow-callback check and no loop counters (pool threads, latencies). */
void ls_site_account_ns(uint32_t site, uint64_t ns);
/* The site's pooled trampoline, taking one from the pool with take() the first time; NULL when the
 * pool is exhausted (the adapter then binds by handle and uses its lookup trampoline). */
void *ls_site_tramp(uint32_t site, void *(*take)(uint32_t site, void *cb));

/* obj->(callback, site) bindings used by trampolines. slot tells apart several callbacks of one object. */
enum ls_slot { LS_SLOT_MAIN = 0, LS_SLOT_ALLOC = 1, LS_SLOT_CLOSE = 2, LS_SLOT_AFTER = 3, LS_SLOT_WORK = 4 };
void ls_bind(const void *obj, enum ls_slot slot, void *cb, uint32_t site);
bool ls_binding(const void *obj, enum ls_slot slot, void **cb, uint32_t *site);
void ls_unbind(const void *obj, enum ls_slot slot);

/* ---- loops.c ---- */
/* A loop's counters are written only by the thread running it; the flush thread reads them relaxed. */
struct ls_loop {
  uint32_t id;
  const char *lib;
  const void *addr;
  pid_t thread;  /* the thread that ran it last */
  pid_t running; /* the thread inside its run call now, 0 when none */
  bool closed;   /* its library's close call succeeded */
  bool provisional; /* a generic loop not confirmed yet (poll.c): watched, not yet written */
  int poll_fd;      /* a generic loop's epoll fd (-1: poll, select): one call site may poll several loops */
  bool thread_safe; /* its library serialises calls from any thread (a libevent base with a lock) */
  uint64_t iterations, callbacks, callback_ns, poll_ns, long_polls;
  uint64_t file_io, file_io_ns; /* regular-file reads and writes made on the loop thread, and their time */
  uint64_t preempted_stalls;    /* stalls of a thread that was runnable but hardly ran (watchdog) */
  uint64_t last_poll_exit; /* clock ticks; 0 before the first poll */
  uint64_t last_poll_enter; /* clock ticks of the latest poll entry (the watchdog's stall end) */
  bool in_poll;             /* inside a poll now (the watchdog leaves it alone) */
  /* What the watchdog may read of the thread running the loop (never through that thread's TLS, which
   * goes away with the thread; loops are never freed): the callback site running now (adapters), and
   * the hooked blocking call it is inside, with the stack taken at its entry. blk_seq is odd while
   * blk_* are being written. */
  uint32_t cur_site;
  const char *wait_call; /* the hooked wait (poll family, sleep family) the thread is in, or NULL */
  uint32_t blk_seq;
  const char *blk_call;
  uint32_t blk_n;
  void *blk_ips[16];
  /* A poll or select generic loop's latest poll (poll.c), for the hang dump: how many fds it waited on,
   * the first LS_LOOP_FDS of them and for what (POLLIN/POLLOUT/POLLPRI); wait_seq is odd while they are
   * being written. An epoll loop's set is read from /proc instead. */
#define LS_LOOP_FDS 16
  uint32_t wait_seq, nwait;
  int32_t wait_fd[LS_LOOP_FDS];
  uint16_t wait_ev[LS_LOOP_FDS];
  uint64_t lag_hist[LS_HIST_BUCKETS];
  uint64_t flushed_iterations, flushed_callbacks, flushed_preempted;
  bool flushed_closed, written;
};
/* Finds or creates; NULL only when out of memory. */
struct ls_loop *ls_loop_get(const char *lib, const void *addr);
/* Finds only: NULL for a loop never seen. Lock-free; the last answer is cached per thread. */
struct ls_loop *ls_loop_find_slow(const void *addr);
static inline struct ls_loop *ls_loop_find(const void *addr) {
  if (LS_LIKELY(ls_tls.found_addr == addr && addr)) return ls_tls.found_loop;
  return ls_loop_find_slow(addr);
}
void ls_loops_flush_locked(void);
void ls_loops_reset_counts(void);
/* Both, under the writer lock. */
void ls_flush_aggregates(void);
/* Poll accounting for the loop the calling thread runs (if any): call enter before the poll, exit after. */
uint64_t ls_poll_enter(void);
void ls_poll_exit(uint64_t t0, int timeout_ms, int nevents);
/* The same for a given loop (l may be NULL: returns 0 and accounts nothing). */
uint64_t ls_poll_enter_loop(struct ls_loop *l);
void ls_poll_exit_loop(struct ls_loop *l, uint64_t t0, int timeout_ms, int nevents);
/* A loop no address finds (a generic loop lives in its thread's ls_tls.gloop); NULL when out of memory. */
struct ls_loop *ls_loop_new(const char *lib, const void *addr);
void ls_loop_mark_closed(struct ls_loop *l);
/* A loop found by its polls alone (poll.c), not by an adapter. */
bool ls_loop_is_generic(const struct ls_loop *l);
/* poll.c: a copy of the fds (and their events) of a poll or select loop's latest poll; how many. */
size_t ls_loop_wait_fds(struct ls_loop *l, int *fds, uint32_t *events, size_t max);
/* fds.c: what an fd is, from /proc (never from the fd): what ("tcp listen", "tcp", "udp", "unix",
 * "pipe", "fifo", "tty", "eventfd", "timerfd", "signalfd", "epoll", "file", "device", "socket",
 * "closed"...), its local address or path, a connected socket's remote address. */
struct ls_fd_desc {
  char what[24];
  char addr[160];
  char peer[80];
};
void ls_fds_describe(const int *fds, size_t n, struct ls_fd_desc *out);
/* fd=, what=, addr=, peer= of an H record. */
void ls_rec_fd(struct ls_rec *r, int fd, const struct ls_fd_desc *d);
/* The hang dump's H kind=fd records: the fds every generic loop waits on. */
void ls_loops_dump_fds(void);
void ls_loops_mark_dirty(void);
uint32_t ls_loop_count(void);
struct ls_loop *ls_loop_at(uint32_t i);
/* Adapters beside libuv's register their exit work (never-run, unclosed-resource, still open at exit)
 * and their part of a hang dump from a constructor; ls_finish and the --timeout dump run them. */
struct ls_adapter {
  void (*finish)(void);
  void (*dump_open)(void);
};
void ls_adapter_add(const struct ls_adapter *a);
void ls_adapters_finish(void);
void ls_adapters_dump_open(void);

/* ---- nointr.c: the stall signal never makes a wait return EINTR ---- */
/* The stall signal, once its handler is installed and a loop exists (0 before): from then on every
 * hooked wait is marked, on every thread. */
extern int ls_nointr_sig;
struct ls_wait {
  uint64_t t0;       /* when the wait began (clock ticks) */
  bool outer;        /* in_wait before it (a wait in a signal handler that interrupted another) */
  struct ls_loop *l; /* the loop the thread runs, told what it waits in */
};
static inline void ls_wait_begin(struct ls_wait *w, const char *call) {
  w->outer = ls_tls.in_wait;
  w->t0 = ls_now();
  w->l = ls_tls.loop ? ls_tls.loop : ls_tls.gloop;
  if (w->l) LS_RELAXED_STORE(&w->l->wait_call, call);
  ls_tls.stall_cut = false;
  ls_tls.in_wait = true;
}
bool ls_wait_again_slow(struct ls_wait *w, bool eintr, const void *mask);
/* The wait returned (eintr: it failed with EINTR; mask: the signal mask it waited with, or NULL for
 * the thread's own). True when the stall signal alone cut it short: the caller waits again for the
 * rest (the wait stays marked); false when it is over, errno untouched. */
static inline bool ls_wait_again(struct ls_wait *w, bool eintr, const void *mask) {
  if (LS_UNLIKELY(ls_tls.stall_cut)) return ls_wait_again_slow(w, eintr, mask);
  ls_tls.in_wait = w->outer;
  if (w->l && !w->outer) LS_RELAXED_STORE(&w->l->wait_call, (const char *)NULL);
  return false;
}
/* What is left of a wait of timeout (ms; < 0 = forever), total (NULL = forever) or us since it began. */
int ls_wait_left_ms(const struct ls_wait *w, int timeout);
struct timespec;
const struct timespec *ls_wait_left_ts(const struct ls_wait *w, const struct timespec *total, struct timespec *buf);
unsigned ls_wait_left_us(const struct ls_wait *w, unsigned us);
/* One hooked wait: rc = call, marked, waited again (rc = again) for what is left of it while the stall
 * signal alone cut it short. eintr is evaluated after each try; mask as for ls_wait_again. */
#define LS_NOINTR(rc, name, call, eintr, mask, again)   \
  do {                                                  \
    struct ls_wait w_;                                  \
    ls_wait_begin(&w_, #name);                          \
    rc = call;                                          \
    while (ls_wait_again(&w_, (eintr), (mask))) rc = again; \
  } while (0)

/* ---- watchdog.c: loop-stall ---- */
void ls_watchdog_start(void); /* options and the signal handler, at start-up */
void ls_watchdog_arm(void);   /* the thread, with the first loop */
void ls_watchdog_finish(void); /* at exit: stalls that ended since the last round are written */

/* ---- threads.c ---- */
void ls_threads_init_main(void);
void ls_threads_finish(void);
/* Writes an N record for every live thread whose kernel name changed; at_exit: with its CPU time. */
void ls_threads_refresh(bool at_exit);
/* The calling thread is one of the shim's own (flush, watchdog); is tid one of them? */
void ls_threads_own(void);
bool ls_threads_is_own(pid_t tid);
void ls_threads_after_fork_child(void);

/* ---- blocking.c: blocking-call for the calls that block by nature ---- */
/* For such a call hooked in another file (pthread_join in threads.c): key = ls_blocking_begin(caller,
 * &t0) before the real call; when key is not NULL, ls_blocking_end(name, key, t0) after it. Off a loop
 * thread begin is one TLS load. errno is preserved. */
/* Is the calling thread inside an adapter's loop run, or a generic loop's thread? */
static inline bool ls_on_loop_thread(void) { return ((uintptr_t)ls_tls.loop | (uintptr_t)ls_tls.gloop) != 0; }
const void *ls_blocking_begin_slow(const char *call, const void *caller, uint64_t *t0);
static inline const void *ls_blocking_begin(const char *call, const void *caller, uint64_t *t0) {
  if (LS_LIKELY(!ls_on_loop_thread())) return NULL;
  return ls_blocking_begin_slow(call, caller, t0);
}
/* min_ns: a call that took less is not reported (pthread_join of a thread that had finished). */
void ls_blocking_end(const char *call, const void *key, uint64_t t0, uint64_t min_ns);
/* For the calls that block sometimes (blocking_maybe.c): the key of a call the program made on a loop
 * thread (NULL: the shim's or the loop library's own), and the finding once it blocked ns. */
const void *ls_blocking_key(const void *caller);
void ls_blocking_report(const char *call, const void *key, uint64_t ns);
void ls_fd_forget(int fd); /* close: what the fd was is no longer known */
void ls_fd_forget_range(unsigned lo, unsigned hi); /* close_range, closefrom */
void ls_blocking_flush(void); /* a generic loop polls again: its pending blocking calls are findings */

/* ---- findings.c ---- */
uint32_t ls_finding_new_id(void);
void ls_before_exec(void);
/* control.c: the --timeout channel from the CLI */
void ls_control_init(void);
bool ls_control_wait(uint64_t ms); /* false: no channel, sleep instead */
bool ls_is_control_fd(int fd);
int ls_control_fd(void);
void ls_control_evacuate(int fd);
/* Either of our fds is about to be overwritten by dup2/dup3: move it. */
void ls_fd_evacuate(int fd);
/* children.c */
void ls_children_init(void);
char **ls_child_env(char *const envp[], const char *prog, const char *argv0);
void ls_child_env_free(char **env);
void ls_after_failed_exec(void);
void ls_write_ending(const char *how, int status, bool take_lock);
void ls_crash_install(void);
void ls_finding_slow_callback(uint32_t site, uint64_t ns);
/* wrong-thread for a call from caller while thread running runs the loop; aborts with wrong_thread=abort. */
void ls_finding_wrong_thread(const char *call, const void *caller, pid_t running, const char *msg);
/* The watchdog sampled a stall while this site's callback ran: where the time went goes into the site's
 * slow-callback finding (kept when it sums more samples than what it has). False when the site has no
 * slow-callback finding that ended at or after since (clock ticks). */
bool ls_finding_slow_callback_samples(uint32_t site, pid_t tid, uint64_t since, const char *samples,
                                      uint32_t nsamples, uint64_t cpu_ns);
/* A finding that accumulates: one per (category, key1, key2), counted; written (cumulative) each time. */
struct ls_finding_info {
  const char *call;     /* the API call it is about, or NULL */
  const char *kind;     /* e.g. "uv write", or NULL */
  const void *cb;       /* the callback it names, or NULL */
  uint32_t site;        /* its callback site, or 0 */
  uint32_t stack;       /* its stack; 0 with capture = take the calling stack (once per key) */
  bool capture;
  pid_t other_tid;      /* the other thread (the loop's), or 0 */
  bool has_status;
  int status;           /* a negative errno nobody saw */
  uint64_t duration_ns; /* for timed findings (pool-wait), else 0 */
  uint64_t count;       /* how many to add (0 = 1) */
  const char *message;  /* what the live line says */
  pid_t tid;            /* the thread it is about, 0 = the calling thread */
  const char *samples;  /* loop-stall: "0xIP:N,..." sampled frames, or NULL */
  bool has_cpu;
  uint64_t cpu_ns;      /* loop-stall: CPU time the thread used during the stall */
};
/* Whether a finding of (k, key1, key2) exists already (lock-free): its stack is not needed again. */
bool ls_finding_known(enum ls_finding_kind k, uintptr_t key1, uintptr_t key2);
/* Returns whether the finding is suppressed (it is recorded all the same, just not logged). */
bool ls_finding_keyed(enum ls_finding_kind k, uintptr_t key1, uintptr_t key2, const struct ls_finding_info *fi);
void ls_finding_thread(uint32_t id, bool failed, uint64_t count, pid_t tid, const void *routine, uint32_t stack,
                       void *result);

#endif
