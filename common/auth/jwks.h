/* The public keys of an identity provider, as a JWKS (RFC 7517) read from a file or a directory
 * of *.json files (each a JWKS {"keys":[...]} or one JWK), re-read when it changes so that keys
 * rotate without a restart. Keys are RSA (n, e; at least 2048 bits) and EC P-256 (x, y) signing
 * keys with a kid; encryption keys ("use":"enc") and other key types are skipped. */
#ifndef HD_AUTH_JWKS_H
#define HD_AUTH_JWKS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "auth/jws.h"
#include "core/err.h"

typedef struct hd_jwks hd_jwks;

#define HD_JWKS_FILE_MAX  (256u * 1024u) /* bytes of one JWKS file */
#define HD_JWKS_KEYS_MAX  64u            /* keys across all files */
#define HD_JWKS_FILES_MAX 32u            /* *.json files in a directory */
#define HD_JWKS_KID_MAX   128u           /* bytes of a key id */
#define HD_JWKS_RECHECK_S 10             /* default: the source is looked at every 10 s */

/* Reads the JWKS at path (a file, or a directory whose *.json files not starting with '.' are
 * read in name order). recheck_s: how long lookups trust the loaded keys before they stat the
 * source again (0 → on every lookup; stat is cheap, and a changed source is read only once).
 * INVALID_ARGUMENT naming the path and the mistake (unreadable, not JSON, a bad key, the same
 * kid twice, no usable key). Caller frees with hd_jwks_free(). */
int hd_jwks_open(const char *path, int64_t recheck_s, int64_t now_s, hd_jwks **out, hd_err *err);

/* Frees the keys. NULL is a no-op. */
void hd_jwks_free(hd_jwks *jwks);

/* The key named kid[0..kid_len) for a token signed with alg, at now_s: first, when recheck_s has
 * passed since the last look, the source is stat'ed (inode, size, mtime of the file or of every
 * file in the directory) and re-read if it changed; a source that no longer reads keeps the keys
 * it had (logged as auth.jwks_reload_failed). *out gets a new reference: caller frees with
 * EVP_PKEY_free(). UNAUTHENTICATED when no key has that kid ("... is not in the JWKS"), or the key
 * does not fit alg (an EC key for RS256, a JWK whose "alg" is another one). Thread-safe. */
int hd_jwks_key(hd_jwks *jwks, const char *kid, size_t kid_len, hd_jws_alg alg, int64_t now_s,
                EVP_PKEY **out, hd_err *err);

/* Keys loaded now, and how many times the source has been read (1 after open). */
size_t hd_jwks_count(hd_jwks *jwks);
unsigned long hd_jwks_loads(hd_jwks *jwks);

/* Public JWK of key as a JSON object text ({"kty":"RSA","kid":..,"use":"sig","alg":..,"n","e"}
 * or {"kty":"EC","crv":"P-256",.."x","y"}). Caller frees *out with free(). INVALID_ARGUMENT when
 * the key is neither an RSA key nor an EC P-256 key. */
int hd_jwk_public(EVP_PKEY *key, const char *kid, char **out, hd_err *err);

#endif
