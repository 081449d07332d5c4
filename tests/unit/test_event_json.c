/* services/tickets/event_json (outbox payload writer). Page tokens: test_rpc_page.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "event_json.h"

/* ---- event_json ---- */

static void test_object_with_every_member_kind_is_written_compactly(void **state) {
  (void)state;
  event_json j;
  event_json_init(&j, 0);
  event_json_open(&j, NULL);
  event_json_str(&j, "event", "ticket.created");
  event_json_int(&j, "ticket_id", 42);
  event_json_int(&j, "neg", INT64_MIN);
  event_json_bool(&j, "resolved", true);
  event_json_str(&j, "owner_id", NULL);
  event_json_open(&j, "ticket");
  event_json_str(&j, "status", "CLOSED");
  event_json_close(&j);
  event_json_open(&j, "empty");
  event_json_close(&j);
  event_json_close(&j);
  const char *out = NULL;
  size_t len = 0;
  hd_err err = {0};
  assert_int_equal(event_json_finish(&j, &out, &len, &err), 0);
  assert_string_equal(out,
                      "{\"event\":\"ticket.created\",\"ticket_id\":42,\"neg\":-9223372036854775808,"
                      "\"resolved\":true,\"owner_id\":null,\"ticket\":{\"status\":\"CLOSED\"},"
                      "\"empty\":{}}");
  assert_int_equal(len, strlen(out));
  event_json_free(&j);
}

static void test_quotes_backslashes_and_control_characters_are_escaped(void **state) {
  (void)state;
  event_json j;
  event_json_init(&j, 0);
  event_json_open(&j, NULL);
  event_json_str(&j, "a\"b", "say \"hi\"\\ \n\r\t\x01\x1f end");
  event_json_str(&j, "utf8", "café ✓ 𝄞");
  event_json_strn(&j, "nul", "x\0y", 3);
  event_json_close(&j);
  const char *out = NULL;
  hd_err err = {0};
  assert_int_equal(event_json_finish(&j, &out, NULL, &err), 0);
  assert_string_equal(out,
                      "{\"a\\\"b\":\"say \\\"hi\\\"\\\\ \\n\\r\\t\\u0001\\u001f end\","
                      "\"utf8\":\"café ✓ 𝄞\",\"nul\":\"x\\u0000y\"}");
  event_json_free(&j);
}

static void test_invalid_utf8_fails_the_document_as_internal(void **state) {
  (void)state;
  event_json j;
  event_json_init(&j, 0);
  event_json_open(&j, NULL);
  event_json_str(&j, "bad", "a\xff");
  event_json_str(&j, "after", "ok");
  event_json_close(&j);
  const char *out = NULL;
  hd_err err = {0};
  assert_int_equal(event_json_finish(&j, &out, NULL, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_non_null(strstr(err.msg, "UTF-8"));
  event_json_free(&j);
}

static void test_document_at_its_cap_passes_and_one_byte_more_fails(void **state) {
  (void)state;
  /* {"k":"<n x>"} is n + 8 bytes. */
  for (int extra = 0; extra <= 1; extra++) {
    event_json j;
    event_json_init(&j, 100);
    char v[100];
    memset(v, 'x', sizeof v);
    event_json_open(&j, NULL);
    event_json_strn(&j, "k", v, 92 + (size_t)extra);
    event_json_close(&j);
    const char *out = NULL;
    size_t len = 0;
    hd_err err = {0};
    if (extra == 0) {
      assert_int_equal(event_json_finish(&j, &out, &len, &err), 0);
      assert_int_equal(len, 100);
    } else {
      assert_int_equal(event_json_finish(&j, &out, &len, &err), -1);
      assert_int_equal(err.code, HD_RESOURCE_EXHAUSTED);
    }
    event_json_free(&j);
  }
}

static void test_unbalanced_objects_and_stray_members_fail(void **state) {
  (void)state;
  const char *out = NULL;
  hd_err err = {0};
  event_json j;
  event_json_init(&j, 0);
  event_json_open(&j, NULL);
  assert_int_equal(event_json_finish(&j, &out, NULL, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  event_json_free(&j);

  event_json_init(&j, 0);
  event_json_int(&j, "k", 1);
  assert_int_equal(event_json_finish(&j, &out, NULL, &err), -1);
  event_json_free(&j);

  event_json_init(&j, 0);
  event_json_open(&j, NULL);
  event_json_close(&j);
  event_json_close(&j);
  assert_int_equal(event_json_finish(&j, &out, NULL, &err), -1);
  event_json_free(&j);

  event_json_init(&j, 0);
  assert_int_equal(event_json_finish(&j, &out, NULL, &err), -1);
  event_json_free(&j);
}

static void test_nesting_past_the_limit_fails(void **state) {
  (void)state;
  event_json j;
  event_json_init(&j, 0);
  event_json_open(&j, NULL);
  for (int i = 1; i < EVENT_JSON_MAX_DEPTH; i++) event_json_open(&j, "n");
  for (int i = 0; i < EVENT_JSON_MAX_DEPTH; i++) event_json_close(&j);
  const char *out = NULL;
  hd_err err = {0};
  assert_int_equal(event_json_finish(&j, &out, NULL, &err), 0);
  event_json_free(&j);

  event_json_init(&j, 0);
  event_json_open(&j, NULL);
  for (int i = 0; i < EVENT_JSON_MAX_DEPTH; i++) event_json_open(&j, "n");
  assert_int_equal(event_json_finish(&j, &out, NULL, &err), -1);
  assert_non_null(strstr(err.msg, "nests too deep"));
  event_json_free(&j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_object_with_every_member_kind_is_written_compactly),
      cmocka_unit_test(test_quotes_backslashes_and_control_characters_are_escaped),
      cmocka_unit_test(test_invalid_utf8_fails_the_document_as_internal),
      cmocka_unit_test(test_document_at_its_cap_passes_and_one_byte_more_fails),
      cmocka_unit_test(test_unbalanced_objects_and_stray_members_fail),
      cmocka_unit_test(test_nesting_past_the_limit_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
