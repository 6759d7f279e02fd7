/* libuv bookkeeping: open handles, pending requests, queued work, loop ownership (see uv_track.h). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "uv_track.h"


/* ---- handles: h -> (stack | kind index << 32 | closing << 40, loop) ---- */

static const char *const handle_kinds[] = {
    "uv timer", "uv idle", "uv prepare", "uv check", "uv async", "uv poll", "uv tcp", "uv pipe", "uv tty",
    "uv udp", "uv signal", "uv fs event", "uv fs poll", "uv process", "uv handle",
};
#define N_KINDS (sizeof(handle_kinds) / sizeof(handle_kinds[0]))
#define CLOSING_BIT ((uintptr_t)1 << 40)

static struct ls_map handles;

static unsigned kind_index(const char *kind) {
  for (unsigned i = 0; i < N_KINDS; i++)
    if (handle_kinds[i] == kind || strcmp(handle_kinds[i], kind) == 0) return i;
  return N_KINDS - 1;
}

void ls_uv_handle_opened(const void *h, const char *kind, const void *loop, const void *caller) {
  unsigned k = kind_index(kind);
  uint32_t stack = ls_creation_stack(handle_kinds[k], caller);
  ls_map_put(&handles, (uintptr_t)h, 0, stack | (uintptr_t)k << 32, (uintptr_t)loop);
}

void ls_uv_handle_closing(const void *h) {
  uintptr_t v1, v2;
  if (ls_map_get(&handles, (uintptr_t)h, 0, &v1, &v2)) ls_map_put(&handles, (uintptr_t)h, 0, v1 | CLOSING_BIT, v2);
}

void ls_uv_handle_closed(const void *h) { ls_map_del(&handles, (uintptr_t)h, 0); }

bool ls_uv_handle_is_closing(const void *h) {
  uintptr_t v1, v2;
  return h && ls_map_get(&handles, (uintptr_t)h, 0, &v1, &v2) && (v1 & CLOSING_BIT);
}

void ls_uv_handle_close_refused(const void *h) {
  uintptr_t v1, v2;
  if (h && ls_map_get(&handles, (uintptr_t)h, 0, &v1, &v2))
    ls_map_put(&handles, (uintptr_t)h, 0, v1 & ~CLOSING_BIT, v2);
}

/* ---- requests: req -> (site, submit time in clock ticks) ---- */

static struct ls_map requests;
static uint32_t pending, peak_pending; /* requests outstanding now, and at most */

static void raise_peak(uint32_t *peak, uint32_t now) {
  uint32_t p;
  while ((p = __atomic_load_n(peak, __ATOMIC_RELAXED)) < now &&
         !__atomic_compare_exchange_n(peak, &p, now, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

void ls_uv_req_submitted(const void *req, uint32_t site, const void *loop) {
  (void)loop;
  uintptr_t v1, v2;
  if (!ls_map_get(&requests, (uintptr_t)req, 0, &v1, &v2))
    raise_peak(&peak_pending, __atomic_add_fetch(&pending, 1, __ATOMIC_RELAXED));
  ls_map_put(&requests, (uintptr_t)req, 0, site, ls_now());
}

/* Removes the request and gives its site and submit time. */
static bool take(const void *req, uint32_t *site, uint64_t *submitted) {
  uintptr_t v1, v2;
  if (!ls_map_get(&requests, (uintptr_t)req, 0, &v1, &v2)) return false;
  ls_map_del(&requests, (uintptr_t)req, 0);
  __atomic_sub_fetch(&pending, 1, __ATOMIC_RELAXED);
  *site = (uint32_t)v1;
  *submitted = v2;
  return true;
}

void ls_uv_req_done(const void *req) {
  uint32_t site;
  uint64_t t0;
  if (!take(req, &site, &t0)) return;
  uint32_t partner = ls_site_ptr(site)->partner;
  if (partner) ls_site_account_ns(partner, ls_ticks_to_ns(ls_now() - t0));
}

void ls_uv_req_null_done(const void *req, int status, const char *call) {
  uint32_t site;
  uint64_t t0;
  if (!take(req, &site, &t0) || status >= 0) return;
  struct ls_site *s = ls_site_ptr(site);
  char msg[160];
  ls_join(msg, sizeof(msg), call, "() failed and no callback was there to see it", NULL);
  struct ls_finding_info fi = {.call = call, .kind = s->kind, .site = site, .stack = s->stack,
                               .has_status = true, .status = status, .message = msg};
  ls_finding_keyed(LS_F_UNRETRIEVED_ERROR, site, (uintptr_t)status, &fi);
}

/* ---- queued work ---- */

static uint32_t pool_size, queued, peak_queue;

static uint32_t threadpool_size(void) {
  const char *v = getenv("UV_THREADPOOL_SIZE"); /* libuv's own rule: default 4, clamped to 1..1024 */
  long n = v ? strtol(v, NULL, 10) : 4;
  if (n < 1) n = 1;
  if (n > 1024) n = 1024;
  return (uint32_t)n;
}

void ls_uv_work_queued(void) {
  if (!pool_size) pool_size = threadpool_size();
  raise_peak(&peak_queue, __atomic_add_fetch(&queued, 1, __ATOMIC_RELAXED));
}

void ls_uv_req_forget(const void *req) {
  uint32_t site;
  uint64_t t0;
  take(req, &site, &t0);
}

void ls_uv_work_started(const void *req, uint32_t site) {
  __atomic_sub_fetch(&queued, 1, __ATOMIC_RELAXED);
  uintptr_t v1, t0;
  if (!ls_map_get(&requests, (uintptr_t)req, 0, &v1, &t0)) return;
  uint64_t wait = ls_ticks_to_ns(ls_now() - t0);
  struct ls_site *s = ls_site_ptr(site);
  if (s->partner) ls_site_account_ns(s->partner, wait);
  if (wait < ls_opt.pool_wait_ms * 1000000u) return;
  struct ls_finding_info fi = {.kind = s->kind, .cb = s->cb, .site = site, .stack = s->stack,
                               .duration_ns = wait, .message = "queued work waited for a pool thread"};
  ls_finding_keyed(LS_F_POOL_WAIT, site, 0, &fi);
}

uint32_t ls_uv_partner(uint32_t site, const char *kind) {
  struct ls_site *s = ls_site_ptr(site);
  uint32_t p = __atomic_load_n(&s->partner, __ATOMIC_ACQUIRE);
  if (p) return p;
  p = ls_site_new_unkeyed(kind, s->cb, s->stack);
  uint32_t expected = 0;
  if (!__atomic_compare_exchange_n(&s->partner, &expected, p, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    p = expected; /* another thread made one first; ours stays unused */
  return p;
}

/* ---- loop ownership ---- */

void ls_uv_wrong_thread(struct ls_loop *l, pid_t running, const char *call, const void *caller) {
  (void)l;
  if (!ls_programs_call(LS_LIB_UV, caller)) return; /* libuv's own call (before its real call: own.c) */
  char msg[200];
  ls_join(msg, sizeof(msg), "Non-thread-safe call ", call, "() made while another thread runs its loop");
  ls_finding_wrong_thread(call, caller, running, msg);
}

/* ---- uv_loop_close and what blocked it ----
 *
 * libuv answers UV_EBUSY as soon as it meets the first of the program's handles in its queue and
 * reads no further. The queue may still hold handles whose memory the program freed or unmapped
 * without closing them (harmless without us), so it is never walked here (uv_walk would follow its
 * links into that memory): what blocked the close is what our own records hold, the handles the
 * program opened on this loop and was never seen to close. */

struct blocked {
  struct blocked *next;
  const void *loop;
  const char *kind;
  uint32_t stack;
  bool closing; /* uv_close was called; its close callback had not run yet */
};
static struct blocked *blocked; /* under blocked_mu */
static pthread_mutex_t blocked_mu = PTHREAD_MUTEX_INITIALIZER;

static void drop_blocked(const void *loop) {
  for (struct blocked **pp = &blocked; *pp;) {
    if ((*pp)->loop == loop) {
      struct blocked *b = *pp;
      *pp = b->next;
      free(b);
    } else {
      pp = &(*pp)->next;
    }
  }
}

/* One of our open handles (map entry h -> (stack | kind | closing, loop)): blocking if it is loop's. */
static void collect_blocking(struct ls_map_ent *e, void *arg) {
  const void *loop = arg;
  if ((const void *)e->v2 != loop) return;
  struct blocked *b = calloc(1, sizeof(*b));
  if (!b) return;
  *b = (struct blocked){blocked, loop, handle_kinds[(e->v1 >> 32) & 0xff], (uint32_t)e->v1,
                        (e->v1 & CLOSING_BIT) != 0};
  blocked = b;
}

void ls_uv_loop_closed(uv_loop_t *loop, int rc) {
  struct ls_loop *l = ls_loop_find(loop);
  pthread_mutex_lock(&blocked_mu);
  drop_blocked(loop); /* only the latest close attempt counts: retry-until-closed is correct */
  if (rc == UV_EBUSY) ls_map_each(&handles, collect_blocking, loop);
  pthread_mutex_unlock(&blocked_mu);
  if (rc == 0 && l) ls_loop_mark_closed(l);
}

/* ---- at exit ---- */

struct req_item {
  uint32_t site;
};
struct collect {
  struct req_item *items;
  size_t n, cap;
};

static void collect_req(struct ls_map_ent *e, void *arg) {
  struct collect *c = arg;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    struct req_item *it = realloc(c->items, cap * sizeof(*it));
    if (!it) return;
    c->items = it;
    c->cap = cap;
  }
  c->items[c->n++].site = (uint32_t)e->v1;
}

static void report_never_run(void) {
  struct collect c = {0};
  ls_map_each(&requests, collect_req, &c);
  for (size_t i = 0; i < c.n; i++) {
    struct ls_site *s = ls_site_ptr(c.items[i].site);
    struct ls_finding_info fi = {.kind = s->kind, .cb = s->cb, .site = c.items[i].site, .stack = s->stack,
                                 .message = "a request's callback was never run"};
    ls_finding_keyed(LS_F_NEVER_RUN, c.items[i].site, 0, &fi);
  }
  free(c.items);
}

static void report_blocked(void) {
  for (struct blocked *b = blocked; b; b = b->next) {
    const char *msg = b->closing ? "a closing handle blocked uv_loop_close (UV_EBUSY): its close callback had not run"
                                 : "a handle never closed blocked uv_loop_close (UV_EBUSY)";
    struct ls_finding_info fi = {.call = "uv_loop_close", .kind = b->kind, .stack = b->stack, .message = msg};
    ls_finding_keyed(LS_F_UNCLOSED_RESOURCE, (uintptr_t)b->kind, b->stack, &fi);
  }
}

static bool loop_blocked(const void *loop) {
  for (struct blocked *b = blocked; b; b = b->next)
    if (b->loop == loop) return true;
  return false;
}

struct open_item {
  uintptr_t v1, loop;
};
struct open_list {
  struct open_item *items;
  size_t n, cap;
};

static void collect_open(struct ls_map_ent *e, void *arg) {
  struct open_list *o = arg;
  if (o->n == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 64;
    struct open_item *it = realloc(o->items, cap * sizeof(*it));
    if (!it) return;
    o->items = it;
    o->cap = cap;
  }
  o->items[o->n++] = (struct open_item){e->v1, e->v2};
}

/* Handles still open at exit: listed (LSan's "still reachable"), findings only when asked for. A loop
 * whose close failed has them as unclosed-resource findings already. as_findings=false lists them
 * whatever report_open_at_exit says (the hang dump). */
static void report_open(bool as_findings) {
  struct open_list o = {0};
  ls_map_each(&handles, collect_open, &o);
  char buf[256];
  for (size_t i = 0; i < o.n; i++) {
    const void *loop = (const void *)o.items[i].loop;
    struct ls_loop *l = ls_loop_find(loop);
    if ((l && l->closed) || loop_blocked(loop)) continue;
    const char *kind = handle_kinds[(o.items[i].v1 >> 32) & 0xff];
    uint32_t stack = (uint32_t)o.items[i].v1;
    if (as_findings) {
      struct ls_finding_info fi = {.kind = kind, .stack = stack, .message = "a handle was still open at exit"};
      ls_finding_keyed(LS_F_UNCLOSED_RESOURCE, (uintptr_t)kind, stack, &fi);
      continue;
    }
    struct ls_rec r;
    ls_rec_begin(&r, buf, sizeof(buf), 'H');
    ls_rec_u(&r, "loop", l ? l->id : 0);
    ls_rec_s(&r, "kind", kind);
    ls_rec_u(&r, "stack", stack);
    ls_rec_u(&r, "closing", (o.items[i].v1 & CLOSING_BIT) != 0);
    ls_write(&r);
  }
  free(o.items);
}

void ls_uv_flush_locked(void) {
  if (!pool_size && !peak_pending) return;
  char buf[160];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'Q');
  ls_rec_u(&r, "size", pool_size ? pool_size : threadpool_size());
  ls_rec_u(&r, "peak_queue", __atomic_load_n(&peak_queue, __ATOMIC_RELAXED));
  ls_rec_u(&r, "pending", __atomic_load_n(&pending, __ATOMIC_RELAXED));
  ls_rec_u(&r, "peak_pending", __atomic_load_n(&peak_pending, __ATOMIC_RELAXED));
  ls_write_locked(&r);
}

void ls_uv_finish(void) {
  report_never_run();
  pthread_mutex_lock(&blocked_mu);
  report_blocked();
  report_open(ls_opt.report_open_at_exit);
  pthread_mutex_unlock(&blocked_mu);
}

void ls_uv_dump_open(void) {
  pthread_mutex_lock(&blocked_mu);
  report_open(false);
  pthread_mutex_unlock(&blocked_mu);
}
