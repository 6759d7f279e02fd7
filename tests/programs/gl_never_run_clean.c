/* never-run clean twin: the idle source runs before its context is freed; a second idle source is
 * removed on purpose (g_source_destroy) before the context goes: cancelled work is not never-run; a
 * repeating timeout that never fired when its context went is long-lived, not one-shot, and so is a
 * second timeout from a site whose callback has returned G_SOURCE_CONTINUE before; the GTask returns
 * and its result is propagated. No finding at all. Prints "ran=2 twice=2". */
#include <gio/gio.h>
#include <stdio.h>

static int ran;

static gboolean on_idle(gpointer data) {
  (void)data;
  ran++;
  return G_SOURCE_REMOVE;
}

static gboolean on_cancelled_idle(gpointer data) {
  (void)data;
  ran += 100;
  return G_SOURCE_REMOVE;
}

static gboolean on_tick(gpointer data) {
  (void)data;
  return G_SOURCE_CONTINUE;
}

static int twice;

static gboolean on_twice(gpointer data) {
  (void)data;
  return ++twice < 2 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void add_twice(GMainContext *ctx, guint ms) {
  GSource *t = g_timeout_source_new(ms);
  g_source_set_callback(t, on_twice, NULL, NULL);
  g_source_attach(t, ctx);
  g_source_unref(t);
}

static void on_task(GObject *source, GAsyncResult *res, gpointer data) {
  (void)source, (void)data;
  if (g_task_propagate_boolean(G_TASK(res), NULL)) ran++;
}

int main(void) {
  GMainContext *ctx = g_main_context_new();
  GSource *idle = g_idle_source_new();
  g_source_set_callback(idle, on_idle, NULL, NULL);
  g_source_attach(idle, ctx);
  g_source_unref(idle);
  GSource *cancelled = g_idle_source_new();
  g_source_set_callback(cancelled, on_cancelled_idle, NULL, NULL);
  g_source_attach(cancelled, ctx);
  GSource *tick = g_timeout_source_new_seconds(3600);
  g_source_set_callback(tick, on_tick, NULL, NULL);
  g_source_attach(tick, ctx);
  g_source_unref(tick);
  g_source_destroy(cancelled);
  g_source_unref(cancelled);
  while (g_main_context_iteration(ctx, FALSE)) {
  }

  g_main_context_push_thread_default(ctx);
  GTask *task = g_task_new(NULL, NULL, on_task, NULL);
  g_task_return_boolean(task, TRUE);
  g_object_unref(task);
  while (g_main_context_iteration(ctx, FALSE)) {
  }
  g_main_context_pop_thread_default(ctx);
  add_twice(ctx, 0);
  while (twice < 2) g_main_context_iteration(ctx, TRUE);
  add_twice(ctx, 3600 * 1000);
  g_main_context_unref(ctx);
  printf("ran=%d twice=%d\n", ran, twice);
  return 0;
}
