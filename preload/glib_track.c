/* The GLib adapter's memory of what is open: contexts and main loops the program made (with the
 * references it took and dropped itself) and sources it attached, each with its creation stack; the
 * never-run finding for a one-shot source whose context went away first; the "still open at exit"
 * H records. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "glib.h"
#include "map.h"

static const char *const obj_kinds[] = {[GL_OBJ_CONTEXT] = "glib main context", [GL_OBJ_LOOP] = "glib main loop"};

/* obj -> (stack | kind << 32 | the program's references << 40, its context). The context is learnt when
 * the object is made, while it is alive: a main loop the program freed through a call we did not see as
 * its own must never be asked anything (it would be read after free). */
#define OBJ_KIND(v1) ((enum gl_obj_kind)(((v1) >> 32) & 0xff))
#define OBJ_REFS(v1) ((v1) >> 40)
#define OBJ_ONE_REF ((uintptr_t)1 << 40)
static struct ls_map objs;
/* source key -> (site, context) */
static struct ls_map srcs;

void gl_obj_new(const void *obj, enum gl_obj_kind kind, const void *caller, const void *ctx) {
  uint32_t stack = ls_creation_stack(obj_kinds[kind], caller);
  ls_map_put(&objs, (uintptr_t)obj, 0, stack | (uintptr_t)kind << 32 | OBJ_ONE_REF, (uintptr_t)ctx);
}

void gl_obj_ref(const void *obj) {
  uintptr_t v1, ctx;
  if (ls_map_get(&objs, (uintptr_t)obj, 0, &v1, &ctx)) ls_map_put(&objs, (uintptr_t)obj, 0, v1 + OBJ_ONE_REF, ctx);
}

void gl_obj_unref(const void *obj) {
  uintptr_t v1, ctx;
  if (!ls_map_get(&objs, (uintptr_t)obj, 0, &v1, &ctx)) return;
  if (OBJ_REFS(v1) <= 1) ls_map_del(&objs, (uintptr_t)obj, 0);
  else ls_map_put(&objs, (uintptr_t)obj, 0, v1 - OBJ_ONE_REF, ctx);
}

void gl_src_open(const void *key, uint32_t site, const void *ctx) {
  ls_map_put(&srcs, (uintptr_t)key, 0, site, (uintptr_t)ctx);
}

void gl_src_closed(const void *key) { ls_map_del(&srcs, (uintptr_t)key, 0); }

/* "coroutine ... was never awaited": an idle (or *_once) source whose context was freed before it
 * ever ran. */
void gl_src_never_dispatched(uint32_t site, const void *ctx) {
  (void)ctx;
  struct ls_site *s = ls_site_ptr(site);
  char msg[200];
  ls_join(msg, sizeof(msg), "a one-shot ", s->kind, " source was never dispatched: its context was freed first");
  struct ls_finding_info fi = {.call = "g_main_context_unref", .kind = s->kind, .cb = s->cb, .site = site,
                               .stack = s->stack, .message = msg};
  ls_finding_keyed(LS_F_NEVER_RUN, site, 0, &fi);
}

/* ---- still open ---- */

struct item {
  uintptr_t key, v1, v2;
};
struct list {
  struct item *items;
  size_t n, cap;
};

static void collect(struct ls_map_ent *e, void *arg) {
  struct list *l = arg;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    struct item *it = realloc(l->items, cap * sizeof(*it));
    if (!it) return;
    l->items = it;
    l->cap = cap;
  }
  l->items[l->n++] = (struct item){e->k1, e->v1, e->v2};
}

static void open_one(const char *kind, uint32_t stack, const void *ctx, bool as_findings) {
  if (as_findings) {
    struct ls_finding_info fi = {.kind = kind, .stack = stack, .message = "a GLib object was still open at exit"};
    ls_finding_keyed(LS_F_UNCLOSED_RESOURCE, (uintptr_t)kind, stack, &fi);
    return;
  }
  struct ls_loop *l = ctx ? ls_loop_find(ctx) : NULL;
  char buf[256];
  struct ls_rec r;
  ls_rec_begin(&r, buf, sizeof(buf), 'H');
  ls_rec_u(&r, "loop", l ? l->id : 0);
  ls_rec_s(&r, "kind", kind);
  ls_rec_u(&r, "stack", stack);
  ls_write(&r);
}

static void report_open(bool as_findings) {
  struct list o = {0};
  ls_map_each(&srcs, collect, &o);
  for (size_t i = 0; i < o.n; i++) {
    struct ls_site *s = ls_site_ptr((uint32_t)o.items[i].v1);
    open_one(s->kind, s->stack, (const void *)o.items[i].v2, as_findings);
  }
  o.n = 0;
  ls_map_each(&objs, collect, &o);
  for (size_t i = 0; i < o.n; i++) /* the context recorded at creation: nothing is read of the object */
    open_one(obj_kinds[OBJ_KIND(o.items[i].v1)], (uint32_t)o.items[i].v1, (const void *)o.items[i].v2, as_findings);
  free(o.items);
}

void gl_track_finish(void) { report_open(ls_opt.report_open_at_exit); }

void gl_track_dump_open(void) { report_open(false); }
