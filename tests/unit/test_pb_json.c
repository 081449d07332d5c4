/* common/json/pb_json: protobuf's canonical JSON mapping over the protobuf-c descriptors, on a
 * test message with every field type (tests/protos/pbjsontest.proto) and on the helpdesk protos
 * themselves (64-bit ids, enums, FieldMask, nested and repeated messages). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpdesk/v1/routing.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "json/pb_json.h"
#include "pbjsontest.pb-c.h"

#define ARENA_CAP (1u << 20)

static int setup(void **state) {
  *state = hd_arena_new(ARENA_CAP);
  return *state ? 0 : -1;
}

static int teardown(void **state) {
  hd_arena_free(*state);
  return 0;
}

/* Reads text as desc; fails the test with the error when refused. */
static ProtobufCMessage *read_ok(hd_arena *a, const ProtobufCMessageDescriptor *desc,
                                 const char *text) {
  ProtobufCMessage *m = NULL;
  hd_err err = {0};
  if (hd_pb_json_parse(desc, text, strlen(text), a, &m, &err) != 0)
    fail_msg("refused %s: %s", text, err.msg);
  return m;
}

/* Expects text refused as desc with code and needle in the message. */
static void assert_refused(hd_arena *a, const ProtobufCMessageDescriptor *desc, const char *text,
                           hd_code code, const char *needle) {
  ProtobufCMessage *m = NULL;
  hd_err err = {0};
  if (hd_pb_json_parse(desc, text, strlen(text), a, &m, &err) == 0) fail_msg("accepted %s", text);
  assert_null(m);
  assert_int_equal(err.code, code);
  if (!strstr(err.msg, needle)) fail_msg("message \"%s\" does not contain \"%s\"", err.msg, needle);
}

/* msg as compact JSON text. Caller frees with free(). */
static char *write_text(const ProtobufCMessage *msg) {
  json_t *obj = NULL;
  hd_err err = {0};
  if (hd_pb_json_write(msg, &obj, &err) != 0) fail_msg("write: %s", err.msg);
  char *text = json_dumps(obj, JSON_COMPACT);
  json_decref(obj);
  assert_non_null(text);
  return text;
}

static void assert_writes(const ProtobufCMessage *msg, const char *want) {
  char *got = write_text(msg);
  if (strcmp(got, want) != 0) {
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", got);
    free(got);
    fail_msg("wrote %s, want %s", copy, want);
  }
  free(got);
}

/* ---- 64-bit integers ---- */

static void test_int64_ids_are_written_as_strings_and_read_from_strings_or_numbers(void **state) {
  hd_arena *a = *state;
  Helpdesk__V1__GetTicketRequest *rq = (Helpdesk__V1__GetTicketRequest *)read_ok(
      a, &helpdesk__v1__get_ticket_request__descriptor, "{\"ticketId\": 7}");
  assert_int_equal(rq->ticket_id, 7);
  assert_writes(&rq->base, "{\"ticketId\":\"7\"}");
  rq = (Helpdesk__V1__GetTicketRequest *)read_ok(a, &helpdesk__v1__get_ticket_request__descriptor,
                                                 "{\"ticketId\": \"9223372036854775807\"}");
  assert_true(rq->ticket_id == INT64_MAX);
  assert_writes(&rq->base, "{\"ticketId\":\"9223372036854775807\"}");
  Hdtest__V1__AllTypes *m = (Hdtest__V1__AllTypes *)read_ok(
      a, &hdtest__v1__all_types__descriptor,
      "{\"u64\": \"18446744073709551615\", \"s64\": \"-9223372036854775808\", \"f64\": 1e3}");
  assert_true(m->u64 == UINT64_MAX);
  assert_true(m->s64 == INT64_MIN);
  assert_true(m->f64 == 1000);
  assert_writes(&m->base,
                "{\"u64\":\"18446744073709551615\",\"s64\":\"-9223372036854775808\","
                "\"f64\":\"1000\"}");
}

static void test_proto_field_names_are_accepted_as_well_as_json_names(void **state) {
  hd_arena *a = *state;
  Helpdesk__V1__ReplyToTicketRequest *rq = (Helpdesk__V1__ReplyToTicketRequest *)read_ok(
      a, &helpdesk__v1__reply_to_ticket_request__descriptor,
      "{\"ticket_id\": \"3\", \"expectedVersion\": 2, \"body\": \"on it\"}");
  assert_int_equal(rq->ticket_id, 3);
  assert_int_equal(rq->expected_version, 2);
  assert_string_equal(rq->body, "on it");
  assert_refused(a, &helpdesk__v1__reply_to_ticket_request__descriptor,
                 "{\"ticket_id\": 3, \"ticketId\": 3}", HD_INVALID_ARGUMENT,
                 "field ticketId given twice");
}

static void test_integers_out_of_their_range_are_refused(void **state) {
  hd_arena *a = *state;
  const ProtobufCMessageDescriptor *d = &hdtest__v1__all_types__descriptor;
  assert_refused(a, d, "{\"i32\": 2147483648}", HD_INVALID_ARGUMENT,
                 "i32: 2147483648 is out of range for int32");
  assert_refused(a, d, "{\"i32\": -2147483649}", HD_INVALID_ARGUMENT, "out of range for int32");
  assert_refused(a, d, "{\"u32\": -1}", HD_INVALID_ARGUMENT, "u32: -1 is out of range for uint32");
  assert_refused(a, d, "{\"u32\": \"4294967296\"}", HD_INVALID_ARGUMENT, "out of range for uint32");
  assert_refused(a, d, "{\"i64\": \"9223372036854775808\"}", HD_INVALID_ARGUMENT,
                 "i64: \"9223372036854775808\" is out of range for int64");
  assert_refused(a, d, "{\"u64\": \"18446744073709551616\"}", HD_INVALID_ARGUMENT,
                 "out of range for uint64");
  assert_refused(a, d, "{\"i64\": 1.5}", HD_INVALID_ARGUMENT, "i64: 1.5 is not a whole number");
  assert_refused(a, d, "{\"i64\": \"7x\"}", HD_INVALID_ARGUMENT, "\"7x\" is not an integer");
  assert_refused(a, d, "{\"i64\": \" 7\"}", HD_INVALID_ARGUMENT, "is not an integer");
  assert_refused(a, d, "{\"i64\": true}", HD_INVALID_ARGUMENT, "true or false, not an integer");
  assert_refused(a, d, "{\"fl\": 1e39}", HD_INVALID_ARGUMENT, "out of range for float");
  Hdtest__V1__AllTypes *m = (Hdtest__V1__AllTypes *)read_ok(
      a, d, "{\"i32\": -2147483648, \"u32\": 4294967295, \"i64\": -9223372036854775808}");
  assert_true(m->i32 == INT32_MIN);
  assert_true(m->u32 == UINT32_MAX);
  assert_true(m->i64 == INT64_MIN);
}

/* ---- enums ---- */

static void test_enums_are_read_by_name_short_name_or_number_and_written_by_name(void **state) {
  hd_arena *a = *state;
  const ProtobufCMessageDescriptor *d = &helpdesk__v1__reply_to_ticket_request__descriptor;
  Helpdesk__V1__ReplyToTicketRequest *rq = (Helpdesk__V1__ReplyToTicketRequest *)read_ok(
      a, d, "{\"intent\": \"REPLY_INTENT_FOLLOW_UP\"}");
  assert_int_equal(rq->intent, HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_FOLLOW_UP);
  rq = (Helpdesk__V1__ReplyToTicketRequest *)read_ok(a, d, "{\"intent\": \"ACKNOWLEDGE\"}");
  assert_int_equal(rq->intent, HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_ACKNOWLEDGE);
  rq = (Helpdesk__V1__ReplyToTicketRequest *)read_ok(a, d, "{\"intent\": 5}");
  assert_int_equal(rq->intent, HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_FINAL_ANSWER);
  assert_writes(&rq->base, "{\"intent\":\"REPLY_INTENT_FINAL_ANSWER\"}");
  assert_refused(a, d, "{\"intent\": \"ACK\"}", HD_INVALID_ARGUMENT,
                 "intent: \"ACK\" is not a value of helpdesk.v1.ReplyIntent (one of UNSPECIFIED, "
                 "ACKNOWLEDGE,");
  assert_refused(a, d, "{\"intent\": 4294967296}", HD_INVALID_ARGUMENT, "out of range");
  /* proto3 enums are open: a number the descriptor lacks is kept and written as the number. */
  Hdtest__V1__AllTypes *m = (Hdtest__V1__AllTypes *)read_ok(
      a, &hdtest__v1__all_types__descriptor, "{\"colour\": 3, \"colours\": [\"BLUE\", 1]}");
  assert_int_equal(m->colour, 3);
  assert_writes(&m->base, "{\"colour\":3,\"colours\":[\"COLOUR_BLUE\",\"COLOUR_RED\"]}");
}

/* ---- unknown fields, wrong shapes ---- */

static void test_unknown_fields_are_refused_naming_the_field_and_the_message(void **state) {
  hd_arena *a = *state;
  assert_refused(a, &helpdesk__v1__get_ticket_request__descriptor, "{\"tikcetId\": 7}",
                 HD_INVALID_ARGUMENT, "unknown field \"tikcetId\" in helpdesk.v1.GetTicketRequest");
  assert_refused(a, &helpdesk__v1__hand_over_shift_request__descriptor,
                 "{\"notes\": [{\"ticketId\": 1, \"note\": \"x\"}, {\"ticket\": 2}]}",
                 HD_INVALID_ARGUMENT,
                 "notes[1]: unknown field \"ticket\" in helpdesk.v1.HandOverNote");
  assert_refused(a, &helpdesk__v1__get_ticket_request__descriptor, "[1]", HD_INVALID_ARGUMENT,
                 "not a JSON object");
  assert_refused(a, &helpdesk__v1__hand_over_shift_request__descriptor, "{\"notes\": {}}",
                 HD_INVALID_ARGUMENT, "notes: an object, not an array");
  assert_refused(a, &helpdesk__v1__hand_over_shift_request__descriptor, "{\"notes\": [null]}",
                 HD_INVALID_ARGUMENT, "notes[0]: null in a repeated field");
  assert_refused(a, &hdtest__v1__all_types__descriptor, "{\"inner\": 3}", HD_INVALID_ARGUMENT,
                 "inner: a number, not an object (hdtest.v1.Inner)");
  assert_refused(a, &hdtest__v1__all_types__descriptor, "{\"textValue\": 3}", HD_INVALID_ARGUMENT,
                 "textValue: a number, not a string");
}

/* ---- bytes ---- */

static void test_bytes_are_base64_standard_or_url_safe_and_written_standard(void **state) {
  hd_arena *a = *state;
  const ProtobufCMessageDescriptor *d = &hdtest__v1__all_types__descriptor;
  /* 0xfb 0xff 0xbf: "+/+/" in the standard alphabet, "-_-_" in the URL-safe one. */
  const char *texts[] = {"{\"rawData\": \"+/+/\"}", "{\"raw_data\": \"-_-_\"}"};
  for (size_t i = 0; i < 2; i++) {
    Hdtest__V1__AllTypes *m = (Hdtest__V1__AllTypes *)read_ok(a, d, texts[i]);
    assert_int_equal(m->raw_data.len, 3);
    assert_memory_equal(m->raw_data.data, "\xfb\xff\xbf", 3);
    assert_writes(&m->base, "{\"rawData\":\"+/+/\"}");
  }
  Hdtest__V1__AllTypes *m =
      (Hdtest__V1__AllTypes *)read_ok(a, d, "{\"blobs\": [\"aGk=\", \"aGk\", \"\", \"aA\"]}");
  assert_int_equal(m->n_blobs, 4);
  assert_int_equal(m->blobs[0].len, 2);
  assert_memory_equal(m->blobs[0].data, "hi", 2);
  assert_int_equal(m->blobs[1].len, 2);
  assert_int_equal(m->blobs[2].len, 0);
  assert_int_equal(m->blobs[3].len, 1);
  assert_writes(&m->base, "{\"blobs\":[\"aGk=\",\"aGk=\",\"\",\"aA==\"]}");
  assert_refused(a, d, "{\"rawData\": \"a*b=\"}", HD_INVALID_ARGUMENT,
                 "rawData: not base64: '*' at character 2");
  assert_refused(a, d, "{\"rawData\": \"abcde\"}", HD_INVALID_ARGUMENT, "truncated");
  assert_refused(a, d, "{\"rawData\": \"+_\"}", HD_INVALID_ARGUMENT, "mixes the standard");
  assert_refused(a, d, "{\"rawData\": \"ab=c\"}", HD_INVALID_ARGUMENT, "not base64");
}

/* ---- nested and repeated, defaults, oneof ---- */

static void test_nested_and_repeated_fields_round_trip_with_defaults_left_out(void **state) {
  hd_arena *a = *state;
  const char *text =
      "{\"notes\": [{\"ticketId\": \"12\", \"note\": \"refund sent\"},"
      " {\"ticketId\": 13, \"note\": \"\"}], \"agentId\": \"\", "
      "\"idempotencyKey\": null}";
  Helpdesk__V1__HandOverShiftRequest *rq = (Helpdesk__V1__HandOverShiftRequest *)read_ok(
      a, &helpdesk__v1__hand_over_shift_request__descriptor, text);
  assert_int_equal(rq->n_notes, 2);
  assert_int_equal(rq->notes[1]->ticket_id, 13);
  assert_string_equal(rq->notes[0]->note, "refund sent");
  assert_writes(
      &rq->base,
      "{\"notes\":[{\"ticketId\":\"12\",\"note\":\"refund sent\"},{\"ticketId\":\"13\"}]}");
  Hdtest__V1__AllTypes *m = (Hdtest__V1__AllTypes *)read_ok(
      a, &hdtest__v1__all_types__descriptor,
      "{\"inner\": {}, \"ids\": [\"1\", 2], \"names\": [\"a\", \"\"], \"flag\": false, "
      "\"inners\": [{\"id\": 4, \"label\": \"x\"}], \"db\": \"NaN\", \"fl\": 0.5}");
  assert_non_null(m->inner);
  assert_int_equal(m->n_ids, 2);
  assert_writes(&m->base,
                "{\"fl\":0.5,\"db\":\"NaN\",\"inner\":{},\"ids\":[\"1\",\"2\"],"
                "\"names\":[\"a\",\"\"],\"inners\":[{\"id\":\"4\",\"label\":\"x\"}]}");
  Hdtest__V1__AllTypes empty = HDTEST__V1__ALL_TYPES__INIT;
  assert_writes(&empty.base, "{}");
}

static void test_a_set_oneof_member_is_written_even_at_its_default_and_two_are_refused(
    void **state) {
  hd_arena *a = *state;
  const ProtobufCMessageDescriptor *d = &hdtest__v1__all_types__descriptor;
  Hdtest__V1__AllTypes *m = (Hdtest__V1__AllTypes *)read_ok(a, d, "{\"choiceNumber\": 0}");
  assert_int_equal(m->choice_case, HDTEST__V1__ALL_TYPES__CHOICE_CHOICE_NUMBER);
  assert_writes(&m->base, "{\"choiceNumber\":\"0\"}");
  assert_refused(a, d, "{\"choiceText\": \"a\", \"choiceNumber\": 1}", HD_INVALID_ARGUMENT,
                 "choiceText and choiceNumber are one oneof of hdtest.v1.AllTypes: give one");
}

static void test_a_field_mask_is_a_string_of_camel_case_paths(void **state) {
  hd_arena *a = *state;
  Helpdesk__V1__UpdateTenantSettingsRequest *rq =
      (Helpdesk__V1__UpdateTenantSettingsRequest *)read_ok(
          a, &helpdesk__v1__update_tenant_settings_request__descriptor,
          "{\"updateMask\": \"reminderChannel,reviewLink\"}");
  assert_non_null(rq->update_mask);
  assert_int_equal(rq->update_mask->n_paths, 2);
  assert_string_equal(rq->update_mask->paths[0], "reminder_channel");
  assert_string_equal(rq->update_mask->paths[1], "review_link");
  assert_writes(&rq->base, "{\"updateMask\":\"reminderChannel,reviewLink\"}");
  assert_refused(a, &helpdesk__v1__update_tenant_settings_request__descriptor,
                 "{\"updateMask\": \"review_link\"}", HD_INVALID_ARGUMENT, "lowerCamelCase");
}

static void test_a_reply_message_read_back_from_its_json_is_equal(void **state) {
  hd_arena *a = *state;
  Helpdesk__V1__Escalation e = HELPDESK__V1__ESCALATION__INIT;
  e.id = 5000000000LL;
  e.ticket_id = 7;
  e.mode = HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_ASSIGN;
  e.to_department = "BILLING";
  e.context = "charged twice — «invoice» 2211";
  char *text = write_text(&e.base);
  Helpdesk__V1__Escalation *back =
      (Helpdesk__V1__Escalation *)read_ok(a, &helpdesk__v1__escalation__descriptor, text);
  free(text);
  uint8_t want[512], got[512];
  size_t wn = protobuf_c_message_get_packed_size(&e.base);
  size_t gn = protobuf_c_message_get_packed_size(&back->base);
  assert_true(wn < sizeof want && gn == wn);
  protobuf_c_message_pack(&e.base, want);
  protobuf_c_message_pack(&back->base, got);
  assert_memory_equal(want, got, wn);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_int64_ids_are_written_as_strings_and_read_from_strings_or_numbers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_proto_field_names_are_accepted_as_well_as_json_names,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_integers_out_of_their_range_are_refused, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_enums_are_read_by_name_short_name_or_number_and_written_by_name, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_unknown_fields_are_refused_naming_the_field_and_the_message, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_bytes_are_base64_standard_or_url_safe_and_written_standard, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_nested_and_repeated_fields_round_trip_with_defaults_left_out, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_a_set_oneof_member_is_written_even_at_its_default_and_two_are_refused, setup,
          teardown),
      cmocka_unit_test_setup_teardown(test_a_field_mask_is_a_string_of_camel_case_paths, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_a_reply_message_read_back_from_its_json_is_equal, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
