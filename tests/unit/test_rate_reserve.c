/* The rate-limit reserve (rpc/rate_reserve.h): leases grow while spent in time and shrink when
 * dropped, stay within their cap, expire after HD_RATE_RESERVE_US, keys compare byte for byte
 * (tenant and subject apart), a new caller takes a slot's place, and threads never spend more
 * than was held. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rpc/rate_reserve.h"

static hd_rate_reserve *reserve(size_t slots) {
  hd_rate_reserve *r = NULL;
  hd_err err = {0};
  assert_int_equal(hd_rate_reserve_new(slots, &r, &err), 0);
  return r;
}

static void test_leases_double_while_spent_in_time_and_stop_at_the_cap(void **state) {
  (void)state;
  hd_rate_reserve *r = reserve(16);
  int64_t want = 0, w = 0, t = 1000000;
  const int64_t expect[] = {1, 2, 4, 8, 16, 20, 20};
  for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
    assert_false(hd_rate_reserve_spend(r, "t", "agent", 20, t, &want));
    assert_int_equal(want, expect[i]);
    hd_rate_reserve_hold(r, "t", "agent", want, t);
    for (int64_t k = 1; k < want; k++)
      assert_true(hd_rate_reserve_spend(r, "t", "agent", 20, ++t, &w));
    t++;
  }
  /* a cap of 1 (a slow bucket) leases one at a time however fast the caller is */
  for (int i = 0; i < 5; i++) {
    assert_false(hd_rate_reserve_spend(r, "t", "slow", 1, t, &want));
    assert_int_equal(want, 1);
    hd_rate_reserve_hold(r, "t", "slow", 1, t++);
  }
  /* the cap is clamped to HD_RATE_LEASE_MAX */
  for (int i = 0; i < 12; i++) {
    assert_false(hd_rate_reserve_spend(r, "t", "svc", 1000000, t, &want));
    assert_true(want >= 1 && want <= HD_RATE_LEASE_MAX);
    hd_rate_reserve_hold(r, "t", "svc", 1, t++); /* Redis granted one: nothing held */
  }
  assert_int_equal(want, HD_RATE_LEASE_MAX);
  hd_rate_reserve_free(r);
}

static void test_held_tokens_expire_unspent_and_the_next_lease_halves(void **state) {
  (void)state;
  hd_rate_reserve *r = reserve(16);
  int64_t want = 0, w = 0, t = 5000000;
  for (int i = 0; i < 4; i++) { /* leases 1, 2, 4, 8 */
    assert_false(hd_rate_reserve_spend(r, "t", "a", 64, t, &want));
    hd_rate_reserve_hold(r, "t", "a", want, t);
    for (int64_t k = 1; k < want; k++) assert_true(hd_rate_reserve_spend(r, "t", "a", 64, ++t, &w));
    t++;
  }
  assert_false(hd_rate_reserve_spend(r, "t", "a", 64, t, &want));
  assert_int_equal(want, 16);
  hd_rate_reserve_hold(r, "t", "a", 16, t);
  assert_true(hd_rate_reserve_spend(r, "t", "a", 64, t + HD_RATE_RESERVE_US - 1, &want));
  /* 14 still held, but the lease is too old: dropped, and the next one is half */
  assert_false(hd_rate_reserve_spend(r, "t", "a", 64, t + HD_RATE_RESERVE_US, &want));
  assert_int_equal(want, 8);
  /* a clock before the lease (never, on a monotonic clock) spends nothing either */
  hd_rate_reserve_hold(r, "t", "a", 8, t + HD_RATE_RESERVE_US);
  assert_false(hd_rate_reserve_spend(r, "t", "a", 64, t, &want));
  hd_rate_reserve_free(r);
}

static void test_keys_compare_byte_for_byte_and_a_new_caller_takes_the_slot(void **state) {
  (void)state;
  hd_rate_reserve *r = reserve(1); /* every caller shares the one slot */
  int64_t want = 0, t = 1000;
  assert_false(hd_rate_reserve_spend(r, "ab", "c", 64, t, &want));
  hd_rate_reserve_hold(r, "ab", "c", 1, t);
  assert_false(hd_rate_reserve_spend(r, "ab", "c", 64, t + 1, &want));
  assert_int_equal(want, 2);
  hd_rate_reserve_hold(r, "ab", "c", 2, t + 1);
  /* tenant "a", subject "bc": another caller (not "abc" twice); it takes the slot */
  assert_false(hd_rate_reserve_spend(r, "a", "bc", 64, t + 2, &want));
  assert_int_equal(want, 1);
  assert_false(hd_rate_reserve_spend(r, "AB", "c", 64, t + 3, &want)); /* case counts */
  /* the first caller's held token went with its slot */
  assert_false(hd_rate_reserve_spend(r, "ab", "c", 64, t + 4, &want));
  assert_int_equal(want, 1);
  /* a hold for a caller that lost its slot meanwhile holds nothing */
  hd_rate_reserve_hold(r, "zz", "y", 10, t + 5);
  assert_false(hd_rate_reserve_spend(r, "ab", "c", 64, t + 6, &want));
  hd_rate_reserve_free(r);
  hd_err err = {0};
  assert_int_equal(hd_rate_reserve_new(0, &r, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  hd_rate_reserve_free(NULL);
}

typedef struct spender {
  hd_rate_reserve *r;
  long spent;
} spender;

static void *spend_all(void *arg) {
  spender *s = arg;
  int64_t want = 0;
  for (int i = 0; i < 10000; i++)
    if (hd_rate_reserve_spend(s->r, "t", "shared", 64, 100, &want)) s->spent++;
  return NULL;
}

/* Eight threads spend one caller's held tokens at once: together exactly what was held. */
static void test_threads_spend_no_more_than_was_held(void **state) {
  (void)state;
  hd_rate_reserve *r = reserve(64);
  int64_t want = 0;
  assert_false(hd_rate_reserve_spend(r, "t", "shared", 64, 100, &want));
  hd_rate_reserve_hold(r, "t", "shared", 1001, 100); /* 1,000 held */
  spender s[8];
  pthread_t th[8];
  for (int i = 0; i < 8; i++) {
    s[i] = (spender){r, 0};
    assert_int_equal(pthread_create(&th[i], NULL, spend_all, &s[i]), 0);
  }
  long total = 0;
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    total += s[i].spent;
  }
  assert_int_equal(total, 1000);
  hd_rate_reserve_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_leases_double_while_spent_in_time_and_stop_at_the_cap),
      cmocka_unit_test(test_held_tokens_expire_unspent_and_the_next_lease_halves),
      cmocka_unit_test(test_keys_compare_byte_for_byte_and_a_new_caller_takes_the_slot),
      cmocka_unit_test(test_threads_spend_no_more_than_was_held),
  };
  return cmocka_run_group_tests_name("rate_reserve", tests, NULL, NULL);
}
