/* A hash map with lock-free lookups and locked updates, for the two lookups on hot paths: callback
 * sites (keyed by callback + caller) and trampoline bindings (keyed by handle/request + slot).
 * Replaced tables are never freed, so a reader racing a resize still reads valid (if stale) memory. */
#ifndef LS_MAP_H
#define LS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ls_map_ent {
  uintptr_t k1, k2, v1, v2; /* k1: 0 = empty, 1 = deleted */
};
struct ls_map_tab {
  size_t cap, used; /* used counts deleted slots too */
  struct ls_map_ent e[];
};
struct ls_map {
  struct ls_map_tab *tab;
  int lock;
};

#define LS_MAP_EMPTY 0u
#define LS_MAP_DELETED 1u

static inline uint64_t ls_map_hash(uintptr_t k1, uintptr_t k2) {
  uint64_t h = (uint64_t)k1 * 0x9e3779b97f4a7c15ull ^ (uint64_t)k2 * 0xc2b2ae3d27d4eb4full;
  return h ^ (h >> 29);
}

static inline bool ls_map_get(struct ls_map *m, uintptr_t k1, uintptr_t k2, uintptr_t *v1, uintptr_t *v2) {
  struct ls_map_tab *t = __atomic_load_n(&m->tab, __ATOMIC_ACQUIRE);
  if (!t) return false;
  size_t mask = t->cap - 1;
  for (size_t i = ls_map_hash(k1, k2) & mask;; i = (i + 1) & mask) {
    uintptr_t k = __atomic_load_n(&t->e[i].k1, __ATOMIC_ACQUIRE);
    if (k == LS_MAP_EMPTY) return false;
    if (k == k1 && __atomic_load_n(&t->e[i].k2, __ATOMIC_RELAXED) == k2) {
      *v1 = __atomic_load_n(&t->e[i].v1, __ATOMIC_RELAXED);
      if (v2) *v2 = __atomic_load_n(&t->e[i].v2, __ATOMIC_RELAXED);
      return true;
    }
  }
}

/* Insert or update. Returns 0 or -ENOMEM. */
int ls_map_put(struct ls_map *m, uintptr_t k1, uintptr_t k2, uintptr_t v1, uintptr_t v2);
void ls_map_del(struct ls_map *m, uintptr_t k1, uintptr_t k2);
/* Visit every live entry (under the map's lock). */
void ls_map_each(struct ls_map *m, void (*fn)(struct ls_map_ent *e, void *arg), void *arg);

#endif
