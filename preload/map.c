#define _GNU_SOURCE
#include "map.h"

#include <errno.h>
#include <sys/mman.h>

static void lock(struct ls_map *m) {
  while (__atomic_exchange_n(&m->lock, 1, __ATOMIC_ACQUIRE))
    while (__atomic_load_n(&m->lock, __ATOMIC_RELAXED)) __builtin_ia32_pause();
}

static void unlock(struct ls_map *m) { __atomic_store_n(&m->lock, 0, __ATOMIC_RELEASE); }

/* mmap, not malloc: the map is used inside hooks that may run while the program's allocator is busy. */
static struct ls_map_tab *tab_new(size_t cap) {
  size_t bytes = sizeof(struct ls_map_tab) + cap * sizeof(struct ls_map_ent);
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  struct ls_map_tab *t = p;
  t->cap = cap;
  return t;
}

static struct ls_map_ent *slot_for(struct ls_map_tab *t, uintptr_t k1, uintptr_t k2, bool *found) {
  size_t mask = t->cap - 1;
  struct ls_map_ent *free_slot = NULL;
  for (size_t i = ls_map_hash(k1, k2) & mask;; i = (i + 1) & mask) {
    struct ls_map_ent *e = &t->e[i];
    if (e->k1 == LS_MAP_EMPTY) {
      *found = false;
      return free_slot ? free_slot : e;
    }
    if (e->k1 == LS_MAP_DELETED) {
      if (!free_slot) free_slot = e;
    } else if (e->k1 == k1 && e->k2 == k2) {
      *found = true;
      return e;
    }
  }
}

static int resize(struct ls_map *m) {
  struct ls_map_tab *old = m->tab;
  size_t live = 0;
  if (old)
    for (size_t i = 0; i < old->cap; i++) live += old->e[i].k1 > LS_MAP_DELETED;
  size_t cap = 64;
  while (cap < (live + 1) * 4) cap *= 2;
  struct ls_map_tab *t = tab_new(cap);
  if (!t) return -ENOMEM;
  if (old)
    for (size_t i = 0; i < old->cap; i++) {
      if (old->e[i].k1 <= LS_MAP_DELETED) continue;
      bool found;
      *slot_for(t, old->e[i].k1, old->e[i].k2, &found) = old->e[i];
      t->used++;
    }
  __atomic_store_n(&m->tab, t, __ATOMIC_RELEASE);
  return 0;
}

int ls_map_put(struct ls_map *m, uintptr_t k1, uintptr_t k2, uintptr_t v1, uintptr_t v2) {
  int rc = 0;
  lock(m);
  if (!m->tab || (m->tab->used + 1) * 2 > m->tab->cap) rc = resize(m);
  if (rc == 0) {
    bool found;
    struct ls_map_ent *e = slot_for(m->tab, k1, k2, &found);
    __atomic_store_n(&e->v1, v1, __ATOMIC_RELAXED);
    __atomic_store_n(&e->v2, v2, __ATOMIC_RELAXED);
    if (!found) {
      if (e->k1 == LS_MAP_EMPTY) m->tab->used++;
      __atomic_store_n(&e->k2, k2, __ATOMIC_RELAXED);
      __atomic_store_n(&e->k1, k1, __ATOMIC_RELEASE);
    }
  }
  unlock(m);
  return rc;
}

void ls_map_del(struct ls_map *m, uintptr_t k1, uintptr_t k2) {
  lock(m);
  if (m->tab) {
    bool found;
    struct ls_map_ent *e = slot_for(m->tab, k1, k2, &found);
    if (found) __atomic_store_n(&e->k1, LS_MAP_DELETED, __ATOMIC_RELEASE);
  }
  unlock(m);
}

void ls_map_each(struct ls_map *m, void (*fn)(struct ls_map_ent *e, void *arg), void *arg) {
  lock(m);
  if (m->tab)
    for (size_t i = 0; i < m->tab->cap; i++)
      if (m->tab->e[i].k1 > LS_MAP_DELETED) fn(&m->tab->e[i], arg);
  unlock(m);
}
