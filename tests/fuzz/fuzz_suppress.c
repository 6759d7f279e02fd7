/* The CLI's suppressions parser on any file, then every parsed line matched against a fixed finding
 * and a line generated for it: no crash, leak or UB; a refused file keeps nothing and says where. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "suppress.h"

static void check(int ok) {
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0; /* fmemopen wants a buffer */
  FILE *f = fmemopen((void *)data, size, "r");
  if (!f) return 0;
  struct ls_supps s = {0};
  char err[2048] = "";
  int rc = ls_supps_read(&s, f, "fuzz.supp", err, sizeof(err));
  fclose(f);
  check(rc == 0 || rc == -1);
  if (rc < 0) check(s.n == 0 && strncmp(err, "fuzz.supp", 9) == 0);
  struct ls_rd_finding rf = {.category = "slow-callback", .severity = "warning", .message = "m", .count = 1};
  struct ls_frame frames[] = {
      {.function = "start_ticker", .path = "/src/server.c", .file = "server.c", .line = 51, .module = "/bin/server"},
      {.function = NULL, .module = "/usr/lib/libthirdparty.so.1", .offset = 0x1234},
      {.function = "main", .path = "/src/server.c", .file = "server.c", .line = 88, .module = "/bin/server"}};
  struct lsm_finding lf = {.f = &rf, .has_cb = true, .cb = frames[0], .stack = {frames, 3}};
  for (size_t i = 0; i < s.n; i++) check(s.v[i].id && s.v[i].pattern && s.v[i].text && s.v[i].file);
  ls_supps_match(&s, &lf);
  char line[2048];
  ls_supp_generate(&lf, line, sizeof(line));
  ls_supps_free(&s);
  return 0;
}
