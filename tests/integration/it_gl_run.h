/* Shared by the GLib adapter's integration tests (it_gl_*.c): run a program under `loopscope run`,
 * read its one process's JSON report, and find sites and findings by their marked source lines. */
#ifndef IT_GL_RUN_H
#define IT_GL_RUN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/* `loopscope run --follow-children=0 FLAGS -- prog`; the program must exit 0. A forked child (the
 * child-watch program forks) runs without the shim, so the report is one process. */
static inline void run_prog(struct it_report_run *r, const char *name, const char *prog, const char *const flags[]) {
  const char *all[16] = {"--follow-children=0"};
  size_t n = 1;
  for (size_t i = 0; flags && flags[i] && n < 15; i++) all[n++] = flags[i];
  all[n] = NULL;
  const char *argv[] = {prog, NULL};
  it_run_report(r, name, all, argv, 0);
}

/* The finding of this category whose stack[0] is src:line (exactly one), checked to name function. */
static inline json_object *finding_at(struct it_report_run *r, const char *category, const char *src, int line,
                                      const char *function) {
  json_object *f[32], *hit = NULL;
  size_t n = it_findings(r->root, category, f, 32), hits = 0;
  for (size_t i = 0; i < n && i < 32; i++)
    if (it_frame_is(it_get(f[i], "stack.0"), src, line)) hit = f[i], hits++;
  ck_assert_msg(hits == 1, "%zu %s findings at %s:%d, expected one, in:\n%s", hits, category, src, line,
                it_json_text(it_need(r->root, "findings")));
  if (function) {
    const char *got = it_str(hit, "callback.function");
    ck_assert_msg(got && strcmp(got, function) == 0, "callback.function is %s, expected %s:\n%s", got ? got : "absent",
                  function, it_json_text(hit));
  }
  return hit;
}

/* The site whose stack[0] is src:line (exactly one). */
static inline json_object *site_at(struct it_report_run *r, const char *src, int line) {
  json_object *sites = it_need(r->proc, "sites"), *hit = NULL;
  size_t hits = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    if (it_frame_is(it_get(s, "stack.0"), src, line)) hit = s, hits++;
  }
  ck_assert_msg(hits == 1, "%zu sites at %s:%d, expected one, in:\n%s", hits, src, line, it_json_text(sites));
  return hit;
}

/* "key=N" from the program's output. */
static inline long printed(const char *out, const char *key) {
  char pat[64];
  snprintf(pat, sizeof(pat), "%s=", key);
  for (const char *p = strstr(out, pat); p; p = strstr(p + 1, pat))
    if (p == out || p[-1] == ' ' || p[-1] == '\n') return strtol(p + strlen(pat), NULL, 10);
  return -1;
}

#endif
