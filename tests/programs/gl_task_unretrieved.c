/* unretrieved-error trigger for GTask: a task (g_task_new at the "task" line) whose work returns an
 * error with g_task_return_new_error; its callback on_done looks only at the user data and never calls
 * g_task_propagate_* or g_task_had_error ("Task exception was never retrieved"). loopscope must report
 * one unretrieved-error naming on_done at the "task" line. The callback also checks that
 * g_async_result_get_user_data returns the program's own pointer. Prints "done=1 user_data_ok=1". */
#include <gio/gio.h>
#include <stdio.h>

static GMainLoop *loop;
static int done, user_data_ok;
static char marker[] = "mine";

static void on_done(GObject *source, GAsyncResult *res, gpointer data) {
  (void)source;
  done++;
  user_data_ok = data == marker && g_async_result_get_user_data(res) == marker;
  g_main_loop_quit(loop);
}

static gboolean fail_later(gpointer data) {
  GTask *task = data;
  g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "failed after %d ms", 1);
  g_object_unref(task);
  return G_SOURCE_REMOVE;
}

int main(void) {
  loop = g_main_loop_new(NULL, FALSE);
  GTask *task = g_task_new(NULL, NULL, on_done, marker); /* LS-SITE: task */
  g_idle_add(fail_later, task);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  printf("done=%d user_data_ok=%d\n", done, user_data_ok);
  return 0;
}
