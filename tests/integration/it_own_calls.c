/* Whose call is it: the program's own calls are the program's however they reach a hook, for the three
 * adapters. The programs (tests/programs/own_*_tail.c) are built with -O2 and end functions in tail
 * calls, so the return address a hook sees is not the program's (libglib's test runner, the shim's
 * trampoline); each test first checks with objdump that those calls really are `jmp`s, so a compiler
 * that stops making them fails the test instead of emptying it. Registrations made with a plain call
 * from a callback carry the program's file:line. The loop libraries' own calls stay theirs: the other
 * suites' clean programs (uv_loop_init's handles, bufferevents' events, GIO's sources) give no finding.
 *
 * The second thread of own_uv_tail and own_ev_tail waits inside a callback on purpose (so the wrong
 * call is made without a real race); --lock-wait keeps that deliberate wait from being a finding. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/* objdump's disassembly of function fn in prog ends in a tail call: a `jmp` to target's PLT entry. */
static void tail_calls(const char *prog, const char *fn, const char *target) {
  char *dir = it_mkdir("it_own_objdump");
  struct it_proc p;
  const char *argv[] = {"/usr/bin/objdump", "-d", "--no-show-raw-insn", prog, NULL};
  it_run(&p, dir, argv, NULL, NULL);
  ck_assert_msg(p.code == 0, "objdump -d %s exited %d:\n%s", prog, p.code, p.err);
  char head[128], jmp[128];
  snprintf(head, sizeof(head), "<%s>:\n", fn);
  snprintf(jmp, sizeof(jmp), "<%s@plt>", target);
  const char *start = strstr(p.out, head);
  ck_assert_msg(start != NULL, "no function %s in %s", fn, prog);
  const char *end = strstr(start, "\n\n");
  bool found = false;
  for (const char *l = start; l && (!end || l < end); l = strchr(l + 1, '\n')) {
    const char *nl = strchr(l + 1, '\n');
    size_t n = nl ? (size_t)(nl - l) : strlen(l);
    char line[256];
    snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), l);
    if (strstr(line, "\tjmp") && strstr(line, jmp)) found = true;
  }
  ck_assert_msg(found, "%s does not end in a tail call to %s (jmp %s): the test would test nothing", fn, target,
                jmp);
  it_proc_free(&p);
  it_done(dir);
}

/* The report's site whose callback is function fn (exactly one). */
static json_object *site_of(json_object *proc, const char *fn) {
  json_object *sites = it_need(proc, "sites"), *found = NULL;
  int n = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    const char *f = it_str(s, "callback.function");
    if (f && strcmp(f, fn) == 0) found = s, n++;
  }
  ck_assert_msg(n == 1, "%d sites of %s, expected one (the program's registration):\n%s", n, fn,
                it_json_text(sites));
  return found;
}

static void site_count(json_object *proc, const char *fn, const char *kind, int64_t count) {
  json_object *s = site_of(proc, fn);
  ck_assert_msg(strcmp(it_str(s, "kind"), kind) == 0 && it_int(s, "count") == count,
                "site of %s: expected kind %s, count %lld:\n%s", fn, kind, (long long)count, it_json_text(s));
}

/* The site of fn was registered at src's marked line (its stack[0]). */
static void site_line(json_object *proc, const char *fn, const char *src, const char *marker, const char *in_fn) {
  json_object *s = site_of(proc, fn);
  int line = it_marker_line(src, marker);
  ck_assert_msg(it_frame_is(it_get(s, "stack.0"), src, line), "site of %s not registered at %s:%d:\n%s", fn, src,
                line, it_json_text(s));
  const char *f = it_str(s, "stack.0.function");
  ck_assert_msg(f && strcmp(f, in_fn) == 0, "site of %s: stack[0] is not in %s:\n%s", fn, in_fn, it_json_text(s));
}

/* The one finding of the report is a wrong-thread about call, from the main thread, the other loop's
 * thread (printed as other_tid=N) as the one running it. */
static void one_wrong_thread(struct it_report_run *r, const char *call) {
  json_object *f[4];
  size_t all = it_findings(r->root, NULL, f, 4);
  ck_assert_msg(all == 1, "%zu findings, expected one wrong-thread:\n%s", all, it_json_text(it_need(r->root, "findings")));
  ck_assert_str_eq(it_str(f[0], "category"), "wrong-thread");
  ck_assert_str_eq(it_str(f[0], "call"), call);
  int other = 0;
  ck_assert_msg(sscanf(r->p.out, "other_tid=%d", &other) == 1 && other > 0, "program printed: %s", r->p.out);
  ck_assert_int_eq(it_int(f[0], "other_tid"), other);
  ck_assert_int_eq(it_int(f[0], "tid"), it_int(r->proc, "pid"));
}

/* Exactly the open items expected (kinds), nothing else. */
static void open_exactly(json_object *proc, const char *const kinds[], size_t n) {
  json_object *open = it_need(proc, "still_open_at_exit");
  ck_assert_msg(json_object_array_length(open) == n, "%zu items still open at exit expected:\n%s", n,
                it_json_text(open));
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(strcmp(it_str(json_object_array_get_idx(open, i), "kind"), kinds[i]) == 0,
                  "still open at exit, item %zu is not a %s:\n%s", i, kinds[i], it_json_text(open));
}

/* ---- libuv and libevent: the same program shape (own_uv_tail.c, own_ev_tail.c) ---- */

struct tail_prog {
  const char *prog, *name, *src;
  const char *poke_call, *a_call, *b_call; /* what on_poke, on_a and on_b tail-call */
  const char *b_marker, *kind;             /* where on_a registers on_b (a plain call), the sites' kind */
  const char *open_kind;                   /* what on_a's tail call left open at exit, or NULL */
};

static void tail_calls_from_callbacks(const struct tail_prog *t) {
  tail_calls(t->prog, "on_poke", t->poke_call);
  tail_calls(t->prog, "on_a", t->a_call);
  tail_calls(t->prog, "on_b", t->b_call);
  struct it_report_run r;
  const char *flags[] = {"--lock-wait=60000", NULL};
  const char *argv[] = {t->prog, NULL};
  it_run_report(&r, t->name, flags, argv, 0);
  ck_assert_msg(strstr(r.p.out, " a=1 b=1 c=1\n"), "program printed: %s", r.p.out);
  /* on_poke's tail call on the other thread's loop: the program's wrong call */
  one_wrong_thread(&r, t->poke_call);
  /* on_a's plain call, from a callback: the program's line */
  site_line(r.proc, "on_b", t->src, t->b_marker, "on_a");
  site_count(r.proc, "on_b", t->kind, 1);
  /* a tail call registered on_c (libuv: on_b's uv_timer_start; libevent: on_a's event_assign) */
  site_count(r.proc, "on_c", t->kind, 1);
  /* libuv: on_a's tail call opened the program's idle handle, never closed */
  const char *const open[] = {t->open_kind};
  open_exactly(r.proc, open, t->open_kind ? 1 : 0);
  it_run_report_free(&r);
}

START_TEST(uv_tail_calls_from_callbacks_are_the_programs) {
  static const struct tail_prog t = {LS_PROG_own_uv_tail, "it_own_uv_tail", "own_uv_tail.c", "uv_timer_start",
                                     "uv_idle_init", "uv_timer_start", "start_b", "uv timer", "uv idle"};
  tail_calls_from_callbacks(&t);
}
END_TEST

START_TEST(ev_tail_calls_from_callbacks_are_the_programs) {
  static const struct tail_prog t = {LS_PROG_own_ev_tail, "it_own_ev_tail", "own_ev_tail.c", "event_add",
                                     "event_assign", "event_add", "new_b", "timer", NULL};
  tail_calls_from_callbacks(&t);
}
END_TEST

/* ---- GLib: a GTest whose test function unrefs its loop in a tail call, many runs ---- */

#define GL_RUNS 24

START_TEST(gl_tail_unref_is_the_programs_every_run) {
  tail_calls(LS_PROG_own_gl_tail, "test_unref", "g_main_loop_unref");
  tail_calls(LS_PROG_own_gl_tail, "on_once", "g_idle_add");
  tail_calls(LS_PROG_own_gl_tail, "test_idle", "g_idle_add");
  /* Before the fix about one run in three died at exit (SIGTRAP, exit 133) and others listed the freed
   * loop as still open: many runs, each checked whole. */
  for (int i = 0; i < GL_RUNS; i++) {
    struct it_report_run r;
    const char *argv[] = {LS_PROG_own_gl_tail, NULL};
    it_run_report(&r, "it_own_gl_tail", NULL, argv, 0);
    ck_assert_msg(strstr(r.p.out, "ticks=1 quits=1\n"), "run %d: program printed: %s", i, r.p.out);
    ck_assert_msg(!strstr(r.p.err, "CRITICAL"), "run %d: GLib complained:\n%s", i, r.p.err);
    it_no_findings(&r, "own_gl_tail");
    /* the loop the program unrefs is gone; the idle nobody dispatched is the program's, still open */
    const char *const open[] = {"glib idle"};
    open_exactly(r.proc, open, 1);
    site_count(r.proc, "on_left", "glib idle", 0);
    site_line(r.proc, "on_once", "own_gl_tail.c", "once", "test_unref");
    site_line(r.proc, "on_tick", "own_gl_tail.c", "from_callback", "on_once");
    site_count(r.proc, "on_tick", "glib timeout", 1);
    site_count(r.proc, "on_quit", "glib idle", 1); /* registered by on_once's tail call */
    it_run_report_free(&r);
  }
}
END_TEST

/* A loop the shim cannot see freed (own_gl_freed: a tail call from GLib's pool thread, a documented
 * limit) is freed memory at exit: the report must not read it. Before, about half the runs printed
 * "GLib-CRITICAL ... g_main_loop_get_context" (SIGTRAP where criticals are fatal, as in GTest). */
START_TEST(gl_freed_loop_is_never_read_at_exit) {
  tail_calls(LS_PROG_own_gl_freed, "drop", "g_main_loop_unref");
  for (int i = 0; i < GL_RUNS; i++) {
    struct it_report_run r;
    const char *argv[] = {LS_PROG_own_gl_freed, NULL};
    it_run_report(&r, "it_own_gl_freed", NULL, argv, 0);
    ck_assert_msg(strcmp(r.p.out, "dropped=1\n") == 0, "run %d: program printed: %s", i, r.p.out);
    ck_assert_msg(!strstr(r.p.err, "CRITICAL"), "run %d: GLib complained:\n%s", i, r.p.err);
    it_no_findings(&r, "own_gl_freed");
    json_object *open = it_need(r.proc, "still_open_at_exit");
    for (size_t k = 0; k < json_object_array_length(open); k++)
      ck_assert_msg(strcmp(it_str(json_object_array_get_idx(open, k), "kind"), "glib main loop") == 0,
                    "run %d: only the loop may be listed:\n%s", i, it_json_text(open));
    it_run_report_free(&r);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("own_calls");
  TCase *tc = it_tcase(s, "tail_calls");
  tcase_add_test(tc, uv_tail_calls_from_callbacks_are_the_programs);
  tcase_add_test(tc, ev_tail_calls_from_callbacks_are_the_programs);
  tcase_add_test(tc, gl_tail_unref_is_the_programs_every_run);
  tcase_add_test(tc, gl_freed_loop_is_never_read_at_exit);
  return it_main(s);
}
