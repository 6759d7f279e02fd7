/* pool-wait clean twin: 3 tasks of 10 ms each in GLib's pool of 10 threads: none waits for a thread.
 * No finding at all. Prints "done=3". */
#include <gio/gio.h>
#include <stdio.h>
#include <unistd.h>

#define N 3
static GMainLoop *loop;
static int done;

static void quick_work(GTask *task, gpointer source, gpointer data, GCancellable *c) {
  (void)source, (void)data, (void)c;
  usleep(10 * 1000);
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
    g_task_run_in_thread(task, quick_work);
    g_object_unref(task);
  }
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  printf("done=%d\n", done);
  return 0;
}
