/* The routing service as the runtime runs it: its contract, handlers, migrations and settings.
 * main.c serves it; tests start it in-process with hd_fixture_start. RPCs not in the method table
 * yet answer UNIMPLEMENTED. */
#include "routing_service.h"

#include "claims.h"
#include "escalations.h"
#include "estimates.h"
#include "handover.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "level2.h"
#include "routing_call.h"
#include "routing_handlers.h"
#include "routing_settings.h"
#include "svc/outbox.h"
#include "ticket_events.h"

extern const hd_migration routing_migrations[];

/* Who may call what: staff read the catalog, rules and agents; supervisors change the catalog and
 * the rules; team leads and supervisors manage agents; an agent sets their own presence, reads
 * their own load and claims for themself (the handlers let a lead act for anyone); the holder
 * renews a claim, the holder or a lead releases it. */
#define STAFF       HD_ROLES_STAFF
#define SUPERVISORS HD_ROLE_SUPERVISOR
#define LEADS       ROUTING_LEADS
#define WORKERS     (HD_ROLE_AGENT | LEADS)

static const hd_method_impl routing__methods[] = {
    {"ListDepartments", routing_list_departments, 0, STAFF, "departments are for staff"},
    {"UpsertDepartment", routing_upsert_department, 0, SUPERVISORS,
     "changing the department catalog is for a supervisor"},
    {"RouteTicket", routing_route_ticket, 0, STAFF, "routing tickets is for staff"},
    {"ListRoutingRules", routing_list_routing_rules, 0, STAFF, "routing rules are for staff"},
    {"UpsertRoutingRule", routing_upsert_routing_rule, 0, SUPERVISORS,
     "changing routing rules is for a supervisor"},
    {"UpsertAgent", routing_upsert_agent, 0, LEADS,
     "registering agents and setting their departments, level and capacity is for a team_lead "
     "or supervisor"},
    {"ListAgents", routing_list_agents, 0, STAFF, "the agent list is for staff"},
    {"SetPresence", routing_set_presence, 0, WORKERS,
     "presence is for agents (their own) and team_leads or supervisors"},
    {"GetAgentLoad", routing_get_agent_load, 0, WORKERS,
     "an agent's load is for the agent and team_leads or supervisors"},
    {"ClaimNext", routing_claim_next, 0, WORKERS,
     "claiming tickets is for agents, team_leads and supervisors, for themselves"},
    {"RenewClaim", routing_renew_claim, 0, WORKERS, "a claim is renewed by its holder"},
    {"ReleaseClaim", routing_release_claim, 0, WORKERS,
     "a claim is released by its holder, a team_lead or a supervisor"},
    /* ---- escalations, estimates, hand-over, settings (slice 3) ---- */
    {"EscalateToDepartment", routing_escalate_to_department, 0, WORKERS | HD_ROLE_SERVICE,
     "escalating is for an agent, team_lead, supervisor or another department's system"},
    {"AcknowledgeEscalation", routing_acknowledge_escalation, 0, WORKERS | HD_ROLE_SERVICE,
     "the receiving department acknowledges an escalation"},
    {"ResolveEscalation", routing_resolve_escalation, 0, WORKERS | HD_ROLE_SERVICE,
     "the receiving department resolves an escalation"},
    {"ListEscalations", routing_list_escalations, 0, STAFF, NULL},
    {"ListOverdueEscalations", routing_list_overdue_escalations, 0, STAFF, NULL},
    {"EscalateToLevel2", routing_escalate_to_level2, 0, WORKERS,
     "Level 2 escalations are made by the agent who investigated, or a lead"},
    {"SetCustomerEstimate", routing_set_customer_estimate, 0, WORKERS,
     "a promise to the customer is made by the ticket's owner or a lead"},
    {"ListDueCustomerUpdates", routing_list_due_customer_updates, 0, WORKERS, NULL},
    {"HandOverShift", routing_hand_over_shift, 0, WORKERS,
     "an agent hands over their shift, or a lead for them"},
    {"GetHandOver", routing_get_hand_over, 0, STAFF, NULL},
    {"GetRoutingSettings", routing_get_routing_settings, 0, STAFF, NULL},
    {"UpdateRoutingSettings", routing_update_routing_settings, 0,
     HD_ROLE_TENANT_ADMIN | HD_ROLE_SUPERVISOR,
     "the customer-visible wording is set by a tenant_admin or supervisor"},
};

/* Background loops: the outbox relay (routing's events), the claims loop (queues rebuilt at
 * start, expired leases returned, queue and escalation gauges) and the timers of escalation windows
 * and customer estimates. */
static const hd_loop_fn routing__loops[] = {hd_outbox_relay_loop, routing_claims_loop,
                                            routing_escalation_timer_loop,
                                            routing_estimate_timer_loop};

/* Streaming methods (rpc/stream.h). */
static const hd_stream_impl routing__streams[] = {
    {"WatchEscalations", routing_watch_escalations, 0, STAFF,
     "the escalations' change feed is for staff and services"},
};

const hd_service_def routing_service_def = {
    .name = "routing",
    .default_port = 50052,
    .descriptor = &helpdesk__v1__routing_service__descriptor,
    .methods = routing__methods,
    .n_methods = sizeof routing__methods / sizeof routing__methods[0],
    .migrations = routing_migrations,
    .setup = routing_app_setup,
    .teardown = routing_app_teardown,
    .loops = routing__loops,
    .n_loops = sizeof routing__loops / sizeof routing__loops[0],
    .consumers = &routing_ticket_events_consumer,
    .n_consumers = 1,
    /* Claims are leases and fencing tokens in Redis: without Redis routing cannot hand out a
     * ticket safely, so readiness follows Redis as well as MariaDB (architecture.md). */
    .needs_redis = true,
    .streams = routing__streams,
    .n_streams = sizeof routing__streams / sizeof routing__streams[0],
};
