/* Whole process trees: a child that execs keeps the shim. A program that runs its children with a
 * cleaned environment (sudo-style, or `env -i`) would drop LD_PRELOAD and LOOPSCOPE_OPTIONS; the exec
 * and spawn hooks put them back, unless follow_children=0 or the program matches
 * trace_children_skip, in which case the shim is taken out instead. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

static char shim_path[LS_PATH_MAX];   /* absolute, as loaded */
static char shim_entry[LS_PATH_MAX * 2]; /* what LD_PRELOAD gets when the shim is put back */
static char options_env[LS_PATH_MAX]; /* LOOPSCOPE_OPTIONS as this process got it; "" = none */

void ls_children_init(void) {
  Dl_info di;
  if (dladdr((void *)ls_children_init, &di) && di.dli_fname && !realpath(di.dli_fname, shim_path))
    snprintf(shim_path, sizeof(shim_path), "%s", di.dli_fname);
#ifdef LOOPSCOPE_SANITIZER_RUNTIME
  /* A sanitized build's shim needs its sanitizer's runtime right behind it (as `loopscope run` puts it). */
  snprintf(shim_entry, sizeof(shim_entry), "%s:%s", shim_path, LOOPSCOPE_SANITIZER_RUNTIME);
#else
  snprintf(shim_entry, sizeof(shim_entry), "%s", shim_path);
#endif
  const char *o = getenv("LOOPSCOPE_OPTIONS");
  snprintf(options_env, sizeof(options_env), "%s", o ? o : "");
}

static bool matches(const char *pattern, const char *name) {
  if (!name) return false;
  const char *base = strrchr(name, '/');
  return fnmatch(pattern, name, 0) == 0 || (base && fnmatch(pattern, base + 1, 0) == 0);
}

/* The program is named by the path or file given to exec, by what that resolves to (a symlink such as
 * /proc/self/exe), and by its argv[0]. */
static bool skip_program(const char *prog, const char *argv0) {
  if (!ls_opt.trace_children_skip[0]) return false;
  char resolved[LS_PATH_MAX];
  const char *real = prog && realpath(prog, resolved) ? resolved : NULL;
  char pats[LS_PATH_MAX];
  snprintf(pats, sizeof(pats), "%s", ls_opt.trace_children_skip);
  for (char *save = NULL, *p = strtok_r(pats, ",", &save); p; p = strtok_r(NULL, ",", &save))
    if (matches(p, prog) || matches(p, real) || matches(p, argv0)) return true;
  return false;
}

/* Is the shim one of the ':'/' '-separated entries of an LD_PRELOAD value? */
static bool preload_has(const char *v, size_t *at, size_t *len) {
  size_t n = strlen(shim_path);
  for (const char *p = v; *p;) {
    size_t l = strcspn(p, ": ");
    if (l == n && memcmp(p, shim_path, n) == 0) {
      *at = (size_t)(p - v);
      *len = l;
      return true;
    }
    p += l;
    p += strspn(p, ": ");
  }
  return false;
}

/* "NAME=a" or "NAME=a:b" (b may be empty), malloc'd. */
static char *make_var(const char *name, const char *a, const char *b) {
  size_t n = strlen(name) + strlen(a) + strlen(b) + 3;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s=%s%s%s", name, a, b[0] ? ":" : "", b);
  return s;
}

/* The environment a child should get: NULL when envp is right as it is. The result (and its new
 * strings) is malloc'd; ls_child_env_free releases it after an exec that failed. */
char **ls_child_env(char *const envp[], const char *prog, const char *argv0) {
  if (!ls_active || !shim_path[0]) return NULL;
  bool follow = ls_opt.follow_children && !skip_program(prog, argv0);
  size_t n = 0, preload_i = (size_t)-1, options_i = (size_t)-1;
  for (; envp && envp[n]; n++) {
    if (strncmp(envp[n], "LD_PRELOAD=", 11) == 0) preload_i = n;
    else if (strncmp(envp[n], "LOOPSCOPE_OPTIONS=", 18) == 0) options_i = n;
  }
  const char *preload = preload_i != (size_t)-1 ? envp[preload_i] + 11 : "";
  size_t at = 0, len = 0;
  bool has = preload_has(preload, &at, &len);
  bool fix_preload = follow ? !has : has;
  bool add_options = follow && options_i == (size_t)-1 && options_env[0];
  if (!fix_preload && !add_options) return NULL;

  char **env = calloc(n + 3, sizeof(char *));
  if (!env) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (i != preload_i) env[k++] = envp[i];
  if (follow) {
    env[k++] = has ? envp[preload_i] : make_var("LD_PRELOAD", shim_entry, preload);
    if (add_options) env[k++] = make_var("LOOPSCOPE_OPTIONS", options_env, "");
  } else {
    /* Take the shim out; what else the program preloads stays. */
    char rest[LS_PATH_MAX * 2];
    snprintf(rest, sizeof(rest), "%.*s%s", (int)at, preload, preload + at + len + (preload[at + len] ? 1 : 0));
    if (rest[0]) env[k++] = make_var("LD_PRELOAD", rest, "");
  }
  env[k] = NULL;
  return env;
}

/* After an exec that failed: the pointers we made are leaked deliberately (a few bytes, once per failed
 * exec) rather than told apart from the program's own strings. */
void ls_child_env_free(char **env) { free(env); }
