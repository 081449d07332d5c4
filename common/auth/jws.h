/* The asymmetric JWS signatures, RS256 (RSASSA-PKCS1-v1_5 with SHA-256) and ES256 (ECDSA P-256
 * with SHA-256), through OpenSSL 3's EVP interface. Internal to common/auth.
 *
 * Why OpenSSL EVP and not libjwt: Debian 12 ships libjwt 1.10, which reads keys only from PEM
 * (no JWKS, no kid lookup), has its own JSON (not the kit's bounded reader) and was not built
 * for algorithm pinning per key; everything it would add over EVP_DigestSign/Verify is the
 * base64url and claims handling this module already does strictly. EVP is maintained, already
 * linked, and keeps the crypto out of our hands: no hand-written primitive here. */
#ifndef HD_AUTH_JWS_H
#define HD_AUTH_JWS_H

#include <stddef.h>

#include <openssl/evp.h>

typedef enum hd_jws_alg { HD_JWS_HS256 = 1, HD_JWS_RS256 = 2, HD_JWS_ES256 = 3 } hd_jws_alg;

#define HD_JWS_SIG_MAX      1024u /* bytes of the longest signature (RSA 8192) */
#define HD_JWS_ES256_LEN    64u   /* r || s, 32 bytes each */
#define HD_JWS_RSA_MIN_BITS 2048

/* "HS256", "RS256", "ES256". */
const char *hd_jws_alg_name(hd_jws_alg alg);

/* Parses an alg name exactly (case matters); 0 when it is none of the three. */
hd_jws_alg hd_jws_alg_parse(const char *name);

/* Does key fit alg: an RSA key of at least HD_JWS_RSA_MIN_BITS for RS256, an EC P-256 key for
 * ES256? NULL when it does, else what is wrong ("an EC key cannot verify RS256"). */
const char *hd_jws_key_mismatch(EVP_PKEY *key, hd_jws_alg alg);

/* Verifies sig[0..sig_len) over data[0..len) with the public key (RS256 or ES256; an ES256
 * signature is the JWS form r || s, converted to DER for EVP). 0 when it matches, -1 when it
 * does not or cannot (wrong length, wrong key type). */
int hd_jws_verify(EVP_PKEY *key, hd_jws_alg alg, const char *data, size_t len,
                  const unsigned char *sig, size_t sig_len);

/* Signs data[0..len) with the private key into sig (size bytes, at least HD_JWS_SIG_MAX); an
 * ES256 signature comes out as r || s. 0 and *sig_len, or -1. */
int hd_jws_sign(EVP_PKEY *key, hd_jws_alg alg, const char *data, size_t len, unsigned char *sig,
                size_t size, size_t *sig_len);

#endif
