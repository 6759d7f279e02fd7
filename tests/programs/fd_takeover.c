/* A program that takes over every descriptor number above 2 it did not open, behind any hook's back
 * (raw system calls, as code does that cannot rely on libc's wrappers): argv[1] "close_range" closes
 * them all with SYS_close_range and then puts a file of its own on each number it found open; "dup3"
 * puts its file on each with SYS_dup3 directly. Then it writes to its files, starts and joins a thread
 * (so a watching shim has records to write) and writes again. Its files (own.N.txt in the current
 * directory) must hold exactly what it wrote.
 * Prints "took=N" (how many numbers it took over). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_TAKEN 16

static int taken[MAX_TAKEN], ntaken;

/* Numbers above 2 open now (the directory's own fd aside). */
static void find_open(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) exit(2);
  for (struct dirent *e; (e = readdir(d)) && ntaken < MAX_TAKEN;) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(d)) taken[ntaken++] = fd;
  }
  closedir(d);
}

static void take(int n) {
  char path[64];
  snprintf(path, sizeof(path), "own.%d.txt", n);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
  if (fd < 0) exit(2);
  if (fd == n) return; /* closed first: open() may have handed out the number itself */
  if (syscall(SYS_dup3, fd, n, 0) != n) exit(2);
  close(fd);
}

static void write_all(const char *what) {
  for (int i = 0; i < ntaken; i++) dprintf(taken[i], "%s %d\n", what, taken[i]);
}

static void *worker(void *arg) { return arg; }

int main(int argc, char **argv) {
  if (argc != 2 || (strcmp(argv[1], "close_range") != 0 && strcmp(argv[1], "dup3") != 0)) {
    fprintf(stderr, "usage: fd_takeover close_range|dup3\n");
    return 2;
  }
  find_open();
  if (strcmp(argv[1], "close_range") == 0 && syscall(SYS_close_range, 3, ~0U, 0) != 0) return 2;
  for (int i = 0; i < ntaken; i++) take(taken[i]);
  write_all("mine");
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0 || pthread_join(t, NULL) != 0) return 1;
  write_all("mine again");
  printf("took=%d\n", ntaken);
  return 0;
}
