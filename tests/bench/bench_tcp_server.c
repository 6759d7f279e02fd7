/* The TCP benchmark's server: a libuv HTTP/1.1 server on 127.0.0.1 that answers every request with
 * "200 OK" and a 13-byte body, keeping the connection alive. bench_tcp_driver drives it with wrk,
 * plain and under the shim, and compares.
 *
 * It is minimal on purpose: a request is everything up to a blank line ("\r\n\r\n"); bodies are not
 * read (wrk sends GETs). Every read that completes one or more requests gets one uv_write carrying one
 * response per request, from a static buffer. The path is the one a real server takes: uv_listen,
 * uv_accept, uv_read_start (alloc and read callbacks), uv_write, uv_close.
 *
 * Usage: bench_tcp_server [PORT]   (default 0: the kernel picks one)
 * Output on stdout, one "key value" per line (the driver parses it):
 *   port N                      once listening: the driver may connect from then on
 *   connections N, allocs N, reads N, requests N, writes N, closes N
 *                               at exit: what the program counted itself (every callback invocation,
 *                               EOF and errors included), for the driver to hold the report against
 * SIGTERM or SIGINT closes every handle; the loop then ends, is closed, and the program exits 0.
 * The callbacks are named bench_tcp_on_* so the driver can find their sites in the report by name.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define READ_BUF_SIZE 4096
#define BACKLOG 1024

static const char response[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "Connection: keep-alive\r\n"
    "\r\n"
    "Hello, world\n";

struct conn {
  uv_tcp_t tcp;
  unsigned matched; /* how much of "\r\n\r\n" the bytes read so far end with */
  char buf[READ_BUF_SIZE];
};

/* One uv_write: a response per request completed by one read, all pointing at the static response. */
struct write_req {
  uv_write_t req;
  unsigned n;
  uv_buf_t bufs[];
};

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sigterm, sigint;

/* What the program itself counted: the report's sites must agree. */
static uint64_t connections, allocs, reads, requests, writes, closes;

static void fail(int rc, const char *what) {
  fprintf(stderr, "bench_tcp_server: %s: %s\n", what, uv_strerror(rc));
  exit(2);
}

/* Not static, not inlined: the report names them, and the driver looks for these names. */
__attribute__((noinline)) void bench_tcp_on_close(uv_handle_t *h) {
  closes++;
  free(h->data);
}

__attribute__((noinline)) void bench_tcp_on_write(uv_write_t *req, int status) {
  (void)status; /* a peer that went away: its read callback sees it and closes the connection */
  writes++;
  free(req->data);
}

__attribute__((noinline)) void bench_tcp_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  struct conn *c = h->data;
  allocs++;
  *buf = uv_buf_init(c->buf, sizeof(c->buf));
}

/* Counts the requests that end in these bytes, carrying a partial "\r\n\r\n" over to the next read. */
static unsigned count_requests(struct conn *c, const char *p, size_t n) {
  static const char end[] = "\r\n\r\n";
  unsigned found = 0, m = c->matched;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == end[m]) m++;
    else m = p[i] == '\r' ? 1 : 0;
    if (m == 4) found++, m = 0;
  }
  c->matched = m;
  return found;
}

__attribute__((noinline)) void bench_tcp_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = s->data;
  reads++;
  if (nread < 0) {
    if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, bench_tcp_on_close);
    return;
  }
  unsigned n = count_requests(c, buf->base, (size_t)nread);
  if (n == 0) return;
  requests += n;
  struct write_req *w = malloc(sizeof(*w) + n * sizeof(uv_buf_t));
  if (!w) {
    fprintf(stderr, "bench_tcp_server: out of memory\n");
    exit(2);
  }
  w->req.data = w;
  w->n = n;
  for (unsigned i = 0; i < n; i++) w->bufs[i] = uv_buf_init((char *)response, sizeof(response) - 1);
  int rc = uv_write(&w->req, s, w->bufs, n, bench_tcp_on_write);
  if (rc < 0) { /* the connection is going away: no callback will come for this request */
    free(w);
    if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, bench_tcp_on_close);
  }
}

__attribute__((noinline)) void bench_tcp_on_connection(uv_stream_t *srv, int status) {
  if (status < 0) {
    fprintf(stderr, "bench_tcp_server: connection failed: %s\n", uv_strerror(status));
    return;
  }
  struct conn *c = malloc(sizeof(*c));
  if (!c) {
    fprintf(stderr, "bench_tcp_server: out of memory\n");
    exit(2);
  }
  c->matched = 0;
  int rc = uv_tcp_init(loop, &c->tcp);
  if (rc < 0) fail(rc, "uv_tcp_init");
  c->tcp.data = c;
  if ((rc = uv_accept(srv, (uv_stream_t *)&c->tcp)) < 0) {
    uv_close((uv_handle_t *)&c->tcp, bench_tcp_on_close);
    return;
  }
  connections++;
  uv_tcp_nodelay(&c->tcp, 1);
  if ((rc = uv_read_start((uv_stream_t *)&c->tcp, bench_tcp_on_alloc, bench_tcp_on_read)) < 0)
    uv_close((uv_handle_t *)&c->tcp, bench_tcp_on_close);
}

static void close_any(uv_handle_t *h, void *arg) {
  (void)arg;
  if (uv_is_closing(h)) return;
  /* Connections own their memory (data); the server and the signal handles are static (data NULL). */
  uv_close(h, h->data ? bench_tcp_on_close : NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  uv_walk(loop, close_any, NULL);
}

int main(int argc, char **argv) {
  int port = 0;
  if (argc > 2 || (argc == 2 && (sscanf(argv[1], "%d", &port) != 1 || port < 0 || port > 65535))) {
    fprintf(stderr, "usage: bench_tcp_server [PORT]   (0 or none: any free port)\n");
    return 2;
  }
  /* wrk closes its connections with responses in flight: a write must fail with EPIPE, not kill us. */
  signal(SIGPIPE, SIG_IGN);

  loop = uv_default_loop();
  struct sockaddr_in addr;
  int rc = uv_ip4_addr("127.0.0.1", port, &addr);
  if (rc < 0) fail(rc, "uv_ip4_addr");
  if ((rc = uv_tcp_init(loop, &server)) < 0) fail(rc, "uv_tcp_init");
  if ((rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0)) < 0) fail(rc, "uv_tcp_bind");
  if ((rc = uv_listen((uv_stream_t *)&server, BACKLOG, bench_tcp_on_connection)) < 0) fail(rc, "uv_listen");
  if ((rc = uv_signal_init(loop, &sigterm)) < 0 || (rc = uv_signal_init(loop, &sigint)) < 0) fail(rc, "uv_signal_init");
  if ((rc = uv_signal_start(&sigterm, on_signal, SIGTERM)) < 0 || (rc = uv_signal_start(&sigint, on_signal, SIGINT)) < 0)
    fail(rc, "uv_signal_start");

  struct sockaddr_storage bound;
  int len = sizeof(bound);
  if ((rc = uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len)) < 0) fail(rc, "uv_tcp_getsockname");
  printf("port %d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
  fflush(stdout);

  uv_run(loop, UV_RUN_DEFAULT);
  if ((rc = uv_loop_close(loop)) < 0) fail(rc, "uv_loop_close");

  printf("connections %llu\nallocs %llu\nreads %llu\nrequests %llu\nwrites %llu\ncloses %llu\n",
         (unsigned long long)connections, (unsigned long long)allocs, (unsigned long long)reads,
         (unsigned long long)requests, (unsigned long long)writes, (unsigned long long)closes);
  return 0;
}
