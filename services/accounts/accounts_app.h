/* The accounts service's context in env->app: its settings, its own identity and the peer to
 * the routing service (an overdue card refund is escalated there) and to the ticket service. Made
 * by the service's setup (service.c), freed by its teardown. */
#ifndef ACCOUNTS_ACCOUNTS_APP_H
#define ACCOUNTS_ACCOUNTS_APP_H

#include "accounts_config.h"
#include "auth/auth.h"
#include "rpc/client.h"

typedef struct accounts_app {
  accounts_config config;
  hd_auth_identity *identity; /* "accounts": the tokens routing sees (role service) */
  hd_peer *routing;           /* HELPDESK_ROUTING_TARGET, default 127.0.0.1:50052 */
  hd_peer *tickets;           /* HELPDESK_TICKETS_TARGET, default 127.0.0.1:50051: a service
                               * action's consents, internal record and attachment */
} accounts_app;

#endif
