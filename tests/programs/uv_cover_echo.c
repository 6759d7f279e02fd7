/* Every libuv callback kind the shim wraps, in one clean program: a TCP echo over 127.0.0.1 (server:
 * listen, accept, read_start with alloc + read callbacks, write back; client: connect, write
 * MESSAGES messages one at a time, read each echo, shutdown), plus uv_queue_work, a uv_poll_t on a
 * pipe, prepare/check/idle handles stopped after ITERATIONS calls, a timer, an async sent from a thread,
 * and every handle closed with a close callback. Nothing is slow: loopscope must find nothing, and
 * count each callback kind exactly as the program does.
 *
 * The client sends one message and waits for its whole echo before the next (ping-pong): each message
 * is one small segment on loopback, read in one go, so every count below is the same on every run
 * (stdout is compared with and without the shim).
 *
 * Prints one line of "name=count" pairs. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define MESSAGES 5
#define MSG_LEN 16
#define ITERATIONS 3
#define TIMER_FIRES 3
#define WORKS 2

/* What the program counted, by callback. */
static struct {
  int timer, idle, prepare, check, async, poll, alloc, read, write, close, after_work, work;
  int connection, connect, shutdown; /* not wrapped by the shim (yet): printed, not compared */
} n;

static uv_loop_t loop;
static uv_tcp_t server, conn, client;
static uv_connect_t connect_req;
static uv_shutdown_t shutdown_req;
static uv_timer_t timer;
static uv_idle_t idle;
static uv_prepare_t prepare;
static uv_check_t check;
static uv_async_t async;
static uv_poll_t poller;
static uv_work_t works[WORKS];
static int pipefd[2];
static pthread_t sender;

static char srv_buf[65536], cli_buf[65536];
static int sent, echoed_bytes;
static int failed; /* any libuv call that failed */

struct echo_write {
  uv_write_t req;
  char data[MSG_LEN];
};
static struct echo_write client_writes[MESSAGES], server_writes[MESSAGES];
static int server_writes_used;

#define CHECK_UV(call)                                                                                      \
  do {                                                                                                      \
    int rc_ = (call);                                                                                       \
    if (rc_ != 0) {                                                                                         \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, uv_strerror(rc_));                     \
      failed = 1;                                                                                           \
    }                                                                                                       \
  } while (0)

static void on_close(uv_handle_t *h) {
  (void)h;
  n.close++;
}

/* ---- server ---- */

static void srv_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  (void)h;
  (void)size;
  n.alloc++;
  *buf = uv_buf_init(srv_buf, sizeof(srv_buf));
}

static void srv_write_done(uv_write_t *req, int status) {
  (void)req;
  n.write++;
  if (status != 0) failed = 1;
}

static void srv_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  n.read++;
  if (nread == UV_EOF) {
    uv_close((uv_handle_t *)s, on_close);
    uv_close((uv_handle_t *)&server, on_close);
    return;
  }
  if (nread < 0) {
    failed = 1;
    uv_close((uv_handle_t *)s, on_close);
    return;
  }
  if (nread == 0) return;
  if (server_writes_used == MESSAGES || nread > MSG_LEN) {
    failed = 1;
    return;
  }
  struct echo_write *w = &server_writes[server_writes_used++];
  memcpy(w->data, buf->base, (size_t)nread);
  uv_buf_t out = uv_buf_init(w->data, (unsigned)nread);
  CHECK_UV(uv_write(&w->req, s, &out, 1, srv_write_done));
}

static void on_connection(uv_stream_t *srv, int status) {
  n.connection++;
  if (status != 0) {
    failed = 1;
    return;
  }
  CHECK_UV(uv_tcp_init(&loop, &conn));
  CHECK_UV(uv_accept(srv, (uv_stream_t *)&conn));
  CHECK_UV(uv_read_start((uv_stream_t *)&conn, srv_alloc, srv_read));
}

/* ---- client ---- */

static void cli_write_done(uv_write_t *req, int status) {
  (void)req;
  n.write++;
  if (status != 0) failed = 1;
}

static void send_next(void) {
  struct echo_write *w = &client_writes[sent];
  memset(w->data, 'a' + sent, MSG_LEN);
  sent++;
  uv_buf_t out = uv_buf_init(w->data, MSG_LEN);
  CHECK_UV(uv_write(&w->req, (uv_stream_t *)&client, &out, 1, cli_write_done));
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)req;
  n.shutdown++;
  if (status != 0) failed = 1;
}

static void cli_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  (void)h;
  (void)size;
  n.alloc++;
  *buf = uv_buf_init(cli_buf, sizeof(cli_buf));
}

static void cli_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  n.read++;
  if (nread == UV_EOF) {
    uv_close((uv_handle_t *)s, on_close);
    return;
  }
  if (nread < 0) {
    failed = 1;
    uv_close((uv_handle_t *)s, on_close);
    return;
  }
  echoed_bytes += (int)nread;
  if (echoed_bytes < sent * MSG_LEN) return; /* the rest of this echo is still coming */
  if (sent < MESSAGES) send_next();
  else CHECK_UV(uv_shutdown(&shutdown_req, s, on_shutdown));
}

static void on_connect(uv_connect_t *req, int status) {
  n.connect++;
  if (status != 0) {
    failed = 1;
    return;
  }
  CHECK_UV(uv_read_start(req->handle, cli_alloc, cli_read));
  send_next();
}

/* ---- the rest ---- */

static void on_timer(uv_timer_t *t) {
  if (++n.timer == TIMER_FIRES) uv_close((uv_handle_t *)t, on_close);
}

static void on_idle(uv_idle_t *h) {
  if (++n.idle == ITERATIONS) {
    uv_idle_stop(h);
    uv_close((uv_handle_t *)h, on_close);
  }
}

static void on_prepare(uv_prepare_t *h) {
  if (++n.prepare == ITERATIONS) {
    uv_prepare_stop(h);
    uv_close((uv_handle_t *)h, on_close);
  }
}

static void on_check(uv_check_t *h) {
  if (++n.check == ITERATIONS) {
    uv_check_stop(h);
    uv_close((uv_handle_t *)h, on_close);
  }
}

static void on_async(uv_async_t *h) {
  n.async++;
  uv_close((uv_handle_t *)h, on_close);
}

static void *send_async(void *arg) {
  uv_async_send(arg);
  return NULL;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  n.poll++;
  char byte;
  if (status != 0 || !(events & UV_READABLE) || read(pipefd[0], &byte, 1) != 1) failed = 1;
  uv_poll_stop(h);
  uv_close((uv_handle_t *)h, on_close);
}

static void do_work(uv_work_t *req) {
  (void)req;
  __atomic_fetch_add(&n.work, 1, __ATOMIC_RELAXED);
}

static void after_work(uv_work_t *req, int status) {
  (void)req;
  n.after_work++;
  if (status != 0) failed = 1;
}

int main(void) {
  if (uv_loop_init(&loop) != 0) return 1;

  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof(bound);
  CHECK_UV(uv_ip4_addr("127.0.0.1", 0, &addr));
  CHECK_UV(uv_tcp_init(&loop, &server));
  CHECK_UV(uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0));
  CHECK_UV(uv_listen((uv_stream_t *)&server, 16, on_connection));
  CHECK_UV(uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len));
  CHECK_UV(uv_tcp_init(&loop, &client));
  CHECK_UV(uv_tcp_connect(&connect_req, &client, (const struct sockaddr *)&bound, on_connect));

  CHECK_UV(uv_timer_init(&loop, &timer));
  CHECK_UV(uv_timer_start(&timer, on_timer, 1, 1)); /* LS-SITE: timer */
  CHECK_UV(uv_idle_init(&loop, &idle));
  CHECK_UV(uv_idle_start(&idle, on_idle)); /* LS-SITE: idle */
  CHECK_UV(uv_prepare_init(&loop, &prepare));
  CHECK_UV(uv_prepare_start(&prepare, on_prepare)); /* LS-SITE: prepare */
  CHECK_UV(uv_check_init(&loop, &check));
  CHECK_UV(uv_check_start(&check, on_check)); /* LS-SITE: check */
  CHECK_UV(uv_async_init(&loop, &async, on_async)); /* LS-SITE: async */
  if (pthread_create(&sender, NULL, send_async, &async) != 0) return 1;

  if (pipe(pipefd) != 0 || write(pipefd[1], "x", 1) != 1) return 1;
  CHECK_UV(uv_poll_init(&loop, &poller, pipefd[0]));
  CHECK_UV(uv_poll_start(&poller, UV_READABLE, on_poll)); /* LS-SITE: poll */
  for (int i = 0; i < WORKS; i++) CHECK_UV(uv_queue_work(&loop, &works[i], do_work, after_work)); /* LS-SITE: work */

  uv_run(&loop, UV_RUN_DEFAULT);
  pthread_join(sender, NULL);
  close(pipefd[0]);
  close(pipefd[1]);
  CHECK_UV(uv_loop_close(&loop));

  printf("timer=%d idle=%d prepare=%d check=%d async=%d poll=%d alloc=%d read=%d write=%d close=%d "
         "after_work=%d work=%d connection=%d connect=%d shutdown=%d echoed=%d\n",
         n.timer, n.idle, n.prepare, n.check, n.async, n.poll, n.alloc, n.read, n.write, n.close,
         n.after_work, n.work, n.connection, n.connect, n.shutdown, echoed_bytes);
  int complete = n.timer == TIMER_FIRES && n.idle == ITERATIONS && n.prepare == ITERATIONS &&
                 n.check == ITERATIONS && n.async == 1 && n.poll == 1 && n.after_work == WORKS &&
                 n.work == WORKS && n.write == 2 * MESSAGES && n.close == 9 && n.shutdown == 1 &&
                 echoed_bytes == MESSAGES * MSG_LEN;
  return failed || !complete ? 1 : 0;
}
