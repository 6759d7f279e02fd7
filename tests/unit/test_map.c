/* The shim's hash map (preload/map.c) against a plain reference: random inserts, updates and
 * deletions (backward-shift deletion is the subtle part), many rounds, every key checked. */
#include <check.h>
#include <stdlib.h>

#include "map.h"

#define KEYS 2048

static uintptr_t ref_v[KEYS];
static bool ref_in[KEYS];

static uintptr_t key_of(unsigned i) { return 0x1000 + (uintptr_t)i * 8; } /* pointer-like, never 0 */

static void check_all(struct ls_map *m) {
  for (unsigned i = 0; i < KEYS; i++) {
    uintptr_t v1 = 0, v2 = 0;
    bool got = ls_map_get(m, key_of(i), i & 3, &v1, &v2);
    ck_assert_msg(got == ref_in[i], "key %u: present %d, expected %d", i, got, ref_in[i]);
    if (got) {
      ck_assert_uint_eq(v1, ref_v[i]);
      ck_assert_uint_eq(v2, ~ref_v[i]);
    }
  }
}

START_TEST(random_churn) {
  struct ls_map m = {0};
  srand(1234 + (unsigned)_i);
  for (int round = 0; round < 60; round++) {
    for (int op = 0; op < 500; op++) {
      unsigned i = (unsigned)rand() % KEYS;
      if (rand() % 3 == 0) {
        ls_map_del(&m, key_of(i), i & 3);
        ref_in[i] = false;
      } else {
        uintptr_t v = (uintptr_t)rand();
        ck_assert_int_eq(ls_map_put(&m, key_of(i), i & 3, v, ~v), 0);
        ref_in[i] = true;
        ref_v[i] = v;
      }
    }
    check_all(&m);
  }
  /* Churn never grows the table beyond what the live keys need. */
  ck_assert_uint_le(m.tab->cap, 8 * KEYS);
  for (unsigned i = 0; i < KEYS; i++) {
    ls_map_del(&m, key_of(i), i & 3);
    ref_in[i] = false;
  }
  check_all(&m);
  ck_assert_uint_eq(m.tab->used, 0);
}
END_TEST

START_TEST(same_k1_different_k2) {
  struct ls_map m = {0};
  for (uintptr_t s = 0; s < 5; s++) ck_assert_int_eq(ls_map_put(&m, 0x5000, s, s + 10, s + 20), 0);
  ls_map_del(&m, 0x5000, 2);
  for (uintptr_t s = 0; s < 5; s++) {
    uintptr_t v1, v2;
    bool got = ls_map_get(&m, 0x5000, s, &v1, &v2);
    ck_assert(got == (s != 2));
    if (got) ck_assert_uint_eq(v1, s + 10);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("map");
  TCase *tc = tcase_create("map");
  /* ~1 s of CPU per churn under ASan: a loaded 2-core machine gives it a fraction of a CPU, far past
   * Check's 4 s default. The bound only catches a hang. */
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, random_churn, 0, 3);
  tcase_add_test(tc, same_k1_different_k2);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
