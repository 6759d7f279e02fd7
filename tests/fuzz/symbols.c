/* The fixed binary fuzz_report hands the symbolizer in place of every absolute module path a fuzzed
 * report names: real DWARF, an inlined call, a few functions. It is never run. */
#include <stdio.h>

static inline int twice(int x) { return x * 2; }

__attribute__((noinline)) int on_tick(int x) { return twice(x) + 1; }

__attribute__((noinline)) int start_ticker(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += on_tick(i);
  return s;
}

int main(int argc, char **argv) {
  (void)argv;
  printf("%d\n", start_ticker(argc));
  return 0;
}
