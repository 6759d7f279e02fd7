/* Misconfiguration is loud: a bad LOOPSCOPE_OPTIONS or `loopscope run` flag is one line naming it, and
 * the program is not run (exit status 125, as env(1) and timeout(1) use for their own errors).
 * help=1 prints the table and the program runs on. Every flag generated from the option table works. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"
#include "ls_options.h"

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (const char *p = s; *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len) n++;
    p += len + (nl != NULL);
  }
  return n;
}

static void preload_run(struct it_proc *p, const char *dir, const char *options, const char *const argv[]) {
  char *opt;
  ck_assert_int_ge(asprintf(&opt, "LOOPSCOPE_OPTIONS=%s", options), 0);
  const char *env[] = {"LD_PRELOAD=" LS_PRELOAD, opt, NULL};
  it_run(p, dir, argv, env, NULL);
  free(opt);
}

START_TEST(unknown_option_exits_125) {
  char *dir = it_mkdir("it_options_bogus");
  struct it_proc p;
  const char *argv[] = {LS_PROG_exit_with, "0", NULL};
  preload_run(&p, dir, "bogus=1", argv);
  ck_assert_msg(p.code == 125, "exit status %d, expected 125\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(p.outlen == 0, "the program ran:\n%s", p.out);
  ck_assert_msg(count_lines(p.err) == 1, "expected one line on stderr:\n%s", p.err);
  ck_assert_msg(strstr(p.err, "bogus"), "stderr does not name 'bogus':\n%s", p.err);
  ck_assert_msg(strstr(p.err, "slow_callback_ms"), "stderr does not list the accepted options:\n%s", p.err);
  it_proc_free(&p);

  /* a bad value likewise, naming the option */
  preload_run(&p, dir, "verbosity=1:slow_callback_ms=abc", argv);
  ck_assert_msg(p.code == 125, "exit status %d, expected 125\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(p.outlen == 0, "the program ran:\n%s", p.out);
  ck_assert_msg(count_lines(p.err) == 1, "expected one line on stderr:\n%s", p.err);
  ck_assert_msg(strstr(p.err, "slow_callback_ms") && strstr(p.err, "abc"), "stderr:\n%s", p.err);
  it_proc_free(&p);

  /* a value too long for any buffer: the line still names the option, not just the value */
  static char longpath[5000 + 16];
  strcpy(longpath, "log_path=");
  memset(longpath + 9, 'p', 5000);
  longpath[9 + 5000] = 0;
  preload_run(&p, dir, longpath, argv);
  ck_assert_msg(p.code == 125, "exit status %d, expected 125", p.code);
  ck_assert_msg(p.outlen == 0, "the program ran:\n%s", p.out);
  ck_assert_msg(count_lines(p.err) == 1, "expected one line on stderr (%zu bytes)", p.errlen);
  ck_assert_msg(strstr(p.err, "log_path"), "a 5000-byte log_path: stderr does not name log_path (%zu bytes: %.200s...)",
                p.errlen, p.err);
  it_proc_free(&p);

  /* a missing '=' too */
  preload_run(&p, dir, "stack_depth", argv);
  ck_assert_msg(p.code == 125, "exit status %d, expected 125\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(count_lines(p.err) == 1 && strstr(p.err, "stack_depth"), "stderr:\n%s", p.err);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

START_TEST(help_prints_table_and_runs_on) {
  char *dir = it_mkdir("it_options_help");
  struct it_proc p;
  const char *argv[] = {LS_PROG_exit_with, "3", "arg", NULL};
  char *opt;
  ck_assert_int_ge(asprintf(&opt, "help=1:log_path=%s/r.%%p.lsr", dir), 0);
  preload_run(&p, dir, opt, argv);
  free(opt);
  ck_assert_msg(p.code == 3, "exit status %d, expected the program's 3\nstderr:\n%s", p.code, p.err);
  ck_assert_str_eq(p.out, "argc=3\nargv[2]=<arg>\n");
  for (size_t i = 0; i < ls_option_count; i++)
    ck_assert_msg(strstr(p.err, ls_option_table[i].key), "help does not list %s:\n%s", ls_option_table[i].key, p.err);
  ck_assert_msg(strstr(p.err, "exit_with: to stderr"), "the program's own stderr is missing:\n%s", p.err);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

START_TEST(bad_run_flag_exits_125) {
  char *dir = it_mkdir("it_options_flag");
  struct it_proc p;
  const char *argv[] = {LS_PROG_exit_with, "0", NULL};
  const char *bad[] = {"--slow-callback=abc", NULL};
  it_loopscope_run(&p, dir, bad, argv);
  ck_assert_msg(p.code == 125, "exit status %d, expected 125\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(p.outlen == 0, "the program ran:\n%s", p.out);
  ck_assert_msg(strstr(p.err, "--slow-callback"), "stderr does not name --slow-callback:\n%s", p.err);
  ck_assert_msg(count_lines(p.err) == 1, "expected one line on stderr:\n%s", p.err);
  it_proc_free(&p);

  const char *range[] = {"--stack-depth=65", NULL};
  it_loopscope_run(&p, dir, range, argv);
  ck_assert_msg(p.code == 125 && p.outlen == 0 && strstr(p.err, "--stack-depth"), "exit %d\nstderr:\n%s", p.code, p.err);
  it_proc_free(&p);

  const char *unknown[] = {"--no-such-flag=1", NULL};
  it_loopscope_run(&p, dir, unknown, argv);
  ck_assert_msg(p.code == 125 && p.outlen == 0 && strstr(p.err, "no-such-flag"), "exit %d\nstderr:\n%s", p.code, p.err);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* No *.lsr file in dir. */
static void assert_no_report(const char *dir) {
  char *cmd;
  ck_assert_int_ge(asprintf(&cmd, "ls -A '%s' | grep -c '\\.lsr$' || true", dir), 0);
  FILE *f = popen(cmd, "r");
  ck_assert_ptr_nonnull(f);
  int n = -1;
  ck_assert_int_eq(fscanf(f, "%d", &n), 1);
  pclose(f);
  free(cmd);
  ck_assert_msg(n == 0, "%d report file(s) left in %s", n, dir);
}

/* The stall signal is borrowed from the program: only a real-time signal may be. Any other is a bad
 * value like any other, by flag and by LOOPSCOPE_OPTIONS: refused before the program runs (no report
 * file), one line naming the option and what it accepts. */
START_TEST(stall_signal_only_realtime) {
  char *dir = it_mkdir("it_options_stall_signal");
  const char *argv[] = {LS_PROG_exit_with, "0", NULL};
  static const char *const bad[] = {"9", "10", "2", "32", "33", "65", "100"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *flag, *opt;
    ck_assert_int_ge(asprintf(&flag, "--stall-signal=%s", bad[i]), 0);
    const char *flags[] = {flag, NULL};
    struct it_proc p;
    it_loopscope_run(&p, dir, flags, argv);
    ck_assert_msg(p.code == 125, "%s: exit %d, expected 125\nstderr:\n%s", flag, p.code, p.err);
    ck_assert_msg(p.outlen == 0, "%s: the program ran:\n%s", flag, p.out);
    ck_assert_msg(count_lines(p.err) == 1 && strstr(p.err, "--stall-signal") && strstr(p.err, "real-time signal"),
                  "%s: stderr:\n%s", flag, p.err);
    it_proc_free(&p);
    assert_no_report(dir);

    ck_assert_int_ge(asprintf(&opt, "stall_signal=%s:log_path=%s/report.%%p.%%s.lsr", bad[i], dir), 0);
    preload_run(&p, dir, opt, argv);
    ck_assert_msg(p.code == 125, "%s: exit %d, expected 125\nstderr:\n%s", opt, p.code, p.err);
    ck_assert_msg(p.outlen == 0, "%s: the program ran:\n%s", opt, p.out);
    ck_assert_msg(count_lines(p.err) == 1 && strstr(p.err, "stall_signal") && strstr(p.err, "real-time signal"),
                  "%s: stderr:\n%s", opt, p.err);
    it_proc_free(&p);
    assert_no_report(dir);
    free(opt);

    /* LOOPSCOPE_OPTIONS given to `loopscope run` is checked before anything starts, too */
    ck_assert_int_ge(asprintf(&opt, "LOOPSCOPE_OPTIONS=stall_signal=%s", bad[i]), 0);
    char *out;
    ck_assert_int_ge(asprintf(&out, "%s/report.%%p.%%s.lsr", dir), 0);
    const char *run_argv[] = {LS_CLI, "run", "-o", out, "--", LS_PROG_exit_with, "0", NULL};
    const char *env[] = {opt, NULL};
    it_run(&p, dir, run_argv, env, NULL);
    ck_assert_msg(p.code == 125 && p.outlen == 0 && strstr(p.err, "stall_signal"), "%s run: exit %d\nstderr:\n%s", opt,
                  p.code, p.err);
    it_proc_free(&p);
    assert_no_report(dir);
    free(out);
    free(opt);
    free(flag);
  }
  /* a real-time signal other than the default is accepted */
  char *flag;
  ck_assert_int_ge(asprintf(&flag, "--stall-signal=%d", SIGRTMIN + 1), 0);
  const char *flags[] = {flag, NULL};
  struct it_proc p;
  it_loopscope_run(&p, dir, flags, argv);
  ck_assert_msg(p.code == 0, "%s: exit %d\nstderr:\n%s", flag, p.code, p.err);
  ck_assert_str_eq(p.out, "argc=2\n");
  it_proc_free(&p);
  free(flag);
  it_done(dir);
}
END_TEST

/* Every option of the table is a run flag, and its default is accepted as its value. */
START_TEST(every_table_flag_accepted) {
  char *dir = it_mkdir("it_options_table");
  const char *argv[] = {LS_PROG_exit_with, "0", NULL};
  for (size_t i = 0; i < ls_option_count; i++) {
    if (strcmp(ls_option_table[i].key, "log_path") == 0) continue; /* -o is that flag, always given here */
    char *flag;
    ck_assert_int_ge(asprintf(&flag, "--%s=%s", ls_option_table[i].flag, ls_option_table[i].def), 0);
    const char *flags[] = {flag, NULL};
    struct it_proc p;
    it_loopscope_run(&p, dir, flags, argv);
    ck_assert_msg(p.code == 0, "loopscope run %s: exit %d\nstderr:\n%s", flag, p.code, p.err);
    ck_assert_str_eq(p.out, "argc=2\n");
    it_proc_free(&p);
    free(flag);
  }
  it_done(dir);
}
END_TEST

/* The threshold flag reaches the shim: 250 ms callbacks are not slow at 2 s, 50 ms ones are at 20 ms. */
START_TEST(slow_callback_flag_applies) {
  char *dir = it_mkdir("it_options_high");
  struct it_proc p;
  const char *slow[] = {LS_PROG_uv_slow_callback, NULL};
  const char *high[] = {"--slow-callback=2s", NULL};
  it_loopscope_run(&p, dir, high, slow);
  ck_assert_msg(p.code == 0, "exit %d\nstderr:\n%s", p.code, p.err);
  json_object *root = it_report_json(dir);
  json_object *f[4];
  size_t n = it_findings(root, "slow-callback", f, 4);
  ck_assert_msg(n == 0, "slow-callback at a 2 s threshold:\n%s", it_json_text(it_need(root, "findings")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);

  dir = it_mkdir("it_options_low");
  const char *quiet[] = {LS_PROG_uv_quiet_callback, NULL};
  const char *low[] = {"--slow-callback=20ms", NULL};
  it_loopscope_run(&p, dir, low, quiet);
  ck_assert_msg(p.code == 0, "exit %d\nstderr:\n%s", p.code, p.err);
  root = it_report_json(dir);
  n = it_findings(root, "slow-callback", f, 4);
  ck_assert_msg(n == 1, "%zu slow-callback findings at a 20 ms threshold:\n%s", n, it_json_text(it_need(root, "findings")));
  ck_assert_str_eq(it_str(f[0], "callback.function"), "on_tick");
  json_object_put(root);
  it_proc_free(&p);

  /* and the same through LOOPSCOPE_OPTIONS */
  char *opt;
  ck_assert_int_ge(asprintf(&opt, "LOOPSCOPE_OPTIONS=slow_callback_ms=0.02s:log_path=%s/env.%%p.lsr", dir), 0);
  const char *env[] = {"LD_PRELOAD=" LS_PRELOAD, opt, NULL};
  it_run(&p, dir, quiet, env, NULL);
  free(opt);
  ck_assert_msg(p.code == 0, "exit %d\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(strstr(p.err, "loopscope: Executing <uv timer"), "no live line at 20 ms:\n%s", p.err);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_options");
  TCase *tc = tcase_create("options");
  tcase_add_test(tc, unknown_option_exits_125);
  tcase_add_test(tc, help_prints_table_and_runs_on);
  tcase_add_test(tc, bad_run_flag_exits_125);
  tcase_add_test(tc, every_table_flag_accepted);
  tcase_add_test(tc, stall_signal_only_realtime);
  tcase_add_test(tc, slow_callback_flag_applies);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
