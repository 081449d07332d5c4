/* common/auth: JWT HS256 sign/verify, the strict claims reader, Bearer parsing, role checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/auth.h"
#include "auth/base64url.h"

#define SECRET       "unit-test-secret-0123456789"
#define ISSUER       "helpdesk"
#define NOW          1767225600LL /* 2026-01-01T00:00:00Z */
#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define ALL_ROLES                                                              \
  (HD_ROLE_CUSTOMER | HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR | \
   HD_ROLE_TENANT_ADMIN | HD_ROLE_SERVICE)

static hd_auth_config cfg_with(const char *secret, const char *issuer, int64_t leeway_s) {
  hd_auth_config c = {
      .secret = secret, .secret_len = strlen(secret), .issuer = issuer, .leeway_s = leeway_s};
  return c;
}

static hd_auth_config test_cfg(void) { return cfg_with(SECRET, ISSUER, 30); }

static hd_principal principal(const char *tenant, const char *user, unsigned roles) {
  hd_principal p;
  memset(&p, 0, sizeof p);
  snprintf(p.tenant, sizeof p.tenant, "%s", tenant);
  snprintf(p.user_id, sizeof p.user_id, "%s", user);
  p.roles = roles;
  return p;
}

static char *sign_ok(const hd_auth_config *cfg, const hd_principal *p, int64_t now_s,
                     int64_t ttl_s) {
  char *tok = NULL;
  hd_err err = {0};
  int rc = hd_auth_sign(cfg, p, now_s, ttl_s, &tok, &err);
  if (rc != 0) fail_msg("hd_auth_sign: %s", err.msg);
  assert_non_null(tok);
  return tok;
}

/* A token built by hand from header and payload JSON. secret NULL → empty signature part.
 * Caller frees with free(). */
static char *hand_token(const char *header, const char *payload, const char *secret) {
  size_t hl = strlen(header), pl = strlen(payload);
  size_t size = hd_b64url_encoded_len(hl) + hd_b64url_encoded_len(pl) + 64;
  char *t = malloc(size);
  assert_non_null(t);
  size_t n = 0, m = 0;
  assert_int_equal(hd_b64url_encode((const unsigned char *)header, hl, t, size, &n), 0);
  t[n++] = '.';
  assert_int_equal(hd_b64url_encode((const unsigned char *)payload, pl, t + n, size - n, &m), 0);
  n += m;
  if (secret) {
    unsigned char mac[32];
    unsigned int mac_len = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)t, n,
                         mac, &mac_len));
    t[n++] = '.';
    assert_int_equal(hd_b64url_encode(mac, mac_len, t + n, size - n, NULL), 0);
  } else {
    t[n++] = '.';
    t[n] = '\0';
  }
  return t;
}

/* Verifies a hand-built token with the test config; returns the call's result. */
static int verify_hand(const char *header, const char *payload, hd_principal *out, hd_err *err) {
  hd_auth_config cfg = test_cfg();
  char *t = hand_token(header, payload, SECRET);
  int rc = hd_auth_verify(&cfg, t, strlen(t), NOW, out, err);
  free(t);
  return rc;
}

static void assert_unauthenticated(int rc, const hd_err *err, const char *needle) {
  assert_int_equal(rc, -1);
  assert_int_equal(err->code, HD_UNAUTHENTICATED);
  if (!strstr(err->msg, needle))
    fail_msg("message \"%s\" does not contain \"%s\"", err->msg, needle);
}

static void assert_payload_refused(const char *payload, const char *needle) {
  hd_principal p;
  hd_err err = {0};
  assert_unauthenticated(verify_hand(HS256_HEADER, payload, &p, &err), &err, needle);
}

#define CLAIMS(extra)                                                                       \
  "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[\"agent\"],\"iat\":" \
  "1767225600,\"exp\":1767226200" extra "}"

/* ---- round trips ---- */

static void test_sign_then_verify_round_trips_every_role(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal("acme", "user-1", ALL_ROLES), out;
  char *tok = sign_ok(&cfg, &in, NOW, 600);
  hd_err err = {0};
  assert_int_equal(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), 0);
  assert_string_equal(out.tenant, "acme");
  assert_string_equal(out.user_id, "user-1");
  assert_int_equal(out.roles, ALL_ROLES);
  assert_int_equal(out.expires_at_s, NOW + 600);
  free(tok);
}

static void test_each_single_role_round_trips(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  for (unsigned bit = HD_ROLE_CUSTOMER; bit <= HD_ROLE_SERVICE; bit <<= 1) {
    hd_principal in = principal("t", "u", bit), out;
    char *tok = sign_ok(&cfg, &in, NOW, 60);
    hd_err err = {0};
    assert_int_equal(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), 0);
    assert_int_equal(out.roles, bit);
    free(tok);
  }
}

static void test_token_without_roles_verifies_with_no_roles(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal("acme", "u1", 0), out;
  char *tok = sign_ok(&cfg, &in, NOW, 60);
  hd_err err = {0};
  assert_int_equal(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), 0);
  assert_int_equal(out.roles, 0);
  free(tok);
}

static void test_ids_at_their_limits_round_trip(void **state) {
  (void)state;
  char tenant[HD_TENANT_MAX + 1], user[HD_USER_ID_MAX + 1];
  memset(tenant, 't', HD_TENANT_MAX);
  tenant[HD_TENANT_MAX] = '\0';
  memset(user, 'u', HD_USER_ID_MAX);
  user[HD_USER_ID_MAX] = '\0';
  user[1] = ' '; /* a space inside is printable ASCII; at an end it is refused (test_ident.c) */
  user[2] = '~';
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal(tenant, user, HD_ROLE_AGENT), out;
  char *tok = sign_ok(&cfg, &in, NOW, 60);
  hd_err err = {0};
  assert_int_equal(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), 0);
  assert_string_equal(out.tenant, tenant);
  assert_string_equal(out.user_id, user);
  free(tok);
}

static void test_hand_built_token_with_escapes_and_whitespace_verifies(void **state) {
  (void)state;
  hd_principal p;
  hd_err err = {0};
  const char *payload =
      " {\n\t\"iss\" : \"help\\u0064esk\", \"sub\":\"a\\/b\",\"tenant\":\"\\u0061cme\",\"roles\":[ "
      "\"agent\" , "
      "\"agent\",\"supervisor\" ],\"exp\":1767226200,\"note\":\"caf\\u00e9 \\ud83d\\ude00 \\\" "
      "\\\\ \\n \\t\"} ";
  assert_int_equal(verify_hand(" { \"typ\" : \"JWT\", \"alg\" : \"HS256\" } ", payload, &p, &err),
                   0);
  assert_string_equal(p.tenant, "acme");
  assert_string_equal(p.user_id, "a/b");
  assert_int_equal(p.roles, HD_ROLE_AGENT | HD_ROLE_SUPERVISOR);
  assert_int_equal(p.expires_at_s, 1767226200);
}

static void test_unknown_claims_are_ignored(void **state) {
  (void)state;
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(
      verify_hand(HS256_HEADER, CLAIMS(",\"aud\":\"x\",\"jti\":\"1\",\"n\":-5,\"list\":[]"), &p,
                  &err),
      0);
  assert_string_equal(p.tenant, "acme");
}

/* ---- signature ---- */

static void test_tampered_payload_is_unauthenticated(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal("acme", "u1", HD_ROLE_CUSTOMER), out;
  char *tok = sign_ok(&cfg, &in, NOW, 600);
  /* Same header and signature, payload claiming another tenant and role. */
  char *forged = hand_token(
      HS256_HEADER,
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"evil\",\"roles\":[\"tenant_admin\"],"
      "\"iat\":1767225600,\"exp\":1767226200}",
      "some other secret");
  const char *sig = strrchr(tok, '.');
  char *fsig = strrchr(forged, '.');
  assert_int_equal(strlen(sig), strlen(fsig));
  memcpy(fsig, sig, strlen(sig));
  hd_err err = {0};
  assert_unauthenticated(hd_auth_verify(&cfg, forged, strlen(forged), NOW, &out, &err), &err,
                         "token signature does not match (wrong secret or tampered token)");
  free(forged);
  free(tok);
}

static void test_tampered_signature_is_unauthenticated(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&cfg, &in, NOW, 600);
  char *sig = strrchr(tok, '.') + 1;
  sig[0] = sig[0] == 'A' ? 'B' : 'A';
  hd_err err = {0};
  assert_unauthenticated(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), &err,
                         "signature does not match");
  free(tok);
}

static void test_signature_with_nonzero_padding_bits_is_refused(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&cfg, &in, NOW, 600);
  /* The last of 43 characters carries 4 bits and 2 unused ones: setting one gives a second
   * spelling of the same bytes, which must not verify. */
  char *last = tok + strlen(tok) - 1;
  const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t v = (size_t)(strchr(alphabet, *last) - alphabet);
  assert_int_equal(v & 3, 0);
  *last = alphabet[v | 1];
  hd_err err = {0};
  assert_unauthenticated(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), &err,
                         "base64url");
  free(tok);
}

static void test_wrong_secret_is_unauthenticated(void **state) {
  (void)state;
  hd_auth_config signer = cfg_with("another-secret", ISSUER, 30), cfg = test_cfg();
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&signer, &in, NOW, 600);
  hd_err err = {0};
  assert_unauthenticated(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), &err,
                         "token signature does not match (wrong secret or tampered token)");
  free(tok);
}

static void test_truncated_signature_is_unauthenticated(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&cfg, &in, NOW, 600);
  hd_err err = {0};
  assert_unauthenticated(hd_auth_verify(&cfg, tok, strlen(tok) - 1, NOW, &out, &err), &err,
                         "signature");
  assert_unauthenticated(hd_auth_verify(&cfg, tok, strlen(tok) - 4, NOW, &out, &err), &err,
                         "signature");
  free(tok);
}

static void test_failure_messages_never_echo_the_token(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg(), other = cfg_with("x", ISSUER, 0);
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&other, &in, NOW, 600);
  const char *dot2 = strrchr(tok, '.');
  char sig[16];
  memcpy(sig, dot2 + 1, 10);
  sig[10] = '\0';
  hd_err err = {0};
  assert_int_equal(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), -1);
  assert_null(strstr(err.msg, "eyJ"));
  assert_null(strstr(err.msg, sig));
  assert_int_equal(hd_auth_verify(&cfg, tok, strlen(tok) - 2, NOW, &out, &err), -1);
  assert_null(strstr(err.msg, "eyJ"));
  free(tok);
}

/* ---- time ---- */

static void test_expired_token_is_unauthenticated(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&cfg, &in, NOW - 700, 600); /* expired at NOW - 100 */
  hd_err err = {0};
  assert_unauthenticated(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), &err,
                         "token expired at 2025-12-31T23:58:20Z; request a new one");
  free(tok);
}

static void test_expiry_within_leeway_is_accepted_and_at_its_edge_refused(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg(); /* leeway 30 s */
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&cfg, &in, NOW - 100, 100); /* exp == NOW */
  hd_err err = {0};
  assert_int_equal(hd_auth_verify(&cfg, tok, strlen(tok), NOW + 29, &out, &err), 0);
  assert_unauthenticated(hd_auth_verify(&cfg, tok, strlen(tok), NOW + 30, &out, &err), &err,
                         "token expired at");
  free(tok);
}

static void test_without_leeway_expiry_is_exact(void **state) {
  (void)state;
  hd_auth_config cfg = cfg_with(SECRET, ISSUER, 0);
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&cfg, &in, NOW - 100, 100); /* exp == NOW */
  hd_err err = {0};
  assert_int_equal(hd_auth_verify(&cfg, tok, strlen(tok), NOW - 1, &out, &err), 0);
  assert_unauthenticated(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), &err,
                         "token expired at 2026-01-01T00:00:00Z");
  free(tok);
}

static void test_not_before_in_the_future_is_refused(void **state) {
  (void)state;
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(verify_hand(HS256_HEADER, CLAIMS(",\"nbf\":1767225630"), &p, &err),
                   0); /* within leeway */
  assert_payload_refused(CLAIMS(",\"nbf\":1767225631"),
                         "token is not valid before 2026-01-01T00:00:31Z");
}

static void test_time_claims_must_be_whole_numbers(void **state) {
  (void)state;
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[],\"exp\":"
      "\"1767226200\"}",
      "exp claim is not a whole number");
  assert_payload_refused("{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[]}",
                         "no exp claim");
  assert_payload_refused(CLAIMS(",\"iat2\":1.5"), "only whole numbers");
  assert_payload_refused(CLAIMS(",\"big\":1e9"), "only whole numbers");
  assert_payload_refused(CLAIMS(",\"nbf\":\"soon\""), "nbf claim is not a whole number");
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[],\"iat\":[],"
      "\"exp\":1767226200}",
      "iat claim is not a whole number");
}

/* ---- issuer ---- */

static void test_wrong_issuer_is_unauthenticated(void **state) {
  (void)state;
  hd_auth_config signer = cfg_with(SECRET, "someone-else", 30), cfg = test_cfg();
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&signer, &in, NOW, 600);
  hd_err err = {0};
  assert_unauthenticated(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), &err,
                         "token issuer \"someone-else\" is not \"helpdesk\"");
  free(tok);
}

static void test_missing_or_non_string_issuer_is_unauthenticated(void **state) {
  (void)state;
  assert_payload_refused("{\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[],\"exp\":1767226200}",
                         "no issuer (iss)");
  assert_payload_refused(
      "{\"iss\":7,\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[],\"exp\":1767226200}",
      "issuer (iss) is not a string");
  assert_payload_refused(
      "{\"iss\":\"helpdesk \",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[],\"exp\":1767226200}",
      "token issuer \"helpdesk \" is not \"helpdesk\"");
}

/* ---- header / algorithm ---- */

static void test_alg_none_is_unauthenticated(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal out;
  hd_err err = {0};
  char *unsigned_tok = hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", CLAIMS(""), NULL);
  assert_unauthenticated(hd_auth_verify(&cfg, unsigned_tok, strlen(unsigned_tok), NOW, &out, &err),
                         &err, "token algorithm \"none\" is not accepted; only HS256 is");
  /* Even carrying a signature that would match, "none" stays refused. */
  char *signed_tok = hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", CLAIMS(""), SECRET);
  assert_unauthenticated(hd_auth_verify(&cfg, signed_tok, strlen(signed_tok), NOW, &out, &err),
                         &err, "\"none\" is not accepted");
  free(signed_tok);
  free(unsigned_tok);
}

static void test_alg_hs512_is_unauthenticated(void **state) {
  (void)state;
  hd_principal p;
  hd_err err = {0};
  assert_unauthenticated(verify_hand("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", CLAIMS(""), &p, &err),
                         &err, "token algorithm \"HS512\" is not accepted; only HS256 is");
  assert_unauthenticated(verify_hand("{\"alg\":\"hs256\"}", CLAIMS(""), &p, &err), &err,
                         "\"hs256\" is not accepted");
  assert_unauthenticated(verify_hand("{\"alg\":\"RS256\"}", CLAIMS(""), &p, &err), &err,
                         "\"RS256\" is not accepted");
}

static void test_missing_alg_is_unauthenticated(void **state) {
  (void)state;
  hd_principal p;
  hd_err err = {0};
  assert_unauthenticated(verify_hand("{\"typ\":\"JWT\"}", CLAIMS(""), &p, &err), &err,
                         "names no algorithm (alg)");
  assert_unauthenticated(verify_hand("{\"alg\":[\"HS256\"]}", CLAIMS(""), &p, &err), &err,
                         "names no algorithm");
  assert_unauthenticated(verify_hand("{}", CLAIMS(""), &p, &err), &err, "names no algorithm");
}

static void test_header_without_typ_is_accepted_but_other_typ_refused(void **state) {
  (void)state;
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(verify_hand("{\"alg\":\"HS256\"}", CLAIMS(""), &p, &err), 0);
  assert_unauthenticated(verify_hand("{\"alg\":\"HS256\",\"typ\":\"JOSE\"}", CLAIMS(""), &p, &err),
                         &err, "type (typ) is not JWT");
  assert_unauthenticated(
      verify_hand("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", CLAIMS(""), &p, &err), &err,
      "critical extensions");
}

/* ---- malformed ---- */

static void test_token_not_three_parts_is_unauthenticated(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal out;
  hd_err err = {0};
  const char *bad[] = {"abc", "a.b", "a.b.c.d", ".b.c", "a..c", "..", "...", "eyJ.eyJ"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_unauthenticated(hd_auth_verify(&cfg, bad[i], strlen(bad[i]), NOW, &out, &err), &err,
                           "token is not three base64url parts separated by '.'");
}

static void test_empty_token_is_unauthenticated(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal out;
  hd_err err = {0};
  assert_unauthenticated(hd_auth_verify(&cfg, "", 0, NOW, &out, &err), &err, "empty");
  assert_unauthenticated(hd_auth_verify(&cfg, NULL, 0, NOW, &out, &err), &err, "empty");
  assert_unauthenticated(hd_auth_verify(&cfg, NULL, 10, NOW, &out, &err), &err, "empty");
}

static void test_bad_base64_is_unauthenticated(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&cfg, &in, NOW, 600);
  hd_err err = {0};
  char *t = strdup(tok);
  t[3] = '*';
  assert_unauthenticated(hd_auth_verify(&cfg, t, strlen(t), NOW, &out, &err), &err,
                         "token header is not valid base64url");
  memcpy(t, tok, strlen(tok));
  t[3] = '+';
  assert_unauthenticated(hd_auth_verify(&cfg, t, strlen(t), NOW, &out, &err), &err,
                         "token header is not valid base64url");
  /* A header of 4k+1 characters cannot be base64. */
  const char *lone = "eyJhb.eyJ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  assert_unauthenticated(hd_auth_verify(&cfg, lone, strlen(lone), NOW, &out, &err), &err,
                         "not valid base64url");
  /* Padding is not part of the JWT encoding. */
  char *padded = hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", CLAIMS(""), SECRET);
  char *dot = strchr(padded, '.');
  size_t plen = strlen(padded);
  char *with_pad = malloc(plen + 3);
  assert_non_null(with_pad);
  size_t hl = (size_t)(dot - padded);
  memcpy(with_pad, padded, hl);
  memcpy(with_pad + hl, "==", 2);
  memcpy(with_pad + hl + 2, dot, plen - hl + 1);
  assert_unauthenticated(hd_auth_verify(&cfg, with_pad, strlen(with_pad), NOW, &out, &err), &err,
                         "not valid base64url");
  free(with_pad);
  free(padded);
  free(t);
  free(tok);
}

static void test_json_garbage_is_unauthenticated(void **state) {
  (void)state;
  hd_principal p;
  hd_err err = {0};
  assert_unauthenticated(verify_hand("not json at all", CLAIMS(""), &p, &err), &err,
                         "token header is not valid JSON (not a JSON object)");
  assert_unauthenticated(verify_hand(HS256_HEADER, "[1,2,3]", &p, &err), &err,
                         "token payload is not valid JSON (not a JSON object)");
  assert_unauthenticated(verify_hand(HS256_HEADER, "  ", &p, &err), &err,
                         "not valid JSON (not a JSON object)");
  assert_unauthenticated(verify_hand(HS256_HEADER, "\"tenant\"", &p, &err), &err,
                         "not a JSON object");
}

/* Each payload is one JSON mistake the strict reader must refuse. Syntax errors are described
 * by jansson (common/json) with their byte position; the rules the reader adds (UTF-8, no NUL,
 * unique keys, int64, one object; a flat object of strings, whole numbers and arrays of strings)
 * in its own words. */
static void test_claims_reader_refuses_malformed_json(void **state) {
  (void)state;
  static const struct {
    const char *payload, *why;
  } cases[] = {
      {"{\"iss\":\"helpdesk\"", "'}' expected at byte 17"},
      {"{\"iss\":\"helpdesk\",}", "string or '}' expected at byte 19"},
      {"{\"iss\" \"helpdesk\"}", "':' expected"},
      {"{\"iss\":\"helpdesk}", "premature end of input"},
      {"{\"iss\":\"help\\desk\"}", "invalid escape at byte 14"},
      {"{\"iss\":\"help\\u00\"}", "invalid escape"},
      {"{\"iss\":\"help\\u00", "invalid escape"},
      {"{\"iss\":\"\\u0000\"}", "\\u0000 in a string"},
      {"{\"iss\":\"\\ud83d\"}", "invalid Unicode '\\uD83D'"},
      {"{\"iss\":\"\\ude00\"}", "invalid Unicode '\\uDE00'"},
      {"{\"iss\":\"\\ud83d\\u0041\"}", "invalid Unicode '\\uD83D\\u0041'"},
      {"{\"iss\":\"a\tb\"}", "control character"},
      {"{\"iss\":\"\xc3\x28\"}", "not valid UTF-8"},
      {"{\"iss\":\"\xed\xa0\x80\"}", "not valid UTF-8"},
      {"{\"a\":{}}", "nested objects"},
      {"{\"a\":true}", "true, false and null"},
      {"{\"a\":null}", "true, false and null"},
      {"{\"a\":[1]}", "arrays may hold only strings"},
      {"{\"a\":[\"x\",]}", "unexpected token"},
      {"{\"a\":[\"x\" \"y\"]}", "']' expected"},
      {"{\"a\":[[\"x\"]]}", "arrays may hold only strings"},
      {"{\"a\":[[[[[[[[\"x\"]]]]]]]]}", "nests deeper than 8 levels"},
      {"{\"a\":01}", "invalid token"},
      {"{\"a\":1.0}", "only whole numbers"},
      {"{\"a\":1e3}", "only whole numbers"},
      {"{\"a\":-}", "invalid token"},
      {"{\"a\":+1}", "invalid token"},
      {"{\"a\":9223372036854775808}", "number out of range"},
      {"{\"a\":-9223372036854775809}", "number out of range"},
      {"{\"a\":1,\"a\":2}", "duplicate key at byte 10"},
      {"{\"a\":1} x", "text after the object"},
      {"{\"a\":1}{}", "text after the object"},
      {"{a:1}", "string or '}' expected"},
      {"{\"a\":'x'}", "invalid token"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    hd_principal p;
    hd_err err = {0};
    int rc = verify_hand(HS256_HEADER, cases[i].payload, &p, &err);
    if (rc != -1 || err.code != HD_UNAUTHENTICATED ||
        !strstr(err.msg, "token payload is not valid JSON") || !strstr(err.msg, cases[i].why))
      fail_msg("case %zu (%s): rc %d, message \"%s\", wanted \"%s\"", i, cases[i].payload, rc,
               err.msg, cases[i].why);
  }
}

static void test_claims_reader_limits_members_and_items(void **state) {
  (void)state;
  char payload[2048];
  hd_principal p;
  hd_err err = {0};
  /* 16 members (6 claims + 10 extra) is the edge; 17 is one past. */
#define TEN_EXTRA \
  ",\"x1\":1,\"x2\":1,\"x3\":1,\"x4\":1,\"x5\":1,\"x6\":1,\"x7\":1,\"x8\":1,\"x9\":1,\"x10\":1"
  snprintf(payload, sizeof payload, "%s", CLAIMS(TEN_EXTRA));
  assert_int_equal(verify_hand(HS256_HEADER, payload, &p, &err), 0);
  snprintf(payload, sizeof payload, "%s", CLAIMS(TEN_EXTRA ",\"x11\":1"));
#undef TEN_EXTRA
  assert_payload_refused(payload, "too many members");
  /* 16 role strings is the edge; 17 is one past. */
  const char *sixteen =
      "\"agent\",\"agent\",\"agent\",\"agent\",\"agent\",\"agent\",\"agent\",\"agent\","
      "\"agent\",\"agent\",\"agent\",\"agent\",\"agent\",\"agent\",\"agent\",\"agent\"";
  snprintf(
      payload, sizeof payload,
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[%s],\"exp\":1767226200}",
      sixteen);
  assert_int_equal(verify_hand(HS256_HEADER, payload, &p, &err), 0);
  snprintf(payload, sizeof payload,
           "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[%s,\"agent\"],"
           "\"exp\":1767226200}",
           sixteen);
  assert_payload_refused(payload, "too many array items");
}

static void test_truncated_token_is_unauthenticated(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&cfg, &in, NOW, 600);
  size_t len = strlen(tok);
  hd_err err = {0};
  /* Every proper prefix is refused. */
  for (size_t cut = 0; cut < len; cut++) {
    int rc = hd_auth_verify(&cfg, tok, cut, NOW, &out, &err);
    if (rc != -1 || err.code != HD_UNAUTHENTICATED)
      fail_msg("prefix of %zu bytes: rc %d (%s)", cut, rc, err.msg);
  }
  assert_int_equal(hd_auth_verify(&cfg, tok, len, NOW, &out, &err), 0);
  free(tok);
}

static void test_token_length_limit_edge_and_one_past(void **state) {
  (void)state;
  /* header 36 + '.' + payload + '.' + signature 43 = 8192 when the payload encodes to 8111
   * characters, i.e. when the payload JSON is 6083 bytes. */
  const char *head =
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[],\"exp\":1767226200,"
      "\"pad\":\"";
  size_t want = 6083, hl = strlen(head);
  char *payload = malloc(want + 2);
  assert_non_null(payload);
  memcpy(payload, head, hl);
  memset(payload + hl, 'p', want - hl - 2);
  memcpy(payload + want - 2, "\"}", 3);
  char *tok = hand_token(HS256_HEADER, payload, SECRET);
  assert_int_equal(strlen(tok), 8192);
  hd_auth_config cfg = test_cfg();
  hd_principal out;
  hd_err err = {0};
  assert_int_equal(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), 0);
  free(tok);

  memcpy(payload + want - 2, "p\"}", 4); /* one byte more → 8193 or 8194 characters */
  tok = hand_token(HS256_HEADER, payload, SECRET);
  assert_true(strlen(tok) > 8192);
  assert_unauthenticated(hd_auth_verify(&cfg, tok, strlen(tok), NOW, &out, &err), &err,
                         "longer than 8192 bytes");
  assert_unauthenticated(hd_auth_verify(&cfg, tok, 8193, NOW, &out, &err), &err,
                         "longer than 8192 bytes");
  free(tok);
  free(payload);
}

/* ---- claims ---- */

static void test_unknown_role_is_unauthenticated(void **state) {
  (void)state;
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[\"agent\",\"wizard\"],"
      "\"exp\":1767226200}",
      "token names an unknown role \"wizard\"");
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[\"Agent\"],"
      "\"exp\":1767226200}",
      "unknown role \"Agent\"");
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":[\"\"],"
      "\"exp\":1767226200}",
      "unknown role \"\"");
}

static void test_roles_must_be_an_array_of_names_or_a_spaced_string(void **state) {
  (void)state;
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"exp\":1767226200}",
      "no roles claim");
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":7,"
      "\"exp\":1767226200}",
      "roles claim is not an array of role names");
  /* Since issue 18 roles may also be one string of names separated by spaces (scope style). */
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(verify_hand(HS256_HEADER,
                               "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\","
                               "\"roles\":\"agent  supervisor\",\"exp\":1767226200}",
                               &p, &err),
                   0);
  assert_int_equal(p.roles, HD_ROLE_AGENT | HD_ROLE_SUPERVISOR);
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"acme\",\"roles\":\"agent root\","
      "\"exp\":1767226200}",
      "unknown role \"root\"");
}

static void test_missing_tenant_or_subject_is_unauthenticated(void **state) {
  (void)state;
  assert_payload_refused("{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"roles\":[],\"exp\":1767226200}",
                         "no tenant (tenant)");
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"tenant\":\"acme\",\"roles\":[],\"exp\":1767226200}",
      "no subject (sub)");
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"\",\"roles\":[],\"exp\":1767226200}",
      "tenant (tenant) is empty");
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"\",\"tenant\":\"acme\",\"roles\":[],\"exp\":1767226200}",
      "subject (sub) is empty");
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":5,\"tenant\":\"acme\",\"roles\":[],\"exp\":1767226200}",
      "subject (sub) is not a string");
}

static void test_over_long_tenant_or_subject_is_unauthenticated(void **state) {
  (void)state;
  char payload[512], tenant[HD_TENANT_MAX + 2], user[HD_USER_ID_MAX + 2];
  memset(tenant, 't', sizeof tenant - 1);
  tenant[sizeof tenant - 1] = '\0'; /* 65 characters */
  memset(user, 'u', sizeof user - 1);
  user[sizeof user - 1] = '\0'; /* 129 characters */
  snprintf(
      payload, sizeof payload,
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"%s\",\"roles\":[],\"exp\":1767226200}",
      tenant);
  assert_payload_refused(payload, "tenant (tenant) is longer than 64 characters");
  snprintf(
      payload, sizeof payload,
      "{\"iss\":\"helpdesk\",\"sub\":\"%s\",\"tenant\":\"acme\",\"roles\":[],\"exp\":1767226200}",
      user);
  assert_payload_refused(payload, "subject (sub) is longer than 128 characters");
  /* At the limit both are accepted. */
  tenant[HD_TENANT_MAX] = '\0';
  user[HD_USER_ID_MAX] = '\0';
  snprintf(
      payload, sizeof payload,
      "{\"iss\":\"helpdesk\",\"sub\":\"%s\",\"tenant\":\"%s\",\"roles\":[],\"exp\":1767226200}",
      user, tenant);
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(verify_hand(HS256_HEADER, payload, &p, &err), 0);
  assert_int_equal(strlen(p.tenant), HD_TENANT_MAX);
  assert_int_equal(strlen(p.user_id), HD_USER_ID_MAX);
}

static void test_tenant_with_quote_backslash_or_non_ascii_is_unauthenticated(void **state) {
  (void)state;
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"a\\\"b\",\"roles\":[],\"exp\":1767226200}",
      "tenant (tenant) must be printable ASCII");
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"a\\\\b\",\"roles\":[],\"exp\":1767226200}",
      "tenant (tenant) must be printable ASCII");
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u\\n1\",\"tenant\":\"ab\",\"roles\":[],\"exp\":1767226200}",
      "subject (sub) must be printable ASCII");
  assert_payload_refused(
      "{\"iss\":\"helpdesk\",\"sub\":\"u1\",\"tenant\":\"caf\xc3\xa9\",\"roles\":[],\"exp\":"
      "1767226200}",
      "tenant (tenant) must be printable ASCII");
}

static void test_verify_without_secret_is_internal(void **state) {
  (void)state;
  hd_auth_config cfg = {.secret = "", .secret_len = 0, .issuer = ISSUER};
  hd_principal out;
  hd_err err = {0};
  assert_int_equal(hd_auth_verify(&cfg, "a.b.c", 5, NOW, &out, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_int_equal(hd_auth_verify(NULL, "a.b.c", 5, NOW, &out, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
}

/* ---- sign's own checks ---- */

static void assert_sign_refused(const hd_auth_config *cfg, const hd_principal *p, int64_t ttl_s,
                                const char *needle) {
  char *tok = (char *)1;
  hd_err err = {0};
  assert_int_equal(hd_auth_sign(cfg, p, NOW, ttl_s, &tok, &err), -1);
  assert_null(tok);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  if (!strstr(err.msg, needle)) fail_msg("message \"%s\" does not contain \"%s\"", err.msg, needle);
}

static void test_sign_refuses_bad_tenant_and_user_id(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal p = principal("", "u1", HD_ROLE_AGENT);
  assert_sign_refused(&cfg, &p, 60, "tenant is empty");
  p = principal("acme", "", HD_ROLE_AGENT);
  assert_sign_refused(&cfg, &p, 60, "user id is empty");
  p = principal("a\"b", "u1", HD_ROLE_AGENT);
  assert_sign_refused(&cfg, &p, 60, "tenant must be printable ASCII without '\"' or '\\'");
  p = principal("acme", "u\\1", HD_ROLE_AGENT);
  assert_sign_refused(&cfg, &p, 60, "user id must be printable ASCII");
  p = principal("ac\tme", "u1", HD_ROLE_AGENT);
  assert_sign_refused(&cfg, &p, 60, "tenant must be printable ASCII");
  p = principal("caf\xc3\xa9", "u1", HD_ROLE_AGENT);
  assert_sign_refused(&cfg, &p, 60, "tenant must be printable ASCII");
  /* Fields filled to the brim without a terminator are one past the limit. */
  p = principal("acme", "u1", HD_ROLE_AGENT);
  memset(p.tenant, 't', sizeof p.tenant);
  assert_sign_refused(&cfg, &p, 60, "tenant is longer than 64 characters");
  p = principal("acme", "u1", HD_ROLE_AGENT);
  memset(p.user_id, 'u', sizeof p.user_id);
  assert_sign_refused(&cfg, &p, 60, "user id is longer than 128 characters");
}

static void test_sign_refuses_bad_roles_ttl_and_config(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal p = principal("acme", "u1", HD_ROLE_AGENT | (1u << 6));
  assert_sign_refused(&cfg, &p, 60, "unknown bits 0x40");
  p = principal("acme", "u1", HD_ROLE_AGENT);
  assert_sign_refused(&cfg, &p, 0, "must be positive");
  assert_sign_refused(&cfg, &p, -5, "must be positive");
  assert_sign_refused(&cfg, &p, INT64_MAX, "does not fit");
  hd_auth_config no_secret = cfg_with("", ISSUER, 0);
  assert_sign_refused(&no_secret, &p, 60, "secret is empty");
  hd_auth_config no_issuer = cfg_with(SECRET, "", 0);
  assert_sign_refused(&no_issuer, &p, 60, "issuer is empty");
  hd_auth_config quoted_issuer = cfg_with(SECRET, "help\"desk", 0);
  assert_sign_refused(&quoted_issuer, &p, 60, "issuer must be");
  hd_err err = {0};
  assert_int_equal(hd_auth_sign(&cfg, &p, NOW, 60, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  char *tok = NULL;
  assert_int_equal(hd_auth_sign(&cfg, NULL, NOW, 60, &tok, &err), -1);
  assert_null(tok);
}

static void test_sign_accepts_null_err(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal p = principal("", "u1", HD_ROLE_AGENT);
  char *tok = NULL;
  assert_int_equal(hd_auth_sign(&cfg, &p, NOW, 60, &tok, NULL), -1);
  assert_null(tok);
}

/* ---- bearer ---- */

static void test_bearer_value_verifies_the_token(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&cfg, &in, NOW, 600);
  static const struct {
    const char *before, *after;
  } forms[] = {{"Bearer ", ""},   {"bearer ", ""},  {"BEARER ", ""},
               {"Bearer   ", ""}, {"Bearer\t", ""}, {"Bearer ", "  "}};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    char value[1024];
    snprintf(value, sizeof value, "%s%s%s", forms[i].before, tok, forms[i].after);
    hd_err err = {0};
    memset(&out, 0, sizeof out);
    if (hd_auth_bearer(&cfg, value, strlen(value), NOW, &out, &err) != 0)
      fail_msg("form %zu refused: %s", i, err.msg);
    assert_string_equal(out.tenant, "acme");
  }
  free(tok);
}

static void test_bearer_value_is_read_only_to_its_length(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal in = principal("acme", "u1", HD_ROLE_AGENT), out;
  char *tok = sign_ok(&cfg, &in, NOW, 600);
  char value[1024];
  int n = snprintf(value, sizeof value, "Bearer %s", tok);
  memcpy(value + n, "GARBAGE", 8); /* metadata values are not NUL-terminated */
  hd_err err = {0};
  assert_int_equal(hd_auth_bearer(&cfg, value, (size_t)n, NOW, &out, &err), 0);
  free(tok);
}

static void test_bearer_refuses_missing_or_other_schemes(void **state) {
  (void)state;
  hd_auth_config cfg = test_cfg();
  hd_principal out;
  hd_err err = {0};
  assert_unauthenticated(hd_auth_bearer(&cfg, NULL, 0, NOW, &out, &err), &err,
                         "authorization metadata missing: send 'authorization: Bearer <token>'");
  assert_unauthenticated(hd_auth_bearer(&cfg, "", 0, NOW, &out, &err), &err,
                         "authorization metadata missing");
  assert_unauthenticated(hd_auth_bearer(&cfg, "Basic x", 7, NOW, &out, &err), &err,
                         "not a Bearer token: send 'authorization: Bearer <token>'");
  assert_unauthenticated(hd_auth_bearer(&cfg, "Bearerx", 7, NOW, &out, &err), &err,
                         "not a Bearer token");
  assert_unauthenticated(hd_auth_bearer(&cfg, "Bear", 4, NOW, &out, &err), &err,
                         "not a Bearer token");
  assert_unauthenticated(hd_auth_bearer(&cfg, " Bearer x", 9, NOW, &out, &err), &err,
                         "not a Bearer token");
  assert_unauthenticated(hd_auth_bearer(&cfg, "Bearer", 6, NOW, &out, &err), &err,
                         "no token after 'Bearer'");
  assert_unauthenticated(hd_auth_bearer(&cfg, "Bearer   ", 9, NOW, &out, &err), &err,
                         "no token after 'Bearer'");
  assert_unauthenticated(hd_auth_bearer(&cfg, "Bearer x", 8, NOW, &out, &err), &err,
                         "not three base64url parts");
}

/* ---- roles ---- */

static void test_require_passes_with_any_listed_role(void **state) {
  (void)state;
  hd_principal p = principal("acme", "u1", HD_ROLE_AGENT | HD_ROLE_CUSTOMER);
  hd_err err = {0};
  assert_int_equal(hd_auth_require(&p, HD_ROLE_AGENT, &err), 0);
  assert_int_equal(hd_auth_require(&p, HD_ROLES_STAFF, &err), 0);
  assert_true(hd_principal_has(&p, HD_ROLE_CUSTOMER));
  assert_false(hd_principal_has(&p, HD_ROLE_SUPERVISOR));
}

static void test_require_permission_denied_names_the_roles(void **state) {
  (void)state;
  hd_principal p = principal("acme", "u1", HD_ROLE_CUSTOMER);
  hd_err err = {0};
  assert_int_equal(hd_auth_require(&p, HD_ROLE_AGENT | HD_ROLE_SUPERVISOR, &err), -1);
  assert_int_equal(err.code, HD_PERMISSION_DENIED);
  assert_string_equal(
      err.msg,
      "this call needs the role agent or supervisor; user \"u1\" of tenant \"acme\" has customer");

  assert_int_equal(hd_auth_require(&p, HD_ROLE_SUPERVISOR, &err), -1);
  assert_non_null(strstr(err.msg, "needs the role supervisor;"));

  p.roles = HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD;
  assert_int_equal(
      hd_auth_require(&p, HD_ROLE_SUPERVISOR | HD_ROLE_TENANT_ADMIN | HD_ROLE_SERVICE, &err), -1);
  assert_non_null(strstr(err.msg, "needs the role supervisor, tenant_admin or service;"));
  assert_non_null(strstr(err.msg, "has agent and team_lead"));

  p.roles = 0;
  assert_int_equal(hd_auth_require(&p, HD_ROLE_AGENT, &err), -1);
  assert_non_null(strstr(err.msg, "has no role"));
}

static void test_require_without_principal_is_unauthenticated(void **state) {
  (void)state;
  hd_err err = {0};
  assert_int_equal(hd_auth_require(NULL, HD_ROLE_AGENT, &err), -1);
  assert_int_equal(err.code, HD_UNAUTHENTICATED);
}

static void test_role_names_parse_back(void **state) {
  (void)state;
  static const struct {
    hd_role role;
    const char *name;
  } roles[] = {{HD_ROLE_CUSTOMER, "customer"},         {HD_ROLE_AGENT, "agent"},
               {HD_ROLE_TEAM_LEAD, "team_lead"},       {HD_ROLE_SUPERVISOR, "supervisor"},
               {HD_ROLE_TENANT_ADMIN, "tenant_admin"}, {HD_ROLE_SERVICE, "service"}};
  for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
    hd_role r = 0;
    assert_string_equal(hd_role_name(roles[i].role), roles[i].name);
    assert_int_equal(hd_role_parse(roles[i].name, strlen(roles[i].name), &r), 0);
    assert_int_equal(r, roles[i].role);
  }
}

static void test_role_parse_refuses_unknown_names(void **state) {
  (void)state;
  hd_role r = HD_ROLE_AGENT;
  assert_int_equal(hd_role_parse("Agent", 5, &r), -1);
  assert_int_equal(hd_role_parse("agen", 4, &r), -1);
  assert_int_equal(hd_role_parse("agents", 6, &r), -1);
  assert_int_equal(hd_role_parse("", 0, &r), -1);
  assert_int_equal(hd_role_parse(NULL, 5, &r), -1);
  assert_int_equal(r, HD_ROLE_AGENT); /* untouched on failure */
  /* Only len bytes are read. */
  assert_int_equal(hd_role_parse("agentXYZ", 5, &r), 0);
  assert_int_equal(r, HD_ROLE_AGENT);
  assert_string_equal(hd_role_name((hd_role)0), "unknown");
  assert_string_equal(hd_role_name((hd_role)(HD_ROLE_AGENT | HD_ROLE_CUSTOMER)), "unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sign_then_verify_round_trips_every_role),
      cmocka_unit_test(test_each_single_role_round_trips),
      cmocka_unit_test(test_token_without_roles_verifies_with_no_roles),
      cmocka_unit_test(test_ids_at_their_limits_round_trip),
      cmocka_unit_test(test_hand_built_token_with_escapes_and_whitespace_verifies),
      cmocka_unit_test(test_unknown_claims_are_ignored),
      cmocka_unit_test(test_tampered_payload_is_unauthenticated),
      cmocka_unit_test(test_tampered_signature_is_unauthenticated),
      cmocka_unit_test(test_signature_with_nonzero_padding_bits_is_refused),
      cmocka_unit_test(test_wrong_secret_is_unauthenticated),
      cmocka_unit_test(test_truncated_signature_is_unauthenticated),
      cmocka_unit_test(test_failure_messages_never_echo_the_token),
      cmocka_unit_test(test_expired_token_is_unauthenticated),
      cmocka_unit_test(test_expiry_within_leeway_is_accepted_and_at_its_edge_refused),
      cmocka_unit_test(test_without_leeway_expiry_is_exact),
      cmocka_unit_test(test_not_before_in_the_future_is_refused),
      cmocka_unit_test(test_time_claims_must_be_whole_numbers),
      cmocka_unit_test(test_wrong_issuer_is_unauthenticated),
      cmocka_unit_test(test_missing_or_non_string_issuer_is_unauthenticated),
      cmocka_unit_test(test_alg_none_is_unauthenticated),
      cmocka_unit_test(test_alg_hs512_is_unauthenticated),
      cmocka_unit_test(test_missing_alg_is_unauthenticated),
      cmocka_unit_test(test_header_without_typ_is_accepted_but_other_typ_refused),
      cmocka_unit_test(test_token_not_three_parts_is_unauthenticated),
      cmocka_unit_test(test_empty_token_is_unauthenticated),
      cmocka_unit_test(test_bad_base64_is_unauthenticated),
      cmocka_unit_test(test_json_garbage_is_unauthenticated),
      cmocka_unit_test(test_claims_reader_refuses_malformed_json),
      cmocka_unit_test(test_claims_reader_limits_members_and_items),
      cmocka_unit_test(test_truncated_token_is_unauthenticated),
      cmocka_unit_test(test_token_length_limit_edge_and_one_past),
      cmocka_unit_test(test_unknown_role_is_unauthenticated),
      cmocka_unit_test(test_roles_must_be_an_array_of_names_or_a_spaced_string),
      cmocka_unit_test(test_missing_tenant_or_subject_is_unauthenticated),
      cmocka_unit_test(test_over_long_tenant_or_subject_is_unauthenticated),
      cmocka_unit_test(test_tenant_with_quote_backslash_or_non_ascii_is_unauthenticated),
      cmocka_unit_test(test_verify_without_secret_is_internal),
      cmocka_unit_test(test_sign_refuses_bad_tenant_and_user_id),
      cmocka_unit_test(test_sign_refuses_bad_roles_ttl_and_config),
      cmocka_unit_test(test_sign_accepts_null_err),
      cmocka_unit_test(test_bearer_value_verifies_the_token),
      cmocka_unit_test(test_bearer_value_is_read_only_to_its_length),
      cmocka_unit_test(test_bearer_refuses_missing_or_other_schemes),
      cmocka_unit_test(test_require_passes_with_any_listed_role),
      cmocka_unit_test(test_require_permission_denied_names_the_roles),
      cmocka_unit_test(test_require_without_principal_is_unauthenticated),
      cmocka_unit_test(test_role_names_parse_back),
      cmocka_unit_test(test_role_parse_refuses_unknown_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
