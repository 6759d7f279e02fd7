/* The CI flags of `run` and `report`. A bad id or a malformed suppressions file is refused before
 * anything runs, naming what is wrong and what is accepted (DESIGN.md section 4, rule 4). */
#define _GNU_SOURCE
#include "ci.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"

static const struct {
  const char *name;
  const char *ids; /* comma-separated; NULL: every id */
} groups[] = {
    {"leaks", "never-run,unclosed-resource,unjoined-thread,unretrieved-error"},
    {"threads", "wrong-thread,loop-reentry"},
    {"all", NULL},
};

void ls_ci_init(struct ls_ci *ci) {
  memset(ci, 0, sizeof(*ci));
  ci->error_exitcode = 1;
}

void ls_ci_free(struct ls_ci *ci) { ls_supps_free(&ci->supps); }

static void list_accepted(FILE *f) {
  fputs("accepted ids: ", f);
  for (int i = 0; i < LS_F_COUNT; i++) fprintf(f, "%s%s", i ? ", " : "", ls_finding_table[i].id);
  fputs("; groups: ", f);
  for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
    fprintf(f, "%s%s (%s)", g ? ", " : "", groups[g].name, groups[g].ids ? groups[g].ids : "every id");
}

/* One id or group name of a --fail-on list. */
static int set_one(struct ls_ci *ci, const char *word, size_t len, const char *cmd, const char *whole) {
  int k = ls_finding_by_id(word, len);
  if (k >= 0) {
    ci->fail_on[k] = true;
    return 0;
  }
  for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
    if (strlen(groups[g].name) != len || memcmp(groups[g].name, word, len) != 0) continue;
    for (int i = 0; i < LS_F_COUNT; i++)
      if (!groups[g].ids) ci->fail_on[i] = true;
    for (const char *p = groups[g].ids; p && *p;) {
      const char *comma = strchrnul(p, ',');
      int id = ls_finding_by_id(p, (size_t)(comma - p));
      if (id >= 0) ci->fail_on[id] = true;
      p = *comma ? comma + 1 : comma;
    }
    return 0;
  }
  fprintf(stderr, "%s: --fail-on=%s: unknown finding id '%.*s' (", cmd, whole, (int)len, word);
  list_accepted(stderr);
  fputs(")\n", stderr);
  return -1;
}

/* "--name=value" or "--name value": 1 with *val, 0 when arg is not --name, -1 when the value is missing. */
static int value_of(int argc, char **argv, int *i, const char *name, const char **val, const char *cmd) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0) return 0;
  if (a[n] == '=') {
    *val = a + n + 1;
    return 1;
  }
  if (a[n] != '\0') return 0;
  if (*i + 1 >= argc) {
    fprintf(stderr, "%s: %s needs a value\n", cmd, name);
    return -1;
  }
  *val = argv[++*i];
  return 1;
}

int ls_ci_flag(struct ls_ci *ci, int argc, char **argv, int *i, const char *cmd) {
  const char *v, *arg = argv[*i];
  int rc;
  if ((rc = value_of(argc, argv, i, "--fail-on", &v, cmd)) != 0) {
    if (rc < 0) return -1;
    if (!*v) {
      fprintf(stderr, "%s: --fail-on needs at least one finding id (", cmd);
      list_accepted(stderr);
      fputs(")\n", stderr);
      return -1;
    }
    /* one id or group at a time, so an unknown one is named alone */
    for (const char *p = v;;) {
      const char *comma = strchrnul(p, ',');
      if (comma == p || set_one(ci, p, (size_t)(comma - p), cmd, v) < 0) {
        if (comma == p) fprintf(stderr, "%s: --fail-on=%s: an empty finding id\n", cmd, v);
        return -1;
      }
      if (!*comma) break;
      p = comma + 1;
    }
    ci->any_fail_on = true;
    return 1;
  }
  if ((rc = value_of(argc, argv, i, "--error-exitcode", &v, cmd)) != 0) {
    if (rc < 0) return -1;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 1 || n > 255) {
      fprintf(stderr, "%s: --error-exitcode=%s: expected a number from 1 to 255\n", cmd, v);
      return -1;
    }
    ci->error_exitcode = (int)n;
    return 1;
  }
  if ((rc = value_of(argc, argv, i, "--suppressions", &v, cmd)) != 0) {
    if (rc < 0) return -1;
    if (!*v) return 1; /* empty: no file, as the preload library's suppressions option defaults to */
    char err[2048];
    if (ls_supps_load(&ci->supps, v, err, sizeof(err)) < 0) {
      fprintf(stderr, "%s: --suppressions: %s\n", cmd, err);
      return -1;
    }
    return 1;
  }
  if (strcmp(arg, "--gen-suppressions") == 0) {
    ci->gen_supps = true;
    return 1;
  }
  if (strcmp(arg, "--print-suppressions") == 0) {
    ci->print_supps = true;
    return 1;
  }
  return 0;
}

const char *ls_ci_group_name(size_t i) { return i < sizeof(groups) / sizeof(groups[0]) ? groups[i].name : NULL; }

void ls_ci_usage(FILE *out) {
  fputs("  --fail-on=IDS                  exit with --error-exitcode when a finding with one of these ids\n"
        "                                 is not suppressed: ids, or the groups leaks (never-run,\n"
        "                                 unclosed-resource, unjoined-thread, unretrieved-error), threads\n"
        "                                 (wrong-thread, loop-reentry), all; comma-separated\n"
        "  --error-exitcode=N             the exit status for --fail-on, 1 to 255 (default 1)\n"
        "  --suppressions=FILE            ID:PATTERN lines (repeatable); matched findings are not shown\n"
        "                                 and never fail the run\n"
        "  --gen-suppressions             print a ready-to-paste suppression for each finding\n"
        "  --print-suppressions           print each suppression and how many findings it matched\n",
        out);
}

bool ls_ci_failed(const struct ls_ci *ci, const struct lsm *m) {
  if (!ci->any_fail_on) return false;
  for (size_t i = 0; i < m->ngroups; i++) {
    const struct lsm_group *g = &m->groups[i];
    const char *cat = g->f->f->category;
    int k = cat ? ls_finding_by_id(cat, strlen(cat)) : -1;
    if (!g->supp && k >= 0 && ci->fail_on[k]) return true;
  }
  return false;
}

void ls_ci_print(FILE *out, const struct ls_ci *ci, const struct lsm *m, const char *prefix) {
  if (ci->gen_supps && m->nshown) {
    /* raw lines (no prefix), so the block can be pasted into a suppressions file as it is */
    fprintf(out, "# loopscope suppressions for the %zu finding%s above (--gen-suppressions):\n", m->nshown,
            m->nshown == 1 ? "" : "s");
    char line[2048], prev[2048] = "";
    for (size_t i = 0; i < m->ngroups; i++) {
      if (m->groups[i].supp) continue;
      ls_supp_generate(m->groups[i].f, line, sizeof(line));
      if (strcmp(line, prev) == 0) continue;
      fprintf(out, "%s\n", line);
      snprintf(prev, sizeof(prev), "%s", line);
    }
  }
  if (ci->print_supps) {
    if (ci->supps.n == 0) {
      fprintf(out, "%sno suppressions given\n", prefix);
      return;
    }
    fprintf(out, "%ssuppressions used (matched: findings, one per process; 0 = stale):\n", prefix);
    fprintf(out, "%s  %8s  %s\n", prefix, "matched", "suppression");
    for (size_t i = 0; i < ci->supps.n; i++) {
      const struct ls_supp *s = &ci->supps.v[i];
      fprintf(out, "%s  %8" PRIu64 "  %s  (%s:%u)\n", prefix, s->matched, s->text, s->file, s->line);
    }
  }
}
