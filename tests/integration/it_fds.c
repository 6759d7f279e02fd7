/* The shim's own descriptors are invisible to the program and survive what it does to its fds: calls
 * that close "every" descriptor do all they do, as plainly; a descriptor closed or replaced behind the
 * hooks' back (a raw syscall) is noticed before the report writes into a file of the program's. */
#define _GNU_SOURCE
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

int main(void) {
  Suite *s = suite_create("fds");
  TCase *tc = it_tcase(s, "fds");
  tcase_add_test(tc, closing_every_fd_is_transparent);
  return it_main(s);
}
