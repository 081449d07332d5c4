/* Calls between services (hd_peer in common/rpc/client.h) against real services in-process: the
 * ticket service (real MariaDB and Redis) accepts the service's own token as role service, and
 * its ABORTED and NOT_FOUND come back as documented; against the test echo service's Flaky
 * handler: the token is minted once per tenant and renewed before it expires (manual clock), the
 * caller's deadline reaches the peer less a margin, the request id arrives, UNAVAILABLE is retried
 * and then succeeds, a non-idempotent call is never retried on DEADLINE_EXCEEDED while an
 * idempotent one is, every other status maps through the one table, a peer that is down gives
 * UNAVAILABLE within the deadline, and every attempt is counted in helpdesk_peer_requests_total. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "echo_service.h"
#include "rpc/client.h"
#include "test_env.h"
#include "ticket_fixture.h"

#define ASSIGN "/helpdesk.v1.TicketService/AssignTicket"

typedef struct world {
  tf tickets;              /* the ticket service */
  hd_fixture echo;         /* the echo service */
  hd_auth_identity *id;    /* "routing"'s identity, minting at the echo fixture's clock */
  hd_metrics *metrics;     /* where the peers below count their attempts */
  hd_peer *to_tickets;     /* routing → tickets */
  hd_peer *to_echo;        /* routing → echo, 3 attempts, short back-off */
  hd_auth_identity *id_tk; /* "routing"'s identity for the ticket service (its own clock) */
  hd_arena *arena;
} world;

static hd_peer *open_peer(world *w, const char *name, const char *target, hd_auth_identity *id,
                          const hd_clock *clock) {
  hd_peer_config cfg = {.name = name,
                        .target = target,
                        .identity = id,
                        .clock = clock,
                        .metrics = w->metrics,
                        .max_attempts = 3,
                        .backoff_base_us = 5000,
                        .backoff_max_us = 20000};
  hd_peer *p = NULL;
  hd_err err = {0};
  if (hd_peer_new(&cfg, &p, &err) != 0) fail_msg("hd_peer_new: %s", err.msg);
  return p;
}

static hd_auth_identity *identity_of(hd_svc *svc, int64_t ttl_s, int64_t renew_s) {
  hd_auth_identity_config ic = {.auth = &hd_svc_env_of(svc)->auth,
                                .service = "routing",
                                .ttl_s = ttl_s,
                                .renew_before_s = renew_s};
  hd_auth_identity *id = NULL;
  hd_err err = {0};
  if (hd_auth_identity_new(&ic, &id, &err) != 0) fail_msg("identity: %s", err.msg);
  return id;
}

static int world_setup(void **state) {
  world *w = calloc(1, sizeof *w);
  if (!w) return -1;
  *state = w;
  if (tf_start(&w->tickets) != 0) return -1;
  if (hd_fixture_start(&w->echo, &hd_test_echo_def) != 0) return -1;
  hd_err err = {0};
  if (hd_metrics_new(&w->metrics, &err) != 0) return -1;
  w->id = identity_of(w->echo.svc, 600, 60);
  w->id_tk = identity_of(w->tickets.f.svc, 0, 0);
  w->to_echo = open_peer(w, "echo", w->echo.target, w->id, &w->echo.clock);
  w->to_tickets = open_peer(w, "tickets", w->tickets.f.target, w->id_tk, &w->tickets.f.clock);
  w->arena = hd_arena_new(1 << 20);
  return w->arena ? 0 : -1;
}

static int world_teardown(void **state) {
  world *w = *state;
  if (!w) return 0;
  hd_peer_free(w->to_echo);
  hd_peer_free(w->to_tickets);
  hd_auth_identity_free(w->id);
  hd_auth_identity_free(w->id_tk);
  hd_metrics_free(w->metrics);
  hd_arena_free(w->arena);
  hd_fixture_stop(&w->echo);
  tf_stop(&w->tickets);
  free(w);
  return 0;
}

/* ---- calls ---- */

typedef struct flaky_ask {
  int fail_first, fail_code, sleep_first, sleep_ms;
} flaky_ask;

/* Flaky on the echo peer p with key; err gets the message; *out the reply on OK. */
static hd_code flaky(world *w, hd_peer *p, const char *key, flaky_ask ask,
                     const hd_peer_call_opts *o, Hdtest__V1__FlakyResponse **out, hd_err *err) {
  Hdtest__V1__FlakyRequest rq = HDTEST__V1__FLAKY_REQUEST__INIT;
  rq.key = (char *)key;
  rq.fail_first = ask.fail_first;
  rq.fail_code = ask.fail_code;
  rq.sleep_first = ask.sleep_first;
  rq.sleep_ms = ask.sleep_ms;
  ProtobufCMessage *resp = NULL;
  hd_err_clear(err);
  int rc = hd_peer_call(p, HD_TEST_FLAKY, o, &rq.base, &hdtest__v1__flaky_response__descriptor,
                        w->arena, &resp, err);
  if (out) *out = rc == 0 ? (Hdtest__V1__FlakyResponse *)resp : NULL;
  return rc == 0 ? HD_OK : err->code;
}

static int attempts(world *w, const char *key) {
  return hd_test_echo_attempts(hd_svc_env_of(w->echo.svc), key);
}

/* The helpdesk_peer_requests_total sample of peer, method and code (0 when absent). */
static double peer_requests(world *w, const char *peer, const char *method, const char *code) {
  char *text = NULL;
  size_t len = 0;
  hd_err err = {0};
  assert_int_equal(hd_metrics_render(w->metrics, &text, &len, &err), 0);
  char series[300];
  snprintf(series, sizeof series,
           "helpdesk_peer_requests_total{code=\"%s\",method=\"%s\",peer=\"%s\"} ", code, method,
           peer);
  const char *at = strstr(text, series);
  double v = at ? strtod(at + strlen(series), NULL) : 0;
  free(text);
  return v;
}

static void expect_msg(const hd_err *err, const char *part) {
  if (!strstr(err->msg, part)) fail_msg("message \"%s\" lacks \"%s\"", err->msg, part);
}

/* ---- identity ---- */

static void test_service_token_is_accepted_by_the_ticket_service_as_role_service(void **state) {
  world *w = *state;
  Helpdesk__V1__Ticket *t = tf_create(&w->tickets, w->tickets.customer, NULL, "printer on fire");
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = t->id;
  rq.owner_id = "agent-1";
  rq.expected_version = t->version;
  rq.fence = 7;
  hd_peer_call_opts o = {.tenant = "acme", .request_id = "claim-1"};
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  int rc = hd_peer_call(w->to_tickets, ASSIGN, &o, &rq.base, &helpdesk__v1__ticket__descriptor,
                        w->arena, &resp, &err);
  if (rc != 0) fail_msg("AssignTicket as routing: %s", err.msg);
  Helpdesk__V1__Ticket *got = (Helpdesk__V1__Ticket *)resp;
  assert_string_equal(got->owner_id, "agent-1");
  assert_int_equal(got->version, t->version + 1);
  assert_string_equal(tf_sqlf_str(&w->tickets,
                                  "SELECT CONCAT(actor_id, '/', actor_role) FROM ticket_history "
                                  "WHERE ticket_id = %lld ORDER BY id DESC LIMIT 1",
                                  (long long)t->id),
                      "routing/service");
}

static void test_aborted_from_the_peer_stays_aborted_naming_peer_and_method(void **state) {
  world *w = *state;
  Helpdesk__V1__Ticket *t = tf_create(&w->tickets, w->tickets.customer, NULL, "stale version");
  char *before = tf_fingerprint(&w->tickets);
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = t->id;
  rq.owner_id = "agent-1";
  rq.expected_version = t->version + 5; /* someone else's change won: try the next ticket */
  hd_peer_call_opts o = {.tenant = "acme"};
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  assert_int_equal(hd_peer_call(w->to_tickets, ASSIGN, &o, &rq.base,
                                &helpdesk__v1__ticket__descriptor, w->arena, &resp, &err),
                   -1);
  assert_int_equal(err.code, HD_ABORTED);
  expect_msg(&err, "tickets AssignTicket: ");
  tf_expect_unchanged(&w->tickets, before);

  rq.ticket_id = t->id + 100000; /* NOT_FOUND passes through, prefixed */
  rq.expected_version = 0;
  assert_int_equal(hd_peer_call(w->to_tickets, ASSIGN, &o, &rq.base,
                                &helpdesk__v1__ticket__descriptor, w->arena, &resp, &err),
                   -1);
  assert_int_equal(err.code, HD_NOT_FOUND);
  expect_msg(&err, "tickets AssignTicket: ");
  assert_int_equal(peer_requests(w, "tickets", ASSIGN, "ABORTED"), 1);
}

static void test_token_is_minted_once_per_tenant_and_renewed_before_it_expires(void **state) {
  world *w = *state;
  hd_peer_call_opts o = {.tenant = "acme"};
  Hdtest__V1__FlakyResponse *r = NULL;
  hd_err err = {0};
  unsigned long minted = hd_auth_identity_minted(w->id);
  for (int i = 0; i < 20; i++) {
    assert_int_equal(flaky(w, w->to_echo, "mint", (flaky_ask){0}, &o, &r, &err), HD_OK);
    assert_string_equal(r->tenant, "acme");
    assert_string_equal(r->user_id, "routing");
    assert_true(r->service_role);
  }
  assert_int_equal(hd_auth_identity_minted(w->id), minted + 1);
  /* ttl 600 s, renewed within 60 s of its end: at 539 s it is kept, at 541 s renewed */
  hd_clock_advance(&w->echo.clock, 539 * HD_US_PER_S);
  assert_int_equal(flaky(w, w->to_echo, "mint", (flaky_ask){0}, &o, &r, &err), HD_OK);
  assert_int_equal(hd_auth_identity_minted(w->id), minted + 1);
  hd_clock_advance(&w->echo.clock, 2 * HD_US_PER_S);
  assert_int_equal(flaky(w, w->to_echo, "mint", (flaky_ask){0}, &o, &r, &err), HD_OK);
  assert_int_equal(hd_auth_identity_minted(w->id), minted + 2);
  /* the renewed token outlives the first one: past the first's expiry the calls still pass */
  hd_clock_advance(&w->echo.clock, 100 * HD_US_PER_S);
  assert_int_equal(flaky(w, w->to_echo, "mint", (flaky_ask){0}, &o, &r, &err), HD_OK);
  assert_int_equal(hd_auth_identity_minted(w->id), minted + 2);
  /* another tenant has a token of its own */
  o.tenant = "globex";
  assert_int_equal(flaky(w, w->to_echo, "mint", (flaky_ask){0}, &o, &r, &err), HD_OK);
  assert_string_equal(r->tenant, "globex");
  assert_int_equal(hd_auth_identity_minted(w->id), minted + 3);
}

static void test_bad_tenant_fails_before_calling(void **state) {
  world *w = *state;
  hd_peer_call_opts o = {.tenant = ""};
  hd_err err = {0};
  assert_int_equal(flaky(w, w->to_echo, "no-tenant", (flaky_ask){0}, &o, NULL, &err), HD_INTERNAL);
  expect_msg(&err, "cannot make this service's token");
  assert_int_equal(attempts(w, "no-tenant"), 0);
}

static void test_peer_with_another_key_is_internal_not_the_callers_fault(void **state) {
  world *w = *state;
  hd_auth_config other = hd_svc_env_of(w->echo.svc)->auth;
  other.secret = "some-other-secret";
  other.secret_len = strlen(other.secret);
  hd_auth_identity_config ic = {.auth = &other, .service = "routing"};
  hd_auth_identity *id = NULL;
  hd_err err = {0};
  assert_int_equal(hd_auth_identity_new(&ic, &id, &err), 0);
  hd_peer *p = open_peer(w, "echo", w->echo.target, id, &w->echo.clock);
  hd_peer_call_opts o = {.tenant = "acme"};
  assert_int_equal(flaky(w, p, "other-key", (flaky_ask){0}, &o, NULL, &err), HD_INTERNAL);
  expect_msg(&err, "echo Flaky refused this service's token (UNAUTHENTICATED)");
  hd_peer_free(p);
  hd_auth_identity_free(id);
}

/* ---- deadline and request id ---- */

static void test_deadline_reaches_the_peer_less_than_the_callers(void **state) {
  world *w = *state;
  Hdtest__V1__FlakyResponse *r = NULL;
  hd_err err = {0};
  int64_t now = hd_monotonic_us();
  hd_peer_call_opts o = {.tenant = "acme", .deadline_us = now + 2 * HD_US_PER_S};
  assert_int_equal(flaky(w, w->to_echo, "deadline", (flaky_ask){0}, &o, &r, &err), HD_OK);
  assert_true(r->deadline_left_us > 0);
  assert_true(r->deadline_left_us <= 2 * HD_US_PER_S - HD_PEER_MARGIN_MAX_US);
  /* with no caller's deadline the peer's cap applies */
  o.deadline_us = 0;
  assert_int_equal(flaky(w, w->to_echo, "deadline", (flaky_ask){0}, &o, &r, &err), HD_OK);
  assert_true(r->deadline_left_us > 0);
  if (r->deadline_left_us > HD_PEER_TIMEOUT_DEFAULT)
    fail_msg("the peer saw %lld us left, more than the cap", (long long)r->deadline_left_us);
  /* a caller's deadline past the cap is cut to it */
  o.deadline_us = hd_monotonic_us() + 60 * HD_US_PER_S;
  assert_int_equal(flaky(w, w->to_echo, "deadline", (flaky_ask){0}, &o, &r, &err), HD_OK);
  assert_true(r->deadline_left_us <= HD_PEER_TIMEOUT_DEFAULT);
}

static void test_no_time_left_fails_before_calling(void **state) {
  world *w = *state;
  hd_err err = {0};
  hd_peer_call_opts o = {.tenant = "acme", .deadline_us = hd_monotonic_us() + 1000};
  assert_int_equal(flaky(w, w->to_echo, "late", (flaky_ask){0}, &o, NULL, &err),
                   HD_DEADLINE_EXCEEDED);
  expect_msg(&err, "no time left to call echo Flaky");
  assert_int_equal(attempts(w, "late"), 0);
}

static void test_request_id_is_forwarded(void **state) {
  world *w = *state;
  Hdtest__V1__FlakyResponse *r = NULL;
  hd_err err = {0};
  hd_peer_call_opts o = {.tenant = "acme", .request_id = "req-7f3a"};
  assert_int_equal(flaky(w, w->to_echo, "rid", (flaky_ask){0}, &o, &r, &err), HD_OK);
  assert_string_equal(r->request_id, "req-7f3a");
  /* one the peer could not keep as it is (a space) is not forwarded: the peer makes one up */
  o.request_id = "req 7f3a";
  assert_int_equal(flaky(w, w->to_echo, "rid", (flaky_ask){0}, &o, &r, &err), HD_OK);
  assert_string_not_equal(r->request_id, "req 7f3a");
  assert_true(r->request_id[0] != '\0');
}

/* ---- retries ---- */

static void test_unavailable_is_retried_and_then_succeeds(void **state) {
  world *w = *state;
  Hdtest__V1__FlakyResponse *r = NULL;
  hd_err err = {0};
  hd_peer_call_opts o = {.tenant = "acme", .deadline_us = hd_monotonic_us() + 5 * HD_US_PER_S};
  flaky_ask ask = {.fail_first = 2, .fail_code = HD_UNAVAILABLE};
  assert_int_equal(flaky(w, w->to_echo, "unavail-2", ask, &o, &r, &err), HD_OK);
  assert_int_equal(r->attempt, 3);
  assert_int_equal(attempts(w, "unavail-2"), 3);
  assert_int_equal(peer_requests(w, "echo", HD_TEST_FLAKY, "UNAVAILABLE"), 2);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(hd_metrics_render(w->metrics, &text, &len, &err), 0);
  assert_non_null(strstr(text, "# TYPE helpdesk_peer_requests_total counter\n"));
  free(text);
}

static void test_unavailable_after_every_attempt_stays_unavailable(void **state) {
  world *w = *state;
  hd_err err = {0};
  hd_peer_call_opts o = {.tenant = "acme", .deadline_us = hd_monotonic_us() + 5 * HD_US_PER_S};
  flaky_ask ask = {.fail_first = 100, .fail_code = HD_UNAVAILABLE};
  assert_int_equal(flaky(w, w->to_echo, "unavail-all", ask, &o, NULL, &err), HD_UNAVAILABLE);
  expect_msg(&err, "echo Flaky is unavailable (UNAVAILABLE after 3 attempts): attempt 3");
  assert_int_equal(attempts(w, "unavail-all"), 3);
}

static void test_non_idempotent_call_is_not_retried_on_deadline_exceeded(void **state) {
  world *w = *state;
  hd_err err = {0};
  /* attempt_timeout_us is ignored for a call not marked idempotent: it may have been applied */
  hd_peer_call_opts o = {.tenant = "acme",
                         .deadline_us = hd_monotonic_us() + 300 * HD_US_PER_MS,
                         .attempt_timeout_us = 50 * HD_US_PER_MS};
  flaky_ask ask = {.sleep_first = 5, .sleep_ms = 1000};
  assert_int_equal(flaky(w, w->to_echo, "slow-once", ask, &o, NULL, &err), HD_DEADLINE_EXCEEDED);
  expect_msg(&err, "echo Flaky did not answer in time (DEADLINE_EXCEEDED within");
  assert_int_equal(attempts(w, "slow-once"), 1);
}

static void test_idempotent_call_is_retried_when_an_attempt_times_out(void **state) {
  world *w = *state;
  Hdtest__V1__FlakyResponse *r = NULL;
  hd_err err = {0};
  hd_peer_call_opts o = {.tenant = "acme",
                         .deadline_us = hd_monotonic_us() + 5 * HD_US_PER_S,
                         .idempotent = true,
                         .attempt_timeout_us = 300 * HD_US_PER_MS};
  flaky_ask ask = {.sleep_first = 1, .sleep_ms = 2000};
  assert_int_equal(flaky(w, w->to_echo, "slow-idem", ask, &o, &r, &err), HD_OK);
  assert_int_equal(r->attempt, 2);
}

static void test_other_statuses_are_not_retried_and_map_by_the_table(void **state) {
  world *w = *state;
  static const struct {
    hd_code remote, local;
    const char *msg;
  } cases[] = {
      {HD_INVALID_ARGUMENT, HD_INVALID_ARGUMENT, "echo Flaky: attempt 1"},
      {HD_NOT_FOUND, HD_NOT_FOUND, "echo Flaky: attempt 1"},
      {HD_ALREADY_EXISTS, HD_ALREADY_EXISTS, "echo Flaky: attempt 1"},
      {HD_FAILED_PRECONDITION, HD_FAILED_PRECONDITION, "echo Flaky: attempt 1"},
      {HD_ABORTED, HD_ABORTED, "echo Flaky: attempt 1"},
      {HD_OUT_OF_RANGE, HD_OUT_OF_RANGE, "echo Flaky: attempt 1"},
      {HD_RESOURCE_EXHAUSTED, HD_RESOURCE_EXHAUSTED, "echo Flaky: attempt 1"},
      {HD_PERMISSION_DENIED, HD_FAILED_PRECONDITION,
       "echo Flaky refused this service's call (PERMISSION_DENIED): attempt 1"},
      {HD_UNAUTHENTICATED, HD_INTERNAL, "echo Flaky refused this service's token"},
      {HD_INTERNAL, HD_INTERNAL, "echo Flaky failed (INTERNAL): attempt 1"},
      {HD_UNKNOWN, HD_INTERNAL, "echo Flaky failed (UNKNOWN): attempt 1"},
      {HD_DATA_LOSS, HD_INTERNAL, "echo Flaky failed (DATA_LOSS): attempt 1"},
      {HD_DEADLINE_EXCEEDED, HD_DEADLINE_EXCEEDED, "echo Flaky did not answer in time"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char key[32];
    snprintf(key, sizeof key, "code-%d", (int)cases[i].remote);
    hd_err err = {0};
    /* idempotent: even so, none of these is retried (DEADLINE_EXCEEDED of an attempt given the
     * whole time is not: no time is left) */
    hd_peer_call_opts o = {.tenant = "acme", .idempotent = true};
    flaky_ask ask = {.fail_first = 1, .fail_code = (int)cases[i].remote};
    hd_code got = flaky(w, w->to_echo, key, ask, &o, NULL, &err);
    if (got != cases[i].local)
      fail_msg("remote %s became %s, not %s (%s)", hd_code_name(cases[i].remote), hd_code_name(got),
               hd_code_name(cases[i].local), err.msg);
    expect_msg(&err, cases[i].msg);
    assert_int_equal(attempts(w, key), 1);
  }
  /* a method the peer does not serve: a peer of another version */
  Hdtest__V1__EchoRequest rq = HDTEST__V1__ECHO_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  hd_peer_call_opts o = {.tenant = "acme"};
  assert_int_equal(hd_peer_call(w->to_echo, HD_TEST_NOT_BUILT, &o, &rq.base,
                                &hdtest__v1__echo_response__descriptor, w->arena, &resp, &err),
                   -1);
  assert_int_equal(err.code, HD_INTERNAL);
  expect_msg(&err, "echo NotBuilt does not serve this method");
}

static void test_peer_that_is_down_gives_unavailable_within_the_deadline(void **state) {
  world *w = *state;
  char target[32];
  snprintf(target, sizeof target, "127.0.0.1:%d", hd_test_free_port());
  hd_peer *p = open_peer(w, "down", target, w->id, &w->echo.clock);
  hd_err err = {0};
  int64_t start = hd_monotonic_us();
  hd_peer_call_opts o = {.tenant = "acme", .deadline_us = start + 3 * HD_US_PER_S};
  assert_int_equal(flaky(w, p, "down", (flaky_ask){0}, &o, NULL, &err), HD_UNAVAILABLE);
  assert_true(hd_monotonic_us() - start < 3 * HD_US_PER_S);
  expect_msg(&err, "down Flaky is unavailable (UNAVAILABLE after 3 attempts)");
  assert_int_equal(peer_requests(w, "down", HD_TEST_FLAKY, "UNAVAILABLE"), 3);
  hd_peer_free(p);
}

/* ---- configuration ---- */

static void test_peer_target_comes_from_the_environment(void **state) {
  world *w = *state;
  setenv("HELPDESK_ECHO_TARGET", w->echo.target, 1);
  hd_peer *p = NULL;
  hd_err err = {0};
  assert_int_equal(hd_peer_open("echo", 1, w->id, &w->echo.clock, w->metrics, &p, &err), 0);
  assert_string_equal(hd_peer_target(p), w->echo.target);
  hd_peer_call_opts o = {.tenant = "acme"};
  assert_int_equal(flaky(w, p, "env", (flaky_ask){0}, &o, NULL, &err), HD_OK);
  hd_peer_free(p);
  unsetenv("HELPDESK_ECHO_TARGET");

  assert_int_equal(hd_peer_open("echo", 50099, w->id, NULL, NULL, &p, &err), 0);
  assert_string_equal(hd_peer_target(p), "127.0.0.1:50099");
  hd_peer_free(p);

  setenv("HELPDESK_PEER_ATTEMPTS", "11", 1);
  assert_int_equal(hd_peer_open("echo", 1, w->id, NULL, NULL, &p, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  expect_msg(&err, "HELPDESK_PEER_ATTEMPTS");
  unsetenv("HELPDESK_PEER_ATTEMPTS");
  assert_int_equal(hd_peer_open("Echo!", 1, w->id, NULL, NULL, &p, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
}

static void test_role_lists_parse_and_name_an_unknown_role(void **state) {
  (void)state;
  unsigned roles = 0;
  hd_err err = {0};
  assert_int_equal(hd_auth_roles_parse("agent,team_lead", &roles, &err), 0);
  assert_int_equal(roles, HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD);
  assert_int_equal(hd_auth_roles_parse("agent,boss", &roles, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  expect_msg(&err, "unknown role \"boss\"");
  assert_int_equal(hd_auth_roles_parse("", &roles, &err), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_service_token_is_accepted_by_the_ticket_service_as_role_service),
      cmocka_unit_test(test_aborted_from_the_peer_stays_aborted_naming_peer_and_method),
      cmocka_unit_test(test_token_is_minted_once_per_tenant_and_renewed_before_it_expires),
      cmocka_unit_test(test_bad_tenant_fails_before_calling),
      cmocka_unit_test(test_peer_with_another_key_is_internal_not_the_callers_fault),
      cmocka_unit_test(test_deadline_reaches_the_peer_less_than_the_callers),
      cmocka_unit_test(test_no_time_left_fails_before_calling),
      cmocka_unit_test(test_request_id_is_forwarded),
      cmocka_unit_test(test_unavailable_is_retried_and_then_succeeds),
      cmocka_unit_test(test_unavailable_after_every_attempt_stays_unavailable),
      cmocka_unit_test(test_non_idempotent_call_is_not_retried_on_deadline_exceeded),
      cmocka_unit_test(test_idempotent_call_is_retried_when_an_attempt_times_out),
      cmocka_unit_test(test_other_statuses_are_not_retried_and_map_by_the_table),
      cmocka_unit_test(test_peer_that_is_down_gives_unavailable_within_the_deadline),
      cmocka_unit_test(test_peer_target_comes_from_the_environment),
      cmocka_unit_test(test_role_lists_parse_and_name_an_unknown_role),
  };
  return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
