/* Verified tokens remembered: a token is verified once (hd_auth_verify: base64url, HMAC,
 * JSON claims) and its principal kept under the token's SHA-256 until the token expires, so a
 * caller's next calls with the same token cost one hash and one lookup (for at most
 * HD_PRINCIPAL_CACHE_TTL_S: a key rotated out of the JWKS stops working within a minute). Bounded:
 * a fixed number of slots chosen at creation, a new token taking the slot of the one whose hash
 * falls there. Thread-safe (striped mutexes). Only successful verifications are kept: a refused
 * token is verified again each time, with hd_auth_verify's message.
 *
 * One cache serves one hd_auth_config (the key and issuer a cached principal was verified
 * with): make a new cache when they change. */
#ifndef HD_AUTH_PRINCIPAL_CACHE_H
#define HD_AUTH_PRINCIPAL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/err.h"

#define HD_PRINCIPAL_CACHE_DEFAULT 4096u      /* slots a service's cache has */
#define HD_PRINCIPAL_CACHE_MAX     (1u << 20) /* the most slots a cache may have */
#define HD_PRINCIPAL_CACHE_TTL_S   60 /* a principal is verified again at least this often */

typedef struct hd_principal_cache hd_principal_cache;

/* A cache of `slots` (1..HD_PRINCIPAL_CACHE_MAX) principals. INVALID_ARGUMENT outside that
 * range, RESOURCE_EXHAUSTED out of memory. Caller frees with hd_principal_cache_free(). */
int hd_principal_cache_new(size_t slots, hd_principal_cache **out, hd_err *err);

/* NULL is a no-op. No call may be using the cache. */
void hd_principal_cache_free(hd_principal_cache *c);

/* As hd_auth_verify(cfg, token, len, now_s, out, err), answered from the cache when this token
 * verified before and has not expired by now_s (expiry as hd_auth_verify counts it, with
 * cfg->leeway_s); otherwise verified, and kept when it verifies. A clock that went back before
 * the time the token was kept verifies it again (its "not before" is checked then). */
int hd_principal_cache_verify(hd_principal_cache *c, const hd_auth_config *cfg, const char *token,
                              size_t len, int64_t now_s, hd_principal *out, hd_err *err);

/* How many verifications the cache answered (*hits) and passed to hd_auth_verify (*misses). */
void hd_principal_cache_counts(hd_principal_cache *c, uint64_t *hits, uint64_t *misses);

#endif
