/* Linked only into a test copy of the shim, libloopscope_fault.so (tests/CMakeLists.txt: the shim's
 * own objects plus this file), never into libloopscope.so: a hook-shaped exported function whose
 * helper dereferences NULL, standing for a bug in a real hook. The product library has no such
 * symbol and no option that makes it crash; this copy differs from it by this function alone. */
#include "shim.h"

static volatile int *volatile nowhere;

/* One line: with optimisation the faulting load may be attributed to the function's first line. */
__attribute__((noinline)) static int broken_helper(int x) { return *nowhere + x; } /* LS-SITE: fault */

LS_EXPORT int loopscope_test_fault(int x) {
  ls_tls.guard++;
  int r = broken_helper(x);
  ls_tls.guard--;
  return r;
}
