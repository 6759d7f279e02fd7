/* A program with file capabilities, run by a user other than root, gains them: the kernel runs it in
 * secure mode (AT_SECURE) and the dynamic loader ignores LD_PRELOAD, so it would run unwatched.
 * `loopscope run` refuses it up front (125, saying why), as it refuses setuid programs; run by root
 * (no secure mode) it is watched as usual. Needs root (to setcap and to become nobody), setcap
 * (libcap2-bin) and setpriv (util-linux), and a file system with extended attributes: exit 77 without. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_util.h"

#define SETPRIV "/usr/bin/setpriv"
#define NOBODY "65534"

static const char *setcap_path(void) {
  static const char *const paths[] = {"/usr/sbin/setcap", "/sbin/setcap", "/usr/bin/setcap"};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
    if (access(paths[i], X_OK) == 0) return paths[i];
  return NULL;
}

static void copy_file(const char *from, const char *to) {
  size_t len;
  char *data = it_read_file(from, &len);
  ck_assert_msg(data != NULL, "cannot read %s", from);
  it_write_file(to, data, len);
  free(data);
  ck_assert_int_eq(chmod(to, 0755), 0);
}

static size_t count_reports(const char *dir) {
  char *cmd;
  ck_assert_int_ge(asprintf(&cmd, "ls -A '%s' | grep -c '\\.lsr$' || true", dir), 0);
  FILE *f = popen(cmd, "r");
  ck_assert_ptr_nonnull(f);
  int n = -1;
  ck_assert_int_eq(fscanf(f, "%d", &n), 1);
  pclose(f);
  free(cmd);
  return (size_t)n;
}

/* `loopscope run -o OUT/report.%p.%s.lsr -- PROG 0` as nobody. */
static void run_as_nobody(struct it_proc *p, const char *dir, const char *out, const char *prog) {
  char *tmpl;
  ck_assert_int_ge(asprintf(&tmpl, "%s/report.%%p.%%s.lsr", out), 0);
  const char *argv[] = {SETPRIV, "--reuid=" NOBODY, "--regid=" NOBODY, "--clear-groups", "--",
                        LS_CLI, "run", "-o", tmpl, "--", prog, "0", NULL};
  it_run(p, dir, argv, NULL, NULL);
  free(tmpl);
}

START_TEST(file_caps_refused_for_a_normal_user) {
  const char *setcap = setcap_path();
  char *dir = it_mkdir("it_filecaps");
  ck_assert_int_eq(chmod(dir, 0755), 0); /* nobody runs the programs in it */
  char *capprog, *plain, *out, *cmd;
  ck_assert_int_ge(asprintf(&capprog, "%s/capprog", dir), 0);
  ck_assert_int_ge(asprintf(&plain, "%s/plain", dir), 0);
  ck_assert_int_ge(asprintf(&out, "%s/out", dir), 0);
  ck_assert_int_eq(mkdir(out, 0777), 0);
  ck_assert_int_eq(chmod(out, 0777), 0);
  copy_file(LS_PROG_exit_with, capprog);
  copy_file(LS_PROG_exit_with, plain);
  ck_assert_int_ge(asprintf(&cmd, "'%s' cap_net_bind_service+ep '%s'", setcap, capprog), 0);
  ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
  free(cmd);

  /* The same program without capabilities runs watched as nobody: the setup is sound. */
  struct it_proc p;
  run_as_nobody(&p, dir, out, plain);
  ck_assert_msg(p.code == 0, "plain program as nobody: exit %d\nstderr:\n%s", p.code, p.err);
  ck_assert_str_eq(p.out, "argc=2\n");
  ck_assert_msg(count_reports(out) == 1, "plain program as nobody: %zu reports", count_reports(out));
  it_proc_free(&p);

  /* With capabilities it would run unwatched: refused before it starts, saying why. */
  run_as_nobody(&p, dir, out, capprog);
  ck_assert_msg(p.code == 125, "program with file capabilities as nobody: exit %d, expected 125\nstdout:\n%s\nstderr:\n%s",
                p.code, p.out, p.err);
  ck_assert_msg(p.outlen == 0, "the program ran:\n%s", p.out);
  ck_assert_msg(strstr(p.err, capprog) && strstr(p.err, "capabilities") && strstr(p.err, "LD_PRELOAD"),
                "the refusal does not name the program and the reason:\n%s", p.err);
  ck_assert_msg(count_reports(out) == 1, "a report was left for the refused program (%zu reports)", count_reports(out));
  it_proc_free(&p);

  /* Run by root the loader does not go secure: the program is watched. */
  const char *flags[] = {NULL};
  const char *argv[] = {capprog, "0", NULL};
  it_loopscope_run(&p, dir, flags, argv);
  ck_assert_msg(p.code == 0, "program with file capabilities as root: exit %d\nstderr:\n%s", p.code, p.err);
  ck_assert_str_eq(p.out, "argc=2\n");
  char **paths;
  size_t n = it_reports(dir, &paths);
  ck_assert_msg(n == 1, "as root: %zu reports", n);
  it_free_paths(paths, n);
  it_proc_free(&p);

  free(capprog);
  free(plain);
  free(out);
  it_done(dir);
}
END_TEST

/* Whether this machine can arrange the test: root, setcap, setpriv, and a file system that keeps
 * security.capability. Asked here, in the parent (Check runs each test in a child). */
static bool can_arrange(void) {
  const char *setcap = setcap_path();
  if (geteuid() != 0 || !setcap || access(SETPRIV, X_OK) != 0) return false;
  if (mkdir(LS_IT_TMP, 0755) != 0 && errno != EEXIST) return false;
  char path[] = LS_IT_TMP "/filecaps_probe.XXXXXX", *cmd;
  int fd = mkstemp(path);
  if (fd < 0) return false;
  close(fd);
  bool ok = false;
  if (asprintf(&cmd, "'%s' cap_net_bind_service+ep '%s' 2>/dev/null", setcap, path) >= 0) {
    ok = system(cmd) == 0;
    free(cmd);
  }
  unlink(path);
  return ok;
}

int main(void) {
  if (!can_arrange()) {
    fprintf(stderr, "it_filecaps: needs root, setcap (libcap2-bin), setpriv and extended attributes: skipped\n");
    return 77;
  }
  Suite *s = suite_create("it_filecaps");
  TCase *tc = it_tcase(s, "filecaps");
  tcase_add_test(tc, file_caps_refused_for_a_normal_user);
  return it_main(s);
}
