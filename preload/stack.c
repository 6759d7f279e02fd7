/* Creation stacks: raw return addresses from libunwind, the shim's own frames removed, interned so a
 * stack is written to the report once and referred to by id. Called once per new site (registration)
 * or per thread creation, never on the callback path. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#define MAX_DEPTH 64
#define SKIP_SLACK 12 /* room for the shim's frames above the program's */

struct stack {
  uint64_t hash;
  uint32_t id, n;
  uintptr_t *ips;
};

static struct stack *tab; /* open addressing, under the writer lock */
static size_t cap, used;
static uint32_t next_id = 1;
static uintptr_t self_lo, self_hi;

static int find_self(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  uintptr_t base = (uintptr_t)data;
  if (info->dlpi_addr != base) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uintptr_t a = info->dlpi_addr + ph->p_vaddr;
    if (!self_lo || a < self_lo) self_lo = a;
    if (a + ph->p_memsz > self_hi) self_hi = a + ph->p_memsz;
  }
  return 1;
}

static void self_range(void) {
  Dl_info di;
  if (self_hi || !dladdr((void *)self_range, &di)) return;
  dl_iterate_phdr(find_self, di.dli_fbase);
}

void ls_self_range_init(void) { self_range(); }

bool ls_is_shim_code(const void *p) { return (uintptr_t)p >= self_lo && (uintptr_t)p < self_hi; }

static uint64_t hash_ips(const uintptr_t *ips, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ ips[i]) * 1099511628211ull;
  return h ? h : 1;
}

static void write_stack(const struct stack *s) {
  char buf[LS_REC_MAX];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'S');
  ls_rec_u(&r, "id", s->id);
  ls_rec_xs(&r, "ips", s->ips, s->n);
  ls_write_locked(&r);
}

static bool grow(void) {
  size_t ncap = cap ? cap * 2 : 256;
  struct stack *nt = calloc(ncap, sizeof(*nt));
  if (!nt) return false;
  for (size_t i = 0; i < cap; i++) {
    if (!tab[i].hash) continue;
    size_t j = tab[i].hash & (ncap - 1);
    while (nt[j].hash) j = (j + 1) & (ncap - 1);
    nt[j] = tab[i];
  }
  free(tab);
  tab = nt;
  cap = ncap;
  return true;
}

/* Under the writer lock. */
static uint32_t intern(const uintptr_t *ips, size_t n) {
  uint64_t h = hash_ips(ips, n);
  if ((used + 1) * 2 > cap && !grow()) return 0;
  size_t j = h & (cap - 1);
  for (; tab[j].hash; j = (j + 1) & (cap - 1))
    if (tab[j].hash == h && tab[j].n == n && memcmp(tab[j].ips, ips, n * sizeof(*ips)) == 0) return tab[j].id;
  uintptr_t *copy = malloc(n * sizeof(*ips) + 1);
  if (!copy) return 0;
  memcpy(copy, ips, n * sizeof(*ips));
  tab[j] = (struct stack){h, next_id++, (uint32_t)n, copy};
  used++;
  write_stack(&tab[j]);
  return tab[j].id;
}

uint32_t ls_stack_capture(void) {
  size_t depth = ls_opt.stack_depth;
  if (depth == 0) return 0;
  if (depth > MAX_DEPTH) depth = MAX_DEPTH;
  void *raw[MAX_DEPTH + SKIP_SLACK];
  self_range();
  int got = unw_backtrace(raw, (int)(depth + SKIP_SLACK));
  if (got <= 0) return 0;
  uintptr_t ips[MAX_DEPTH];
  size_t n = 0, i = 0;
  /* Drop the shim's own frames: the hook and what it called at the top, and the main() wrapper that
   * sits further down every stack of the main thread. */
  for (; i < (size_t)got && n < depth; i++) {
    if (!raw[i]) break;
    if ((uintptr_t)raw[i] >= self_lo && (uintptr_t)raw[i] < self_hi) continue;
    ips[n++] = (uintptr_t)raw[i];
  }
  if (n == 0) return 0;
  ls_modules_write(); /* modules first, so every address in the stack has its module in the file */
  ls_writer_lock();
  uint32_t id = intern(ips, n);
  ls_writer_unlock();
  return id;
}

void ls_stack_rewrite_all(void) {
  ls_writer_lock();
  for (size_t i = 0; i < cap; i++)
    if (tab[i].hash) write_stack(&tab[i]);
  ls_writer_unlock();
}

size_t ls_stack_ips(uint32_t id, uintptr_t *out, size_t max) {
  size_t n = 0;
  if (!id) return 0;
  ls_writer_lock();
  for (size_t i = 0; i < cap; i++)
    if (tab[i].hash && tab[i].id == id) {
      n = tab[i].n < max ? tab[i].n : max;
      memcpy(out, tab[i].ips, n * sizeof(*out));
      break;
    }
  ls_writer_unlock();
  return n;
}

uint32_t ls_stack_intern(const uintptr_t *ips, size_t n) {
  if (n == 0) return 0;
  if (n > MAX_DEPTH) n = MAX_DEPTH;
  ls_modules_write();
  ls_writer_lock();
  uint32_t id = intern(ips, n);
  ls_writer_unlock();
  return id;
}
