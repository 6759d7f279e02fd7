/* A hash map with lock-free hits and locked everything else, for the lookups on hot paths: callback
 * sites (callback + caller), trampoline bindings (handle/request + slot), pending requests, open
 * handles. Linear probing with backward-shift deletion: no tombstones, so insert/delete churn (a
 * request per write) never grows the table. A lock-free lookup racing a deletion's shifting may miss
 * an entry that is there; every miss is therefore confirmed under the lock. Tables outgrown are
 * never freed (a reader racing the resize still reads valid memory); growth is geometric, so that
 * costs at most as much again as the largest table. */
#ifndef LS_MAP_H
#define LS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ls_map_ent {
  uintptr_t k1, k2, v1, v2; /* k1 == 0: empty */
};
struct ls_map_tab {
  size_t cap, used;
  struct ls_map_ent e[];
};
struct ls_map {
  struct ls_map_tab *tab;
  int lock;
};

#define LS_MAP_EMPTY 0u

static inline uint64_t ls_map_hash(uintptr_t k1, uintptr_t k2) {
  uint64_t h = (uint64_t)k1 * 0x9e3779b97f4a7c15ull ^ (uint64_t)k2 * 0xc2b2ae3d27d4eb4full;
  return h ^ (h >> 29);
}

/* The confirming lookup under the lock. */
bool ls_map_get_locked(struct ls_map *m, uintptr_t k1, uintptr_t k2, uintptr_t *v1, uintptr_t *v2);

/* k1 must not be 0. */
static inline bool ls_map_get(struct ls_map *m, uintptr_t k1, uintptr_t k2, uintptr_t *v1, uintptr_t *v2) {
  struct ls_map_tab *t = __atomic_load_n(&m->tab, __ATOMIC_ACQUIRE);
  if (!t) return false;
  size_t mask = t->cap - 1;
  for (size_t i = ls_map_hash(k1, k2) & mask;; i = (i + 1) & mask) {
    uintptr_t k = __atomic_load_n(&t->e[i].k1, __ATOMIC_ACQUIRE);
    if (k == LS_MAP_EMPTY) return ls_map_get_locked(m, k1, k2, v1, v2);
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
