/* RS256 and ES256 signatures through EVP_DigestSign / EVP_DigestVerify (see jws.h for why EVP). */
#include "auth/jws.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>

const char *hd_jws_alg_name(hd_jws_alg alg) {
  switch (alg) {
    case HD_JWS_HS256:
      return "HS256";
    case HD_JWS_RS256:
      return "RS256";
    case HD_JWS_ES256:
      return "ES256";
  }
  return "unknown";
}

hd_jws_alg hd_jws_alg_parse(const char *name) {
  if (!name) return 0;
  if (strcmp(name, "HS256") == 0) return HD_JWS_HS256;
  if (strcmp(name, "RS256") == 0) return HD_JWS_RS256;
  if (strcmp(name, "ES256") == 0) return HD_JWS_ES256;
  return 0;
}

const char *hd_jws_key_mismatch(EVP_PKEY *key, hd_jws_alg alg) {
  if (!key) return "there is no key";
  const bool rsa = EVP_PKEY_is_a(key, "RSA"), ec = EVP_PKEY_is_a(key, "EC");
  if (alg == HD_JWS_RS256) {
    if (!rsa) return "the key is not an RSA key, so it cannot be used for RS256";
    if (EVP_PKEY_get_bits(key) < HD_JWS_RSA_MIN_BITS)
      return "the RSA key is shorter than 2048 bits";
    return NULL;
  }
  if (alg == HD_JWS_ES256) {
    char group[32] = "";
    if (!ec) return "the key is not an EC key, so it cannot be used for ES256";
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        NULL) ||
        (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0))
      return "the EC key is not on the P-256 curve, so it cannot be used for ES256";
    return NULL;
  }
  return "HS256 takes a secret, not a key";
}

/* r || s (64 bytes) → a DER ECDSA-Sig-Value in der (size bytes): its length, or 0. */
static size_t jws__es256_to_der(const unsigned char *raw, unsigned char *der, size_t size) {
  size_t n = 0;
  ECDSA_SIG *es = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
  if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
    BN_free(r);
    BN_free(s);
    goto done;
  }
  /* es owns r and s now */
  int len = i2d_ECDSA_SIG(es, NULL);
  if (len <= 0 || (size_t)len > size) goto done;
  unsigned char *p = der;
  n = i2d_ECDSA_SIG(es, &p) == len ? (size_t)len : 0;
done:
  ECDSA_SIG_free(es);
  return n;
}

/* A DER ECDSA-Sig-Value → r || s (64 bytes). 0, or -1. */
static int jws__der_to_es256(const unsigned char *der, size_t len, unsigned char raw[64]) {
  const unsigned char *p = der;
  ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
  int rc = -1;
  if (!es) return -1;
  const BIGNUM *r = NULL, *s = NULL;
  ECDSA_SIG_get0(es, &r, &s);
  if (BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32) rc = 0;
  ECDSA_SIG_free(es);
  return rc;
}

int hd_jws_verify(EVP_PKEY *key, hd_jws_alg alg, const char *data, size_t len,
                  const unsigned char *sig, size_t sig_len) {
  int rc = -1;
  unsigned char der[80]; /* DER of two 33-byte integers plus headers fits 72 */
  EVP_MD_CTX *ctx = NULL;
  if (hd_jws_key_mismatch(key, alg) != NULL) goto done;
  if (alg == HD_JWS_ES256) {
    if (sig_len != HD_JWS_ES256_LEN) goto done;
    sig_len = jws__es256_to_der(sig, der, sizeof der);
    if (sig_len == 0) goto done;
    sig = der;
  } else if (sig_len != (size_t)EVP_PKEY_get_size(key)) {
    goto done;
  }
  ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1) goto done;
  /* RSA keys default to PKCS#1 v1.5 padding, which is what RS256 is. */
  if (EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)data, len) == 1) rc = 0;
done:
  EVP_MD_CTX_free(ctx);
  return rc;
}

int hd_jws_sign(EVP_PKEY *key, hd_jws_alg alg, const char *data, size_t len, unsigned char *sig,
                size_t size, size_t *sig_len) {
  int rc = -1;
  unsigned char der[HD_JWS_SIG_MAX];
  size_t n = sizeof der;
  EVP_MD_CTX *ctx = NULL;
  if (hd_jws_key_mismatch(key, alg) != NULL || size < HD_JWS_SIG_MAX) goto done;
  ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1) goto done;
  if (EVP_DigestSign(ctx, NULL, &n, (const unsigned char *)data, len) != 1 || n > sizeof der)
    goto done;
  if (EVP_DigestSign(ctx, der, &n, (const unsigned char *)data, len) != 1) goto done;
  if (alg == HD_JWS_ES256) {
    if (jws__der_to_es256(der, n, sig) != 0) goto done;
    *sig_len = HD_JWS_ES256_LEN;
  } else {
    memcpy(sig, der, n);
    *sig_len = n;
  }
  rc = 0;
done:
  EVP_MD_CTX_free(ctx);
  return rc;
}
