#include "ls_findings.h"

#include <string.h>

const struct ls_finding_desc ls_finding_table[LS_F_COUNT] = {
#define LS_FINDING_ROW(e, id, sev, desc) [LS_F_##e] = {id, sev, desc},
    LS_FINDINGS(LS_FINDING_ROW)
#undef LS_FINDING_ROW
};

int ls_finding_by_id(const char *id, size_t len) {
  for (int i = 0; i < LS_F_COUNT; i++)
    if (strlen(ls_finding_table[i].id) == len && memcmp(ls_finding_table[i].id, id, len) == 0) return i;
  return -1;
}
