/* What a service writes to its log (stderr, captured here): one logfmt line per call with method,
 * status, duration, tenant and request id; one line per notable event (listening, health
 * changes, a dependency going down, stopping), not one per probe; and never a token, a part of
 * one, the token secret or the database password. */
#include <fcntl.h>
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
#include "svc_fixture.h"
#include "test_env.h"

#define SECRET_PASSWORD "db-password-that-must-not-be-logged"

typedef struct capture {
  char path[64];
  int saved;
} capture;

/* Sends stderr (fd 2) to a fresh file until capture_end. */
static void capture_begin(capture *c) {
  snprintf(c->path, sizeof c->path, "/tmp/hd-logs-XXXXXX");
  int fd = mkstemp(c->path);
  assert_true(fd >= 0);
  c->saved = dup(STDERR_FILENO);
  assert_true(c->saved >= 0);
  assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
  close(fd);
}

/* Restores stderr; returns what was written (caller frees). */
static char *capture_end(capture *c) {
  dup2(c->saved, STDERR_FILENO);
  close(c->saved);
  FILE *f = fopen(c->path, "r");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *text = malloc((size_t)n + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
  text[n] = '\0';
  fclose(f);
  unlink(c->path);
  return text;
}

static size_t count_of(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

/* The line that contains needle, copied into line. */
static void line_with(const char *text, const char *needle, char *line, size_t size) {
  const char *p = strstr(text, needle);
  assert_non_null(p);
  while (p > text && p[-1] != '\n') p--;
  size_t n = strcspn(p, "\n");
  assert_true(n < size);
  memcpy(line, p, n);
  line[n] = '\0';
}

static hd_code echo(hd_fixture *f, const char *token, int fail_code) {
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  req.text = "hello";
  req.fail_code = fail_code;
  hd_arena *a = hd_arena_new(1 << 16);
  hd_err err;
  hd_code code = hd_fixture_call(f, HD_TEST_ECHO, token, &req.base,
                                 &hdtest__v1__echo_response__descriptor, a, NULL, &err);
  hd_arena_free(a);
  return code;
}

static void test_each_call_is_one_line_with_its_fields_and_no_token_or_secret(void **state) {
  (void)state;
  capture cap;
  capture_begin(&cap);
  hd_fixture f;
  int started = hd_fixture_start(&f, &hd_test_echo_def);
  char *agent = started == 0 ? hd_fixture_token(&f, "acme", "agent-7", HD_ROLE_AGENT) : NULL;
  char *tampered = agent ? strdup(agent) : NULL;
  hd_code ok = HD_UNKNOWN, bad = HD_UNKNOWN, none = HD_UNKNOWN, failed = HD_UNKNOWN;
  if (agent && tampered) {
    tampered[strlen(tampered) - 2] ^= 1; /* a signature that does not match */
    ok = echo(&f, agent, 0);
    bad = echo(&f, tampered, 0);
    none = echo(&f, NULL, 0);
    failed = echo(&f, agent, HD_NOT_FOUND);
  }
  const char *secret = started == 0 ? hd_svc_env_of(f.svc)->config.auth_secret : NULL;
  char secret_copy[256] = "";
  if (secret) snprintf(secret_copy, sizeof secret_copy, "%s", secret);
  if (started == 0) hd_fixture_stop(&f);
  char *log = capture_end(&cap);
  assert_int_equal(started, 0);
  assert_int_equal(ok, HD_OK);
  assert_int_equal(bad, HD_UNAUTHENTICATED);
  assert_int_equal(none, HD_UNAUTHENTICATED);
  assert_int_equal(failed, HD_NOT_FOUND);

  /* one line per call, with method, status, duration, tenant and request id */
  assert_int_equal(count_of(log, "event=rpc method=" HD_TEST_ECHO " "), 4);
  char line[1024];
  line_with(log, "event=rpc method=" HD_TEST_ECHO " status=OK ", line, sizeof line);
  assert_non_null(strstr(line, " level=info "));
  assert_non_null(strstr(line, " ms="));
  assert_non_null(strstr(line, " tenant=acme "));
  assert_non_null(strstr(line, " request_id="));
  line_with(log, "status=NOT_FOUND", line, sizeof line);
  assert_non_null(strstr(line, " tenant=acme "));
  assert_non_null(strstr(line, "error=\"asked to fail: hello\""));
  assert_int_equal(count_of(log, "event=rpc method=" HD_TEST_ECHO " status=UNAUTHENTICATED "), 2);
  /* notable events once each */
  assert_int_equal(count_of(log, "event=rpc.listening "), 1);
  assert_int_equal(count_of(log, "event=metrics.listening "), 1);
  assert_int_equal(count_of(log, "event=health status=SERVING"), 1);
  assert_int_equal(count_of(log, "event=rpc.stopped "), 1);

  /* never a token, a part of one, or the secret */
  const char *dot1 = strchr(agent, '.'), *dot2 = strrchr(agent, '.');
  assert_null(strstr(log, agent));
  assert_null(strstr(log, tampered));
  assert_null(strstr(log, dot2 + 1)); /* the signature */
  char payload[512];
  snprintf(payload, sizeof payload, "%.*s", (int)(dot2 - dot1 - 1), dot1 + 1);
  assert_null(strstr(log, payload));
  assert_true(strlen(secret_copy) > 0);
  assert_null(strstr(log, secret_copy));
  /* error messages may say how to send "Bearer <token>"; no JWT (base64url of '{"') ever */
  assert_null(strstr(log, "eyJ"));

  free(log);
  free(agent);
  free(tampered);
}

static void test_an_outage_is_one_line_not_one_per_probe_and_the_password_stays_out(void **state) {
  (void)state;
  hd_test_outage o;
  assert_int_equal(hd_test_outage_begin(&o), 0);
  setenv("HELPDESK_DB_PASSWORD", SECRET_PASSWORD, 1);

  capture cap;
  capture_begin(&cap);
  hd_clock clock;
  hd_clock_init_manual(&clock, 1767571200LL * HD_US_PER_S);
  hd_svc_options opts = {.listen_addr = "127.0.0.1:0", .clock = &clock, .db_name = "hd_logs_down"};
  hd_svc *svc = NULL;
  hd_err err = {0};
  int rc = hd_svc_start(&hd_test_echo_def, &opts, &svc, &err);
  if (rc == 0) {
    usleep(2600000); /* three probes, one second apart */
    hd_svc_stop(svc);
  }
  char *log = capture_end(&cap);
  hd_test_outage_end(&o);
  assert_int_equal(rc, 0);
  assert_int_equal(count_of(log, "event=health.db_down "), 1);
  assert_int_equal(count_of(log, "event=health.redis_down "), 1);
  assert_int_equal(count_of(log, "event=health status=NOT_SERVING"), 1);
  assert_null(strstr(log, SECRET_PASSWORD));
  free(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_call_is_one_line_with_its_fields_and_no_token_or_secret),
      cmocka_unit_test(test_an_outage_is_one_line_not_one_per_probe_and_the_password_stays_out),
  };
  return cmocka_run_group_tests_name("logs", tests, NULL, NULL);
}
