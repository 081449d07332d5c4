/* The ticket service's own context (env->app): its settings, its identity toward the other
 * services and the channel to the accounts service (VerifyTicketAccount). Built once at start-up
 * by tickets_app_setup, freed by tickets_app_teardown (service.c); read by every worker. */
#ifndef TICKETS_TICKETS_APP_H
#define TICKETS_TICKETS_APP_H

#include "auth/auth.h"
#include "core/err.h"
#include "rpc/client.h"
#include "svc/service.h"
#include "tickets_config.h"

typedef struct tickets_app {
  tickets_config config;      /* HELPDESK_TICKETS_* */
  hd_auth_identity *identity; /* "tickets"'s service-role tokens, per tenant */
  hd_peer *accounts;          /* the accounts service (HELPDESK_ACCOUNTS_TARGET, default
                               * 127.0.0.1:50053); connected lazily, so the ticket service starts
                               * and serves everything else while accounts is down */
} tickets_app;

/* Builds env->app from HELPDESK_TICKETS_* and the peer settings (client.h: hd_peer_open).
 * INVALID_ARGUMENT naming a malformed variable. Caller (the runtime) frees it with
 * tickets_app_teardown. */
int tickets_app_setup(hd_svc_env *env, hd_err *err);
void tickets_app_teardown(hd_svc_env *env);

/* The settings of the service env runs (borrowed, valid while it runs). */
static inline const tickets_config *tickets_app_config(const hd_svc_env *env) {
  return &((const tickets_app *)env->app)->config;
}

#endif
