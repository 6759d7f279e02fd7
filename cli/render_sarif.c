/* SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer): one run; one rule per finding id
 * (the ids are the stable ruleIds); one result per merged finding, located at the program's own
 * line (the innermost stack frame with a source file), with a partial fingerprint that survives
 * rebuilds, other checkouts and other pids. tests/sarif holds the schema a test validates against. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "ls_findings.h"
#include "ls_version.h"
#include "merge.h"
#include "render.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

/* RFC 3986: unreserved characters and '/' as they are, everything else %XX. */
static char *uri_encode(const char *prefix, const char *path) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  fputs(prefix, f);
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
      fputc(*p, f);
    else
      fprintf(f, "%%%02X", *p);
  }
  fclose(f);
  return buf;
}

/* The source root, resolved once; "" when none. */
struct roots {
  char given[2 * PATH_MAX + 2], real[PATH_MAX];
  bool any;
};

static void roots_init(struct roots *r, const char *root) {
  memset(r, 0, sizeof(*r));
  if (!root || !*root) return;
  r->any = true;
  char cwd[PATH_MAX];
  if (root[0] == '/' || !getcwd(cwd, sizeof(cwd))) snprintf(r->given, sizeof(r->given), "%s", root);
  else snprintf(r->given, sizeof(r->given), "%s/%s", cwd, root);
  size_t n = strlen(r->given);
  while (n > 1 && r->given[n - 1] == '/') r->given[--n] = 0;
  if (!realpath(root, r->real)) snprintf(r->real, sizeof(r->real), "%s", r->given);
}

static const char *under(const char *root, const char *path) {
  size_t n = strlen(root);
  if (n == 1 && root[0] == '/') return path + 1;
  return n && strncmp(path, root, n) == 0 && path[n] == '/' ? path + n + 1 : NULL;
}

/* *relative: the URI is relative to the source root (uriBaseId %SRCROOT%). */
static char *path_uri(const struct roots *r, const char *path, bool *relative) {
  *relative = false;
  if (r->any && path[0] == '/') {
    const char *rel = under(r->given, path);
    char real[PATH_MAX];
    if (!rel) rel = under(r->real, path);
    if (!rel && realpath(path, real) && (rel = under(r->real, real))) rel = path + strlen(path) - strlen(rel);
    if (rel) {
      *relative = true;
      return uri_encode("", rel);
    }
  }
  return uri_encode(path[0] == '/' ? "file://" : "", path);
}

static void physical(struct json *j, const struct roots *r, const char *path, unsigned line) {
  bool rel;
  char *uri = path_uri(r, path, &rel);
  json_begin_object(j, "physicalLocation");
  json_begin_object(j, "artifactLocation");
  json_string(j, "uri", uri ? uri : "");
  if (rel) json_string(j, "uriBaseId", "%SRCROOT%");
  json_end_object(j);
  if (line) {
    json_begin_object(j, "region");
    json_u64(j, "startLine", line);
    json_end_object(j);
  }
  json_end_object(j);
  free(uri);
}

/* Code that is not the program's own: the C runtime, the loop libraries and loopscope's shim. A code
 * scanning alert belongs on the program's line, not on glibc's libc_start_call_main.h. */
static bool runtime_module(const char *module) {
  static const char *const prefixes[] = {"libc.so",     "ld-linux",     "libpthread",  "libm.so",     "libdl.so",
                                         "libstdc++",   "libgcc_s",     "libloopscope", "libuv.so",    "libevent",
                                         "libglib-2.0", "libgio-2.0",   "libgobject-2.0", "libev.so",  "libsystemd"};
  if (!module) return false;
  const char *base = strrchr(module, '/');
  base = base ? base + 1 : module;
  for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
    if (strncmp(base, prefixes[i], strlen(prefixes[i])) == 0) return true;
  return false;
}

/* The innermost frame with an absolute source path and a line, in the program's own code (own_code) or
 * in any code. */
static const struct ls_frame *innermost_source(const struct lsm_stack *s, bool own_code) {
  for (size_t i = 0; i < s->n; i++) {
    const struct ls_frame *f = &s->frames[i];
    if (f->path && f->path[0] == '/' && f->line && !(own_code && runtime_module(f->module))) return f;
  }
  return NULL;
}

/* The program's own line: the innermost frame of its own code with a source file; else where the
 * callback is defined; else any frame with a source file; else the module the code is in (no region).
 * false when nothing is known at all. */
static bool primary_location(struct json *j, const struct roots *r, const struct lsm_finding *lf) {
  const struct ls_frame *at = innermost_source(&lf->stack, true);
  if (!at && lf->has_cb && lf->cb.path && lf->cb.line) at = &lf->cb;
  if (!at) at = innermost_source(&lf->stack, false);
  if (at) {
    json_begin_object(j, NULL);
    physical(j, r, at->path, at->line);
    json_end_object(j);
    return true;
  }
  const char *module = lf->stack.n ? lf->stack.frames[0].module : lf->has_cb ? lf->cb.module : NULL;
  if (!module || module[0] != '/') return false;
  json_begin_object(j, NULL);
  physical(j, r, module, 0);
  json_end_object(j);
  return true;
}

static void stack(struct json *j, const struct roots *r, const struct lsm_finding *lf) {
  if (!lf->stack.n) return;
  json_begin_array(j, "stacks");
  json_begin_object(j, NULL);
  json_begin_object(j, "message");
  char heading[32];
  snprintf(heading, sizeof(heading), "%s at", lsm_stack_kind(lf));
  json_string(j, "text", strcmp(lsm_stack_kind(lf), "sampled") == 0 ? "sampled stack" : heading);
  json_end_object(j);
  json_begin_array(j, "frames");
  for (size_t i = 0; i < lf->stack.n; i++) {
    const struct ls_frame *f = &lf->stack.frames[i];
    char fb[600];
    json_begin_object(j, NULL);
    json_begin_object(j, "location");
    json_begin_object(j, "message");
    json_string(j, "text", f->function ? f->function : ls_frame_fallback(f, fb, sizeof(fb)));
    json_end_object(j);
    if (f->path && f->path[0] == '/' && f->line) physical(j, r, f->path, f->line); /* "./csu/..": no base to resolve it */
    json_end_object(j);
    if (f->module) json_string(j, "module", f->module);
    json_end_object(j);
  }
  json_end_array(j);
  json_end_object(j);
  json_end_array(j);
}

static const char *level(const char *severity) {
  return severity && strcmp(severity, "error") == 0 ? "error" : severity && strcmp(severity, "note") == 0 ? "note" : "warning";
}

static void result(struct json *j, const struct roots *r, const struct lsm_group *g) {
  const struct lsm_finding *lf = g->f;
  const char *cat = lf->f->category ? lf->f->category : "unknown";
  int k = ls_finding_by_id(cat, strlen(cat));
  char fp[17], *msg = NULL;
  json_begin_object(j, NULL);
  json_string(j, "ruleId", cat);
  if (k >= 0) json_u64(j, "ruleIndex", (uint64_t)k);
  json_string(j, "level", level(lf->f->severity));
  json_begin_object(j, "message");
  if (g->nprocs > 1 && asprintf(&msg, "%s (in %zu processes)", lf->message, g->nprocs) < 0) msg = NULL;
  json_string(j, "text", msg ? msg : lf->message);
  free(msg);
  json_end_object(j);
  json_begin_array(j, "locations");
  primary_location(j, r, lf);
  json_end_array(j);
  lsm_finding_fingerprint(lf, fp);
  json_begin_object(j, "partialFingerprints");
  json_string(j, "loopscope/v1", fp);
  json_end_object(j);
  stack(j, r, lf);
  json_begin_object(j, "properties");
  json_u64(j, "count", g->count);
  json_begin_array(j, "pids");
  for (size_t i = 0; i < g->nprocs; i++) json_u64(j, NULL, g->procs[i].pid);
  json_end_array(j);
  json_end_object(j);
  json_end_object(j);
}

void render_sarif(FILE *out, const struct lsm *m, const struct render_opts *o) {
  struct roots r;
  struct json j;
  roots_init(&r, o->source_root);
  json_init(&j, out);
  json_begin_object(&j, NULL);
  json_string(&j, "$schema", SARIF_SCHEMA);
  json_string(&j, "version", "2.1.0");
  json_begin_array(&j, "runs");
  json_begin_object(&j, NULL);
  json_begin_object(&j, "tool");
  json_begin_object(&j, "driver");
  json_string(&j, "name", "loopscope");
  json_string(&j, "version", LOOPSCOPE_VERSION);
  json_string(&j, "semanticVersion", LOOPSCOPE_VERSION);
  /* No informationUri: it is optional, and the project has no public address to give yet. */
  json_begin_array(&j, "rules");
  for (int i = 0; i < LS_F_COUNT; i++) {
    const struct ls_finding_desc *d = &ls_finding_table[i];
    json_begin_object(&j, NULL);
    json_string(&j, "id", d->id);
    json_begin_object(&j, "shortDescription");
    json_string(&j, "text", d->description);
    json_end_object(&j);
    json_begin_object(&j, "defaultConfiguration");
    json_string(&j, "level", level(d->severity));
    json_end_object(&j);
    json_end_object(&j);
  }
  json_end_array(&j);
  json_end_object(&j);
  json_end_object(&j);
  if (r.any) {
    char *uri = uri_encode("file://", r.given);
    char *dir = NULL;
    if (uri && asprintf(&dir, "%s/", strcmp(r.given, "/") == 0 ? "file://" : uri) < 0) dir = NULL;
    json_begin_object(&j, "originalUriBaseIds");
    json_begin_object(&j, "%SRCROOT%");
    json_string(&j, "uri", dir ? dir : "file:///");
    json_end_object(&j);
    json_end_object(&j);
    free(uri);
    free(dir);
  }
  json_begin_array(&j, "results");
  for (size_t i = 0; i < m->ngroups; i++)
    if (!m->groups[i].supp) result(&j, &r, &m->groups[i]);
  json_end_array(&j);
  json_end_object(&j);
  json_end_array(&j);
  json_end_object(&j);
  json_finish(&j);
}
