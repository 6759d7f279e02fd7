/* The report reader: parses one report file (untrusted input) into an in-memory model.
 * Used by the CLI and by the unit tests. Never crashes or hangs on any input; every error names the
 * byte offset. See ls_record.h for the format. */
#ifndef LS_REPORT_H
#define LS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_hist.h"

/* Limits that keep a hostile file from exhausting memory. */
#define LS_RD_MAX_FRAMES 256
#define LS_RD_MAX_ITEMS 1000000 /* per table */

struct ls_rd_module {
  uint64_t id, base, lo, hi;
  char *path, *build_id; /* build_id: hex text, or "-" */
};

struct ls_rd_stack {
  uint64_t id;
  uint64_t *ips;
  size_t n;
};

struct ls_rd_thread {
  uint64_t tid, parent, stack, routine, start_ns, end_ns, cpu_ns, result;
  char *role, *name;
  char *how;         /* returned|exited|cancelled, NULL while running */
  bool ended, joined, detached;
  uint64_t joined_by;
};

struct ls_rd_loop {
  uint64_t id, addr, thread, iterations, callbacks;
  char *lib;
  /* Optional keys (older writers lack them); each has_ says whether the last snapshot held it. */
  uint64_t poll_ns, callback_ns, long_polls;
  uint64_t lag[LS_HIST_BUCKETS]; /* loop lag (poll return -> next poll entry), all zero when !has_lag */
  bool has_poll_ns, has_callback_ns, has_long_polls, has_lag, has_closed;
  bool closed; /* uv_loop_close succeeded on it */
  bool has_file_io;
  uint64_t file_io, file_io_ns; /* regular-file reads/writes made on the loop thread, and their time */
  bool has_preempted_stalls;
  uint64_t preempted_stalls; /* stalls of a runnable thread that hardly ran: a busy machine, not findings */
};

/* A handle still open when the process exited (H). Identical handles are separate entries. */
struct ls_rd_open {
  uint64_t loop;  /* an L id; 0 = unknown. Not checked: the loop may have no L record */
  uint64_t stack; /* creation stack; 0 = none */
  char *kind;     /* "uv timer", ... */
  bool active, ref, closing; /* closing: uv_close was called, its close callback had not run */
  bool has_active, has_ref, has_closing; /* each key is optional: false when absent */
  /* An fd it waits on (a generic loop's "fd" entries, a libevent event's): its number, what it is
   * ("tcp listen", "pipe", ...), its local address or path, a connected socket's peer, the events
   * waited for ("in,out"); the strings NULL when absent. */
  bool has_fd;
  uint64_t fd;
  char *what, *addr, *peer, *events;
};

/* A thread as the hang dump saw it (W): from /proc, at the moment `loopscope run --timeout` asked. */
struct ls_rd_hang_thread {
  uint64_t tid;
  char *name;    /* the kernel's comm (15 bytes at most) */
  char *state;   /* /proc's state letter: R running, S sleeping, D uninterruptible, T stopped, ... */
  char *syscall; /* the call it sits in ("epoll_wait", "futex", "syscall 232"), "running", or "?" */
};

struct ls_rd_site {
  uint64_t id, cb, stack;
  char *kind;
  uint64_t count, total_ns, max_ns;
  uint64_t hist[LS_HIST_BUCKETS];
};

#define LS_RD_MAX_SAMPLES 16 /* loop-stall: sampled frames kept per finding */
struct ls_rd_sample {
  uint64_t ip, count; /* ip: the interrupted instruction (not a return address) */
};

struct ls_rd_finding {
  uint64_t id;
  char *category, *severity, *kind, *call, *message;
  uint64_t tid, other_tid, count, duration_ns, total_ns;
  uint64_t site, cb, stack, result; /* 0 = absent (site/stack ids start at 1) */
  int64_t status;                   /* a negative errno delivered with nobody to see it */
  bool has_site, has_cb, has_stack, has_result, has_status;
  struct ls_rd_sample samples[LS_RD_MAX_SAMPLES]; /* loop-stall: most sampled first, as written */
  size_t nsamples;
  bool has_cpu;
  uint64_t cpu_ns; /* loop-stall: CPU time of the thread during the stall */
};

/* What happened to the shim itself (I): its report fd taken over by the program (fd-lost: fd, count),
 * a write that failed (write-failed: error = errno, at = byte offset, lost = records not written), or
 * a crash in its own code (internal-error: sig, addr = the faulting address, hook, ips = the faulting
 * instruction then return addresses). Keys a kind does not use are 0 / NULL. */
struct ls_rd_incident {
  char *what, *hook;
  int64_t error;
  uint64_t fd, count, at, lost, sig, addr;
  uint64_t *ips;
  size_t nips;
};

struct ls_report {
  char *path;
  int version;
  /* process */
  uint64_t pid, ppid, start_ns, seq;
  char *exe;
  char *tool; /* "loopscope VERSION (commit ID)" of the shim that wrote it; NULL in older reports */
  char **argv;
  size_t argc;
  char **opt_keys, **opt_values;
  size_t nopts;
  /* ending */
  bool has_exit;
  char *exit_how;
  int64_t exit_status;
  bool complete;           /* last record was the Z trailer */
  bool truncated;          /* !complete: the file ends early; truncated_at is the offset of the first byte not used */
  uint64_t truncated_at;
  char *error;             /* corrupt: message with the byte offset; everything before it is kept */
  uint64_t error_offset;
  char **warnings;         /* e.g. unknown record kinds skipped */
  size_t nwarnings;

  struct ls_rd_module *modules;   size_t nmodules;
  struct ls_rd_stack *stacks;     size_t nstacks;
  struct ls_rd_thread *threads;   size_t nthreads;
  struct ls_rd_loop *loops;       size_t nloops;
  struct ls_rd_site *sites;       size_t nsites;
  struct ls_rd_finding *findings; size_t nfindings;
  struct ls_rd_open *open;        size_t nopen;   /* in file order */
  /* The hang dump (`loopscope run --timeout`): Y, then a W per thread and the H records of the handles
   * open at that moment. has_hang: a Y or a W was seen. Its H records are hang_open, not open. */
  bool has_hang;
  char *hang_reason;                              /* Y reason=, NULL when only W records were seen */
  struct ls_rd_hang_thread *hang_threads; size_t nhang_threads; /* in file order */
  struct ls_rd_open *hang_open;           size_t nhang_open;    /* in file order */
  /* the thread pool (Q, last wins) */
  bool has_pool;
  uint64_t pool_size, pool_peak_queue;
  bool pool_has_pending;                  /* requests outstanding (libuv: fs, dns, random, work, writes...) */
  uint64_t pool_pending, pool_peak_pending;
  struct ls_rd_incident *incidents; size_t nincidents; /* in file order */
};

/* Parse len bytes. Returns 0 when the data was read to its end (complete or truncated), -EBADMSG
 * when it is corrupt (r->error and r->error_offset say where; what came before is in *r), -ENOMSG
 * when it is not a report at all (no whole, valid header line: an empty file, random bytes; nothing
 * in *r is to be shown), -EPROTONOSUPPORT for a newer format version, -ENOMEM. *r is always initialised and must be freed
 * with ls_report_free. */
int ls_report_parse(const char *data, size_t len, struct ls_report *r);

/* How far a file is trusted before it is read. Every file is opened O_NONBLOCK and judged by fstat
 * on the opened descriptor. */
enum ls_rd_trust {
  LS_RD_NAMED,   /* a path the user named: a regular file, or a FIFO (process substitution, '-') */
  LS_RD_REGULAR, /* a name found in a directory: a regular file only */
  LS_RD_OWN,     /* taken as one of our own run's reports from a directory others may write to: a regular
                  * file, not a symbolic link, owned by us or root, no access for group or others (the
                  * shim creates its reports 0600), one link */
};

struct stat;

/* Opens path for reading as trust allows. Returns the descriptor; -EPERM when the file is not trusted
 * (*why, malloc'd, says why in a few words, and *st holds what was seen of it), or -errno. */
int ls_report_open(const char *path, enum ls_rd_trust trust, struct stat *st, char **why);

/* Reads an opened file (fd and st from ls_report_open; fd is closed) and parses it. */
int ls_report_load_fd(int fd, const struct stat *st, const char *path, struct ls_report *r);

/* ls_report_open + ls_report_load_fd; -errno (-EPERM: not trusted) when it cannot be read, and
 * r->error names the file and says why. ls_report_load is ls_report_load_as(LS_RD_NAMED). */
int ls_report_load_as(const char *path, enum ls_rd_trust trust, struct ls_report *r);
int ls_report_load(const char *path, struct ls_report *r);

void ls_report_free(struct ls_report *r);

/* Lookups; NULL when absent. */
const struct ls_rd_stack *ls_report_stack(const struct ls_report *r, uint64_t id);
const struct ls_rd_site *ls_report_site(const struct ls_report *r, uint64_t id);
const struct ls_rd_thread *ls_report_thread(const struct ls_report *r, uint64_t tid);
const struct ls_rd_loop *ls_report_loop(const struct ls_report *r, uint64_t id);
/* The module whose [lo,hi) holds addr. */
const struct ls_rd_module *ls_report_module_for(const struct ls_report *r, uint64_t addr);

#endif
