/* unclosed-resource's clean twin for libevent: the same read event and bufferevent as ev_f_unclosed,
 * deleted and freed before the base. loopscope must report no finding and nothing still open at exit.
 * Prints "freed". */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

static void on_read(evutil_socket_t fd, short what, void *arg) { (void)fd, (void)what, (void)arg; }

int main(void) {
  int p[2], sv[2];
  if (pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  struct event_base *base = event_base_new();
  if (!base) return 1;
  struct event *ev = event_new(base, p[0], EV_READ | EV_PERSIST, on_read, NULL);
  if (!ev || event_add(ev, NULL) != 0) return 1;
  struct bufferevent *bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
  if (!bev || bufferevent_enable(bev, EV_READ) != 0) return 1;
  event_base_loop(base, EVLOOP_NONBLOCK);
  event_del(ev);
  event_free(ev);
  bufferevent_free(bev);
  event_base_free(base);
  printf("freed\n");
  return 0;
}
