/* Routing follows the ticket service's events (stream helpdesk:events:tickets, group "routing")
 * through the kit's consumer (svc/consumer.h) and keeps, per ticket, what the queues and loads
 * need (routing_tickets): status, owner, department, the queue it waits in, created time, weight
 * and the version last applied. Older events are skipped by THE VERSION RULE; a second delivery
 * by the kit.
 *
 * Queue rules (the one place they live):
 *  - a created ticket is routed (routing_ticket_events_route) and waits in its department's queue;
 *  - a ticket that leaves PENDING_RESPONSE (worked, suspended, closed, cancelled, merged) leaves
 *    its queue, and its claim ends: the claimed ticket is being worked;
 *  - a new owner leaves the queue; when it is not the holder of the ticket's claim (a lead's
 *    AssignTicket, a TransferTicket) the claim is void and its row goes;
 *  - back to PENDING_RESPONSE without an owner (RestartTicket, ResumeTicket): queued again;
 *  - a department change moves a waiting ticket to the new department's queue; a ticket whose
 *    own department is empty keeps the one routing gave it.
 * The Redis side of each change (idempotent: ZADD NX, ZREM) is made inside the apply, under the
 * row lock of the ticket's version, so one ticket's changes reach Redis in version order; when
 * the transaction rolls back after it, a claim finds the member stale against MariaDB and drops
 * it, and the event's next delivery does it again. */
#ifndef ROUTING_TICKET_EVENTS_H
#define ROUTING_TICKET_EVENTS_H

#include "svc/consumer.h"

#define ROUTING_TICKET_STREAM  "helpdesk:events:tickets"
#define ROUTING_CONSUMER_GROUP "routing"

/* The consumer the service declares (service.c). */
extern const hd_consumer_def routing_ticket_events_consumer;

/* The department a created ticket without one goes to: routing_route_team (routing_rules.h) on
 * the event's issue type and service type (short enum names, "" for none). Ticket events carry
 * no routing facts (a ticket has none), so a rule that needs a fact does not match here;
 * RouteTicket with the facts is how an agent asks again. Writes a department code into buf
 * (65 bytes). */
int routing_ticket_events_route(hd_db *db, const char *tenant, const char *issue_type,
                                const char *service_type, char buf[65], hd_err *err);

/* The apply and rebuild functions of the consumer (exposed for tests). */
int routing_ticket_events_apply(hd_db *db, const hd_event *ev, void *app, hd_err *err);
int routing_ticket_events_rebuild(hd_db *db, hd_kv *kv, void *app, hd_err *err);

#endif
