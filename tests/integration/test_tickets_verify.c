/* VerifyTicketAccount and the reply gate, against the real accounts service and the real ticket
 * service in-process (account_fixture, ticket_fixture) on MariaDB: the owner verifies the
 * customer's account and the service before working the ticket; until the latest verification
 * succeeded, their replies other than ACKNOWLEDGE are refused; a "no" (a deleted account, a
 * service the account does not hold) is recorded and answered OK with verified false; the
 * accounts service down is UNAVAILABLE and records nothing; every verification writes its row,
 * a history entry, version + 1 and an event.
 *
 * In acme, the accounts fixture holds cust-1 (active, holding the domain shop.example and a VPS
 * vps1.shop.example) and the tickets are cust-1's unless said otherwise. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "account_fixture.h"
#include "account_verification.h"
#include "ticket_fixture.h"

#define REASON(name) HELPDESK__V1__ACCOUNT_VERIFICATION_REASON__ACCOUNT_VERIFICATION_REASON_##name
#define INTENT(name) HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_##name

typedef struct vx {
  void *accounts; /* an af (af_setup's state); NULL once a test stopped it */
  tf t;
  int64_t domain_service_id; /* cust-1's shop.example */
} vx;

static af *vx_af(vx *x) { return x->accounts; }

/* An account of acme in the accounts service, holding kind (DOMAIN domain, or a VPS hostname). */
static int64_t add_service(af *a, const char *uid, Helpdesk__V1__HeldServiceKind kind,
                           const char *domain, const char *hostname) {
  Helpdesk__V1__AddServiceRequest r = HELPDESK__V1__ADD_SERVICE_REQUEST__INIT;
  r.uid = (char *)uid;
  r.kind = kind;
  r.domain = (char *)domain;
  r.hostname = (char *)hostname;
  Helpdesk__V1__HeldService *s = (Helpdesk__V1__HeldService *)af_must(
      a, "AddService", a->service, &r.base, &helpdesk__v1__held_service__descriptor);
  return s->id;
}

static int setup(void **state) {
  vx *x = calloc(1, sizeof *x);
  if (!x) return -1;
  *state = x;
  if (af_setup(&x->accounts) != 0) return -1;
  setenv("HELPDESK_ACCOUNTS_TARGET", vx_af(x)->f.target, 1);
  if (tf_start(&x->t) != 0) return -1;
  af_account(vx_af(x), "cust-1", "SG", true, NULL);
  x->domain_service_id =
      add_service(vx_af(x), "cust-1", HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_DOMAIN,
                  "shop.example", "");
  add_service(vx_af(x), "cust-1", HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_VPS, "",
              "vps1.shop.example");
  return 0;
}

static int teardown(void **state) {
  vx *x = *state;
  if (!x) return 0;
  if (x->t.f.svc) tf_stop(&x->t);
  if (x->accounts) af_teardown(&x->accounts);
  free(x);
  return 0;
}

/* ---- calls ---- */

/* VerifyTicketAccount as tok; exactly one of service_id, domain, hostname as given. */
static hd_code verify(tf *t, const char *tok, int64_t id, int64_t version, int64_t service_id,
                      const char *domain, const char *hostname,
                      Helpdesk__V1__VerifyTicketAccountResponse **out) {
  Helpdesk__V1__VerifyTicketAccountRequest r = HELPDESK__V1__VERIFY_TICKET_ACCOUNT_REQUEST__INIT;
  r.ticket_id = id;
  r.expected_version = version;
  r.service_id = service_id;
  r.domain = (char *)(domain ? domain : "");
  r.hostname = (char *)(hostname ? hostname : "");
  return tf_call(t, "VerifyTicketAccount", tok, &r.base,
                 &helpdesk__v1__verify_ticket_account_response__descriptor, out, NULL);
}

static Helpdesk__V1__VerifyTicketAccountResponse *verify_ok(tf *t, const char *tok, int64_t id,
                                                            const char *domain) {
  Helpdesk__V1__VerifyTicketAccountResponse *out = NULL;
  TF_OK(t, verify(t, tok, id, 0, 0, domain, NULL, &out));
  return out;
}

static hd_code reply(tf *t, const char *tok, int64_t id, Helpdesk__V1__ReplyIntent intent) {
  Helpdesk__V1__ReplyToTicketRequest r = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
  r.ticket_id = id;
  r.intent = intent;
  r.body = "Thanks for the details.";
  return tf_call(t, "ReplyToTicket", tok, &r.base,
                 &helpdesk__v1__reply_to_ticket_response__descriptor, NULL, NULL);
}

static Helpdesk__V1__GetAccountVerificationResponse *get_verification(tf *t, const char *tok,
                                                                      int64_t id) {
  Helpdesk__V1__GetAccountVerificationRequest r =
      HELPDESK__V1__GET_ACCOUNT_VERIFICATION_REQUEST__INIT;
  r.ticket_id = id;
  return (Helpdesk__V1__GetAccountVerificationResponse *)tf_must(
      t, "GetAccountVerification", tok, &r.base,
      &helpdesk__v1__get_account_verification_response__descriptor);
}

/* A ticket of customer_tok's customer, owned by agent-1. */
static int64_t owned_ticket(tf *t, const char *customer_tok) {
  const int64_t id = tf_create(t, customer_tok, NULL, "My shop is down")->id;
  tf_assign(t, id, "agent-1");
  return id;
}

/* ---- tests ---- */

static void test_owner_replies_other_than_acknowledge_wait_for_a_verification(void **state) {
  vx *x = *state;
  tf *t = &x->t;
  const int64_t id = owned_ticket(t, t->customer);
  Helpdesk__V1__GetAccountVerificationResponse *g = get_verification(t, t->agent, id);
  assert_true(g->required);
  assert_false(g->replies_allowed);
  assert_null(g->latest);

  /* ACKNOWLEDGE goes out before; every other intent of the owner waits, writing nothing. */
  TF_OK(t, reply(t, t->agent, id, INTENT(ACKNOWLEDGE)));
  const Helpdesk__V1__ReplyIntent waiting[] = {INTENT(REQUEST_INFO), INTENT(PROPOSE_SOLUTION),
                                               INTENT(FINAL_ANSWER)};
  for (size_t i = 0; i < sizeof waiting / sizeof waiting[0]; i++) {
    TF_REFUSED(t, HD_FAILED_PRECONDITION, reply(t, t->agent, id, waiting[i]));
    tf_expect_err_has(t, ACCOUNT_VERIFICATION_REQUIRED_TEXT);
    tf_expect_err_has(t, "never verified");
  }

  Helpdesk__V1__VerifyTicketAccountResponse *v = verify_ok(t, t->agent, id, "shop.example");
  assert_true(v->verification->verified);
  assert_int_equal(v->verification->reason, REASON(HELD));
  assert_int_equal(v->verification->matched_service_id, x->domain_service_id);
  assert_string_equal(v->verification->customer_id, "cust-1");
  assert_string_equal(v->verification->verified_by, "agent-1");
  g = get_verification(t, t->agent, id);
  assert_true(g->replies_allowed);
  assert_non_null(g->latest);
  assert_int_equal(g->latest->id, v->verification->id);

  TF_OK(t, reply(t, t->agent, id, INTENT(REQUEST_INFO)));
  assert_int_equal(tf_get(t, t->agent, id)->status, TF_STATUS(PENDING_FEEDBACK));
}

static void test_a_verification_writes_its_row_a_history_entry_the_version_and_an_event(
    void **state) {
  vx *x = *state;
  tf *t = &x->t;
  const int64_t id = owned_ticket(t, t->customer);
  const int64_t before = tf_version(t, id);
  Helpdesk__V1__VerifyTicketAccountResponse *out = NULL;
  TF_OK(t, verify(t, t->agent, id, before, 0, NULL, "VPS1.shop.example", &out));
  assert_true(out->verification->verified);
  assert_int_equal(out->ticket->version, before + 1);
  assert_int_equal(tf_version(t, id), before + 1);
  const int64_t vid = out->verification->id;
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM account_verifications WHERE id = %" PRId64
                           " AND ticket_id = %" PRId64 " AND tenant = 'acme' AND "
                           "customer_id = 'cust-1' AND hostname = 'VPS1.shop.example' AND "
                           "verified = 1 AND reason = 'HELD' AND verified_by = 'agent-1' AND "
                           "verified_by_role = 'agent' AND created_at_us = %" PRId64,
                           vid, id, tf_now(t)),
                   1);
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64
                           " AND action = 'VERIFY_ACCOUNT' AND field = 'account_verification' "
                           "AND to_value = '%" PRId64 "' AND actor_id = 'agent-1'",
                           id, vid),
                   1);
  assert_int_equal(tf_events(t, TICKET_EVENT_ACCOUNT_VERIFIED, id), 1);
}

static void test_a_deleted_account_is_a_recorded_no_and_replies_stay_refused(void **state) {
  vx *x = *state;
  tf *t = &x->t;
  af *a = vx_af(x);
  af_account(a, "cust-2", "SG", true, NULL);
  Helpdesk__V1__DeleteAccountRequest d = HELPDESK__V1__DELETE_ACCOUNT_REQUEST__INIT;
  d.uid = "cust-2";
  af_must(a, "DeleteAccount", af_customer(a, "cust-2"), &d.base,
          &helpdesk__v1__delete_account_response__descriptor);
  const int64_t id = owned_ticket(t, t->customer2);

  Helpdesk__V1__VerifyTicketAccountResponse *v = verify_ok(t, t->agent, id, "shop.example");
  assert_false(v->verification->verified);
  assert_int_equal(v->verification->reason, REASON(ACCOUNT_DELETED));
  assert_non_null(strstr(v->verification->message, "deleted"));
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM account_verifications WHERE ticket_id = %" PRId64
                           " AND verified = 0 AND reason = 'ACCOUNT_DELETED'",
                           id),
                   1);
  assert_int_equal(tf_events(t, TICKET_EVENT_ACCOUNT_VERIFIED, id), 1);

  TF_OK(t, reply(t, t->agent, id, INTENT(ACKNOWLEDGE)));
  TF_REFUSED(t, HD_FAILED_PRECONDITION, reply(t, t->agent, id, INTENT(FINAL_ANSWER)));
  tf_expect_err_has(t, ACCOUNT_VERIFICATION_REQUIRED_TEXT);
  tf_expect_err_has(t, "was deleted");
}

static void test_a_service_the_account_does_not_hold_is_a_no_and_the_latest_verification_counts(
    void **state) {
  vx *x = *state;
  tf *t = &x->t;
  const int64_t id = owned_ticket(t, t->customer);
  TF_OK(t, reply(t, t->agent, id, INTENT(ACKNOWLEDGE)));

  Helpdesk__V1__VerifyTicketAccountResponse *v = verify_ok(t, t->agent, id, "other.example");
  assert_false(v->verification->verified);
  assert_int_equal(v->verification->reason, REASON(NOT_HELD));
  assert_int_equal(v->verification->matched_service_id, 0);
  TF_REFUSED(t, HD_FAILED_PRECONDITION, reply(t, t->agent, id, INTENT(PROPOSE_SOLUTION)));
  tf_expect_err_has(t, "does not hold");

  /* By service id: held, the replies go out. */
  Helpdesk__V1__VerifyTicketAccountResponse *ok = NULL;
  TF_OK(t, verify(t, t->agent, id, 0, x->domain_service_id, NULL, NULL, &ok));
  assert_true(ok->verification->verified);
  TF_OK(t, reply(t, t->agent, id, INTENT(PROPOSE_SOLUTION)));

  /* A later "no" is what the ticket knows now: the replies wait again. */
  verify_ok(t, t->agent, id, "other.example");
  TF_REFUSED(t, HD_FAILED_PRECONDITION, reply(t, t->agent, id, INTENT(FINAL_ANSWER)));
  assert_int_equal(
      tf_sqlf(t, "SELECT COUNT(*) FROM account_verifications WHERE ticket_id = %" PRId64, id), 3);
}

static void test_accounts_down_is_unavailable_naming_it_and_records_nothing(void **state) {
  vx *x = *state;
  tf *t = &x->t;
  const int64_t id = owned_ticket(t, t->customer);
  af_teardown(&x->accounts);
  x->accounts = NULL;
  TF_REFUSED(t, HD_UNAVAILABLE, verify(t, t->agent, id, 0, 0, "shop.example", NULL, NULL));
  tf_expect_err_has(t, "the accounts service");
  tf_expect_err_has(t, "nothing was recorded");
  assert_int_equal(tf_events(t, TICKET_EVENT_ACCOUNT_VERIFIED, id), 0);
}

static void test_only_the_owner_or_a_lead_verifies_an_open_ticket_at_its_version(void **state) {
  vx *x = *state;
  tf *t = &x->t;
  const int64_t id = owned_ticket(t, t->customer);
  TF_REFUSED(t, HD_PERMISSION_DENIED, verify(t, t->agent2, id, 0, 0, "shop.example", NULL, NULL));
  tf_expect_err_has(t, "owned by agent-1");
  TF_REFUSED(t, HD_PERMISSION_DENIED, verify(t, t->customer, id, 0, 0, "shop.example", NULL, NULL));
  TF_REFUSED(t, HD_ABORTED, verify(t, t->agent, id, 1, 0, "shop.example", NULL, NULL));
  TF_REFUSED(t, HD_INVALID_ARGUMENT, verify(t, t->agent, id, 0, 0, NULL, NULL, NULL));
  tf_expect_err_has(t, "exactly one of service_id, domain, hostname and resource_id (0 given)");
  TF_REFUSED(t, HD_INVALID_ARGUMENT,
             verify(t, t->agent, id, 0, x->domain_service_id, "shop.example", NULL, NULL));
  TF_REFUSED(t, HD_INVALID_ARGUMENT, verify(t, t->agent, id, 0, -1, NULL, NULL, NULL));
  /* The limit at its edge (the accounts service then judges the form) and one past it. */
  char *long_domain = tf_repeat(t, "a", ACCOUNT_VERIFICATION_DOMAIN_MAX + 1);
  TF_REFUSED(t, HD_INVALID_ARGUMENT, verify(t, t->agent, id, 0, 0, long_domain, NULL, NULL));
  TF_REFUSED(t, HD_INVALID_ARGUMENT, verify(t, t->agent, id, 0, 0, "shop.example ", NULL, NULL));
  TF_REFUSED(t, HD_NOT_FOUND, verify(t, t->other_tenant, id, 0, 0, "shop.example", NULL, NULL));

  /* A team lead verifies a ticket nobody owns yet. */
  const int64_t unowned = tf_create(t, t->customer, NULL, "Mail bounces")->id;
  assert_true(verify_ok(t, t->lead, unowned, "shop.example")->verification->verified);
  /* A closed ticket is not worked. */
  tf_set_status(t, id, TF_STATUS(CLOSED));
  TF_REFUSED(t, HD_FAILED_PRECONDITION, verify(t, t->agent, id, 0, 0, "shop.example", NULL, NULL));
  tf_expect_err_has(t, "open tickets only");
}

static void test_a_tenant_may_make_verification_optional_and_the_default_is_required(void **state) {
  vx *x = *state;
  tf *t = &x->t;
  Helpdesk__V1__GetTenantSettingsRequest gr = HELPDESK__V1__GET_TENANT_SETTINGS_REQUEST__INIT;
  Helpdesk__V1__TenantSettings *s = (Helpdesk__V1__TenantSettings *)tf_must(
      t, "GetTenantSettings", t->agent, &gr.base, &helpdesk__v1__tenant_settings__descriptor);
  assert_false(s->account_verification_optional);
  const int64_t id = owned_ticket(t, t->customer);
  hd_err err = {0};
  assert_int_equal(tf_fixture_verification_optional(&t->f, "acme", true, &err), 0);
  assert_false(get_verification(t, t->agent, id)->required);
  TF_OK(t, reply(t, t->agent, id, INTENT(REQUEST_INFO)));
  assert_int_equal(tf_fixture_verification_optional(&t->f, "acme", false, &err), 0);
  TF_REFUSED(t, HD_FAILED_PRECONDITION, reply(t, t->agent, id, INTENT(FOLLOW_UP)));
}

static void test_another_engineers_answer_is_not_held_back(void **state) {
  vx *x = *state;
  tf *t = &x->t;
  const int64_t id = owned_ticket(t, t->customer);
  TF_OK(t, reply(t, t->agent, id, INTENT(ACKNOWLEDGE)));
  /* The lead's answer on agent-1's ticket goes to agent-1 (FEEDBACK); agent-1's own next answer
   * still waits for the verification. */
  TF_OK(t, reply(t, t->lead, id, INTENT(PROPOSE_SOLUTION)));
  assert_int_equal(tf_get(t, t->agent, id)->status, TF_STATUS(FEEDBACK));
  TF_REFUSED(t, HD_FAILED_PRECONDITION, reply(t, t->agent, id, INTENT(PROPOSE_SOLUTION)));
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_owner_replies_other_than_acknowledge_wait_for_a_verification),
      T(test_a_verification_writes_its_row_a_history_entry_the_version_and_an_event),
      T(test_a_deleted_account_is_a_recorded_no_and_replies_stay_refused),
      T(test_a_service_the_account_does_not_hold_is_a_no_and_the_latest_verification_counts),
      T(test_accounts_down_is_unavailable_naming_it_and_records_nothing),
      T(test_only_the_owner_or_a_lead_verifies_an_open_ticket_at_its_version),
      T(test_a_tenant_may_make_verification_optional_and_the_default_is_required),
      T(test_another_engineers_answer_is_not_held_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
