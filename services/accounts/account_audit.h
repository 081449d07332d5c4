/* The audit of every change of the accounts service: one append-only row per change (who, as
 * which role, when, what: action, entity and its id, the values before and after as JSON), and
 * an outbox event "account.changed" naming it, both in the change's own transaction. Nothing
 * updates or deletes audit rows. */
#ifndef ACCOUNTS_ACCOUNT_AUDIT_H
#define ACCOUNTS_ACCOUNT_AUDIT_H

#include <stdint.h>

#include "account_store.h"
#include "core/err.h"
#include "db/db.h"
#include "json/json.h"

#define ACCOUNT_EVENT_CHANGED "account.changed"

/* One audited change. Strings and JSON borrowed. */
typedef struct account_audit_entry {
  const char *uid;       /* the account ("" for the tenant's catalog) */
  const char *action;    /* "CREATE_ACCOUNT", "BIND_PHONE", "APPROVE_CONTACT_CHANGE", ... */
  const char *entity;    /* "account", "payment_method", "contact_change", ... */
  const char *entity_id; /* the entity's id as text ("" for the account itself) */
  const json_t *before;  /* NULL: it did not exist */
  const json_t *after;   /* NULL: it no longer exists */
} account_audit_entry;

/* Appends e by actor at now_us in tenant, in the caller's transaction, and its outbox event
 * {"event": "account.changed", "tenant", "audit_id", "actor_id", "actor_role", "time_us", "uid",
 * "action", "entity", "entity_id"}. RESOURCE_EXHAUSTED when before or after is larger than a TEXT
 * column; INTERNAL when they cannot be written. */
int account_audit(hd_db *db, const char *tenant, const account_actor *actor,
                  const account_audit_entry *e, int64_t now_us, hd_err *err);

/* account_audit for the common case of a JSON before and after built by the caller: takes the
 * references (decrefs both, also on failure) and fails with RESOURCE_EXHAUSTED "out of memory"
 * when a non-NULL one was expected but is NULL (want_before, want_after). */
int account_audit_take(hd_db *db, const char *tenant, const account_actor *actor, const char *uid,
                       const char *action, const char *entity, const char *entity_id,
                       json_t *before, bool want_before, json_t *after, bool want_after,
                       int64_t now_us, hd_err *err);

#endif
