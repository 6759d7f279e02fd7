/* Own calls, GLib: a GTest program built with -O2 whose functions end in tail calls, so the return
 * address a hook sees is not the program's. test_unref ends in `jmp g_main_loop_unref@plt`: the
 * return address lies in libglib (g_test_run called the test function), yet the unref is the
 * program's and its loop must leave the shim's books (before the fix the shim took it for GLib's own
 * call, kept the loop and read it after it was freed at exit: GLib-CRITICAL and SIGTRAP). on_once,
 * dispatched through the shim's trampoline, registers one idle with a plain call (the marked line) and
 * ends in a tail call registering another: both are the program's sources. test_idle ends in a tail
 * call to g_idle_add whose source nobody dispatches: the program's, still open at exit.
 * it_own_calls checks with objdump that these are `jmp`s. Prints "ticks=1 quits=1". */
#include <glib.h>
#include <stdio.h>

static int ticks, quits;

gboolean on_tick(gpointer data) {
  (void)data;
  ticks++;
  return G_SOURCE_REMOVE;
}

gboolean on_quit(gpointer loop) {
  quits++;
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

gboolean on_left(gpointer data) {
  (void)data;
  return G_SOURCE_REMOVE;
}

void on_once(gpointer loop) {
  g_timeout_add(0, on_tick, NULL); /* LS-SITE: from_callback */
  g_idle_add(on_quit, loop);       /* a tail call */
}

void test_unref(void) {
  GMainLoop *loop = g_main_loop_new(NULL, FALSE);
  g_idle_add_once(on_once, loop); /* LS-SITE: once */
  g_main_loop_run(loop);
  g_main_loop_unref(loop); /* a tail call */
}

void test_idle(void) { g_idle_add(on_left, NULL); /* a tail call */ }

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/own/unref", test_unref);
  g_test_add_func("/own/idle", test_idle);
  int rc = g_test_run();
  printf("ticks=%d quits=%d\n", ticks, quits);
  return rc;
}
