/* A whole process tree in one --output-dir (issue 7 item 3): `loopscope run --output-dir=DIR --
 * /bin/sh -c 'tree_parent; exit $?'`: the shell forks tree_parent, which forks a child that execs
 * tree_leaf, which leaks a failing thread nobody joins. Every process writes its own report into DIR
 * (created if missing); the finding belongs to the leaf's pid alone; run's --fail-on judges the tree;
 * --trace-children-skip=tree_leaf leaves the leaf (and its leak) unwatched; --suppressions reach every
 * process of the tree (passed on to the preload library: no live line); -o and --output-dir together
 * are refused. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "it_util.h"
#include "ls_options.h"

/* `loopscope run --output-dir=OUT FLAGS... -- /bin/sh -c 'tree_parent; exit $?'` in dir. */
static void run_tree(struct it_proc *p, const char *dir, const char *out, const char *const flags[]) {
  char *odir, *cmd;
  ck_assert_int_ge(asprintf(&odir, "--output-dir=%s", out), 0);
  ck_assert_int_ge(asprintf(&cmd, "'%s'; exit $?", LS_PROG_tree_parent), 0);
  const char *argv[32];
  size_t n = 0;
  argv[n++] = LS_CLI;
  argv[n++] = "run";
  argv[n++] = odir;
  for (size_t i = 0; flags && flags[i]; i++) argv[n++] = flags[i];
  argv[n++] = "--";
  argv[n++] = "/bin/sh";
  argv[n++] = "-c";
  argv[n++] = cmd;
  argv[n] = NULL;
  it_run(p, dir, argv, NULL, NULL);
  free(odir);
  free(cmd);
}

/* `loopscope report --format=json OUT` (the directory): exit 0 and JSON. */
static json_object *report_dir(const char *dir, const char *out) {
  const char *argv[] = {LS_CLI, "report", "--format=json", out, NULL};
  struct it_proc p;
  it_run(&p, dir, argv, NULL, NULL);
  ck_assert_msg(p.code == 0, "loopscope report %s exited %d:\n%s", out, p.code, p.err);
  json_object *root = json_tokener_parse(p.out);
  ck_assert_msg(root != NULL, "not JSON:\n%s", p.out);
  it_proc_free(&p);
  return root;
}

/* The process entry with this pid whose exe's base name is exe (NULL: any). */
static json_object *process(json_object *root, int pid, const char *exe) {
  json_object *procs = it_need(root, "processes");
  for (size_t i = 0; i < json_object_array_length(procs); i++) {
    json_object *pr = json_object_array_get_idx(procs, i);
    if (it_int(pr, "pid") != pid) continue;
    if (!exe || strcmp(it_base(it_str(pr, "exe")), exe) == 0) return pr;
  }
  return NULL;
}

START_TEST(leak_attributed_to_leaf) {
  char *dir = it_mkdir("it_tree_leak");
  char *out;
  ck_assert_int_ge(asprintf(&out, "%s/reports/tree", dir), 0); /* two levels that do not exist yet */
  struct it_proc p;
  run_tree(&p, dir, out, NULL);
  ck_assert_msg(p.code == 0, "plain run exited %d:\n%s", p.code, p.err);
  int leaf = 0, parent = 0, child = 0;
  const char *pl = strstr(p.out, "leaf="), *pp = strstr(p.out, "parent=");
  ck_assert_msg(pl && pp && sscanf(pl, "leaf=%d", &leaf) == 1 && sscanf(pp, "parent=%d child=%d", &parent, &child) == 2,
                "stdout:\n%s", p.out);
  ck_assert_int_eq(leaf, child); /* exec keeps the pid */
  ck_assert_msg(strstr(p.err, "unretrieved-error: Thread <tree_leaf_worker"), "run did not render the leaf's finding:\n%s",
                p.err);
  ck_assert_msg(strstr(p.err, "an error nobody retrieved"), "no live line for the leak:\n%s", p.err);
  it_proc_free(&p);
  struct stat st;
  ck_assert_msg(stat(out, &st) == 0 && S_ISDIR(st.st_mode), "--output-dir did not create %s", out);

  json_object *root = report_dir(dir, out);
  /* every process of the tree has its report there: the shell, the parent, the child before its exec
   * (ended by exec) and the leaf */
  json_object *pr_parent = process(root, parent, "tree_parent");
  ck_assert_msg(pr_parent, "no report of tree_parent (pid %d):\n%s", parent, it_json_text(root));
  int sh = (int)it_int(pr_parent, "ppid");
  json_object *pr_sh = process(root, sh, NULL);
  ck_assert_msg(pr_sh && strstr(it_base(it_str(pr_sh, "exe")), "sh"), "no report of the shell (pid %d):\n%s", sh,
                it_json_text(root));
  json_object *pr_child = process(root, child, "tree_parent");
  ck_assert_msg(pr_child, "no report of the child before its exec (pid %d):\n%s", child, it_json_text(root));
  ck_assert_str_eq(it_str(pr_child, "exit.how"), "exec");
  ck_assert_int_eq(it_int(pr_child, "ppid"), parent);
  json_object *pr_leaf = process(root, leaf, "tree_leaf");
  ck_assert_msg(pr_leaf, "no report of tree_leaf (pid %d):\n%s", leaf, it_json_text(root));
  ck_assert_int_eq(it_int(pr_leaf, "ppid"), parent);
  ck_assert_int_ge(json_object_array_length(it_need(root, "processes")), 4);
  ck_assert(sh != parent && parent != leaf && sh != leaf);

  /* one finding, the leaf's: its pid alone, its start routine and the pthread_create line */
  json_object *f[4];
  ck_assert_msg(it_findings(root, NULL, f, 4) == 1, "expected one finding:\n%s", it_json_text(it_need(root, "findings")));
  ck_assert_str_eq(it_str(f[0], "category"), "unretrieved-error");
  ck_assert_int_eq(it_int(f[0], "pid"), leaf);
  json_object *procs = it_need(f[0], "processes");
  ck_assert_uint_eq(json_object_array_length(procs), 1);
  ck_assert_int_eq(it_int(procs, "0.pid"), leaf);
  ck_assert_str_eq(it_str(f[0], "callback.function"), "tree_leaf_worker");
  int line = it_marker_line("tree_leaf.c", "create");
  ck_assert_msg(it_frame_is(it_get(f[0], "stack.0"), "tree_leaf.c", line), "stack[0] is not tree_leaf.c:%d:\n%s", line,
                it_json_text(f[0]));
  json_object_put(root);
  free(out);
  it_done(dir);
}
END_TEST

/* run judges the whole tree: the leaf's leak fails --fail-on=leaks although the program run (the
 * shell) and its child are clean. */
START_TEST(fail_on_judges_the_tree) {
  char *dir = it_mkdir("it_tree_fail_on");
  char *out;
  ck_assert_int_ge(asprintf(&out, "%s/out", dir), 0);
  struct it_proc p;
  const char *leaks[] = {"--fail-on=leaks", NULL};
  run_tree(&p, dir, out, leaks);
  ck_assert_msg(p.code == 1, "--fail-on=leaks exited %d:\n%s", p.code, p.err);
  it_proc_free(&p);
  const char *leaks42[] = {"--fail-on=unretrieved-error", "--error-exitcode=42", NULL};
  run_tree(&p, dir, out, leaks42);
  ck_assert_msg(p.code == 42, "--error-exitcode=42 exited %d:\n%s", p.code, p.err);
  it_proc_free(&p);
  const char *threads[] = {"--fail-on=threads", NULL};
  run_tree(&p, dir, out, threads);
  ck_assert_msg(p.code == 0, "--fail-on=threads exited %d:\n%s", p.code, p.err);
  it_proc_free(&p);
  free(out);
  it_done(dir);
}
END_TEST

/* Not followed into tree_leaf: no report of it, no leak; the rest of the tree is still there. */
START_TEST(trace_children_skip) {
  char *dir = it_mkdir("it_tree_skip");
  char *out;
  ck_assert_int_ge(asprintf(&out, "%s/out", dir), 0);
  struct it_proc p;
  const char *skip[] = {"--trace-children-skip=tree_leaf", "--fail-on=leaks", NULL};
  run_tree(&p, dir, out, skip);
  ck_assert_msg(p.code == 0, "exited %d:\n%s", p.code, p.err);
  ck_assert_msg(strstr(p.out, "leaf=") && strstr(p.out, "parent="), "the tree did not run:\n%s", p.out);
  ck_assert_msg(!strstr(p.err, "tree_leaf_worker") && !strstr(p.err, "nobody retrieved"), "the skipped leaf was watched:\n%s",
                p.err);
  it_proc_free(&p);
  json_object *root = report_dir(dir, out), *f[4];
  ck_assert_msg(it_findings(root, NULL, f, 4) == 0, "findings:\n%s", it_json_text(it_need(root, "findings")));
  json_object *procs = it_need(root, "processes");
  bool saw_parent = false;
  for (size_t i = 0; i < json_object_array_length(procs); i++) {
    const char *exe = it_base(it_str(json_object_array_get_idx(procs, i), "exe"));
    ck_assert_msg(strcmp(exe, "tree_leaf") != 0, "tree_leaf has a report:\n%s", it_json_text(procs));
    saw_parent |= strcmp(exe, "tree_parent") == 0;
  }
  ck_assert_msg(saw_parent, "tree_parent has no report:\n%s", it_json_text(procs));
  json_object_put(root);
  free(out);
  it_done(dir);
}
END_TEST

/* A suppressions file given to run is judged at the end, and passed on (by its absolute path, to every
 * process of the tree) to the preload library, which then does not log the suppressed leak live. */
START_TEST(suppressions_reach_the_tree) {
  char *dir = it_mkdir("it_tree_supp");
  char *out, *supp, *flag;
  ck_assert_int_ge(asprintf(&out, "%s/out", dir), 0);
  ck_assert_int_ge(asprintf(&supp, "%s/tree.supp", dir), 0);
  /* a pattern without a leading directory: in the running process dladdr names the main program by argv[0] */
  static const char text[] = "# the leaf's known leak, by module\nunretrieved-error:*tree_leaf\n";
  it_write_file(supp, text, strlen(text));
  ck_assert_int_ge(asprintf(&flag, "--suppressions=%s", supp), 0);
  struct it_proc p;
  const char *flags[] = {flag, "--fail-on=leaks", NULL};
  run_tree(&p, dir, out, flags);
  ck_assert_msg(p.code == 0, "exited %d:\n%s", p.code, p.err);
  ck_assert_msg(strstr(p.out, "leaf="), "the tree did not run:\n%s", p.out);
  ck_assert_msg(strstr(p.err, "loopscope: 1 finding suppressed"), "%s", p.err);
  ck_assert_msg(!strstr(p.err, "unretrieved-error:"), "the suppressed finding was rendered:\n%s", p.err);
  if (ls_option_by_key("suppressions", 12)) /* a preload library that takes them */
    ck_assert_msg(!strstr(p.err, "an error nobody retrieved"), "the suppressed leak was logged live:\n%s", p.err);
  it_proc_free(&p);
  /* recorded all the same: judged without the file, it is there */
  json_object *root = report_dir(dir, out), *f[4];
  ck_assert_uint_eq(it_findings(root, "unretrieved-error", f, 4), 1);
  json_object_put(root);
  free(flag);
  free(supp);
  free(out);
  it_done(dir);
}
END_TEST

/* -o names each file, --output-dir a directory: together they are a usage error, before anything runs. */
START_TEST(output_and_output_dir) {
  char *dir = it_mkdir("it_tree_usage");
  char *out, *o;
  ck_assert_int_ge(asprintf(&out, "--output-dir=%s/out", dir), 0);
  ck_assert_int_ge(asprintf(&o, "%s/r.%%p.lsr", dir), 0);
  const char *argv1[] = {LS_CLI, "run", "-o", o, out, "--", LS_PROG_exit_with, "0", NULL};
  const char *argv2[] = {LS_CLI, "run", out, "--output", o, "--", LS_PROG_exit_with, "0", NULL};
  const char *const *argvs[] = {argv1, argv2};
  for (size_t i = 0; i < 2; i++) {
    struct it_proc p;
    it_run(&p, dir, argvs[i], NULL, NULL);
    ck_assert_msg(p.code == 125, "exit %d:\n%s", p.code, p.err);
    ck_assert_msg(strstr(p.err, "--output-dir") && strstr(p.err, "-o"), "the error does not name both flags:\n%s", p.err);
    ck_assert_str_eq(p.out, "");
    it_proc_free(&p);
  }
  struct stat st;
  ck_assert_msg(stat(out + strlen("--output-dir="), &st) != 0, "the directory was created anyway");
  free(out);
  free(o);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_tree");
  TCase *tc = tcase_create("tree");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, leak_attributed_to_leaf);
  tcase_add_test(tc, fail_on_judges_the_tree);
  tcase_add_test(tc, trace_children_skip);
  tcase_add_test(tc, suppressions_reach_the_tree);
  tcase_add_test(tc, output_and_output_dir);
  suite_add_tcase(s, tc);
  return it_main(s);
}
