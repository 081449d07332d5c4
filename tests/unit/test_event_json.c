/* services/tickets/page_token (keyset page tokens). The outbox payload writer that was tested here
 * is common/json now: tests/unit/test_json.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "page_token.h"

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
      cmocka_unit_test(test_page_size_zero_is_the_default_and_500_is_the_edge),
      cmocka_unit_test(test_token_round_trips_its_position_for_the_same_listing),
      cmocka_unit_test(test_token_from_another_listing_is_refused),
      cmocka_unit_test(test_malformed_tokens_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
