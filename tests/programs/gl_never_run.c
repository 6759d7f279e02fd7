/* never-run trigger for GLib: an idle source attached to a private context (the "attach" line) that
 * is freed before anything iterates it; a one-shot timeout (its site's callback returns
 * G_SOURCE_REMOVE: the first one it made ran) whose second source is still pending when its context
 * is freed (the "timeout" line); and a GTask (the "task" line) dropped without ever returning
 * ("Task was destroyed but it is pending!"). loopscope must report three never-run findings: one
 * naming on_never_idle at "attach", one naming on_once at "timeout", one naming on_task_never at
 * "task". Prints "ran=1". */
#include <gio/gio.h>
#include <stdio.h>

static int ran;

static gboolean on_never_idle(gpointer data) {
  (void)data;
  ran++;
  return G_SOURCE_REMOVE;
}

static gboolean on_once(gpointer data) {
  (void)data;
  ran++;
  return G_SOURCE_REMOVE;
}

static void add_once(GMainContext *ctx, guint ms) {
  GSource *t = g_timeout_source_new(ms);
  g_source_set_callback(t, on_once, NULL, NULL);
  g_source_attach(t, ctx); /* LS-SITE: timeout */
  g_source_unref(t);
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
  add_once(ctx, 0);
  while (ran == 0) g_main_context_iteration(ctx, TRUE); /* the first timeout runs, and removes itself */
  add_once(ctx, 3600 * 1000);
  g_main_context_unref(ctx);

  GTask *task = g_task_new(NULL, NULL, on_task_never, NULL); /* LS-SITE: task */
  g_object_unref(task);
  printf("ran=%d\n", ran);
  return 0;
}
