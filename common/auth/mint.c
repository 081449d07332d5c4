/* Minting tokens: from a role list (hd-token, tests) and a service's own identity toward the
 * other services, cached per tenant until shortly before it expires. Signing is in jwt.c. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/key.h"

#define MINT_ISSUER_MAX 256 /* as jwt.c mints with */
#define MINT_CLAIM_MAX  128 /* bytes of an audience or a claim name */

typedef struct mint_entry {
  char tenant[HD_TENANT_MAX + 1];
  char *token; /* owned */
  int64_t expires_s;
} mint_entry;

struct hd_auth_identity {
  pthread_mutex_t mu;
  char *secret; /* owned copy of the key */
  size_t secret_len;
  char issuer[MINT_ISSUER_MAX + 1];
  char audience[MINT_CLAIM_MAX + 1];                                      /* "" when none */
  char tenant_claim[MINT_CLAIM_MAX + 1], roles_claim[MINT_CLAIM_MAX + 1]; /* "" → defaults */
  const hd_auth_key *key; /* borrowed: signs instead of the secret when set */
  char service[HD_USER_ID_MAX + 1];
  int64_t ttl_s, renew_before_s;
  mint_entry *entries; /* HD_AUTH_IDENTITY_TENANTS, n used */
  size_t n;
  _Atomic unsigned long minted;
};

int hd_auth_roles_parse(const char *list, unsigned *out, hd_err *err) {
  if (!list || !*list)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "no role given (known: customer, agent, team_lead, supervisor, "
                      "tenant_admin, service)");
  unsigned roles = 0;
  const char *p = list;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    hd_role r;
    if (hd_role_parse(p, n, &r) != 0)
      return hd_err_set(err, HD_INVALID_ARGUMENT,
                        "unknown role \"%.*s\" (known: customer, agent, team_lead, supervisor, "
                        "tenant_admin, service)",
                        (int)(n > 64 ? 64 : n), p);
    roles |= (unsigned)r;
    if (!comma) break;
    p = comma + 1;
  }
  *out = roles;
  return 0;
}

int hd_auth_mint(const hd_auth_config *cfg, const char *tenant, const char *user_id, unsigned roles,
                 int64_t now_s, int64_t ttl_s, char **out_token, hd_err *err) {
  if (!tenant || !user_id)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "a token needs a tenant and a user id");
  if (strlen(tenant) > HD_TENANT_MAX || strlen(user_id) > HD_USER_ID_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "tenant is limited to %d characters and user id to %d", HD_TENANT_MAX,
                      HD_USER_ID_MAX);
  hd_principal p = {.roles = roles};
  memcpy(p.tenant, tenant, strlen(tenant) + 1);
  memcpy(p.user_id, user_id, strlen(user_id) + 1);
  return hd_auth_sign(cfg, &p, now_s, ttl_s, out_token, err);
}

int hd_auth_identity_new(const hd_auth_identity_config *cfg, hd_auth_identity **out, hd_err *err) {
  int rc = -1;
  hd_auth_identity *id = NULL;
  const hd_auth_config *a = cfg ? cfg->auth : NULL;
  if (!a || ((!a->secret || a->secret_len == 0) && !a->signing_key) || !a->issuer ||
      !a->issuer[0]) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "a service identity needs the issuer and the HS256 secret (HELPDESK_AUTH_SECRET) "
               "or a signing key (HELPDESK_AUTH_SIGNING_KEY)");
    goto done;
  }
  if ((a->audience && strlen(a->audience) > MINT_CLAIM_MAX) ||
      (a->tenant_claim && strlen(a->tenant_claim) > MINT_CLAIM_MAX) ||
      (a->roles_claim && strlen(a->roles_claim) > MINT_CLAIM_MAX)) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "the audience and claim names are limited to %d bytes",
               MINT_CLAIM_MAX);
    goto done;
  }
  if (strlen(a->issuer) > MINT_ISSUER_MAX) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "the issuer is longer than %d bytes", MINT_ISSUER_MAX);
    goto done;
  }
  if (!cfg->service || !cfg->service[0] || strlen(cfg->service) > HD_USER_ID_MAX) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "a service identity needs a name of 1-%d characters",
               HD_USER_ID_MAX);
    goto done;
  }
  int64_t ttl = cfg->ttl_s > 0 ? cfg->ttl_s : HD_AUTH_IDENTITY_TTL_S;
  int64_t renew = cfg->renew_before_s > 0 ? cfg->renew_before_s : HD_AUTH_IDENTITY_RENEW_S;
  if (renew >= ttl) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "a service token is renewed %lld s before it expires, which must be less than "
               "its lifetime of %lld s",
               (long long)renew, (long long)ttl);
    goto done;
  }
  id = calloc(1, sizeof *id);
  if (!id || !(id->secret = malloc(a->secret_len ? a->secret_len : 1)) ||
      !(id->entries = calloc(HD_AUTH_IDENTITY_TENANTS, sizeof *id->entries))) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating a service identity");
    goto done;
  }
  if (pthread_mutex_init(&id->mu, NULL) != 0) {
    hd_err_set(err, HD_INTERNAL, "cannot create the service identity's mutex");
    goto done;
  }
  if (a->secret_len) memcpy(id->secret, a->secret, a->secret_len);
  id->secret_len = a->secret_len;
  snprintf(id->issuer, sizeof id->issuer, "%s", a->issuer);
  snprintf(id->service, sizeof id->service, "%s", cfg->service);
  snprintf(id->audience, sizeof id->audience, "%s", a->audience ? a->audience : "");
  snprintf(id->tenant_claim, sizeof id->tenant_claim, "%s", a->tenant_claim ? a->tenant_claim : "");
  snprintf(id->roles_claim, sizeof id->roles_claim, "%s", a->roles_claim ? a->roles_claim : "");
  id->key = a->signing_key;
  id->ttl_s = ttl;
  id->renew_before_s = renew;
  *out = id;
  id = NULL;
  rc = 0;
done:
  if (id) {
    free(id->entries);
    free(id->secret);
    free(id);
  }
  return rc;
}

void hd_auth_identity_free(hd_auth_identity *id) {
  if (!id) return;
  for (size_t i = 0; i < id->n; i++) free(id->entries[i].token);
  free(id->entries);
  free(id->secret);
  pthread_mutex_destroy(&id->mu);
  free(id);
}

/* The entry kept for tenant, or a free one (the oldest evicted when all are used). Called with
 * id->mu held. */
static mint_entry *mint__entry(hd_auth_identity *id, const char *tenant) {
  for (size_t i = 0; i < id->n; i++)
    if (strcmp(id->entries[i].tenant, tenant) == 0) return &id->entries[i];
  if (id->n < HD_AUTH_IDENTITY_TENANTS) {
    mint_entry *e = &id->entries[id->n++];
    snprintf(e->tenant, sizeof e->tenant, "%s", tenant);
    return e;
  }
  mint_entry *oldest = &id->entries[0];
  for (size_t i = 1; i < id->n; i++)
    if (id->entries[i].expires_s < oldest->expires_s) oldest = &id->entries[i];
  free(oldest->token);
  oldest->token = NULL;
  snprintf(oldest->tenant, sizeof oldest->tenant, "%s", tenant);
  return oldest;
}

int hd_auth_identity_token(hd_auth_identity *id, const char *tenant, int64_t now_s, char *buf,
                           size_t size, hd_err *err) {
  int rc = -1;
  char *minted = NULL;
  if (!tenant || !tenant[0] || strlen(tenant) > HD_TENANT_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "%s acts for a tenant of 1-%d characters, not \"%.64s\"", id->service,
                      HD_TENANT_MAX, tenant ? tenant : "");
  const hd_auth_config cfg = {.secret = id->secret,
                              .secret_len = id->secret_len,
                              .issuer = id->issuer,
                              .audience = id->audience,
                              .tenant_claim = id->tenant_claim,
                              .roles_claim = id->roles_claim};
  pthread_mutex_lock(&id->mu);
  mint_entry *e = mint__entry(id, tenant);
  if (!e->token || e->expires_s - now_s <= id->renew_before_s) {
    hd_principal p = {.roles = HD_ROLE_SERVICE};
    snprintf(p.tenant, sizeof p.tenant, "%s", tenant);
    snprintf(p.user_id, sizeof p.user_id, "%s", id->service);
    if ((id->key ? hd_auth_sign_with_key(&cfg, id->key, &p, now_s, id->ttl_s, &minted, err)
                 : hd_auth_sign(&cfg, &p, now_s, id->ttl_s, &minted, err)) != 0)
      goto done;
    free(e->token);
    e->token = minted;
    minted = NULL;
    e->expires_s = now_s + id->ttl_s;
    atomic_fetch_add(&id->minted, 1);
  }
  size_t len = strlen(e->token);
  if (len + 1 > size) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "a service token of %zu bytes does not fit %zu", len,
               size);
    goto done;
  }
  memcpy(buf, e->token, len + 1);
  rc = 0;
done:
  if (rc != 0 && !e->token) {
    /* a failed first mint leaves no half entry behind: move the last entry into its place */
    *e = id->entries[--id->n];
    memset(&id->entries[id->n], 0, sizeof id->entries[id->n]);
  }
  pthread_mutex_unlock(&id->mu);
  free(minted);
  return rc;
}

unsigned long hd_auth_identity_minted(const hd_auth_identity *id) {
  return atomic_load(&id->minted);
}
