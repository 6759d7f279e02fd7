#define _GNU_SOURCE
#include "map.h"

#include <errno.h>
#include <stddef.h>
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

/* The slot holding (k1, k2), or the empty slot where it would go. */
static struct ls_map_ent *slot_for(struct ls_map_tab *t, uintptr_t k1, uintptr_t k2, bool *found) {
  size_t mask = t->cap - 1;
  for (size_t i = ls_map_hash(k1, k2) & mask;; i = (i + 1) & mask) {
    struct ls_map_ent *e = &t->e[i];
    if (e->k1 == LS_MAP_EMPTY || (e->k1 == k1 && e->k2 == k2)) {
      *found = e->k1 != LS_MAP_EMPTY;
      return e;
    }
  }
}

/* Publishes an entry: values first, the key last, so a reader that sees the key sees the values. */
static void store(struct ls_map_ent *e, const struct ls_map_ent *src) {
  __atomic_store_n(&e->v1, src->v1, __ATOMIC_RELAXED);
  __atomic_store_n(&e->v2, src->v2, __ATOMIC_RELAXED);
  __atomic_store_n(&e->k2, src->k2, __ATOMIC_RELAXED);
  __atomic_store_n(&e->k1, src->k1, __ATOMIC_RELEASE);
}

static int grow(struct ls_map *m) {
  struct ls_map_tab *old = m->tab;
  size_t cap = old ? old->cap * 2 : 64;
  struct ls_map_tab *t = tab_new(cap);
  if (!t) return -ENOMEM;
  if (old)
    for (size_t i = 0; i < old->cap; i++) {
      if (old->e[i].k1 == LS_MAP_EMPTY) continue;
      bool found;
      *slot_for(t, old->e[i].k1, old->e[i].k2, &found) = old->e[i];
      t->used++;
    }
  __atomic_store_n(&m->tab, t, __ATOMIC_RELEASE);
  return 0;
}

bool ls_map_get_locked(struct ls_map *m, uintptr_t k1, uintptr_t k2, uintptr_t *v1, uintptr_t *v2) {
  bool found = false;
  lock(m);
  if (m->tab) {
    struct ls_map_ent *e = slot_for(m->tab, k1, k2, &found);
    if (found) {
      *v1 = e->v1;
      if (v2) *v2 = e->v2;
    }
  }
  unlock(m);
  return found;
}

int ls_map_put(struct ls_map *m, uintptr_t k1, uintptr_t k2, uintptr_t v1, uintptr_t v2) {
  int rc = 0;
  lock(m);
  if (!m->tab || (m->tab->used + 1) * 2 > m->tab->cap) rc = grow(m);
  if (rc == 0) {
    bool found;
    struct ls_map_ent *e = slot_for(m->tab, k1, k2, &found);
    if (!found) m->tab->used++;
    store(e, &(struct ls_map_ent){k1, k2, v1, v2});
  }
  unlock(m);
  return rc;
}

/* Backward-shift deletion: entries after the hole whose home is not between the hole and themselves
 * move back into it, so every probe sequence stays unbroken without tombstones. */
void ls_map_del(struct ls_map *m, uintptr_t k1, uintptr_t k2) {
  lock(m);
  struct ls_map_tab *t = m->tab;
  bool found = false;
  struct ls_map_ent *e = t ? slot_for(t, k1, k2, &found) : NULL;
  if (found) {
    size_t mask = t->cap - 1, hole = (size_t)(e - t->e);
    for (size_t j = (hole + 1) & mask; t->e[j].k1 != LS_MAP_EMPTY; j = (j + 1) & mask) {
      size_t home = ls_map_hash(t->e[j].k1, t->e[j].k2) & mask;
      /* j may stay if its home lies cyclically in (hole, j]. */
      bool stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (stays) continue;
      store(&t->e[hole], &t->e[j]);
      hole = j;
    }
    __atomic_store_n(&t->e[hole].k1, LS_MAP_EMPTY, __ATOMIC_RELEASE);
    t->used--;
  }
  unlock(m);
}

void ls_map_each(struct ls_map *m, void (*fn)(struct ls_map_ent *e, void *arg), void *arg) {
  lock(m);
  if (m->tab)
    for (size_t i = 0; i < m->tab->cap; i++)
      if (m->tab->e[i].k1 != LS_MAP_EMPTY) fn(&m->tab->e[i], arg);
  unlock(m);
}
