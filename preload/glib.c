/* The GLib adapter: contexts and loops. Which thread iterates which context (an ls_loop per
 * GMainContext, lib "glib", set as the thread's loop while g_main_loop_run, g_main_context_iteration
 * or g_main_context_dispatch runs, nested runs saved and restored), loop-reentry where GLib forbids it,
 * and the contexts and main loops the program makes and never unrefs. Sources are in glib_src.c,
 * GTask in glib_task.c, what is left open in glib_track.c.
 *
 * No wrong-thread for GLib: GMainContext is thread-safe, and a thread that iterates a context another
 * thread owns waits for it (g_main_loop_run) or fails by design (g_main_context_iteration returns
 * FALSE). Nested g_main_loop_run from a dispatched callback is legal GLib and is not loop-reentry;
 * iterating a context from inside one of its sources' prepare or check is not (GLib warns "called
 * recursively from within a source's check() or prepare() member" and skips the iteration). */
#define _GNU_SOURCE
#include "glib.h"

LS_TLS GMainContext *gl_tls_prepare_ctx;
LS_TLS GMainContext *gl_tls_unref_ctx;

/* ---- contexts ---- */

LS_REAL_SLOT(g_main_context_default);
LS_REAL_SLOT(g_main_loop_get_context);

GMainContext *gl_context(GMainContext *ctx) {
  if (ctx) return ctx;
  __typeof__(&g_main_context_default) def = LS_REAL_FN(g_main_context_default, GL_SONAME);
  return def ? def() : NULL;
}

/* GLib refuses to iterate a context from inside one of its own sources' prepare or check. */
static __attribute__((noinline)) void reentry(GMainContext *ctx, const char *call, const void *caller) {
  char msg[200];
  ls_join(msg, sizeof(msg), "This GLib context is being prepared or checked: ", call,
          "() called from inside a source's prepare() or check()");
  struct ls_finding_info fi = {.call = call, .capture = true, .message = msg};
  ls_finding_keyed(LS_F_LOOP_REENTRY, (uintptr_t)ctx, (uintptr_t)caller, &fi);
}

/* What a call that iterates a context changes on this thread, to be put back when it returns. */
struct iterating {
  struct ls_loop *loop, *outer;
  pid_t outer_running;
};

/* Before a call that iterates ctx on this thread: the context's loop becomes the thread's, and the
 * thread is the one running it (the watchdog samples a running loop that stays out of its poll).
 * Returns whether anything was changed. */
static bool enter(GMainContext *ctx, const char *call, const void *caller, struct iterating *it) {
  if (!ls_active || ls_tls.guard) return false;
  ctx = gl_context(ctx);
  if (!ctx) return false;
  if (LS_UNLIKELY(gl_tls_prepare_ctx == ctx) && !ls_is_shim_code(caller)) reentry(ctx, call, caller);
  struct ls_loop *l = ls_loop_get(GL_LIB, ctx);
  if (!l) return false;
  pid_t me = ls_gettid();
  LS_RELAXED_STORE(&l->thread, me);
  it->loop = l;
  it->outer = ls_tls.loop;
  it->outer_running = __atomic_exchange_n(&l->running, me, __ATOMIC_ACQ_REL);
  ls_tls.loop = l;
  return true;
}

static void leave(const struct iterating *it) {
  ls_tls.loop = it->outer;
  __atomic_store_n(&it->loop->running, it->outer_running, __ATOMIC_RELEASE);
}

LS_REAL_SLOT(g_main_loop_run);
LS_EXPORT void g_main_loop_run(GMainLoop *loop) {
  __typeof__(&g_main_loop_run) real_ = LS_REAL_FN(g_main_loop_run, GL_SONAME);
  if (!real_) return;
  __typeof__(&g_main_loop_get_context) get = LS_REAL_FN(g_main_loop_get_context, GL_SONAME);
  struct iterating it;
  bool in = loop && get && enter(get(loop), "g_main_loop_run", GL_CALLER, &it);
  GL_CALL_VOID(real_(loop));
  if (in) leave(&it);
}

LS_REAL_SLOT(g_main_context_iteration);
LS_EXPORT gboolean g_main_context_iteration(GMainContext *ctx, gboolean may_block) {
  __typeof__(&g_main_context_iteration) real_ = LS_REAL_FN(g_main_context_iteration, GL_SONAME);
  if (!real_) return FALSE;
  struct iterating it;
  bool in = enter(ctx, "g_main_context_iteration", GL_CALLER, &it);
  gboolean r = GL_CALL(real_(ctx, may_block));
  if (in) leave(&it);
  return r;
}

/* A program that runs the steps itself (prepare, query, poll, check, dispatch): its callbacks run in
 * dispatch. */
LS_REAL_SLOT(g_main_context_dispatch);
LS_EXPORT void g_main_context_dispatch(GMainContext *ctx) {
  __typeof__(&g_main_context_dispatch) real_ = LS_REAL_FN(g_main_context_dispatch, GL_SONAME);
  if (!real_) return;
  struct iterating it;
  bool in = enter(ctx, "g_main_context_dispatch", GL_CALLER, &it);
  GL_CALL_VOID(real_(ctx));
  if (in) leave(&it);
}

/* The steps that GLib refuses to run recursively from prepare/check are findings there too. */
LS_REAL_SLOT(g_main_context_prepare);
LS_EXPORT gboolean g_main_context_prepare(GMainContext *ctx, gint *priority) {
  __typeof__(&g_main_context_prepare) real_ = LS_REAL_FN(g_main_context_prepare, GL_SONAME);
  if (!real_) return FALSE;
  if (LS_UNLIKELY(gl_tls_prepare_ctx != NULL) && ls_active && !ls_tls.guard && gl_context(ctx) == gl_tls_prepare_ctx)
    reentry(gl_tls_prepare_ctx, "g_main_context_prepare", GL_CALLER);
  return GL_CALL(real_(ctx, priority));
}

/* ---- contexts and main loops the program makes: still open at exit unless it unrefs them ---- */

LS_REAL_SLOT(g_main_context_new);
LS_EXPORT GMainContext *g_main_context_new(void) {
  __typeof__(&g_main_context_new) real_ = LS_REAL_FN(g_main_context_new, GL_SONAME);
  if (!real_) return NULL;
  bool mine = GL_MINE;
  GMainContext *c = GL_CALL(real_());
  if (c && mine) gl_obj_new(c, GL_OBJ_CONTEXT, GL_CALLER, c);
  return c;
}

LS_REAL_SLOT(g_main_loop_new);
LS_EXPORT GMainLoop *g_main_loop_new(GMainContext *ctx, gboolean is_running) {
  __typeof__(&g_main_loop_new) real_ = LS_REAL_FN(g_main_loop_new, GL_SONAME);
  if (!real_) return NULL;
  bool mine = GL_MINE;
  GMainLoop *l = GL_CALL(real_(ctx, is_running));
  if (l && mine) gl_obj_new(l, GL_OBJ_LOOP, GL_CALLER, gl_context(ctx));
  return l;
}

LS_REAL_SLOT(g_main_context_ref);
LS_EXPORT GMainContext *g_main_context_ref(GMainContext *ctx) {
  __typeof__(&g_main_context_ref) real_ = LS_REAL_FN(g_main_context_ref, GL_SONAME);
  if (!real_) return ctx;
  if (ctx && GL_MINE) gl_obj_ref(ctx);
  return GL_CALL(real_(ctx));
}

LS_REAL_SLOT(g_main_loop_ref);
LS_EXPORT GMainLoop *g_main_loop_ref(GMainLoop *loop) {
  __typeof__(&g_main_loop_ref) real_ = LS_REAL_FN(g_main_loop_ref, GL_SONAME);
  if (!real_) return loop;
  if (loop && GL_MINE) gl_obj_ref(loop);
  return GL_CALL(real_(loop));
}

/* Sources whose callbacks are released inside these calls are released because their context is
 * going away (glib_src.c: a one-shot never dispatched is never-run). */
LS_REAL_SLOT(g_main_context_unref);
LS_EXPORT void g_main_context_unref(GMainContext *ctx) {
  __typeof__(&g_main_context_unref) real_ = LS_REAL_FN(g_main_context_unref, GL_SONAME);
  if (!real_) return;
  if (!ctx || !GL_MINE) {
    GL_CALL_VOID(real_(ctx));
    return;
  }
  gl_obj_unref(ctx);
  GMainContext *outer = gl_tls_unref_ctx;
  gl_tls_unref_ctx = ctx;
  GL_CALL_VOID(real_(ctx));
  gl_tls_unref_ctx = outer;
}

LS_REAL_SLOT(g_main_loop_unref);
LS_EXPORT void g_main_loop_unref(GMainLoop *loop) {
  __typeof__(&g_main_loop_unref) real_ = LS_REAL_FN(g_main_loop_unref, GL_SONAME);
  if (!real_) return;
  __typeof__(&g_main_loop_get_context) get = LS_REAL_FN(g_main_loop_get_context, GL_SONAME);
  if (!loop || !get || !GL_MINE) {
    GL_CALL_VOID(real_(loop));
    return;
  }
  gl_obj_unref(loop);
  GMainContext *outer = gl_tls_unref_ctx;
  gl_tls_unref_ctx = get(loop); /* the program still holds it: alive */
  GL_CALL_VOID(real_(loop));
  gl_tls_unref_ctx = outer;
}

/* ---- registration with core.c ---- */

static const struct ls_adapter glib_adapter = {gl_track_finish, gl_track_dump_open};

__attribute__((constructor)) static void gl_register(void) { ls_adapter_add(&glib_adapter); }
