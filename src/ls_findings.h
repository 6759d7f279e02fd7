/* Finding ids: a stable contract (JSON "category", SARIF ruleId, suppressions, --fail-on). */
#ifndef LS_FINDINGS_H
#define LS_FINDINGS_H

#include <stddef.h>

/* X(enum, id, default severity, one-line description) */
#define LS_FINDINGS(X) \
  X(SLOW_CALLBACK, "slow-callback", "warning", "a dispatched callback ran at least slow_callback_ms") \
  X(LOOP_STALL, "loop-stall", "warning", "one loop iteration ran past the stall threshold") \
  X(BLOCKING_CALL, "blocking-call", "warning", "a blocking call made on a loop thread inside a callback") \
  X(WRONG_THREAD, "wrong-thread", "error", "a non-thread-safe loop API called while another thread runs the loop") \
  X(LOOP_REENTRY, "loop-reentry", "error", "a loop run re-entered where the library forbids it") \
  X(NEVER_RUN, "never-run", "warning", "one-shot work whose callback never ran") \
  X(UNRETRIEVED_ERROR, "unretrieved-error", "error", "an error delivered where no code can see it") \
  X(UNCLOSED_RESOURCE, "unclosed-resource", "warning", "handles or events still open when their loop was given up") \
  X(UNJOINED_THREAD, "unjoined-thread", "warning", "a thread finished but was neither joined nor detached") \
  X(POOL_WAIT, "pool-wait", "warning", "queued work waited too long for a pool thread")

enum ls_finding_kind {
#define LS_FINDING_ENUM(e, id, sev, desc) LS_F_##e,
  LS_FINDINGS(LS_FINDING_ENUM)
#undef LS_FINDING_ENUM
  LS_F_COUNT
};

struct ls_finding_desc {
  const char *id, *severity, *description;
};
extern const struct ls_finding_desc ls_finding_table[LS_F_COUNT];

/* The kind for an id string, or -1. */
int ls_finding_by_id(const char *id, size_t len);

#endif
