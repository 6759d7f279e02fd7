/* For transparency tests: writes to stdout and stderr, then ends as asked.
 *   exit_with N [ARGS...]    print the arguments, exit with status N
 *   exit_with TERM           print, then kill itself with SIGTERM
 *   exit_with stdin N        copy stdin to stdout (and its byte count to stderr), exit N */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: exit_with N|TERM|stdin N [ARGS...]\n");
    return 2;
  }
  if (strcmp(argv[1], "stdin") == 0) {
    char buf[4096];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
      fwrite(buf, 1, n, stdout);
      total += n;
    }
    fprintf(stderr, "read %zu bytes\n", total);
    return argc > 2 ? atoi(argv[2]) : 0;
  }
  printf("argc=%d\n", argc);
  for (int i = 2; i < argc; i++) printf("argv[%d]=<%s>\n", i, argv[i]);
  fprintf(stderr, "exit_with: to stderr, ending with %s\n", argv[1]);
  fflush(stdout);
  fflush(stderr);
  if (strcmp(argv[1], "TERM") == 0) {
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM);
    pause();
  }
  return atoi(argv[1]);
}
