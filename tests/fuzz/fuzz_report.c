/* The whole `loopscope report` pipeline on one crafted report: read, symbolize, apply --fail-on and
 * suppressions, merge, render as text, JSON, SARIF and JUnit (to /dev/null), --gen-suppressions and
 * --print-suppressions. Every absolute module path the report names becomes fuzz_symbols, a fixed
 * binary with DWARF, so the symbolizer runs on real debug info at fuzzed addresses, biases and
 * build-ids without the input choosing which file is opened; other paths stay pseudo-objects. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci.h"
#include "cli.h"
#include "ls_report.h"
#include "render.h"

static FILE *sink;
static struct ls_ci ci;

static void setup(void) {
  sink = fopen("/dev/null", "w");
  if (!sink) abort();
  ls_ci_init(&ci);
  for (size_t i = 0; i < LS_F_COUNT; i++) ci.fail_on[i] = true;
  ci.any_fail_on = ci.gen_supps = ci.print_supps = true;
  char err[512];
  static const char supps[] = "unjoined-thread:*worker*\nslow-callback:server.c\n*:*/libthirdparty.so*\n";
  FILE *f = fmemopen((void *)supps, sizeof(supps) - 1, "r");
  if (!f || ls_supps_read(&ci.supps, f, "fuzz.supp", err, sizeof(err)) < 0) abort();
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!sink) setup();
  struct ls_report r;
  int rc = ls_report_parse((const char *)data, size, &r);
  if (rc != 0 && rc != -EBADMSG) { /* what `report` would not render */
    ls_report_free(&r);
    return 0;
  }
  r.path = strdup("fuzz.lsr");
  for (size_t i = 0; i < r.nmodules; i++)
    if (r.modules[i].path[0] == '/') {
      free(r.modules[i].path);
      r.modules[i].path = strdup(LS_FUZZ_SYMBOLS);
      if (!r.modules[i].path) abort();
    }
  static const enum render_format formats[] = {FMT_TEXT, FMT_JSON, FMT_SARIF, FMT_JUNIT};
  for (size_t k = 0; k < sizeof(formats) / sizeof(formats[0]); k++) {
    struct render_opts o = {.format = formats[k], .color = k == 0, .prefix_all = k == 0, .source_root = "/src",
                            .timeout_ms = 1000};
    bool failed;
    ls_render_reports(&r, 1, sink, &o, &ci, sink, "loopscope: ", &failed);
  }
  for (size_t i = 0; i < ci.supps.n; i++) ci.supps.v[i].matched = 0;
  ls_report_free(&r);
  return 0;
}
