/* The GLib adapter's shared pieces (glib.c: loops and contexts; glib_src.c: sources and their
 * callbacks; glib_task.c: GTask; glib_track.c: what is open, and the findings at exit).
 *
 * Debian's libglib binds its own calls internally, so only calls made through the PLT reach us: the
 * program's, and those of GLib's other libraries (libgio, libgobject), which are GLib's own and are
 * left alone (GL_MINE: decided before the real call, which runs at one GLib depth more, own.c). What the program hands to GLib is wrapped instead of GLib's
 * internals being hooked: a source's callback goes in through g_source_set_callback_indirect with
 * our record as its data (the program's data still comes back from the record's get, so
 * g_source_remove_by_user_data and friends see the program's pointer), custom GSourceFuncs get a
 * copy whose members are our trampolines, a GTask's callback is a trampoline looked up by the task
 * pointer, and finalization is learnt from our destroy notify, GSourceFuncs.finalize and a weak
 * reference. */
#ifndef LS_GLIB_H
#define LS_GLIB_H

#include <glib.h>

#include "shim.h"

#define GL_LIB "glib"
#define GL_SONAME "libglib-2.0.so.0"
#define GIO_SONAME "libgio-2.0.so.0"
#define GOBJECT_SONAME "libgobject-2.0.so.0"
#define GL_CALLER __builtin_return_address(0)

/* What sites.c's bindings hold for a GSource: our callback record (glib_src.c), the site of a custom
 * source's dispatch, the name the program gave it before attaching it. For a GTask: its callback, its
 * thread function. */
#define GL_SLOT_RECORD LS_SLOT_MAIN
#define GL_SLOT_DISPATCH LS_SLOT_ALLOC
#define GL_SLOT_NAME LS_SLOT_CLOSE
#define GL_SLOT_TASK_CB LS_SLOT_MAIN
#define GL_SLOT_TASK_WORK LS_SLOT_WORK

#define GL_MINE ls_programs_call(LS_LIB_GLIB, GL_CALLER)
/* A callback inside GLib's own libraries is GLib's, whoever seems to pass it: GIO attaches sources with
 * its own callbacks from entry points no hook of ours sees. */
#define GL_MINE_CB(fn) ls_programs_callback(LS_LIB_GLIB, GL_CALLER, (const void *)(fn))
#define GL_CALL(call) LS_LIB_CALL(LS_LIB_GLIB, call)
#define GL_CALL_VOID(call) LS_LIB_CALL_VOID(LS_LIB_GLIB, call)

/* ---- glib.c: contexts ---- */
/* The context a NULL means (the global default one). */
GMainContext *gl_context(GMainContext *ctx);
/* Inside a custom source's prepare or check on this thread: the context being prepared, else NULL. */
extern LS_TLS GMainContext *gl_tls_prepare_ctx;
/* Inside the program's g_main_context_unref / g_main_loop_unref of this context (sources released
 * now are released because the context is going away). */
extern LS_TLS GMainContext *gl_tls_unref_ctx;

/* ---- glib_track.c: open objects and at-exit findings ---- */
enum gl_obj_kind { GL_OBJ_CONTEXT, GL_OBJ_LOOP, GL_OBJ_SOURCE };
/* A context or main loop the program made (stack: where), with one reference of the program's; ctx is
 * the context it belongs to (itself for a context), learnt while it is alive: at exit nothing is asked
 * of GLib about an object the program may have freed. */
void gl_obj_new(const void *obj, enum gl_obj_kind kind, const void *caller, const void *ctx);
void gl_obj_ref(const void *obj);
void gl_obj_unref(const void *obj);
/* A source the program attached: open until released (site: its callback site, for kind and stack). */
void gl_src_open(const void *key, uint32_t site, const void *ctx);
void gl_src_closed(const void *key);
/* A one-shot source's callback released before it was ever dispatched. */
void gl_src_never_dispatched(uint32_t site, const void *ctx);

/* At exit: never-run GTasks are found as they finalize; what is left is listed (or, with
 * report_open_at_exit=1, unclosed-resource). The hang dump lists what is open now. */
void gl_track_finish(void);
void gl_track_dump_open(void);

#endif
