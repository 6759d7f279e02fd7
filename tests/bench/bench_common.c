#define _GNU_SOURCE
#include "bench_common.h"

#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *bench_prog = "bench";

const char *bench_flag_value(const char *arg, const char *name) {
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

int bench_parse_int(const char *s, const char *what, int lo, int hi) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "%s: bad value '%s' for %s: expected a whole number from %d to %d\n", bench_prog, s, what, lo,
            hi);
    exit(2);
  }
  return (int)v;
}

void bench_describe_status(int status, char *buf, size_t len) {
  if (WIFEXITED(status)) snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else snprintf(buf, len, "ended with wait status 0x%x", status);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(const double *v, int n) {
  double s[128];
  if (n <= 0) return 0;
  if (n > 128) n = 128;
  memcpy(s, v, (size_t)n * sizeof(*v));
  qsort(s, (size_t)n, sizeof(*s), cmp_double);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

bool bench_find_report(const char *dir, const char *prefix_name, pid_t pid, char *path, size_t len) {
  char prefix[96];
  snprintf(prefix, sizeof(prefix), "%s.%d.", prefix_name, (int)pid);
  DIR *d = opendir(dir);
  if (!d) return false;
  struct dirent *e;
  bool found = false;
  while (!found && (e = readdir(d)))
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, ".lsr")) {
      snprintf(path, len, "%s/%s", dir, e->d_name);
      found = true;
    }
  closedir(d);
  return found;
}

int bench_render_json(const char *cli, const char *report, const char *json_path) {
  pid_t child = fork();
  if (child < 0) return -1;
  if (child == 0) {
    int fd = open(json_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) _exit(127);
    execl(cli, cli, "report", "--format=json", report, (char *)NULL);
    fprintf(stderr, "%s: cannot run %s: %s\n", bench_prog, cli, strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char why[128];
    bench_describe_status(status, why, sizeof(why));
    fprintf(stderr, "%s: %s report --format=json %s %s\n", bench_prog, cli, report, why);
    return -1;
  }
  return 0;
}

const char *bench_site_function(json_object *site) {
  json_object *cb, *fn;
  if (!json_object_object_get_ex(site, "callback", &cb)) return NULL;
  if (json_object_is_type(cb, json_type_string)) return json_object_get_string(cb);
  if (json_object_is_type(cb, json_type_object) && json_object_object_get_ex(cb, "function", &fn) &&
      json_object_is_type(fn, json_type_string))
    return json_object_get_string(fn);
  return NULL;
}

void bench_remove_tmpdir(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
      }
    closedir(d);
  }
  rmdir(dir);
}

int bench_default_cpu(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) < 0) return 0;
  for (int c = CPU_SETSIZE - 1; c >= 0; c--)
    if (CPU_ISSET(c, &set)) return c;
  return 0;
}

void bench_parse_config(int argc, char **argv, struct bench_config *c, const char *child, const char *shim,
                        const char *cli, int max_child_args, void (*usage)(FILE *)) {
  c->child = child;
  c->shim = shim;
  c->cli = cli;
  c->runs = 5;
  c->cpu = bench_default_cpu();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (strcmp(a, "--") == 0) {
      for (i++; i < argc; i++) {
        if (c->nchild_args == max_child_args) {
          fprintf(stderr, "%s: too many arguments for %s\n", bench_prog, child);
          exit(2);
        }
        c->child_args[c->nchild_args++] = argv[i];
      }
    } else if ((v = bench_flag_value(a, "--runs"))) c->runs = bench_parse_int(v, "--runs", 1, BENCH_MAX_RUNS);
    else if ((v = bench_flag_value(a, "--cpu"))) c->cpu = bench_parse_int(v, "--cpu", 0, CPU_SETSIZE - 1);
    else if ((v = bench_flag_value(a, "--shim-options"))) c->shim_options = v;
    else if ((v = bench_flag_value(a, "--child"))) c->child = v;
    else if ((v = bench_flag_value(a, "--shim"))) c->shim = v;
    else if ((v = bench_flag_value(a, "--cli"))) c->cli = v;
    else if (strcmp(a, "--keep") == 0) c->keep = true;
    else if (strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else {
      fprintf(stderr, "%s: unknown argument '%s'\n", bench_prog, a);
      usage(stderr);
      exit(2);
    }
  }
}

/* All of fd, NUL-terminated (malloc'd), or NULL when out of memory. */
static char *read_all(int fd) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf) return NULL;
    if (len + 1 == cap) {
      char *bigger = realloc(buf, cap *= 2);
      if (!bigger) {
        free(buf);
        return NULL;
      }
      buf = bigger;
    }
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  return buf;
}

char *bench_run_child(const struct bench_config *c, bool shimmed, pid_t *pid) {
  char *argv[BENCH_MAX_CHILD_ARGS + 1];
  int argc = 0;
  argv[argc++] = (char *)c->child;
  for (int i = 0; i < c->nchild_args; i++) argv[argc++] = c->child_args[i];
  argv[argc] = NULL;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    fprintf(stderr, "%s: pipe: %s\n", bench_prog, strerror(errno));
    return NULL;
  }
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "%s: fork: %s\n", bench_prog, strerror(errno));
    return NULL;
  }
  if (child == 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(c->cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0) {
      fprintf(stderr, "%s: cannot pin to CPU %d: %s\n", bench_prog, c->cpu, strerror(errno));
      _exit(126);
    }
    unsetenv("LD_PRELOAD");
    unsetenv("LOOPSCOPE_OPTIONS");
    if (shimmed) {
      char opts[4096];
      snprintf(opts, sizeof(opts), "log_path=%s/bench.%%p.lsr%s%s", c->tmpdir, c->shim_options ? ":" : "",
               c->shim_options ? c->shim_options : "");
      setenv("LD_PRELOAD", c->shim, 1);
      setenv("LOOPSCOPE_OPTIONS", opts, 1);
    }
    dup2(p[1], STDOUT_FILENO);
    execv(c->child, argv);
    fprintf(stderr, "%s: cannot run %s: %s\n", bench_prog, c->child, strerror(errno));
    _exit(127);
  }
  close(p[1]);
  char *out = read_all(p[0]);
  close(p[0]);
  int status;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  *pid = child;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char why[128];
    bench_describe_status(status, why, sizeof(why));
    fprintf(stderr, "%s: %s run of %s %s\n", bench_prog, shimmed ? "shimmed" : "plain", c->child, why);
    free(out);
    return NULL;
  }
  if (!out) fprintf(stderr, "%s: out of memory reading %s's output\n", bench_prog, c->child);
  return out;
}
