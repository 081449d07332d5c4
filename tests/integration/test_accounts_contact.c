/* Contact changes through real gRPC: the path follows the payment methods (card, PayPal, balance
 * → INTERNAL_APPROVAL; quota or credit limit → PARTNER_APPROVAL, which wins), the answer lists
 * what to ask the customer for, the BD contact's endorsement comes first on the partner path,
 * only an approval changes the account, approvals are exactly-once by key, the requester cannot
 * approve, and every refusal leaves the database as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "account_fixture.h"

#define PM(t)     HELPDESK__V1__PAYMENT_METHOD_TYPE__PAYMENT_METHOD_TYPE_##t
#define PATH(p)   HELPDESK__V1__CONTACT_CHANGE_PATH__CONTACT_CHANGE_PATH_##p
#define STATUS(s) HELPDESK__V1__CONTACT_CHANGE_STATUS__CONTACT_CHANGE_STATUS_##s
#define FIELD(f)  HELPDESK__V1__CONTACT_FIELD__CONTACT_FIELD_##f

static Helpdesk__V1__RequestContactChangeRequest change_req(const char *key, const char *uid,
                                                            Helpdesk__V1__ContactField field,
                                                            const char *value) {
  Helpdesk__V1__RequestContactChangeRequest r = HELPDESK__V1__REQUEST_CONTACT_CHANGE_REQUEST__INIT;
  r.idempotency_key = (char *)key;
  r.uid = (char *)uid;
  r.field = field;
  r.new_value = (char *)value;
  r.reason = "The customer lost their phone and cannot log in.";
  r.ticket_id = 42;
  return r;
}

static hd_code request(af *t, const char *token, Helpdesk__V1__RequestContactChangeRequest *r,
                       Helpdesk__V1__ContactChangeResponse **out) {
  return af_call(t, "RequestContactChange", token, &r->base,
                 &helpdesk__v1__contact_change_response__descriptor, out);
}

static hd_code approve(af *t, const char *token, const char *key, int64_t id,
                       Helpdesk__V1__ContactChangeResponse **out) {
  Helpdesk__V1__ApproveContactChangeRequest r = HELPDESK__V1__APPROVE_CONTACT_CHANGE_REQUEST__INIT;
  r.idempotency_key = (char *)key;
  r.request_id = id;
  return af_call(t, "ApproveContactChange", token, &r.base,
                 &helpdesk__v1__contact_change_response__descriptor, out);
}

static hd_code endorse(af *t, const char *token, int64_t id) {
  Helpdesk__V1__EndorseContactChangeRequest r = HELPDESK__V1__ENDORSE_CONTACT_CHANGE_REQUEST__INIT;
  r.request_id = id;
  r.note = "Confirmed with the partner: the end user is who they say.";
  return af_call(t, "EndorseContactChange", token, &r.base,
                 &helpdesk__v1__contact_change_response__descriptor, NULL);
}

static bool asks_for(const Helpdesk__V1__ContactChangeResponse *r, const char *part) {
  for (size_t i = 0; i < r->n_ask_customer_for; i++)
    if (strstr(r->ask_customer_for[i], part)) return true;
  return false;
}

static void test_a_card_paying_account_takes_the_internal_approval(void **state) {
  af *t = *state;
  af_account(t, "lost-1", "SG", true, NULL);
  af_method(t, "lost-1", PM(BANK_CARD), "4242");
  Helpdesk__V1__RequestContactChangeRequest r =
      change_req("k-lost-1", "lost-1", FIELD(PHONE), "+6587654321");
  Helpdesk__V1__ContactChangeResponse *c = NULL;
  assert_int_equal(request(t, t->agent, &r, &c), HD_OK);
  assert_int_equal(c->request->path, PATH(INTERNAL_APPROVAL));
  assert_int_equal(c->request->status, STATUS(PENDING));
  assert_string_equal(c->request->requested_by, "agent-1");
  assert_true(asks_for(c, "last four digits"));
  assert_true(asks_for(c, "government-issued ID"));
  assert_false(asks_for(c, "partner"));
  assert_non_null(strstr(c->next_steps, "Internal approval"));
  /* Nothing changes before the approval. */
  assert_string_equal(af_get(t, "lost-1")->account->phone, "");
  /* A retry with the same key answers the same request. */
  Helpdesk__V1__ContactChangeResponse *again = NULL;
  assert_int_equal(request(t, t->agent, &r, &again), HD_OK);
  assert_int_equal(again->request->id, c->request->id);
  assert_int_equal(af_sql(t, "SELECT COUNT(*) FROM contact_changes WHERE uid = 'lost-1'"), 1);
  /* The same key for another request. */
  r.new_value = "+6587654300";
  AF_REFUSED(t, HD_ALREADY_EXISTS, "different request", request(t, t->agent, &r, NULL));
  /* A second request while one is pending. */
  r = change_req("k-lost-1b", "lost-1", FIELD(EMAIL), "new@example.com");
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "already has a pending", request(t, t->agent, &r, NULL));
  /* The requester cannot approve; an agent is not an approving role. */
  AF_REFUSED(t, HD_PERMISSION_DENIED, "team_lead or supervisor",
             approve(t, t->agent2, "a-1", c->request->id, NULL));
  Helpdesk__V1__ContactChangeResponse *ok = NULL;
  assert_int_equal(approve(t, t->lead, "a-1", c->request->id, &ok), HD_OK);
  assert_int_equal(ok->request->status, STATUS(APPROVED));
  assert_string_equal(ok->request->decided_by, "lead-1");
  Helpdesk__V1__Account *a = af_get(t, "lost-1")->account;
  assert_string_equal(a->phone, "+6587654321");
  /* Exactly once: the same key again answers the approval and changes nothing more. */
  const int64_t version = a->version;
  assert_int_equal(approve(t, t->lead, "a-1", c->request->id, &ok), HD_OK);
  assert_int_equal(ok->request->status, STATUS(APPROVED));
  assert_int_equal(af_get(t, "lost-1")->account->version, version);
  assert_int_equal(af_audits(t, "lost-1", "APPROVE_CONTACT_CHANGE"), 1);
  assert_int_equal(af_audits(t, "lost-1", "CHANGE_PHONE"), 1);
  assert_non_null(strstr(af_sql_str(t,
                                    "SELECT CONCAT(before_json, after_json) FROM "
                                    "account_audit WHERE action = 'CHANGE_PHONE'"),
                         "\"phone\":\"+6587654321\""));
  /* Another key: the request is no longer pending. */
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "APPROVED already",
             approve(t, t->supervisor, "a-2", c->request->id, NULL));
}

static void test_the_requester_cannot_approve_their_own_request(void **state) {
  af *t = *state;
  af_account(t, "own-1", "HK", true, NULL);
  af_method(t, "own-1", PM(PAYPAL), NULL);
  Helpdesk__V1__RequestContactChangeRequest r =
      change_req("k-own-1", "own-1", FIELD(EMAIL), "own-new@example.com");
  Helpdesk__V1__ContactChangeResponse *c = NULL;
  assert_int_equal(request(t, t->lead, &r, &c), HD_OK);
  assert_true(asks_for(c, "PayPal"));
  AF_REFUSED(t, HD_PERMISSION_DENIED, "cannot approve it too",
             approve(t, t->lead, "a-own", c->request->id, NULL));
  assert_string_equal(af_get(t, "own-1")->account->email, "own-1@example.com");
}

static void test_a_partner_account_needs_the_bd_endorsement_before_approval(void **state) {
  af *t = *state;
  af_account(t, "eu-1", "SG", false, "bd-lee");
  af_method(t, "eu-1", PM(QUOTA), NULL);
  af_method(t, "eu-1", PM(BANK_CARD), "1111"); /* quota wins over the card */
  Helpdesk__V1__RequestContactChangeRequest r =
      change_req("k-eu-1", "eu-1", FIELD(PHONE), "+6581112222");
  Helpdesk__V1__ContactChangeResponse *c = NULL;
  assert_int_equal(request(t, t->agent, &r, &c), HD_OK);
  assert_int_equal(c->request->path, PATH(PARTNER_APPROVAL));
  assert_string_equal(c->request->bd_contact, "bd-lee");
  assert_true(asks_for(c, "partner (distributor)"));
  assert_non_null(strstr(c->next_steps, "bd-lee"));
  const int64_t id = c->request->id;
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "must endorse it first",
             approve(t, t->lead, "a-eu-1", id, NULL));
  AF_REFUSED(t, HD_PERMISSION_DENIED, "only the partner's business-development contact 'bd-lee'",
             endorse(t, t->agent2, id));
  assert_int_equal(endorse(t, t->bd, id), HD_OK);
  assert_int_equal(endorse(t, t->bd, id), HD_OK); /* the first endorsement stands */
  assert_int_equal(af_audits(t, "eu-1", "ENDORSE_CONTACT_CHANGE"), 1);
  assert_string_equal(af_get(t, "eu-1")->account->phone, "");
  Helpdesk__V1__ContactChangeResponse *ok = NULL;
  assert_int_equal(approve(t, t->supervisor, "a-eu-1", id, &ok), HD_OK);
  assert_string_equal(ok->request->endorsed_by, "bd-lee");
  assert_string_equal(af_get(t, "eu-1")->account->phone, "+6581112222");
  /* Endorsing a request that is not PENDING any more. */
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "APPROVED already", endorse(t, t->bd, id));
}

static void test_an_internal_request_needs_no_endorsement_and_a_rejection_changes_nothing(
    void **state) {
  af *t = *state;
  af_account(t, "rej-1", "SG", true, NULL);
  af_method(t, "rej-1", PM(ACCOUNT_BALANCE), NULL);
  Helpdesk__V1__RequestContactChangeRequest r =
      change_req("k-rej-1", "rej-1", FIELD(EMAIL), "rej-new@example.com");
  Helpdesk__V1__ContactChangeResponse *c = NULL;
  assert_int_equal(request(t, t->agent, &r, &c), HD_OK);
  assert_true(asks_for(c, "top-up"));
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "needs no partner endorsement",
             endorse(t, t->bd, c->request->id));
  Helpdesk__V1__RejectContactChangeRequest rj = HELPDESK__V1__REJECT_CONTACT_CHANGE_REQUEST__INIT;
  rj.request_id = c->request->id;
  rj.reason = "The ID photo does not match the account holder.";
  AF_REFUSED(t, HD_PERMISSION_DENIED, NULL,
             af_call(t, "RejectContactChange", t->agent, &rj.base,
                     &helpdesk__v1__contact_change_response__descriptor, NULL));
  Helpdesk__V1__ContactChangeResponse *x = (Helpdesk__V1__ContactChangeResponse *)af_must(
      t, "RejectContactChange", t->lead, &rj.base,
      &helpdesk__v1__contact_change_response__descriptor);
  assert_int_equal(x->request->status, STATUS(REJECTED));
  assert_string_equal(af_get(t, "rej-1")->account->email, "rej-1@example.com");
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "REJECTED already",
             approve(t, t->lead, "a-rej", c->request->id, NULL));
}

static void test_requests_refused_before_anything_is_written(void **state) {
  af *t = *state;
  af_account(t, "none-1", "SG", true, NULL);
  af_account(t, "eu-nobd", "SG", true, NULL);
  af_method(t, "eu-nobd", PM(CREDIT_LIMIT), NULL);
  Helpdesk__V1__RequestContactChangeRequest r =
      change_req("k-none", "none-1", FIELD(EMAIL), "x@example.com");
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "no payment method", request(t, t->agent, &r, NULL));
  r = change_req("k-nobd", "eu-nobd", FIELD(EMAIL), "x@example.com");
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "no business-development contact",
             request(t, t->agent, &r, NULL));
  af_method(t, "none-1", PM(BANK_CARD), "9999");
  r = change_req("k-hk", "none-1", FIELD(PHONE), "+85261234567");
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "registered in SG", request(t, t->agent, &r, NULL));
  r = change_req("k-bad", "none-1", FIELD(PHONE), "91234567");
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "E.164", request(t, t->agent, &r, NULL));
  r = change_req("k-same", "none-1", FIELD(EMAIL), "none-1@example.com");
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "is already the account's email",
             request(t, t->agent, &r, NULL));
  r = change_req("", "none-1", FIELD(EMAIL), "x@example.com");
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "idempotency_key is required", request(t, t->agent, &r, NULL));
  r = change_req("k-cust", "none-1", FIELD(EMAIL), "x@example.com");
  AF_REFUSED(t, HD_PERMISSION_DENIED, NULL, request(t, af_customer(t, "none-1"), &r, NULL));
  AF_REFUSED(t, HD_NOT_FOUND, "contact-change request 9999 not found",
             approve(t, t->lead, "a-9999", 9999, NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_card_paying_account_takes_the_internal_approval),
      cmocka_unit_test(test_the_requester_cannot_approve_their_own_request),
      cmocka_unit_test(test_a_partner_account_needs_the_bd_endorsement_before_approval),
      cmocka_unit_test(
          test_an_internal_request_needs_no_endorsement_and_a_rejection_changes_nothing),
      cmocka_unit_test(test_requests_refused_before_anything_is_written),
  };
  return cmocka_run_group_tests(tests, af_setup, af_teardown);
}
