/* loop-stall: a watchdog thread (all signals blocked) wakes every stall_sample_ms and
 * looks at every generic (epoll/poll/select) loop. One whose thread has been out of its poll for
 * stall_ms or longer is stalled; while it stays stalled its thread is sampled:
 *   - state R (on a CPU): a real-time signal (stall_signal, default SIGRTMIN+3) whose handler unwinds
 *     with libunwind into the thread's preallocated ls_tls buffer and returns; the watchdog counts the
 *     sample by its innermost program frame;
 *   - inside a hooked wait (the poll and sleep families publish it on the loop): never signalled
 *     (SA_RESTART does not restart epoll_wait, poll or nanosleep); the sample is "waiting in <call>";
 *   - state S or D (asleep elsewhere): never signalled; the sample is "waiting in <syscall>" from
 *     /proc/self/task/TID/syscall.
 * The look and the signal race (the thread may enter a wait in between): a hooked wait the signal cut
 * short is waited again for the rest (nointr.c), so the program never sees that EINTR.
 * When the stall ends (the thread polls again) one loop-stall finding is written, keyed by (loop, top
 * sampled frame): its length, the CPU time the thread used, the top frames with their sample counts
 * and the full stack of the most frequent one.
 *
 * A loop an adapter runs (libuv...) publishes the callback site it is running (ls_cb_begin): samples
 * are counted per site, and a stall during which a callback was slow attaches its samples to that
 * callback's slow-callback finding instead of making a second finding. A thread inside a hooked
 * blocking call (sleep, fsync...) is described from what the hook published on the loop: the call and
 * the stack taken at its entry.
 *
 * The handler is installed only when the signal's action is SIG_DFL at start-up; when the program
 * later installs its own handler or blocks the signal on that thread, sampling stops and the finding
 * says so. The loop threads pay nothing: the watchdog only reads their counters. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "shim.h"

#define MAX_TRACKED 1024 /* loops.c's MAX_LOOPS */
#define TOP 16           /* distinct sampled frames kept per stall */
#define SHOW 8           /* reported */
#define WAITS 8
#define DEPTH 48         /* ls_tls.stall_ips */
#define MAX_SAMPLES 500  /* per stall: a thread that never polls again is not signalled forever */
#define REPLY_WAIT_NS 10000000 /* a runnable thread on a busy machine may wait that long for a CPU */

struct entry {
  uintptr_t ip;
  uint32_t site;    /* the adapter's callback running when sampled, 0 = none (a generic loop) */
  const char *call; /* asleep in this hooked blocking call (its stack was taken at entry), or NULL */
  uint32_t count;
  uint32_t n;
  uintptr_t stack[DEPTH];
};

struct track {
  uint64_t seen_start, cpu0; /* the iteration the watchdog saw last and the thread's CPU time then */
  uint64_t cpu0_at;          /* when cpu0 was read (clock ticks) */
  bool stalled;
  uint64_t start, last_seen;
  pid_t tid; /* the loop thread the stall is on */
  uint32_t samples, cpu_samples, lost;
  struct entry top[TOP];
  uint32_t ntop;
  struct {
    const char *name;
    uint32_t count;
  } waits[WAITS];
  uint32_t nwaits;
  uint32_t sites[WAITS]; /* callback sites seen running during the stall */
  uint32_t nsites;
};

static struct track *tracks[MAX_TRACKED];
static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER; /* tracks: the watchdog's rounds, and the exit */
static bool wd_finished;
static int stall_sig;
static bool handler_ok;            /* our handler is installed */
static const char *sampling_stopped; /* why sampling stopped, or NULL */
static pthread_t wd;

/* Request/reply between the watchdog and the handler: one request outstanding at a time. */
static uint64_t wd_req, wd_ack;
static struct ls_tls *wd_ack_tls;
static bool wd_pending; /* a request not answered yet: send no other */

static void on_sample(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  (void)si;
  int saved = errno;
  if (ls_tls.in_wait) ls_tls.stall_cut = true; /* it may have cut a hooked wait short: nointr.c */
  uint64_t seq = __atomic_load_n(&wd_req, __ATOMIC_ACQUIRE);
  ucontext_t *uc = ucv;
  ls_tls.stall_n = 0;
#if defined(__x86_64__)
  ls_tls.stall_pc = uc ? (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] : 0;
#elif defined(__aarch64__)
  ls_tls.stall_pc = uc ? (uintptr_t)uc->uc_mcontext.pc : 0;
#else
  (void)uc;
  ls_tls.stall_pc = 0;
#endif
  if (!ls_tls.guard) { /* never unwind through the shim's own work (libunwind is not reentrant) */
    ls_tls.guard++;
    int n = unw_backtrace(ls_tls.stall_ips, DEPTH);
    ls_tls.stall_n = n > 0 ? n : 0;
    ls_tls.guard--;
  }
  __atomic_store_n(&wd_ack_tls, &ls_tls, __ATOMIC_RELAXED);
  __atomic_store_n(&wd_ack, seq, __ATOMIC_RELEASE);
  errno = saved;
}

static ssize_t read_small(const char *path, char *buf, size_t cap) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = syscall(SYS_read, fd, buf, cap - 1);
  syscall(SYS_close, fd);
  buf[n > 0 ? n : 0] = '\0';
  return n;
}

static void task_path(char *out, pid_t tid, const char *leaf) {
  size_t n = ls_join(out, 64, "/proc/self/task/", NULL, NULL);
  n += ls_fmt_u(out + n, (uint64_t)tid);
  ls_join(out + n, 64 - n, "/", leaf, NULL);
}

/* The thread's state letter ('?' when unknown). */
static char thread_state(pid_t tid) {
  char path[64], buf[512];
  task_path(path, tid, "stat");
  if (read_small(path, buf, sizeof(buf)) <= 0) return '?';
  char *close = strrchr(buf, ')');
  return close && close[1] == ' ' && close[2] ? close[2] : '?';
}

/* CPU time of one of our threads: the kernel's per-thread CPU clock (ns), no /proc parsing. */
static uint64_t thread_cpu_ns(pid_t tid) {
  struct timespec ts;
  clockid_t cid = (clockid_t)((~(unsigned)tid) << 3) | 6; /* MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) */
  if (syscall(SYS_clock_gettime, cid, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *syscall_name(long nr) {
  switch (nr) {
#define N(x) \
  case SYS_##x: return #x;
    N(read) N(write) N(futex) N(nanosleep) N(clock_nanosleep) N(epoll_wait) N(epoll_pwait) N(poll) N(ppoll)
    N(select) N(pselect6) N(fsync) N(fdatasync) N(recvfrom) N(sendto) N(accept) N(accept4) N(connect)
    N(wait4) N(openat) N(pread64) N(pwrite64) N(msync) N(sync) N(flock) N(fcntl) N(recvmsg) N(sendmsg)
#undef N
  default: return "another syscall";
  }
}

static const char *waiting_in(pid_t tid) {
  char path[64], buf[256];
  task_path(path, tid, "syscall");
  if (read_small(path, buf, sizeof(buf)) <= 0) return "?";
  if (strncmp(buf, "running", 7) == 0) return "running";
  char *end;
  long nr = strtol(buf, &end, 10);
  if (end == buf || nr < 0) return "?";
  return syscall_name(nr);
}

/* Is the signal still ours, and deliverable to tid? */
static bool still_ours(pid_t tid) {
  struct sigaction cur;
  if (sigaction(stall_sig, NULL, &cur) != 0 || !(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_sample) {
    sampling_stopped = "the program installed its own handler for the stall signal";
    return false;
  }
  char path[64], buf[2048];
  task_path(path, tid, "status");
  if (read_small(path, buf, sizeof(buf)) > 0) {
    char *b = strstr(buf, "\nSigBlk:");
    if (b) {
      unsigned long long mask = strtoull(b + 8, NULL, 16);
      if (stall_sig >= 1 && stall_sig <= 64 && (mask >> (stall_sig - 1) & 1)) {
        sampling_stopped = "the program blocks the stall signal on the loop thread";
        return false;
      }
    }
  }
  return true;
}

/* Where a sample is counted: its innermost frame outside libc and the vDSO (a loop spinning on
 * clock_gettime or memcpy is spinning in the function that calls them; the full stack keeps the rest).
 * What serves the program's clock_gettime counts as libc too: a sanitizer runtime preloaded behind the
 * shim (a sanitized build) stands in for libc there and for memcpy. Returns the index of that frame in
 * ips (0 when every frame is libc's). */
static size_t program_frame(const uintptr_t *ips, size_t n) {
  static const void *libc_base, *vdso_base, *clock_base;
  if (!libc_base) {
    Dl_info di;
    if (dladdr((void *)&getpid, &di)) libc_base = di.dli_fbase;
    if (dladdr((void *)&clock_gettime, &di)) clock_base = di.dli_fbase;
    vdso_base = (const void *)getauxval(AT_SYSINFO_EHDR);
  }
  for (size_t i = 0; i < n; i++) {
    Dl_info di;
    if (!dladdr((void *)ips[i], &di)) return i;
    if (di.dli_fbase != libc_base && di.dli_fbase != vdso_base && di.dli_fbase != clock_base) return i;
  }
  return 0;
}

static void count_frames(struct track *t, const uintptr_t *ips, size_t n, uint32_t site, const char *call) {
  if (n == 0) {
    t->lost++;
    return;
  }
  if (!call) t->cpu_samples++;
  for (uint32_t i = 0; i < t->ntop; i++)
    if (t->top[i].ip == ips[0] && t->top[i].site == site && t->top[i].call == call) {
      t->top[i].count++;
      return;
    }
  if (t->ntop == TOP) {
    t->lost++;
    return;
  }
  struct entry *e = &t->top[t->ntop++];
  e->ip = ips[0];
  e->site = site;
  e->call = call;
  e->count = 1;
  e->n = (uint32_t)n;
  memcpy(e->stack, ips, n * sizeof(*ips));
}

/* One signal, one reply (or none within REPLY_WAIT_NS: that sample is lost). A thread waiting on a run queue
 * (state R too) takes the signal where it resumes, where the scheduler stopped it: a timer tick's
 * point, anywhere, or a system call's return; on a busy machine a loop spinning on system calls shows
 * them a little more than their share. */
static void sample_running(struct track *t, pid_t tid, uint32_t site) {
  if (__atomic_load_n(&wd_pending, __ATOMIC_RELAXED)) {
    if (__atomic_load_n(&wd_ack, __ATOMIC_ACQUIRE) != wd_req) {
      t->lost++;
      return;
    }
    wd_pending = false;
  }
  if (!handler_ok || sampling_stopped || !still_ours(tid)) {
    t->lost++;
    return;
  }
  uint64_t seq = wd_req + 1;
  __atomic_store_n(&wd_req, seq, __ATOMIC_RELEASE);
  if (syscall(SYS_tgkill, getpid(), tid, stall_sig) != 0) {
    t->lost++;
    return;
  }
  wd_pending = true;
  uint64_t waited = 0;
  while (__atomic_load_n(&wd_ack, __ATOMIC_ACQUIRE) != seq && waited < REPLY_WAIT_NS) {
    struct timespec d = {0, 50000};
    syscall(SYS_nanosleep, &d, NULL);
    waited += 50000;
  }
  if (__atomic_load_n(&wd_ack, __ATOMIC_ACQUIRE) != seq) {
    t->lost++;
    return;
  }
  wd_pending = false;
  struct ls_tls *r = __atomic_load_n(&wd_ack_tls, __ATOMIC_RELAXED);
  size_t got = (size_t)r->stall_n, i = 0, n = 0;
  uintptr_t ips[DEPTH];
  if (got > DEPTH) got = DEPTH;
  /* Drop the handler's frames and the signal trampoline: start at the interrupted instruction. */
  if (r->stall_pc) {
    for (i = 0; i < got; i++)
      if ((uintptr_t)r->stall_ips[i] == r->stall_pc) break;
    if (i == got) i = 0;
  }
  if (i == 0) { /* no pc match: skip the shim's frames and the trampoline after them */
    while (i < got && ls_is_shim_code(r->stall_ips[i])) i++;
    if (i < got) i++;
  }
  for (; i < got; i++) {
    if (!r->stall_ips[i]) break;
    if (ls_is_shim_code(r->stall_ips[i])) continue; /* the main() wrapper further down */
    ips[n++] = (uintptr_t)r->stall_ips[i];
  }
  size_t at = program_frame(ips, n);
  count_frames(t, ips + at, n - at, site, NULL);
}

static void sample_waiting(struct track *t, const char *name) {
  for (uint32_t i = 0; i < t->nwaits; i++)
    if (t->waits[i].name == name) {
      t->waits[i].count++;
      return;
    }
  if (t->nwaits < WAITS) {
    t->waits[t->nwaits].name = name;
    t->waits[t->nwaits++].count = 1;
  } else {
    t->lost++;
  }
}

/* Inside a hooked blocking call: described from what the hook published on the loop (the call and the
 * stack at its entry), never interrupted. False when it is not (or left it while we looked). */
static bool sample_blocked(struct track *t, struct ls_loop *l, uint32_t site) {
  uint32_t seq = __atomic_load_n(&l->blk_seq, __ATOMIC_ACQUIRE);
  const char *call = LS_RELAXED_LOAD(&l->blk_call);
  if ((seq & 1) || !call) return false;
  uintptr_t ips[16];
  uint32_t n = LS_RELAXED_LOAD(&l->blk_n);
  if (n > 16) n = 16;
  for (uint32_t i = 0; i < n; i++) ips[i] = (uintptr_t)LS_RELAXED_LOAD(&l->blk_ips[i]);
  if (__atomic_load_n(&l->blk_seq, __ATOMIC_ACQUIRE) != seq) return false;
  count_frames(t, ips, n, site, call);
  return true;
}

static void note_site(struct track *t, uint32_t site) {
  if (!site) return;
  for (uint32_t i = 0; i < t->nsites; i++)
    if (t->sites[i] == site) return;
  if (t->nsites < WAITS) t->sites[t->nsites++] = site;
}

static void sample(struct track *t, struct ls_loop *l, pid_t tid) {
  if (t->samples >= MAX_SAMPLES) return;
  t->samples++;
  uint32_t site = LS_RELAXED_LOAD(&l->cur_site);
  note_site(t, site);
  if (sample_blocked(t, l, site)) return;
  const char *wait = LS_RELAXED_LOAD(&l->wait_call); /* in a hooked wait: never signalled */
  if (wait) {
    sample_waiting(t, wait);
    return;
  }
  char st = thread_state(tid);
  if (st == 'R') sample_running(t, tid, site);
  else if (st == 'S' || st == 'D') sample_waiting(t, waiting_in(tid));
  else t->lost++;
}

static int by_count(const void *a, const void *b) {
  const struct entry *x = a, *y = b;
  return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static size_t put(char *out, size_t cap, size_t n, const char *s) {
  size_t l = strlen(s);
  if (n + l >= cap) l = n + 1 < cap ? cap - 1 - n : 0;
  memcpy(out + n, s, l);
  out[n + l] = '\0';
  return n + l;
}

static size_t put_hex(char *out, size_t cap, size_t n, uintptr_t v) {
  char tmp[24];
  size_t k = 0;
  static const char hex[] = "0123456789abcdef";
  do tmp[k++] = hex[v & 15];
  while (v >>= 4);
  char s[24] = "0x";
  size_t j = 2;
  while (k) s[j++] = tmp[--k];
  s[j] = '\0';
  return put(out, cap, n, s);
}

static size_t put_u(char *out, size_t cap, size_t n, uint64_t v) {
  char s[24];
  s[ls_fmt_u(s, v)] = '\0';
  return put(out, cap, n, s);
}

static size_t put_seconds(char *out, size_t cap, size_t n, uint64_t ns) {
  uint64_t ms = ns / 1000000;
  n = put_u(out, cap, n, ms / 1000);
  char frac[5] = {'.', (char)('0' + ms / 100 % 10), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 0};
  return put(out, cap, n, frac);
}

/* "<spin_here>" or "<prog+0x11f9>" (what the running process can see cheaply; the report symbolizes). */
static size_t put_where(char *out, size_t cap, size_t n, uintptr_t ip) {
  n = put(out, cap, n, "<");
  n = ls_live_name(out, cap, n, (const void *)ip);
  return put(out, cap, n, ">");
}

/* "0xIP:N,..." of the most sampled frames (of one callback site, or all of them with all = true): at
 * most SHOW. Returns how many samples they sum. t->top is sorted. */
static uint32_t samples_string(const struct track *t, bool all, uint32_t site, char *out, size_t cap) {
  size_t n = 0;
  uint32_t shown = 0, sum = 0;
  out[0] = '\0';
  for (uint32_t i = 0; i < t->ntop && shown < SHOW; i++) {
    if (!all && t->top[i].site != site) continue;
    if (shown++) n = put(out, cap, n, ",");
    n = put_hex(out, cap, n, t->top[i].ip);
    n = put(out, cap, n, ":");
    n = put_u(out, cap, n, t->top[i].count);
    sum += t->top[i].count;
  }
  return sum;
}

static void end_stall(struct ls_loop *l, struct track *t, pid_t tid, uint64_t end, bool may_report) {
  t->stalled = false;
  uint64_t ns = ls_ticks_to_ns(end - t->start);
  /* The thread's CPU share over the window the watchdog saw (from its first look at the iteration to
   * now: on a busy machine the watchdog itself may look late), applied to the whole stall. */
  uint64_t cpu1 = thread_cpu_ns(tid), seen = ls_ticks_to_ns(ls_now() - t->cpu0_at);
  uint64_t cpu = cpu1 > t->cpu0 && t->cpu0 && seen ? (uint64_t)((double)(cpu1 - t->cpu0) / (double)seen * (double)ns) : 0;
  if (cpu > ns) cpu = ns;
  qsort(t->top, t->ntop, sizeof(t->top[0]), by_count);
  char samples[SHOW * 32] = "", msg[400] = "";
  size_t mn = 0;
  /* An adapter knew which callback ran: a callback that was slow is the problem, and its slow-callback
   * finding gets where the time went. One problem, one finding. */
  bool explained = false;
  for (uint32_t i = 0; i < t->nsites; i++) {
    uint32_t n = samples_string(t, false, t->sites[i], samples, sizeof(samples));
    if (ls_finding_slow_callback_samples(t->sites[i], tid, t->start, samples, n, cpu)) explained = true;
  }
  if (explained || !may_report) return;
  uint32_t asleep = 0;
  for (uint32_t i = 0; i < t->nwaits; i++) asleep += t->waits[i].count;
  for (uint32_t i = 0; i < t->ntop; i++)
    if (t->top[i].call) asleep += t->top[i].count;
  if (cpu && cpu * 10 < ns && cpu < ls_opt.stall_ms * 1000000u && asleep == 0) {
    /* Runnable but hardly running (not even stall_ms of CPU), and never seen asleep: the machine was
     * busy, not the code. Not a finding; the loop's line counts it. */
    LS_RELAXED_STORE(&l->preempted_stalls, l->preempted_stalls + 1);
    return;
  }
  samples_string(t, true, 0, samples, sizeof(samples));
  uint32_t waited = 0, wi = 0;
  for (uint32_t i = 0; i < t->nwaits; i++) {
    waited += t->waits[i].count;
    if (t->waits[i].count > t->waits[wi].count) wi = i;
  }
  mn = put(msg, sizeof(msg), mn, "Loop iteration took ");
  mn = put_seconds(msg, sizeof(msg), mn, ns);
  mn = put(msg, sizeof(msg), mn, " seconds (");
  mn = put_seconds(msg, sizeof(msg), mn, cpu);
  mn = put(msg, sizeof(msg), mn, " s on CPU)");
  uintptr_t key = 0;
  uint32_t stack = 0;
  if (t->ntop && t->top[0].count >= waited) {
    mn = put(msg, sizeof(msg), mn, ": most samples in ");
    if (t->top[0].call) {
      mn = put(msg, sizeof(msg), mn, t->top[0].call);
      mn = put(msg, sizeof(msg), mn, "() called from ");
    }
    mn = put_where(msg, sizeof(msg), mn, t->top[0].ip);
    key = t->top[0].ip;
    size_t depth = ls_opt.stack_depth < t->top[0].n ? ls_opt.stack_depth : t->top[0].n;
    stack = ls_stack_intern(t->top[0].stack, depth);
  } else if (t->nwaits) {
    mn = put(msg, sizeof(msg), mn, ": most samples waiting in ");
    mn = put(msg, sizeof(msg), mn, t->waits[wi].name);
    key = (uintptr_t)t->waits[wi].name;
  }
  if (sampling_stopped) {
    mn = put(msg, sizeof(msg), mn, " (stack sampling stopped: ");
    mn = put(msg, sizeof(msg), mn, sampling_stopped);
    mn = put(msg, sizeof(msg), mn, ")");
  } else if (!handler_ok) {
    mn = put(msg, sizeof(msg), mn, " (no stack sampling: the stall signal was not free at start-up)");
  }
  struct ls_finding_info fi = {.kind = l->lib, .stack = stack, .duration_ns = ns, .message = msg, .tid = tid,
                               .samples = t->ntop ? samples : NULL, .has_cpu = true, .cpu_ns = cpu};
  ls_finding_keyed(LS_F_LOOP_STALL, (uintptr_t)l, key, &fi);
}

/* The stall is over (the thread polled again): it ended at the poll entry that followed it, when that
 * entry is still the latest. */
static void end_over_stall(struct ls_loop *l, struct track *t, pid_t tid, bool inp, uint64_t lpe) {
  uint64_t enter = LS_RELAXED_LOAD(&l->last_poll_enter);
  bool exact = enter > t->start && (inp ? lpe == t->start : enter <= lpe);
  end_stall(l, t, tid, exact ? enter : t->last_seen, true);
}

/* The loop stopped running (its run call returned, its thread ended) or the process is exiting while
 * the watchdog had it stalled. Polled again since: the stall is over, as usual. Not polled again: no
 * iteration ended, so no loop-stall; but a callback that was slow meanwhile still gets its samples. */
static void end_stopped(struct ls_loop *l, struct track *t) {
  bool inp = __atomic_load_n(&l->in_poll, __ATOMIC_ACQUIRE);
  uint64_t lpe = LS_RELAXED_LOAD(&l->last_poll_exit);
  if (inp || lpe != t->start) end_over_stall(l, t, t->tid, inp, lpe);
  else if (t->nsites) end_stall(l, t, t->tid, t->last_seen, false);
  else t->stalled = false;
}

static void check_loop(uint32_t i, struct ls_loop *l) {
  pid_t tid = LS_RELAXED_LOAD(&l->running);
  struct track *t = tracks[i];
  if (!tid) {
    if (t && t->stalled) end_stopped(l, t);
    return;
  }
  if (!t && (t = tracks[i] = calloc(1, sizeof(*t))) == NULL) return;
  if (t->stalled && t->tid != tid) end_stopped(l, t); /* another thread runs it now */
  bool inp = __atomic_load_n(&l->in_poll, __ATOMIC_ACQUIRE);
  uint64_t lpe = LS_RELAXED_LOAD(&l->last_poll_exit);
  if (t->stalled) {
    if (!inp && lpe == t->start) {
      t->last_seen = ls_now();
      sample(t, l, tid);
      return;
    }
    end_over_stall(l, t, tid, inp, lpe);
  }
  if (inp || !lpe) return;
  if (lpe != t->seen_start) { /* a new iteration: its CPU time starts about now */
    t->seen_start = lpe;
    t->cpu0 = thread_cpu_ns(tid);
    t->cpu0_at = ls_now();
  }
  uint64_t now = ls_now();
  if (now > lpe && ls_ticks_to_ns(now - lpe) >= ls_opt.stall_ms * 1000000u) {
    t->stalled = true;
    t->tid = tid;
    t->start = lpe;
    t->last_seen = now;
    t->samples = t->cpu_samples = t->lost = t->ntop = t->nwaits = t->nsites = 0;
    sample(t, l, tid);
  }
}

static void *wd_main(void *arg) {
  (void)arg;
  ls_tls.guard = 1; /* the shim's own thread: never a site, never a finding of its own */
  ls_threads_own();
  struct timespec d = {(time_t)(ls_opt.stall_sample_ms / 1000), (long)(ls_opt.stall_sample_ms % 1000) * 1000000L};
  for (;;) {
    struct timespec left = d;
    while (syscall(SYS_nanosleep, &left, &left) != 0 && errno == EINTR) {
    }
    if (!ls_active) continue;
    pthread_mutex_lock(&wd_mu);
    if (!wd_finished) {
      uint32_t n = ls_loop_count();
      if (n > MAX_TRACKED) n = MAX_TRACKED;
      for (uint32_t i = 0; i < n; i++) check_loop(i, ls_loop_at(i));
    }
    pthread_mutex_unlock(&wd_mu);
  }
  return NULL;
}

/* At exit: a stall that ended since the watchdog last looked (a program that spins in its last
 * iteration but one, then exits within stall_sample_ms) is written now. One still going on is the
 * program exiting from inside an iteration: not a stall. Nothing is sampled after this. */
void ls_watchdog_finish(void) {
  struct timespec d = {0, 100000};
  int tries = 150; /* the watchdog holds the lock for at most a sample's reply wait (10 ms) */
  while (pthread_mutex_trylock(&wd_mu) != 0) {
    if (--tries == 0) return;
    syscall(SYS_nanosleep, &d, NULL);
  }
  wd_finished = true;
  uint32_t n = ls_loop_count();
  if (n > MAX_TRACKED) n = MAX_TRACKED;
  for (uint32_t i = 0; i < n; i++) {
    struct track *t = tracks[i];
    if (t && t->stalled) end_stopped(ls_loop_at(i), t);
  }
  pthread_mutex_unlock(&wd_mu);
}

/* Called from ls_init with the guard up. */
void ls_watchdog_start(void) {
  /* The option parser accepted 0 or a real-time signal only (a bad value stopped the process before
   * its report was created). */
  stall_sig = ls_opt.stall_signal ? (int)ls_opt.stall_signal : SIGRTMIN + 3;
  struct sigaction old, sa;
  if (sigaction(stall_sig, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) {
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sample;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    handler_ok = sigaction(stall_sig, &sa, NULL) == 0;
  }
}

/* The watchdog thread is started with the first loop: a program without one pays for neither the
 * thread nor its wake-ups. Called from the thread that found the loop (a poll hook, a run hook). */
void ls_watchdog_arm(void) {
  static int armed;
  if (__atomic_exchange_n(&armed, 1, __ATOMIC_ACQ_REL)) return;
  ls_tls.guard++; /* our own pthread_create hook passes straight through */
  /* libunwind's first call allocates and reads /proc: do it here, never first in a handler. */
  void *warm[4];
  unw_backtrace(warm, 4);
  sigset_t all, prev;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &prev);
  /* From now on every hooked wait is marked, before the watchdog can send its first signal. */
  if (handler_ok) __atomic_store_n(&ls_nointr_sig, stall_sig, __ATOMIC_RELEASE);
  bool ok = pthread_create(&wd, NULL, wd_main, NULL) == 0;
  pthread_sigmask(SIG_SETMASK, &prev, NULL);
  if (ok) pthread_setname_np(wd, "loopscope-wd");
  ls_tls.guard--;
}
