/* The calls routing's escalations, estimates and hand-overs make to the ticket service, through
 * the service's peer (routing_app.tickets) with routing's own `service` token for the caller's
 * tenant, the caller's deadline and request id. Each reply lives in the call's arena. Errors are
 * the peer's, mapped by hd_peer_call (client.h): the message names the ticket service and the
 * method. Never called inside a database transaction. */
#ifndef ROUTING_TICKET_PEER_H
#define ROUTING_TICKET_PEER_H

#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "rpc/client.h"
#include "rpc/server.h"

#define RT_TICKET_METHOD(m) "/helpdesk.v1.TicketService/" m

/* GetTicket: the ticket as the ticket service has it (a read; retried). */
int rt_ticket_get(hd_call *c, int64_t ticket_id, Helpdesk__V1__Ticket **out);

/* AddComment: a customer-visible comment by routing on the ticket. *out may be NULL. */
int rt_ticket_comment(hd_call *c, int64_t ticket_id, const char *body, Helpdesk__V1__Comment **out);

/* AddInternalRecord: an internal note by routing on the ticket (never shown to the customer).
 * *out may be NULL (also for rt_ticket_move). */
int rt_ticket_record(hd_call *c, int64_t ticket_id, const char *body,
                     Helpdesk__V1__InternalRecord **out);

/* TransferTicket: the ticket moves to department, owned by owner_id (its owner stays when that is
 * the current one), with note (may be NULL or "") kept as an internal record. expected_version 0
 * = don't check. */
int rt_ticket_move(hd_call *c, int64_t ticket_id, int64_t expected_version, const char *owner_id,
                   const char *department, const char *note, Helpdesk__V1__Ticket **out);

/* ListTickets of owner_id, open or not, oldest first; one page of at most 500 from page_token
 * ("" first). */
int rt_ticket_list_owned(hd_call *c, const char *owner_id, const char *page_token,
                         Helpdesk__V1__ListTicketsResponse **out);

/* ---- back to a queue (TransferTicket with release_to_queue) ----
 * The ticket service clears the owner and sets a worked status back to PENDING_RESPONSE; its
 * ticket.released event queues the ticket again, at its place by age (ticket_events.c). */

/* The ticket goes back to department's queue (NULL or "" = its own) with no owner, note (may be
 * NULL or "") kept as an internal record. For the shift hand-over. */
int rt_ticket_release(hd_call *c, int64_t ticket_id, const char *department, const char *note,
                      Helpdesk__V1__Ticket **out);

/* A claim's end (ReleaseClaim, an expired lease): when the ticket service still names agent_id
 * as the owner (routing's AssignTicket made them so and nobody reassigned it since), releases
 * it, conditional on the version just read and on fence (a newer claim wins: ABORTED). opts as
 * hd_peer_call's (the tenant the claim belongs to); replies in arena. *out is the released
 * ticket, or NULL when there was nothing to release (another owner, none, or closed). */
int rt_ticket_release_claimed(hd_peer *tickets, const hd_peer_call_opts *opts, int64_t ticket_id,
                              const char *agent_id, int64_t fence, hd_arena *arena,
                              Helpdesk__V1__Ticket **out, hd_err *err);

/* Whether a ticket in status s is open (not CLOSED or CANCELLED). */
int rt_ticket_status_open(Helpdesk__V1__TicketStatus s);

#endif
