/* bufferevent_openssl under loopscope: a TLS client bufferevent (libevent_openssl) whose connection to
 * a 127.0.0.1 port where nothing listens is refused; its event callback, set with bufferevent_setcb,
 * sees the error and frees it; a second one, made at the "ssl_open" line, is never freed. loopscope
 * must time on_ssl_event as a "bufferevent event" site at the "ssl_cb" line, give no finding, and list
 * the second bufferevent under still_open_at_exit (with the base, which is not freed either).
 * Prints "ssl_event=1". */
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

static int n_event;

static void on_ssl_event(struct bufferevent *bev, short what, void *arg) {
  (void)arg;
  if (what & BEV_EVENT_ERROR) n_event++;
  bufferevent_free(bev);
}

static int closed_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(sa);
  if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || getsockname(s, (struct sockaddr *)&sa, &len) != 0)
    return -1;
  close(s);
  return ntohs(sa.sin_port);
}

int main(void) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  struct event_base *base = event_base_new();
  int port = closed_port();
  if (!ctx || !base || port < 0) return 1;
  struct bufferevent *bev =
      bufferevent_openssl_socket_new(base, -1, SSL_new(ctx), BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) return 1;
  bufferevent_setcb(bev, NULL, NULL, on_ssl_event, NULL); /* LS-SITE: ssl_cb */
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bufferevent_socket_connect(bev, (struct sockaddr *)&sa, sizeof(sa)) != 0) return 1;
  event_base_dispatch(base);
  SSL *ssl = SSL_new(ctx);
  enum bufferevent_ssl_state st = BUFFEREVENT_SSL_CONNECTING;
  struct bufferevent *kept = bufferevent_openssl_socket_new(base, -1, ssl, st, 0); /* LS-SITE: ssl_open */
  if (!kept) return 1;
  printf("ssl_event=%d\n", n_event);
  return 0;
}
