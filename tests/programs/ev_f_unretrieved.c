/* unretrieved-error trigger for libevent: a bufferevent reading a socketpair whose peer closes, with a
 * read callback but no event callback: the EOF is delivered to nobody and the bufferevent just stops.
 * loopscope must report one unretrieved-error, kind "bufferevent event", at the "nocb" line (the
 * bufferevent_setcb call). Prints "eof_unseen".
 *
 * With "connect": a socket bufferevent with no callbacks at all connects to a 127.0.0.1 port where
 * nothing listens; the BEV_EVENT_ERROR (connection refused) goes to nobody: one unretrieved-error at
 * the "connect_nocb" line, with the error as status. Prints "error_unseen". */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

static void on_read(struct bufferevent *bev, void *arg) {
  (void)arg;
  char buf[64];
  while (bufferevent_read(bev, buf, sizeof(buf)) > 0) {
  }
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(sa);
  if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || getsockname(s, (struct sockaddr *)&sa, &len) != 0)
    return -1;
  close(s);
  return ntohs(sa.sin_port);
}

static int refused(void) {
  struct event_base *base = event_base_new();
  int port = closed_port();
  if (!base || port < 0) return 1;
  struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) return 1;
  bufferevent_setcb(bev, NULL, NULL, NULL, NULL); /* LS-SITE: connect_nocb */
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bufferevent_socket_connect(bev, (struct sockaddr *)&sa, sizeof(sa)) != 0) return 1;
  event_base_dispatch(base); /* refused: the error goes nowhere, nothing is left */
  printf("error_unseen\n");
  bufferevent_free(bev);
  event_base_free(base);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "connect") == 0) return refused();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  struct event_base *base = event_base_new();
  if (!base) return 1;
  struct bufferevent *bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
  if (!bev) return 1;
  bufferevent_setcb(bev, on_read, NULL, NULL, NULL); /* LS-SITE: nocb */
  bufferevent_event_cb ecb = (bufferevent_event_cb)1;
  bufferevent_getcb(bev, NULL, NULL, &ecb, NULL);
  if (ecb != NULL) printf("bufferevent_getcb shows an event callback the program never set\n");
  if (bufferevent_enable(bev, EV_READ) != 0) return 1;
  if (write(sv[1], "hi", 2) != 2) return 1;
  close(sv[1]);
  event_base_dispatch(base); /* reads "hi", then EOF: reading stops, nothing is left */
  printf("eof_unseen\n");
  bufferevent_free(bev);
  event_base_free(base);
  return 0;
}
