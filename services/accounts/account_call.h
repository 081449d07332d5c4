/* What every accounts handler shares beyond rpc/call.h: the service's settings and clock, the
 * caller's tenant and actor, and loading an account the caller may see (a customer sees only
 * their own: another account is NOT_FOUND, as a missing one). The roles an RPC requires are in
 * the method table (service.c), checked before the handler runs.
 *
 * A mutating handler checks every field with hd_call_check_* first, then runs one transaction
 * whose body locks the account (ac_account_load(..., true, ...)), checks the rules on it, writes
 * the change and its audit row (account_audit.h). The body may run again after a deadlock, so it
 * writes only to the database and to its arg. */
#ifndef ACCOUNTS_ACCOUNT_CALL_H
#define ACCOUNTS_ACCOUNT_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "account_store.h"
#include "accounts_app.h"
#include "rpc/call.h"
#include "svc/service.h"

static inline accounts_app *ac_app(const hd_call *c) { return (accounts_app *)hd_call_env(c)->app; }
static inline const accounts_config *ac_config(const hd_call *c) { return &ac_app(c)->config; }
static inline int64_t ac_now(const hd_call *c) { return hd_clock_now_us(hd_call_env(c)->clock); }
static inline hd_db *ac_db(const hd_call *c) { return hd_call_worker(c)->db; }
static inline const char *ac_tenant(const hd_call *c) { return c->principal->tenant; }
static inline account_actor ac_actor(const hd_call *c) { return account_actor_of(c->principal); }

/* A customer and nothing else: acts on their own account only. */
bool ac_is_customer_only(const hd_principal *p);

/* hd_call_check_ident of a uid field (1..ACCOUNT_UID_MAX), then the customer rule: a
 * customer-only caller naming another account → NOT_FOUND "account 'u' not found" (uids are not
 * probed). 0 / -1 (call->err). */
int ac_check_uid(hd_call *c, const char *field, const char *uid);

/* Loads account uid of the caller's tenant (account_store_get; for_update locks it) and applies
 * the customer rule. *out in call->arena. */
int ac_account_load(hd_call *c, hd_db *db, const char *uid, bool for_update,
                    Helpdesk__V1__Account **out, hd_err *err);

/* FAILED_PRECONDITION "account 'u' was deleted ...; nothing can change on it" for a deleted a. */
int ac_account_active(const Helpdesk__V1__Account *a, hd_err *err);

/* Makes sure a failed store call leaves a status on the call; returns -1. */
int ac_failed(hd_call *c);

/* The UTC date of us ("2026-01-05"), in call->arena; "" when the arena is full. */
const char *ac_date(hd_call *c, int64_t us);

/* The UTC time of us ("2026-01-05 14:30:00 UTC"), in call->arena; "" when the arena is full. */
const char *ac_datetime(hd_call *c, int64_t us);

/* A duration in words ("3 days", "2 hours", "90 seconds": the largest whole unit), in
 * call->arena; "" when the arena is full. */
const char *ac_duration(hd_call *c, int64_t us);

/* An int64 as text in arena (for an audit row's entity_id); NULL when the arena is full. */
char *ac_id_text(hd_call *c, int64_t id);

#endif
