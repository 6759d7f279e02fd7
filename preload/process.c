/* Process-level events: exec replaces the image (flush first, keep the shim in the child's
 * environment), posix_spawn starts a child (the same environment care), dlopen adds modules (refresh
 * the map, and warn where RTLD_DEEPBIND hides a library's inner calls). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <spawn.h>
#include <unistd.h>

#include "shim.h"

#define PROCESS_HOOKS(X) X(execve) X(execvpe) X(fexecve) X(posix_spawn) X(posix_spawnp) X(dlopen)
#define DECLARE(name) LS_REAL_SLOT(name);
PROCESS_HOOKS(DECLARE)
#undef DECLARE

/* Every exec goes through one of two real calls, with the environment the child should have
 * (children.c); the report is flushed and closed with a trailer first, and reopened for appending
 * if the exec fails. On failure errno is the exec's own. */
static int exec_with(int (*real)(const char *, char *const[], char *const[]), const char *prog, char *const argv[],
                     char *const envp[]) {
  if (ls_tls.guard) return real(prog, argv, envp);
  char **env = ls_child_env(envp, prog, argv[0]);
  ls_before_exec();
  int rc = real(prog, argv, env ? env : envp);
  int saved = errno;
  ls_after_failed_exec(); /* still us: the report goes on after its trailer */
  ls_child_env_free(env);
  errno = saved;
  return rc;
}

LS_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  if (!LS_REAL_FN(execve, NULL)) return ls_enosys();
  return exec_with(real_execve, path, argv, envp);
}

LS_EXPORT int execv(const char *path, char *const argv[]) { return execve(path, argv, environ); }

LS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  if (!LS_REAL_FN(execvpe, NULL)) return ls_enosys();
  return exec_with(real_execvpe, file, argv, envp);
}

LS_EXPORT int execvp(const char *file, char *const argv[]) { return execvpe(file, argv, environ); }

LS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
  if (!LS_REAL_FN(fexecve, NULL)) return ls_enosys();
  if (ls_tls.guard) return real_fexecve(fd, argv, envp);
  char **env = ls_child_env(envp, NULL, argv[0]);
  ls_before_exec();
  int rc = real_fexecve(fd, argv, env ? env : envp);
  int saved = errno;
  ls_after_failed_exec();
  ls_child_env_free(env);
  errno = saved;
  return rc;
}

/* posix_spawn: a new process, not a new image of this one: only the environment needs care. */
#define SPAWN_HOOK(name)                                                                                    \
  LS_EXPORT int name(pid_t *pid, const char *prog, const posix_spawn_file_actions_t *fa,                    \
                     const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {               \
    if (!LS_REAL_FN(name, NULL)) return ENOSYS;                                                             \
    char **env = ls_tls.guard ? NULL : ls_child_env(envp, prog, argv[0]);                                            \
    int rc = real_##name(pid, prog, fa, attr, argv, env ? env : envp);                                      \
    ls_child_env_free(env);                                                                                 \
    return rc;                                                                                              \
  }
SPAWN_HOOK(posix_spawn)
SPAWN_HOOK(posix_spawnp)

/* The execl family is variadic and reaches execve inside libc, out of our sight: gather the arguments
 * (up to and including the NULL) and go through our own execv/execvp/execve hooks. Returns false
 * (errno E2BIG) when there are more than fit. */
#define MAX_EXECL_ARGS 4096
static bool gather_args(const char *first, va_list *ap, char **argv) {
  argv[0] = (char *)first;
  for (size_t n = 1; argv[n - 1] != NULL; n++) {
    if (n == MAX_EXECL_ARGS) {
      errno = E2BIG;
      return false;
    }
    argv[n] = va_arg(*ap, char *);
  }
  return true;
}

/* X(name, first parameter, call made with the gathered argv; envp is read after the NULL for execle) */
#define EXECL_HOOK(name, param, call)                                                                       \
  LS_EXPORT int name(param, const char *arg, ...) {                                                         \
    char *argv[MAX_EXECL_ARGS];                                                                             \
    va_list ap;                                                                                             \
    va_start(ap, arg);                                                                                      \
    bool ok = gather_args(arg, &ap, argv);                                                                  \
    char *const *envp = ok && EXECL_WANTS_ENVP_##name ? va_arg(ap, char *const *) : NULL;                   \
    va_end(ap);                                                                                             \
    (void)envp;                                                                                             \
    return ok ? (call) : -1;                                                                                \
  }
#define EXECL_WANTS_ENVP_execl 0
#define EXECL_WANTS_ENVP_execlp 0
#define EXECL_WANTS_ENVP_execle 1
EXECL_HOOK(execl, const char *path, execv(path, argv))
EXECL_HOOK(execlp, const char *file, execvp(file, argv))
EXECL_HOOK(execle, const char *path, execve(path, argv, envp))

LS_EXPORT void *dlopen(const char *file, int flags) {
  if (!LS_REAL_FN(dlopen, NULL)) return NULL;
  void *h = real_dlopen(file, flags);
  if (h && !ls_tls.guard && ls_active) {
    int saved = errno;
    ls_modules_dirty();
    if ((flags & RTLD_DEEPBIND) && ls_opt.verbosity >= 1) {
      char line[600];
      size_t n = ls_join(line, sizeof(line), "loopscope: ", file ? file : "(main program)",
                         " was loaded with RTLD_DEEPBIND: calls made inside it are not seen\n");
      ls_log_line(line, n);
    }
    errno = saved;
  }
  return h;
}
