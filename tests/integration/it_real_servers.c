/* Issue 4 item 4: real servers from Debian, run unchanged under the shim, each once alone and once
 * under `loopscope run`, with a private config and directory, on a free loopback port; a raw-socket
 * client of ours waits until the server answers, sends a bounded number of requests (every reply
 * checked and kept), and stops it. Both runs must give the same replies and the same exit status; the
 * report must be complete, show the server's loop(s) and have no finding at all.
 *
 *   redis   redis-server (the redis-server package): ae's own epoll loop on the main thread, and
 *           background threads (bio_*, jemalloc's) that block on condvars. 100 SET/GET/INCR each and
 *           DBSIZE over RESP, then SIGTERM (sent to `loopscope run`, which passes it on): exit 0.
 *           Its log (stdout) has no line of ours.
 *   nginx   nginx from nginx-light: a master process that forks two worker processes, each an epoll
 *           loop of its own; every process gets its own report. 50 HTTP/1.0 GETs answered by a
 *           `return 200` location, then SIGQUIT (graceful: what `nginx -s quit` sends) to the master,
 *           by the pid in its pid file: exit 0, every process's report complete, exit 0, no finding.
 *
 * One binary, one CTest test per server (it_real_redis, it_real_nginx): the argument picks it, and a
 * server that is not installed exits 77 (CTest: skipped), never a silent pass. .ci/run installs both
 * without starting their services. Every wait is bounded: a child still running after
 * IT_CHILD_TIMEOUT_S is killed with its process group and the test fails. */
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

#define REDIS "/usr/bin/redis-server"
#define NGINX "/usr/sbin/nginx"
#define COMMANDS 100 /* SET, GET and INCR each */
#define REQUESTS 50  /* HTTP GETs */

/* A TCP port free on 127.0.0.1 now (bound to port 0 and released). */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(sa);
  ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %s", strerror(errno));
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  close(fd);
  return ntohs(sa.sin_port);
}

/* ---- raw clients: RESP for redis, HTTP/1.0 for nginx ---- */

/* A connection to 127.0.0.1:port, or -1 when nothing listens yet. */
static int tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Reads exactly n bytes, waiting at most 10 s for each piece; false on end of file, error or timeout. */
static bool read_full(int fd, char *buf, size_t n) {
  for (size_t got = 0; got < n;) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, 10000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t k = read(fd, buf + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    got += (size_t)k;
  }
  return true;
}

/* One reply line, CRLF removed (byte by byte: replies are small and the client is not measured). */
static bool read_line(int fd, char *buf, size_t cap) {
  size_t n = 0;
  for (;;) {
    if (n + 1 >= cap || !read_full(fd, buf + n, 1)) return false;
    if (n >= 1 && buf[n - 1] == '\r' && buf[n] == '\n') {
      buf[n - 1] = '\0';
      return true;
    }
    n++;
  }
}

/* Sends an inline command and reads its reply: a status, error or integer line as it is, a bulk
 * string as its contents ("(nil)" for a null one). False when the connection failed. */
static bool redis_cmd(int fd, const char *cmd, char *reply, size_t cap) {
  char line[256];
  int n = snprintf(line, sizeof(line), "%s\r\n", cmd);
  ck_assert(n > 0 && (size_t)n < sizeof(line));
  if (write(fd, line, (size_t)n) != n) return false;
  if (!read_line(fd, reply, cap)) return false;
  if (reply[0] != '$') return true;
  long len = strtol(reply + 1, NULL, 10);
  if (len < 0) {
    snprintf(reply, cap, "(nil)");
    return true;
  }
  ck_assert_msg((size_t)len + 2 < cap, "bulk reply of %ld bytes", len);
  if (!read_full(fd, reply, (size_t)len + 2)) return false;
  reply[len] = '\0';
  return true;
}

/* ---- the test ---- */

/* Private config: its port and directory, no persistence, log to stdout, nothing of the system's. */
static char *redis_conf(const char *dir, const char *tag, int port) {
  char *path, *text;
  ck_assert_int_ge(asprintf(&path, "%s/%s.conf", dir, tag), 0);
  int n = asprintf(&text,
                   "port %d\n"
                   "bind 127.0.0.1\n"
                   "daemonize no\n"
                   "supervised no\n"
                   "dir %s\n"
                   "logfile \"\"\n"
                   "pidfile \"\"\n"
                   "save \"\"\n"
                   "appendonly no\n"
                   "databases 1\n",
                   port, dir);
  ck_assert_int_ge(n, 0);
  it_write_file(path, text, (size_t)n);
  free(text);
  return path;
}

/* Runs argv, talks to the server on port, stops it with SIGTERM; the replies go to transcript. */
static void run_redis(struct it_proc *p, const char *dir, const char *tag, const char *const argv[], int port,
                      char **transcript) {
  struct it_child c;
  it_child_start(&c, dir, tag, argv, NULL);
  char reply[256], why[1024];
  int fd = -1, status;
  /* up: it accepts a connection and answers PING */
  while (fd < 0) {
    if (it_child_ended(&c, &status)) {
      it_child_wait(&c, p, "the server");
      ck_abort_msg("%s: the server ended (status %d) before it listened on 127.0.0.1:%d\nstdout:\n%s\nstderr:\n%s",
                   tag, p->code, port, p->out, p->err);
    }
    if (it_elapsed_s(&c.start) > IT_CHILD_TIMEOUT_S) it_child_fail(&c, "the server did not listen in time: killed");
    fd = tcp_connect(port);
    if (fd < 0) {
      struct timespec ts = {0, 20000000};
      nanosleep(&ts, NULL);
    }
  }
  if (!redis_cmd(fd, "PING", reply, sizeof(reply)) || strcmp(reply, "+PONG") != 0) {
    snprintf(why, sizeof(why), "%s: PING answered '%s'", tag, reply);
    close(fd);
    it_child_fail(&c, why);
  }
  /* the commands, one at a time, every reply checked and kept */
  size_t cap = 64 * 1024, len = 0;
  char *t = calloc(1, cap);
  ck_assert_ptr_nonnull(t);
  for (int i = 0; i < COMMANDS; i++) {
    char cmd[3][64], want[3][64];
    snprintf(cmd[0], sizeof(cmd[0]), "SET key:%d value-%d", i, i);
    snprintf(want[0], sizeof(want[0]), "+OK");
    snprintf(cmd[1], sizeof(cmd[1]), "GET key:%d", i);
    snprintf(want[1], sizeof(want[1]), "value-%d", i);
    snprintf(cmd[2], sizeof(cmd[2]), "INCR counter");
    snprintf(want[2], sizeof(want[2]), ":%d", i + 1);
    for (int k = 0; k < 3; k++) {
      bool ok = redis_cmd(fd, cmd[k], reply, sizeof(reply));
      if (!ok || strcmp(reply, want[k]) != 0) {
        snprintf(why, sizeof(why), "%s: '%s' answered '%s', expected '%s'", tag, cmd[k], ok ? reply : "(no reply)",
                 want[k]);
        close(fd);
        it_child_fail(&c, why);
      }
      len += (size_t)snprintf(t + len, cap - len, "%s -> %s\n", cmd[k], reply);
      ck_assert_uint_lt(len, cap);
    }
  }
  ck_assert_msg(redis_cmd(fd, "DBSIZE", reply, sizeof(reply)), "%s: DBSIZE: no reply", tag);
  len += (size_t)snprintf(t + len, cap - len, "DBSIZE -> %s\n", reply);
  close(fd);
  *transcript = t;
  ck_assert_msg(kill(c.pid, SIGTERM) == 0, "kill: %s", strerror(errno));
  it_child_wait(&c, p, "the server");
}

START_TEST(redis_serves_unchanged_and_clean) {
  char *dir = it_mkdir("it_real_redis");
  int port = free_port();
  char *conf = redis_conf(dir, "plain", port);
  const char *argv[] = {REDIS, conf, NULL};
  struct it_proc plain, run;
  char *t_plain, *t_run;
  run_redis(&plain, dir, "plain", argv, port, &t_plain);
  ck_assert_msg(plain.code == 0, "redis-server exited %d on SIGTERM without loopscope\nstdout:\n%s", plain.code,
                plain.out);
  char want_dbsize[32];
  snprintf(want_dbsize, sizeof(want_dbsize), "DBSIZE -> :%d\n", COMMANDS + 1);
  ck_assert_msg(strstr(t_plain, want_dbsize), "plain run:\n%s", t_plain);

  /* a fresh port: nothing says when the first server's socket is free again */
  port = free_port();
  char *conf2 = redis_conf(dir, "run", port), *tmpl;
  ck_assert_int_ge(asprintf(&tmpl, "%s/report.%%p.%%s.lsr", dir), 0);
  const char *largv[] = {LS_CLI, "run", "-o", tmpl, "--", REDIS, conf2, NULL};
  run_redis(&run, dir, "run", largv, port, &t_run);

  /* the program is unchanged: exit status, replies; its log (stdout, timestamped) has no line of ours */
  ck_assert_msg(run.code == plain.code, "exit %d under loopscope run, %d alone\nstderr:\n%s", run.code, plain.code,
                run.err);
  ck_assert_msg(strcmp(t_plain, t_run) == 0, "replies differ\n--- alone:\n%s\n--- loopscope run:\n%s", t_plain, t_run);
  ck_assert_msg(!strstr(run.out, "loopscope"), "loopscope wrote to the server's stdout:\n%s", run.out);
  ck_assert_msg(strstr(run.out, "Ready to accept connections") && strstr(run.out, "ready to exit"),
                "redis's log under loopscope run lacks its start or its clean exit:\n%s", run.out);

  json_object *root = it_report_json(dir);
  json_object *t = it_need(root, "truncated");
  ck_assert_msg(json_object_is_type(t, json_type_boolean) && !json_object_get_boolean(t), "report truncated");
  json_object *procs = it_need(root, "processes");
  ck_assert_msg(json_object_array_length(procs) == 1, "not one process:\n%s", it_json_text(procs));
  json_object *proc = json_object_array_get_idx(procs, 0);
  ck_assert_str_eq(it_base(it_str(proc, "argv.0")), "redis-server");
  ck_assert_msg(it_str(proc, "exit.how") && strcmp(it_str(proc, "exit.how"), "exit") == 0 &&
                    it_int(proc, "exit.status") == 0,
                "the report says redis did not exit with status 0:\n%s", it_json_text(it_get(proc, "exit")));
  json_object *f[4];
  size_t nf = it_findings(root, NULL, f, 4);
  ck_assert_msg(nf == 0, "%zu findings, expected none:\n%s", nf, it_json_text(it_need(root, "findings")));

  /* its loop: ae's epoll_wait on the main thread, at least one iteration per command (each waited for
   * its reply before the next was sent) */
  json_object *loops = it_need(proc, "loops");
  int64_t iterations = 0;
  size_t on_main = 0;
  for (size_t i = 0; i < json_object_array_length(loops); i++) {
    json_object *l = json_object_array_get_idx(loops, i);
    if (!it_str(l, "library") || strcmp(it_str(l, "library"), "epoll") != 0) continue;
    if (it_int(l, "thread") != it_int(proc, "pid")) continue;
    on_main++;
    iterations += it_int(l, "iterations");
  }
  ck_assert_msg(on_main == 1 && iterations >= 3 * COMMANDS,
                "not one epoll loop on the main thread with >= %d iterations:\n%s", 3 * COMMANDS, it_json_text(loops));
  fprintf(stderr, "it_real_servers: redis: %zu loop(s), %lld iterations on the main thread, %zu threads, exit %d\n",
          json_object_array_length(loops), (long long)iterations, json_object_array_length(it_need(proc, "threads")),
          run.code);

  json_object_put(root);
  it_proc_free(&plain);
  it_proc_free(&run);
  free(t_plain);
  free(t_run);
  free(conf);
  free(conf2);
  free(tmpl);
  it_done(dir);
}
END_TEST

/* ---- nginx ---- */

/* Private config: prefix, port, pid file and temporary directories in dir, the error log on stderr,
 * no access log; every request answered by the config itself (no file to read as the workers' user). */
static char *nginx_conf(const char *dir, const char *tag, int port, char **pidfile) {
  char *path, *text;
  ck_assert_int_ge(asprintf(&path, "%s/%s.nginx.conf", dir, tag), 0);
  ck_assert_int_ge(asprintf(pidfile, "%s/%s.nginx.pid", dir, tag), 0);
  int n = asprintf(&text,
                   "daemon off;\n"
                   "master_process on;\n"
                   "worker_processes 2;\n"
                   "pid %s;\n"
                   "error_log stderr notice;\n"
                   "events { worker_connections 64; }\n"
                   "http {\n"
                   "  access_log off;\n"
                   "  client_body_temp_path %s/tmp;\n"
                   "  proxy_temp_path %s/tmp;\n"
                   "  fastcgi_temp_path %s/tmp;\n"
                   "  uwsgi_temp_path %s/tmp;\n"
                   "  scgi_temp_path %s/tmp;\n"
                   "  server { listen 127.0.0.1:%d; location / { return 200 \"hello $uri\\n\"; } }\n"
                   "}\n",
                   *pidfile, dir, dir, dir, dir, dir, port);
  ck_assert_int_ge(n, 0);
  it_write_file(path, text, (size_t)n);
  free(text);
  return path;
}

/* GET path over HTTP/1.0 (the server closes after the reply); the reply's status line and body as
 * "STATUS | BODY" in out. False when nothing listens or the reply is cut short. */
static bool http_get(int port, const char *path, char *out, size_t cap) {
  int fd = tcp_connect(port);
  if (fd < 0) return false;
  char req[128], resp[4096];
  int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
  ck_assert(n > 0 && (size_t)n < sizeof(req));
  size_t len = 0;
  bool ok = write(fd, req, (size_t)n) == n;
  while (ok && len + 1 < sizeof(resp)) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, 10000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) ok = false;
    ssize_t k = ok ? read(fd, resp + len, sizeof(resp) - 1 - len) : -1;
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    len += (size_t)k;
  }
  close(fd);
  resp[len] = '\0';
  char *eol = strstr(resp, "\r\n"), *body = strstr(resp, "\r\n\r\n");
  if (!ok || !eol || !body) return false;
  snprintf(out, cap, "%.*s | %s", (int)(eol - resp), resp, body + 4);
  return true;
}

/* The pid nginx wrote to pidfile, or 0 while there is none. */
static pid_t read_pid(const char *pidfile) {
  char *s = it_read_file(pidfile, NULL);
  pid_t pid = s ? (pid_t)strtol(s, NULL, 10) : 0;
  free(s);
  return pid;
}

/* Runs argv, waits until nginx answers and has written its pid file, sends REQUESTS GETs, then
 * SIGQUIT to the master (whose pid goes to master_out: nginx removes its pid file as it exits); the
 * replies go to transcript. */
static void run_nginx(struct it_proc *p, const char *dir, const char *tag, const char *const argv[], int port,
                      const char *pidfile, char **transcript, pid_t *master_out) {
  struct it_child c;
  it_child_start(&c, dir, tag, argv, NULL);
  char reply[256], why[512];
  int status;
  pid_t master = 0;
  while (!master || !http_get(port, "/ready", reply, sizeof(reply))) {
    if (it_child_ended(&c, &status)) {
      it_child_wait(&c, p, "the server");
      ck_abort_msg("%s: nginx ended (status %d) before it answered on 127.0.0.1:%d\nstderr:\n%s", tag, p->code, port,
                   p->err);
    }
    if (it_elapsed_s(&c.start) > IT_CHILD_TIMEOUT_S) it_child_fail(&c, "nginx did not answer in time: killed");
    master = read_pid(pidfile);
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
  }
  size_t cap = 64 * 1024, len = 0;
  char *t = calloc(1, cap);
  ck_assert_ptr_nonnull(t);
  for (int i = 0; i < REQUESTS; i++) {
    char path[32], want[64];
    snprintf(path, sizeof(path), "/r/%d", i);
    snprintf(want, sizeof(want), "HTTP/1.1 200 OK | hello /r/%d\n", i);
    bool ok = http_get(port, path, reply, sizeof(reply));
    if (!ok || strcmp(reply, want) != 0) {
      snprintf(why, sizeof(why), "%s: GET %s answered '%s', expected '%s'", tag, path, ok ? reply : "(nothing)", want);
      it_child_fail(&c, why);
    }
    len += (size_t)snprintf(t + len, cap - len, "GET %s -> %s", path, reply);
    ck_assert_uint_lt(len, cap);
  }
  *transcript = t;
  *master_out = master;
  ck_assert_msg(kill(master, SIGQUIT) == 0, "kill %d: %s", (int)master, strerror(errno));
  it_child_wait(&c, p, "the server");
}

START_TEST(nginx_serves_unchanged_and_clean) {
  char *dir = it_mkdir("it_real_nginx");
  int port = free_port();
  char *pid_plain, *pid_run;
  char *conf = nginx_conf(dir, "plain", port, &pid_plain);
  const char *argv[] = {NGINX, "-p", dir, "-c", conf, "-e", "stderr", NULL};
  struct it_proc plain, run;
  char *t_plain, *t_run;
  pid_t master;
  run_nginx(&plain, dir, "plain", argv, port, pid_plain, &t_plain, &master);
  ck_assert_msg(plain.code == 0, "nginx exited %d on SIGQUIT without loopscope\nstderr:\n%s", plain.code, plain.err);

  port = free_port();
  char *conf2 = nginx_conf(dir, "run", port, &pid_run), *tmpl;
  ck_assert_int_ge(asprintf(&tmpl, "%s/report.%%p.%%s.lsr", dir), 0);
  const char *largv[] = {LS_CLI, "run", "-o", tmpl, "--", NGINX, "-p", dir, "-c", conf2, "-e", "stderr", NULL};
  run_nginx(&run, dir, "run", largv, port, pid_run, &t_run, &master);

  ck_assert_msg(run.code == plain.code, "exit %d under loopscope run, %d alone\nstderr:\n%s", run.code, plain.code,
                run.err);
  ck_assert_msg(strcmp(t_plain, t_run) == 0, "replies differ\n--- alone:\n%s\n--- loopscope run:\n%s", t_plain, t_run);
  ck_assert_msg(run.outlen == 0 && plain.outlen == 0, "stdout: alone:\n%s\nloopscope run:\n%s", plain.out, run.out);
  /* its log (stderr, timestamped) says the same things: it started its workers and exited */
  ck_assert_msg(strstr(run.err, "start worker processes") && strstr(run.err, "[notice]") &&
                    strstr(run.err, ": exit\n") &&
                    !strstr(run.err, "[alert]") && !strstr(run.err, "[emerg]") && !strstr(run.err, "[crit]"),
                "nginx's log under loopscope run:\n%s", run.err);

  json_object *root = it_report_json(dir);
  json_object *t = it_need(root, "truncated");
  ck_assert_msg(json_object_is_type(t, json_type_boolean) && !json_object_get_boolean(t), "report truncated");
  json_object *f[4];
  size_t nf = it_findings(root, NULL, f, 4);
  ck_assert_msg(nf == 0, "%zu findings, expected none:\n%s", nf, it_json_text(it_need(root, "findings")));
  /* the master and its two workers, each with its own complete report and a clean exit; each worker
   * runs one epoll loop on its main thread, and between them they served every request */
  json_object *procs = it_need(root, "processes");
  size_t masters = 0, workers = 0;
  int64_t iterations = 0;
  for (size_t i = 0; i < json_object_array_length(procs); i++) {
    json_object *pr = json_object_array_get_idx(procs, i);
    const char *text = it_json_text(pr);
    ck_assert_msg(it_str(pr, "exit.how") && strcmp(it_str(pr, "exit.how"), "exit") == 0 &&
                      it_int(pr, "exit.status") == 0,
                  "a process that did not exit with status 0:\n%s", text);
    if (it_int(pr, "pid") == master) {
      masters++;
      continue;
    }
    ck_assert_msg(it_int(pr, "ppid") == master, "a process that is neither the master (%d) nor its child:\n%s",
                  (int)master, text);
    workers++;
    json_object *loops = it_need(pr, "loops");
    ck_assert_msg(json_object_array_length(loops) == 1 && strcmp(it_str(loops, "0.library"), "epoll") == 0 &&
                      it_int(loops, "0.thread") == it_int(pr, "pid"),
                  "a worker without one epoll loop on its main thread:\n%s", text);
    iterations += it_int(loops, "0.iterations");
  }
  ck_assert_msg(masters == 1 && workers == 2, "%zu master(s) (pid %d) and %zu workers:\n%s", masters, (int)master,
                workers, it_json_text(procs));
  ck_assert_msg(iterations >= REQUESTS, "the workers' loops ran %lld iterations for %d requests:\n%s",
                (long long)iterations, REQUESTS, it_json_text(procs));
  fprintf(stderr, "it_real_servers: nginx: %zu processes, the workers' loops %lld iterations, exit %d\n",
          json_object_array_length(procs), (long long)iterations, run.code);

  json_object_put(root);
  it_proc_free(&plain);
  it_proc_free(&run);
  free(t_plain);
  free(t_run);
  free(conf);
  free(conf2);
  free(pid_plain);
  free(pid_run);
  free(tmpl);
  it_done(dir);
}
END_TEST

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  bool redis = strcmp(which, "redis") == 0;
  const char *bin = redis ? REDIS : strcmp(which, "nginx") == 0 ? NGINX : NULL;
  if (!bin) {
    fprintf(stderr, "usage: it_real_servers redis|nginx\n");
    return 2;
  }
  if (access(bin, X_OK) != 0) {
    fprintf(stderr, "it_real_servers: SKIP: %s is not installed (CI installs it: see .ci/run)\n", bin);
    return 77;
  }
  Suite *s = suite_create("it_real_servers");
  TCase *tc = tcase_create(which);
  tcase_add_test(tc, redis ? redis_serves_unchanged_and_clean : nginx_serves_unchanged_and_clean);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
