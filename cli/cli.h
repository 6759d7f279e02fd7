/* The loopscope command: subcommands and what they share. */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "ls_report.h"

/* Exit statuses, as env(1) and timeout(1) use them for their own errors. */
#define LS_EXIT_USAGE 2    /* loopscope report: bad usage, unreadable or corrupt input */
#define LS_EXIT_INTERNAL 125 /* loopscope run: loopscope's own error */

int ls_cmd_run(int argc, char **argv);
int ls_cmd_report(int argc, char **argv);
int ls_cmd_completion(int argc, char **argv);

void ls_usage_run(FILE *out);
void ls_usage_report(FILE *out);

/* Says on stderr what is wrong with a loaded report (corrupt, truncated, warnings). Returns true when
 * it is corrupt or could not be read. */
/* text_says_it: the text rendering that follows on the terminal names a truncated or corrupt report in
 * its process's heading, so that is not said twice. */
bool ls_report_complain(const char *path, int load_rc, const struct ls_report *r, bool text_says_it);

struct render_opts;
struct ls_ci;

/* Symbolizes the reports, applies ci's suppressions (ci may be NULL), merges their findings and
 * renders them in o->format to out; then --gen/--print-suppressions go to aux (print lines after
 * aux_prefix). *failed: a shown finding matched ci's --fail-on. Returns 0 or -errno. */
int ls_render_reports(struct ls_report *reports, size_t n, FILE *out, const struct render_opts *o, struct ls_ci *ci,
                      FILE *aux, const char *aux_prefix, bool *failed);

#endif
