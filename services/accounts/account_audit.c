/* Audit rows and their events (see account_audit.h). */
#include "account_audit.h"

#include <stdlib.h>

#include "svc/outbox.h"

/* before/after as compact JSON text (NULL → NULL). *out: caller frees with free(). */
static int audit__dump(const json_t *doc, char **out, hd_err *err) {
  *out = NULL;
  if (!doc) return 0;
  return hd_json_dump(doc, &HD_JSON_EVENT_LIMITS, out, NULL, err);
}

int account_audit(hd_db *db, const char *tenant, const account_actor *actor,
                  const account_audit_entry *e, int64_t now_us, hd_err *err) {
  char *before = NULL, *after = NULL;
  json_t *body = NULL;
  int rc = -1;
  if (audit__dump(e->before, &before, err) || audit__dump(e->after, &after, err)) goto done;
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_text(e->uid ? e->uid : ""),
                           hd_db_text(actor->user_id),
                           hd_db_text(actor->role),
                           hd_db_text(e->action),
                           hd_db_text(e->entity),
                           hd_db_text(e->entity_id ? e->entity_id : ""),
                           hd_db_text(before),
                           hd_db_text(after),
                           hd_db_int(now_us)};
  uint64_t id = 0;
  if (hd_db_exec(db,
                 "INSERT INTO account_audit (tenant, uid, actor_id, actor_role, action, entity, "
                 "entity_id, before_json, after_json, created_at_us) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, &id, err))
    goto done;
  json_error_t je;
  body =
      json_pack_ex(&je, 0, "{s:s, s:s, s:s, s:s}", "uid", e->uid ? e->uid : "", "action", e->action,
                   "entity", e->entity, "entity_id", e->entity_id ? e->entity_id : "");
  if (!body) {
    hd_json_pack_failed(&je, "the account.changed event", err);
    goto done;
  }
  const hd_outbox_event ev = {.type = ACCOUNT_EVENT_CHANGED,
                              .tenant = tenant,
                              .aggregate_key = "audit_id",
                              .aggregate_id = (int64_t)id,
                              .actor_id = actor->user_id,
                              .actor_role = actor->role,
                              .time_us = now_us};
  rc = hd_outbox_append(db, &ev, body, err);
done:
  json_decref(body);
  free(before);
  free(after);
  return rc;
}

int account_audit_take(hd_db *db, const char *tenant, const account_actor *actor, const char *uid,
                       const char *action, const char *entity, const char *entity_id,
                       json_t *before, bool want_before, json_t *after, bool want_after,
                       int64_t now_us, hd_err *err) {
  int rc = -1;
  if ((want_before && !before) || (want_after && !after)) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  const account_audit_entry e = {.uid = uid,
                                 .action = action,
                                 .entity = entity,
                                 .entity_id = entity_id,
                                 .before = before,
                                 .after = after};
  rc = account_audit(db, tenant, actor, &e, now_us, err);
done:
  json_decref(before);
  json_decref(after);
  return rc;
}
