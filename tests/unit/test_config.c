/* common/config: integers, durations and the shared service settings from HELPDESK_* env. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

#define VAR "HD_UNIT_TEST_VALUE"

/* Every variable hd_common_config_load reads, so a test starts from the defaults. */
static const char *const shared_vars[] = {
    "HELPDESK_TICKETS_ADDR",      "HELPDESK_TICKETS_DB_NAME", "HELPDESK_WORKERS",
    "HELPDESK_MAX_MESSAGE_BYTES", "HELPDESK_SHUTDOWN_GRACE",  "HELPDESK_DB_HOST",
    "HELPDESK_DB_PORT",           "HELPDESK_DB_SOCKET",       "HELPDESK_DB_USER",
    "HELPDESK_DB_PASSWORD",       "HELPDESK_REDIS_HOST",      "HELPDESK_REDIS_PORT",
    "HELPDESK_AUTH_SECRET",       "HELPDESK_AUTH_ISSUER",     "HELPDESK_LOG_LEVEL"};

static int clear_env(void **state) {
  (void)state;
  unsetenv(VAR);
  for (size_t i = 0; i < sizeof shared_vars / sizeof shared_vars[0]; i++) unsetenv(shared_vars[i]);
  return 0;
}

/* ---- strings ---- */

static void test_str_is_default_when_unset_or_empty(void **state) {
  (void)state;
  assert_string_equal(hd_config_str(VAR, "def"), "def");
  setenv(VAR, "", 1);
  assert_string_equal(hd_config_str(VAR, "def"), "def");
  assert_null(hd_config_str(VAR, NULL));
  setenv(VAR, "value", 1);
  assert_string_equal(hd_config_str(VAR, "def"), "value");
}

/* ---- integers ---- */

static void test_int_default_when_unset_or_empty(void **state) {
  (void)state;
  int64_t v = 0;
  hd_err err = {0};
  assert_int_equal(hd_config_int(VAR, 42, 1, 100, &v, &err), 0);
  assert_int_equal(v, 42);
  setenv(VAR, "", 1);
  v = 0;
  assert_int_equal(hd_config_int(VAR, 42, 1, 100, &v, &err), 0);
  assert_int_equal(v, 42);
}

static void test_int_range_edges_are_accepted_and_one_past_refused(void **state) {
  (void)state;
  int64_t v = 0;
  hd_err err = {0};
  setenv(VAR, "1", 1);
  assert_int_equal(hd_config_int(VAR, 5, 1, 256, &v, &err), 0);
  assert_int_equal(v, 1);
  setenv(VAR, "256", 1);
  assert_int_equal(hd_config_int(VAR, 5, 1, 256, &v, &err), 0);
  assert_int_equal(v, 256);
  setenv(VAR, "-7", 1);
  assert_int_equal(hd_config_int(VAR, 5, -10, 10, &v, &err), 0);
  assert_int_equal(v, -7);

  v = 99;
  setenv(VAR, "0", 1);
  assert_int_equal(hd_config_int(VAR, 5, 1, 256, &v, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, VAR "=0 is out of range [1, 256]");
  assert_int_equal(v, 99); /* untouched on failure */
  setenv(VAR, "257", 1);
  assert_int_equal(hd_config_int(VAR, 5, 1, 256, &v, &err), -1);
  assert_string_equal(err.msg, VAR "=257 is out of range [1, 256]");
}

static void test_int_extremes_of_int64(void **state) {
  (void)state;
  int64_t v = 0;
  hd_err err = {0};
  setenv(VAR, "9223372036854775807", 1);
  assert_int_equal(hd_config_int(VAR, 0, INT64_MIN, INT64_MAX, &v, &err), 0);
  assert_true(v == INT64_MAX);
  setenv(VAR, "-9223372036854775808", 1);
  assert_int_equal(hd_config_int(VAR, 0, INT64_MIN, INT64_MAX, &v, &err), 0);
  assert_true(v == INT64_MIN);
  setenv(VAR, "9223372036854775808", 1);
  assert_int_equal(hd_config_int(VAR, 0, INT64_MIN, INT64_MAX, &v, &err), -1);
  assert_non_null(strstr(err.msg, "out of range"));
  setenv(VAR, "-99999999999999999999", 1);
  assert_int_equal(hd_config_int(VAR, 0, INT64_MIN, INT64_MAX, &v, &err), -1);
  assert_non_null(strstr(err.msg, "out of range"));
}

static void test_int_malformed_is_invalid_argument_naming_the_variable(void **state) {
  (void)state;
  const char *bad[] = {"abc", "12abc", " 5", "5 ", "+5", "-", "0x10", "1.5", "1e3", "--1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t v = 99;
    hd_err err = {0};
    setenv(VAR, bad[i], 1);
    if (hd_config_int(VAR, 5, INT64_MIN, INT64_MAX, &v, &err) != -1)
      fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, VAR "="));
    assert_non_null(strstr(err.msg, "is not a whole number"));
    assert_int_equal(v, 99);
  }
}

/* ---- durations ---- */

static void assert_duration(const char *s, int64_t want_us) {
  int64_t us = -1;
  if (hd_parse_duration_us(s, &us) != 0) fail_msg("refused \"%s\"", s);
  if (us != want_us)
    fail_msg("\"%s\" → %lld us, wanted %lld", s, (long long)us, (long long)want_us);
}

static void test_duration_units(void **state) {
  (void)state;
  assert_duration("250ms", 250000);
  assert_duration("30s", 30000000);
  assert_duration("5m", 300000000);
  assert_duration("72h", 72LL * 3600 * 1000000);
  assert_duration("3d", 3LL * 86400 * 1000000);
  assert_duration("100us", 100);
  assert_duration("15", 15000000); /* bare number = seconds */
  assert_duration("0", 0);
  assert_duration("0ms", 0);
}

static void test_duration_fractions_are_exact(void **state) {
  (void)state;
  assert_duration("1.5s", 1500000);
  assert_duration("0.1s", 100000);
  assert_duration("0.25", 250000);
  assert_duration("1.5h", 5400LL * 1000000);
  assert_duration("0.000001s", 1); /* six fraction digits: the edge */
  assert_duration("2.5ms", 2500);
  assert_duration("1.9us", 1); /* below a microsecond is cut */
}

static void test_duration_largest_value_and_one_past(void **state) {
  (void)state;
  /* INT64_MAX us is 106751991 days and a bit. */
  assert_duration("106751991d", 106751991LL * 86400 * 1000000);
  assert_duration("9223372036854775807us", INT64_MAX);
  int64_t us = 7;
  assert_int_equal(hd_parse_duration_us("106751992d", &us), -1);
  assert_int_equal(hd_parse_duration_us("9223372036854775808us", &us), -1);
  assert_int_equal(hd_parse_duration_us("99999999999999999999999s", &us), -1);
  assert_int_equal(us, 7);
}

static void test_duration_malformed_is_refused(void **state) {
  (void)state;
  const char *bad[] = {"",    "s",    "ms",     "-1s",  "+1s", "5x",         "5 s", " 5s",
                       "5s ", "5S",   "1.5.5s", ".5s",  "5.s", "1.1234567s", "nan", "inf",
                       "1e3", "0x10", "5sec",   "1,5s", "5mm", "h"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t us = 7;
    if (hd_parse_duration_us(bad[i], &us) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(us, 7);
  }
  int64_t us = 7;
  assert_int_equal(hd_parse_duration_us(NULL, &us), -1);
  assert_int_equal(hd_parse_duration_us("5s", NULL), -1);
}

static void test_config_duration_default_and_bad_value(void **state) {
  (void)state;
  int64_t us = 0;
  hd_err err = {0};
  assert_int_equal(hd_config_duration_us(VAR, 1234, &us, &err), 0);
  assert_int_equal(us, 1234);
  setenv(VAR, "90s", 1);
  assert_int_equal(hd_config_duration_us(VAR, 1234, &us, &err), 0);
  assert_int_equal(us, 90000000);
  setenv(VAR, "ninety", 1);
  assert_int_equal(hd_config_duration_us(VAR, 1234, &us, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, VAR "=ninety is not a duration (use e.g. 500ms, 30s, 5m, 72h, 3d)");
}

/* ---- shared service settings ---- */

static void test_common_config_defaults(void **state) {
  (void)state;
  hd_common_config c;
  hd_err err = {0};
  assert_int_equal(hd_common_config_load("tickets", 50051, &c, &err), 0);
  assert_string_equal(c.service, "tickets");
  assert_string_equal(c.listen_addr, "0.0.0.0:50051");
  assert_int_equal(c.workers, 8);
  assert_int_equal(c.max_message_bytes, 8 << 20);
  assert_int_equal(c.grace_us, 10000000);
  assert_string_equal(c.db_host, "127.0.0.1");
  assert_int_equal(c.db_port, 3306);
  assert_null(c.db_socket);
  assert_string_equal(c.db_user, "root");
  assert_string_equal(c.db_password, "");
  assert_string_equal(c.db_name, "helpdesk_tickets");
  assert_string_equal(c.kv.host, "127.0.0.1");
  assert_int_equal(c.kv.port, 6379);
  assert_string_equal(c.auth_secret, "helpdesk-local-development-secret");
  assert_string_equal(c.auth_issuer, "helpdesk");
  assert_string_equal(c.log_level, "info");
}

static void test_common_config_overrides(void **state) {
  (void)state;
  setenv("HELPDESK_TICKETS_ADDR", "127.0.0.1:9999", 1);
  setenv("HELPDESK_TICKETS_DB_NAME", "tickets_test", 1);
  setenv("HELPDESK_WORKERS", "256", 1);
  setenv("HELPDESK_MAX_MESSAGE_BYTES", "1024", 1);
  setenv("HELPDESK_SHUTDOWN_GRACE", "250ms", 1);
  setenv("HELPDESK_DB_HOST", "db.internal", 1);
  setenv("HELPDESK_DB_PORT", "65535", 1);
  setenv("HELPDESK_DB_SOCKET", "/run/mysqld.sock", 1);
  setenv("HELPDESK_DB_USER", "helpdesk", 1);
  setenv("HELPDESK_DB_PASSWORD", "pw", 1);
  setenv("HELPDESK_REDIS_HOST", "redis.internal", 1);
  setenv("HELPDESK_REDIS_PORT", "1", 1);
  setenv("HELPDESK_AUTH_SECRET", "s3cret", 1);
  setenv("HELPDESK_AUTH_ISSUER", "corp", 1);
  setenv("HELPDESK_LOG_LEVEL", "debug", 1);
  hd_common_config c;
  hd_err err = {0};
  assert_int_equal(hd_common_config_load("tickets", 50051, &c, &err), 0);
  assert_string_equal(c.listen_addr, "127.0.0.1:9999");
  assert_string_equal(c.db_name, "tickets_test");
  assert_int_equal(c.workers, 256);
  assert_int_equal(c.max_message_bytes, 1024);
  assert_int_equal(c.grace_us, 250000);
  assert_string_equal(c.db_host, "db.internal");
  assert_int_equal(c.db_port, 65535);
  assert_string_equal(c.db_socket, "/run/mysqld.sock");
  assert_string_equal(c.db_user, "helpdesk");
  assert_string_equal(c.db_password, "pw");
  assert_string_equal(c.kv.host, "redis.internal");
  assert_int_equal(c.kv.port, 1);
  assert_string_equal(c.auth_secret, "s3cret");
  assert_string_equal(c.auth_issuer, "corp");
  assert_string_equal(c.log_level, "debug");
}

static void test_common_config_other_service_ignores_tickets_vars(void **state) {
  (void)state;
  setenv("HELPDESK_TICKETS_ADDR", "127.0.0.1:9999", 1);
  hd_common_config c;
  hd_err err = {0};
  assert_int_equal(hd_common_config_load("kpi", 50054, &c, &err), 0);
  assert_string_equal(c.listen_addr, "0.0.0.0:50054");
  assert_string_equal(c.db_name, "helpdesk_kpi");
}

static void test_common_config_refuses_values_out_of_range(void **state) {
  (void)state;
  static const struct {
    const char *var, *value;
  } bad[] = {{"HELPDESK_WORKERS", "0"},
             {"HELPDESK_WORKERS", "257"},
             {"HELPDESK_MAX_MESSAGE_BYTES", "1023"},
             {"HELPDESK_MAX_MESSAGE_BYTES", "1073741825"},
             {"HELPDESK_DB_PORT", "65536"},
             {"HELPDESK_REDIS_PORT", "0"},
             {"HELPDESK_SHUTDOWN_GRACE", "soon"},
             {"HELPDESK_DB_PORT", "33o6"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    clear_env(NULL);
    setenv(bad[i].var, bad[i].value, 1);
    hd_common_config c;
    hd_err err = {0};
    if (hd_common_config_load("tickets", 50051, &c, &err) != -1)
      fail_msg("accepted %s=%s", bad[i].var, bad[i].value);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, bad[i].var));
  }
}

static void test_common_config_refuses_bad_service_names(void **state) {
  (void)state;
  hd_common_config c;
  hd_err err = {0};
  assert_int_equal(hd_common_config_load("", 1, &c, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_common_config_load(NULL, 1, &c, &err), -1);
  /* 31 characters is the edge, 32 one past. */
  assert_int_equal(hd_common_config_load("abcdefghijklmnopqrstuvwxyzabcde", 1, &c, &err), 0);
  assert_int_equal(hd_common_config_load("abcdefghijklmnopqrstuvwxyzabcdef", 1, &c, &err), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_str_is_default_when_unset_or_empty, clear_env,
                                      clear_env),
      cmocka_unit_test_setup_teardown(test_int_default_when_unset_or_empty, clear_env, clear_env),
      cmocka_unit_test_setup_teardown(test_int_range_edges_are_accepted_and_one_past_refused,
                                      clear_env, clear_env),
      cmocka_unit_test_setup_teardown(test_int_extremes_of_int64, clear_env, clear_env),
      cmocka_unit_test_setup_teardown(test_int_malformed_is_invalid_argument_naming_the_variable,
                                      clear_env, clear_env),
      cmocka_unit_test(test_duration_units),
      cmocka_unit_test(test_duration_fractions_are_exact),
      cmocka_unit_test(test_duration_largest_value_and_one_past),
      cmocka_unit_test(test_duration_malformed_is_refused),
      cmocka_unit_test_setup_teardown(test_config_duration_default_and_bad_value, clear_env,
                                      clear_env),
      cmocka_unit_test_setup_teardown(test_common_config_defaults, clear_env, clear_env),
      cmocka_unit_test_setup_teardown(test_common_config_overrides, clear_env, clear_env),
      cmocka_unit_test_setup_teardown(test_common_config_other_service_ignores_tickets_vars,
                                      clear_env, clear_env),
      cmocka_unit_test_setup_teardown(test_common_config_refuses_values_out_of_range, clear_env,
                                      clear_env),
      cmocka_unit_test_setup_teardown(test_common_config_refuses_bad_service_names, clear_env,
                                      clear_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
