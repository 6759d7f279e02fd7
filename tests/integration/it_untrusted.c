/* The CLI trusts no file in a report directory. `loopscope run` takes as its own only the reports the
 * shim could have written (regular, ours or root's, 0600, one link, no symbolic link): another user's
 * planted report, a 0644 one, a hard-linked or symlinked one is skipped with a note that names it, and
 * its forged findings change nothing. A FIFO named like a report, with a writer that never writes,
 * hangs neither `run` nor `report DIR`: it is skipped with a note. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "it_child.h"
#include "it_util.h"

/* A real report with findings (thread_unretrieved's), its P record rewritten to claim pid, a child of
 * ppid, started now: what another user could write into a shared directory. */
static char *forged_report(uint64_t pid, uint64_t ppid, size_t *len) {
  char *scratch = it_mkdir("it_untrusted_forge");
  struct it_proc p;
  const char *argv[] = {LS_PROG_thread_unretrieved, NULL};
  it_loopscope_run(&p, scratch, NULL, argv);
  ck_assert_msg(p.code == 0, "exit %d\nstderr:\n%s", p.code, p.err);
  it_proc_free(&p);
  char **paths;
  size_t n = it_reports(scratch, &paths);
  ck_assert_uint_eq(n, 1);
  size_t rlen;
  char *real = it_read_file(paths[0], &rlen);
  ck_assert_ptr_nonnull(real);
  it_free_paths(paths, n);
  it_done(scratch);
  char *p_line = strstr(real, "\nP ");
  ck_assert_ptr_nonnull(p_line);
  char *p_end = strchr(p_line + 1, '\n');
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  char *out;
  int k = asprintf(&out, "%.*s\nP pid=%" PRIu64 " ppid=%" PRIu64 " start_ns=%" PRIu64 " exe=/forged seq=0%s",
                   (int)(p_line - real), real, pid, ppid, (uint64_t)now.tv_sec * UINT64_C(1000000000) + (uint64_t)now.tv_nsec,
                   p_end);
  ck_assert_int_ge(k, 0);
  *len = (size_t)k;
  free(real);
  return out;
}

/* The pid in the name of the one report `wait_file` left in dir (wait_file.PID.0.lsr); waits for it. */
static uint64_t program_pid(const char *dir, struct it_child *run) {
  for (int i = 0; i < IT_CHILD_TIMEOUT_S * 100; i++) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    unsigned long long pid = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
      if (sscanf(e->d_name, "wait_file.%llu.", &pid) == 1) break;
    closedir(d);
    if (pid) return pid;
    it_pause_ms(10);
  }
  it_child_fail(run, "wait_file's report never appeared");
  return 0;
}

static char *path_in(const char *dir, const char *name) {
  char *p;
  ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
  return p;
}

/* `loopscope run --fail-on=all -o DIR/%n.%p.%s.lsr -- wait_file DIR/go`, started. */
static void start_run(struct it_child *c, const char *dir, char **go) {
  *go = path_in(dir, "go");
  char *tmpl = path_in(dir, "%n.%p.%s.lsr");
  const char *argv[] = {LS_CLI, "run", "--fail-on=all", "-o", tmpl, "--", LS_PROG_wait_file, *go, NULL};
  it_child_start(c, dir, "run", argv, NULL);
  free(tmpl);
}

/* The note on stderr that names path says it was skipped. */
static void assert_skipped(const char *err, const char *path, const char *reason) {
  char *want;
  ck_assert_int_ge(asprintf(&want, "loopscope: skipped %s: ", path), 0);
  const char *line = strstr(err, want);
  ck_assert_msg(line, "no note that %s was skipped:\n%s", path, err);
  const char *end = strchr(line, '\n');
  ck_assert_msg(end && memmem(line, (size_t)(end - line), reason, strlen(reason)),
                "the note on %s does not say '%s':\n%s", path, reason, err);
  free(want);
}

START_TEST(planted_reports_change_nothing) {
  char *dir = it_mkdir("it_untrusted_planted");
  ck_assert_int_eq(chmod(dir, 01777), 0); /* a shared directory, as /tmp is */
  struct it_child run;
  char *go;
  start_run(&run, dir, &go);
  uint64_t pid = program_pid(dir, &run);

  size_t len;
  char *forged = forged_report(4000001, pid, &len);
  /* another user's (only root can give a file away), a 0644 one, a hard-linked one, a symbolic link */
  char *other = path_in(dir, "forged.4000001.0.lsr"), *wide = path_in(dir, "forged.4000002.0.lsr"),
       *linked = path_in(dir, "forged.4000003.0.lsr"), *link2 = path_in(dir, "second-link"),
       *sym = path_in(dir, "forged.4000004.0.lsr"), *target = path_in(dir, "symlink-target");
  bool root = geteuid() == 0;
  if (root) {
    it_write_file(other, forged, len);
    ck_assert_int_eq(chmod(other, 0600), 0);
    ck_assert_int_eq(chown(other, 65534, 65534), 0);
  }
  it_write_file(wide, forged, len);
  ck_assert_int_eq(chmod(wide, 0644), 0);
  it_write_file(linked, forged, len);
  ck_assert_int_eq(chmod(linked, 0600), 0);
  ck_assert_int_eq(link(linked, link2), 0);
  it_write_file(target, forged, len);
  ck_assert_int_eq(chmod(target, 0600), 0);
  ck_assert_int_eq(symlink(target, sym), 0);
  it_write_file(go, "", 0);

  struct it_proc p;
  it_child_wait(&run, &p, "loopscope run");
  ck_assert_msg(p.code == 0, "loopscope run exited %d: planted findings counted\nstderr:\n%s", p.code, p.err);
  if (root) assert_skipped(p.err, other, "owned by uid 65534");
  assert_skipped(p.err, wide, "mode 0644");
  assert_skipped(p.err, linked, "2 hard links");
  assert_skipped(p.err, sym, "symbolic link");
  ck_assert_msg(!strstr(p.err, "process 4000001"), "a forged process is drawn:\n%s", p.err);
  ck_assert_msg(!strstr(p.err, "unretrieved-error") && !strstr(p.err, "): /forged"),
                "a forged finding or process is drawn:\n%s", p.err);
  ck_assert_msg(strstr(p.err, "no findings"), "the run's own report is not drawn as clean:\n%s", p.err);
  it_proc_free(&p);

  /* The control: each planted file is a report with a finding, which `report` (named, trusted by the user)
   * reads; so only the trust check kept it out. */
  const char *argv[] = {LS_CLI, "report", "--format=json", wide, NULL};
  it_run(&p, dir, argv, NULL, NULL);
  ck_assert_msg(p.code == 0, "report of the planted file: exit %d\n%s", p.code, p.err);
  json_object *root_json = json_tokener_parse(p.out);
  ck_assert_ptr_nonnull(root_json);
  ck_assert_int_eq(it_int(root_json, "processes.0.pid"), 4000001);
  ck_assert_int_eq(it_int(root_json, "processes.0.ppid"), (int64_t)pid);
  ck_assert_uint_ge(it_findings(root_json, "unretrieved-error", NULL, 0), 1);
  json_object_put(root_json);
  it_proc_free(&p);

  free(other), free(wide), free(linked), free(link2), free(sym), free(target), free(go), free(forged);
  it_done(dir);
}
END_TEST

/* A FIFO named like one of the run's reports, held open for writing by someone who never writes. */
static int plant_fifo(const char *path) {
  ck_assert_int_eq(mkfifo(path, 0600), 0);
  int fd = open(path, O_RDWR | O_CLOEXEC); /* a writer: a blocking read would wait for it forever */
  ck_assert_int_ge(fd, 0);
  return fd;
}

START_TEST(fifo_does_not_hang_run) {
  char *dir = it_mkdir("it_untrusted_fifo_run");
  struct it_child run;
  char *go;
  start_run(&run, dir, &go);
  uint64_t pid = program_pid(dir, &run);
  char *fifo;
  ck_assert_int_ge(asprintf(&fifo, "%s/wait_file.%" PRIu64 ".1.lsr", dir, pid), 0);
  int fd = plant_fifo(fifo);
  it_write_file(go, "", 0);
  struct it_proc p;
  it_child_wait(&run, &p, "loopscope run with a FIFO among its reports");
  ck_assert_msg(p.code == 0, "loopscope run exited %d\nstderr:\n%s", p.code, p.err);
  assert_skipped(p.err, fifo, "FIFO");
  ck_assert_msg(strstr(p.err, "no findings"), "the run's own report is not drawn:\n%s", p.err);
  it_proc_free(&p);
  close(fd);
  free(fifo);
  free(go);
  it_done(dir);
}
END_TEST

START_TEST(fifo_does_not_hang_report_dir) {
  char *dir = it_mkdir("it_untrusted_fifo_report");
  struct it_proc p;
  const char *prog[] = {LS_PROG_thread_clean, NULL};
  it_loopscope_run(&p, dir, NULL, prog);
  ck_assert_msg(p.code == 0, "exit %d\nstderr:\n%s", p.code, p.err);
  it_proc_free(&p);
  char *fifo = path_in(dir, "report.99.0.lsr");
  int fd = plant_fifo(fifo);
  const char *argv[] = {LS_CLI, "report", "--format=json", dir, NULL};
  it_run(&p, dir, argv, NULL, NULL);
  ck_assert_msg(p.code == 0, "report DIR: exit %d\nstderr:\n%s", p.code, p.err);
  char *note;
  ck_assert_int_ge(asprintf(&note, "loopscope: skipped %s: a FIFO", fifo), 0);
  ck_assert_msg(strstr(p.err, note), "no note that the FIFO was skipped:\n%s", p.err);
  json_object *root = json_tokener_parse(p.out);
  ck_assert_msg(root != NULL, "no JSON:\n%s", p.out);
  ck_assert_uint_eq(json_object_array_length(it_need(root, "processes")), 1);
  ck_assert_int_gt(it_int(root, "processes.0.pid"), 0);
  ck_assert(!json_object_get_boolean(it_need(root, "truncated")));
  json_object_put(root);
  it_proc_free(&p);
  close(fd);
  free(note);
  free(fifo);
  it_done(dir);
}
END_TEST

/* A report's module path is opened by the symbolizer: pointed at a FIFO (no writer: a plain open()
 * waits for one for ever), a text file or a directory, it is refused with a warning naming it, and
 * the frames in that module are shown as module+offset. */
START_TEST(module_path_not_elf) {
  char *dir = it_mkdir("it_untrusted_module");
  struct it_proc p;
  const char *prog[] = {LS_PROG_thread_unretrieved, NULL};
  it_loopscope_run(&p, dir, NULL, prog);
  ck_assert_msg(p.code == 0, "exit %d\nstderr:\n%s", p.code, p.err);
  it_proc_free(&p);
  char **paths;
  size_t n = it_reports(dir, &paths);
  ck_assert_uint_eq(n, 1);
  size_t len;
  char *real = it_read_file(paths[0], &len);
  ck_assert_ptr_nonnull(real);
  char *exe_path;
  ck_assert_int_ge(asprintf(&exe_path, " path=%s ", LS_PROG_thread_unretrieved), 0);
  char *at = strstr(real, exe_path);
  ck_assert_msg(at, "no M record for %s in the report", LS_PROG_thread_unretrieved);
  char *fifo = path_in(dir, "fifo"), *text = path_in(dir, "text"), *subdir = path_in(dir, "subdir");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  it_write_file(text, "not an ELF file\n", 16);
  ck_assert_int_eq(mkdir(subdir, 0700), 0);
  const char *targets[] = {fifo, text, subdir};
  const char *reasons[] = {"not a regular file", "not an ELF file", "not a regular file"};
  for (size_t t = 0; t < 3; t++) {
    char *forged, *file;
    ck_assert_int_ge(asprintf(&forged, "%.*s path=%s %s", (int)(at - real), real, targets[t], at + strlen(exe_path)), 0);
    ck_assert_int_ge(asprintf(&file, "%s/report.%zu.lsr", dir, t + 100), 0);
    it_write_file(file, forged, strlen(forged));
    const char *argv[] = {LS_CLI, "report", "--format=json", file, NULL};
    it_run(&p, dir, argv, NULL, NULL);
    ck_assert_msg(p.code == 0, "module path %s: exit %d\nstderr:\n%s", targets[t], p.code, p.err);
    char *warning;
    ck_assert_int_ge(asprintf(&warning, "loopscope: warning: %s: %s", targets[t], reasons[t]), 0);
    ck_assert_msg(strstr(p.err, warning), "no warning '%s':\n%s", warning, p.err);
    json_object *root = json_tokener_parse(p.out);
    ck_assert_msg(root != NULL, "no JSON:\n%s", p.out);
    json_object *f[1];
    ck_assert_uint_ge(it_findings(root, "unretrieved-error", f, 1), 1);
    /* the thread's routine lies in the refused module: module+offset, no name */
    ck_assert_str_eq(it_str(f[0], "callback.module"), targets[t]);
    ck_assert_ptr_null(it_str(f[0], "callback.function"));
    json_object_put(root);
    it_proc_free(&p);
    free(warning);
    free(forged);
    free(file);
  }
  free(fifo), free(text), free(subdir), free(exe_path), free(real);
  it_free_paths(paths, n);
  it_done(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("it_untrusted");
  TCase *tc = it_tcase(s, "untrusted");
  tcase_add_test(tc, planted_reports_change_nothing);
  tcase_add_test(tc, fifo_does_not_hang_run);
  tcase_add_test(tc, fifo_does_not_hang_report_dir);
  tcase_add_test(tc, module_path_not_elf);
  return it_main(s);
}
