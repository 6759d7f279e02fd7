/* Finding the real functions behind our hooks. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>

#include "map.h"
#include "shim.h"

void *ls_real(void **slot, const char *name, const char *soname) {
  void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (LS_LIKELY(fn != NULL)) return fn;
  fn = dlsym(RTLD_NEXT, name);
  if (!fn && soname) {
    /* A library loaded RTLD_LOCAL (a plugin pulling in libuv) binds its calls to our hooks, but
     * RTLD_NEXT cannot see it. NOLOAD never loads anything new; the reference it takes keeps the
     * library (and so the pointer we cache) valid. */
    void *h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
    if (h) fn = dlsym(h, name);
  }
  if (fn) __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
  return fn;
}

bool ls_same_object(const void *a, const void *b) {
  Dl_info ia, ib;
  if (!a || !b || !dladdr(a, &ia) || !dladdr(b, &ib)) return false;
  return ia.dli_fbase == ib.dli_fbase;
}

int ls_enosys(void) {
  errno = ENOSYS;
  return -1;
}

static struct ls_map same_object_cache; /* (a, b) -> 1 same, 0 not */

bool ls_same_object_cached(const void *a, const void *b) {
  uintptr_t v;
  if (LS_LIKELY(ls_map_get(&same_object_cache, (uintptr_t)a, (uintptr_t)b, &v, NULL))) return v != 0;
  int saved = errno;
  bool same = ls_same_object(a, b);
  ls_map_put(&same_object_cache, (uintptr_t)a, (uintptr_t)b, same, 0);
  errno = saved;
  return same;
}
