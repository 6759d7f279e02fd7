/* A real GLib program from Debian, stripped as Debian ships it, under `loopscope run` (issue 6 item
 * 8): gdbus (libglib2.0-bin) against a private dbus-daemon session bus on a unix socket in the test's
 * own directory. gdbus behaves as it does without loopscope (exit status, output), and the report
 * names its contexts and its source, with no findings:
 *
 *   gdbus call ... GetId: the bus's answer is printed exactly as without the shim; GDBus's worker
 *     thread ("gdbus") iterates its own context, a glib loop; GDBus's own sources are not sites.
 *   gdbus wait --timeout 1 NAME (a name nobody owns): gdbus's g_timeout_add_seconds is a "glib timeout"
 *     site in /usr/bin/gdbus, dispatched once, on the main thread's g_main_loop_run context; exit
 *     status 1, as without the shim.
 *
 * A test whose binaries are not installed says so and the run is a skip (77); CI installs them
 * (.ci/run). The daemon runs without the shim in its own process group and is stopped with SIGTERM
 * (SIGKILL if it lingers); every wait is bounded. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_util.h"

#define GDBUS "/usr/bin/gdbus"
#define DBUS_DAEMON "/usr/bin/dbus-daemon"
#define WAIT_S 30

static bool have(const char *path) {
  if (access(path, X_OK) == 0) return true;
  fprintf(stderr, "it_gl_debian: %s is not installed: skipped (apt-get install libglib2.0-bin dbus-daemon)\n", path);
  return false;
}

static void sleep_ms(long ms) {
  struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&d, &d) != 0 && errno == EINTR) {
  }
}

/* ---- the private bus ---- */

struct bus {
  pid_t pid;
  char *sock, *env;
};

static void bus_start(struct bus *b, const char *dir) {
  ck_assert_int_ge(asprintf(&b->sock, "%s/bus", dir), 0);
  ck_assert_int_ge(asprintf(&b->env, "DBUS_SESSION_BUS_ADDRESS=unix:path=%s", b->sock), 0);
  char *addr, *log;
  ck_assert_int_ge(asprintf(&addr, "--address=unix:path=%s", b->sock), 0);
  ck_assert_int_ge(asprintf(&log, "%s/dbus-daemon.log", dir), 0);
  char **envp = it_child_env(NULL);
  fflush(NULL);
  b->pid = fork();
  ck_assert_int_ge(b->pid, 0);
  if (b->pid == 0) {
    setpgid(0, 0);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = open("/dev/null", O_RDONLY);
    if (fd < 0 || null < 0) _exit(127);
    dup2(null, 0), dup2(fd, 1), dup2(fd, 2);
    execle(DBUS_DAEMON, DBUS_DAEMON, "--session", "--nofork", "--nopidfile", addr, (char *)NULL, envp);
    _exit(127);
  }
  free(envp);
  free(addr);
  free(log);
  /* Up when its socket exists (bounded). */
  struct stat st;
  for (int i = 0; i < WAIT_S * 20 && stat(b->sock, &st) != 0; i++) {
    int status;
    ck_assert_msg(waitpid(b->pid, &status, WNOHANG) == 0, "dbus-daemon exited early (status %d)", status);
    sleep_ms(50);
  }
  ck_assert_msg(stat(b->sock, &st) == 0, "dbus-daemon made no socket at %s in %d s", b->sock, WAIT_S);
}

static void bus_stop(struct bus *b) {
  kill(-b->pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < WAIT_S * 20 && waitpid(b->pid, &status, WNOHANG) == 0; i++) sleep_ms(50);
  if (waitpid(b->pid, &status, WNOHANG) == 0) {
    kill(-b->pid, SIGKILL);
    waitpid(b->pid, &status, 0);
  }
  free(b->sock);
  free(b->env);
}

/* ---- gdbus, plain and under `loopscope run` ---- */

static void gdbus(struct it_proc *p, const char *dir, const struct bus *b, bool shimmed, const char *const args[]) {
  const char *argv[32];
  size_t n = 0;
  char *out = NULL;
  if (shimmed) {
    ck_assert_int_ge(asprintf(&out, "%s/report.%%p.%%s.lsr", dir), 0);
    argv[n++] = LS_CLI;
    argv[n++] = "run";
    argv[n++] = "-o";
    argv[n++] = out;
    argv[n++] = "--";
  }
  argv[n++] = GDBUS;
  for (size_t i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
  argv[n] = NULL;
  const char *env[] = {b->env, NULL};
  it_run(p, dir, argv, env, NULL);
  free(out);
}

static json_object *thread_named(json_object *proc, const char *name) {
  json_object *threads = it_need(proc, "threads");
  for (size_t i = 0; i < json_object_array_length(threads); i++) {
    json_object *t = json_object_array_get_idx(threads, i);
    const char *n = it_str(t, "name");
    if (n && strcmp(n, name) == 0) return t;
  }
  return NULL;
}

/* The glib loop run by tid, or NULL. */
static json_object *glib_loop_on(json_object *proc, int64_t tid, int64_t min_callbacks) {
  json_object *loops = it_need(proc, "loops");
  for (size_t i = 0; i < json_object_array_length(loops); i++) {
    json_object *l = json_object_array_get_idx(loops, i);
    if (strcmp(it_str(l, "library"), "glib") == 0 && it_int(l, "thread") == tid &&
        it_int(l, "callbacks") >= min_callbacks)
      return l;
  }
  return NULL;
}

static void no_findings(json_object *root, const struct it_proc *p) {
  json_object *f[1];
  size_t n = it_findings(root, NULL, f, 1);
  ck_assert_msg(n == 0, "gdbus gave %zu findings:\n%s\nstderr:\n%s", n, it_json_text(it_need(root, "findings")),
                p->err);
}

START_TEST(gdbus_call_get_id) {
  if (!have(GDBUS) || !have(DBUS_DAEMON)) return;
  char *dir = it_mkdir("it_gl_debian_call");
  struct bus b;
  bus_start(&b, dir);
  const char *args[] = {"call", "--session", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
                        "--method", "org.freedesktop.DBus.GetId", NULL};
  struct it_proc plain, run;
  gdbus(&plain, dir, &b, false, args);
  gdbus(&run, dir, &b, true, args);
  bus_stop(&b);
  ck_assert_msg(plain.code == 0, "plain gdbus call failed (%d):\n%s", plain.code, plain.err);
  ck_assert_msg(run.code == 0, "gdbus call under loopscope exited %d:\n%s", run.code, run.err);
  /* The bus id is the same for both calls to one daemon: the output must be identical. */
  ck_assert_msg(strcmp(plain.out, run.out) == 0, "output differs:\nplain: %s\nshimmed: %s", plain.out, run.out);
  ck_assert_msg(strlen(plain.out) > 10, "no answer: %s", plain.out);
  json_object *root = it_report_json(dir);
  json_object *proc = it_need(root, "processes.0");
  no_findings(root, &run);
  /* GDBus's worker thread iterates its own context: a glib loop on the thread named "gdbus". */
  json_object *worker = thread_named(proc, "gdbus");
  ck_assert_msg(worker, "no gdbus worker thread:\n%s", it_json_text(it_need(proc, "threads")));
  json_object *l = glib_loop_on(proc, it_int(worker, "tid"), 0);
  ck_assert_msg(l && it_int(l, "iterations") > 0, "no glib loop on the gdbus worker thread:\n%s",
                it_json_text(it_need(proc, "loops")));
  /* GDBus's own sources (its worker's) are not the program's: no site. */
  ck_assert_msg(json_object_array_length(it_need(proc, "sites")) == 0, "GLib's own sources became sites:\n%s",
                it_json_text(it_need(proc, "sites")));
  json_object_put(root);
  it_proc_free(&plain);
  it_proc_free(&run);
  it_done(dir);
}
END_TEST

START_TEST(gdbus_wait_timeout_source) {
  if (!have(GDBUS) || !have(DBUS_DAEMON)) return;
  char *dir = it_mkdir("it_gl_debian_wait");
  struct bus b;
  bus_start(&b, dir);
  const char *args[] = {"wait", "--session", "--timeout", "1", "org.loopscope.NobodyOwnsThis", NULL};
  struct it_proc plain, run;
  gdbus(&plain, dir, &b, false, args);
  gdbus(&run, dir, &b, true, args);
  bus_stop(&b);
  ck_assert_msg(plain.code == 1, "plain gdbus wait exited %d, expected 1 (timed out):\n%s", plain.code, plain.err);
  ck_assert_msg(run.code == plain.code, "gdbus wait under loopscope exited %d, plain %d:\n%s", run.code, plain.code,
                run.err);
  ck_assert_msg(strcmp(plain.out, run.out) == 0, "output differs:\nplain: %s\nshimmed: %s", plain.out, run.out);
  json_object *root = it_report_json(dir);
  json_object *proc = it_need(root, "processes.0");
  no_findings(root, &run);
  /* gdbus's own timeout: one "glib timeout" site in /usr/bin/gdbus (stripped: module+offset), run once. */
  json_object *sites = it_need(proc, "sites");
  ck_assert_msg(json_object_array_length(sites) == 1, "one site expected:\n%s", it_json_text(sites));
  json_object *s = json_object_array_get_idx(sites, 0);
  ck_assert_str_eq(it_str(s, "kind"), "glib timeout");
  ck_assert_str_eq(it_str(s, "callback.module"), GDBUS);
  ck_assert_str_eq(it_str(s, "stack.0.module"), GDBUS);
  ck_assert_int_eq(it_int(s, "count"), 1);
  /* ... dispatched by the main thread's context. */
  ck_assert_msg(glib_loop_on(proc, it_int(proc, "pid"), 1), "no glib loop on the main thread ran it:\n%s",
                it_json_text(it_need(proc, "loops")));
  json_object_put(root);
  it_proc_free(&plain);
  it_proc_free(&run);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_gl_debian");
  TCase *tc = tcase_create("gdbus");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, gdbus_call_get_id);
  tcase_add_test(tc, gdbus_wait_timeout_source);
  suite_add_tcase(s, tc);
  int rc = it_main(s);
  /* A binary that is not installed is a skip (CTest's SKIP_RETURN_CODE), never a pass. */
  if (rc == 0 && (access(GDBUS, X_OK) != 0 || access(DBUS_DAEMON, X_OK) != 0)) return 77;
  return rc;
}
