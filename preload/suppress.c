/* Suppressions in the running process: the same file `loopscope report --suppressions` reads
 * (ID:PATTERN lines), given to the shim as suppressions=FILE[,FILE...], silences the live line of a
 * suppressed finding and keeps wrong_thread=abort from aborting on it. The report still records the
 * finding: suppressions are applied at report time, so one run can be judged under other files.
 * The running process knows names only from the dynamic symbol table (dladdr) and module paths, so a
 * pattern on a source file or a static function takes effect at report time only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define MAX_SUPPRESSIONS 256

struct suppression {
  int kind; /* a finding kind, or -1 for '*' */
  char pattern[240];
};
static struct suppression rules[MAX_SUPPRESSIONS];
static size_t nrules;
static char exe_path[LS_PATH_MAX]; /* dladdr names the main program by its argv[0]; this is its file */
static void *exe_base;

/* Parses one file; returns 0 or writes a one-line error naming FILE:LINE and returns -1. */
static int load_file(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "re");
  if (!f) {
    snprintf(err, errlen, "suppressions: cannot read '%s'", path);
    return -1;
  }
  char line[512];
  int lineno = 0, rc = 0;
  while (rc == 0 && fgets(line, sizeof(line), f)) {
    lineno++;
    char *s = line + strspn(line, " \t");
    s[strcspn(s, "\r\n")] = '\0';
    if (!*s || *s == '#') continue;
    char *colon = strchr(s, ':');
    int kind = -2;
    if (colon) kind = colon - s == 1 && s[0] == '*' ? -1 : ls_finding_by_id(s, (size_t)(colon - s));
    if (!colon || kind == -2 || !colon[1] || nrules == MAX_SUPPRESSIONS) {
      snprintf(err, errlen, "suppressions: %s:%d: expected ID:PATTERN with a finding id or '*'", path, lineno);
      rc = -1;
      break;
    }
    rules[nrules].kind = kind;
    snprintf(rules[nrules].pattern, sizeof(rules[nrules].pattern), "%s", colon + 1);
    nrules++;
  }
  fclose(f);
  return rc;
}

static int find_exe(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size, (void)data;
  exe_base = (void *)info->dlpi_addr; /* the first object is the main program */
  return 1;
}

int ls_suppressions_load(const char *list, char *err, size_t errlen) {
  ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
  exe_path[n > 0 ? n : 0] = '\0';
  dl_iterate_phdr(find_exe, NULL);
  char buf[LS_PATH_MAX];
  snprintf(buf, sizeof(buf), "%s", list);
  for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
    if (load_file(p, err, errlen) < 0) return -1;
  return 0;
}

/* Does a rule for k match this code address's symbol or module? */
static bool matches_addr(int k, const void *addr) {
  Dl_info di;
  if (!addr || !dladdr(addr, &di)) return false;
  for (size_t i = 0; i < nrules; i++) {
    if (rules[i].kind != -1 && rules[i].kind != k) continue;
    if (di.dli_sname && fnmatch(rules[i].pattern, di.dli_sname, 0) == 0) return true;
    const char *module = di.dli_fbase == exe_base && exe_path[0] ? exe_path : di.dli_fname;
    if (module && fnmatch(rules[i].pattern, module, 0) == 0) return true;
  }
  return false;
}

bool ls_suppressed(enum ls_finding_kind k, const void *cb, uint32_t stack) {
  if (!nrules) return false;
  if (matches_addr((int)k, cb)) return true;
  uintptr_t ips[64];
  size_t n = ls_stack_ips(stack, ips, 64);
  for (size_t i = 0; i < n; i++)
    if (matches_addr((int)k, (const void *)(ips[i] - 1))) return true; /* a return address: the call is before it */
  return false;
}
