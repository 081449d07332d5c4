/* The calls a service action makes to the ticket service (its ticket, its consents, the internal
 * record, the screenshot's attachment) and to routing (the escalation), through the accounts
 * service's peers with its own `service` token for the caller's tenant, the caller's deadline and
 * request id. Replies live in the call's arena. Errors are the peer's, mapped by hd_peer_call
 * (rpc/client.h), in *err. Never called inside a database transaction. */
#ifndef ACCOUNTS_SERVICE_ACTION_PEERS_H
#define ACCOUNTS_SERVICE_ACTION_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/routing.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "rpc/server.h"

#define SA_CONSENTS_MAX 2000 /* consents read of one ticket at most (4 pages of 500) */

/* TicketService/GetTicket (a read; retried). */
int sa_peer_ticket(hd_call *c, int64_t ticket_id, Helpdesk__V1__Ticket **out, hd_err *err);

/* TicketService/ListConsents, every page (at most SA_CONSENTS_MAX): *out oldest first. */
int sa_peer_consents(hd_call *c, int64_t ticket_id, Helpdesk__V1__Consent ***out, size_t *n,
                     hd_err *err);

/* TicketService/AddInternalRecord: *id the record's. */
int sa_peer_record(hd_call *c, int64_t ticket_id, const char *body, int64_t *id, hd_err *err);

/* TicketService/AddAttachment: *id the attachment's. */
int sa_peer_attach(hd_call *c, int64_t ticket_id, const char *filename, const void *data,
                   size_t len, int64_t *id, hd_err *err);

/* RoutingService/EscalateToDepartment with idempotency_key (a repeat escalates once): *id the
 * escalation's. mode ASSIGN or CONSULT. */
int sa_peer_escalate(hd_call *c, int64_t ticket_id, const char *department,
                     Helpdesk__V1__EscalationMode mode, const char *context, const char *key,
                     int64_t *id, hd_err *err);

#endif
