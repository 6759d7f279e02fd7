/* A libevent program that never ends: its base waits on a pipe nobody writes to. Under `loopscope run
 * --timeout` the hang dump must list what it holds open, with creation stacks: the event_base at
 * "base", the read event on the pipe at "event" (with its fd), a timer due in an hour at "timer", a
 * bufferevent at "bev", the evconnlistener at "listener". Prints "started" once running. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

static void on_read(evutil_socket_t fd, short what, void *arg) { (void)fd, (void)what, (void)arg; }

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg) {
  (void)l, (void)sa, (void)len, (void)arg;
  close(fd);
}

static void on_started(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  printf("started\n");
  fflush(stdout);
}

int main(void) {
  int p[2];
  if (pipe(p) != 0) return 1;
  struct event_base *base = event_base_new(); /* LS-SITE: base */
  if (!base) return 1;
  struct event *ev = event_new(base, p[0], EV_READ | EV_PERSIST, on_read, NULL); /* LS-SITE: event */
  if (!ev || event_add(ev, NULL) != 0) return 1;
  struct event *timer = evtimer_new(base, on_read, NULL); /* LS-SITE: timer */
  struct timeval hour = {3600, 0};
  if (!timer || evtimer_add(timer, &hour) != 0) return 1;
  struct bufferevent *bev = bufferevent_socket_new(base, -1, 0); /* LS-SITE: bev */
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct sockaddr *sa = (struct sockaddr *)&sin;
  int len = sizeof(sin);
  struct evconnlistener *l;
  l = evconnlistener_new_bind(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE, 8, sa, len); /* LS-SITE: listener */
  if (!bev || !l || event_base_once(base, -1, EV_TIMEOUT, on_started, NULL, NULL) != 0) return 1;
  event_base_dispatch(base); /* forever */
  return 0;
}
