/* never-run trigger for GLib: an idle source attached to a private context (the "attach" line) that
 * is freed before anything iterates it; and a GTask (the "task" line) dropped without ever returning
 * ("Task was destroyed but it is pending!"). loopscope must report two never-run findings: one
 * naming on_never_idle at "attach", one naming on_task_never at "task". Prints "ran=0". */
#include <gio/gio.h>
#include <stdio.h>

static int ran;

static gboolean on_never_idle(gpointer data) {
  (void)data;
  ran++;
  return G_SOURCE_REMOVE;
}

static void on_task_never(GObject *source, GAsyncResult *res, gpointer data) {
  (void)source, (void)res, (void)data;
  ran++;
}

int main(void) {
  GMainContext *ctx = g_main_context_new();
  GSource *idle = g_idle_source_new();
  g_source_set_callback(idle, on_never_idle, NULL, NULL);
  g_source_attach(idle, ctx); /* LS-SITE: attach */
  g_source_unref(idle);
  g_main_context_unref(ctx);

  GTask *task = g_task_new(NULL, NULL, on_task_never, NULL); /* LS-SITE: task */
  g_object_unref(task);
  printf("ran=%d\n", ran);
  return 0;
}
