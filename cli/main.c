/* loopscope: asyncio's debug mode for native C event loops. Dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ls_record.h"
#include "ls_version.h"

static void usage(FILE *out) {
  fputs("usage: loopscope COMMAND [options] ...\n"
        "\n"
        "asyncio's debug mode for native programs: watches an unmodified program's event loops (libuv,\n"
        "libevent, GLib, and any epoll/poll/select loop) and its threads, and reports slow callbacks,\n"
        "stalled loops, blocking calls on a loop thread, calls from the wrong thread, work that never ran,\n"
        "handles left open, errors nobody retrieved and threads nobody joined, each with the stack where\n"
        "its callback, call or thread came from.\n"
        "\n"
        "commands:\n"
        "  run [options] -- PROG [ARGS...]   run PROG under the preload library, then render its report\n"
        "  report [options] FILE...          render report files (--format=text|json, -o OUTPUT)\n"
        "  help [COMMAND]                    show this help, or a command's\n"
        "  completion bash                   print the bash completion script (installed with the package)\n"
        "\n"
        "options:\n"
        "  -h, --help      show this help\n"
        "  --version       show the version\n"
        "\n"
        "`loopscope COMMAND --help` lists a command's options; see loopscope(1), loopscope-run(1),\n"
        "loopscope-report(1) and loopscope-options(7).\n",
        out);
}

static int help(const char *cmd) {
  if (!cmd) usage(stdout);
  else if (strcmp(cmd, "run") == 0) ls_usage_run(stdout);
  else if (strcmp(cmd, "report") == 0) ls_usage_report(stdout);
  else {
    fprintf(stderr, "loopscope: no help for unknown command '%s' (commands: run, report)\n", cmd);
    return LS_EXIT_USAGE;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return LS_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "run") == 0) return ls_cmd_run(argc - 1, argv + 1);
  if (strcmp(cmd, "report") == 0) return ls_cmd_report(argc - 1, argv + 1);
  if (strcmp(cmd, "help") == 0) return help(argc > 2 ? argv[2] : NULL);
  if (strcmp(cmd, "completion") == 0) return ls_cmd_completion(argc - 1, argv + 1);
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) return help(NULL);
  if (strcmp(cmd, "--version") == 0) {
    printf("loopscope %s (commit %s, report format %d)\n", LOOPSCOPE_VERSION, LOOPSCOPE_COMMIT, LS_REPORT_VERSION);
    return 0;
  }
  fprintf(stderr, "loopscope: unknown command '%s' (commands: run, report, help, completion; see loopscope --help)\n",
          cmd);
  return LS_EXIT_USAGE;
}
