/* Readiness follows what the service truly needs: with Redis down the ticket service (which
 * serves every call without Redis) stays SERVING, a ticket call succeeds, and the outage shows in
 * helpdesk_redis_errors_total; a service that declares needs_redis reports NOT_SERVING. Each test
 * runs its own redis-server on a free port, so it can stop it without touching the shared one. */
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

typedef struct own_redis {
  int port;
  char *saved_port;
} own_redis;

static void redis_start(own_redis *r) {
  char cmd[256];
  snprintf(cmd, sizeof cmd,
           "redis-server --port %d --bind 127.0.0.1 --save '' --appendonly no --daemonize yes "
           ">/dev/null && for i in $(seq 100); do redis-cli -p %d ping >/dev/null 2>&1 && exit 0; "
           "sleep 0.05; done; exit 1",
           r->port, r->port);
  assert_int_equal(system(cmd), 0);
}

static void redis_stop(const own_redis *r) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "redis-cli -p %d shutdown nosave >/dev/null 2>&1", r->port);
  (void)system(cmd); /* its exit status is that of a closed connection */
}

/* Starts a private Redis and points HELPDESK_REDIS_PORT at it (restored by own_redis_end). */
static void own_redis_begin(own_redis *r) {
  r->port = hd_test_free_port();
  assert_true(r->port > 0);
  const char *was = getenv("HELPDESK_REDIS_PORT");
  r->saved_port = was ? strdup(was) : NULL;
  char p[16];
  snprintf(p, sizeof p, "%d", r->port);
  setenv("HELPDESK_REDIS_PORT", p, 1);
  redis_start(r);
}

static void own_redis_end(own_redis *r) {
  redis_stop(r);
  if (r->saved_port)
    setenv("HELPDESK_REDIS_PORT", r->saved_port, 1);
  else
    unsetenv("HELPDESK_REDIS_PORT");
  free(r->saved_port);
}

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
  own_redis r;
  own_redis_begin(&r);
  tf t;
  assert_int_equal(tf_start(&t), 0);
  long long errors_before = redis_errors(t.f.svc);
  redis_stop(&r);
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
  redis_start(&r); /* tf_stop clears the service's Redis keys */
  tf_stop(&t);
  own_redis_end(&r);
}

static void test_redis_down_is_not_serving_for_a_service_that_needs_it(void **state) {
  (void)state;
  own_redis r;
  own_redis_begin(&r);
  hd_service_def def = hd_test_echo_def;
  def.needs_redis = true;
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &def), 0);
  redis_stop(&r);
  int st = 1;
  for (int i = 0; i < 50 && st == 1; i++) {
    usleep(100000);
    st = hd_fixture_health(&f);
  }
  assert_int_equal(st, 2); /* NOT_SERVING */
  redis_start(&r);
  for (int i = 0; i < 50 && st != 1; i++) {
    usleep(100000);
    st = hd_fixture_health(&f);
  }
  assert_int_equal(st, 1); /* back once Redis is */
  hd_fixture_stop(&f);
  own_redis_end(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_redis_down_keeps_tickets_serving_and_its_calls_served),
      cmocka_unit_test(test_redis_down_is_not_serving_for_a_service_that_needs_it),
  };
  return cmocka_run_group_tests_name("readiness_redis", tests, NULL, NULL);
}
