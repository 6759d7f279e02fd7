/* A crash still leaves a complete report: on SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT the handler
 * writes what is recorded, an X record naming the signal and the trailer, then restores the default
 * action and lets the signal kill the process as it would have. Only installed where the action is
 * still the default (a program's own handler, installed earlier or later, wins). Async-signal-safe:
 * raw write(2) of whole records, and the writer lock only if it can be had at once. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

static void on_fatal(int sig) {
  static int once;
  if (!__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL) && ls_active) {
    ls_tls.guard++;
    bool locked = ls_writer_trylock();
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
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(fatal_signals[i], &sa, NULL);
  }
}
