/* loop-reentry trigger for GLib: a custom source's prepare() iterates its own context (the "reentry"
 * line). GLib forbids it (it warns "g_main_context_prepare() called recursively from within a
 * source's check() or prepare() member" and skips that iteration). loopscope must report one
 * loop-reentry finding at the "reentry" line, call g_main_context_iteration. Prints "dispatched=1". */
#include <glib.h>
#include <stdio.h>

static GMainLoop *loop;
static int dispatched, reentered;

static gboolean bad_prepare(GSource *s, gint *timeout) {
  *timeout = 0;
  if (!reentered++) g_main_context_iteration(g_source_get_context(s), FALSE); /* LS-SITE: reentry */
  return TRUE;
}

static gboolean on_dispatch(GSource *s, GSourceFunc cb, gpointer data) {
  (void)s, (void)cb, (void)data;
  dispatched++;
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

static GSourceFuncs funcs = {bad_prepare, NULL, on_dispatch, NULL, NULL, NULL};

int main(void) {
  loop = g_main_loop_new(NULL, FALSE);
  GSource *src = g_source_new(&funcs, sizeof(GSource));
  g_source_attach(src, NULL);
  g_source_unref(src);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  printf("dispatched=%d\n", dispatched);
  return 0;
}
