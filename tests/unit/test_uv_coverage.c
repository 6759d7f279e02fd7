/* Every public libuv function that takes a callback is wrapped by the shim, or deliberately skipped.
 *
 * The callback-taking functions are derived from the installed uv.h, not listed by hand: each
 * declaration from "UV_EXTERN" to its ';' (they span several lines) whose parameters mention a callback
 * type -- a typedef ending in "_cb" (uv_timer_cb, uv_fs_cb...), one ending in "_func" (the allocator
 * hooks), a function pointer spelled out ("void (*callback)(void)"), or a pointer to an options struct
 * that carries a "_cb" member (uv_process_options_t's exit_cb, for uv_spawn). "Wrapped" means
 * libloopscope.so exports the symbol (nm -D --defined-only). Skipped ones are listed in uv_skipped.txt,
 * each with its reason; an entry there that is wrapped, unknown to uv.h or without a reason fails too,
 * so the list cannot go stale. */
#define _GNU_SOURCE
#include <check.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../names.h"

#ifndef LS_UV_H
#error LS_UV_H must name the uv.h to read
#endif

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot read %s", path);
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  for (size_t r; (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
    n += r;
    if (n + 1 >= cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  buf[n] = 0;
  return buf;
}

/* Comments become spaces (line breaks kept, so '#' lines stay recognisable). */
static void strip_comments(char *s) {
  for (char *p = s; *p; p++) {
    if (p[0] == '/' && p[1] == '*') {
      char *end = strstr(p + 2, "*/");
      char *stop = end ? end + 2 : p + strlen(p);
      for (; p < stop; p++)
        if (*p != '\n') *p = ' ';
      p--;
    } else if (p[0] == '/' && p[1] == '/') {
      for (; *p && *p != '\n'; p++) *p = ' ';
      p--;
    }
  }
}

static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Whether text[0..len) holds an identifier ending in suffix ("_cb"). */
static bool has_word_ending(const char *text, size_t len, const char *suffix) {
  size_t sl = strlen(suffix);
  for (size_t i = sl; i <= len; i++)
    if (memcmp(text + i - sl, suffix, sl) == 0 && (i == len || !ident_char(text[i])) && i > sl &&
        ident_char(text[i - sl - 1]))
      return true;
  return false;
}

/* Whether text[0..len) holds the identifier word. */
static bool has_word(const char *text, size_t len, const char *word) {
  size_t wl = strlen(word);
  for (size_t i = 0; i + wl <= len; i++)
    if (memcmp(text + i, word, wl) == 0 && (i == 0 || !ident_char(text[i - 1])) &&
        (i + wl == len || !ident_char(text[i + wl])))
      return true;
  return false;
}

/* Typedef'd structs with a callback member: "typedef struct X { ... uv_exit_cb exit_cb; ... } T;" */
static void option_structs(const char *src, struct names *out) {
  for (const char *p = src; (p = strstr(p, "typedef struct")) != NULL; p++) {
    const char *open = strchr(p, '{'), *semi = strchr(p, ';');
    if (!open || (semi && semi < open)) continue; /* "typedef struct x y;" */
    const char *close = strchr(open, '}');
    const char *inner = strchr(open + 1, '{');
    if (!close || (inner && inner < close)) continue; /* nested: not an options struct */
    if (!has_word_ending(open, (size_t)(close - open), "_cb")) continue;
    const char *name = close + 1;
    while (*name && !ident_char(*name)) name++;
    size_t len = 0;
    while (ident_char(name[len])) len++;
    if (len) names_add(out, name, len);
  }
}

/* The callback-taking functions declared in uv.h. */
static void callback_functions(struct names *out) {
  char *src = read_file(LS_UV_H);
  strip_comments(src);
  struct names opts = {0};
  option_structs(src, &opts);
  for (char *p = src; (p = strstr(p, "UV_EXTERN")) != NULL; p += 9) {
    char *bol = p;
    while (bol > src && bol[-1] != '\n') bol--;
    if (memchr(bol, '#', (size_t)(p - bol))) continue; /* "# define UV_EXTERN ..." */
    char *end = strchr(p, ';');
    ck_assert_msg(end != NULL, "uv.h: a UV_EXTERN declaration without ';'");
    char *paren = memchr(p, '(', (size_t)(end - p));
    ck_assert_msg(paren != NULL, "uv.h: a UV_EXTERN declaration without a parameter list: %.80s", p);
    char *name_end = paren;
    while (name_end > p && isspace((unsigned char)name_end[-1])) name_end--;
    char *name = name_end;
    while (name > p && ident_char(name[-1])) name--;
    ck_assert_msg(name < name_end, "uv.h: no function name in %.80s", p);
    const char *params = paren;
    size_t plen = (size_t)(end - paren);
    const char *fnptr = strstr(params, "(*");
    bool takes_cb = has_word_ending(params, plen, "_cb") || has_word_ending(params, plen, "_func") ||
                    (fnptr && fnptr < end);
    for (size_t i = 0; i < opts.n && !takes_cb; i++) takes_cb = has_word(params, plen, opts.v[i]);
    if (takes_cb && !names_has(out, name)) names_add(out, name, (size_t)(name_end - name));
  }
  names_free(&opts);
  free(src);
}

/* The dynamic symbols libloopscope.so defines. */
static void shim_exports(struct names *out) {
  char *cmd;
  ck_assert_int_ge(asprintf(&cmd, "nm -D --defined-only '%s'", LS_SHIM), 0);
  FILE *f = popen(cmd, "r");
  ck_assert_msg(f != NULL, "cannot run: %s", cmd);
  char line[1024];
  while (fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\n")] = 0;
    char *sym = strrchr(line, ' ');
    sym = sym ? sym + 1 : line;
    if (*sym) names_add(out, sym, strlen(sym));
  }
  int rc = pclose(f);
  ck_assert_msg(rc == 0, "%s failed (status %d)", cmd, rc);
  ck_assert_msg(out->n > 0, "%s listed no symbols", cmd);
  free(cmd);
}

struct skip {
  char *name;
  bool has_reason;
  int line;
};

static size_t read_skips(struct skip **out) {
  char *src = read_file(LS_UV_SKIPPED);
  size_t n = 0, cap = 16;
  struct skip *v = calloc(cap, sizeof(*v));
  int lineno = 0;
  for (char *l = src, *next; l; l = next) {
    next = strchr(l, '\n');
    if (next) *next++ = 0;
    lineno++;
    while (isspace((unsigned char)*l)) l++;
    if (!*l || *l == '#') continue;
    size_t len = 0;
    while (l[len] && !isspace((unsigned char)l[len])) len++;
    const char *reason = l + len;
    while (isspace((unsigned char)*reason)) reason++;
    if (n == cap) v = realloc(v, (cap *= 2) * sizeof(*v));
    v[n++] = (struct skip){strndup(l, len), *reason != 0, lineno};
  }
  free(src);
  *out = v;
  return n;
}

static void free_skips(struct skip *v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i].name);
  free(v);
}

/* The parser must see what is certainly there, or "nothing unwrapped" would prove nothing. */
START_TEST(uv_h_parse_finds_the_known_callback_functions) {
  struct names cbs = {0};
  callback_functions(&cbs);
  const char *known[] = {"uv_timer_start", "uv_close",  "uv_read_start", "uv_write",   "uv_fs_open",
                         "uv_fs_stat",     "uv_walk",   "uv_queue_work", "uv_spawn",   "uv_once",
                         "uv_getaddrinfo", "uv_random", "uv_async_init", "uv_udp_send", "uv_thread_create"};
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    ck_assert_msg(names_has(&cbs, known[i]), "%s not derived from %s as taking a callback", known[i], LS_UV_H);
  const char *not_cb[] = {"uv_async_send", "uv_timer_stop", "uv_loop_init", "uv_fs_req_cleanup", "uv_key_create"};
  for (size_t i = 0; i < sizeof(not_cb) / sizeof(not_cb[0]); i++)
    ck_assert_msg(!names_has(&cbs, not_cb[i]), "%s derived as taking a callback: the parser is wrong", not_cb[i]);
  ck_assert_uint_ge(cbs.n, 60); /* libuv 1.44 has 66 */
  names_free(&cbs);
}
END_TEST

START_TEST(every_callback_function_is_wrapped_or_skipped) {
  struct names cbs = {0}, exports = {0};
  callback_functions(&cbs);
  shim_exports(&exports);
  struct skip *skips;
  size_t nskips = read_skips(&skips);
  char *missing = NULL;
  size_t nmissing = 0, len = 0;
  FILE *m = open_memstream(&missing, &len);
  for (size_t i = 0; i < cbs.n; i++) {
    if (names_has(&exports, cbs.v[i])) continue;
    bool skipped = false;
    for (size_t j = 0; j < nskips; j++) skipped |= strcmp(skips[j].name, cbs.v[i]) == 0;
    if (skipped) continue;
    fprintf(m, "  %s\n", cbs.v[i]);
    nmissing++;
  }
  fclose(m);
  ck_assert_msg(nmissing == 0,
                "%zu libuv functions that take a callback are neither wrapped by %s nor listed in %s:\n%s", nmissing,
                LS_SHIM, LS_UV_SKIPPED, missing);
  free(missing);
  free_skips(skips, nskips);
  names_free(&cbs);
  names_free(&exports);
}
END_TEST

START_TEST(skip_list_is_not_stale) {
  struct names cbs = {0}, exports = {0};
  callback_functions(&cbs);
  shim_exports(&exports);
  struct skip *skips;
  size_t nskips = read_skips(&skips);
  char *bad = NULL;
  size_t nbad = 0, len = 0;
  FILE *m = open_memstream(&bad, &len);
  for (size_t i = 0; i < nskips; i++) {
    const char *why = NULL;
    if (names_has(&exports, skips[i].name)) why = "is wrapped by the shim (stale entry)";
    else if (!names_has(&cbs, skips[i].name)) why = "is not a callback-taking function of uv.h";
    else if (!skips[i].has_reason) why = "has no reason";
    for (size_t j = 0; j < i && !why; j++)
      if (strcmp(skips[j].name, skips[i].name) == 0) why = "is listed twice";
    if (!why) continue;
    fprintf(m, "  line %d: %s %s\n", skips[i].line, skips[i].name, why);
    nbad++;
  }
  fclose(m);
  ck_assert_msg(nbad == 0, "%s has %zu bad entries:\n%s", LS_UV_SKIPPED, nbad, bad);
  free(bad);
  free_skips(skips, nskips);
  names_free(&cbs);
  names_free(&exports);
}
END_TEST

int main(void) {
  check_set_max_msg_size(64 * 1024); /* the failure lists every function */
  Suite *s = suite_create("uv_coverage");
  TCase *tc = tcase_create("coverage");
  tcase_add_test(tc, uv_h_parse_finds_the_known_callback_functions);
  tcase_add_test(tc, every_callback_function_is_wrapped_or_skipped);
  tcase_add_test(tc, skip_list_is_not_stale);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
