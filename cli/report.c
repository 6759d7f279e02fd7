/* `loopscope report [--format=text|json] [-o OUTPUT] FILE...`: read, validate, symbolize, render.
 * Several files are several processes; their findings are merged. A truncated report is normal (a
 * crash or SIGKILL leaves one): it renders and exits 0. A corrupt or unreadable one exits 2, after
 * rendering whatever could be read. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "model.h"
#include "render.h"

enum color_when { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

struct report_args {
  bool json, debuginfod;
  enum color_when color;
  const char *output;
  char **files;
  size_t nfiles;
};

void ls_usage_report(FILE *out) {
  fputs("usage: loopscope report [options] FILE...\n"
        "\n"
        "Renders loopscope report files (written by `loopscope run` or by the preload library).\n"
        "Several files are several processes; their findings are merged. FILE '-' is standard input.\n"
        "\n"
        "options:\n"
        "  --format=text|json   output format (default text)\n"
        "  -o, --output=FILE    write the rendered output to FILE (default standard output)\n"
        "  --color=auto|always|never\n"
        "                       color severities in text output (default auto: when a terminal)\n"
        "  --debuginfod         allow fetching debug info from DEBUGINFOD_URLS servers (default: offline)\n"
        "  -h, --help           show this help\n"
        "\n"
        "exit status: 0, also for a truncated report (which it says); 2 for usage errors and for\n"
        "unreadable, corrupt or too new report files.\n",
        out);
}

static int usage_error(const char *fmt, const char *arg) {
  fputs("loopscope report: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\n", stderr);
  return -1;
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

static int parse_args(int argc, char **argv, struct report_args *a) {
  memset(a, 0, sizeof(*a));
  a->files = calloc((size_t)argc + 1, sizeof(*a->files));
  if (!a->files) return -1;
  bool options = true;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *v;
    int rc;
    if (!options || arg[0] != '-' || strcmp(arg, "-") == 0) {
      a->files[a->nfiles++] = argv[i];
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      options = false;
    } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      ls_usage_report(stdout);
      exit(0);
    } else if ((rc = take_value(argc, argv, &i, "--format", &v)) != 0) {
      if (rc < 0) return -1;
      if (strcmp(v, "json") == 0) a->json = true;
      else if (strcmp(v, "text") == 0) a->json = false;
      else return usage_error("--format: unknown format '%s' (accepted: text, json)", v);
    } else if ((rc = take_value(argc, argv, &i, "--output", &v)) != 0 ||
               (rc = take_value(argc, argv, &i, "-o", &v)) != 0) {
      if (rc < 0) return -1;
      a->output = v;
    } else if (strncmp(arg, "-o", 2) == 0) {
      a->output = arg + 2;
    } else if (strcmp(arg, "--color") == 0 || strncmp(arg, "--color=", 8) == 0) {
      v = arg[7] ? arg + 8 : "always";
      if (strcmp(v, "auto") == 0) a->color = COLOR_AUTO;
      else if (strcmp(v, "always") == 0) a->color = COLOR_ALWAYS;
      else if (strcmp(v, "never") == 0) a->color = COLOR_NEVER;
      else return usage_error("--color: unknown value '%s' (accepted: auto, always, never)", v);
    } else if (strcmp(arg, "--debuginfod") == 0) {
      a->debuginfod = true;
    } else {
      return usage_error("unknown option '%s' (accepted: --format, -o/--output, --color, --debuginfod, --help)", arg);
    }
  }
  if (a->nfiles == 0) return usage_error("%s", "no report file given (usage: loopscope report [options] FILE...)");
  return 0;
}

bool ls_report_complain(const char *path, int load_rc, const struct ls_report *r) {
  for (size_t i = 0; i < r->nwarnings; i++) fprintf(stderr, "loopscope: %s: warning: %s\n", path, r->warnings[i]);
  if (load_rc == -EBADMSG) {
    fprintf(stderr, "loopscope: %s: %s\n", path, r->error ? r->error : "corrupt report");
    return true;
  }
  if (load_rc == -EPROTONOSUPPORT) {
    fprintf(stderr, "loopscope: %s: %s\n", path, r->error ? r->error : "report format too new");
    return true;
  }
  if (load_rc < 0) {
    /* ls_report_load's message already names the file */
    fprintf(stderr, "loopscope: %s\n", r->error ? r->error : strerror(-load_rc));
    return true;
  }
  if (r->truncated) fprintf(stderr, "loopscope: %s: truncated at byte %" PRIu64 "\n", path, r->truncated_at);
  return false;
}

int ls_render_reports(struct ls_report *reports, size_t n, FILE *out, bool json, const struct render_opts *o,
                      bool debuginfod) {
  struct lsm m;
  int rc = lsm_build(&m, reports, n, debuginfod);
  if (rc == 0) {
    if (json) render_json(out, &m);
    else render_text(out, &m, o);
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
    int rc = ls_report_load(path, r);
    bad |= ls_report_complain(a->files[i], rc, r);
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
    free(a.files);
    return LS_EXIT_USAGE;
  }
  struct ls_report *reports = calloc(a.nfiles, sizeof(*reports));
  if (!reports) {
    fprintf(stderr, "loopscope: out of memory\n");
    free(a.files);
    return LS_EXIT_USAGE;
  }
  size_t n;
  bool bad = load_all(&a, reports, &n);
  int status = bad ? LS_EXIT_USAGE : 0;
  FILE *out = stdout;
  if (n > 0 && a.output && !(out = fopen(a.output, "w"))) {
    fprintf(stderr, "loopscope report: cannot write %s: %s\n", a.output, strerror(errno));
    status = LS_EXIT_USAGE;
  } else if (n > 0) {
    struct render_opts o = {.color = !a.json && want_color(a.color, out)};
    if (ls_render_reports(reports, n, out, a.json, &o, a.debuginfod) < 0) {
      fprintf(stderr, "loopscope: out of memory\n");
      status = LS_EXIT_USAGE;
    }
    if ((out != stdout ? fclose(out) : fflush(out)) != 0) {
      fprintf(stderr, "loopscope report: writing %s: %s\n", a.output ? a.output : "standard output", strerror(errno));
      status = LS_EXIT_USAGE;
    }
  }
  for (size_t i = 0; i < n; i++) ls_report_free(&reports[i]);
  free(reports);
  free(a.files);
  return status;
}
