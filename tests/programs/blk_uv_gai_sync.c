/* blocking-call for a synchronous libuv name lookup: uv_getaddrinfo with a NULL callback runs
 * getaddrinfo inside the call, on the loop thread. "localhost" is a name (looked up in /etc/hosts,
 * no network needed): one finding, call "uv_getaddrinfo". "127.0.0.1" is only parsed and
 * uv_random's bytes come straight from the kernel: neither blocks, neither is a finding.
 * Prints "lookups=2 random=1". */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

static int lookups, randoms;

static void lookup(uv_loop_t *loop, const char *node) {
  uv_getaddrinfo_t req;
  if (uv_getaddrinfo(loop, &req, NULL, node, NULL, NULL) != 0) exit(1); /* LS-SITE: lookup */
  uv_freeaddrinfo(req.addrinfo);
  lookups++;
}

static void on_tick(uv_timer_t *timer) {
  lookup(timer->loop, "localhost");
  lookup(timer->loop, "127.0.0.1");
  uv_random_t req;
  char buf[16];
  if (uv_random(timer->loop, &req, buf, sizeof(buf), 0, NULL) != 0) exit(1);
  randoms++;
  uv_close((uv_handle_t *)timer, NULL);
}

int main(void) {
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_init(&loop, &timer);
  if (uv_timer_start(&timer, on_tick, 1, 0) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return 1;
  printf("lookups=%d random=%d\n", lookups, randoms);
  return lookups == 2 && randoms == 1 ? 0 : 1;
}
