/* The CLI's own flags (the shim's options, which `run` also takes as flags, are ls_option_table's). One
 * table, so the shell completion, the "accepted: ..." lists of a bad flag and the value words of a flag
 * all come from one place; tests/integration/it_completion.c checks every entry against the parsers. */
#ifndef LS_CLI_FLAGS_H
#define LS_CLI_FLAGS_H

#include <stddef.h>
#include <stdio.h>

#define LS_CMD_RUN 1u
#define LS_CMD_REPORT 2u

enum ls_flag_value {
  LS_FV_NONE,     /* a switch */
  LS_FV_FILE,     /* a file path */
  LS_FV_DIR,      /* a directory path */
  LS_FV_DURATION, /* 250, 250ms, 0.25s */
  LS_FV_NUMBER,
  LS_FV_WORDS,    /* one of `words` */
  LS_FV_IDS,      /* comma-separated finding ids and id groups */
};

struct ls_cli_flag {
  const char *name;  /* "--format" */
  const char *alias; /* "-o", or NULL */
  unsigned cmds;     /* LS_CMD_* that take it */
  enum ls_flag_value value;
  const char *words; /* LS_FV_WORDS: "text json sarif junit" */
};

extern const struct ls_cli_flag ls_cli_flags[];
extern const size_t ls_cli_flag_count;

/* The flag called `name` ("--format") that `cmd` takes, or NULL. */
const struct ls_cli_flag *ls_cli_flag_find(unsigned cmd, const char *name);
/* The index of `word` among a LS_FV_WORDS flag's words, or -1. */
int ls_cli_flag_word(const struct ls_cli_flag *f, const char *word);
/* "a, b, c": the flag's words, for an error message. */
void ls_cli_flag_print_words(FILE *out, const struct ls_cli_flag *f);
/* ", --x, --y": every flag `cmd` takes from the table, for an "accepted:" list. */
void ls_cli_flags_print(FILE *out, unsigned cmd);

#endif
