/* JWT HS256: minting and verifying bearer tokens (hd_auth_sign, hd_auth_verify).
 * Every check that fails says which one, and the token itself is never echoed. */
#include "auth/auth.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/base64url.h"
#include "core/ident.h"
#include "json/json.h"

#define JWT_TOKEN_MAX    8192u                   /* longest token accepted, in bytes */
#define JWT_PART_MAX     (JWT_TOKEN_MAX / 4 * 3) /* most bytes one part can decode to */
#define JWT_ISSUER_MAX   256u                    /* longest issuer a token is minted with */
#define JWT_MAC_LEN      32u                     /* HMAC-SHA256 */
#define JWT_SIG_TEXT_LEN 43u                     /* base64url of 32 bytes, unpadded */
#define JWT_SHOWN_MAX    48u                     /* claim text quoted back in a message */
#define JWT_ROLES_ALL    (HD_ROLE_CUSTOMER | HD_ROLES_STAFF)
#define JWT_CLAIMS_MAX   1024u /* the claims a token is minted with, as JSON */
/* Headers and claims are one flat object of strings, whole numbers and arrays of strings. */
#define JWT_MAX_MEMBERS 16 /* members of the object */
#define JWT_MAX_ITEMS   16 /* strings across all arrays */

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

static int jwt__check_config(const hd_auth_config *cfg, hd_code code, hd_err *err) {
  if (!cfg || !cfg->secret || cfg->secret_len == 0)
    return hd_err_set(err, code,
                      "auth is not configured: the token secret is empty (HELPDESK_AUTH_SECRET)");
  if (cfg->secret_len > INT_MAX)
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

int hd_auth_sign(const hd_auth_config *cfg, const hd_principal *p, int64_t now_s, int64_t ttl_s,
                 char **out_token, hd_err *err) {
  int rc = -1;
  char *token = NULL, *payload = NULL;
  json_t *roles = NULL, *claims = NULL;
  unsigned char mac[JWT_MAC_LEN];
  if (!out_token || !p) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "hd_auth_sign needs a principal and a place for the token");
    goto done;
  }
  *out_token = NULL;
  if (jwt__check_config(cfg, HD_INVALID_ARGUMENT, err) != 0) goto done;
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
  roles = jwt__roles_json(p->roles);
  if (!roles) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory minting a token");
    goto done;
  }
  json_error_t je;
  claims = json_pack_ex(&je, 0, "{s:s, s:s, s:s, s:O, s:I, s:I}", "iss", cfg->issuer, "sub",
                        p->user_id, "tenant", p->tenant, "roles", roles, "iat", (json_int_t)now_s,
                        "exp", (json_int_t)(now_s + ttl_s));
  if (!claims) {
    hd_json_pack_failed(&je, "the token's claims", err);
    goto done;
  }
  const hd_json_limits lim = {.max_bytes = JWT_CLAIMS_MAX, .max_depth = 2};
  size_t n = 0;
  if (hd_json_dump(claims, &lim, &payload, &n, err) != 0) goto done;
  size_t hl = hd_b64url_encoded_len(sizeof jwt__header - 1);
  size_t pl = hd_b64url_encoded_len(n);
  size_t size = hl + 1 + pl + 1 + JWT_SIG_TEXT_LEN + 1;
  token = malloc(size);
  if (!token) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory minting a token");
    goto done;
  }
  if (hd_b64url_encode((const unsigned char *)jwt__header, sizeof jwt__header - 1, token, size,
                       NULL) != 0 ||
      hd_b64url_encode((const unsigned char *)payload, n, token + hl + 1, size - hl - 1, NULL) !=
          0) {
    hd_err_set(err, HD_INTERNAL, "could not encode the token");
    goto done;
  }
  token[hl] = '.';
  token[hl + 1 + pl] = '.';
  if (jwt__mac(cfg, token, hl + 1 + pl, mac) != 0 ||
      hd_b64url_encode(mac, sizeof mac, token + hl + 1 + pl + 1, JWT_SIG_TEXT_LEN + 1, NULL) != 0) {
    hd_err_set(err, HD_INTERNAL, "could not sign the token (HMAC-SHA256 failed)");
    goto done;
  }
  *out_token = token;
  token = NULL;
  rc = 0;

done:
  json_decref(claims);
  json_decref(roles);
  free(payload);
  free(token);
  return rc;
}

/* Headers and claims are one flat object: strings, whole numbers and arrays of strings, at most
 * JWT_MAX_MEMBERS members and JWT_MAX_ITEMS strings in all arrays. Anything else is refused
 * rather than guessed at. NULL when o has that shape, else the reason. */
static const char *jwt__shape_refused(const json_t *o) {
  size_t members = 0, items = 0;
  /* jansson's iterator takes a non-const object; iterating does not change it. */
  for (void *it = json_object_iter((json_t *)o); it; it = json_object_iter_next((json_t *)o, it)) {
    if (++members > JWT_MAX_MEMBERS) return "too many members";
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

/* Decodes one base64url part into buf and reads it as a flat JSON object: *obj, caller frees
 * with json_decref(). */
static int jwt__read_part(const char *what, const char *text, size_t len, char *buf, size_t size,
                          json_t **obj, hd_err *err) {
  static const hd_json_limits lim = {.max_bytes = JWT_PART_MAX, .max_depth = HD_JSON_MAX_DEPTH};
  size_t n = 0;
  hd_err jerr = {0};
  *obj = NULL;
  if (hd_b64url_decode(text, len, (unsigned char *)buf, size, &n) != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token %s is not valid base64url", what);
  if (hd_json_parse_object(buf, n, &lim, obj, &jerr) != 0)
    return hd_err_set(err, jerr.code == HD_RESOURCE_EXHAUSTED ? jerr.code : HD_UNAUTHENTICATED,
                      "token %s is not valid JSON (%s)", what, jerr.msg);
  const char *why = jwt__shape_refused(*obj);
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

/* The header must say HS256 (and JWT when it names a type); nothing else is trusted. */
static int jwt__check_header(const json_t *h, hd_err *err) {
  char shown[JWT_SHOWN_MAX + 4];
  const char *alg = NULL, *typ = NULL;
  size_t alg_len = 0;
  bool missing;
  if (jwt__str(h, "alg", &alg, &alg_len, &missing) != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token header names no algorithm (alg); only HS256 is accepted");
  if (strcmp(alg, "HS256") != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token algorithm \"%s\" is not accepted; only HS256 is",
                      jwt__shown(alg, alg_len, shown, sizeof shown));
  if ((jwt__str(h, "typ", &typ, NULL, &missing) != 0 && !missing) ||
      (typ && strcmp(typ, "JWT") != 0))
    return hd_err_set(err, HD_UNAUTHENTICATED, "token type (typ) is not JWT");
  if (json_object_get(h, "crit"))
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token header has critical extensions (crit), which are not supported");
  return 0;
}

static int jwt__check_signature(const hd_auth_config *cfg, const char *signed_part,
                                size_t signed_len, const char *sig_text, size_t sig_len,
                                hd_err *err) {
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

/* A string claim that names an id: present, 1..max printable characters; copied to out. */
static int jwt__id_claim(const json_t *c, const char *key, const char *what, size_t max, char *out,
                         hd_err *err) {
  const char *s = NULL;
  size_t len = 0;
  bool missing;
  if (jwt__str(c, key, &s, &len, &missing) != 0)
    return missing
               ? hd_err_set(err, HD_UNAUTHENTICATED, "token has no %s (%s)", what, key)
               : hd_err_set(err, HD_UNAUTHENTICATED, "token %s (%s) is not a string", what, key);
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

/* The roles claim: an array of role names (strings, as jwt__shape_refused made sure). */
static int jwt__roles_claim(const json_t *c, unsigned *out, hd_err *err) {
  char shown[JWT_SHOWN_MAX + 4];
  const json_t *a = NULL;
  hd_err jerr = {0};
  if (hd_json_get_array(c, "roles", &a, &jerr) != 0)
    return jerr.code == HD_NOT_FOUND
               ? hd_err_set(err, HD_UNAUTHENTICATED, "token has no roles claim")
               : hd_err_set(err, HD_UNAUTHENTICATED,
                            "token roles claim is not an array of role names");
  unsigned roles = 0;
  for (size_t i = 0; i < json_array_size(a); i++) {
    const json_t *item = json_array_get(a, i);
    const char *name = json_string_value(item);
    const size_t len = json_string_length(item);
    hd_role r;
    if (!name || hd_role_parse(name, len, &r) != 0)
      return hd_err_set(err, HD_UNAUTHENTICATED, "token names an unknown role \"%s\"",
                        jwt__shown(name ? name : "", len, shown, sizeof shown));
    roles |= (unsigned)r;
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

/* Issuer, times, subject, tenant and roles of verified claims → *p. */
static int jwt__check_claims(const hd_auth_config *cfg, const json_t *c, int64_t now_s,
                             hd_principal *p, hd_err *err) {
  char shown[JWT_SHOWN_MAX + 4], when[48];
  const char *iss = NULL;
  size_t iss_len = 0;
  bool missing;
  if (jwt__str(c, "iss", &iss, &iss_len, &missing) != 0)
    return missing ? hd_err_set(err, HD_UNAUTHENTICATED, "token has no issuer (iss)")
                   : hd_err_set(err, HD_UNAUTHENTICATED, "token issuer (iss) is not a string");
  if (strcmp(iss, cfg->issuer) != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token issuer \"%s\" is not \"%s\"",
                      jwt__shown(iss, iss_len, shown, sizeof shown), cfg->issuer);

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

  if (jwt__id_claim(c, "sub", "subject", HD_USER_ID_MAX, p->user_id, err) != 0) return -1;
  if (jwt__id_claim(c, "tenant", "tenant", HD_TENANT_MAX, p->tenant, err) != 0) return -1;
  if (jwt__roles_claim(c, &p->roles, err) != 0) return -1;
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
  if (jwt__check_config(cfg, HD_INTERNAL, err) != 0) goto done;
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
  if (jwt__read_part("header", token, (size_t)(d1 - token), buf, JWT_PART_MAX, &header, err) != 0)
    goto done;
  if (jwt__check_header(header, err) != 0) goto done;
  if (jwt__check_signature(cfg, token, (size_t)(d2 - token), d2 + 1, len - (size_t)(d2 + 1 - token),
                           err) != 0)
    goto done;
  if (jwt__read_part("payload", d1 + 1, (size_t)(d2 - d1 - 1), buf, JWT_PART_MAX, &claims, err) !=
      0)
    goto done;
  if (jwt__check_claims(cfg, claims, now_s, &p, err) != 0) goto done;
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
