/* `loopscope completion bash`: the bash completion script, generated from the tables the parsers use
 * (the shim's option table, the CLI's flag table, the finding ids and --fail-on's groups), so a new
 * flag or finding id completes without a second list to keep. The build installs its output to
 * share/bash-completion/completions/loopscope; `source <(loopscope completion bash)` works too.
 *
 * The script needs nothing but bash (not the bash-completion package): it reads COMP_WORDS and
 * COMP_CWORD, and answers `--flag=VALUE` both when readline split the word at '=' (the default
 * COMP_WORDBREAKS) and when it did not. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ci.h"
#include "cli.h"
#include "flags.h"
#include "ls_findings.h"
#include "ls_options.h"

/* How a shim option's value completes. Paths are the two options that name files. */
static enum ls_flag_value option_value(const struct ls_option_desc *d) {
  if (d->choices) return LS_FV_WORDS;
  switch (d->type) {
  case LS_OPT_BOOL: return LS_FV_WORDS;
  case LS_OPT_MS: return LS_FV_DURATION;
  case LS_OPT_UINT:
  case LS_OPT_RTSIG: return LS_FV_WORDS; /* signal names: signal_words() */
  case LS_OPT_STRING: break;
  }
  return strcmp(d->key, "log_path") == 0 || strcmp(d->key, "suppressions") == 0 ? LS_FV_FILE : LS_FV_NONE;
}

/* A shell word list: the words of `s` split at `sep`, space-separated. */
static void words(FILE *out, const char *s, char sep) {
  for (; *s; s++) fputc(*s == sep ? ' ' : *s, out);
}

/* The case arm that completes one flag's value ("$val" is the typed part of it). */
static void value_arm(FILE *out, const char *flag, enum ls_flag_value v, const char *wordlist, char sep) {
  switch (v) {
  case LS_FV_FILE: fprintf(out, "    %s) _loopscope_reply file \"$val\" ;;\n", flag); return;
  case LS_FV_DIR: fprintf(out, "    %s) _loopscope_reply dir \"$val\" ;;\n", flag); return;
  case LS_FV_IDS: fprintf(out, "    %s) _loopscope_reply ids \"$val\" ;;\n", flag); return;
  case LS_FV_WORDS:
    fprintf(out, "    %s) _loopscope_reply words \"$val\" \"", flag);
    words(out, wordlist, sep);
    fputs("\" ;;\n", out);
    return;
  case LS_FV_NONE:
  case LS_FV_DURATION:
  case LS_FV_NUMBER: fprintf(out, "    %s) COMPREPLY=() ;;\n", flag); return;
  }
}

/* "0|SIGRTMIN|SIGRTMIN+1|...|SIGRTMAX": what a signal option accepts by name (the parser takes these and
 * numbers), from this system's real-time range. */
static const char *signal_words(char *buf, size_t len) {
  size_t n = (size_t)snprintf(buf, len, "0|SIGRTMIN");
  for (int k = 1; SIGRTMIN + k < SIGRTMAX && n < len; k++) n += (size_t)snprintf(buf + n, len - n, "|SIGRTMIN+%d", k);
  if (n < len) snprintf(buf + n, len - n, "|SIGRTMAX");
  return buf;
}

static void flag_list(FILE *out, unsigned cmd) {
  bool first = true;
  if (cmd == LS_CMD_RUN) {
    fputs("-o", out);
    first = false;
    for (size_t i = 0; i < ls_option_count; i++) {
      const struct ls_option_desc *d = &ls_option_table[i];
      char flag[80];
      snprintf(flag, sizeof(flag), "--%s", d->flag);
      if (!ls_cli_flag_find(cmd, flag)) fprintf(out, " %s", flag); /* --suppressions: the CLI's own */
    }
  }
  for (size_t i = 0; i < ls_cli_flag_count; i++) {
    const struct ls_cli_flag *f = &ls_cli_flags[i];
    if (!(f->cmds & cmd)) continue;
    fprintf(out, "%s%s", first ? "" : " ", f->name);
    if (f->alias) fprintf(out, " %s", f->alias);
    first = false;
  }
}

/* `--flag` or `--flag=`: a flag that takes a value is offered with its '=' (no space after it). */
static void takes_value_list(FILE *out, unsigned cmd) {
  if (cmd == LS_CMD_RUN)
    for (size_t i = 0; i < ls_option_count; i++)
      if (ls_option_table[i].type != LS_OPT_BOOL && strcmp(ls_option_table[i].key, "suppressions") != 0)
        fprintf(out, " --%s", ls_option_table[i].flag);
  for (size_t i = 0; i < ls_cli_flag_count; i++)
    if ((ls_cli_flags[i].cmds & cmd) && ls_cli_flags[i].value != LS_FV_NONE) {
      fprintf(out, " %s", ls_cli_flags[i].name);
      if (ls_cli_flags[i].alias) fprintf(out, " %s", ls_cli_flags[i].alias);
    }
}

static void value_arms(FILE *out, unsigned cmd) {
  if (cmd == LS_CMD_RUN) {
    value_arm(out, "-o", LS_FV_FILE, NULL, ' ');
    for (size_t i = 0; i < ls_option_count; i++) {
      const struct ls_option_desc *d = &ls_option_table[i];
      char flag[80];
      snprintf(flag, sizeof(flag), "--%s", d->flag);
      if (ls_cli_flag_find(cmd, flag)) continue; /* the CLI's own flag of that name (--suppressions) wins */
      enum ls_flag_value v = option_value(d);
      char sigs[1024];
      const char *wordlist = d->choices ? d->choices : d->type == LS_OPT_RTSIG ? signal_words(sigs, sizeof(sigs)) : "0|1";
      value_arm(out, flag, v, wordlist, '|');
    }
  }
  for (size_t i = 0; i < ls_cli_flag_count; i++) {
    const struct ls_cli_flag *f = &ls_cli_flags[i];
    if (!(f->cmds & cmd) || f->value == LS_FV_NONE) continue;
    char arm[80];
    snprintf(arm, sizeof(arm), "%s%s%s", f->name, f->alias ? "|" : "", f->alias ? f->alias : "");
    value_arm(out, arm, f->value, f->words, ' ');
  }
}

static void bash_script(FILE *out) {
  fputs("# bash completion for loopscope; generated by `loopscope completion bash` from the tables its\n"
        "# parsers use: do not edit.\n\n",
        out);
  fputs("_loopscope_ids='", out);
  for (int i = 0; i < LS_F_COUNT; i++) fprintf(out, "%s%s", i ? " " : "", ls_finding_table[i].id);
  for (size_t g = 0; ls_ci_group_name(g); g++) fprintf(out, " %s", ls_ci_group_name(g));
  fputs("'\n\n", out);
  /* _loopscope_reply KIND TYPED [WORDS]: COMPREPLY for a value. ids complete the last of a comma list. */
  fputs("_loopscope_reply() {\n"
        "  local kind=$1 typed=$2 head=\n"
        "  case $kind in\n"
        "  file) mapfile -t COMPREPLY < <(compgen -f -- \"$typed\"); compopt -o filenames 2>/dev/null ;;\n"
        "  dir) mapfile -t COMPREPLY < <(compgen -d -- \"$typed\"); compopt -o filenames 2>/dev/null ;;\n"
        "  words) mapfile -t COMPREPLY < <(compgen -W \"$3\" -- \"$typed\") ;;\n"
        "  ids)\n"
        "    [[ $typed == *,* ]] && head=${typed%,*},\n"
        "    mapfile -t COMPREPLY < <(compgen -P \"$head\" -W \"$_loopscope_ids\" -- \"${typed##*,}\")\n"
        "    compopt -o nospace 2>/dev/null ;;\n"
        "  esac\n"
        "}\n\n",
        out);
  static const struct {
    const char *name;
    unsigned cmd;
  } cmds[] = {{"run", LS_CMD_RUN}, {"report", LS_CMD_REPORT}};
  for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
    fprintf(out, "_loopscope_%s_value() {\n  local flag=$1 val=$2\n  case $flag in\n", cmds[c].name);
    value_arms(out, cmds[c].cmd);
    fputs("    *) return 1 ;;\n  esac\n}\n\n", out);
    fprintf(out, "_loopscope_%s_flags='", cmds[c].name);
    flag_list(out, cmds[c].cmd);
    fprintf(out, "'\n_loopscope_%s_valued='", cmds[c].name);
    takes_value_list(out, cmds[c].cmd);
    fputs(" '\n\n", out);
  }
  fputs("_loopscope() {\n"
        "  local cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= i w dashdash=0 prog=0\n"
        "  COMPREPLY=()\n"
        "  (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
        "  # the command, and for run whether PROG has begun (after -- or the first plain word)\n"
        "  for (( i = 1; i < COMP_CWORD; i++ )); do\n"
        "    w=${COMP_WORDS[i]}\n"
        "    if [[ -z $cmd ]]; then [[ $w != -* ]] && cmd=$w; continue; fi\n"
        "    [[ $cmd != run ]] && continue\n"
        "    if (( dashdash || prog )); then continue; fi\n"
        "    if [[ $w == -- ]]; then dashdash=$i; continue; fi\n"
        "    [[ $w == = || ${COMP_WORDS[i-1]} == = ]] && continue\n"
        "    if [[ $w != -* && ! \" $_loopscope_run_valued \" == *\" ${COMP_WORDS[i-1]} \"* ]]; then prog=$i; fi\n"
        "  done\n"
        "  if [[ -z $cmd ]]; then\n"
        "    mapfile -t COMPREPLY < <(compgen -W 'run report help completion --help --version' -- \"$cur\")\n"
        "    return 0\n"
        "  fi\n"
        "  case $cmd in\n"
        "  help) (( COMP_CWORD == 2 )) && mapfile -t COMPREPLY < <(compgen -W 'run report completion' -- \"$cur\"); return 0 ;;\n"
        "  completion) (( COMP_CWORD == 2 )) && mapfile -t COMPREPLY < <(compgen -W 'bash' -- \"$cur\"); return 0 ;;\n"
        "  run|report) ;;\n"
        "  *) return 0 ;;\n"
        "  esac\n"
        "  if [[ $cmd == run ]] && (( dashdash || prog )); then\n"
        "    # PROG, then its arguments: a command name, then files\n"
        "    local first=$(( dashdash ? dashdash + 1 : prog ))\n"
        "    if (( COMP_CWORD == first )); then mapfile -t COMPREPLY < <(compgen -c -- \"$cur\")\n"
        "    else _loopscope_reply file \"$cur\"; fi\n"
        "    return 0\n"
        "  fi\n"
        "  # --flag=VALUE: split by readline at '=' (cur is the value, or '=' itself), or kept whole\n"
        "  if [[ $cur == = ]] && [[ $prev == -* ]]; then _loopscope_${cmd}_value \"$prev\" ''; return 0; fi\n"
        "  if [[ $prev == = ]] && (( COMP_CWORD >= 2 )); then\n"
        "    _loopscope_${cmd}_value \"${COMP_WORDS[COMP_CWORD-2]}\" \"$cur\"; return 0\n"
        "  fi\n"
        "  if [[ $cur == --*=* ]]; then\n"
        "    local flag=${cur%%=*}\n"
        "    _loopscope_${cmd}_value \"$flag\" \"${cur#*=}\" && COMPREPLY=(\"${COMPREPLY[@]/#/$flag=}\")\n"
        "    return 0\n"
        "  fi\n"
        "  # --flag VALUE\n"
        "  local valued=_loopscope_${cmd}_valued\n"
        "  if [[ $prev == -* && \" ${!valued} \" == *\" $prev \"* ]]; then _loopscope_${cmd}_value \"$prev\" \"$cur\"; return 0; fi\n"
        "  if [[ $cur == -* ]]; then\n"
        "    local flags=_loopscope_${cmd}_flags\n"
        "    mapfile -t COMPREPLY < <(compgen -W \"${!flags}\" -- \"$cur\")\n"
        "    return 0\n"
        "  fi\n"
        "  if [[ $cmd == run ]]; then mapfile -t COMPREPLY < <(compgen -c -- \"$cur\")\n"
        "  else _loopscope_reply file \"$cur\"; fi\n"
        "  return 0\n"
        "}\n"
        "complete -F _loopscope loopscope\n",
        out);
}

int ls_cmd_completion(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "bash") == 0) {
    bash_script(stdout);
    return fflush(stdout) == 0 ? 0 : LS_EXIT_USAGE;
  }
  fprintf(stderr, "loopscope completion: expected the shell's name (accepted: bash)\n");
  return LS_EXIT_USAGE;
}
