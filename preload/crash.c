/* A crash still leaves a complete report: on SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP and SIGSYS the handler
 * writes what is recorded, an X record naming the signal and the trailer, then restores the default
 * action and lets the signal kill the process as it would have. Only installed where the action is
 * still the default (a program's own handler, installed earlier or later, wins). Async-signal-safe:
 * raw write(2) of whole records, and the writer lock only if it can be had at once.
 *
 * A fault whose instruction lies in the shim's own code is the shim's bug, not the program's, and is
 * told as one, the way the sanitizers report their internal errors: an I record (internal-error: the
 * signal, the faulting address, the hook it happened in, the faulting instruction and the stack
 * below it) and a live line. The hook is the outermost of the shim's frames at the top of the stack,
 * named by dladdr (hooks are the shim's exported symbols); the CLI names every frame with file:line. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "shim.h"

#define CRASH_DEPTH 48

/* Every signal whose default action ends the process with a core dump, as a crash does: SIGTRAP is
 * GLib's fatal-critical (G_BREAKPOINT), SIGSYS a seccomp filter's kill. */
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};

static uintptr_t fault_pc(const void *ucv) {
  const ucontext_t *uc = ucv;
#if defined(__x86_64__)
  return uc ? (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] : 0;
#elif defined(__aarch64__)
  return uc ? (uintptr_t)uc->uc_mcontext.pc : 0;
#else
  (void)uc;
  return 0;
#endif
}

/* The faulting instruction, then the return addresses below it (the handler's own frames dropped). */
static size_t fault_stack(uintptr_t pc, uintptr_t *ips, size_t max) {
  void *raw[CRASH_DEPTH + 16];
  int got = unw_backtrace(raw, (int)(sizeof(raw) / sizeof(raw[0])));
  size_t n = 0;
  ips[n++] = pc;
  for (int i = 0; i < got; i++) {
    if ((uintptr_t)raw[i] != pc) continue;
    for (int j = i + 1; j < got && n < max && raw[j]; j++) ips[n++] = (uintptr_t)raw[j];
    break;
  }
  return n;
}

/* The exported function of the shim that holds addr (a return address is looked up one byte back). */
static const char *shim_symbol(uintptr_t addr) {
  Dl_info di;
  const ElfW(Sym) *sym = NULL;
  if (!dladdr1((void *)addr, &di, (void **)&sym, RTLD_DL_SYMENT) || !di.dli_sname || !sym) return NULL;
  uintptr_t start = (uintptr_t)di.dli_saddr;
  return addr >= start && addr < start + sym->st_size ? di.dli_sname : NULL;
}

static void internal_error(int sig, const siginfo_t *si, uintptr_t pc) {
  uintptr_t ips[CRASH_DEPTH];
  size_t n = fault_stack(pc, ips, CRASH_DEPTH);
  const char *hook = NULL;
  for (size_t i = 0; i < n && ls_is_shim_code((const void *)ips[i]); i++) {
    const char *s = shim_symbol(i ? ips[i] - 1 : ips[i]);
    if (s) hook = s;
  }
  char buf[LS_REC_MAX];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'I');
  ls_rec_s(&r, "what", "internal-error");
  ls_rec_u(&r, "sig", (uint64_t)sig);
  ls_rec_x(&r, "addr", (uintptr_t)si->si_addr);
  if (hook) ls_rec_s(&r, "hook", hook);
  ls_rec_xs(&r, "ips", ips, n);
  ls_write_locked(&r);

  Dl_info di;
  char off[24] = "0x", line[LS_PATH_MAX + 256];
  const char *base = dladdr((void *)pc, &di) && di.dli_fname ? strrchr(di.dli_fname, '/') : NULL;
  uintptr_t rel = pc - (di.dli_fbase ? (uintptr_t)di.dli_fbase : 0);
  static const char hex[] = "0123456789abcdef";
  size_t k = 2, digits = 0;
  for (uintptr_t v = rel; v; v >>= 4) digits++;
  if (!digits) digits = 1;
  for (size_t d = digits; d-- > 0;) off[k++] = hex[(rel >> (4 * d)) & 15];
  off[k] = '\0';
  size_t len = ls_join(line, sizeof(line), "loopscope: internal error: SIG", sigabbrev_np(sig), " in the ");
  len += ls_join(line + len, sizeof(line) - len, hook ? hook : "?", " hook (", base ? base + 1 : "libloopscope.so");
  len += ls_join(line + len, sizeof(line) - len, "+", off,
                 "); the program was not at fault — please report it, with the report file (it has loopscope's stack)\n");
  ls_log_line(line, len);
}

static void on_fatal(int sig, siginfo_t *si, void *ucv) {
  static int once;
  if (!__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL) && ls_active) {
    ls_tls.guard++;
    bool locked = ls_writer_trylock();
    uintptr_t pc = fault_pc(ucv);
    /* si_code > 0: raised by the kernel for this instruction, not sent (kill, raise, abort) */
    if (si && si->si_code > 0 && pc && ls_is_shim_code((const void *)pc)) internal_error(sig, si, pc);
    if (locked) { /* a thread killed mid-write keeps the lock: then only the ending is written */
      ls_sites_flush_locked();
      ls_loops_flush_locked();
    }
    ls_write_ending("signal", sig, false);
    if (locked) ls_writer_unlock();
    ls_tls.guard--;
  }
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, NULL);
  /* Blocked while we run; delivered with the default action as soon as we return. A fault re-executes
   * the faulting instruction and faults again, also with the default action. */
  syscall(SYS_tgkill, getpid(), ls_gettid(), sig);
}

void ls_crash_install(void) {
  for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
    struct sigaction old, sa;
    if (sigaction(fatal_signals[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO))
      continue;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fatal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sigaction(fatal_signals[i], &sa, NULL);
  }
}
