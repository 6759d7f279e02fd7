/* The CLI's own flags, one table (see flags.h). */
#include "flags.h"

#include <string.h>

#define BOTH (LS_CMD_RUN | LS_CMD_REPORT)

/* The order of a LS_FV_WORDS flag's words is the order of the enum its parser fills (report.c). */
const struct ls_cli_flag ls_cli_flags[] = {
    {"--output-dir", NULL, LS_CMD_RUN, LS_FV_DIR, NULL},
    {"--timeout", NULL, LS_CMD_RUN, LS_FV_DURATION, NULL},
    {"--kill-after", NULL, LS_CMD_RUN, LS_FV_DURATION, NULL},
    {"--format", NULL, LS_CMD_REPORT, LS_FV_WORDS, "text json sarif junit"},
    {"--output", "-o", LS_CMD_REPORT, LS_FV_FILE, NULL},
    {"--color", NULL, LS_CMD_REPORT, LS_FV_WORDS, "auto always never"},
    {"--debuginfod", NULL, LS_CMD_REPORT, LS_FV_NONE, NULL},
    {"--source-root", NULL, LS_CMD_REPORT, LS_FV_DIR, NULL},
    {"--fail-on", NULL, BOTH, LS_FV_IDS, NULL},
    {"--error-exitcode", NULL, BOTH, LS_FV_NUMBER, NULL},
    {"--suppressions", NULL, BOTH, LS_FV_FILE, NULL},
    {"--gen-suppressions", NULL, BOTH, LS_FV_NONE, NULL},
    {"--print-suppressions", NULL, BOTH, LS_FV_NONE, NULL},
    {"--help", "-h", BOTH, LS_FV_NONE, NULL},
};
const size_t ls_cli_flag_count = sizeof(ls_cli_flags) / sizeof(ls_cli_flags[0]);

const struct ls_cli_flag *ls_cli_flag_find(unsigned cmd, const char *name) {
  for (size_t i = 0; i < ls_cli_flag_count; i++) {
    const struct ls_cli_flag *f = &ls_cli_flags[i];
    if ((f->cmds & cmd) && (strcmp(f->name, name) == 0 || (f->alias && strcmp(f->alias, name) == 0))) return f;
  }
  return NULL;
}

int ls_cli_flag_word(const struct ls_cli_flag *f, const char *word) {
  size_t n = strlen(word);
  int i = 0;
  for (const char *p = f->words; p && *p; i++) {
    size_t len = strcspn(p, " ");
    if (len == n && n && memcmp(p, word, n) == 0) return i;
    p += len;
    p += strspn(p, " ");
  }
  return -1;
}

void ls_cli_flag_print_words(FILE *out, const struct ls_cli_flag *f) {
  for (const char *p = f->words; p && *p;) {
    size_t len = strcspn(p, " ");
    fprintf(out, "%s%.*s", p == f->words ? "" : ", ", (int)len, p);
    p += len;
    p += strspn(p, " ");
  }
}

void ls_cli_flags_print(FILE *out, unsigned cmd) {
  for (size_t i = 0; i < ls_cli_flag_count; i++) {
    const struct ls_cli_flag *f = &ls_cli_flags[i];
    if (!(f->cmds & cmd)) continue;
    if (f->alias) fprintf(out, ", %s/%s", f->alias, f->name);
    else fprintf(out, ", %s", f->name);
  }
}
