/* `loopscope run [options] -- PROG [ARGS...]`: asyncio.run(debug=True) for a native program. Runs
 * PROG with the preload library, options passed in LOOPSCOPE_OPTIONS (generated from the one option
 * table), then finds the report(s) the shim wrote for that pid and renders them to stderr. The exit
 * status is the program's (128+N for a signal), 125 for loopscope's own errors, as env(1) does. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ci.h"
#include "cli.h"
#include "ls_options.h"
#include "render.h"

#define SHIM_NAME "libloopscope.so"

struct run_args {
  char *opts;    /* "key=value:key=value" from our flags, in order; "" when none */
  char **prog;   /* PROG ARGS..., NULL-terminated (argv's tail) */
  struct ls_ci ci; /* --fail-on, --suppressions, ...: judged here when the reports are rendered */
};

/* ---- usage, generated from the option table ---- */

static const char *value_word(const struct ls_option_desc *d) {
  if (d->choices) return d->choices;
  switch (d->type) {
  case LS_OPT_STRING: return "PATH";
  case LS_OPT_UINT: return "N";
  case LS_OPT_MS: return "DURATION";
  case LS_OPT_BOOL: return "0|1";
  }
  return "VALUE";
}

void ls_usage_run(FILE *out) {
  fputs("usage: loopscope run [options] [--] PROG [ARGS...]\n"
        "\n"
        "Runs PROG with the loopscope preload library (asyncio's debug mode for C event loops) and,\n"
        "when it exits, renders the report it wrote to standard error.\n"
        "\n"
        "options (each sets the LOOPSCOPE_OPTIONS key in brackets; durations: 250, 250ms, 0.25s, 250000us):\n",
        out);
  for (size_t i = 0; i < ls_option_count; i++) {
    const struct ls_option_desc *d = &ls_option_table[i];
    char flag[96];
    snprintf(flag, sizeof(flag), "%s--%s=%s", strcmp(d->flag, "output") == 0 ? "-o, " : "", d->flag, value_word(d));
    fprintf(out, "  %-30s [%s] default %s\n      %s\n", flag, d->key, d->def, d->help);
  }
  fputs("CI (judged by loopscope when the program has ended, on every report of its process tree):\n", out);
  ls_ci_usage(out);
  fputs("  -h, --help                     show this help\n"
        "\n"
        "environment:\n"
        "  LOOPSCOPE_SHIM      path of " SHIM_NAME " (default: ../lib/loopscope/ beside this program)\n"
        "  LOOPSCOPE_OPTIONS   options for the shim; the flags above are appended, so they win\n"
        "  LD_PRELOAD          kept; the shim is put first\n"
        "\n"
        "exit status: the program's own (128+N when signal N ended it); --error-exitcode (default 1)\n"
        "when a finding matched --fail-on; 125 for loopscope's own errors (a bad flag, finding id or\n"
        "suppressions file); 126 when PROG cannot be executed, 127 when it is not found.\n",
        out);
}

/* ---- options ---- */

__attribute__((format(printf, 1, 2))) static int run_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("loopscope: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return -1;
}

static int append_opt(char **opts, const char *key, const char *val) {
  char *n = NULL;
  if (asprintf(&n, "%s%s%s=%s", *opts, **opts ? ":" : "", key, val) < 0) return -ENOMEM;
  free(*opts);
  *opts = n;
  return 0;
}

/* Checks one flag's value with the shim's own parser, so a bad value fails here, with the flag's name. */
static int add_flag(struct run_args *a, struct ls_options *check, const struct ls_option_desc *d, const char *val) {
  char err[512];
  if (ls_option_set(check, d->key, strlen(d->key), val, strlen(val), err, sizeof(err)) < 0)
    return run_error("--%s: %s", d->flag, err);
  if (strchr(val, ':'))
    return run_error("--%s: the value '%s' holds a ':', which separates LOOPSCOPE_OPTIONS entries", d->flag, val);
  return append_opt(&a->opts, d->key, val) < 0 ? run_error("out of memory") : 0;
}

static int unknown_flag(const char *arg) {
  fprintf(stderr, "loopscope run: unknown option '%s' (accepted: -o", arg);
  for (size_t i = 0; i < ls_option_count; i++) fprintf(stderr, ", --%s", ls_option_table[i].flag);
  fprintf(stderr, ", --fail-on, --error-exitcode, --suppressions, --gen-suppressions, --print-suppressions, --help)\n");
  return -1;
}

/* One argument (and maybe the next, for "--flag VALUE"). */
static int parse_flag(int argc, char **argv, int *i, struct run_args *a, struct ls_options *check) {
  const char *arg = argv[*i];
  if (strcmp(arg, "-o") == 0 || (strncmp(arg, "-o", 2) == 0 && arg[2] != '-')) {
    const struct ls_option_desc *d = ls_option_by_flag("output", 6);
    if (arg[2]) return add_flag(a, check, d, arg + 2);
    if (*i + 1 >= argc) return run_error("-o needs a value");
    return add_flag(a, check, d, argv[++*i]);
  }
  if (strncmp(arg, "--", 2) != 0) return unknown_flag(arg);
  int rc = ls_ci_flag(&a->ci, argc, argv, i, "loopscope run");
  if (rc != 0) return rc < 0 ? -1 : 0;
  const char *name = arg + 2, *eq = strchr(name, '=');
  const struct ls_option_desc *d = ls_option_by_flag(name, eq ? (size_t)(eq - name) : strlen(name));
  if (!d) return unknown_flag(arg);
  if (eq) return add_flag(a, check, d, eq + 1);
  if (d->type == LS_OPT_BOOL) return add_flag(a, check, d, "1"); /* a bare boolean flag turns it on */
  if (*i + 1 >= argc) return run_error("--%s needs a value", d->flag);
  return add_flag(a, check, d, argv[++*i]);
}

static int parse_args(int argc, char **argv, struct run_args *a) {
  struct ls_options check;
  ls_options_defaults(&check);
  a->opts = strdup("");
  a->prog = NULL;
  ls_ci_init(&a->ci);
  if (!a->opts) return -1;
  int i = 1;
  for (; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      i++;
      break;
    }
    if (arg[0] != '-' || arg[1] == '\0') break; /* PROG: options end, as env(1) does it */
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      ls_usage_run(stdout);
      exit(0);
    }
    if (parse_flag(argc, argv, &i, a, &check) < 0) return -1;
  }
  if (i >= argc) {
    fprintf(stderr, "loopscope run: no program given (usage: loopscope run [options] -- PROG [ARGS...])\n");
    return -1;
  }
  a->prog = argv + i;
  return 0;
}

/* ---- environment for the child ---- */

/* The options in force: defaults, then the environment's, then ours (last wins, as in the shim). */
static int effective_options(const char *env, const char *ours, struct ls_options *o) {
  char err[512];
  ls_options_defaults(o);
  if (env && ls_options_parse(o, env, err, sizeof(err)) < 0) return run_error("LOOPSCOPE_OPTIONS: %s", err);
  if (ls_options_parse(o, ours, err, sizeof(err)) < 0) return run_error("%s", err);
  return 0;
}

/* The shim starts in the same directory, but a report path the CLI must find again is better fixed. */
static char *absolute_log_path(const char *path) {
  char *abs = NULL, cwd[PATH_MAX];
  if (path[0] == '/') abs = strdup(path);
  else if (!getcwd(cwd, sizeof(cwd))) {
    run_error("cannot get the working directory: %s", strerror(errno));
    return NULL;
  } else if (asprintf(&abs, "%s/%s", cwd, path) < 0)
    abs = NULL;
  if (abs && (strlen(abs) >= LS_PATH_MAX || strchr(abs, ':'))) {
    run_error("the report path '%s' is too long or holds a ':'; choose another with -o", abs);
    free(abs);
    return NULL;
  }
  return abs;
}

/* LOOPSCOPE_SHIM, else ../lib/loopscope/ beside the real path of this program (build tree and
 * install tree alike), else the install's libdir when it is not plain "lib" (Debian's multiarch). */
static char *find_shim(void) {
  static const char *const rel[] = {"../lib/loopscope", "../" LOOPSCOPE_REL_SHIM_DIR};
  const char *env = getenv("LOOPSCOPE_SHIM");
  char exe[PATH_MAX], *first = NULL;
  if (env && env[0]) {
    char *path = realpath(env, NULL);
    if (!path) run_error("LOOPSCOPE_SHIM=%s: %s", env, strerror(errno));
    return path;
  }
  if (!realpath("/proc/self/exe", exe)) {
    run_error("cannot find this program's own path: %s", strerror(errno));
    return NULL;
  }
  const char *dir = dirname(exe);
  for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
    char *cand = NULL, *path;
    if (asprintf(&cand, "%s/%s/" SHIM_NAME, dir, rel[i]) < 0) break;
    if ((path = realpath(cand, NULL)) && access(path, R_OK) == 0) {
      free(cand);
      free(first);
      return path;
    }
    free(path);
    if (!first) first = cand;
    else free(cand);
  }
  run_error("the preload library was not found at %s (set LOOPSCOPE_SHIM to its path)", first ? first : SHIM_NAME);
  free(first);
  return NULL;
}

static int setenv_prepended(const char *name, const char *first, const char *sep) {
  const char *old = getenv(name);
  char *v = NULL;
  if (old && old[0]) {
    if (asprintf(&v, "%s%s%s", first, sep, old) < 0) return -1;
  } else if (!(v = strdup(first))) {
    return -1;
  }
  int rc = setenv(name, v, 1);
  free(v);
  return rc;
}

static int setenv_appended(const char *name, const char *last) {
  const char *old = getenv(name);
  char *v = NULL;
  if (old && old[0]) {
    if (asprintf(&v, "%s:%s", old, last) < 0) return -1;
  } else if (!(v = strdup(last))) {
    return -1;
  }
  int rc = setenv(name, v, 1);
  free(v);
  return rc;
}

/* ---- the program ---- */

/* As execvp would find it; 0, or the exit status to give up with (126, 127). */
static int resolve_prog(const char *prog, char **out) {
  if (strchr(prog, '/')) {
    *out = strdup(prog);
    return 0;
  }
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    char *cand = NULL;
    int dlen = (int)(end - p);
    if (asprintf(&cand, "%.*s%s%s", dlen, p, dlen ? "/" : "", prog) < 0) return LS_EXIT_INTERNAL;
    struct stat st;
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
      *out = cand;
      return 0;
    }
    free(cand);
    if (!*end) break;
    p = end;
  }
  fprintf(stderr, "loopscope: %s: command not found\n", prog);
  return 127;
}

/* LD_PRELOAD cannot reach a static program (no dynamic loader) and is ignored for setuid/setgid
 * ones: say so up front instead of producing an empty report. 0 or an exit status. */
static int check_prog(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    int e = errno;
    fprintf(stderr, "loopscope: %s: %s\n", path, strerror(e));
    if (fd >= 0) close(fd);
    return e == ENOENT ? 127 : 126;
  }
  int rc = 0;
  Elf64_Ehdr eh;
  if (st.st_mode & (S_ISUID | S_ISGID)) {
    fprintf(stderr, "loopscope: %s is setuid/setgid: the dynamic loader ignores LD_PRELOAD for it, refusing to run\n", path);
    rc = LS_EXIT_INTERNAL;
  } else if (pread(fd, &eh, sizeof(eh), 0) >= (ssize_t)EI_NIDENT && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0) {
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
      fprintf(stderr, "loopscope: %s is not a 64-bit little-endian program: the preload library cannot load into it\n", path);
      rc = LS_EXIT_INTERNAL;
    } else {
      bool interp = false;
      Elf64_Phdr ph;
      for (unsigned i = 0; eh.e_phentsize == sizeof(ph) && i < eh.e_phnum && !interp; i++)
        interp = pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) == (ssize_t)sizeof(ph) &&
                 ph.p_type == PT_INTERP;
      if (!interp) {
        fprintf(stderr, "loopscope: %s is statically linked: LD_PRELOAD cannot reach it, refusing to run\n", path);
        rc = LS_EXIT_INTERNAL;
      }
    }
  } /* else a script (#!) or something exec will judge */
  close(fd);
  return rc;
}

static uint64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Signals a supervisor sends to "the program" reach us, its parent: pass them on (as timeout(1)
 * does) and keep waiting, so the program shuts down its own way and its report is still rendered. */
static const int forwarded_signals[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGCONT};
static volatile pid_t forward_to; /* 0 until the child exists, and in the child itself */

static void forward_signal(int sig) {
  int saved = errno;
  if (forward_to > 0) kill(forward_to, sig);
  errno = saved;
}

static void set_forwarding(bool on) {
  struct sigaction sa = {.sa_handler = on ? forward_signal : SIG_DFL};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
    sigaction(forwarded_signals[i], &sa, NULL);
}

/* Runs prog and waits for it. -1 with errno when it could not be forked; *exec_errno says why exec
 * failed (told through a close-on-exec pipe, so it is not confused with the program's own 126/127). */
static int spawn_and_wait(const char *path, char **argv, pid_t *pid, int *status, int *exec_errno) {
  struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
  int pfd[2];
  *exec_errno = 0;
  if (pipe2(pfd, O_CLOEXEC) < 0) return -1;
  /* As system(3): ^C and ^\ go to the program; we live on to render its report. */
  sigemptyset(&ign.sa_mask);
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGQUIT, &ign, &old_quit);
  set_forwarding(true); /* handlers, not SIG_IGN: exec resets them to the default in the child */
  /* Held back until the child's pid is known, so a SIGTERM in between is forwarded, not dropped. */
  sigset_t fwd, old_mask;
  sigemptyset(&fwd);
  for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
    sigaddset(&fwd, forwarded_signals[i]);
  sigprocmask(SIG_BLOCK, &fwd, &old_mask);
  fflush(NULL);
  *pid = fork();
  if (*pid == 0) {
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    close(pfd[0]);
    execv(path, argv);
    int e = errno;
    ssize_t w = write(pfd[1], &e, sizeof(e));
    (void)w;
    _exit(127);
  }
  int saved = errno;
  close(pfd[1]);
  if (*pid > 0) forward_to = *pid;
  sigprocmask(SIG_SETMASK, &old_mask, NULL);
  if (*pid > 0) {
    ssize_t n;
    while ((n = read(pfd[0], exec_errno, sizeof(*exec_errno))) < 0 && errno == EINTR) {}
    if (n != (ssize_t)sizeof(*exec_errno)) *exec_errno = 0;
    while (waitpid(*pid, status, 0) < 0 && errno == EINTR) {}
  }
  close(pfd[0]);
  forward_to = 0;
  set_forwarding(false);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGQUIT, &old_quit, NULL);
  errno = saved;
  return *pid < 0 ? -1 : 0;
}

/* ---- finding the reports ---- */

/* The shim expands %p (pid), %n (program name), %s (sequence) and %%; we glob for the same names. */
static char *template_glob(const char *tmpl, pid_t pid) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  for (const char *p = tmpl; *p; p++) {
    if (p[0] == '%' && p[1]) {
      p++;
      if (*p == 'p' && pid < 0) fputc('*', f); /* any pid: a process tree's reports */
      else if (*p == 'p') fprintf(f, "%d", (int)pid);
      else if (*p == 'n' || *p == 's') fputc('*', f);
      else if (*p == '%') fputc('%', f);
      else fprintf(f, "%%%c", *p);
      continue;
    }
    if (strchr("*?[\\", *p)) fputc('\\', f);
    fputc(*p, f);
  }
  fclose(f);
  return buf;
}

/* One pid's images in sequence order; processes in the order they started. */
static int by_seq(const void *a, const void *b) {
  const struct ls_report *x = a, *y = b;
  if (x->pid == y->pid && x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
  return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

static bool in_tree(const uint64_t *pids, size_t n, uint64_t pid) {
  for (size_t i = 0; i < n; i++)
    if (pids[i] == pid) return true;
  return false;
}

/* The reports of the program's process tree written after t0: the program's pid (each exec'd image
 * has its own report), and every report whose parent is in the tree (forked children, what they
 * exec'd, their children). A reused pid's older reports, and other programs' in the same directory,
 * are not ours. */
static size_t find_reports(const char *tmpl, pid_t pid, uint64_t t0, struct ls_report **out) {
  char *pat = template_glob(tmpl, -1), *pat2 = NULL;
  glob_t g = {0};
  *out = NULL;
  if (!pat || asprintf(&pat2, "%s.*", pat) < 0) {
    free(pat);
    return 0;
  }
  int rc1 = glob(pat, 0, NULL, &g);
  int rc2 = glob(pat2, rc1 == 0 ? GLOB_APPEND : 0, NULL, &g);
  free(pat);
  free(pat2);
  if (rc1 != 0 && rc2 != 0) return 0;
  struct ls_report *reps = calloc(g.gl_pathc ? g.gl_pathc : 1, sizeof(*reps));
  uint64_t *tree = calloc(g.gl_pathc + 1, sizeof(*tree));
  bool *keep = calloc(g.gl_pathc + 1, sizeof(*keep));
  size_t n = 0, ntree = 0;
  if (!reps || !tree || !keep) {
    free(reps), free(tree), free(keep);
    globfree(&g);
    return 0;
  }
  for (size_t i = 0; i < g.gl_pathc; i++) {
    bool dup = false;
    for (size_t k = 0; k < i && !dup; k++) dup = strcmp(g.gl_pathv[k], g.gl_pathv[i]) == 0;
    struct stat st;
    /* written to since t0 (a second's slack for coarse timestamps): older files are not even read */
    if (dup || stat(g.gl_pathv[i], &st) != 0 ||
        (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec + 1000000000ull < t0)
      continue;
    struct ls_report *r = &reps[n];
    int rc = ls_report_load(g.gl_pathv[i], r);
    if ((rc == 0 || rc == -EBADMSG) && r->start_ns >= t0) n++;
    else ls_report_free(r);
  }
  globfree(&g);
  /* the tree: the program, then every report whose parent is already in it, until nothing changes */
  tree[ntree++] = (uint64_t)pid;
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t i = 0; i < n; i++) {
      if (keep[i]) continue;
      if (reps[i].pid == (uint64_t)pid || in_tree(tree, ntree, reps[i].ppid)) {
        keep[i] = grew = true;
        if (!in_tree(tree, ntree, reps[i].pid)) tree[ntree++] = reps[i].pid;
      }
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (!keep[i]) {
      ls_report_free(&reps[i]);
      continue;
    }
    ls_report_complain(reps[i].path, reps[i].error ? -EBADMSG : 0, &reps[i]);
    reps[kept++] = reps[i];
  }
  free(tree);
  free(keep);
  qsort(reps, kept, sizeof(*reps), by_seq);
  *out = reps;
  return kept;
}

/* Renders the tree's reports to stderr; *failed: a finding matched --fail-on. */
static int render_for(const char *tmpl, pid_t pid, uint64_t t0, struct ls_ci *ci, bool *failed) {
  struct ls_report *reps;
  size_t n = find_reports(tmpl, pid, t0, &reps);
  *failed = false;
  if (n == 0) {
    fprintf(stderr, "loopscope: no report found for pid %d (looked for %s)\n", (int)pid, tmpl);
  } else {
    const char *nc = getenv("NO_COLOR");
    struct render_opts o = {.format = FMT_TEXT, .color = isatty(STDERR_FILENO) && !(nc && nc[0]), .prefix_all = true};
    if (ls_render_reports(reps, n, stderr, &o, ci, stderr, "loopscope: ", failed) < 0)
      fprintf(stderr, "loopscope: out of memory\n");
  }
  for (size_t i = 0; i < n; i++) ls_report_free(&reps[i]);
  free(reps);
  return 0;
}

static int exit_status_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return LS_EXIT_INTERNAL;
}

/* Sets LD_PRELOAD and LOOPSCOPE_OPTIONS for the child; fills the report template to look for. */
static int prepare_env(const struct run_args *a, char **tmpl) {
  struct ls_options eff;
  if (effective_options(getenv("LOOPSCOPE_OPTIONS"), a->opts, &eff) < 0) return -1;
  *tmpl = absolute_log_path(eff.log_path);
  char *shim = find_shim(), *opts = NULL;
  int rc = -1;
  if (*tmpl && shim && asprintf(&opts, "%s%slog_path=%s", a->opts, a->opts[0] ? ":" : "", *tmpl) >= 0) {
    if (setenv_appended("LOOPSCOPE_OPTIONS", opts) == 0 && setenv_prepended("LD_PRELOAD", shim, ":") == 0) rc = 0;
    else run_error("cannot set the environment: %s", strerror(errno));
  }
  free(opts);
  free(shim);
  return rc;
}

int ls_cmd_run(int argc, char **argv) {
  struct run_args a;
  char *tmpl = NULL, *path = NULL;
  int status = LS_EXIT_INTERNAL, ws = 0, exec_errno = 0;
  pid_t pid;
  if (parse_args(argc, argv, &a) < 0) goto out;
  int rc = resolve_prog(a.prog[0], &path);
  if (rc == 0) rc = check_prog(path);
  if (rc != 0) {
    status = rc;
    goto out;
  }
  if (prepare_env(&a, &tmpl) < 0) goto out;
  uint64_t t0 = realtime_ns(); /* the shim's start_ns comes later; older reports of a reused pid, earlier */
  if (spawn_and_wait(path, a.prog, &pid, &ws, &exec_errno) < 0) {
    run_error("cannot start %s: %s", a.prog[0], strerror(errno));
    goto out;
  }
  if (exec_errno) {
    fprintf(stderr, "loopscope: %s: %s\n", a.prog[0], strerror(exec_errno));
    status = exec_errno == ENOENT ? 127 : 126;
    goto out;
  }
  bool failed;
  render_for(tmpl, pid, t0, &a.ci, &failed);
  status = failed ? a.ci.error_exitcode : exit_status_of(ws);
out:
  ls_ci_free(&a.ci);
  free(a.opts);
  free(tmpl);
  free(path);
  return status;
}
