/* Only in the shim of a sanitized build (LOOPSCOPE_SANITIZE): the sanitizer runtime's defaults for the
 * program the shim is preloaded into. That program is not sanitized; the runtime comes right behind the
 * shim in LD_PRELOAD (cli/run.c), and the dynamic linker finds these functions in the shim before the
 * runtime's own weak ones. ASAN_OPTIONS and TSAN_OPTIONS still override them. */
#include "shim.h"

/* verify_asan_link_order=0: the runtime is not the first library, on purpose. Behind the shim, its
 *   interceptors are still found before libc's, and the shim's hooks see the program's calls as
 *   without a sanitizer; in front, every hooked call would come from an interceptor (the call's site lost)
 *   and pthread_create would hand the shim the runtime's start routine instead of the program's.
 * detect_leaks=0: the program's leaks are not loopscope's to report (neovim, named and the tests'
 *   trigger programs have some); the CLI and the tests' own drivers load no shim and stay leak-checked.
 * handle_segv=0, handle_sigbus=0, handle_sigfpe=0: a program that crashes dies of its signal as without
 *   loopscope, recorded by the shim's crash handler; ASan's own handler would report it and exit 1. */
LS_EXPORT const char *__asan_default_options(void) {
  return "verify_asan_link_order=0:detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0";
}

/* report_thread_leaks=0: threads the program leaves unjoined are the program's (the shim reports them as
 *   unjoined-thread; thread_unjoined does it on purpose). The shim's own threads are detached or run to
 *   the end.
 * The rest stays on: races and lock-order inversions in the shim, signal-unsafe calls in its handlers. */
LS_EXPORT const char *__tsan_default_options(void) { return "report_thread_leaks=0"; }
