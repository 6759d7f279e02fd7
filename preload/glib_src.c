/* The GLib adapter: sources the program attaches, and the callbacks it gives them.
 *
 * A built-in source (idle, timeout, io watch, child watch, unix fd, unix signal) gets the program's
 * callback through g_source_set_callback_indirect with our record (struct gl_src) as its callback
 * data. GLib asks the record's get for the function and data right before each dispatch (on the
 * dispatching thread); get hands back the shape's trampoline and the program's own data, and leaves
 * the record in a thread-local for the trampoline, which times the program's function. Everything
 * that looks at a source's data (g_source_remove_by_user_data, ..._find_source_by_user_data) still
 * sees the program's pointer. The record's last unref is the source letting its callback go (destroyed,
 * or its context freed): we call the program's destroy notify then.
 *
 * The g_*_add convenience functions are exactly "new source, priority, callback, attach to the
 * default context, unref"; we make those same calls with our record in place of the plain callback.
 *
 * A custom source type (g_source_new with the program's GSourceFuncs) gets a copy of its funcs whose
 * prepare, check, dispatch and finalize are trampolines: dispatch is timed (its callback has a shape
 * only the source knows), prepare and check mark the thread for loop-reentry, finalize says the
 * source is gone. */
#define _GNU_SOURCE
#include <glib-unix.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "glib.h"
#include "map.h"

enum gl_shape { SHAPE_SOURCE, SHAPE_ONCE, SHAPE_IO, SHAPE_CHILD, SHAPE_FD };

struct gl_src {
  int ref;             /* GSourceCallbackFuncs ref/unref */
  enum gl_shape shape;
  bool oneshot;        /* dispatched at most once by nature (idle sources, the *_once functions); a
                          timeout is one-shot when its site's callbacks only ever removed it */
  const char *kind;
  void *fn;            /* the program's callback, data and destroy notify */
  gpointer data;
  GDestroyNotify notify;
  GSource *source;
  uint32_t site;       /* once the program attached the source */
  GMainContext *ctx;
  uint64_t dispatched;
};

/* Site kinds (one object each: a record's kind is compared by address). */
static const char K_IDLE[] = "glib idle", K_TIMEOUT[] = "glib timeout", K_IO[] = "glib io watch",
                  K_CHILD[] = "glib child watch", K_FD[] = "glib unix fd", K_SIGNAL[] = "glib unix signal",
                  K_CUSTOM[] = "glib source", K_INVOKE[] = "glib invoke";

static __attribute__((noreturn, noinline)) void lost(const char *what) {
  /* GLib called a trampoline without asking our get first: calling anything would be a guess. */
  char line[160];
  size_t n = ls_join(line, sizeof(line) - 1, "loopscope: internal error: no GLib source record for ", what, NULL);
  line[n++] = '\n';
  ls_log_line(line, n);
  abort();
}

/* ---- the callback path ---- */

static LS_TLS struct gl_src *current; /* set by get, taken by the trampoline that follows */

static inline struct gl_src *take_current(gpointer data, const char *shape) {
  struct gl_src *s = current;
  current = NULL;
  if (LS_UNLIKELY(!s || s->data != data)) lost(shape);
  LS_RELAXED_STORE(&s->dispatched, s->dispatched + 1); /* before the call: it may release the source */
  return s;
}

/* The record stays alive until the call is over: GLib holds a callback reference across dispatch. */
static inline void account(const struct gl_src *s, uint64_t t0) {
  if (LS_LIKELY(s->site != LS_SITE_NONE)) ls_site_account(s->site, t0);
}

/* What a timeout site's callbacks have returned so far (bit 1: G_SOURCE_REMOVE, bit 2: CONTINUE): a
 * timeout from a site whose callbacks only ever removed their source is one-shot, like an idle. Indexed
 * by site id; untouched pages of it cost nothing. */
#define RET_REMOVE 1
#define RET_CONTINUE 2
static uint8_t site_returns[LS_MAX_SITES];

static inline void learn_return(const struct gl_src *s, gboolean r) {
  uint8_t bit = r ? RET_CONTINUE : RET_REMOVE;
  uint8_t *p = &site_returns[s->site];
  if (LS_UNLIKELY(!(LS_RELAXED_LOAD(p) & bit))) __atomic_fetch_or(p, bit, __ATOMIC_RELAXED);
}

static gboolean tramp_source(gpointer data) {
  struct gl_src *s = take_current(data, "source");
  uint64_t t0 = ls_cb_begin(s->site);
  gboolean r;
  LS_PROGRAM_RUN(r = ((GSourceFunc)s->fn)(data));
  account(s, t0);
  if (s->kind == K_TIMEOUT) learn_return(s, r);
  return r;
}

static gboolean tramp_once(gpointer data) {
  struct gl_src *s = take_current(data, "once");
  uint64_t t0 = ls_cb_begin(s->site);
  LS_PROGRAM_RUN(((GSourceOnceFunc)s->fn)(data));
  account(s, t0);
  return G_SOURCE_REMOVE;
}

static gboolean tramp_io(GIOChannel *ch, GIOCondition cond, gpointer data) {
  struct gl_src *s = take_current(data, "io watch");
  uint64_t t0 = ls_cb_begin(s->site);
  gboolean r;
  LS_PROGRAM_RUN(r = ((GIOFunc)s->fn)(ch, cond, data));
  account(s, t0);
  return r;
}

static void tramp_child(GPid pid, gint status, gpointer data) {
  struct gl_src *s = take_current(data, "child watch");
  uint64_t t0 = ls_cb_begin(s->site);
  LS_PROGRAM_RUN(((GChildWatchFunc)s->fn)(pid, status, data));
  account(s, t0);
}

static gboolean tramp_fd(gint fd, GIOCondition cond, gpointer data) {
  struct gl_src *s = take_current(data, "unix fd");
  uint64_t t0 = ls_cb_begin(s->site);
  gboolean r;
  LS_PROGRAM_RUN(r = ((GUnixFDSourceFunc)s->fn)(fd, cond, data));
  account(s, t0);
  return r;
}

static void *const tramps[] = {
    [SHAPE_SOURCE] = (void *)tramp_source, [SHAPE_ONCE] = (void *)tramp_once, [SHAPE_IO] = (void *)tramp_io,
    [SHAPE_CHILD] = (void *)tramp_child,   [SHAPE_FD] = (void *)tramp_fd,
};

/* ---- the record as GLib's callback object ---- */

static void cb_ref(gpointer p) { __atomic_add_fetch(&((struct gl_src *)p)->ref, 1, __ATOMIC_RELAXED); }

static void cb_unref(gpointer p) {
  struct gl_src *s = p;
  if (__atomic_sub_fetch(&s->ref, 1, __ATOMIC_ACQ_REL) != 0) return;
  /* Released inside the program's unref of its context: the context is being freed. */
  bool oneshot = s->oneshot || (s->site != LS_SITE_NONE && s->kind == K_TIMEOUT &&
                                LS_RELAXED_LOAD(&site_returns[s->site]) == RET_REMOVE);
  if (s->site != LS_SITE_NONE && oneshot && LS_RELAXED_LOAD(&s->dispatched) == 0 && s->ctx &&
      gl_tls_unref_ctx == s->ctx && ls_active)
    gl_src_never_dispatched(s->site, s->ctx);
  if (s->site != LS_SITE_NONE) gl_src_closed(s);
  void *cb;
  uint32_t site;
  if (ls_binding(s->source, GL_SLOT_RECORD, &cb, &site) && cb == s) {
    ls_unbind(s->source, GL_SLOT_RECORD);
    ls_unbind(s->source, GL_SLOT_NAME); /* a name never consumed by an attach */
  }
  if (s->notify) LS_PROGRAM_RUN(s->notify(s->data));
  free(s);
}

static void cb_get(gpointer p, GSource *source, GSourceFunc *func, gpointer *data) {
  (void)source;
  struct gl_src *s = p;
  current = s;
  *func = (GSourceFunc)tramps[s->shape];
  *data = s->data;
}

static GSourceCallbackFuncs cb_funcs = {cb_ref, cb_unref, cb_get};

/* ---- real functions ---- */

LS_REAL_SLOT(g_source_set_callback_indirect);
LS_REAL_SLOT(g_source_attach);
LS_REAL_SLOT(g_source_set_priority);
LS_REAL_SLOT(g_source_unref);
LS_REAL_SLOT(g_idle_source_new);
LS_REAL_SLOT(g_timeout_source_new);
LS_REAL_SLOT(g_timeout_source_new_seconds);
LS_REAL_SLOT(g_io_create_watch);
LS_REAL_SLOT(g_child_watch_source_new);
LS_REAL_SLOT(g_unix_fd_source_new);
#define REAL(name) LS_REAL_FN(name, GL_SONAME)

/* The built-in source types by their funcs (data symbols of libglib, found at run time). */
static const struct {
  const char *sym, *kind;
  enum gl_shape shape;
} builtin[] = {
    {"g_idle_funcs", K_IDLE, SHAPE_SOURCE},          {"g_timeout_funcs", K_TIMEOUT, SHAPE_SOURCE},
    {"g_io_watch_funcs", K_IO, SHAPE_IO},            {"g_child_watch_funcs", K_CHILD, SHAPE_CHILD},
    {"g_unix_fd_source_funcs", K_FD, SHAPE_FD},      {"g_unix_signal_funcs", K_SIGNAL, SHAPE_SOURCE},
};
#define N_BUILTIN (sizeof(builtin) / sizeof(builtin[0]))
static void *builtin_addr[N_BUILTIN];

static int builtin_index(const GSourceFuncs *f) {
  for (size_t i = 0; i < N_BUILTIN; i++)
    if (f && f == ls_real(&builtin_addr[i], builtin[i].sym, GL_SONAME)) return (int)i;
  return -1;
}

/* "glib timeout" or, for a source the program named before attaching it, "glib timeout NAME".
 * GLib names its own source types ("GIdleSource", "GIOChannel (Unix)"): only the program's
 * g_source_set_name counts, remembered per source until the attach (names are interned: a site's kind
 * lives as long as the process). */
struct kind_name {
  struct kind_name *next;
  char text[];
};
static struct kind_name *kind_names;
static pthread_mutex_t kind_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *intern(const char *text) {
  pthread_mutex_lock(&kind_mu);
  struct kind_name *k;
  for (k = kind_names; k; k = k->next)
    if (strcmp(k->text, text) == 0) break;
  if (!k && (k = malloc(sizeof(*k) + strlen(text) + 1)) != NULL) {
    strcpy(k->text, text);
    k->next = kind_names;
    kind_names = k;
  }
  pthread_mutex_unlock(&kind_mu);
  return k ? k->text : NULL;
}

static const char *kind_for(const char *base, GSource *source) {
  void *name;
  uint32_t unused;
  if (!ls_binding(source, GL_SLOT_NAME, &name, &unused)) return base;
  ls_unbind(source, GL_SLOT_NAME);
  char buf[160];
  ls_join(buf, sizeof(buf), base, " ", name);
  const char *k = intern(buf);
  return k ? k : base;
}

#define GL_NAMES(X) X(g_source_set_name) X(g_source_set_static_name)
#define GEN_NAME(name)                                                                                      \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT void name(GSource *source, const char *n) {                                                     \
    __typeof__(&name) real_ = REAL(name);                                                                   \
    if (!real_) return;                                                                                     \
    if (source && n && *n && GL_MINE) {                                                                     \
      const char *k = intern(n);                                                                            \
      if (k) ls_bind(source, GL_SLOT_NAME, (void *)k, 0);                                                  \
    }                                                                                                       \
    GL_CALL_VOID(real_(source, n));                                                                         \
  }
GL_NAMES(GEN_NAME)

static uint32_t site_for(const char *kind, const void *fn, const void *caller) {
  return ls_site_get(kind, fn, caller);
}

static struct gl_src *src_new(enum gl_shape shape, const char *kind, void *fn, gpointer data, GDestroyNotify notify,
                              GSource *source) {
  struct gl_src *s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  bool oneshot = shape == SHAPE_ONCE || kind == K_IDLE || kind == K_INVOKE;
  *s = (struct gl_src){.ref = 1, .shape = shape, .oneshot = oneshot, .kind = kind, .fn = fn, .data = data,
                       .notify = notify, .source = source};
  return s;
}

/* The program attached s's source to ctx from caller. */
static void src_attached(struct gl_src *s, GMainContext *ctx, const void *caller) {
  s->ctx = gl_context(ctx);
  if (s->site == LS_SITE_NONE) s->site = site_for(kind_for(s->kind, s->source), s->fn, caller);
  if (s->site != LS_SITE_NONE) gl_src_open(s, s->site, s->ctx);
}

/* ---- g_*_add: new source, priority, our callback record, attach to the default context ---- */

static guint add_source_to(GSource *source, GMainContext *ctx, gint priority, enum gl_shape shape, const char *kind,
                           void *fn, gpointer data, GDestroyNotify notify, const void *caller) {
  __typeof__(&g_source_set_callback_indirect) set_cb = REAL(g_source_set_callback_indirect);
  __typeof__(&g_source_set_priority) set_prio = REAL(g_source_set_priority);
  __typeof__(&g_source_attach) attach = REAL(g_source_attach);
  __typeof__(&g_source_unref) unref = REAL(g_source_unref);
  struct gl_src *s = src_new(shape, kind, fn, data, notify, source);
  if (!s || !set_cb || !set_prio || !attach || !unref) abort(); /* out of memory: g_malloc would abort too */
  set_prio(source, priority);
  src_attached(s, ctx, caller);
  ls_bind(source, GL_SLOT_RECORD, s, 0);
  set_cb(source, s, &cb_funcs);
  guint id = attach(source, ctx);
  unref(source);
  return id;
}

static guint add_source(GSource *source, gint priority, enum gl_shape shape, const char *kind, void *fn,
                        gpointer data, GDestroyNotify notify, const void *caller) {
  return add_source_to(source, NULL, priority, shape, kind, fn, data, notify, caller);
}

#define MAKE(fn, args) ({ __typeof__(&fn) f_ = REAL(fn); f_ ? f_ args : NULL; })
/* A source made only for arguments GLib accepts: for the rest the real g_*_add says what GLib says, once
 * (making the source first would add a critical of its own). */
#define MAKE_IF(ok, fn, args) ((ok) ? MAKE(fn, args) : NULL)

/* X(name, params, args, make, priority, shape, kind, notify); the callback is fn, its data data. */
#define GL_ADDS(X)                                                                                          \
  X(g_idle_add, (GSourceFunc fn, gpointer data), (fn, data), MAKE(g_idle_source_new, ()),                   \
    G_PRIORITY_DEFAULT_IDLE, SHAPE_SOURCE, K_IDLE, NULL)                                                    \
  X(g_idle_add_full, (gint prio, GSourceFunc fn, gpointer data, GDestroyNotify notify), (prio, fn, data, notify), \
    MAKE(g_idle_source_new, ()), prio, SHAPE_SOURCE, K_IDLE, notify)                                       \
  X(g_idle_add_once, (GSourceOnceFunc fn, gpointer data), (fn, data), MAKE(g_idle_source_new, ()),         \
    G_PRIORITY_DEFAULT_IDLE, SHAPE_ONCE, K_IDLE, NULL)                                                      \
  X(g_timeout_add, (guint ms, GSourceFunc fn, gpointer data), (ms, fn, data), MAKE(g_timeout_source_new, (ms)), \
    G_PRIORITY_DEFAULT, SHAPE_SOURCE, K_TIMEOUT, NULL)                                                      \
  X(g_timeout_add_full, (gint prio, guint ms, GSourceFunc fn, gpointer data, GDestroyNotify notify),        \
    (prio, ms, fn, data, notify), MAKE(g_timeout_source_new, (ms)), prio, SHAPE_SOURCE, K_TIMEOUT, notify)  \
  X(g_timeout_add_once, (guint ms, GSourceOnceFunc fn, gpointer data), (ms, fn, data),                      \
    MAKE(g_timeout_source_new, (ms)), G_PRIORITY_DEFAULT, SHAPE_ONCE, K_TIMEOUT, NULL)                      \
  X(g_timeout_add_seconds, (guint s, GSourceFunc fn, gpointer data), (s, fn, data),                         \
    MAKE(g_timeout_source_new_seconds, (s)), G_PRIORITY_DEFAULT, SHAPE_SOURCE, K_TIMEOUT, NULL)             \
  X(g_timeout_add_seconds_full, (gint prio, guint s, GSourceFunc fn, gpointer data, GDestroyNotify notify), \
    (prio, s, fn, data, notify), MAKE(g_timeout_source_new_seconds, (s)), prio, SHAPE_SOURCE, K_TIMEOUT,   \
    notify)                                                                                                 \
  X(g_io_add_watch, (GIOChannel * ch, GIOCondition cond, GIOFunc fn, gpointer data), (ch, cond, fn, data),  \
    MAKE_IF(ch, g_io_create_watch, (ch, cond)), G_PRIORITY_DEFAULT, SHAPE_IO, K_IO, NULL)                   \
  X(g_io_add_watch_full,                                                                                    \
    (GIOChannel * ch, gint prio, GIOCondition cond, GIOFunc fn, gpointer data, GDestroyNotify notify),      \
    (ch, prio, cond, fn, data, notify), MAKE_IF(ch, g_io_create_watch, (ch, cond)), prio, SHAPE_IO, K_IO,    \
    notify)                                                                                                 \
  X(g_child_watch_add, (GPid pid, GChildWatchFunc fn, gpointer data), (pid, fn, data),                      \
    MAKE_IF(pid > 0, g_child_watch_source_new, (pid)), G_PRIORITY_DEFAULT, SHAPE_CHILD, K_CHILD, NULL)      \
  X(g_child_watch_add_full, (gint prio, GPid pid, GChildWatchFunc fn, gpointer data, GDestroyNotify notify), \
    (prio, pid, fn, data, notify), MAKE_IF(pid > 0, g_child_watch_source_new, (pid)), prio, SHAPE_CHILD,     \
    K_CHILD, notify)                                                                                        \
  X(g_unix_fd_add, (gint fd, GIOCondition cond, GUnixFDSourceFunc fn, gpointer data), (fd, cond, fn, data), \
    MAKE(g_unix_fd_source_new, (fd, cond)), G_PRIORITY_DEFAULT, SHAPE_FD, K_FD, NULL)                       \
  X(g_unix_fd_add_full,                                                                                     \
    (gint prio, gint fd, GIOCondition cond, GUnixFDSourceFunc fn, gpointer data, GDestroyNotify notify),    \
    (prio, fd, cond, fn, data, notify), MAKE(g_unix_fd_source_new, (fd, cond)), prio, SHAPE_FD, K_FD, notify)

#define GEN_ADD(name, params, args, make, priority, shape, kind, notify_)                                   \
  LS_REAL_SLOT(name);                                                                                       \
  LS_EXPORT guint name params {                                                                             \
    __typeof__(&name) real_ = REAL(name);                                                                   \
    if (!real_) return 0;                                                                                   \
    if (!fn || !GL_MINE_CB(fn)) return GL_CALL(real_ args);                                                 \
    GSource *source_ = GL_CALL(make);                                                                       \
    if (!source_) return GL_CALL(real_ args);                                                               \
    return GL_CALL(add_source(source_, priority, shape, kind, (void *)fn, data, notify_, GL_CALLER));       \
  }
GL_ADDS(GEN_ADD)

/* ---- g_main_context_invoke: called at once where the caller may run the context, else an idle ----
 *
 * GLib's documented rule: called directly when the context is owned by the calling thread, or when
 * it is the calling thread's default and g_main_context_acquire succeeds (released afterwards);
 * otherwise an idle source attached to the context calls it. The direct call is timed on its site
 * like a dispatch; the idle source is ours as for g_idle_add. */

LS_REAL_SLOT(g_main_context_is_owner);
LS_REAL_SLOT(g_main_context_acquire);
LS_REAL_SLOT(g_main_context_release);
LS_REAL_SLOT(g_main_context_get_thread_default);
LS_REAL_SLOT(g_main_context_invoke_full);

static void invoke(GMainContext *ctx, gint priority, GSourceFunc fn, gpointer data, GDestroyNotify notify,
                   const void *caller) {
  __typeof__(&g_main_context_is_owner) is_owner = REAL(g_main_context_is_owner);
  __typeof__(&g_main_context_acquire) acquire = REAL(g_main_context_acquire);
  __typeof__(&g_main_context_release) release = REAL(g_main_context_release);
  __typeof__(&g_main_context_get_thread_default) thread_default = REAL(g_main_context_get_thread_default);
  __typeof__(&g_main_context_invoke_full) real_ = REAL(g_main_context_invoke_full);
  GMainContext *c = gl_context(ctx);
  if (!is_owner || !acquire || !release || !thread_default || !c) {
    GL_CALL_VOID(real_(ctx, priority, fn, data, notify));
    return;
  }
  GMainContext *def = thread_default();
  bool acquired = false, direct = is_owner(c);
  if (!direct && (def ? def : gl_context(NULL)) == c && acquire(c)) direct = acquired = true;
  if (!direct) {
    GSource *source = GL_CALL(MAKE(g_idle_source_new, ()));
    if (!source) {
      GL_CALL_VOID(real_(ctx, priority, fn, data, notify));
      return;
    }
    GL_CALL(add_source_to(source, c, priority, SHAPE_SOURCE, K_INVOKE, (void *)fn, data, notify, caller));
    return;
  }
  uint32_t site = site_for(K_INVOKE, (const void *)fn, caller);
  bool again;
  do { /* GLib calls it again while it returns G_SOURCE_CONTINUE */
    uint64_t t0 = site != LS_SITE_NONE ? ls_cb_begin(site) : ls_now();
    LS_PROGRAM_RUN(again = fn(data));
    if (site != LS_SITE_NONE) ls_site_account(site, t0);
  } while (again);
  if (acquired) release(c);
  if (notify) LS_PROGRAM_RUN(notify(data));
}

LS_EXPORT void g_main_context_invoke_full(GMainContext *ctx, gint priority, GSourceFunc fn, gpointer data,
                                          GDestroyNotify notify) {
  __typeof__(&g_main_context_invoke_full) real_ = REAL(g_main_context_invoke_full);
  if (!real_) return;
  if (!fn || !GL_MINE_CB(fn)) {
    GL_CALL_VOID(real_(ctx, priority, fn, data, notify));
    return;
  }
  invoke(ctx, priority, fn, data, notify, GL_CALLER);
}

LS_REAL_SLOT(g_main_context_invoke);
LS_EXPORT void g_main_context_invoke(GMainContext *ctx, GSourceFunc fn, gpointer data) {
  __typeof__(&g_main_context_invoke) real_ = REAL(g_main_context_invoke);
  if (!real_) return;
  if (!fn || !GL_MINE_CB(fn)) {
    GL_CALL_VOID(real_(ctx, fn, data));
    return;
  }
  invoke(ctx, G_PRIORITY_DEFAULT, fn, data, NULL, GL_CALLER);
}

/* ---- sources the program builds itself ---- */

LS_REAL_SLOT(g_source_set_callback);
LS_EXPORT void g_source_set_callback(GSource *source, GSourceFunc fn, gpointer data, GDestroyNotify notify) {
  __typeof__(&g_source_set_callback) real_ = REAL(g_source_set_callback);
  if (!real_) return;
  __typeof__(&g_source_set_callback_indirect) set_cb = REAL(g_source_set_callback_indirect);
  int b = source && fn && set_cb && GL_MINE_CB(fn) ? builtin_index(source->source_funcs) : -1;
  struct gl_src *s = b >= 0 ? src_new(builtin[b].shape, builtin[b].kind, (void *)fn, data, notify, source) : NULL;
  if (!s) { /* a custom source's callback has a shape only its dispatch knows: dispatch is timed */
    GL_CALL_VOID(real_(source, fn, data, notify));
    return;
  }
  if (source->context) src_attached(s, source->context, GL_CALLER); /* attached already */
  ls_bind(source, GL_SLOT_RECORD, s, 0);
  GL_CALL_VOID(set_cb(source, s, &cb_funcs));
}

/* ---- custom source types: the program's GSourceFuncs, copied with our trampolines ---- */

struct gl_funcs {
  GSourceFuncs f; /* first: GLib holds a pointer to it as the source's funcs */
  GSourceFuncs *orig;
};
static struct ls_map wrapped; /* the program's funcs -> our copy (never freed: funcs are static data) */

static inline const GSourceFuncs *orig_of(GSource *source) {
  return ((const struct gl_funcs *)source->source_funcs)->orig;
}

static gboolean w_prepare(GSource *source, gint *timeout) {
  GMainContext *outer = gl_tls_prepare_ctx;
  gl_tls_prepare_ctx = source->context;
  gboolean r;
  LS_PROGRAM_RUN(r = orig_of(source)->prepare(source, timeout));
  gl_tls_prepare_ctx = outer;
  return r;
}

static gboolean w_check(GSource *source) {
  GMainContext *outer = gl_tls_prepare_ctx;
  gl_tls_prepare_ctx = source->context;
  gboolean r;
  LS_PROGRAM_RUN(r = orig_of(source)->check(source));
  gl_tls_prepare_ctx = outer;
  return r;
}

static gboolean w_dispatch(GSource *source, GSourceFunc cb, gpointer data) {
  const GSourceFuncs *o = orig_of(source);
  void *fn;
  uint32_t site;
  gboolean r;
  if (!ls_binding(source, GL_SLOT_DISPATCH, &fn, &site)) {
    LS_PROGRAM_RUN(r = o->dispatch(source, cb, data));
    return r;
  }
  uint64_t t0 = ls_cb_begin(site);
  LS_PROGRAM_RUN(r = o->dispatch(source, cb, data));
  ls_site_account(site, t0);
  return r;
}

static void w_finalize(GSource *source) {
  const GSourceFuncs *o = orig_of(source);
  if (o->finalize) LS_PROGRAM_RUN(o->finalize(source));
  ls_unbind(source, GL_SLOT_NAME);
  void *fn;
  uint32_t site;
  if (ls_binding(source, GL_SLOT_DISPATCH, &fn, &site)) {
    ls_unbind(source, GL_SLOT_DISPATCH);
    gl_src_closed(source);
  }
}

static GSourceFuncs *wrap_funcs(GSourceFuncs *orig) {
  uintptr_t v;
  if (ls_map_get(&wrapped, (uintptr_t)orig, 0, &v, NULL)) return (GSourceFuncs *)v;
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&mu);
  struct gl_funcs *w = NULL;
  if (ls_map_get(&wrapped, (uintptr_t)orig, 0, &v, NULL)) {
    w = (struct gl_funcs *)v;
  } else if ((w = calloc(1, sizeof(*w))) != NULL) {
    w->f = *orig;
    w->orig = orig;
    if (orig->prepare) w->f.prepare = w_prepare; /* NULL keeps its meaning (ready time only) */
    if (orig->check) w->f.check = w_check;
    w->f.dispatch = w_dispatch;
    w->f.finalize = w_finalize;
    if (ls_map_put(&wrapped, (uintptr_t)orig, 0, (uintptr_t)w, 0) < 0) {
      free(w);
      w = NULL;
    }
  }
  pthread_mutex_unlock(&mu);
  return w ? &w->f : orig;
}

static bool is_wrapped(const GSourceFuncs *f) { return f && (f->dispatch == w_dispatch); }

/* The program's funcs pointer as GLib knows it now (our copy when we made one). */
static GSourceFuncs *as_known(GSourceFuncs *f) {
  uintptr_t v;
  return f && ls_map_get(&wrapped, (uintptr_t)f, 0, &v, NULL) ? &((struct gl_funcs *)v)->f : f;
}

LS_REAL_SLOT(g_source_new);
LS_EXPORT GSource *g_source_new(GSourceFuncs *funcs, guint size) {
  __typeof__(&g_source_new) real_ = REAL(g_source_new);
  if (!real_) return NULL;
  if (!funcs || !funcs->dispatch || !GL_MINE_CB(funcs->dispatch) || builtin_index(funcs) >= 0)
    return GL_CALL(real_(funcs, size));
  return GL_CALL(real_(wrap_funcs(funcs), size));
}

LS_REAL_SLOT(g_source_set_funcs);
LS_EXPORT void g_source_set_funcs(GSource *source, GSourceFuncs *funcs) {
  __typeof__(&g_source_set_funcs) real_ = REAL(g_source_set_funcs);
  if (!real_) return;
  if (!funcs || !funcs->dispatch || !GL_MINE_CB(funcs->dispatch) || builtin_index(funcs) >= 0) {
    GL_CALL_VOID(real_(source, funcs));
    return;
  }
  GL_CALL_VOID(real_(source, wrap_funcs(funcs)));
}

/* Lookups by funcs must find the sources we gave our copy. */
LS_REAL_SLOT(g_main_context_find_source_by_funcs_user_data);
LS_EXPORT GSource *g_main_context_find_source_by_funcs_user_data(GMainContext *ctx, GSourceFuncs *funcs,
                                                                 gpointer data) {
  __typeof__(&g_main_context_find_source_by_funcs_user_data) real_ =
      REAL(g_main_context_find_source_by_funcs_user_data);
  return real_ ? GL_CALL(real_(ctx, as_known(funcs), data)) : NULL;
}

LS_REAL_SLOT(g_source_remove_by_funcs_user_data);
LS_EXPORT gboolean g_source_remove_by_funcs_user_data(GSourceFuncs *funcs, gpointer data) {
  __typeof__(&g_source_remove_by_funcs_user_data) real_ = REAL(g_source_remove_by_funcs_user_data);
  return real_ ? GL_CALL(real_(as_known(funcs), data)) : FALSE;
}

/* ---- attach: where a source was attached is its site's stack ---- */

LS_EXPORT guint g_source_attach(GSource *source, GMainContext *ctx) {
  __typeof__(&g_source_attach) real_ = REAL(g_source_attach);
  if (!real_) return 0;
  if (!source || !GL_MINE) return GL_CALL(real_(source, ctx));
  void *cb;
  uint32_t site;
  if (ls_binding(source, GL_SLOT_RECORD, &cb, &site)) {
    src_attached(cb, ctx, GL_CALLER); /* before the real attach: another thread may dispatch at once */
  } else if (is_wrapped(source->source_funcs)) {
    const GSourceFuncs *o = orig_of(source);
    site = site_for(kind_for(K_CUSTOM, source), (const void *)o->dispatch, GL_CALLER);
    if (site != LS_SITE_NONE) {
      ls_bind(source, GL_SLOT_DISPATCH, (void *)o->dispatch, site);
      gl_src_open(source, site, gl_context(ctx));
    }
  }
  return GL_CALL(real_(source, ctx));
}
