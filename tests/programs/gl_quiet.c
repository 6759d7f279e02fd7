/* The GLib adapter's clean program and coverage run: every way the program hands GLib a callback,
 * each quick, everything removed and unreffed before exit. loopscope must report no finding at all,
 * and a site per registration below with the counts printed at the end:
 *   idle (g_idle_add, runs 3 times), idle_full, idle_once, timeout (g_timeout_add, 2 times),
 *   timeout_full, timeout_once, timeout_seconds, io (g_io_add_watch on a pipe), unix_fd
 *   (g_unix_fd_add on a pipe), child (g_child_watch_add), custom (g_source_new + g_source_attach),
 *   set_callback (g_timeout_source_new + g_source_set_callback + g_source_attach on a private
 *   context iterated with g_main_context_iteration), invoke_direct (g_main_context_invoke on a
 *   context the caller can acquire: called at once), invoke_thread (g_main_context_invoke from another
 *   thread while the main thread runs the loop: an idle source), manual (an idle on a third context
 *   that the program iterates step by step: prepare, query, g_poll, check, g_main_context_dispatch).
 *   g_source_remove_by_user_data must still find a source by the program's data. */
#include <glib-unix.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static GMainLoop *loop;
static int n_idle, n_idle_full, n_idle_once, n_timeout, n_timeout_full, n_timeout_once, n_seconds, n_io, n_fd,
    n_child, n_custom, n_set_cb, notified, n_invoke_direct, n_invoke_thread, n_manual;
static int pending = 12; /* callbacks still to come before the loop quits */
static int pipe_io[2], pipe_fd[2];
static char removable_data[] = "removable";

static void one_done(void) {
  if (--pending == 0) g_main_loop_quit(loop);
}

static gboolean on_idle(gpointer data) {
  (void)data;
  if (++n_idle < 3) return G_SOURCE_CONTINUE;
  one_done();
  return G_SOURCE_REMOVE;
}

static gboolean on_idle_full(gpointer data) {
  (void)data;
  n_idle_full++;
  one_done();
  return G_SOURCE_REMOVE;
}

static void on_notify(gpointer data) {
  (void)data;
  notified++;
}

static void on_idle_once(gpointer data) {
  (void)data;
  n_idle_once++;
  one_done();
}

static gboolean on_timeout(gpointer data) {
  (void)data;
  if (++n_timeout < 2) return G_SOURCE_CONTINUE;
  one_done();
  return G_SOURCE_REMOVE;
}

static gboolean on_timeout_full(gpointer data) {
  (void)data;
  n_timeout_full++;
  one_done();
  return G_SOURCE_REMOVE;
}

static void on_timeout_once(gpointer data) {
  (void)data;
  n_timeout_once++;
  one_done();
}

static gboolean on_seconds(gpointer data) {
  (void)data;
  n_seconds++;
  one_done();
  return G_SOURCE_REMOVE;
}

static gboolean on_io(GIOChannel *ch, GIOCondition cond, gpointer data) {
  (void)ch, (void)cond, (void)data;
  char c;
  if (read(pipe_io[0], &c, 1) != 1) abort();
  n_io++;
  one_done();
  return G_SOURCE_REMOVE;
}

static gboolean on_fd(gint fd, GIOCondition cond, gpointer data) {
  (void)cond, (void)data;
  char c;
  if (read(fd, &c, 1) != 1) abort();
  n_fd++;
  one_done();
  return G_SOURCE_REMOVE;
}

static void on_child(GPid pid, gint status, gpointer data) {
  (void)data, (void)status;
  g_spawn_close_pid(pid);
  n_child++;
  one_done();
}

static gboolean custom_prepare(GSource *s, gint *timeout) {
  (void)s;
  *timeout = 0;
  return n_custom == 0;
}

static gboolean custom_check(GSource *s) {
  (void)s;
  return n_custom == 0;
}

static gboolean custom_dispatch(GSource *s, GSourceFunc cb, gpointer data) {
  (void)s, (void)cb, (void)data;
  n_custom++;
  one_done();
  return G_SOURCE_REMOVE;
}

static GSourceFuncs custom_funcs = {custom_prepare, custom_check, custom_dispatch, NULL, NULL, NULL};

static gboolean on_set_cb(gpointer data) {
  (void)data;
  n_set_cb++;
  return G_SOURCE_REMOVE;
}

static gboolean on_invoke_direct(gpointer data) {
  (void)data;
  n_invoke_direct++;
  return G_SOURCE_REMOVE;
}

static gboolean on_invoke_thread(gpointer data) {
  (void)data;
  n_invoke_thread++;
  one_done();
  return G_SOURCE_REMOVE;
}

static gboolean loop_running(gpointer data);

static void *invoker(void *arg) {
  (void)arg;
  g_main_context_invoke(NULL, on_invoke_thread, NULL); /* LS-SITE: invoke_thread */
  return NULL;
}

static pthread_t invoker_thread;

/* The first dispatch: the main thread owns the default context now, so the other thread's invoke
 * goes through an idle source. */
static gboolean loop_running(gpointer data) {
  (void)data;
  if (pthread_create(&invoker_thread, NULL, invoker, NULL) != 0) abort();
  return G_SOURCE_REMOVE;
}

static gboolean on_manual(gpointer data) {
  (void)data;
  n_manual++;
  return G_SOURCE_REMOVE;
}

/* One iteration run by hand, as a program that embeds GLib in another loop does. */
static void iterate_by_hand(GMainContext *ctx) {
  gint prio, timeout;
  GPollFD fds[16];
  if (!g_main_context_acquire(ctx)) abort();
  g_main_context_prepare(ctx, &prio);
  gint n = g_main_context_query(ctx, prio, &timeout, fds, 16);
  g_poll(fds, (guint)n, timeout);
  if (g_main_context_check(ctx, prio, fds, n)) g_main_context_dispatch(ctx);
  g_main_context_release(ctx);
}

static gboolean never_called(gpointer data) {
  (void)data;
  abort();
}

int main(void) {
  loop = g_main_loop_new(NULL, FALSE);
  if (pipe(pipe_io) != 0 || pipe(pipe_fd) != 0) return 1;
  g_idle_add(on_idle, NULL);                                      /* LS-SITE: idle */
  g_idle_add_full(G_PRIORITY_LOW, on_idle_full, NULL, on_notify); /* LS-SITE: idle_full */
  g_idle_add_once(on_idle_once, NULL);                            /* LS-SITE: idle_once */
  g_timeout_add(1, on_timeout, NULL);                             /* LS-SITE: timeout */
  g_timeout_add_full(G_PRIORITY_HIGH, 1, on_timeout_full, NULL, on_notify); /* LS-SITE: timeout_full */
  g_timeout_add_once(1, on_timeout_once, NULL);                   /* LS-SITE: timeout_once */
  g_timeout_add_seconds(1, on_seconds, NULL);                     /* LS-SITE: timeout_seconds */
  GIOChannel *ch = g_io_channel_unix_new(pipe_io[0]);
  g_io_add_watch(ch, G_IO_IN, on_io, NULL);                       /* LS-SITE: io */
  g_io_channel_unref(ch);
  g_unix_fd_add(pipe_fd[0], G_IO_IN, on_fd, NULL);                /* LS-SITE: unix_fd */
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  g_child_watch_add(pid, on_child, NULL);                         /* LS-SITE: child */
  GSource *custom = g_source_new(&custom_funcs, sizeof(GSource));
  g_source_attach(custom, NULL);                                  /* LS-SITE: custom */
  g_source_unref(custom);
  /* A source the program finds and removes by its own data: our record must not hide it. */
  g_timeout_add_seconds(3600, never_called, removable_data);
  if (!g_source_remove_by_user_data(removable_data)) return 2;
  g_main_context_invoke(NULL, on_invoke_direct, NULL);          /* LS-SITE: invoke_direct */
  g_idle_add_full(G_PRIORITY_HIGH, loop_running, NULL, NULL);
  if (write(pipe_io[1], "x", 1) != 1 || write(pipe_fd[1], "x", 1) != 1) return 1;
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  pthread_join(invoker_thread, NULL);

  GMainContext *ctx = g_main_context_new();
  GSource *t = g_timeout_source_new(1);
  g_source_set_callback(t, on_set_cb, NULL, NULL);
  g_source_attach(t, ctx);                                        /* LS-SITE: set_callback */
  g_source_unref(t);
  while (n_set_cb == 0) g_main_context_iteration(ctx, TRUE);
  g_main_context_unref(ctx);

  GMainContext *manual = g_main_context_new();
  GSource *idle = g_idle_source_new();
  g_source_set_callback(idle, on_manual, NULL, NULL);
  g_source_attach(idle, manual);                                  /* LS-SITE: manual */
  g_source_unref(idle);
  while (n_manual == 0) iterate_by_hand(manual);
  g_main_context_unref(manual);

  printf("idle=%d idle_full=%d idle_once=%d timeout=%d timeout_full=%d timeout_once=%d timeout_seconds=%d io=%d "
         "unix_fd=%d child=%d custom=%d set_callback=%d invoke_direct=%d invoke_thread=%d manual=%d notified=%d\n",
         n_idle, n_idle_full, n_idle_once, n_timeout, n_timeout_full, n_timeout_once, n_seconds, n_io, n_fd, n_child,
         n_custom, n_set_cb, n_invoke_direct, n_invoke_thread, n_manual, notified);
  return 0;
}
