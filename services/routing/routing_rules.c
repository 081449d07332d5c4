/* Routing rules (routing_rules.h) and their RPCs: ListRoutingRules, UpsertRoutingRule. */
#include "routing_rules.h"

#include <stdio.h>
#include <string.h>

#include "departments.h"
#include "routing_call.h"
#include "routing_handlers.h"
#include "rpc/pb_enum.h"

#define RULE_COLS                                                                          \
  "r.tenant, r.name, r.priority, r.enabled, r.issue_types, r.service_types, r.all_facts, " \
  "r.any_facts, r.none_facts, r.action, r.department, r.urgent, r.flag_departments, "      \
  "r.customer_request, r.estimate_required, r.reason, r.version, r.updated_by, r.updated_at_us"

/* The rules a tenant sees (its own, and the built-in ones it has not replaced), in the order
 * they are tried; the second ? is 1 to leave disabled ones out. */
static const char SQL_LIST[] =
    "SELECT " RULE_COLS
    " FROM routing_rules r WHERE (r.tenant = ? OR (r.tenant = '' AND NOT "
    "EXISTS (SELECT 1 FROM routing_rules o WHERE o.tenant = ? AND o.name = r.name))) AND "
    "(r.enabled = 1 OR ? = 0) ORDER BY r.priority DESC, r.name";
static const char SQL_GET[] = "SELECT " RULE_COLS
                              " FROM routing_rules r WHERE r.tenant IN (?, '') "
                              "AND r.name = ? ORDER BY r.tenant = '' LIMIT 1";
static const char SQL_LOCK_OWN[] =
    "SELECT version FROM routing_rules WHERE tenant = ? AND name = ? FOR UPDATE";
static const char SQL_COUNT_OWN[] = "SELECT COUNT(*) FROM routing_rules WHERE tenant = ?";
static const char SQL_INSERT[] =
    "INSERT INTO routing_rules (tenant, name, priority, enabled, issue_types, service_types, "
    "all_facts, any_facts, none_facts, action, department, urgent, flag_departments, "
    "customer_request, estimate_required, reason, version, updated_by, created_at_us, "
    "updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_UPDATE[] =
    "UPDATE routing_rules SET priority = ?, enabled = ?, issue_types = ?, service_types = ?, "
    "all_facts = ?, any_facts = ?, none_facts = ?, action = ?, department = ?, urgent = ?, "
    "flag_departments = ?, customer_request = ?, estimate_required = ?, reason = ?, "
    "version = version + 1, updated_by = ?, updated_at_us = ? WHERE tenant = ? AND name = ?";

/* ---- lists as the table keeps them: comma-separated short names ---- */

/* Splits "A,B" into *n parts in arena. *out NULL for "". -1 when out of memory. */
static int rules__split(const char *s, hd_arena *arena, char ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!s || !*s) return 0;
  size_t parts = 1;
  for (const char *q = s; *q; q++) parts += *q == ',';
  char **v = hd_arena_alloc(arena, parts * sizeof *v);
  if (!v) return -1;
  const char *start = s;
  for (size_t i = 0; i < parts; i++) {
    const char *end = strchr(start, ',');
    const size_t len = end ? (size_t)(end - start) : strlen(start);
    if (!(v[i] = hd_arena_strndup(arena, start, len))) return -1;
    start = end ? end + 1 : start + len;
  }
  *out = v;
  *n = parts;
  return 0;
}

/* Parses a list of short names of d into enum values in arena. A name d does not know (a value
 * removed from the contract) is INTERNAL naming the column. */
static int rules__enums(const char *s, const ProtobufCEnumDescriptor *d, const char *column,
                        hd_arena *arena, int **out, size_t *n, hd_err *err) {
  char **names = NULL;
  if (rules__split(s, arena, &names, n))
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  *out = *n ? hd_arena_alloc(arena, *n * sizeof **out) : NULL;
  if (*n && !*out) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < *n; i++)
    if (hd_pb_enum_parse(d, names[i], strlen(names[i]), &(*out)[i]))
      return hd_err_set(err, HD_INTERNAL, "routing_rules.%s holds an unknown value '%s'", column,
                        names[i]);
  return 0;
}

/* Joins enum values as their short names with ',' in arena ("" for none). NULL when out of
 * memory or a value d does not know (the caller checked them). */
static char *rules__join_enums(const int *v, size_t n, const ProtobufCEnumDescriptor *d,
                               hd_arena *arena) {
  char buf[ROUTING_RULE_LIST_MAX * 40];
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    const char *name = hd_pb_enum_name(d, v[i]);
    if (!name) return NULL;
    const int w = snprintf(buf + len, sizeof buf - len, "%s%s", i ? "," : "", name);
    if (w < 0 || (size_t)w >= sizeof buf - len) return NULL;
    len += (size_t)w;
  }
  return hd_arena_strdup(arena, buf);
}

/* Joins strings with ',' in arena. NULL when out of memory or too long. */
static char *rules__join_strs(char *const *v, size_t n, hd_arena *arena) {
  char buf[ROUTING_RULE_FLAGS_MAX * 66];
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    const int w = snprintf(buf + len, sizeof buf - len, "%s%s", i ? "," : "", v[i]);
    if (w < 0 || (size_t)w >= sizeof buf - len) return NULL;
    len += (size_t)w;
  }
  return hd_arena_strdup(arena, buf);
}

/* One row of a RULE_COLS query as a message in arena. */
static int rules__from_row(const hd_db_rows *r, size_t i, hd_arena *arena,
                           Helpdesk__V1__RoutingRule **out, hd_err *err) {
  Helpdesk__V1__RoutingRule *m =
      hd_arena_new_message(arena, &helpdesk__v1__routing_rule__descriptor);
  if (!m) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  m->builtin = hd_db_str(r, i, 0, NULL)[0] == '\0';
  m->name = hd_arena_strdup(arena, hd_db_str(r, i, 1, NULL));
  m->priority = (int32_t)hd_db_i64(r, i, 2);
  m->enabled = hd_db_i64(r, i, 3) != 0;
  if (rules__enums(hd_db_str(r, i, 4, NULL), &helpdesk__v1__issue_type__descriptor, "issue_types",
                   arena, (int **)&m->issue_types, &m->n_issue_types, err) ||
      rules__enums(hd_db_str(r, i, 5, NULL), &helpdesk__v1__service_type__descriptor,
                   "service_types", arena, (int **)&m->service_types, &m->n_service_types, err) ||
      rules__enums(hd_db_str(r, i, 6, NULL), &helpdesk__v1__routing_fact__descriptor, "all_facts",
                   arena, (int **)&m->all_facts, &m->n_all_facts, err) ||
      rules__enums(hd_db_str(r, i, 7, NULL), &helpdesk__v1__routing_fact__descriptor, "any_facts",
                   arena, (int **)&m->any_facts, &m->n_any_facts, err) ||
      rules__enums(hd_db_str(r, i, 8, NULL), &helpdesk__v1__routing_fact__descriptor, "none_facts",
                   arena, (int **)&m->none_facts, &m->n_none_facts, err))
    return -1;
  const char *action = hd_db_str(r, i, 9, NULL);
  int av = 0;
  if (hd_pb_enum_parse(&helpdesk__v1__routing_action__descriptor, action, strlen(action), &av))
    return hd_err_set(err, HD_INTERNAL, "routing_rules.action holds an unknown value '%s'", action);
  m->action = (Helpdesk__V1__RoutingAction)av;
  m->department = hd_arena_strdup(arena, hd_db_str(r, i, 10, NULL));
  m->urgent = hd_db_i64(r, i, 11) != 0;
  if (rules__split(hd_db_str(r, i, 12, NULL), arena, &m->flag_departments, &m->n_flag_departments))
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  m->customer_request = hd_arena_strdup(arena, hd_db_str(r, i, 13, NULL));
  m->estimate_required = hd_db_i64(r, i, 14) != 0;
  m->reason = hd_arena_strdup(arena, hd_db_str(r, i, 15, NULL));
  m->version = hd_db_i64(r, i, 16);
  m->updated_by = hd_arena_strdup(arena, hd_db_str(r, i, 17, NULL));
  m->update_time_us = hd_db_i64(r, i, 18);
  if (!m->name || !m->department || !m->customer_request || !m->reason || !m->updated_by)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  *out = m;
  return 0;
}

int routing_rules_list(hd_db *db, const char *tenant, bool include_disabled, hd_arena *arena,
                       Helpdesk__V1__RoutingRule ***out, size_t *n, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(tenant),
                           hd_db_int(include_disabled ? 0 : 1)};
  if (hd_db_query(db, SQL_LIST, p, 3, ROUTING_RULES_MAX, &rows, err)) goto done;
  const size_t count = hd_db_rows_count(rows);
  Helpdesk__V1__RoutingRule **list = count ? hd_arena_alloc(arena, count * sizeof *list) : NULL;
  if (count && !list) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  for (size_t i = 0; i < count; i++)
    if (rules__from_row(rows, i, arena, &list[i], err)) goto done;
  *out = list;
  *n = count;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* ---- matching ---- */

static bool rules__has_int(const int *v, size_t n, int x) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == x) return true;
  return false;
}

static uint64_t rules__bits(const Helpdesk__V1__RoutingFact *v, size_t n) {
  uint64_t bits = 0;
  for (size_t i = 0; i < n; i++) bits |= routing_fact_bit((int)v[i]);
  return bits;
}

/* Appends "<sep><label> A, B" for the facts of bits to why (bounded; cut short silently). */
static void rules__why_facts(char *why, size_t cap, size_t *len, const char *label, uint64_t bits) {
  if (!bits || *len >= cap) return;
  int w = snprintf(why + *len, cap - *len, "%s%s", *len ? "; " : "", label);
  if (w < 0) return;
  *len = *len + (size_t)w < cap ? *len + (size_t)w : cap - 1;
  bool first = true;
  for (int v = 1; v <= ROUTING_FACT_VALUE_MAX; v++) {
    if (!(bits & routing_fact_bit(v))) continue;
    const char *name = hd_pb_enum_name(&helpdesk__v1__routing_fact__descriptor, v);
    w = snprintf(why + *len, cap - *len, "%s%s", first ? " " : ", ", name ? name : "?");
    if (w < 0) return;
    *len = *len + (size_t)w < cap ? *len + (size_t)w : cap - 1;
    first = false;
  }
}

bool routing_rule_matches(const Helpdesk__V1__RoutingRule *r, const routing_input *in, char *why,
                          size_t cap) {
  if (r->n_issue_types &&
      !rules__has_int((const int *)r->issue_types, r->n_issue_types, (int)in->issue_type))
    return false;
  if (r->n_service_types &&
      !rules__has_int((const int *)r->service_types, r->n_service_types, (int)in->service_type))
    return false;
  const uint64_t all = rules__bits(r->all_facts, r->n_all_facts);
  const uint64_t any = rules__bits(r->any_facts, r->n_any_facts);
  const uint64_t none = rules__bits(r->none_facts, r->n_none_facts);
  if ((in->facts & all) != all) return false;
  if (r->n_any_facts && !(in->facts & any)) return false;
  if (in->facts & none) return false;
  if (why && cap) {
    size_t len = 0;
    why[0] = '\0';
    int w = 0;
    if (r->n_issue_types)
      w = snprintf(why, cap, "issue type %s",
                   hd_pb_enum_name(&helpdesk__v1__issue_type__descriptor, (int)in->issue_type));
    if (w > 0) len = (size_t)w < cap ? (size_t)w : cap - 1;
    if (r->n_service_types && len < cap) {
      w = snprintf(why + len, cap - len, "%sservice type %s", len ? "; " : "",
                   hd_pb_enum_name(&helpdesk__v1__service_type__descriptor, (int)in->service_type));
      if (w > 0) len = len + (size_t)w < cap ? len + (size_t)w : cap - 1;
    }
    rules__why_facts(why, cap, &len, "facts", all | (in->facts & any));
    rules__why_facts(why, cap, &len, "none of", none);
    if (len == 0) snprintf(why, cap, "no condition");
  }
  return true;
}

int routing_route(hd_db *db, const char *tenant, const routing_input *in, hd_arena *arena,
                  Helpdesk__V1__RouteTicketResponse *out, hd_err *err) {
  Helpdesk__V1__RoutingRule **rules = NULL;
  size_t n = 0;
  if (routing_rules_list(db, tenant, false, arena, &rules, &n, err)) return -1;
  char why[600];
  for (size_t i = 0; i < n; i++) {
    const Helpdesk__V1__RoutingRule *r = rules[i];
    if (!routing_rule_matches(r, in, why, sizeof why)) continue;
    out->rule = rules[i];
    out->department = r->department;
    out->action = r->action;
    out->urgent = r->urgent;
    out->flag_departments = r->flag_departments;
    out->n_flag_departments = r->n_flag_departments;
    out->customer_request = r->customer_request;
    out->estimate_required = r->estimate_required;
    out->explanation = hd_arena_printf(arena, "rule %s (priority %d) matched: %s. %s", r->name,
                                       (int)r->priority, why, r->reason);
    if (!out->explanation) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    return 0;
  }
  return hd_err_set(err, HD_FAILED_PRECONDITION,
                    "no enabled routing rule matches this ticket; a supervisor can enable the "
                    "built-in rule 'otherwise' (or add a rule without conditions) with "
                    "UpsertRoutingRule");
}

int routing_route_team(hd_db *db, const char *tenant, const routing_input *in, hd_arena *arena,
                       const char **dept, const char **rule, hd_err *err) {
  Helpdesk__V1__RouteTicketResponse out = HELPDESK__V1__ROUTE_TICKET_RESPONSE__INIT;
  if (routing_route(db, tenant, in, arena, &out, err)) {
    if (err->code != HD_FAILED_PRECONDITION) return -1;
    hd_err_clear(err);
  }
  const bool own = out.department && out.department[0];
  *dept = own ? out.department : ROUTING_FALLBACK_DEPARTMENT;
  *rule = out.rule && out.rule->name ? out.rule->name : "";
  return 0;
}

/* ---- writing ---- */

static int rules__get(hd_db *db, const char *tenant, const char *name, hd_arena *arena,
                      Helpdesk__V1__RoutingRule **out, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(name)};
  *out = NULL;
  if (hd_db_query(db, SQL_GET, p, 2, 1, &rows, err)) goto done;
  if (hd_db_rows_count(rows) == 1 && rules__from_row(rows, 0, arena, out, err)) goto done;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

int routing_rule_put(hd_db *db, const char *tenant, const Helpdesk__V1__RoutingRule *r,
                     int64_t expected_version, const char *updated_by, int64_t now_us,
                     hd_arena *arena, Helpdesk__V1__RoutingRule **before,
                     Helpdesk__V1__RoutingRule **after, hd_err *err) {
  int rc = -1;
  hd_db_rows *own = NULL, *count = NULL;
  const hd_db_param key[] = {hd_db_text(tenant), hd_db_text(r->name)};
  if (hd_db_query(db, SQL_LOCK_OWN, key, 2, 1, &own, err) ||
      rules__get(db, tenant, r->name, arena, before, err))
    goto done;
  const int64_t seen = *before ? (*before)->version : 0;
  if (hd_call_check_seen(err, seen, expected_version, "routing rule %s was changed by someone else",
                         r->name))
    goto done;
  if (r->department[0] &&
      routing_department_require(db, tenant, "rule.department", r->department, err))
    goto done;
  for (size_t i = 0; i < r->n_flag_departments; i++)
    if (routing_department_require(db, tenant, "rule.flag_departments", r->flag_departments[i],
                                   err))
      goto done;
  const bool has_own = hd_db_rows_count(own) == 1;
  if (!has_own) {
    const hd_db_param cp[] = {hd_db_text(tenant)};
    if (hd_db_query(db, SQL_COUNT_OWN, cp, 1, 1, &count, err)) goto done;
    if (hd_db_i64(count, 0, 0) >= ROUTING_RULES_OWN_MAX) {
      hd_err_set(err, HD_FAILED_PRECONDITION,
                 "the tenant already has %d rules of its own, the most it may have; change or "
                 "disable one instead",
                 ROUTING_RULES_OWN_MAX);
      goto done;
    }
  }
  const char *issues = rules__join_enums((const int *)r->issue_types, r->n_issue_types,
                                         &helpdesk__v1__issue_type__descriptor, arena);
  const char *services = rules__join_enums((const int *)r->service_types, r->n_service_types,
                                           &helpdesk__v1__service_type__descriptor, arena);
  const char *all = rules__join_enums((const int *)r->all_facts, r->n_all_facts,
                                      &helpdesk__v1__routing_fact__descriptor, arena);
  const char *any = rules__join_enums((const int *)r->any_facts, r->n_any_facts,
                                      &helpdesk__v1__routing_fact__descriptor, arena);
  const char *none = rules__join_enums((const int *)r->none_facts, r->n_none_facts,
                                       &helpdesk__v1__routing_fact__descriptor, arena);
  const char *flags = rules__join_strs(r->flag_departments, r->n_flag_departments, arena);
  const char *action = hd_pb_enum_name(&helpdesk__v1__routing_action__descriptor, (int)r->action);
  if (!issues || !services || !all || !any || !none || !flags || !action) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  const hd_db_param values[] = {hd_db_int(r->priority),
                                hd_db_int(r->enabled ? 1 : 0),
                                hd_db_text(issues),
                                hd_db_text(services),
                                hd_db_text(all),
                                hd_db_text(any),
                                hd_db_text(none),
                                hd_db_text(action),
                                hd_db_text(r->department),
                                hd_db_int(r->urgent ? 1 : 0),
                                hd_db_text(flags),
                                hd_db_text(r->customer_request),
                                hd_db_int(r->estimate_required ? 1 : 0),
                                hd_db_text(r->reason)};
  enum { NV = sizeof values / sizeof values[0] };
  if (has_own) {
    hd_db_param p[NV + 4];
    memcpy(p, values, sizeof values);
    p[NV] = hd_db_text(updated_by);
    p[NV + 1] = hd_db_int(now_us);
    p[NV + 2] = hd_db_text(tenant);
    p[NV + 3] = hd_db_text(r->name);
    if (hd_db_exec(db, SQL_UPDATE, p, NV + 4, NULL, NULL, err)) goto done;
  } else {
    hd_db_param p[NV + 6];
    p[0] = hd_db_text(tenant);
    p[1] = hd_db_text(r->name);
    memcpy(p + 2, values, sizeof values);
    p[NV + 2] = hd_db_int(seen + 1);
    p[NV + 3] = hd_db_text(updated_by);
    p[NV + 4] = hd_db_int(now_us);
    p[NV + 5] = hd_db_int(now_us);
    hd_err ierr = {0};
    if (hd_db_exec(db, SQL_INSERT, p, NV + 6, NULL, NULL, &ierr)) {
      if (ierr.code == HD_ALREADY_EXISTS)
        hd_err_set(err, HD_ABORTED,
                   "routing rule %s was changed by someone else at the same time; read it again",
                   r->name);
      else
        *err = ierr;
      goto done;
    }
  }
  if (rules__get(db, tenant, r->name, arena, after, err)) goto done;
  if (!*after) {
    hd_err_set(err, HD_INTERNAL, "routing rule %s vanished while being written", r->name);
    goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(own);
  hd_db_rows_free(count);
  return rc;
}

/* An array of enum names as JSON. */
static json_t *rules__json_enums(const int *v, size_t n, const ProtobufCEnumDescriptor *d) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++) {
    const char *name = hd_pb_enum_name(d, v[i]);
    if (json_array_append_new(a, json_string(name ? name : "?"))) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

json_t *routing_rule_json(const Helpdesk__V1__RoutingRule *r) {
  json_t *flags = json_array();
  for (size_t i = 0; flags && i < r->n_flag_departments; i++)
    if (json_array_append_new(flags, json_string(r->flag_departments[i]))) {
      json_decref(flags);
      flags = NULL;
    }
  const char *action = hd_pb_enum_name(&helpdesk__v1__routing_action__descriptor, (int)r->action);
  return json_pack(
      "{s:s, s:i, s:b, s:o?, s:o?, s:o?, s:o?, s:o?, s:s, s:s, s:b, s:o?, s:s, s:b, s:s, s:I}",
      "name", r->name, "priority", (int)r->priority, "enabled", (int)r->enabled, "issue_types",
      rules__json_enums((const int *)r->issue_types, r->n_issue_types,
                        &helpdesk__v1__issue_type__descriptor),
      "service_types",
      rules__json_enums((const int *)r->service_types, r->n_service_types,
                        &helpdesk__v1__service_type__descriptor),
      "all_facts",
      rules__json_enums((const int *)r->all_facts, r->n_all_facts,
                        &helpdesk__v1__routing_fact__descriptor),
      "any_facts",
      rules__json_enums((const int *)r->any_facts, r->n_any_facts,
                        &helpdesk__v1__routing_fact__descriptor),
      "none_facts",
      rules__json_enums((const int *)r->none_facts, r->n_none_facts,
                        &helpdesk__v1__routing_fact__descriptor),
      "action", action ? action : "?", "department", r->department, "urgent", (int)r->urgent,
      "flag_departments", flags, "customer_request", r->customer_request, "estimate_required",
      (int)r->estimate_required, "reason", r->reason, "version", (json_int_t)r->version);
}

/* ---- RPCs ---- */

int routing_list_routing_rules(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs) {
  const Helpdesk__V1__ListRoutingRulesRequest *req =
      (const Helpdesk__V1__ListRoutingRulesRequest *)rq;
  Helpdesk__V1__ListRoutingRulesResponse *out = (Helpdesk__V1__ListRoutingRulesResponse *)rs;
  size_t n = 0;
  if (routing_rules_list(hd_call_worker(call)->db, rt_tenant(call), req->include_disabled,
                         call->arena, &out->rules, &n, &call->err))
    return -1;
  out->n_rules = n;
  return 0;
}

/* Checks one repeated enum condition: at most ROUTING_RULE_LIST_MAX, each defined and not
 * UNSPECIFIED, none twice. */
static int rules__check_enums(hd_call *c, const char *field, const int *v, size_t n,
                              const ProtobufCEnumDescriptor *d) {
  if (n > ROUTING_RULE_LIST_MAX)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT, "%s has %zu values; at most %d are allowed",
                      field, n, ROUTING_RULE_LIST_MAX);
  for (size_t i = 0; i < n; i++) {
    if (hd_call_check_enum(c, field, d, v[i], false)) return -1;
    if (rules__has_int(v, i, v[i]))
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT, "%s names %s twice", field,
                        hd_pb_enum_name(d, v[i]));
  }
  return 0;
}

/* Every field of a rule to write, before any database work. */
static int rules__check(hd_call *c, const Helpdesk__V1__RoutingRule *r) {
  const ProtobufCEnumDescriptor *facts = &helpdesk__v1__routing_fact__descriptor;
  if (rt_check_rule_name(c, "rule.name", r->name) ||
      rules__check_enums(c, "rule.issue_types", (const int *)r->issue_types, r->n_issue_types,
                         &helpdesk__v1__issue_type__descriptor) ||
      rules__check_enums(c, "rule.service_types", (const int *)r->service_types, r->n_service_types,
                         &helpdesk__v1__service_type__descriptor) ||
      rules__check_enums(c, "rule.all_facts", (const int *)r->all_facts, r->n_all_facts, facts) ||
      rules__check_enums(c, "rule.any_facts", (const int *)r->any_facts, r->n_any_facts, facts) ||
      rules__check_enums(c, "rule.none_facts", (const int *)r->none_facts, r->n_none_facts,
                         facts) ||
      hd_call_check_enum(c, "rule.action", &helpdesk__v1__routing_action__descriptor,
                         (int)r->action, false) ||
      hd_call_check_text(c, "rule.reason", r->reason, 1, ROUTING_RULE_TEXT_MAX) ||
      hd_call_check_text(c, "rule.customer_request", r->customer_request, 0, ROUTING_RULE_TEXT_MAX))
    return -1;
  if (r->priority < 0 || r->priority > ROUTING_PRIORITY_MAX)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "rule.priority must be between 0 and %d (higher is tried first), got %d",
                      ROUTING_PRIORITY_MAX, (int)r->priority);
  const uint64_t both =
      rules__bits(r->all_facts, r->n_all_facts) & rules__bits(r->none_facts, r->n_none_facts);
  if (both)
    return hd_err_set(
        &c->err, HD_INVALID_ARGUMENT,
        "rule.all_facts and rule.none_facts share a fact: the rule could never match");
  const bool back = r->action == HELPDESK__V1__ROUTING_ACTION__ROUTING_ACTION_RETURN_TO_CUSTOMER;
  const bool asks =
      back || r->action == HELPDESK__V1__ROUTING_ACTION__ROUTING_ACTION_ASK_CUSTOMER_FIRST;
  if (back && r->department && r->department[0])
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "rule.department must be empty with RETURN_TO_CUSTOMER (no team takes the "
                      "ticket until the customer answers)");
  if (!back && rt_check_department_name(c, "rule.department", r->department)) return -1;
  if (asks &&
      hd_call_check_text(c, "rule.customer_request", r->customer_request, 1, ROUTING_RULE_TEXT_MAX))
    return -1;
  if (!asks && r->customer_request && r->customer_request[0])
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "rule.customer_request is only for ASK_CUSTOMER_FIRST and "
                      "RETURN_TO_CUSTOMER; leave it empty with ROUTE");
  if (r->n_flag_departments > ROUTING_RULE_FLAGS_MAX)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "rule.flag_departments has %zu departments; at most %d are allowed",
                      r->n_flag_departments, ROUTING_RULE_FLAGS_MAX);
  for (size_t i = 0; i < r->n_flag_departments; i++) {
    if (rt_check_department_name(c, "rule.flag_departments", r->flag_departments[i])) return -1;
    for (size_t j = 0; j < i; j++)
      if (strcmp(r->flag_departments[i], r->flag_departments[j]) == 0)
        return hd_err_set(&c->err, HD_INVALID_ARGUMENT, "rule.flag_departments names %s twice",
                          r->flag_departments[i]);
  }
  return 0;
}

typedef struct upsert_rule_ctx {
  hd_call *call;
  const Helpdesk__V1__UpsertRoutingRuleRequest *req;
  Helpdesk__V1__RoutingRule *after;
} upsert_rule_ctx;

static int upsert_rule__tx(hd_db *db, void *arg, hd_err *err) {
  upsert_rule_ctx *x = arg;
  hd_call *c = x->call;
  Helpdesk__V1__RoutingRule *before = NULL;
  x->after = NULL;
  if (routing_rule_put(db, rt_tenant(c), x->req->rule, x->req->expected_version,
                       c->principal->user_id, rt_now(c), c->arena, &before, &x->after, err))
    return -1;
  json_t *from = before ? routing_rule_json(before) : NULL;
  json_t *to = routing_rule_json(x->after);
  const int rc = (before && !from) || !to ? hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory")
                                          : rt_audit(db, c, "UPSERT_ROUTING_RULE", "routing_rule",
                                                     x->after->name, from, to, err);
  json_decref(from);
  json_decref(to);
  return rc;
}

int routing_upsert_routing_rule(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs) {
  const Helpdesk__V1__UpsertRoutingRuleRequest *req =
      (const Helpdesk__V1__UpsertRoutingRuleRequest *)rq;
  if (!req->rule) return hd_err_set(&call->err, HD_INVALID_ARGUMENT, "rule is required");
  if (rules__check(call, req->rule) ||
      hd_call_check_version(call, "expected_version", req->expected_version))
    return -1;
  upsert_rule_ctx x = {.call = call, .req = req};
  if (hd_call_tx(call, upsert_rule__tx, &x)) return -1;
  *(Helpdesk__V1__RoutingRule *)rs = *x.after;
  return 0;
}
