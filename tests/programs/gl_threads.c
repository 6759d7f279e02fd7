/* Which thread iterates which context: 3 worker threads, each with its own context (pushed as its
 * thread-default) run by its own g_main_loop_run, each counting 5 timeouts of its own (the "worker"
 * line); the main thread runs the default context, whose idle callbacks the workers add from their
 * threads (the "cross" line: GLib's context is thread-safe, so this is no finding). Everything is
 * unreffed. loopscope must show 4 glib loops, each run by its own thread, with the counts printed, and
 * no finding. Prints "worker_ticks=15 cross=3". */
#include <glib.h>
#include <pthread.h>
#include <stdio.h>

#define WORKERS 3
#define TICKS 5

static GMainLoop *main_loop;
static int cross, worker_ticks;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static gboolean on_cross(gpointer data) {
  (void)data;
  if (++cross == WORKERS) g_main_loop_quit(main_loop);
  return G_SOURCE_REMOVE;
}

struct worker {
  GMainLoop *loop;
  int ticks;
};

static gboolean on_worker_tick(gpointer data) {
  struct worker *w = data;
  if (++w->ticks < TICKS) return G_SOURCE_CONTINUE;
  g_idle_add(on_cross, NULL); /* LS-SITE: cross */
  g_main_loop_quit(w->loop);
  return G_SOURCE_REMOVE;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  GMainContext *ctx = g_main_context_new();
  g_main_context_push_thread_default(ctx);
  w->loop = g_main_loop_new(ctx, FALSE);
  GSource *t = g_timeout_source_new(1);
  g_source_set_callback(t, on_worker_tick, w, NULL);
  g_source_attach(t, ctx); /* LS-SITE: worker */
  g_source_unref(t);
  g_main_loop_run(w->loop);
  g_main_loop_unref(w->loop);
  g_main_context_pop_thread_default(ctx);
  g_main_context_unref(ctx);
  pthread_mutex_lock(&mu);
  worker_ticks += w->ticks;
  pthread_mutex_unlock(&mu);
  return NULL;
}

int main(void) {
  main_loop = g_main_loop_new(NULL, FALSE);
  pthread_t th[WORKERS];
  struct worker w[WORKERS] = {{0}};
  for (int i = 0; i < WORKERS; i++)
    if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0) return 1;
  g_main_loop_run(main_loop);
  for (int i = 0; i < WORKERS; i++) pthread_join(th[i], NULL);
  g_main_loop_unref(main_loop);
  printf("worker_ticks=%d cross=%d\n", worker_ticks, cross);
  return 0;
}
