/* A GLib program that never ends: a repeating timeout (the "timeout" line) on a main loop (the "loop"
 * line) that is never quit. Under `loopscope run --timeout`, the hang dump lists both as open on the
 * main thread's glib loop. Prints "started". */
#include <glib.h>
#include <stdio.h>

static gboolean tick(gpointer data) {
  (void)data;
  return G_SOURCE_CONTINUE;
}

int main(void) {
  GMainLoop *loop = g_main_loop_new(NULL, FALSE); /* LS-SITE: loop */
  g_timeout_add(20, tick, NULL);                  /* LS-SITE: timeout */
  printf("started\n");
  fflush(stdout);
  g_main_loop_run(loop);
  return 0;
}
