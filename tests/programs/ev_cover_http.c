/* evhttp and evdns callbacks, each from its own marked line, in a clean program: an HTTP server and a
 * client of it on 127.0.0.1 in one base, and a numeric evdns_getaddrinfo. Everything is freed before
 * the base; nothing is slow. For each marker it prints "MARKER=N", the times that callback ran.
 *
 *   hello/other:  evhttp_set_cb for "/hello", evhttp_set_gencb for the rest (evhttp request)
 *   response:     evhttp_request_new, two requests (evhttp response)
 *   complete:     evhttp_request_set_on_complete_cb on the server's "/hello" request (evhttp complete)
 *   close:        evhttp_connection_set_closecb (evhttp close), when the server is freed first
 *   gai:          evdns_getaddrinfo of "127.0.0.1" (evdns getaddrinfo; answered inside the call) */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

static int n_hello, n_other, n_response, n_complete, n_close, n_gai, answered;
static struct event_base *base;

static void on_complete(struct evhttp_request *req, void *arg) {
  (void)req, (void)arg;
  n_complete++;
}

static void on_hello(struct evhttp_request *req, void *arg) {
  (void)arg;
  n_hello++;
  evhttp_request_set_on_complete_cb(req, on_complete, NULL); /* LS-SITE: complete */
  struct evbuffer *b = evbuffer_new();
  evbuffer_add_printf(b, "hello");
  evhttp_send_reply(req, 200, "OK", b);
  evbuffer_free(b);
}

static void on_other(struct evhttp_request *req, void *arg) {
  (void)arg;
  n_other++;
  evhttp_send_reply(req, 404, "Not Found", NULL);
}

static void on_response(struct evhttp_request *req, void *arg) {
  (void)arg;
  if (req && evhttp_request_get_response_code(req) > 0) n_response++;
  if (++answered == 2) event_base_loopbreak(base);
}


static void on_close(struct evhttp_connection *evcon, void *arg) {
  (void)evcon, (void)arg;
  n_close++;
}

static void on_gai(int result, struct evutil_addrinfo *res, void *arg) {
  (void)arg;
  if (result == 0 && res) n_gai++;
  if (res) evutil_freeaddrinfo(res);
}

int main(void) {
  base = event_base_new();
  struct evdns_base *dns = base ? evdns_base_new(base, 0) : NULL;
  struct evhttp *http = base ? evhttp_new(base) : NULL;
  if (!dns || !http) return 1;
  struct evutil_addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_INET;
  hints.ai_flags = EVUTIL_AI_NUMERICHOST;
  hints.ai_socktype = SOCK_STREAM;
  evdns_getaddrinfo(dns, "127.0.0.1", "80", &hints, on_gai, NULL); /* LS-SITE: gai */

  if (evhttp_set_cb(http, "/hello", on_hello, NULL) != 0) return 1; /* LS-SITE: hello */
  evhttp_set_gencb(http, on_other, NULL);                            /* LS-SITE: other */
  struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
  if (!sock) return 1;
  struct sockaddr_storage ss;
  ev_socklen_t len = sizeof(ss);
  if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len) != 0) return 1;
  int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);

  struct evhttp_connection *evcon = evhttp_connection_base_new(base, dns, "127.0.0.1", (unsigned short)port);
  if (!evcon) return 1;
  evhttp_connection_set_closecb(evcon, on_close, NULL); /* LS-SITE: close */
  const char *paths[] = {"/hello", "/other"};
  for (int i = 0; i < 2; i++) {
    struct evhttp_request *req = evhttp_request_new(on_response, NULL); /* LS-SITE: response */
    if (!req) return 1;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
    if (evhttp_make_request(evcon, req, EVHTTP_REQ_GET, paths[i]) != 0) return 1;
  }
  event_base_dispatch(base); /* until both responses came */
  evhttp_free(http);         /* the server goes first: the client's connection closes */
  for (int i = 0; i < 200 && !n_close; i++) event_base_loop(base, EVLOOP_ONCE);
  evhttp_connection_free(evcon);
  evdns_base_free(dns, 0);
  event_base_free(base);
  printf("hello=%d\nother=%d\nresponse=%d\ncomplete=%d\nclose=%d\ngai=%d\n", n_hello, n_other, n_response,
         n_complete, n_close, n_gai);
  return 0;
}
