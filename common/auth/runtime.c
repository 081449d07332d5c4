/* hd_auth_runtime: a service's token settings, checked at start (runtime.h). */
#include "auth/runtime.h"

#include <string.h>

#include "auth/jwks.h"
#include "auth/key.h"
#include "clock/clock.h"
#include "log/log.h"

static const char runtime__how[] =
    "set HELPDESK_AUTH_SECRET to at least 32 random bytes (e.g. openssl rand -base64 48), or "
    "HELPDESK_AUTH_HS256=0 with HELPDESK_AUTH_JWKS, or HELPDESK_DEV_MODE=1 on a development "
    "machine";

/* Outside development mode: the secret must be one nobody else has. */
static int runtime__check_secret(const hd_common_config *c, hd_err *err) {
  const char *s = c->auth_secret_given ? c->auth_secret : NULL;
  if (!s)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "refusing to start: HELPDESK_AUTH_SECRET is not set, so tokens would be "
                      "signed and accepted with the built-in development secret, which anyone "
                      "with the repository can use; %s",
                      runtime__how);
  if (strcmp(s, HD_AUTH_DEV_SECRET) == 0 || strstr(s, "change-me"))
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "refusing to start: HELPDESK_AUTH_SECRET is the development secret or a "
                      "placeholder from the repository (\"change-me\"); %s",
                      runtime__how);
  if (strlen(s) < HD_AUTH_SECRET_MIN)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "refusing to start: HELPDESK_AUTH_SECRET is %zu bytes, shorter than the %d "
                      "needed outside development mode; %s",
                      strlen(s), HD_AUTH_SECRET_MIN, runtime__how);
  return 0;
}

static int runtime__check_production(const hd_common_config *c, hd_err *err) {
  if (c->auth_hs256 && runtime__check_secret(c, err) != 0) return -1;
  if (!c->auth_audience)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "refusing to start: HELPDESK_AUTH_AUDIENCE is not set; set it to the "
                      "audience (aud) the identity provider puts in tokens for this API (e.g. "
                      "helpdesk)");
  return 0;
}

int hd_auth_runtime_open(const hd_common_config *c, int64_t now_s, hd_auth_runtime *out,
                         hd_err *err) {
  memset(out, 0, sizeof *out);
  if (!c->auth_hs256 && !c->auth_jwks)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "refusing to start: HELPDESK_AUTH_HS256=0 and no HELPDESK_AUTH_JWKS, so no "
                      "token could be verified; point HELPDESK_AUTH_JWKS at the identity "
                      "provider's JWKS file or directory");
  if (!c->dev_mode && runtime__check_production(c, err) != 0) return -1;
  if (c->dev_mode && (!c->auth_secret_given || !c->auth_audience))
    hd_log_warn("auth.dev_mode", "secret",
                c->auth_secret_given ? "HELPDESK_AUTH_SECRET" : "the development secret",
                "audience", c->auth_audience ? c->auth_audience : "not checked", "then",
                "never run like this outside a development machine");
  const bool hs256 = c->auth_hs256 && c->auth_secret && c->auth_secret[0];
  out->cfg = (hd_auth_config){.secret = hs256 ? c->auth_secret : NULL,
                              .secret_len = hs256 ? strlen(c->auth_secret) : 0,
                              .issuer = c->auth_issuer,
                              .leeway_s = 30,
                              .audience = c->auth_audience,
                              .max_lifetime_s = c->auth_max_lifetime_us / HD_US_PER_S,
                              .tenant_claim = c->auth_tenant_claim,
                              .roles_claim = c->auth_roles_claim,
                              .hs256_off = !c->auth_hs256};
  if (c->auth_jwks && hd_jwks_open(c->auth_jwks, c->auth_jwks_recheck_us / HD_US_PER_S, now_s,
                                   &out->jwks, err) != 0)
    goto fail;
  if (c->auth_signing_key) {
    if (!c->auth_signing_kid) {
      hd_err_set(err, HD_INVALID_ARGUMENT,
                 "HELPDESK_AUTH_SIGNING_KEY needs HELPDESK_AUTH_SIGNING_KID, the kid of its "
                 "public key in the JWKS");
      goto fail;
    }
    if (hd_auth_key_load(c->auth_signing_key, c->auth_signing_kid, &out->signing_key, err) != 0)
      goto fail;
  }
  out->cfg.jwks = out->jwks;
  out->cfg.signing_key = out->signing_key;
  return 0;
fail:
  hd_auth_runtime_close(out);
  return -1;
}

void hd_auth_runtime_close(hd_auth_runtime *rt) {
  if (!rt) return;
  hd_jwks_free(rt->jwks);
  hd_auth_key_free(rt->signing_key);
  memset(rt, 0, sizeof *rt);
}
