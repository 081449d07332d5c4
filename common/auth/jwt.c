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
#include "auth/claims_json.h"
#include "core/ident.h"

#define JWT_TOKEN_MAX    8192u                   /* longest token accepted, in bytes */
#define JWT_PART_MAX     (JWT_TOKEN_MAX / 4 * 3) /* most bytes one part can decode to */
#define JWT_ISSUER_MAX   256u                    /* longest issuer a token is minted with */
#define JWT_MAC_LEN      32u                     /* HMAC-SHA256 */
#define JWT_SIG_TEXT_LEN 43u                     /* base64url of 32 bytes, unpadded */
#define JWT_SHOWN_MAX    48u                     /* claim text quoted back in a message */
#define JWT_ROLES_ALL    (HD_ROLE_CUSTOMER | HD_ROLES_STAFF)

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

/* Writes the roles of bit set roles as a JSON array body: "agent","supervisor". */
static int jwt__roles_json(unsigned roles, char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (unsigned bit = 1; bit & JWT_ROLES_ALL; bit <<= 1) {
    if (!(roles & bit)) continue;
    int n =
        snprintf(out + used, size - used, "%s\"%s\"", used ? "," : "", hd_role_name((hd_role)bit));
    if (n < 0 || (size_t)n >= size - used) return -1;
    used += (size_t)n;
  }
  return 0;
}

int hd_auth_sign(const hd_auth_config *cfg, const hd_principal *p, int64_t now_s, int64_t ttl_s,
                 char **out_token, hd_err *err) {
  int rc = -1;
  char *token = NULL;
  char roles[128], payload[1024];
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
  if (jwt__roles_json(p->roles, roles, sizeof roles) != 0) {
    hd_err_set(err, HD_INTERNAL, "role names do not fit the token");
    goto done;
  }
  int n = snprintf(
      payload, sizeof payload,
      "{\"iss\":\"%s\",\"sub\":\"%s\",\"tenant\":\"%s\",\"roles\":[%s],\"iat\":%lld,\"exp\":%lld}",
      cfg->issuer, p->user_id, p->tenant, roles, (long long)now_s, (long long)(now_s + ttl_s));
  if (n < 0 || (size_t)n >= sizeof payload) {
    hd_err_set(err, HD_INTERNAL, "token claims do not fit %zu bytes", sizeof payload);
    goto done;
  }
  size_t hl = hd_b64url_encoded_len(sizeof jwt__header - 1);
  size_t pl = hd_b64url_encoded_len((size_t)n);
  size_t size = hl + 1 + pl + 1 + JWT_SIG_TEXT_LEN + 1;
  token = malloc(size);
  if (!token) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory minting a token");
    goto done;
  }
  if (hd_b64url_encode((const unsigned char *)jwt__header, sizeof jwt__header - 1, token, size,
                       NULL) != 0 ||
      hd_b64url_encode((const unsigned char *)payload, (size_t)n, token + hl + 1, size - hl - 1,
                       NULL) != 0) {
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
  free(token);
  return rc;
}

/* Decodes one base64url part and parses it as a claims object. buf holds the decoded
 * JSON, which obj borrows from. */
static int jwt__read_part(const char *what, const char *text, size_t len, char *buf, size_t size,
                          auth_json_object *obj, hd_err *err) {
  size_t n = 0;
  const char *why = "malformed";
  if (hd_b64url_decode(text, len, (unsigned char *)buf, size, &n) != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token %s is not valid base64url", what);
  if (auth_json_parse(buf, n, obj, &why) != 0)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token %s is not valid JSON (%s)", what, why);
  return 0;
}

/* The header must say HS256 (and JWT when it names a type); nothing else is trusted. */
static int jwt__check_header(const auth_json_object *h, hd_err *err) {
  char shown[JWT_SHOWN_MAX + 4];
  const auth_json_member *alg = auth_json_find(h, "alg");
  if (!alg || alg->type != AUTH_JSON_STRING)
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token header names no algorithm (alg); only HS256 is accepted");
  if (!auth_json_span_is(alg->str, "HS256"))
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token algorithm \"%s\" is not accepted; only HS256 is",
                      jwt__shown(alg->str.p, alg->str.len, shown, sizeof shown));
  const auth_json_member *typ = auth_json_find(h, "typ");
  if (typ && (typ->type != AUTH_JSON_STRING || !auth_json_span_is(typ->str, "JWT")))
    return hd_err_set(err, HD_UNAUTHENTICATED, "token type (typ) is not JWT");
  if (auth_json_find(h, "crit"))
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
static int jwt__id_claim(const auth_json_object *c, const char *key, const char *what, size_t max,
                         char *out, hd_err *err) {
  const auth_json_member *m = auth_json_find(c, key);
  if (!m) return hd_err_set(err, HD_UNAUTHENTICATED, "token has no %s (%s)", what, key);
  if (m->type != AUTH_JSON_STRING)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token %s (%s) is not a string", what, key);
  if (m->str.len == 0)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token %s (%s) is empty", what, key);
  if (m->str.len > max)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token %s (%s) is longer than %zu characters", what,
                      key, max);
  if (!jwt__printable(m->str.p, m->str.len))
    return hd_err_set(err, HD_UNAUTHENTICATED,
                      "token %s (%s) must be printable ASCII without '\"' or '\\'", what, key);
  memcpy(out, m->str.p, m->str.len);
  out[m->str.len] = '\0';
  return 0;
}

static int jwt__roles_claim(const auth_json_object *c, unsigned *out, hd_err *err) {
  char shown[JWT_SHOWN_MAX + 4];
  const auth_json_member *m = auth_json_find(c, "roles");
  if (!m) return hd_err_set(err, HD_UNAUTHENTICATED, "token has no roles claim");
  if (m->type != AUTH_JSON_STRINGS)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token roles claim is not an array of role names");
  unsigned roles = 0;
  for (size_t i = m->first; i < m->first + m->count; i++) {
    hd_role r;
    if (hd_role_parse(c->items[i].p, c->items[i].len, &r) != 0)
      return hd_err_set(err, HD_UNAUTHENTICATED, "token names an unknown role \"%s\"",
                        jwt__shown(c->items[i].p, c->items[i].len, shown, sizeof shown));
    roles |= (unsigned)r;
  }
  *out = roles;
  return 0;
}

/* An optional whole-number claim; -1 when present with another type. */
static int jwt__time_claim(const auth_json_object *c, const char *key, bool required, bool *present,
                           int64_t *out, hd_err *err) {
  const auth_json_member *m = auth_json_find(c, key);
  *present = m != NULL;
  if (!m) return required ? hd_err_set(err, HD_UNAUTHENTICATED, "token has no %s claim", key) : 0;
  if (m->type != AUTH_JSON_INT)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token %s claim is not a whole number of seconds",
                      key);
  *out = m->num;
  return 0;
}

/* Issuer, times, subject, tenant and roles of verified claims → *p. */
static int jwt__check_claims(const hd_auth_config *cfg, const auth_json_object *c, int64_t now_s,
                             hd_principal *p, hd_err *err) {
  char shown[JWT_SHOWN_MAX + 4], when[48];
  const auth_json_member *iss = auth_json_find(c, "iss");
  if (!iss) return hd_err_set(err, HD_UNAUTHENTICATED, "token has no issuer (iss)");
  if (iss->type != AUTH_JSON_STRING)
    return hd_err_set(err, HD_UNAUTHENTICATED, "token issuer (iss) is not a string");
  if (!auth_json_span_is(iss->str, cfg->issuer))
    return hd_err_set(err, HD_UNAUTHENTICATED, "token issuer \"%s\" is not \"%s\"",
                      jwt__shown(iss->str.p, iss->str.len, shown, sizeof shown), cfg->issuer);

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
  char *buf = NULL; /* decoded header, then payload; the claims borrow from it */
  auth_json_object *obj = NULL;
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
  obj = malloc(sizeof *obj);
  if (!buf || !obj) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory verifying a token");
    goto done;
  }
  if (jwt__read_part("header", token, (size_t)(d1 - token), buf, JWT_PART_MAX, obj, err) != 0)
    goto done;
  if (jwt__check_header(obj, err) != 0) goto done;
  if (jwt__check_signature(cfg, token, (size_t)(d2 - token), d2 + 1, len - (size_t)(d2 + 1 - token),
                           err) != 0)
    goto done;
  if (jwt__read_part("payload", d1 + 1, (size_t)(d2 - d1 - 1), buf, JWT_PART_MAX, obj, err) != 0)
    goto done;
  if (jwt__check_claims(cfg, obj, now_s, &p, err) != 0) goto done;
  /* Ids are compared byte for byte: "acme " must not pass for acme. */
  if (hd_ident_check("token tenant (tenant)", p.tenant, strlen(p.tenant), HD_UNAUTHENTICATED,
                     err) != 0 ||
      hd_ident_check("token subject (sub)", p.user_id, strlen(p.user_id), HD_UNAUTHENTICATED,
                     err) != 0)
    goto done;
  if (out) *out = p;
  rc = 0;

done:
  free(obj);
  free(buf);
  return rc;
}
