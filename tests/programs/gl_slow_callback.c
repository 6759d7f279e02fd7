/* slow-callback trigger for GLib: a timeout callback (g_timeout_add) and a custom source's dispatch
 * (g_source_new with the program's GSourceFuncs, named "ls-custom") each busy-wait 250 ms, against
 * the 100 ms default. loopscope must report two slow-callback findings: one naming on_slow_timeout
 * at the "timeout" line, one naming custom_dispatch at the "attach" line (where the source was
 * attached). Prints "dispatched=2". */
#include <glib.h>
#include <stdio.h>

#include "busy.h"

static GMainLoop *loop;
static int dispatched;

static gboolean on_slow_timeout(gpointer data) {
  (void)data;
  busy_wait_ms(250);
  dispatched++;
  return G_SOURCE_REMOVE;
}

static gboolean custom_prepare(GSource *s, gint *timeout) {
  (void)s;
  *timeout = -1;
  return dispatched == 1; /* after the timeout */
}

static gboolean custom_check(GSource *s) {
  (void)s;
  return dispatched == 1;
}

static gboolean quit_loop(gpointer data) {
  (void)data;
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

static gboolean custom_dispatch(GSource *s, GSourceFunc cb, gpointer data) {
  (void)s, (void)cb, (void)data;
  busy_wait_ms(250);
  dispatched++;
  /* The loop waits in its poll a while before it quits: the watchdog sees the stall end there and
   * puts its samples into this slow-callback (a stall still open when the process exits is lost). */
  g_timeout_add(300, quit_loop, NULL);
  return G_SOURCE_REMOVE;
}

static GSourceFuncs custom_funcs = {custom_prepare, custom_check, custom_dispatch, NULL, NULL, NULL};

int main(void) {
  loop = g_main_loop_new(NULL, FALSE);
  g_timeout_add(10, on_slow_timeout, NULL); /* LS-SITE: timeout */
  GSource *src = g_source_new(&custom_funcs, sizeof(GSource));
  g_source_set_name(src, "ls-custom");
  g_source_attach(src, NULL); /* LS-SITE: attach */
  g_source_unref(src);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  printf("dispatched=%d\n", dispatched);
  return 0;
}
