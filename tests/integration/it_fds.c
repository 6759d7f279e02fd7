/* The shim's own descriptors are invisible to the program and survive what it does to its fds: calls
 * that close "every" descriptor do all they do, as plainly; a descriptor closed or replaced behind the
 * hooks' back (a raw syscall) is noticed before the report writes into a file of the program's. */
#define _GNU_SOURCE
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/* Every process of root has a complete report (trailer, exit record); returns how many there are. */
static size_t all_complete(json_object *root) {
  json_object *procs = it_need(root, "processes");
  size_t n = json_object_array_length(procs);
  for (size_t i = 0; i < n; i++) {
    json_object *p = json_object_array_get_idx(procs, i);
    ck_assert_msg(!json_object_get_boolean(it_need(p, "truncated")) && it_str(p, "exit.how"),
                  "a process report is incomplete:\n%s", it_json_text(p));
  }
  return n;
}

/* ---- close_range / closefrom / close / dup2 ------------------------------------------------------ */

START_TEST(closing_every_fd_is_transparent) {
  const char *argv[] = {LS_PROG_fd_close_all, NULL};
  char *dir = it_mkdir("it_fds_close_all");
  struct it_proc plain, p;
  it_run(&plain, dir, argv, NULL, NULL);
  static const char want[] = "close loop: closed=0 ebadf=1018\n"
                             "close_range(5, 3): rc=-1 errno=EINVAL\n"
                             "close_range(3, ~0U, bad flag): rc=-1 errno=EINVAL\n"
                             "close_range(0, 63, CLOEXEC): rc=0 errno=-\n"
                             "cloexec=0x3f\n"
                             "close_range(0, ~0U): open=0x0\n"
                             "close_range(0, 63): open=0x0\n"
                             "close_range(0, ~0U, UNSHARE): open=0x0\n"
                             "closefrom(3): open=0x7\n"
                             "close_range(3, 1023): rc=0 errno=-\n"
                             "open=0x7\n"
                             "done\n";
  ck_assert_msg(plain.code == 0 && strcmp(plain.out, want) == 0, "plain run exited %d and printed:\n%s\nstderr:\n%s",
                plain.code, plain.out, plain.err);
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "loopscope run exited %d\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(strcmp(p.out, plain.out) == 0, "stdout differs\n--- plain:\n%s--- loopscope run:\n%s", plain.out, p.out);

  /* The report fd survived all of it: the parent's report and the four children's are complete. */
  json_object *root = it_report_json(dir);
  ck_assert_uint_eq(all_complete(root), 5);
  json_object_put(root);
  it_proc_free(&plain);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

/* ---- the report fd taken over behind the hooks' back ------------------------------------------- */

static const char *const takeover_modes[] = {"close_range", "dup3"};

/* The one incident of proc with this "what"; fails unless there is exactly one. */
static json_object *the_incident(json_object *proc, const char *what) {
  json_object *list = it_need(proc, "incidents"), *found = NULL;
  size_t n = 0;
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *k = json_object_array_get_idx(list, i);
    if (it_str(k, "what") && strcmp(it_str(k, "what"), what) == 0) {
      found = k;
      n++;
    }
  }
  ck_assert_msg(n == 1, "%zu %s incidents, expected one:\n%s", n, what, it_json_text(proc));
  return found;
}

START_TEST(report_never_written_into_the_programs_file) {
  const char *mode = takeover_modes[_i];
  const char *argv[] = {LS_PROG_fd_takeover, mode, NULL};
  struct it_report_run r;
  it_run_report(&r, "it_fds_takeover", NULL, argv, 0);
  int took = -1;
  ck_assert_msg(sscanf(r.p.out, "took=%d", &took) == 1 && took == 1,
                "%s: the program should have found the report's fd alone:\n%s", mode, r.p.out);

  /* The program's file holds its own lines and nothing else. */
  char path[512], want[128];
  ck_assert_int_lt(snprintf(path, sizeof(path), "%s/own.*.txt", r.dir), (int)sizeof(path));
  glob_t g;
  ck_assert_msg(glob(path, 0, NULL, &g) == 0 && g.gl_pathc == 1, "%s: not one file matches %s", mode, path);
  long fd = -1;
  ck_assert_int_eq(sscanf(it_base(g.gl_pathv[0]), "own.%ld.txt", &fd), 1);
  snprintf(path, sizeof(path), "%s", g.gl_pathv[0]);
  globfree(&g);
  snprintf(want, sizeof(want), "mine %ld\nmine again %ld\n", fd, fd);
  size_t len;
  char *got = it_read_file(path, &len);
  ck_assert_msg(got && strcmp(got, want) == 0, "%s: %s holds\n%s\nexpected\n%s", mode, path, got ? got : "(nothing)",
                want);
  free(got);

  /* The report went on in its own file: complete, with the thread made after the takeover. */
  ck_assert_uint_eq(all_complete(r.root), 1);
  ck_assert_str_eq(it_str(r.proc, "exit.how"), "exit");
  ck_assert_int_eq(it_int(r.proc, "exit.status"), 0);
  json_object *k = the_incident(r.proc, "fd-lost");
  ck_assert_int_eq(it_int(k, "fd"), fd);
  ck_assert_int_eq(it_int(k, "count"), 1);
  ck_assert_msg(json_object_array_length(it_need(r.proc, "threads")) == 2, "%s: expected main and worker:\n%s", mode,
                it_json_text(it_need(r.proc, "threads")));
  ck_assert_msg(json_object_array_length(it_need(r.proc, "incidents")) == 1, "%s: only the fd-lost:\n%s", mode,
                it_json_text(r.proc));
  ck_assert_msg(!json_object_get_boolean(it_need(r.proc, "incomplete")), "%s: report incomplete", mode);
  it_no_findings(&r, "fd_takeover");
  it_run_report_free(&r);
}
END_TEST

/* ---- a write of the report fails ---------------------------------------------------------------- */

/* A file size limit stands for a full disk: unprivileged (no small filesystem to mount), and exact
 * (the limit is the program's own, set after start-up, so the report's head is there and the rest
 * runs into it). The program writes no file of its own, so the limit changes nothing for it: what is
 * asserted is that the shim changes nothing either (no SIGXFSZ), says it once, and that the report
 * is what it claims to be. */
static const char *const fsize_modes[] = {"keep", "raise"};

START_TEST(failed_write_said_once_and_reported) {
  const char *mode = fsize_modes[_i];
  bool room_again = strcmp(mode, "raise") == 0;
  const char *argv[] = {LS_PROG_fd_fsize, mode, NULL};
  struct it_proc plain;
  char *pdir = it_mkdir("it_fds_fsize_plain");
  it_run(&plain, pdir, argv, NULL, NULL);
  ck_assert_msg(plain.code == 0 && strcmp(plain.out, "threads=200\n") == 0, "plain: exit %d, stdout %s", plain.code,
                plain.out);
  struct it_report_run r;
  it_run_report(&r, "it_fds_fsize", NULL, argv, 0);
  ck_assert_str_eq(r.p.out, plain.out);

  /* One line on stderr, naming the report and the error. */
  const char *path = it_str(r.proc, "report");
  size_t lines = 0;
  for (const char *l = r.p.err; (l = strstr(l, "loopscope: cannot write the report ")); l++) {
    lines++;
    const char *eol = strchr(l, '\n');
    ck_assert_msg(eol && strstr(l, path) && strstr(l, path) < eol && strstr(l, "File too large") < eol,
                  "the line does not name %s and the error:\n%s", path, r.p.err);
  }
  ck_assert_msg(lines == 1, "%zu lines about the failed write, expected one:\n%s", lines, r.p.err);

  /* The file is whole records up to where writing failed: never corrupt, always incomplete. */
  ck_assert_msg(!it_get(r.proc, "error"), "corrupt report:\n%s", it_json_text(r.proc));
  ck_assert(json_object_get_boolean(it_need(r.proc, "incomplete")));
  json_object *inc = it_need(r.proc, "incidents");
  if (!room_again) {
    /* Never room again: the trailer does not fit, the reader calls it truncated. The write-failed
     * record (and the exit record) are there only when they fitted under the limit by themselves. */
    ck_assert_msg(json_object_get_boolean(it_need(r.proc, "truncated")) && json_object_array_length(inc) <= 1,
                  "%s:\n%s", mode, it_json_text(r.proc));
  } else {
    /* Room again at exit: the write-failed record and the ending. */
    ck_assert_msg(!json_object_get_boolean(it_need(r.proc, "truncated")) && json_object_array_length(inc) == 1,
                  "%s:\n%s", mode, it_json_text(r.proc));
    ck_assert_str_eq(it_str(r.proc, "exit.how"), "exit");
    ck_assert_int_eq(it_int(r.proc, "exit.status"), 0);
  }
  if (json_object_array_length(inc) == 1) {
    json_object *k = it_need(inc, "0");
    ck_assert_str_eq(it_str(k, "what"), "write-failed");
    ck_assert_str_eq(it_str(k, "error"), "EFBIG");
    ck_assert_int_gt(it_int(k, "at"), 0);
    ck_assert_int_le(it_int(k, "at"), 4096);
    ck_assert_int_gt(it_int(k, "lost_records"), 0);
  }
  it_run_report_free(&r);
  it_proc_free(&plain);
  it_done(pdir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fds");
  TCase *tc = it_tcase(s, "fds");
  tcase_add_test(tc, closing_every_fd_is_transparent);
  tcase_add_loop_test(tc, report_never_written_into_the_programs_file, 0,
                      (int)(sizeof(takeover_modes) / sizeof(takeover_modes[0])));
  tcase_add_loop_test(tc, failed_write_said_once_and_reported, 0, (int)(sizeof(fsize_modes) / sizeof(fsize_modes[0])));
  return it_main(s);
}
