/* Start-up and shut-down of the shim: options, the report header, the flush thread, the final
 * records. Everything the target does not ask for happens here, once. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ls_version.h"
#include "shim.h"
#include "uv_track.h"

struct ls_options ls_opt;
bool ls_active;
uint64_t ls_slow_ns = UINT64_MAX;
LS_TLS struct ls_tls ls_tls;

static int init_state; /* 0 = not yet, 1 = running, 2 = done */
static int saved_argc;
static char **saved_argv;
static int exit_status;
static bool have_exit_status;
static int finished;   /* 0 = not yet, 1 = the final records are being written, 2 = written */
static pid_t finisher; /* the thread writing them */
static pthread_t flusher;
static bool flusher_running;

pid_t ls_gettid(void) {
  if (LS_UNLIKELY(!ls_tls.tid)) ls_tls.tid = (pid_t)syscall(SYS_gettid);
  return ls_tls.tid;
}

uint64_t ls_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ls_log_line(const char *line, size_t len) {
  int saved = errno;
  while (len) {
    ssize_t w = syscall(SYS_write, 2, line, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    line += w;
    len -= (size_t)w;
  }
  errno = saved;
}

size_t ls_join(char *out, size_t cap, const char *a, const char *b, const char *c) {
  const char *parts[] = {a, b, c};
  size_t n = 0;
  for (size_t i = 0; i < 3 && cap; i++) {
    if (!parts[i]) continue;
    size_t l = strlen(parts[i]);
    if (n + l >= cap) l = cap - 1 - n;
    memcpy(out + n, parts[i], l);
    n += l;
  }
  if (cap) out[n] = '\0';
  return n;
}

/* "loopscope: a b c" and a newline, one write. */
static void log_str(const char *a, const char *b, const char *c) {
  char line[LS_PATH_MAX + 512] = "loopscope: ";
  size_t n = strlen(line);
  n += ls_join(line + n, sizeof(line) - n - 1, a, b, c);
  line[n++] = '\n';
  ls_log_line(line, n);
}

/* A program that exports libuv's API from an object that is not libuv.so (Node.js, linked with its own
 * libuv) cannot be interposed: say so at start-up. A program with a static libuv that exports nothing
 * is recognised later, by the report, from its loop's poll site (uv__io_poll). uv_version is not one
 * of our hooks, so the lookup finds the program's or libuv.so's. */
static void say_static_libuv(void) {
  Dl_info di;
  void *v = dlsym(RTLD_DEFAULT, "uv_version");
  if (!v || !dladdr(v, &di) || !di.dli_fname) return;
  const char *base = strrchr(di.dli_fname, '/');
  base = base ? base + 1 : di.dli_fname;
  if (strncmp(base, "libuv.so", 8) == 0) return;
  char exe[LS_PATH_MAX];
  const char *where = di.dli_fname;
  if (!strchr(where, '/')) { /* dladdr names the main program as it was started */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
      exe[n] = '\0';
      where = exe;
    }
  }
  log_str("libuv is linked statically into ", where, ": only thread, poll and stall findings are available");
}

void ls_die_bad_options(const char *msg) {
  log_str("LOOPSCOPE_OPTIONS: ", msg, NULL);
  syscall(SYS_exit_group, 125);
}

void ls_note_exit_status(int status) {
  exit_status = status;
  have_exit_status = true;
}

static void write_header(void) {
  char buf[LS_REC_MAX];
  struct ls_rec r;
  ls_writer_lock();
  ls_write_header_locked();

  ls_rec_begin(&r, buf, sizeof(buf), 'P');
  ls_rec_u(&r, "pid", (uint64_t)getpid());
  ls_rec_u(&r, "ppid", (uint64_t)getppid());
  ls_rec_u(&r, "start_ns", ls_realtime_ns());
  char exe[LS_PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  exe[n > 0 ? n : 0] = '\0';
  ls_rec_s(&r, "exe", exe);
  ls_rec_u(&r, "seq", ls_writer_seq());
  ls_rec_s(&r, "tool", "loopscope " LOOPSCOPE_VERSION " (commit " LOOPSCOPE_COMMIT ")");
  ls_write_locked(&r);
  for (int i = 0; i < saved_argc && saved_argv && saved_argv[i]; i++) {
    ls_rec_begin(&r, buf, sizeof(buf), 'A');
    ls_rec_u(&r, "i", (uint64_t)i);
    ls_rec_s(&r, "v", saved_argv[i]);
    if (ls_write_locked(&r) == -ENOSPC) { /* an argument longer than a record: keep its head */
      ls_rec_begin(&r, buf, sizeof(buf), 'A');
      ls_rec_u(&r, "i", (uint64_t)i);
      ls_rec_sn(&r, "v", saved_argv[i], LS_REC_MAX / 4);
      ls_write_locked(&r);
    }
  }
  char val[64];
  for (size_t i = 0; i < ls_option_count; i++) {
    const struct ls_option_desc *d = &ls_option_table[i];
    const char *v = val;
    const char *field = (const char *)&ls_opt + d->offset;
    if (d->type == LS_OPT_STRING) v = field;
    else if (d->type == LS_OPT_BOOL) v = *(const bool *)field ? "1" : "0";
    else val[ls_fmt_u(val, *(const uint64_t *)field)] = '\0';
    ls_rec_begin(&r, buf, sizeof(buf), 'O');
    ls_rec_s(&r, "key", d->key);
    ls_rec_s(&r, "value", v);
    ls_write_locked(&r);
  }
  ls_writer_unlock();
  ls_modules_write();
}

void ls_flush_aggregates(void) {
  ls_writer_lock();
  ls_sites_flush_locked();
  ls_loops_flush_locked();
  ls_uv_flush_locked();
  ls_writer_unlock();
}

static void *flush_main(void *arg) {
  (void)arg;
  ls_tls.guard = 1; /* the shim's own thread: never a site, never a finding */
  ls_threads_own();
  for (int round = 0;; round++) {
    if (!ls_control_wait(ls_opt.flush_ms)) {
      struct timespec d = {(time_t)(ls_opt.flush_ms / 1000), (long)(ls_opt.flush_ms % 1000) * 1000000L};
      while (syscall(SYS_nanosleep, &d, &d) != 0 && errno == EINTR) {
      }
    }
    if (__atomic_load_n(&finished, __ATOMIC_ACQUIRE)) break;
    if (round == 0) ls_clock_refine();
    ls_flush_aggregates();
    ls_threads_refresh(false);
  }
  return NULL;
}

/* The flush thread blocks every signal, so it never takes one meant for the program. */
static void start_flusher(void) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  /* Called with the guard up: our own pthread_create hook passes straight through. */
  flusher_running = pthread_create(&flusher, NULL, flush_main, NULL) == 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (flusher_running) {
    pthread_setname_np(flusher, "loopscope");
    pthread_detach(flusher); /* it ends at exit, and nobody waits for it */
  }
}

/* Creates the report and writes its header with every signal held back: a process killed between the
 * two (a child the program SIGHUPs right after fork) would leave an empty file, which is no report.
 * A signal that came meanwhile is delivered when the mask is restored, as if it came a moment later. */
static int open_report(void) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = ls_writer_open(program_invocation_short_name, 0);
  if (rc == 0) write_header();
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

static void before_fork(void);
static void after_fork_parent(void);
static void after_fork_child(void);
static pid_t report_pid; /* the process the open report belongs to (a vfork child is not it) */

void ls_init(void) {
  if (__atomic_exchange_n(&init_state, 1, __ATOMIC_ACQ_REL) != 0) return;
  int saved = errno;
  ls_tls.guard++;
  ls_options_defaults(&ls_opt);
  /* setuid/setgid: secure_getenv says no, and we stay off entirely. */
  if (getauxval(AT_SECURE)) goto out;
  const char *env = secure_getenv("LOOPSCOPE_OPTIONS");
  char err[512];
  if (env && ls_options_parse(&ls_opt, env, err, sizeof(err)) < 0) ls_die_bad_options(err);
  if (ls_opt.suppressions[0] && ls_suppressions_load(ls_opt.suppressions, err, sizeof(err)) < 0)
    ls_die_bad_options(err);
  if (ls_opt.help) {
    char help[4096];
    size_t n = ls_options_format_help(help, sizeof(help));
    ls_log_line(help, n);
  }
  ls_slow_ns = ls_opt.slow_callback_ms * 1000000u;
  ls_clock_init();
  ls_self_range_init();
  ls_children_init();
  ls_control_init();
  int rc = open_report();
  if (rc < 0) {
    char why[160];
    ls_join(why, sizeof(why), ": ", strerror(-rc), ": loopscope is off for this process");
    log_str("cannot create the report file from log_path=", ls_opt.log_path, why);
    goto out;
  }
  if (ls_opt.verbosity >= 2) {
    log_str("report: ", ls_writer_path(), NULL);
    say_static_libuv();
  }
  ls_active = true;
  ls_threads_init_main();
  report_pid = getpid();
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  start_flusher();
  ls_watchdog_start();
  ls_crash_install();
out:
  ls_tls.guard--;
  __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
  errno = saved;
}

/* X (how the process ended) and the Z trailer. Without take_lock the caller holds the writer lock, or
 * (a crash while another thread held it) cannot have it: each record is still one whole write(2) on an
 * O_APPEND fd. */
void ls_write_ending(const char *how, int status, bool take_lock) {
  char buf[128];
  struct ls_rec r;
  if (take_lock) ls_writer_lock();
  ls_writer_note_failure();
  ls_rec_begin(&r, buf, sizeof(buf), 'X');
  ls_rec_s(&r, "how", how);
  ls_rec_i(&r, "status", status);
  ls_write_locked(&r);
  ls_rec_begin(&r, buf, sizeof(buf), 'Z');
  ls_rec_u(&r, "records", ls_writer_records() + 1);
  ls_write_locked(&r);
  ls_writer_seal(true);
  if (take_lock) ls_writer_unlock();
}

/* Another thread is writing the final records: the caller (about to end the process) waits for them,
 * or every thread would be killed mid-record. Bounded: while the writer makes progress, and at most
 * FINISH_IDLE_MS without a record (a writer stuck, say on a library lock the caller holds, must not
 * hang the exit). Not when the caller is the writer itself (a signal handler calling _exit while the
 * thread it interrupted writes): it cannot wait for itself. */
#define FINISH_IDLE_MS 2000
static void wait_for_finisher(void) {
  if (__atomic_load_n(&finisher, __ATOMIC_ACQUIRE) == ls_gettid()) return;
  uint64_t seen = ls_writer_records();
  for (int idle = 0; idle < FINISH_IDLE_MS && __atomic_load_n(&finished, __ATOMIC_ACQUIRE) == 1; idle++) {
    struct timespec ms = {0, 1000000};
    syscall(SYS_nanosleep, &ms, NULL);
    uint64_t now = ls_writer_records();
    if (now != seen) {
      seen = now;
      idle = 0;
    }
  }
}

void ls_finish(const char *how, int status) {
  if (!ls_active) return;
  int expect = 0;
  if (!__atomic_compare_exchange_n(&finished, &expect, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    if (expect == 1) wait_for_finisher();
    return;
  }
  __atomic_store_n(&finisher, ls_gettid(), __ATOMIC_RELEASE);
  int saved = errno;
  ls_tls.guard++;
  ls_watchdog_finish();
  ls_uv_finish();
  ls_adapters_finish();
  ls_flush_aggregates();
  ls_threads_finish();
  ls_write_ending(how, status, true);
  ls_tls.guard--;
  __atomic_store_n(&finished, 2, __ATOMIC_RELEASE);
  errno = saved;
}

/* Before exec the image is replaced: everything recorded goes out, then a trailer. If the exec fails
 * the process goes on and keeps appending; the reader only calls a file complete when Z is last. */
void ls_before_exec(void) {
  /* A vfork child shares our memory and fd table but is not the process the report describes. */
  if (!ls_active || getpid() != report_pid) return;
  ls_tls.guard++;
  ls_flush_aggregates();
  ls_write_ending("exec", 0, true);
  ls_tls.guard--;
}

void ls_after_failed_exec(void) {
  if (!ls_active || getpid() != report_pid) return;
  int saved = errno;
  ls_writer_lock();
  ls_writer_seal(false);
  ls_writer_unlock();
  errno = saved;
}

/* fork() while another thread writes: hold the writer lock across it so the child never inherits it
 * taken. The child re-initialises it instead of unlocking (it is the only thread there). */
static void before_fork(void) {
  if (ls_active) ls_writer_lock();
}

static void after_fork_parent(void) {
  if (ls_active) ls_writer_unlock();
}

static void after_fork_child(void) {
  if (!ls_active) return;
  if (!ls_opt.follow_children) { /* not following children: the child runs without us */
    ls_writer_reinit_lock();
    ls_writer_close();
    ls_active = false;
    return;
  }
  ls_writer_reinit_lock();
  ls_tls.tid = 0;
  report_pid = getpid();
  ls_writer_close();
  finished = 0;
  flusher_running = false;
  ls_modules_reset(); /* the new report lists every module again */
  if (open_report() < 0) {
    ls_active = false;
    return;
  }
  ls_stack_rewrite_all();
  ls_sites_reset_counts();
  ls_loops_reset_counts();
  ls_sites_rewrite_all();
  ls_threads_after_fork_child();
  /* The flush thread did not survive fork; starting threads in an atfork handler is unsafe, so the
   * child's aggregates are written at its exit (or exec) instead of every interval. */
}

__attribute__((constructor)) static void ls_constructor(int argc, char **argv) {
  saved_argc = argc;
  saved_argv = argv;
  ls_init();
}

__attribute__((destructor)) static void ls_destructor(void) {
  ls_finish("exit", have_exit_status ? exit_status : 0);
}

/* ---- exit status: main's return value and exit()'s argument ---- */

LS_REAL_SLOT(exit);
LS_REAL_SLOT(_exit);
LS_REAL_SLOT(_Exit);

LS_EXPORT void exit(int status) {
  ls_note_exit_status(status);
  if (LS_REAL_FN(exit, NULL)) real_exit(status);
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

LS_EXPORT void _exit(int status) {
  ls_finish("_exit", status); /* no destructors will run */
  if (LS_REAL_FN(_exit, NULL)) real__exit(status);
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

LS_EXPORT void _Exit(int status) {
  ls_finish("_exit", status);
  if (LS_REAL_FN(_Exit, NULL)) real__Exit(status);
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static int main_wrapper(int argc, char **argv, char **envp) {
  int status = real_main(argc, argv, envp);
  ls_note_exit_status(status);
  return status;
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end);
LS_REAL_SLOT(__libc_start_main);

LS_EXPORT int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                                void (*rtld_fini)(void), void *stack_end) {
  real_main = main;
  if (!LS_REAL_FN(__libc_start_main, NULL)) {
    static const char msg[] = "loopscope: fatal: the real __libc_start_main cannot be found\n";
    ls_log_line(msg, sizeof(msg) - 1);
    syscall(SYS_exit_group, 125);
  }
  return real___libc_start_main(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}
