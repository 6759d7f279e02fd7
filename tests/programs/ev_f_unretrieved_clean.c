/* unretrieved-error's clean twin for libevent: the same bufferevent and EOF as ev_f_unretrieved, with
 * an event callback that sees the EOF and frees the bufferevent. loopscope must report no finding at
 * all. Prints "eof_seen=1". */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

static int eof_seen;

static void on_read(struct bufferevent *bev, void *arg) {
  (void)arg;
  char buf[64];
  while (bufferevent_read(bev, buf, sizeof(buf)) > 0) {
  }
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
  (void)arg;
  if (what & BEV_EVENT_EOF) eof_seen++;
  bufferevent_free(bev);
}

int main(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  struct event_base *base = event_base_new();
  if (!base) return 1;
  struct bufferevent *bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
  if (!bev) return 1;
  bufferevent_setcb(bev, on_read, NULL, on_event, NULL);
  bufferevent_event_cb ecb = NULL;
  bufferevent_getcb(bev, NULL, NULL, &ecb, NULL);
  if (ecb != on_event) printf("bufferevent_getcb does not show on_event\n");
  if (bufferevent_enable(bev, EV_READ) != 0) return 1;
  if (write(sv[1], "hi", 2) != 2) return 1;
  close(sv[1]);
  event_base_dispatch(base);
  printf("eof_seen=%d\n", eof_seen);
  event_base_free(base);
  return 0;
}
