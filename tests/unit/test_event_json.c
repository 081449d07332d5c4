/* services/tickets/event_json (outbox payload writer) and page_token (keyset page tokens). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "event_json.h"
#include "page_token.h"

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

/* ---- page sizes and tokens ---- */

static void test_page_size_zero_is_the_default_and_500_is_the_edge(void **state) {
  (void)state;
  size_t n = 0;
  hd_err err = {0};
  assert_int_equal(page_size_resolve(0, &n, &err), 0);
  assert_int_equal(n, 50);
  assert_int_equal(page_size_resolve(1, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_int_equal(page_size_resolve(500, &n, &err), 0);
  assert_int_equal(n, 500);
  assert_int_equal(page_size_resolve(501, &n, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(page_size_resolve(-1, &n, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
}

static void test_token_round_trips_its_position_for_the_same_listing(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(1 << 16);
  static const char scope[] =
      "tickets\x1f"
      "acme\x1f"
      "CLOSED";
  const page_pos cases[] = {{1700000000000000, 42}, {0, 1}, {-5, INT64_MAX}, {INT64_MIN, 7}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *tok = NULL;
    hd_err err = {0};
    assert_int_equal(page_token_encode(&cases[i], scope, sizeof scope - 1, a, &tok, &err), 0);
    assert_true(strlen(tok) <= PAGE_TOKEN_MAX);
    page_pos back = {0};
    assert_int_equal(page_token_decode(tok, strlen(tok), scope, sizeof scope - 1, &back, &err), 0);
    assert_int_equal(back.key, cases[i].key);
    assert_int_equal(back.id, cases[i].id);
  }
  hd_arena_free(a);
}

static void test_token_from_another_listing_is_refused(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(1 << 16);
  char *tok = NULL;
  hd_err err = {0};
  const page_pos pos = {100, 5};
  assert_int_equal(page_token_encode(&pos, "status=CLOSED", 13, a, &tok, &err), 0);
  page_pos back = {0};
  assert_int_equal(page_token_decode(tok, strlen(tok), "status=OPEN", 11, &back, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "belongs to another listing"));
  hd_arena_free(a);
}

static void test_malformed_tokens_are_refused(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(1 << 16);
  char *tok = NULL;
  hd_err err = {0};
  const page_pos pos = {100, 5};
  assert_int_equal(page_token_encode(&pos, "s", 1, a, &tok, &err), 0);
  page_pos back = {0};
  const size_t len = strlen(tok);
  assert_int_equal(page_token_decode(tok, len - 1, "s", 1, &back, &err), -1); /* odd length */
  assert_int_equal(page_token_decode(tok, len - 2, "s", 1, &back, &err), -1); /* short hash */
  char bad[PAGE_TOKEN_MAX + 4];
  memcpy(bad, tok, len + 1);
  bad[0] = 'Z';
  assert_int_equal(page_token_decode(bad, len, "s", 1, &back, &err), -1);
  memcpy(bad, tok, len + 1);
  bad[1] = '7'; /* 'v' (76) → 'w' (77) */
  assert_int_equal(page_token_decode(bad, len, "s", 1, &back, &err), -1);
  assert_non_null(strstr(err.msg, "malformed"));
  assert_int_equal(page_token_decode("", 0, "s", 1, &back, &err), -1);
  memset(bad, 'a', PAGE_TOKEN_MAX + 2);
  assert_int_equal(page_token_decode(bad, PAGE_TOKEN_MAX + 2, "s", 1, &back, &err), -1);
  /* hex of "v1:1:0:<16 hex>" (id 0) and of "v1:01:2:..." (leading zero) */
  static const char *const plains[] = {"v1:1:0:0123456789abcdef", "v1:01:2:0123456789abcdef",
                                       "v1:1:99999999999999999999:0123456789abcdef",
                                       "v1:-0:2:0123456789abcdef", "v2:1:2:0123456789abcdef"};
  for (size_t i = 0; i < sizeof plains / sizeof plains[0]; i++) {
    char hex[PAGE_TOKEN_MAX + 1];
    size_t n = 0;
    for (const char *c = plains[i]; *c; c++)
      n += (size_t)snprintf(hex + n, sizeof hex - n, "%02x", (unsigned char)*c);
    assert_int_equal(page_token_decode(hex, n, "s", 1, &back, &err), -1);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  }
  hd_arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_object_with_every_member_kind_is_written_compactly),
      cmocka_unit_test(test_quotes_backslashes_and_control_characters_are_escaped),
      cmocka_unit_test(test_invalid_utf8_fails_the_document_as_internal),
      cmocka_unit_test(test_document_at_its_cap_passes_and_one_byte_more_fails),
      cmocka_unit_test(test_unbalanced_objects_and_stray_members_fail),
      cmocka_unit_test(test_nesting_past_the_limit_fails),
      cmocka_unit_test(test_page_size_zero_is_the_default_and_500_is_the_edge),
      cmocka_unit_test(test_token_round_trips_its_position_for_the_same_listing),
      cmocka_unit_test(test_token_from_another_listing_is_refused),
      cmocka_unit_test(test_malformed_tokens_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
