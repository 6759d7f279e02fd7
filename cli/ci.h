/* What `run` and `report` share for CI: --fail-on, --error-exitcode, --suppressions,
 * --gen-suppressions, --print-suppressions, and the verdict on a rendered model. */
#ifndef LS_CI_H
#define LS_CI_H

#include <stdbool.h>
#include <stdio.h>

#include "ls_findings.h"
#include "model.h"
#include "suppress.h"

struct ls_ci {
  bool fail_on[LS_F_COUNT];
  bool any_fail_on;   /* --fail-on given */
  int error_exitcode; /* 1..255; 1 unless --error-exitcode says otherwise */
  struct ls_supps supps;
  bool gen_supps, print_supps;
};

void ls_ci_init(struct ls_ci *ci);
void ls_ci_free(struct ls_ci *ci);

/* Tries argv[*i] (and maybe the next argument, for "--flag VALUE") as one of the CI flags.
 * 1: taken; 0: not a CI flag; -1: a bad value, after one message on stderr that starts with cmd
 * ("loopscope run"). */
int ls_ci_flag(struct ls_ci *ci, int argc, char **argv, int *i, const char *cmd);

/* The usage lines for the CI flags. */
void ls_ci_usage(FILE *out);
/* The name of --fail-on's id group i ("leaks", "threads", "all"), or NULL past the last. */
const char *ls_ci_group_name(size_t i);

/* Whether a shown (unsuppressed) finding has an id in --fail-on. */
bool ls_ci_failed(const struct ls_ci *ci, const struct lsm *m);

/* --gen-suppressions: a paste-ready line per shown finding (raw: a '#' comment heads them);
 * --print-suppressions: each suppression with how many findings it matched. prefix: text put in
 * front of the --print-suppressions lines ("loopscope: " or ""). */
void ls_ci_print(FILE *out, const struct ls_ci *ci, const struct lsm *m, const char *prefix);

#endif
