/* Waits for a file to appear, then exits 0 (1 after 60 s without it): a clean program whose end a
 * test decides, so the test can act on the report directory while `loopscope run` waits for it.
 *   wait_file PATH */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: wait_file PATH\n");
    return 2;
  }
  struct timespec tick = {0, 10 * 1000 * 1000};
  for (int i = 0; i < 6000; i++) {
    if (access(argv[1], F_OK) == 0) return 0;
    nanosleep(&tick, NULL);
  }
  fprintf(stderr, "wait_file: %s did not appear\n", argv[1]);
  return 1;
}
