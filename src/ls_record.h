/* The report file format (version 1) and its record encoder/decoder.
 *
 * A report is text, one record per line, so a crash, _exit or SIGKILL leaves a readable prefix and a
 * person can look at it with less. The writer appends whole lines only.
 *
 *   line 1:  "loopscope-report 1"
 *   then:    KIND (SP KEY=VALUE)* LF          KIND is one ASCII letter, keys are [a-z_]+
 *
 * Values are unsigned decimal (u), signed decimal (i), hexadecimal with "0x" (x), a list of hex
 * numbers joined by ',' (xs), sparse histogram "bucket:count,..." (h), or an escaped string (s):
 * bytes <= 0x20, '%', and >= 0x7f are written %XX, so a record never holds a space, newline or byte
 * outside printable ASCII. Readers ignore keys they do not know; unknown KINDs are skipped with a
 * warning; a header with a version above 1 is refused.
 *
 * Records ("last wins" records are cumulative snapshots; the reader keeps the last one per id):
 *   P  pid=u ppid=u start_ns=u(realtime) exe=s seq=u          process, once, right after the header;
 *      [tool=s]                                               tool: "loopscope VERSION (commit ID)"
 *   A  i=u v=s                                                argv[i]
 *   O  key=s value=s                                          an option in force
 *   M  id=u base=x lo=x hi=x path=s build_id=s                module: load bias, [lo,hi) mapped range,
 *                                                             build-id as hex text or "-"
 *   S  id=u ips=xs                                            stack: return addresses, innermost first;
 *                                                             frame 0 is the program's own call; id 0 = none
 *   T  tid=u parent=u stack=u routine=x start_ns=u role=s name=s   thread seen (main thread: parent=0)
 *   N  tid=u name=s [cpu_ns=u]                                thread renamed (pthread_setname_np, or its kernel
 *                                                             name changed); cpu_ns: at exit, a running one's CPU
 *   E  tid=u end_ns=u cpu_ns=u result=x how=s                 thread ended: returned|exited|cancelled
 *   J  tid=u by=u                                             thread joined by thread `by`
 *   D  tid=u                                                  thread detached
 *   L  id=u lib=s addr=x thread=u iterations=u callbacks=u    loop (last wins per id; a snapshot replaces
 *      [poll_ns=u] [callback_ns=u] [long_polls=u] [lag=h]     the whole entry): time inside poll calls and
 *      [closed=u]                                             inside callbacks, polls that took >= 1 s, loop
 *                                                             lag histogram (poll return -> next poll entry,
 *                                                             ns), closed=1 once uv_loop_close succeeded on
 *                                                             it (0 or 1; writers with poll_ns write it)
 *   C  id=u kind=s cb=x stack=u                               callback site: callback + registration stack;
 *                                                             a kind ending in " wait" (submit -> start) or
 *                                                             " latency" (submit -> done) times waiting
 *                                                             for the site's work, not a callback
 *   G  site=u count=u total_ns=u max_ns=u hist=h              site aggregate (last wins per site)
 *   F  id=u category=s severity=s tid=u count=u duration_ns=u total_ns=u [site=u] [kind=s] [cb=x]
 *      [stack=u] [call=s] [result=x] [other_tid=u] [status=i] finding (last wins per id); status: a negative
 *      message=s                                              errno (or libuv code) delivered to nobody
 *   H  [loop=u] kind=s [stack=u] [active=u] [ref=u]           a handle still open at exit, written at exit,
 *      [closing=u]                                            one per handle (identical records are separate
 *      [fd=u] [what=s] [addr=s] [peer=s] [events=s]           handles): loop = an L id (0/absent = unknown),
 *                                                             stack an S id or 0; active, ref, closing (uv_close
 *                                                             called, close callback not run yet): 0 or 1.
 *                                                             In a hang dump, a generic loop's fds are H kind=fd
 *                                                             and a libevent event may wait on one: fd, what it
 *                                                             is ("tcp listen", "tcp", "udp", "unix", "pipe",
 *                                                             "tty", "eventfd", "file", "closed", ...), local
 *                                                             address or path, a socket's peer, events waited
 *                                                             for ("in,out,pri,rdhup,et,oneshot")
 *   Y  reason=s                                               the hang dump begins: `loopscope run --timeout`
 *                                                             asked over LOOPSCOPE_CONTROL_FD (reason=timeout)
 *                                                             before it sent SIGTERM; then come:
 *   W  tid=u name=s state=s syscall=s                         one per thread of the process (the flush thread
 *                                                             answering excepted), from /proc: comm, state
 *                                                             letter (R, S, D, T, ...), the call it sits in
 *                                                             ("epoll_wait", "futex", "syscall 232"), or
 *                                                             "running", or "?"
 *      then one H per handle open at that moment, then the aggregates (L, G, Q, ...). H records after a Y,
 *      up to the first L, G, Q, X or Z, are the dump's; the H records written at exit, without a Y before
 *      them, are the ones still open at exit. A W before the Y belongs to the dump too.
 *   Q  size=u peak_queue=u [pending=u] [peak_pending=u]       thread pool: threads, deepest queue, requests
 *                                                             outstanding now and at most (last wins)
 *   I  what=s [fd=u] [count=u] [error=i] [at=u] [lost=u]      the shim's own trouble: fd-lost (the program took
 *      [sig=u] [addr=x] [hook=s] [ips=xs]                     the report's fd number over unseen; the file was
 *                                                             reopened: fd, count so far), write-failed (the
 *                                                             first failed write: errno, byte offset, records
 *                                                             not written; nothing was written after it but
 *                                                             this and the ending), internal-error (a fatal
 *                                                             signal in the shim's own code: sig, faulting
 *                                                             addr, the hook it was in, ips = the faulting
 *                                                             instruction, then return addresses)
 *   X  how=s status=i                                         how the process ended: exit|_exit|signal|exec
 *   Z  records=u                                              trailer: the file is complete; a file whose
 *                                                             last record is not Z is "truncated"
 * Time values are nanoseconds. start_ns/end_ns are CLOCK_REALTIME; durations come from the monotonic
 * clock (or the TSC calibrated against it).
 */
#ifndef LS_RECORD_H
#define LS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LS_REPORT_MAGIC "loopscope-report"
#define LS_REPORT_VERSION 1
#define LS_REC_MAX 16384 /* longest record the writer produces, and the reader accepts */

/* Encoder: builds one record in a caller-supplied buffer. No malloc, no locks, no stdio, so it is
 * async-signal-safe. On overflow the record is marked and ls_rec_end fails: never a partial line. */
struct ls_rec {
  char *buf;
  size_t cap, len;
  bool overflow;
};

void ls_rec_begin(struct ls_rec *r, char *buf, size_t cap, char kind);
void ls_rec_u(struct ls_rec *r, const char *key, uint64_t v);
void ls_rec_i(struct ls_rec *r, const char *key, int64_t v);
void ls_rec_x(struct ls_rec *r, const char *key, uint64_t v);
void ls_rec_s(struct ls_rec *r, const char *key, const char *s);
void ls_rec_sn(struct ls_rec *r, const char *key, const char *s, size_t n);
void ls_rec_xs(struct ls_rec *r, const char *key, const uintptr_t *v, size_t n);
void ls_rec_hist(struct ls_rec *r, const char *key, const uint64_t *counts, size_t n);
/* Terminates the line. Returns its length, or -ENOSPC when it did not fit. */
long ls_rec_end(struct ls_rec *r);

/* Decoder helpers for the reader. All return 0 or -EINVAL; none reads past [s, s+n). */
int ls_dec_u(const char *s, size_t n, uint64_t *out);
int ls_dec_i(const char *s, size_t n, int64_t *out);
int ls_dec_x(const char *s, size_t n, uint64_t *out);
/* Unescapes into out (at least n+1 bytes), NUL-terminates; *outlen excludes the NUL. A decoded NUL
 * byte is an error (strings never hold one). */
int ls_dec_s(const char *s, size_t n, char *out, size_t *outlen);

/* Formats v in decimal into buf (>= 21 bytes); returns length. Async-signal-safe. */
size_t ls_fmt_u(char *buf, uint64_t v);

#endif
