/* Rate limits per tenant and per caller at the rpc edge (rpc/rate_limit.h), on the real Redis and
 * through the echo service over gRPC: a call over its limit is RESOURCE_EXHAUSTED naming the
 * bucket with a retry delay, served again after it; two callers of a tenant share the tenant's
 * bucket; health is exempt; the role defaults; fail-open with Redis down, counted. Redis's own
 * clock drives the buckets (TIME in the script), so these tests wait real time (at most a few
 * seconds) instead of moving the fixture's clock; every test uses its own tenants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "echo_service.h"
#include "rpc/rate_limit.h"
#include "svc_fixture.h"
#include "test_env.h"

static const char *const limit_vars[] = {"HELPDESK_RATE_LIMITS",
                                         "HELPDESK_RATE_LIMIT_TENANT",
                                         "HELPDESK_RATE_LIMIT_CUSTOMER",
                                         "HELPDESK_RATE_LIMIT_AGENT",
                                         "HELPDESK_RATE_LIMIT_TEAM_LEAD",
                                         "HELPDESK_RATE_LIMIT_SUPERVISOR",
                                         "HELPDESK_RATE_LIMIT_TENANT_ADMIN",
                                         "HELPDESK_RATE_LIMIT_SERVICE"};

static void limits_unset(void) {
  for (size_t i = 0; i < sizeof limit_vars / sizeof limit_vars[0]; i++) unsetenv(limit_vars[i]);
}

static int64_t now_us(void) { return hd_monotonic_us(); }

/* One Echo call with token; the status, and the message in err. */
static hd_code echo(hd_fixture *f, const char *token, hd_err *err) {
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  req.text = "hi";
  hd_arena *a = hd_arena_new(1 << 20);
  ProtobufCMessage *resp = NULL;
  hd_err_clear(err);
  hd_code code = hd_fixture_call(f, HD_TEST_ECHO, token, &req.base,
                                 &hdtest__v1__echo_response__descriptor, a, &resp, err);
  hd_arena_free(a);
  return code;
}

/* The "retry in N ms" of a refusal's message; -1 when it has none. */
static long long retry_ms_of(const char *msg) {
  const char *p = strstr(msg, "retry in ");
  return p ? atoll(p + strlen("retry in ")) : -1;
}

/* The value of one series in the service's metrics ("name" or "name{labels}"); -1 when absent. */
static double metric(hd_fixture *f, const char *series) {
  char *text = NULL;
  size_t len = 0;
  hd_err err = {0};
  assert_int_equal(hd_metrics_render(hd_svc_env_of(f->svc)->metrics, &text, &len, &err), 0);
  char needle[200];
  snprintf(needle, sizeof needle, "\n%s ", series);
  const char *line = strstr(text, needle);
  double v = line ? atof(line + strlen(needle)) : -1;
  free(text);
  return v;
}

static void sleep_ms(long long ms) {
  struct timespec d = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&d, &d) != 0) {
  }
}

static hd_kv *test_worker_kv(void *w) { return w; }

/* The limits with the default settings and a connection to the settings' Redis, for the module
 * tests (no server: the connection is the "worker"). Caller frees both. */
static hd_kv *module_open(hd_rate_limits *rl) {
  limits_unset();
  hd_kv_config kc;
  hd_test_kv_config(&kc);
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&kc, &kv, &err), 0);
  assert_int_equal(hd_rate_limits_load(rl, NULL, test_worker_kv, &err), 0);
  return kv;
}

/* The module on the real Redis, no server: the refusal carries RESOURCE_EXHAUSTED, the bucket in
 * its message and retry_after_ms > 0, and after that delay the caller is served again. */
static void test_caller_over_its_limit_is_refused_with_a_retry_delay_then_served_after_it(
    void **state) {
  (void)state;
  hd_rate_limits rl;
  hd_kv *kv = module_open(&rl);
  hd_err err = {0};
  rl.role[1] = (hd_kv_rate){1, 3}; /* agent: 1/s, burst 3 */
  hd_principal p = {.roles = HD_ROLE_AGENT};
  hd_test_unique(p.tenant, sizeof p.tenant, "rl_mod");
  snprintf(p.user_id, sizeof p.user_id, "agent-1");
  for (int i = 0; i < 3; i++) assert_int_equal(hd_rate_limit_admit(&rl, kv, &p, &err), 0);
  assert_int_equal(hd_rate_limit_admit(&rl, kv, &p, &err), -1);
  assert_int_equal(err.code, HD_RESOURCE_EXHAUSTED);
  assert_non_null(strstr(err.msg, "rate limit of caller agent-1"));
  assert_true(err.retry_after_ms > 0 && err.retry_after_ms <= 1000);
  assert_int_equal(retry_ms_of(err.msg), err.retry_after_ms);
  int64_t wait = err.retry_after_ms;
  sleep_ms(wait + 20);
  hd_err_clear(&err);
  assert_int_equal(hd_rate_limit_admit(&rl, kv, &p, &err), 0);
  fprintf(stderr,
          "caller 1/s burst 3: 3 allowed, the 4th refused with retry_after_ms=%lld, "
          "served again after it\n",
          (long long)wait);
  /* the key has a ttl (idle buckets vanish): burst / rate + 1 s */
  char key[200];
  snprintf(key, sizeof key, "{rl:%zu:%s}:c:agent-1", strlen(p.tenant), p.tenant);
  const char *argv[] = {"PTTL", key};
  const size_t lens[] = {4, strlen(key)};
  hd_kv_reply *r = NULL;
  assert_int_equal(hd_kv_cmd(kv, 2, argv, lens, true, &r, &err), 0);
  assert_int_equal(r->type, HD_KV_INT);
  assert_true(r->integer > 0 && r->integer <= 4000);
  hd_kv_reply_free(r);
  hd_rate_limits_fini(&rl);
  hd_kv_close(kv);
}

/* Through the echo service: the tenant's bucket is shared by its callers, the caller's is not. */
static void test_two_callers_of_one_tenant_share_the_tenant_bucket(void **state) {
  (void)state;
  limits_unset();
  setenv("HELPDESK_RATE_LIMIT_TENANT", "1/s:3", 1);
  setenv("HELPDESK_RATE_LIMIT_AGENT", "100/s:100", 1);
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &hd_test_echo_def), 0);
  char tenant[64], other[64];
  hd_test_unique(tenant, sizeof tenant, "rl_tenant");
  hd_test_unique(other, sizeof other, "rl_other");
  char *a = hd_fixture_token(&f, tenant, "agent-a", HD_ROLE_AGENT);
  char *b = hd_fixture_token(&f, tenant, "agent-b", HD_ROLE_AGENT);
  char *c = hd_fixture_token(&f, other, "agent-c", HD_ROLE_AGENT);
  hd_err err = {0};
  for (int i = 0; i < 3; i++) assert_int_equal(echo(&f, a, &err), HD_OK);
  assert_int_equal(echo(&f, b, &err), HD_RESOURCE_EXHAUSTED); /* b's first call: tenant empty */
  assert_non_null(strstr(err.msg, "rate limit of tenant"));
  assert_true(retry_ms_of(err.msg) > 0);
  assert_int_equal(echo(&f, c, &err), HD_OK); /* another tenant has its own */
  assert_true(metric(&f, HD_METRIC_RATE_LIMITED "{bucket=\"tenant\"}") >= 1);
  limits_unset();
  free(a);
  free(b);
  free(c);
  hd_fixture_stop(&f);
}

static void test_caller_bucket_refuses_one_caller_and_not_another_of_its_tenant(void **state) {
  (void)state;
  limits_unset();
  setenv("HELPDESK_RATE_LIMIT_TENANT", "100/s:100", 1);
  setenv("HELPDESK_RATE_LIMIT_CUSTOMER", "1/s:2", 1);
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &hd_test_echo_def), 0);
  char tenant[64];
  hd_test_unique(tenant, sizeof tenant, "rl_caller");
  char *a = hd_fixture_token(&f, tenant, "cust-a", HD_ROLE_CUSTOMER);
  char *b = hd_fixture_token(&f, tenant, "cust-b", HD_ROLE_CUSTOMER);
  hd_err err = {0};
  for (int i = 0; i < 2; i++) assert_int_equal(echo(&f, a, &err), HD_OK);
  assert_int_equal(echo(&f, a, &err), HD_RESOURCE_EXHAUSTED);
  assert_non_null(strstr(err.msg, "rate limit of caller cust-a"));
  long long wait = retry_ms_of(err.msg);
  assert_true(wait > 0 && wait <= 1000);
  assert_int_equal(echo(&f, b, &err), HD_OK);
  sleep_ms(wait + 20);
  assert_int_equal(echo(&f, a, &err), HD_OK); /* recovered after the refill time */
  assert_true(metric(&f, HD_METRIC_RATE_LIMITED "{bucket=\"caller\"}") >= 1);
  limits_unset();
  free(a);
  free(b);
  hd_fixture_stop(&f);
}

static void test_health_and_public_methods_are_exempt(void **state) {
  (void)state;
  limits_unset();
  setenv("HELPDESK_RATE_LIMIT_TENANT", "1/s:1", 1);
  setenv("HELPDESK_RATE_LIMIT_AGENT", "1/s:1", 1);
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &hd_test_echo_def), 0);
  char tenant[64];
  hd_test_unique(tenant, sizeof tenant, "rl_health");
  char *a = hd_fixture_token(&f, tenant, "agent-a", HD_ROLE_AGENT);
  hd_err err = {0};
  assert_int_equal(echo(&f, a, &err), HD_OK);
  assert_int_equal(echo(&f, a, &err), HD_RESOURCE_EXHAUSTED);
  for (int i = 0; i < 30; i++) assert_int_equal(hd_fixture_health(&f), 1);
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  req.text = "public";
  for (int i = 0; i < 5; i++) {
    hd_arena *ar = hd_arena_new(1 << 20);
    ProtobufCMessage *resp = NULL;
    assert_int_equal(hd_fixture_call(&f, HD_TEST_PUBLIC_ECHO, NULL, &req.base,
                                     &hdtest__v1__echo_response__descriptor, ar, &resp, &err),
                     HD_OK);
    hd_arena_free(ar);
  }
  limits_unset();
  free(a);
  hd_fixture_stop(&f);
}

/* The documented defaults; the most generous role wins; a service caller skips the tenant's. */
static void test_role_defaults_and_the_most_generous_role_and_service_callers(void **state) {
  (void)state;
  limits_unset();
  hd_rate_limits rl = {0};
  hd_err err = {0};
  assert_int_equal(hd_rate_limits_load(&rl, NULL, NULL, &err), 0);
  assert_true(rl.enabled);
  hd_kv_rate t, c;
  hd_principal cust = {.tenant = "t", .user_id = "u", .roles = HD_ROLE_CUSTOMER};
  hd_rate_limits_for(&rl, &cust, &t, &c);
  assert_int_equal(t.rate_per_s, 5000);
  assert_int_equal(t.burst, 10000);
  assert_int_equal(c.rate_per_s, 100);
  assert_int_equal(c.burst, 1000);
  hd_principal both = {.tenant = "t", .user_id = "u", .roles = HD_ROLE_CUSTOMER | HD_ROLE_AGENT};
  hd_rate_limits_for(&rl, &both, &t, &c);
  assert_int_equal(c.rate_per_s, 500);
  assert_int_equal(c.burst, 2000);
  hd_principal svc = {.tenant = "t", .user_id = "routing", .roles = HD_ROLE_SERVICE};
  hd_rate_limits_for(&rl, &svc, &t, &c);
  assert_int_equal(t.rate_per_s, 0); /* no tenant bucket */
  assert_int_equal(c.rate_per_s, 20000);
  assert_int_equal(c.burst, 40000);
  /* settings: unlimited beats a rate; bad values are refused by name */
  setenv("HELPDESK_RATE_LIMIT_AGENT", "0", 1);
  hd_rate_limits_fini(&rl);
  assert_int_equal(hd_rate_limits_load(&rl, NULL, NULL, &err), 0);
  hd_rate_limits_for(&rl, &both, &t, &c);
  assert_int_equal(c.rate_per_s, 0);
  setenv("HELPDESK_RATE_LIMIT_AGENT", "7/s", 1);
  hd_rate_limits_fini(&rl);
  assert_int_equal(hd_rate_limits_load(&rl, NULL, NULL, &err), 0);
  assert_int_equal(rl.role[1].rate_per_s, 7);
  assert_int_equal(rl.role[1].burst, 7);
  static const char *const bad[] = {"50",           "50/s:", "-1/s:2", "50/m:100", "1000001/s:1",
                                    "1/s:10000001", "0/s:5", "1/s:0",  " 5/s:5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setenv("HELPDESK_RATE_LIMIT_AGENT", bad[i], 1);
    hd_rate_limits_fini(&rl);
    assert_int_equal(hd_rate_limits_load(&rl, NULL, NULL, &err), -1);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "HELPDESK_RATE_LIMIT_AGENT"));
  }
  limits_unset();
  setenv("HELPDESK_RATE_LIMITS", "maybe", 1);
  hd_rate_limits_fini(&rl);
  assert_int_equal(hd_rate_limits_load(&rl, NULL, NULL, &err), -1);
  setenv("HELPDESK_RATE_LIMITS", "off", 1);
  hd_rate_limits_fini(&rl);
  assert_int_equal(hd_rate_limits_load(&rl, NULL, NULL, &err), 0);
  assert_false(rl.enabled);
  assert_null(rl.reserve); /* off: nothing leased, nothing to free */
  hd_rate_limits_fini(&rl);
  limits_unset();
}

/* A service caller is limited by its own (high) bucket only, never by its tenant's. */
static void test_service_callers_are_not_throttled_by_the_tenant_bucket(void **state) {
  (void)state;
  limits_unset();
  setenv("HELPDESK_RATE_LIMIT_TENANT", "1/s:2", 1);
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &hd_test_echo_def), 0);
  char tenant[64];
  hd_test_unique(tenant, sizeof tenant, "rl_service");
  char *cust = hd_fixture_token(&f, tenant, "cust", HD_ROLE_CUSTOMER);
  char *svc = hd_fixture_token(&f, tenant, "routing", HD_ROLE_SERVICE);
  hd_err err = {0};
  for (int i = 0; i < 2; i++) assert_int_equal(echo(&f, cust, &err), HD_OK);
  assert_int_equal(echo(&f, cust, &err), HD_RESOURCE_EXHAUSTED);
  for (int i = 0; i < 20; i++) assert_int_equal(echo(&f, svc, &err), HD_OK);
  limits_unset();
  free(cust);
  free(svc);
  hd_fixture_stop(&f);
}

static void test_limits_fail_open_when_redis_is_down_and_the_metric_counts_it(void **state) {
  (void)state;
  limits_unset();
  hd_test_redis r;
  assert_int_equal(hd_test_redis_start(&r), 0);
  setenv("HELPDESK_RATE_LIMIT_AGENT", "1/s:2", 1);
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &hd_test_echo_def), 0); /* echo: needs_redis false */
  char tenant[64];
  hd_test_unique(tenant, sizeof tenant, "rl_open");
  char *a = hd_fixture_token(&f, tenant, "agent-a", HD_ROLE_AGENT);
  hd_err err = {0};
  for (int i = 0; i < 2; i++) assert_int_equal(echo(&f, a, &err), HD_OK);
  assert_int_equal(echo(&f, a, &err), HD_RESOURCE_EXHAUSTED);
  assert_true(metric(&f, HD_METRIC_RATE_LIMIT_FAIL_OPEN) == 0);
  hd_test_redis_down(&r);
  for (int i = 0; i < 10; i++) assert_int_equal(echo(&f, a, &err), HD_OK);
  double opened = metric(&f, HD_METRIC_RATE_LIMIT_FAIL_OPEN);
  assert_true(opened >= 10);
  assert_int_equal(hd_test_redis_up(&r), 0); /* empty: the bucket starts full */
  sleep_ms(HD_RATE_LIMIT_BACKOFF_US / 1000 + 100);
  hd_code code = HD_OK;
  int served = 0;
  for (int i = 0; i < 5 && code == HD_OK; i++)
    if ((code = echo(&f, a, &err)) == HD_OK) served++;
  assert_int_equal(code, HD_RESOURCE_EXHAUSTED); /* limited again once Redis is back */
  assert_true(served >= 2);
  fprintf(stderr, "redis down: 10 calls served, %s %.0f; back: %d served then refused\n",
          HD_METRIC_RATE_LIMIT_FAIL_OPEN, opened, served);
  limits_unset();
  free(a);
  hd_fixture_stop(&f);
  hd_test_redis_stop(&r);
}

/* The closing note's figures: one caller at 50/s burst 100, a closed loop for 3 s. Printed;
 * asserted only within bounds no machine load can break. */
static void test_closed_loop_at_50_per_second_burst_100_figures(void **state) {
  (void)state;
  limits_unset();
  setenv("HELPDESK_RATE_LIMIT_AGENT", "50/s:100", 1);
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &hd_test_echo_def), 0);
  char tenant[64];
  hd_test_unique(tenant, sizeof tenant, "rl_loop");
  char *a = hd_fixture_token(&f, tenant, "agent-loop", HD_ROLE_AGENT);
  hd_err err = {0};
  long allowed = 0, refused = 0, other = 0;
  long long last_retry = -1;
  const int64_t t0 = now_us();
  int64_t t1 = t0;
  while ((t1 = now_us()) - t0 < 3000000) {
    hd_code code = echo(&f, a, &err);
    if (code == HD_OK) {
      allowed++;
    } else if (code == HD_RESOURCE_EXHAUSTED) {
      refused++;
      last_retry = retry_ms_of(err.msg);
    } else {
      other++;
    }
  }
  const double elapsed = (double)(t1 - t0) / 1e6;
  /* recovery: until the next call is served, then until the whole burst is back */
  const int64_t s0 = now_us();
  for (int i = 0; i < 2000 && echo(&f, a, &err) != HD_OK; i++) sleep_ms(1);
  const double first_ms = (double)(now_us() - s0) / 1000.0;
  sleep_ms(100 * 1000 / 50 + 100); /* the whole burst refills in burst / rate = 2 s */
  int burst_ok = 0;
  while (burst_ok < 100 && echo(&f, a, &err) == HD_OK) burst_ok++;
  fprintf(stderr,
          "closed loop 50/s burst 100 for %.2f s: %ld calls allowed, %ld refused, %ld other "
          "(%.0f calls/s tried); last retry_after_ms=%lld; after the loop the next call was "
          "served in %.1f ms, and after 2.1 s the whole burst (%d calls) was back\n",
          elapsed, allowed, refused, other, (double)(allowed + refused) / elapsed, last_retry,
          first_ms, burst_ok);
  assert_int_equal(other, 0);
  assert_true(allowed >= (allowed + refused < 100 ? allowed + refused : 100));
  assert_true((double)allowed <= 100 + 50 * (elapsed + 0.2) + 2);
  if (refused > 0) assert_true(last_retry > 0 && last_retry <= 20);
  assert_int_equal(burst_ok, 100);
  limits_unset();
  free(a);
  hd_fixture_stop(&f);
}

/* calls= of cmdstat_evalsha in the INFO commandstats of r's Redis. */
static long long evalsha_calls(hd_kv *kv) {
  const char *argv[] = {"INFO", "commandstats"};
  const size_t lens[] = {4, 12};
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(kv, 2, argv, lens, false, &r, &err), 0);
  const char *p = r->str ? strstr(r->str, "cmdstat_evalsha:calls=") : NULL;
  long long n = p ? atoll(p + strlen("cmdstat_evalsha:calls=")) : 0;
  hd_kv_reply_free(r);
  return n;
}

/* A busy caller's tokens are leased ahead (rate_reserve.h): 1,000 calls cost Redis a few dozen
 * scripts; over its limit, a closed loop is still let through no more than its bucket gave. */
static void test_a_busy_caller_leases_tokens_ahead_and_gets_no_more_than_its_bucket(void **state) {
  (void)state;
  limits_unset();
  hd_test_redis red;
  assert_int_equal(hd_test_redis_start(&red), 0); /* its own, so the script count is this test's */
  hd_rate_limits rl;
  hd_kv *kv = module_open(&rl);
  hd_err err = {0};
  rl.role[1] = (hd_kv_rate){2000, 4000}; /* agent: leases up to HD_RATE_LEASE_MAX */
  hd_principal p = {.roles = HD_ROLE_AGENT};
  hd_test_unique(p.tenant, sizeof p.tenant, "rl_lease");
  snprintf(p.user_id, sizeof p.user_id, "agent-busy");
  const long long before = evalsha_calls(red.kv);
  for (int i = 0; i < 1000; i++) assert_int_equal(hd_rate_limit_admit(&rl, kv, &p, &err), 0);
  const long long scripts = evalsha_calls(red.kv) - before;
  fprintf(stderr, "1,000 calls of one agent at 2000/s: %lld rate-limit scripts in Redis\n",
          scripts);
  assert_true(scripts >= 1 && scripts <= 100);

  /* 400/s burst 100 (leases up to 20), tried in a closed loop for a second */
  rl.role[1] = (hd_kv_rate){400, 100};
  snprintf(p.user_id, sizeof p.user_id, "agent-over");
  long allowed = 0, refused = 0;
  const int64_t t0 = now_us();
  int64_t t1 = t0;
  while ((t1 = now_us()) - t0 < 1000000) {
    if (hd_rate_limit_admit(&rl, kv, &p, &err) == 0) {
      allowed++;
    } else {
      assert_int_equal(err.code, HD_RESOURCE_EXHAUSTED);
      refused++;
    }
  }
  const double elapsed = (double)(t1 - t0) / 1e6;
  fprintf(stderr, "400/s burst 100 for %.2f s: %ld allowed, %ld refused\n", elapsed, allowed,
          refused);
  assert_true((double)allowed <= 100 + 400 * (elapsed + 0.1) + 1);
  assert_true(allowed >= 100);
  hd_rate_limits_fini(&rl);
  hd_kv_close(kv);
  hd_test_redis_stop(&red);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(
          test_caller_over_its_limit_is_refused_with_a_retry_delay_then_served_after_it),
      cmocka_unit_test(test_two_callers_of_one_tenant_share_the_tenant_bucket),
      cmocka_unit_test(test_caller_bucket_refuses_one_caller_and_not_another_of_its_tenant),
      cmocka_unit_test(test_health_and_public_methods_are_exempt),
      cmocka_unit_test(test_role_defaults_and_the_most_generous_role_and_service_callers),
      cmocka_unit_test(test_service_callers_are_not_throttled_by_the_tenant_bucket),
      cmocka_unit_test(test_limits_fail_open_when_redis_is_down_and_the_metric_counts_it),
      cmocka_unit_test(test_closed_loop_at_50_per_second_burst_100_figures),
      cmocka_unit_test(test_a_busy_caller_leases_tokens_ahead_and_gets_no_more_than_its_bucket),
  };
  return cmocka_run_group_tests_name("rate_limit", tests, NULL, NULL);
}
