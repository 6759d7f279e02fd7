/* A hand-written epoll server that never ends, for `loopscope run --timeout`: it listens on an
 * ephemeral TCP port of 127.0.0.1, and a client thread of its own connects and then waits, silent, so
 * the server's epoll set holds the listening socket, the accepted connection and the read end of a pipe
 * nobody writes to. Prints "port=P client=C" (the listening port and the client's own port) once the
 * connection is accepted. The hang dump must list the three fds the loop waits on, with what each is.
 * With argument "poll" or "select" the same server waits with poll(2) or select(2) instead. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in addr;
static int client_port;

static void *client(void *arg) {
  (void)arg;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) return NULL;
  struct sockaddr_in me;
  socklen_t len = sizeof(me);
  if (getsockname(fd, (struct sockaddr *)&me, &len) == 0) __atomic_store_n(&client_port, ntohs(me.sin_port), __ATOMIC_RELEASE);
  char c;
  while (read(fd, &c, 1) > 0) {
  } /* the server never writes: this thread waits until the process ends */
  return NULL;
}

/* The connection was accepted: say so once the client knows its port. */
static void accepted(void) {
  while (!__atomic_load_n(&client_port, __ATOMIC_ACQUIRE)) usleep(1000);
  printf("port=%d client=%d\n", ntohs(addr.sin_port), client_port);
  fflush(stdout);
}

/* poll(2) or select(2) on the listening socket, the pipe and (once accepted) the connection. */
static int other_loop(bool use_poll, int lfd, int pipe_rd) {
  int conn = -1;
  for (;;) {
    struct pollfd fds[3] = {{lfd, POLLIN, 0}, {pipe_rd, POLLIN, 0}, {conn, POLLIN, 0}};
    fd_set rd;
    FD_ZERO(&rd);
    for (int i = 0; i < 3; i++)
      if (fds[i].fd >= 0) FD_SET(fds[i].fd, &rd);
    struct timeval tv = {0, 100000};
    int n = use_poll ? poll(fds, 3, 100) : select(FD_SETSIZE, &rd, NULL, NULL, &tv);
    bool ready = use_poll ? (fds[0].revents & POLLIN) : FD_ISSET(lfd, &rd);
    if (n > 0 && ready && conn < 0) {
      if ((conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) return 1;
      accepted();
    }
  }
}

int main(int argc, char **argv) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), p[2];
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 8) != 0 ||
      getsockname(lfd, (struct sockaddr *)&addr, &len) != 0 || pipe2(p, O_CLOEXEC) != 0)
    return 1;
  pthread_t t;
  if (pthread_create(&t, NULL, client, NULL) != 0) return 1;
  if (argc > 1) return other_loop(strcmp(argv[1], "poll") == 0, lfd, p[0]);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) return 1;
  ev.data.fd = p[0];
  if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) != 0) return 1;
  for (;;) {
    struct epoll_event got[8];
    int n = epoll_wait(ep, got, 8, 100);
    for (int i = 0; i < n; i++) {
      if (got[i].data.fd != lfd) continue;
      int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
      if (c < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) != 0) return 1;
      accepted();
    }
  }
}
