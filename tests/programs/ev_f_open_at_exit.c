/* "still open at exit" for libevent: a base, a bufferevent pair and a listener on 127.0.0.1 the program
 * never frees. Not findings (LSan's "still reachable"): listed under still_open_at_exit, with their
 * creation stacks: the event_base at "base", two bufferevents at "pair", the evconnlistener at
 * "listener". With report_open_at_exit=1 they are unclosed-resource findings. Prints "open=4". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg) {
  (void)l, (void)fd, (void)sa, (void)len, (void)arg;
}

int main(void) {
  struct event_base *base = event_base_new(); /* LS-SITE: base */
  if (!base) return 1;
  struct bufferevent *pair[2];
  if (bufferevent_pair_new(base, 0, pair) != 0) return 1; /* LS-SITE: pair */
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct sockaddr *sa = (struct sockaddr *)&sin;
  int len = sizeof(sin);
  struct evconnlistener *l;
  l = evconnlistener_new_bind(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE, 8, sa, len); /* LS-SITE: listener */
  if (!l) return 1;
  printf("open=4\n");
  return 0;
}
