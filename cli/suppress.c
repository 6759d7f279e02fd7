/* Suppression files: parse, match, generate. See suppress.h. */
#define _GNU_SOURCE
#include "suppress.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_findings.h"
#include "model.h"

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
  return s;
}

static void accepted_ids(char *buf, size_t len) {
  size_t n = (size_t)snprintf(buf, len, "*");
  for (int i = 0; i < LS_F_COUNT && n < len; i++) n += (size_t)snprintf(buf + n, len - n, ", %s", ls_finding_table[i].id);
}

/* One non-comment line into *out; a message in err when it is malformed. */
static int parse_line(char *line, struct ls_supp *out, char *err, size_t errlen) {
  char *colon = strchr(line, ':');
  char ids[512];
  if (!colon) {
    snprintf(err, errlen, "malformed suppression '%s': expected ID:PATTERN", line);
    return -1;
  }
  *colon = 0;
  char *id = trim(line), *pat = trim(colon + 1);
  if (strcmp(id, "*") != 0 && ls_finding_by_id(id, strlen(id)) < 0) {
    accepted_ids(ids, sizeof(ids));
    snprintf(err, errlen, "unknown finding id '%s' in suppression '%s:%s' (accepted: %s)", id, id, pat, ids);
    return -1;
  }
  if (!*pat) {
    snprintf(err, errlen, "suppression '%s:' has an empty pattern", id);
    return -1;
  }
  for (char *p = pat; *p; p++)
    if (isspace((unsigned char)*p)) {
      /* a blank inside a pattern is a typo far more often than a name (? stands for one) */
      snprintf(err, errlen, "suppression '%s:%s': the pattern holds a blank", id, pat);
      return -1;
    }
  out->id = strdup(id);
  out->pattern = strdup(pat);
  if (asprintf(&out->text, "%s:%s", id, pat) < 0) out->text = NULL;
  return out->id && out->pattern && out->text ? 0 : (snprintf(err, errlen, "out of memory"), -1);
}

int ls_supps_load(struct ls_supps *s, const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  int rc = ls_supps_read(s, f, path, err, errlen);
  fclose(f);
  return rc;
}

int ls_supps_read(struct ls_supps *s, FILE *f, const char *path, char *err, size_t errlen) {
  size_t first = s->n, cap = s->n;
  char *buf = NULL;
  size_t bufcap = 0;
  unsigned lineno = 0;
  int rc = 0;
  while (getline(&buf, &bufcap, f) >= 0) {
    lineno++;
    char *line = trim(buf);
    if (!*line || *line == '#') continue;
    if (s->n == cap) {
      cap = cap ? 2 * cap : 16;
      struct ls_supp *nv = realloc(s->v, cap * sizeof(*nv));
      if (!nv) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        break;
      }
      s->v = nv;
    }
    struct ls_supp *sp = &s->v[s->n];
    memset(sp, 0, sizeof(*sp));
    char msg[1024];
    if (parse_line(line, sp, msg, sizeof(msg)) < 0) {
      snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
      free(sp->id);
      free(sp->pattern);
      free(sp->text);
      rc = -1;
      break;
    }
    sp->file = strdup(path);
    sp->line = lineno;
    s->n++;
  }
  if (rc == 0 && ferror(f)) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    rc = -1;
  }
  free(buf);
  if (rc < 0) {
    while (s->n > first) {
      struct ls_supp *sp = &s->v[--s->n];
      free(sp->id), free(sp->pattern), free(sp->text), free(sp->file);
    }
  }
  return rc;
}

void ls_supps_free(struct ls_supps *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i].id);
    free(s->v[i].pattern);
    free(s->v[i].text);
    free(s->v[i].file);
  }
  free(s->v);
  s->v = NULL;
  s->n = 0;
}

static const char *base(const char *p) {
  const char *s = p ? strrchr(p, '/') : NULL;
  return s ? s + 1 : p;
}

static bool glob(const char *pat, const char *s) { return s && *s && fnmatch(pat, s, 0) == 0; }

static bool frame_matches(const char *pat, const struct ls_frame *f) {
  return glob(pat, f->function) || glob(pat, f->file) || glob(pat, f->path) || glob(pat, f->module) ||
         glob(pat, base(f->module));
}

static bool matches(const struct ls_supp *sp, const struct lsm_finding *lf) {
  const char *cat = lf->f->category ? lf->f->category : "";
  if (strcmp(sp->id, "*") != 0 && strcmp(sp->id, cat) != 0) return false;
  if (lf->has_cb && frame_matches(sp->pattern, &lf->cb)) return true;
  for (size_t i = 0; i < lf->stack.n; i++)
    if (frame_matches(sp->pattern, &lf->stack.frames[i])) return true;
  return false;
}

struct ls_supp *ls_supps_match(struct ls_supps *s, const struct lsm_finding *lf) {
  for (size_t i = 0; s && i < s->n; i++)
    if (matches(&s->v[i], lf)) {
      s->v[i].matched++;
      return &s->v[i];
    }
  return NULL;
}

/* Glob characters in a name are escaped so the line matches that name only. */
static void escaped(char *buf, size_t len, const char *s) {
  size_t n = 0;
  for (; *s && n + 2 < len; s++) {
    if (strchr("*?[\\", *s)) buf[n++] = '\\';
    else if (isspace((unsigned char)*s)) {
      buf[n++] = '?'; /* a blank is not allowed in a pattern: any one character stands for it */
      continue;
    }
    buf[n++] = *s;
  }
  buf[n] = 0;
}

void ls_supp_generate(const struct lsm_finding *lf, char *buf, size_t len) {
  const char *what = NULL;
  char esc[1024];
  if (lf->has_cb && lf->cb.function) what = lf->cb.function;
  for (size_t i = 0; !what && i < lf->stack.n; i++) what = lf->stack.frames[i].function;
  if (!what && lf->has_cb) what = base(lf->cb.module);
  for (size_t i = 0; !what && i < lf->stack.n; i++) what = base(lf->stack.frames[i].module);
  if (what) escaped(esc, sizeof(esc), what);
  else snprintf(esc, sizeof(esc), "*"); /* nothing named at all: only the id can tell it */
  const char *cat = lf->f->category;
  if (!cat || ls_finding_by_id(cat, strlen(cat)) < 0) cat = "*"; /* a category this version does not know */
  snprintf(buf, len, "%s:%s", cat, esc);
}
