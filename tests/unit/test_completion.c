/* The bash completion the build generated (share/bash-completion/completions/loopscope), asked through
 * bash's own machinery the way an interactive shell asks it: `complete -p` shows the function is
 * registered, and the function, given COMP_WORDS/COMP_CWORD as readline splits a line, answers. Then
 * the flag table the script came from against the parsers: every flag it offers is one `run` or
 * `report` accepts, and every finding id is offered for --fail-on. */
#define _GNU_SOURCE
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ls_findings.h"

/* Runs `script` in a plain bash that sourced the completion; returns its stdout. */
static char *bash(const char *script) {
  char *cmd = NULL;
  ck_assert(asprintf(&cmd,
                     "bash --norc --noprofile -c 'source \"$0\"; "
                     "t() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _loopscope; "
                     "printf \"%%s\\n\" \"${COMPREPLY[*]}\"; }; %s' %s",
                     script, LS_COMPLETION) >= 0);
  FILE *p = popen(cmd, "r");
  ck_assert(p != NULL);
  char *out = NULL;
  size_t cap = 0;
  ssize_t n = getdelim(&out, &cap, '\0', p);
  if (n < 0) out = strdup("");
  int st = pclose(p);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bash failed on: %s", script);
  free(cmd);
  return out;
}

static void expect(const char *words, const char *answer) {
  char script[1024];
  snprintf(script, sizeof(script), "t %s", words);
  char *got = bash(script);
  size_t n = strlen(got);
  if (n && got[n - 1] == '\n') got[n - 1] = '\0';
  ck_assert_msg(strcmp(got, answer) == 0, "completing [%s]: expected [%s], got [%s]", words, answer, got);
  free(got);
}

START_TEST(registered) {
  char *got = bash("complete -p loopscope");
  ck_assert_msg(strstr(got, "complete -F _loopscope loopscope") != NULL, "complete -p says: %s", got);
  free(got);
}
END_TEST

START_TEST(commands_and_flags) {
  expect("loopscope \"\"", "run report help completion --help --version");
  expect("loopscope rep", "report");
  expect("loopscope help r", "run report");
  expect("loopscope report --fo", "--format");
  expect("loopscope run --stall-s", "--stall-sample --stall-signal");
  expect("loopscope run --output-d", "--output-dir");
}
END_TEST

START_TEST(values) {
  /* readline splits "--format=j" at '=' (COMP_WORDBREAKS); a word kept whole answers whole */
  expect("loopscope report --format = j", "json junit");
  expect("loopscope report --format j", "json junit");
  expect("loopscope report --format=s", "--format=sarif");
  expect("loopscope report --color = a", "auto always");
  expect("loopscope run --wrong-thread = \"\"", "report abort");
  expect("loopscope run --follow-children = \"\"", "0 1");
  /* a signal option offers the real-time signals by name, which the option parser takes too */
  expect("loopscope run --stall-signal = SIGRTMIN+2", "SIGRTMIN+2 SIGRTMIN+20 SIGRTMIN+21 SIGRTMIN+22 SIGRTMIN+23 "
                                                      "SIGRTMIN+24 SIGRTMIN+25 SIGRTMIN+26 SIGRTMIN+27 SIGRTMIN+28 "
                                                      "SIGRTMIN+29");
  /* a comma list completes its last id, keeping what came before */
  expect("loopscope run --fail-on = leaks,never", "leaks,never-run");
  expect("loopscope report --fail-on unc", "unclosed-resource");
  /* durations and numbers have nothing to offer */
  expect("loopscope run --slow-callback = 2", "");
}
END_TEST

START_TEST(program_and_files) {
  /* after -- comes a command name; after PROG its arguments are files */
  char *cmds = bash("t loopscope run -- bas");
  ck_assert_msg(strstr(cmds, "bash") != NULL, "PROG after --: got [%s]", cmds);
  free(cmds);
  char script[2048];
  snprintf(script, sizeof(script), "cd %s/tests/unit && t loopscope report test_compl", LS_SOURCE_DIR);
  char *got = bash(script);
  ck_assert_msg(strstr(got, "test_completion.c") != NULL, "report's file argument: got [%s]", got);
  free(got);
}
END_TEST

START_TEST(every_finding_id_for_fail_on) {
  for (int i = 0; i < LS_F_COUNT; i++) {
    char words[256], want[256];
    snprintf(words, sizeof(words), "loopscope run --fail-on = %s", ls_finding_table[i].id);
    snprintf(want, sizeof(want), "%s", ls_finding_table[i].id);
    char script[512];
    snprintf(script, sizeof(script), "t %s", words);
    char *got = bash(script);
    ck_assert_msg(strstr(got, want) != NULL, "--fail-on does not offer %s: [%s]", want, got);
    free(got);
  }
}
END_TEST

/* Does `loopscope CMD ARG -- /bin/true` say its ARG is an unknown option? */
static bool refused(const char *cmd, const char *arg) {
  char *line = NULL;
  ck_assert(asprintf(&line, "%s %s %s -- /bin/true 2>&1", LS_LOOPSCOPE, cmd, arg) >= 0);
  FILE *p = popen(line, "r");
  ck_assert(p != NULL);
  char *out = NULL;
  size_t cap = 0;
  if (getdelim(&out, &cap, '\0', p) < 0) out = strdup("");
  pclose(p);
  bool unknown = strstr(out, "unknown option") != NULL;
  free(out);
  free(line);
  return unknown;
}

/* Every flag the script offers is taken by its command's parser, as a switch or with a value (a value no
 * flag takes as good: only "unknown option" would be a different answer). */
static void flags_accepted(const char *cmd) {
  char script[256];
  snprintf(script, sizeof(script), "t loopscope %s -", cmd);
  char *flags = bash(script);
  int n = 0;
  for (char *save = NULL, *f = strtok_r(flags, " \n", &save); f; f = strtok_r(NULL, " \n", &save), n++) {
    if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) continue; /* exits 0 with the help */
    char with_value[256];
    snprintf(with_value, sizeof(with_value), "%s=x", f);
    ck_assert_msg(!refused(cmd, f) || !refused(cmd, with_value), "%s offers %s, which its parser refuses", cmd, f);
  }
  ck_assert_msg(n > 5, "%s: too few flags offered (%d)", cmd, n);
  free(flags);
}

START_TEST(offered_flags_are_accepted) {
  flags_accepted("run");
  flags_accepted("report");
}
END_TEST

int main(void) {
  Suite *s = suite_create("completion");
  TCase *tc = tcase_create("bash");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, registered);
  tcase_add_test(tc, commands_and_flags);
  tcase_add_test(tc, values);
  tcase_add_test(tc, program_and_files);
  tcase_add_test(tc, every_finding_id_for_fail_on);
  tcase_add_test(tc, offered_flags_are_accepted);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
