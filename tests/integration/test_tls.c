/* TLS end to end: a service started with HELPDESK_TLS_CERT/KEY (a self-signed certificate made
 * with openssl at test time) answers hd_client over TLS when the client trusts that certificate;
 * a plaintext client, or a TLS client that trusts another CA, fails cleanly with UNAVAILABLE and
 * the server keeps serving; a missing or unreadable certificate stops the service from starting. */
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
#include "grpc/health/v1/health.pb-c.h"
#include "svc_fixture.h"
#include "test_env.h"

typedef struct tls_env {
  char dir[64];
  char cert[128], key[128]; /* the server's: CN=localhost, SAN localhost and 127.0.0.1 */
  char other_cert[128], other_key[128]; /* an unrelated self-signed certificate */
  char garbage[128];                    /* a file that is not PEM */
  hd_clock clock;
  char db_name[64];
  hd_svc *svc;
  int port;
} tls_env;

static int make_cert(const char *cert, const char *key) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
           "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout %s -out %s >/dev/null 2>&1",
           key, cert);
  return system(cmd) == 0 ? 0 : -1;
}

/* Starts the echo service (tests/support: real handlers behind auth) over TLS with cert/key. */
static int start_tls(tls_env *e, const char *cert, const char *key, hd_svc **out, hd_err *err) {
  setenv("HELPDESK_TLS_CERT", cert, 1);
  setenv("HELPDESK_TLS_KEY", key, 1);
  hd_svc_options opts = {.listen_addr = "127.0.0.1:0", .clock = &e->clock, .db_name = e->db_name};
  int rc = hd_svc_start(&hd_test_echo_def, &opts, out, err);
  unsetenv("HELPDESK_TLS_CERT");
  unsetenv("HELPDESK_TLS_KEY");
  return rc;
}

/* One health check against target; returns the status code, *serving the answer (1 SERVING). */
static hd_code health(const char *target, const char *ca, int *serving, hd_err *err) {
  hd_client *c = NULL;
  hd_client_config cfg = {
      .target = target, .tls_ca_file = ca, .default_timeout_us = 5 * HD_US_PER_S};
  hd_err_clear(err);
  if (hd_client_new(&cfg, &c, err) != 0) return err->code;
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  hd_arena *a = hd_arena_new(1 << 16);
  ProtobufCMessage *resp = NULL;
  *serving = -1;
  if (hd_client_call(c, "/grpc.health.v1.Health/Check", NULL, 0, &req.base,
                     &grpc__health__v1__health_check_response__descriptor, a, &resp, err) == 0)
    *serving = (int)((Grpc__Health__V1__HealthCheckResponse *)resp)->status;
  hd_arena_free(a);
  hd_client_destroy(c);
  return err->code;
}

/* On a failure *state holds what was made so far, for group_teardown (which cmocka runs even when
 * the group's set-up failed) to undo. */
static int group_setup(void **state) {
  tls_env *e = calloc(1, sizeof *e);
  if (!e) return -1;
  *state = e;
  snprintf(e->dir, sizeof e->dir, "/tmp/hd-tls-XXXXXX");
  if (!mkdtemp(e->dir)) {
    e->dir[0] = '\0';
    return -1;
  }
  snprintf(e->cert, sizeof e->cert, "%s/server.crt", e->dir);
  snprintf(e->key, sizeof e->key, "%s/server.key", e->dir);
  snprintf(e->other_cert, sizeof e->other_cert, "%s/other.crt", e->dir);
  snprintf(e->other_key, sizeof e->other_key, "%s/other.key", e->dir);
  snprintf(e->garbage, sizeof e->garbage, "%s/garbage.pem", e->dir);
  if (make_cert(e->cert, e->key) != 0 || make_cert(e->other_cert, e->other_key) != 0) {
    fprintf(stderr,
            "tls: openssl could not make a certificate (is the openssl command installed? "
            "scripts/deps.sh installs it)\n");
    return -1;
  }
  FILE *g = fopen(e->garbage, "w");
  if (!g) return -1;
  fputs("this is not a certificate\n", g);
  fclose(g);
  hd_clock_init_manual(&e->clock, 1767571200LL * HD_US_PER_S);
  hd_test_unique(e->db_name, sizeof e->db_name, "hdt_tls");
  hd_err err = {0};
  if (start_tls(e, e->cert, e->key, &e->svc, &err) != 0) {
    fprintf(stderr, "tls: %s\n", err.msg);
    return -1;
  }
  e->port = hd_svc_port(e->svc);
  return 0;
}

/* Undoes group_setup, also a partial one: whatever it had not made yet is skipped. */
static int group_teardown(void **state) {
  tls_env *e = *state;
  if (!e) return 0;
  hd_svc_stop(e->svc);
  if (e->db_name[0]) {
    hd_test_drop_database(e->db_name);
  }
  if (e->dir[0]) {
    const char *files[] = {e->cert, e->key, e->other_cert, e->other_key, e->garbage};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) unlink(files[i]);
    rmdir(e->dir);
  }
  free(e);
  *state = NULL;
  return 0;
}

static void test_health_over_tls_with_the_servers_certificate_as_ca_is_serving(void **state) {
  tls_env *e = *state;
  char target[64];
  snprintf(target, sizeof target, "localhost:%d", e->port);
  int serving = -1;
  hd_err err;
  for (int i = 0; i < 100 && serving != 1; i++) { /* the first probe of MariaDB and Redis */
    assert_int_equal(health(target, e->cert, &serving, &err), HD_OK);
    if (serving != 1) usleep(50000);
  }
  assert_int_equal(serving, 1);
}

static void test_health_over_tls_to_the_ip_address_in_the_certificate_is_serving(void **state) {
  tls_env *e = *state;
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", e->port);
  int serving = -1;
  hd_err err;
  assert_int_equal(health(target, e->cert, &serving, &err), HD_OK);
  assert_int_equal(serving, 1);
}

static void test_bearer_token_reaches_the_handler_over_tls(void **state) {
  tls_env *e = *state;
  hd_principal p = {.roles = HD_ROLE_AGENT};
  snprintf(p.tenant, sizeof p.tenant, "acme");
  snprintf(p.user_id, sizeof p.user_id, "agent-1");
  char *tok = NULL;
  hd_err err = {0};
  assert_int_equal(hd_auth_sign(&hd_svc_env_of(e->svc)->auth, &p,
                                hd_clock_now_us(&e->clock) / HD_US_PER_S, 3600, &tok, &err),
                   0);
  char target[64];
  snprintf(target, sizeof target, "localhost:%d", e->port);
  hd_client *c = NULL;
  hd_client_config cfg = {.target = target, .tls_ca_file = e->cert};
  assert_int_equal(hd_client_new(&cfg, &c, &err), 0);
  hd_arena *a = hd_arena_new(1 << 16);
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  req.text = "over tls";
  ProtobufCMessage *resp = NULL;
  assert_int_equal(hd_client_call(c, HD_TEST_ECHO, "not-a-token", 0, &req.base,
                                  &hdtest__v1__echo_response__descriptor, a, &resp, &err),
                   -1);
  assert_int_equal(err.code, HD_UNAUTHENTICATED);
  assert_int_equal(hd_client_call(c, HD_TEST_ECHO, tok, 0, &req.base,
                                  &hdtest__v1__echo_response__descriptor, a, &resp, &err),
                   0);
  assert_string_equal(((Hdtest__V1__EchoResponse *)resp)->text, "over tls|acme|agent-1");
  hd_arena_free(a);
  hd_client_destroy(c);
  free(tok);
}

static void test_plaintext_call_to_the_tls_port_fails_unavailable_and_the_server_serves_on(
    void **state) {
  tls_env *e = *state;
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", e->port);
  int serving = -1;
  hd_err err;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(health(target, NULL, &serving, &err), HD_UNAVAILABLE);
    assert_int_equal(serving, -1);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  assert_true(t1.tv_sec - t0.tv_sec < 5); /* fails fast, not at the deadline */
  snprintf(target, sizeof target, "localhost:%d", e->port);
  assert_int_equal(health(target, e->cert, &serving, &err), HD_OK);
  assert_int_equal(serving, 1);
}

static void test_tls_client_that_trusts_another_ca_fails_unavailable(void **state) {
  tls_env *e = *state;
  char target[64];
  snprintf(target, sizeof target, "localhost:%d", e->port);
  int serving = -1;
  hd_err err;
  assert_int_equal(health(target, e->other_cert, &serving, &err), HD_UNAVAILABLE);
  assert_int_equal(serving, -1);
}

static void test_tls_client_naming_a_host_not_in_the_certificate_fails_unavailable(void **state) {
  tls_env *e = *state;
  char cert[160], key[160];
  snprintf(cert, sizeof cert, "%s/elsewhere.crt", e->dir);
  snprintf(key, sizeof key, "%s/elsewhere.key", e->dir);
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=elsewhere.example "
           "-addext subjectAltName=DNS:elsewhere.example -keyout %s -out %s >/dev/null 2>&1",
           key, cert);
  assert_int_equal(system(cmd), 0);
  hd_svc *svc = NULL;
  hd_err err = {0};
  assert_int_equal(start_tls(e, cert, key, &svc, &err), 0);
  char target[64];
  snprintf(target, sizeof target, "localhost:%d", hd_svc_port(svc)); /* trusted, but not its name */
  int serving = -1;
  assert_int_equal(health(target, cert, &serving, &err), HD_UNAVAILABLE);
  assert_int_equal(serving, -1);
  hd_svc_stop(svc);
  unlink(cert);
  unlink(key);
}

static void test_missing_or_unreadable_certificate_stops_the_service_from_starting(void **state) {
  tls_env *e = *state;
  hd_svc *svc = NULL;
  hd_err err = {0};
  char missing[160];
  snprintf(missing, sizeof missing, "%s/missing.crt", e->dir);
  assert_int_equal(start_tls(e, missing, e->key, &svc, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, missing));
  hd_err_clear(&err);
  assert_int_equal(start_tls(e, e->cert, missing, &svc, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  /* not PEM, or a key that does not match the certificate: refused before serving, naming the file
   */
  hd_err_clear(&err);
  assert_int_equal(start_tls(e, e->garbage, e->key, &svc, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, e->garbage));
  hd_err_clear(&err);
  assert_int_equal(start_tls(e, e->cert, e->garbage, &svc, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  hd_err_clear(&err);
  assert_int_equal(start_tls(e, e->cert, e->other_key, &svc, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, "does not belong"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_health_over_tls_with_the_servers_certificate_as_ca_is_serving),
      cmocka_unit_test(test_health_over_tls_to_the_ip_address_in_the_certificate_is_serving),
      cmocka_unit_test(test_bearer_token_reaches_the_handler_over_tls),
      cmocka_unit_test(
          test_plaintext_call_to_the_tls_port_fails_unavailable_and_the_server_serves_on),
      cmocka_unit_test(test_tls_client_that_trusts_another_ca_fails_unavailable),
      cmocka_unit_test(test_tls_client_naming_a_host_not_in_the_certificate_fails_unavailable),
      cmocka_unit_test(test_missing_or_unreadable_certificate_stops_the_service_from_starting),
  };
  return cmocka_run_group_tests_name("tls", tests, group_setup, group_teardown);
}
