/* Agents as routing knows them: their departments (the first is their home), level, capacity and
 * presence; and their load, from routing's records of the tickets (routing_tickets, written by
 * the ticket-event consumer: an open ticket counts its weight column, which the consumer sets to
 * routing_config_weight of its category). The only code that writes agents and
 * agent_departments. */
#ifndef ROUTING_AGENTS_H
#define ROUTING_AGENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "json/json.h"

#define ROUTING_AGENT_DEPARTMENTS_MAX 16
#define ROUTING_AGENT_NAME_MAX        100
#define ROUTING_CAPACITY_MAX          1000
#define ROUTING_LOAD_TICKETS_MAX      500 /* tickets GetAgentLoad lists */

/* Agent agent_id of tenant with departments and effective capacity; for_update locks the agent's
 * row (FOR UPDATE, inside the caller's transaction). *out in arena; NULL when not registered. */
int routing_agent_get(hd_db *db, const char *tenant, const char *agent_id, bool for_update,
                      hd_arena *arena, Helpdesk__V1__Agent **out, hd_err *err);

/* routing_agent_get, NOT_FOUND "agent X is not registered ..." when there is none. */
int routing_agent_require(hd_db *db, const char *tenant, const char *agent_id, bool for_update,
                          hd_arena *arena, Helpdesk__V1__Agent **out, hd_err *err);

/* Sets the agent's presence inside the caller's transaction (its row locked by the caller): a
 * new version, presence_at_us = now_us. Any presence, OFF_DUTY included (HandOverShift uses it);
 * the RPC's rules are the caller's. *after in arena. */
int routing_agent_set_presence(hd_db *db, const char *tenant, const char *agent_id,
                               Helpdesk__V1__Presence presence, const char *updated_by,
                               int64_t now_us, hd_arena *arena, Helpdesk__V1__Agent **after,
                               hd_err *err);

/* The agent's load: the open tickets (every status but CLOSED and CANCELLED) they own that wait
 * in no queue (a released or expired claim's ticket, back in its queue, no longer counts against
 * its last owner), and those they hold a claim on that is not yet theirs (in flight); and the sum
 * of their weights, against the agent's effective capacity. ClaimNext refuses at this load.
 * list_tickets: also the tickets themselves (the first ROUTING_LOAD_TICKETS_MAX, oldest first:
 * GetAgentLoad); false: the counts alone (ClaimNext), tickets empty. Reads only, by the agent's
 * own tickets (the owner index and their claims), whatever the table's size. *out in arena. */
int routing_agent_load(hd_db *db, const char *tenant, const Helpdesk__V1__Agent *agent,
                       bool list_tickets, hd_arena *arena, Helpdesk__V1__AgentLoad **out,
                       hd_err *err);

/* The agent as JSON for audit rows. Caller frees with json_decref; NULL when out of memory. */
json_t *routing_agent_json(const Helpdesk__V1__Agent *a);

#endif
