/* common/auth/runtime.c: a service's token settings checked at start. Outside development mode
 * no service starts on the built-in development secret (or none, a placeholder, a short one, or
 * without an audience); in development mode it does. A service can also sign its own tokens with
 * a key whose public half is in the JWKS, so HS256 can be turned off entirely. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/auth.h"
#include "auth/key.h"
#include "auth/runtime.h"
#include "config/config.h"
#include "svc/service.h"
#include "tickets_service.h"

#define NOW  1767225600LL
#define GOOD "0123456789abcdef0123456789abcdef-good"

static const char *const vars[] = {
    "HELPDESK_DEV_MODE",          "HELPDESK_AUTH_SECRET",       "HELPDESK_AUTH_ISSUER",
    "HELPDESK_AUTH_AUDIENCE",     "HELPDESK_AUTH_JWKS",         "HELPDESK_AUTH_JWKS_RECHECK",
    "HELPDESK_AUTH_MAX_LIFETIME", "HELPDESK_AUTH_TENANT_CLAIM", "HELPDESK_AUTH_ROLES_CLAIM",
    "HELPDESK_AUTH_HS256",        "HELPDESK_AUTH_SIGNING_KEY",  "HELPDESK_AUTH_SIGNING_KID"};

static int clear_env(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
  return 0;
}

/* Loads the configuration from the environment and opens the runtime: its result. */
static int open_rt(hd_auth_runtime *rt, hd_err *err) {
  hd_common_config c;
  if (hd_common_config_load("tickets", 50051, &c, err) != 0) return -1;
  return hd_auth_runtime_open(&c, NOW, rt, err);
}

static void assert_refused(const char *needle) {
  hd_auth_runtime rt;
  hd_err err = {0};
  assert_int_equal(open_rt(&rt, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  if (!strstr(err.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
  printf("refused: %s\n", err.msg);
}

static void test_without_dev_mode_no_secret_is_refused(void **state) {
  (void)state;
  setenv("HELPDESK_AUTH_AUDIENCE", "helpdesk", 1);
  assert_refused(
      "refusing to start: HELPDESK_AUTH_SECRET is not set, so tokens would be signed "
      "and accepted with the built-in development secret");
  setenv("HELPDESK_DEV_MODE", "0", 1);
  assert_refused("HELPDESK_DEV_MODE=1 on a development machine");
}

static void test_without_dev_mode_a_known_or_short_secret_is_refused(void **state) {
  (void)state;
  setenv("HELPDESK_AUTH_AUDIENCE", "helpdesk", 1);
  setenv("HELPDESK_AUTH_SECRET", HD_AUTH_DEV_SECRET, 1);
  assert_refused("HELPDESK_AUTH_SECRET is the development secret or a placeholder");
  setenv("HELPDESK_AUTH_SECRET", "change-me-helpdesk-token-secret-0123456789", 1);
  assert_refused("placeholder from the repository (\"change-me\")");
  setenv("HELPDESK_AUTH_SECRET", "0123456789abcdef0123456789abcde", 1); /* 31 bytes */
  assert_refused("HELPDESK_AUTH_SECRET is 31 bytes, shorter than the 32 needed");
}

static void test_without_dev_mode_the_audience_is_required(void **state) {
  (void)state;
  setenv("HELPDESK_AUTH_SECRET", GOOD, 1);
  assert_refused("HELPDESK_AUTH_AUDIENCE is not set");
  setenv("HELPDESK_AUTH_AUDIENCE", "helpdesk", 1);
  hd_auth_runtime rt;
  hd_err err = {0};
  if (open_rt(&rt, &err) != 0) fail_msg("open: %s", err.msg);
  assert_string_equal(rt.cfg.secret, GOOD);
  assert_string_equal(rt.cfg.audience, "helpdesk");
  assert_int_equal(rt.cfg.max_lifetime_s, 24 * 3600);
  assert_string_equal(rt.cfg.tenant_claim, "tenant");
  assert_null(rt.jwks);
  hd_auth_runtime_close(&rt);
}

static void test_dev_mode_allows_the_development_secret(void **state) {
  (void)state;
  setenv("HELPDESK_DEV_MODE", "1", 1);
  hd_auth_runtime rt;
  hd_err err = {0};
  if (open_rt(&rt, &err) != 0) fail_msg("open: %s", err.msg);
  assert_string_equal(rt.cfg.secret, HD_AUTH_DEV_SECRET);
  assert_null(rt.cfg.audience);
  hd_auth_runtime_close(&rt);
  setenv("HELPDESK_DEV_MODE", "yes", 1);
  assert_int_equal(open_rt(&rt, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "HELPDESK_DEV_MODE=yes is not a whole number"));
}

static void test_hs256_off_needs_a_jwks_in_any_mode(void **state) {
  (void)state;
  setenv("HELPDESK_DEV_MODE", "1", 1);
  setenv("HELPDESK_AUTH_HS256", "0", 1);
  assert_refused("HELPDESK_AUTH_HS256=0 and no HELPDESK_AUTH_JWKS");
}

static void test_the_service_refuses_to_start_outside_dev_mode(void **state) {
  (void)state;
  hd_svc *s = NULL;
  hd_err err = {0};
  hd_svc_options opts = {.listen_addr = "127.0.0.1:0"};
  assert_int_equal(hd_svc_start(&tickets_service_def, &opts, &s, &err), -1);
  assert_null(s);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, "HELPDESK_AUTH_SECRET is not set"));
}

/* A service that signs its own (service role) tokens with a key, verified through the JWKS,
 * with HS256 off: no shared secret at all. */
static void test_service_identity_signs_with_a_key_and_hs256_off(void **state) {
  (void)state;
  char dir[] = "/tmp/test_auth_runtime.XXXXXX", pem[96], jwks[96], cmd[128];
  assert_non_null(mkdtemp(dir));
  snprintf(pem, sizeof pem, "%s/svc.pem", dir);
  snprintf(jwks, sizeof jwks, "%s/jwks.json", dir);
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  FILE *f = fopen(pem, "w");
  assert_non_null(f);
  assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
  fclose(f);
  hd_auth_key *k = NULL;
  char *jwk = NULL;
  hd_err err = {0};
  assert_int_equal(hd_auth_key_from_pkey(pk, "routing-1", &k, &err), 0);
  assert_int_equal(hd_auth_key_jwk(k, &jwk, &err), 0);
  f = fopen(jwks, "w");
  fprintf(f, "{\"keys\":[%s]}", jwk);
  fclose(f);
  setenv("HELPDESK_AUTH_HS256", "0", 1);
  setenv("HELPDESK_AUTH_AUDIENCE", "helpdesk", 1);
  setenv("HELPDESK_AUTH_JWKS", jwks, 1);
  setenv("HELPDESK_AUTH_SIGNING_KEY", pem, 1);
  hd_auth_runtime rt;
  assert_int_equal(open_rt(&rt, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "HELPDESK_AUTH_SIGNING_KEY needs HELPDESK_AUTH_SIGNING_KID"));
  setenv("HELPDESK_AUTH_SIGNING_KID", "routing-1", 1);
  if (open_rt(&rt, &err) != 0) fail_msg("open: %s", err.msg);
  assert_null(rt.cfg.secret);
  assert_true(rt.cfg.hs256_off);
  hd_auth_identity *id = NULL;
  hd_auth_identity_config ic = {.auth = &rt.cfg, .service = "routing"};
  if (hd_auth_identity_new(&ic, &id, &err) != 0) fail_msg("identity: %s", err.msg);
  char tok[HD_AUTH_TOKEN_MAX];
  assert_int_equal(hd_auth_identity_token(id, "acme", NOW, tok, sizeof tok, &err), 0);
  hd_principal p;
  if (hd_auth_verify(&rt.cfg, tok, strlen(tok), NOW, &p, &err) != 0)
    fail_msg("verify: %s", err.msg);
  assert_string_equal(p.user_id, "routing");
  assert_string_equal(p.tenant, "acme");
  assert_int_equal(p.roles, HD_ROLE_SERVICE);
  /* An HS256 token, even from the development secret, is refused by this service. */
  hd_auth_config dev = {.secret = HD_AUTH_DEV_SECRET,
                        .secret_len = strlen(HD_AUTH_DEV_SECRET),
                        .issuer = rt.cfg.issuer,
                        .audience = "helpdesk"};
  char *hs = NULL;
  assert_int_equal(hd_auth_mint(&dev, "acme", "u1", HD_ROLE_TENANT_ADMIN, NOW, 600, &hs, &err), 0);
  assert_int_equal(hd_auth_verify(&rt.cfg, hs, strlen(hs), NOW, &p, &err), -1);
  assert_non_null(strstr(err.msg, "\"HS256\" is not accepted; only RS256 and ES256 are"));
  free(hs);
  hd_auth_identity_free(id);
  hd_auth_runtime_close(&rt);
  hd_auth_key_free(k);
  free(jwk);
  EVP_PKEY_free(pk);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_without_dev_mode_no_secret_is_refused, clear_env),
      cmocka_unit_test_setup(test_without_dev_mode_a_known_or_short_secret_is_refused, clear_env),
      cmocka_unit_test_setup(test_without_dev_mode_the_audience_is_required, clear_env),
      cmocka_unit_test_setup(test_dev_mode_allows_the_development_secret, clear_env),
      cmocka_unit_test_setup(test_hs256_off_needs_a_jwks_in_any_mode, clear_env),
      cmocka_unit_test_setup(test_the_service_refuses_to_start_outside_dev_mode, clear_env),
      cmocka_unit_test_setup(test_service_identity_signs_with_a_key_and_hs256_off, clear_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
