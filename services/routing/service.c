/* The routing service as the runtime runs it: its contract, handlers, migrations, context and
 * background loops. main.c serves it; tests start it in-process with hd_fixture_start. */
#include "routing_service.h"

#include "escalations.h"
#include "estimates.h"
#include "handover.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "level2.h"
#include "routing_call.h"
#include "routing_settings.h"
#include "svc/outbox.h"

extern const hd_migration routing_migrations[];

#define STAFF  HD_ROLES_STAFF
#define PEOPLE (HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR)

/* Who may call what (any of the roles), checked by the dispatcher before the handler runs; the
 * handlers keep the finer rules (the ticket's owner, the receiving department). */
static const hd_method_impl routing__methods[] = {
    /* ---- escalations, estimates, hand-over, settings (slice 3) ---- */
    {"EscalateToDepartment", routing_escalate_to_department, 0, PEOPLE | HD_ROLE_SERVICE,
     "escalating is for an agent, team_lead, supervisor or another department's system"},
    {"AcknowledgeEscalation", routing_acknowledge_escalation, 0, PEOPLE | HD_ROLE_SERVICE,
     "the receiving department acknowledges an escalation"},
    {"ResolveEscalation", routing_resolve_escalation, 0, PEOPLE | HD_ROLE_SERVICE,
     "the receiving department resolves an escalation"},
    {"ListEscalations", routing_list_escalations, 0, STAFF, NULL},
    {"ListOverdueEscalations", routing_list_overdue_escalations, 0, STAFF, NULL},
    {"EscalateToLevel2", routing_escalate_to_level2, 0, PEOPLE,
     "Level 2 escalations are made by the agent who investigated, or a lead"},
    {"SetCustomerEstimate", routing_set_customer_estimate, 0, PEOPLE,
     "a promise to the customer is made by the ticket's owner or a lead"},
    {"ListDueCustomerUpdates", routing_list_due_customer_updates, 0, PEOPLE, NULL},
    {"HandOverShift", routing_hand_over_shift, 0, PEOPLE,
     "an agent hands over their shift, or a lead for them"},
    {"GetHandOver", routing_get_hand_over, 0, STAFF, NULL},
    {"GetRoutingSettings", routing_get_routing_settings, 0, STAFF, NULL},
    {"UpdateRoutingSettings", routing_update_routing_settings, 0,
     HD_ROLE_TENANT_ADMIN | HD_ROLE_SUPERVISOR,
     "the customer-visible wording is set by a tenant_admin or supervisor"},
};

static const hd_loop_fn routing__loops[] = {
    hd_outbox_relay_loop, routing_escalation_timer_loop, /* slice 3 */
    routing_estimate_timer_loop,                         /* slice 3 */
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
    /* Claims are leases and fencing tokens in Redis: without Redis routing cannot hand out a
     * ticket safely, so readiness follows Redis as well as MariaDB (architecture.md). */
    .needs_redis = true,
};
