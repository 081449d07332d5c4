/* The kpi service as the runtime runs it: its contract, handlers, migrations, configuration,
 * peers and the two event consumers that keep its facts. main.c serves it; tests start it
 * in-process with hd_fixture_start. */
#include "kpi_service.h"

#include <stdlib.h>

#include "helpdesk/v1/kpi.pb-c.h"
#include "kpi_app.h"
#include "kpi_consume.h"
#include "kpi_handlers.h"
#include "svc/consumer.h"
#include "svc/outbox.h"

extern const hd_migration kpi_migrations[];

#define LEADS  (HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR)
#define READER (HD_ROLE_AGENT | LEADS)

/* Who may call what (any of the roles), checked before the handler runs; the handlers keep the
 * finer rules (an agent reads only their own KPI, a customer rates only their own ticket). */
static const hd_method_impl kpi__methods[] = {
    {"SetCategoryWeights", kpi_set_category_weights, 0, LEADS,
     "category weights are set by a team_lead or supervisor"},
    {"RecordSatisfaction", kpi_record_satisfaction, 0, HD_ROLE_CUSTOMER,
     "a ticket is rated by its customer"},
    {"RecordIndividualScores", kpi_record_individual_scores, 0, LEADS,
     "individual scores are recorded by a team_lead or supervisor"},
    {"GetAgentKpi", kpi_get_agent_kpi, 0, READER,
     "an agent reads their own KPI; team leads and supervisors their team's"},
    {"GetTeamSummary", kpi_get_team_summary, 0, LEADS,
     "the team's summary is for a team_lead or supervisor"},
    {"GetHalfYearReview", kpi_get_half_year_review, 0, READER,
     "an agent reads their own review; team leads and supervisors their team's"},
    {"RebuildFacts", kpi_rebuild_facts, 0, HD_ROLE_SUPERVISOR | HD_ROLE_TENANT_ADMIN,
     "rebuilding the facts is for a supervisor or tenant_admin"},
};

/* Reads HELPDESK_KPI_* and opens the peers into env->app (freed by kpi__teardown). */
static int kpi__setup(hd_svc_env *env, hd_err *err) {
  kpi_app *app = calloc(1, sizeof *app);
  if (!app) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  if (kpi_config_load(&app->cfg, err)) {
    free(app);
    return -1;
  }
  env->app = app; /* from here kpi__teardown frees what is made */
  const hd_auth_identity_config idc = {.auth = &env->auth, .service = "kpi"};
  if (hd_auth_identity_new(&idc, &app->identity, err) ||
      hd_peer_open("tickets", 50051, app->identity, env->clock, env->metrics, &app->tickets, err) ||
      hd_peer_open("routing", 50052, app->identity, env->clock, env->metrics, &app->routing, err))
    return -1;
  return 0;
}

static void kpi__teardown(hd_svc_env *env) {
  kpi_app *app = env->app;
  if (!app) return;
  hd_peer_free(app->tickets);
  hd_peer_free(app->routing);
  hd_auth_identity_free(app->identity);
  kpi_config_free(&app->cfg);
  free(app);
  env->app = NULL;
}

/* The ticket service's and routing's events (their outbox relays publish to these streams). */
static const hd_consumer_def kpi__consumers[] = {
    {.stream = HD_OUTBOX_STREAM_PREFIX "tickets",
     .group = KPI_CONSUMER_GROUP,
     .apply = kpi_consume_ticket_event},
    {.stream = HD_OUTBOX_STREAM_PREFIX "routing",
     .group = KPI_CONSUMER_GROUP,
     .apply = kpi_consume_routing_event},
};

const hd_service_def kpi_service_def = {
    .name = "kpi",
    .default_port = 50054,
    .descriptor = &helpdesk__v1__kpi_service__descriptor,
    .methods = kpi__methods,
    .n_methods = sizeof kpi__methods / sizeof kpi__methods[0],
    .migrations = kpi_migrations,
    .setup = kpi__setup,
    .teardown = kpi__teardown,
    .consumers = kpi__consumers,
    .n_consumers = sizeof kpi__consumers / sizeof kpi__consumers[0],
};
