/* Issue 4, items 4 and 5: programs no adapter can see into, under the real shim and CLI.
 *
 *   real_static_uv_spin  libuv linked in statically (libuv_a.a): no libuv site and no "libuv" loop can
 *                        appear; libuv's epoll_wait makes it a generic loop, and a ~500 ms spin in a timer
 *                        callback is one loop-stall whose top sampled frame is spin_in_static_libuv,
 *                        called from on_tick at its marked line, under libuv's uv_run inside the
 *                        program itself.
 *   real_static_uv_clean its clean twin: the same static libuv, busy (timer, thread pool, async, a TCP
 *                        echo over loopback) but never blocking: the loop is found, nothing reported.
 *   real_epoll_blocking  a hand-written epoll server whose handler fsyncs once, usleeps once and spins
 *                        ~500 ms once: two blocking-call findings (call, calling function, file:line) and
 *                        one loop-stall in the spinning function.
 *   real_mt_clean        one epoll loop thread doing only non-blocking work while worker threads sleep,
 *                        fsync, read a pipe, contend a mutex, wait on a condvar and resolve a name: the
 *                        loop is found and nothing is reported.
 *   node                 /usr/bin/node embeds libuv (official build): a 400 ms busy loop in a JS timer is
 *                        one loop-stall on node's main thread, its stack unwound through V8's JIT
 *                        frames (anonymous code, reported as bare addresses, never named) down to
 *                        libuv's uv_run inside node; exit status and stdout as without loopscope. Its
 *                        clean twin (timers, a promise, pool work) reports nothing.
 *
 * One binary, two CTest tests (it_real_programs, it_real_node): the argument picks the suite. "node"
 * exits 77 (skipped) when /usr/bin/node is not installed or maps a shared libuv, so a missing node
 * never passes silently and never hides the programs' results.
 *
 * Margins are wide on purpose (400-500 ms spins against the 100 ms default stall_ms, asserting >= 300 ms):
 * these tests must hold on a loaded 2-core machine. */
#define _GNU_SOURCE
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it_util.h"

#define STATIC_SRC "real_static_uv_spin.c"
#define EPOLL_SRC "real_epoll_blocking.c"

/* ---- helpers ---- */

static json_object *run_prog(struct it_proc *p, const char *dir, const char *prog) {
  const char *argv[] = {prog, NULL};
  it_loopscope_run(p, dir, NULL, argv);
  json_object *root = it_report_json(dir);
  json_object *t = it_need(root, "truncated");
  ck_assert_msg(json_object_is_type(t, json_type_boolean) && !json_object_get_boolean(t), "report truncated:\n%s",
                it_json_text(root));
  return root;
}

/* The report's only process. */
static json_object *only_process(json_object *root) {
  json_object *procs = it_need(root, "processes");
  ck_assert_msg(json_object_array_length(procs) == 1, "%zu processes, expected one:\n%s",
                json_object_array_length(procs), it_json_text(procs));
  return json_object_array_get_idx(procs, 0);
}

/* Index in the finding's stack of the innermost frame of function, or -1. */
static int frame_of(json_object *f, const char *function) {
  json_object *stack = it_need(f, "stack");
  for (size_t i = 0; i < json_object_array_length(stack); i++) {
    const char *fn = it_str(json_object_array_get_idx(stack, i), "function");
    if (fn && strcmp(fn, function) == 0) return (int)i;
  }
  return -1;
}

/* How many of the process's loops are of library lib; *iterations gets the sum of theirs. */
static size_t loops_of(json_object *proc, const char *lib, int64_t *iterations) {
  json_object *loops = it_need(proc, "loops");
  size_t n = 0;
  if (iterations) *iterations = 0;
  for (size_t i = 0; i < json_object_array_length(loops); i++) {
    json_object *l = json_object_array_get_idx(loops, i);
    const char *name = it_str(l, "library");
    if (!name || strcmp(name, lib) != 0) continue;
    n++;
    if (iterations) *iterations += it_int(l, "iterations");
  }
  return n;
}

/* The one loop-stall of the report, which must have spun in spin_fn (the most sampled frame, in src),
 * called from caller at caller_line of src, for at least 300 ms, most of it on the CPU. */
static json_object *check_spin_stall(json_object *root, const char *spin_fn, const char *src, const char *caller,
                                     int caller_line) {
  json_object *f[8];
  size_t n = it_findings(root, "loop-stall", f, 8);
  ck_assert_msg(n == 1, "%zu loop-stall findings, expected one:\n%s", n, it_json_text(it_need(root, "findings")));
  const char *text = it_json_text(f[0]);
  ck_assert_str_eq(it_str(f[0], "severity"), "warning");
  ck_assert_msg(it_int(f[0], "duration_ns") >= 300000000, "a 500 ms spin, a stall under 300 ms:\n%s", text);
  /* the spin is ~500 ms of the thread's CPU time; the watchdog counts from when it first saw the
   * iteration (one stall_sample_ms late, or more on a loaded machine): 200 ms at least */
  ck_assert_msg(it_int(f[0], "cpu_ns") >= 200000000, "a 500 ms CPU spin, under 200 ms on CPU:\n%s", text);
  const char *top = it_str(f[0], "samples.0.frame.function");
  ck_assert_msg(top && strcmp(top, spin_fn) == 0, "the most sampled frame is not %s:\n%s", spin_fn, text);
  ck_assert_msg(strcmp(it_base(it_str(f[0], "samples.0.frame.file")), src) == 0, "top frame not in %s:\n%s", src,
                text);
  ck_assert_msg(it_int(f[0], "samples.0.count") >= 1, "no sample count:\n%s", text);
  int i = frame_of(f[0], spin_fn);
  ck_assert_msg(i >= 0, "%s is not in the sampled stack:\n%s", spin_fn, text);
  json_object *up = it_get(f[0], "stack");
  up = (size_t)i + 1 < json_object_array_length(up) ? json_object_array_get_idx(up, (size_t)i + 1) : NULL;
  ck_assert_msg(up && it_str(up, "function") && strcmp(it_str(up, "function"), caller) == 0 &&
                    it_frame_is(up, src, caller_line),
                "%s is not called from %s at %s:%d in the sampled stack:\n%s", spin_fn, caller, src, caller_line, text);
  return f[0];
}

/* ---- libuv linked statically ---- */

START_TEST(static_libuv_stall_names_the_spinning_function) {
  int call_line = it_marker_line(STATIC_SRC, "spin call");
  char *dir = it_mkdir("it_real_static_uv");
  struct it_proc p;
  json_object *root = run_prog(&p, dir, LS_PROG_real_static_uv_spin);
  ck_assert_msg(p.code == 0, "exit %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  /* the build is what this test is about: no libuv shared object may be mapped */
  ck_assert_msg(strcmp(p.out, "shared libuv: none\nticks=20\n") == 0, "program printed:\n%s", p.out);

  json_object *f = check_spin_stall(root, "spin_in_static_libuv", STATIC_SRC, "on_tick", call_line);
  /* libuv's frames are the program's own: uv_run lives in the executable, not in a libuv.so */
  int i = frame_of(f, "uv_run");
  ck_assert_msg(i >= 0, "uv_run is not in the sampled stack:\n%s", it_json_text(f));
  char path[32];
  snprintf(path, sizeof(path), "stack.%d", i);
  ck_assert_msg(strcmp(it_base(it_str(it_get(f, path), "module")), "real_static_uv_spin") == 0,
                "uv_run is not in the program itself:\n%s", it_json_text(f));

  json_object *all[4];
  size_t n = it_findings(root, NULL, all, 4);
  ck_assert_msg(n == 1, "%zu findings, expected the loop-stall only:\n%s", n, it_json_text(it_need(root, "findings")));

  /* what the adapter cannot see: no libuv loop, no callback site; the loop is libuv's epoll_wait site */
  json_object *proc = only_process(root);
  int64_t iterations;
  ck_assert_msg(loops_of(proc, "libuv", NULL) == 0, "a libuv loop for a static libuv:\n%s",
                it_json_text(it_need(proc, "loops")));
  ck_assert_msg(loops_of(proc, "epoll", &iterations) == 1 && iterations >= 10,
                "not one epoll loop with >= 10 iterations (20 ticks):\n%s", it_json_text(it_need(proc, "loops")));
  ck_assert_msg(json_object_array_length(it_need(proc, "sites")) == 0, "adapter sites for a static libuv:\n%s",
                it_json_text(it_need(proc, "sites")));
  /* The report says why no adapter sees it: the loop polls from libuv's own uv__io_poll, in the program. */
  json_object *loop = json_object_array_get_idx(it_need(proc, "loops"), 0);
  ck_assert_msg(it_str(loop, "static_library") && strcmp(it_str(loop, "static_library"), "libuv") == 0 &&
                    strcmp(it_base(it_str(loop, "static_module")), "real_static_uv_spin") == 0,
                "the loop does not say libuv is linked statically into the program:\n%s", it_json_text(loop));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

START_TEST(static_libuv_clean_has_no_finding) {
  char *dir = it_mkdir("it_real_static_uv_clean");
  struct it_proc p;
  json_object *root = run_prog(&p, dir, LS_PROG_real_static_uv_clean);
  ck_assert_msg(p.code == 0, "exit %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  ck_assert_msg(strcmp(p.out, "shared libuv: none\nticks=40 work=1 async=1 echoed=1\n") == 0, "program printed:\n%s",
                p.out);
  json_object *all[8];
  size_t n = it_findings(root, NULL, all, 8);
  ck_assert_msg(n == 0, "%zu findings, expected none:\n%s", n, it_json_text(it_need(root, "findings")));
  json_object *proc = only_process(root);
  int64_t iterations;
  ck_assert_msg(loops_of(proc, "libuv", NULL) == 0 && json_object_array_length(it_need(proc, "sites")) == 0,
                "the adapter saw a static libuv:\n%s", it_json_text(proc));
  ck_assert_msg(loops_of(proc, "epoll", &iterations) == 1 && iterations >= 20,
                "not one epoll loop with >= 20 iterations (40 ticks):\n%s", it_json_text(it_need(proc, "loops")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* ---- a hand-written epoll server that blocks and stalls ---- */

/* The one blocking-call finding about call, made from function at src:line, once, for min_ns at least. */
static void check_blocking(json_object *root, const char *call, const char *function, const char *src, int line,
                           int64_t min_ns) {
  json_object *f[8], *found = NULL;
  size_t n = it_findings(root, "blocking-call", f, 8), m = 0;
  for (size_t i = 0; i < n && i < 8; i++) {
    const char *c = it_str(f[i], "call");
    if (c && strcmp(c, call) == 0) found = f[i], m++;
  }
  ck_assert_msg(m == 1, "%zu blocking-call findings about %s(), expected 1:\n%s", m, call,
                it_json_text(it_need(root, "findings")));
  const char *text = it_json_text(found);
  ck_assert_str_eq(it_str(found, "severity"), "warning");
  ck_assert_msg(it_int(found, "count") == 1, "the server called %s() once:\n%s", call, text);
  ck_assert_msg(it_int(found, "duration_ns") > 0 && it_int(found, "duration_ns") >= min_ns, "duration:\n%s", text);
  ck_assert_msg(it_str(found, "stack.0.function") && strcmp(it_str(found, "stack.0.function"), function) == 0 &&
                    it_frame_is(it_get(found, "stack.0"), src, line),
                "stack[0] is not %s at %s:%d:\n%s", function, src, line, text);
}

START_TEST(epoll_server_blocking_calls_and_stall) {
  int fsync_line = it_marker_line(EPOLL_SRC, "fsync"), usleep_line = it_marker_line(EPOLL_SRC, "usleep");
  int call_line = it_marker_line(EPOLL_SRC, "spin call");
  char *dir = it_mkdir("it_real_epoll_blocking");
  struct it_proc p;
  json_object *root = run_prog(&p, dir, LS_PROG_real_epoll_blocking);
  ck_assert_msg(p.code == 0, "exit %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  ck_assert_msg(strcmp(p.out, "requests=20\n") == 0, "program printed:\n%s", p.out);

  check_spin_stall(root, "spin_in_epoll_handler", EPOLL_SRC, "handle_request", call_line);
  check_blocking(root, "fsync", "flush_journal", EPOLL_SRC, fsync_line, 1);
  /* usleep(20000) sleeps at least 20 ms; the shim's clock may be the calibrated TSC: 5% below, no ceiling */
  check_blocking(root, "usleep", "throttle", EPOLL_SRC, usleep_line, 19000000);
  json_object *all[8];
  size_t n = it_findings(root, NULL, all, 8);
  ck_assert_msg(n == 3, "%zu findings, expected fsync, usleep and the stall:\n%s", n,
                it_json_text(it_need(root, "findings")));

  /* the loop is the server thread's, not the main thread's (the client's blocking reads are not a loop) */
  json_object *proc = only_process(root);
  int64_t iterations;
  ck_assert_msg(loops_of(proc, "epoll", &iterations) == 1 && iterations >= 20,
                "not one epoll loop with >= 20 iterations (20 requests):\n%s", it_json_text(it_need(proc, "loops")));
  ck_assert_msg(it_int(proc, "loops.0.thread") != it_int(proc, "pid"), "the loop is on the main thread:\n%s",
                it_json_text(it_need(proc, "loops")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* ---- a clean multi-threaded program ---- */

START_TEST(mt_clean_has_no_finding) {
  char *dir = it_mkdir("it_real_mt_clean");
  struct it_proc p;
  json_object *root = run_prog(&p, dir, LS_PROG_real_mt_clean);
  ck_assert_msg(p.code == 0, "exit %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  int workers = 0, iterations = 0;
  ck_assert_msg(sscanf(p.out, "workers=%d iterations=%d", &workers, &iterations) == 2 && workers == 9,
                "program printed:\n%s", p.out);
  /* nothing logged live either */
  ck_assert_msg(!strstr(p.err, "warning") && !strstr(p.err, "Blocking call") && !strstr(p.err, "Loop iteration"),
                "live findings on stderr:\n%s", p.err);

  json_object *all[8];
  size_t n = it_findings(root, NULL, all, 8);
  ck_assert_msg(n == 0, "%zu findings, expected none:\n%s", n, it_json_text(it_need(root, "findings")));

  /* the loop was seen (so "no finding" means something): one epoll loop, on neither the main thread
   * nor a worker that blocks, with about as many iterations as the program counted */
  json_object *proc = only_process(root);
  int64_t seen;
  ck_assert_msg(loops_of(proc, "epoll", &seen) == 1, "not one epoll loop:\n%s", it_json_text(it_need(proc, "loops")));
  ck_assert_msg(seen >= 10 && seen <= iterations + 1, "the loop ran %d iterations, the report counts %lld:\n%s",
                iterations, (long long)seen, it_json_text(it_need(proc, "loops")));
  ck_assert_msg(it_int(proc, "loops.0.thread") != it_int(proc, "pid"), "the loop is on the main thread:\n%s",
                it_json_text(it_need(proc, "loops")));
  /* every thread is accounted for: main, the loop thread and 9 workers (the shim's own thread aside) */
  json_object *threads = it_need(proc, "threads");
  size_t ours = 0;
  for (size_t i = 0; i < json_object_array_length(threads); i++) {
    const char *name = it_str(json_object_array_get_idx(threads, i), "name");
    if (!name || strncmp(name, "loopscope", 9) != 0) ours++;
  }
  ck_assert_msg(ours == 11, "%zu threads of the program, expected 11:\n%s", ours, it_json_text(threads));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* ---- node: libuv embedded, JIT frames ---- */

#define NODE "/usr/bin/node"

/* What node itself does that the shim reports, one line each, with why; applied when the report is
 * rendered (loopscope report --suppressions), so the findings array must still be exactly what the
 * program did.
 *  - V8's scavenger, run on the main thread, waits on a condition variable for its helper threads;
 *    on a busy machine that wait passes lock_wait_ms: the runtime's own wait, not the script's.
 * (Node's exit-time join of its workers, after its main loop's last poll, is no longer reported: a
 * generic loop is one epoll fd, and node's exit polls another loop's.) */
static const char NODE_SUPP[] = "blocking-call:v8::internal::Heap::CollectGarbage*\n";

/* `loopscope report --format=json --suppressions=NODE_SUPP DIR/report.*.lsr`, parsed; what was
 * suppressed is said on stderr (so a run shows when the known cases happened). */
static json_object *node_report_json(const char *dir) {
  char *supp, *pat;
  ck_assert_int_ge(asprintf(&supp, "%s/node.supp", dir), 0);
  it_write_file(supp, NODE_SUPP, strlen(NODE_SUPP));
  char *flag;
  ck_assert_int_ge(asprintf(&flag, "--suppressions=%s", supp), 0);
  ck_assert_int_ge(asprintf(&pat, "%s/report.*.lsr", dir), 0);
  glob_t g;
  ck_assert_msg(glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0, "no report matches %s", pat);
  const char **argv = calloc(g.gl_pathc + 5, sizeof(char *));
  ck_assert_ptr_nonnull(argv);
  size_t n = 0;
  argv[n++] = LS_CLI;
  argv[n++] = "report";
  argv[n++] = "--format=json";
  argv[n++] = flag;
  for (size_t i = 0; i < g.gl_pathc; i++) argv[n++] = g.gl_pathv[i];
  struct it_proc p;
  it_run(&p, dir, argv, NULL, NULL);
  ck_assert_msg(p.code == 0, "loopscope report exited %d\nstderr:\n%s", p.code, p.err);
  json_object *root = json_tokener_parse(p.out);
  ck_assert_msg(root && json_object_is_type(root, json_type_object), "not a JSON object:\n%s", p.out);
  json_object *sup = it_get(root, "suppressed");
  for (size_t i = 0; sup && i < json_object_array_length(sup); i++)
    fprintf(stderr, "it_real_targets: node: suppressed (a known shim limitation): %s\n",
            it_str(json_object_array_get_idx(sup, i), "message"));
  it_proc_free(&p);
  free(argv);
  globfree(&g);
  free(pat);
  free(flag);
  free(supp);
  return root;
}
/* Ticks every 5 ms (the first ticks make libuv's epoll_pwait site a loop), busy-waits 400 ms on tick
 * 10, stops at tick 20; an exit code of its own, so that passing it through means something. */
#define NODE_JS                                                                                          \
  "let n = 0;\n"                                                                                         \
  "const t = setInterval(() => {\n"                                                                      \
  "  n++;\n"                                                                                             \
  "  if (n === 10) { const end = Date.now() + 400; let x = 0; while (Date.now() < end) x++; }\n"          \
  "  if (n === 20) { clearInterval(t); console.log('ticks=' + n); process.exitCode = 7; }\n"              \
  "}, 5);\n"

/* The issue's own example: one 300 ms busy loop in node's very first timer, which runs after node's
 * second poll (the loop is watched from then on). Start-up says libuv is linked statically. */
START_TEST(node_first_timer_stall_is_seen) {
  char *dir = it_mkdir("it_real_node_first");
  const char *argv[] = {NODE, "-e", "setTimeout(() => { const e = Date.now() + 300; while (Date.now() < e) {} }, 50)",
                        NULL};
  const char *flags[] = {"--verbosity=2", NULL};
  struct it_proc run;
  it_loopscope_run(&run, dir, flags, argv);
  ck_assert_msg(run.code == 0, "exit %d\nstderr:\n%s", run.code, run.err);
  ck_assert_msg(strstr(run.err, "loopscope: libuv is linked statically into " NODE
                                ": only thread, poll and stall findings are available"),
                "no start-up line about the static libuv:\n%s", run.err);
  json_object *root = node_report_json(dir);
  json_object *f[4];
  size_t n = it_findings(root, NULL, f, 4);
  ck_assert_msg(n == 1 && strcmp(it_str(f[0], "category"), "loop-stall") == 0,
                "%zu findings, expected one loop-stall:\n%s", n, it_json_text(it_need(root, "findings")));
  ck_assert_msg(it_int(f[0], "duration_ns") >= 250000000, "a 300 ms busy loop, a shorter stall:\n%s",
                it_json_text(f[0]));
  json_object *loop = json_object_array_get_idx(it_need(only_process(root), "loops"), 0);
  ck_assert_msg(it_str(loop, "static_library") && strcmp(it_str(loop, "static_library"), "libuv") == 0,
                "node's loop does not say libuv is linked statically:\n%s", it_json_text(loop));
  json_object_put(root);
  it_proc_free(&run);
  it_done(dir);
}
END_TEST

START_TEST(node_stall_unwinds_through_jit_frames) {
  char *dir = it_mkdir("it_real_node");
  const char *argv[] = {NODE, "-e", NODE_JS, NULL};
  struct it_proc plain, run;
  it_run(&plain, dir, argv, NULL, NULL);
  ck_assert_msg(plain.code == 7 && strcmp(plain.out, "ticks=20\n") == 0, "node alone: exit %d, printed:\n%s\n%s",
                plain.code, plain.out, plain.err);
  /* the whole stack, not the default 16 frames: where it ends is what this test looks at */
  const char *flags[] = {"--stack-depth=64", NULL};
  it_loopscope_run(&run, dir, flags, argv);
  ck_assert_msg(run.code == plain.code, "exit %d under loopscope run, %d alone\nstderr:\n%s", run.code, plain.code,
                run.err);
  ck_assert_msg(run.outlen == plain.outlen && memcmp(run.out, plain.out, plain.outlen) == 0,
                "stdout differs\n--- alone:\n%s\n--- loopscope run:\n%s", plain.out, run.out);
  char *a = it_without_loopscope_lines(plain.err), *b = it_without_loopscope_lines(run.err);
  ck_assert_msg(strcmp(a, b) == 0, "stderr differs (loopscope's lines removed)\n--- alone:\n%s\n--- run:\n%s", a, b);
  free(a);
  free(b);

  json_object *root = node_report_json(dir);
  json_object *proc = only_process(root);
  json_object *f[4];
  size_t n = it_findings(root, NULL, f, 4);
  ck_assert_msg(n == 1 && strcmp(it_str(f[0], "category"), "loop-stall") == 0,
                "%zu findings, expected one loop-stall:\n%s", n, it_json_text(it_need(root, "findings")));
  const char *text = it_json_text(f[0]);
  ck_assert_msg(it_int(f[0], "duration_ns") >= 300000000, "a 400 ms busy loop, a stall under 300 ms:\n%s", text);
  ck_assert_msg(it_int(f[0], "tid") == it_int(proc, "pid"), "not node's main thread:\n%s", text);
  ck_assert_msg(it_int(f[0], "samples.0.count") >= 1, "no samples:\n%s", text);

  /* The stack: native frames named from node's symbol table (libuv's with file:line, node is built
   * with debug info), V8's generated code as bare addresses: no module, so no name may be made up. */
  json_object *stack = it_need(f[0], "stack");
  size_t depth = json_object_array_length(stack), anonymous = 0;
  for (size_t i = 0; i < depth; i++) {
    json_object *fr = json_object_array_get_idx(stack, i);
    if (it_str(fr, "module")) continue;
    anonymous++;
    ck_assert_msg(!it_str(fr, "function") && !it_str(fr, "file"), "a name for code in no module:\n%s", text);
  }
  /* V8 keeps frame pointers in its generated code, so the unwinder gets through it: under the JS
   * frames, node's timer callback and libuv's uv_run, which is in node itself */
  int run_timers = -1, uv_run = frame_of(f[0], "uv_run");
  for (size_t i = 0; i < depth && run_timers < 0; i++) {
    const char *fn = it_str(json_object_array_get_idx(stack, i), "function");
    if (fn && strstr(fn, "RunTimers")) run_timers = (int)i;
  }
  ck_assert_msg(run_timers > 0 && uv_run > run_timers, "no node::Environment::RunTimers under uv_run:\n%s", text);
  char path[32];
  snprintf(path, sizeof(path), "stack.%d", uv_run);
  ck_assert_msg(strcmp(it_base(it_str(it_get(f[0], path), "module")), "node") == 0 &&
                    strcmp(it_base(it_str(it_get(f[0], path), "file")), "core.c") == 0,
                "uv_run is not libuv's core.c inside node:\n%s", text);
  ck_assert_msg(anonymous >= 1, "no frame of generated code between the JS callback and RunTimers:\n%s", text);
  fprintf(stderr, "it_real_targets: node: %zu frames, %zu of them generated code (no module); innermost %s, "
                  "outermost %s\n",
          depth, anonymous, it_str(f[0], "stack.0.function") ? it_str(f[0], "stack.0.function") : "(unnamed)",
          it_str(json_object_array_get_idx(stack, depth - 1), "function"));

  /* node's libuv is invisible to the adapter: no libuv loop, no callback site */
  ck_assert_msg(loops_of(proc, "libuv", NULL) == 0, "a libuv loop in node:\n%s", it_json_text(it_need(proc, "loops")));
  ck_assert_msg(json_object_array_length(it_need(proc, "sites")) == 0, "adapter sites in node:\n%s",
                it_json_text(it_need(proc, "sites")));
  json_object_put(root);
  it_proc_free(&plain);
  it_proc_free(&run);
  it_done(dir);
}
END_TEST

/* Whether node has a libuv shared object mapped (Debian's nodejs links libuv1; official builds embed
 * libuv). Asked of node itself, before any test runs. */
static bool node_maps_libuv(void) {
  FILE *f = popen(NODE " -p \"require('fs').readFileSync('/proc/self/maps', 'utf8').includes('/libuv')\""
                       " 2>/dev/null", "r");
  if (!f) return false;
  char buf[16] = "";
  bool mapped = fgets(buf, sizeof(buf), f) && strncmp(buf, "true", 4) == 0;
  pclose(f);
  return mapped;
}

/* The clean twin: timers, an immediate, a promise, a file read and random bytes from libuv's thread
 * pool, and a child_process-free, network-free script: node's loop is busy but never blocked. */
#define NODE_CLEAN_JS                                                                                     \
  "const fs = require('fs'), crypto = require('crypto');\n"                                              \
  "let n = 0, done = 0;\n"                                                                               \
  "const finish = () => { if (++done === 4) console.log('ticks=' + n + ' done=' + done); };\n"          \
  "const t = setInterval(() => { if (++n === 20) { clearInterval(t); finish(); } }, 5);\n"              \
  "setImmediate(() => Promise.resolve(1).then(finish));\n"                                             \
  "fs.readFile('/proc/self/status', (err, data) => { if (!err && data.length > 0) finish(); });\n"     \
  "crypto.randomBytes(64, (err, buf) => { if (!err && buf.length === 64) finish(); });\n"

START_TEST(node_clean_has_no_finding) {
  char *dir = it_mkdir("it_real_node_clean");
  const char *argv[] = {NODE, "-e", NODE_CLEAN_JS, NULL};
  struct it_proc p;
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0 && strcmp(p.out, "ticks=20 done=4\n") == 0, "exit %d, printed:\n%s\nstderr:\n%s", p.code,
                p.out, p.err);
  json_object *root = node_report_json(dir);
  json_object *all[8];
  size_t n = it_findings(root, NULL, all, 8);
  ck_assert_msg(n == 0, "%zu findings, expected none:\n%s", n, it_json_text(it_need(root, "findings")));
  json_object *proc = only_process(root);
  int64_t iterations;
  ck_assert_msg(loops_of(proc, "epoll", &iterations) >= 1 && iterations >= 10,
                "no epoll loop with >= 10 iterations (20 ticks):\n%s", it_json_text(it_need(proc, "loops")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "programs";
  Suite *s = suite_create("it_real_targets");
  TCase *tc = tcase_create(which);
  if (strcmp(which, "programs") == 0) {
    tcase_add_test(tc, static_libuv_stall_names_the_spinning_function);
    tcase_add_test(tc, static_libuv_clean_has_no_finding);
    tcase_add_test(tc, epoll_server_blocking_calls_and_stall);
    tcase_add_test(tc, mt_clean_has_no_finding);
  } else if (strcmp(which, "node") == 0) {
    if (access(NODE, X_OK) != 0) {
      fprintf(stderr, "it_real_targets: SKIP: %s is not installed\n", NODE);
      return 77;
    }
    if (node_maps_libuv()) {
      fprintf(stderr, "it_real_targets: SKIP: %s uses a shared libuv (a distribution's build): this test is "
                      "about a node that embeds libuv, as the official builds do\n", NODE);
      return 77;
    }
    tcase_add_test(tc, node_stall_unwinds_through_jit_frames);
    tcase_add_test(tc, node_first_timer_stall_is_seen);
    tcase_add_test(tc, node_clean_has_no_finding);
  } else {
    fprintf(stderr, "usage: it_real_targets [programs|node]\n");
    return 2;
  }
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
