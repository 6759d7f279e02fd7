/* Invalid arguments, plainly and under the shim: every function the libuv, libevent and GLib adapters
 * hook is called with what its library rejects (NULL handles, NULL callbacks where the library checks
 * them, closed or never-started handles, handles of the wrong type, bad flags) or documents to handle
 * (a NULL callback that only means "nobody is told"), and the program prints what came back: the
 * return value, errno, and every message the library logged about it. it_inval_args runs it plainly
 * and under the shim and compares the two outputs line by line; under the shim nothing may differ.
 *
 * One table, CASES, holds a row per call; SKIPS names each hooked function with no row and says why
 * (the library itself crashes or asserts on every such input, or there is nothing to reject).
 * `inval_args --table` prints both, and it_inval_args checks them against the functions
 * libloopscope.so exports: a newly hooked function in neither fails the test.
 *
 * GLib's criticals (g_return_if_fail) and libevent's warnings go through a log handler that prints
 * them on stdout without a time or pid, so the outputs compare exactly. G_DEBUG must not make the
 * criticals fatal (the test unsets it). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <gio/gio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/event_compat.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include <event2/bufferevent_compat.h>

#define SENTINEL 4242 /* errno before each call: a call that leaves errno alone shows it */

/* ---- printing what came back ---- */

static void said(const char *what, long ret, int err) {
  printf("  -> %s=%ld errno=%d\n", what, ret, err);
  fflush(stdout);
}

#define INT(call)                                                                                           \
  do {                                                                                                      \
    errno = SENTINEL;                                                                                       \
    long r_ = (long)(call);                                                                                 \
    said("ret", r_, errno);                                                                                 \
  } while (0)
#define PTR(call)                                                                                           \
  do {                                                                                                      \
    errno = SENTINEL;                                                                                       \
    const void *p_ = (const void *)(call);                                                                  \
    said("non-null", p_ != NULL, errno);                                                                    \
  } while (0)
#define VOID(call)                                                                                          \
  do {                                                                                                      \
    errno = SENTINEL;                                                                                       \
    call;                                                                                                   \
    said("void", 0, errno);                                                                                 \
  } while (0)

static void log_glib(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data) {
  (void)data;
  const char *lv = (level & G_LOG_LEVEL_CRITICAL) ? "critical" : (level & G_LOG_LEVEL_WARNING) ? "warning" : "other";
  printf("  log %s %s: %s\n", domain ? domain : "-", lv, message);
}

static void log_event(int severity, const char *msg) { printf("  log libevent %d: %s\n", severity, msg); }

/* ---- callbacks the calls are given (none of them should ever run, except where said) ---- */

static void on_alloc(uv_handle_t *h, size_t n, uv_buf_t *b) { (void)h, (void)n, (void)b; }
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) { (void)s, (void)n, (void)b; }
static void on_udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *a, unsigned f) {
  (void)h, (void)n, (void)b, (void)a, (void)f;
}
static void on_timer(uv_timer_t *h) { (void)h; }
static void on_signal(uv_signal_t *h, int s) { (void)h, (void)s; }
static void on_connection(uv_stream_t *s, int st) { (void)s, (void)st; }
static void on_fs_event(uv_fs_event_t *h, const char *n, int e, int s) { (void)h, (void)n, (void)e, (void)s; }
static void on_fs_poll(uv_fs_poll_t *h, int s, const uv_stat_t *a, const uv_stat_t *b) {
  (void)h, (void)s, (void)a, (void)b;
}
static void on_write(uv_write_t *r, int s) { (void)r, (void)s; }
static void on_shutdown(uv_shutdown_t *r, int s) { (void)r, (void)s; }
static void on_connect(uv_connect_t *r, int s) {
  (void)r;
  printf("  callback uv_connect status=%d\n", s); /* runs: uv_pipe_connect reports through it */
}
static void on_sent(uv_udp_send_t *r, int s) { (void)r, (void)s; }
static void on_gai(uv_getaddrinfo_t *r, int s, struct addrinfo *a) { (void)r, (void)s, (void)a; }
static void on_gni(uv_getnameinfo_t *r, int s, const char *h, const char *v) { (void)r, (void)s, (void)h, (void)v; }
static void on_random(uv_random_t *r, int s, void *b, size_t n) { (void)r, (void)s, (void)b, (void)n; }
static void on_after(uv_work_t *r, int s) { (void)r, (void)s; }
static void on_fs(uv_fs_t *r) { (void)r; }

static void ev_cb(evutil_socket_t fd, short what, void *arg) { (void)fd, (void)what, (void)arg; }
static void ev_listener(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *a, int n, void *arg) {
  (void)l, (void)fd, (void)a, (void)n, (void)arg;
}
static void ev_finalize(struct event *ev, void *arg) { (void)ev, (void)arg; }
static void ev_dns_server(struct evdns_server_request *r, void *arg) { (void)r, (void)arg; }
static void ev_gai(int result, struct evutil_addrinfo *res, void *arg) {
  (void)res, (void)arg;
  printf("  callback evdns_getaddrinfo result=%d\n", result); /* runs inside the call */
}
static void ev_http(struct evhttp_request *r, void *arg) { (void)r, (void)arg; }

static gboolean gl_source(gpointer data) { (void)data; return G_SOURCE_REMOVE; }
static gboolean gl_io(GIOChannel *c, GIOCondition cond, gpointer data) {
  (void)c, (void)cond, (void)data;
  return FALSE;
}
static void gl_child(GPid pid, gint status, gpointer data) { (void)pid, (void)status, (void)data; }
static void gl_thread(GTask *t, gpointer s, gpointer d, GCancellable *c) { (void)t, (void)s, (void)d, (void)c; }
static gboolean gl_dispatch(GSource *s, GSourceFunc cb, gpointer data) { (void)s, (void)cb, (void)data; return FALSE; }

/* ---- the objects the calls are made on (set up before the cases, the same way in both runs) ---- */

static uv_loop_t loop, empty_loop;
static uv_timer_t timer, closing_timer;
static uv_idle_t idle;
static uv_prepare_t prepare;
static uv_check_t check;
static uv_tcp_t tcp, tcp2, closing_tcp, zeroed_tcp;
static uv_udp_t udp;
static uv_pipe_t pipe_h;
static uv_signal_t sig;
static uv_fs_event_t fs_event;
static uv_fs_poll_t fs_poll;
static uv_poll_t poll_h;
static uv_async_t async_h;
static uv_write_t write_req;
static uv_shutdown_t shutdown_req;
static uv_connect_t connect_req;
static uv_udp_send_t send_req;
static uv_getaddrinfo_t gai_req;
static uv_random_t random_req;
static uv_work_t work_req;
static uv_fs_t fs_req;
static uv_process_t process;
static uv_buf_t buf;
static char bytes[8];
static struct sockaddr_un unix_addr;
static struct sockaddr_in in_addr;
static const char *missing_argv[] = {"/nonexistent/loopscope-inval-args", NULL};
static uv_process_options_t missing_prog = {.file = "/nonexistent/loopscope-inval-args", .args = (char **)missing_argv};

static struct event_base *base, *empty_base;
static struct event no_base_ev, prio_ev, zeroed_ev;
static struct event_config *unsatisfiable;
static struct evhttp *http;
static struct evhttp_request *http_req;
static struct evhttp_connection *http_conn;
static struct evbuffer *evbuf;
static struct bufferevent *pair[2];

static GMainContext *ctx;
static GSource *attached;
static GSourceFuncs funcs = {NULL, NULL, gl_dispatch, NULL, NULL, NULL};
static GObject *not_a_task;
static struct { void *g_class; } not_an_object; /* a "GTypeInstance" with no class: no GObject */
static GValue value;
static GError *error;

static void setup(void) {
  g_log_set_default_handler(log_glib, NULL);
  event_set_log_callback(log_event);
  if (uv_loop_init(&loop) || uv_loop_init(&empty_loop)) exit(2);
  uv_timer_init(&loop, &timer);
  uv_timer_init(&loop, &closing_timer);
  uv_close((uv_handle_t *)&closing_timer, NULL);
  uv_idle_init(&loop, &idle);
  uv_prepare_init(&loop, &prepare);
  uv_check_init(&loop, &check);
  uv_tcp_init(&loop, &tcp);
  uv_tcp_init(&loop, &tcp2);
  uv_tcp_init(&loop, &closing_tcp);
  uv_close((uv_handle_t *)&closing_tcp, NULL);
  uv_udp_init(&loop, &udp);
  uv_pipe_init(&loop, &pipe_h, 0);
  uv_signal_init(&loop, &sig);
  uv_fs_event_init(&loop, &fs_event);
  uv_fs_poll_init(&loop, &fs_poll);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) || uv_poll_init(&loop, &poll_h, fds[0])) exit(2);
  buf = uv_buf_init(bytes, sizeof(bytes));
  unix_addr.sun_family = AF_UNIX;
  strcpy(unix_addr.sun_path, "/nonexistent/loopscope-inval-args.sock");
  uv_ip4_addr("127.0.0.1", 9, &in_addr);

  base = event_base_new();
  empty_base = event_base_new();
  if (!base || !empty_base) exit(2);
  event_assign(&no_base_ev, base, -1, 0, ev_cb, NULL);
  no_base_ev.ev_base = NULL; /* what event_set makes with no current base */
  event_assign(&prio_ev, base, -1, 0, ev_cb, NULL);
  unsatisfiable = event_config_new();
  event_config_avoid_method(unsatisfiable, "epoll");
  event_config_avoid_method(unsatisfiable, "poll");
  event_config_avoid_method(unsatisfiable, "select");
  http = evhttp_new(base);
  http_req = evhttp_request_new(NULL, NULL);
  http_conn = evhttp_connection_base_new(base, NULL, "127.0.0.1", 9);
  evbuf = evbuffer_new();
  if (!http || !http_req || !http_conn || !evbuf) exit(2);
  evhttp_set_cb(http, "/taken", ev_http, NULL);

  ctx = g_main_context_new();
  attached = g_timeout_source_new(3600 * 1000); /* never ready while the program runs */
  g_source_attach(attached, ctx);
  not_a_task = g_object_new(G_TYPE_OBJECT, NULL);
  g_value_init(&value, G_TYPE_INT);
}

/* ---- the table ----
 * X(function, what the call is, the call) -- a function may have several rows. */

/* Every uv_fs_* the shim wraps, with a NULL request and a callback: libuv answers UV_EINVAL before
 * it touches anything. X(op, the arguments after loop and req, before the callback) */
#define FS_NULL_REQ(X)                                                                                        \
  X(close, (&loop, NULL, 0, on_fs)) X(open, (&loop, NULL, "/", 0, 0, on_fs))                                  \
  X(read, (&loop, NULL, 0, &buf, 1, 0, on_fs)) X(unlink, (&loop, NULL, "/nonexistent", on_fs))                 \
  X(write, (&loop, NULL, 0, &buf, 1, 0, on_fs)) X(copyfile, (&loop, NULL, "/a", "/b", 0, on_fs))               \
  X(mkdir, (&loop, NULL, "/nonexistent", 0, on_fs)) X(mkdtemp, (&loop, NULL, "/tmp/XXXXXX", on_fs))            \
  X(mkstemp, (&loop, NULL, "/tmp/XXXXXX", on_fs)) X(rmdir, (&loop, NULL, "/nonexistent", on_fs))               \
  X(scandir, (&loop, NULL, "/", 0, on_fs)) X(opendir, (&loop, NULL, "/", on_fs))                               \
  X(readdir, (&loop, NULL, NULL, on_fs)) X(closedir, (&loop, NULL, NULL, on_fs)) X(stat, (&loop, NULL, "/", on_fs)) \
  X(fstat, (&loop, NULL, 0, on_fs)) X(rename, (&loop, NULL, "/a", "/b", on_fs)) X(fsync, (&loop, NULL, 0, on_fs)) \
  X(fdatasync, (&loop, NULL, 0, on_fs)) X(ftruncate, (&loop, NULL, 0, 0, on_fs))                               \
  X(sendfile, (&loop, NULL, 0, 0, 0, 0, on_fs)) X(access, (&loop, NULL, "/", 0, on_fs))                         \
  X(chmod, (&loop, NULL, "/nonexistent", 0, on_fs)) X(utime, (&loop, NULL, "/nonexistent", 0, 0, on_fs))        \
  X(futime, (&loop, NULL, 0, 0, 0, on_fs)) X(lutime, (&loop, NULL, "/nonexistent", 0, 0, on_fs))               \
  X(lstat, (&loop, NULL, "/", on_fs)) X(link, (&loop, NULL, "/a", "/b", on_fs))                                 \
  X(symlink, (&loop, NULL, "/a", "/b", 0, on_fs)) X(readlink, (&loop, NULL, "/", on_fs))                        \
  X(realpath, (&loop, NULL, "/", on_fs)) X(fchmod, (&loop, NULL, 0, 0, on_fs))                                  \
  X(chown, (&loop, NULL, "/nonexistent", 0, 0, on_fs)) X(fchown, (&loop, NULL, 0, 0, 0, on_fs))                 \
  X(lchown, (&loop, NULL, "/nonexistent", 0, 0, on_fs)) X(statfs, (&loop, NULL, "/", on_fs))

#define UV_CASES(X)                                                                                          \
  X(uv_read_start, "NULL stream", INT(uv_read_start(NULL, on_alloc, on_read)))                              \
  X(uv_read_start, "NULL alloc callback", INT(uv_read_start((uv_stream_t *)&tcp, NULL, on_read)))            \
  X(uv_read_start, "closing stream", INT(uv_read_start((uv_stream_t *)&closing_tcp, on_alloc, on_read)))     \
  X(uv_read_start, "stream never connected", INT(uv_read_start((uv_stream_t *)&tcp, on_alloc, on_read)))     \
  X(uv_read_stop, "stream not reading", INT(uv_read_stop((uv_stream_t *)&tcp)))                              \
  X(uv_udp_recv_start, "a timer, not a udp handle", INT(uv_udp_recv_start((uv_udp_t *)&timer, on_alloc, on_udp_recv))) \
  X(uv_udp_recv_start, "NULL receive callback", INT(uv_udp_recv_start(&udp, on_alloc, NULL)))               \
  X(uv_udp_recv_stop, "a timer, not a udp handle", INT(uv_udp_recv_stop((uv_udp_t *)&timer)))               \
  X(uv_timer_start, "NULL callback", INT(uv_timer_start(&timer, NULL, 1, 0)))                               \
  X(uv_timer_start, "closing timer", INT(uv_timer_start(&closing_timer, on_timer, 1, 0)))                   \
  X(uv_timer_again, "timer never started", INT(uv_timer_again(&timer)))                                     \
  X(uv_timer_stop, "timer not started", INT(uv_timer_stop(&timer)))                                         \
  X(uv_idle_start, "NULL callback", INT(uv_idle_start(&idle, NULL)))                                        \
  X(uv_idle_stop, "idle not started", INT(uv_idle_stop(&idle)))                                             \
  X(uv_prepare_start, "NULL callback", INT(uv_prepare_start(&prepare, NULL)))                               \
  X(uv_prepare_stop, "prepare not started", INT(uv_prepare_stop(&prepare)))                                 \
  X(uv_check_start, "NULL callback", INT(uv_check_start(&check, NULL)))                                     \
  X(uv_check_stop, "check not started", INT(uv_check_stop(&check)))                                         \
  X(uv_poll_stop, "poll not started", INT(uv_poll_stop(&poll_h)))                                           \
  X(uv_listen, "a timer, not a stream", INT(uv_listen((uv_stream_t *)&timer, 1, on_connection)))            \
  X(uv_listen, "closing stream", INT(uv_listen((uv_stream_t *)&closing_tcp, 1, on_connection)))             \
  X(uv_accept, "nothing to accept", INT(uv_accept((uv_stream_t *)&tcp, (uv_stream_t *)&tcp2)))              \
  X(uv_signal_start, "NULL callback", INT(uv_signal_start(&sig, NULL, SIGUSR2)))                            \
  X(uv_signal_start, "signal 0", INT(uv_signal_start(&sig, on_signal, 0)))                                  \
  X(uv_signal_start_oneshot, "NULL callback", INT(uv_signal_start_oneshot(&sig, NULL, SIGUSR2)))            \
  X(uv_signal_start_oneshot, "signal 0", INT(uv_signal_start_oneshot(&sig, on_signal, 0)))                  \
  X(uv_signal_stop, "signal not started", INT(uv_signal_stop(&sig)))                                        \
  X(uv_fs_event_start, "missing path", INT(uv_fs_event_start(&fs_event, on_fs_event, "/nonexistent/x", 0))) \
  X(uv_fs_event_stop, "fs event not started", INT(uv_fs_event_stop(&fs_event)))                             \
  X(uv_fs_poll_stop, "fs poll not started", INT(uv_fs_poll_stop(&fs_poll)))                                 \
  X(uv_fs_poll_start, "missing path (reported through the callback)",                                       \
    INT(uv_fs_poll_start(&fs_poll, on_fs_poll, "/nonexistent/x", 60000)))                                   \
  X(uv_fs_poll_start, "already started", INT(uv_fs_poll_start(&fs_poll, on_fs_poll, "/nonexistent/y", 60000))) \
  X(uv_fs_poll_stop, "started", INT(uv_fs_poll_stop(&fs_poll)))                                             \
  X(uv_try_write, "stream never connected", INT(uv_try_write((uv_stream_t *)&tcp, &buf, 1)))                \
  X(uv_write, "NULL request, stream never connected",                                                       \
    INT(uv_write(NULL, (uv_stream_t *)&tcp, &buf, 1, on_write)))                                        \
  X(uv_write, "stream never connected", INT(uv_write(&write_req, (uv_stream_t *)&tcp, &buf, 1, on_write))) \
  X(uv_write2, "stream never connected",                                                                    \
    INT(uv_write2(&write_req, (uv_stream_t *)&tcp, &buf, 1, NULL, on_write)))                          \
  X(uv_shutdown, "stream never connected", INT(uv_shutdown(&shutdown_req, (uv_stream_t *)&tcp, on_shutdown))) \
  X(uv_tcp_connect, "a timer, not a tcp handle",                                                            \
    INT(uv_tcp_connect(&connect_req, (uv_tcp_t *)&timer, (struct sockaddr *)&in_addr, on_connect)))       \
  X(uv_tcp_connect, "AF_UNIX address",                                                                       \
    INT(uv_tcp_connect(&connect_req, &tcp, (struct sockaddr *)&unix_addr, on_connect)))                   \
  X(uv_udp_send, "a timer, not a udp handle",                                                               \
    INT(uv_udp_send(&send_req, (uv_udp_t *)&timer, &buf, 1, (struct sockaddr *)&in_addr, on_sent)))         \
  X(uv_getaddrinfo, "NULL request", INT(uv_getaddrinfo(&loop, NULL, on_gai, "localhost", NULL, NULL)))      \
  X(uv_getaddrinfo, "no host and no service", INT(uv_getaddrinfo(&loop, &gai_req, on_gai, NULL, NULL, NULL))) \
  X(uv_getnameinfo, "NULL request", INT(uv_getnameinfo(&loop, NULL, on_gni, (struct sockaddr *)&in_addr, 0))) \
  X(uv_random, "NULL request, bad flags", INT(uv_random(&loop, NULL, bytes, sizeof(bytes), 1, on_random)))     \
  X(uv_random, "bad flags", INT(uv_random(&loop, &random_req, bytes, sizeof(bytes), 1, on_random)))            \
  X(uv_random, "too long", INT(uv_random(&loop, &random_req, bytes, 0x80000000u, 0, on_random)))               \
  X(uv_queue_work, "NULL request, NULL work callback", INT(uv_queue_work(&loop, NULL, NULL, on_after)))     \
  X(uv_queue_work, "NULL work callback", INT(uv_queue_work(&loop, &work_req, NULL, on_after)))              \
  X(uv_spawn, "missing program", INT(uv_spawn(&loop, &process, &missing_prog)))                            \
  X(uv_tcp_init_ex, "bad flags", INT(uv_tcp_init_ex(&loop, &tcp2, 0x1234)))                                 \
  X(uv_udp_init_ex, "bad flags", INT(uv_udp_init_ex(&loop, &udp, 0x12340000)))                              \
  X(uv_tty_init, "fd -1", INT(uv_tty_init(&loop, (uv_tty_t *)&tcp2, -1, 0)))                                \
  X(uv_poll_init, "fd -1", INT(uv_poll_init(&loop, &poll_h, -1)))                                           \
  X(uv_poll_init_socket, "socket -1", INT(uv_poll_init_socket(&loop, &poll_h, -1)))                         \
  X(uv_async_init, "NULL callback", INT(uv_async_init(&loop, &async_h, NULL)))                              \
  X(uv_fs_read, "no buffers", INT(uv_fs_read(&loop, &fs_req, 0, NULL, 0, 0, on_fs)))                        \
  X(uv_fs_readdir, "NULL dir", INT(uv_fs_readdir(&loop, &fs_req, NULL, on_fs)))                             \
  X(uv_walk, "a loop without handles, NULL callback", VOID(uv_walk(&empty_loop, NULL, NULL)))               \
  X(uv_run, "a loop without handles", INT(uv_run(&empty_loop, UV_RUN_DEFAULT)))                             \
  X(uv_pipe_connect, "missing path (reported through the callback)",                                        \
    VOID(uv_pipe_connect(&connect_req, &pipe_h, unix_addr.sun_path, on_connect)))                         \
  X(uv_run, "once: the failed connect reports", INT(uv_run(&loop, UV_RUN_NOWAIT) >= 0))                    \
  X(uv_timer_start, "closed timer (its close has completed)", INT(uv_timer_start(&closing_timer, on_timer, 1, 0))) \
  X(uv_read_start, "closed stream (its close has completed)",                                               \
    INT(uv_read_start((uv_stream_t *)&closing_tcp, on_alloc, on_read)))                                      \
  X(uv_read_start, "stream never initialized (zeroed)",                                                    \
    INT(uv_read_start((uv_stream_t *)&zeroed_tcp, on_alloc, on_read)))                                       \
  X(uv_tcp_close_reset, "tcp never connected", INT(uv_tcp_close_reset(&tcp2, NULL)))                        \
  X(uv_close, "NULL close callback", VOID(uv_close((uv_handle_t *)&tcp2, NULL)))                            \
  X(uv_loop_close, "handles still open", INT(uv_loop_close(&loop)))

#define FS_CASE(op, args) X(uv_fs_##op, "NULL request", INT(uv_fs_##op args))

#define EV_CASES(X)                                                                                          \
  X(event_base_free, "NULL, no current base", VOID(event_base_free(NULL)))                                  \
  X(event_base_free_nofinalize, "NULL, no current base", VOID(event_base_free_nofinalize(NULL)))            \
  X(event_once, "no current base", INT(event_once(-1, EV_TIMEOUT, ev_cb, NULL, NULL)))                      \
  X(event_new, "signal and read at once", PTR(event_new(base, -1, EV_SIGNAL | EV_READ, ev_cb, NULL)))       \
  X(event_new, "NULL base, no current base (an event without a base)",                                     \
    INT(event_add(event_new(NULL, -1, 0, ev_cb, NULL), NULL)))                                               \
  X(event_assign, "signal and read at once", INT(event_assign(&prio_ev, base, -1, EV_SIGNAL | EV_READ, ev_cb, NULL))) \
  X(event_add, "event without a base", INT(event_add(&no_base_ev, NULL)))                                   \
  X(event_del, "event without a base", INT(event_del(&no_base_ev)))                                         \
  X(event_add, "event never assigned (zeroed)", INT(event_add(&zeroed_ev, NULL)))                           \
  X(event_del, "event never assigned (zeroed)", INT(event_del(&zeroed_ev)))                                 \
  X(event_remove_timer, "event without a base", INT(event_remove_timer(&no_base_ev)))                       \
  X(event_active, "event without a base", VOID(event_active(&no_base_ev, EV_TIMEOUT, 1)))                   \
  X(event_free_finalize, "event without a base", INT(event_free_finalize(0, &no_base_ev, ev_finalize)))      \
  X(event_priority_set, "priority -1", INT(event_priority_set(&prio_ev, -1)))                               \
  X(event_base_once, "NULL base", INT(event_base_once(NULL, -1, EV_TIMEOUT, ev_cb, NULL, NULL)))            \
  X(event_base_once, "a one-shot signal", INT(event_base_once(base, SIGUSR2, EV_SIGNAL, ev_cb, NULL, NULL))) \
  X(event_base_loopbreak, "NULL base", INT(event_base_loopbreak(NULL)))                                     \
  X(event_base_loopcontinue, "NULL base", INT(event_base_loopcontinue(NULL)))                               \
  X(event_base_loopexit, "NULL base", INT(event_base_loopexit(NULL, NULL)))                                 \
  X(event_base_loop, "a base without events", INT(event_base_loop(empty_base, 0)))                          \
  X(event_base_dispatch, "a base without events", INT(event_base_dispatch(empty_base)))                     \
  X(event_config_set_flag, "NULL config", INT(event_config_set_flag(NULL, EVENT_BASE_FLAG_NOLOCK)))         \
  X(event_base_new_with_config, "NULL config (the default one)", PTR(event_base_new_with_config(NULL)))     \
  X(event_base_new_with_config, "no backend allowed", PTR(event_base_new_with_config(unsatisfiable)))       \
  X(evthread_set_lock_callbacks, "NULL (no locking)", INT(evthread_set_lock_callbacks(NULL)))               \
  X(bufferevent_socket_new, "thread-safe with no lock functions",                                         \
    PTR(bufferevent_socket_new(base, -1, BEV_OPT_THREADSAFE)))                                               \
  X(bufferevent_pair_new, "thread-safe with no lock functions",                                           \
    INT(bufferevent_pair_new(base, BEV_OPT_THREADSAFE, pair)))                                               \
  X(evconnlistener_new, "fd -1", PTR(evconnlistener_new(base, ev_listener, NULL, 0, 1, -1)))                \
  X(evconnlistener_new_bind, "NULL address", PTR(evconnlistener_new_bind(base, ev_listener, NULL, 0, 1, NULL, 0))) \
  X(evdns_getaddrinfo, "no evdns base", PTR(evdns_getaddrinfo(NULL, "localhost", NULL, NULL, ev_gai, NULL))) \
  X(evdns_add_server_port_with_base, "flags (not implemented)",                                             \
    PTR(evdns_add_server_port_with_base(base, -1, 1, ev_dns_server, NULL)))                                  \
  X(evhttp_set_cb, "a path already taken", INT(evhttp_set_cb(http, "/taken", ev_http, NULL)))              \
  X(evhttp_set_gencb, "NULL callback (none)", VOID(evhttp_set_gencb(http, NULL, NULL)))                     \
  X(evhttp_request_new, "NULL callback (none)", PTR(evhttp_request_new(NULL, NULL)))                        \
  X(evhttp_request_set_error_cb, "NULL callback (none)", VOID(evhttp_request_set_error_cb(http_req, NULL))) \
  X(evhttp_request_set_chunked_cb, "NULL callback (none)", VOID(evhttp_request_set_chunked_cb(http_req, NULL))) \
  X(evhttp_request_set_on_complete_cb, "NULL callback (none)",                                              \
    VOID(evhttp_request_set_on_complete_cb(http_req, NULL, NULL)))                                           \
  X(evhttp_send_reply_chunk_with_cb, "a request without a connection",                                      \
    VOID(evhttp_send_reply_chunk_with_cb(http_req, evbuf, NULL, NULL)))                                      \
  X(evhttp_connection_set_closecb, "NULL callback (none)", VOID(evhttp_connection_set_closecb(http_conn, NULL, NULL))) \
  X(event_init, "a base that becomes the current one", PTR(event_init()))                                    \
  X(event_loop, "the current base, without events", INT(event_loop(EVLOOP_NONBLOCK)))                       \
  X(event_dispatch, "the current base, without events", INT(event_dispatch()))                              \
  X(bufferevent_new, "fd -1, NULL callbacks", PTR(bufferevent_new(-1, NULL, NULL, NULL, NULL)))              \
  X(event_once, "a one-shot signal on the current base", INT(event_once(SIGUSR2, EV_SIGNAL, ev_cb, NULL, NULL)))

#define GL_CASES(X)                                                                                          \
  X(g_idle_add, "NULL function", INT(g_idle_add(NULL, NULL)))                                               \
  X(g_idle_add_full, "NULL function", INT(g_idle_add_full(G_PRIORITY_DEFAULT, NULL, NULL, NULL)))           \
  X(g_idle_add_once, "NULL function", INT(g_idle_add_once(NULL, NULL)))                                     \
  X(g_timeout_add, "NULL function", INT(g_timeout_add(1, NULL, NULL)))                                      \
  X(g_timeout_add_full, "NULL function", INT(g_timeout_add_full(G_PRIORITY_DEFAULT, 1, NULL, NULL, NULL)))  \
  X(g_timeout_add_once, "NULL function", INT(g_timeout_add_once(1, NULL, NULL)))                            \
  X(g_timeout_add_seconds, "NULL function", INT(g_timeout_add_seconds(1, NULL, NULL)))                      \
  X(g_timeout_add_seconds_full, "NULL function",                                                            \
    INT(g_timeout_add_seconds_full(G_PRIORITY_DEFAULT, 1, NULL, NULL, NULL)))                                \
  X(g_io_add_watch, "NULL channel", INT(g_io_add_watch(NULL, G_IO_IN, gl_io, NULL)))                        \
  X(g_io_add_watch_full, "NULL channel",                                                                  \
    INT(g_io_add_watch_full(NULL, G_PRIORITY_DEFAULT, G_IO_IN, gl_io, NULL, NULL)))                          \
  X(g_child_watch_add, "pid 0", INT(g_child_watch_add(0, gl_child, NULL)))                                  \
  X(g_child_watch_add, "NULL function", INT(g_child_watch_add(1, NULL, NULL)))                              \
  X(g_child_watch_add_full, "pid 0", INT(g_child_watch_add_full(G_PRIORITY_DEFAULT, 0, gl_child, NULL, NULL))) \
  X(g_unix_fd_add, "NULL function", INT(g_unix_fd_add(0, G_IO_IN, NULL, NULL)))                             \
  X(g_unix_fd_add_full, "NULL function", INT(g_unix_fd_add_full(G_PRIORITY_DEFAULT, 0, G_IO_IN, NULL, NULL, NULL))) \
  X(g_main_context_invoke, "NULL function", VOID(g_main_context_invoke(ctx, NULL, NULL)))                   \
  X(g_main_context_invoke_full, "NULL function",                                                            \
    VOID(g_main_context_invoke_full(ctx, G_PRIORITY_DEFAULT, NULL, NULL, NULL)))                             \
  X(g_main_context_iteration, "a context with nothing to do", INT(g_main_context_iteration(ctx, FALSE)))   \
  X(g_main_context_prepare, "NULL priority", INT(g_main_context_prepare(ctx, NULL)))                       \
  X(g_main_context_find_source_by_funcs_user_data, "NULL funcs",                                            \
    PTR(g_main_context_find_source_by_funcs_user_data(ctx, NULL, NULL)))                                     \
  X(g_source_remove_by_funcs_user_data, "NULL funcs", INT(g_source_remove_by_funcs_user_data(NULL, NULL)))  \
  X(g_main_context_ref, "NULL context", PTR(g_main_context_ref(NULL)))                                      \
  X(g_main_context_unref, "NULL context", VOID(g_main_context_unref(NULL)))                                 \
  X(g_main_loop_new, "NULL context (the default one)", VOID(g_main_loop_unref(g_main_loop_new(NULL, FALSE)))) \
  X(g_main_loop_ref, "NULL loop", PTR(g_main_loop_ref(NULL)))                                               \
  X(g_main_loop_unref, "NULL loop", VOID(g_main_loop_unref(NULL)))                                          \
  X(g_main_loop_run, "NULL loop", VOID(g_main_loop_run(NULL)))                                              \
  X(g_source_attach, "NULL source", INT(g_source_attach(NULL, ctx)))                                        \
  X(g_source_attach, "a source attached already", INT(g_source_attach(attached, ctx)))                      \
  X(g_source_new, "NULL funcs", PTR(g_source_new(NULL, sizeof(GSource))))                                   \
  X(g_source_new, "a size below GSource's", PTR(g_source_new(&funcs, 1)))                                   \
  X(g_source_set_funcs, "NULL source", VOID(g_source_set_funcs(NULL, &funcs)))                              \
  X(g_source_set_funcs, "a source attached already", VOID(g_source_set_funcs(attached, &funcs)))            \
  X(g_source_set_callback, "NULL source", VOID(g_source_set_callback(NULL, gl_source, NULL, NULL)))         \
  X(g_source_set_name, "NULL source", VOID(g_source_set_name(NULL, "name")))                                \
  X(g_source_set_static_name, "NULL source", VOID(g_source_set_static_name(NULL, "name")))                  \
  X(g_task_new, "a source object that is no GObject",                                                       \
    PTR(g_task_new(&not_an_object, NULL, NULL, NULL)))                                                       \
  X(g_task_return_pointer, "NULL task", VOID(g_task_return_pointer(NULL, NULL, NULL)))                      \
  X(g_task_return_boolean, "NULL task", VOID(g_task_return_boolean(NULL, TRUE)))                            \
  X(g_task_return_int, "NULL task", VOID(g_task_return_int(NULL, 1)))                                       \
  X(g_task_return_value, "NULL task", VOID(g_task_return_value(NULL, &value)))                              \
  X(g_task_return_error, "NULL task", VOID(g_task_return_error(NULL, g_error_new_literal(1, 2, "e"))))      \
  X(g_task_return_new_error, "NULL task", VOID(g_task_return_new_error(NULL, 1, 2, "%s", "e")))             \
  X(g_task_return_error_if_cancelled, "NULL task", INT(g_task_return_error_if_cancelled(NULL)))             \
  X(g_task_return_error_if_cancelled, "a GObject that is no GTask",                                         \
    INT(g_task_return_error_if_cancelled((GTask *)not_a_task)))                                              \
  X(g_task_propagate_pointer, "NULL task", PTR(g_task_propagate_pointer(NULL, &error)))                     \
  X(g_task_propagate_boolean, "NULL task", INT(g_task_propagate_boolean(NULL, &error)))                     \
  X(g_task_propagate_int, "NULL task", INT(g_task_propagate_int(NULL, &error)))                             \
  X(g_task_propagate_value, "NULL task", INT(g_task_propagate_value(NULL, &value, &error)))                 \
  X(g_task_had_error, "NULL task", INT(g_task_had_error(NULL)))                                             \
  X(g_task_had_error, "a GObject that is no GTask", INT(g_task_had_error((GTask *)not_a_task)))             \
  X(g_task_run_in_thread, "NULL task", VOID(g_task_run_in_thread(NULL, gl_thread)))                         \
  X(g_task_run_in_thread_sync, "NULL task", VOID(g_task_run_in_thread_sync(NULL, gl_thread)))

/* The hooked functions without a row, and why. */
#define SKIPS(X)                                                                                             \
  X(uv_loop_init, "libuv checks nothing: a NULL loop crashes plainly")                                     \
  X(uv_default_loop, "takes no arguments")                                                                  \
  X(uv_timer_init, "libuv checks nothing (any memory becomes a handle); a NULL loop or handle crashes plainly") \
  X(uv_idle_init, "libuv checks nothing (any memory becomes a handle); a NULL loop or handle crashes plainly") \
  X(uv_prepare_init, "libuv checks nothing (any memory becomes a handle); a NULL loop or handle crashes plainly") \
  X(uv_check_init, "libuv checks nothing (any memory becomes a handle); a NULL loop or handle crashes plainly") \
  X(uv_tcp_init, "libuv checks nothing (any memory becomes a handle); a NULL loop or handle crashes plainly") \
  X(uv_pipe_init, "libuv checks nothing (any memory becomes a handle); a NULL loop or handle crashes plainly") \
  X(uv_udp_init, "libuv checks nothing (any memory becomes a handle); a NULL loop or handle crashes plainly") \
  X(uv_signal_init, "libuv checks nothing (any memory becomes a handle); a NULL loop or handle crashes plainly") \
  X(uv_fs_event_init, "libuv checks nothing (any memory becomes a handle); a NULL loop or handle crashes plainly") \
  X(uv_fs_poll_init, "libuv checks nothing (any memory becomes a handle); a NULL loop or handle crashes plainly") \
  X(uv_poll_start, "libuv asserts on bad events and on a closing handle; a NULL handle crashes plainly")   \
  X(uv_timer_set_repeat, "nothing to reject: libuv stores the value; a NULL handle crashes plainly")       \
  X(uv_ref, "nothing to reject (idempotent); a NULL handle crashes plainly")                               \
  X(uv_unref, "nothing to reject (idempotent); a NULL handle crashes plainly")                             \
  X(uv_stop, "nothing to reject; a NULL loop crashes plainly")                                             \
  X(uv_update_time, "nothing to reject; a NULL loop crashes plainly")                                      \
  X(event_base_new, "takes no arguments")                                                                   \
  X(event_free, "libevent checks nothing: a NULL event crashes plainly")                                   \
  X(event_get_callback, "libevent checks nothing: a NULL event crashes plainly")                           \
  X(event_get_assignment, "libevent checks nothing: a NULL event crashes plainly")                         \
  X(event_set, "libevent asserts that its event_assign succeeded: every rejected input aborts plainly")   \
  X(event_config_free, "libevent checks nothing: a NULL config crashes plainly")                           \
  X(bufferevent_free, "libevent checks nothing: a NULL bufferevent crashes plainly")                       \
  X(bufferevent_setcb, "libevent checks nothing: a NULL bufferevent crashes plainly")                      \
  X(bufferevent_getcb, "libevent checks nothing: a NULL bufferevent crashes plainly")                      \
  X(bufferevent_write, "libevent checks nothing: a NULL bufferevent crashes plainly")                      \
  X(bufferevent_write_buffer, "libevent checks nothing: a NULL bufferevent crashes plainly")               \
  X(bufferevent_read, "libevent checks nothing: a NULL bufferevent crashes plainly")                       \
  X(bufferevent_read_buffer, "libevent checks nothing: a NULL bufferevent crashes plainly")                \
  X(bufferevent_enable, "libevent checks nothing: a NULL bufferevent crashes plainly")                     \
  X(bufferevent_disable, "libevent checks nothing: a NULL bufferevent crashes plainly")                    \
  X(bufferevent_set_timeouts, "libevent checks nothing: a NULL bufferevent crashes plainly")               \
  X(bufferevent_openssl_socket_new, "libevent and OpenSSL read the SSL object first: a NULL one crashes plainly") \
  X(bufferevent_openssl_filter_new, "libevent and OpenSSL read the SSL object first: a NULL one crashes plainly") \
  X(evconnlistener_set_cb, "libevent checks nothing: a NULL listener crashes plainly")                     \
  X(evconnlistener_set_error_cb, "libevent checks nothing: a NULL listener crashes plainly")               \
  X(evconnlistener_free, "libevent checks nothing: a NULL listener crashes plainly")                       \
  X(evdns_base_resolve_ipv4, "libevent checks nothing: a NULL evdns base or name crashes plainly")         \
  X(evdns_base_resolve_ipv6, "libevent checks nothing: a NULL evdns base or name crashes plainly")         \
  X(evdns_base_resolve_reverse, "libevent checks nothing: a NULL evdns base or address crashes plainly")   \
  X(evdns_base_resolve_reverse_ipv6, "libevent checks nothing: a NULL evdns base or address crashes plainly") \
  X(g_main_context_new, "takes no arguments")                                                               \
  X(g_main_context_dispatch, "GLib checks nothing: a NULL context crashes plainly (it is not the default)")

/* --table: each row's function ("case FN") and each skip with its reason ("skip FN REASON"); else
 * each row is run in order: its header line, what the library logged, then what came back. */
static bool table_only;

static bool begin(const char *fn, const char *what) {
  if (table_only) {
    printf("case %s\n", fn);
    return false;
  }
  printf("%s: %s\n", fn, what);
  fflush(stdout);
  return true;
}

#define RUN(fn, what, call)                                                                                 \
  if (begin(#fn, what)) {                                                                                   \
    call;                                                                                                   \
  }
#define RUN_FS(op, args) RUN(uv_fs_##op, "NULL request", INT(uv_fs_##op args))
#define SKIP(fn, why) printf("skip %s %s\n", #fn, why);

int main(int argc, char **argv) {
  table_only = argc > 1 && strcmp(argv[1], "--table") == 0;
  if (table_only) {
    SKIPS(SKIP)
  } else {
    setup();
  }
  UV_CASES(RUN)
  FS_NULL_REQ(RUN_FS)
  EV_CASES(RUN)
  GL_CASES(RUN)
  return 0;
}
