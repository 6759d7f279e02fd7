/* LOOPSCOPE_OPTIONS parsing: every good and bad form, the duration syntax, the defaults in the one
 * option table, and the `loopscope run` flag lookup generated from it. */
#include <check.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_options.h"


static int parse(struct ls_options *o, const char *text, char *err, size_t errlen) {
  ls_options_defaults(o);
  err[0] = '\0';
  return ls_options_parse(o, text, err, errlen);
}

static int dur(const char *s, uint64_t *ms) { return ls_parse_duration_ms(s, strlen(s), ms); }

/* ---- durations ---------------------------------------------------------------------------------- */

START_TEST(duration_good) {
  static const struct { const char *text; uint64_t ms; } good[] = {
      {"250", 250},        {"250ms", 250},        {"0.25s", 250},  {"250000us", 250},  {"250000000ns", 250},
      {"0", 0},            {"1", 1},              {"1s", 1000},    {"1.5s", 1500},     {"0.001s", 1},
      {"0.100s", 100},     {"3600000", 3600000},  {"3600s", 3600000}, {"1000us", 1},   {"2000000ns", 2},
      {"007", 7},          {"1.0ms", 1},          {"0.5s", 500},   {"100ms", 100},
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    uint64_t ms = 12345;
    int rc = dur(good[i].text, &ms);
    ck_assert_msg(rc == 0, "'%s' should parse, got %d", good[i].text, rc);
    ck_assert_msg(ms == good[i].ms, "'%s' -> %llu ms, expected %llu", good[i].text, (unsigned long long)ms,
                  (unsigned long long)good[i].ms);
  }
}
END_TEST

START_TEST(duration_bad) {
  static const char *const bad[] = {
      "",      "-1",   "1.5.0", "abc",   "10xs",  "ms",   "s",     "us",   "ns",   ".5s",   "5.s",  "1e3",
      " 250",  "250 ", "+250",  "0x10",  "1us",   "1.5ms", "0.25", "250m", "250 ms", "250MS", "1h",  "1min",
      "1,5s",  "1..5s", "0.1234567891s", "99999999999999999999", "18446744073709551615",
      "18446744073709551616ns", "9999999999999s", "\t1", "1\n", "--1",
      "0.999999999s", /* not whole milliseconds: refused, not rounded */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint64_t ms = 4242;
    int rc = dur(bad[i], &ms);
    ck_assert_msg(rc == -EINVAL, "'%s' should be refused, got rc=%d ms=%llu", bad[i], rc, (unsigned long long)ms);
    ck_assert_msg(ms == 4242, "'%s': output written although refused", bad[i]);
  }
}
END_TEST

/* The length argument bounds the read: text beyond it is never looked at. */
START_TEST(duration_respects_length) {
  uint64_t ms = 0;
  ck_assert_int_eq(ls_parse_duration_ms("250ms:junk", 5, &ms), 0);
  ck_assert_uint_eq(ms, 250);
  ck_assert_int_eq(ls_parse_duration_ms("25x", 2, &ms), 0);
  ck_assert_uint_eq(ms, 25);
  ck_assert_int_eq(ls_parse_duration_ms("abc", 0, &ms), -EINVAL);
}
END_TEST

/* ---- the table and its defaults ----------------------------------------------------------------- */

START_TEST(defaults_are_documented_values) {
  struct ls_options o;
  memset(&o, 0xa5, sizeof(o));
  ls_options_defaults(&o);
  ck_assert_str_eq(o.log_path, "loopscope.%n.%p.%s.lsr");
  ck_assert_uint_eq(o.slow_callback_ms, 100); /* asyncio's slow_callback_duration */
  ck_assert_uint_eq(o.stack_depth, 16);
  ck_assert_uint_eq(o.verbosity, 1);
  ck_assert_uint_eq(o.flush_ms, 1000);
  ck_assert(!o.help);
}
END_TEST

START_TEST(every_default_parses) {
  ck_assert_uint_ge(ls_option_count, 6);
  for (size_t i = 0; i < ls_option_count; i++) {
    const struct ls_option_desc *d = &ls_option_table[i];
    struct ls_options o;
    char err[512] = "";
    ls_options_defaults(&o);
    int rc = ls_option_set(&o, d->key, strlen(d->key), d->def, strlen(d->def), err, sizeof(err));
    ck_assert_msg(rc == 0, "default '%s' of %s does not parse: %s", d->def, d->key, err);
    /* and through the LOOPSCOPE_OPTIONS syntax */
    char text[600];
    snprintf(text, sizeof(text), "%s=%s", d->key, d->def);
    ck_assert_msg(parse(&o, text, err, sizeof(err)) == 0, "'%s': %s", text, err);
    ck_assert_msg(d->help && d->help[0], "%s has no help text", d->key);
    ck_assert_msg(d->flag && d->flag[0], "%s has no run flag", d->key);
  }
}
END_TEST

START_TEST(keys_and_flags_unique_and_well_formed) {
  for (size_t i = 0; i < ls_option_count; i++) {
    const struct ls_option_desc *a = &ls_option_table[i];
    for (const char *p = a->key; *p; p++)
      ck_assert_msg((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_', "key '%s'", a->key);
    for (const char *p = a->flag; *p; p++) /* GNU long-option style */
      ck_assert_msg((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-', "flag '%s'", a->flag);
    ck_assert_msg(a->flag[0] != '-', "flag '%s' is stored without its leading dashes", a->flag);
    for (size_t j = i + 1; j < ls_option_count; j++) {
      ck_assert_str_ne(a->key, ls_option_table[j].key);
      ck_assert_str_ne(a->flag, ls_option_table[j].flag);
    }
    ck_assert_ptr_eq(ls_option_by_key(a->key, strlen(a->key)), a);
    ck_assert_ptr_eq(ls_option_by_flag(a->flag, strlen(a->flag)), a);
  }
}
END_TEST

START_TEST(run_flag_lookup) {
  const struct ls_option_desc *d = ls_option_by_flag("slow-callback", 13);
  ck_assert_ptr_nonnull(d);
  ck_assert_str_eq(d->key, "slow_callback_ms");
  ck_assert_int_eq(d->type, LS_OPT_MS);
  ck_assert_str_eq(ls_option_by_flag("output", 6)->key, "log_path");
  ck_assert_str_eq(ls_option_by_flag("stack-depth", 11)->key, "stack_depth");
  ck_assert_str_eq(ls_option_by_flag("verbosity", 9)->key, "verbosity");
  ck_assert_str_eq(ls_option_by_flag("flush-interval", 14)->key, "flush_ms");
  ck_assert_str_eq(ls_option_by_flag("help-options", 12)->key, "help");
  /* "--slow-callback=250ms" as argv gives it: the CLI passes the length up to '=' */
  const char *arg = "slow-callback=250ms";
  ck_assert_ptr_eq(ls_option_by_flag(arg, (size_t)(strchr(arg, '=') - arg)), d);
  /* keys are not flags, prefixes are not matches, and case matters */
  ck_assert_ptr_null(ls_option_by_flag("slow_callback_ms", 16));
  ck_assert_ptr_null(ls_option_by_flag("slow", 4));
  ck_assert_ptr_null(ls_option_by_flag("slow-callbacks", 14));
  ck_assert_ptr_null(ls_option_by_flag("Slow-Callback", 13));
  ck_assert_ptr_null(ls_option_by_flag("--slow-callback", 15));
  ck_assert_ptr_null(ls_option_by_flag("", 0));
  ck_assert_ptr_null(ls_option_by_key("slow-callback", 13));
  ck_assert_ptr_null(ls_option_by_key("slow_callback", 13));
  ck_assert_ptr_nonnull(ls_option_by_key("slow_callback_msXYZ", 16));
}
END_TEST

/* ---- LOOPSCOPE_OPTIONS: good forms --------------------------------------------------------------- */

START_TEST(parse_good_forms) {
  struct ls_options o;
  char err[512];

  ck_assert_int_eq(parse(&o, "", err, sizeof(err)), 0);
  ck_assert_uint_eq(o.slow_callback_ms, 100);

  ck_assert_int_eq(parse(&o, "slow_callback_ms=250", err, sizeof(err)), 0);
  ck_assert_uint_eq(o.slow_callback_ms, 250);
  ck_assert_int_eq(parse(&o, "slow_callback_ms=250ms", err, sizeof(err)), 0);
  ck_assert_uint_eq(o.slow_callback_ms, 250);
  ck_assert_int_eq(parse(&o, "slow_callback_ms=0.25s", err, sizeof(err)), 0);
  ck_assert_uint_eq(o.slow_callback_ms, 250);
  ck_assert_int_eq(parse(&o, "slow_callback_ms=250000us", err, sizeof(err)), 0);
  ck_assert_uint_eq(o.slow_callback_ms, 250);

  ck_assert_int_eq(parse(&o, "slow_callback_ms=0.5s:stack_depth=0:verbosity=3:flush_ms=10:help=1", err, sizeof(err)), 0);
  ck_assert_uint_eq(o.slow_callback_ms, 500);
  ck_assert_uint_eq(o.stack_depth, 0);
  ck_assert_uint_eq(o.verbosity, 3);
  ck_assert_uint_eq(o.flush_ms, 10);
  ck_assert(o.help);

  ck_assert_int_eq(parse(&o, "help=0", err, sizeof(err)), 0);
  ck_assert(!o.help);

  /* empty entries and a trailing separator are harmless; the last value of a key wins */
  ck_assert_int_eq(parse(&o, "::verbosity=0::verbosity=2:", err, sizeof(err)), 0);
  ck_assert_uint_eq(o.verbosity, 2);

  /* a path keeps everything after the first '=' (but ':' separates options) */
  ck_assert_int_eq(parse(&o, "log_path=/var/tmp/a=b.%p.lsr", err, sizeof(err)), 0);
  ck_assert_str_eq(o.log_path, "/var/tmp/a=b.%p.lsr");

  /* range ends are accepted */
  ck_assert_int_eq(parse(&o, "slow_callback_ms=1:stack_depth=64:flush_ms=60000", err, sizeof(err)), 0);
  ck_assert_uint_eq(o.slow_callback_ms, 1);
  ck_assert_uint_eq(o.stack_depth, 64);
  ck_assert_uint_eq(o.flush_ms, 60000);
  ck_assert_int_eq(parse(&o, "slow_callback_ms=3600000:flush_ms=60s", err, sizeof(err)), 0);
  ck_assert_uint_eq(o.slow_callback_ms, 3600000);
  ck_assert_uint_eq(o.flush_ms, 60000);

  /* a path of LS_PATH_MAX-1 bytes fits */
  static char text[LS_PATH_MAX + 32];
  strcpy(text, "log_path=");
  memset(text + 9, 'p', LS_PATH_MAX - 1);
  text[9 + LS_PATH_MAX - 1] = '\0';
  ck_assert_int_eq(parse(&o, text, err, sizeof(err)), 0);
  ck_assert_uint_eq(strlen(o.log_path), LS_PATH_MAX - 1);
}
END_TEST

/* stall_signal takes a real-time signal by number or by name (what the shell completion offers), and
 * nothing else. */
START_TEST(stall_signal_by_name) {
  static const struct {
    const char *text;
    int want; /* -1: refused */
  } cases[] = {{"stall_signal=SIGRTMIN", 0}, {"stall_signal=SIGRTMIN+3", 3}, {"stall_signal=RTMIN+1", 1},
               {"stall_signal=SIGRTMAX", -2}, {"stall_signal=SIGRTMAX-1", -3}, {"stall_signal=SIGRTMIN-1", -1},
               {"stall_signal=SIGRTMAX+1", -1}, {"stall_signal=SIGUSR1", -1}, {"stall_signal=SIGRTMIN+", -1},
               {"stall_signal=SIGRTMIN+99", -1}, {"stall_signal=RT", -1}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct ls_options o;
    char err[512];
    int rc = parse(&o, cases[i].text, err, sizeof(err));
    if (cases[i].want == -1) {
      ck_assert_msg(rc == -EINVAL && strstr(err, "stall_signal"), "%s accepted (%s)", cases[i].text, err);
      continue;
    }
    int want = cases[i].want >= 0 ? SIGRTMIN + cases[i].want : SIGRTMAX + cases[i].want + 2;
    ck_assert_msg(rc == 0, "%s: %s", cases[i].text, err);
    ck_assert_msg(o.stall_signal == (uint64_t)want, "%s: %llu, expected %d", cases[i].text,
                  (unsigned long long)o.stall_signal, want);
  }
}
END_TEST

START_TEST(option_set_direct) {
  struct ls_options o;
  char err[512] = "";
  ls_options_defaults(&o);
  /* lengths, not NULs, delimit key and value */
  ck_assert_int_eq(ls_option_set(&o, "stack_depth=9", 11, "32:x", 2, err, sizeof(err)), 0);
  ck_assert_uint_eq(o.stack_depth, 32);
  ck_assert_int_eq(ls_option_set(&o, "slow_callback_ms", 16, "2s", 2, err, sizeof(err)), 0);
  ck_assert_uint_eq(o.slow_callback_ms, 2000);
  ck_assert_int_eq(ls_option_set(&o, "log_path", 8, "r.%p", 4, err, sizeof(err)), 0);
  ck_assert_str_eq(o.log_path, "r.%p");
}
END_TEST

/* ---- LOOPSCOPE_OPTIONS: bad forms ---------------------------------------------------------------- */

/* One line, no newline, names `what`. */
static void assert_one_line_naming(const char *err, const char *what, const char *input) {
  ck_assert_msg(err[0] != '\0', "'%s': empty error text", input);
  ck_assert_msg(strchr(err, '\n') == NULL, "'%s': error is more than one line: %s", input, err);
  ck_assert_msg(strstr(err, what) != NULL, "'%s': error does not name '%s': %s", input, what, err);
}

START_TEST(unknown_key_names_it_and_lists_accepted) {
  struct ls_options o;
  char err[1024];
  static const char *const inputs[] = {"bogus=1", "verbosity=1:bogus=1", "slow_callback=100", "SLOW_CALLBACK_MS=1",
                                       "slow-callback=100"};
  static const char *const names[] = {"bogus", "bogus", "slow_callback", "SLOW_CALLBACK_MS", "slow-callback"};
  for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
    ck_assert_int_eq(parse(&o, inputs[i], err, sizeof(err)), -EINVAL);
    char quoted[64];
    snprintf(quoted, sizeof(quoted), "'%s'", names[i]);
    assert_one_line_naming(err, quoted, inputs[i]);
    for (size_t k = 0; k < ls_option_count; k++)
      ck_assert_msg(strstr(err, ls_option_table[k].key), "'%s': accepted key %s not listed: %s", inputs[i],
                    ls_option_table[k].key, err);
  }
  /* an empty key is unknown, not silently skipped */
  ck_assert_int_eq(parse(&o, "=1", err, sizeof(err)), -EINVAL);
  assert_one_line_naming(err, "''", "=1");
}
END_TEST

START_TEST(missing_equals) {
  struct ls_options o;
  char err[512];
  static const char *const inputs[] = {"slow_callback_ms", "help", "verbosity=2:stack_depth", "bogus"};
  static const char *const names[] = {"slow_callback_ms", "help", "stack_depth", "bogus"};
  for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
    ck_assert_int_eq(parse(&o, inputs[i], err, sizeof(err)), -EINVAL);
    assert_one_line_naming(err, names[i], inputs[i]);
    ck_assert_msg(strstr(err, "key=value"), "'%s': does not say the accepted form: %s", inputs[i], err);
  }
}
END_TEST

/* An error quotes the text it refuses; a control byte in that text (found by fuzz_options) must not
 * break the one line the message is. */
START_TEST(errors_stay_one_printable_line) {
  static const char *const texts[] = {"\x95\x9a\x01\n", "verbosity=1\n2", "no_such\tkey=1", "wrong_thread=x\x7f\x1b[31m"};
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    struct ls_options o;
    char err[512];
    ls_options_defaults(&o);
    ck_assert_int_eq(ls_options_parse(&o, texts[i], err, sizeof(err)), -EINVAL);
    for (const char *c = err; *c; c++)
      ck_assert_msg((unsigned char)*c >= 0x20 && *c != 0x7f, "text %zu: control byte 0x%02x in '%s'", i,
                    (unsigned char)*c, err);
  }
}
END_TEST

START_TEST(bad_values_name_option_and_accepted) {
  static const struct { const char *text, *key, *accepted; } bad[] = {
      {"slow_callback_ms=", "slow_callback_ms", "duration"},
      {"slow_callback_ms=-1", "slow_callback_ms", "duration"},
      {"slow_callback_ms=1.5.0", "slow_callback_ms", "duration"},
      {"slow_callback_ms=abc", "slow_callback_ms", "duration"},
      {"slow_callback_ms=10xs", "slow_callback_ms", "duration"},
      {"slow_callback_ms=0", "slow_callback_ms", "3600000"},      /* below min 1 */
      {"slow_callback_ms=0ms", "slow_callback_ms", "3600000"},
      {"slow_callback_ms=3600001", "slow_callback_ms", "3600000"}, /* above max */
      {"slow_callback_ms=3601s", "slow_callback_ms", "3600000"},
      {"slow_callback_ms=1us", "slow_callback_ms", "duration"},
      {"slow_callback_ms=99999999999999999999999", "slow_callback_ms", "duration"},
      {"stack_depth=65", "stack_depth", "64"},
      {"stack_depth=-1", "stack_depth", "whole number"},
      {"stack_depth=1.5", "stack_depth", "whole number"},
      {"stack_depth=16ms", "stack_depth", "whole number"},
      {"stack_depth=", "stack_depth", "whole number"},
      {"stack_depth=18446744073709551616", "stack_depth", "whole number"},
      {"verbosity=4", "verbosity", "3"},
      {"verbosity=x", "verbosity", "whole number"},
      {"flush_ms=9", "flush_ms", "60000"},
      {"flush_ms=60001", "flush_ms", "60000"},
      {"flush_ms=5ms", "flush_ms", "10"},
      {"help=2", "help", "0 or 1"},
      {"help=yes", "help", "0 or 1"},
      {"help=", "help", "0 or 1"},
      {"help=01", "help", "0 or 1"},
      {"log_path=", "log_path", "path"},
      {"verbosity=1:stack_depth=1000", "stack_depth", "64"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct ls_options o;
    char err[512];
    ck_assert_msg(parse(&o, bad[i].text, err, sizeof(err)) == -EINVAL, "'%s' accepted", bad[i].text);
    char quoted[64];
    snprintf(quoted, sizeof(quoted), "'%s'", bad[i].key);
    assert_one_line_naming(err, quoted, bad[i].text);
    assert_one_line_naming(err, bad[i].accepted, bad[i].text);
  }
}
END_TEST

START_TEST(path_too_long) {
  struct ls_options o;
  char err[512];
  static char text[LS_PATH_MAX + 32];
  strcpy(text, "log_path=");
  memset(text + 9, 'p', LS_PATH_MAX);
  text[9 + LS_PATH_MAX] = '\0';
  ck_assert_int_eq(parse(&o, text, err, sizeof(err)), -EINVAL);
  assert_one_line_naming(err, "'log_path'", "log_path=<4096 bytes>");
  ck_assert_str_eq(o.log_path, "loopscope.%n.%p.%s.lsr"); /* untouched */
}
END_TEST

/* The shim formats the message into a fixed buffer before main: any size must stay in bounds and
 * NUL-terminated. */
START_TEST(small_error_buffers) {
  static const char *const inputs[] = {"bogus=1", "slow_callback_ms=abc", "help=2", "stack_depth", "log_path="};
  for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
    for (size_t len = 1; len <= 200; len++) {
      char buf[256];
      memset(buf, 'Q', sizeof(buf));
      struct ls_options o;
      ls_options_defaults(&o);
      ck_assert_int_eq(ls_options_parse(&o, inputs[i], buf, len), -EINVAL);
      ck_assert_msg(memchr(buf, '\0', len) != NULL, "'%s' errlen %zu: not NUL-terminated", inputs[i], len);
      for (size_t k = len; k < sizeof(buf); k++)
        ck_assert_msg(buf[k] == 'Q', "'%s' errlen %zu: wrote byte %zu", inputs[i], len, k);
    }
  }
}
END_TEST

/* ---- help --------------------------------------------------------------------------------------- */

START_TEST(help_lists_every_option) {
  static char buf[16384];
  size_t n = ls_options_format_help(buf, sizeof(buf));
  ck_assert_uint_eq(n, strlen(buf));
  for (size_t i = 0; i < ls_option_count; i++) {
    ck_assert_msg(strstr(buf, ls_option_table[i].key), "help lacks %s", ls_option_table[i].key);
    ck_assert_msg(strstr(buf, ls_option_table[i].def), "help lacks default %s", ls_option_table[i].def);
  }
  /* a short buffer is filled, terminated, and never overrun */
  for (size_t len = 1; len < 300; len += 7) {
    char small[320];
    memset(small, 'Q', sizeof(small));
    size_t m = ls_options_format_help(small, len);
    ck_assert_uint_lt(m, len);
    ck_assert_uint_eq(strlen(small), m);
    for (size_t k = len; k < sizeof(small); k++) ck_assert(small[k] == 'Q');
  }
}
END_TEST

static Suite *options_suite(void) {
  Suite *s = suite_create("options");
  TCase *tc = tcase_create("durations");
  tcase_add_test(tc, duration_good);
  tcase_add_test(tc, duration_bad);
  tcase_add_test(tc, duration_respects_length);
  suite_add_tcase(s, tc);
  tc = tcase_create("table");
  tcase_add_test(tc, defaults_are_documented_values);
  tcase_add_test(tc, every_default_parses);
  tcase_add_test(tc, keys_and_flags_unique_and_well_formed);
  tcase_add_test(tc, run_flag_lookup);
  suite_add_tcase(s, tc);
  tc = tcase_create("parse");
  tcase_add_test(tc, parse_good_forms);
  tcase_add_test(tc, option_set_direct);
  tcase_add_test(tc, stall_signal_by_name);
  tcase_add_test(tc, unknown_key_names_it_and_lists_accepted);
  tcase_add_test(tc, missing_equals);
  tcase_add_test(tc, bad_values_name_option_and_accepted);
  tcase_add_test(tc, errors_stay_one_printable_line);
  tcase_add_test(tc, path_too_long);
  tcase_add_test(tc, small_error_buffers);
  tcase_add_test(tc, help_lists_every_option);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(options_suite());
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
