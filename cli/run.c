/* `loopscope run [options] -- PROG [ARGS...]`: asyncio.run(debug=True) for a native program. Runs
 * PROG with the preload library, options passed in LOOPSCOPE_OPTIONS (generated from the one option
 * table), then finds the report(s) the shim wrote for that pid and renders them to stderr. The exit
 * status is the program's (128+N for a signal), 125 for loopscope's own errors, as env(1) does.
 * --timeout: a program that outlives it is asked (over a control socket, LOOPSCOPE_CONTROL_FD) for a
 * hang dump -- every thread and where it waits, every open handle -- then gets SIGTERM, and SIGKILL
 * after --kill-after; the exit status is then 124, as timeout(1) gives. */
#define _GNU_SOURCE
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ci.h"
#include "cli.h"
#include "flags.h"
#include "ls_options.h"
#include "render.h"

#define SHIM_NAME "libloopscope.so"
#define LS_EXIT_TIMEOUT 124       /* as timeout(1) */
#define DUMP_WAIT_MS 2000         /* how long the shim has to answer "dump" */
#define DEFAULT_KILL_AFTER_MS 5000
#define MAX_DURATION_MS (366ull * 24 * 3600 * 1000)

struct run_args {
  char *opts;    /* "key=value:key=value" from our flags, in order; "" when none */
  char **prog;   /* PROG ARGS..., NULL-terminated (argv's tail) */
  struct ls_ci ci; /* --fail-on, --suppressions, ...: judged here when the reports are rendered */
  bool has_output;        /* -o/--output given */
  const char *output_dir; /* --output-dir */
  uint64_t timeout_ms;    /* --timeout; 0: none */
  uint64_t kill_after_ms; /* --kill-after: SIGTERM -> SIGKILL */
  bool has_kill_after;
  char **supps;           /* --suppressions files, absolute, for the shim */
  size_t nsupps;
};

/* ---- usage, generated from the option table ---- */

static const char *value_word(const struct ls_option_desc *d) {
  if (d->choices) return d->choices;
  switch (d->type) {
  case LS_OPT_STRING: return "PATH";
  case LS_OPT_UINT:
  case LS_OPT_RTSIG: return "N";
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
    if (strcmp(d->key, "suppressions") == 0) continue; /* --suppressions is the CI flag below; it passes them on */
    snprintf(flag, sizeof(flag), "%s--%s=%s", strcmp(d->flag, "output") == 0 ? "-o, " : "", d->flag, value_word(d));
    fprintf(out, "  %-30s [%s] default %s\n      %s\n", flag, d->key, d->def, d->help);
  }
  fputs("  --output-dir=DIR               collect the reports of the whole process tree in DIR (created if\n"
        "                                 missing) as DIR/%n.%p.%s.lsr; not together with -o\n"
        "  --timeout=DURATION             when the program is still running after DURATION: ask it for a hang\n"
        "                                 dump (every thread, where it waits, every open handle and where it\n"
        "                                 was created), render it, send SIGTERM; exit status 124\n"
        "  --kill-after=DURATION          with --timeout: SIGKILL when the program is still running this long\n"
        "                                 after SIGTERM (default 5s; 0: at once)\n",
        out);
  fputs("CI (judged by loopscope when the program has ended, on every report of its process tree):\n", out);
  ls_ci_usage(out);
  fputs("  (the --suppressions files are also given to the preload library: it keeps quiet about a suppressed\n"
        "  finding while the program runs, and --wrong-thread=abort spares it)\n"
        "  -h, --help                     show this help\n"
        "\n"
        "environment:\n"
        "  LOOPSCOPE_SHIM      path of " SHIM_NAME " (default: ../" LOOPSCOPE_REL_SHIM_DIR "/ beside this program)\n"
        "  LOOPSCOPE_OPTIONS   options for the shim; the flags above are appended, so they win\n"
        "  LD_PRELOAD          kept; the shim is put first\n"
        "\n"
        "exit status: the program's own (128+N when signal N ended it); --error-exitcode (default 1)\n"
        "when a finding matched --fail-on; 124 when --timeout ended it (whatever its own status and\n"
        "findings); 125 for loopscope's own errors (a bad flag, finding id or suppressions file); 126\n"
        "when PROG cannot be executed, 127 when it is not found.\n",
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
  for (size_t i = 0; i < ls_option_count; i++)
    if (strcmp(ls_option_table[i].flag, "suppressions") != 0) fprintf(stderr, ", --%s", ls_option_table[i].flag);
  ls_cli_flags_print(stderr, LS_CMD_RUN);
  fputs(")\n", stderr);
  return -1;
}

/* "--name=VALUE" or "--name VALUE": 1 with *val; 0 when arg is not --name; -1 when the value is missing. */
static int own_value(int argc, char **argv, int *i, const char *name, const char **val) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0) return 0;
  if (a[n] == '=') {
    *val = a + n + 1;
    return 1;
  }
  if (a[n] != '\0') return 0;
  if (*i + 1 >= argc) return run_error("%s needs a value", name);
  *val = argv[++*i];
  return 1;
}

static int duration_flag(const char *name, const char *val, uint64_t *ms) {
  if (ls_parse_duration_ms(val, strlen(val), ms) < 0 || *ms > MAX_DURATION_MS)
    return run_error("%s=%s: expected a duration (5, 5ms, 1.5s, 500000us; plain numbers are milliseconds; "
                     "at most a year)", name, val);
  return 0;
}

/* --output-dir, --timeout, --kill-after: run's own flags, not the shim's. 1 taken, 0 not ours, -1 bad. */
static int own_flag(int argc, char **argv, int *i, struct run_args *a) {
  const char *v;
  int rc;
  if ((rc = own_value(argc, argv, i, "--output-dir", &v)) != 0) {
    if (rc < 0) return -1;
    if (!v[0]) return run_error("--output-dir needs a directory");
    a->output_dir = v;
    return 1;
  }
  if ((rc = own_value(argc, argv, i, "--timeout", &v)) != 0) {
    if (rc < 0 || duration_flag("--timeout", v, &a->timeout_ms) < 0) return -1;
    return 1;
  }
  if ((rc = own_value(argc, argv, i, "--kill-after", &v)) != 0) {
    if (rc < 0 || duration_flag("--kill-after", v, &a->kill_after_ms) < 0) return -1;
    a->has_kill_after = true;
    return 1;
  }
  return 0;
}

/* A --suppressions file the CI flags took: remembered (absolute) for the shim. */
static int remember_supp(struct run_args *a, const char *path) {
  if (!*path) return 0; /* --suppressions= : none */
  char *abs = realpath(path, NULL);
  if (!abs) return run_error("--suppressions=%s: %s", path, strerror(errno));
  char **v = realloc(a->supps, (a->nsupps + 1) * sizeof(*v));
  if (!v) {
    free(abs);
    return run_error("out of memory");
  }
  a->supps = v;
  a->supps[a->nsupps++] = abs;
  return 0;
}

/* One argument (and maybe the next, for "--flag VALUE"). */
static int parse_flag(int argc, char **argv, int *i, struct run_args *a, struct ls_options *check) {
  const char *arg = argv[*i];
  if (strcmp(arg, "-o") == 0 || (strncmp(arg, "-o", 2) == 0 && arg[2] != '-')) {
    const struct ls_option_desc *d = ls_option_by_flag("output", 6);
    a->has_output = true;
    if (arg[2]) return add_flag(a, check, d, arg + 2);
    if (*i + 1 >= argc) return run_error("-o needs a value");
    return add_flag(a, check, d, argv[++*i]);
  }
  if (strncmp(arg, "--", 2) != 0) return unknown_flag(arg);
  int rc = own_flag(argc, argv, i, a);
  if (rc != 0) return rc < 0 ? -1 : 0;
  int at = *i;
  rc = ls_ci_flag(&a->ci, argc, argv, i, "loopscope run");
  if (rc < 0) return -1;
  if (rc > 0 && strncmp(argv[at], "--suppressions", 14) == 0)
    return remember_supp(a, argv[at][14] == '=' ? argv[at] + 15 : argv[at + 1]);
  if (rc > 0) return 0;
  const char *name = arg + 2, *eq = strchr(name, '=');
  const struct ls_option_desc *d = ls_option_by_flag(name, eq ? (size_t)(eq - name) : strlen(name));
  if (!d) return unknown_flag(arg);
  if (strcmp(d->key, "log_path") == 0) a->has_output = true;
  if (eq) return add_flag(a, check, d, eq + 1);
  if (d->type == LS_OPT_BOOL) return add_flag(a, check, d, "1"); /* a bare boolean flag turns it on */
  if (*i + 1 >= argc) return run_error("--%s needs a value", d->flag);
  return add_flag(a, check, d, argv[++*i]);
}

static int parse_args(int argc, char **argv, struct run_args *a) {
  struct ls_options check;
  ls_options_defaults(&check);
  memset(a, 0, sizeof(*a));
  a->opts = strdup("");
  a->kill_after_ms = DEFAULT_KILL_AFTER_MS;
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
  if (a->has_output && a->output_dir)
    return run_error("-o/--output and --output-dir do not go together: -o names each report file, --output-dir "
                     "collects them in a directory (as %%n.%%p.%%s.lsr)");
  if (a->has_kill_after && !a->timeout_ms) return run_error("--kill-after needs --timeout");
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

/* LOOPSCOPE_SHIM, else the one place beside the real path of this program where the build tree and the
 * install put it (../LOOPSCOPE_REL_SHIM_DIR). Only that one: a shim of another loopscope left in an old
 * install location would not match this CLI's report format or options. */
static char *find_shim(void) {
  const char *env = getenv("LOOPSCOPE_SHIM");
  char exe[PATH_MAX], *cand = NULL, *path;
  if (env && env[0]) {
    path = realpath(env, NULL);
    if (!path) run_error("LOOPSCOPE_SHIM=%s: %s", env, strerror(errno));
    return path;
  }
  if (!realpath("/proc/self/exe", exe)) {
    run_error("cannot find this program's own path: %s", strerror(errno));
    return NULL;
  }
  if (asprintf(&cand, "%s/../" LOOPSCOPE_REL_SHIM_DIR "/" SHIM_NAME, dirname(exe)) < 0) {
    run_error("out of memory");
    return NULL;
  }
  if ((path = realpath(cand, NULL)) && access(path, R_OK) == 0) {
    free(cand);
    return path;
  }
  free(path);
  run_error("the preload library was not found at %s (set LOOPSCOPE_SHIM to its path)", cand);
  free(cand);
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

/* Would exec'ing this file raise our capabilities? The kernel then runs it in secure mode (AT_SECURE)
 * and the loader ignores LD_PRELOAD, as for setuid. Its rule (security/commoncap.c): file capabilities
 * (not on a nosuid mount) make an exec secure unless the real uid is root, when they have the
 * effective bit or give any permitted capability: (file permitted & bounding set) | (file
 * inheritable & ours); file capabilities clear the ambient set. */
static bool gains_file_caps(int fd) {
  struct vfs_cap_data cd;
  struct statvfs sv;
  ssize_t n = fgetxattr(fd, "security.capability", &cd, sizeof(cd));
  if (n < (ssize_t)sizeof(cd.magic_etc) || getuid() == 0 || (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_NOSUID)))
    return false;
  uint32_t magic = le32toh(cd.magic_etc);
  if (magic & VFS_CAP_FLAGS_EFFECTIVE) return true;
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
  struct __user_cap_data_struct ours[_LINUX_CAPABILITY_U32S_3];
  if (syscall(SYS_capget, &h, ours) != 0) memset(ours, 0, sizeof(ours));
  unsigned words = (magic & VFS_CAP_REVISION_MASK) == VFS_CAP_REVISION_1 ? 1 : 2;
  for (unsigned w = 0; w < words && (size_t)n >= sizeof(cd.magic_etc) + (w + 1) * sizeof(cd.data[0]); w++)
    for (unsigned bit = 0; bit < 32; bit++) {
      bool fp = le32toh(cd.data[w].permitted) >> bit & 1, fi = le32toh(cd.data[w].inheritable) >> bit & 1;
      if ((fp && prctl(PR_CAPBSET_READ, w * 32 + bit) == 1) || (fi && (ours[w].inheritable >> bit & 1))) return true;
    }
  return false;
}

/* LD_PRELOAD cannot reach a static program (no dynamic loader) and is ignored for setuid/setgid
 * ones and those whose file capabilities raise ours: say so up front instead of producing an empty
 * report. 0 or an exit status. */
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
  } else if (gains_file_caps(fd)) {
    fprintf(stderr,
            "loopscope: %s has file capabilities (security.capability) that it gains when run by this user: the "
            "kernel runs it in secure mode and the dynamic loader ignores LD_PRELOAD for it, refusing to run "
            "(run it as root, or without the capabilities: setcap -r)\n",
            path);
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

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --timeout: the socket the shim answers on, and how it ended. */
struct watch {
  uint64_t timeout_ms, kill_after_ms; /* timeout_ms 0: wait as long as it runs */
  int sock;                           /* our end of the control socket; -1 without --timeout */
  bool timed_out, dumped, killed;
};

/* Waits for pid until deadline (CLOCK_MONOTONIC ns; 0: forever), with SIGCHLD blocked by the caller.
 * true when it ended (*status set). */
static bool wait_until(pid_t pid, int *status, uint64_t deadline) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  for (;;) {
    pid_t w = waitpid(pid, status, deadline ? WNOHANG : 0);
    if (w == pid) return true;
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) { /* ECHILD: nothing left to wait for */
      *status = 0;
      return true;
    }
    uint64_t now = mono_ns();
    if (now >= deadline) return false;
    uint64_t left = deadline - now;
    struct timespec ts = {(time_t)(left / 1000000000ull), (long)(left % 1000000000ull)};
    sigtimedwait(&chld, NULL, &ts); /* SIGCHLD, the timeout, or EINTR from a forwarded signal: look again */
  }
}

/* Asks the shim for the hang dump and waits (at most DUMP_WAIT_MS) for its "done". Returns true when
 * the program ended meanwhile (*status set). */
static bool ask_for_dump(struct watch *w, pid_t pid, int *status) {
  static const char cmd[] = "dump\n";
  if (send(w->sock, cmd, sizeof(cmd) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(cmd) - 1)) return false;
  uint64_t deadline = mono_ns() + DUMP_WAIT_MS * 1000000ull;
  char buf[64];
  size_t len = 0;
  for (;;) {
    if (wait_until(pid, status, mono_ns() + 1)) return true; /* it ended on its own: nothing to ask */
    uint64_t now = mono_ns();
    if (now >= deadline) return false;
    uint64_t left_ms = (deadline - now) / 1000000ull;
    struct pollfd pf = {w->sock, POLLIN, 0};
    int rc = poll(&pf, 1, left_ms > 50 ? 50 : (int)left_ms + 1);
    if (rc < 0 && errno != EINTR) return false;
    if (rc <= 0) continue;
    ssize_t n = read(w->sock, buf + len, sizeof(buf) - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false; /* the program closed it: no shim to answer */
    len += (size_t)n;
    buf[len] = 0;
    if (strstr(buf, "done\n")) {
      w->dumped = true;
      return false;
    }
    if (len == sizeof(buf) - 1) len = 0; /* never from the shim */
  }
}

/* The program outlived --timeout: dump, SIGTERM, and SIGKILL after the grace period. */
static void end_hung(struct watch *w, pid_t pid, const char *prog, int *status) {
  w->timed_out = true;
  fprintf(stderr, "loopscope: %s still running after --timeout=%gs: asking for a hang dump, then SIGTERM\n", prog,
          (double)w->timeout_ms / 1000.0);
  if (ask_for_dump(w, pid, status)) return;
  if (!w->dumped)
    fprintf(stderr, "loopscope: no hang dump from %s within %d s (the preload library is not in it, or busy)\n", prog,
            DUMP_WAIT_MS / 1000);
  kill(pid, SIGTERM);
  if (wait_until(pid, status, mono_ns() + w->kill_after_ms * 1000000ull)) return;
  fprintf(stderr, "loopscope: %s still running %g s after SIGTERM: SIGKILL\n", prog, (double)w->kill_after_ms / 1000.0);
  w->killed = true;
  kill(pid, SIGKILL);
  wait_until(pid, status, 0);
}

/* The control socket for --timeout: ours in w->sock, the child's returned (>= 3, close-on-exec until
 * the child clears it in itself). -1 with errno. */
static int control_socket(struct watch *w) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return -1;
  for (int k = 0; k < 2; k++) { /* the shim takes no fd below 3 (stdin closed: socketpair could hand out 0) */
    if (sv[k] >= 3) continue;
    int fd = fcntl(sv[k], F_DUPFD_CLOEXEC, 3);
    close(sv[k]);
    sv[k] = fd;
  }
  if (sv[0] < 0 || sv[1] < 0) {
    int e = errno;
    if (sv[0] >= 0) close(sv[0]);
    if (sv[1] >= 0) close(sv[1]);
    errno = e;
    return -1;
  }
  w->sock = sv[0];
  return sv[1];
}

/* Runs prog and waits for it (with w->timeout_ms, ends it as timeout(1) does). -1 with errno when it
 * could not be forked; *exec_errno says why exec failed (told through a close-on-exec pipe, so it is
 * not confused with the program's own 126/127). */
static int spawn_and_wait(const char *path, char **argv, struct watch *w, pid_t *pid, int *status, int *exec_errno) {
  struct sigaction ign = {.sa_handler = SIG_IGN}, dfl = {.sa_handler = SIG_DFL}, old_int, old_quit, old_chld;
  int pfd[2], cfd = -1;
  *exec_errno = 0;
  w->sock = -1;
  if (w->timeout_ms && (cfd = control_socket(w)) < 0) return -1;
  if (pipe2(pfd, O_CLOEXEC) < 0) {
    int e = errno;
    if (cfd >= 0) close(cfd), close(w->sock), w->sock = -1;
    errno = e;
    return -1;
  }
  /* As system(3): ^C and ^\ go to the program; we live on to render its report. */
  sigemptyset(&ign.sa_mask);
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGQUIT, &ign, &old_quit);
  sigaction(SIGCHLD, &dfl, &old_chld); /* an inherited SIG_IGN would reap the program behind our back */
  set_forwarding(true); /* handlers, not SIG_IGN: exec resets them to the default in the child */
  /* Held back until the child's pid is known, so a SIGTERM in between is forwarded, not dropped.
   * SIGCHLD stays blocked while we wait: sigtimedwait takes it. */
  sigset_t fwd, old_mask, waiting;
  sigemptyset(&fwd);
  for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
    sigaddset(&fwd, forwarded_signals[i]);
  sigaddset(&fwd, SIGCHLD);
  sigprocmask(SIG_BLOCK, &fwd, &old_mask);
  waiting = old_mask;
  sigaddset(&waiting, SIGCHLD);
  fflush(NULL);
  *pid = fork();
  if (*pid == 0) {
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
    close(pfd[0]);
    if (cfd >= 0) {
      char num[16];
      snprintf(num, sizeof(num), "%d", cfd);
      if (fcntl(cfd, F_SETFD, 0) < 0 || setenv("LOOPSCOPE_CONTROL_FD", num, 1) < 0) cfd = -1;
    }
    if (cfd < 0) unsetenv("LOOPSCOPE_CONTROL_FD"); /* never an fd number from somewhere else */
    execv(path, argv);
    int e = errno;
    ssize_t wr = write(pfd[1], &e, sizeof(e));
    (void)wr;
    _exit(127);
  }
  int saved = errno;
  close(pfd[1]);
  if (cfd >= 0) close(cfd);
  if (*pid > 0) forward_to = *pid;
  sigprocmask(SIG_SETMASK, &waiting, NULL);
  if (*pid > 0) {
    uint64_t t0 = mono_ns();
    ssize_t n;
    while ((n = read(pfd[0], exec_errno, sizeof(*exec_errno))) < 0 && errno == EINTR) {}
    if (n != (ssize_t)sizeof(*exec_errno)) *exec_errno = 0;
    if (*exec_errno || !w->timeout_ms) wait_until(*pid, status, 0);
    else if (!wait_until(*pid, status, t0 + w->timeout_ms * 1000000ull)) end_hung(w, *pid, argv[0], status);
  }
  close(pfd[0]);
  if (w->sock >= 0) close(w->sock);
  w->sock = -1;
  forward_to = 0;
  sigprocmask(SIG_SETMASK, &old_mask, NULL);
  set_forwarding(false);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGQUIT, &old_quit, NULL);
  sigaction(SIGCHLD, &old_chld, NULL);
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
    if (dup) continue;
    /* The directory may be shared (a sticky /tmp): only a file the shim could have written is ours. */
    struct stat st;
    char *why;
    int fd = ls_report_open(g.gl_pathv[i], LS_RD_OWN, &st, &why);
    /* written to since t0 (a second's slack for coarse timestamps): older files are not even read */
    bool old = (fd >= 0 || fd == -EPERM) &&
               (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec + 1000000000ull < t0;
    if (fd == -EPERM && !old) fprintf(stderr, "loopscope: skipped %s: %s\n", g.gl_pathv[i], why ? why : "not trusted");
    free(why);
    if (fd < 0 || old) {
      if (fd >= 0) close(fd);
      continue;
    }
    struct ls_report *r = &reps[n];
    int rc = ls_report_load_fd(fd, &st, g.gl_pathv[i], r);
    if (rc == -ENOMSG) fprintf(stderr, "loopscope: skipped %s: %s\n", g.gl_pathv[i], r->error ? r->error : "not a report");
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
    ls_report_complain(reps[i].path, reps[i].error ? -EBADMSG : 0, &reps[i], true); /* run renders text */
    reps[kept++] = reps[i];
  }
  free(tree);
  free(keep);
  qsort(reps, kept, sizeof(*reps), by_seq);
  *out = reps;
  return kept;
}

/* Renders the tree's reports to stderr, as much as the shim's verbosity asks; ws: how pid ended (a
 * report without an exit record is said to be killed by the signal run saw); *failed: a finding matched
 * --fail-on. */
static int render_for(const char *tmpl, pid_t pid, uint64_t t0, struct ls_ci *ci, uint64_t timeout_ms, int ws,
                      unsigned verbosity, bool *failed) {
  struct ls_report *reps;
  size_t n = find_reports(tmpl, pid, t0, &reps);
  *failed = false;
  if (n == 0) {
    fprintf(stderr, "loopscope: no report found for pid %d (looked for %s)\n", (int)pid, tmpl);
  } else {
    const char *nc = getenv("NO_COLOR");
    struct render_opts o = {.format = FMT_TEXT,
                            .color = isatty(STDERR_FILENO) && !(nc && nc[0]),
                            .prefix_all = true,
                            .timeout_ms = timeout_ms,
                            .verbosity = verbosity,
                            .signaled_pid = (uint64_t)pid,
                            .signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0};
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

/* mkdir -p: every missing directory of path, 0755 (less the umask). */
static int make_dirs(const char *path) {
  char *p = strdup(path);
  if (!p) return -ENOMEM;
  int rc = 0;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    struct stat st;
    if (mkdir(p, 0777) < 0 && errno != EEXIST) rc = -errno;
    else if (stat(p, &st) < 0) rc = -errno;
    else if (!S_ISDIR(st.st_mode)) rc = -ENOTDIR;
    *s = c;
    if (rc < 0 || c == '\0') break;
  }
  free(p);
  return rc;
}

/* --output-dir: the directory made and fixed (absolute), its '%' written "%%" for the shim's template. */
static char *dir_template(const char *dir) {
  int rc = make_dirs(dir);
  if (rc < 0) {
    run_error("--output-dir=%s: cannot create it: %s", dir, strerror(-rc));
    return NULL;
  }
  char *abs = realpath(dir, NULL), *tmpl = NULL;
  if (!abs) {
    run_error("--output-dir=%s: %s", dir, strerror(errno));
    return NULL;
  }
  size_t len = 0;
  FILE *f = open_memstream(&tmpl, &len);
  if (f) {
    for (const char *c = abs; *c; c++) fputs(*c == '%' ? "%%" : (char[]){*c, 0}, f);
    fputs(strcmp(abs, "/") == 0 ? "%n.%p.%s.lsr" : "/%n.%p.%s.lsr", f);
    fclose(f);
  }
  free(abs);
  if (!tmpl) run_error("out of memory");
  else if (strlen(tmpl) >= LS_PATH_MAX || strchr(tmpl, ':')) {
    run_error("--output-dir=%s: the path is too long or holds a ':' (LOOPSCOPE_OPTIONS cannot carry it)", dir);
    free(tmpl);
    tmpl = NULL;
  }
  return tmpl;
}

/* ":suppressions=ABS1,ABS2" for a shim that takes them ("" when it does not, or there are none); the
 * report-time suppressions work either way. NULL when out of memory. */
static char *supps_option(const struct run_args *a) {
  char *buf = NULL;
  size_t len = 0;
  if (a->nsupps == 0 || !ls_option_by_key("suppressions", 12)) return strdup("");
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  size_t n = 0;
  for (size_t i = 0; i < a->nsupps; i++) {
    if (strpbrk(a->supps[i], ":,")) {
      fprintf(stderr, "loopscope: --suppressions=%s: a path with ':' or ',' cannot be passed to the preload library; "
                      "it applies to the report only\n", a->supps[i]);
      continue;
    }
    fprintf(f, "%s%s", n++ ? "," : ":suppressions=", a->supps[i]);
  }
  fclose(f);
  if (buf && len >= LS_PATH_MAX) {
    fprintf(stderr, "loopscope: the --suppressions paths are too long together to pass to the preload library; "
                    "they apply to the report only\n");
    buf[0] = '\0';
  }
  return buf;
}

/* The shim first in LD_PRELOAD. A sanitized build's shim needs its sanitizer's runtime too, right behind
 * it: ahead of every other library, so that the runtime's interceptors are found before libc's, yet
 * behind the shim, so that the shim still sees the program's calls and not the runtime's
 * (preload/sanitize.c gives the runtime its options for that). */
static int preload_shim(const char *shim) {
#ifdef LOOPSCOPE_SANITIZER_RUNTIME
  if (setenv_prepended("LD_PRELOAD", LOOPSCOPE_SANITIZER_RUNTIME, ":") < 0) return -1;
#endif
  return setenv_prepended("LD_PRELOAD", shim, ":");
}

/* Sets LD_PRELOAD and LOOPSCOPE_OPTIONS for the child; fills the report template to look for and the
 * verbosity in force. */
static int prepare_env(const struct run_args *a, char **tmpl, unsigned *verbosity) {
  struct ls_options eff;
  if (effective_options(getenv("LOOPSCOPE_OPTIONS"), a->opts, &eff) < 0) return -1;
  *verbosity = (unsigned)eff.verbosity;
  *tmpl = a->output_dir ? dir_template(a->output_dir) : absolute_log_path(eff.log_path);
  char *shim = *tmpl ? find_shim() : NULL, *opts = NULL, *supps = supps_option(a);
  int rc = -1;
  if (*tmpl && shim && supps &&
      asprintf(&opts, "%s%slog_path=%s%s", a->opts, a->opts[0] ? ":" : "", *tmpl, supps) >= 0) {
    char err[512];
    struct ls_options check;
    ls_options_defaults(&check);
    if (ls_options_parse(&check, opts, err, sizeof(err)) < 0) run_error("%s", err);
    else if (setenv_appended("LOOPSCOPE_OPTIONS", opts) == 0 && preload_shim(shim) == 0) rc = 0;
    else run_error("cannot set the environment: %s", strerror(errno));
  } else if (*tmpl && shim && !supps) {
    run_error("out of memory");
  }
  free(opts);
  free(supps);
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
  unsigned verbosity;
  if (prepare_env(&a, &tmpl, &verbosity) < 0) goto out;
  uint64_t t0 = realtime_ns(); /* the shim's start_ns comes later; older reports of a reused pid, earlier */
  struct watch w = {.timeout_ms = a.timeout_ms, .kill_after_ms = a.kill_after_ms, .sock = -1};
  if (spawn_and_wait(path, a.prog, &w, &pid, &ws, &exec_errno) < 0) {
    run_error("cannot start %s: %s", a.prog[0], strerror(errno));
    goto out;
  }
  if (exec_errno) {
    fprintf(stderr, "loopscope: %s: %s\n", a.prog[0], strerror(exec_errno));
    status = exec_errno == ENOENT ? 127 : 126;
    goto out;
  }
  bool failed;
  render_for(tmpl, pid, t0, &a.ci, w.timed_out ? a.timeout_ms : 0, ws, verbosity, &failed);
  status = w.timed_out ? LS_EXIT_TIMEOUT : failed ? a.ci.error_exitcode : exit_status_of(ws);
out:
  ls_ci_free(&a.ci);
  for (size_t i = 0; i < a.nsupps; i++) free(a.supps[i]);
  free(a.supps);
  free(a.opts);
  free(tmpl);
  free(path);
  return status;
}
