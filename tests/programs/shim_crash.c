/* Calls loopscope_test_fault, a function only the test copy of the shim (libloopscope_fault.so)
 * exports, as a program calls a hooked function: the shim's own code then faults inside it. Without
 * that library preloaded the symbol is missing: prints so and exits 3. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  int (*fault)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "loopscope_test_fault");
  if (!fault) {
    printf("no loopscope_test_fault\n");
    return 3;
  }
  printf("calling\n");
  fflush(stdout);
  return fault(1);
}
