/* unclosed-resource trigger for libevent: the program frees its base while its own read event on a
 * pipe is still added (libevent's "events were still set in base"). A bufferevent on a socketpair,
 * reading, is also still there: its events are libevent's own, so they are not findings (the
 * bufferevent itself is listed as still open at exit). loopscope must report one unclosed-resource,
 * kind "event read", call event_base_free, callback on_read, created at the "added" line.
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
  struct event *ev = event_new(base, p[0], EV_READ | EV_PERSIST, on_read, NULL); /* LS-SITE: added */
  if (!ev || event_add(ev, NULL) != 0) return 1;
  struct bufferevent *bev = bufferevent_socket_new(base, sv[0], 0);
  if (!bev || bufferevent_enable(bev, EV_READ) != 0) return 1;
  event_base_loop(base, EVLOOP_NONBLOCK);
  event_base_free(base);
  printf("freed\n");
  return 0;
}
