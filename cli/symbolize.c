/* Offline symbolization with elfutils libdwfl, the split heaptrack uses: the shim records raw
 * addresses and the module map; names, lines and inlines are resolved here, after the fact.
 *
 * Each object file gets its own Dwfl, reported at bias 0 and shared by every report that maps it:
 * one Dwfl per module keeps a module map with overlaps (dlclose + dlopen at the same address) from
 * confusing libdwfl, and many reports of one program read its debug info once.
 * A module whose build-id differs from the recorded one is a different binary: its names would be
 * lies, so it is shown as module+offset only. */
#define _GNU_SOURCE
#include "symbolize.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_INLINE 16 /* deeper inline chains are cut: the outer frames still come from the stack */

/* One opened object file, shared by every report that maps it (same path and build-id): merging
 * 100 reports of one program reads its DWARF once. Reported at bias 0, so a report's address is
 * looked up at address - its recorded load bias, whatever ASLR chose for that process. */
struct shared_mod {
  char *path, *build_id;
  bool usable;
  Dwfl *dwfl;
  Dwfl_Module *mod;
  size_t refs;
  struct shared_mod *next;
};

static struct shared_mod *shared_mods;

struct modstate {
  bool tried;
  struct shared_mod *sm; /* NULL: no file to read */
};

struct entry {
  uint64_t addr;
  bool is_return;
  struct ls_frame *frames;
  size_t n;
  char **strings; /* owned copies the frames point into */
  size_t nstrings;
  struct entry *next;
};

struct ls_symbolizer {
  const struct ls_report *r;
  struct modstate *mods; /* parallel to r->modules */
  struct entry **buckets;
  size_t nbuckets, nentries;
};

/* ---- C++ demangling, only when libstdc++ is there to do it ---- */

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

static demangle_fn demangler(void) {
  static bool tried;
  static demangle_fn fn;
  if (!tried) {
    tried = true;
    void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
    if (h) fn = (demangle_fn)(uintptr_t)dlsym(h, "__cxa_demangle");
  }
  return fn;
}

/* A malloc'd name: demangled when it is a mangled C++ name, else a copy. */
static char *nice_name(const char *name) {
  if (!name) return NULL;
  if (name[0] == '_' && name[1] == 'Z' && demangler()) {
    int status = -1;
    char *d = demangler()(name, NULL, NULL, &status);
    if (d && status == 0) return d;
    free(d);
  }
  return strdup(name);
}

/* ---- modules ---- */

static char *debuginfo_path; /* NULL: libdwfl's default, ":.debug:/usr/lib/debug" */

/* A path from a report names anything: a FIFO there would hang an open() for ever, a device could do
 * worse. So the file is opened O_NONBLOCK, must be a regular file that starts as an ELF file does,
 * and libdwfl is handed that descriptor, never the name: what was checked is what it reads.
 * Returns the fd, or -1 with *why. */
static int open_elf(const char *path, const char **why) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  struct stat st;
  unsigned char magic[SELFMAG];
  *why = NULL;
  if (fd < 0) *why = strerror(errno);
  else if (fstat(fd, &st) < 0) *why = strerror(errno);
  else if (!S_ISREG(st.st_mode)) *why = "not a regular file";
  else if (pread(fd, magic, SELFMAG, 0) != SELFMAG || memcmp(magic, ELFMAG, SELFMAG) != 0) *why = "not an ELF file";
  if (*why && fd >= 0) close(fd);
  return *why ? -1 : fd;
}

/* Whether every place libdwfl looks for FILE's .gnu_debuglink NAME (beside it, in .debug/ beside it,
 * under /usr/lib/debug) holds a regular file or nothing. libdwfl opens them by name; a FIFO planted
 * there would hang it. */
static bool debuglink_safe(const char *file, const char *name) {
  const char *slash = strrchr(file, '/');
  int dlen = slash ? (int)(slash - file) : 0;
  char *cand[3] = {NULL};
  bool ok = true;
  if (name[0] == '/') cand[0] = strdup(name);
  else if (asprintf(&cand[0], "%.*s/%s", dlen, file, name) < 0 || asprintf(&cand[1], "%.*s/.debug/%s", dlen, file, name) < 0 ||
           asprintf(&cand[2], "/usr/lib/debug%.*s/%s", dlen, file, name) < 0)
    ok = false;
  for (int i = 0; i < 3; i++) {
    struct stat st;
    if (ok && cand[i] && stat(cand[i], &st) == 0 && !S_ISREG(st.st_mode)) ok = false;
    free(cand[i]);
  }
  return ok;
}

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                          char **debuginfo_file_name) {
  if (file_name && debuglink_file && !debuglink_safe(file_name, debuglink_file)) {
    fprintf(stderr, "loopscope: warning: %s: its debug link %s names something that is not a regular file: "
                    "not read\n", file_name, debuglink_file);
    return -1;
  }
  return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
                                      debuginfo_file_name);
}

static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = find_debuginfo, /* separate debug files under /usr/lib/debug */
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static void hex(const unsigned char *b, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = '\0';
}

static bool build_id_matches(Dwfl_Module *mod, const char *recorded) {
  const unsigned char *bits;
  GElf_Addr vaddr;
  if (strcmp(recorded, "-") == 0) return true; /* nothing to check against */
  int n = dwfl_module_build_id(mod, &bits, &vaddr);
  if (n <= 0 || n > 256) return false;
  char text[513];
  hex(bits, (size_t)n, text);
  return strcmp(text, recorded) == 0;
}

static struct shared_mod *open_shared(struct ls_symbolizer *s, const struct ls_rd_module *m) {
  for (struct shared_mod *sm = shared_mods; sm; sm = sm->next)
    if (strcmp(sm->path, m->path) == 0 && strcmp(sm->build_id, m->build_id) == 0) {
      sm->refs++;
      return sm;
    }
  struct shared_mod *sm = calloc(1, sizeof(*sm));
  if (!sm || !(sm->path = strdup(m->path)) || !(sm->build_id = strdup(m->build_id))) {
    if (sm) free(sm->path);
    free(sm);
    return NULL;
  }
  sm->refs = 1;
  sm->next = shared_mods;
  shared_mods = sm;
  sm->dwfl = dwfl_begin(&offline_callbacks);
  if (!sm->dwfl) return sm;
  const char *why;
  int fd = open_elf(m->path, &why);
  if (fd < 0) {
    fprintf(stderr, "loopscope: warning: %s: %s: showing module+offset for its frames\n", m->path, why);
    return sm;
  }
  dwfl_report_begin(sm->dwfl);
  /* add_p_vaddr with bias 0: the module sits at its own link-time addresses (ET_EXEC ignores it); on
   * success libdwfl owns fd */
  sm->mod = dwfl_report_elf(sm->dwfl, m->path, m->path, fd, 0, true);
  dwfl_report_end(sm->dwfl, NULL, NULL);
  if (!sm->mod) {
    close(fd);
    fprintf(stderr, "loopscope: warning: %s: %s: showing module+offset for its frames\n", m->path,
            dwfl_errmsg(-1));
    return sm;
  }
  if (!build_id_matches(sm->mod, m->build_id)) {
    fprintf(stderr,
            "loopscope: warning: %s: build-id differs from the one recorded in %s (the file changed since "
            "the run): showing module+offset for its frames\n",
            m->path, s->r->path ? s->r->path : "the report");
    return sm;
  }
  sm->usable = true;
  return sm;
}

static void release_shared(struct shared_mod *sm) {
  if (!sm || --sm->refs > 0) return;
  for (struct shared_mod **p = &shared_mods; *p; p = &(*p)->next)
    if (*p == sm) {
      *p = sm->next;
      break;
    }
  if (sm->dwfl) dwfl_end(sm->dwfl);
  free(sm->path);
  free(sm->build_id);
  free(sm);
}

static void open_module(struct ls_symbolizer *s, const struct ls_rd_module *m, struct modstate *ms) {
  ms->tried = true;
  /* The vdso and other pseudo-objects have no file to read. */
  if (m->path[0] != '/') return;
  ms->sm = open_shared(s, m);
}

static Dwfl_Module *module_for(struct ls_symbolizer *s, const struct ls_rd_module *m) {
  struct modstate *ms = &s->mods[m - s->r->modules];
  if (!ms->tried) open_module(s, m, ms);
  return ms->sm && ms->sm->usable ? ms->sm->mod : NULL;
}

/* ---- DWARF: names, lines, inline chains ---- */

static const char *comp_dir(Dwarf_Die *cu) {
  Dwarf_Attribute a;
  return cu ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a)) : NULL;
}

struct builder {
  struct entry *e;
  size_t cap_frames, cap_strings;
};

static const char *keep(struct builder *b, char *s) {
  if (!s) return NULL;
  if (b->e->nstrings == b->cap_strings) {
    size_t cap = b->cap_strings ? b->cap_strings * 2 : 8;
    char **n = realloc(b->e->strings, cap * sizeof(*n));
    if (!n) {
      free(s);
      return NULL;
    }
    b->e->strings = n;
    b->cap_strings = cap;
  }
  b->e->strings[b->e->nstrings++] = s;
  return s;
}

/* Relative DWARF paths are relative to the compilation directory. */
static void set_path(struct builder *b, struct ls_frame *f, const char *path, const char *dir) {
  if (!path) return;
  char *full = NULL;
  if (path[0] != '/' && dir && dir[0]) {
    if (asprintf(&full, "%s/%s", dir, path) < 0) full = NULL;
  } else {
    full = strdup(path);
  }
  f->path = keep(b, full);
  if (f->path) {
    const char *slash = strrchr(f->path, '/');
    f->file = slash ? slash + 1 : f->path;
  }
}

static struct ls_frame *add_frame(struct builder *b, const struct ls_frame *tmpl) {
  if (b->e->n == b->cap_frames) {
    size_t cap = b->cap_frames ? b->cap_frames * 2 : 2;
    struct ls_frame *n = realloc(b->e->frames, cap * sizeof(*n));
    if (!n) return NULL;
    b->e->frames = n;
    b->cap_frames = cap;
  }
  struct ls_frame *f = &b->e->frames[b->e->n++];
  *f = *tmpl;
  return f;
}

static char *die_name(Dwarf_Die *die) {
  Dwarf_Attribute a;
  const char *link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
  if (!link) link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
  return nice_name(link ? link : dwarf_diename(die));
}

static bool is_function(Dwarf_Die *d) {
  int tag = dwarf_tag(d);
  return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_entry_point;
}

/* Where an inlined subroutine was called from: its DW_AT_call_file / DW_AT_call_line. */
static void call_site(struct builder *b, Dwarf_Die *cu, Dwarf_Die *inl, struct ls_frame *f) {
  Dwarf_Attribute a;
  Dwarf_Word idx, line;
  Dwarf_Files *files;
  size_t nfiles;
  if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &a), &idx) == 0 &&
      dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && idx < nfiles)
    set_path(b, f, dwarf_filesrc(files, idx, NULL, NULL), comp_dir(cu));
  if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &a), &line) == 0 && line <= UINT32_MAX)
    f->line = (unsigned)line;
}

/* Innermost first: the function holding pc, then each function it was inlined into. */
static void inline_chain(struct builder *b, Dwfl_Module *mod, Dwarf_Addr pc, const struct ls_frame *base,
                         const char *symname) {
  Dwarf_Addr bias;
  Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, &bias);
  Dwarf_Die *scopes = NULL, inner;
  int n = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : 0;
  /* dwarf_getscopes continues from an inlined instance into its abstract definition's scopes; the
   * physical nesting (inlined into what) comes from the DIE tree, as eu-addr2line -i does it. */
  if (n > 0) {
    inner = scopes[0];
    free(scopes);
    scopes = NULL;
    n = dwarf_getscopes_die(&inner, &scopes);
  }
  Dwarf_Die funcs[MAX_INLINE];
  int nf = 0;
  for (int i = 0; i < n && nf < MAX_INLINE; i++)
    if (is_function(&scopes[i])) funcs[nf++] = scopes[i];
  struct ls_frame *f = add_frame(b, base);
  if (f && nf > 0) {
    f->function = keep(b, die_name(&funcs[0]));
    f->inlined = dwarf_tag(&funcs[0]) == DW_TAG_inlined_subroutine;
  }
  if (f && !f->function) f->function = keep(b, nice_name(symname));
  for (int j = 1; f && j < nf && dwarf_tag(&funcs[j - 1]) == DW_TAG_inlined_subroutine; j++) {
    struct ls_frame outer = *base;
    outer.path = outer.file = NULL;
    outer.line = 0;
    call_site(b, cu, &funcs[j - 1], &outer);
    outer.function = keep(b, die_name(&funcs[j]));
    if (!outer.function && j == nf - 1) outer.function = keep(b, nice_name(symname));
    outer.inlined = dwarf_tag(&funcs[j]) == DW_TAG_inlined_subroutine;
    f = add_frame(b, &outer);
  }
  free(scopes);
}

/* A function's own address: name it, and give the line where it is declared. */
static void function_at(struct builder *b, Dwfl_Module *mod, Dwarf_Addr pc, struct ls_frame *base,
                        const char *symname) {
  Dwarf_Addr bias;
  Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, &bias);
  Dwarf_Die *scopes = NULL;
  int n = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : 0;
  for (int i = 0; i < n; i++) {
    if (dwarf_tag(&scopes[i]) != DW_TAG_subprogram) continue;
    int line;
    char *name = die_name(&scopes[i]);
    if (name) base->function = keep(b, name);
    if (dwarf_decl_line(&scopes[i], &line) == 0 && line > 0) {
      base->path = base->file = NULL;
      set_path(b, base, dwarf_decl_file(&scopes[i]), comp_dir(cu));
      base->line = (unsigned)line;
    }
    break;
  }
  free(scopes);
  if (!base->function) base->function = keep(b, nice_name(symname));
  add_frame(b, base);
}

static void resolve(struct ls_symbolizer *s, struct builder *b, uint64_t addr, bool is_return) {
  struct ls_frame base = {.address = addr, .offset = addr};
  const struct ls_rd_module *m = ls_report_module_for(s->r, addr);
  Dwfl_Module *mod = NULL;
  if (m) {
    base.module = m->path;
    base.offset = addr - m->base;
    mod = module_for(s, m);
  }
  if (!mod) {
    add_frame(b, &base);
    return;
  }
  /* A return address points after the call; the call itself is one byte earlier. The shared
   * module sits at bias 0: look up the offset. */
  Dwarf_Addr pc = (is_return && addr > 0 ? addr - 1 : addr) - m->base;
  GElf_Off off;
  GElf_Sym sym;
  const char *symname = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
  Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
  if (line) {
    int lineno = 0;
    const char *src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
    set_path(b, &base, src, dwfl_line_comp_dir(line));
    base.line = lineno > 0 ? (unsigned)lineno : 0;
  }
  if (is_return) inline_chain(b, mod, pc, &base, symname);
  else function_at(b, mod, pc, &base, symname);
}

/* ---- cache and API ---- */

static size_t bucket_of(const struct ls_symbolizer *s, uint64_t addr, bool is_return) {
  uint64_t h = (addr ^ (is_return ? 0x9e3779b97f4a7c15ull : 0)) * 0xff51afd7ed558ccdull;
  return (size_t)(h >> 17) & (s->nbuckets - 1);
}

static void rehash(struct ls_symbolizer *s) {
  size_t nb = s->nbuckets * 2;
  struct entry **b = calloc(nb, sizeof(*b));
  if (!b) return; /* longer chains, still correct */
  struct entry **old = s->buckets;
  size_t oldn = s->nbuckets;
  s->buckets = b;
  s->nbuckets = nb;
  for (size_t i = 0; i < oldn; i++)
    for (struct entry *e = old[i], *next; e; e = next) {
      next = e->next;
      size_t k = bucket_of(s, e->addr, e->is_return);
      e->next = b[k];
      b[k] = e;
    }
  free(old);
}

struct ls_symbolizer *ls_sym_new(const struct ls_report *r, bool debuginfod) {
  /* libdwfl asks debuginfod servers when this is set; a report must render offline and fast. */
  if (!debuginfod) unsetenv("DEBUGINFOD_URLS");
  struct ls_symbolizer *s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  s->r = r;
  s->nbuckets = 256;
  s->mods = calloc(r->nmodules ? r->nmodules : 1, sizeof(*s->mods));
  s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
  if (!s->mods || !s->buckets) {
    free(s->mods);
    free(s->buckets);
    free(s);
    return NULL;
  }
  return s;
}

size_t ls_sym_lookup(struct ls_symbolizer *s, uint64_t addr, bool is_return, const struct ls_frame **frames) {
  static struct ls_frame oom_frame; /* only when memory ran out: an anonymous frame */
  size_t k = bucket_of(s, addr, is_return);
  for (struct entry *e = s->buckets[k]; e; e = e->next)
    if (e->addr == addr && e->is_return == is_return) {
      *frames = e->frames;
      return e->n;
    }
  struct entry *e = calloc(1, sizeof(*e));
  if (!e) goto oom;
  e->addr = addr;
  e->is_return = is_return;
  struct builder b = {.e = e};
  resolve(s, &b, addr, is_return);
  if (e->n == 0) {
    free(e->strings);
    free(e);
    goto oom;
  }
  e->next = s->buckets[k];
  s->buckets[k] = e;
  if (++s->nentries > s->nbuckets) rehash(s);
  *frames = e->frames;
  return e->n;
oom:
  oom_frame.address = addr;
  *frames = &oom_frame;
  return 1;
}

void ls_sym_free(struct ls_symbolizer *s) {
  if (!s) return;
  for (size_t i = 0; i < s->nbuckets; i++)
    for (struct entry *e = s->buckets[i], *next; e; e = next) {
      next = e->next;
      for (size_t j = 0; j < e->nstrings; j++) free(e->strings[j]);
      free(e->strings);
      free(e->frames);
      free(e);
    }
  free(s->buckets);
  for (size_t i = 0; i < s->r->nmodules; i++) release_shared(s->mods[i].sm);
  free(s->mods);
  free(s);
}

/* x86-64 code addresses are canonical: bits 63..47 all equal. Anything else is no return address at
 * all: the unwinder read garbage (a stack switched under it, as greenlet does). */
static bool canonical(uint64_t a) {
  uint64_t top = a >> 47;
  return top == 0 || top == 0x1ffff;
}

const char *ls_frame_fallback(const struct ls_frame *f, char *buf, size_t len) {
  if (f->module) snprintf(buf, len, "%s+0x%" PRIx64, f->module, f->offset);
  else if (!canonical(f->address)) snprintf(buf, len, "0x%" PRIx64 " (unwinding stopped: not a code address)", f->address);
  /* In no mapped file: code generated at run time (a JIT such as V8's), which has no symbols and no
   * unwind tables. Said as such, never given a name it does not have. */
  else snprintf(buf, len, "0x%" PRIx64 " (generated code: in no file)", f->address);
  return buf;
}
