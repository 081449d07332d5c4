/* A string with an embedded NUL is refused, not cut: CreateTicket with "before\0after" as its
 * subject, or with idempotency keys "k\0one" and "k\0two" (which protobuf-c would both read as
 * "k"), answers INVALID_ARGUMENT naming the field and writes nothing. The check is the runtime's
 * (common/rpc/wire_check), before the request is unpacked, so it holds for every RPC. A required
 * text of only white space is refused too (hd_call_check_text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ticket_fixture.h"

#define CREATE "/helpdesk.v1.TicketService/CreateTicket"

/* CreateTicket as the customer with key and subject, each '~' sent as a NUL byte. */
static hd_code create_raw(tf *t, const char *key, const char *subject, hd_err *err) {
  Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  req.idempotency_key = (char *)key;
  req.subject = (char *)subject;
  req.description = "The site is down.";
  req.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  req.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL;
  size_t len = protobuf_c_message_get_packed_size(&req.base);
  uint8_t *buf = malloc(len);
  assert_non_null(buf);
  protobuf_c_message_pack(&req.base, buf);
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '~') buf[i] = '\0';
  hd_arena *a = hd_arena_new(1 << 20);
  void *rb = NULL;
  size_t rl = 0;
  hd_err_clear(err);
  hd_code code =
      hd_client_call_raw(t->f.client, CREATE, t->customer, 0, buf, len, a, &rb, &rl, err) == 0
          ? HD_OK
          : err->code;
  hd_arena_free(a);
  free(buf);
  return code;
}

static void test_nul_in_the_subject_is_invalid_argument_naming_it_and_writes_nothing(void **state) {
  tf *t = *state;
  char *before = tf_fingerprint(t);
  hd_err err;
  hd_code code = create_raw(t, "nul-subject-1", "before~after", &err);
  tf_expect_code(code, &err, HD_INVALID_ARGUMENT, "subject contains a NUL byte");
  tf_expect_unchanged(t, before);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tickets"), 0);
}

/* Required text made only of white space is no text: refused like an empty one. */
static void test_a_subject_of_only_spaces_is_invalid_argument_and_writes_nothing(void **state) {
  tf *t = *state;
  char *before = tf_fingerprint(t);
  hd_err err;
  hd_code code = create_raw(t, "blank-subject-1", "   ", &err);
  tf_expect_code(code, &err, HD_INVALID_ARGUMENT, "subject is blank");
  tf_expect_unchanged(t, before);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tickets"), 0);
}

static void test_keys_that_differ_after_a_nul_are_both_refused_not_taken_as_one(void **state) {
  tf *t = *state;
  char *before = tf_fingerprint(t);
  hd_err err;
  hd_code code = create_raw(t, "k~one", "First ticket", &err);
  tf_expect_code(code, &err, HD_INVALID_ARGUMENT, "idempotency_key contains a NUL byte");
  code = create_raw(t, "k~two", "Second ticket", &err);
  tf_expect_code(code, &err, HD_INVALID_ARGUMENT, "idempotency_key contains a NUL byte");
  tf_expect_unchanged(t, before);
  /* the same calls without the NUL are served: the refusal was the NUL's alone */
  tf_expect_ok(create_raw(t, "k-one", "First ticket", &err), &err);
  tf_expect_ok(create_raw(t, "k-two", "Second ticket", &err), &err);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tickets"), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_nul_in_the_subject_is_invalid_argument_naming_it_and_writes_nothing, tf_setup,
          tf_teardown),
      cmocka_unit_test_setup_teardown(
          test_a_subject_of_only_spaces_is_invalid_argument_and_writes_nothing, tf_setup,
          tf_teardown),
      cmocka_unit_test_setup_teardown(
          test_keys_that_differ_after_a_nul_are_both_refused_not_taken_as_one, tf_setup,
          tf_teardown),
  };
  return cmocka_run_group_tests_name("tickets_nul_strings", tests, NULL, NULL);
}
