/* common/json: the compact capped writer (event payloads), the bounded strict reader (claims,
 * events read back), the typed getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json/json.h"

static void assert_msg_has(const hd_err *err, const char *needle) {
  if (!strstr(err->msg, needle))
    fail_msg("message \"%s\" does not contain \"%s\"", err->msg, needle);
}

/* Dumps doc with the event limits, frees doc, returns the text (caller frees with free()). */
static char *dump_ok(json_t *doc, size_t *len) {
  char *out = NULL;
  hd_err err = {0};
  assert_non_null(doc);
  if (hd_json_dump(doc, &HD_JSON_EVENT_LIMITS, &out, len, &err) != 0)
    fail_msg("hd_json_dump: %s", err.msg);
  json_decref(doc);
  return out;
}

/* Parses text with the event limits; expects a refusal with code and needle in the message. */
static void assert_parse_refused(const char *text, size_t len, hd_code code, const char *needle) {
  json_t *doc = (json_t *)1;
  hd_err err = {0};
  assert_int_equal(hd_json_parse_object(text, len, &HD_JSON_EVENT_LIMITS, &doc, &err), -1);
  assert_null(doc);
  assert_int_equal(err.code, code);
  assert_msg_has(&err, needle);
}

/* "[[[...1...]]]" nested n arrays deep inside {"a": ...}: n + 1 levels. Caller frees. */
static char *nested_arrays(size_t n) {
  char *s = malloc(2 * n + 16);
  assert_non_null(s);
  size_t used = (size_t)sprintf(s, "{\"a\":");
  for (size_t i = 0; i < n; i++) s[used++] = '[';
  s[used++] = '1';
  for (size_t i = 0; i < n; i++) s[used++] = ']';
  s[used++] = '}';
  s[used] = '\0';
  return s;
}

/* ---- writer ---- */

static void test_object_with_every_member_kind_is_written_compactly(void **state) {
  (void)state;
  json_error_t je;
  size_t len = 0;
  char *out = dump_ok(
      json_pack_ex(&je, 0, "{s:s, s:I, s:I, s:b, s:n, s:{s:s}, s:{}}", "event", "ticket.created",
                   "ticket_id", (json_int_t)42, "neg", (json_int_t)INT64_MIN, "resolved", 1,
                   "owner_id", "ticket", "status", "CLOSED", "empty"),
      &len);
  assert_string_equal(out,
                      "{\"event\":\"ticket.created\",\"ticket_id\":42,\"neg\":-9223372036854775808,"
                      "\"resolved\":true,\"owner_id\":null,\"ticket\":{\"status\":\"CLOSED\"},"
                      "\"empty\":{}}");
  assert_int_equal(len, strlen(out));
  free(out);
}

static void test_members_keep_the_order_they_were_set_in(void **state) {
  (void)state;
  json_t *doc = json_object();
  assert_non_null(doc);
  static const char *const keys[] = {"z", "a", "m", "b"};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(json_object_set_new(doc, keys[i], json_integer((json_int_t)i)), 0);
  char *out = dump_ok(doc, NULL);
  assert_string_equal(out, "{\"z\":0,\"a\":1,\"m\":2,\"b\":3}");
  free(out);
}

static void test_quotes_backslashes_and_control_characters_are_escaped(void **state) {
  (void)state;
  json_error_t je;
  char *out =
      dump_ok(json_pack_ex(&je, 0, "{s:s, s:s, s:s%}", "a\"b", "say \"hi\"\\ \n\r\t\x01\x1f end",
                           "utf8", "café ✓ 𝄞", "nul", "x\0y", (size_t)3),
              NULL);
  /* jansson writes the \u escapes of control characters in upper case. */
  assert_string_equal(out,
                      "{\"a\\\"b\":\"say \\\"hi\\\"\\\\ \\n\\r\\t\\u0001\\u001F end\","
                      "\"utf8\":\"café ✓ 𝄞\",\"nul\":\"x\\u0000y\"}");
  free(out);
}

static void test_invalid_utf8_fails_the_document_as_internal(void **state) {
  (void)state;
  json_error_t je;
  hd_err err = {0};
  json_t *doc = json_pack_ex(&je, 0, "{s:s, s:s}", "bad", "a\xff", "after", "ok");
  assert_null(doc);
  assert_int_equal(hd_json_pack_failed(&je, "the test event", &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_msg_has(&err, "the test event cannot be built");
  assert_msg_has(&err, "UTF-8");
  /* A key that is not UTF-8 is refused as well. */
  doc = json_object();
  assert_non_null(doc);
  assert_int_equal(json_object_set_new(doc, "k\xc3", json_true()), -1);
  assert_int_equal(json_object_size(doc), 0);
  json_decref(doc);
}

static void test_document_at_its_cap_passes_and_one_byte_more_fails(void **state) {
  (void)state;
  /* {"k":"<n x>"} is n + 8 bytes. */
  const hd_json_limits lim = {.max_bytes = 100, .max_depth = HD_JSON_MAX_DEPTH};
  char v[100];
  memset(v, 'x', sizeof v);
  for (int extra = 0; extra <= 1; extra++) {
    json_error_t je;
    json_t *doc = json_pack_ex(&je, 0, "{s:s%}", "k", v, (size_t)(92 + extra));
    assert_non_null(doc);
    char *out = NULL;
    size_t len = 0;
    hd_err err = {0};
    if (extra == 0) {
      assert_int_equal(hd_json_dump(doc, &lim, &out, &len, &err), 0);
      assert_int_equal(len, 100);
      assert_int_equal(strlen(out), 100);
    } else {
      assert_int_equal(hd_json_dump(doc, &lim, &out, &len, &err), -1);
      assert_int_equal(err.code, HD_RESOURCE_EXHAUSTED);
      assert_msg_has(&err, "101 bytes; at most 100");
      assert_null(out);
    }
    free(out);
    json_decref(doc);
  }
}

static void test_unbalanced_objects_and_stray_members_fail(void **state) {
  (void)state;
  static const char *const formats[] = {"{s:i", "s:i", "{}}", "{s}", ""};
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
    json_error_t je;
    hd_err err = {0};
    json_t *doc = json_pack_ex(&je, 0, formats[i], "k", 1);
    if (doc) fail_msg("format \"%s\" built a document", formats[i]);
    assert_int_equal(hd_json_pack_failed(&je, "a document", &err), -1);
    assert_int_equal(err.code, HD_INTERNAL);
  }
  /* Nothing, or a value that is not a container, is not a document. */
  char *out = NULL;
  hd_err err = {0};
  assert_int_equal(hd_json_dump(NULL, &HD_JSON_EVENT_LIMITS, &out, NULL, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  json_t *s = json_string("x");
  assert_int_equal(hd_json_dump(s, &HD_JSON_EVENT_LIMITS, &out, NULL, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_null(out);
  json_decref(s);
}

/* An object nested `levels` deep: {"n":{"n":...{}}}. Caller frees with json_decref(). */
static json_t *nested_objects(size_t levels) {
  json_t *doc = json_object();
  for (size_t i = 1; i < levels; i++) {
    json_t *outer = json_object();
    assert_int_equal(json_object_set_new(outer, "n", doc), 0);
    doc = outer;
  }
  return doc;
}

static void test_nesting_past_the_limit_fails(void **state) {
  (void)state;
  char *out = dump_ok(nested_objects(HD_JSON_MAX_DEPTH), NULL);
  free(out);
  json_t *deep = nested_objects(HD_JSON_MAX_DEPTH + 1);
  hd_err err = {0};
  out = NULL;
  assert_int_equal(hd_json_dump(deep, &HD_JSON_EVENT_LIMITS, &out, NULL, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_msg_has(&err, "nests too deep");
  json_decref(deep);
}

/* ---- reader ---- */

static void test_reader_reads_back_a_nested_event_the_writer_wrote(void **state) {
  (void)state;
  json_error_t je;
  json_t *in = json_pack_ex(&je, 0, "{s:s, s:I, s:{s:s, s:n, s:I}, s:{s:{s:s, s:s}}, s:[s, s]}",
                            "event", "ticket.owner_changed", "version", (json_int_t)7, "ticket",
                            "status", "PROCESSING", "owner_id", "level", (json_int_t)2, "changes",
                            "owner_id", "from", "", "to", "agent-7", "tags", "a", "é");
  assert_non_null(in);
  size_t len = 0;
  char *text = NULL;
  hd_err err = {0};
  assert_int_equal(hd_json_dump(in, &HD_JSON_EVENT_LIMITS, &text, &len, &err), 0);
  json_t *back = NULL;
  assert_int_equal(hd_json_parse_object(text, len, &HD_JSON_EVENT_LIMITS, &back, &err), 0);
  assert_true(json_equal(in, back));
  const json_t *ticket = NULL, *changes = NULL, *owner = NULL, *tags = NULL;
  const char *s = NULL;
  size_t slen = 0;
  int64_t n = 0;
  assert_int_equal(hd_json_get_str(back, "event", &s, &slen, &err), 0);
  assert_string_equal(s, "ticket.owner_changed");
  assert_int_equal(slen, 20);
  assert_int_equal(hd_json_get_int(back, "version", &n, &err), 0);
  assert_int_equal(n, 7);
  assert_int_equal(hd_json_get_object(back, "ticket", &ticket, &err), 0);
  assert_int_equal(hd_json_get_opt_str(ticket, "owner_id", &s, &slen, &err), 0);
  assert_null(s);
  assert_int_equal(slen, 0);
  assert_int_equal(hd_json_get_opt_str(ticket, "department", &s, NULL, &err), 0); /* missing */
  assert_null(s);
  assert_int_equal(hd_json_get_opt_str(ticket, "status", &s, NULL, &err), 0);
  assert_string_equal(s, "PROCESSING");
  assert_int_equal(hd_json_get_object(back, "changes", &changes, &err), 0);
  assert_int_equal(hd_json_get_object(changes, "owner_id", &owner, &err), 0);
  assert_int_equal(hd_json_get_str(owner, "to", &s, NULL, &err), 0);
  assert_string_equal(s, "agent-7");
  assert_int_equal(hd_json_get_array(back, "tags", &tags, &err), 0);
  assert_int_equal(json_array_size(tags), 2);
  assert_string_equal(json_string_value(json_array_get(tags, 1)), "é");
  json_decref(back);
  json_decref(in);
  free(text);
}

static void test_reader_refuses_what_the_rules_forbid_with_the_byte_position(void **state) {
  (void)state;
  assert_parse_refused("{\"a\":1,\"a\":2}", 13, HD_INVALID_ARGUMENT, "duplicate key at byte 10");
  assert_parse_refused("{\"a\":{\"b\":1,\"b\":1}}", 19, HD_INVALID_ARGUMENT, "duplicate key");
  assert_parse_refused("{\"a\":\"\xc3\x28\"}", 9, HD_INVALID_ARGUMENT, "not valid UTF-8 at byte 6");
  assert_parse_refused("{\"a\":\"\xed\xa0\x80\"}", 10, HD_INVALID_ARGUMENT, "not valid UTF-8");
  assert_parse_refused("{\"a\":\"\xc0\xaf\"}", 9, HD_INVALID_ARGUMENT, "not valid UTF-8");
  assert_parse_refused("{\"a\":\"\xf4\x90\x80\x80\"}", 11, HD_INVALID_ARGUMENT, "not valid UTF-8");
  assert_parse_refused("{\"a\":\"\\u0000\"}", 14, HD_INVALID_ARGUMENT, "\\u0000 in a string");
  assert_parse_refused("{\"a\":\"\\ud83d\"}", 14, HD_INVALID_ARGUMENT, "invalid Unicode");
  assert_parse_refused("{\"a\":9223372036854775808}", 25, HD_INVALID_ARGUMENT,
                       "number out of range");
  assert_parse_refused("{\"a\":1e400}", 11, HD_INVALID_ARGUMENT, "number out of range");
  assert_parse_refused("{\"a\":1} {}", 10, HD_INVALID_ARGUMENT, "text after the object");
  assert_parse_refused("{\"a\" 1}", 7, HD_INVALID_ARGUMENT, "':' expected at byte 6");
  assert_parse_refused("[1]", 3, HD_INVALID_ARGUMENT, "not a JSON object");
  assert_parse_refused(" \n", 2, HD_INVALID_ARGUMENT, "not a JSON object");
  assert_parse_refused(NULL, 0, HD_INVALID_ARGUMENT, "not a JSON object");
  /* A NUL byte in the text ends nothing early: it is refused where it stands. */
  assert_parse_refused("{\"a\":1}\0", 8, HD_INVALID_ARGUMENT, "at byte");
  /* The message never quotes the text (jansson's "near '...'" is left out). */
  json_t *doc = NULL;
  hd_err err = {0};
  assert_int_equal(
      hd_json_parse_object("{\"secret-value\" 1}", 18, &HD_JSON_EVENT_LIMITS, &doc, &err), -1);
  assert_null(strstr(err.msg, "secret"));
  /* The edges of int64 are read exactly. */
  assert_int_equal(
      hd_json_parse_object("{\"max\":9223372036854775807,\"min\":-9223372036854775808}", 54,
                           &HD_JSON_EVENT_LIMITS, &doc, &err),
      0);
  int64_t v = 0;
  assert_int_equal(hd_json_get_int(doc, "max", &v, &err), 0);
  assert_true(v == INT64_MAX);
  assert_int_equal(hd_json_get_int(doc, "min", &v, &err), 0);
  assert_true(v == INT64_MIN);
  json_decref(doc);
}

static void test_reader_size_limit_edge_and_one_past(void **state) {
  (void)state;
  const hd_json_limits lim = {.max_bytes = 64, .max_depth = 2};
  char text[80];
  /* {"k":"<n x>"} is n + 8 bytes: 56 x is the edge. */
  for (int extra = 0; extra <= 1; extra++) {
    const size_t n = 56 + (size_t)extra;
    memcpy(text, "{\"k\":\"", 6);
    memset(text + 6, 'x', n);
    memcpy(text + 6 + n, "\"}", 2);
    json_t *doc = NULL;
    hd_err err = {0};
    const int rc = hd_json_parse_object(text, n + 8, &lim, &doc, &err);
    if (extra == 0) {
      assert_int_equal(rc, 0);
      json_decref(doc);
    } else {
      assert_int_equal(rc, -1);
      assert_int_equal(err.code, HD_INVALID_ARGUMENT);
      assert_msg_has(&err, "65 bytes; at most 64");
    }
  }
}

static void test_reader_depth_limit_edge_and_one_past(void **state) {
  (void)state;
  /* {"a": 7 arrays} is 8 levels, the edge; 8 arrays is one past. */
  char *edge = nested_arrays(HD_JSON_MAX_DEPTH - 1), *past = nested_arrays(HD_JSON_MAX_DEPTH);
  json_t *doc = NULL;
  hd_err err = {0};
  assert_int_equal(hd_json_parse_object(edge, strlen(edge), &HD_JSON_EVENT_LIMITS, &doc, &err), 0);
  json_decref(doc);
  assert_parse_refused(past, strlen(past), HD_INVALID_ARGUMENT, "nests deeper than 8 levels");
  /* A smaller limit is honoured: 3 levels with max_depth 2. */
  const hd_json_limits two = {.max_bytes = 1024, .max_depth = 2};
  assert_int_equal(hd_json_parse_object("{\"a\":[1]}", 9, &two, &doc, &err), 0);
  json_decref(doc);
  assert_int_equal(hd_json_parse_object("{\"a\":[[1]]}", 11, &two, &doc, &err), -1);
  assert_msg_has(&err, "nests deeper than 2 levels");
  /* Far past jansson's own limit (2048): refused, not a crash. */
  char *deep = nested_arrays(5000);
  const hd_json_limits big = {.max_bytes = 20000, .max_depth = HD_JSON_MAX_DEPTH};
  assert_int_equal(hd_json_parse_object(deep, strlen(deep), &big, &doc, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_msg_has(&err, "nests deeper than");
  free(deep);
  free(past);
  free(edge);
}

static void test_limits_outside_their_range_are_internal(void **state) {
  (void)state;
  static const hd_json_limits bad[] = {{.max_bytes = 0, .max_depth = 1},
                                       {.max_bytes = 10, .max_depth = 0},
                                       {.max_bytes = 10, .max_depth = HD_JSON_MAX_DEPTH + 1}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *doc = NULL;
    hd_err err = {0};
    assert_int_equal(hd_json_parse_object("{}", 2, &bad[i], &doc, &err), -1);
    assert_int_equal(err.code, HD_INTERNAL);
    json_t *o = json_object();
    char *out = NULL;
    assert_int_equal(hd_json_dump(o, &bad[i], &out, NULL, &err), -1);
    assert_int_equal(err.code, HD_INTERNAL);
    json_decref(o);
  }
}

/* ---- getters ---- */

static void test_getters_say_what_is_missing_or_of_another_type(void **state) {
  (void)state;
  json_t *doc = NULL;
  hd_err err = {0};
  static const char text[] =
      "{\"s\":\"x\",\"n\":1,\"r\":1.5,\"b\":false,\"z\":null,\"o\":{},\"a\":[]}";
  assert_int_equal(hd_json_parse_object(text, sizeof text - 1, &HD_JSON_EVENT_LIMITS, &doc, &err),
                   0);
  const char *s = NULL;
  int64_t n = 0;
  bool b = true;
  const json_t *v = NULL;
  assert_int_equal(hd_json_get_str(doc, "missing", &s, NULL, &err), -1);
  assert_int_equal(err.code, HD_NOT_FOUND);
  assert_string_equal(err.msg, "no member \"missing\"");
  assert_int_equal(hd_json_get_str(doc, "n", &s, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, "member \"n\" is a number, not a string");
  assert_int_equal(hd_json_get_str(doc, "z", &s, NULL, &err), -1);
  assert_string_equal(err.msg, "member \"z\" is null, not a string");
  assert_int_equal(hd_json_get_opt_str(doc, "b", &s, NULL, &err), -1);
  assert_string_equal(err.msg, "member \"b\" is true or false, not a string or null");
  assert_int_equal(hd_json_get_int(doc, "r", &n, &err), -1);
  assert_string_equal(err.msg, "member \"r\" is not a whole number");
  assert_int_equal(hd_json_get_int(doc, "s", &n, &err), -1);
  assert_string_equal(err.msg, "member \"s\" is a string, not a whole number");
  assert_int_equal(hd_json_get_bool(doc, "b", &b, &err), 0);
  assert_false(b);
  assert_int_equal(hd_json_get_bool(doc, "n", &b, &err), -1);
  assert_int_equal(hd_json_get_object(doc, "a", &v, &err), -1);
  assert_string_equal(err.msg, "member \"a\" is an array, not an object");
  assert_null(v);
  assert_int_equal(hd_json_get_array(doc, "o", &v, &err), -1);
  assert_string_equal(err.msg, "member \"o\" is an object, not an array");
  assert_int_equal(hd_json_get_object(doc, "o", &v, &err), 0);
  assert_int_equal(hd_json_get_str(v, "inner", &s, NULL, &err), -1);
  assert_int_equal(err.code, HD_NOT_FOUND);
  /* Reading a member of something that is not an object. */
  assert_int_equal(hd_json_get_array(doc, "a", &v, &err), 0);
  assert_int_equal(hd_json_get_int(v, "x", &n, &err), -1);
  assert_string_equal(err.msg, "cannot read member \"x\" of an array");
  assert_int_equal(hd_json_get_int(NULL, "x", &n, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  json_decref(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_object_with_every_member_kind_is_written_compactly),
      cmocka_unit_test(test_members_keep_the_order_they_were_set_in),
      cmocka_unit_test(test_quotes_backslashes_and_control_characters_are_escaped),
      cmocka_unit_test(test_invalid_utf8_fails_the_document_as_internal),
      cmocka_unit_test(test_document_at_its_cap_passes_and_one_byte_more_fails),
      cmocka_unit_test(test_unbalanced_objects_and_stray_members_fail),
      cmocka_unit_test(test_nesting_past_the_limit_fails),
      cmocka_unit_test(test_reader_reads_back_a_nested_event_the_writer_wrote),
      cmocka_unit_test(test_reader_refuses_what_the_rules_forbid_with_the_byte_position),
      cmocka_unit_test(test_reader_size_limit_edge_and_one_past),
      cmocka_unit_test(test_reader_depth_limit_edge_and_one_past),
      cmocka_unit_test(test_limits_outside_their_range_are_internal),
      cmocka_unit_test(test_getters_say_what_is_missing_or_of_another_type),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
