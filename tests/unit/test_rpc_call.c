/* common/rpc/call: the per-call field checks, the expected_version rules and role names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "rpc/call.h"

/* A call with nothing but its error, which is all the checks use. */
static hd_call fresh(void) { return (hd_call){0}; }

static char *repeat(const char *unit, size_t n) {
  const size_t u = strlen(unit);
  char *s = malloc(u * n + 1);
  for (size_t i = 0; i < n; i++) memcpy(s + i * u, unit, u);
  s[u * n] = '\0';
  return s;
}

static void test_id_must_be_positive(void **state) {
  (void)state;
  hd_call c = fresh();
  assert_int_equal(hd_call_check_id(&c, "ticket_id", 1), 0);
  assert_int_equal(hd_call_check_id(&c, "ticket_id", INT64_MAX), 0);
  assert_int_equal(hd_call_check_id(&c, "ticket_id", 0), -1);
  assert_int_equal(c.err.code, HD_INVALID_ARGUMENT);
  assert_string_equal(c.err.msg, "ticket_id must be a positive id, got 0");
  assert_int_equal(hd_call_check_id(&c, "task_id", -3), -1);
  assert_string_equal(c.err.msg, "task_id must be a positive id, got -3");
}

static void test_text_counts_characters_at_its_edges(void **state) {
  (void)state;
  hd_call c = fresh();
  char *at = repeat("\xc3\xa9", 5); /* é: 2 bytes, 1 character */
  char *past = repeat("\xc3\xa9", 6);
  assert_int_equal(hd_call_check_text(&c, "subject", at, 1, 5), 0);
  assert_int_equal(hd_call_check_text(&c, "subject", past, 1, 5), -1);
  assert_int_equal(c.err.code, HD_INVALID_ARGUMENT);
  assert_string_equal(c.err.msg, "subject has 6 characters; at most 5 are allowed");
  assert_int_equal(hd_call_check_text(&c, "code", "ab", 3, 5), -1);
  assert_string_equal(c.err.msg, "code has 2 characters; at least 3 are needed");
  assert_int_equal(hd_call_check_text(&c, "code", "abc", 3, 5), 0);
  free(at);
  free(past);
}

static void test_text_required_and_optional(void **state) {
  (void)state;
  hd_call c = fresh();
  assert_int_equal(hd_call_check_text(&c, "body", "", 1, 10), -1);
  assert_string_equal(c.err.msg, "body is required");
  assert_int_equal(hd_call_check_text(&c, "body", NULL, 1, 10), -1);
  assert_string_equal(c.err.msg, "body is required");
  assert_int_equal(hd_call_check_text(&c, "note", NULL, 0, 10), 0);
  assert_int_equal(hd_call_check_text(&c, "note", "", 0, 10), 0);
}

static void test_required_text_of_only_white_space_is_blank(void **state) {
  (void)state;
  hd_call c = fresh();
  static const char *const blank[] = {"   ", "\t\n", "\xc2\xa0", "\xe3\x80\x80 ", "\xe2\x80\x8b"};
  for (size_t i = 0; i < sizeof blank / sizeof blank[0]; i++) {
    assert_int_equal(hd_call_check_text(&c, "subject", blank[i], 1, 100), -1);
    assert_int_equal(c.err.code, HD_INVALID_ARGUMENT);
    assert_string_equal(c.err.msg, "subject is blank: it has only white space; write the text");
  }
  assert_int_equal(hd_call_check_text(&c, "subject", " a ", 1, 100), 0);
  assert_int_equal(hd_call_check_text(&c, "note", "   ", 0, 100), 0); /* optional: kept */
}

static void test_text_that_is_not_utf8_is_invalid_argument(void **state) {
  (void)state;
  hd_call c = fresh();
  static const char *const bad[] = {"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(hd_call_check_text(&c, "body", bad[i], 0, 100), -1);
    assert_int_equal(c.err.code, HD_INVALID_ARGUMENT);
    assert_string_equal(c.err.msg, "body is not valid UTF-8");
  }
}

static void test_enum_must_be_defined_and_set_unless_optional(void **state) {
  (void)state;
  hd_call c = fresh();
  const ProtobufCEnumDescriptor *d = &helpdesk__v1__category__descriptor;
  const int first = d->values[1].value;
  assert_int_equal(hd_call_check_enum(&c, "category", d, first, false), 0);
  assert_int_equal(hd_call_check_enum(&c, "category", d, 0, true), 0);
  assert_int_equal(hd_call_check_enum(&c, "category", d, 0, false), -1);
  assert_string_equal(c.err.msg, "category is required");
  assert_int_equal(hd_call_check_enum(&c, "category", d, 4242, true), -1);
  assert_int_equal(c.err.code, HD_INVALID_ARGUMENT);
  assert_string_equal(c.err.msg, "category has no value 4242");
}

static void test_expected_version_is_zero_or_a_version(void **state) {
  (void)state;
  hd_call c = fresh();
  assert_int_equal(hd_call_check_version(&c, "expected_version", 0), 0);
  assert_int_equal(hd_call_check_version(&c, "expected_version", 1), 0);
  assert_int_equal(hd_call_check_version(&c, "expected_version", -1), -1);
  assert_int_equal(c.err.code, HD_INVALID_ARGUMENT);
  assert_string_equal(c.err.msg,
                      "expected_version must be 0 (don't check) or the version you read, got -1");
  assert_int_equal(hd_call_check_version(&c, "expected_target_version", INT64_MIN), -1);
  assert_non_null(strstr(c.err.msg, "expected_target_version must be 0"));
}

static void test_stale_expected_version_is_aborted_with_the_current_one(void **state) {
  (void)state;
  hd_err err = {0};
  assert_int_equal(hd_call_check_current("ticket", 42, 7, 0, &err), 0);
  assert_int_equal(hd_call_check_current("ticket", 42, 7, 7, &err), 0);
  assert_int_equal(hd_call_check_current("ticket", 42, 7, 5, &err), -1);
  assert_int_equal(err.code, HD_ABORTED);
  assert_string_equal(err.msg,
                      "ticket 42 was changed by someone else: version is now 7, you sent 5");
  assert_int_equal(hd_call_check_current("task", 3, 2, 9, &err), -1);
  assert_string_equal(err.msg, "task 3 was changed by someone else: version is now 2, you sent 9");
  assert_string_equal(err.reason, HD_REASON_VERSION_CONFLICT);
  assert_int_equal(err.current_version, 2);
  /* a row named otherwise: the caller's words, then the same versions and details */
  hd_err_clear(&err);
  assert_int_equal(hd_call_check_seen(&err, 4, 0, "agent %s was changed by someone else", "a-1"),
                   0);
  assert_int_equal(hd_call_check_seen(&err, 4, 4, "agent %s was changed by someone else", "a-1"),
                   0);
  assert_int_equal(err.code, HD_OK);
  assert_int_equal(hd_call_check_seen(&err, 4, 3,
                                      "the scores of %s for %s were changed by "
                                      "someone else",
                                      "a-1", "2026-11"),
                   -1);
  assert_int_equal(err.code, HD_ABORTED);
  assert_string_equal(err.msg,
                      "the scores of a-1 for 2026-11 were changed by someone else: version is now "
                      "4, you sent 3");
  assert_string_equal(err.reason, HD_REASON_VERSION_CONFLICT);
  assert_int_equal(err.current_version, 4);
}

static void test_roles_are_named_in_one_order(void **state) {
  (void)state;
  char buf[128];
  assert_string_equal(hd_call_roles_text(HD_ROLE_AGENT, buf, sizeof buf), "agent");
  assert_string_equal(hd_call_roles_text(HD_ROLE_SUPERVISOR | HD_ROLE_TEAM_LEAD, buf, sizeof buf),
                      "team_lead or supervisor");
  assert_string_equal(
      hd_call_roles_text(HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR, buf, sizeof buf),
      "agent, team_lead or supervisor");
  assert_string_equal(hd_call_roles_text(HD_ROLES_STAFF | HD_ROLE_CUSTOMER, buf, sizeof buf),
                      "customer, agent, team_lead, supervisor, tenant_admin or service");
  assert_string_equal(hd_call_roles_text(0, buf, sizeof buf), "");
  char small[12];
  hd_call_roles_text(HD_ROLES_STAFF, small, sizeof small); /* cut short, still terminated */
  assert_string_equal(small, "agent");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_id_must_be_positive),
      cmocka_unit_test(test_text_counts_characters_at_its_edges),
      cmocka_unit_test(test_text_required_and_optional),
      cmocka_unit_test(test_required_text_of_only_white_space_is_blank),
      cmocka_unit_test(test_text_that_is_not_utf8_is_invalid_argument),
      cmocka_unit_test(test_enum_must_be_defined_and_set_unless_optional),
      cmocka_unit_test(test_expected_version_is_zero_or_a_version),
      cmocka_unit_test(test_stale_expected_version_is_aborted_with_the_current_one),
      cmocka_unit_test(test_roles_are_named_in_one_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
