/* The module map: every loaded object's path, load bias, address range and build-id, so the CLI can
 * symbolize offline. Written at start-up and again, for new objects only, after dlopen. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#define MAX_MODULES 4096

struct seen {
  uintptr_t base, lo;
};
static struct seen seen[MAX_MODULES];
static size_t nseen;
static uint32_t next_id = 1;
static atomic_bool dirty = true;

static bool already(uintptr_t base, uintptr_t lo) {
  for (size_t i = 0; i < nseen; i++)
    if (seen[i].base == base && seen[i].lo == lo) return true;
  return false;
}

static size_t build_id_hex(const struct dl_phdr_info *info, char *out, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE) continue;
    const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
      const char *name = p + sizeof(*nh);
      const unsigned char *desc = (const unsigned char *)name + ((nh->n_namesz + 3) & ~3u);
      if ((const char *)desc + nh->n_descsz > end) break;
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
          nh->n_descsz * 2 < cap) {
        for (size_t k = 0; k < nh->n_descsz; k++) {
          out[2 * k] = hex[desc[k] >> 4];
          out[2 * k + 1] = hex[desc[k] & 15];
        }
        out[2 * nh->n_descsz] = '\0';
        return 2 * nh->n_descsz;
      }
      p = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
    }
  }
  memcpy(out, "-", 2);
  return 1;
}

/* Runs under the dynamic loader's lock and takes the writer lock inside it: the only order the two are
 * ever taken in (nothing holding the writer lock may unwind, dladdr or dl_iterate_phdr). */
static int write_one(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  (void)data;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uintptr_t a = info->dlpi_addr + ph->p_vaddr;
    if (a < lo) lo = a;
    if (a + ph->p_memsz > hi) hi = a + ph->p_memsz;
  }
  if (hi == 0) return 0;
  ls_writer_lock();
  bool skip = already(info->dlpi_addr, lo) || nseen >= MAX_MODULES;
  ls_writer_unlock();
  if (skip) return 0;
  char path[LS_PATH_MAX];
  const char *name = info->dlpi_name;
  if (!name || !name[0]) { /* the main program */
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    path[n > 0 ? n : 0] = '\0';
    name = path;
  } else if (name[0] != '/' && strchr(name, '/') && realpath(name, path)) {
    name = path; /* dlopen("./plugin.so"): the CLI reads it later, from another directory */
  }
  char bid[130];
  build_id_hex(info, bid, sizeof(bid));
  char buf[LS_REC_MAX];
  struct ls_rec r;
  ls_writer_lock();
  if (!already(info->dlpi_addr, lo) && nseen < MAX_MODULES) {
    /* The id is only known under the lock: patch it in by rebuilding the record. */
    ls_rec_begin(&r, buf, sizeof(buf), 'M');
    ls_rec_u(&r, "id", next_id);
    ls_rec_x(&r, "base", info->dlpi_addr);
    ls_rec_x(&r, "lo", lo);
    ls_rec_x(&r, "hi", hi);
    ls_rec_s(&r, "path", name);
    ls_rec_s(&r, "build_id", bid);
    if (ls_write_locked(&r) == 0) {
      seen[nseen].base = info->dlpi_addr;
      seen[nseen].lo = lo;
      nseen++;
      next_id++;
    }
  }
  ls_writer_unlock();
  return 0;
}

/* Called without the writer lock, before writing a record that refers to code addresses, so modules
 * precede their addresses in the file. */
void ls_modules_write(void) {
  if (!atomic_exchange(&dirty, false)) return;
  dl_iterate_phdr(write_one, NULL);
}

void ls_modules_dirty(void) { atomic_store(&dirty, true); }

static size_t put_str(char *out, size_t cap, size_t n, const char *s) {
  while (*s && n + 1 < cap) out[n++] = *s++;
  out[n < cap ? n : cap - 1] = '\0';
  return n;
}

static size_t put_hex(char *out, size_t cap, size_t n, uintptr_t v) {
  static const char digits[] = "0123456789abcdef";
  char tmp[19] = "0x";
  int shift = 60;
  while (shift > 0 && !((v >> shift) & 15)) shift -= 4;
  size_t k = 2;
  for (; shift >= 0; shift -= 4) tmp[k++] = digits[(v >> shift) & 15];
  tmp[k] = '\0';
  return put_str(out, cap, n, tmp);
}

/* The program's own file name: dladdr gives "" for the main executable, and argv[0] may be anything. */
static const char *exe_base(void) {
  static char name[256];
  static int state; /* 0 not read, 1 read (name may be empty) */
  if (__atomic_load_n(&state, __ATOMIC_ACQUIRE)) return name;
  char path[sizeof(name)];
  ssize_t len = syscall(SYS_readlink, "/proc/self/exe", path, sizeof(path) - 1);
  if (len > 0) {
    path[len] = '\0';
    const char *slash = strrchr(path, '/');
    put_str(name, sizeof(name), 0, slash ? slash + 1 : path);
  }
  __atomic_store_n(&state, 1, __ATOMIC_RELEASE);
  return name;
}

size_t ls_live_name(char *out, size_t cap, size_t n, const void *addr) {
  Dl_info di;
  struct link_map *lm = NULL;
  if (!dladdr1(addr, &di, (void **)&lm, RTLD_DL_LINKMAP)) return put_hex(out, cap, n, (uintptr_t)addr);
  if (di.dli_sname && di.dli_saddr == addr) return put_str(out, cap, n, di.dli_sname);
  if (di.dli_sname && di.dli_saddr && (uintptr_t)addr > (uintptr_t)di.dli_saddr) { /* inside it: "g_main_loop_run+0x5c" */
    n = put_str(out, cap, n, di.dli_sname);
    n = put_str(out, cap, n, "+");
    return put_hex(out, cap, n, (uintptr_t)addr - (uintptr_t)di.dli_saddr);
  }
  /* the main program's link map has no name, and dladdr then answers argv[0] for it */
  const char *mod = lm && lm->l_name && lm->l_name[0] ? lm->l_name : lm ? "" : di.dli_fname;
  const char *slash = mod ? strrchr(mod, '/') : NULL;
  mod = slash ? slash + 1 : mod;
  if (!mod || !*mod) mod = exe_base();
  n = put_str(out, cap, n, *mod ? mod : "?");
  n = put_str(out, cap, n, "+");
  /* the load bias (l_addr), not dli_fbase: a non-PIE program is mapped at 0x400000 with bias 0 */
  return put_hex(out, cap, n, (uintptr_t)addr - (lm ? lm->l_addr : (uintptr_t)di.dli_fbase));
}

void ls_modules_reset(void) {
  nseen = 0;
  next_id = 1;
  atomic_store(&dirty, true);
}
