/* README's Quick start against what CI really does and what the build really needs:
 * - the first command installs through scripts/install-deps (the one package list), never sudo or a
 *   hand-written apt-get line (a root shell on a fresh machine has no sudo);
 * - the second command is, to the byte, a line .ci/run runs, and .ci/run installs through the same
 *   script and nothing else;
 * - every Debian package a configure-time check names (loopscope_require in any CMake file) is in the
 *   package list's build section, so the first command can configure on a fresh machine. */
#define _GNU_SOURCE
#include <check.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *rel) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", LS_SOURCE_DIR, rel);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n = getdelim(&buf, &cap, '\0', f);
  fclose(f);
  ck_assert_msg(n >= 0, "cannot read %s", path);
  return buf;
}

/* The body of the k-th ``` block (0-based) after the "## Quick start" heading, without its fences and
 * trailing newline; NULL when there is none before the next "## " heading. */
static char *quick_start_block(const char *readme, int k) {
  const char *qs = strstr(readme, "\n## Quick start\n");
  ck_assert_msg(qs != NULL, "README.md has no '## Quick start' section");
  const char *end = strstr(qs + 1, "\n## ");
  for (const char *p = qs;;) {
    const char *open = strstr(p, "\n```");
    if (!open || (end && open > end)) return NULL;
    const char *body = strchr(open + 1, '\n');
    ck_assert(body != NULL);
    body++;
    const char *close = strstr(body, "\n```");
    ck_assert_msg(close != NULL, "unclosed ``` block in README's Quick start");
    if (k-- == 0) return strndup(body, (size_t)(close - body));
    p = close + 4;
  }
}

/* Is `word` in `s` as a whole shell word (bounded by start, end, space or a shell operator)? */
static bool has_word(const char *s, const char *word) {
  size_t n = strlen(word);
  for (const char *p = s; (p = strstr(p, word)) != NULL; p += n) {
    bool left = p == s || strchr(" \t\n;&|(", p[-1]);
    bool right = p[n] == '\0' || strchr(" \t\n;&|)", p[n]);
    if (left && right) return true;
  }
  return false;
}

START_TEST(first_command_installs_through_the_package_list) {
  char *readme = slurp("README.md"), *first = quick_start_block(readme, 0);
  ck_assert_msg(first != NULL, "README's Quick start has no first command");
  ck_assert_msg(strncmp(first, "scripts/install-deps", 20) == 0,
                "README's first command must begin with scripts/install-deps, not: %s", first);
  ck_assert_msg(!has_word(first, "sudo"), "README's first command calls sudo (a root shell has none): %s", first);
  ck_assert_msg(!has_word(first, "apt-get") && !has_word(first, "apt"),
                "README's first command installs packages by hand instead of through scripts/install-deps: %s", first);
  ck_assert_msg(strchr(first, '\n') == NULL, "README's first command is one line: %s", first);
  free(first);
  free(readme);
}
END_TEST

START_TEST(second_command_is_what_ci_runs) {
  char *readme = slurp("README.md"), *ci = slurp(".ci/run"), *second = quick_start_block(readme, 1);
  ck_assert_msg(second != NULL, "README's Quick start has no second command");
  ck_assert_msg(strchr(second, '\n') == NULL, "README's second command is one line: %s", second);
  bool found = false, installs = false;
  for (char *save = NULL, *line = strtok_r(ci, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    while (*line == ' ' || *line == '\t') line++;
    if (*line == '#') continue;
    if (strcmp(line, second) == 0) {
      ck_assert_msg(installs, ".ci/run runs the test command before scripts/install-deps");
      found = true;
    }
    if (strncmp(line, "scripts/install-deps", 20) == 0) installs = true;
    ck_assert_msg(!has_word(line, "apt-get"), ".ci/run installs packages of its own, beside the one list: %s", line);
  }
  ck_assert_msg(installs, ".ci/run does not install through scripts/install-deps");
  ck_assert_msg(found, ".ci/run does not run README's test command as it is written there: %s", second);
  free(second);
  free(ci);
  free(readme);
}
END_TEST

/* The build section of scripts/deps.txt, as " pkg1 pkg2 ... ". */
static char build_packages[8192];

static void read_build_packages(void) {
  char *deps = slurp("scripts/deps.txt");
  bool build = false;
  strcpy(build_packages, " ");
  for (char *save = NULL, *line = strtok_r(deps, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (line[0] == '#') {
      if (strcmp(line, "# build") == 0) build = true;
      else if (strcmp(line, "# tests") == 0) build = false;
      continue;
    }
    if (build && strlen(build_packages) + strlen(line) + 2 < sizeof(build_packages)) {
      strcat(build_packages, line);
      strcat(build_packages, " ");
    }
  }
  free(deps);
}

static int missing;

/* loopscope_require(PREFIX module debian-package): the package must be in the build section. */
static int check_cmake_file(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  const char *base = path + ftw->base;
  if (type == FTW_D && (strcmp(base, ".git") == 0 || strncmp(base, "build", 5) == 0)) return FTW_SKIP_SUBTREE;
  if (type != FTW_F) return 0;
  size_t n = strlen(base);
  if (strcmp(base, "CMakeLists.txt") != 0 && !(n > 6 && strcmp(base + n - 6, ".cmake") == 0)) return 0;
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[1024];
  while (fgets(line, sizeof(line), f)) {
    const char *p = strstr(line, "loopscope_require(");
    if (!p || strstr(line, "function(")) continue;
    char prefix[128], module[128], pkg[128];
    if (sscanf(p, "loopscope_require(%127s %127s %127[^) \n]", prefix, module, pkg) != 3) continue;
    char key[130];
    snprintf(key, sizeof(key), " %s ", pkg);
    if (!strstr(build_packages, key)) {
      fprintf(stderr, "%s: loopscope_require names %s, which scripts/deps.txt's build section lacks\n", path, pkg);
      missing++;
    }
  }
  fclose(f);
  return 0;
}

START_TEST(configure_time_packages_are_in_the_build_list) {
  read_build_packages();
  ck_assert_msg(strstr(build_packages, " cmake ") && strstr(build_packages, " build-essential "),
                "scripts/deps.txt has no build section with cmake and build-essential");
  missing = 0;
  ck_assert_int_eq(nftw(LS_SOURCE_DIR, check_cmake_file, 32, FTW_ACTIONRETVAL | FTW_PHYS), 0);
  ck_assert_int_eq(missing, 0);
}
END_TEST

/* On a machine without apt-get (here: a PATH holding only the tools the script itself needs), the script
 * says it is not Debian, names the packages to find by hand, and fails; --list still answers. */
START_TEST(install_deps_refuses_a_machine_without_apt) {
  char dir[] = "/tmp/ls-test-setup-XXXXXX", *cmd = NULL;
  ck_assert(mkdtemp(dir) != NULL);
  ck_assert(asprintf(&cmd,
                     "for t in sh awk tr dirname id sed cat; do ln -s \"$(command -v $t)\" %s/$t || exit 9; done; "
                     "PATH=%s %s/scripts/install-deps 2>&1; echo \"exit=$?\"; "
                     "PATH=%s %s/scripts/install-deps --list --build; rm -rf %s",
                     dir, dir, LS_SOURCE_DIR, dir, LS_SOURCE_DIR, dir) >= 0);
  FILE *p = popen(cmd, "r");
  ck_assert(p != NULL);
  char *out = NULL;
  size_t cap = 0;
  if (getdelim(&out, &cap, '\0', p) < 0) out = strdup("");
  pclose(p);
  ck_assert_msg(strstr(out, "not a Debian system with apt-get") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "exit=1\n") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "libunwind-dev") != NULL, "the packages are not named: %s", out);
  ck_assert_msg(strstr(out, "\nbuild-essential cmake pkg-config ") != NULL, "--list --build: %s", out);
  free(out);
  free(cmd);
}
END_TEST

int main(void) {
  Suite *s = suite_create("setup");
  TCase *tc = tcase_create("readme");
  tcase_add_test(tc, first_command_installs_through_the_package_list);
  tcase_add_test(tc, second_command_is_what_ci_runs);
  tcase_add_test(tc, configure_time_packages_are_in_the_build_list);
  tcase_add_test(tc, install_deps_refuses_a_machine_without_apt);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
