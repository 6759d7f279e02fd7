/* Suppressions, LeakSanitizer-style: one `ID:PATTERN` per line, ID a finding id or `*`, PATTERN a
 * glob (* and ?) matched against every function, source file (base name or path) and module (path
 * or base name) of a finding's callback and stack. Applied when a report is rendered, so one
 * recorded run can be judged under different files. */
#ifndef LS_SUPPRESS_H
#define LS_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct lsm_finding;

struct ls_supp {
  char *text;      /* "ID:PATTERN" as written (trimmed) */
  char *id;        /* a finding id, or "*" */
  char *pattern;
  char *file;      /* where it was read */
  unsigned line;
  uint64_t matched; /* findings (one per process) it suppressed */
};

struct ls_supps {
  struct ls_supp *v;
  size_t n;
};

/* Adds the suppressions of one file. -1 with a message in err ("FILE:LINE: ...") for an unreadable
 * file or a malformed line; nothing of that file is kept then. */
int ls_supps_load(struct ls_supps *s, const char *path, char *err, size_t errlen);
/* The same from an open stream; path names it in messages. */
int ls_supps_read(struct ls_supps *s, FILE *f, const char *path, char *err, size_t errlen);
void ls_supps_free(struct ls_supps *s);

/* The first suppression that matches the finding (and counts it), or NULL. */
struct ls_supp *ls_supps_match(struct ls_supps *s, const struct lsm_finding *lf);

/* A ready-to-paste line for the finding into buf: its callback's function if known, else the
 * innermost symbolized frame's function, else its module's base name; glob characters escaped. */
void ls_supp_generate(const struct lsm_finding *lf, char *buf, size_t len);

#endif
