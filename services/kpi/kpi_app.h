/* What the KPI service's handlers and consumers share (env->app): its configuration and its
 * channels to the ticket service and routing (for RebuildFacts and RecordSatisfaction). */
#ifndef KPI_KPI_APP_H
#define KPI_KPI_APP_H

#include "auth/auth.h"
#include "kpi_config.h"
#include "rpc/client.h"
#include "svc/service.h"

typedef struct kpi_app {
  kpi_config cfg;
  hd_auth_identity *identity; /* the kpi service's own tokens toward its peers */
  hd_peer *tickets;           /* HELPDESK_TICKETS_TARGET, default 127.0.0.1:50051 */
  hd_peer *routing;           /* HELPDESK_ROUTING_TARGET, default 127.0.0.1:50052 */
} kpi_app;

static inline kpi_app *kpi_app_of(const hd_call *c) { return (kpi_app *)hd_call_env(c)->app; }

/* The caller's tenant (the token's). */
static inline const char *kpi_tenant(const hd_call *c) { return c->principal->tenant; }

#endif
