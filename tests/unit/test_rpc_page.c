/* common/rpc/page: the page-size rule, tokens bound to their listing, PageInfo building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rpc/page.h"

/* The scope of a comments list of ticket 42 of acme. */
static void comments_of(hd_page_scope *s, const char *tenant, int64_t ticket_id) {
  hd_page_scope_init(s, "comments", tenant);
  hd_page_scope_int(s, ticket_id);
}

/* A token for the page after pos in scope s; in arena a. */
static char *token_after(const hd_page_scope *s, hd_page_pos pos, hd_arena *a) {
  hd_page pg;
  hd_err err = {0};
  char *tok = NULL;
  assert_int_equal(hd_page_start(0, NULL, s, &pg, &err), 0);
  assert_int_equal(hd_page_next(&pg, &pos, a, &tok, &err), 0);
  return tok;
}

static void test_page_size_zero_is_the_default_and_500_is_the_edge(void **state) {
  (void)state;
  size_t n = 0;
  hd_err err = {0};
  assert_int_equal(hd_page_size(0, &n, &err), 0);
  assert_int_equal(n, HD_PAGE_SIZE_DEFAULT);
  assert_int_equal(hd_page_size(1, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_int_equal(hd_page_size(500, &n, &err), 0);
  assert_int_equal(n, 500);
  assert_int_equal(hd_page_size(501, &n, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, "page_size must be between 1 and 500 (0 for 50), got 501");
  assert_int_equal(hd_page_size(-1, &n, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
}

static void test_first_page_fetches_one_more_row_than_it_shows(void **state) {
  (void)state;
  hd_page_scope s;
  comments_of(&s, "acme", 42);
  hd_page pg;
  hd_err err = {0};
  assert_int_equal(hd_page_start(3, "", &s, &pg, &err), 0);
  assert_false(pg.continued);
  assert_int_equal(pg.after.id, 0);
  assert_int_equal(hd_page_fetch(&pg), 4);
  assert_int_equal(hd_page_shown(&pg, 4), 3);
  assert_int_equal(hd_page_shown(&pg, 2), 2);
  assert_int_equal(hd_page_start_pb(NULL, &s, &pg, &err), 0);
  assert_int_equal(pg.size, HD_PAGE_SIZE_DEFAULT);
  Helpdesk__V1__PageRequest rq = HELPDESK__V1__PAGE_REQUEST__INIT;
  rq.page_size = 7;
  assert_int_equal(hd_page_start_pb(&rq, &s, &pg, &err), 0);
  assert_int_equal(pg.size, 7);
  rq.page_size = 501;
  assert_int_equal(hd_page_start_pb(&rq, &s, &pg, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
}

static void test_token_round_trips_its_position_for_the_same_listing(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(1 << 16);
  hd_page_scope s;
  hd_page_scope_init(&s, "tickets", "acme");
  hd_page_scope_str(&s, "CLOSED");
  const hd_page_pos cases[] = {{1700000000000000, 42}, {0, 1}, {-5, INT64_MAX}, {INT64_MIN, 7}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *tok = token_after(&s, cases[i], a);
    assert_true(strlen(tok) <= HD_PAGE_TOKEN_MAX);
    hd_page pg;
    hd_err err = {0};
    assert_int_equal(hd_page_start(2, tok, &s, &pg, &err), 0);
    assert_true(pg.continued);
    assert_int_equal(pg.after.key, cases[i].key);
    assert_int_equal(pg.after.id, cases[i].id);
    assert_int_equal(pg.size, 2);
  }
  hd_arena_free(a);
}

static void test_last_page_has_an_empty_next_token(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(1 << 16);
  hd_page_scope s;
  comments_of(&s, "acme", 42);
  hd_page pg;
  hd_err err = {0};
  char *tok = NULL;
  assert_int_equal(hd_page_start(0, NULL, &s, &pg, &err), 0);
  assert_int_equal(hd_page_next(&pg, NULL, a, &tok, &err), 0);
  assert_string_equal(tok, "");
  hd_arena_free(a);
}

static void test_token_of_another_list_tenant_filter_or_order_is_invalid_argument(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(1 << 16);
  hd_page_scope s, other;
  comments_of(&s, "acme", 42);
  char *tok = token_after(&s, (hd_page_pos){0, 5}, a);
  hd_page pg;
  hd_err err = {0};
  /* another ticket, another tenant, another list */
  comments_of(&other, "acme", 43);
  assert_int_equal(hd_page_start(0, tok, &other, &pg, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "page_token belongs to another listing"));
  comments_of(&other, "globex", 42);
  assert_int_equal(hd_page_start(0, tok, &other, &pg, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  hd_page_scope_init(&other, "consents", "acme");
  hd_page_scope_int(&other, 42);
  assert_int_equal(hd_page_start(0, tok, &other, &pg, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  /* parts are length-prefixed: "ab" + "c" is not "a" + "bc"; "" is a filter, not nothing */
  hd_page_scope_init(&s, "tickets", "acme");
  hd_page_scope_str(&s, "ab");
  hd_page_scope_str(&s, "c");
  tok = token_after(&s, (hd_page_pos){0, 5}, a);
  hd_page_scope_init(&other, "tickets", "acme");
  hd_page_scope_str(&other, "a");
  hd_page_scope_str(&other, "bc");
  assert_int_equal(hd_page_start(0, tok, &other, &pg, &err), -1);
  assert_non_null(strstr(err.msg, "another listing"));
  hd_page_scope_init(&other, "tickets", "acme");
  hd_page_scope_str(&other, "abc");
  assert_int_equal(hd_page_start(0, tok, &other, &pg, &err), -1);
  hd_page_scope_str(&other, NULL);
  assert_int_equal(hd_page_start(0, tok, &other, &pg, &err), -1);
  /* identifiers compare byte for byte */
  hd_page_scope_init(&other, "tickets", "ACME");
  hd_page_scope_str(&other, "ab");
  hd_page_scope_str(&other, "c");
  assert_int_equal(hd_page_start(0, tok, &other, &pg, &err), -1);
  hd_page_scope_init(&other, "tickets", "acme");
  hd_page_scope_str(&other, "ab");
  hd_page_scope_str(&other, "c");
  assert_int_equal(hd_page_start(0, tok, &other, &pg, &err), 0);
  hd_arena_free(a);
}

/* The hex of plain, as a token is written. */
static void hex_of(const char *plain, char *out, size_t cap) {
  size_t n = 0;
  for (const char *c = plain; *c; c++) n += (size_t)snprintf(out + n, cap - n, "%02x", *c);
}

static void test_malformed_tokens_are_invalid_argument(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(1 << 16);
  hd_page_scope s;
  comments_of(&s, "acme", 42);
  char *tok = token_after(&s, (hd_page_pos){100, 5}, a);
  const size_t len = strlen(tok);
  hd_page pg;
  hd_err err = {0};
  char bad[HD_PAGE_TOKEN_MAX + 4];
  memcpy(bad, tok, len + 1);
  bad[len - 1] = '\0'; /* odd length */
  assert_int_equal(hd_page_start(0, bad, &s, &pg, &err), -1);
  assert_string_equal(err.msg, "page_token is malformed");
  bad[len - 2] = '\0'; /* short hash */
  assert_int_equal(hd_page_start(0, bad, &s, &pg, &err), -1);
  assert_string_equal(err.msg, "page_token is malformed");
  memcpy(bad, tok, len + 1);
  bad[0] = 'Z';
  assert_int_equal(hd_page_start(0, bad, &s, &pg, &err), -1);
  assert_string_equal(err.msg, "page_token is malformed");
  memcpy(bad, tok, len + 1);
  bad[1] = '7'; /* 'v' (76) → 'w' (77) */
  assert_int_equal(hd_page_start(0, bad, &s, &pg, &err), -1);
  assert_string_equal(err.msg, "page_token is malformed");
  assert_int_equal(hd_page_start(0, "zz", &s, &pg, &err), -1);
  assert_string_equal(err.msg, "page_token is malformed");
  assert_int_equal(hd_page_start(0, "\xff\xfe", &s, &pg, &err), -1); /* not UTF-8 */
  assert_string_equal(err.msg, "page_token is malformed");
  /* Right scope hash, wrong structure: id 0, leading zeros, overflow, "-0", another version. */
  assert_int_equal(hd_page_start(0, NULL, &s, &pg, &err), 0);
  char hash[HD_PAGE_HASH_HEX + 1];
  memcpy(hash, pg.scope_hash, sizeof hash);
  static const char *const forms[][2] = {
      {"v1:1:0:", ""},  {"v1:01:2:", ""}, {"v1:1:99999999999999999999:", ""},
      {"v1:-0:2:", ""}, {"v2:1:2:", ""},  {"v1:1:2:", "ab"}};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    char plain[128], hex[HD_PAGE_TOKEN_MAX + 1];
    snprintf(plain, sizeof plain, "%s%s%s", forms[i][0], hash, forms[i][1]);
    hex_of(plain, hex, sizeof hex);
    assert_int_equal(hd_page_start(0, hex, &s, &pg, &err), -1);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
    assert_string_equal(err.msg, "page_token is malformed");
  }
  char plain[128], hex[HD_PAGE_TOKEN_MAX + 1];
  snprintf(plain, sizeof plain, "v1:1:2:%s", hash);
  hex_of(plain, hex, sizeof hex);
  assert_int_equal(hd_page_start(0, hex, &s, &pg, &err), 0);
  assert_int_equal(pg.after.id, 2);
  hd_arena_free(a);
}

static void test_token_of_256_characters_is_read_and_257_refused(void **state) {
  (void)state;
  hd_page_scope s;
  comments_of(&s, "acme", 42);
  char tok[HD_PAGE_TOKEN_MAX + 2];
  memset(tok, 'a', HD_PAGE_TOKEN_MAX);
  tok[HD_PAGE_TOKEN_MAX] = '\0';
  hd_page pg;
  hd_err err = {0};
  assert_int_equal(hd_page_start(0, tok, &s, &pg, &err), -1);
  assert_string_equal(err.msg, "page_token is malformed"); /* read, and not ours */
  tok[HD_PAGE_TOKEN_MAX] = 'a';
  tok[HD_PAGE_TOKEN_MAX + 1] = '\0';
  assert_int_equal(hd_page_start(0, tok, &s, &pg, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, "page.page_token has 257 characters; at most 256 are allowed");
}

static void test_scope_past_its_cap_is_invalid_argument(void **state) {
  (void)state;
  static char big[HD_PAGE_SCOPE_MAX];
  memset(big, 'x', sizeof big - 1);
  hd_page_scope s;
  hd_page_scope_init(&s, "tickets", "acme");
  hd_page_scope_str(&s, big);
  assert_true(s.too_long);
  hd_page pg;
  hd_err err = {0};
  assert_int_equal(hd_page_start(0, NULL, &s, &pg, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "list filters are too long"));
  /* The largest part that fits after "1:t1:a" (its "2036:" prefix and one byte kept free), and
   * one byte more. */
  hd_page_scope_init(&s, "t", "a");
  const size_t room = HD_PAGE_SCOPE_MAX - s.len - strlen("2036:") - 1;
  big[room] = '\0';
  hd_page_scope_str(&s, big);
  assert_false(s.too_long);
  assert_int_equal(hd_page_start(0, NULL, &s, &pg, &err), 0);
  hd_page_scope_init(&s, "t", "a");
  big[room] = 'x';
  big[room + 1] = '\0';
  hd_page_scope_str(&s, big);
  assert_true(s.too_long);
}

static void test_page_info_carries_the_next_token(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(1 << 16);
  Helpdesk__V1__PageInfo *pi = NULL;
  hd_err err = {0};
  assert_int_equal(hd_page_info(a, "abc", &pi, &err), 0);
  assert_string_equal(pi->next_page_token, "abc");
  assert_int_equal(hd_page_info(a, NULL, &pi, &err), 0);
  assert_string_equal(pi->next_page_token, "");
  hd_arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_page_size_zero_is_the_default_and_500_is_the_edge),
      cmocka_unit_test(test_first_page_fetches_one_more_row_than_it_shows),
      cmocka_unit_test(test_token_round_trips_its_position_for_the_same_listing),
      cmocka_unit_test(test_last_page_has_an_empty_next_token),
      cmocka_unit_test(test_token_of_another_list_tenant_filter_or_order_is_invalid_argument),
      cmocka_unit_test(test_malformed_tokens_are_invalid_argument),
      cmocka_unit_test(test_token_of_256_characters_is_read_and_257_refused),
      cmocka_unit_test(test_scope_past_its_cap_is_invalid_argument),
      cmocka_unit_test(test_page_info_carries_the_next_token),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
