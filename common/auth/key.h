/* A private signing key for RS256 / ES256 tokens, read from a PEM file, with the kid that names
 * its public half in a JWKS: for hd-token (development), tests, and a service's own identity
 * when it signs with a key instead of the shared HS256 secret. */
#ifndef HD_AUTH_KEY_H
#define HD_AUTH_KEY_H

#include <openssl/evp.h>

#include "auth/auth.h"
#include "auth/jws.h"

/* Reads the private key in the PEM file at path (PKCS#8 or traditional; unencrypted): RSA of at
 * least 2048 bits signs RS256, EC P-256 signs ES256. kid: 1 to 128 printable ASCII characters
 * without '"' or '\\'; copied. INVALID_ARGUMENT naming the file and what is wrong. Caller frees
 * with hd_auth_key_free(). */
int hd_auth_key_load(const char *path, const char *kid, hd_auth_key **out, hd_err *err);

/* The same from a key in memory (tests); takes a new reference to pkey. */
int hd_auth_key_from_pkey(EVP_PKEY *pkey, const char *kid, hd_auth_key **out, hd_err *err);

/* Frees the key. NULL is a no-op. */
void hd_auth_key_free(hd_auth_key *key);

/* The algorithm it signs (HD_JWS_RS256 or HD_JWS_ES256), its kid, and the EVP key (borrowed). */
hd_jws_alg hd_auth_key_alg(const hd_auth_key *key);
const char *hd_auth_key_kid(const hd_auth_key *key);
EVP_PKEY *hd_auth_key_pkey(const hd_auth_key *key);

/* The public JWK of key as JSON object text; caller frees *out with free(). */
int hd_auth_key_jwk(const hd_auth_key *key, char **out, hd_err *err);

/* hd_auth_sign, but signed with key (RS256 or ES256, its kid in the header) instead of the
 * secret: iss, aud and the claim names come from cfg, whose secret is not needed. Caller frees
 * *out_token with free(). */
int hd_auth_sign_with_key(const hd_auth_config *cfg, const hd_auth_key *key, const hd_principal *p,
                          int64_t now_s, int64_t ttl_s, char **out_token, hd_err *err);

#endif
