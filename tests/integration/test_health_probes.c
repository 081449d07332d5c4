/* What probes see: readiness ("" or the service's name) is SERVING only with MariaDB up (and
 * Redis, for a service whose hd_service_def says needs_redis: test_readiness_redis), liveness
 * ("liveness") whenever the server answers, so an outage takes pods out of rotation without
 * restarting them; and the hd-health tool (docker-compose's health check) exits 0 / 1 / 2 for
 * SERVING / NOT_SERVING or unknown service / no answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "grpc/health/v1/health.pb-c.h"
#include "routing_service.h"
#include "svc_fixture.h"
#include "test_env.h"

#define HD_HEALTH_BIN HD_BINARY_DIR "/tools/hd-health"

/* Health of `service` through client c: 1 SERVING, 2 NOT_SERVING, or -(status code). */
static int check(hd_client *c, const char *service) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  req.service = (char *)service;
  hd_arena *a = hd_arena_new(1 << 16);
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  int st;
  if (hd_client_call(c, "/grpc.health.v1.Health/Check", NULL, HD_US_PER_S, &req.base,
                     &grpc__health__v1__health_check_response__descriptor, a, &resp, &err) == 0)
    st = (int)((Grpc__Health__V1__HealthCheckResponse *)resp)->status;
  else
    st = -(int)err.code;
  hd_arena_free(a);
  return st;
}

/* Runs hd-health with args; returns its exit status and its first output line in out. */
static int hd_health(const char *args, char *out, size_t size) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null", HD_HEALTH_BIN, args);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  out[0] = '\0';
  if (!fgets(out, (int)size, p)) out[0] = '\0';
  out[strcspn(out, "\n")] = '\0';
  int st = pclose(p);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static void test_readiness_and_liveness_while_serving_and_hd_health_agrees(void **state) {
  (void)state;
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &routing_service_def), 0);
  assert_int_equal(check(f.client, ""), 1);
  assert_int_equal(check(f.client, "helpdesk.v1.RoutingService"), 1);
  assert_int_equal(check(f.client, HD_HEALTH_LIVENESS), 1);
  assert_int_equal(check(f.client, "helpdesk.v1.NoSuchService"), -(int)HD_NOT_FOUND);

  char args[128], out[128];
  int port = hd_svc_port(f.svc);
  snprintf(args, sizeof args, "127.0.0.1:%d", port);
  assert_int_equal(hd_health(args, out, sizeof out), 0);
  assert_string_equal(out, "SERVING");
  snprintf(args, sizeof args, "--timeout 3s 127.0.0.1:%d liveness", port);
  assert_int_equal(hd_health(args, out, sizeof out), 0);
  snprintf(args, sizeof args, "127.0.0.1:%d helpdesk.v1.RoutingService", port);
  assert_int_equal(hd_health(args, out, sizeof out), 0);
  snprintf(args, sizeof args, "127.0.0.1:%d helpdesk.v1.NoSuchService", port);
  assert_int_equal(hd_health(args, out, sizeof out), 1);
  assert_string_equal(out, "SERVICE_UNKNOWN");
  /* no answer, and bad usage */
  snprintf(args, sizeof args, "--timeout 500ms 127.0.0.1:%d", hd_test_free_port());
  assert_int_equal(hd_health(args, out, sizeof out), 2);
  assert_int_equal(hd_health("", out, sizeof out), 2);
  snprintf(args, sizeof args, "127.0.0.1:%d a b", port);
  assert_int_equal(hd_health(args, out, sizeof out), 2);
  snprintf(args, sizeof args, "--timeout 0 127.0.0.1:%d", port);
  assert_int_equal(hd_health(args, out, sizeof out), 2);
  snprintf(args, sizeof args, "--timeout 61s 127.0.0.1:%d", port);
  assert_int_equal(hd_health(args, out, sizeof out), 2);
  hd_fixture_stop(&f);
}

static void test_outage_of_mariadb_fails_readiness_but_not_liveness(void **state) {
  (void)state;
  hd_test_outage o;
  assert_int_equal(hd_test_outage_begin(&o), 0);
  hd_fixture f;
  assert_int_equal(hd_fixture_start_unready(&f, &routing_service_def), 0);
  hd_client *c = f.client;
  const char *target = f.target;
  usleep(300000); /* the first probe has run */
  assert_int_equal(check(c, ""), 2);
  assert_int_equal(check(c, "helpdesk.v1.RoutingService"), 2);
  assert_int_equal(check(c, HD_HEALTH_LIVENESS), 1);
  char args[128], out[128];
  snprintf(args, sizeof args, "%s", target);
  assert_int_equal(hd_health(args, out, sizeof out), 1);
  assert_string_equal(out, "NOT_SERVING");
  snprintf(args, sizeof args, "%s liveness", target);
  assert_int_equal(hd_health(args, out, sizeof out), 0);

  hd_test_outage_end(&o);
  hd_fixture_stop(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_readiness_and_liveness_while_serving_and_hd_health_agrees),
      cmocka_unit_test(test_outage_of_mariadb_fails_readiness_but_not_liveness),
  };
  return cmocka_run_group_tests_name("health_probes", tests, NULL, NULL);
}
