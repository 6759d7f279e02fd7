/* The man pages document the one option table (src/ls_options_def.h): every key has its own entry in
 * the OPTIONS section of loopscope-options(7), naming its `loopscope run` flag and its default, and
 * every flag appears, as "--flag", in the SYNOPSIS and the OPTIONS of loopscope-run(1).
 *
 * The pages are roff source: escapes that print a character are replaced by it (\- is '-', \e is
 * '\', \(aq is '\''), escapes that print nothing are dropped (\&, \c, \%, \:, font changes), and a
 * macro line (".B word") counts as its arguments. Words are matched whole: "--slow" is not found in
 * "--slow-callback". */
#define _GNU_SOURCE
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_options.h"

#ifndef LS_MAN_DIR
#error LS_MAN_DIR must name the man/ directory of the source tree
#endif
#define OPTIONS_PAGE LS_MAN_DIR "/loopscope-options.7"
#define RUN_PAGE LS_MAN_DIR "/loopscope-run.1"

/* A page as normalised lines. */
struct page {
  const char *path;
  char **lines;
  size_t n;
};

/* One roff line with its escapes resolved (see the top of the file). */
static char *normalise_line(const char *s, size_t len) {
  char *out = malloc(len + 1), *o = out;
  ck_assert_ptr_nonnull(out);
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '\\' || i + 1 == len) {
      *o++ = s[i];
      continue;
    }
    char e = s[++i];
    switch (e) {
    case '-': *o++ = '-'; break;
    case 'e': *o++ = '\\'; break;
    case '&': case 'c': case '%': case ':': break;
    case 'f': /* \fB, \f(XX, \f[NAME] */
      if (i + 1 < len && s[i + 1] == '(') i += 3;
      else if (i + 1 < len && s[i + 1] == '[') {
        while (i < len && s[i] != ']') i++;
      } else i++;
      break;
    case '(': /* \(xx: the two we use; anything else stays visible so a test failure shows it */
      if (i + 2 < len && strncmp(s + i + 1, "aq", 2) == 0) *o++ = '\'', i += 2;
      else if (i + 2 < len && strncmp(s + i + 1, "dq", 2) == 0) *o++ = '"', i += 2;
      else *o++ = '\\', *o++ = e;
      break;
    default: *o++ = '\\'; *o++ = e; break;
    }
  }
  *o = 0;
  return out;
}

static void page_load(struct page *p, const char *path) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot read %s", path);
  memset(p, 0, sizeof(*p));
  p->path = path;
  size_t cap = 0;
  char *line = NULL;
  size_t linecap = 0;
  ssize_t len;
  while ((len = getline(&line, &linecap, f)) >= 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    if (p->n == cap) {
      cap = cap ? 2 * cap : 256;
      p->lines = realloc(p->lines, cap * sizeof(char *));
      ck_assert_ptr_nonnull(p->lines);
    }
    p->lines[p->n++] = normalise_line(line, (size_t)len);
  }
  free(line);
  fclose(f);
  ck_assert_msg(p->n > 0, "%s is empty", path);
}

static void page_free(struct page *p) {
  for (size_t i = 0; i < p->n; i++) free(p->lines[i]);
  free(p->lines);
}

static bool is_macro(const char *line, const char *name) {
  size_t l = strlen(name);
  return line[0] == '.' && strncmp(line + 1, name, l) == 0 && (line[1 + l] == 0 || line[1 + l] == ' ');
}

/* Lines [*lo, *hi) of section NAME (after ".SH NAME", up to the next ".SH"). */
static void section(const struct page *p, const char *name, size_t *lo, size_t *hi) {
  for (size_t i = 0; i < p->n; i++) {
    if (!is_macro(p->lines[i], "SH")) continue;
    const char *title = p->lines[i] + 3;
    while (*title == ' ' || *title == '"') title++;
    if (strncmp(title, name, strlen(name)) != 0) continue;
    size_t j = i + 1;
    while (j < p->n && !is_macro(p->lines[j], "SH")) j++;
    *lo = i + 1;
    *hi = j;
    return;
  }
  ck_abort_msg("%s has no section %s", p->path, name);
}

/* Lines [lo, hi) as running text: a macro line gives its arguments, comments nothing, quotes are
 * dropped, whitespace is one space. */
static char *flatten(const struct page *p, size_t lo, size_t hi) {
  size_t cap = 1;
  for (size_t i = lo; i < hi; i++) cap += strlen(p->lines[i]) + 1;
  char *out = malloc(cap), *o = out;
  ck_assert_ptr_nonnull(out);
  for (size_t i = lo; i < hi; i++) {
    const char *s = p->lines[i];
    if (s[0] == '.' || s[0] == '\'') {
      if (s[1] == '\\' && s[2] == '"') continue; /* .\" comment */
      s += strcspn(s, " ");                       /* the macro's name */
    }
    for (; *s; s++) {
      if (*s == '"') continue;
      bool space = *s == ' ' || *s == '\t';
      if (space && (o == out || o[-1] == ' ')) continue;
      *o++ = space ? ' ' : *s;
    }
    if (o > out && o[-1] != ' ') *o++ = ' ';
  }
  *o = 0;
  return out;
}

static bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Whether word occurs in text with no word character (letters, digits, '_', '-') right before or
 * after it. */
static bool has_word(const char *text, const char *word) {
  size_t l = strlen(word);
  for (const char *s = strstr(text, word); s; s = strstr(s + 1, word))
    if ((s == text || !word_char(s[-1])) && !word_char(s[l])) return true;
  return false;
}

/* The entry of OPTIONS whose .TP tag starts with key: its tag and body as running text; NULL if none. */
static char *option_entry(const struct page *p, const char *key) {
  size_t lo, hi;
  section(p, "OPTIONS", &lo, &hi);
  for (size_t i = lo; i + 1 < hi; i++) {
    if (!is_macro(p->lines[i], "TP")) continue;
    char *tag = flatten(p, i + 1, i + 2);
    bool match = strncmp(tag, key, strlen(key)) == 0 && !word_char(tag[strlen(key)]);
    free(tag);
    if (!match) continue;
    size_t j = i + 1;
    while (j < hi && !is_macro(p->lines[j], "TP") && !is_macro(p->lines[j], "SS")) j++;
    return flatten(p, i + 1, j);
  }
  return NULL;
}

static char *dashdash(const char *flag) {
  char *s;
  ck_assert_int_ge(asprintf(&s, "--%s", flag), 0);
  return s;
}

/* ---- the helpers themselves, so a pass below means something ---------------------------------- */

START_TEST(normalise_and_whole_words) {
  char *s = normalise_line("\\fB\\-\\-slow\\-callback=\\fP\\fIduration\\fR, \\f(CWx\\fP \\(aqy\\(aq a\\&b\\c",
                           strlen("\\fB\\-\\-slow\\-callback=\\fP\\fIduration\\fR, \\f(CWx\\fP \\(aqy\\(aq a\\&b\\c"));
  ck_assert_str_eq(s, "--slow-callback=duration, x 'y' ab");
  ck_assert(has_word(s, "--slow-callback"));
  ck_assert(!has_word(s, "--slow"));
  ck_assert(!has_word(s, "slow-callback")); /* preceded by '-' */
  ck_assert(!has_word(s, "callback"));
  ck_assert(has_word(s, "duration"));
  free(s);
  ck_assert(has_word("a log_path b", "log_path"));
  ck_assert(!has_word("a log_path_x b", "log_path"));
  ck_assert(!has_word("", "help"));
}
END_TEST

START_TEST(the_table_is_not_empty) {
  ck_assert_uint_ge(ls_option_count, 1);
  for (size_t i = 0; i < ls_option_count; i++) {
    ck_assert_ptr_nonnull(ls_option_table[i].key);
    ck_assert_ptr_nonnull(ls_option_table[i].flag);
    ck_assert_ptr_nonnull(ls_option_table[i].def);
  }
}
END_TEST

/* ---- loopscope-options(7) ------------------------------------------------------------------------ */

START_TEST(every_key_has_an_entry_in_options_7) {
  struct page p;
  page_load(&p, OPTIONS_PAGE);
  for (size_t i = 0; i < ls_option_count; i++) {
    const struct ls_option_desc *d = &ls_option_table[i];
    char *entry = option_entry(&p, d->key);
    ck_assert_msg(entry != NULL, "%s: OPTIONS has no .TP entry for the key '%s'", OPTIONS_PAGE, d->key);
    free(entry);
  }
  page_free(&p);
}
END_TEST

START_TEST(every_entry_in_options_7_names_its_run_flag) {
  struct page p;
  page_load(&p, OPTIONS_PAGE);
  for (size_t i = 0; i < ls_option_count; i++) {
    const struct ls_option_desc *d = &ls_option_table[i];
    char *entry = option_entry(&p, d->key), *flag = dashdash(d->flag);
    ck_assert_msg(entry != NULL, "%s: no entry for '%s'", OPTIONS_PAGE, d->key);
    ck_assert_msg(has_word(entry, flag), "%s: the entry for '%s' does not name its run flag '%s':\n%s", OPTIONS_PAGE,
                  d->key, flag, entry);
    free(flag);
    free(entry);
  }
  page_free(&p);
}
END_TEST

START_TEST(every_entry_in_options_7_gives_the_default) {
  struct page p;
  page_load(&p, OPTIONS_PAGE);
  for (size_t i = 0; i < ls_option_count; i++) {
    const struct ls_option_desc *d = &ls_option_table[i];
    char *entry = option_entry(&p, d->key), *want;
    ck_assert_msg(entry != NULL, "%s: no entry for '%s'", OPTIONS_PAGE, d->key);
    /* An empty default (an empty list) is spelled "default empty". */
    ck_assert_int_ge(asprintf(&want, "default %s", d->def[0] ? d->def : "empty"), 0);
    ck_assert_msg(has_word(entry, want), "%s: the entry for '%s' does not say '%s' (the table's default):\n%s",
                  OPTIONS_PAGE, d->key, want, entry);
    free(want);
    free(entry);
  }
  page_free(&p);
}
END_TEST

/* ---- loopscope-run(1) ---------------------------------------------------------------------------- */

static void flags_in_section(const char *name) {
  struct page p;
  size_t lo, hi;
  page_load(&p, RUN_PAGE);
  section(&p, name, &lo, &hi);
  char *text = flatten(&p, lo, hi);
  for (size_t i = 0; i < ls_option_count; i++) {
    char *flag = dashdash(ls_option_table[i].flag);
    ck_assert_msg(has_word(text, flag), "%s: %s does not name the run flag '%s' (option '%s'):\n%s", RUN_PAGE, name,
                  flag, ls_option_table[i].key, text);
    free(flag);
  }
  free(text);
  page_free(&p);
}

START_TEST(every_flag_in_run_1_synopsis) { flags_in_section("SYNOPSIS"); }
END_TEST

START_TEST(every_flag_in_run_1_options) { flags_in_section("OPTIONS"); }
END_TEST

static Suite *man_suite(void) {
  Suite *s = suite_create("man");
  TCase *tc = tcase_create("helpers");
  tcase_add_test(tc, normalise_and_whole_words);
  tcase_add_test(tc, the_table_is_not_empty);
  suite_add_tcase(s, tc);
  tc = tcase_create("options_7");
  tcase_add_test(tc, every_key_has_an_entry_in_options_7);
  tcase_add_test(tc, every_entry_in_options_7_names_its_run_flag);
  tcase_add_test(tc, every_entry_in_options_7_gives_the_default);
  suite_add_tcase(s, tc);
  tc = tcase_create("run_1");
  tcase_add_test(tc, every_flag_in_run_1_synopsis);
  tcase_add_test(tc, every_flag_in_run_1_options);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  check_set_max_msg_size(64 * 1024); /* failures quote the page's text */
  SRunner *sr = srunner_create(man_suite());
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
