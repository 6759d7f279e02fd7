/* Every libevent callback kind loopscope wraps, each from its own marked line, and a clean program:
 * everything is deleted and freed before its base, nothing is slow, no call crosses threads. For each
 * marker it prints "MARKER=N", the times that callback ran, which the report's site must count.
 *
 *   read/write:   event_new on a socketpair (event read, event write)
 *   timer:        evtimer_new (a macro over event_new)
 *   signal:       evsignal_new, SIGUSR1 raised by the timer
 *   once:         event_base_once
 *   assign:       event_assign of an event only ever activated
 *   bev_read/bev_write: bufferevent_setcb on a bufferevent_pair, data one way
 *   bev_event:    bufferevent_setcb on a socket bufferevent whose peer closes (end of file)
 *   listener:     evconnlistener_new_bind on 127.0.0.1, one connection from a socket of ours
 *   set/loop:     event_set on event_init's base (current_base), run with event_loop, ended by
 *                 event_loopexit (whose callback is libevent's: no site, not counted) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_compat.h>
#include <event2/event_struct.h>
#include <event2/listener.h>

static int n_read, n_write, n_timer, n_signal, n_once, n_assign, n_bev_read, n_bev_write, n_bev_event, n_listener,
    n_set;
static struct event *read_ev, *write_ev, *timer_ev, *signal_ev;
static struct event assign_ev, set_ev;
static struct bufferevent *pair[2];
static struct evconnlistener *listener;
static int sv[2], sv2[2], client = -1;

static void on_read(evutil_socket_t fd, short what, void *arg) {
  (void)what, (void)arg;
  char buf[16];
  if (read(fd, buf, sizeof(buf)) > 0) n_read++;
  event_del(read_ev);
}

static void on_write(evutil_socket_t fd, short what, void *arg) {
  (void)what, (void)arg;
  if (write(fd, "x", 1) == 1) n_write++;
  event_del(write_ev);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  (void)sig, (void)what, (void)arg;
  n_signal++;
  event_del(signal_ev);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  n_timer++;
  raise(SIGUSR1);
}

static void on_once(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  n_once++;
}

static void on_assign(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  n_assign++;
}

static void on_bev_read(struct bufferevent *bev, void *arg) {
  (void)arg;
  char buf[64];
  if (bufferevent_read(bev, buf, sizeof(buf)) > 0) n_bev_read++;
}

static void on_bev_write(struct bufferevent *bev, void *arg) {
  (void)bev, (void)arg;
  n_bev_write++;
}

static void on_bev_event(struct bufferevent *bev, short what, void *arg) {
  (void)arg;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) n_bev_event++;
  bufferevent_free(bev);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg) {
  (void)l, (void)sa, (void)len, (void)arg;
  n_listener++;
  close(fd);
}

static void on_set(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  n_set++;
}

static int main_base(void) {
  struct event_base *base = event_base_new();
  if (!base || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv2) != 0)
    return 1;
  read_ev = event_new(base, sv[0], EV_READ | EV_PERSIST, on_read, NULL);    /* LS-SITE: read */
  write_ev = event_new(base, sv[1], EV_WRITE | EV_PERSIST, on_write, NULL); /* LS-SITE: write */
  timer_ev = evtimer_new(base, on_timer, NULL);                             /* LS-SITE: timer */
  signal_ev = evsignal_new(base, SIGUSR1, on_signal, NULL);                 /* LS-SITE: signal */
  if (!read_ev || !write_ev || !timer_ev || !signal_ev) return 1;
  struct timeval ms = {0, 1000};
  if (event_add(read_ev, NULL) || event_add(write_ev, NULL) || event_add(signal_ev, NULL) || event_add(timer_ev, &ms))
    return 1;
  if (event_base_once(base, -1, EV_TIMEOUT, on_once, NULL, &ms) != 0) return 1; /* LS-SITE: once */
  if (event_assign(&assign_ev, base, -1, 0, on_assign, NULL) != 0) return 1;    /* LS-SITE: assign */
  event_active(&assign_ev, EV_TIMEOUT, 1);

  if (bufferevent_pair_new(base, 0, pair) != 0) return 1;
  bufferevent_setcb(pair[0], NULL, on_bev_write, NULL, NULL);           /* LS-SITE: bev_write */
  bufferevent_setcb(pair[1], on_bev_read, NULL, NULL, NULL);            /* LS-SITE: bev_read */
  if (bufferevent_enable(pair[1], EV_READ) != 0 || bufferevent_write(pair[0], "hello", 5) != 0) return 1;
  struct bufferevent *sock_bev = bufferevent_socket_new(base, sv2[0], BEV_OPT_CLOSE_ON_FREE);
  if (!sock_bev) return 1;
  bufferevent_setcb(sock_bev, NULL, NULL, on_bev_event, NULL);          /* LS-SITE: bev_event */
  if (bufferevent_enable(sock_bev, EV_READ) != 0) return 1;
  close(sv2[1]); /* end of file: the event callback frees the bufferevent */

  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  listener = evconnlistener_new_bind(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE, 8, /* LS-SITE: listener */
                                     (struct sockaddr *)&sin, sizeof(sin));
  if (!listener) return 1;
  socklen_t len = sizeof(sin);
  if (getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&sin, &len) != 0) return 1;
  client = socket(AF_INET, SOCK_STREAM, 0);
  if (client < 0 || connect(client, (struct sockaddr *)&sin, sizeof(sin)) != 0) return 1;

  /* until every callback above has run: then nothing is left but the listener and the persistent events */
  struct timeval tick = {0, 2000};
  for (int i = 0; i < 5000 && !(n_read && n_write && n_timer && n_signal && n_once && n_assign && n_bev_read &&
                                n_bev_write && n_bev_event && n_listener);
       i++) {
    event_base_loopexit(base, &tick);
    event_base_dispatch(base);
  }
  evconnlistener_free(listener);
  close(client);
  event_free(read_ev);
  event_free(write_ev);
  event_free(timer_ev);
  event_free(signal_ev);
  bufferevent_free(pair[0]);
  bufferevent_free(pair[1]);
  event_base_free(base);
  return 0;
}

/* The deprecated current_base forms, as tmux uses them. */
static int current_base_forms(void) {
  struct event_base *base = event_init();
  if (!base) return 1;
  evtimer_set(&set_ev, on_set, NULL); /* LS-SITE: set */
  struct timeval ms = {0, 1000}, later = {0, 10000};
  if (event_add(&set_ev, &ms) != 0) return 1;
  /* libevent's own callback through a tail call (event_loopexit jumps to event_once): not a site */
  if (event_loopexit(&later) != 0) return 1;
  event_loop(0); /* runs on_set, then libevent's exit callback ends it */
  event_base_free(base);
  return 0;
}

int main(void) {
  if (main_base() != 0 || current_base_forms() != 0) return 1;
  printf("read=%d\nwrite=%d\ntimer=%d\nsignal=%d\nonce=%d\nassign=%d\nbev_read=%d\nbev_write=%d\nbev_event=%d\n"
         "listener=%d\nset=%d\n",
         n_read, n_write, n_timer, n_signal, n_once, n_assign, n_bev_read, n_bev_write, n_bev_event, n_listener,
         n_set);
  return 0;
}
