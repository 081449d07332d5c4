/* Bearer tokens → a principal. Tokens are JWTs: HS256 (HMAC-SHA256 with the shared secret: the
 * services' own tokens, development and tests) and RS256 / ES256 from an identity provider,
 * verified against the public keys of a JWKS (jwks.h) selected by kid; all through OpenSSL 3's
 * EVP (jws.h says why not libjwt). Issuer, audience, expiry and lifetime are checked.
 * Missing/malformed/tampered/expired → UNAUTHENTICATED; a role check that fails →
 * PERMISSION_DENIED. */
#ifndef HD_AUTH_AUTH_H
#define HD_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef enum hd_role {
  HD_ROLE_CUSTOMER = 1u << 0,
  HD_ROLE_AGENT = 1u << 1,
  HD_ROLE_TEAM_LEAD = 1u << 2,
  HD_ROLE_SUPERVISOR = 1u << 3,
  HD_ROLE_TENANT_ADMIN = 1u << 4,
  HD_ROLE_SERVICE = 1u << 5
} hd_role;

#define HD_ROLES_STAFF \
  (HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR | HD_ROLE_TENANT_ADMIN | HD_ROLE_SERVICE)

#define HD_TENANT_MAX  64
#define HD_USER_ID_MAX 128

/* Who is calling. Claims: iss, sub (user id), tenant, roles (array of role names), exp, iat. */
typedef struct hd_principal {
  char tenant[HD_TENANT_MAX + 1];
  char user_id[HD_USER_ID_MAX + 1];
  unsigned roles; /* bit set of hd_role */
  int64_t expires_at_s;
} hd_principal;

typedef struct hd_jwks hd_jwks;         /* jwks.h */
typedef struct hd_auth_key hd_auth_key; /* key.h */

#define HD_AUTH_MAX_LIFETIME_S (24 * 3600) /* default longest exp - iat accepted */

typedef struct hd_auth_config {
  const char *secret; /* HMAC key; borrowed */
  size_t secret_len;
  const char *issuer; /* required "iss"; borrowed */
  int64_t leeway_s;   /* clock skew allowed on exp, e.g. 30 */
  /* Optional: hd_auth_bearer answers a token verified before from here (principal_cache.h);
   * borrowed. NULL verifies every time. */
  struct hd_principal_cache *cache;
  /* ---- identity-provider tokens (issue 18); zero values keep the HS256-only behaviour ---- */
  const char *audience;     /* required "aud" (a string, or an array holding it); NULL or "" → the
                               runtime always sets one, so only bare tests go without; borrowed */
  int64_t max_lifetime_s;   /* exp - iat (exp - now without iat) at most; 0 → 24 h */
  const char *tenant_claim; /* claim holding the tenant; NULL → "tenant"; a.b walks objects */
  const char *roles_claim; /* claim holding the roles (array or space-separated); NULL → "roles" */
  bool hs256_off;          /* refuse HS256 tokens even though a secret is set */
  hd_jwks *jwks;           /* RS256 / ES256 keys; NULL → none accepted; borrowed */
  const hd_auth_key *signing_key; /* service identity signs with it, not the secret; borrowed */
} hd_auth_config;

/* Mints an HS256 token for p valid ttl_s from now_s (with aud when cfg->audience is set, the
 * tenant and roles under cfg's claim names). Caller frees *out_token with free().
 * INVALID_ARGUMENT when tenant/user id are empty, too long, or contain '"' or '\\'. */
int hd_auth_sign(const hd_auth_config *cfg, const hd_principal *p, int64_t now_s, int64_t ttl_s,
                 char **out_token, hd_err *err);

/* Verifies token[0..len): three base64url parts; header alg HS256 (only with cfg->secret and
 * !hs256_off: the MAC in constant time) or RS256 / ES256 (only with cfg->jwks: the key named by
 * the header's kid, of the matching type, through EVP); "none" and anything else refused, so an
 * HS256 token MAC'd with an RSA public key's bytes fails like any wrong secret. Then iss ==
 * cfg->issuer, aud holds cfg->audience (when set), exp > now_s - leeway, exp - iat (exp - now
 * without iat or when iat is ahead of now) within max_lifetime_s, tenant (tenant_claim) and sub
 * present and within limits, neither beginning nor ending with whitespace or a control character
 * (hd_ident_check: ids are compared byte for byte), roles (roles_claim) known. HS256 claims are one
 * flat object and an unknown role is refused; an identity provider's claims may nest and carry
 * roles of its own, which are ignored. On success fills *out. UNAUTHENTICATED otherwise, with a
 * message that says which check failed (never echoing the token); INTERNAL when cfg can verify
 * nothing. */
int hd_auth_verify(const hd_auth_config *cfg, const char *token, size_t len, int64_t now_s,
                   hd_principal *out, hd_err *err);

/* Parses an `authorization` header value "Bearer <token>" (scheme case-insensitive) and
 * verifies the token. UNAUTHENTICATED when value is NULL, empty or not a Bearer value. */
int hd_auth_bearer(const hd_auth_config *cfg, const char *value, size_t len, int64_t now_s,
                   hd_principal *out, hd_err *err);

/* 0 when p holds any role of any_of; PERMISSION_DENIED naming the roles needed otherwise. */
int hd_auth_require(const hd_principal *p, unsigned any_of, hd_err *err);

static inline bool hd_principal_has(const hd_principal *p, unsigned roles) {
  return (p->roles & roles) != 0;
}

/* The role p acts as, for audit rows, history and events: the first it holds of tenant_admin,
 * supervisor, team_lead, agent, service, customer; "unknown" when none. Static storage. */
const char *hd_principal_role(const hd_principal *p);

/* "customer", "agent", "team_lead", "supervisor", "tenant_admin", "service". */
const char *hd_role_name(hd_role r);

/* Parses a role name; -1 when unknown. */
int hd_role_parse(const char *name, size_t len, hd_role *out);

/* ---- minting (mint.c): tokens for tools, and a service's own identity ---- */

/* Parses a comma-separated list of role names ("agent,team_lead") into a bit set.
 * INVALID_ARGUMENT naming the first unknown role (and the known ones). */
int hd_auth_roles_parse(const char *list, unsigned *out, hd_err *err);

/* Mints a token for user_id of tenant holding roles, valid ttl_s from now_s (hd_auth_sign on a
 * principal built from them). INVALID_ARGUMENT when tenant or user id is empty, longer than
 * HD_TENANT_MAX / HD_USER_ID_MAX, or not printable ASCII without '"' or '\\'.
 * Caller frees *out_token with free(). */
int hd_auth_mint(const hd_auth_config *cfg, const char *tenant, const char *user_id, unsigned roles,
                 int64_t now_s, int64_t ttl_s, char **out_token, hd_err *err);

/* A service's identity toward the other services: `service`-role tokens whose user id is the
 * service's name, one per tenant it acts for, minted from the shared key and kept until they
 * are within renew_before_s of expiring. Thread-safe. */
typedef struct hd_auth_identity hd_auth_identity;

#define HD_AUTH_TOKEN_MAX        2048 /* bytes of a token the identity hands out, with its NUL */
#define HD_AUTH_IDENTITY_TENANTS 1024 /* tenants kept at once; past it the oldest token goes */
#define HD_AUTH_IDENTITY_TTL_S   3600 /* default lifetime of a minted token */
#define HD_AUTH_IDENTITY_RENEW_S 300  /* default: renewed when it expires within 5 minutes */

typedef struct hd_auth_identity_config {
  const hd_auth_config *auth; /* secret or signing key, issuer, audience, claim names: copied,
                                 except the signing key, borrowed (it must outlive the identity) */
  const char *service;        /* the token's user id: "routing"; copied */
  int64_t ttl_s;              /* 0 → HD_AUTH_IDENTITY_TTL_S */
  int64_t renew_before_s;     /* 0 → HD_AUTH_IDENTITY_RENEW_S; must be below ttl_s */
} hd_auth_identity_config;

/* Creates an identity. INVALID_ARGUMENT on a missing key or issuer, a service name that is not
 * a valid user id, or renew_before_s not below ttl_s. Caller frees with hd_auth_identity_free(). */
int hd_auth_identity_new(const hd_auth_identity_config *cfg, hd_auth_identity **out, hd_err *err);

/* Frees the identity and its tokens. NULL is a no-op. */
void hd_auth_identity_free(hd_auth_identity *id);

/* Copies the token for tenant, valid at now_s for at least renew_before_s more, into buf
 * (size bytes, NUL-terminated): the kept one, or a new one minted at now_s. INVALID_ARGUMENT on a
 * bad tenant; RESOURCE_EXHAUSTED when buf is too small. */
int hd_auth_identity_token(hd_auth_identity *id, const char *tenant, int64_t now_s, char *buf,
                           size_t size, hd_err *err);

/* Tokens minted so far (for tests and logs). */
unsigned long hd_auth_identity_minted(const hd_auth_identity *id);

#endif
