/* common/auth with an identity provider: RS256 and ES256 tokens verified against a JWKS file or
 * directory (jwks.c, jws.c), keys rotated without a restart, and everything that must be refused:
 * an unknown kid, the wrong audience or issuer, an over-long lifetime, expiry, alg "none",
 * algorithm confusion and bad signatures. Keys are generated here with OpenSSL at run time;
 * no private key is committed. The token matrix (token → status) is printed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth/auth.h"
#include "auth/base64url.h"
#include "auth/jwks.h"
#include "auth/key.h"

#define ISSUER   "https://idp.example/realms/helpdesk"
#define AUDIENCE "helpdesk-api"
#define NOW      1767225600LL /* 2026-01-01T00:00:00Z */
#define RECHECK  10           /* seconds the JWKS is trusted before it is stat'ed again */
#define SECRET   "jwks-test-hs256-secret-0123456789abcdef"

typedef struct world {
  char dir[64];                 /* a fresh directory for this test */
  char jwks[96];                /* dir/jwks.json */
  hd_auth_key *rsa, *ec, *rsa2; /* rsa2: the key rotated in */
  hd_jwks *set;
  hd_auth_config cfg;
} world;

/* ---- the matrix printed at the end ---- */

#define MATRIX_MAX 64
static struct {
  char token[96];
  char status[200];
} matrix[MATRIX_MAX];
static size_t matrix_n;

static const char *code_name(hd_code c) {
  return c == HD_OK                ? "OK"
         : c == HD_UNAUTHENTICATED ? "UNAUTHENTICATED"
         : c == HD_INTERNAL        ? "INTERNAL"
                                   : "other";
}

static void matrix_add(const char *token, int rc, const hd_err *err) {
  if (matrix_n == MATRIX_MAX) return;
  snprintf(matrix[matrix_n].token, sizeof matrix[matrix_n].token, "%s", token);
  snprintf(matrix[matrix_n].status, sizeof matrix[matrix_n].status, "%s%s%.160s",
           rc == 0 ? "OK" : code_name(err->code), rc == 0 ? "" : ": ", rc == 0 ? "" : err->msg);
  matrix_n++;
}

/* ---- keys and files ---- */

static hd_auth_key *gen_key(const char *type, const char *kid) {
  EVP_PKEY *pk = strcmp(type, "RSA") == 0 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  assert_non_null(pk);
  hd_auth_key *k = NULL;
  hd_err err = {0};
  if (hd_auth_key_from_pkey(pk, kid, &k, &err) != 0) fail_msg("key: %s", err.msg);
  EVP_PKEY_free(pk);
  return k;
}

static void write_file(const char *path, const char *text) {
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  assert_non_null(f);
  assert_true(fputs(text, f) >= 0);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(rename(tmp, path), 0); /* as an operator's tooling replaces it: atomically */
}

/* A JWKS text {"keys":[...]} of n keys. Caller frees with free(). */
static char *jwks_text(hd_auth_key *const *keys, size_t n) {
  size_t size = 64;
  char *out = malloc(size), *jwk = NULL;
  hd_err err = {0};
  assert_non_null(out);
  strcpy(out, "{\"keys\":[");
  for (size_t i = 0; i < n; i++) {
    if (hd_auth_key_jwk(keys[i], &jwk, &err) != 0) fail_msg("jwk: %s", err.msg);
    size += strlen(jwk) + 2;
    out = realloc(out, size);
    assert_non_null(out);
    if (i) strcat(out, ",");
    strcat(out, jwk);
    free(jwk);
  }
  strcat(out, "]}");
  return out;
}

static void write_jwks(const char *path, hd_auth_key *const *keys, size_t n) {
  char *t = jwks_text(keys, n);
  write_file(path, t);
  free(t);
}

static int setup(void **state) {
  world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  snprintf(w->dir, sizeof w->dir, "/tmp/test_auth_jwks.XXXXXX");
  assert_non_null(mkdtemp(w->dir));
  snprintf(w->jwks, sizeof w->jwks, "%s/jwks.json", w->dir);
  w->rsa = gen_key("RSA", "rsa-1");
  w->ec = gen_key("EC", "ec-1");
  w->rsa2 = gen_key("RSA", "rsa-2");
  hd_auth_key *keys[] = {w->rsa, w->ec};
  write_jwks(w->jwks, keys, 2);
  hd_err err = {0};
  if (hd_jwks_open(w->jwks, RECHECK, NOW, &w->set, &err) != 0) fail_msg("open: %s", err.msg);
  w->cfg = (hd_auth_config){.issuer = ISSUER,
                            .leeway_s = 30,
                            .audience = AUDIENCE,
                            .max_lifetime_s = 3600,
                            .jwks = w->set};
  *state = w;
  return 0;
}

static int teardown(void **state) {
  world *w = *state;
  char cmd[128];
  hd_jwks_free(w->set);
  hd_auth_key_free(w->rsa);
  hd_auth_key_free(w->ec);
  hd_auth_key_free(w->rsa2);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
  assert_int_equal(system(cmd), 0);
  free(w);
  return 0;
}

static hd_principal agent(void) {
  hd_principal p;
  memset(&p, 0, sizeof p);
  snprintf(p.tenant, sizeof p.tenant, "acme");
  snprintf(p.user_id, sizeof p.user_id, "user-1");
  p.roles = HD_ROLE_AGENT;
  return p;
}

/* A token signed with key under cfg's issuer, audience and claim names. Caller frees. */
static char *mint(const hd_auth_config *cfg, const hd_auth_key *key, int64_t now_s, int64_t ttl_s) {
  hd_principal p = agent();
  char *t = NULL;
  hd_err err = {0};
  if (hd_auth_sign_with_key(cfg, key, &p, now_s, ttl_s, &t, &err) != 0)
    fail_msg("sign: %s", err.msg);
  return t;
}

/* header.payload (base64url of each) and, by key or HMAC secret, a signature. Caller frees. */
static char *hand_token(const char *header, const char *payload, const hd_auth_key *key,
                        const unsigned char *hmac_key, size_t hmac_len) {
  size_t size = strlen(header) * 2 + strlen(payload) * 2 + 2048, n = 0, m = 0;
  char *t = malloc(size);
  assert_non_null(t);
  assert_int_equal(hd_b64url_encode((const unsigned char *)header, strlen(header), t, size, &n), 0);
  t[n++] = '.';
  assert_int_equal(
      hd_b64url_encode((const unsigned char *)payload, strlen(payload), t + n, size - n, &m), 0);
  n += m;
  unsigned char sig[1024];
  size_t sig_len = 0;
  if (key) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    sig_len = sizeof sig;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, hd_auth_key_pkey(key)), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *)t, n), 1);
    EVP_MD_CTX_free(ctx);
  } else if (hmac_key) {
    unsigned int l = 0;
    assert_non_null(HMAC(EVP_sha256(), hmac_key, (int)hmac_len, (unsigned char *)t, n, sig, &l));
    sig_len = l;
  }
  t[n++] = '.';
  t[n] = '\0';
  if (sig_len) assert_int_equal(hd_b64url_encode(sig, sig_len, t + n, size - n, NULL), 0);
  return t;
}

#define CLAIMS(extra)                           \
  "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE \
  "\",\"sub\":\"u1\",\"tenant\":\"acme\","      \
  "\"roles\":[\"agent\"],\"iat\":1767225600,\"exp\":1767226200" extra "}"

/* Verifies tok under cfg at now_s, records it in the matrix as name, and checks the outcome:
 * want HD_OK, or the code and a piece of the message. */
static void check(const char *name, const hd_auth_config *cfg, const char *tok, int64_t now_s,
                  hd_code want, const char *needle) {
  hd_principal p;
  hd_err err = {0};
  int rc = hd_auth_verify(cfg, tok, strlen(tok), now_s, &p, &err);
  matrix_add(name, rc, &err);
  if (want == HD_OK) {
    if (rc != 0) fail_msg("%s: refused: %s", name, err.msg);
    assert_string_equal(p.tenant, "acme");
    return;
  }
  if (rc == 0) fail_msg("%s: accepted", name);
  assert_int_equal(err.code, want);
  if (needle && !strstr(err.msg, needle))
    fail_msg("%s: message \"%s\" lacks \"%s\"", name, err.msg, needle);
}

/* ---- accepted ---- */

static void test_rs256_token_from_the_jwks_is_accepted(void **state) {
  world *w = *state;
  char *t = mint(&w->cfg, w->rsa, NOW, 600);
  check("RS256, kid rsa-1, iss/aud right, 10 min", &w->cfg, t, NOW, HD_OK, NULL);
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(hd_auth_verify(&w->cfg, t, strlen(t), NOW, &p, &err), 0);
  assert_string_equal(p.user_id, "user-1");
  assert_int_equal(p.roles, HD_ROLE_AGENT);
  assert_int_equal(p.expires_at_s, NOW + 600);
  free(t);
}

static void test_es256_token_from_the_jwks_is_accepted(void **state) {
  world *w = *state;
  char *t = mint(&w->cfg, w->ec, NOW, 600);
  check("ES256, kid ec-1, iss/aud right, 10 min", &w->cfg, t, NOW, HD_OK, NULL);
  free(t);
}

static void test_identity_provider_claims_map_through_configured_names(void **state) {
  world *w = *state;
  hd_auth_config cfg = w->cfg;
  cfg.tenant_claim = "org";
  cfg.roles_claim = "realm_access.roles";
  /* Keycloak-shaped: nested roles with roles of its own, booleans, an array audience. */
  const char *claims =
      "{\"iss\":\"" ISSUER "\",\"aud\":[\"account\",\"" AUDIENCE
      "\"],\"sub\":\"u1\","
      "\"org\":\"acme\",\"email_verified\":true,\"realm_access\":{\"roles\":[\"offline_access\","
      "\"supervisor\",\"default-roles-helpdesk\"]},\"iat\":1767225600,\"exp\":1767226200}";
  char *t = hand_token("{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"rsa-1\"}", claims, w->rsa,
                       NULL, 0);
  check("RS256, Keycloak claims (org, realm_access.roles, aud array)", &cfg, t, NOW, HD_OK, NULL);
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(hd_auth_verify(&cfg, t, strlen(t), NOW, &p, &err), 0);
  assert_int_equal(p.roles, HD_ROLE_SUPERVISOR); /* the provider's own roles are ignored */
  free(t);
  /* Minted under the configured names (the roles as one claim, "scope"), ES256. */
  cfg.roles_claim = "scope";
  t = mint(&cfg, w->ec, NOW, 600);
  assert_int_equal(hd_auth_verify(&cfg, t, strlen(t), NOW, &p, &err), 0);
  assert_int_equal(p.roles, HD_ROLE_AGENT);
  free(t);
}

/* ---- rotation ---- */

static void test_rotated_key_is_picked_up_without_a_restart(void **state) {
  world *w = *state;
  char *t = mint(&w->cfg, w->rsa2, NOW, 600);
  check("RS256, kid rsa-2 before the JWKS has it", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token key id (kid) \"rsa-2\" is not in the JWKS");
  /* The identity provider rotates: rsa-1 goes, rsa-2 comes. */
  hd_auth_key *keys[] = {w->rsa2, w->ec};
  write_jwks(w->jwks, keys, 2);
  /* Within the recheck interval the loaded keys are trusted as they are... */
  check("RS256, kid rsa-2, JWKS rotated, recheck not yet due", &w->cfg, t, NOW + RECHECK - 1,
        HD_UNAUTHENTICATED, "is not in the JWKS");
  assert_int_equal(hd_jwks_loads(w->set), 1);
  /* ...and once it has passed, the changed file is read: same process, no restart. */
  check("RS256, kid rsa-2, JWKS rotated, after the recheck", &w->cfg, t, NOW + RECHECK, HD_OK,
        NULL);
  assert_int_equal(hd_jwks_loads(w->set), 2);
  char *old = mint(&w->cfg, w->rsa, NOW + RECHECK, 600);
  check("RS256, kid rsa-1 after it was rotated out", &w->cfg, old, NOW + RECHECK,
        HD_UNAUTHENTICATED, "\"rsa-1\" is not in the JWKS");
  /* An unchanged file is not read again. */
  check("RS256, kid rsa-2, JWKS unchanged", &w->cfg, t, NOW + 3 * RECHECK, HD_OK, NULL);
  assert_int_equal(hd_jwks_loads(w->set), 2);
  free(old);
  free(t);
}

static void test_a_jwks_that_no_longer_reads_keeps_the_loaded_keys(void **state) {
  world *w = *state;
  char *t = mint(&w->cfg, w->rsa, NOW, 600);
  write_file(w->jwks, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"half-writ");
  check("RS256, kid rsa-1, JWKS file now garbage", &w->cfg, t, NOW + RECHECK, HD_OK, NULL);
  assert_int_equal(hd_jwks_loads(w->set), 1);
  assert_int_equal(hd_jwks_count(w->set), 2);
  free(t);
}

static void test_jwks_directory_rotation_by_adding_and_removing_files(void **state) {
  world *w = *state;
  char sub[96], f1[128], f2[128];
  snprintf(sub, sizeof sub, "%s/keys", w->dir);
  snprintf(f1, sizeof f1, "%s/2026-01.json", sub);
  snprintf(f2, sizeof f2, "%s/2026-02.json", sub);
  assert_int_equal(mkdir(sub, 0700), 0);
  hd_auth_key *first[] = {w->rsa};
  write_jwks(f1, first, 1);
  char *jwk = NULL;
  hd_err err = {0};
  assert_int_equal(hd_auth_key_jwk(w->ec, &jwk, &err), 0);
  write_file(f2, jwk); /* a file may hold one JWK instead of a set */
  free(jwk);
  hd_jwks *set = NULL;
  if (hd_jwks_open(sub, 0, NOW, &set, &err) != 0) fail_msg("open dir: %s", err.msg);
  assert_int_equal(hd_jwks_count(set), 2);
  hd_auth_config cfg = w->cfg;
  cfg.jwks = set;
  char *t = mint(&cfg, w->rsa2, NOW, 600);
  check("RS256, kid rsa-2, JWKS directory without it", &cfg, t, NOW, HD_UNAUTHENTICATED,
        "not in the JWKS");
  char f3[128];
  snprintf(f3, sizeof f3, "%s/2026-03.json", sub);
  hd_auth_key *third[] = {w->rsa2};
  write_jwks(f3, third, 1);
  check("RS256, kid rsa-2, file added to the JWKS directory", &cfg, t, NOW, HD_OK, NULL);
  assert_int_equal(hd_jwks_count(set), 3);
  assert_int_equal(unlink(f1), 0);
  char *old = mint(&cfg, w->rsa, NOW, 600);
  check("RS256, kid rsa-1, its file removed from the directory", &cfg, old, NOW, HD_UNAUTHENTICATED,
        "not in the JWKS");
  free(old);
  free(t);
  hd_jwks_free(set);
}

/* ---- refused ---- */

static void test_unknown_kid_is_unauthenticated(void **state) {
  world *w = *state;
  hd_auth_key *stranger = gen_key("RSA", "someone-else");
  char *t = mint(&w->cfg, stranger, NOW, 600);
  check("RS256, kid someone-else (not in the JWKS)", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token key id (kid) \"someone-else\" is not in the JWKS");
  free(t);
  t = hand_token("{\"alg\":\"RS256\"}", CLAIMS(""), w->rsa, NULL, 0);
  check("RS256 without a kid", &w->cfg, t, NOW, HD_UNAUTHENTICATED, "names no key id (kid)");
  free(t);
  hd_auth_key_free(stranger);
}

static void test_wrong_audience_is_unauthenticated(void **state) {
  world *w = *state;
  hd_auth_config other = w->cfg;
  other.audience = "another-api";
  char *t = mint(&other, w->rsa, NOW, 600);
  check("RS256, aud another-api", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token audience \"another-api\" is not \"helpdesk-api\"");
  free(t);
  t = hand_token("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
                 "{\"iss\":\"" ISSUER
                 "\",\"aud\":[\"a\",\"b\"],\"sub\":\"u1\",\"tenant\":\"acme\","
                 "\"roles\":[\"agent\"],\"exp\":1767226200}",
                 w->rsa, NULL, 0);
  check("RS256, aud [a, b]", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "audience (aud) does not include \"helpdesk-api\"");
  free(t);
  other.audience = NULL;
  t = mint(&other, w->rsa, NOW, 600);
  check("RS256, no aud", &w->cfg, t, NOW, HD_UNAUTHENTICATED, "token has no audience (aud)");
  free(t);
}

static void test_wrong_issuer_is_unauthenticated(void **state) {
  world *w = *state;
  hd_auth_config other = w->cfg;
  other.issuer = "https://evil.example";
  char *t = mint(&other, w->rsa, NOW, 600);
  check("RS256, iss https://evil.example", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token issuer \"https://evil.example\" is not");
  free(t);
}

static void test_over_long_lifetime_is_unauthenticated(void **state) {
  world *w = *state;
  char *t = mint(&w->cfg, w->rsa, NOW, 3601);
  check("RS256, lifetime 1 h 1 s (max 1 h)", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token lifetime of 3601 s is longer than the 1 h allowed");
  free(t);
  t = mint(&w->cfg, w->rsa, NOW, 100LL * 365 * 86400);
  check("RS256, lifetime 100 years", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token lifetime of 36500 d is longer than the 1 h allowed");
  free(t);
  /* Without iat the lifetime counts from now. */
  t = hand_token("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
                 "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
                 "\",\"sub\":\"u1\",\"tenant\":"
                 "\"acme\",\"roles\":[\"agent\"],\"exp\":4102444800}",
                 w->rsa, NULL, 0);
  check("RS256, no iat, exp in 2100", &w->cfg, t, NOW, HD_UNAUTHENTICATED, "lifetime of");
  free(t);
  /* The default is 24 h. */
  hd_auth_config dflt = w->cfg;
  dflt.max_lifetime_s = 0;
  t = mint(&dflt, w->rsa, NOW, 86400);
  check("RS256, lifetime 24 h (default max 24 h)", &dflt, t, NOW, HD_OK, NULL);
  free(t);
  t = mint(&dflt, w->rsa, NOW, 86401);
  check("RS256, lifetime 24 h 1 s (default max 24 h)", &dflt, t, NOW, HD_UNAUTHENTICATED,
        "longer than the 1 d allowed");
  free(t);
  /* A far-future iat does not stretch the window: the lifetime then counts from now. */
  t = mint(&w->cfg, w->rsa, NOW + 100LL * 365 * 86400, 600);
  check("RS256, iat 100 years ahead, exp 10 min after it", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "(from now: its iat is ahead of this clock)");
  free(t);
  t = mint(&w->cfg, w->rsa, NOW + 20, 3600); /* issuer's clock 20 s ahead, within the leeway */
  check("RS256, iat 20 s ahead, lifetime 1 h (max 1 h)", &w->cfg, t, NOW, HD_OK, NULL);
  free(t);
}

static void test_expired_token_is_unauthenticated(void **state) {
  world *w = *state;
  char *t = mint(&w->cfg, w->ec, NOW - 1200, 600);
  check("ES256, expired 10 min ago", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token expired at 2025-12-31T23:50:00Z");
  free(t);
}

static void test_alg_none_is_unauthenticated(void **state) {
  world *w = *state;
  char *t = hand_token("{\"alg\":\"none\",\"kid\":\"rsa-1\"}", CLAIMS(""), NULL, NULL, 0);
  check("alg none, no signature", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token algorithm \"none\" is not accepted; only RS256 and ES256 are");
  free(t);
  t = hand_token("{\"alg\":\"None\",\"kid\":\"rsa-1\"}", CLAIMS(""), w->rsa, NULL, 0);
  check("alg None, RS256 signature", &w->cfg, t, NOW, HD_UNAUTHENTICATED, "is not accepted");
  free(t);
}

static void test_algorithm_confusion_is_unauthenticated(void **state) {
  world *w = *state;
  /* The attacker knows the public key: MAC an HS256 token with its PEM and with its JWK. */
  BIO *bio = BIO_new(BIO_s_mem());
  assert_int_equal(PEM_write_bio_PUBKEY(bio, hd_auth_key_pkey(w->rsa)), 1);
  char *pem = NULL;
  long pem_len = BIO_get_mem_data(bio, &pem);
  char *t = hand_token("{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}", CLAIMS(""), NULL,
                       (unsigned char *)pem, (size_t)pem_len);
  check("HS256 MAC'd with the RSA public key PEM, HS256 off", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token algorithm \"HS256\" is not accepted; only RS256 and ES256 are");
  /* With HS256 on (a secret configured), the MAC is checked with that secret only. */
  hd_auth_config both = w->cfg;
  both.secret = SECRET;
  both.secret_len = strlen(SECRET);
  check("HS256 MAC'd with the RSA public key PEM, HS256 on", &both, t, NOW, HD_UNAUTHENTICATED,
        "token signature does not match (wrong secret or tampered token)");
  free(t);
  char *jwk = NULL;
  hd_err err = {0};
  assert_int_equal(hd_auth_key_jwk(w->rsa, &jwk, &err), 0);
  t = hand_token("{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}", CLAIMS(""), NULL, (unsigned char *)jwk,
                 strlen(jwk));
  check("HS256 MAC'd with the RSA JWK text, HS256 on", &both, t, NOW, HD_UNAUTHENTICATED,
        "signature does not match");
  free(t);
  free(jwk);
  BIO_free(bio);
  /* The same secret's token passes on both, and HS256 turned off refuses it. */
  t = hand_token("{\"alg\":\"HS256\"}", CLAIMS(""), NULL, (const unsigned char *)SECRET,
                 strlen(SECRET));
  check("HS256 with the configured secret, HS256 on", &both, t, NOW, HD_OK, NULL);
  both.hs256_off = true;
  check("HS256 with the configured secret, HS256 off", &both, t, NOW, HD_UNAUTHENTICATED,
        "\"HS256\" is not accepted");
  free(t);
  /* Key-type confusion: RS256 naming the EC key, ES256 naming the RSA key. */
  t = hand_token("{\"alg\":\"RS256\",\"kid\":\"ec-1\"}", CLAIMS(""), w->rsa, NULL, 0);
  check("RS256 naming the EC key ec-1", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token key \"ec-1\" does not fit RS256");
  free(t);
  t = hand_token("{\"alg\":\"ES256\",\"kid\":\"rsa-1\"}", CLAIMS(""), w->rsa, NULL, 0);
  check("ES256 naming the RSA key rsa-1", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token key \"rsa-1\" does not fit ES256");
  free(t);
}

static void test_bad_signature_is_unauthenticated(void **state) {
  world *w = *state;
  char *t = mint(&w->cfg, w->rsa, NOW, 600);
  size_t n = strlen(t);
  t[n - 10] = t[n - 10] == 'A' ? 'B' : 'A';
  check("RS256, one signature character changed", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token signature does not match its RS256 key");
  free(t);
  t = mint(&w->cfg, w->ec, NOW, 600);
  n = strlen(t);
  t[n - 10] = t[n - 10] == 'A' ? 'B' : 'A';
  check("ES256, one signature character changed", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "token signature does not match its ES256 key");
  free(t);
  /* Signed by another key that claims the kid rsa-1. */
  hd_auth_key *forger = gen_key("RSA", "rsa-1");
  t = mint(&w->cfg, forger, NOW, 600);
  check("RS256, kid rsa-1 but signed by another key", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "signature does not match");
  free(t);
  hd_auth_key_free(forger);
  /* ES256 with the DER signature EVP makes, not JWS's r || s. */
  t = hand_token("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", CLAIMS(""), w->ec, NULL, 0);
  check("ES256, DER signature instead of r||s", &w->cfg, t, NOW, HD_UNAUTHENTICATED,
        "signature does not match");
  free(t);
  /* Payload changed after signing. */
  char *good = mint(&w->cfg, w->ec, NOW, 600);
  char *other = mint(&w->cfg, w->ec, NOW + 1, 600);
  char *d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
  char *o1 = strchr(other, '.'), *o2 = strrchr(other, '.');
  char spliced[4096];
  snprintf(spliced, sizeof spliced, "%.*s%.*s%s", (int)(d1 - good), good, (int)(o2 - o1), o1, d2);
  check("ES256, payload of another token", &w->cfg, spliced, NOW + 1, HD_UNAUTHENTICATED,
        "signature does not match");
  free(good);
  free(other);
}

/* ---- the JWKS itself ---- */

static void assert_open_refused(const char *path, const char *needle) {
  hd_jwks *set = NULL;
  hd_err err = {0};
  assert_int_equal(hd_jwks_open(path, 0, NOW, &set, &err), -1);
  assert_null(set);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  if (!strstr(err.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_jwks_that_cannot_be_used_is_refused_at_open(void **state) {
  world *w = *state;
  char path[128];
  snprintf(path, sizeof path, "%s/bad.json", w->dir);
  assert_open_refused("/nonexistent/jwks.json", "cannot read the JWKS /nonexistent/jwks.json");
  write_file(path, "not json");
  assert_open_refused(path, "is not a JSON object");
  write_file(path, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"h\"}]}");
  assert_open_refused(path, "holds no RSA or EC P-256 signing key");
  hd_auth_key *keys[] = {w->rsa, w->rsa};
  write_jwks(path, keys, 2);
  assert_open_refused(path, "kid \"rsa-1\" appears twice");
  write_file(path,
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"small\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}");
  assert_open_refused(path, "the RSA key has 24 bits; at least 2048 are needed");
  write_file(path,
             "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"off\",\"crv\":\"P-256\","
             "\"x\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
             "\"y\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}");
  assert_open_refused(path, "not a valid P-256 public key");
  write_file(path, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}");
  assert_open_refused(path, "has no \"kid\"");
  /* Encryption keys and other algorithms are skipped, not refused. */
  char *jwk = NULL;
  hd_err err = {0};
  assert_int_equal(hd_auth_key_jwk(w->ec, &jwk, &err), 0);
  char text[2048];
  snprintf(text, sizeof text,
           "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"e\",\"n\":\"AQAB\",\"e\":"
           "\"AQAB\"},%s]}",
           jwk);
  free(jwk);
  write_file(path, text);
  hd_jwks *set = NULL;
  assert_int_equal(hd_jwks_open(path, 0, NOW, &set, &err), 0);
  assert_int_equal(hd_jwks_count(set), 1);
  hd_jwks_free(set);
}

static void test_verify_needs_a_secret_or_a_jwks(void **state) {
  (void)state;
  hd_auth_config none = {.issuer = ISSUER, .audience = AUDIENCE};
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(hd_auth_verify(&none, "a.b.c", 5, NOW, &p, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_non_null(strstr(err.msg, "no HS256 secret (HELPDESK_AUTH_SECRET) and no JWKS"));
}

static void test_print_the_token_matrix(void **state) {
  (void)state;
  printf("\n%-62s | %s\n", "token", "status");
  for (size_t i = 0; i < matrix_n; i++) printf("%-62s | %s\n", matrix[i].token, matrix[i].status);
  assert_true(matrix_n >= 20);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_rs256_token_from_the_jwks_is_accepted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_es256_token_from_the_jwks_is_accepted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_identity_provider_claims_map_through_configured_names,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_rotated_key_is_picked_up_without_a_restart, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_a_jwks_that_no_longer_reads_keeps_the_loaded_keys, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_jwks_directory_rotation_by_adding_and_removing_files,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_kid_is_unauthenticated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_audience_is_unauthenticated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_issuer_is_unauthenticated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_over_long_lifetime_is_unauthenticated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expired_token_is_unauthenticated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alg_none_is_unauthenticated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_algorithm_confusion_is_unauthenticated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_signature_is_unauthenticated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_jwks_that_cannot_be_used_is_refused_at_open, setup,
                                      teardown),
      cmocka_unit_test(test_verify_needs_a_secret_or_a_jwks),
      cmocka_unit_test(test_print_the_token_matrix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
