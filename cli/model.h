/* What the renderers draw: each report joined with its symbols, and the findings of all processes
 * merged, with messages rebuilt from symbol names in asyncio's words. */
#ifndef LS_MODEL_H
#define LS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_report.h"
#include "symbolize.h"

struct lsm_stack {
  struct ls_frame *frames; /* innermost first; inlined calls expanded */
  size_t n;
};

struct lsm_thread {
  const struct ls_rd_thread *t;
  const char *state; /* joined | detached | running | finished-unjoined */
  bool has_routine;
  struct ls_frame routine;
  struct lsm_stack stack;
};

struct lsm_site {
  const struct ls_rd_site *s;
  struct ls_frame cb;
  struct lsm_stack stack;
  uint64_t p50_ns, p99_ns;
};

struct lsm_process;

struct lsm_finding {
  const struct ls_rd_finding *f;
  const struct lsm_process *proc;
  const char *kind; /* F kind=, else its site's; NULL when neither */
  bool has_cb;
  struct ls_frame cb; /* F cb=, else its site's cb (for thread findings: the start routine) */
  struct lsm_stack stack;
  char *message;
};

struct lsm_process {
  struct ls_report *r;
  struct ls_symbolizer *sym;
  struct lsm_thread *threads; /* r->nthreads of them */
  struct lsm_site *sites;     /* r->nsites */
  struct lsm_finding *findings;
  size_t nfindings;
};

struct lsm {
  struct lsm_process *procs;
  size_t nprocs;
  const struct lsm_finding **findings; /* all processes, in report order */
  size_t nfindings;
  bool truncated; /* some report ends early or is corrupt */
};

/* The reports stay the caller's and must outlive the model. 0 or -ENOMEM. */
int lsm_build(struct lsm *m, struct ls_report *reports, size_t n, bool debuginfod);
void lsm_free(struct lsm *m);

/* "on_tick (server.c:42)", "on_tick", or "prog+0x11f9": how asyncio names a callback in a repr. */
void lsm_describe(const struct ls_frame *f, char *buf, size_t len);

/* 1.234 s, 12.3 ms, 45.6 us, 789 ns */
void lsm_duration(uint64_t ns, char *buf, size_t len);

#endif
