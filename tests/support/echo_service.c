/* The echo service for runtime tests (see echo_service.h). */
#include "echo_service.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock/clock.h"

/* The echo service's own state (env->app): Flaky's attempts by key. */
typedef struct echo_app {
  pthread_mutex_t mu;
  struct {
    char key[64];
    int attempts;
  } keys[HD_TEST_FLAKY_KEYS];
  size_t n;
} echo_app;

static int echo__echo(hd_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm) {
  const Hdtest__V1__EchoRequest *req = (const void *)reqm;
  Hdtest__V1__EchoResponse *resp = (void *)respm;
  if (req->sleep_ms > 0) usleep((useconds_t)req->sleep_ms * 1000);
  if (req->fail_code)
    return hd_err_set(&call->err, (hd_code)req->fail_code, "asked to fail: %s", req->text);
  resp->text = call->principal ? hd_arena_printf(call->arena, "%s|%s|%s", req->text,
                                                 call->principal->tenant, call->principal->user_id)
                               : hd_arena_printf(call->arena, "%s|public", req->text);
  resp->request_id = hd_arena_strdup(call->arena, call->request_id);
  return 0;
}

/* Counts one more attempt of key; returns its number (from 1), or 0 when no key is left. */
static int echo__count(echo_app *app, const char *key) {
  int n = 0;
  pthread_mutex_lock(&app->mu);
  size_t i = 0;
  while (i < app->n && strcmp(app->keys[i].key, key) != 0) i++;
  if (i == app->n && app->n < HD_TEST_FLAKY_KEYS) {
    snprintf(app->keys[i].key, sizeof app->keys[i].key, "%s", key);
    app->keys[i].attempts = 0;
    app->n++;
  }
  if (i < app->n) n = ++app->keys[i].attempts;
  pthread_mutex_unlock(&app->mu);
  return n;
}

int hd_test_echo_attempts(hd_svc_env *env, const char *key) {
  echo_app *app = env->app;
  int n = 0;
  pthread_mutex_lock(&app->mu);
  for (size_t i = 0; i < app->n; i++)
    if (strcmp(app->keys[i].key, key) == 0) n = app->keys[i].attempts;
  pthread_mutex_unlock(&app->mu);
  return n;
}

static int echo__flaky(hd_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm) {
  const Hdtest__V1__FlakyRequest *req = (const void *)reqm;
  Hdtest__V1__FlakyResponse *resp = (void *)respm;
  if (strlen(req->key) >= 64)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT, "key is limited to 63 bytes");
  int attempt = echo__count(hd_call_env(call)->app, req->key);
  if (attempt == 0)
    return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "already %d keys", HD_TEST_FLAKY_KEYS);
  resp->deadline_left_us =
      call->deadline_us == INT64_MAX ? -1 : call->deadline_us - hd_monotonic_us();
  if (attempt <= req->sleep_first && req->sleep_ms > 0) usleep((useconds_t)req->sleep_ms * 1000);
  if (attempt <= req->fail_first)
    return hd_err_set(&call->err, req->fail_code ? (hd_code)req->fail_code : HD_UNAVAILABLE,
                      "attempt %d of key %s fails as asked", attempt, req->key);
  resp->attempt = attempt;
  resp->request_id = hd_arena_strdup(call->arena, call->request_id);
  resp->tenant = hd_arena_strdup(call->arena, call->principal->tenant);
  resp->user_id = hd_arena_strdup(call->arena, call->principal->user_id);
  resp->service_role = hd_principal_has(call->principal, HD_ROLE_SERVICE);
  return 0;
}

static int echo__setup(hd_svc_env *env, hd_err *err) {
  echo_app *app = calloc(1, sizeof *app);
  if (!app) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  pthread_mutex_init(&app->mu, NULL);
  env->app = app;
  return 0;
}

static void echo__teardown(hd_svc_env *env) {
  echo_app *app = env->app;
  if (!app) return;
  pthread_mutex_destroy(&app->mu);
  free(app);
  env->app = NULL;
}

/* SupervisorOnly's role is in the method table: the dispatcher refuses anyone else before the
 * request is unpacked, so the handler is the plain echo. */
static const hd_method_impl echo_methods[] = {
    {"Echo", echo__echo, 0, 0, NULL},
    {"SupervisorOnly", echo__echo, 0, HD_ROLE_SUPERVISOR, "the echo service's supervisor check"},
    {"PublicEcho", echo__echo, HD_METHOD_PUBLIC, 0, NULL},
    {"Flaky", echo__flaky, 0, 0, NULL},
};

const hd_service_def hd_test_echo_def = {
    .name = "echo",
    .default_port = 0,
    .descriptor = &hdtest__v1__rpc_test__descriptor,
    .methods = echo_methods,
    .n_methods = sizeof echo_methods / sizeof echo_methods[0],
    .setup = echo__setup,
    .teardown = echo__teardown,
};
