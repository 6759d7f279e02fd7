/* The Debian package `cpack -G DEB` makes from this build tree: its name, its Depends (from
 * dpkg-shlibdeps: the libraries the binaries really link), the Debian layout of its files, and that its
 * loopscope, unpacked anywhere, preloads its own shim (the one beside it), not the build tree's.
 * Skipped (77) where cpack or dpkg-deb is missing. Installing it with apt is checked by hand on a fresh
 * machine (README, "Install as a Debian package"): a test must not change the machine. */
#define _GNU_SOURCE
#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/ls-test-package-XXXXXX";
static char deb[4096];

/* stdout of a shell command that must succeed. */
static char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *cmd = NULL;
  ck_assert(vasprintf(&cmd, fmt, ap) >= 0);
  va_end(ap);
  FILE *p = popen(cmd, "r");
  ck_assert(p != NULL);
  char *out = NULL;
  size_t cap = 0;
  if (getdelim(&out, &cap, '\0', p) < 0) out = strdup("");
  int st = pclose(p);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "failed (%d): %s\n%s", st, cmd, out);
  free(cmd);
  return out;
}

static void build_package(void) {
  static bool tried;
  if (tried) {
    ck_assert_msg(deb[0], "no package (see the first check)");
    return;
  }
  tried = true;
  ck_assert(mkdtemp(dir) != NULL);
  char *arch = sh("dpkg --print-architecture");
  arch[strcspn(arch, "\n")] = '\0';
  free(sh("cd %s && cpack -G DEB --config %s/CPackConfig.cmake -B %s >/dev/null 2>&1 || "
          "{ cpack -G DEB --config %s/CPackConfig.cmake -B %s; exit 1; }",
          dir, LS_BINARY_DIR, dir, LS_BINARY_DIR, dir));
  snprintf(deb, sizeof(deb), "%s/loopscope_%s_%s.deb", dir, LS_VERSION, arch);
  if (access(deb, R_OK) != 0) {
    ck_abort_msg("cpack made no %s", deb);
    deb[0] = '\0';
  }
  free(arch);
}

START_TEST(depends_from_shlibdeps) {
  build_package();
  char *dep = sh("dpkg-deb -f %s Depends", deb);
  /* the CLI links libdw (elfutils), the shim libunwind: shlibdeps names both, with versions */
  ck_assert_msg(strstr(dep, "libc6 (>=") != NULL, "Depends: %s", dep);
  ck_assert_msg(strstr(dep, "libdw1 (>=") != NULL, "Depends: %s", dep);
  ck_assert_msg(strstr(dep, "libunwind8") != NULL, "Depends: %s", dep);
  free(dep);
  char *pkg = sh("dpkg-deb -f %s Package Version Architecture", deb);
  ck_assert_msg(strstr(pkg, "Package: loopscope\n") && strstr(pkg, "Version: " LS_VERSION "\n"), "%s", pkg);
  free(pkg);
}
END_TEST

START_TEST(debian_layout) {
  build_package();
  char *files = sh("dpkg-deb -c %s | awk '{print $NF}'", deb);
  char *multiarch = sh("dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch");
  multiarch[strcspn(multiarch, "\n")] = '\0';
  char shim[512];
  snprintf(shim, sizeof(shim), "./usr/lib/%s/loopscope/libloopscope.so\n", multiarch);
  const char *want[] = {"./usr/bin/loopscope\n",
                        shim,
                        "./usr/share/man/man1/loopscope.1.gz\n",
                        "./usr/share/man/man1/loopscope-run.1.gz\n",
                        "./usr/share/man/man1/loopscope-report.1.gz\n",
                        "./usr/share/man/man7/loopscope-options.7.gz\n",
                        "./usr/share/doc/loopscope/README.md\n",
                        "./usr/share/doc/loopscope/copyright\n",
                        "./usr/share/bash-completion/completions/loopscope\n"};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    ck_assert_msg(strstr(files, want[i]) != NULL, "the package lacks %s; it has:\n%s", want[i], files);
  /* nothing outside /usr, no test program, no uncompressed man page */
  ck_assert_msg(strstr(files, "./usr/local") == NULL && strstr(files, "./etc") == NULL, "%s", files);
  ck_assert_msg(strstr(files, "uv_slow_callback") == NULL, "test programs in the package:\n%s", files);
  ck_assert_msg(strstr(files, ".1\n") == NULL && strstr(files, ".7\n") == NULL, "uncompressed man page:\n%s", files);
  free(multiarch);
  free(files);
}
END_TEST

START_TEST(unpacked_cli_preloads_its_own_shim) {
  build_package();
  free(sh("dpkg-deb -x %s %s/root", deb, dir));
  char *version = sh("%s/root/usr/bin/loopscope --version", dir);
  ck_assert_msg(strstr(version, "loopscope " LS_VERSION " (commit ") == version, "%s", version);
  free(version);
  /* env prints LD_PRELOAD as the shim's run gave it; LOOPSCOPE_SHIM must not steer it */
  char *env = sh("cd %s && env -u LOOPSCOPE_SHIM %s/root/usr/bin/loopscope run --verbosity=0 -o %s/r.lsr -- "
                 "/usr/bin/env | grep '^LD_PRELOAD='",
                 dir, dir, dir);
  char *real = realpath(dir, NULL);
  ck_assert(real != NULL);
  char want[4096];
  snprintf(want, sizeof(want), "LD_PRELOAD=%s/root/usr/lib/", real);
  ck_assert_msg(strncmp(env, want, strlen(want)) == 0 && strstr(env, "/loopscope/libloopscope.so"),
                "the unpacked loopscope preloads %s", env);
  free(real);
  free(env);
}
END_TEST

int main(void) {
  if (system("command -v cpack >/dev/null && command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null") !=
      0) {
    puts("SKIP: cpack, dpkg-deb or dpkg-shlibdeps (dpkg-dev) missing");
    return 77;
  }
  Suite *s = suite_create("package");
  TCase *tc = tcase_create("deb");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, depends_from_shlibdeps);
  tcase_add_test(tc, debian_layout);
  tcase_add_test(tc, unpacked_cli_preloads_its_own_shim);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK); /* one package, built once, for every check */
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  if (strstr(dir, "XXXXXX") == NULL) {
    char *cmd = NULL;
    if (asprintf(&cmd, "rm -rf %s", dir) >= 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
  }
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
