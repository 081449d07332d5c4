/* Risk control: the catalog of codes (each with its meaning, handling procedure and suggested
 * reply; tenant '' holds the seeded entries, a tenant's own entry of a code overrides it) and
 * the codes active on an account. */
#include <inttypes.h>
#include <string.h>

#include "account_audit.h"
#include "account_call.h"
#include "account_handlers.h"
#include "account_limits.h"

/* A code: 1..64 of A-Z, 0-9, '_' and '-'. */
static int risk__check_code(hd_call *c, const char *code) {
  if (hd_call_check_text(c, "code", code, 1, ACCOUNT_RISK_CODE_MAX)) return -1;
  for (const char *p = code; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                        "code must be capital letters, digits, '_' and '-' (such as KYC)");
  return 0;
}

/* The account's active codes with their catalog entries, oldest first. */
static int risk__lookup(hd_call *c, hd_db *db, const char *uid,
                        Helpdesk__V1__LookupRiskControlResponse *out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(ac_tenant(c)), hd_db_text(uid)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  if (hd_db_query(db,
                  "SELECT a.code, a.set_at_us, COALESCE(t.meaning, s.meaning, ''), "
                  "COALESCE(t.handling, s.handling, ''), "
                  "COALESCE(t.suggested_reply, s.suggested_reply, ''), t.code IS NOT NULL, "
                  "COALESCE(t.updated_at_us, s.updated_at_us, 0) "
                  "FROM account_risk_controls a "
                  "LEFT JOIN risk_codes t ON t.tenant = a.tenant AND t.code = a.code "
                  "LEFT JOIN risk_codes s ON s.tenant = '' AND s.code = a.code "
                  "WHERE a.tenant = ? AND a.uid = ? ORDER BY a.set_at_us, a.code",
                  p, 2, ACCOUNT_ITEMS_MAX, &rows, err))
    goto done;
  const size_t n = hd_db_rows_count(rows);
  out->uid = hd_arena_strdup(c->arena, uid);
  out->codes = n ? HD_ARENA_ARRAY(c->arena, Helpdesk__V1__AccountRiskControl *, n) : NULL;
  if (!out->uid || (n && !out->codes)) goto full;
  for (size_t i = 0; i < n; i++) {
    Helpdesk__V1__AccountRiskControl *a =
        hd_arena_new_message(c->arena, &helpdesk__v1__account_risk_control__descriptor);
    Helpdesk__V1__RiskControlCode *k =
        hd_arena_new_message(c->arena, &helpdesk__v1__risk_control_code__descriptor);
    if (!a || !k) goto full;
    k->code = hd_arena_strdup(c->arena, hd_db_str(rows, i, 0, NULL));
    k->meaning = hd_arena_strdup(c->arena, hd_db_str(rows, i, 2, NULL));
    k->procedure = hd_arena_strdup(c->arena, hd_db_str(rows, i, 3, NULL));
    k->suggested_reply = hd_arena_strdup(c->arena, hd_db_str(rows, i, 4, NULL));
    k->tenant_override = hd_db_i64(rows, i, 5) != 0;
    k->update_time_us = hd_db_i64(rows, i, 6);
    if (!k->code || !k->meaning || !k->procedure || !k->suggested_reply) goto full;
    a->code = k;
    a->set_time_us = hd_db_i64(rows, i, 1);
    out->codes[i] = a;
  }
  out->n_codes = n;
  rc = 0;
  goto done;
full:
  hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
done:
  hd_db_rows_free(rows);
  return rc;
}

/* LookupRiskControl: by uid; NOT_FOUND for a missing account. */
int accounts_lookup_risk_control(hd_call *call, const ProtobufCMessage *req,
                                 ProtobufCMessage *resp) {
  const Helpdesk__V1__LookupRiskControlRequest *rq =
      (const Helpdesk__V1__LookupRiskControlRequest *)req;
  if (hd_call_check_ident(call, "uid", rq->uid, 1, ACCOUNT_UID_MAX)) return -1;
  hd_db *db = ac_db(call);
  Helpdesk__V1__Account *a = NULL;
  if (account_store_get(db, ac_tenant(call), rq->uid, false, call->arena, &a, &call->err) ||
      risk__lookup(call, db, a->uid, (Helpdesk__V1__LookupRiskControlResponse *)resp, &call->err))
    return ac_failed(call);
  return 0;
}

/* ---- UpsertRiskControlCode ---- */

typedef struct upsert__ctx {
  hd_call *call;
  const Helpdesk__V1__UpsertRiskControlCodeRequest *rq;
  Helpdesk__V1__RiskControlCode *out;
} upsert__ctx;

static json_t *risk__json(const char *code, const char *meaning, const char *handling,
                          const char *reply) {
  json_error_t je;
  return json_pack_ex(&je, 0, "{s:s, s:s, s:s, s:s}", "code", code, "meaning", meaning, "procedure",
                      handling, "suggested_reply", reply);
}

static int upsert__tx(hd_db *db, void *arg, hd_err *err) {
  upsert__ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__UpsertRiskControlCodeRequest *rq = x->rq;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  const hd_db_param kp[] = {hd_db_text(tenant), hd_db_text(rq->code)};
  hd_db_rows *rows = NULL;
  if (hd_db_query(db,
                  "SELECT meaning, handling, suggested_reply FROM risk_codes WHERE tenant = ? AND "
                  "code = ? FOR UPDATE",
                  kp, 2, 1, &rows, err))
    return -1;
  json_t *before = hd_db_rows_count(rows)
                       ? risk__json(rq->code, hd_db_str(rows, 0, 0, NULL),
                                    hd_db_str(rows, 0, 1, NULL), hd_db_str(rows, 0, 2, NULL))
                       : NULL;
  const bool existed = hd_db_rows_count(rows) != 0;
  hd_db_rows_free(rows);
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_text(rq->code),
                           hd_db_text(rq->meaning),
                           hd_db_text(rq->procedure),
                           hd_db_text(rq->suggested_reply),
                           hd_db_text(actor.user_id),
                           hd_db_int(now)};
  if (hd_db_exec(db,
                 "INSERT INTO risk_codes (tenant, code, meaning, handling, suggested_reply, "
                 "updated_by, updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?) "
                 "ON DUPLICATE KEY UPDATE meaning = VALUES(meaning), handling = VALUES(handling), "
                 "suggested_reply = VALUES(suggested_reply), updated_by = VALUES(updated_by), "
                 "updated_at_us = VALUES(updated_at_us)",
                 p, sizeof p / sizeof p[0], NULL, NULL, err)) {
    json_decref(before);
    return -1;
  }
  Helpdesk__V1__RiskControlCode *k =
      hd_arena_new_message(c->arena, &helpdesk__v1__risk_control_code__descriptor);
  if (!k) {
    json_decref(before);
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  }
  k->code = rq->code;
  k->meaning = rq->meaning;
  k->procedure = rq->procedure;
  k->suggested_reply = rq->suggested_reply;
  k->tenant_override = true;
  k->update_time_us = now;
  x->out = k;
  return account_audit_take(
      db, tenant, &actor, "", "UPSERT_RISK_CODE", "risk_code", rq->code, before, existed,
      risk__json(rq->code, rq->meaning, rq->procedure, rq->suggested_reply), true, now, err);
}

/* UpsertRiskControlCode: the tenant's own entry of the code. */
int accounts_upsert_risk_control_code(hd_call *call, const ProtobufCMessage *req,
                                      ProtobufCMessage *resp) {
  const Helpdesk__V1__UpsertRiskControlCodeRequest *rq =
      (const Helpdesk__V1__UpsertRiskControlCodeRequest *)req;
  if (risk__check_code(call, rq->code) ||
      hd_call_check_text(call, "meaning", rq->meaning, 1, ACCOUNT_RISK_MEANING_MAX) ||
      hd_call_check_text(call, "procedure", rq->procedure, 1, ACCOUNT_RISK_TEXT_MAX) ||
      hd_call_check_text(call, "suggested_reply", rq->suggested_reply, 1, ACCOUNT_RISK_TEXT_MAX))
    return -1;
  upsert__ctx x = {.call = call, .rq = rq};
  if (hd_call_tx(call, upsert__tx, &x)) return -1;
  *(Helpdesk__V1__RiskControlCode *)resp = *x.out;
  return 0;
}

/* ---- SetAccountRiskControl ---- */

typedef struct set__ctx {
  hd_call *call;
  const Helpdesk__V1__SetAccountRiskControlRequest *rq;
  Helpdesk__V1__LookupRiskControlResponse *out;
} set__ctx;

static int set__tx(hd_db *db, void *arg, hd_err *err) {
  set__ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__SetAccountRiskControlRequest *rq = x->rq;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__Account *a = NULL;
  helpdesk__v1__lookup_risk_control_response__init(x->out);
  if (ac_account_load(c, db, rq->uid, true, &a, err) || ac_account_active(a, err)) return -1;
  const hd_db_param kp[] = {hd_db_text(tenant), hd_db_text(rq->code)};
  hd_db_rows *rows = NULL;
  if (hd_db_query(db, "SELECT COUNT(*) FROM risk_codes WHERE tenant IN (?, '') AND code = ?", kp, 2,
                  1, &rows, err))
    return -1;
  const bool known = hd_db_i64(rows, 0, 0) > 0;
  hd_db_rows_free(rows);
  if (!known)
    return hd_err_set(err, HD_NOT_FOUND,
                      "risk-control code %s is not in the catalog: add it with "
                      "UpsertRiskControlCode first",
                      rq->code);
  uint64_t changed = 0;
  if (rq->active) {
    const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(a->uid), hd_db_text(rq->code),
                             hd_db_text(actor.user_id), hd_db_int(now)};
    if (hd_db_exec(db,
                   "INSERT IGNORE INTO account_risk_controls (tenant, uid, code, set_by, "
                   "set_at_us) VALUES (?, ?, ?, ?, ?)",
                   p, 5, &changed, NULL, err))
      return -1;
  } else {
    const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(a->uid), hd_db_text(rq->code)};
    if (hd_db_exec(db,
                   "DELETE FROM account_risk_controls WHERE tenant = ? AND uid = ? AND code = ?", p,
                   3, &changed, NULL, err))
      return -1;
  }
  if (changed) {
    json_error_t je;
    json_t *state_before =
        json_pack_ex(&je, 0, "{s:s, s:b}", "code", rq->code, "active", !rq->active);
    json_t *state_after =
        json_pack_ex(&je, 0, "{s:s, s:b}", "code", rq->code, "active", rq->active);
    if (account_audit_take(db, tenant, &actor, a->uid,
                           rq->active ? "SET_RISK_CONTROL" : "CLEAR_RISK_CONTROL", "risk_control",
                           rq->code, state_before, true, state_after, true, now, err))
      return -1;
  }
  return risk__lookup(c, db, a->uid, x->out, err);
}

/* SetAccountRiskControl: sets or clears one code; no change, no audit. */
int accounts_set_account_risk_control(hd_call *call, const ProtobufCMessage *req,
                                      ProtobufCMessage *resp) {
  const Helpdesk__V1__SetAccountRiskControlRequest *rq =
      (const Helpdesk__V1__SetAccountRiskControlRequest *)req;
  if (hd_call_check_ident(call, "uid", rq->uid, 1, ACCOUNT_UID_MAX) ||
      risk__check_code(call, rq->code))
    return -1;
  set__ctx x = {.call = call, .rq = rq, .out = (Helpdesk__V1__LookupRiskControlResponse *)resp};
  return hd_call_tx(call, set__tx, &x);
}
