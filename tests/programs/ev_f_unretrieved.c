/* unretrieved-error trigger for libevent: a bufferevent reading a socketpair whose peer closes, with a
 * read callback but no event callback: the EOF is delivered to nobody and the bufferevent just stops.
 * loopscope must report one unretrieved-error, kind "bufferevent event", at the "nocb" line (the
 * bufferevent_setcb call). Prints "eof_unseen". */
#include <stdio.h>
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

int main(void) {
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
