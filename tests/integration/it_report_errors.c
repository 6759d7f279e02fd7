/* `loopscope report` on damaged input: a truncated report renders what it holds, says where it was cut
 * and exits 0; a corrupt one is an error naming the byte offset (exit 2); a missing file is exit 2. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/* A real report, from a real run. */
static char *real_report(const char *dir, size_t *len) {
  struct it_proc p;
  const char *argv[] = {LS_PROG_thread_unretrieved, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "exit %d\nstderr:\n%s", p.code, p.err);
  it_proc_free(&p);
  char **paths;
  size_t n = it_reports(dir, &paths);
  ck_assert_uint_eq(n, 1);
  char *data = it_read_file(paths[0], len);
  ck_assert_ptr_nonnull(data);
  ck_assert_msg(*len > 100, "report is only %zu bytes", *len);
  it_free_paths(paths, n);
  return data;
}

static void report_cmd(struct it_proc *p, const char *dir, const char *format, const char *file) {
  const char *argv[] = {LS_CLI, "report", format, file, NULL};
  it_run(p, dir, argv, NULL, NULL);
}

/* The first number after "byte " or "offset " in text; -1 when there is none. */
static long long named_offset(const char *text) {
  static const char *const words[] = {"byte ", "offset "};
  for (size_t w = 0; w < 2; w++)
    for (const char *s = strstr(text, words[w]); s; s = strstr(s + 1, words[w])) {
      const char *d = s + strlen(words[w]);
      if (*d >= '0' && *d <= '9') return atoll(d);
    }
  return -1;
}

START_TEST(truncated_report_renders_and_exits_0) {
  char *dir = it_mkdir("it_report_truncated");
  size_t len;
  char *data = real_report(dir, &len);
  char *cut;
  ck_assert_int_ge(asprintf(&cut, "%s/cut.lsr", dir), 0);
  /* cut inside a line in the middle of the file */
  size_t at = len / 2;
  if (data[at - 1] == '\n') at++;
  it_write_file(cut, data, at);

  struct it_proc p;
  report_cmd(&p, dir, "--format=json", cut);
  ck_assert_msg(p.code == 0, "exit %d on a truncated report\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(strstr(p.err, "truncated at byte"), "stderr does not say 'truncated at byte':\n%s", p.err);
  long long off = named_offset(strstr(p.err, "truncated at byte"));
  ck_assert_msg(off >= 0 && (size_t)off <= at, "truncated at byte %lld, file is %zu bytes", off, at);
  json_object *root = json_tokener_parse(p.out);
  ck_assert_msg(root != NULL, "no JSON:\n%s", p.out);
  ck_assert_msg(json_object_get_boolean(it_need(root, "truncated")), "\"truncated\" is not true:\n%s", p.out);
  ck_assert_int_gt(it_int(root, "processes.0.pid"), 0); /* what came before the cut is rendered */
  json_object_put(root);
  it_proc_free(&p);

  report_cmd(&p, dir, "--format=text", cut);
  ck_assert_msg(p.code == 0, "text: exit %d\nstderr:\n%s", p.code, p.err);
  /* the text rendering says it in the process's heading, once: no second note on stderr */
  ck_assert_msg(strstr(p.out, "truncated at byte"), "text does not say 'truncated at byte':\n%s", p.out);
  ck_assert_msg(!strstr(p.err, "truncated at byte"), "text: said twice, also on stderr:\n%s", p.err);
  it_proc_free(&p);

  /* the whole file is not truncated */
  char **paths;
  size_t n = it_reports(dir, &paths);
  report_cmd(&p, dir, "--format=json", paths[0]);
  ck_assert_int_eq(p.code, 0);
  root = json_tokener_parse(p.out);
  ck_assert_ptr_nonnull(root);
  ck_assert(!json_object_get_boolean(it_need(root, "truncated")));
  json_object_put(root);
  it_proc_free(&p);
  it_free_paths(paths, n);
  free(cut);
  free(data);
  it_done(dir);
}
END_TEST

START_TEST(corrupt_report_exits_2_naming_offset) {
  char *dir = it_mkdir("it_report_corrupt");
  size_t len;
  char *data = real_report(dir, &len);
  /* damage the first module record's id: "M id=1" -> "M id=z" */
  char *m = strstr(data, "\nM id=");
  ck_assert_ptr_nonnull(m);
  size_t line_start = (size_t)(m + 1 - data), line_end = (size_t)(strchr(m + 1, '\n') - data);
  m[6] = 'z';
  char *bad;
  ck_assert_int_ge(asprintf(&bad, "%s/bad.lsr", dir), 0);
  it_write_file(bad, data, len);
  struct it_proc p;
  report_cmd(&p, dir, "--format=json", bad);
  ck_assert_msg(p.code == 2, "exit %d on a corrupt report\nstderr:\n%s", p.code, p.err);
  long long off = named_offset(p.err);
  ck_assert_msg(off >= (long long)line_start && off <= (long long)line_end,
                "stderr does not name a byte offset within the damaged record [%zu, %zu]:\n%s", line_start, line_end,
                p.err);
  it_proc_free(&p);

  /* a newer format is refused, clearly */
  char *newer;
  ck_assert_int_ge(asprintf(&newer, "%s/newer.lsr", dir), 0);
  char *nl = strchr(data, '\n');
  size_t hdr = (size_t)(nl - data);
  char *v2 = malloc(len + 8);
  int h = sprintf(v2, "loopscope-report 2");
  memcpy(v2 + h, data + hdr, len - hdr);
  it_write_file(newer, v2, (size_t)h + len - hdr);
  report_cmd(&p, dir, "--format=json", newer);
  ck_assert_msg(p.code == 2, "exit %d on a newer format\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(strstr(p.err, "version"), "stderr does not mention the version:\n%s", p.err);
  it_proc_free(&p);
  free(v2);
  free(newer);
  free(bad);
  free(data);
  it_done(dir);
}
END_TEST

START_TEST(missing_file_exits_2) {
  char *dir = it_mkdir("it_report_missing");
  char *missing;
  ck_assert_int_ge(asprintf(&missing, "%s/no-such-report.lsr", dir), 0);
  struct it_proc p;
  report_cmd(&p, dir, "--format=json", missing);
  ck_assert_msg(p.code == 2, "exit %d on a missing file\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(strstr(p.err, "no-such-report.lsr"), "stderr does not name the file:\n%s", p.err);
  it_proc_free(&p);
  free(missing);
  it_done(dir);
}
END_TEST

/* Files that are not reports (no whole "loopscope-report N" line: an empty file, random bytes, a file cut
 * inside its header) are errors naming the file, exit 2, and draw nothing; a real report given in the
 * same call still renders, alone. A report cut right after a valid header is only truncated. */
START_TEST(not_a_report_draws_nothing) {
  char *dir = it_mkdir("it_report_not_report");
  size_t len;
  char *data = real_report(dir, &len);
  char **paths;
  size_t n = it_reports(dir, &paths);
  ck_assert_uint_eq(n, 1);
  char *empty, *noise, *cut_header, *header_only;
  ck_assert_int_ge(asprintf(&empty, "%s/empty.lsr", dir), 0);
  ck_assert_int_ge(asprintf(&noise, "%s/noise.lsr", dir), 0);
  ck_assert_int_ge(asprintf(&cut_header, "%s/cut-header.lsr", dir), 0);
  ck_assert_int_ge(asprintf(&header_only, "%s/header-only.lsr", dir), 0);
  it_write_file(empty, "", 0);
  char bytes[4096];
  uint32_t x = 12345;
  for (size_t i = 0; i < sizeof(bytes); i++) {
    x = x * 1103515245u + 12345u; /* the same bytes every run */
    bytes[i] = (char)(x >> 24);
  }
  bytes[0] = 'L'; /* never the magic by chance */
  it_write_file(noise, bytes, sizeof(bytes));
  size_t header_len = (size_t)(strchr(data, '\n') - data) + 1;
  it_write_file(cut_header, data, header_len - 3);
  /* the header line and half of the P record after it */
  size_t p_end = (size_t)(strchr(data + header_len, '\n') - data);
  it_write_file(header_only, data, header_len + (p_end - header_len) / 2);

  const char *argv[] = {LS_CLI, "report", "--format=json", empty, noise, paths[0], cut_header, NULL};
  struct it_proc p;
  it_run(&p, dir, argv, NULL, NULL);
  ck_assert_msg(p.code == 2, "exit %d with files that are not reports\nstderr:\n%s", p.code, p.err);
  const char *bad[] = {empty, noise, cut_header};
  for (size_t i = 0; i < 3; i++) {
    char *line = strstr(p.err, bad[i]);
    ck_assert_msg(line && strstr(line, "not a loopscope report"), "stderr does not call %s not a report:\n%s", bad[i],
                  p.err);
  }
  json_object *root = json_tokener_parse(p.out);
  ck_assert_msg(root != NULL, "no JSON:\n%s", p.out);
  json_object *procs = it_need(root, "processes");
  ck_assert_msg(json_object_array_length(procs) == 1, "%zu processes drawn, want only the real report's:\n%s",
                json_object_array_length(procs), p.out);
  ck_assert_int_gt(it_int(root, "processes.0.pid"), 0);
  ck_assert_str_eq(it_str(root, "processes.0.report"), paths[0]);
  ck_assert_msg(!json_object_get_boolean(it_need(root, "truncated")), "\"truncated\" is true:\n%s", p.out);
  json_object_put(root);
  it_proc_free(&p);

  /* text: nothing drawn for the empty file, no "process 0" */
  const char *targv[] = {LS_CLI, "report", "--format=text", empty, NULL};
  it_run(&p, dir, targv, NULL, NULL);
  ck_assert_msg(p.code == 2, "text: exit %d on an empty file\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(p.outlen == 0 && !strstr(p.err, "process 0"), "text: something drawn for an empty file:\n%s%s", p.out,
                p.err);
  it_proc_free(&p);

  /* a valid header, then cut: truncated, rendered, exit 0 */
  report_cmd(&p, dir, "--format=json", header_only);
  ck_assert_msg(p.code == 0, "exit %d on a report cut after its header\nstderr:\n%s", p.code, p.err);
  ck_assert_msg(strstr(p.err, "truncated at byte"), "stderr does not say 'truncated at byte':\n%s", p.err);
  root = json_tokener_parse(p.out);
  ck_assert_msg(root != NULL, "no JSON:\n%s", p.out);
  ck_assert(json_object_get_boolean(it_need(root, "truncated")));
  ck_assert_uint_eq(json_object_array_length(it_need(root, "processes")), 1);
  json_object_put(root);
  it_proc_free(&p);

  it_free_paths(paths, n);
  free(empty);
  free(noise);
  free(cut_header);
  free(header_only);
  free(data);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_report_errors");
  TCase *tc = tcase_create("report_errors");
  tcase_add_test(tc, truncated_report_renders_and_exits_0);
  tcase_add_test(tc, corrupt_report_exits_2_naming_offset);
  tcase_add_test(tc, missing_file_exits_2);
  tcase_add_test(tc, not_a_report_draws_nothing);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
