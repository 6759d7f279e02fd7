/* Invalid arguments pass through every hook unchanged: tests/programs/inval_args calls each function
 * the libuv, libevent and GLib adapters hook with what its library rejects or documents to handle, and
 * prints what came back (return value, errno, what the library logged). Plainly and under the shim the
 * output must be the same, line by line, and so must the exit status and stderr (loopscope's own lines
 * taken out).
 *
 * The program's table is checked against the hooks themselves: every function libloopscope.so exports
 * for those adapters (nm -D --defined-only) has a row or is a skip with its reason, and every row and
 * skip names a function the shim exports. A newly hooked function without an entry fails here. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"
#include "../names.h"

/* The adapters' functions among the shim's exports, by prefix (the libc hooks are not theirs). */
static const char *const adapter_prefixes[] = {"uv_",          "event_", "evconnlistener_", "evdns_",
                                               "evhttp_",      "evthread_", "bufferevent_", "g_"};

static bool adapter_symbol(const char *sym) {
  for (size_t i = 0; i < sizeof(adapter_prefixes) / sizeof(adapter_prefixes[0]); i++)
    if (strncmp(sym, adapter_prefixes[i], strlen(adapter_prefixes[i])) == 0) return true;
  return false;
}

/* The adapters' hooks: the shim's defined dynamic symbols with an adapter's prefix. */
static void adapter_hooks(struct names *out) {
  char *cmd;
  ck_assert_int_ge(asprintf(&cmd, "nm -D --defined-only '%s'", LS_SHIM), 0);
  FILE *f = popen(cmd, "r");
  ck_assert_msg(f != NULL, "cannot run: %s", cmd);
  char line[1024];
  while (fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\n")] = 0;
    char *sym = strrchr(line, ' ');
    sym = sym ? sym + 1 : line;
    if (adapter_symbol(sym)) names_add(out, sym, strlen(sym));
  }
  int rc = pclose(f);
  ck_assert_msg(rc == 0, "%s failed (status %d)", cmd, rc);
  ck_assert_msg(out->n >= 100, "%s listed only %zu adapter functions", cmd, out->n);
  free(cmd);
}

/* The environment of both runs: criticals must stay non-fatal, so G_DEBUG goes. */
static void run_plain(struct it_proc *p, const char *dir, const char *const argv[]) {
  const char *env[] = {"G_DEBUG", NULL};
  it_run(p, dir, argv, env, NULL);
}

/* The table: "case FN" per row and "skip FN REASON" per function without one. */
START_TEST(every_hooked_function_has_a_row_or_a_reason) {
  struct names hooks = {0}, rows = {0}, skips = {0};
  adapter_hooks(&hooks);
  char *dir = it_mkdir("it_inval_args_table");
  const char *argv[] = {LS_PROG_inval_args, "--table", NULL};
  struct it_proc p;
  run_plain(&p, dir, argv);
  ck_assert_msg(p.code == 0, "inval_args --table exited %d:\n%s", p.code, p.err);
  for (char *l = p.out, *next; l && *l; l = next) {
    next = strchr(l, '\n');
    if (next) *next++ = 0;
    if (strncmp(l, "case ", 5) == 0) {
      names_add(&rows, l + 5, strlen(l + 5));
    } else if (strncmp(l, "skip ", 5) == 0) {
      const char *fn = l + 5, *reason = strchr(fn, ' ');
      ck_assert_msg(reason && reason[1], "skip without a reason: %s", l);
      names_add(&skips, fn, (size_t)(reason - fn));
    } else {
      ck_abort_msg("inval_args --table printed an unknown line: %s", l);
    }
  }
  for (size_t i = 0; i < hooks.n; i++)
    ck_assert_msg(names_has(&rows, hooks.v[i]) || names_has(&skips, hooks.v[i]),
                  "%s is hooked by the shim but has neither a row in inval_args.c's tables nor a skip with a reason",
                  hooks.v[i]);
  for (size_t i = 0; i < rows.n; i++)
    ck_assert_msg(names_has(&hooks, rows.v[i]), "inval_args has a row for %s, which the shim does not hook", rows.v[i]);
  for (size_t i = 0; i < skips.n; i++) {
    ck_assert_msg(names_has(&hooks, skips.v[i]), "inval_args skips %s, which the shim does not hook", skips.v[i]);
    ck_assert_msg(!names_has(&rows, skips.v[i]), "inval_args both skips %s and has a row for it", skips.v[i]);
  }
  it_proc_free(&p);
  names_free(&hooks);
  names_free(&rows);
  names_free(&skips);
  it_done(dir);
}
END_TEST

/* The header line ("FN: what") the output's line i belongs to. */
static const char *row_of(char **lines, size_t i) {
  while (i > 0 && strncmp(lines[i], "  ", 2) == 0) i--;
  return lines[i];
}

static size_t split_lines(char *text, char ***out) {
  size_t n = 0, cap = 256;
  char **v = malloc(cap * sizeof(*v));
  for (char *l = text, *next; l && *l; l = next) {
    next = strchr(l, '\n');
    if (next) *next++ = 0;
    if (n == cap) v = realloc(v, (cap *= 2) * sizeof(*v));
    v[n++] = l;
  }
  *out = v;
  return n;
}

START_TEST(every_row_returns_the_same_plainly_and_under_the_shim) {
  char *dir = it_mkdir("it_inval_args");
  const char *argv[] = {LS_PROG_inval_args, NULL};
  struct it_proc plain, shim;
  run_plain(&plain, dir, argv);
  ck_assert_msg(plain.code == 0, "inval_args exited %d plainly (a row the library itself cannot take?):\n%s\n%s",
                plain.code, plain.out, plain.err);
  char *opts;
  ck_assert_int_ge(asprintf(&opts, "LOOPSCOPE_OPTIONS=log_path=%s/preload.%%p.lsr", dir), 0);
  const char *env[] = {"G_DEBUG", "LD_PRELOAD=" LS_PRELOAD, opts, NULL};
  it_run(&shim, dir, argv, env, NULL);
  free(opts);

  char *plain_out = strdup(plain.out), *shim_out = strdup(shim.out);
  char **a, **b;
  size_t na = split_lines(plain_out, &a), nb = split_lines(shim_out, &b), rows = 0, results = 0;
  for (size_t i = 0; i < na; i++) {
    rows += strncmp(a[i], "  ", 2) != 0;
    results += strncmp(a[i], "  -> ", 5) == 0;
  }
  ck_assert_msg(rows > 0 && results == rows, "%zu rows and %zu results plainly:\n%s", rows, results, plain.out);
  for (size_t i = 0; i < na || i < nb; i++) {
    const char *pa = i < na ? a[i] : "(nothing: the output ends here)";
    const char *pb = i < nb ? b[i] : "(nothing: the output ends here)";
    ck_assert_msg(strcmp(pa, pb) == 0,
                  "under the shim the output differs at line %zu, in \"%s\":\n  plain: %s\n  shim:  %s\n"
                  "(shimmed run: exit %d%s)\nstderr under the shim:\n%s",
                  i + 1, row_of(a, i < na ? i : na - 1), pa, pb, shim.code, shim.signaled ? ", killed" : "", shim.err);
  }
  ck_assert_msg(shim.code == plain.code, "exit %d under the shim, %d plainly:\n%s", shim.code, plain.code, shim.err);
  char *ea = it_without_loopscope_lines(plain.err), *eb = it_without_loopscope_lines(shim.err);
  ck_assert_msg(strcmp(ea, eb) == 0,
                "stderr differs (lines starting 'loopscope' removed)\n--- plain:\n%s\n--- shim:\n%s", ea, eb);
  free(ea);
  free(eb);
  free(a);
  free(b);
  free(plain_out);
  free(shim_out);
  it_proc_free(&plain);
  it_proc_free(&shim);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inval_args");
  TCase *tc = it_tcase(s, "table");
  tcase_add_test(tc, every_hooked_function_has_a_row_or_a_reason);
  tc = it_tcase(s, "transparent");
  tcase_add_test(tc, every_row_returns_the_same_plainly_and_under_the_shim);
  return it_main(s);
}
