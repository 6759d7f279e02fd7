/* The report survives what real programs do to a process (DESIGN.md §2, §4): closing "all" fds,
 * fork, exec, a crash, more callback sites than the trampoline pool, SIGKILL. Each program counts
 * what it did and prints it; the report must say the same, in the right process's report. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_util.h"

#define SLOW_NS 249750000 /* 250 ms busy-wait, less the 0.1% the calibrated TSC may be off */

/* The sites of proc whose callback is `function`; the one registered at file:line in *at (NULL if
 * none). Returns how many sites have that callback. */
static size_t sites_of(json_object *proc, const char *function, const char *file, int line, json_object **at) {
  json_object *sites = it_need(proc, "sites");
  size_t n = 0;
  if (at) *at = NULL;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    const char *fn = it_str(s, "callback.function");
    if (!fn || strcmp(fn, function) != 0) continue;
    n++;
    if (at && it_frame_is(it_get(s, "stack.0"), file, line)) *at = s;
  }
  return n;
}

/* The count of function's site at file:line in proc: the site must exist, once. */
static int64_t site_count(json_object *proc, const char *function, const char *file, int line) {
  json_object *s;
  size_t n = sites_of(proc, function, file, line, &s);
  ck_assert_msg(n == 1 && s, "process %lld: %zu sites for %s, expected one registered at %s:%d:\n%s",
                (long long)it_int(proc, "pid"), n, function, file, line, it_json_text(it_get(proc, "sites")));
  return it_int(s, "count");
}

/* A site's count, or 0 when the process has no site for function at all. */
static int64_t count_or_zero(json_object *proc, const char *function, const char *file, int line) {
  return sites_of(proc, function, file, line, NULL) == 0 ? 0 : site_count(proc, function, file, line);
}

/* The process of root with this pid (and seq, unless seq < 0): exactly one. */
static json_object *process(json_object *root, int64_t pid, int seq) {
  json_object *procs = it_need(root, "processes"), *found = NULL;
  size_t n = 0;
  for (size_t i = 0; i < json_object_array_length(procs); i++) {
    json_object *p = json_object_array_get_idx(procs, i);
    if (it_int(p, "pid") != pid || (seq >= 0 && it_int(p, "seq") != seq)) continue;
    found = p;
    n++;
  }
  ck_assert_msg(n == 1, "%zu processes with pid %lld seq %d in:\n%s", n, (long long)pid, seq, it_json_text(procs));
  return found;
}

static void assert_complete(json_object *proc, const char *how, int status) {
  const char *text = it_json_text(proc);
  ck_assert_msg(!json_object_get_boolean(it_need(proc, "truncated")), "process report is truncated:\n%s", text);
  ck_assert_msg(it_str(proc, "exit.how") && strcmp(it_str(proc, "exit.how"), how) == 0, "exit.how is not %s:\n%s",
                how, text);
  ck_assert_msg(it_int(proc, "exit.status") == status, "exit.status is not %d:\n%s", status, text);
}

/* The one finding of root: a slow-callback for function, registered at file:line, seen count times. */
static json_object *the_slow_callback(json_object *root, const char *function, const char *file, int line,
                                      int64_t count) {
  json_object *f[8];
  size_t n = it_findings(root, NULL, f, 8);
  ck_assert_msg(n == 1, "%zu findings, expected one slow-callback:\n%s", n, it_json_text(it_need(root, "findings")));
  const char *text = it_json_text(f[0]);
  ck_assert_msg(it_str(f[0], "category") && strcmp(it_str(f[0], "category"), "slow-callback") == 0,
                "not a slow-callback:\n%s", text);
  ck_assert_msg(it_str(f[0], "callback.function") && strcmp(it_str(f[0], "callback.function"), function) == 0,
                "callback is not %s:\n%s", function, text);
  ck_assert_msg(strcmp(it_base(it_str(f[0], "callback.file")), file) == 0, "callback file is not %s:\n%s", file, text);
  ck_assert_msg(it_frame_is(it_get(f[0], "stack.0"), file, line), "stack[0] is not %s:%d:\n%s", file, line, text);
  ck_assert_msg(it_int(f[0], "count") == count, "count is not %lld:\n%s", (long long)count, text);
  ck_assert_msg(it_int(f[0], "duration_ns") >= SLOW_NS, "duration_ns under 250 ms:\n%s", text);
  return f[0];
}

/* `loopscope report --format=json FILE` for one report file. */
static json_object *report_json_file(const char *dir, const char *path) {
  const char *argv[] = {LS_CLI, "report", "--format=json", path, NULL};
  struct it_proc p;
  it_run(&p, dir, argv, NULL, NULL);
  ck_assert_msg(p.code == 0, "loopscope report --format=json %s exited %d\nstderr:\n%s", path, p.code, p.err);
  json_object *root = json_tokener_parse(p.out);
  ck_assert_msg(root != NULL, "loopscope report printed no valid JSON:\n%s", p.out);
  it_proc_free(&p);
  return root;
}

/* ---- a program that closes or dup2()s over every fd ----------------------------------------------- */

static const char *const close_modes[] = {"close", "close_range", "closefrom", "dup2"};

START_TEST(report_fd_survives_closing_all_fds) {
  const char *mode = close_modes[_i], *src = "rob_closefds.c";
  int line = it_marker_line(src, "slow");
  char *dir = it_mkdir("it_rob_closefds");
  const char *argv[] = {LS_PROG_rob_closefds, mode, NULL};
  struct it_proc plain, p;
  it_run(&plain, dir, argv, NULL, NULL);
  ck_assert_msg(plain.code == 0, "%s plain exited %d:\n%s", mode, plain.code, plain.err);
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "%s: loopscope run exited %d\nstdout:\n%s\nstderr:\n%s", mode, p.code, p.out, p.err);
  ck_assert_msg(strcmp(p.out, plain.out) == 0, "%s: stdout differs\n--- plain:\n%s--- loopscope run:\n%s", mode,
                plain.out, p.out);
  char want[64];
  snprintf(want, sizeof(want), "mode=%s ticks=1\n", mode);
  ck_assert_str_eq(p.out, want);

  json_object *root = it_report_json(dir);
  ck_assert_msg(!json_object_get_boolean(it_need(root, "truncated")), "%s: report truncated:\n%s", mode,
                it_json_text(root));
  json_object *proc = it_need(root, "processes.0");
  ck_assert_uint_eq(json_object_array_length(it_need(root, "processes")), 1);
  assert_complete(proc, "exit", 0);
  the_slow_callback(root, "slow_tick", src, line, 1);
  ck_assert_int_eq(site_count(proc, "slow_tick", src, line), 1);
  json_object_put(root);
  it_proc_free(&plain);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* ---- fork: two reports, each with its own process's counts ---------------------------------------- */

START_TEST(fork_child_gets_its_own_report) {
  const char *src = "rob_fork.c";
  int before_line = it_marker_line(src, "before"), child_line = it_marker_line(src, "child"),
      parent_line = it_marker_line(src, "parent");
  char *dir = it_mkdir("it_rob_fork");
  const char *argv[] = {LS_PROG_rob_fork, NULL};
  struct it_proc p;
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "loopscope run exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  int child_ticks = -1, parent = -1, child = -1, before = -1, after = -1, child_status = -1;
  ck_assert_msg(sscanf(p.out, "child ticks=%d\nparent=%d child=%d before=%d after=%d child_status=%d", &child_ticks,
                       &parent, &child, &before, &after, &child_status) == 6,
                "program printed:\n%s", p.out);
  ck_assert_int_gt(child_ticks, 0);
  ck_assert_int_gt(before, 0);
  ck_assert_int_gt(after, 0);
  ck_assert_int_eq(child_status, 0);

  char **paths;
  size_t nfiles = it_reports(dir, &paths);
  ck_assert_msg(nfiles == 2, "%zu report files, expected 2 (parent %d, child %d)", nfiles, parent, child);
  it_free_paths(paths, nfiles);

  json_object *root = it_report_json(dir);
  ck_assert(!json_object_get_boolean(it_need(root, "truncated")));
  json_object *pp = process(root, parent, -1), *cp = process(root, child, -1);
  assert_complete(pp, "exit", 0);
  assert_complete(cp, "exit", 0);
  ck_assert_int_eq(it_int(cp, "ppid"), parent);

  /* the slow callback is the child's, in the child's report */
  json_object *f = the_slow_callback(root, "child_tick", src, child_line, child_ticks);
  ck_assert_int_eq(it_int(f, "pid"), child);

  /* the parent counted its own callbacks, before and after the fork, and none of the child's */
  ck_assert_int_eq(site_count(pp, "before_tick", src, before_line), before);
  ck_assert_int_eq(site_count(pp, "parent_tick", src, parent_line), after);
  ck_assert_int_eq(count_or_zero(pp, "child_tick", src, child_line), 0);
  /* the child counted its own, and not what the parent had counted before the fork */
  ck_assert_int_eq(site_count(cp, "child_tick", src, child_line), child_ticks);
  ck_assert_msg(count_or_zero(cp, "before_tick", src, before_line) == 0,
                "the child's report holds the parent's pre-fork count:\n%s", it_json_text(it_get(cp, "sites")));
  ck_assert_int_eq(count_or_zero(cp, "parent_tick", src, parent_line), 0);
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* ---- exec: the same pid, two reports in sequence ---------------------------------------------------- */

START_TEST(exec_image_gets_the_next_report) {
  const char *src = "rob_exec.c";
  int first_line = it_marker_line(src, "first"), second_line = it_marker_line(src, "second");
  char *dir = it_mkdir("it_rob_exec");
  const char *argv[] = {LS_PROG_rob_exec, NULL};
  struct it_proc p;
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "loopscope run exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  int pid1 = -1, pid2 = -1, first = -1, second = -1;
  ck_assert_msg(sscanf(p.out, "first pid=%d ticks=%d\nsecond pid=%d ticks=%d", &pid1, &first, &pid2, &second) == 4,
                "program printed:\n%s", p.out);
  ck_assert_int_eq(pid1, pid2);
  ck_assert_int_gt(first, 0);
  ck_assert_int_eq(second, 1);

  json_object *root = it_report_json(dir);
  ck_assert(!json_object_get_boolean(it_need(root, "truncated")));
  ck_assert_uint_eq(json_object_array_length(it_need(root, "processes")), 2);
  json_object *img0 = process(root, pid1, 0), *img1 = process(root, pid1, 1);
  assert_complete(img0, "exec", 0);
  assert_complete(img1, "exit", 0);
  ck_assert_int_eq(site_count(img0, "first_tick", src, first_line), first);
  ck_assert_int_eq(sites_of(img0, "second_tick", src, second_line, NULL), 0);
  ck_assert_int_eq(site_count(img1, "second_tick", src, second_line), 1);
  ck_assert_int_eq(count_or_zero(img1, "first_tick", src, first_line), 0);
  json_object *f = the_slow_callback(root, "second_tick", src, second_line, 1);
  ck_assert_int_eq(it_int(f, "pid"), pid1);
  json_object_put(root);

  /* rendered one by one, the finding is in the second image's file only */
  char **paths;
  size_t nfiles = it_reports(dir, &paths);
  ck_assert_uint_eq(nfiles, 2);
  for (size_t i = 0; i < nfiles; i++) {
    json_object *one = report_json_file(dir, paths[i]), *fs[4];
    int64_t seq = it_int(one, "processes.0.seq");
    ck_assert_msg(seq == 0 || seq == 1, "%s: seq %lld", paths[i], (long long)seq);
    size_t n = it_findings(one, NULL, fs, 4);
    ck_assert_msg(n == (seq == 1 ? 1u : 0u), "%s (seq %lld): %zu findings:\n%s", paths[i], (long long)seq, n,
                  it_json_text(it_need(one, "findings")));
    json_object_put(one);
  }
  it_free_paths(paths, nfiles);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* ---- a crash: the report is complete and says which signal ---------------------------------------- */

START_TEST(crash_leaves_a_complete_report) {
  const char *src = "rob_crash.c";
  int line = it_marker_line(src, "crash");
  char *dir = it_mkdir("it_rob_crash");
  const char *argv[] = {LS_PROG_rob_crash, NULL};
  struct it_proc p;
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 128 + SIGSEGV, "loopscope run exited %d, expected %d\nstdout:\n%s\nstderr:\n%s", p.code,
                128 + SIGSEGV, p.out, p.err);
  ck_assert_msg(!p.signaled, "loopscope run itself died of signal %d", p.sig);
  ck_assert_str_eq(p.out, "ticks=1\n");

  json_object *root = it_report_json(dir);
  ck_assert_msg(!json_object_get_boolean(it_need(root, "truncated")), "report truncated:\n%s", it_json_text(root));
  json_object *proc = it_need(root, "processes.0");
  assert_complete(proc, "signal", SIGSEGV);
  /* the call that crashed never returned: only the one normal run is counted */
  ck_assert_int_eq(site_count(proc, "crash_tick", src, line), 1);
  json_object *f[4];
  size_t n = it_findings(root, NULL, f, 4);
  ck_assert_msg(n == 0, "%zu findings:\n%s", n, it_json_text(it_need(root, "findings")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* ---- more sites than the trampoline pool ------------------------------------------------------------ */

START_TEST(sites_beyond_the_trampoline_pool) {
  const char *src = "rob_many_sites.c";
  int line = it_marker_line(src, "last");
  char *dir = it_mkdir("it_rob_many_sites");
  const char *argv[] = {LS_PROG_rob_many_sites, NULL};
  struct it_proc p;
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "loopscope run exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  int timers = -1, fires = -1;
  ck_assert_msg(sscanf(p.out, "timers=%d fires=%d", &timers, &fires) == 2, "program printed:\n%s", p.out);
  ck_assert_int_eq(timers, 300);
  ck_assert_int_eq(fires, 900);

  json_object *root = it_report_json(dir);
  ck_assert(!json_object_get_boolean(it_need(root, "truncated")));
  json_object *proc = it_need(root, "processes.0");
  assert_complete(proc, "exit", 0);
  json_object *sites = it_need(proc, "sites");
  bool seen[300] = {false};
  int64_t sum = 0;
  size_t ntimer = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    const char *kind = it_str(s, "kind"), *fn = it_str(s, "callback.function");
    ck_assert_msg(kind && strcmp(kind, "uv timer") == 0, "a site that is not a timer:\n%s", it_json_text(s));
    int k = -1, end = 0;
    ck_assert_msg(fn && sscanf(fn, "tick_%3d%n", &k, &end) == 1 && fn[end] == 0 && k >= 0 && k < 300,
                  "a site whose callback is not tick_NNN:\n%s", it_json_text(s));
    ck_assert_msg(!seen[k], "two sites for %s:\n%s", fn, it_json_text(sites));
    seen[k] = true;
    ck_assert_msg(it_int(s, "count") == 3, "%s ran 3 times, the report says:\n%s", fn, it_json_text(s));
    sum += it_int(s, "count");
    ntimer++;
  }
  ck_assert_uint_eq(ntimer, (size_t)timers);
  ck_assert_int_eq(sum, fires);
  the_slow_callback(root, "tick_299", src, line, 1);
  ck_assert_int_eq(site_count(proc, "tick_299", src, line), 3);
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* ---- SIGKILL: what was flushed before it is still readable ----------------------------------------- */

/* Starts `loopscope run FLAGS -- PROG` in dir with stdout and stderr in files, without waiting. */
static pid_t spawn_loopscope_run(const char *dir, const char *flag, const char *prog, char **outpath) {
  char *report, *errpath;
  ck_assert_int_ge(asprintf(&report, "%s/report.%%p.%%s.lsr", dir), 0);
  ck_assert_int_ge(asprintf(outpath, "%s/spawn.stdout", dir), 0);
  ck_assert_int_ge(asprintf(&errpath, "%s/spawn.stderr", dir), 0);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY), out = open(*outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600),
        err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || chdir(dir) != 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    unsetenv("LD_PRELOAD");
    unsetenv("LOOPSCOPE_OPTIONS");
    execl(LS_CLI, LS_CLI, "run", "-o", report, flag, "--", prog, (char *)NULL);
    _exit(127);
  }
  free(report);
  free(errpath);
  return pid;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

START_TEST(sigkill_leaves_the_flushed_prefix) {
  const char *src = "rob_sigkill.c";
  int line = it_marker_line(src, "tick");
  char *dir = it_mkdir("it_rob_sigkill"), *outpath;
  pid_t run = spawn_loopscope_run(dir, "--flush-interval=100ms", LS_PROG_rob_sigkill, &outpath);

  /* the program says it is ready (20 ticks done) and gives its pid; a guard, not a threshold */
  int prog = -1;
  for (int waited = 0; prog < 0; waited += 10) {
    char *out = it_read_file(outpath, NULL);
    if (out && sscanf(out, "ready pid=%d", &prog) != 1) prog = -1;
    free(out);
    if (prog > 0) break;
    if (waited > 60000 || waitpid(run, NULL, WNOHANG) == run) {
      kill(run, SIGKILL);
      ck_abort_msg("rob_sigkill never said it was ready");
    }
    sleep_ms(10);
  }
  /* 15 flush intervals: the 20 ticks before "ready" are in the report by then */
  sleep_ms(1500);
  ck_assert_int_eq(kill(prog, SIGKILL), 0);
  int status;
  ck_assert_int_eq(waitpid(run, &status, 0), run);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL, "loopscope run ended with status 0x%x",
                status);

  json_object *root = it_report_json(dir); /* exits 0 for a truncated report */
  ck_assert_msg(json_object_get_boolean(it_need(root, "truncated")), "a SIGKILLed report is not truncated:\n%s",
                it_json_text(root));
  json_object *proc = it_need(root, "processes.0");
  ck_assert_int_eq(it_int(proc, "pid"), prog);
  ck_assert(json_object_get_boolean(it_need(proc, "truncated")));
  ck_assert_msg(it_get(proc, "exit") == NULL || json_object_is_type(it_get(proc, "exit"), json_type_null),
                "a SIGKILLed process has an exit record:\n%s", it_json_text(proc));
  int64_t count = site_count(proc, "kill_tick", src, line);
  ck_assert_msg(count >= 20, "kill_tick: %lld calls in the report, at least 20 ran before \"ready\"", (long long)count);
  json_object_put(root);

  /* the text rendering too exits 0 and says it is truncated */
  char **paths;
  size_t nfiles = it_reports(dir, &paths);
  ck_assert_uint_eq(nfiles, 1);
  const char *argv[] = {LS_CLI, "report", paths[0], NULL};
  struct it_proc p;
  it_run(&p, dir, argv, NULL, NULL);
  ck_assert_msg(p.code == 0, "loopscope report exited %d:\n%s", p.code, p.err);
  ck_assert_msg(strstr(p.out, "truncated") || strstr(p.err, "truncated"), "no word of truncation:\n%s\n%s", p.out,
                p.err);
  it_proc_free(&p);
  it_free_paths(paths, nfiles);
  free(outpath);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_robust");
  TCase *tc = tcase_create("fds");
  tcase_add_loop_test(tc, report_fd_survives_closing_all_fds, 0, (int)(sizeof(close_modes) / sizeof(close_modes[0])));
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  tc = tcase_create("process");
  tcase_add_test(tc, fork_child_gets_its_own_report);
  tcase_add_test(tc, exec_image_gets_the_next_report);
  tcase_add_test(tc, crash_leaves_a_complete_report);
  tcase_add_test(tc, sigkill_leaves_the_flushed_prefix);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  tc = tcase_create("sites");
  tcase_add_test(tc, sites_beyond_the_trampoline_pool);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
