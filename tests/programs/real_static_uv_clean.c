/* The clean twin of real_static_uv_spin: the same static libuv (libuv_a.a, no libuv.so mapped), a
 * loop that is busy but never blocks: a 5 ms repeating timer, work queued to libuv's thread pool that
 * sleeps there (off the loop: allowed), an async handle woken from a thread of ours, and a TCP echo
 * over loopback (server and client on the same loop). Inside a static libuv the shim cannot tell
 * libuv's own calls from the program's, so this is where a false positive from libuv's internals
 * (its locks, eventfd, the pool's hand-off, accept/read/write on non-blocking sockets) would show.
 * After its loop has ended the main thread joins a thread still running (shutdown, not a blocked
 * loop). loopscope must see the loop and report nothing. Prints "shared libuv: none", then
 * "ticks=N work=W async=A echoed=E". */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define TICKS 40
#define MESSAGE "hello, loop"

static uv_loop_t loop;
static uv_timer_t timer;
static uv_async_t async;
static uv_work_t work;
static uv_tcp_t server, client_conn, server_conn;
static uv_connect_t connect_req;
static uv_write_t client_write, server_write;
static int ticks, works, asyncs, echoed;
static char server_buf[64], client_buf[64];
static uv_buf_t server_out;

static void on_tick(uv_timer_t *t) {
  if (++ticks == TICKS) uv_close((uv_handle_t *)t, NULL);
}

static void pool_work(uv_work_t *req) {
  (void)req;
  usleep(50000); /* a pool thread, not the loop: blocking is what the pool is for */
}

static void after_work(uv_work_t *req, int status) {
  (void)req;
  if (status == 0) works++;
}

static void on_async(uv_async_t *a) {
  asyncs++;
  uv_close((uv_handle_t *)a, NULL);
}

/* Wakes the loop, then outlives it: the main thread's join after uv_run really waits. */
static void *waker(void *arg) {
  (void)arg;
  usleep(30000);
  uv_async_send(&async);
  usleep(300000); /* the loop ends after TICKS * 5 ms = 200 ms */
  return NULL;
}

static void alloc_server(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  (void)h;
  (void)size;
  *buf = uv_buf_init(server_buf, sizeof(server_buf));
}

static void alloc_client(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  (void)h;
  (void)size;
  *buf = uv_buf_init(client_buf, sizeof(client_buf));
}

static void on_server_written(uv_write_t *req, int status) {
  (void)req;
  (void)status;
}

/* The server echoes what it reads and closes at end of file. */
static void on_server_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  if (n > 0) {
    server_out = uv_buf_init(buf->base, (unsigned)n);
    uv_write(&server_write, s, &server_out, 1, on_server_written);
  } else if (n < 0) {
    uv_close((uv_handle_t *)s, NULL);
    uv_close((uv_handle_t *)&server, NULL);
  }
}

static void on_connection(uv_stream_t *s, int status) {
  if (status != 0) return;
  uv_tcp_init(&loop, &server_conn);
  if (uv_accept(s, (uv_stream_t *)&server_conn) == 0)
    uv_read_start((uv_stream_t *)&server_conn, alloc_server, on_server_read);
}

/* The client checks the echo and hangs up. */
static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  if (n > 0 && (size_t)n == strlen(MESSAGE) && memcmp(buf->base, MESSAGE, (size_t)n) == 0) echoed++;
  if (n != 0) uv_close((uv_handle_t *)s, NULL);
}

static void on_client_written(uv_write_t *req, int status) {
  if (status == 0) uv_read_start(req->handle, alloc_client, on_client_read);
}

static void on_connect(uv_connect_t *req, int status) {
  static uv_buf_t out;
  if (status != 0) return;
  out = uv_buf_init(MESSAGE, (unsigned)strlen(MESSAGE));
  uv_write(&client_write, req->handle, &out, 1, on_client_written);
}

static int find_libuv(struct dl_phdr_info *info, size_t size, void *found) {
  (void)size;
  if (strstr(info->dlpi_name, "libuv")) *(int *)found = 1;
  return 0;
}

int main(void) {
  int shared = 0;
  dl_iterate_phdr(find_libuv, &shared);
  printf("shared libuv: %s\n", shared ? "mapped" : "none");
  fflush(stdout);
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  if (uv_timer_start(&timer, on_tick, 5, 5) != 0) return 1;
  if (uv_queue_work(&loop, &work, pool_work, after_work) != 0) return 1;
  if (uv_async_init(&loop, &async, on_async) != 0) return 1;

  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(&loop, &server);
  if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0) return 1;
  if (uv_listen((uv_stream_t *)&server, 4, on_connection) != 0) return 1;
  struct sockaddr_storage bound;
  int len = sizeof(bound);
  if (uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len) != 0) return 1;
  uv_tcp_init(&loop, &client_conn);
  if (uv_tcp_connect(&connect_req, &client_conn, (const struct sockaddr *)&bound, on_connect) != 0) return 1;

  pthread_t t;
  if (pthread_create(&t, NULL, waker, NULL) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  /* after its loop has ended the main thread may block as it likes (and static libuv's destructor
   * joins its pool threads at exit): the loop is over, nothing here is on a running loop */
  pthread_join(t, NULL);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("ticks=%d work=%d async=%d echoed=%d\n", ticks, works, asyncs, echoed);
  return ticks == TICKS && works == 1 && asyncs == 1 && echoed == 1 ? 0 : 1;
}
