/* The option parser on any text, as LOOPSCOPE_OPTIONS and `loopscope run` flags give it: no crash and
 * no UB; an error is one non-empty line; what parsed is within the table's bounds. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_options.h"

static void check(int ok) {
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  static struct ls_options o; /* ~24 KiB of inline strings: not for the stack */
  char err[512];
  ls_options_defaults(&o);
  err[0] = '\0';
  int rc = ls_options_parse(&o, text, err, sizeof(err));
  check(rc == 0 || rc == -EINVAL);
  if (rc < 0) check(err[0] != '\0' && memchr(err, '\0', sizeof(err)) && !strchr(err, '\n'));
  for (size_t i = 0; rc == 0 && i < ls_option_count; i++) {
    const struct ls_option_desc *d = &ls_option_table[i];
    if (d->type == LS_OPT_UINT || d->type == LS_OPT_MS) {
      uint64_t v;
      memcpy(&v, (const char *)&o + d->offset, sizeof(v));
      check(v >= d->min && v <= d->max);
    } else if (d->type == LS_OPT_STRING) {
      check(memchr((const char *)&o + d->offset, '\0', LS_PATH_MAX) != NULL);
    }
  }
  uint64_t ms;
  rc = ls_parse_duration_ms((const char *)data, size, &ms);
  check(rc == 0 || rc == -EINVAL);
  ls_option_by_key((const char *)data, size);
  ls_option_by_flag((const char *)data, size);
  free(text);
  return 0;
}
