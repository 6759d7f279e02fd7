/* Renderers: one per output format, each drawing the whole model. */
#ifndef LS_RENDER_H
#define LS_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

enum render_format { FMT_TEXT, FMT_JSON, FMT_SARIF, FMT_JUNIT };

struct render_opts {
  enum render_format format;
  bool color;      /* ANSI colors for severities (text only) */
  bool prefix_all; /* every text line starts with "loopscope" (output shared with the program's stderr) */
  bool debuginfod; /* symbolization may ask DEBUGINFOD_URLS servers */
  const char *source_root; /* SARIF: URIs relative to this directory; NULL: absolute file:// URIs */
  uint64_t timeout_ms;     /* text: the --timeout that ended the run ("timed out after 1 s"); 0: unknown */
  /* text: how much to show. `report` shows everything (LS_VERBOSITY_ALL); `run` passes the shim's
   * verbosity: 0 = each process's header and exit, its findings and the totals; 1 = also loops and
   * callback sites, with finished threads folded into one line; 2 and more = everything. */
  unsigned verbosity;
  /* text: `run` saw this pid end by this signal (0: not by a signal): said when its report has no exit
   * record (a SIGKILL leaves none). */
  uint64_t signaled_pid;
  int signal;
};
#define LS_VERBOSITY_ALL 3

/* The findings listed are m->groups (lsm_merge): suppressed ones are left out of text, SARIF and
 * JUnit, and are a separate "suppressed" array in JSON. */
void render_text(FILE *out, const struct lsm *m, const struct render_opts *o);
void render_json(FILE *out, const struct lsm *m);
void render_sarif(FILE *out, const struct lsm *m, const struct render_opts *o);
void render_junit(FILE *out, const struct lsm *m);

#endif
