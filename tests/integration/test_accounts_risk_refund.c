/* Risk control and card verification refunds through real gRPC on the manual clock: the seeded
 * catalog (KYC and the others), a tenant's override, codes set and cleared on an account; the
 * refund at 6 days (pending), 7 days (due that day, still pending), 7 days and a second and 8
 * days (overdue: the escalation is recorded once however often it is asked for, with a key
 * derived from the card verification; routing is down here, so it stays REQUESTED with its
 * attempts and last error), the refund recorded once, the settings read from
 * HELPDESK_ACCOUNTS_*. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "account_fixture.h"
#include "accounts_config.h"

#define PM(t)     HELPDESK__V1__PAYMENT_METHOD_TYPE__PAYMENT_METHOD_TYPE_##t
#define REFUND(s) HELPDESK__V1__REFUND_STATUS__REFUND_STATUS_##s
#define S_US      1000000LL

static Helpdesk__V1__LookupRiskControlResponse *lookup(af *t, const char *uid) {
  Helpdesk__V1__LookupRiskControlRequest r = HELPDESK__V1__LOOKUP_RISK_CONTROL_REQUEST__INIT;
  r.uid = (char *)uid;
  return (Helpdesk__V1__LookupRiskControlResponse *)af_must(
      t, "LookupRiskControl", t->agent, &r.base,
      &helpdesk__v1__lookup_risk_control_response__descriptor);
}

static hd_code set_code(af *t, const char *token, const char *uid, const char *code, bool on) {
  Helpdesk__V1__SetAccountRiskControlRequest r =
      HELPDESK__V1__SET_ACCOUNT_RISK_CONTROL_REQUEST__INIT;
  r.uid = (char *)uid;
  r.code = (char *)code;
  r.active = on;
  return af_call(t, "SetAccountRiskControl", token, &r.base,
                 &helpdesk__v1__lookup_risk_control_response__descriptor, NULL);
}

static Helpdesk__V1__CardVerificationRefund *check_refund(af *t, const char *token, const char *uid,
                                                          int64_t method) {
  Helpdesk__V1__CheckCardVerificationRefundRequest r =
      HELPDESK__V1__CHECK_CARD_VERIFICATION_REFUND_REQUEST__INIT;
  r.uid = (char *)uid;
  r.payment_method_id = method;
  r.ticket_id = 7; /* routing is not running here (test_accounts_refund_escalation has it) */
  return (Helpdesk__V1__CardVerificationRefund *)af_must(
      t, "CheckCardVerificationRefund", token, &r.base,
      &helpdesk__v1__card_verification_refund__descriptor);
}

/* ---- risk control ---- */

static void test_the_seeded_kyc_code_is_looked_up_with_its_procedure_and_reply(void **state) {
  af *t = *state;
  af_account(t, "risk-1", "SG", true, NULL);
  assert_int_equal(lookup(t, "risk-1")->n_codes, 0);
  assert_int_equal(set_code(t, t->service, "risk-1", "KYC", true), HD_OK);
  assert_int_equal(set_code(t, t->service, "risk-1", "KYC", true), HD_OK); /* no change */
  assert_int_equal(af_audits(t, "risk-1", "SET_RISK_CONTROL"), 1);
  Helpdesk__V1__LookupRiskControlResponse *l = lookup(t, "risk-1");
  assert_int_equal(l->n_codes, 1);
  const Helpdesk__V1__RiskControlCode *k = l->codes[0]->code;
  assert_string_equal(k->code, "KYC");
  assert_non_null(strstr(k->meaning, "Know Your Customer"));
  assert_non_null(strstr(k->procedure, "photo ID"));
  assert_non_null(strstr(k->suggested_reply, "verify your identity"));
  assert_false(k->tenant_override);
  assert_int_equal(af_sql(t, "SELECT COUNT(*) FROM risk_codes WHERE tenant = ''"), 5);
  assert_int_equal(set_code(t, t->service, "risk-1", "KYC", false), HD_OK);
  assert_int_equal(lookup(t, "risk-1")->n_codes, 0);
  assert_int_equal(af_audits(t, "risk-1", "CLEAR_RISK_CONTROL"), 1);
}

static void test_a_tenant_overrides_a_catalog_entry_and_adds_its_own(void **state) {
  af *t = *state;
  af_account(t, "risk-2", "SG", true, NULL);
  Helpdesk__V1__UpsertRiskControlCodeRequest u =
      HELPDESK__V1__UPSERT_RISK_CONTROL_CODE_REQUEST__INIT;
  u.code = "KYC";
  u.meaning = "Identity check pending (acme wording).";
  u.procedure = "Ask for an ID and a selfie holding it.";
  u.suggested_reply = "Please send us a photo of your ID and a selfie holding it.";
  AF_REFUSED(t, HD_PERMISSION_DENIED, "supervisor or tenant_admin",
             af_call(t, "UpsertRiskControlCode", t->agent, &u.base,
                     &helpdesk__v1__risk_control_code__descriptor, NULL));
  af_must(t, "UpsertRiskControlCode", t->supervisor, &u.base,
          &helpdesk__v1__risk_control_code__descriptor);
  assert_int_equal(set_code(t, t->service, "risk-2", "KYC", true), HD_OK);
  const Helpdesk__V1__RiskControlCode *k = lookup(t, "risk-2")->codes[0]->code;
  assert_true(k->tenant_override);
  assert_string_equal(k->meaning, "Identity check pending (acme wording).");
  /* Another tenant still sees the seeded entry. */
  assert_int_equal(af_sql(t, "SELECT COUNT(*) FROM risk_codes WHERE code = 'KYC'"), 2);
  assert_int_equal(af_sql(t,
                          "SELECT COUNT(*) FROM account_audit WHERE action = "
                          "'UPSERT_RISK_CODE' AND before_json IS NULL"),
                   1);
  AF_REFUSED(t, HD_NOT_FOUND, "is not in the catalog",
             set_code(t, t->service, "risk-2", "NO_SUCH_CODE", true));
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "capital letters",
             set_code(t, t->service, "risk-2", "kyc", true));
  AF_REFUSED(t, HD_PERMISSION_DENIED, NULL, set_code(t, t->agent, "risk-2", "KYC", false));
  u.meaning = "";
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "meaning is required",
             af_call(t, "UpsertRiskControlCode", t->admin, &u.base,
                     &helpdesk__v1__risk_control_code__descriptor, NULL));
}

/* ---- card verification refunds ---- */

static void test_the_refund_is_pending_at_6_and_7_days_and_overdue_after(void **state) {
  af *t = *state;
  af_account(t, "ref-1", "SG", true, NULL);
  const int64_t bound = af_now(t);
  Helpdesk__V1__PaymentMethod *card = af_method(t, "ref-1", PM(BANK_CARD), "4242")->payment_method;
  char *cust = af_customer(t, "ref-1");
  af_advance(t, 6 * AF_DAY_US);
  Helpdesk__V1__CardVerificationRefund *v = check_refund(t, cust, "ref-1", card->id);
  assert_int_equal(v->status, REFUND(PENDING));
  assert_int_equal(v->amount_minor, 100);
  assert_int_equal(v->expected_refund_time_us, bound + 7 * AF_DAY_US);
  assert_null(v->escalation);
  af_advance(t, AF_DAY_US); /* 7 days: due today, not late */
  v = check_refund(t, cust, "ref-1", card->id);
  assert_int_equal(v->status, REFUND(PENDING));
  assert_null(v->escalation);
  assert_int_equal(af_sql(t, "SELECT COUNT(*) FROM refund_escalations"), 0);
  af_advance(t, S_US); /* 7 days and a second */
  Helpdesk__V1__CheckCardVerificationRefundRequest none =
      HELPDESK__V1__CHECK_CARD_VERIFICATION_REFUND_REQUEST__INIT;
  none.uid = "ref-1";
  none.payment_method_id = card->id;
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "send ticket_id",
             af_call(t, "CheckCardVerificationRefund", t->agent, &none.base,
                     &helpdesk__v1__card_verification_refund__descriptor, NULL));
  v = check_refund(t, t->agent, "ref-1", card->id);
  assert_int_equal(v->status, REFUND(OVERDUE));
  assert_non_null(v->escalation);
  assert_int_equal(v->escalation->state,
                   HELPDESK__V1__ESCALATION_STATE__ESCALATION_STATE_REQUESTED);
  assert_string_equal(v->escalation->department, "ESCALATED");
  assert_int_equal(v->escalation->ticket_id, 7);
  /* Routing is down: recorded, not sent; the next check sends it again. */
  assert_int_equal(v->escalation->attempts, 1);
  assert_non_null(strstr(v->escalation->last_error, "routing"));
  char key[64];
  snprintf(key, sizeof key, "card-refund-%lld", (long long)v->id);
  assert_string_equal(v->escalation->idempotency_key, key);
  assert_int_equal(v->escalation->request_time_us, af_now(t));
  /* 8 days, asked twice more (by the agent and the customer): escalated once. */
  af_advance(t, AF_DAY_US - S_US);
  Helpdesk__V1__CardVerificationRefund *again = check_refund(t, t->agent, "ref-1", card->id);
  Helpdesk__V1__CardVerificationRefund *third = check_refund(t, cust, "ref-1", card->id);
  assert_int_equal(again->status, REFUND(OVERDUE));
  assert_string_equal(again->escalation->idempotency_key, key);
  assert_int_equal(third->escalation->request_time_us, v->escalation->request_time_us);
  assert_int_equal(third->escalation->attempts, 3);
  assert_int_equal(third->escalation->state,
                   HELPDESK__V1__ESCALATION_STATE__ESCALATION_STATE_REQUESTED);
  assert_int_equal(af_sql(t, "SELECT COUNT(*) FROM refund_escalations"), 1);
  assert_int_equal(af_audits(t, "ref-1", "ESCALATE_CARD_REFUND"), 1);
  /* The refund arrives: recorded once. */
  Helpdesk__V1__MarkCardVerificationRefundedRequest m =
      HELPDESK__V1__MARK_CARD_VERIFICATION_REFUNDED_REQUEST__INIT;
  m.uid = "ref-1";
  m.payment_method_id = card->id;
  AF_REFUSED(t, HD_PERMISSION_DENIED, NULL,
             af_call(t, "MarkCardVerificationRefunded", t->agent, &m.base,
                     &helpdesk__v1__card_verification_refund__descriptor, NULL));
  Helpdesk__V1__CardVerificationRefund *done = (Helpdesk__V1__CardVerificationRefund *)af_must(
      t, "MarkCardVerificationRefunded", t->service, &m.base,
      &helpdesk__v1__card_verification_refund__descriptor);
  assert_int_equal(done->status, REFUND(REFUNDED));
  assert_int_equal(done->refund_time_us, af_now(t));
  af_advance(t, S_US);
  done = (Helpdesk__V1__CardVerificationRefund *)af_must(
      t, "MarkCardVerificationRefunded", t->service, &m.base,
      &helpdesk__v1__card_verification_refund__descriptor);
  assert_int_equal(done->refund_time_us, af_now(t) - S_US);
  assert_int_equal(af_audits(t, "ref-1", "MARK_CARD_REFUNDED"), 1);
  assert_int_equal(check_refund(t, cust, "ref-1", card->id)->status, REFUND(REFUNDED));
}

static void test_a_refund_made_in_time_is_never_escalated(void **state) {
  af *t = *state;
  af_account(t, "ref-2", "SG", true, NULL);
  Helpdesk__V1__PaymentMethod *card = af_method(t, "ref-2", PM(BANK_CARD), "1234")->payment_method;
  af_advance(t, 5 * AF_DAY_US);
  Helpdesk__V1__MarkCardVerificationRefundedRequest m =
      HELPDESK__V1__MARK_CARD_VERIFICATION_REFUNDED_REQUEST__INIT;
  m.uid = "ref-2";
  m.payment_method_id = card->id;
  af_must(t, "MarkCardVerificationRefunded", t->supervisor, &m.base,
          &helpdesk__v1__card_verification_refund__descriptor);
  af_advance(t, 10 * AF_DAY_US);
  Helpdesk__V1__CardVerificationRefund *v = check_refund(t, t->agent, "ref-2", card->id);
  assert_int_equal(v->status, REFUND(REFUNDED));
  assert_null(v->escalation);
  assert_int_equal(af_sql(t, "SELECT COUNT(*) FROM refund_escalations WHERE verification_id = %lld",
                          (long long)v->id),
                   0);
}

static void test_refund_checks_are_refused_for_other_accounts_and_non_cards(void **state) {
  af *t = *state;
  af_account(t, "ref-3", "SG", true, NULL);
  af_account(t, "ref-4", "SG", true, NULL);
  Helpdesk__V1__PaymentMethod *card = af_method(t, "ref-3", PM(BANK_CARD), "4242")->payment_method;
  Helpdesk__V1__PaymentMethod *pp = af_method(t, "ref-3", PM(PAYPAL), NULL)->payment_method;
  Helpdesk__V1__CheckCardVerificationRefundRequest r =
      HELPDESK__V1__CHECK_CARD_VERIFICATION_REFUND_REQUEST__INIT;
  r.uid = "ref-3";
  r.payment_method_id = pp->id;
  AF_REFUSED(t, HD_NOT_FOUND, "only a BANK_CARD has one",
             af_call(t, "CheckCardVerificationRefund", t->agent, &r.base,
                     &helpdesk__v1__card_verification_refund__descriptor, NULL));
  r.payment_method_id = card->id;
  AF_REFUSED(t, HD_NOT_FOUND, "account 'ref-3' not found",
             af_call(t, "CheckCardVerificationRefund", af_customer(t, "ref-4"), &r.base,
                     &helpdesk__v1__card_verification_refund__descriptor, NULL));
  r.uid = "ref-4"; /* the card is ref-3's */
  AF_REFUSED(t, HD_NOT_FOUND, "has no card verification",
             af_call(t, "CheckCardVerificationRefund", t->agent, &r.base,
                     &helpdesk__v1__card_verification_refund__descriptor, NULL));
  r.payment_method_id = 0;
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "payment_method_id must be a positive id",
             af_call(t, "CheckCardVerificationRefund", t->agent, &r.base,
                     &helpdesk__v1__card_verification_refund__descriptor, NULL));
}

/* ---- settings ---- */

static void test_the_durations_and_the_charge_are_configurable(void **state) {
  (void)state;
  accounts_config c;
  hd_err err = {0};
  assert_int_equal(accounts_config_load(&c, &err), 0);
  assert_int_equal(c.upgrade_link_ttl_us, 3 * AF_DAY_US);
  assert_int_equal(c.card_refund_after_us, 7 * AF_DAY_US);
  assert_int_equal(c.card_verification_amount_minor, 100);
  assert_string_equal(c.card_verification_currency, "USD");
  setenv("HELPDESK_ACCOUNTS_UPGRADE_LINK_TTL", "2h", 1);
  setenv("HELPDESK_ACCOUNTS_CARD_REFUND_AFTER", "10d", 1);
  assert_int_equal(accounts_config_load(&c, &err), 0);
  assert_int_equal(c.upgrade_link_ttl_us, 2 * 3600 * S_US);
  assert_int_equal(c.card_refund_after_us, 10 * AF_DAY_US);
  setenv("HELPDESK_ACCOUNTS_CARD_REFUND_AFTER", "0s", 1);
  assert_int_equal(accounts_config_load(&c, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  setenv("HELPDESK_ACCOUNTS_CARD_REFUND_AFTER", "7d", 1);
  setenv("HELPDESK_ACCOUNTS_CARD_VERIFICATION_CURRENCY", "usd", 1);
  assert_int_equal(accounts_config_load(&c, &err), -1);
  unsetenv("HELPDESK_ACCOUNTS_UPGRADE_LINK_TTL");
  unsetenv("HELPDESK_ACCOUNTS_CARD_REFUND_AFTER");
  unsetenv("HELPDESK_ACCOUNTS_CARD_VERIFICATION_CURRENCY");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_the_seeded_kyc_code_is_looked_up_with_its_procedure_and_reply),
      cmocka_unit_test(test_a_tenant_overrides_a_catalog_entry_and_adds_its_own),
      cmocka_unit_test(test_the_refund_is_pending_at_6_and_7_days_and_overdue_after),
      cmocka_unit_test(test_a_refund_made_in_time_is_never_escalated),
      cmocka_unit_test(test_refund_checks_are_refused_for_other_accounts_and_non_cards),
      cmocka_unit_test(test_the_durations_and_the_charge_are_configurable),
  };
  setenv("HELPDESK_ROUTING_TARGET", "127.0.0.1:1", 1); /* nothing listens: routing is down */
  return cmocka_run_group_tests(tests, af_setup, af_teardown);
}
