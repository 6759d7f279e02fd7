/* Real libevent programs from Debian, stripped as Debian ships them, under `loopscope run`: each
 * behaves as without loopscope (what its clients see, its exit status), and the report shows its
 * libevent bases and callback sites, named by module+offset, with no libevent finding.
 *
 *   memcached: a server on a free 127.0.0.1 port with two worker threads; a client of ours stores and
 *     reads back SETS keys over one connection, then `loopscope run` gets SIGTERM, which it passes on.
 *     memcached runs a base on its main thread and one per worker; every request reaches a worker's
 *     connection event.
 *   tmux: a server on a private socket (-S), started by `loopscope run -- tmux new-session -d` (the
 *     server is the client's daemonised child and inherits the shim); plain tmux clients make a window,
 *     ask for names, then kill-server. The server runs its base with the deprecated event_init /
 *     event_loop pair and talks to clients through bufferevents.
 *
 * One suite per program (argument memcached or tmux); a suite whose binary is not installed says so and
 * exits 77, a skip; CI installs both (.ci/run). Every wait is bounded: a child still running after
 * IT_CHILD_TIMEOUT_S is killed with its process group. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_child.h"
#include "it_util.h"

#define MEMCACHED "/usr/bin/memcached"
#define TMUX "/usr/bin/tmux"
#define SETS 50

/* `loopscope run` flags: how long a start-up callback takes depends on the machine; these tests assert
 * on what the programs do, never how fast. */
static const char *const LOOPSCOPE_FLAGS[] = {"--slow-callback=60s", NULL};

/* ---- what the reports must say ---- */

static json_object *process_with_pid(json_object *root, int64_t pid) {
  json_object *procs = it_need(root, "processes");
  for (size_t i = 0; i < json_object_array_length(procs); i++) {
    json_object *p = json_object_array_get_idx(procs, i);
    if (it_int(p, "pid") == pid) return p;
  }
  ck_abort_msg("no process %lld in the report:\n%s", (long long)pid, it_json_text(procs));
  return NULL;
}

/* Ended by exit with status 0; none of the libevent adapter's findings (a finding of another detector,
 * such as tmux's getpwuid on its loop thread, a real blocking call, is its business). */
static void assert_no_libevent_findings(json_object *root, json_object *proc, const char *name) {
  ck_assert_msg(it_str(proc, "exit.how") && strcmp(it_str(proc, "exit.how"), "exit") == 0 &&
                    it_int(proc, "exit.status") == 0,
                "%s: the report says it did not exit with status 0:\n%s", name, it_json_text(it_get(proc, "exit")));
  static const char *const mine[] = {"slow-callback", "wrong-thread", "loop-reentry", "never-run",
                                     "unclosed-resource", "unretrieved-error"};
  json_object *f[4];
  for (size_t i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
    size_t n = it_findings(root, mine[i], f, 4);
    ck_assert_msg(n == 0, "%s: %zu %s findings, expected none:\n%s", name, n, mine[i],
                  it_json_text(it_need(root, "findings")));
  }
}

/* Calls of this process's sites of `kind` whose callback lies in a module named `module` (by base
 * name), which must have no symbols (Debian strips it): named by offset, function unknown. */
static int64_t calls_in(json_object *proc, const char *kind, const char *module) {
  json_object *sites = it_need(proc, "sites");
  int64_t n = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    const char *k = it_str(s, "kind"), *m = it_str(s, "callback.module");
    if (!k || strcmp(k, kind) != 0 || !m || strcmp(it_base(m), module) != 0) continue;
    ck_assert_msg(it_str(s, "callback.offset") != NULL, "a site without its module offset:\n%s", it_json_text(s));
    n += it_int(s, "count");
  }
  return n;
}

/* ---- memcached ---- */

static int free_tcp_port(void) {
  int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_msg(t >= 0, "socket: %s", strerror(errno));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(sa);
  ck_assert_msg(bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %s", strerror(errno));
  ck_assert_int_eq(getsockname(t, (struct sockaddr *)&sa, &len), 0);
  close(t);
  return ntohs(sa.sin_port);
}

/* Reads until the reply ends with `end` (or 5 s pass); returns the reply, NUL-terminated. */
static bool mc_reply(int fd, char *buf, size_t cap, const char *end) {
  size_t n = 0, el = strlen(end);
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (n < cap - 1 && it_elapsed_s(&start) < 5) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, 100) <= 0) continue;
    ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
    if (r <= 0) break;
    n += (size_t)r;
    buf[n] = '\0';
    if (n >= el && strcmp(buf + n - el, end) == 0) return true;
  }
  buf[n] = '\0';
  return false;
}

/* Connects (retrying while the server starts), stores and reads back SETS keys; the transcript of what
 * came back, one line per key, goes to *transcript. Then SIGTERM to the child (loopscope run passes it
 * on) and waits for it. */
static void run_memcached(struct it_proc *p, const char *dir, const char *tag, const char *const argv[], int port,
                          char **transcript) {
  struct it_child c;
  it_child_start(&c, dir, tag, argv, NULL);
  int fd = -1, status;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  while (fd < 0) {
    if (it_child_ended(&c, &status)) ck_abort_msg("%s: memcached ended (status %d) before it listened", tag, status);
    if (it_elapsed_s(&c.start) > IT_CHILD_TIMEOUT_S) {
      it_child_kill(&c);
      ck_abort_msg("%s: memcached did not listen on 127.0.0.1:%d within %d s", tag, port, IT_CHILD_TIMEOUT_S);
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
      close(fd);
      fd = -1;
      it_pause_ms(20);
    }
  }
  size_t cap = SETS * 64, len = 0;
  char *t = calloc(1, cap), req[128], reply[256];
  for (int i = 0; i < SETS; i++) {
    int n = snprintf(req, sizeof(req), "set key%d 0 0 6\r\nval%03d\r\n", i, i);
    ck_assert_int_eq(send(fd, req, (size_t)n, 0), n);
    bool ok = mc_reply(fd, reply, sizeof(reply), "\r\n");
    n = snprintf(req, sizeof(req), "get key%d\r\n", i);
    ck_assert_int_eq(send(fd, req, (size_t)n, 0), n);
    ok = mc_reply(fd, reply + strlen(reply), sizeof(reply) - strlen(reply), "END\r\n") && ok;
    if (!ok) {
      it_child_kill(&c);
      ck_abort_msg("%s: request %d got \"%s\"", tag, i, reply);
    }
    for (char *q = reply; *q; q++)
      if (*q == '\r' || *q == '\n') *q = ' ';
    len += (size_t)snprintf(t + len, cap - len, "%s\n", reply);
  }
  close(fd);
  *transcript = t;
  ck_assert_msg(kill(c.pid, SIGTERM) == 0, "kill: %s", strerror(errno));
  it_child_wait(&c, p, argv[0]);
}

START_TEST(memcached_set_get) {
  char *dir = it_mkdir("it_ev_debian_memcached");
  char port_s[16];
  snprintf(port_s, sizeof(port_s), "%d", free_tcp_port());
  /* -u root: memcached refuses to run as root without it; -U 0: no UDP */
  const char *argv[] = {MEMCACHED, "-u", "root", "-l", "127.0.0.1", "-p", port_s, "-U", "0", "-t", "2", NULL};
  struct it_proc plain, run;
  char *plain_t, *run_t;
  run_memcached(&plain, dir, "plain", argv, atoi(port_s), &plain_t);
  ck_assert_msg(strstr(plain_t, "STORED  VALUE key0 0 6  val000  END"), "plain transcript:\n%s", plain_t);

  snprintf(port_s, sizeof(port_s), "%d", free_tcp_port());
  const char *largv[32];
  char *tmpl;
  it_loopscope_argv(largv, 32, &tmpl, dir, LOOPSCOPE_FLAGS, argv);
  run_memcached(&run, dir, "run", largv, atoi(port_s), &run_t);
  ck_assert_msg(plain.code == run.code, "memcached exited %d under loopscope run, %d plain\nstderr:\n%s", run.code,
                plain.code, run.err);
  ck_assert_str_eq(run_t, plain_t);

  json_object *root = it_report_json(dir);
  json_object *procs = it_need(root, "processes");
  ck_assert_int_eq(json_object_array_length(procs), 1);
  json_object *proc = json_object_array_get_idx(procs, 0);
  assert_no_libevent_findings(root, proc, "memcached");

  /* a base on the main thread, one per worker */
  int64_t pid = it_int(proc, "pid"), callbacks = 0;
  size_t on_main = 0, on_workers = 0;
  json_object *loops = it_need(proc, "loops");
  for (size_t i = 0; i < json_object_array_length(loops); i++) {
    json_object *l = json_object_array_get_idx(loops, i);
    if (!it_str(l, "library") || strcmp(it_str(l, "library"), "libevent") != 0) continue;
    if (it_int(l, "thread") == pid) on_main++;
    else on_workers++;
    callbacks += it_int(l, "callbacks");
  }
  ck_assert_msg(on_main == 1 && on_workers == 2, "memcached: expected a libevent base on the main thread and on "
                "each of 2 workers:\n%s", it_json_text(loops));
  ck_assert_msg(callbacks >= 2 * SETS, "memcached: %lld callbacks for %d requests:\n%s", (long long)callbacks,
                2 * SETS, it_json_text(loops));
  /* every request reached a connection's read event (memcached's handler, by offset) */
  int64_t reads = calls_in(proc, "event read", "memcached");
  ck_assert_msg(reads >= 2 * SETS, "memcached: %lld 'event read' callbacks in memcached for %d requests:\n%s",
                (long long)reads, 2 * SETS, it_json_text(it_need(proc, "sites")));

  json_object_put(root);
  it_proc_free(&plain);
  it_proc_free(&run);
  free(plain_t);
  free(run_t);
  free(tmpl);
  it_done(dir);
}
END_TEST

/* ---- tmux ---- */

/* The session: started (by `start`, plain tmux or loopscope running it), a second window that prints a
 * line, questions whose answers do not depend on time, the server's pid, the line seen in the pane,
 * kill-server. Returns what the clients printed
 * (without the pid) and the server's pid. */
static char *tmux_session(const char *dir, const char *tag, const char *const start[], const char *sock,
                          long *server_pid) {
  struct it_proc p;
  char t[64];
  it_run_bounded(&p, dir, tag, start, NULL);
  ck_assert_msg(p.code == 0, "%s: tmux new-session exited %d\nstderr:\n%s", tag, p.code, p.err);
  it_proc_free(&p);
  const char *const steps[][9] = {
      {TMUX, "-S", sock, "new-window", "-t", "ls", "-d", "echo ls-pane-output; exec sleep 60"},
      {TMUX, "-S", sock, "list-windows", "-t", "ls", "-F", "#{window_index}"},
      {TMUX, "-S", sock, "display-message", "-p", "-t", "ls", "#{session_name} #{session_windows}"},
      {TMUX, "-S", sock, "has-session", "-t", "ls", NULL},
      {TMUX, "-S", sock, "display-message", "-p", "#{pid}", NULL},
  };
  size_t nsteps = sizeof(steps) / sizeof(steps[0]), cap = 4096, len = 0;
  char *out = calloc(1, cap);
  for (size_t i = 0; i < nsteps; i++) {
    snprintf(t, sizeof(t), "%s-step%zu", tag, i);
    it_run_bounded(&p, dir, t, steps[i], NULL);
    ck_assert_msg(p.code == 0, "%s: %s exited %d\nstderr:\n%s", tag, steps[i][3], p.code, p.err);
    if (i == nsteps - 1) *server_pid = strtol(p.out, NULL, 10);
    else len += (size_t)snprintf(out + len, cap - len, "%s: %d\n%s", steps[i][3], p.code, p.out);
    it_proc_free(&p);
  }
  ck_assert_msg(*server_pid > 0, "%s: no server pid", tag);
  /* the new window's output reaches the server through the pane's bufferevent: wait until it shows */
  const char *const capture[] = {TMUX, "-S", sock, "capture-pane", "-p", "-t", "ls:1", NULL};
  struct timespec wait_t;
  clock_gettime(CLOCK_MONOTONIC, &wait_t);
  for (bool seen = false; !seen;) {
    it_run_bounded(&p, dir, "capture", capture, NULL);
    seen = p.code == 0 && strstr(p.out, "ls-pane-output") != NULL;
    it_proc_free(&p);
    ck_assert_msg(seen || it_elapsed_s(&wait_t) < IT_CHILD_TIMEOUT_S, "%s: the pane's output never showed", tag);
    if (!seen) it_pause_ms(20);
  }
  const char *const kill_argv[] = {TMUX, "-S", sock, "kill-server", NULL};
  it_run_bounded(&p, dir, "kill", kill_argv, NULL);
  ck_assert_msg(p.code == 0, "%s: kill-server exited %d\nstderr:\n%s", tag, p.code, p.err);
  it_proc_free(&p);
  /* the server is not our child: wait (bounded) for it to be gone */
  struct timespec start_t;
  clock_gettime(CLOCK_MONOTONIC, &start_t);
  while (kill((pid_t)*server_pid, 0) == 0) {
    ck_assert_msg(it_elapsed_s(&start_t) < IT_CHILD_TIMEOUT_S, "%s: the tmux server %ld outlived kill-server", tag,
                  *server_pid);
    it_pause_ms(10);
  }
  return out;
}

START_TEST(tmux_commands_then_kill_server) {
  char *dir = it_mkdir("it_ev_debian_tmux");
  /* the sockets in a short directory of their own: a unix socket's path must fit in 108 bytes, and the
   * build tree's may be long */
  char sockdir[] = "/tmp/lsev.XXXXXX", *sock_plain, *sock_run;
  ck_assert_msg(mkdtemp(sockdir) != NULL, "mkdtemp: %s", strerror(errno));
  ck_assert_int_ge(asprintf(&sock_plain, "%s/plain", sockdir), 0);
  ck_assert_int_ge(asprintf(&sock_run, "%s/run", sockdir), 0);
  long plain_pid, run_pid;
  const char *plain_start[] = {TMUX, "-S", sock_plain, "-f", "/dev/null", "new-session", "-d", "-s", "ls",
                               "-x", "80", "-y", "24", NULL};
  char *plain_out = tmux_session(dir, "plain", plain_start, sock_plain, &plain_pid);
  ck_assert_msg(strstr(plain_out, "ls 2\n"), "plain tmux said:\n%s", plain_out);

  const char *run_start_prog[] = {TMUX, "-S", sock_run, "-f", "/dev/null", "new-session", "-d", "-s", "ls",
                                  "-x", "80", "-y", "24", NULL};
  const char *largv[40];
  char *tmpl;
  it_loopscope_argv(largv, 40, &tmpl, dir, LOOPSCOPE_FLAGS, run_start_prog);
  char *run_out = tmux_session(dir, "run", largv, sock_run, &run_pid);
  ck_assert_str_eq(run_out, plain_out);

  /* the server wrote its report as it ended; it is complete */
  json_object *root = it_report_json(dir);
  json_object *server = process_with_pid(root, run_pid);
  assert_no_libevent_findings(root, server, "tmux server");
  ck_assert_msg(!json_object_get_boolean(it_need(server, "truncated")), "the server's report is truncated");

  json_object *loops = it_need(server, "loops");
  bool ran = false;
  for (size_t i = 0; i < json_object_array_length(loops); i++) {
    json_object *l = json_object_array_get_idx(loops, i);
    if (it_str(l, "library") && strcmp(it_str(l, "library"), "libevent") == 0 && it_int(l, "thread") == run_pid &&
        it_int(l, "iterations") > 0 && it_int(l, "callbacks") > 0)
      ran = true;
  }
  ck_assert_msg(ran, "tmux server: no libevent base run by its main thread with callbacks:\n%s", it_json_text(loops));
  /* clients talk to it over sockets (event read) and their messages arrive through bufferevents */
  int64_t reads = calls_in(server, "event read", "tmux"), bev = calls_in(server, "bufferevent read", "tmux");
  ck_assert_msg(reads > 0 && bev > 0, "tmux server: %lld event read and %lld bufferevent read calls in tmux:\n%s",
                (long long)reads, (long long)bev, it_json_text(it_need(server, "sites")));

  json_object_put(root);
  free(plain_out);
  free(run_out);
  free(tmpl);
  unlink(sock_plain);
  unlink(sock_run);
  rmdir(sockdir);
  free(sock_plain);
  free(sock_run);
  it_done(dir);
}
END_TEST

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "memcached";
  const char *binary = strcmp(which, "tmux") == 0 ? TMUX : MEMCACHED;
  if (strcmp(which, "memcached") != 0 && strcmp(which, "tmux") != 0) {
    fprintf(stderr, "usage: it_ev_debian [memcached|tmux]\n");
    return 2;
  }
  if (access(binary, X_OK) != 0) {
    fprintf(stderr, "it_ev_debian: SKIP: %s is not installed (CI installs it: see .ci/run)\n", binary);
    return 77;
  }
  Suite *s = suite_create("it_ev_debian");
  TCase *tc = tcase_create(which);
  if (strcmp(which, "tmux") == 0) tcase_add_test(tc, tmux_commands_then_kill_server);
  else tcase_add_test(tc, memcached_set_get);
  tcase_set_timeout(tc, 600);
  suite_add_tcase(s, tc);
  return it_main(s);
}
