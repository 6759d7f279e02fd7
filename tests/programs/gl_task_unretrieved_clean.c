/* unretrieved-error clean twin: the same failing task, but on_done propagates the error
 * (g_task_propagate_boolean) as a finish function does; a second task's error is looked at with
 * g_task_had_error; a third returns a value that is propagated. No finding at all. Prints
 * "done=3 errors_seen=2". */
#include <gio/gio.h>
#include <stdio.h>

static GMainLoop *loop;
static int done, errors_seen;

static void on_done(GObject *source, GAsyncResult *res, gpointer data) {
  (void)source, (void)data;
  GError *err = NULL;
  if (!g_task_propagate_boolean(G_TASK(res), &err) && err) {
    errors_seen++;
    g_error_free(err);
  }
  if (++done == 3) g_main_loop_quit(loop);
}

static void on_done_had_error(GObject *source, GAsyncResult *res, gpointer data) {
  (void)source, (void)data;
  if (g_task_had_error(G_TASK(res))) errors_seen++;
  if (++done == 3) g_main_loop_quit(loop);
}

static gboolean finish_later(gpointer data) {
  GTask **tasks = data;
  g_task_return_new_error(tasks[0], G_IO_ERROR, G_IO_ERROR_FAILED, "failed");
  g_task_return_error(tasks[1], g_error_new_literal(G_IO_ERROR, G_IO_ERROR_FAILED, "failed"));
  g_task_return_boolean(tasks[2], TRUE);
  for (int i = 0; i < 3; i++) g_object_unref(tasks[i]);
  return G_SOURCE_REMOVE;
}

int main(void) {
  loop = g_main_loop_new(NULL, FALSE);
  GTask *tasks[3] = {g_task_new(NULL, NULL, on_done, NULL), g_task_new(NULL, NULL, on_done_had_error, NULL),
                     g_task_new(NULL, NULL, on_done, NULL)};
  g_idle_add(finish_later, tasks);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  printf("done=%d errors_seen=%d\n", done, errors_seen);
  return 0;
}
