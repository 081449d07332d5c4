/* The service-action policy (WHG SOP 1.3, 4, 6, 7) as data: the rules of service_action_rules
 * (migrations/004_service_action_policy.sql), one per hosting type, action and modifier, the
 * tenant's own over the seeded ones. The one place that decides what an agent may do on a
 * customer's hosting service: CheckServiceAction answers with it, RecordServiceAction enforces it.
 */
#ifndef ACCOUNTS_SERVICE_ACTION_POLICY_H
#define ACCOUNTS_SERVICE_ACTION_POLICY_H

#include <stdint.h>

#include "account_store.h"
#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/accounts.pb-c.h"

#define SAP_RULE_ID_MAX     64
#define SAP_SECTION_MAX     64
#define SAP_REASON_MAX      2000
#define SAP_RULES_MAX       500 /* rules one tenant's table answers at most */
#define SAP_DEFAULT_RULE_ID "default-forbidden"

/* The rule for (hosting_type, action, modifier) in tenant: the tenant's own row over the seeded
 * one; the modifier's row, else the action's own (modifier UNSPECIFIED); else the default:
 * FORBIDDEN, rule SAP_DEFAULT_RULE_ID ("the SOP does not allow it"). *out in arena, never NULL on
 * 0. */
int sap_rule_find(hd_db *db, const char *tenant, Helpdesk__V1__HostingType hosting_type,
                  Helpdesk__V1__ServiceAction action, Helpdesk__V1__ServiceActionModifier modifier,
                  hd_arena *arena, Helpdesk__V1__ServiceActionRule **out, hd_err *err);

/* The tenant's table (its rows over the seeded ones), by hosting type, action, modifier;
 * hosting_type UNSPECIFIED = all. Arrays in arena. */
int sap_rules_list(hd_db *db, const char *tenant, Helpdesk__V1__HostingType hosting_type,
                   hd_arena *arena, Helpdesk__V1__ServiceActionRule ***out, size_t *n, hd_err *err);

/* Writes r as tenant's own rule (insert or replace) by actor at now_us, audited
 * (UPSERT_SERVICE_ACTION_RULE, before = the rule that applied until now), in the caller's
 * transaction. r is checked by the caller. r->tenant_override, updated_by and update_time_us are
 * set here. */
int sap_rule_upsert(hd_db *db, const char *tenant, const account_actor *actor,
                    Helpdesk__V1__ServiceActionRule *r, int64_t now_us, hd_arena *arena,
                    hd_err *err);

/* The decision's words for the agent: "NEEDS_CUSTOMER_CONSENT (rule shared.change-dns, SOP 4.3
 * Configuration Issue): <reason> Record a SERVICE_CHANGE consent on the ticket first." In
 * arena; NULL when it is full. */
char *sap_rule_message(hd_arena *arena, const Helpdesk__V1__ServiceActionRule *r);

/* The short enum names the table stores ("WHITELIST_IP", "IMUNIFY360", "" for UNSPECIFIED). */
const char *sap_action_name(Helpdesk__V1__ServiceAction a);
const char *sap_modifier_name(Helpdesk__V1__ServiceActionModifier m);
const char *sap_verdict_name(Helpdesk__V1__ServiceActionVerdict v);

#endif
