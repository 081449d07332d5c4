/* The routing service as the runtime runs it: its contract, handlers, migrations and settings.
 * main.c serves it; tests start it in-process with hd_fixture_start. RPCs not in the method table
 * yet answer UNIMPLEMENTED. */
#include "routing_service.h"

#include "claims.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "routing_call.h"
#include "svc/outbox.h"
#include "ticket_events.h"

extern const hd_migration routing_migrations[];

/* Who may call what. Slice 2 (queues and claims): an agent claims for themself; the holder renews;
 * the holder or a lead releases (the handler checks which). */
#define WORKERS (HD_ROLE_AGENT | ROUTING_LEADS)

static const hd_method_impl routing__methods[] = {
    /* slice 2: queues and claims */
    {"ClaimNext", routing_claim_next, 0, WORKERS,
     "claiming tickets is for agents, team_leads and supervisors, for themselves"},
    {"RenewClaim", routing_renew_claim, 0, WORKERS, "a claim is renewed by its holder"},
    {"ReleaseClaim", routing_release_claim, 0, WORKERS,
     "a claim is released by its holder, a team_lead or a supervisor"},
};

/* Background loops: the outbox relay (routing's events) and the claims loop (queues rebuilt at
 * start, expired leases returned, queue gauges). */
static const hd_loop_fn routing__loops[] = {hd_outbox_relay_loop, routing_claims_loop};

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
};
