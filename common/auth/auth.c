/* The principal side of auth: the `authorization: Bearer` value, role checks and role names.
 * Token minting and verifying live in jwt.c. */
#include "auth/auth.h"

#include <stdio.h>
#include <string.h>

#include "auth/principal_cache.h"

static const struct {
  hd_role role;
  const char *name;
} auth__roles[] = {
    {HD_ROLE_CUSTOMER, "customer"},         {HD_ROLE_AGENT, "agent"},
    {HD_ROLE_TEAM_LEAD, "team_lead"},       {HD_ROLE_SUPERVISOR, "supervisor"},
    {HD_ROLE_TENANT_ADMIN, "tenant_admin"}, {HD_ROLE_SERVICE, "service"},
};

#define AUTH_N_ROLES (sizeof auth__roles / sizeof auth__roles[0])

static const char auth__how[] = "send 'authorization: Bearer <token>'";

const char *hd_role_name(hd_role r) {
  for (size_t i = 0; i < AUTH_N_ROLES; i++)
    if (auth__roles[i].role == r) return auth__roles[i].name;
  return "unknown";
}

int hd_role_parse(const char *name, size_t len, hd_role *out) {
  if (!name) return -1;
  for (size_t i = 0; i < AUTH_N_ROLES; i++) {
    const char *n = auth__roles[i].name;
    if (strlen(n) == len && memcmp(n, name, len) == 0) {
      if (out) *out = auth__roles[i].role;
      return 0;
    }
  }
  return -1;
}

static bool auth__is_blank(char c) { return c == ' ' || c == '\t'; }

/* ASCII case-insensitive: does s[0..len) start with the lower-case word w? */
static bool auth__starts_with_word(const char *s, size_t len, const char *w) {
  size_t n = strlen(w);
  if (len < n) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != w[i]) return false;
  }
  return len == n || auth__is_blank(s[n]);
}

int hd_auth_bearer(const hd_auth_config *cfg, const char *value, size_t len, int64_t now_s,
                   hd_principal *out, hd_err *err) {
  if (!value || len == 0)
    return hd_err_set(err, HD_UNAUTHENTICATED, "authorization metadata missing: %s", auth__how);
  if (!auth__starts_with_word(value, len, "bearer"))
    return hd_err_set(err, HD_UNAUTHENTICATED, "authorization is not a Bearer token: %s",
                      auth__how);
  size_t start = 6, end = len;
  while (start < end && auth__is_blank(value[start])) start++;
  while (end > start && auth__is_blank(value[end - 1])) end--;
  if (start == end)
    return hd_err_set(err, HD_UNAUTHENTICATED, "authorization has no token after 'Bearer': %s",
                      auth__how);
  if (cfg->cache)
    return hd_principal_cache_verify(cfg->cache, cfg, value + start, end - start, now_s, out, err);
  return hd_auth_verify(cfg, value + start, end - start, now_s, out, err);
}

/* Names of the roles in bit set roles: "agent", "agent or supervisor",
 * "agent, team_lead or supervisor" (with last_sep between the last two); "no role" if none. */
static const char *auth__role_list(unsigned roles, const char *last_sep, char *out, size_t size) {
  size_t total = 0, done = 0, used = 0;
  for (size_t i = 0; i < AUTH_N_ROLES; i++)
    if (roles & (unsigned)auth__roles[i].role) total++;
  out[0] = '\0';
  if (total == 0) {
    snprintf(out, size, "no role");
    return out;
  }
  for (size_t i = 0; i < AUTH_N_ROLES && used < size; i++) {
    if (!(roles & (unsigned)auth__roles[i].role)) continue;
    const char *sep = done == 0 ? "" : done + 1 == total ? last_sep : ", ";
    int n = snprintf(out + used, size - used, "%s%s", sep, auth__roles[i].name);
    if (n < 0) break;
    used += (size_t)n;
    done++;
  }
  return out;
}

int hd_auth_require(const hd_principal *p, unsigned any_of, hd_err *err) {
  char need[128], has[128];
  if (!p)
    return hd_err_set(err, HD_UNAUTHENTICATED, "this call needs a bearer token: %s", auth__how);
  if (p->roles & any_of) return 0;
  return hd_err_set(err, HD_PERMISSION_DENIED,
                    "this call needs the role %s; user \"%.*s\" of tenant \"%.*s\" has %s",
                    auth__role_list(any_of, " or ", need, sizeof need),
                    (int)strnlen(p->user_id, sizeof p->user_id), p->user_id,
                    (int)strnlen(p->tenant, sizeof p->tenant), p->tenant,
                    auth__role_list(p->roles, " and ", has, sizeof has));
}

const char *hd_principal_role(const hd_principal *p) {
  static const hd_role order[] = {HD_ROLE_TENANT_ADMIN, HD_ROLE_SUPERVISOR, HD_ROLE_TEAM_LEAD,
                                  HD_ROLE_AGENT,        HD_ROLE_SERVICE,    HD_ROLE_CUSTOMER};
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    if (p->roles & order[i]) return hd_role_name(order[i]);
  return "unknown";
}
