#define _GNU_SOURCE
#include "it_util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CHILD_TIMEOUT_S 120

char *it_mkdir(const char *name) {
  const char *root = LS_IT_TMP;
  struct stat st;
  if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
    root = getenv("TMPDIR");
    if (!root || !*root) root = "/tmp";
  }
  char *dir = NULL;
  ck_assert_int_ge(asprintf(&dir, "%s/%s.XXXXXX", root, name), 0);
  ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
  return dir;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path) == 0 ? 0 : -1;
}

void it_done(char *dir) {
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

static bool env_named(const char *entry, const char *name_or_kv) {
  size_t n = strcspn(name_or_kv, "=");
  return strncmp(entry, name_or_kv, n) == 0 && entry[n] == '=';
}

char **it_child_env(const char *const env[]) {
  size_t n = 0, extra = 0;
  while (environ[n]) n++;
  while (env && env[extra]) extra++;
  char **e = calloc(n + extra + 1, sizeof(*e));
  ck_assert_ptr_nonnull(e);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (env_named(environ[i], "LD_PRELOAD") || env_named(environ[i], "LOOPSCOPE_OPTIONS")) continue;
    bool overridden = false;
    for (size_t j = 0; j < extra; j++)
      if (env_named(environ[i], env[j])) overridden = true;
    if (!overridden) e[k++] = environ[i];
  }
  for (size_t j = 0; j < extra; j++)
    if (strchr(env[j], '=')) e[k++] = (char *)env[j];
  e[k] = NULL;
  return e;
}

static char *slurp(const char *path, size_t *len) {
  char *s = it_read_file(path, len);
  ck_assert_msg(s != NULL, "cannot read %s", path);
  return s;
}

void it_run(struct it_proc *p, const char *dir, const char *const argv[], const char *const env[],
            const char *stdin_path) {
  static int seq;
  memset(p, 0, sizeof(*p));
  char *outp, *errp;
  int id = seq++;
  ck_assert_int_ge(asprintf(&outp, "%s/run%d.stdout", dir, id), 0);
  ck_assert_int_ge(asprintf(&errp, "%s/run%d.stderr", dir, id), 0);
  char **envp = it_child_env(env);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
    int out = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || chdir(dir) != 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    close(in);
    close(out);
    close(err);
    /* the test runner may have signals ignored or blocked; the program must start as from a shell */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    /* nor does it inherit the test runner's descriptors (Check's pipes): it starts with 0, 1 and 2 */
    closefrom(3);
    execve(argv[0], (char *const *)argv, envp);
    dprintf(2, "it_run: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  free(envp);
  int status = 0;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    ck_assert_msg(w == 0 || errno == EINTR, "waitpid: %s", strerror(errno));
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > CHILD_TIMEOUT_S) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ck_abort_msg("%s did not end within %d s: killed", argv[0], CHILD_TIMEOUT_S);
    }
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  p->status = status;
  p->signaled = WIFSIGNALED(status);
  p->sig = p->signaled ? WTERMSIG(status) : 0;
  p->code = p->signaled ? 128 + p->sig : WEXITSTATUS(status);
  p->out = slurp(outp, &p->outlen);
  p->err = slurp(errp, &p->errlen);
  free(outp);
  free(errp);
}

void it_proc_free(struct it_proc *p) {
  free(p->out);
  free(p->err);
  memset(p, 0, sizeof(*p));
}

void it_loopscope_run(struct it_proc *p, const char *dir, const char *const flags[], const char *const prog_argv[]) {
  const char *argv[64];
  size_t n = 0;
  char *out;
  ck_assert_int_ge(asprintf(&out, "%s/report.%%p.%%s.lsr", dir), 0);
  argv[n++] = LS_CLI;
  argv[n++] = "run";
  argv[n++] = "-o";
  argv[n++] = out;
  for (size_t i = 0; flags && flags[i]; i++) argv[n++] = flags[i];
  argv[n++] = "--";
  for (size_t i = 0; prog_argv[i]; i++) {
    ck_assert_uint_lt(n, 62);
    argv[n++] = prog_argv[i];
  }
  argv[n] = NULL;
  it_run(p, dir, argv, NULL, NULL);
  free(out);
}

size_t it_reports(const char *dir, char ***paths) {
  char *pat;
  glob_t g;
  ck_assert_int_ge(asprintf(&pat, "%s/report.*.lsr", dir), 0);
  int rc = glob(pat, 0, NULL, &g);
  ck_assert_msg(rc == 0 && g.gl_pathc > 0, "no report file matches %s", pat);
  free(pat);
  *paths = calloc(g.gl_pathc, sizeof(char *));
  for (size_t i = 0; i < g.gl_pathc; i++) (*paths)[i] = strdup(g.gl_pathv[i]);
  size_t n = g.gl_pathc;
  globfree(&g);
  return n;
}

void it_free_paths(char **paths, size_t n) {
  for (size_t i = 0; i < n; i++) free(paths[i]);
  free(paths);
}

json_object *it_report_json(const char *dir) {
  char **paths;
  size_t n = it_reports(dir, &paths);
  const char **argv = calloc(n + 4, sizeof(char *));
  argv[0] = LS_CLI;
  argv[1] = "report";
  argv[2] = "--format=json";
  for (size_t i = 0; i < n; i++) argv[3 + i] = paths[i];
  struct it_proc p;
  it_run(&p, dir, argv, NULL, NULL);
  free(argv);
  ck_assert_msg(p.code == 0, "loopscope report --format=json exited %d\nstderr:\n%s", p.code, p.err);
  json_tokener *tok = json_tokener_new();
  json_object *root = json_tokener_parse_ex(tok, p.out, (int)p.outlen);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  ck_assert_msg(root != NULL && jerr == json_tokener_success, "loopscope report printed no valid JSON (%s):\n%s",
                json_tokener_error_desc(jerr), p.out);
  ck_assert_msg((size_t)json_tokener_get_parse_end(tok) >= p.outlen || strspn(p.out + json_tokener_get_parse_end(tok), " \n") ==
                    p.outlen - json_tokener_get_parse_end(tok),
                "text after the JSON document:\n%s", p.out);
  json_tokener_free(tok);
  ck_assert_msg(json_object_is_type(root, json_type_object), "JSON report is not an object");
  it_proc_free(&p);
  it_free_paths(paths, n);
  return root;
}

int it_marker_line(const char *file, const char *marker) {
  char *path, *want;
  ck_assert_int_ge(asprintf(&path, "%s/%s", LS_PROGRAMS_SRC, file), 0);
  ck_assert_int_ge(asprintf(&want, "/* LS-SITE: %s */", marker), 0);
  size_t len;
  char *src = it_read_file(path, &len);
  ck_assert_msg(src != NULL, "cannot read %s", path);
  int line = 1, found = 0, found_line = 0;
  for (char *s = src; *s;) {
    char *nl = strchr(s, '\n');
    if (nl) *nl = 0;
    if (strstr(s, want)) {
      found++;
      found_line = line;
    }
    if (!nl) break;
    s = nl + 1;
    line++;
  }
  ck_assert_msg(found == 1, "%s: marker '%s' found %d times, expected once", path, want, found);
  free(src);
  free(want);
  free(path);
  return found_line;
}

json_object *it_get(json_object *o, const char *path) {
  char *copy = strdup(path), *save = NULL;
  for (char *part = strtok_r(copy, ".", &save); part && o; part = strtok_r(NULL, ".", &save)) {
    if (json_object_is_type(o, json_type_array)) {
      char *end;
      long i = strtol(part, &end, 10);
      o = (*end || i < 0 || (size_t)i >= json_object_array_length(o)) ? NULL : json_object_array_get_idx(o, (size_t)i);
    } else if (json_object_is_type(o, json_type_object)) {
      json_object *next = NULL;
      o = json_object_object_get_ex(o, part, &next) ? next : NULL;
    } else {
      o = NULL;
    }
  }
  free(copy);
  return o;
}

json_object *it_need(json_object *o, const char *path) {
  json_object *v = it_get(o, path);
  ck_assert_msg(v != NULL, "JSON lacks '%s' in:\n%s", path, it_json_text(o));
  return v;
}

const char *it_str(json_object *o, const char *path) {
  json_object *v = it_get(o, path);
  if (!v || !json_object_is_type(v, json_type_string)) return NULL;
  return json_object_get_string(v);
}

int64_t it_int(json_object *o, const char *path) {
  json_object *v = it_need(o, path);
  ck_assert_msg(json_object_is_type(v, json_type_int), "'%s' is not an integer in:\n%s", path, it_json_text(o));
  return json_object_get_int64(v);
}

const char *it_json_text(json_object *o) {
  return o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) : "(null)";
}

size_t it_findings(json_object *root, const char *category, json_object **out, size_t max) {
  json_object *arr = it_need(root, "findings");
  ck_assert_msg(json_object_is_type(arr, json_type_array), "findings is not an array");
  size_t n = 0;
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *f = json_object_array_get_idx(arr, i);
    const char *cat = it_str(f, "category");
    if (category && (!cat || strcmp(cat, category) != 0)) continue;
    if (n < max) out[n] = f;
    n++;
  }
  return n;
}

const char *it_base(const char *path) {
  if (!path) return "";
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

bool it_frame_is(json_object *frame, const char *file, int line) {
  if (!frame) return false;
  json_object *l = it_get(frame, "line");
  return strcmp(it_base(it_str(frame, "file")), file) == 0 && l && json_object_is_type(l, json_type_int) &&
         json_object_get_int64(l) == line;
}

char *it_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (n + 1 >= cap) buf = realloc(buf, cap *= 2);
    size_t r = fread(buf + n, 1, cap - n - 1, f);
    if (r == 0) break;
    n += r;
  }
  fclose(f);
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

void it_write_file(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot write %s", path);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

char *it_without_loopscope_lines(const char *text) {
  size_t len = strlen(text);
  char *out = malloc(len + 1), *o = out;
  for (const char *s = text; *s;) {
    const char *nl = strchr(s, '\n');
    size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
    if (strncmp(s, "loopscope", 9) != 0) {
      memcpy(o, s, n);
      o += n;
    }
    s += n;
  }
  *o = 0;
  return out;
}

int it_main(Suite *s) {
  check_set_max_msg_size(256 * 1024); /* failures quote JSON; Check's default of 4 KiB cuts them off */
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

TCase *it_tcase(Suite *s, const char *name) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return tc;
}

void it_run_report(struct it_report_run *r, const char *name, const char *const flags[], const char *const argv[],
                   int want_code) {
  r->dir = it_mkdir(name);
  it_loopscope_run(&r->p, r->dir, flags, argv);
  ck_assert_msg(r->p.code == want_code, "loopscope run -- %s exited %d, expected %d\nstdout:\n%s\nstderr:\n%s",
                argv[0], r->p.code, want_code, r->p.out, r->p.err);
  r->root = it_report_json(r->dir);
  ck_assert_int_eq(it_int(r->root, "format"), 1);
  ck_assert_msg(json_object_array_length(it_need(r->root, "processes")) == 1, "one process expected:\n%s",
                it_json_text(it_need(r->root, "processes")));
  r->proc = it_need(r->root, "processes.0");
}

void it_run_report_free(struct it_report_run *r) {
  json_object_put(r->root);
  it_proc_free(&r->p);
  it_done(r->dir);
}

void it_no_findings(struct it_report_run *r, const char *prog) {
  json_object *f[1];
  size_t n = it_findings(r->root, NULL, f, 1);
  ck_assert_msg(n == 0, "%s (clean) gave %zu findings, expected none:\n%s\nstderr:\n%s", prog, n,
                it_json_text(it_need(r->root, "findings")), r->p.err);
}
