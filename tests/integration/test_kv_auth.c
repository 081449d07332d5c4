/* The Redis login against the suite's Redis, which scripts/servers.sh starts with its default
 * user off and an ACL user with a generated password (HELPDESK_REDIS_USER / _PASSWORD). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kv/kv.h"
#include "test_env.h"

static int needs_a_password(void **state) {
  (void)state;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  if (!cfg.password) {
    fprintf(stderr,
            "test_kv_auth: HELPDESK_REDIS_PASSWORD is not set; start the servers with "
            "scripts/servers.sh, which gives Redis a login\n");
    return -1;
  }
  return 0;
}

static void test_the_configured_user_and_password_log_in(void **state) {
  (void)state;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  assert_int_equal(hd_kv_ping(kv, &err), 0);
  const char *whoami[] = {"ACL", "WHOAMI"};
  hd_kv_reply *r = NULL;
  assert_int_equal(hd_kv_cmd(kv, 2, whoami, NULL, true, &r, &err), 0);
  assert_string_equal(r->str, cfg.user);
  hd_kv_reply_free(r);
  hd_kv_close(kv);
}

static void test_a_connection_without_the_password_is_refused_with_a_clear_error(void **state) {
  (void)state;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  cfg.user = NULL;
  cfg.password = NULL;
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  assert_int_equal(hd_kv_ping(kv, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, "NOAUTH"));
  assert_non_null(strstr(err.msg, "HELPDESK_REDIS_PASSWORD"));
  hd_kv_close(kv);
}

static void test_a_wrong_password_is_refused_naming_the_user_not_the_password(void **state) {
  (void)state;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  cfg.password = "not-the-password-0123456789";
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  assert_int_equal(hd_kv_ping(kv, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, "refused the login of user"));
  assert_non_null(strstr(err.msg, cfg.user ? cfg.user : "default"));
  assert_non_null(strstr(err.msg, "WRONGPASS"));
  assert_null(strstr(err.msg, cfg.password));
  /* The handle stays usable: the next call tries again (and is refused again). */
  assert_int_equal(hd_kv_ping(kv, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  hd_kv_close(kv);
}

static void test_the_default_user_is_off(void **state) {
  (void)state;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  cfg.user = "default";
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  assert_int_equal(hd_kv_ping(kv, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, "refused the login of user default"));
  hd_kv_close(kv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_the_configured_user_and_password_log_in),
      cmocka_unit_test(test_a_connection_without_the_password_is_refused_with_a_clear_error),
      cmocka_unit_test(test_a_wrong_password_is_refused_naming_the_user_not_the_password),
      cmocka_unit_test(test_the_default_user_is_off),
  };
  return cmocka_run_group_tests(tests, needs_a_password, NULL);
}
