/* A plugin that uses libuv, dlopen()ed RTLD_NOW|RTLD_LOCAL by a program that does not link libuv:
 * under the shim it must behave as without it, and its 250 ms callback must still be found. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"
#include "uv_plugin.h"

#define SRC "uv_plugin.c"

START_TEST(rtld_local_plugin) {
  int line = it_marker_line(SRC, "plugin-slow");
  char *dir = it_mkdir("it_plugin");
  struct it_proc p;
  const char *argv[] = {LS_PROG_dlopen_local, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  char want[64];
  snprintf(want, sizeof(want), "plugin_run=%d\n", PLUGIN_SLOW_TICKS + PLUGIN_FAST_TICKS);
  ck_assert_msg(p.code == 0, "dlopen_local under loopscope exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  ck_assert_msg(strcmp(p.out, want) == 0, "program printed '%s', expected '%s'", p.out, want);

  json_object *root = it_report_json(dir);
  json_object *f[8];
  size_t n = it_findings(root, "slow-callback", f, 8);
  ck_assert_msg(n == 1, "%zu slow-callback findings, expected 1:\n%s", n, it_json_text(it_need(root, "findings")));
  const char *text = it_json_text(f[0]);
  ck_assert_msg(it_str(f[0], "callback.function") && strcmp(it_str(f[0], "callback.function"), "plugin_tick") == 0,
                "callback is not plugin_tick:\n%s", text);
  ck_assert_msg(strcmp(it_base(it_str(f[0], "callback.file")), SRC) == 0, "callback file:\n%s", text);
  ck_assert_msg(it_frame_is(it_get(f[0], "stack.0"), SRC, line), "stack[0] is not %s:%d:\n%s", SRC, line, text);
  ck_assert_str_eq(it_str(f[0], "stack.0.function"), "plugin_run");
  ck_assert_msg(strstr(it_str(f[0], "stack.0.module") ? it_str(f[0], "stack.0.module") : "", "uv_plugin"),
                "stack[0] module is not the plugin:\n%s", text);
  ck_assert_int_ge(it_int(f[0], "duration_ns"), 249750000); /* 250 ms, less 0.1% for a TSC clock */
  ck_assert_int_eq(it_int(f[0], "count"), PLUGIN_SLOW_TICKS);
  /* nothing else: the fast timer is quiet, the program is clean */
  size_t nall = it_findings(root, NULL, f, 8);
  ck_assert_msg(nall == 1, "%zu findings in all:\n%s", nall, it_json_text(it_need(root, "findings")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_plugin");
  TCase *tc = tcase_create("plugin");
  tcase_add_test(tc, rtld_local_plugin);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
