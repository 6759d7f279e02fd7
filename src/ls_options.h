/* Options shared by the shim (LOOPSCOPE_OPTIONS) and the CLI (`loopscope run` flags). */
#ifndef LS_OPTIONS_H
#define LS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_options_def.h"

/* LS_OPT_RTSIG: 0 (the user's "pick one") or a real-time signal. Only those are safe to borrow: every
 * other signal has a meaning (a default action, a library's own use) that a handler would take away. */
enum ls_opt_type { LS_OPT_STRING, LS_OPT_UINT, LS_OPT_MS, LS_OPT_BOOL, LS_OPT_RTSIG };

struct ls_option_desc {
  const char *key;
  const char *flag;
  enum ls_opt_type type;
  const char *def;
  uint64_t min, max;
  const char *choices; /* "a|b" for a string that must be one of those words, else NULL */
  const char *help;
  size_t offset; /* of the field in struct ls_options */
};

#define LS_PATH_MAX 4096

/* Parsed values. Strings are stored inline so the shim needs no malloc to hold them. */
struct ls_options {
  char log_path[LS_PATH_MAX];
  uint64_t slow_callback_ms;
  uint64_t stack_depth;
  uint64_t verbosity;
  uint64_t flush_ms;
  uint64_t pool_wait_ms;
  uint64_t stall_ms;
  uint64_t stall_sample_ms;
  uint64_t stall_signal;
  uint64_t blocking_min_ms;
  uint64_t lock_wait_ms;
  char allow_blocking[LS_PATH_MAX];
  char wrong_thread[LS_PATH_MAX];
  bool report_open_at_exit;
  bool follow_children;
  char trace_children_skip[LS_PATH_MAX];
  char suppressions[LS_PATH_MAX];
  bool help;
};

extern const struct ls_option_desc ls_option_table[];
extern const size_t ls_option_count;

/* Fill *o with the defaults. */
void ls_options_defaults(struct ls_options *o);

/* Parse "key=value:key=value" on top of *o. On error returns -EINVAL and writes one line (no newline)
 * naming the option and what is accepted into err. No malloc, no stdio: the shim calls it before main. */
int ls_options_parse(struct ls_options *o, const char *text, char *err, size_t errlen);

/* Set one option from its key and value text; same error convention. */
int ls_option_set(struct ls_options *o, const char *key, size_t keylen, const char *val, size_t vallen,
                  char *err, size_t errlen);

/* Look an option up by key or by run flag; NULL if unknown. */
const struct ls_option_desc *ls_option_by_key(const char *key, size_t len);
const struct ls_option_desc *ls_option_by_flag(const char *flag, size_t len);

/* Parse a duration ("250", "250ms", "0.25s", "250000us", "250000000ns") into whole milliseconds;
 * plain numbers are milliseconds. Returns 0 or -EINVAL (also for a non-whole result such as 1us). */
int ls_parse_duration_ms(const char *s, size_t len, uint64_t *ms);

/* Render the option table (key, type, default, help) into buf. Returns the length written. */
size_t ls_options_format_help(char *buf, size_t len);

#endif
