/* A whole service's /metrics endpoint, scraped over HTTP: calls move the request counters and
 * latency histogram of the right method and code (the echo service of tests/support has real
 * handlers; routing, the real service, has no RPCs yet), gauges set through the environment appear,
 * MariaDB and Redis outages count as errors, other paths are 404, and the endpoint's address
 * follows HELPDESK_METRICS_ADDR (or the gRPC port + 1000). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "echo_service.h"
#include "grpc/health/v1/health.pb-c.h"
#include "http_client.h"
#include "routing_service.h"
#include "svc_fixture.h"
#include "test_env.h"

#define HEALTH "/grpc.health.v1.Health/Check"

/* Scrapes /metrics; returns the body (caller frees *resp). */
static const char *scrape(int port, char **resp) {
  int status = 0;
  const char *body = NULL;
  assert_int_equal(hd_test_http_get(port, "/metrics", &status, resp, &body), 0);
  assert_int_equal(status, 200);
  assert_non_null(strstr(*resp, "\r\nContent-Type: text/plain; version=0.0.4"));
  assert_non_null(body);
  return body;
}

/* The value of the sample `series` in a scrape; 0 when absent (a counter not yet seen). */
static double sample(const char *text, const char *series) {
  size_t sl = strlen(series);
  for (const char *p = text; p && *p;) {
    if (strncmp(p, series, sl) == 0 && p[sl] == ' ') return strtod(p + sl + 1, NULL);
    p = strchr(p, '\n');
    if (p) p++;
  }
  return 0;
}

static double requests(const char *text, const char *method, const char *code) {
  char series[256];
  snprintf(series, sizeof series, "helpdesk_rpc_requests_total{method=\"%s\",code=\"%s\"}", method,
           code);
  return sample(text, series);
}

static double histogram_count(const char *text, const char *method) {
  char series[256];
  snprintf(series, sizeof series, "helpdesk_rpc_duration_seconds_count{method=\"%s\"}", method);
  return sample(text, series);
}

/* One Echo call; returns its status code. */
static hd_code echo(hd_fixture *f, const char *method, const char *token, int fail_code) {
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  req.text = "hi";
  req.fail_code = fail_code;
  hd_arena *a = hd_arena_new(1 << 16);
  hd_err err;
  hd_code code = hd_fixture_call(f, method, token, &req.base,
                                 &hdtest__v1__echo_response__descriptor, a, NULL, &err);
  hd_arena_free(a);
  return code;
}

static void test_calls_move_the_counters_of_their_method_and_code(void **state) {
  (void)state;
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &hd_test_echo_def), 0);
  int port = hd_svc_metrics_port(f.svc);
  assert_true(port > 0);
  char *r1 = NULL, *r2 = NULL;
  const char *before = scrape(port, &r1);
  assert_non_null(strstr(before, "# TYPE helpdesk_rpc_requests_total counter\n"));
  assert_non_null(strstr(before, "# TYPE helpdesk_rpc_duration_seconds histogram\n"));
  assert_true(requests(before, HEALTH, "OK") >= 1); /* the fixture waited for SERVING */

  char *agent = hd_fixture_token(&f, "acme", "agent-1", HD_ROLE_AGENT);
  for (int i = 0; i < 3; i++) assert_int_equal(hd_fixture_health(&f), 1);
  for (int i = 0; i < 4; i++) assert_int_equal(echo(&f, HD_TEST_ECHO, agent, 0), HD_OK);
  assert_int_equal(echo(&f, HD_TEST_ECHO, agent, HD_NOT_FOUND), HD_NOT_FOUND);
  assert_int_equal(echo(&f, HD_TEST_ECHO, NULL, 0), HD_UNAUTHENTICATED);
  assert_int_equal(echo(&f, HD_TEST_ECHO, "not.a.token", 0), HD_UNAUTHENTICATED);
  assert_int_equal(echo(&f, HD_TEST_SUPERVISOR_ONLY, agent, 0), HD_PERMISSION_DENIED);
  assert_int_equal(echo(&f, HD_TEST_NOT_BUILT, agent, 0), HD_UNIMPLEMENTED);
  assert_int_equal(echo(&f, "/no.Such/Method", agent, 0), HD_UNIMPLEMENTED);
  assert_int_equal(echo(&f, "/no.Such/Other", agent, 0), HD_UNIMPLEMENTED);

  const char *after = scrape(port, &r2);
  assert_true(requests(after, HEALTH, "OK") - requests(before, HEALTH, "OK") == 3);
  assert_true(histogram_count(after, HEALTH) - histogram_count(before, HEALTH) == 3);
  assert_true(requests(after, HD_TEST_ECHO, "OK") == 4);
  assert_true(requests(after, HD_TEST_ECHO, "NOT_FOUND") == 1);
  assert_true(requests(after, HD_TEST_ECHO, "UNAUTHENTICATED") == 2);
  assert_true(histogram_count(after, HD_TEST_ECHO) == 7);
  assert_true(requests(after, HD_TEST_SUPERVISOR_ONLY, "PERMISSION_DENIED") == 1);
  assert_true(requests(after, HD_TEST_SUPERVISOR_ONLY, "OK") == 0);
  assert_true(requests(after, HD_TEST_NOT_BUILT, "UNIMPLEMENTED") == 1);
  assert_true(requests(after, HD_TEST_PUBLIC_ECHO, "OK") == 0);
  /* made-up paths are counted under one label value, whatever the path */
  assert_true(requests(after, "unregistered", "UNIMPLEMENTED") == 2);
  assert_null(strstr(after, "no.Such"));
  char le_inf[160];
  snprintf(le_inf, sizeof le_inf, "helpdesk_rpc_duration_seconds_bucket{method=\"%s\",le=\"+Inf\"}",
           HD_TEST_ECHO);
  assert_true(sample(after, le_inf) == 7);
  assert_true(sample(after, "helpdesk_db_errors_total") == 0);
  assert_true(sample(after, "helpdesk_redis_errors_total") == 0);

  free(r1);
  free(r2);
  free(agent);
  hd_fixture_stop(&f);
}

static void test_other_paths_are_404_and_gauges_set_by_the_service_appear(void **state) {
  (void)state;
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &routing_service_def), 0);
  int port = hd_svc_metrics_port(f.svc), status = 0;
  char *resp = NULL;
  assert_int_equal(hd_test_http_get(port, "/", &status, &resp, NULL), 0);
  assert_int_equal(status, 404);
  free(resp);
  assert_int_equal(hd_test_http_get(port, "/metrics/x", &status, &resp, NULL), 0);
  assert_int_equal(status, 404);
  free(resp);

  hd_svc_env *env = hd_svc_env_of(f.svc);
  assert_non_null(env->metrics);
  hd_err err = {0};
  /* Series no loop of the service sets (its outbox relay sets helpdesk_outbox_pending, and the
   * claims loop the departments' queues, at any moment: a value set here would race them). */
  const char *q[] = {"queue", "billing", NULL};
  const char *q2[] = {"queue", "test-only", NULL};
  assert_int_equal(hd_metrics_gauge_set(env->metrics, HD_METRIC_QUEUE_DEPTH, q2, 7, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(env->metrics, HD_METRIC_QUEUE_DEPTH, q, 3, &err), 0);
  hd_metrics_db_error(env->metrics);
  const char *body = scrape(port, &resp);
  assert_true(sample(body, "helpdesk_queue_depth{queue=\"test-only\"}") == 7);
  assert_true(sample(body, "helpdesk_queue_depth{queue=\"billing\"}") == 3);
  assert_true(sample(body, "helpdesk_db_errors_total") == 1);
  free(resp);
  hd_fixture_stop(&f);
}

static void test_mariadb_and_redis_outages_count_as_errors(void **state) {
  (void)state;
  hd_test_outage o;
  assert_int_equal(hd_test_outage_begin(&o), 0);
  hd_fixture f;
  assert_int_equal(hd_fixture_start_unready(&f, &routing_service_def), 0);
  char *resp = NULL;
  double db = 0, redis = 0;
  for (int i = 0; i < 50 && (db < 2 || redis < 2); i++) { /* the probe runs every second */
    usleep(100000);
    const char *body = scrape(hd_svc_metrics_port(f.svc), &resp);
    db = sample(body, "helpdesk_db_errors_total");
    redis = sample(body, "helpdesk_redis_errors_total");
    free(resp);
  }
  assert_true(db >= 2);
  assert_true(redis >= 2);
  hd_test_outage_end(&o);
  hd_fixture_stop(&f);
}

/* Starts routing with HELPDESK_METRICS_ADDR set to value (NULL: unset) and listen_addr. */
static int start_with(const char *value, const char *listen, hd_fixture *f, hd_err *err) {
  if (value)
    setenv("HELPDESK_METRICS_ADDR", value, 1);
  else
    unsetenv("HELPDESK_METRICS_ADDR");
  memset(f, 0, sizeof *f);
  hd_clock_init_manual(&f->clock, 1767571200LL * HD_US_PER_S);
  snprintf(f->db_name, sizeof f->db_name, "hd_metrics_addr_%d", (int)getpid());
  hd_svc_options opts = {.listen_addr = listen, .clock = &f->clock, .db_name = f->db_name};
  int rc = hd_svc_start(&routing_service_def, &opts, &f->svc, err);
  unsetenv("HELPDESK_METRICS_ADDR");
  return rc;
}

static void test_metrics_address_follows_the_setting_and_defaults_to_grpc_port_plus_1000(
    void **state) {
  (void)state;
  hd_fixture f;
  hd_err err = {0};
  /* off: no endpoint */
  assert_int_equal(start_with("off", "127.0.0.1:0", &f, &err), 0);
  assert_int_equal(hd_svc_metrics_port(f.svc), 0);
  hd_svc_stop(f.svc);
  /* an explicit free port */
  assert_int_equal(start_with("127.0.0.1:0", "127.0.0.1:0", &f, &err), 0);
  int taken = hd_svc_metrics_port(f.svc);
  assert_true(taken > 0);
  /* ... which a second service cannot take: it does not start */
  hd_fixture g;
  char addr[32];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", taken);
  hd_err_clear(&err);
  assert_int_equal(start_with(addr, "127.0.0.1:0", &g, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  hd_svc_stop(f.svc);
  /* malformed */
  const char *bad[] = {"nonsense", "127.0.0.1:65536", "127.0.0.1:x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hd_err_clear(&err);
    assert_int_equal(start_with(bad[i], "127.0.0.1:0", &g, &err), -1);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  }
  /* default: the gRPC port + 1000 on the gRPC host (tried on a few ports, in case one is busy) */
  bool started = false;
  for (int attempt = 0; attempt < 5 && !started; attempt++) {
    int p = hd_test_free_port();
    if (p <= 0 || p + 1000 > 65535) continue;
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", p);
    hd_err_clear(&err);
    if (start_with(NULL, listen, &f, &err) != 0) continue;
    started = true;
    assert_int_equal(hd_svc_port(f.svc), p);
    assert_int_equal(hd_svc_metrics_port(f.svc), p + 1000);
    hd_svc_stop(f.svc);
  }
  assert_true(started);
  /* a gRPC port past 64535 has no port + 1000: the setting is asked for */
  hd_err_clear(&err);
  assert_int_equal(start_with(NULL, "127.0.0.1:65000", &g, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "HELPDESK_METRICS_ADDR"));

  hd_test_drop_database(f.db_name);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_calls_move_the_counters_of_their_method_and_code),
      cmocka_unit_test(test_other_paths_are_404_and_gauges_set_by_the_service_appear),
      cmocka_unit_test(test_mariadb_and_redis_outages_count_as_errors),
      cmocka_unit_test(
          test_metrics_address_follows_the_setting_and_defaults_to_grpc_port_plus_1000),
  };
  return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
