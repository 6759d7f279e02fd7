/* "still open at exit" for GLib: a timeout attached to the default context (the "timeout" line), a
 * context (the "context" line) with an idle source attached to it (the "idle" line) and a main loop
 * (the "loop" line) that the program never unrefs. Not findings (LSan's "still reachable"): listed in
 * the report's still_open_at_exit, and unclosed-resource findings only with report_open_at_exit=1.
 * GLib's own sources are not listed. Prints "open=4". */
#include <glib.h>
#include <stdio.h>

static gboolean tick(gpointer data) {
  (void)data;
  return G_SOURCE_CONTINUE;
}

int main(void) {
  g_timeout_add_seconds(3600, tick, NULL);      /* LS-SITE: timeout */
  GMainContext *ctx = g_main_context_new();     /* LS-SITE: context */
  GSource *idle = g_idle_source_new();
  g_source_set_callback(idle, tick, NULL, NULL);
  g_source_attach(idle, ctx);                   /* LS-SITE: idle */
  g_source_unref(idle);
  GMainLoop *loop = g_main_loop_new(ctx, FALSE); /* LS-SITE: loop */
  g_main_context_iteration(NULL, FALSE);
  printf("open=4 %p\n", (void *)loop);
  return 0;
}
