/* Not a loop: poll() twice on one fd from one call site, and poll(NULL, 0, 10) used as a sleep several
 * times. loopscope must describe no loop at all and report nothing. Prints "ready=N". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return 1;
  if (write(p[1], "x", 1) != 1) return 1;
  int ready = 0;
  for (int i = 0; i < 2; i++) {
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    if (poll(&pf, 1, 1000) == 1) ready++;
  }
  for (int i = 0; i < 5; i++) poll(NULL, 0, 10);
  close(p[0]);
  close(p[1]);
  printf("ready=%d\n", ready);
  return ready == 2 ? 0 : 1;
}
