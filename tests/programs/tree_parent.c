/* The middle of a three-process tree for `loopscope run --output-dir` (it_tree): a shell runs this
 * program, which forks; the child execs tree_leaf, which has the leak. This process and its child
 * before the exec are clean. Prints "parent=PID child=PID" after the child has ended; exits 0 when
 * the leaf did. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef LS_TREE_LEAF
#error LS_TREE_LEAF must name the tree_leaf program
#endif

int main(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    char *const argv[] = {(char *)"tree_leaf", NULL};
    execv(LS_TREE_LEAF, argv);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  printf("parent=%d child=%d\n", (int)getpid(), (int)pid);
  return 0;
}
