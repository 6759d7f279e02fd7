/* The TCP benchmark driver (issue 3, item 10): bench_tcp_server, a libuv HTTP server on loopback,
 * driven by wrk with bounded connections and duration, plain and under the shim, in one run.
 *
 *   throughput  one plain warm-up run (discarded), then RUNS plain and RUNS shimmed runs, alternating
 *               (plain first in odd rounds, shimmed first in even ones, so a slow drift of the machine
 *               does not always favour one mode); the server pinned to one CPU, wrk to another, so
 *               they do not fight. Prints the median Requests/sec of each mode and the ratio beside
 *               the goal (shimmed >= 95% of plain). The goal is printed, not enforced: this is a
 *               benchmark, not a timed test. Other processes on a shared machine move requests/s a
 *               lot, so it also prints the best run of each mode, the server's CPU time per request
 *               (all its threads, from /proc/PID/task/[*]/schedstat), and the load average.
 *   soak        (--soak[=SECONDS], default 60) one shimmed run at full load for SECONDS, sampling the
 *               server's VmRSS and the report file's size every --sample seconds; prints the series,
 *               RSS growth, and the report's growth in bytes per second and per 1000 requests. The
 *               report is appended every flush_ms with cumulative snapshots of each site and loop, so
 *               it grows linearly with time whatever the load; what must not happen is growth with
 *               the number of requests (per-event records).
 *
 * Every shimmed server is stopped with SIGTERM, and `loopscope report --format=json` on its report
 * must show the read, alloc and write callback sites (bench_tcp_on_read, _alloc, _write) with exactly
 * the counts the server printed at exit, reads >= the requests wrk completed, and the server's own
 * request count >= wrk's ("counted: OK"); otherwise the driver exits with status 1.
 *
 * Paths come from the build (compile definitions), each overridable by a flag:
 *   LS_BENCH_TCP_SERVER bench_tcp_server   LS_BENCH_SHIM libloopscope.so   LS_BENCH_CLI loopscope
 * wrk is found on PATH (Debian package wrk), or given by --wrk. The only target is 127.0.0.1.
 *
 * Exit status: 0 done and counted, 1 a run failed or the counts disagree, 2 usage or set-up error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench_common.h"

#ifndef LS_BENCH_TCP_SERVER
#error "LS_BENCH_TCP_SERVER (the path of bench_tcp_server) must be defined by the build"
#endif
#ifndef LS_BENCH_SHIM
#error "LS_BENCH_SHIM (the path of libloopscope.so) must be defined by the build"
#endif
#ifndef LS_BENCH_CLI
#error "LS_BENCH_CLI (the path of the loopscope command) must be defined by the build"
#endif

#define GOAL_RATIO 0.95
#define MAX_RUNS 50
#define MAX_SAMPLES 1000
#define SERVER_START_MS 10000 /* to print its port */
#define SERVER_STOP_MS 30000  /* from SIGTERM to exit, report written */
/* RSS may move by allocator noise; more than this from the first loaded sample to the last is growth. */
#define RSS_FLAT_KB 1024

struct config {
  const char *server, *shim, *cli, *wrk, *shim_options;
  int runs, duration, connections, threads, server_cpu, wrk_cpu, soak, sample;
  bool keep;
  char tmpdir[64];
};

/* What the server printed at exit. */
struct server_counts {
  uint64_t connections, allocs, reads, requests, writes, closes;
};

struct server {
  pid_t pid;
  int out; /* its stdout */
  int port;
  bool shimmed;
};

/* What wrk printed. */
struct wrk_result {
  uint64_t requests, socket_errors, non2xx;
  double seconds, rps;
  char latency[32];
};

/* One run's figures, for the table and the medians. */
struct run {
  struct wrk_result w;
  struct server_counts s;
  long hwm_kb; /* the server's peak RSS (VmHWM), read just before SIGTERM */
  off_t report_bytes;
  double cpu_ns_per_req; /* the server's CPU time (all its threads, the shim's included) per request */
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench_tcp_driver [--runs=N] [--duration=SECONDS] [--connections=N] [--threads=N]\n"
          "                        [--server-cpu=N] [--wrk-cpu=N] [--soak[=SECONDS]] [--sample=SECONDS]\n"
          "                        [--keep] [--shim-options=K=V:...]\n"
          "                        [--server=PATH] [--shim=PATH] [--cli=PATH] [--wrk=PATH]\n"
          "Runs `wrk -tTHREADS -cCONNECTIONS -dDURATIONs http://127.0.0.1:PORT/` against bench_tcp_server,\n"
          "RUNS times plain and RUNS times under the shim (defaults: 3 runs, 10 s, 32 connections, 1 wrk\n"
          "thread), alternating, server pinned to --server-cpu (1), wrk to --wrk-cpu (0); prints median\n"
          "Requests/sec and the ratio beside the goal (shimmed >= 95%% of plain). --soak adds one shimmed\n"
          "run of SECONDS (60) at full load, sampling the server's RSS and the report size every --sample\n"
          "seconds (5). --runs=0 with --soak runs the soak alone. Each shimmed report must count the\n"
          "server's read and write callbacks exactly.\n");
}

static void parse_args(int argc, char **argv, struct config *c) {
  c->server = LS_BENCH_TCP_SERVER;
  c->shim = LS_BENCH_SHIM;
  c->cli = LS_BENCH_CLI;
  c->wrk = "wrk";
  c->runs = 3;
  c->duration = 10;
  c->connections = 32;
  c->threads = 1;
  c->server_cpu = 1;
  c->wrk_cpu = 0;
  c->sample = 5;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if ((v = bench_flag_value(a, "--runs"))) c->runs = bench_parse_int(v, "--runs", 0, MAX_RUNS);
    else if ((v = bench_flag_value(a, "--duration"))) c->duration = bench_parse_int(v, "--duration", 1, 3600);
    else if ((v = bench_flag_value(a, "--connections"))) c->connections = bench_parse_int(v, "--connections", 1, 10000);
    else if ((v = bench_flag_value(a, "--threads"))) c->threads = bench_parse_int(v, "--threads", 1, 64);
    else if ((v = bench_flag_value(a, "--server-cpu"))) c->server_cpu = bench_parse_int(v, "--server-cpu", 0, CPU_SETSIZE - 1);
    else if ((v = bench_flag_value(a, "--wrk-cpu"))) c->wrk_cpu = bench_parse_int(v, "--wrk-cpu", 0, CPU_SETSIZE - 1);
    else if ((v = bench_flag_value(a, "--soak"))) c->soak = bench_parse_int(v, "--soak", 1, 86400);
    else if (strcmp(a, "--soak") == 0) c->soak = 60;
    else if ((v = bench_flag_value(a, "--sample"))) c->sample = bench_parse_int(v, "--sample", 1, 3600);
    else if ((v = bench_flag_value(a, "--shim-options"))) c->shim_options = v;
    else if ((v = bench_flag_value(a, "--server"))) c->server = v;
    else if ((v = bench_flag_value(a, "--shim"))) c->shim = v;
    else if ((v = bench_flag_value(a, "--cli"))) c->cli = v;
    else if ((v = bench_flag_value(a, "--wrk"))) c->wrk = v;
    else if (strcmp(a, "--keep") == 0) c->keep = true;
    else if (strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else {
      fprintf(stderr, "bench_tcp_driver: unknown argument '%s'\n", a);
      usage(stderr);
      exit(2);
    }
  }
  if (c->runs == 0 && c->soak == 0) {
    fprintf(stderr, "bench_tcp_driver: --runs=0 without --soak leaves nothing to do\n");
    exit(2);
  }
  if (c->connections < c->threads) {
    fprintf(stderr, "bench_tcp_driver: wrk needs at least as many connections (%d) as threads (%d)\n",
            c->connections, c->threads);
    exit(2);
  }
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads fd until EOF or deadline (CLOCK_MONOTONIC ms; 0 = none) into a NUL-terminated malloc'd
 * buffer. *timed_out says which. */
static char *read_until_eof(int fd, uint64_t deadline, bool *timed_out) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  *timed_out = false;
  while (buf) {
    if (len + 1 == cap) {
      char *b = realloc(buf, cap *= 2);
      if (!b) break;
      buf = b;
    }
    if (deadline) {
      uint64_t now = now_ms();
      struct pollfd p = {.fd = fd, .events = POLLIN};
      int r = now >= deadline ? 0 : poll(&p, 1, (int)(deadline - now));
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) {
        *timed_out = true;
        break;
      }
    }
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  if (buf) buf[len] = '\0';
  return buf;
}

static void pin(int cpu, const char *who) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) < 0) {
    fprintf(stderr, "bench_tcp_driver: cannot pin %s to CPU %d: %s\n", who, cpu, strerror(errno));
    _exit(126);
  }
}

static void report_options(const struct config *c, char *buf, size_t len) {
  snprintf(buf, len, "log_path=%s/tcp.%%p.lsr%s%s", c->tmpdir, c->shim_options ? ":" : "",
           c->shim_options ? c->shim_options : "");
}

/* Starts bench_tcp_server on port 0, pinned, plain or under the shim, and waits for its "port N".
 * Returns 0, or -1 after saying why (the server, if any, killed and reaped). */
static int start_server(const struct config *c, bool shimmed, struct server *s) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    perror("bench_tcp_driver: pipe");
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("bench_tcp_driver: fork");
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    pin(c->server_cpu, "the server");
    unsetenv("LD_PRELOAD");
    unsetenv("LOOPSCOPE_OPTIONS");
    if (shimmed) {
      char opts[4096];
      report_options(c, opts, sizeof(opts));
      setenv("LD_PRELOAD", c->shim, 1);
      setenv("LOOPSCOPE_OPTIONS", opts, 1);
    }
    dup2(p[1], STDOUT_FILENO);
    execl(c->server, c->server, "0", (char *)NULL);
    fprintf(stderr, "bench_tcp_driver: cannot run %s: %s\n", c->server, strerror(errno));
    _exit(127);
  }
  close(p[1]);
  s->pid = pid;
  s->out = p[0];
  s->shimmed = shimmed;
  s->port = 0;

  /* Byte by byte up to the first newline: what follows is the exit counts, read at stop. */
  char line[64];
  size_t n = 0;
  uint64_t deadline = now_ms() + SERVER_START_MS;
  while (n + 1 < sizeof(line)) {
    uint64_t now = now_ms();
    struct pollfd pf = {.fd = s->out, .events = POLLIN};
    int r = now >= deadline ? 0 : poll(&pf, 1, (int)(deadline - now));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    ssize_t k = read(s->out, line + n, 1);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0 || line[n] == '\n') break;
    n++;
  }
  line[n] = '\0';
  if (sscanf(line, "port %d", &s->port) != 1 || s->port <= 0) {
    fprintf(stderr, "bench_tcp_driver: %s server did not print its port (got '%s')\n", shimmed ? "shimmed" : "plain",
            line);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(s->out);
    return -1;
  }
  return 0;
}

static bool parse_counts(const char *out, struct server_counts *sc) {
  unsigned seen = 0;
  memset(sc, 0, sizeof(*sc));
  for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    char key[32];
    unsigned long long v;
    if (sscanf(line, "%31s %llu", key, &v) != 2) continue;
    if (strcmp(key, "connections") == 0) sc->connections = v, seen |= 1;
    else if (strcmp(key, "allocs") == 0) sc->allocs = v, seen |= 2;
    else if (strcmp(key, "reads") == 0) sc->reads = v, seen |= 4;
    else if (strcmp(key, "requests") == 0) sc->requests = v, seen |= 8;
    else if (strcmp(key, "writes") == 0) sc->writes = v, seen |= 16;
    else if (strcmp(key, "closes") == 0) sc->closes = v, seen |= 32;
  }
  return seen == 63;
}

/* SIGTERM, then the rest of its stdout and its exit; SIGKILL if it does not end in time. */
static int stop_server(struct server *s, struct server_counts *sc) {
  kill(s->pid, SIGTERM);
  bool timed_out;
  char *out = read_until_eof(s->out, now_ms() + SERVER_STOP_MS, &timed_out);
  close(s->out);
  if (timed_out) {
    fprintf(stderr, "bench_tcp_driver: server %d still running %d s after SIGTERM: killing it\n", (int)s->pid,
            SERVER_STOP_MS / 1000);
    kill(s->pid, SIGKILL);
  }
  int status;
  while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char why[128];
    bench_describe_status(status, why, sizeof(why));
    fprintf(stderr, "bench_tcp_driver: %s server %s\n", s->shimmed ? "shimmed" : "plain", why);
    free(out);
    return -1;
  }
  bool ok = out && parse_counts(out, sc);
  if (!ok) fprintf(stderr, "bench_tcp_driver: could not read the counts the server printed:\n%s", out ? out : "");
  free(out);
  return ok ? 0 : -1;
}

/* Starts wrk, pinned, against the port; its stdout comes back through *out. */
static pid_t start_wrk(const struct config *c, int port, int seconds, int *out) {
  char t[32], conns[32], d[32], url[64];
  snprintf(t, sizeof(t), "-t%d", c->threads);
  snprintf(conns, sizeof(conns), "-c%d", c->connections);
  snprintf(d, sizeof(d), "-d%ds", seconds);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    perror("bench_tcp_driver: pipe");
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("bench_tcp_driver: fork");
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    pin(c->wrk_cpu, "wrk");
    unsetenv("LD_PRELOAD");
    unsetenv("LOOPSCOPE_OPTIONS");
    dup2(p[1], STDOUT_FILENO);
    execlp(c->wrk, c->wrk, t, conns, d, url, (char *)NULL);
    fprintf(stderr, "bench_tcp_driver: cannot run %s: %s (apt-get install wrk, or pass --wrk=PATH)\n", c->wrk,
            strerror(errno));
    _exit(127);
  }
  close(p[1]);
  *out = p[0];
  return pid;
}

static bool parse_wrk(const char *out, struct wrk_result *w) {
  unsigned seen = 0;
  memset(w, 0, sizeof(*w));
  snprintf(w->latency, sizeof(w->latency), "?");
  for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    unsigned long long n, a, b, e, f;
    double v;
    char lat[32];
    char unit[8];
    /* wrk prints the duration with a unit: "10.00s", "1.00m", "1.00h" (its format_time). */
    if (sscanf(line, " %llu requests in %lf%7[a-z]", &n, &v, unit) == 3) {
      double scale = !strcmp(unit, "us") ? 1e-6 : !strcmp(unit, "ms") ? 1e-3 : !strcmp(unit, "s") ? 1
                   : !strcmp(unit, "m") ? 60 : !strcmp(unit, "h") ? 3600 : 0;
      if (scale > 0) w->requests = n, w->seconds = v * scale, seen |= 1;
    } else if (sscanf(line, " Requests/sec: %lf", &v) == 1) w->rps = v, seen |= 2;
    else if (sscanf(line, " Latency %31s", lat) == 1) snprintf(w->latency, sizeof(w->latency), "%s", lat);
    else if (sscanf(line, " Socket errors: connect %llu, read %llu, write %llu, timeout %llu", &a, &b, &e, &f) == 4)
      w->socket_errors = a + b + e + f;
    else if (sscanf(line, " Non-2xx or 3xx responses: %llu", &n) == 1) w->non2xx = n;
  }
  return seen == 3;
}

/* Waits for wrk to end and reads what it printed. Returns 0, or -1 after saying why. */
static int finish_wrk(pid_t pid, int out, struct wrk_result *w) {
  bool timed_out;
  char *text = read_until_eof(out, 0, &timed_out);
  close(out);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char why[128];
    bench_describe_status(status, why, sizeof(why));
    fprintf(stderr, "bench_tcp_driver: wrk %s\n%s", why, text ? text : "");
    free(text);
    return -1;
  }
  bool ok = text && parse_wrk(text, w);
  if (!ok) fprintf(stderr, "bench_tcp_driver: could not read what wrk printed:\n%s", text ? text : "");
  else if (w->requests == 0) {
    fprintf(stderr, "bench_tcp_driver: wrk completed no request:\n%s", text);
    ok = false;
  }
  free(text);
  return ok ? 0 : -1;
}

/* VmRSS or VmHWM of pid, in kB; -1 if unreadable. */
static long proc_kb(pid_t pid, const char *key) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  long kb = -1;
  size_t n = strlen(key);
  while (fgets(line, sizeof(line), f))
    if (strncmp(line, key, n) == 0 && line[n] == ':') {
      kb = strtol(line + n + 1, NULL, 10);
      break;
    }
  fclose(f);
  return kb;
}

/* CPU time of all of pid's threads, in ns (the first field of each task's schedstat); -1 if unreadable.
 * Per request it is a cross-check that other load on the machine disturbs far less than throughput. */
static double proc_cpu_ns(pid_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return -1;
  double ns = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[320];
    unsigned long long v;
    snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
    FILE *f = fopen(p, "re");
    if (f && fscanf(f, "%llu", &v) == 1) ns += (double)v;
    if (f) fclose(f);
  }
  closedir(d);
  return ns;
}

static off_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Sums the report's site counts for the server's read, alloc and write callbacks and holds them
 * against what the server and wrk counted. Returns 0 when they agree. */
static int check_counted(const struct config *c, pid_t pid, const struct server_counts *sc,
                         const struct wrk_result *w, const char *tag) {
  char report[512], json[512];
  if (!bench_find_report(c->tmpdir, "tcp", pid, report, sizeof(report))) {
    printf("  %s counted: FAILED (no report tcp.%d.*lsr in %s)\n", tag, (int)pid, c->tmpdir);
    return -1;
  }
  snprintf(json, sizeof(json), "%s/tcp.%d.json", c->tmpdir, (int)pid);
  if (bench_render_json(c->cli, report, json) < 0) {
    printf("  %s counted: FAILED (loopscope report did not render %s)\n", tag, report);
    return -1;
  }
  json_object *root = json_object_from_file(json);
  if (!root) {
    fprintf(stderr, "bench_tcp_driver: %s is not JSON: %s\n", json, json_util_get_last_err());
    printf("  %s counted: FAILED (the report's JSON does not parse)\n", tag);
    return -1;
  }
  static const char *names[] = {"bench_tcp_on_read", "bench_tcp_on_alloc", "bench_tcp_on_write"};
  uint64_t got[3] = {0}, want[3] = {sc->reads, sc->allocs, sc->writes};
  size_t nsites = 0;
  json_object *procs, *trunc;
  bool truncated = json_object_object_get_ex(root, "truncated", &trunc) && json_object_get_boolean(trunc);
  if (json_object_object_get_ex(root, "processes", &procs) && json_object_is_type(procs, json_type_array))
    for (size_t i = 0; i < json_object_array_length(procs); i++) {
      json_object *sites, *proc = json_object_array_get_idx(procs, i);
      if (!json_object_object_get_ex(proc, "sites", &sites) || !json_object_is_type(sites, json_type_array)) continue;
      for (size_t j = 0; j < json_object_array_length(sites); j++) {
        json_object *count, *site = json_object_array_get_idx(sites, j);
        const char *fn = bench_site_function(site);
        uint64_t n = json_object_object_get_ex(site, "count", &count) ? (uint64_t)json_object_get_int64(count) : 0;
        nsites++;
        for (int k = 0; k < 3; k++)
          if (fn && strcmp(fn, names[k]) == 0) got[k] += n;
      }
    }
  json_object_put(root);

  bool exact = got[0] == want[0] && got[1] == want[1] && got[2] == want[2];
  bool ok = exact && got[0] > 0 && got[2] > 0 && got[0] >= w->requests && sc->requests >= w->requests && !truncated;
  printf("  %s report %s: %zu sites; uv read %llu, uv alloc %llu, uv write %llu callbacks%s\n", tag, report, nsites,
         (unsigned long long)got[0], (unsigned long long)got[1], (unsigned long long)got[2],
         truncated ? " (TRUNCATED)" : "");
  printf("  %s server counted: reads %llu, allocs %llu, writes %llu, requests %llu, connections %llu; wrk: %llu "
         "requests (reads/requests %.3f)\n",
         tag, (unsigned long long)sc->reads, (unsigned long long)sc->allocs, (unsigned long long)sc->writes,
         (unsigned long long)sc->requests, (unsigned long long)sc->connections, (unsigned long long)w->requests,
         w->requests ? (double)got[0] / (double)w->requests : 0.0);
  if (ok) printf("  %s counted: OK\n", tag);
  else
    printf("  %s counted: FAILED (%s)\n", tag,
           !exact                       ? "the report's counts differ from the server's"
           : truncated                  ? "the report is truncated"
           : got[0] == 0 || got[2] == 0 ? "no read or no write callbacks in the report"
                                        : "fewer reads than requests");
  return ok ? 0 : -1;
}

/* One throughput run: server up, wrk for --duration, server down; counted when shimmed. */
static int run_once(const struct config *c, bool shimmed, struct run *r, pid_t *pid) {
  struct server s;
  memset(r, 0, sizeof(*r));
  if (start_server(c, shimmed, &s) < 0) return -1;
  *pid = s.pid;
  int out;
  pid_t wrk = start_wrk(c, s.port, c->duration, &out);
  int rc = wrk < 0 ? -1 : finish_wrk(wrk, out, &r->w);
  r->hwm_kb = proc_kb(s.pid, "VmHWM");
  double cpu = proc_cpu_ns(s.pid);
  r->cpu_ns_per_req = cpu > 0 && r->w.requests ? cpu / (double)r->w.requests : 0;
  if (stop_server(&s, &r->s) < 0) rc = -1;
  char report[512];
  r->report_bytes = shimmed && bench_find_report(c->tmpdir, "tcp", s.pid, report, sizeof(report)) ? file_size(report) : 0;
  return rc;
}

static double min_of(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}

static double max_of(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] > m ? v[i] : m;
  return m;
}

static void print_run(const char *label, const char *mode, const struct run *r, const char *note) {
  char bytes[32] = "-";
  if (r->report_bytes > 0) snprintf(bytes, sizeof(bytes), "%lld", (long long)r->report_bytes);
  printf("%-4s %-8s %10llu %12.1f %10s %9.2f %8ld %10s %7llu%s\n", label, mode, (unsigned long long)r->w.requests,
         r->w.rps, r->w.latency, r->cpu_ns_per_req / 1000.0, r->hwm_kb, bytes,
         (unsigned long long)(r->w.socket_errors + r->w.non2xx), note);
}

static int throughput(const struct config *c) {
  printf("\n%-4s %-8s %10s %12s %10s %9s %8s %10s %7s\n", "run", "mode", "requests", "requests/s", "latency",
         "CPU us/rq", "HWM kB", "report B", "errors");
  {
    struct run r;
    pid_t pid;
    if (run_once(c, false, &r, &pid) < 0) return -1;
    print_run("0", "plain", &r, "   (warm-up, discarded)");
  }
  double plain[MAX_RUNS], shimmed[MAX_RUNS], plain_cpu[MAX_RUNS], shimmed_cpu[MAX_RUNS];
  int failed = 0;
  for (int i = 0; i < c->runs && !failed; i++) {
    for (int k = 0; k < 2 && !failed; k++) {
      bool shim = (i % 2 == 0) ? k == 1 : k == 0;
      struct run r;
      pid_t pid;
      char label[16];
      snprintf(label, sizeof(label), "%d", i + 1);
      if (run_once(c, shim, &r, &pid) < 0) {
        failed = 1;
        break;
      }
      (shim ? shimmed : plain)[i] = r.w.rps;
      (shim ? shimmed_cpu : plain_cpu)[i] = r.cpu_ns_per_req / 1000.0;
      print_run(label, shim ? "shimmed" : "plain", &r, "");
      if (shim && check_counted(c, pid, &r.s, &r.w, "   ") < 0) failed = 1;
    }
  }
  if (failed) return -1;

  double p = bench_median(plain, c->runs), s = bench_median(shimmed, c->runs), ratio = p > 0 ? s / p : 0.0;
  double pc = bench_median(plain_cpu, c->runs), sc = bench_median(shimmed_cpu, c->runs);
  printf("\nmedians of %d run(s) each (wrk -t%d -c%d -d%ds, server on CPU %d, wrk on CPU %d)\n", c->runs, c->threads,
         c->connections, c->duration, c->server_cpu, c->wrk_cpu);
  printf("%-24s %12s %12s %8s   %s\n", "requests/s", "plain", "shimmed", "ratio", "goal");
  printf("%-24s %12.1f %12.1f %7.1f%%   >= %.0f%% of plain: %s\n", "HTTP keep-alive, 13 B", p, s, 100.0 * ratio,
         100.0 * GOAL_RATIO, ratio >= GOAL_RATIO ? "met" : "NOT met");
  /* Other processes on the machine move requests/s a lot; the server's CPU time per request much less. */
  printf("%-24s %12.2f %12.2f %7.1f%%   (plain/shimmed: the throughput a CPU-bound server would keep)\n",
         "server CPU us/request", pc, sc, sc > 0 ? 100.0 * pc / sc : 0.0);
  /* The best run of each mode is the one the rest of the machine disturbed least. */
  double bp = max_of(plain, c->runs), bs = max_of(shimmed, c->runs);
  printf("%-24s %12.1f %12.1f %7.1f%%   (best run of each mode; worst: plain %.1f, shimmed %.1f)\n",
         "requests/s, best", bp, bs, bp > 0 ? 100.0 * bs / bp : 0.0, min_of(plain, c->runs), min_of(shimmed, c->runs));
  return 0;
}

struct sample {
  double t;
  long rss_kb;
  off_t bytes;
};

/* Least-squares slope of bytes over time, samples [from, to). */
static double slope(const struct sample *v, int from, int to) {
  double n = to - from, st = 0, sb = 0, stt = 0, stb = 0;
  if (n < 2) return 0;
  for (int i = from; i < to; i++) {
    st += v[i].t;
    sb += (double)v[i].bytes;
    stt += v[i].t * v[i].t;
    stb += v[i].t * (double)v[i].bytes;
  }
  double den = n * stt - st * st;
  return den > 0 ? (n * stb - st * sb) / den : 0;
}

static int soak(const struct config *c) {
  struct server s;
  printf("\nsoak: one shimmed run, wrk -t%d -c%d -d%ds, VmRSS and report size every %d s\n", c->threads,
         c->connections, c->soak, c->sample);
  if (start_server(c, true, &s) < 0) return -1;
  char report[512];
  snprintf(report, sizeof(report), "%s/tcp.%d.lsr", c->tmpdir, (int)s.pid);

  static struct sample v[MAX_SAMPLES];
  int n = 0;
  int out;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  v[n++] = (struct sample){0, proc_kb(s.pid, "VmRSS"), file_size(report)};
  pid_t wrk = start_wrk(c, s.port, c->soak, &out);
  if (wrk < 0) {
    struct server_counts sc;
    stop_server(&s, &sc);
    return -1;
  }
  /* Sample on a fixed grid from the start while wrk runs (looking every 100 ms whether it ended, without
   * reaping it), then once more as soon as it has ended. */
  bool ended = false;
  uint64_t start = (uint64_t)t0.tv_sec * 1000 + (uint64_t)t0.tv_nsec / 1000000;
  for (int k = 1; !ended && n < MAX_SAMPLES - 1; k++) {
    uint64_t at = start + (uint64_t)k * (uint64_t)c->sample * 1000;
    for (;;) {
      siginfo_t info = {0};
      ended = waitid(P_PID, (id_t)wrk, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == wrk;
      uint64_t now = now_ms();
      if (ended || now >= at) break;
      usleep((useconds_t)(at - now < 100 ? at - now : 100) * 1000);
    }
    if (!ended) v[n++] = (struct sample){(double)k * c->sample, proc_kb(s.pid, "VmRSS"), file_size(report)};
  }
  struct wrk_result w;
  int rc = finish_wrk(wrk, out, &w);
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double tend = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  long hwm = proc_kb(s.pid, "VmHWM");
  struct sample last = {tend, proc_kb(s.pid, "VmRSS"), file_size(report)};
  struct server_counts sc;
  if (stop_server(&s, &sc) < 0) rc = -1;
  off_t final_bytes = file_size(report);

  printf("%8s %10s %10s %12s %10s %10s\n", "t (s)", "VmRSS kB", "dRSS kB", "report B", "dB", "B/s");
  for (int i = 0; i < n; i++) {
    long drss = i ? v[i].rss_kb - v[i - 1].rss_kb : 0;
    long long db = i ? (long long)(v[i].bytes - v[i - 1].bytes) : 0;
    double bps = i ? (double)db / (v[i].t - v[i - 1].t) : 0;
    printf("%8.1f %10ld %+10ld %12lld %+10lld %10.1f%s\n", v[i].t, v[i].rss_kb, drss, (long long)v[i].bytes, db, bps,
           i == 0 ? "   (before load)" : "");
  }
  printf("%8.1f %10ld %+10ld %12lld %+10lld %10s   (wrk ended; VmHWM %ld kB)\n", last.t, last.rss_kb,
         last.rss_kb - v[n - 1].rss_kb, (long long)last.bytes, (long long)(last.bytes - v[n - 1].bytes), "", hwm);
  printf("%8s %10s %10s %12lld %+10lld %10s   (after SIGTERM: final snapshot and trailer)\n", "exit", "", "",
         (long long)final_bytes, (long long)(final_bytes - last.bytes), "");

  if (rc == 0) {
    printf("wrk: %llu requests in %.2f s, %.1f requests/s, latency avg %s, %llu errors\n",
           (unsigned long long)w.requests, w.seconds, w.rps, w.latency,
           (unsigned long long)(w.socket_errors + w.non2xx));
    if (check_counted(c, s.pid, &sc, &w, "soak") < 0) rc = -1;
  }
  if (n < 3) {
    printf("soak: too few samples under load for a verdict (%d); use a longer --soak or a shorter --sample\n", n - 1);
    return rc;
  }

  /* RSS: from the first sample under load (connections open, buffers allocated) to the last. */
  long rss_growth = v[n - 1].rss_kb - v[1].rss_kb;
  double minutes = (v[n - 1].t - v[1].t) / 60.0;
  printf("RSS: %ld kB before load, %ld kB at %.0f s, %ld kB at %.0f s: %+ld kB (%+.1f kB/min) under load: %s\n",
         v[0].rss_kb, v[1].rss_kb, v[1].t, v[n - 1].rss_kb, v[n - 1].t, rss_growth,
         minutes > 0 ? rss_growth / minutes : 0.0, labs(rss_growth) <= RSS_FLAT_KB ? "flat" : "GROWING");

  /* Report: linear in time (cumulative snapshots every flush_ms) is expected; growth per request is not. */
  int half = 1 + (n - 1) / 2; /* the first and the last `half` samples under load (they share one or two) */
  double all = slope(v, 1, n), first = slope(v, 1, half + 1), second = slope(v, n - half, n);
  double per_kreq = w.requests ? 1000.0 * (double)(v[n - 1].bytes - v[1].bytes) /
                                     ((double)w.requests * (v[n - 1].t - v[1].t) / w.seconds)
                               : 0;
  printf("report: %lld bytes at %.0f s, %lld at %.0f s, %lld at exit; grows %.1f B/s under load (%.1f B/s in the "
         "first half, %.1f in the second), %.2f bytes per 1000 requests\n",
         (long long)v[1].bytes, v[1].t, (long long)v[n - 1].bytes, v[n - 1].t, (long long)final_bytes, all, first,
         second, per_kreq);
  /* A per-event record would cost tens of bytes per callback, three callbacks per request: tens of
   * thousands of bytes per 1000 requests; the bar is one byte per request. A snapshot's size rises
   * while its histograms fill buckets and its counts gain digits, bounded by sites x buckets, so the
   * rate per second may rise over the run without anything being written per event. */
  if (per_kreq < 1000.0)
    printf("report: linear in time, not in requests: one cumulative snapshot per site and loop every flush_ms "
           "(its size rises as histograms fill buckets, bounded), no per-event records\n");
  else
    printf("report: %.0f bytes per 1000 requests, over the bar of 1000: look for records written per event\n",
           per_kreq);
  return rc;
}

static void print_loadavg(const char *when) {
  char buf[128] = "?";
  FILE *f = fopen("/proc/loadavg", "re");
  if (f) {
    if (!fgets(buf, sizeof(buf), f)) snprintf(buf, sizeof(buf), "?\n");
    fclose(f);
  }
  printf("%s (1, 5, 15 min; %ld CPUs online): %s", when, sysconf(_SC_NPROCESSORS_ONLN), buf);
}

int main(int argc, char **argv) {
  bench_prog = "bench_tcp_driver";
  static struct config c;
  parse_args(argc, argv, &c);
  setvbuf(stdout, NULL, _IOLBF, 0);

  const char *paths[][2] = {{"bench_tcp_server", c.server}, {"the shim", c.shim}, {"the loopscope command", c.cli}};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
    if (access(paths[i][1], R_OK) < 0) {
      fprintf(stderr, "bench_tcp_driver: %s is not at %s: %s (build it first, or pass its path)\n", paths[i][0],
              paths[i][1], strerror(errno));
      return 2;
    }
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 &&
      (!CPU_ISSET(c.server_cpu, &allowed) || !CPU_ISSET(c.wrk_cpu, &allowed))) {
    fprintf(stderr, "bench_tcp_driver: CPU %d or %d is not one this process may use (see --server-cpu, --wrk-cpu)\n",
            c.server_cpu, c.wrk_cpu);
    return 2;
  }
  if (c.server_cpu == c.wrk_cpu)
    fprintf(stderr, "bench_tcp_driver: warning: server and wrk share CPU %d: they will fight for it\n", c.server_cpu);
  snprintf(c.tmpdir, sizeof(c.tmpdir), "/tmp/loopscope-bench-tcp.XXXXXX");
  if (!mkdtemp(c.tmpdir)) {
    perror("bench_tcp_driver: mkdtemp");
    return 2;
  }

  char opts[4096];
  report_options(&c, opts, sizeof(opts));
  printf("loopscope TCP benchmark: %s on 127.0.0.1 driven by %s -t%d -c%d\n", c.server, c.wrk, c.threads,
         c.connections);
  printf("shim: %s (LOOPSCOPE_OPTIONS=%s)\n", c.shim, opts);
  if (c.runs)
    printf("throughput: 1 warm-up + %d plain and %d shimmed runs of %d s, alternating; server on CPU %d, wrk on CPU "
           "%d\n",
           c.runs, c.runs, c.duration, c.server_cpu, c.wrk_cpu);

  /* Other processes share the machine; the load average tells the reader how much to trust the figures. */
  print_loadavg("load average before");
  int rc = 0;
  if (c.runs && throughput(&c) < 0) rc = 1;
  if (rc == 0 && c.soak && soak(&c) < 0) rc = 1;
  print_loadavg("\nload average after");
  if (rc) fprintf(stderr, "bench_tcp_driver: stopped or failed; reports kept in %s\n", c.tmpdir);
  else if (c.keep) printf("reports kept in %s\n", c.tmpdir);
  else bench_remove_tmpdir(c.tmpdir);
  return rc;
}
