/* Machine-readable errors end to end: the real ticket service in-process (ticket_fixture, real
 * MariaDB and Redis) answers a failed call with google.rpc.Status in grpc-status-details-bin, and
 * our client (rpc/client.c) reads it back into hd_err: the field of a bad request (BadRequest), a
 * stale version's VERSION_CONFLICT with the current version and the reply gate's
 * ACCOUNT_NOT_VERIFIED (ErrorInfo), a ticket in the wrong status (INVALID_TRANSITION), and a
 * retry delay when the accounts service is down (RetryInfo). tests/python/error_details.py reads
 * the same from Python's grpcio, and the echoed x-request-id. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "rpc/status_details.h"
#include "ticket_fixture.h"

#define INTENT(name) HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_##name

static hd_code transfer(tf *t, int64_t id, int64_t expected, hd_err *err) {
  Helpdesk__V1__TransferTicketRequest rq = HELPDESK__V1__TRANSFER_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.expected_version = expected;
  rq.new_owner_id = "agent-2";
  rq.department = "";
  rq.note = "";
  return tf_call(t, "TransferTicket", t->lead, &rq.base, &helpdesk__v1__ticket__descriptor, NULL,
                 err);
}

static hd_code reply(tf *t, int64_t id, Helpdesk__V1__ReplyIntent intent, hd_err *err) {
  Helpdesk__V1__ReplyToTicketRequest rq = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.intent = intent;
  rq.body = "Thanks for the details.";
  return tf_call(t, "ReplyToTicket", t->agent, &rq.base,
                 &helpdesk__v1__reply_to_ticket_response__descriptor, NULL, err);
}

static void test_a_bad_field_is_named_as_a_field_violation_without_a_reason(void **state) {
  tf *t = *state;
  Helpdesk__V1__CreateTicketRequest rq = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  rq.idempotency_key = "k-blank-subject";
  rq.subject = "   ";
  rq.description = "the shop is down";
  hd_err err = {0};
  assert_int_equal(tf_call(t, "CreateTicket", t->customer, &rq.base,
                           &helpdesk__v1__ticket__descriptor, NULL, &err),
                   HD_INVALID_ARGUMENT);
  assert_string_equal(err.field, "subject");
  assert_string_equal(err.reason, "");
  assert_int_equal(err.retry_after_ms, 0);
}

static void test_a_stale_version_is_version_conflict_with_the_current_version(void **state) {
  tf *t = *state;
  const int64_t id = tf_create(t, t->customer, NULL, "My shop is down")->id;
  tf_assign(t, id, "agent-1");
  const int64_t now = tf_get(t, t->lead, id)->version;
  assert_true(now > 1);
  hd_err err = {0};
  assert_int_equal(transfer(t, id, 1, &err), HD_ABORTED);
  assert_string_equal(err.reason, HD_REASON_VERSION_CONFLICT);
  assert_int_equal(err.current_version, now);
  assert_string_equal(err.field, "");
  /* The version it names is the one to send: the retry goes through. */
  assert_int_equal(transfer(t, id, err.current_version, &err), HD_OK);
}

static void test_a_negative_expected_version_names_the_field(void **state) {
  tf *t = *state;
  const int64_t id = tf_create(t, t->customer, NULL, "My shop is down")->id;
  hd_err err = {0};
  assert_int_equal(transfer(t, id, -1, &err), HD_INVALID_ARGUMENT);
  assert_string_equal(err.field, "expected_version");
}

static void test_a_reply_before_verification_is_account_not_verified(void **state) {
  tf *t = *state;
  const int64_t id = tf_create(t, t->customer, NULL, "My shop is down")->id;
  tf_assign(t, id, "agent-1");
  hd_err err = {0};
  assert_int_equal(reply(t, id, INTENT(FINAL_ANSWER), &err), HD_FAILED_PRECONDITION);
  assert_string_equal(err.reason, HD_REASON_ACCOUNT_NOT_VERIFIED);
  assert_int_equal(err.current_version, 0);
  assert_non_null(strstr(err.msg, "must be verified first"));
}

static void test_a_ticket_in_the_wrong_status_is_invalid_transition(void **state) {
  tf *t = *state;
  const int64_t id = tf_create(t, t->customer, NULL, "My shop is down")->id;
  /* A cancelled ticket takes no customer reply (open a new one): INVALID_TRANSITION. */
  Helpdesk__V1__CancelTicketRequest cq = HELPDESK__V1__CANCEL_TICKET_REQUEST__INIT;
  cq.ticket_id = id;
  tf_must(t, "CancelTicket", t->customer, &cq.base, &helpdesk__v1__ticket__descriptor);
  Helpdesk__V1__AddCustomerReplyRequest rq = HELPDESK__V1__ADD_CUSTOMER_REPLY_REQUEST__INIT;
  rq.ticket_id = id;
  rq.body = "one more thing";
  hd_err err = {0};
  assert_int_equal(tf_call(t, "AddCustomerReply", t->customer, &rq.base,
                           &helpdesk__v1__add_customer_reply_response__descriptor, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.reason, HD_REASON_INVALID_TRANSITION);
}

/* A loopback port nothing listens on (bound, then closed). */
static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static int setup_accounts_down(void **state) {
  char target[32];
  snprintf(target, sizeof target, "127.0.0.1:%d", closed_port());
  setenv("HELPDESK_ACCOUNTS_TARGET", target, 1);
  return tf_setup(state);
}

static void test_accounts_down_says_when_to_retry(void **state) {
  tf *t = *state;
  const int64_t id = tf_create(t, t->customer, NULL, "My shop is down")->id;
  tf_assign(t, id, "agent-1");
  Helpdesk__V1__VerifyTicketAccountRequest rq = HELPDESK__V1__VERIFY_TICKET_ACCOUNT_REQUEST__INIT;
  rq.ticket_id = id;
  rq.domain = "shop.example";
  rq.hostname = "";
  hd_err err = {0};
  assert_int_equal(tf_call(t, "VerifyTicketAccount", t->agent, &rq.base,
                           &helpdesk__v1__verify_ticket_account_response__descriptor, NULL, &err),
                   HD_UNAVAILABLE);
  assert_int_equal(err.retry_after_ms, HD_PEER_RETRY_AFTER_MS);
  assert_non_null(strstr(err.msg, "nothing was recorded"));
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)
  const struct CMUnitTest tests[] = {
      T(test_a_bad_field_is_named_as_a_field_violation_without_a_reason),
      T(test_a_stale_version_is_version_conflict_with_the_current_version),
      T(test_a_negative_expected_version_names_the_field),
      T(test_a_reply_before_verification_is_account_not_verified),
      T(test_a_ticket_in_the_wrong_status_is_invalid_transition),
      cmocka_unit_test_setup_teardown(test_accounts_down_says_when_to_retry, setup_accounts_down,
                                      tf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
