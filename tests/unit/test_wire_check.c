/* The NUL walk over raw request bytes (common/rpc/wire_check): a NUL in a `string` field at any
 * depth (nested messages, repeated messages) is refused with the field's path; bytes fields and
 * unknown fields may hold NULs; bytes it cannot parse are left to the unpacker. And
 * hd_text_is_blank, the rule for required text made only of white space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "rpc/wire_check.h"

/* Packs m and turns every '~' of the packed bytes into a NUL (protobuf-c cannot pack one: it
 * measures strings with strlen). Caller frees; *len its length. */
static uint8_t *pack_with_nuls(const ProtobufCMessage *m, size_t *len) {
  *len = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(*len ? *len : 1);
  assert_non_null(buf);
  protobuf_c_message_pack(m, buf);
  for (size_t i = 0; i < *len; i++)
    if (buf[i] == '~') buf[i] = '\0';
  return buf;
}

static int check(const ProtobufCMessageDescriptor *d, const ProtobufCMessage *m, hd_err *err) {
  size_t len;
  uint8_t *buf = pack_with_nuls(m, &len);
  hd_err_clear(err);
  int rc = hd_wire_check_strings(d, buf, len, err);
  free(buf);
  return rc;
}

static void test_nul_in_a_top_level_string_names_the_field(void **state) {
  (void)state;
  Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  req.idempotency_key = "k-1";
  req.subject = "before~after";
  hd_err err;
  assert_int_equal(check(&helpdesk__v1__create_ticket_request__descriptor, &req.base, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "subject contains a NUL byte"));
  req.subject = "before after";
  assert_int_equal(check(&helpdesk__v1__create_ticket_request__descriptor, &req.base, &err), 0);
  req.idempotency_key = "k~one";
  assert_int_equal(check(&helpdesk__v1__create_ticket_request__descriptor, &req.base, &err), -1);
  assert_non_null(strstr(err.msg, "idempotency_key contains a NUL byte"));
  /* at the very start and the very end of the value */
  req.idempotency_key = "~k";
  assert_int_equal(check(&helpdesk__v1__create_ticket_request__descriptor, &req.base, &err), -1);
  req.idempotency_key = "k~";
  assert_int_equal(check(&helpdesk__v1__create_ticket_request__descriptor, &req.base, &err), -1);
}

static void test_nul_in_a_nested_repeated_message_names_its_path(void **state) {
  (void)state;
  Helpdesk__V1__Attachment a1 = HELPDESK__V1__ATTACHMENT__INIT, a2 = HELPDESK__V1__ATTACHMENT__INIT;
  a1.filename = "ok.txt";
  a2.filename = "bad~.txt";
  Helpdesk__V1__Attachment *list[] = {&a1, &a2};
  Helpdesk__V1__ListAttachmentsResponse resp = HELPDESK__V1__LIST_ATTACHMENTS_RESPONSE__INIT;
  resp.n_attachments = 2;
  resp.attachments = list;
  hd_err err;
  assert_int_equal(check(&helpdesk__v1__list_attachments_response__descriptor, &resp.base, &err),
                   -1);
  assert_string_equal(err.msg,
                      "attachments.filename contains a NUL byte (\\0); text fields must not "
                      "contain NUL");
  a2.filename = "fine.txt";
  a2.uploaded_by = "agent~1";
  assert_int_equal(check(&helpdesk__v1__list_attachments_response__descriptor, &resp.base, &err),
                   -1);
  assert_non_null(strstr(err.msg, "attachments.uploaded_by "));
  a2.uploaded_by = "agent-1";
  assert_int_equal(check(&helpdesk__v1__list_attachments_response__descriptor, &resp.base, &err),
                   0);
  /* one level down inside a message field */
  Helpdesk__V1__GetAttachmentResponse got = HELPDESK__V1__GET_ATTACHMENT_RESPONSE__INIT;
  got.attachment = &a1;
  a1.content_type = "text/~plain";
  assert_int_equal(check(&helpdesk__v1__get_attachment_response__descriptor, &got.base, &err), -1);
  assert_non_null(strstr(err.msg, "attachment.content_type "));
}

static void test_bytes_and_unknown_fields_may_hold_nuls(void **state) {
  (void)state;
  uint8_t content[] = {'a', 0, 'b', 0, 0};
  Helpdesk__V1__AddAttachmentRequest req = HELPDESK__V1__ADD_ATTACHMENT_REQUEST__INIT;
  req.ticket_id = 7;
  req.filename = "photo.png";
  req.content.data = content;
  req.content.len = sizeof content;
  hd_err err;
  assert_int_equal(check(&helpdesk__v1__add_attachment_request__descriptor, &req.base, &err), 0);
  /* field 15 is unknown to the message: its bytes are never read as text */
  size_t len = protobuf_c_message_get_packed_size(&req.base);
  uint8_t *buf = malloc(len + 4);
  protobuf_c_message_pack(&req.base, buf);
  buf[len] = (15 << 3) | 2;
  buf[len + 1] = 2;
  buf[len + 2] = 0;
  buf[len + 3] = 0;
  assert_int_equal(
      hd_wire_check_strings(&helpdesk__v1__add_attachment_request__descriptor, buf, len + 4, &err),
      0);
  free(buf);
  /* packed repeated integers (a varint of 0 is a NUL byte) */
  int64_t ids[] = {0, 0, 256};
  Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
  t.n_associated_ticket_ids = 3;
  t.associated_ticket_ids = ids;
  assert_int_equal(check(&helpdesk__v1__ticket__descriptor, &t.base, &err), 0);
}

static void test_bytes_it_cannot_parse_are_left_to_the_unpacker(void **state) {
  (void)state;
  hd_err err = {0};
  const uint8_t truncated[] = {(3 << 3) | 2, 10, 'a', 0}; /* says 10 bytes, has 2 */
  assert_int_equal(hd_wire_check_strings(&helpdesk__v1__create_ticket_request__descriptor,
                                         truncated, sizeof truncated, &err),
                   0);
  const uint8_t group[] = {(3 << 3) | 3};
  assert_int_equal(hd_wire_check_strings(&helpdesk__v1__create_ticket_request__descriptor, group,
                                         sizeof group, &err),
                   0);
  assert_int_equal(
      hd_wire_check_strings(&helpdesk__v1__create_ticket_request__descriptor, NULL, 0, &err), 0);
}

static void test_blank_text_is_only_white_space(void **state) {
  (void)state;
  assert_true(hd_text_is_blank("", 0));
  assert_true(hd_text_is_blank("   ", 3));
  assert_true(hd_text_is_blank(" \t\r\n\v\f", 6));
  assert_true(hd_text_is_blank("\xc2\xa0\xe3\x80\x80\xe2\x80\x8b", 8)); /* NBSP, U+3000, ZWSP */
  assert_false(hd_text_is_blank(" a ", 3));
  assert_false(hd_text_is_blank("\xc3\xa9", 2)); /* é */
  assert_false(hd_text_is_blank("  .", 3));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nul_in_a_top_level_string_names_the_field),
      cmocka_unit_test(test_nul_in_a_nested_repeated_message_names_its_path),
      cmocka_unit_test(test_bytes_and_unknown_fields_may_hold_nuls),
      cmocka_unit_test(test_bytes_it_cannot_parse_are_left_to_the_unpacker),
      cmocka_unit_test(test_blank_text_is_only_white_space),
  };
  return cmocka_run_group_tests_name("wire_check", tests, NULL, NULL);
}
