/* Whose call is it: the loop library's own, or the program's (see shim.h, "own.c"). The one answer
 * every adapter asks, from the thread's depth per library; where a thread has no depth to tell (the
 * shim never saw it start), from the return address as the last resort. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "map.h"
#include "shim.h"

/* Each library's objects by the start of their file names (libevent-2.1.so.7 and libevent_core-2.1.so.7,
 * not a program's own libeventful.so). */
static const char *const uv_objects[] = {"libuv.so", NULL};
static const char *const ev_objects[] = {"libevent-", "libevent_", "libevent.so", NULL};
static const char *const glib_objects[] = {"libglib-2.0.so", "libgio-2.0.so", "libgobject-2.0.so",
                                           "libgmodule-2.0.so", "libgthread-2.0.so", NULL};
static const char *const *const objects[LS_LIB_N] = {
    [LS_LIB_UV] = uv_objects, [LS_LIB_EV] = ev_objects, [LS_LIB_GLIB] = glib_objects};

/* The library whose object holds addr, by its file name; -1 for none. */
static int classify(const void *addr) {
  Dl_info di;
  if (!addr || !dladdr(addr, &di) || !di.dli_fname) return -1;
  const char *base = strrchr(di.dli_fname, '/');
  base = base ? base + 1 : di.dli_fname;
  for (int lib = 0; lib < LS_LIB_N; lib++)
    for (const char *const *o = objects[lib]; *o; o++)
      if (strncmp(base, *o, strlen(*o)) == 0) return lib;
  return -1;
}

int ls_lib_of(const void *addr) {
  int saved = errno;
  int lib = classify(addr);
  errno = saved;
  return lib;
}

static struct ls_map code_map; /* addr -> the library + 1, or 0 for none */

bool ls_lib_code(enum ls_lib lib, const void *addr) {
  uintptr_t v;
  if (!addr) return false;
  if (LS_LIKELY(ls_map_get(&code_map, (uintptr_t)addr, 0, &v, NULL))) return v == (uintptr_t)lib + 1;
  int owner = ls_lib_of(addr);
  ls_map_put(&code_map, (uintptr_t)addr, 0, (uintptr_t)(owner + 1), 0);
  return owner == (int)lib;
}

/* The thread is inside a call of lib's (or the shim never saw it start): the library's own call comes
 * from the library's code, or from a hook of ours whose real function tail-called another export. At
 * depth > 0 a caller elsewhere is the program's code that the library called back without one of our
 * trampolines (a GIO callback, a GObject signal handler, a GThread function). */
bool ls_own_call_slow(enum ls_lib lib, const void *caller) {
  if (ls_lib_depth(lib) == 0) return ls_lib_code(lib, caller); /* never seen starting: the address only */
  return ls_is_shim_code(caller) || ls_lib_code(lib, caller);
}
