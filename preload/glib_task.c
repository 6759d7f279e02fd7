/* The GLib adapter: GTasks the program creates with g_task_new. GIO's own tasks (g_file_read_async
 * and friends) are created and completed inside libgio, whose calls to itself we cannot see: they are
 * not covered.
 *
 * The task's callback is swapped for a trampoline that finds the program's by the task pointer (the
 * GAsyncResult it is called with), so the task keeps the program's user_data and
 * g_async_result_get_user_data() returns it. The task's life is followed with a weak reference:
 * at dispose, a task that never returned is never-run ("Task was destroyed but it is pending!"), one
 * whose error nobody propagated is unretrieved-error ("Task exception was never retrieved"). Work
 * run with g_task_run_in_thread is timed on the pool thread, and its wait for one is pool-wait. */
#define _GNU_SOURCE
#include <gio/gio.h>
#include <stdarg.h>
#include <stdlib.h>

#include "account.h"
#include "glib.h"
#include "map.h"

#define K_TASK "gtask"
#define K_THREAD "gtask thread"

enum { T_RETURNED = 1, T_ERROR = 2, T_RETRIEVED = 4 };
enum { KEY_STATE = 0, KEY_QUEUED = 1 };

/* (task, KEY_STATE) -> (creation stack | flags << 32, callback site); (task, KEY_QUEUED) -> the clock
 * when g_task_run_in_thread queued it. */
static struct ls_map tasks;

static __attribute__((noreturn, noinline)) void lost(const char *what) {
  char line[160];
  size_t n = ls_join(line, sizeof(line) - 1, "loopscope: internal error: no GTask record for its ", what, NULL);
  line[n++] = '\n';
  ls_log_line(line, n);
  abort();
}

static void set_flags(const void *task, uintptr_t f) {
  uintptr_t v1, site;
  if (ls_map_get(&tasks, (uintptr_t)task, KEY_STATE, &v1, &site))
    ls_map_put(&tasks, (uintptr_t)task, KEY_STATE, v1 | f << 32, site);
}

/* ---- the task's end ---- */

LS_REAL_SLOT(g_task_get_completed);

static void task_gone(gpointer data, GObject *where) {
  (void)data;
  uintptr_t v1, site;
  if (!ls_map_get(&tasks, (uintptr_t)where, KEY_STATE, &v1, &site)) return;
  ls_map_del(&tasks, (uintptr_t)where, KEY_STATE);
  ls_map_del(&tasks, (uintptr_t)where, KEY_QUEUED);
  ls_unbind(where, GL_SLOT_TASK_CB);
  ls_unbind(where, GL_SLOT_TASK_WORK);
  if (!ls_active) return;
  uint32_t flags = (uint32_t)(v1 >> 32), stack = (uint32_t)v1;
  const void *cb = site ? ls_site_ptr((uint32_t)site)->cb : NULL;
  /* GLib itself may have returned it (a cancelled task with return-on-cancel): it says completed. */
  __typeof__(&g_task_get_completed) completed = LS_REAL_FN(g_task_get_completed, GIO_SONAME);
  if (!(flags & T_RETURNED) && !(completed && completed((GTask *)where))) {
    struct ls_finding_info fi = {.kind = K_TASK, .cb = cb, .site = (uint32_t)site, .stack = stack,
                                 .message = "GTask was destroyed but it never returned (no g_task_return_*): "
                                            "its callback never ran"};
    ls_finding_keyed(LS_F_NEVER_RUN, stack, site, &fi);
  } else if ((flags & T_ERROR) && !(flags & T_RETRIEVED)) {
    struct ls_finding_info fi = {.call = "g_task_return_error", .kind = K_TASK, .cb = cb, .site = (uint32_t)site,
                                 .stack = stack,
                                 .message = "GTask exception was never retrieved: the error it returned was never "
                                            "propagated (g_task_propagate_*, g_task_had_error)"};
    ls_finding_keyed(LS_F_UNRETRIEVED_ERROR, stack, site, &fi);
  }
}

/* ---- creation, and the completion callback ---- */

static void task_tramp(GObject *source, GAsyncResult *res, gpointer data) {
  void *cb;
  uint32_t site;
  if (LS_UNLIKELY(!ls_binding(res, GL_SLOT_TASK_CB, &cb, &site))) lost("callback");
  uint64_t t0 = ls_cb_begin(site);
  LS_PROGRAM_RUN(((GAsyncReadyCallback)cb)(source, res, data));
  ls_site_account(site, t0);
}

LS_REAL_SLOT(g_task_new);
LS_REAL_SLOT(g_object_weak_ref);
LS_EXPORT GTask *g_task_new(gpointer source, GCancellable *cancellable, GAsyncReadyCallback cb, gpointer data) {
  __typeof__(&g_task_new) real_ = LS_REAL_FN(g_task_new, GIO_SONAME);
  if (!real_) return NULL;
  __typeof__(&g_object_weak_ref) weak_ref = LS_REAL_FN(g_object_weak_ref, GOBJECT_SONAME);
  if (!weak_ref || !GL_MINE_CB(cb)) return GL_CALL(real_(source, cancellable, cb, data));
  uint32_t site = cb ? ls_site_get(K_TASK, (const void *)cb, GL_CALLER) : LS_SITE_NONE;
  GTask *t = GL_CALL(real_(source, cancellable, site != LS_SITE_NONE ? task_tramp : cb, data));
  if (!t) return t;
  /* Bound before anyone can return the task: the caller has not seen it yet. */
  if (site != LS_SITE_NONE) ls_bind(t, GL_SLOT_TASK_CB, (void *)cb, site);
  uint32_t stack = site != LS_SITE_NONE ? ls_site_ptr(site)->stack : ls_creation_stack(K_TASK, GL_CALLER);
  ls_map_put(&tasks, (uintptr_t)t, KEY_STATE, stack, site);
  weak_ref((GObject *)t, task_gone, NULL);
  return t;
}

/* ---- returning and propagating ---- */

/* X(name, params, args, flags): the flags are set before the real call, which may run the callback
 * (and the program's propagate, and the task's end) at once. */
#define GL_TASK_RETURNS(X)                                                                                   \
  X(g_task_return_pointer, (GTask * task, gpointer result, GDestroyNotify destroy), (task, result, destroy), \
    T_RETURNED)                                                                                              \
  X(g_task_return_boolean, (GTask * task, gboolean result), (task, result), T_RETURNED)                      \
  X(g_task_return_int, (GTask * task, gssize result), (task, result), T_RETURNED)                            \
  X(g_task_return_value, (GTask * task, GValue * result), (task, result), T_RETURNED)                        \
  X(g_task_return_error, (GTask * task, GError * error), (task, error), T_RETURNED | T_ERROR)

#define GEN_RETURN(name, params, args, flags)                                                               \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT void name params {                                                                              \
    __typeof__(&name) real_ = LS_REAL_FN(name, GIO_SONAME);                                                 \
    if (!real_) return;                                                                                     \
    if (task && ls_active) set_flags(task, flags);                                                          \
    GL_CALL_VOID(real_ args);                                                                               \
  }
GL_TASK_RETURNS(GEN_RETURN)

/* GLib's own g_task_return_new_error is g_error_new_valist and g_task_return_error: the same two
 * calls, so the format arguments need no forwarding. */
LS_REAL_SLOT(g_error_new_valist);
LS_EXPORT void g_task_return_new_error(GTask *task, GQuark domain, gint code, const char *format, ...) {
  __typeof__(&g_task_return_error) ret = LS_REAL_FN(g_task_return_error, GIO_SONAME);
  __typeof__(&g_error_new_valist) new_error = LS_REAL_FN(g_error_new_valist, GL_SONAME);
  if (!ret || !new_error) return;
  va_list ap;
  va_start(ap, format);
  GError *e = new_error(domain, code, format, ap);
  va_end(ap);
  if (task && ls_active) set_flags(task, T_RETURNED | T_ERROR);
  GL_CALL_VOID(ret(task, e));
}

LS_REAL_SLOT(g_task_get_cancellable);
LS_REAL_SLOT(g_cancellable_is_cancelled);
LS_REAL_SLOT(g_task_get_type);
LS_REAL_SLOT(g_type_check_instance_is_a);

/* G_IS_TASK, as GLib's own checks ask it, with the functions found at run time. */
static bool is_task(GTask *task) {
  __typeof__(&g_task_get_type) type = LS_REAL_FN(g_task_get_type, GIO_SONAME);
  __typeof__(&g_type_check_instance_is_a) is_a = LS_REAL_FN(g_type_check_instance_is_a, GOBJECT_SONAME);
  return task && type && is_a && is_a((GTypeInstance *)task, type());
}

LS_REAL_SLOT(g_task_return_error_if_cancelled);
LS_EXPORT gboolean g_task_return_error_if_cancelled(GTask *task) {
  __typeof__(&g_task_return_error_if_cancelled) real_ = LS_REAL_FN(g_task_return_error_if_cancelled, GIO_SONAME);
  if (!real_) return FALSE;
  __typeof__(&g_task_get_cancellable) get_c = LS_REAL_FN(g_task_get_cancellable, GIO_SONAME);
  __typeof__(&g_cancellable_is_cancelled) is_c = LS_REAL_FN(g_cancellable_is_cancelled, GIO_SONAME);
  /* It returns an error exactly when the task's cancellable is cancelled. Asked only of a GTask: for
   * anything else the real call alone says what GLib says (g_task_get_cancellable would add a critical). */
  if (ls_active && get_c && is_c && is_task(task) && is_c(get_c(task))) set_flags(task, T_RETURNED | T_ERROR);
  return GL_CALL(real_(task));
}

/* X(ret, name, params, args) */
#define GL_TASK_PROPAGATES(X)                                                                                \
  X(gpointer, g_task_propagate_pointer, (GTask * task, GError * *error), (task, error))                     \
  X(gboolean, g_task_propagate_boolean, (GTask * task, GError * *error), (task, error))                     \
  X(gssize, g_task_propagate_int, (GTask * task, GError * *error), (task, error))                           \
  X(gboolean, g_task_propagate_value, (GTask * task, GValue * value, GError * *error), (task, value, error)) \
  X(gboolean, g_task_had_error, (GTask * task), (task))

#define GEN_PROPAGATE(ret, name, params, args)                                                              \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT ret name params {                                                                               \
    __typeof__(&name) real_ = LS_REAL_FN(name, GIO_SONAME);                                                 \
    if (!real_) return (ret)0;                                                                              \
    if (task && ls_active) set_flags(task, T_RETRIEVED);                                                    \
    return GL_CALL(real_ args);                                                                             \
  }
GL_TASK_PROPAGATES(GEN_PROPAGATE)

/* ---- work in GLib's pool ---- */

static void thread_tramp(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable) {
  void *fn;
  uint32_t site;
  if (LS_UNLIKELY(!ls_binding(task, GL_SLOT_TASK_WORK, &fn, &site))) lost("thread function");
  ls_unbind(task, GL_SLOT_TASK_WORK); /* a task runs in a thread once */
  uintptr_t queued;
  uint64_t t0 = ls_now();
  if (ls_map_get(&tasks, (uintptr_t)task, KEY_QUEUED, &queued, NULL)) {
    ls_map_del(&tasks, (uintptr_t)task, KEY_QUEUED);
    uint64_t wait = ls_ticks_to_ns(t0 - queued);
    if (wait >= ls_opt.pool_wait_ms * 1000000u) {
      struct ls_site *s = ls_site_ptr(site);
      struct ls_finding_info fi = {.kind = K_THREAD, .cb = s->cb, .site = site, .stack = s->stack,
                                   .duration_ns = wait, .message = "GTask work waited for a GLib pool thread"};
      ls_finding_keyed(LS_F_POOL_WAIT, site, 0, &fi);
    }
  }
  LS_PROGRAM_RUN(((GTaskThreadFunc)fn)(task, source, task_data, cancellable));
  /* Pool time: never a slow-callback, no loop's counters. */
  ls_site_account_ns(site, ls_ticks_to_ns(ls_now() - t0));
}

static GTaskThreadFunc queue_work(GTask *task, GTaskThreadFunc fn, const void *caller) {
  if (!task || !fn || !ls_programs_callback(LS_LIB_GLIB, caller, (const void *)fn)) return fn;
  uint32_t site = ls_site_get(K_THREAD, (const void *)fn, caller);
  if (site == LS_SITE_NONE) return fn;
  ls_bind(task, GL_SLOT_TASK_WORK, (void *)fn, site);
  ls_map_put(&tasks, (uintptr_t)task, KEY_QUEUED, ls_now(), 0);
  return thread_tramp;
}

#define GL_TASK_RUNS(X) X(g_task_run_in_thread) X(g_task_run_in_thread_sync)
#define GEN_RUN(name)                                                                                       \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT void name(GTask *task, GTaskThreadFunc fn) {                                                    \
    __typeof__(&name) real_ = LS_REAL_FN(name, GIO_SONAME);                                                 \
    if (!real_) return;                                                                                     \
    GTaskThreadFunc fn_ = queue_work(task, fn, GL_CALLER);                                                  \
    GL_CALL_VOID(real_(task, fn_));                                                                         \
  }
GL_TASK_RUNS(GEN_RUN)
