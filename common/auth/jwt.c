/* JWT: minting (HS256 with the secret, RS256 / ES256 with a key) and verifying bearer tokens
 * (hd_auth_sign, hd_auth_sign_with_key, hd_auth_verify). The signatures are OpenSSL's (HMAC, and
 * EVP through jws.c), never our own. Every check that fails says which one, and the token itself
 * is never echoed. */
#include "auth/auth.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/base64url.h"
#include "auth/jwks.h"
#include "auth/jws.h"
#include "auth/key.h"
#include "core/ident.h"
#include "json/json.h"

#define JWT_TOKEN_MAX    8192u                   /* longest token accepted, in bytes */
#define JWT_PART_MAX     (JWT_TOKEN_MAX / 4 * 3) /* most bytes one part can decode to */
#define JWT_ISSUER_MAX   256u                    /* longest issuer a token is minted with */
#define JWT_MAC_LEN      32u                     /* HMAC-SHA256 */
#define JWT_SIG_TEXT_LEN 43u                     /* base64url of 32 bytes, unpadded */
#define JWT_SIG_TEXT_MAX 1368u /* base64url of HD_JWS_SIG_MAX bytes, unpadded, with its NUL */
#define JWT_SHOWN_MAX    48u   /* claim text quoted back in a message */
#define JWT_ROLES_ALL    (HD_ROLE_CUSTOMER | HD_ROLES_STAFF)
#define JWT_CLAIMS_MAX   1024u /* the claims a token is minted with, as JSON */
/* Headers and claims are one flat object of strings, whole numbers and arrays of strings. */
#define JWT_MAX_MEMBERS 16 /* members of the object */
#define JWT_MAX_ITEMS   16 /* strings across all arrays */
/* An identity provider's claims (signature checked first) may nest and carry anything; bounded
 * by the token's size, the reader's depth, and this many members. */
#define JWT_IDP_MAX_MEMBERS 64
#define JWT_HEADER_MAX      256u /* the header a token is minted with, as JSON */

static const char jwt__header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* Printable ASCII without '"' or '\\': safe to embed in JSON unescaped and to log. */
static bool jwt__printable(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

/* Claim text fit to quote in a message: at most JWT_SHOWN_MAX characters, anything not
 * plainly printable replaced by '?', "..." when cut short. */
static const char *jwt__shown(const char *s, size_t len, char *out, size_t size) {
  size_t n = len < JWT_SHOWN_MAX ? len : JWT_SHOWN_MAX;
  if (n + 4 > size) n = size > 4 ? size - 4 : 0;
  for (size_t i = 0; i < n; i++) out[i] = jwt__printable(s + i, 1) ? s[i] : '?';
  if (n < len) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
  return out;
}

/* "2026-01-02T03:04:05Z" for Unix seconds s. */
static const char *jwt__utc(int64_t s, char *out, size_t size) {
  struct tm tm;
  time_t t = (time_t)s;
  if (!gmtime_r(&t, &tm) || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(out, size, "%lld seconds after the epoch", (long long)s);
  return out;
}

/* Can cfg verify HS256 tokens: a secret, and HS256 not turned off? */
static bool jwt__hs256_on(const hd_auth_config *cfg) {
  return cfg->secret && cfg->secret_len > 0 && !cfg->hs256_off;
}

typedef enum jwt__use { JWT_SIGN_SECRET, JWT_SIGN_KEY, JWT_VERIFY } jwt__use;

/* The issuer, and what use needs: the secret to sign HS256, a secret or a JWKS to verify. */
static int jwt__check_config(const hd_auth_config *cfg, jwt__use use, hd_code code, hd_err *err) {
  if (!cfg || (use == JWT_SIGN_SECRET && (!cfg->secret || cfg->secret_len == 0)))
    return hd_err_set(err, code,
                      "auth is not configured: the token secret is empty (HELPDESK_AUTH_SECRET)");
  if (use == JWT_VERIFY && !jwt__hs256_on(cfg) && !cfg->jwks)
    return hd_err_set(err, code,
                      "auth is not configured: no HS256 secret (HELPDESK_AUTH_SECRET) and no "
                      "JWKS (HELPDESK_AUTH_JWKS) to verify tokens with");
  if (cfg->secret && cfg->secret_len > INT_MAX)
    return hd_err_set(err, code, "auth is misconfigured: the token secret is longer than %d bytes",
                      INT_MAX);
  if (!cfg->issuer || !cfg->issuer[0])
    return hd_err_set(err, code,
                      "auth is not configured: the token issuer is empty (HELPDESK_AUTH_ISSUER)");
  size_t il = strnlen(cfg->issuer, JWT_ISSUER_MAX + 1);
  if (il > JWT_ISSUER_MAX || !jwt__printable(cfg->issuer, il))
    return hd_err_set(err, code,
                      "auth is misconfigured: the token issuer must be 1 to %u printable ASCII "
                      "characters without '\"' or '\\' (HELPDESK_AUTH_ISSUER)",
                      JWT_ISSUER_MAX);
  return 0;
}

/* HMAC-SHA256 of data[0..len) under the configured secret. */
static int jwt__mac(const hd_auth_config *cfg, const char *data, size_t len,
                    unsigned char mac[JWT_MAC_LEN]) {
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha256(), cfg->secret, (int)cfg->secret_len, (const unsigned char *)data, len, mac,
            &mac_len) ||
      mac_len != JWT_MAC_LEN)
    return -1;
  return 0;
}

/* Checks a tenant or user id about to be minted: 1..max printable characters. */
static int jwt__check_id(const char *what, const char *s, size_t field_size, size_t max,
                         hd_err *err) {
  size_t n = strnlen(s, field_size);
  if (n == 0) return hd_err_set(err, HD_INVALID_ARGUMENT, "%s is empty", what);
  if (n > max)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s is longer than %zu characters", what, max);
  if (!jwt__printable(s, n))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s must be printable ASCII without '\"' or '\\'",
                      what);
  return 0;
}

/* The role names of bit set roles as a JSON array (["agent","supervisor"]). Caller frees with
 * json_decref(); NULL when out of memory. */
static json_t *jwt__roles_json(unsigned roles) {
  json_t *a = json_array();
  for (unsigned bit = 1; a && bit & JWT_ROLES_ALL; bit <<= 1) {
    if (!(roles & bit)) continue;
    if (json_array_append_new(a, json_string(hd_role_name((hd_role)bit))) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

/* A configured claim name, or the default one. */
static const char *jwt__claim_name(const char *configured, const char *def) {
  return configured && configured[0] ? configured : def;
}

/* The claims p is minted with, as compact JSON: iss, sub, aud (when configured), the tenant and
 * roles under their configured names, iat, exp. Caller frees *out with free(). */
static int jwt__claims_text(const hd_auth_config *cfg, const hd_principal *p, int64_t now_s,
                            int64_t ttl_s, char **out, size_t *n, hd_err *err) {
  int rc = -1;
  json_t *roles = jwt__roles_json(p->roles), *claims = json_object();
  if (!roles || !claims || json_object_set_new(claims, "iss", json_string(cfg->issuer)) != 0 ||
      json_object_set_new(claims, "sub", json_string(p->user_id)) != 0 ||
      (cfg->audience && cfg->audience[0] &&
       json_object_set_new(claims, "aud", json_string(cfg->audience)) != 0) ||
      json_object_set_new(claims, jwt__claim_name(cfg->tenant_claim, "tenant"),
                          json_string(p->tenant)) != 0 ||
      json_object_set(claims, jwt__claim_name(cfg->roles_claim, "roles"), roles) != 0 ||
      json_object_set_new(claims, "iat", json_integer((json_int_t)now_s)) != 0 ||
      json_object_set_new(claims, "exp", json_integer((json_int_t)(now_s + ttl_s))) != 0) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory minting a token");
    goto done;
  }
  const hd_json_limits lim = {.max_bytes = JWT_CLAIMS_MAX, .max_depth = 2};
  rc = hd_json_dump(claims, &lim, out, n, err);
done:
  json_decref(claims);
  json_decref(roles);
  return rc;
}

/* The header a token is minted with: HS256, or the key's algorithm and kid. Caller frees *out
 * with free(). */
static int jwt__header_text(const hd_auth_key *key, char **out, size_t *n, hd_err *err) {
  if (!key) {
    *out = strdup(jwt__header);
    *n = sizeof jwt__header - 1;
    return *out ? 0 : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory minting a token");
  }
  json_error_t je;
  json_t *h = json_pack_ex(&je, 0, "{s:s, s:s, s:s}", "alg", hd_jws_alg_name(hd_auth_key_alg(key)),
                           "typ", "JWT", "kid", hd_auth_key_kid(key));
  if (!h) return hd_json_pack_failed(&je, "the token's header", err);
  const hd_json_limits lim = {.max_bytes = JWT_HEADER_MAX, .max_depth = 1};
  int rc = hd_json_dump(h, &lim, out, n, err);
  json_decref(h);
  return rc;
}

/* hd_auth_sign (key NULL: HS256 with the secret) and hd_auth_sign_with_key. */
static int jwt__sign(const hd_auth_config *cfg, const hd_auth_key *key, const hd_principal *p,
                     int64_t now_s, int64_t ttl_s, char **out_token, hd_err *err) {
  int rc = -1;
  char *token = NULL, *header = NULL, *payload = NULL;
  unsigned char sig[HD_JWS_SIG_MAX];
  size_t sig_len = 0, hn = 0, n = 0;
  if (!out_token || !p) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "hd_auth_sign needs a principal and a place for the token");
    goto done;
  }
  *out_token = NULL;
  if (jwt__check_config(cfg, key ? JWT_SIGN_KEY : JWT_SIGN_SECRET, HD_INVALID_ARGUMENT, err) != 0)
    goto done;
  if (jwt__check_id("tenant", p->tenant, sizeof p->tenant, HD_TENANT_MAX, err) != 0) goto done;
  if (jwt__check_id("user id", p->user_id, sizeof p->user_id, HD_USER_ID_MAX, err) != 0) goto done;
  if (p->roles & ~(unsigned)JWT_ROLES_ALL) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "roles hold unknown bits 0x%x",
               p->roles & ~(unsigned)JWT_ROLES_ALL);
    goto done;
  }
  if (ttl_s <= 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "token lifetime %lld s must be positive",
               (long long)ttl_s);
    goto done;
  }
  if (now_s > INT64_MAX - ttl_s) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "token expiry (now + %lld s) does not fit in 64 bits",
               (long long)ttl_s);
    goto done;
  }
  if (jwt__header_text(key, &header, &hn, err) != 0 ||
      jwt__claims_text(cfg, p, now_s, ttl_s, &payload, &n, err) != 0)
    goto done;
  size_t hl = hd_b64url_encoded_len(hn);
  size_t pl = hd_b64url_encoded_len(n);
  size_t size = hl + 1 + pl + 1 + JWT_SIG_TEXT_MAX;
  token = malloc(size);
  if (!token) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory minting a token");
    goto done;
  }
  if (hd_b64url_encode((const unsigned char *)header, hn, token, size, NULL) != 0 ||
      hd_b64url_encode((const unsigned char *)payload, n, token + hl + 1, size - hl - 1, NULL) !=
          0) {
    hd_err_set(err, HD_INTERNAL, "could not encode the token");
    goto done;
  }
  token[hl] = '.';
  token[hl + 1 + pl] = '.';
  if (!key) {
    if (jwt__mac(cfg, token, hl + 1 + pl, sig) != 0) {
      hd_err_set(err, HD_INTERNAL, "could not sign the token (HMAC-SHA256 failed)");
      goto done;
    }
    sig_len = JWT_MAC_LEN;
  } else if (hd_jws_sign(hd_auth_key_pkey(key), hd_auth_key_alg(key), token, hl + 1 + pl, sig,
                         sizeof sig, &sig_len) != 0) {
    hd_err_set(err, HD_INTERNAL, "could not sign the token (%s failed)",
               hd_jws_alg_name(hd_auth_key_alg(key)));
    goto done;
  }
  if (hd_b64url_encode(sig, sig_len, token + hl + 1 + pl + 1, JWT_SIG_TEXT_MAX, NULL) != 0) {
    hd_err_set(err, HD_INTERNAL, "could not encode the token's signature");
    goto done;
  }
  *out_token = token;
  token = NULL;
  rc = 0;

done:
  free(payload);
  free(header);
  free(token);
  return rc;
}

int hd_auth_sign(const hd_auth_config *cfg, const hd_principal *p, int64_t now_s, int64_t ttl_s,
                 char **out_token, hd_err *err) {
  return jwt__sign(cfg, NULL, p, now_s, ttl_s, out_token, err);
}

int hd_auth_sign_with_key(const hd_auth_config *cfg, const hd_auth_key *key, const hd_principal *p,
                          int64_t now_s, int64_t ttl_s, char **out_token, hd_err *err) {
  if (!key) return hd_err_set(err, HD_INVALID_ARGUMENT, "hd_auth_sign_with_key needs a key");
  return jwt__sign(cfg, key, p, now_s, ttl_s, out_token, err);
}

/* Headers and claims are one flat object: strings, whole numbers and arrays of strings, at most
 * JWT_MAX_MEMBERS members and JWT_MAX_ITEMS strings in all arrays. Anything else is refused
 * rather than guessed at. NULL when o has that shape, else the reason. */
/* Our own (HS256) headers and claims are one flat object: strings, whole numbers and arrays of
 * strings, at most JWT_MAX_MEMBERS members and JWT_MAX_ITEMS strings in all arrays. Anything
 * else is refused rather than guessed at. An identity provider's (idp) claims, read after their
 * signature is checked, may hold anything within JWT_IDP_MAX_MEMBERS members. NULL when o has
 * that shape, else the reason. */
static const char *jwt__shape_refused(const json_t *o, bool idp) {
  size_t members = 0, items = 0;
  /* jansson's iterator takes a non-const object; iterating does not change it. */
  for (void *it = json_object_iter((json_t *)o); it; it = json_object_iter_next((json_t *)o, it)) {
    if (++members > (idp ? JWT_IDP_MAX_MEMBERS : JWT_MAX_MEMBERS)) return "too many members";
    if (idp) continue;
    const json_t *v = json_object_iter_value(it);
    switch (json_typeof(v)) {
      case JSON_STRING:
      case JSON_INTEGER:
        break;
      case JSON_REAL:
        return "only whole numbers are accepted";
      case JSON_OBJECT:
        return "nested objects are not accepted";
      case JSON_TRUE:
      case JSON_FALSE:
      case JSON_NULL:
        return "true, false and null are not accepted";
      case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(v); i++) {
          if (!json_is_string(json_array_get(v, i))) return "arrays may hold only strings";
          if (++items > JWT_MAX_ITEMS) return "too many array items";
        }
        break;
    }
  }
  return NULL;
}

/* Decodes one base64url part into buf and reads it as a JSON object of the shape idp says:
 * *obj, caller frees with json_decref(). */
static int jwt__read_part(const char *what, const char *text, size_t len, bool idp, char *buf,
                          size_t size, json_t **obj, hd_err *err) {
  static const hd_json_limits lim = {.max_bytes = JWT_PART_MAX, .max_depth = HD_JSON_MAX_DEPTH};
  size_t n = 0;
  hd_err jerr = {0};
  *obj = NULL;
  if (hd_b64url_decode(text, len, (unsigned char *)buf, size, &n) != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token %s is not valid base64url", what);
  if (hd_json_parse_object(buf, n, &lim, obj, &jerr) != 0)
    return hd_err_set(err, jerr.code == HD_RESOURCE_EXHAUSTED ? jerr.code : HD_UNAUTHENTICATED,
                      "token %s is not valid JSON (%s)", what, jerr.msg);
  const char *why = jwt__shape_refused(*obj, idp);
  if (why) {
    json_decref(*obj);
    *obj = NULL;
    return hd_err_set(err, HD_UNAUTHENTICATED, "token %s is not valid JSON (%s)", what, why);
  }
  return 0;
}

/* The string member key of o: 0, or -1 with *missing telling absent from another type. */
static int jwt__str(const json_t *o, const char *key, const char **s, size_t *len, bool *missing) {
  hd_err jerr = {0};
  const int rc = hd_json_get_str(o, key, s, len, &jerr);
  *missing = rc != 0 && jerr.code == HD_NOT_FOUND;
  return rc;
}

/* "only HS256 is", "only RS256 and ES256 are", "HS256, RS256 and ES256 are": what cfg accepts. */
static const char *jwt__accepted(const hd_auth_config *cfg) {
  if (jwt__hs256_on(cfg)) return cfg->jwks ? "HS256, RS256 and ES256 are" : "only HS256 is";
  return "only RS256 and ES256 are";
}

/* Is alg one cfg verifies: HS256 with the secret, RS256 and ES256 with the JWKS? */
static bool jwt__alg_on(const hd_auth_config *cfg, hd_jws_alg alg) {
  return alg == HD_JWS_HS256 ? jwt__hs256_on(cfg) : alg != 0 && cfg->jwks != NULL;
}

/* typ, when present: JWT, or an RFC 9068 access token (at+jwt); media types compare without
 * regard to case, with or without "application/". */
static bool jwt__typ_ok(const char *typ) {
  if (strncasecmp(typ, "application/", 12) == 0) typ += 12;
  return strcasecmp(typ, "JWT") == 0 || strcasecmp(typ, "at+jwt") == 0;
}

/* The header must name an algorithm cfg accepts (and a JWT type when it names one), and, for
 * RS256 / ES256, the key id; nothing else in it is trusted (jku, x5u, jwk are never followed).
 * *alg, and *kid (borrowed from h) with *kid_len. */
static int jwt__check_header(const hd_auth_config *cfg, const json_t *h, hd_jws_alg *alg,
                             const char **kid, size_t *kid_len, hd_err *err) {
  char shown[JWT_SHOWN_MAX + 4];
  const char *name = NULL, *typ = NULL;
  size_t name_len = 0;
  bool missing;
  if (jwt__str(h, "alg", &name, &name_len, &missing) != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token header names no algorithm (alg); %s accepted",
                      jwt__accepted(cfg));
  *alg = hd_jws_alg_parse(name);
  if (!jwt__alg_on(cfg, *alg))
    return hd_err_set(err, HD_UNAUTHENTICATED, "token algorithm \"%s\" is not accepted; %s",
                      jwt__shown(name, name_len, shown, sizeof shown), jwt__accepted(cfg));
  if ((jwt__str(h, "typ", &typ, NULL, &missing) != 0 && !missing) || (typ && !jwt__typ_ok(typ)))
    return hd_err_set(err, HD_UNAUTHENTICATED, "token type (typ) is not JWT");
  if (json_object_get(h, "crit"))
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token header has critical extensions (crit), which are not supported");
  *kid = NULL;
  *kid_len = 0;
  if (*alg != HD_JWS_HS256 && jwt__str(h, "kid", kid, kid_len, &missing) != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token header names no key id (kid); %s tokens are verified with the JWKS "
                      "key it names",
                      hd_jws_alg_name(*alg));
  return 0;
}

static int jwt__check_mac(const hd_auth_config *cfg, const char *signed_part, size_t signed_len,
                          const char *sig_text, size_t sig_len, hd_err *err) {
  unsigned char sig[JWT_MAC_LEN + 2], mac[JWT_MAC_LEN];
  size_t n = 0;
  if (sig_len != JWT_SIG_TEXT_LEN)
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token signature is missing or has the wrong length for HS256");
  if (hd_b64url_decode(sig_text, sig_len, sig, sizeof sig, &n) != 0 || n != JWT_MAC_LEN)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token signature is not valid base64url");
  if (jwt__mac(cfg, signed_part, signed_len, mac) != 0)
    return hd_err_set(err, HD_INTERNAL,
                      "could not compute the token signature (HMAC-SHA256 failed)");
  if (CRYPTO_memcmp(mac, sig, JWT_MAC_LEN) != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token signature does not match (wrong secret or tampered token)");
  return 0;
}

/* RS256 / ES256: the JWKS key named kid, of the type alg needs, verifies the signature. */
static int jwt__check_jws(const hd_auth_config *cfg, hd_jws_alg alg, const char *kid,
                          size_t kid_len, int64_t now_s, const char *signed_part, size_t signed_len,
                          const char *sig_text, size_t sig_len, hd_err *err) {
  unsigned char sig[HD_JWS_SIG_MAX];
  size_t n = 0;
  EVP_PKEY *key = NULL;
  if (sig_len == 0 || hd_b64url_decoded_max(sig_len) > sizeof sig ||
      hd_b64url_decode(sig_text, sig_len, sig, sizeof sig, &n) != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token signature is missing, too long or not valid base64url");
  if (hd_jwks_key(cfg->jwks, kid, kid_len, alg, now_s, &key, err) != 0) return -1;
  const int rc = hd_jws_verify(key, alg, signed_part, signed_len, sig, n);
  EVP_PKEY_free(key);
  if (rc != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token signature does not match its %s key (wrong key or tampered token)",
                      hd_jws_alg_name(alg));
  return 0;
}

/* Member name of c; when there is none and name has dots, the path a.b.c through nested
 * objects (so "realm_access.roles" reaches Keycloak's roles, and a namespaced claim such as
 * "https://example.com/roles" is still found whole). NULL when absent. */
static const json_t *jwt__claim(const json_t *c, const char *name) {
  const json_t *v = json_object_get(c, name);
  if (v || !strchr(name, '.')) return v;
  char part[128];
  const char *p = name;
  v = c;
  while (v && *p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (n == 0 || n >= sizeof part || !json_is_object(v)) return NULL;
    memcpy(part, p, n);
    part[n] = '\0';
    v = json_object_get(v, part);
    p = dot ? dot + 1 : p + n;
  }
  return v;
}

/* A string claim that names an id: present, 1..max printable characters; copied to out. */
static int jwt__id_claim(const json_t *c, const char *key, const char *what, size_t max, char *out,
                         hd_err *err) {
  const json_t *v = jwt__claim(c, key);
  const char *s = json_string_value(v);
  size_t len = json_string_length(v);
  if (!v) return hd_err_set(err, HD_UNAUTHENTICATED, "token has no %s (%s)", what, key);
  if (!s) return hd_err_set(err, HD_UNAUTHENTICATED, "token %s (%s) is not a string", what, key);
  if (len == 0) return hd_err_set(err, HD_UNAUTHENTICATED, "token %s (%s) is empty", what, key);
  if (len > max)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token %s (%s) is longer than %zu characters", what,
                      key, max);
  if (!jwt__printable(s, len))
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token %s (%s) must be printable ASCII without '\"' or '\\'", what, key);
  memcpy(out, s, len);
  out[len] = '\0';
  return 0;
}

/* One role name into *roles: known ones added; an unknown one refused in our own tokens and
 * skipped in an identity provider's (idp), which name roles of their own in the same claim. */
static int jwt__role(const char *name, size_t len, bool idp, unsigned *roles, hd_err *err) {
  char shown[JWT_SHOWN_MAX + 4];
  hd_role r;
  if (hd_role_parse(name, len, &r) == 0) {
    *roles |= (unsigned)r;
    return 0;
  }
  if (idp) return 0;
  return hd_err_set(err, HD_UNAUTHENTICATED, "token names an unknown role \"%s\"",
                    jwt__shown(name, len, shown, sizeof shown));
}

/* The roles claim (named key): an array of role names, or one string of names separated by
 * spaces (the OAuth "scope" style). */
static int jwt__roles_claim(const json_t *c, const char *key, bool idp, unsigned *out,
                            hd_err *err) {
  const json_t *v = jwt__claim(c, key);
  unsigned roles = 0;
  if (!v) return hd_err_set(err, HD_UNAUTHENTICATED, "token has no roles claim (%s)", key);
  if (json_is_string(v)) {
    const char *s = json_string_value(v), *end = s + json_string_length(v);
    while (s < end) {
      const char *sp = memchr(s, ' ', (size_t)(end - s));
      size_t n = sp ? (size_t)(sp - s) : (size_t)(end - s);
      if (n > 0 && jwt__role(s, n, idp, &roles, err) != 0) return -1;
      s += n + 1;
    }
  } else if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++) {
      const json_t *item = json_array_get(v, i);
      if (!json_is_string(item))
        return hd_err_set(err, HD_UNAUTHENTICATED, "token roles claim (%s) holds a non-string",
                          key);
      if (jwt__role(json_string_value(item), json_string_length(item), idp, &roles, err) != 0)
        return -1;
    }
  } else {
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token roles claim is not an array of role names or a string of them "
                      "separated by spaces (%s)",
                      key);
  }
  *out = roles;
  return 0;
}

/* An optional whole-number claim; -1 when present with another type. */
static int jwt__time_claim(const json_t *c, const char *key, bool required, bool *present,
                           int64_t *out, hd_err *err) {
  hd_err jerr = {0};
  const int rc = hd_json_get_int(c, key, out, &jerr);
  *present = rc == 0 || jerr.code != HD_NOT_FOUND;
  if (!*present)
    return required ? hd_err_set(err, HD_UNAUTHENTICATED, "token has no %s claim", key) : 0;
  if (rc != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token %s claim is not a whole number of seconds",
                      key);
  return 0;
}

/* The audience: aud is the configured one, or an array holding it (byte for byte). */
static int jwt__check_audience(const hd_auth_config *cfg, const json_t *c, hd_err *err) {
  char shown[JWT_SHOWN_MAX + 4];
  if (!cfg->audience || !cfg->audience[0]) return 0;
  const json_t *aud = json_object_get(c, "aud");
  if (!aud)
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token has no audience (aud); this service accepts only \"%s\"",
                      cfg->audience);
  if (json_is_string(aud)) {
    if (strcmp(json_string_value(aud), cfg->audience) == 0) return 0;
    return hd_err_set(
        err, HD_UNAUTHENTICATED, "token audience \"%s\" is not \"%s\"",
        jwt__shown(json_string_value(aud), json_string_length(aud), shown, sizeof shown),
        cfg->audience);
  }
  for (size_t i = 0; json_is_array(aud) && i < json_array_size(aud); i++) {
    const char *a = json_string_value(json_array_get(aud, i));
    if (a && strcmp(a, cfg->audience) == 0) return 0;
  }
  return hd_err_set(err, HD_UNAUTHENTICATED, "token audience (aud) does not include \"%s\"",
                    cfg->audience);
}

/* "36500 d", "25 h", "90 min", "61 s". */
static const char *jwt__span(int64_t s, char *out, size_t size) {
  if (s >= 86400 && s % 86400 == 0)
    snprintf(out, size, "%lld d", (long long)(s / 86400));
  else if (s >= 3600 && s % 3600 == 0)
    snprintf(out, size, "%lld h", (long long)(s / 3600));
  else if (s >= 60 && s % 60 == 0)
    snprintf(out, size, "%lld min", (long long)(s / 60));
  else
    snprintf(out, size, "%lld s", (long long)s);
  return out;
}

/* Issuer, audience, times, subject, tenant and roles of verified claims → *p. */
static int jwt__check_claims(const hd_auth_config *cfg, const json_t *c, bool idp, int64_t now_s,
                             hd_principal *p, hd_err *err) {
  char shown[JWT_SHOWN_MAX + 4], when[48], span[32], limit[32];
  const char *iss = NULL;
  size_t iss_len = 0;
  bool missing;
  if (jwt__str(c, "iss", &iss, &iss_len, &missing) != 0)
    return missing ? hd_err_set(err, HD_UNAUTHENTICATED, "token has no issuer (iss)")
                   : hd_err_set(err, HD_UNAUTHENTICATED, "token issuer (iss) is not a string");
  if (strcmp(iss, cfg->issuer) != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token issuer \"%s\" is not \"%s\"",
                      jwt__shown(iss, iss_len, shown, sizeof shown), cfg->issuer);
  if (jwt__check_audience(cfg, c, err) != 0) return -1;

  int64_t leeway = cfg->leeway_s > 0 ? cfg->leeway_s : 0;
  int64_t exp = 0, nbf = 0, iat = 0;
  bool present;
  if (jwt__time_claim(c, "exp", true, &present, &exp, err) != 0) return -1;
  int64_t oldest = now_s >= INT64_MIN + leeway ? now_s - leeway : INT64_MIN;
  if (exp <= oldest)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token expired at %s; request a new one",
                      jwt__utc(exp, when, sizeof when));
  if (jwt__time_claim(c, "nbf", false, &present, &nbf, err) != 0) return -1;
  int64_t latest = now_s <= INT64_MAX - leeway ? now_s + leeway : INT64_MAX;
  if (present && nbf > latest)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token is not valid before %s; check the clocks",
                      jwt__utc(nbf, when, sizeof when));
  if (jwt__time_claim(c, "iat", false, &present, &iat, err) != 0) return -1;
  /* The lifetime from issue to expiry: a token valid for a century is refused even though it has
   * not expired. It counts from iat, or from now when there is none or it is ahead of this clock
   * (a far-future iat must not stretch the window), with the leeway for a clock a little behind
   * the issuer's. exp > now - leeway here. */
  const bool ahead = present && iat > now_s;
  const int64_t from = present && !ahead ? iat : now_s;
  const int64_t max = cfg->max_lifetime_s > 0 ? cfg->max_lifetime_s : HD_AUTH_MAX_LIFETIME_S;
  const bool huge = from < 0 && exp > INT64_MAX + from;
  if (huge || exp - from > max + (ahead ? leeway : 0))
    return hd_err_set(
        err, HD_UNAUTHENTICATED,
        "token lifetime of %s%s is longer than the %s allowed "
        "(HELPDESK_AUTH_MAX_LIFETIME); request a shorter-lived token",
        huge ? "more than 292 billion years" : jwt__span(exp - from, span, sizeof span),
        ahead ? " (from now: its iat is ahead of this clock)" : "",
        jwt__span(max, limit, sizeof limit));

  if (jwt__id_claim(c, "sub", "subject", HD_USER_ID_MAX, p->user_id, err) != 0) return -1;
  if (jwt__id_claim(c, jwt__claim_name(cfg->tenant_claim, "tenant"), "tenant", HD_TENANT_MAX,
                    p->tenant, err) != 0)
    return -1;
  if (jwt__roles_claim(c, jwt__claim_name(cfg->roles_claim, "roles"), idp, &p->roles, err) != 0)
    return -1;
  p->expires_at_s = exp;
  return 0;
}

int hd_auth_verify(const hd_auth_config *cfg, const char *token, size_t len, int64_t now_s,
                   hd_principal *out, hd_err *err) {
  int rc = -1;
  char *buf = NULL; /* a decoded part: the header, then the payload */
  json_t *header = NULL, *claims = NULL;
  hd_principal p;
  memset(&p, 0, sizeof p);
  if (jwt__check_config(cfg, JWT_VERIFY, HD_INTERNAL, err) != 0) goto done;
  if (!token || len == 0) {
    hd_err_set(err, HD_UNAUTHENTICATED, "the bearer token is empty");
    goto done;
  }
  if (len > JWT_TOKEN_MAX) {
    hd_err_set(err, HD_UNAUTHENTICATED, "the bearer token is longer than %u bytes", JWT_TOKEN_MAX);
    goto done;
  }
  const char *d1 = memchr(token, '.', len);
  const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
  if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) || d1 == token ||
      d2 == d1 + 1) {
    hd_err_set(err, HD_UNAUTHENTICATED, "token is not three base64url parts separated by '.'");
    goto done;
  }
  buf = malloc(JWT_PART_MAX);
  if (!buf) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory verifying a token");
    goto done;
  }
  hd_jws_alg alg = 0;
  const char *kid = NULL;
  size_t kid_len = 0;
  if (jwt__read_part("header", token, (size_t)(d1 - token), false, buf, JWT_PART_MAX, &header,
                     err) != 0)
    goto done;
  if (jwt__check_header(cfg, header, &alg, &kid, &kid_len, err) != 0) goto done;
  const size_t signed_len = (size_t)(d2 - token), sig_len = len - (size_t)(d2 + 1 - token);
  if ((alg == HD_JWS_HS256 ? jwt__check_mac(cfg, token, signed_len, d2 + 1, sig_len, err)
                           : jwt__check_jws(cfg, alg, kid, kid_len, now_s, token, signed_len,
                                            d2 + 1, sig_len, err)) != 0)
    goto done;
  const bool idp = alg != HD_JWS_HS256;
  if (jwt__read_part("payload", d1 + 1, (size_t)(d2 - d1 - 1), idp, buf, JWT_PART_MAX, &claims,
                     err) != 0)
    goto done;
  if (jwt__check_claims(cfg, claims, idp, now_s, &p, err) != 0) goto done;
  /* Ids are compared byte for byte: "acme " must not pass for acme. */
  if (hd_ident_check("token tenant (tenant)", p.tenant, strlen(p.tenant), HD_UNAUTHENTICATED,
                     err) != 0 ||
      hd_ident_check("token subject (sub)", p.user_id, strlen(p.user_id), HD_UNAUTHENTICATED,
                     err) != 0)
    goto done;
  if (out) *out = p;
  rc = 0;

done:
  json_decref(claims);
  json_decref(header);
  free(buf);
  return rc;
}
