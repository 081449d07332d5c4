/* Readiness follows what the service truly needs: with Redis down the ticket service (which
 * serves every call without Redis) stays SERVING, a ticket call succeeds, and the outage shows in
 * helpdesk_redis_errors_total; a service that declares needs_redis reports NOT_SERVING. Each test
 * runs its own Redis (hd_test_redis), so it can stop it without touching the shared one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "echo_service.h"
#include "test_env.h"
#include "ticket_fixture.h"

static long long redis_errors(hd_svc *svc) {
  char *text = NULL;
  size_t len = 0;
  hd_err err = {0};
  assert_int_equal(hd_metrics_render(hd_svc_env_of(svc)->metrics, &text, &len, &err), 0);
  const char *line = strstr(text, "\nhelpdesk_redis_errors_total ");
  long long n = line ? atoll(line + strlen("\nhelpdesk_redis_errors_total ")) : -1;
  free(text);
  return n;
}

static void test_redis_down_keeps_tickets_serving_and_its_calls_served(void **state) {
  (void)state;
  hd_test_redis r;
  assert_int_equal(hd_test_redis_start(&r), 0);
  tf t;
  assert_int_equal(tf_start(&t), 0);
  long long errors_before = redis_errors(t.f.svc);
  hd_test_redis_down(&r);
  /* the probe (once a second) sees Redis gone: counted, and readiness does not move */
  long long errors = errors_before;
  for (int i = 0; i < 50 && errors <= errors_before; i++) {
    usleep(100000);
    errors = redis_errors(t.f.svc);
  }
  assert_true(errors > errors_before);
  assert_int_equal(hd_fixture_health(&t.f), 1); /* SERVING */
  Helpdesk__V1__Ticket *tk = tf_create(&t, t.customer, NULL, "Opened while Redis is down");
  assert_true(tk->id > 0);
  assert_int_equal(tf_get(&t, t.agent, tk->id)->id, tk->id);
  assert_int_equal(hd_fixture_health(&t.f), 1);
  fprintf(stderr, "redis down: helpdesk_redis_errors_total %lld -> %lld, readiness SERVING\n",
          errors_before, redis_errors(t.f.svc));
  assert_int_equal(hd_test_redis_up(&r), 0); /* tf_stop clears the service's Redis keys */
  tf_stop(&t);
  hd_test_redis_stop(&r);
}

static void test_redis_down_is_not_serving_for_a_service_that_needs_it(void **state) {
  (void)state;
  hd_test_redis r;
  assert_int_equal(hd_test_redis_start(&r), 0);
  hd_service_def def = hd_test_echo_def;
  def.needs_redis = true;
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &def), 0);
  hd_test_redis_down(&r);
  int st = 1;
  for (int i = 0; i < 50 && st == 1; i++) {
    usleep(100000);
    st = hd_fixture_health(&f);
  }
  assert_int_equal(st, 2); /* NOT_SERVING */
  assert_int_equal(hd_test_redis_up(&r), 0);
  for (int i = 0; i < 50 && st != 1; i++) {
    usleep(100000);
    st = hd_fixture_health(&f);
  }
  assert_int_equal(st, 1); /* back once Redis is */
  hd_fixture_stop(&f);
  hd_test_redis_stop(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_redis_down_keeps_tickets_serving_and_its_calls_served),
      cmocka_unit_test(test_redis_down_is_not_serving_for_a_service_that_needs_it),
  };
  return cmocka_run_group_tests_name("readiness_redis", tests, NULL, NULL);
}
