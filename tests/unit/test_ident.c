/* The identifier rule (common/core/ident): no whitespace or control character at either end of a
 * tenant, user id, key or department name; in a request field (hd_call_check_ident,
 * INVALID_ARGUMENT) and in a token's tenant and sub (hd_auth_verify, UNAUTHENTICATED). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "core/ident.h"
#include "rpc/call.h"

static bool starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* cp as UTF-8 into out[5]; its length. */
static size_t utf8_of(uint32_t cp, char *out) {
  size_t n;
  if (cp < 0x80) {
    out[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    out[0] = (char)(0xC0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12);
    out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  out[n] = '\0';
  return n;
}

/* hd_ident_check of "<cp>acme" and of "acme<cp>": both refused (with want_kind and "U+XXXX" in
 * the message) when refused, both accepted otherwise. */
static void check_edges(uint32_t cp, const char *want_kind) {
  char c[5], s[16], hex[16];
  utf8_of(cp, c);
  snprintf(hex, sizeof hex, "(U+%04X)", (unsigned)cp);
  const char *where[] = {"begins", "ends"};
  for (int end = 0; end < 2; end++) {
    if (end == 0)
      snprintf(s, sizeof s, "%sacme", c);
    else
      snprintf(s, sizeof s, "acme%s", c);
    /* cp 0 cannot sit in a C string: pass its length. */
    const size_t len = cp == 0 ? 5 : strlen(s);
    if (cp == 0 && end == 0) memcpy(s, "\0acme", 5);
    if (cp == 0 && end == 1) memcpy(s, "acme\0", 5);
    hd_err err;
    hd_err_clear(&err);
    const int rc = hd_ident_check("tenant", s, len, HD_INVALID_ARGUMENT, &err);
    if (!want_kind) {
      if (rc != 0) fail_msg("U+%04X %s: refused: %s", (unsigned)cp, where[end], err.msg);
      continue;
    }
    if (rc != -1) fail_msg("U+%04X at the %s end: accepted", (unsigned)cp, where[end]);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
    if (!strstr(err.msg, where[end]) || !strstr(err.msg, want_kind) || !strstr(err.msg, hex))
      fail_msg("U+%04X: message \"%s\" lacks \"%s\", \"%s\" or \"%s\"", (unsigned)cp, err.msg,
               where[end], want_kind, hex);
  }
}

static void test_identifiers_with_visible_ends_pass(void **state) {
  (void)state;
  const char *ok[] = {"acme",   "ACME",   "k k",
                      "cust-1", "a",      "\xc3\xbc-user",
                      "a\tb",   "a\x01z", "\xe6\x9d\xb1\xe4\xba\xac"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    assert_int_equal(hd_ident_check("id", ok[i], strlen(ok[i]), HD_INVALID_ARGUMENT, NULL), 0);
  /* Empty (and NULL) pass: whether one is required is the caller's rule. */
  assert_int_equal(hd_ident_check("id", "", 0, HD_INVALID_ARGUMENT, NULL), 0);
  assert_int_equal(hd_ident_check("id", NULL, 0, HD_INVALID_ARGUMENT, NULL), 0);
}

static void test_every_whitespace_character_at_either_end_is_refused(void **state) {
  (void)state;
  const uint32_t spaces[] = {0x20,   0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x85,   0xA0,
                             0x1680, 0x2000, 0x2005, 0x200A, 0x200B, 0x200C, 0x200D, 0x2028,
                             0x2029, 0x202F, 0x205F, 0x2060, 0x3000, 0xFEFF};
  for (size_t i = 0; i < sizeof spaces / sizeof spaces[0]; i++) check_edges(spaces[i], "whitesp");
}

static void test_every_control_character_at_either_end_is_refused(void **state) {
  (void)state;
  for (uint32_t cp = 0; cp < 0x20; cp++)
    if (!(cp >= 0x09 && cp <= 0x0D)) check_edges(cp, "control character");
  for (uint32_t cp = 0x7F; cp <= 0x9F; cp++)
    if (cp != 0x85) check_edges(cp, "control character");
}

static void test_the_neighbours_of_each_range_pass(void **state) {
  (void)state;
  const uint32_t ok[] = {0x21,   0x7E,   0xA1,   0x167F, 0x1681, 0x1FFF, 0x2010,
                         0x2027, 0x2030, 0x3001, 0xFEFE, 0xFF00, 0x1F600};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) check_edges(ok[i], NULL);
}

static void test_invalid_utf8_is_refused(void **state) {
  (void)state;
  hd_err err;
  assert_int_equal(hd_ident_check("owner_id", "a\xff", 2, HD_INVALID_ARGUMENT, &err), -1);
  assert_string_equal(err.msg, "owner_id is not valid UTF-8");
  assert_int_equal(hd_ident_check("owner_id", "a\xc3", 2, HD_INVALID_ARGUMENT, &err), -1);
  assert_int_equal(hd_ident_check("owner_id", "\xe2\x80", 2, HD_INVALID_ARGUMENT, &err), -1);
}

static void test_the_message_names_the_field_the_end_and_the_character(void **state) {
  (void)state;
  hd_err err;
  assert_int_equal(hd_ident_check("owner_id", "agent-1 ", 8, HD_UNAUTHENTICATED, &err), -1);
  assert_int_equal(err.code, HD_UNAUTHENTICATED);
  assert_string_equal(err.msg,
                      "owner_id ends with whitespace (U+0020); identifiers are compared "
                      "exactly, so send it without whitespace or control characters at "
                      "either end");
  assert_int_equal(hd_ident_check("key", "\x7fk", 2, HD_INVALID_ARGUMENT, &err), -1);
  assert_true(starts_with(err.msg, "key begins with a control character (U+007F);"));
}

/* ---- in a request field ---- */

static void test_call_check_ident_adds_the_edge_rule_to_the_text_rules(void **state) {
  (void)state;
  hd_call c = (hd_call){0};
  assert_int_equal(hd_call_check_ident(&c, "owner_id", "agent-1", 1, 128), 0);
  assert_int_equal(hd_call_check_ident(&c, "owner_id", "", 0, 128), 0);
  assert_int_equal(hd_call_check_ident(&c, "owner_id", NULL, 0, 128), 0);
  assert_int_equal(hd_call_check_ident(&c, "owner_id", "agent-1 ", 1, 128), -1);
  assert_int_equal(c.err.code, HD_INVALID_ARGUMENT);
  assert_true(starts_with(c.err.msg, "owner_id ends with whitespace (U+0020);"));
  /* The text rules come first: required, length in characters, UTF-8. */
  assert_int_equal(hd_call_check_ident(&c, "owner_id", "", 1, 128), -1);
  assert_string_equal(c.err.msg, "owner_id is required");
  assert_int_equal(hd_call_check_ident(&c, "department", "abcdef", 0, 5), -1);
  assert_string_equal(c.err.msg, "department has 6 characters; at most 5 are allowed");
  assert_int_equal(hd_call_check_ident(&c, "department", "\xff", 0, 5), -1);
  assert_string_equal(c.err.msg, "department is not valid UTF-8");
}

/* ---- in a token ---- */

static hd_auth_config cfg(void) {
  hd_auth_config c = {.secret = "identifier-test-secret",
                      .secret_len = strlen("identifier-test-secret"),
                      .issuer = "helpdesk-test",
                      .leeway_s = 0};
  return c;
}

/* Verifies a token minted for tenant and user; the status and err. */
static int verify(const char *tenant, const char *user, hd_principal *out, hd_err *err) {
  const hd_auth_config c = cfg();
  hd_principal p = {.roles = HD_ROLE_AGENT};
  snprintf(p.tenant, sizeof p.tenant, "%s", tenant);
  snprintf(p.user_id, sizeof p.user_id, "%s", user);
  char *tok = NULL;
  if (hd_auth_sign(&c, &p, 1000, 600, &tok, err) != 0) fail_msg("hd_auth_sign: %s", err->msg);
  const int rc = hd_auth_verify(&c, tok, strlen(tok), 1000, out, err);
  free(tok);
  return rc;
}

static void test_token_tenant_or_subject_with_a_space_at_an_end_is_unauthenticated(void **state) {
  (void)state;
  hd_principal out;
  hd_err err;
  assert_int_equal(verify("acme", "cust-1", &out, &err), 0);
  assert_string_equal(out.tenant, "acme");
  assert_int_equal(verify("ACME", "cust-1", &out, &err), 0);
  assert_string_equal(out.tenant, "ACME");
  assert_int_equal(verify("ac me", "cust 1", &out, &err), 0);

  memset(&out, 0, sizeof out);
  assert_int_equal(verify("acme ", "cust-1", &out, &err), -1);
  assert_int_equal(err.code, HD_UNAUTHENTICATED);
  assert_true(starts_with(err.msg, "token tenant (tenant) ends with whitespace (U+0020);"));
  assert_string_equal(out.tenant, ""); /* nothing filled on failure */
  assert_int_equal(verify(" acme", "cust-1", &out, &err), -1);
  assert_true(starts_with(err.msg, "token tenant (tenant) begins with whitespace"));
  assert_int_equal(verify("acme", "cust-1 ", &out, &err), -1);
  assert_int_equal(err.code, HD_UNAUTHENTICATED);
  assert_true(starts_with(err.msg, "token subject (sub) ends with whitespace (U+0020);"));
  assert_int_equal(verify("acme", " cust-1", &out, &err), -1);
  assert_true(starts_with(err.msg, "token subject (sub) begins with whitespace"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_identifiers_with_visible_ends_pass),
      cmocka_unit_test(test_every_whitespace_character_at_either_end_is_refused),
      cmocka_unit_test(test_every_control_character_at_either_end_is_refused),
      cmocka_unit_test(test_the_neighbours_of_each_range_pass),
      cmocka_unit_test(test_invalid_utf8_is_refused),
      cmocka_unit_test(test_the_message_names_the_field_the_end_and_the_character),
      cmocka_unit_test(test_call_check_ident_adds_the_edge_rule_to_the_text_rules),
      cmocka_unit_test(test_token_tenant_or_subject_with_a_space_at_an_end_is_unauthenticated),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
