/* The rpc runtime over real loopback gRPC: dispatch by descriptor, auth, bad input, size limit,
 * deadlines, unknown methods, health, concurrency and graceful drain. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "rpctest.pb-c.h"

#define SECRET "test-secret-0123456789"
#define T0     1900000000LL /* the server's manual clock, seconds */

typedef struct fixture {
  hd_server *server;
  hd_client *client;
  hd_auth_config auth;
  hd_clock clock;
  _Atomic bool healthy;
  char target[64];
} fixture;

static int echo(hd_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm) {
  const Hdtest__V1__EchoRequest *req = (const void *)reqm;
  Hdtest__V1__EchoResponse *resp = (void *)respm;
  if (req->sleep_ms > 0) usleep((useconds_t)req->sleep_ms * 1000);
  if (hd_call_check_deadline(call) != 0) return -1;
  if (req->fail_code)
    return hd_err_set(&call->err, (hd_code)req->fail_code, "asked to fail: %s", req->text);
  if (call->principal)
    resp->text = hd_arena_printf(call->arena, "%s|%s|%s", req->text, call->principal->tenant,
                                 call->principal->user_id);
  else
    resp->text = hd_arena_printf(call->arena, "%s|public", req->text);
  resp->request_id = hd_arena_strdup(call->arena, call->request_id);
  return 0;
}

static int supervisor_only(hd_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm) {
  if (hd_call_require(call, HD_ROLE_SUPERVISOR) != 0) return -1;
  return echo(call, reqm, respm);
}

static bool probe(void *arg) { return atomic_load(&((fixture *)arg)->healthy); }

static char *token_for(fixture *f, unsigned roles, int64_t now_s, int64_t ttl_s) {
  hd_principal p = {.roles = roles};
  snprintf(p.tenant, sizeof p.tenant, "acme");
  snprintf(p.user_id, sizeof p.user_id, "u1");
  char *tok = NULL;
  hd_err err = {0};
  assert_int_equal(hd_auth_sign(&f->auth, &p, now_s, ttl_s, &tok, &err), 0);
  return tok;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->auth = (hd_auth_config){.secret = SECRET, .secret_len = strlen(SECRET), .issuer = "helpdesk"};
  hd_clock_init_manual(&f->clock, T0 * HD_US_PER_S);
  atomic_store(&f->healthy, true);
  static const hd_method_impl impls[] = {{"Echo", echo, 0, 0, NULL},
                                         {"SupervisorOnly", supervisor_only, 0, 0, NULL},
                                         {"PublicEcho", echo, HD_METHOD_PUBLIC, 0, NULL}};
  hd_server_config cfg = {.listen_addr = "127.0.0.1:0",
                          .workers = 4,
                          .max_message_bytes = 1 << 20,
                          .grace_us = 5 * HD_US_PER_S,
                          .auth = &f->auth,
                          .clock = &f->clock,
                          .health_probe = probe,
                          .health_arg = f,
                          .health_interval_us = 20000};
  hd_err err = {0};
  assert_int_equal(hd_server_new(&cfg, &f->server, &err), 0);
  assert_int_equal(
      hd_server_add_service(f->server, &hdtest__v1__rpc_test__descriptor, impls, 3, NULL, &err), 0);
  assert_int_equal(hd_server_start(f->server, &err), 0);
  snprintf(f->target, sizeof f->target, "127.0.0.1:%d", hd_server_port(f->server));
  hd_client_config ccfg = {.target = f->target};
  assert_int_equal(hd_client_new(&ccfg, &f->client, &err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  hd_client_destroy(f->client);
  hd_server_destroy(f->server);
  free(f);
  return 0;
}

/* Calls Echo-shaped method; returns the status code; *text the reply text (arena). */
static hd_code call_echo(fixture *f, const char *method, const char *token, const char *text,
                         int sleep_ms, int fail_code, int64_t timeout_us, hd_arena *a, char **out,
                         hd_err *err) {
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  req.text = (char *)text;
  req.sleep_ms = sleep_ms;
  req.fail_code = fail_code;
  ProtobufCMessage *resp = NULL;
  hd_err_clear(err);
  if (hd_client_call(f->client, method, token, timeout_us, &req.base,
                     &hdtest__v1__echo_response__descriptor, a, &resp, err) != 0)
    return err->code;
  if (out) *out = ((Hdtest__V1__EchoResponse *)resp)->text;
  return HD_OK;
}

static void test_echo_with_valid_token_reaches_handler_with_principal(void **state) {
  fixture *f = *state;
  char *tok = token_for(f, HD_ROLE_AGENT, T0, 600);
  hd_arena *a = hd_arena_new(1 << 20);
  char *text = NULL;
  hd_err err;
  assert_int_equal(call_echo(f, "/hdtest.v1.RpcTest/Echo", tok, "hi", 0, 0, 0, a, &text, &err),
                   HD_OK);
  assert_string_equal(text, "hi|acme|u1");
  free(tok);
  hd_arena_free(a);
}

static void test_missing_tampered_and_expired_tokens_are_unauthenticated(void **state) {
  fixture *f = *state;
  hd_arena *a = hd_arena_new(1 << 20);
  hd_err err;
  assert_int_equal(call_echo(f, "/hdtest.v1.RpcTest/Echo", NULL, "x", 0, 0, 0, a, NULL, &err),
                   HD_UNAUTHENTICATED);
  assert_non_null(strstr(err.msg, "authorization"));
  char *tok = token_for(f, HD_ROLE_AGENT, T0, 600);
  size_t n = strlen(tok);
  tok[n - 3] = tok[n - 3] == 'A' ? 'B' : 'A';
  assert_int_equal(call_echo(f, "/hdtest.v1.RpcTest/Echo", tok, "x", 0, 0, 0, a, NULL, &err),
                   HD_UNAUTHENTICATED);
  free(tok);
  char *old = token_for(f, HD_ROLE_AGENT, T0 - 7200, 600); /* expired an hour and 50 minutes ago */
  assert_int_equal(call_echo(f, "/hdtest.v1.RpcTest/Echo", old, "x", 0, 0, 0, a, NULL, &err),
                   HD_UNAUTHENTICATED);
  assert_non_null(strstr(err.msg, "expired"));
  free(old);
  hd_arena_free(a);
}

static void test_role_check_is_permission_denied(void **state) {
  fixture *f = *state;
  hd_arena *a = hd_arena_new(1 << 20);
  hd_err err;
  char *agent = token_for(f, HD_ROLE_AGENT, T0, 600);
  char *sup = token_for(f, HD_ROLE_SUPERVISOR, T0, 600);
  assert_int_equal(
      call_echo(f, "/hdtest.v1.RpcTest/SupervisorOnly", agent, "x", 0, 0, 0, a, NULL, &err),
      HD_PERMISSION_DENIED);
  assert_non_null(strstr(err.msg, "supervisor"));
  assert_int_equal(
      call_echo(f, "/hdtest.v1.RpcTest/SupervisorOnly", sup, "x", 0, 0, 0, a, NULL, &err), HD_OK);
  free(agent);
  free(sup);
  hd_arena_free(a);
}

static void test_public_method_needs_no_token(void **state) {
  fixture *f = *state;
  hd_arena *a = hd_arena_new(1 << 20);
  char *text = NULL;
  hd_err err;
  assert_int_equal(
      call_echo(f, "/hdtest.v1.RpcTest/PublicEcho", NULL, "p", 0, 0, 0, a, &text, &err), HD_OK);
  assert_string_equal(text, "p|public");
  hd_arena_free(a);
}

static void test_garbage_and_truncated_bytes_are_invalid_argument(void **state) {
  fixture *f = *state;
  hd_arena *a = hd_arena_new(1 << 20);
  char *tok = token_for(f, HD_ROLE_AGENT, T0, 600);
  hd_err err = {0};
  void *rb;
  size_t rl;
  const unsigned char garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02};
  assert_int_equal(hd_client_call_raw(f->client, "/hdtest.v1.RpcTest/Echo", tok, 0, garbage,
                                      sizeof garbage, a, &rb, &rl, &err),
                   -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "EchoRequest"));
  /* A length-delimited field (text, tag 0x0a) that claims 100 bytes but carries 3. */
  const unsigned char truncated[] = {0x0a, 100, 'a', 'b', 'c'};
  assert_int_equal(hd_client_call_raw(f->client, "/hdtest.v1.RpcTest/Echo", tok, 0, truncated,
                                      sizeof truncated, a, &rb, &rl, &err),
                   -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  free(tok);
  hd_arena_free(a);
}

static void test_message_over_the_size_limit_is_resource_exhausted(void **state) {
  fixture *f = *state;
  hd_arena *a = hd_arena_new(256u << 20);
  char *tok = token_for(f, HD_ROLE_AGENT, T0, 600);
  hd_err err = {0};
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  req.text = "big";
  /* Exactly under the 1 MiB limit passes; 100 MB does not. */
  req.padding.len = (1 << 20) - 64;
  req.padding.data = calloc(1, 100u << 20);
  ProtobufCMessage *resp = NULL;
  assert_int_equal(hd_client_call(f->client, "/hdtest.v1.RpcTest/Echo", tok, 0, &req.base,
                                  &hdtest__v1__echo_response__descriptor, a, &resp, &err),
                   0);
  req.padding.len = 100u << 20;
  assert_int_equal(
      hd_client_call(f->client, "/hdtest.v1.RpcTest/Echo", tok, 30 * HD_US_PER_S, &req.base,
                     &hdtest__v1__echo_response__descriptor, a, &resp, &err),
      -1);
  assert_int_equal(err.code, HD_RESOURCE_EXHAUSTED);
  free(req.padding.data);
  free(tok);
  hd_arena_free(a);
}

static void test_unknown_and_unbuilt_methods_are_unimplemented(void **state) {
  fixture *f = *state;
  hd_arena *a = hd_arena_new(1 << 20);
  char *tok = token_for(f, HD_ROLE_AGENT, T0, 600);
  hd_err err;
  assert_int_equal(
      call_echo(f, "/hdtest.v1.RpcTest/NoSuchMethod", tok, "x", 0, 0, 0, a, NULL, &err),
      HD_UNIMPLEMENTED);
  assert_int_equal(call_echo(f, "/nope.Service/Echo", tok, "x", 0, 0, 0, a, NULL, &err),
                   HD_UNIMPLEMENTED);
  assert_int_equal(call_echo(f, "/hdtest.v1.RpcTest/NotBuilt", tok, "x", 0, 0, 0, a, NULL, &err),
                   HD_UNIMPLEMENTED);
  free(tok);
  hd_arena_free(a);
}

static void test_handler_failure_carries_code_and_message(void **state) {
  fixture *f = *state;
  hd_arena *a = hd_arena_new(1 << 20);
  char *tok = token_for(f, HD_ROLE_AGENT, T0, 600);
  hd_err err;
  assert_int_equal(call_echo(f, "/hdtest.v1.RpcTest/Echo", tok, "why", 0, HD_FAILED_PRECONDITION, 0,
                             a, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg, "asked to fail: why");
  free(tok);
  hd_arena_free(a);
}

static void test_deadline_is_honoured(void **state) {
  fixture *f = *state;
  hd_arena *a = hd_arena_new(1 << 20);
  char *tok = token_for(f, HD_ROLE_AGENT, T0, 600);
  hd_err err;
  /* Already past when it arrives (1 µs; gRPC core keeps deadlines in milliseconds, so the handler
   * is given 20 ms of work: a call it could finish within that millisecond would race the clock),
   * and running past it in the handler (50 ms of 300 ms work). */
  assert_int_equal(call_echo(f, "/hdtest.v1.RpcTest/Echo", tok, "x", 20, 0, 1, a, NULL, &err),
                   HD_DEADLINE_EXCEEDED);
  assert_int_equal(call_echo(f, "/hdtest.v1.RpcTest/Echo", tok, "x", 300, 0, 50000, a, NULL, &err),
                   HD_DEADLINE_EXCEEDED);
  free(tok);
  hd_arena_free(a);
}

static hd_code health(fixture *f, const char *service, int *status) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  req.service = (char *)service;
  hd_arena *a = hd_arena_new(1 << 16);
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  hd_code code = HD_OK;
  if (hd_client_call(f->client, "/grpc.health.v1.Health/Check", NULL, 0, &req.base,
                     &grpc__health__v1__health_check_response__descriptor, a, &resp, &err) != 0)
    code = err.code;
  else
    *status = ((Grpc__Health__V1__HealthCheckResponse *)resp)->status;
  hd_arena_free(a);
  return code;
}

static void wait_health(fixture *f, int want) {
  int st = -1;
  for (int i = 0; i < 200; i++) {
    if (health(f, "", &st) == HD_OK && st == want) return;
    usleep(10000);
  }
  fail_msg("health never became %d (last %d)", want, st);
}

static void test_health_follows_the_probe_and_knows_its_services(void **state) {
  fixture *f = *state;
  int st = 0;
  wait_health(f, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  assert_int_equal(health(f, "hdtest.v1.RpcTest", &st), HD_OK);
  assert_int_equal(st, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  assert_int_equal(health(f, "no.such.Service", &st), HD_NOT_FOUND);
  atomic_store(&f->healthy, false);
  wait_health(f, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
  atomic_store(&f->healthy, true);
  wait_health(f, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
}

typedef struct caller_arg {
  fixture *f;
  const char *token;
  int ok;
  int sleep_ms;
  int calls;
} caller_arg;

static void *caller(void *p) {
  caller_arg *c = p;
  hd_arena *a = hd_arena_new(1 << 20);
  for (int i = 0; i < c->calls; i++) {
    char want[32], *text = NULL;
    hd_err err;
    snprintf(want, sizeof want, "m%d", i);
    if (call_echo(c->f, "/hdtest.v1.RpcTest/Echo", c->token, want, c->sleep_ms, 0, 10 * HD_US_PER_S,
                  a, &text, &err) == HD_OK &&
        strncmp(text, want, strlen(want)) == 0)
      c->ok++;
  }
  hd_arena_free(a);
  return NULL;
}

static void test_eight_concurrent_callers_all_get_their_answers(void **state) {
  fixture *f = *state;
  char *tok = token_for(f, HD_ROLE_AGENT, T0, 600);
  pthread_t th[8];
  caller_arg args[8];
  for (int i = 0; i < 8; i++) {
    args[i] = (caller_arg){.f = f, .token = tok, .calls = 200};
    pthread_create(&th[i], NULL, caller, &args[i]);
  }
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(args[i].ok, 200);
  }
  free(tok);
}

static void test_shutdown_lets_in_flight_calls_finish(void **state) {
  fixture *f = *state;
  char *tok = token_for(f, HD_ROLE_AGENT, T0, 600);
  pthread_t th[3];
  caller_arg args[3];
  for (int i = 0; i < 3; i++) {
    args[i] = (caller_arg){.f = f, .token = tok, .calls = 1, .sleep_ms = 400};
    pthread_create(&th[i], NULL, caller, &args[i]);
  }
  usleep(150000); /* the three calls are inside their handlers now */
  hd_server_shutdown(f->server);
  for (int i = 0; i < 3; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(args[i].ok, 1);
  }
  hd_arena *a = hd_arena_new(1 << 16);
  hd_err err;
  assert_int_equal(
      call_echo(f, "/hdtest.v1.RpcTest/Echo", tok, "late", 0, 0, HD_US_PER_S, a, NULL, &err),
      HD_UNAVAILABLE);
  hd_arena_free(a);
  free(tok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_echo_with_valid_token_reaches_handler_with_principal,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_tampered_and_expired_tokens_are_unauthenticated,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_role_check_is_permission_denied, setup, teardown),
      cmocka_unit_test_setup_teardown(test_public_method_needs_no_token, setup, teardown),
      cmocka_unit_test_setup_teardown(test_garbage_and_truncated_bytes_are_invalid_argument, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_message_over_the_size_limit_is_resource_exhausted, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_unknown_and_unbuilt_methods_are_unimplemented, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_handler_failure_carries_code_and_message, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_deadline_is_honoured, setup, teardown),
      cmocka_unit_test_setup_teardown(test_health_follows_the_probe_and_knows_its_services, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_eight_concurrent_callers_all_get_their_answers, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_shutdown_lets_in_flight_calls_finish, setup, teardown),
  };
  return cmocka_run_group_tests_name("rpc", tests, NULL, NULL);
}
