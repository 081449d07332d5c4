/* Private signing keys from PEM files (hd_auth_key). Signing itself is in jwt.c and jws.c. */
#include "auth/key.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "auth/jwks.h"

struct hd_auth_key {
  EVP_PKEY *pkey; /* owned */
  hd_jws_alg alg;
  char kid[HD_JWKS_KID_MAX + 1];
};

static bool key__printable(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\')
      return false;
  return true;
}

int hd_auth_key_from_pkey(EVP_PKEY *pkey, const char *kid, hd_auth_key **out, hd_err *err) {
  if (!kid || !kid[0] || strlen(kid) > HD_JWKS_KID_MAX || !key__printable(kid))
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "a key id (kid) must be 1 to %u printable ASCII characters without '\"' "
                      "or '\\'",
                      HD_JWKS_KID_MAX);
  hd_jws_alg alg = hd_jws_key_mismatch(pkey, HD_JWS_RS256) == NULL   ? HD_JWS_RS256
                   : hd_jws_key_mismatch(pkey, HD_JWS_ES256) == NULL ? HD_JWS_ES256
                                                                     : 0;
  if (!alg)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "the key is neither RSA of 2048 bits or more (RS256) nor EC P-256 (ES256)");
  hd_auth_key *k = calloc(1, sizeof *k);
  if (!k) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory loading a key");
  if (EVP_PKEY_up_ref(pkey) != 1) {
    free(k);
    return hd_err_set(err, HD_INTERNAL, "cannot take a reference to the key");
  }
  k->pkey = pkey;
  k->alg = alg;
  snprintf(k->kid, sizeof k->kid, "%s", kid);
  *out = k;
  return 0;
}

int hd_auth_key_load(const char *path, const char *kid, hd_auth_key **out, hd_err *err) {
  FILE *f = path ? fopen(path, "rb") : NULL;
  if (!f)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "cannot read the key %s: %s",
                      path ? path : "(none)", strerror(errno));
  EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  if (!pkey)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "%s is not an unencrypted PEM private key (openssl genpkey writes one)",
                      path);
  hd_err kerr = {0};
  int rc = hd_auth_key_from_pkey(pkey, kid, out, &kerr);
  EVP_PKEY_free(pkey);
  if (rc != 0) hd_err_set(err, kerr.code, "%s: %s", path, kerr.msg);
  return rc;
}

void hd_auth_key_free(hd_auth_key *key) {
  if (!key) return;
  EVP_PKEY_free(key->pkey);
  free(key);
}

hd_jws_alg hd_auth_key_alg(const hd_auth_key *key) { return key->alg; }

const char *hd_auth_key_kid(const hd_auth_key *key) { return key->kid; }

EVP_PKEY *hd_auth_key_pkey(const hd_auth_key *key) { return key->pkey; }

int hd_auth_key_jwk(const hd_auth_key *key, char **out, hd_err *err) {
  return hd_jwk_public(key->pkey, key->kid, out, err);
}
