/* The request edge without gRPC (common/rpc/edge.h, run by rpc_dispatch and by fuzz/fuzz_edge):
 * the role check names the roles and the table's reason; the NUL check comes before unpacking;
 * bytes that are no message are refused naming the type; a good request lands in the arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "rpc/edge.h"

static hd_principal edge__caller(unsigned roles) {
  hd_principal p;
  memset(&p, 0, sizeof p);
  strcpy(p.tenant, "acme");
  strcpy(p.user_id, "cust-1");
  p.roles = roles;
  return p;
}

static void test_edge_roles_refuse_a_caller_without_one_and_give_the_reason(void **state) {
  (void)state;
  hd_principal p = edge__caller(HD_ROLE_CUSTOMER);
  hd_call call;
  memset(&call, 0, sizeof call);
  call.principal = &p;
  assert_int_equal(hd_rpc_edge_roles(&call, HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR,
                                     "SetCategory is for a team_lead or supervisor"),
                   -1);
  assert_int_equal(call.err.code, HD_PERMISSION_DENIED);
  assert_non_null(strstr(call.err.msg, "team_lead or supervisor"));
  assert_non_null(strstr(call.err.msg, "(SetCategory is for a team_lead or supervisor)"));
}

static void test_edge_roles_let_in_a_holder_and_any_caller_when_none_is_required(void **state) {
  (void)state;
  hd_principal p = edge__caller(HD_ROLE_AGENT);
  hd_call call;
  memset(&call, 0, sizeof call);
  call.principal = &p;
  assert_int_equal(hd_rpc_edge_roles(&call, HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD, NULL), 0);
  assert_int_equal(hd_rpc_edge_roles(&call, 0, NULL), 0);
  assert_int_equal(call.err.code, HD_OK);
}

static void test_edge_unpack_refuses_a_nul_before_unpacking_and_names_the_field(void **state) {
  (void)state;
  Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  req.idempotency_key = "k-1";
  req.subject = "before~after";
  size_t len = protobuf_c_message_get_packed_size(&req.base);
  uint8_t *buf = malloc(len);
  assert_non_null(buf);
  protobuf_c_message_pack(&req.base, buf);
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '~') buf[i] = '\0';
  hd_call call;
  memset(&call, 0, sizeof call);
  call.arena = hd_arena_new(1 << 20);
  ProtobufCMessage *out = (ProtobufCMessage *)buf; /* must be cleared */
  assert_int_equal(
      hd_rpc_edge_unpack(&call, &helpdesk__v1__create_ticket_request__descriptor, buf, len, &out),
      -1);
  assert_null(out);
  assert_int_equal(call.err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(call.err.msg, "subject contains a NUL byte"));
  hd_arena_free(call.arena);
  free(buf);
}

static void test_edge_unpack_refuses_bytes_that_are_no_message_naming_its_type(void **state) {
  (void)state;
  const uint8_t junk[] = {0x0a, 0x7f, 'a'}; /* field 1, length 127, one byte of it */
  hd_call call;
  memset(&call, 0, sizeof call);
  call.arena = hd_arena_new(1 << 20);
  ProtobufCMessage *out;
  assert_int_equal(hd_rpc_edge_unpack(&call, &helpdesk__v1__get_ticket_request__descriptor, junk,
                                      sizeof junk, &out),
                   -1);
  assert_null(out);
  assert_int_equal(call.err.code, HD_INVALID_ARGUMENT);
  assert_string_equal(call.err.msg,
                      "the request is not a valid helpdesk.v1.GetTicketRequest message");
  hd_arena_free(call.arena);
}

static void test_edge_unpack_puts_a_good_request_in_the_arena(void **state) {
  (void)state;
  Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  req.idempotency_key = "k-1";
  req.subject = "Cannot log in";
  uint8_t buf[128];
  size_t len = protobuf_c_message_pack(&req.base, buf);
  hd_call call;
  memset(&call, 0, sizeof call);
  call.arena = hd_arena_new(1 << 20);
  ProtobufCMessage *out;
  assert_int_equal(
      hd_rpc_edge_unpack(&call, &helpdesk__v1__create_ticket_request__descriptor, buf, len, &out),
      0);
  memset(buf, 0, sizeof buf); /* the request does not point into raw */
  const Helpdesk__V1__CreateTicketRequest *got = (const Helpdesk__V1__CreateTicketRequest *)out;
  assert_string_equal(got->subject, "Cannot log in");
  assert_string_equal(got->idempotency_key, "k-1");
  assert_true(hd_arena_used(call.arena) > 0);
  hd_arena_free(call.arena);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_edge_roles_refuse_a_caller_without_one_and_give_the_reason),
      cmocka_unit_test(test_edge_roles_let_in_a_holder_and_any_caller_when_none_is_required),
      cmocka_unit_test(test_edge_unpack_refuses_a_nul_before_unpacking_and_names_the_field),
      cmocka_unit_test(test_edge_unpack_refuses_bytes_that_are_no_message_naming_its_type),
      cmocka_unit_test(test_edge_unpack_puts_a_good_request_in_the_arena),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
