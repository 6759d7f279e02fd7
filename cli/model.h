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

/* A loop with its lag distribution worked out. has_lag: the report has a non-empty lag histogram. */
struct lsm_loop {
  const struct ls_rd_loop *l;
  bool has_lag;
  uint64_t lag_p50_ns, lag_p99_ns, lag_max_ns; /* lag_max_ns: upper bound of the highest non-empty bucket */
  bool closed_known, closed;
  /* A generic loop whose poll call site is a loop library's own poll function: that library is linked
   * statically into `static_module`, where no adapter can see its callbacks. NULL otherwise. */
  const char *static_lib, *static_module, *static_poll_fn;
  /* A generic loop (found by its polls, no adapter): the line that polls, which names it better than an
   * address ("epoll loop in serve (server.c:88)"). */
  bool has_poll_site;
  struct ls_frame poll_site;
};

/* Handles still open at exit (or at the hang dump), identical ones (loop, kind, stack, active, ref, closing) merged. */
struct lsm_open {
  const struct ls_rd_open *h; /* the first of them */
  const struct ls_rd_loop *loop; /* NULL when the report has no L record for it */
  uint64_t count;
  struct lsm_stack stack;
};

struct lsm_process;

/* loop-stall: a sampled frame (the interrupted instruction, looked up as it is) and its count. */
struct lsm_sample {
  struct ls_frame frame;
  uint64_t count;
};

struct lsm_finding {
  const struct ls_rd_finding *f;
  struct lsm_sample *samples; /* nsamples of them: the file's, one per source line, most sampled first */
  size_t nsamples;
  const struct lsm_process *proc;
  const char *kind; /* F kind=, else its site's; NULL when neither */
  bool has_cb;
  struct ls_frame cb; /* F cb=, else its site's cb (for thread findings: the start routine) */
  struct lsm_stack stack;
  char *message;
  bool count_in_message; /* the message says "(3 requests)": no "seen 3 times" needed */
  const struct ls_supp *supp; /* the suppression that matched it (lsm_merge), or NULL */
};

struct lsm_process {
  struct ls_report *r;
  struct ls_symbolizer *sym;
  struct lsm_thread *threads; /* r->nthreads of them */
  struct lsm_site *sites;     /* r->nsites */
  struct lsm_loop *loops;     /* r->nloops */
  struct lsm_open *open;      /* in order of first appearance */
  size_t nopen, nopen_handles;
  struct lsm_open *hang_open; /* open at the hang dump (r->has_hang), merged likewise */
  size_t nhang_open, nhang_open_handles;
  struct lsm_finding *findings;
  size_t nfindings;
  struct lsm_stack *incidents; /* r->nincidents: each one's ips symbolized (internal-error), else empty */
  bool incomplete;             /* truncated, corrupt, or a write of the report failed */
};

struct ls_supp;

/* Findings merged across processes (merge.c): one per (category, callback function+file+line,
 * innermost frame, suppression), in order of first appearance. */
struct lsm_proc_count {
  uint64_t pid, count;
};

struct lsm_group {
  const struct lsm_finding *f; /* the first of them: message, callback, stack */
  uint64_t count, duration_ns, total_ns; /* summed, longest, summed */
  struct lsm_proc_count *procs; /* per pid, in order of first appearance */
  size_t nprocs;
  const struct ls_supp *supp; /* the suppression that matched them, NULL when shown */
};

struct lsm {
  struct lsm_process *procs;
  size_t nprocs;
  const struct lsm_finding **findings; /* all processes, in report order */
  size_t nfindings;
  bool truncated; /* some report ends early or is corrupt */
  struct lsm_group *groups; /* filled by lsm_merge; what the renderers list */
  size_t ngroups, nshown, nsuppressed;
};

/* The reports stay the caller's and must outlive the model. 0 or -ENOMEM. */
int lsm_build(struct lsm *m, struct ls_report *reports, size_t n, bool debuginfod);
void lsm_free(struct lsm *m);

/* "on_tick (server.c:42)", "on_tick", or "prog+0x11f9": how asyncio names a callback in a repr. */
void lsm_describe(const struct ls_frame *f, char *buf, size_t len);

/* Sites whose kind ends in " wait" or " latency" time waiting (submit -> start, or -> done), not a
 * callback. */
bool lsm_site_is_wait(const char *kind);

/* "EPIPE" for -32, libuv's own names ("EOF", "EAI_AGAIN") for its codes; NULL when unknown. */
const char *lsm_status_name(int64_t status);

/* What a finding's stack is, for its heading: "called" (the stack of the call that is the finding:
 * blocking-call, wrong-thread, loop-reentry), "registered" (where the callback or the work was handed to
 * the loop: slow-callback, never-run, pool-wait, a request's unretrieved-error), "created" (a thread's or
 * a resource's creation: unjoined-thread, a thread's unretrieved-error, unclosed-resource) or "sampled"
 * (the most sampled stack of a loop-stall). */
const char *lsm_stack_kind(const struct lsm_finding *lf);

/* The exit status as the parent's wait() and a shell see it: exit(-1) is 255. For a signal, its number. */
int64_t lsm_exit_code(const struct ls_report *r);

/* Whether the finding's message already says how long it took (slow-callback, pool-wait, loop-stall). */
bool lsm_message_has_duration(const struct lsm_finding *lf);

/* The length of a function's name without a GCC clone suffix: "burn.constprop.0", "burn.isra.0",
 * "burn.part.1", "burn.cold" and "burn.lto_priv.0" are all "burn" (4). */
size_t lsm_function_base_len(const char *name);

/* 1.234 s, 12.3 ms, 45.6 us, 789 ns */
void lsm_duration(uint64_t ns, char *buf, size_t len);

#endif
