/* `loopscope report [--format=text|json] [-o OUTPUT] FILE...`: read, validate, symbolize, render.
 * Several files are several processes; their findings are merged. A truncated report is normal (a
 * crash or SIGKILL leaves one): it renders and exits 0. A corrupt or unreadable one exits 2, after
 * rendering whatever could be read. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ci.h"
#include "cli.h"
#include "flags.h"
#include "merge.h"
#include "model.h"
#include "render.h"

enum color_when { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

struct report_args {
  enum render_format format;
  bool debuginfod;
  enum color_when color;
  const char *output, *source_root;
  char **files; /* directories expanded; each string malloc'd */
  bool *in_dir;  /* files[i] was found in a directory, not named: only a regular file is read */
  size_t nfiles, cap;
  struct ls_ci ci;
};

void ls_usage_report(FILE *out) {
  fputs("usage: loopscope report [options] FILE...\n"
        "\n"
        "Renders loopscope report files (written by `loopscope run` or by the preload library).\n"
        "Several files are several processes; their findings are merged (one per category, callback\n"
        "and innermost frame, with per-process counts). A directory means every *.lsr file in it.\n"
        "FILE '-' is standard input.\n"
        "\n"
        "options:\n"
        "  --format=text|json|sarif|junit\n"
        "                       output format (default text); sarif is SARIF 2.1.0 for code scanning,\n"
        "                       junit one testcase per process and one failure per finding\n"
        "  --source-root=DIR    sarif: source URIs relative to DIR (else absolute file:// URIs)\n"
        "  -o, --output=FILE    write the rendered output to FILE (default standard output)\n"
        "  --color=auto|always|never\n"
        "                       color severities in text output (default auto: when a terminal)\n"
        "  --debuginfod         allow fetching debug info from DEBUGINFOD_URLS servers (default: offline)\n"
        "  -h, --help           show this help\n"
        "CI:\n",
        out);
  ls_ci_usage(out);
  fputs("\n"
        "exit status: 0, also for a truncated report (which it says); --error-exitcode (default 1) when\n"
        "a finding matched --fail-on; 2 for usage errors, a bad suppressions file, and unreadable,\n"
        "corrupt or too new report files, or files that are not reports (the others are still rendered).\n",
        out);
}

static int usage_error(const char *fmt, const char *arg) {
  fputs("loopscope report: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\n", stderr);
  return -1;
}

/* The index of a --format/--color value among the flag's words in the one flag table (their order is
 * the enum's); -1 after naming what is accepted. */
static int word_of(const char *flag, const char *v) {
  const struct ls_cli_flag *f = ls_cli_flag_find(LS_CMD_REPORT, flag);
  int k = f ? ls_cli_flag_word(f, v) : -1;
  if (k < 0) {
    fprintf(stderr, "loopscope report: %s: unknown value '%s' (accepted: ", flag, v);
    if (f) ls_cli_flag_print_words(stderr, f);
    fputs(")\n", stderr);
  }
  return k;
}

/* "--name=value" or "--name value"; -1 after printing an error when the value is missing. */
static int take_value(int argc, char **argv, int *i, const char *name, const char **val) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0) return 0;
  if (a[n] == '=') {
    *val = a + n + 1;
    return 1;
  }
  if (a[n] != '\0') return 0;
  if (*i + 1 >= argc) return usage_error("option '%s' needs a value", name);
  *val = argv[++*i];
  return 1;
}

static int add_file(struct report_args *a, const char *path, bool in_dir) {
  if (a->nfiles == a->cap) {
    size_t cap = a->cap ? 2 * a->cap : 16;
    char **nf = realloc(a->files, cap * sizeof(*nf));
    if (nf) a->files = nf;
    bool *nd = nf ? realloc(a->in_dir, cap * sizeof(*nd)) : NULL;
    if (!nd) return usage_error("%s", "out of memory");
    a->in_dir = nd;
    a->cap = cap;
  }
  if (!(a->files[a->nfiles] = strdup(path))) return usage_error("%s", "out of memory");
  a->in_dir[a->nfiles++] = in_dir;
  return 0;
}

static int is_report_file(const struct dirent *d) {
  size_t n = strlen(d->d_name);
  return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".lsr") == 0;
}

/* A directory is every *.lsr file in it (a process tree's --output-dir), in version order, so
 * pid 99 comes before pid 100. */
static int add_path(struct report_args *a, const char *path) {
  struct stat st;
  if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return add_file(a, path, false);
  struct dirent **list;
  int n = scandir(path, &list, is_report_file, versionsort);
  if (n < 0) {
    fprintf(stderr, "loopscope report: %s: %s\n", path, strerror(errno));
    return -1;
  }
  int rc = n == 0 ? usage_error("%s: no report files (*.lsr) in this directory", path) : 0;
  for (int i = 0; i < n; i++) {
    char *full = NULL;
    if (rc == 0 && asprintf(&full, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", list[i]->d_name) < 0)
      rc = usage_error("%s", "out of memory");
    if (rc == 0) rc = add_file(a, full, true);
    free(full);
    free(list[i]);
  }
  free(list);
  return rc;
}

static int parse_args(int argc, char **argv, struct report_args *a) {
  memset(a, 0, sizeof(*a));
  ls_ci_init(&a->ci);
  bool options = true;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *v;
    int rc;
    if (!options || arg[0] != '-' || strcmp(arg, "-") == 0) {
      if (add_path(a, argv[i]) < 0) return -1;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      options = false;
    } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      ls_usage_report(stdout);
      exit(0);
    } else if ((rc = ls_ci_flag(&a->ci, argc, argv, &i, "loopscope report")) != 0) {
      if (rc < 0) return -1;
    } else if ((rc = take_value(argc, argv, &i, "--format", &v)) != 0) {
      if (rc < 0) return -1;
      int k = word_of("--format", v);
      if (k < 0) return -1;
      a->format = (enum render_format)k;
    } else if ((rc = take_value(argc, argv, &i, "--source-root", &v)) != 0) {
      if (rc < 0) return -1;
      a->source_root = v;
    } else if ((rc = take_value(argc, argv, &i, "--output", &v)) != 0 ||
               (rc = take_value(argc, argv, &i, "-o", &v)) != 0) {
      if (rc < 0) return -1;
      a->output = v;
    } else if (strncmp(arg, "-o", 2) == 0) {
      a->output = arg + 2;
    } else if (strcmp(arg, "--color") == 0 || strncmp(arg, "--color=", 8) == 0) {
      v = arg[7] ? arg + 8 : "always";
      int k = word_of("--color", v);
      if (k < 0) return -1;
      a->color = (enum color_when)k;
    } else if (strcmp(arg, "--debuginfod") == 0) {
      a->debuginfod = true;
    } else {
      fprintf(stderr, "loopscope report: unknown option '%s' (accepted: ", arg);
      ls_cli_flags_print(stderr, LS_CMD_REPORT);
      fputs(")\n", stderr);
      return -1;
    }
  }
  if (a->nfiles == 0) return usage_error("%s", "no report file given (usage: loopscope report [options] FILE...)");
  return 0;
}

static void free_args(struct report_args *a) {
  for (size_t i = 0; i < a->nfiles; i++) free(a->files[i]);
  free(a->files);
  free(a->in_dir);
  ls_ci_free(&a->ci);
}

bool ls_report_complain(const char *path, int load_rc, const struct ls_report *r, bool text_says_it) {
  for (size_t i = 0; i < r->nwarnings; i++) fprintf(stderr, "loopscope: %s: warning: %s\n", path, r->warnings[i]);
  if (load_rc == -EBADMSG) {
    if (!text_says_it) fprintf(stderr, "loopscope: %s: %s\n", path, r->error ? r->error : "corrupt report");
    return true;
  }
  if (load_rc == -EPROTONOSUPPORT || load_rc == -ENOMSG) {
    fprintf(stderr, "loopscope: %s: %s\n", path, r->error ? r->error : "report format too new");
    return true;
  }
  if (load_rc < 0) {
    /* ls_report_load's message already names the file */
    fprintf(stderr, "loopscope: %s\n", r->error ? r->error : strerror(-load_rc));
    return true;
  }
  if (r->truncated && !text_says_it)
    fprintf(stderr, "loopscope: %s: truncated at byte %" PRIu64 "\n", path, r->truncated_at);
  return false;
}

int ls_render_reports(struct ls_report *reports, size_t n, FILE *out, const struct render_opts *o, struct ls_ci *ci,
                      FILE *aux, const char *aux_prefix, bool *failed) {
  struct lsm m;
  *failed = false;
  int rc = lsm_build(&m, reports, n, o->debuginfod);
  if (rc == 0) rc = lsm_merge(&m, ci ? &ci->supps : NULL);
  if (rc == 0) {
    switch (o->format) {
    case FMT_TEXT: render_text(out, &m, o); break;
    case FMT_JSON: render_json(out, &m); break;
    case FMT_SARIF: render_sarif(out, &m, o); break;
    case FMT_JUNIT: render_junit(out, &m); break;
    }
    if (ci) {
      ls_ci_print(aux, ci, &m, aux_prefix);
      *failed = ls_ci_failed(ci, &m);
    }
  }
  lsm_free(&m);
  return rc;
}

/* Loads every file; the readable ones (complete, truncated or corrupt) go into reports. */
static bool load_all(const struct report_args *a, struct ls_report *reports, size_t *n) {
  bool bad = false;
  *n = 0;
  for (size_t i = 0; i < a->nfiles; i++) {
    const char *path = strcmp(a->files[i], "-") == 0 ? "/dev/stdin" : a->files[i];
    struct ls_report *r = &reports[*n];
    int rc = ls_report_load_as(path, a->in_dir[i] ? LS_RD_REGULAR : LS_RD_NAMED, r);
    if (rc == -EPERM && a->in_dir[i]) {
      /* a FIFO or device named like a report in a directory is not one: reading it could hang */
      fprintf(stderr, "loopscope: skipped %s\n", r->error ? r->error : a->files[i]);
      ls_report_free(r);
      continue;
    }
    /* text on the terminal names a truncated or corrupt report itself; anything else gets the note */
    bad |= ls_report_complain(a->files[i], rc, r, a->format == FMT_TEXT && !a->output);
    if (rc == 0 || rc == -EBADMSG) (*n)++; /* a corrupt report still shows what came before the damage */
    else ls_report_free(r);
  }
  return bad;
}

static bool want_color(enum color_when w, FILE *out) {
  if (w == COLOR_ALWAYS) return true;
  if (w == COLOR_NEVER) return false;
  const char *nc = getenv("NO_COLOR");
  return isatty(fileno(out)) && !(nc && nc[0]);
}

int ls_cmd_report(int argc, char **argv) {
  struct report_args a;
  if (parse_args(argc, argv, &a) < 0) {
    free_args(&a);
    return LS_EXIT_USAGE;
  }
  struct ls_report *reports = calloc(a.nfiles, sizeof(*reports));
  if (!reports) {
    fprintf(stderr, "loopscope: out of memory\n");
    free_args(&a);
    return LS_EXIT_USAGE;
  }
  size_t n;
  bool bad = load_all(&a, reports, &n), failed = false;
  if (n == 0 && !bad) bad = usage_error("%s", "no report to render: every file was skipped") < 0;
  int status = bad ? LS_EXIT_USAGE : 0;
  FILE *out = stdout;
  if (n > 0 && a.output && !(out = fopen(a.output, "w"))) {
    fprintf(stderr, "loopscope report: cannot write %s: %s\n", a.output, strerror(errno));
    status = LS_EXIT_USAGE;
  } else if (n > 0) {
    struct render_opts o = {.format = a.format, .color = a.format == FMT_TEXT && want_color(a.color, out),
                            .debuginfod = a.debuginfod, .source_root = a.source_root, .verbosity = LS_VERBOSITY_ALL};
    /* --gen/--print-suppressions follow a text rendering; they would break a JSON, SARIF or XML one */
    FILE *aux = a.format == FMT_TEXT ? out : stderr;
    if (ls_render_reports(reports, n, out, &o, &a.ci, aux, "", &failed) < 0) {
      fprintf(stderr, "loopscope: out of memory\n");
      status = LS_EXIT_USAGE;
    }
    if ((out != stdout ? fclose(out) : fflush(out)) != 0) {
      fprintf(stderr, "loopscope report: writing %s: %s\n", a.output ? a.output : "standard output", strerror(errno));
      status = LS_EXIT_USAGE;
    }
  }
  /* a finding that matched --fail-on is a verdict even when another input was unreadable */
  if (failed) status = a.ci.error_exitcode;
  for (size_t i = 0; i < n; i++) ls_report_free(&reports[i]);
  free(reports);
  free_args(&a);
  return status;
}
