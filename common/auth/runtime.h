/* A service's token settings, checked once at start: what it verifies with (the HS256 secret,
 * a JWKS), what it requires (iss, aud, a maximum lifetime, the claim names), what it signs its
 * own tokens with, and the rule that outside development mode no service runs on the built-in
 * development secret, or with none at all. */
#ifndef HD_AUTH_RUNTIME_H
#define HD_AUTH_RUNTIME_H

#include <stdint.h>

#include "auth/auth.h"
#include "config/config.h"

/* The secret services fall back to when HELPDESK_AUTH_SECRET is unset: development mode only. */
#define HD_AUTH_DEV_SECRET "helpdesk-local-development-secret"
#define HD_AUTH_SECRET_MIN 32 /* bytes of a secret accepted outside development mode */

typedef struct hd_auth_runtime {
  hd_auth_config cfg;       /* strings borrowed from the configuration; jwks and key below */
  hd_jwks *jwks;            /* owned; NULL without HELPDESK_AUTH_JWKS */
  hd_auth_key *signing_key; /* owned; NULL without HELPDESK_AUTH_SIGNING_KEY */
} hd_auth_runtime;

/* Builds *out from c (hd_common_config_load's auth region) at now_s: opens the JWKS and the
 * signing key when configured. Outside development mode (HELPDESK_DEV_MODE unset or 0)
 * FAILED_PRECONDITION, naming the setting to change, when:
 *  - HS256 is on (HELPDESK_AUTH_HS256, default 1) and HELPDESK_AUTH_SECRET is unset, is the
 *    development secret, holds "change-me", or is shorter than HD_AUTH_SECRET_MIN bytes;
 *  - HELPDESK_AUTH_AUDIENCE is unset.
 * In development mode those are allowed, and a warning (auth.dev_mode) says so. In either mode
 * FAILED_PRECONDITION when HS256 is off and there is no JWKS (nothing could verify a token), and
 * INVALID_ARGUMENT for a JWKS or key that does not read, or a signing key without its kid.
 * Caller frees with hd_auth_runtime_close(). */
int hd_auth_runtime_open(const hd_common_config *c, int64_t now_s, hd_auth_runtime *out,
                         hd_err *err);

/* Frees the JWKS and the key; out is zeroed. NULL or a zeroed runtime is a no-op. */
void hd_auth_runtime_close(hd_auth_runtime *rt);

#endif
