/* Many reports, one view: findings deduplicated across processes (and within one) by category,
 * callback (function, file, line) and innermost stack frame, with per-process counts; suppressions
 * applied on the way. */
#ifndef LS_MERGE_H
#define LS_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct ls_supps;

/* Applies the suppressions (NULL: none) to every finding of m and fills m->groups, m->nshown and
 * m->nsuppressed. 0 or -ENOMEM. */
int lsm_merge(struct lsm *m, struct ls_supps *supps);

/* What identifies a finding across processes and runs: category, callback function+file+line,
 * innermost frame function+file+line; a frame without symbols stands as module base name+offset.
 * No addresses, pids or paths that change with the checkout. */
void lsm_finding_key(const struct lsm_finding *lf, char *buf, size_t len);

/* A stable 64-bit FNV-1a hash of the key, as 16 hex digits (SARIF partialFingerprints). */
void lsm_finding_fingerprint(const struct lsm_finding *lf, char out[17]);

#endif
