/* pool-wait trigger for GLib: 20 tasks run with g_task_run_in_thread (the "run" line), each sleeping
 * 300 ms in slow_work. GLib's GTask pool has 10 threads and adds more only slowly when they all block,
 * so the later tasks wait far beyond the 100 ms pool_wait default. loopscope must report a pool-wait
 * finding naming slow_work at the "run" line. (Sleeping on a pool thread is not a blocking-call:
 * that is about loop threads.) Prints "done=20". */
#include <gio/gio.h>
#include <stdio.h>
#include <unistd.h>

#define N 20
static GMainLoop *loop;
static int done;

static void slow_work(GTask *task, gpointer source, gpointer data, GCancellable *c) {
  (void)source, (void)data, (void)c;
  usleep(300 * 1000);
  g_task_return_boolean(task, TRUE);
}

static void on_done(GObject *source, GAsyncResult *res, gpointer data) {
  (void)source, (void)data;
  g_task_propagate_boolean(G_TASK(res), NULL);
  if (++done == N) g_main_loop_quit(loop);
}

int main(void) {
  loop = g_main_loop_new(NULL, FALSE);
  for (int i = 0; i < N; i++) {
    GTask *task = g_task_new(NULL, NULL, on_done, NULL);
    g_task_run_in_thread(task, slow_work); /* LS-SITE: run */
    g_object_unref(task);
  }
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  printf("done=%d\n", done);
  return 0;
}
