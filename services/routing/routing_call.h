/* What routing handlers share beyond the per-call vocabulary of rpc/call.h: the service's context
 * (settings, its identity toward the ticket service and the channel to it), the clock, the
 * caller's tenant and role, and the audit row every change writes.
 *
 * A mutating handler checks every field first, then runs its body in one transaction
 * (hd_call_tx), which writes the change and its audit row together, so a failed call leaves
 * nothing behind. The roles an RPC requires are in the method table (service.c). */
#ifndef ROUTING_ROUTING_CALL_H
#define ROUTING_ROUTING_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "json/json.h"
#include "routing_config.h"
#include "rpc/call.h"
#include "rpc/client.h"
#include "svc/service.h"

/* The service's own context: env->app, built by routing_app_setup and freed by
 * routing_app_teardown (service.c). */
typedef struct routing_app {
  routing_config config;
  hd_auth_identity *identity; /* "routing"'s service-role tokens, per tenant */
  hd_peer *tickets;           /* the ticket service (HELPDESK_TICKETS_TARGET) */
} routing_app;

#define ROUTING_LEADS (HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR)

/* Builds env->app from HELPDESK_ROUTING_* and the peer settings. Caller (the runtime) frees it
 * with routing_app_teardown. */
int routing_app_setup(hd_svc_env *env, hd_err *err);
void routing_app_teardown(hd_svc_env *env);

static inline routing_app *rt_app(const hd_call *c) { return (routing_app *)hd_call_env(c)->app; }
static inline int64_t rt_now(const hd_call *c) { return hd_clock_now_us(hd_call_env(c)->clock); }
static inline const char *rt_tenant(const hd_call *c) { return c->principal->tenant; }

/* Writes one audit row (routing_audit) for a change by the caller, inside the caller's
 * transaction: action ("UPSERT_DEPARTMENT"), entity ("department") and its key, the values before
 * (NULL: it did not exist) and after, as JSON (borrowed, left as they were). */
int rt_audit(hd_db *db, const hd_call *c, const char *action, const char *entity, const char *key,
             const json_t *from, const json_t *to, hd_err *err);

/* Checks a department code (an uppercase letter, then uppercase letters, digits or '_') or a rule
 * name (a lowercase letter, then lowercase letters, digits or '-'), 1..64 characters.
 * INVALID_ARGUMENT naming the field and the form. 0 / -1 (call->err). */
int rt_check_department_name(hd_call *c, const char *field, const char *s);
int rt_check_rule_name(hd_call *c, const char *field, const char *s);

#endif
