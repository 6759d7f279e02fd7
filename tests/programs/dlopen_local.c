/* Loads uv_plugin RTLD_NOW|RTLD_LOCAL (this program does not link libuv) and runs it.
 * Prints "plugin_run=N"; exits 0 when the plugin dispatched every callback it should have. */
#include <dlfcn.h>
#include <stdio.h>

#include "uv_plugin.h"

#ifndef LS_PLUGIN_PATH
#error LS_PLUGIN_PATH must name the built uv_plugin.so
#endif

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : LS_PLUGIN_PATH;
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "dlopen_local: %s\n", dlerror());
    return 1;
  }
  plugin_run_fn run = (plugin_run_fn)dlsym(h, "plugin_run");
  if (!run) {
    fprintf(stderr, "dlopen_local: %s\n", dlerror());
    return 1;
  }
  int n = run();
  printf("plugin_run=%d\n", n);
  /* no dlclose: plugins such as lua-luv stay loaded, and this test is about RTLD_LOCAL */
  return n == PLUGIN_SLOW_TICKS + PLUGIN_FAST_TICKS ? 0 : 1;
}
