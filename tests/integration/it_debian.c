/* Real binaries from Debian packages, stripped as Debian ships them, under `loopscope run`: the
 * program behaves as it does without loopscope (exit status, output), and the report shows its libuv
 * loops and callback sites, named by module+offset where the binary has no symbols, with no findings.
 *
 *   nvim (neovim): a Lua script drives a vim.loop (luv) timer a known number of times; luv's timer
 *     trampoline lives in liblua5.1-luv.so, so that is the module its "uv timer" site names.
 *   named (bind9): a server on a free loopback port with its own config and zone in a private
 *     directory; a small DNS client of ours waits until it answers "version.bind CH TXT", asks it a
 *     bounded number of questions about its zone, then stops it with SIGTERM sent to `loopscope run`,
 *     which passes it on. named runs its libuv loops on its network threads, not on the main thread.
 *
 * A test whose binary is not installed says so and the run is a skip (77); CI installs both packages
 * (.ci/run). Every wait is bounded: a child still running after IT_CHILD_TIMEOUT_S is killed, with its process group. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_child.h"
#include "it_util.h"

#define NVIM "/usr/bin/nvim"
#define NAMED "/usr/sbin/named"
#define TICKS 5
#define QUERIES 20

extern char **environ;

/* `loopscope run` flags: the two findings about time are pushed past the children's bound. How long
 * named's start-up callback takes depends on the machine (its netmgr thread loads the configuration in
 * one callback, ~20 ms here and 138 ms under strace); these tests assert on what the programs do,
 * never on how fast. Every other finding must still be absent. */
static const char *const LOOPSCOPE_FLAGS[] = {"--slow-callback=60s", "--pool-wait=60s", NULL};

static bool installed(const char *path) {
  if (access(path, X_OK) == 0) return true;
  fprintf(stderr, "it_debian: SKIP: %s is not installed (CI installs it: see .ci/run)\n", path);
  return false;
}

static void assert_same_output(const char *name, const struct it_proc *plain, const struct it_proc *run) {
  ck_assert_msg(plain->code == run->code, "%s: exit status %d under loopscope run, %d plain\nstderr:\n%s", name,
                run->code, plain->code, run->err);
  ck_assert_msg(plain->outlen == run->outlen && memcmp(plain->out, run->out, plain->outlen) == 0,
                "%s: stdout differs\n--- plain:\n%s\n--- loopscope run:\n%s", name, plain->out, run->out);
}

/* The report's process whose argv[0] ends in base (exactly one), or the test fails. */
static json_object *process_named(json_object *root, const char *base) {
  json_object *procs = it_need(root, "processes"), *found = NULL;
  size_t n = 0;
  for (size_t i = 0; i < json_object_array_length(procs); i++) {
    json_object *p = json_object_array_get_idx(procs, i);
    if (strcmp(it_base(it_str(p, "argv.0")), base) == 0) {
      found = p;
      n++;
    }
  }
  ck_assert_msg(n == 1, "%zu processes named %s in the report:\n%s", n, base, it_json_text(root));
  return found;
}

/* What every report here must say: complete, the program exited 0, nothing found. */
static void assert_clean_report(json_object *root, json_object *proc, const char *name) {
  json_object *t = it_need(root, "truncated");
  ck_assert_msg(json_object_is_type(t, json_type_boolean) && !json_object_get_boolean(t), "%s: report truncated:\n%s",
                name, it_json_text(root));
  ck_assert_msg(it_str(proc, "exit.how") && strcmp(it_str(proc, "exit.how"), "exit") == 0 &&
                    it_int(proc, "exit.status") == 0,
                "%s: the report says the process did not exit with status 0:\n%s", name,
                it_json_text(it_get(proc, "exit")));
  json_object *f[4];
  size_t nf = it_findings(root, NULL, f, 4);
  ck_assert_msg(nf == 0, "%s: %zu findings, expected none:\n%s", name, nf, it_json_text(it_need(root, "findings")));
}

/* ---- nvim: a luv timer ---- */

/* A luv timer ticks every 10 ms, TICKS times, then stops and closes. vim.wait runs nvim's event loop
 * until the condition holds; its timeout only keeps a broken run from hanging (inside the children's
 * bound), and a run that hit it prints fewer ticks. */
#define TICKS_LUA                                                                                           \
  "local uv = vim.loop\n"                                                                                   \
  "local want, n = %d, 0\n"                                                                                 \
  "local t = uv.new_timer()\n"                                                                              \
  "t:start(10, 10, function()\n"                                                                           \
  "  n = n + 1\n"                                                                                           \
  "  if n == want then\n"                                                                                   \
  "    t:stop()\n"                                                                                          \
  "    t:close()\n"                                                                                         \
  "  end\n"                                                                                                 \
  "end)\n"                                                                                                  \
  "vim.wait(50000, function() return n >= want end, 5)\n"                                                   \
  "io.stdout:write(string.format('ticks=%%d\\n', n))\n"

START_TEST(nvim_luv_timer) {
  if (!installed(NVIM)) return;
  char *dir = it_mkdir("it_debian_nvim");
  char *script, *lua, *expect, *home, *tmp;
  ck_assert_int_ge(asprintf(&script, "%s/ticks.lua", dir), 0);
  ck_assert_int_ge(asprintf(&lua, TICKS_LUA, TICKS), 0);
  it_write_file(script, lua, strlen(lua));
  ck_assert_int_ge(asprintf(&expect, "ticks=%d\n", TICKS), 0);
  char *luafile;
  ck_assert_int_ge(asprintf(&luafile, "luafile %s", script), 0);
  /* nothing of the user's: no config, no shada, state and the server socket in the private directory */
  ck_assert_int_ge(asprintf(&home, "HOME=%s", dir), 0);
  ck_assert_int_ge(asprintf(&tmp, "TMPDIR=%s", dir), 0);
  const char *env[] = {home, tmp, "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME",
                       "XDG_RUNTIME_DIR", "NVIM_LOG_FILE", NULL};
  const char *argv[] = {NVIM, "--headless", "-u", "NONE", "-i", "NONE", "-c", luafile, "-c", "qa!", NULL};

  struct it_proc plain, run;
  it_run_bounded(&plain, dir, "plain", argv, env);
  ck_assert_msg(plain.code == 0, "nvim exited %d without loopscope\nstderr:\n%s", plain.code, plain.err);
  ck_assert_str_eq(plain.out, expect);

  const char *largv[32];
  char *tmpl;
  it_loopscope_argv(largv, 32, &tmpl, dir, LOOPSCOPE_FLAGS, argv);
  it_run_bounded(&run, dir, "run", largv, env);
  assert_same_output("nvim", &plain, &run);
  char *a = it_without_loopscope_lines(plain.err), *b = it_without_loopscope_lines(run.err);
  ck_assert_msg(strcmp(a, b) == 0, "nvim: stderr differs (lines starting 'loopscope' removed)\n--- plain:\n%s\n"
                "--- loopscope run:\n%s", a, b);
  free(a);
  free(b);

  json_object *root = it_report_json(dir);
  json_object *proc = process_named(root, "nvim");
  assert_clean_report(root, proc, "nvim");

  json_object *loops = it_need(proc, "loops");
  bool uv_loop = false;
  for (size_t i = 0; i < json_object_array_length(loops); i++) {
    json_object *l = json_object_array_get_idx(loops, i);
    if (it_str(l, "library") && strcmp(it_str(l, "library"), "libuv") == 0 && it_int(l, "iterations") > 0)
      uv_loop = true;
  }
  ck_assert_msg(uv_loop, "nvim: no libuv loop with iterations > 0:\n%s", it_json_text(loops));

  /* Debian's luv is stripped: the trampoline is liblua5.1-luv.so+offset, its function unknown */
  json_object *sites = it_need(proc, "sites");
  int64_t luv_ticks = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    const char *kind = it_str(s, "kind"), *module = it_str(s, "callback.module");
    if (kind && strcmp(kind, "uv timer") == 0 && module && strstr(it_base(module), "luv"))
      luv_ticks += it_int(s, "count");
  }
  ck_assert_msg(luv_ticks >= TICKS, "nvim: %lld calls of uv timer sites in luv, expected >= %d:\n%s",
                (long long)luv_ticks, TICKS, it_json_text(sites));

  json_object_put(root);
  it_proc_free(&plain);
  it_proc_free(&run);
  free(tmpl);
  free(luafile);
  free(expect);
  free(lua);
  free(script);
  free(home);
  free(tmp);
  it_done(dir);
}
END_TEST

/* ---- named: a DNS server on loopback ---- */

/* A port free on 127.0.0.1 for both UDP and TCP (named listens on both), found by binding port 0. */
static int free_port(void) {
  for (int attempt = 0; attempt < 50; attempt++) {
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_msg(u >= 0 && t >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    ck_assert_msg(bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %s", strerror(errno));
    ck_assert_int_eq(getsockname(u, (struct sockaddr *)&sa, &len), 0);
    bool tcp_free = bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(u);
    close(t);
    if (tcp_free) return ntohs(sa.sin_port);
  }
  ck_abort_msg("no port free for both UDP and TCP on 127.0.0.1");
  return -1;
}

/* A question: the name in wire form, type and class, and what a good answer's record data is. */
struct dns_question {
  const char *what;
  const unsigned char *name;
  size_t namelen;
  uint16_t type, cls;
};

#define DNS_TXT 16
#define DNS_A 1
#define DNS_IN 1
#define DNS_CH 3

static const unsigned char version_bind[] = "\7version\4bind";
static const struct dns_question q_version = {"version.bind CH TXT", version_bind, sizeof(version_bind), DNS_TXT,
                                              DNS_CH};
static const unsigned char ns_test[] = "\2ns\11loopscope\4test";
static const struct dns_question q_ns = {"ns.loopscope.test IN A", ns_test, sizeof(ns_test), DNS_A, DNS_IN};

/* The query for q with this id; returns its length. */
static size_t dns_query(unsigned char *m, size_t cap, const struct dns_question *q, uint16_t id) {
  ck_assert_uint_le(12 + q->namelen + 4, cap);
  memset(m, 0, 12);
  m[0] = (unsigned char)(id >> 8);
  m[1] = (unsigned char)id;
  m[5] = 1; /* one question, no flags: named answers for its own zones, and recursion is off */
  memcpy(m + 12, q->name, q->namelen);
  unsigned char *t = m + 12 + q->namelen;
  t[0] = (unsigned char)(q->type >> 8);
  t[1] = (unsigned char)q->type;
  t[2] = (unsigned char)(q->cls >> 8);
  t[3] = (unsigned char)q->cls;
  return 12 + q->namelen + 4;
}

/* Skips a (possibly compressed) name at *off; false when it runs off the message. */
static bool dns_skip_name(const unsigned char *m, size_t len, size_t *off) {
  while (*off < len) {
    unsigned char l = m[*off];
    if (l == 0) {
      (*off)++;
      return true;
    }
    if ((l & 0xc0) == 0xc0) {
      *off += 2;
      return *off <= len;
    }
    *off += 1u + l;
  }
  return false;
}

static uint16_t be16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Says why in why, and returns false. */
__attribute__((format(printf, 3, 4))) static bool bad(char *why, size_t whylen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, whylen, fmt, ap);
  va_end(ap);
  return false;
}

/* Whether m answers query id for q: a NOERROR response echoing the question, whose first answer has
 * q's type and class and the data we know: a non-empty string for TXT (named's version), 127.0.0.1
 * for the A record of our zone. */
static bool dns_answer_ok(const unsigned char *m, size_t len, const struct dns_question *q, uint16_t id, char *why,
                          size_t whylen) {
  if (len < 12 || be16(m) != id) return bad(why, whylen, "%zu bytes, not a reply to id %u", len, id);
  if (!(m[2] & 0x80) || (m[3] & 0x0f) != 0)
    return bad(why, whylen, "flags 0x%02x%02x: not a NOERROR response", m[2], m[3]);
  if (be16(m + 4) != 1 || be16(m + 6) < 1)
    return bad(why, whylen, "%u questions, %u answers", be16(m + 4), be16(m + 6));
  if (len < 12 + q->namelen + 4 || memcmp(m + 12, q->name, q->namelen) != 0)
    return bad(why, whylen, "the question is not echoed");
  size_t off = 12 + q->namelen + 4;
  if (!dns_skip_name(m, len, &off) || off + 10 > len) return bad(why, whylen, "answer cut short");
  uint16_t type = be16(m + off), cls = be16(m + off + 2), rdlen = be16(m + off + 8);
  off += 10;
  if (type != q->type || cls != q->cls || off + rdlen > len)
    return bad(why, whylen, "answer of type %u class %u, rdlength %u", type, cls, rdlen);
  static const unsigned char loopback[] = {127, 0, 0, 1};
  bool data_ok = q->type == DNS_TXT ? rdlen >= 2 && m[off] > 0 && 1u + m[off] <= rdlen
                                    : rdlen == 4 && memcmp(m + off, loopback, 4) == 0;
  if (!data_ok) return bad(why, whylen, "unexpected record data (rdlength %u)", rdlen);
  return true;
}

/* Sends the query and waits up to wait_ms for its answer (other datagrams are read and dropped): 1 for
 * a good answer, 0 for none (nothing listens yet, or no reply came), -1 for a wrong one; why says why. */
static int dns_ask(int fd, const struct dns_question *q, uint16_t id, int wait_ms, char *why, size_t whylen) {
  unsigned char m[512], a[1500];
  size_t mlen = dns_query(m, sizeof(m), q, id);
  bad(why, whylen, "%s: no answer within %d ms", q->what, wait_ms);
  if (send(fd, m, mlen, 0) != (ssize_t)mlen) return bad(why, whylen, "%s: send: %s", q->what, strerror(errno));
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int left = wait_ms - (int)(it_elapsed_s(&start) * 1000);
    if (left <= 0) return 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    ssize_t n = recv(fd, a, sizeof(a), 0);
    if (n < 0) { /* ECONNREFUSED: nothing listens yet */
      if (errno == EINTR || errno == EAGAIN) continue;
      return bad(why, whylen, "%s: recv: %s", q->what, strerror(errno));
    }
    if (n >= 2 && be16(a) != id) continue; /* a late answer to an earlier try */
    return dns_answer_ok(a, (size_t)n, q, id, why, whylen) ? 1 : -1;
  }
}

static int dns_socket(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s", strerror(errno));
  return fd;
}

/* The server's config, and a zone of ours in dir. Only what the test needs: its own directory and port,
 * no rndc control channel (it would take 127.0.0.1:953, which another named may hold), nothing written
 * outside dir. The zone is what the bulk of the queries ask for: named's built-in CHAOS view answers
 * version.bind at most 3 times a second (its default rate-limit), and drops the rest. */
static char *named_conf(const char *dir, int port) {
  static const char zone[] = "$TTL 300\n"
                             "@   IN SOA ns.loopscope.test. hostmaster.loopscope.test. 1 3600 600 86400 300\n"
                             "@   IN NS  ns.loopscope.test.\n"
                             "ns  IN A   127.0.0.1\n";
  char *path, *text;
  ck_assert_int_ge(asprintf(&path, "%s/db.loopscope.test", dir), 0);
  it_write_file(path, zone, strlen(zone));
  free(path);
  ck_assert_int_ge(asprintf(&path, "%s/named.conf", dir), 0);
  int n = asprintf(&text,
                   "options {\n"
                   "  directory \"%s\";\n"
                   "  listen-on port %d { 127.0.0.1; };\n"
                   "  listen-on-v6 { none; };\n"
                   "  pid-file none;\n"
                   "  session-keyfile none;\n"
                   "  recursion no;\n"
                   "  dnssec-validation no;\n"
                   "};\n"
                   "controls { };\n"
                   "zone \"loopscope.test\" { type primary; file \"db.loopscope.test\"; };\n",
                   dir, port);
  ck_assert_int_ge(n, 0);
  it_write_file(path, text, (size_t)n);
  free(text);
  return path;
}

/* Kills the child, and fails the test with its stderr. */
static void named_failed(struct it_child *c, int fd, const char *tag, const char *why) {
  close(fd);
  it_child_kill(c);
  char *err = it_read_file(c->errp, NULL);
  ck_abort_msg("%s: %s\nstderr:\n%s", tag, why, err ? err : "");
}

/* Runs argv (named itself, or loopscope running it), waits until named answers, asks QUERIES questions,
 * each of which must be answered, then sends SIGTERM to the process it started and waits for it. */
static void run_named(struct it_proc *p, const char *dir, const char *tag, const char *const argv[], int port) {
  struct it_child c;
  it_child_start(&c, dir, tag, argv, NULL);
  int fd = dns_socket(port);
  char why[200] = "", msg[300];
  uint16_t id = 1;
  int status;
  /* Up: it answers version.bind, and then its zone is loaded (until then it answers SERVFAIL). Anything
   * short of a good answer is asked again, until the child's bound. */
  const struct dns_question *ready[] = {&q_version, &q_ns};
  for (size_t r = 0; r < 2;) {
    if (it_child_ended(&c, &status)) {
      it_child_output(&c, p, status);
      ck_abort_msg("%s: %s ended (status %d) before it answered on 127.0.0.1:%d\nstderr:\n%s", tag, argv[0],
                   p->code, port, p->err);
    }
    if (dns_ask(fd, ready[r], id++, 200, why, sizeof(why)) == 1) {
      r++;
      continue;
    }
    if (it_elapsed_s(&c.start) > IT_CHILD_TIMEOUT_S) {
      snprintf(msg, sizeof(msg), "named did not answer on 127.0.0.1:%d within %d s (%s): killed", port,
               IT_CHILD_TIMEOUT_S, why);
      named_failed(&c, fd, tag, msg);
    }
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
  }
  /* QUERIES questions, each answered right; a datagram lost on the way is asked again, a few times */
  for (int i = 0; i < QUERIES; i++) {
    int rc = 0;
    for (int attempt = 0; attempt < 5 && rc == 0; attempt++) rc = dns_ask(fd, &q_ns, id++, 2000, why, sizeof(why));
    if (rc != 1) {
      snprintf(msg, sizeof(msg), "query %d of %d got no good answer (%s)", i + 1, QUERIES, why);
      named_failed(&c, fd, tag, msg);
    }
  }
  close(fd);
  ck_assert_msg(kill(c.pid, SIGTERM) == 0, "kill: %s", strerror(errno));
  it_child_wait(&c, p, argv[0]);
}

START_TEST(named_answers) {
  if (!installed(NAMED)) return;
  char *dir = it_mkdir("it_debian_named");

  int port = free_port();
  char *conf = named_conf(dir, port);
  const char *argv[] = {NAMED, "-g", "-u", "root", "-c", conf, "-n", "2", NULL};
  struct it_proc plain, run;
  run_named(&plain, dir, "plain", argv, port);
  ck_assert_msg(plain.code == 0, "named exited %d on SIGTERM without loopscope\nstderr:\n%s", plain.code, plain.err);
  free(conf);

  /* a fresh port for the second server: the first one's sockets are gone, but nothing says when */
  port = free_port();
  conf = named_conf(dir, port);
  argv[5] = conf;
  const char *largv[32];
  char *tmpl;
  it_loopscope_argv(largv, 32, &tmpl, dir, LOOPSCOPE_FLAGS, argv);
  run_named(&run, dir, "run", largv, port);
  /* stderr is named's log, timestamped: only the status and stdout compare */
  assert_same_output("named", &plain, &run);

  json_object *root = it_report_json(dir);
  json_object *proc = process_named(root, "named");
  assert_clean_report(root, proc, "named");

  int64_t main_tid = it_int(proc, "pid");
  json_object *threads = it_need(proc, "threads");
  for (size_t i = 0; i < json_object_array_length(threads); i++) {
    json_object *t = json_object_array_get_idx(threads, i);
    if (it_str(t, "role") && strcmp(it_str(t, "role"), "main") == 0) main_tid = it_int(t, "tid");
  }
  json_object *loops = it_need(proc, "loops");
  size_t off_main = 0;
  int64_t callbacks = 0;
  for (size_t i = 0; i < json_object_array_length(loops); i++) {
    json_object *l = json_object_array_get_idx(loops, i);
    if (!it_str(l, "library") || strcmp(it_str(l, "library"), "libuv") != 0) continue;
    if (it_int(l, "thread") != main_tid) off_main++;
    callbacks += it_int(l, "callbacks");
  }
  ck_assert_msg(off_main >= 1, "named: no libuv loop on a thread other than the main thread (%lld):\n%s",
                (long long)main_tid, it_json_text(loops));
  ck_assert_msg(callbacks > 0, "named: its loops dispatched no callbacks:\n%s", it_json_text(loops));

  /* every query we sent reached named through a uv_udp_recv_start callback (libisc's, by offset) */
  json_object *sites = it_need(proc, "sites");
  int64_t site_calls = 0, udp_recvs = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    site_calls += it_int(s, "count");
    if (it_str(s, "kind") && strcmp(it_str(s, "kind"), "uv udp recv") == 0) udp_recvs += it_int(s, "count");
  }
  ck_assert_msg(json_object_array_length(sites) > 0 && site_calls > 0, "named: no callback site was called:\n%s",
                it_json_text(sites));
  ck_assert_msg(udp_recvs >= QUERIES, "named: %lld uv udp recv callbacks for %d queries answered:\n%s",
                (long long)udp_recvs, QUERIES, it_json_text(sites));

  json_object_put(root);
  it_proc_free(&plain);
  it_proc_free(&run);
  free(tmpl);
  free(conf);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_debian");
  TCase *tc = tcase_create("debian");
  tcase_add_test(tc, nvim_luv_timer);
  tcase_add_test(tc, named_answers);
  tcase_set_timeout(tc, 600);
  suite_add_tcase(s, tc);
  int rc = it_main(s);
  /* A binary that is not installed is a skip (CTest's SKIP_RETURN_CODE), never a pass. Asked here, in
   * the parent: Check runs each test in a child. */
  if (rc == 0 && (access(NVIM, X_OK) != 0 || access(NAMED, X_OK) != 0)) return 77;
  return rc;
}
