/* The service-action policy's rules (see service_action_policy.h). */
#include "service_action_policy.h"

#include <stdlib.h>
#include <string.h>

#include "account_audit.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "rpc/pb_enum.h"

#define RULE_COLS                                                                              \
  "rule_id, hosting_type, action, modifier, verdict, department, consent_scope, sop_section, " \
  "reason, tenant <> '', updated_by, updated_at_us"

const char *sap_action_name(Helpdesk__V1__ServiceAction a) {
  return account_enum_name(&helpdesk__v1__service_action__descriptor, (int)a);
}

const char *sap_modifier_name(Helpdesk__V1__ServiceActionModifier m) {
  return account_enum_name(&helpdesk__v1__service_action_modifier__descriptor, (int)m);
}

const char *sap_verdict_name(Helpdesk__V1__ServiceActionVerdict v) {
  return account_enum_name(&helpdesk__v1__service_action_verdict__descriptor, (int)v);
}

/* The enum value named by cell (r, c); 0 when none ('' is UNSPECIFIED). */
static int rule__enum(const ProtobufCEnumDescriptor *d, const hd_db_rows *rows, size_t r,
                      size_t c) {
  size_t len = 0;
  const char *s = hd_db_str(rows, r, c, &len);
  int v = 0;
  return len && hd_pb_enum_parse(d, s, len, &v) == 0 ? v : 0;
}

/* Row r of a RULE_COLS query as a rule in arena; NULL when the arena is full. */
static Helpdesk__V1__ServiceActionRule *rule__row(const hd_db_rows *rows, size_t r,
                                                  hd_arena *arena) {
  Helpdesk__V1__ServiceActionRule *x =
      hd_arena_new_message(arena, &helpdesk__v1__service_action_rule__descriptor);
  if (!x) return NULL;
  x->rule_id = hd_arena_strdup(arena, hd_db_str(rows, r, 0, NULL));
  x->hosting_type = rule__enum(&helpdesk__v1__hosting_type__descriptor, rows, r, 1);
  x->action = rule__enum(&helpdesk__v1__service_action__descriptor, rows, r, 2);
  x->modifier = rule__enum(&helpdesk__v1__service_action_modifier__descriptor, rows, r, 3);
  x->verdict = rule__enum(&helpdesk__v1__service_action_verdict__descriptor, rows, r, 4);
  x->department = hd_arena_strdup(arena, hd_db_str(rows, r, 5, NULL));
  x->consent_scope = rule__enum(&helpdesk__v1__consent_scope__descriptor, rows, r, 6);
  x->sop_section = hd_arena_strdup(arena, hd_db_str(rows, r, 7, NULL));
  x->reason = hd_arena_strdup(arena, hd_db_str(rows, r, 8, NULL));
  x->tenant_override = hd_db_i64(rows, r, 9) != 0;
  x->updated_by = hd_arena_strdup(arena, hd_db_str(rows, r, 10, NULL));
  x->update_time_us = hd_db_i64(rows, r, 11);
  return x->rule_id && x->department && x->sop_section && x->reason && x->updated_by ? x : NULL;
}

/* The rule when the table has none: what the SOP does not allow is not done. */
static Helpdesk__V1__ServiceActionRule *rule__default(Helpdesk__V1__HostingType hosting_type,
                                                      Helpdesk__V1__ServiceAction action,
                                                      hd_arena *arena) {
  Helpdesk__V1__ServiceActionRule *x =
      hd_arena_new_message(arena, &helpdesk__v1__service_action_rule__descriptor);
  if (!x) return NULL;
  x->rule_id = SAP_DEFAULT_RULE_ID;
  x->hosting_type = hosting_type;
  x->action = action;
  x->verdict = HELPDESK__V1__SERVICE_ACTION_VERDICT__SERVICE_ACTION_VERDICT_FORBIDDEN;
  x->department = "";
  x->sop_section = "4.2";
  x->reason =
      "The policy has no rule for this action on this hosting type: support does only "
      "what the SOP allows on each service; ask a supervisor to add the rule.";
  x->updated_by = "seed";
  return x;
}

int sap_rule_find(hd_db *db, const char *tenant, Helpdesk__V1__HostingType hosting_type,
                  Helpdesk__V1__ServiceAction action, Helpdesk__V1__ServiceActionModifier modifier,
                  hd_arena *arena, Helpdesk__V1__ServiceActionRule **out, hd_err *err) {
  const hd_db_param p[] = {
      hd_db_text(tenant),
      hd_db_text(account_enum_name(&helpdesk__v1__hosting_type__descriptor, (int)hosting_type)),
      hd_db_text(sap_action_name(action)), hd_db_text(sap_modifier_name(modifier))};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  /* The modifier's own rule first, then the tenant's own row over the seed. */
  if (hd_db_query(db,
                  "SELECT " RULE_COLS " FROM service_action_rules WHERE tenant IN ('', ?) AND "
                  "hosting_type = ? AND action = ? AND modifier IN ('', ?) "
                  "ORDER BY modifier = '', tenant = '' LIMIT 1",
                  p, 4, 1, &rows, err))
    goto done;
  *out = hd_db_rows_count(rows) ? rule__row(rows, 0, arena)
                                : rule__default(hosting_type, action, arena);
  rc = *out ? 0 : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
done:
  hd_db_rows_free(rows);
  return rc;
}

static int rule__cmp(const void *a, const void *b) {
  const Helpdesk__V1__ServiceActionRule *x = *(Helpdesk__V1__ServiceActionRule *const *)a;
  const Helpdesk__V1__ServiceActionRule *y = *(Helpdesk__V1__ServiceActionRule *const *)b;
  if (x->hosting_type != y->hosting_type) return x->hosting_type < y->hosting_type ? -1 : 1;
  if (x->action != y->action) return x->action < y->action ? -1 : 1;
  return x->modifier < y->modifier ? -1 : x->modifier > y->modifier;
}

int sap_rules_list(hd_db *db, const char *tenant, Helpdesk__V1__HostingType hosting_type,
                   hd_arena *arena, Helpdesk__V1__ServiceActionRule ***out, size_t *n,
                   hd_err *err) {
  const char *type = account_enum_name(&helpdesk__v1__hosting_type__descriptor, (int)hosting_type);
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(tenant), hd_db_text(type),
                           hd_db_text(type)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  *n = 0;
  if (hd_db_query(db,
                  "SELECT " RULE_COLS " FROM service_action_rules r WHERE (r.tenant = ? OR "
                  "(r.tenant = '' AND NOT EXISTS (SELECT 1 FROM service_action_rules o WHERE "
                  "o.tenant = ? AND o.hosting_type = r.hosting_type AND o.action = r.action AND "
                  "o.modifier = r.modifier))) AND (? = '' OR r.hosting_type = ?)",
                  p, 4, SAP_RULES_MAX, &rows, err))
    goto done;
  const size_t count = hd_db_rows_count(rows);
  Helpdesk__V1__ServiceActionRule **v =
      count ? HD_ARENA_ARRAY(arena, Helpdesk__V1__ServiceActionRule *, count) : NULL;
  if (count && !v) goto full;
  for (size_t i = 0; i < count; i++)
    if (!(v[i] = rule__row(rows, i, arena))) goto full;
  if (count) qsort(v, count, sizeof v[0], rule__cmp);
  *out = v;
  *n = count;
  rc = 0;
  goto done;
full:
  rc = hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
done:
  hd_db_rows_free(rows);
  return rc;
}

/* The audit's JSON of a rule; a new reference, NULL when out of memory. */
static json_t *rule__json(const Helpdesk__V1__ServiceActionRule *r) {
  json_error_t je;
  return json_pack_ex(
      &je, 0, "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "rule_id", r->rule_id,
      "hosting_type",
      account_enum_name(&helpdesk__v1__hosting_type__descriptor, (int)r->hosting_type), "action",
      sap_action_name(r->action), "modifier", sap_modifier_name(r->modifier), "verdict",
      sap_verdict_name(r->verdict), "department", r->department ? r->department : "",
      "consent_scope",
      account_enum_name(&helpdesk__v1__consent_scope__descriptor, (int)r->consent_scope),
      "sop_section", r->sop_section, "reason", r->reason);
}

int sap_rule_upsert(hd_db *db, const char *tenant, const account_actor *actor,
                    Helpdesk__V1__ServiceActionRule *r, int64_t now_us, hd_arena *arena,
                    hd_err *err) {
  Helpdesk__V1__ServiceActionRule *before = NULL;
  if (sap_rule_find(db, tenant, r->hosting_type, r->action, r->modifier, arena, &before, err))
    return -1;
  /* The rule that applied until now, when it was this very key's (else it did not exist). */
  const bool same_key =
      before->modifier == r->modifier && strcmp(before->rule_id, SAP_DEFAULT_RULE_ID) != 0;
  const hd_db_param p[] = {
      hd_db_text(tenant),
      hd_db_text(account_enum_name(&helpdesk__v1__hosting_type__descriptor, (int)r->hosting_type)),
      hd_db_text(sap_action_name(r->action)),
      hd_db_text(sap_modifier_name(r->modifier)),
      hd_db_text(r->rule_id),
      hd_db_text(sap_verdict_name(r->verdict)),
      hd_db_text(r->department ? r->department : ""),
      hd_db_text(
          account_enum_name(&helpdesk__v1__consent_scope__descriptor, (int)r->consent_scope)),
      hd_db_text(r->sop_section),
      hd_db_text(r->reason),
      hd_db_text(actor->user_id),
      hd_db_int(now_us)};
  if (hd_db_exec(db,
                 "INSERT INTO service_action_rules (tenant, hosting_type, action, modifier, "
                 "rule_id, verdict, department, consent_scope, sop_section, reason, updated_by, "
                 "updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                 "ON DUPLICATE KEY UPDATE rule_id = VALUES(rule_id), verdict = VALUES(verdict), "
                 "department = VALUES(department), consent_scope = VALUES(consent_scope), "
                 "sop_section = VALUES(sop_section), reason = VALUES(reason), "
                 "updated_by = VALUES(updated_by), updated_at_us = VALUES(updated_at_us)",
                 p, sizeof p / sizeof p[0], NULL, NULL, err))
    return -1;
  r->tenant_override = true;
  r->updated_by = (char *)actor->user_id;
  r->update_time_us = now_us;
  return account_audit_take(db, tenant, actor, "", "UPSERT_SERVICE_ACTION_RULE",
                            "service_action_rule", r->rule_id, same_key ? rule__json(before) : NULL,
                            same_key, rule__json(r), true, now_us, err);
}

char *sap_rule_message(hd_arena *arena, const Helpdesk__V1__ServiceActionRule *r) {
  const char *then = "";
  char *extra = NULL;
  switch (r->verdict) {
    case HELPDESK__V1__SERVICE_ACTION_VERDICT__SERVICE_ACTION_VERDICT_NEEDS_CUSTOMER_CONSENT:
      extra = hd_arena_printf(
          arena, " Record the customer's %s consent on the ticket (RecordConsent) first.",
          account_enum_name(&helpdesk__v1__consent_scope__descriptor, (int)r->consent_scope));
      then = extra ? extra : "";
      break;
    case HELPDESK__V1__SERVICE_ACTION_VERDICT__SERVICE_ACTION_VERDICT_ESCALATE:
      extra = hd_arena_printf(arena, " Escalate the ticket to %s.", r->department);
      then = extra ? extra : "";
      break;
    default:
      break;
  }
  return hd_arena_printf(arena, "%s (rule %s, SOP %s): %s%s", sap_verdict_name(r->verdict),
                         r->rule_id, r->sop_section, r->reason, then);
}
