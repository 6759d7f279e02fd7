/* What an fd is, for the --timeout hang dump: a listening TCP port, a connected socket (local ->
 * remote), a pipe, a terminal, an eventfd/timerfd/signalfd, a file (its path). From /proc only
 * (readlink of /proc/self/fd/N; a socket's inode looked up in /proc/self/net/{tcp,tcp6,udp,udp6,unix}),
 * never from the fd itself: nothing the program sees changes. And the fds each generic loop waits on:
 * an epoll loop's set from /proc/self/fdinfo/EPFD, a poll or select loop's from its last poll (poll.c
 * keeps them). Runs on the flush thread, answering the dump. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#define MAX_DUMP_FDS 256 /* per loop: a hang dump names what waits, not every connection of a busy server */

/* Calls fn on every whole line of path (NUL-terminated, without its newline). Lines longer than the
 * buffer are skipped. */
static void each_line(const char *path, void (*fn)(char *line, void *arg), void *arg) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char *buf = malloc(16384);
  size_t len = 0;
  bool skipping = false;
  while (buf) {
    ssize_t n = syscall(SYS_read, fd, buf + len, 16383 - len);
    if (n <= 0) break;
    len += (size_t)n;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', len - (size_t)(start - buf))) != NULL) {
      *nl = '\0';
      if (!skipping) fn(start, arg);
      skipping = false;
      start = nl + 1;
    }
    len -= (size_t)(start - buf);
    memmove(buf, start, len);
    if (len == 16383) { /* a line longer than the buffer: dropped */
      len = 0;
      skipping = true;
    }
  }
  free(buf);
  syscall(SYS_close, fd);
}

/* ---- sockets: inode -> what, local and remote address ---- */

struct sock_scan {
  struct ls_fd_desc *d;
  const uint64_t *inodes; /* per entry; 0: not a socket, or found already */
  size_t n;
  const char *proto; /* "tcp", "udp" */
  bool v6;
};

/* "0100007F:1F90" (IPv4) or 32 hex digits and a port (IPv6): the kernel prints each 32-bit word of the
 * address as a host-order number. */
static bool net_addr(const char *s, bool v6, char *out, size_t cap) {
  uint32_t w[4];
  int words = v6 ? 4 : 1;
  for (int i = 0; i < words; i++) {
    char hex[9];
    memcpy(hex, s + 8 * i, 8);
    hex[8] = '\0';
    char *end;
    w[i] = (uint32_t)strtoul(hex, &end, 16);
    if (*end) return false;
  }
  const char *colon = s + 8 * words;
  if (*colon != ':') return false;
  unsigned port = (unsigned)strtoul(colon + 1, NULL, 16);
  char ip[INET6_ADDRSTRLEN];
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, w, ip, sizeof(ip))) return false;
  snprintf(out, cap, v6 ? "[%s]:%u" : "%s:%u", ip, port);
  return true;
}

static void scan_inet(char *line, void *arg) {
  struct sock_scan *s = arg;
  /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
  char *f[10], *save = NULL;
  int n = 0;
  for (char *t = strtok_r(line, " ", &save); t && n < 10; t = strtok_r(NULL, " ", &save)) f[n++] = t;
  if (n < 10 || strchr(f[0], ':') == NULL) return; /* the heading */
  uint64_t ino = strtoull(f[9], NULL, 10);
  if (!ino) return;
  for (size_t i = 0; i < s->n; i++) {
    if (s->inodes[i] != ino || s->d[i].what[0]) continue;
    struct ls_fd_desc *d = &s->d[i];
    unsigned st = (unsigned)strtoul(f[3], NULL, 16);
    bool tcp = strcmp(s->proto, "tcp") == 0;
    /* TCP 0x0A is LISTEN; an unconnected UDP socket's remote address is all zeros (state 0x07) */
    bool listening = tcp && st == 0x0A, connected = tcp ? !listening : st == 0x01;
    snprintf(d->what, sizeof(d->what), "%s%s", s->proto, listening ? " listen" : "");
    net_addr(f[1], s->v6, d->addr, sizeof(d->addr));
    if (connected) net_addr(f[2], s->v6, d->peer, sizeof(d->peer));
  }
}

static void scan_unix(char *line, void *arg) {
  struct sock_scan *s = arg;
  /* Num RefCount Protocol Flags Type St Inode [Path] */
  char *f[8], *save = NULL;
  int n = 0;
  for (char *t = strtok_r(line, " ", &save); t && n < 8; t = strtok_r(NULL, " ", &save)) f[n++] = t;
  if (n < 7 || strcmp(f[0], "Num") == 0) return;
  uint64_t ino = strtoull(f[6], NULL, 10);
  for (size_t i = 0; ino && i < s->n; i++) {
    if (s->inodes[i] != ino || s->d[i].what[0]) continue;
    bool listening = (strtoul(f[3], NULL, 16) & 0x10000) != 0; /* __SO_ACCEPTCON */
    snprintf(s->d[i].what, sizeof(s->d[i].what), "unix%s", listening ? " listen" : "");
    if (n == 8) snprintf(s->d[i].addr, sizeof(s->d[i].addr), "%s", f[7]);
  }
}

/* "anon_inode:[eventfd]" -> "eventfd"; "anon_inode:inotify" -> "inotify"; eventpoll is "epoll". */
static void anon_kind(const char *name, char *out, size_t cap) {
  const char *b = name[0] == '[' ? name + 1 : name;
  size_t n = strcspn(b, "]");
  if (n == 9 && strncmp(b, "eventpoll", 9) == 0) snprintf(out, cap, "epoll");
  else snprintf(out, cap, "%.*s", (int)n, b);
}

void ls_fds_describe(const int *fds, size_t n, struct ls_fd_desc *out) {
  uint64_t *inodes = calloc(n ? n : 1, sizeof(*inodes));
  size_t sockets = 0;
  for (size_t i = 0; i < n; i++) {
    struct ls_fd_desc *d = &out[i];
    memset(d, 0, sizeof(*d));
    char path[64], target[sizeof(d->addr)];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
    ssize_t len = syscall(SYS_readlinkat, AT_FDCWD, path, target, sizeof(target) - 1);
    if (len < 0) {
      snprintf(d->what, sizeof(d->what), "closed");
      continue;
    }
    target[len] = '\0';
    unsigned long long ino;
    if (sscanf(target, "socket:[%llu]", &ino) == 1) {
      if (inodes) inodes[i] = ino;
      sockets++;
    } else if (strncmp(target, "pipe:", 5) == 0) {
      snprintf(d->what, sizeof(d->what), "pipe");
    } else if (strncmp(target, "anon_inode:", 11) == 0) {
      anon_kind(target + 11, d->what, sizeof(d->what));
    } else if (strncmp(target, "/dev/pts/", 9) == 0 || strncmp(target, "/dev/tty", 8) == 0 ||
               strcmp(target, "/dev/console") == 0) {
      snprintf(d->what, sizeof(d->what), "tty");
      memcpy(d->addr, target, (size_t)len + 1);
    } else if (target[0] == '/') {
      struct stat st;
      bool fifo = syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0) == 0 && S_ISFIFO(st.st_mode);
      bool dev = !fifo && syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0) == 0 && S_ISCHR(st.st_mode);
      snprintf(d->what, sizeof(d->what), "%s", fifo ? "fifo" : dev ? "device" : "file");
      memcpy(d->addr, target, (size_t)len + 1);
    } else {
      snprintf(d->what, sizeof(d->what), "%.*s", (int)strcspn(target, ":"), target);
    }
  }
  if (sockets && inodes) {
    static const struct {
      const char *path, *proto;
      bool v6;
    } inet[] = {{"/proc/self/net/tcp", "tcp", false},
                {"/proc/self/net/tcp6", "tcp", true},
                {"/proc/self/net/udp", "udp", false},
                {"/proc/self/net/udp6", "udp", true}};
    for (size_t k = 0; k < sizeof(inet) / sizeof(inet[0]); k++) {
      struct sock_scan s = {out, inodes, n, inet[k].proto, inet[k].v6};
      each_line(inet[k].path, scan_inet, &s);
    }
    struct sock_scan s = {out, inodes, n, "unix", false};
    each_line("/proc/self/net/unix", scan_unix, &s);
    for (size_t i = 0; i < n; i++)
      if (inodes[i] && !out[i].what[0]) snprintf(out[i].what, sizeof(out[i].what), "socket"); /* netlink, raw... */
  }
  free(inodes);
}

void ls_rec_fd(struct ls_rec *r, int fd, const struct ls_fd_desc *d) {
  ls_rec_u(r, "fd", (uint64_t)fd);
  if (d->what[0]) ls_rec_s(r, "what", d->what);
  if (d->addr[0]) ls_rec_s(r, "addr", d->addr);
  if (d->peer[0]) ls_rec_s(r, "peer", d->peer);
}

/* ---- the fds a generic loop waits on ---- */

struct wait_list {
  int fds[MAX_DUMP_FDS];
  uint32_t events[MAX_DUMP_FDS]; /* EPOLL* bits (poll's POLLIN/POLLOUT/POLLPRI are the same values) */
  size_t n;
};

/* "tfd:        5 events:       19 data: ..." */
static void scan_epoll(char *line, void *arg) {
  struct wait_list *w = arg;
  int fd;
  unsigned ev;
  if (w->n < MAX_DUMP_FDS && sscanf(line, "tfd: %d events: %x", &fd, &ev) == 2) {
    w->fds[w->n] = fd;
    w->events[w->n++] = ev;
  }
}

static void events_text(uint32_t ev, char *out, size_t cap) {
  static const struct {
    uint32_t bit;
    const char *name;
  } names[] = {{EPOLLIN, "in"}, {EPOLLPRI, "pri"}, {EPOLLOUT, "out"}, {EPOLLRDHUP, "rdhup"},
               {EPOLLET, "et"}, {EPOLLONESHOT, "oneshot"}};
  size_t len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (ev & names[i].bit) len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", names[i].name);
}

static bool thread_alive(pid_t tid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
  return tid > 0 && syscall(SYS_faccessat, AT_FDCWD, path, F_OK) == 0;
}

/* One H record per fd each generic loop (alive, confirmed) waits on: kind=fd. */
void ls_loops_dump_fds(void) {
  struct wait_list *w = malloc(sizeof(*w));
  struct ls_fd_desc *d = malloc(MAX_DUMP_FDS * sizeof(*d));
  for (uint32_t i = 0, n = ls_loop_count(); w && d && i < n; i++) {
    struct ls_loop *l = ls_loop_at(i);
    if (!ls_loop_is_generic(l) || LS_RELAXED_LOAD(&l->provisional) || !thread_alive(LS_RELAXED_LOAD(&l->thread)))
      continue;
    w->n = 0;
    if (l->poll_fd >= 0) {
      char path[64];
      snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", l->poll_fd);
      each_line(path, scan_epoll, w);
    } else {
      w->n = ls_loop_wait_fds(l, w->fds, w->events, MAX_DUMP_FDS);
    }
    ls_fds_describe(w->fds, w->n, d);
    for (size_t k = 0; k < w->n; k++) {
      char buf[1024], ev[64];
      struct ls_rec r;
      ls_rec_begin(&r, buf, sizeof(buf), 'H');
      ls_rec_u(&r, "loop", l->id);
      ls_rec_s(&r, "kind", "fd");
      ls_rec_fd(&r, w->fds[k], &d[k]);
      events_text(w->events[k], ev, sizeof(ev));
      if (ev[0]) ls_rec_s(&r, "events", ev);
      ls_write(&r);
    }
  }
  free(w);
  free(d);
}
