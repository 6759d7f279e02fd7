/* A growable list of names for the tests that compare what the shim exports with a table or a header
 * (test_uv_coverage, it_inval_args). Each test file gets its own static copy; a failure to grow fails
 * the running Check test. */
#ifndef LS_TEST_NAMES_H
#define LS_TEST_NAMES_H

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct names {
  char **v;
  size_t n, cap;
};

static inline void names_add(struct names *s, const char *p, size_t len) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->v = realloc(s->v, s->cap * sizeof(*s->v));
    ck_assert_ptr_nonnull(s->v);
  }
  s->v[s->n++] = strndup(p, len);
}

static inline bool names_has(const struct names *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i], name) == 0) return true;
  return false;
}

static inline void names_free(struct names *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof(*s));
}

#endif
