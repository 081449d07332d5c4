/* common/clock: the manual clock tests drive, and the real clock services run on. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "clock/clock.h"

#define T0 (1767225600LL * HD_US_PER_S) /* 2026-01-01T00:00:00Z */

static void test_manual_clock_stands_still_until_moved(void **state) {
  (void)state;
  hd_clock c;
  hd_clock_init_manual(&c, T0);
  assert_true(hd_clock_now_us(&c) == T0);
  assert_true(hd_clock_now_us(&c) == T0);
}

static void test_manual_clock_advances_and_goes_back(void **state) {
  (void)state;
  hd_clock c;
  hd_clock_init_manual(&c, T0);
  hd_clock_advance(&c, 5 * HD_US_PER_S);
  assert_true(hd_clock_now_us(&c) == T0 + 5 * HD_US_PER_S);
  hd_clock_advance(&c, 250 * HD_US_PER_MS);
  assert_true(hd_clock_now_us(&c) == T0 + 5250 * HD_US_PER_MS);
  hd_clock_advance(&c, -5250 * HD_US_PER_MS);
  assert_true(hd_clock_now_us(&c) == T0);
  hd_clock_advance(&c, 0);
  assert_true(hd_clock_now_us(&c) == T0);
}

static void test_manual_clock_set_jumps_to_a_time(void **state) {
  (void)state;
  hd_clock c;
  hd_clock_init_manual(&c, T0);
  hd_clock_set(&c, 42);
  assert_true(hd_clock_now_us(&c) == 42);
  hd_clock_set(&c, T0 + 72 * 3600 * HD_US_PER_S);
  assert_true(hd_clock_now_us(&c) == T0 + 72 * 3600 * HD_US_PER_S);
}

static void *advance_many(void *arg) {
  hd_clock *c = arg;
  for (int i = 0; i < 10000; i++) hd_clock_advance(c, 1);
  return NULL;
}

static void test_manual_clock_advances_from_many_threads_add_up(void **state) {
  (void)state;
  hd_clock c;
  hd_clock_init_manual(&c, T0);
  pthread_t th[4];
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, advance_many, &c), 0);
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
  assert_true(hd_clock_now_us(&c) == T0 + 40000);
}

static void test_real_clock_reads_the_system_time(void **state) {
  (void)state;
  hd_clock c;
  hd_clock_init_real(&c);
  int64_t before = (int64_t)time(NULL) * HD_US_PER_S;
  int64_t now = hd_clock_now_us(&c);
  int64_t after = ((int64_t)time(NULL) + 1) * HD_US_PER_S;
  assert_true(now >= before);
  assert_true(now <= after);
}

static void test_real_clock_moves(void **state) {
  (void)state;
  hd_clock c;
  hd_clock_init_real(&c);
  int64_t first = hd_clock_now_us(&c), now = first;
  /* Microsecond resolution: it moves within a short spin; give up after a second. */
  int64_t limit = hd_monotonic_us() + HD_US_PER_S;
  while (now == first && hd_monotonic_us() < limit) now = hd_clock_now_us(&c);
  assert_true(now > first);
}

static void test_monotonic_clock_never_goes_back(void **state) {
  (void)state;
  int64_t prev = hd_monotonic_us();
  assert_true(prev > 0);
  for (int i = 0; i < 100000; i++) {
    int64_t t = hd_monotonic_us();
    assert_true(t >= prev);
    prev = t;
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_manual_clock_stands_still_until_moved),
      cmocka_unit_test(test_manual_clock_advances_and_goes_back),
      cmocka_unit_test(test_manual_clock_set_jumps_to_a_time),
      cmocka_unit_test(test_manual_clock_advances_from_many_threads_add_up),
      cmocka_unit_test(test_real_clock_reads_the_system_time),
      cmocka_unit_test(test_real_clock_moves),
      cmocka_unit_test(test_monotonic_clock_never_goes_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
