/* Threads: who created each one and where, how it ended, and whether anyone collected its result.
 * A thread that finished but was neither joined nor detached is a finding at exit (unjoined-thread,
 * or unretrieved-error when its result says it failed); one still running at exit is only listed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

enum how { RUNNING, RETURNED, EXITED, CANCELLED };
static const char *const how_names[] = {"running", "returned", "exited", "cancelled"};

struct ls_thread_rec {
  struct ls_thread_rec *next;
  pthread_t pt;
  pid_t tid, parent;
  uint32_t stack;
  void *(*routine)(void *);
  void *arg;
  void *result;
  enum how how;
  bool joined, detached;
  bool finished; /* its last destructor ran: no code of ours touches the record from that thread */
  bool creating; /* pthread_create has not stored the handle yet: the record stays */
  char pending_name[16]; /* renamed before it published its tid: it writes the N itself */
  char shown_name[16];   /* the name its latest T or N record gave (ls_threads_refresh) */
  const char *role;
  int lib; /* the loop library (LS_LIB_*) whose code the routine is, or -1 */
};

static struct ls_thread_rec *threads; /* under mu */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t end_key;
static struct ls_thread_rec main_rec;

#define THREAD_HOOKS(X)                                                                                      \
  X(pthread_create) X(pthread_join) X(pthread_tryjoin_np) X(pthread_timedjoin_np) X(pthread_clockjoin_np)    \
  X(pthread_detach) X(pthread_exit) X(pthread_setname_np)
#define DECLARE(name) LS_REAL_SLOT(name);
THREAD_HOOKS(DECLARE)
#undef DECLARE
#define REAL(name) LS_REAL_FN(name, NULL)

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void write_start(struct ls_thread_rec *t, const char *name) {
  snprintf(t->shown_name, sizeof(t->shown_name), "%s", name);
  char buf[512];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'T');
  ls_rec_u(&r, "tid", (uint64_t)t->tid);
  ls_rec_u(&r, "parent", (uint64_t)t->parent);
  ls_rec_u(&r, "stack", t->stack);
  ls_rec_x(&r, "routine", (uintptr_t)t->routine);
  ls_rec_u(&r, "start_ns", ls_realtime_ns());
  ls_rec_s(&r, "role", t->role);
  ls_rec_s(&r, "name", name);
  ls_write(&r);
}

static void write_tid_event(char kind, pid_t tid, const char *key2, uint64_t v2) {
  char buf[128];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), kind);
  ls_rec_u(&r, "tid", (uint64_t)tid);
  if (key2) ls_rec_u(&r, key2, v2);
  ls_write(&r);
}

/* N: the thread's name now; cpu_ns (a thread still running at exit) its CPU time so far. */
static void write_name_cpu(pid_t tid, const char *name, bool has_cpu, uint64_t cpu_ns) {
  char buf[128];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'N');
  ls_rec_u(&r, "tid", (uint64_t)tid);
  ls_rec_s(&r, "name", name);
  if (has_cpu) ls_rec_u(&r, "cpu_ns", cpu_ns);
  ls_write(&r);
}

static void write_name(pid_t tid, const char *name) { write_name_cpu(tid, name, false, 0); }

/* The thread records its own ending: only it can read its CPU time. */
static void thread_ended(struct ls_thread_rec *t, enum how how, void *result) {
  if (!t) return;
  /* under mu: the exit report (ls_threads_finish) reads them, maybe while this thread ends */
  pthread_mutex_lock(&mu);
  bool first = t->how == RUNNING;
  if (first) {
    t->how = how;
    t->result = result;
  }
  pthread_mutex_unlock(&mu);
  if (!first) return;
  ls_tls.guard++;
  char buf[256];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'E');
  ls_rec_u(&r, "tid", (uint64_t)t->tid);
  ls_rec_u(&r, "end_ns", ls_realtime_ns());
  ls_rec_u(&r, "cpu_ns", thread_cpu_ns());
  ls_rec_x(&r, "result", (uintptr_t)result);
  ls_rec_s(&r, "how", how_names[how]);
  ls_write(&r);
  ls_tls.guard--;
}

/* pthread key destructors run on every way out of a thread; only cancellation gets here unrecorded. */
/* A record nobody can ask about any more (ended, and joined or detached) is unlinked and freed, so a
 * program that makes a thread per request does not grow our list. Under mu. */
static bool unlink_rec(struct ls_thread_rec *t) {
  if (t->creating) return false; /* a detached thread can end before its creator is back */
  for (struct ls_thread_rec **pp = &threads; *pp; pp = &(*pp)->next)
    if (*pp == t) {
      *pp = t->next;
      return true;
    }
  return false;
}

/* pthread key destructors run on every way out of a thread, last of all; only cancellation gets here
 * unrecorded. A detached thread's record goes now: nobody will join it. */
static void end_key_destructor(void *p) {
  struct ls_thread_rec *t = p;
  thread_ended(t, CANCELLED, PTHREAD_CANCELED);
  pthread_mutex_lock(&mu);
  t->finished = true;
  bool done = t->detached && unlink_rec(t);
  pthread_mutex_unlock(&mu);
  if (done) free(t);
}

static void *thread_start(void *p) {
  struct ls_thread_rec *t = p;
  ls_tls.rec = t;
  ls_tls.guard++;
  char name[16] = "";
  pthread_getname_np(pthread_self(), name, sizeof(name));
  /* The tid is only known here. A detach that came first (or PTHREAD_CREATE_DETACHED) could not name
   * the thread, so its D record is written now, after the T. */
  pthread_mutex_lock(&mu);
  t->tid = ls_gettid();
  t->pt = pthread_self(); /* it may detach itself before its creator has stored the handle */
  bool detached = t->detached;
  char renamed[16];
  memcpy(renamed, t->pending_name, sizeof(renamed));
  pthread_mutex_unlock(&mu);
  write_start(t, name);
  if (detached) write_tid_event('D', t->tid, NULL, 0);
  if (renamed[0]) write_name(t->tid, renamed);
  pthread_setspecific(end_key, t);
  ls_tls.guard--;
  /* A thread a loop library started in its own code (libuv's pool, GLib's worker and GDBus threads)
   * runs inside that library from its first instruction: its calls to the library's exports are the
   * library's own (own.c), except in the program's callbacks, which run at depth 0. */
  if (t->lib >= 0) ls_lib_enter((enum ls_lib)t->lib);
  void *ret = t->routine(t->arg);
  thread_ended(t, RETURNED, ret);
  return ret;
}

/* The base name of the object code at addr lies in, or "". */
static const char *object_of(const void *addr) {
  Dl_info di;
  if (!dladdr(addr, &di) || !di.dli_fname) return "";
  const char *base = strrchr(di.dli_fname, '/');
  return base ? base + 1 : di.dli_fname;
}

/* What a thread is, from who created it and what it runs. libuv creates threads for others too
 * (uv_thread_create: Node.js's platform workers): only a libuv thread running libuv's own code is its
 * pool. */
static const char *role_for(const void *caller, void *(*routine)(void *)) {
  const char *by = object_of(caller);
  if (strncmp(by, "libuv.so", 8) == 0 && strncmp(object_of((const void *)routine), "libuv.so", 8) == 0) return "uv pool";
  if (strncmp(by, "libglib-2.0.so", 14) == 0 || strncmp(by, "libgio-2.0.so", 13) == 0) return "glib worker";
  return "worker";
}

LS_EXPORT int pthread_create(pthread_t *pt, const pthread_attr_t *attr, void *(*routine)(void *), void *arg) {
  if (!REAL(pthread_create)) return EAGAIN;
  if (ls_tls.guard || !ls_active) return real_pthread_create(pt, attr, routine, arg);
  ls_tls.guard++;
  struct ls_thread_rec *t = calloc(1, sizeof(*t));
  if (!t) {
    ls_tls.guard--;
    return real_pthread_create(pt, attr, routine, arg);
  }
  t->parent = ls_gettid();
  t->routine = routine;
  t->arg = arg;
  t->stack = ls_stack_capture();
  t->role = role_for(__builtin_return_address(0), routine);
  t->lib = ls_lib_of((const void *)routine);
  int ds = PTHREAD_CREATE_JOINABLE;
  if (attr && pthread_attr_getdetachstate(attr, &ds) == 0 && ds == PTHREAD_CREATE_DETACHED) t->detached = true;
  t->creating = true;
  pthread_mutex_lock(&mu);
  t->next = threads;
  threads = t;
  pthread_mutex_unlock(&mu);
  ls_tls.guard--;
  int saved = errno;
  int rc = real_pthread_create(pt, attr, thread_start, t);
  if (rc == 0) {
    pthread_mutex_lock(&mu);
    t->pt = *pt;
    t->creating = false;
    bool gone = t->finished && (t->detached || t->joined) && unlink_rec(t); /* it ended in the meantime */
    pthread_mutex_unlock(&mu);
    if (gone) free(t);
  } else {
    pthread_mutex_lock(&mu);
    for (struct ls_thread_rec **pp = &threads; *pp; pp = &(*pp)->next)
      if (*pp == t) {
        *pp = t->next;
        break;
      }
    pthread_mutex_unlock(&mu);
    free(t);
  }
  errno = saved;
  return rc;
}

/* The record of a live (not yet joined) thread with this handle. */
static struct ls_thread_rec *find(pthread_t pt) {
  for (struct ls_thread_rec *t = threads; t; t = t->next)
    if (pthread_equal(t->pt, pt) && !t->joined) return t;
  return NULL;
}

static void mark_joined(pthread_t pt) {
  pthread_mutex_lock(&mu);
  struct ls_thread_rec *t = find(pt);
  pid_t tid = 0;
  if (t) {
    t->joined = true;
    tid = t->tid; /* a joined thread has run, so its tid is known */
    /* Joined means it has exited, destructors and all: the record has no more use. */
    if (!t->finished || !unlink_rec(t)) t = NULL;
  }
  pthread_mutex_unlock(&mu);
  if (tid) write_tid_event('J', tid, "by", (uint64_t)ls_gettid());
  free(t);
}

/* blocks: waits for the thread however long it takes (pthread_join): a blocking call on a loop thread
 * when it waited at least blocking_min_ms (joining a thread that has finished does not block). */
#define JOIN_HOOK(name, params, args, pt, blocks)                                                           \
  LS_EXPORT int name params {                                                                               \
    if (!REAL(name)) return ENOSYS;                                                                         \
    uint64_t t0_ = 0;                                                                                       \
    const void *blk_ = (blocks) ? ls_blocking_begin(#name, __builtin_return_address(0), &t0_) : NULL;              \
    int rc = real_##name args;                                                                              \
    if (blk_) ls_blocking_end(#name, blk_, t0_, ls_opt.blocking_min_ms * 1000000u);                                                            \
    if (rc == 0 && !ls_tls.guard && ls_active) {                                                            \
      int saved = errno;                                                                                    \
      mark_joined(pt);                                                                                      \
      errno = saved;                                                                                        \
    }                                                                                                       \
    return rc;                                                                                              \
  }
JOIN_HOOK(pthread_join, (pthread_t pt, void **ret), (pt, ret), pt, 1)
JOIN_HOOK(pthread_tryjoin_np, (pthread_t pt, void **ret), (pt, ret), pt, 0)
JOIN_HOOK(pthread_timedjoin_np, (pthread_t pt, void **ret, const struct timespec *ts), (pt, ret, ts), pt, 0)
JOIN_HOOK(pthread_clockjoin_np, (pthread_t pt, void **ret, clockid_t c, const struct timespec *ts),
          (pt, ret, c, ts), pt, 0)

LS_EXPORT int pthread_detach(pthread_t pt) {
  if (!REAL(pthread_detach)) return ENOSYS;
  int rc = real_pthread_detach(pt);
  if (rc == 0 && !ls_tls.guard && ls_active) {
    int saved = errno;
    pthread_mutex_lock(&mu);
    struct ls_thread_rec *t = find(pt);
    pid_t tid = 0;
    bool gone = false;
    if (t) {
      t->detached = true;
      tid = t->tid; /* 0: the thread has not started; it writes its own D after its T */
      /* Detached after it ended (its destructor already ran): nothing more will come. */
      gone = t->finished && unlink_rec(t);
    }
    pthread_mutex_unlock(&mu);
    if (tid) write_tid_event('D', tid, NULL, 0);
    if (gone) free(t);
    errno = saved;
  }
  return rc;
}

LS_EXPORT void pthread_exit(void *ret) {
  if (!ls_tls.guard) thread_ended(ls_tls.rec, EXITED, ret);
  if (REAL(pthread_exit)) real_pthread_exit(ret);
  abort(); /* no real pthread_exit: nothing sane is left to do */
}

LS_EXPORT int pthread_setname_np(pthread_t pt, const char *name) {
  if (!REAL(pthread_setname_np)) return ENOSYS;
  int rc = real_pthread_setname_np(pt, name);
  if (rc == 0 && !ls_tls.guard && ls_active) {
    int saved = errno;
    pid_t tid = 0;
    if (pthread_equal(pt, pthread_self())) tid = ls_gettid();
    else {
      pthread_mutex_lock(&mu);
      struct ls_thread_rec *t = find(pt);
      if (t) {
        tid = t->tid;
        /* Named by its creator before it started: it writes the N after its own T. */
        if (!tid) snprintf(t->pending_name, sizeof(t->pending_name), "%s", name);
      }
      pthread_mutex_unlock(&mu);
    }
    if (tid) write_name(tid, name);
    errno = saved;
  }
  return rc;
}

/* The name the kernel has for a thread now (/proc: what ps and top show, also after a prctl(PR_SET_NAME)
 * or a write to comm that no hook saw). false when the thread is gone. */
static bool current_name(pid_t tid, char name[16]) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
  int fd = (int)syscall(SYS_open, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = syscall(SYS_read, fd, name, 15);
  syscall(SYS_close, fd);
  if (n <= 0) return false;
  name[n] = '\0';
  name[strcspn(name, "\n")] = '\0';
  return true;
}

/* A live thread's name as the kernel has it, written when it changed since its last record; at_exit:
 * with its CPU time so far (a loop thread running at exit used CPU too; only a thread's own E record
 * had it). The flush thread calls it every flush_ms, ls_threads_finish at exit. Under mu. */
static void refresh_locked(struct ls_thread_rec *t, bool at_exit) {
  char name[16];
  if (t->how != RUNNING || !t->tid || !current_name(t->tid, name)) return;
  bool renamed = strcmp(name, t->shown_name) != 0;
  uint64_t cpu = 0;
  clockid_t cid;
  bool has_cpu = at_exit && pthread_getcpuclockid(t->pt, &cid) == 0;
  if (has_cpu) {
    struct timespec ts;
    has_cpu = clock_gettime(cid, &ts) == 0;
    cpu = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  }
  if (!renamed && !has_cpu) return;
  memcpy(t->shown_name, name, sizeof(name));
  write_name_cpu(t->tid, name, has_cpu, cpu);
}

void ls_threads_refresh(bool at_exit) {
  if (!ls_active) return;
  pthread_mutex_lock(&mu);
  refresh_locked(&main_rec, at_exit);
  for (struct ls_thread_rec *t = threads; t; t = t->next) refresh_locked(t, at_exit);
  pthread_mutex_unlock(&mu);
}

/* The shim's own threads (flush, watchdog): never listed as the program's, not even in a hang dump. */
static pid_t own_tids[4];

void ls_threads_own(void) {
  pid_t tid = ls_gettid();
  for (size_t i = 0; i < sizeof(own_tids) / sizeof(own_tids[0]); i++) {
    pid_t zero = 0;
    if (__atomic_compare_exchange_n(&own_tids[i], &zero, tid, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return;
  }
}

bool ls_threads_is_own(pid_t tid) {
  for (size_t i = 0; i < sizeof(own_tids) / sizeof(own_tids[0]); i++)
    if (__atomic_load_n(&own_tids[i], __ATOMIC_ACQUIRE) == tid) return true;
  return false;
}

void ls_threads_init_main(void) {
  pthread_key_create(&end_key, end_key_destructor);
  main_rec.pt = pthread_self();
  main_rec.tid = ls_gettid();
  main_rec.role = "main";
  ls_tls.rec = &main_rec;
  char name[16] = "";
  pthread_getname_np(pthread_self(), name, sizeof(name));
  write_start(&main_rec, name);
}

static bool failed_result(void *result) {
  intptr_t v = (intptr_t)result;
  return result == PTHREAD_CANCELED || (v >= -4095 && v <= -1);
}

/* At exit: the names and CPU times of threads still running, then one finding per (category, start
 * routine, creation stack), counting the threads. */
void ls_threads_finish(void) {
  ls_threads_refresh(true);
  pthread_mutex_lock(&mu);
  for (struct ls_thread_rec *t = threads; t; t = t->next) {
    if (t->how == RUNNING || t->joined || t->detached || !t->routine) continue;
    bool failed = failed_result(t->result);
    uint64_t count = 0;
    bool first = true;
    for (struct ls_thread_rec *u = threads; u; u = u->next) {
      if (u->how == RUNNING || u->joined || u->detached || u->routine != t->routine || u->stack != t->stack ||
          failed_result(u->result) != failed)
        continue;
      count++;
    }
    /* Report each group once: at its first member in list order. */
    for (struct ls_thread_rec *u = threads; u != t; u = u->next)
      if (u->how != RUNNING && !u->joined && !u->detached && u->routine == t->routine && u->stack == t->stack &&
          failed_result(u->result) == failed) {
        first = false;
        break;
      }
    if (first) ls_finding_thread(ls_finding_new_id(), failed, count, t->tid, (const void *)t->routine, t->stack, t->result);
  }
  pthread_mutex_unlock(&mu);
}

/* Child after fork: only the forking thread exists in the child. */
void ls_threads_after_fork_child(void) {
  pthread_mutex_init(&mu, NULL);
  memset(own_tids, 0, sizeof(own_tids)); /* the parent's helper threads do not exist here */
  struct ls_thread_rec *self = ls_tls.rec;
  threads = NULL;
  if (self && self != &main_rec) {
    self->next = NULL;
    self->parent = self->tid;
    threads = self;
  }
  if (self) {
    self->tid = ls_gettid();
    char name[16] = "";
    pthread_getname_np(pthread_self(), name, sizeof(name));
    write_start(self, name);
  }
}
