/* loop-reentry clean twin: a dispatched callback runs a nested g_main_loop_run on the same context
 * (legal GLib: a modal dialog does this), quit by a timeout; and a custom source's prepare only
 * computes its timeout. No finding at all. Prints "outer=1 inner=1 custom=1". */
#include <glib.h>
#include <stdio.h>

static GMainLoop *outer_loop;
static int outer, inner, custom;

static gboolean quit_inner(gpointer data) {
  inner++;
  g_main_loop_quit(data);
  return G_SOURCE_REMOVE;
}

static gboolean on_outer(gpointer data) {
  (void)data;
  outer++;
  GMainLoop *nested = g_main_loop_new(NULL, FALSE);
  g_timeout_add(5, quit_inner, nested);
  g_main_loop_run(nested);
  g_main_loop_unref(nested);
  return G_SOURCE_REMOVE;
}

static gboolean good_prepare(GSource *s, gint *timeout) {
  (void)s;
  *timeout = 1;
  return outer > 0 && custom == 0;
}

static gboolean good_check(GSource *s) {
  (void)s;
  return outer > 0 && custom == 0;
}

static gboolean on_custom(GSource *s, GSourceFunc cb, gpointer data) {
  (void)s, (void)cb, (void)data;
  custom++;
  g_main_loop_quit(outer_loop);
  return G_SOURCE_REMOVE;
}

static GSourceFuncs funcs = {good_prepare, good_check, on_custom, NULL, NULL, NULL};

int main(void) {
  outer_loop = g_main_loop_new(NULL, FALSE);
  g_idle_add(on_outer, NULL);
  GSource *src = g_source_new(&funcs, sizeof(GSource));
  g_source_attach(src, NULL);
  g_source_unref(src);
  g_main_loop_run(outer_loop);
  g_main_loop_unref(outer_loop);
  printf("outer=%d inner=%d custom=%d\n", outer, inner, custom);
  return 0;
}
