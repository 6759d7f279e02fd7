/* Offline symbolizer: turns code addresses recorded in a report into function, file:line and inlined
 * frames with elfutils libdwfl, from the report's module map (path, load bias, build-id). */
#ifndef LS_SYMBOLIZE_H
#define LS_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_report.h"

/* One source frame. Strings belong to the symbolizer (or the report, for module) and live until
 * ls_sym_free; any of them may be NULL when unknown. */
struct ls_frame {
  const char *function; /* demangled; NULL when no symbol is known */
  const char *path;     /* source path from DWARF, made absolute with the CU's comp dir when possible */
  const char *file;     /* basename of path */
  unsigned line;        /* 0 = unknown */
  const char *module;   /* module path as recorded; NULL when the address is in no module */
  uint64_t address;     /* as recorded */
  uint64_t offset;      /* address - module load bias (what addr2line takes) */
  bool inlined;         /* code of this function was inlined into the next frame's */
};

struct ls_symbolizer;

/* Does not touch the disk until the first lookup. debuginfod: allow network lookups (else the
 * DEBUGINFOD_URLS environment variable is removed, so a set one cannot make us hang). */
struct ls_symbolizer *ls_sym_new(const struct ls_report *r, bool debuginfod);
void ls_sym_free(struct ls_symbolizer *s);

/* Frames for one address, innermost first (more than one when code was inlined); never 0 frames.
 * is_return: addr is a return address, so the call is looked up at addr - 1. For a function's own
 * address (a callback, a thread routine) the line is the function's declaration. */
size_t ls_sym_lookup(struct ls_symbolizer *s, uint64_t addr, bool is_return, const struct ls_frame **frames);

/* "module+0xOFF" (or "0xADDR" outside every module) into buf. */
const char *ls_frame_fallback(const struct ls_frame *f, char *buf, size_t len);

#endif
