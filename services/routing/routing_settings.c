/* The tenant's routing settings and the escalation templates (routing_settings.h). */
#include "routing_settings.h"

#include <inttypes.h>
#include <string.h>

#include "routing_call.h"

int routing_settings_get(hd_db *db, const char *tenant, hd_arena *arena,
                         Helpdesk__V1__RoutingSettings **out, hd_err *err) {
  Helpdesk__V1__RoutingSettings *s = hd_arena_alloc(arena, sizeof *s);
  if (!s) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading settings");
  *s = (Helpdesk__V1__RoutingSettings)HELPDESK__V1__ROUTING_SETTINGS__INIT;
  const hd_db_param p[] = {hd_db_text(tenant)};
  hd_db_rows *rows = NULL;
  if (hd_db_query(db,
                  "SELECT escalation_assigned_template, escalation_resolved_template, version "
                  "FROM routing_settings WHERE tenant = ?",
                  p, 1, 1, &rows, err))
    return -1;
  const bool set = hd_db_rows_count(rows) == 1;
  s->tenant = hd_arena_strdup(arena, tenant);
  s->escalation_assigned_template =
      hd_arena_strdup(arena, set ? hd_db_str(rows, 0, 0, NULL) : ROUTING_DEFAULT_ASSIGNED_TEMPLATE);
  s->escalation_resolved_template =
      hd_arena_strdup(arena, set ? hd_db_str(rows, 0, 1, NULL) : ROUTING_DEFAULT_RESOLVED_TEMPLATE);
  s->version = set ? hd_db_i64(rows, 0, 2) : 0;
  hd_db_rows_free(rows);
  if (!s->tenant || !s->escalation_assigned_template || !s->escalation_resolved_template)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading settings");
  *out = s;
  return 0;
}

/* Appends s[0..n) to the growing text at *buf (len, cap), in arena. */
static int settings__append(hd_arena *a, char **buf, size_t *len, size_t *cap, const char *s,
                            size_t n) {
  if (*len + n + 1 > *cap) {
    size_t ncap = (*cap ? *cap : 256);
    while (*len + n + 1 > ncap) ncap *= 2;
    char *nb = hd_arena_alloc(a, ncap);
    if (!nb) return -1;
    if (*len) memcpy(nb, *buf, *len);
    *buf = nb;
    *cap = ncap;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
  return 0;
}

int routing_template_render(const char *tmpl, const char *department, int64_t ticket_id,
                            const char *resolution, hd_arena *arena, char **out, hd_err *err) {
  char id[24];
  snprintf(id, sizeof id, "%" PRId64, ticket_id);
  const struct {
    const char *name, *value;
  } vars[] = {{"{department}", department}, {"{ticket_id}", id}, {"{resolution}", resolution}};
  char *buf = NULL;
  size_t len = 0, cap = 0;
  const char *p = tmpl;
  while (*p) {
    bool replaced = false;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0] && !replaced; i++) {
      const size_t n = strlen(vars[i].name);
      if (vars[i].value && strncmp(p, vars[i].name, n) == 0) {
        if (settings__append(arena, &buf, &len, &cap, vars[i].value, strlen(vars[i].value)))
          goto oom;
        p += n;
        replaced = true;
      }
    }
    if (!replaced) {
      if (settings__append(arena, &buf, &len, &cap, p, 1)) goto oom;
      p++;
    }
  }
  if (!buf && settings__append(arena, &buf, &len, &cap, "", 0)) goto oom;
  *out = buf;
  return 0;
oom:
  return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory writing the customer's comment");
}

/* ---- GetRoutingSettings ---- */

typedef struct settings_ctx {
  hd_call *call;
  const Helpdesk__V1__UpdateRoutingSettingsRequest *req;
  Helpdesk__V1__RoutingSettings *out;
} settings_ctx;

static int settings__get_tx(hd_db *db, void *arg, hd_err *err) {
  settings_ctx *x = arg;
  return routing_settings_get(db, rt_tenant(x->call), x->call->arena, &x->out, err);
}

/* The caller's tenant's settings, defaults when never set. Any staff role. */
int routing_get_routing_settings(hd_call *call, const ProtobufCMessage *req,
                                 ProtobufCMessage *resp) {
  (void)req;
  settings_ctx x = {.call = call};
  if (hd_call_tx(call, settings__get_tx, &x)) return -1;
  *(Helpdesk__V1__RoutingSettings *)resp = *x.out;
  return 0;
}

/* ---- UpdateRoutingSettings ---- */

static json_t *settings__json(const Helpdesk__V1__RoutingSettings *s) {
  return json_pack("{s:s, s:s, s:I}", "escalation_assigned_template",
                   s->escalation_assigned_template, "escalation_resolved_template",
                   s->escalation_resolved_template, "version", (json_int_t)s->version);
}

static int settings__update_tx(hd_db *db, void *arg, hd_err *err) {
  settings_ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = rt_tenant(c);
  const Helpdesk__V1__RoutingSettings *want = x->req->settings;
  /* Lock the row (or the gap where it goes) so two updates cannot both pass the version check. */
  const hd_db_param lp[] = {hd_db_text(tenant)};
  hd_db_rows *lock = NULL;
  if (hd_db_query(db, "SELECT version FROM routing_settings WHERE tenant = ? FOR UPDATE", lp, 1, 1,
                  &lock, err))
    return -1;
  hd_db_rows_free(lock);
  Helpdesk__V1__RoutingSettings *before = NULL;
  if (routing_settings_get(db, tenant, c->arena, &before, err)) return -1;
  if (hd_call_check_current("routing settings of tenant", 0, before->version,
                            x->req->expected_version, err))
    return -1;
  const int64_t now = rt_now(c);
  const int64_t version = before->version + 1;
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_text(want->escalation_assigned_template),
                           hd_db_text(want->escalation_resolved_template),
                           hd_db_int(version),
                           hd_db_text(c->principal->user_id),
                           hd_db_int(now)};
  if (hd_db_exec(db,
                 "REPLACE INTO routing_settings (tenant, escalation_assigned_template, "
                 "escalation_resolved_template, version, updated_by, updated_at_us) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, NULL, err))
    return -1;
  if (routing_settings_get(db, tenant, c->arena, &x->out, err)) return -1;
  json_t *from = before->version ? settings__json(before) : NULL;
  json_t *to = settings__json(x->out);
  const int rc =
      to ? rt_audit(db, c, "UPDATE_ROUTING_SETTINGS", "routing_settings", tenant, from, to, err)
         : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  json_decref(from);
  json_decref(to);
  return rc;
}

/* Replaces the tenant's escalation templates (1..2,000 characters each); tenant_admin or
 * supervisor (the method table). */
int routing_update_routing_settings(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp) {
  const Helpdesk__V1__UpdateRoutingSettingsRequest *rq =
      (const Helpdesk__V1__UpdateRoutingSettingsRequest *)req;
  if (!rq->settings) return hd_err_set(&call->err, HD_INVALID_ARGUMENT, "settings is required");
  if (hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_text(call, "settings.escalation_assigned_template",
                         rq->settings->escalation_assigned_template, 1, ROUTING_TEMPLATE_MAX) ||
      hd_call_check_text(call, "settings.escalation_resolved_template",
                         rq->settings->escalation_resolved_template, 1, ROUTING_TEMPLATE_MAX))
    return -1;
  settings_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, settings__update_tx, &x)) return -1;
  *(Helpdesk__V1__RoutingSettings *)resp = *x.out;
  return 0;
}
