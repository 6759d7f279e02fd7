/* libuv bookkeeping behind the findings that need memory of the past: which handles are open and
 * where they were created (unclosed-resource, still open at exit), which requests are pending
 * (never-run), which thread runs each loop (wrong-thread, loop-reentry), how long queued work
 * waited (pool-wait). uv.c calls these from its hooks and trampolines. */
#ifndef LS_UV_TRACK_H
#define LS_UV_TRACK_H

#include <uv.h>

#include "shim.h"

#define LS_UV_LIB "libuv"

/* Handles: opened by a *_init the program called, closing at uv_close, closed when the close callback
 * (ours or the program's) runs. */
void ls_uv_handle_opened(const void *h, const char *kind, const void *loop, const void *caller);
void ls_uv_handle_closing(const void *h);
void ls_uv_handle_closed(const void *h);
bool ls_uv_handle_is_closing(const void *h);
/* libuv refused to close h (uv_tcp_close_reset failed): it is open, as before the call. */
void ls_uv_handle_close_refused(const void *h);

/* Requests: pending from submission until their callback starts. */
void ls_uv_req_submitted(const void *req, uint32_t site, const void *loop);
void ls_uv_req_forget(const void *req); /* submission failed: no callback will come */
/* In a request trampoline, before the program's callback: no longer pending; adds the
 * submit-to-callback latency to the site's partner. */
void ls_uv_req_done(const void *req);
/* A stand-in for a NULL callback: done, and a negative status nobody sees is unretrieved-error. */
void ls_uv_req_null_done(const void *req, int status, const char *call);

/* Queued work: the work callback starts on a pool thread. Accounts the wait, finds pool-wait. */
void ls_uv_work_started(const void *req, uint32_t site);

/* wrong-thread: the loop is running on another thread right now. The check is inline (it runs on
 * every hooked call); the report is not. */
void ls_uv_wrong_thread(struct ls_loop *l, pid_t running, const char *call, const void *caller);
static inline void ls_uv_check_thread(const void *loop, const char *call, const void *caller) {
  struct ls_loop *l = ls_loop_find(loop);
  if (!l) return;
  pid_t running = LS_RELAXED_LOAD(&l->running);
  if (LS_LIKELY(!running || running == ls_gettid())) return;
  ls_uv_wrong_thread(l, running, call, caller);
}
void ls_uv_work_queued(void);

/* uv_loop_close returned rc: on UV_EBUSY, the handles our records hold open on loop blocked it. */
void ls_uv_loop_closed(uv_loop_t *loop, int rc);

/* At exit: never-run, unclosed-resource, still open at exit, the pool record. */
void ls_uv_finish(void);
/* The open handles as H records now (a hang dump for --timeout). */
void ls_uv_dump_open(void);
void ls_uv_flush_locked(void);

/* A partner site (latency / wait) for a request or work site, made once. */
uint32_t ls_uv_partner(uint32_t site, const char *kind);

#endif
