/* The at-exit report never asks GLib about an object the program may have freed. The program makes a
 * main loop and hands it to a GThreadPool whose function (run by GLib on GLib's own thread, with no
 * trampoline of the shim's around it) drops it in a tail call: `jmp g_main_loop_unref@plt` returns
 * into libglib on a thread libglib started, which is exactly what GLib's own unref looks like, so the
 * shim keeps the loop in its books (a documented limit). At exit the loop is freed memory: the report
 * must use what it learnt when the loop was made and never call g_main_loop_get_context on it (which
 * said "GLib-CRITICAL ... ref_count > 0" and raised SIGTRAP in about half the runs). Built -O2;
 * it_own_calls checks the tail call with objdump. Prints "dropped=1". */
#include <glib.h>
#include <stdio.h>

static int dropped;

void drop(gpointer loop, gpointer unused) {
  (void)unused;
  __atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
  g_main_loop_unref(loop); /* a tail call, from GLib's pool thread */
}

int main(void) {
  GMainLoop *loop = g_main_loop_new(NULL, FALSE);
  GThreadPool *pool = g_thread_pool_new(drop, NULL, 1, TRUE, NULL);
  if (!pool || !g_thread_pool_push(pool, loop, NULL)) return 1;
  g_thread_pool_free(pool, FALSE, TRUE); /* waits for the pushed work */
  printf("dropped=%d\n", dropped);
  return 0;
}
