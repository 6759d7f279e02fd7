/* Merging findings of many processes into one list. Sorting by key keeps 100 reports of one program
 * (or 100 000 findings) at n log n; groups keep the order in which each first appeared. */
#define _GNU_SOURCE
#include "merge.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suppress.h"

static const char *base(const char *p) {
  const char *s = p ? strrchr(p, '/') : NULL;
  return s ? s + 1 : p ? p : "";
}

static size_t put_frame(char *buf, size_t len, const struct ls_frame *f) {
  if (f->function)
    return (size_t)snprintf(buf, len, "%s|%s|%u", f->function, f->file ? f->file : "", f->line);
  return (size_t)snprintf(buf, len, "%s+0x%" PRIx64 "||", base(f->module), f->offset);
}

void lsm_finding_key(const struct lsm_finding *lf, char *buf, size_t len) {
  size_t n = (size_t)snprintf(buf, len, "%s\x1f", lf->f->category ? lf->f->category : "");
  if (n < len && lf->has_cb) n += put_frame(buf + n, len - n, &lf->cb);
  if (n < len) n += (size_t)snprintf(buf + n, len - n, "\x1f");
  if (n < len && lf->stack.n) put_frame(buf + n, len - n, &lf->stack.frames[0]);
}

void lsm_finding_fingerprint(const struct lsm_finding *lf, char out[17]) {
  char key[4096];
  lsm_finding_key(lf, key, sizeof(key));
  uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
  snprintf(out, 17, "%016" PRIx64, h);
}

struct item {
  char *key;
  size_t idx; /* in m->findings */
};

static int by_key(const void *a, const void *b) {
  const struct item *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c) return c;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct ordered {
  size_t first; /* index of the group's first finding in m->findings */
  struct lsm_group g;
};

static int by_first(const void *a, const void *b) {
  const struct ordered *x = a, *y = b;
  return (x->first > y->first) - (x->first < y->first);
}

static int add_pid(struct lsm_group *g, uint64_t pid, uint64_t count) {
  for (size_t i = g->nprocs; i-- > 0;)
    if (g->procs[i].pid == pid) {
      g->procs[i].count += count;
      return 0;
    }
  struct lsm_proc_count *np = realloc(g->procs, (g->nprocs + 1) * sizeof(*np));
  if (!np) return -ENOMEM;
  g->procs = np;
  g->procs[g->nprocs++] = (struct lsm_proc_count){pid, count};
  return 0;
}

int lsm_merge(struct lsm *m, struct ls_supps *supps) {
  size_t n = m->nfindings;
  struct item *items = calloc(n ? n : 1, sizeof(*items));
  m->groups = calloc(n ? n : 1, sizeof(*m->groups));
  if (!items || !m->groups) {
    free(items);
    return -ENOMEM;
  }
  size_t *first = malloc((n ? n : 1) * sizeof(*first));
  int rc = first ? 0 : -ENOMEM;
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct lsm_finding *lf = (struct lsm_finding *)m->findings[i];
    char key[4096];
    lf->supp = ls_supps_match(supps, lf);
    lsm_finding_key(lf, key, sizeof(key));
    /* the suppression is part of the key: one that names an outer frame may take some of a site's
     * findings and not others */
    if (asprintf(&items[i].key, "%s\x1f%p", key, (const void *)lf->supp) < 0) {
      items[i].key = NULL;
      rc = -ENOMEM;
    }
    items[i].idx = i;
  }
  if (rc == 0) qsort(items, n, sizeof(*items), by_key);
  for (size_t k = 0; k < n && rc == 0; k++) {
    const struct lsm_finding *lf = m->findings[items[k].idx];
    bool same = k > 0 && strcmp(items[k].key, items[k - 1].key) == 0;
    if (!same) {
      first[m->ngroups] = items[k].idx; /* sorted by (key, index): the group's first finding */
      m->groups[m->ngroups++] = (struct lsm_group){.f = lf, .supp = lf->supp};
    }
    struct lsm_group *g = &m->groups[m->ngroups - 1];
    g->count += lf->f->count;
    g->total_ns += lf->f->total_ns;
    if (lf->f->duration_ns > g->duration_ns) g->duration_ns = lf->f->duration_ns;
    rc = add_pid(g, lf->proc->r->pid, lf->f->count);
  }
  for (size_t i = 0; i < n; i++) free(items[i].key);
  free(items);
  struct ordered *ord = rc == 0 ? malloc((m->ngroups ? m->ngroups : 1) * sizeof(*ord)) : NULL;
  if (!ord) {
    free(first);
    return -ENOMEM;
  }
  for (size_t g = 0; g < m->ngroups; g++) ord[g] = (struct ordered){first[g], m->groups[g]};
  qsort(ord, m->ngroups, sizeof(*ord), by_first);
  for (size_t g = 0; g < m->ngroups; g++) {
    m->groups[g] = ord[g].g;
    if (m->groups[g].supp) m->nsuppressed++;
    else m->nshown++;
  }
  free(ord);
  free(first);
  return 0;
}
