/* RouteTicket: where a ticket goes by the tenant's routing rules (routing_rules.h), from what the
 * caller states and, for a ticket id, what the ticket service says of the ticket. */
#include <string.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "routing_call.h"
#include "routing_handlers.h"
#include "routing_rules.h"

#define GET_TICKET "/helpdesk.v1.TicketService/GetTicket"

/* Reads the ticket through the ticket service with routing's own token (a read: idempotent). */
static int route__read_ticket(hd_call *c, int64_t id, Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__GetTicketRequest rq = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  ProtobufCMessage *resp = NULL;
  if (hd_peer_call_for(rt_app(c)->tickets, c, GET_TICKET, true, &rq.base,
                       &helpdesk__v1__ticket__descriptor, &resp, &c->err))
    return -1;
  *out = (Helpdesk__V1__Ticket *)resp;
  return 0;
}

int routing_route_ticket(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs) {
  const Helpdesk__V1__RouteTicketRequest *req = (const Helpdesk__V1__RouteTicketRequest *)rq;
  Helpdesk__V1__RouteTicketResponse *out = (Helpdesk__V1__RouteTicketResponse *)rs;
  if (req->ticket_id < 0 || (req->ticket_id == 0 && req->issue_type == 0))
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      req->ticket_id < 0 ? "ticket_id must be a positive id, or 0 to route from "
                                           "issue_type, service_type and facts alone"
                                         : "issue_type is required without a ticket_id");
  if (hd_call_check_enum(call, "issue_type", &helpdesk__v1__issue_type__descriptor,
                         (int)req->issue_type, true) ||
      hd_call_check_enum(call, "service_type", &helpdesk__v1__service_type__descriptor,
                         (int)req->service_type, true))
    return -1;
  if (req->n_facts > ROUTING_ROUTE_FACTS_MAX)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "facts has %zu values; at most %d are allowed", req->n_facts,
                      ROUTING_ROUTE_FACTS_MAX);
  routing_input in = {.issue_type = req->issue_type, .service_type = req->service_type};
  for (size_t i = 0; i < req->n_facts; i++) {
    if (hd_call_check_enum(call, "facts", &helpdesk__v1__routing_fact__descriptor,
                           (int)req->facts[i], false))
      return -1;
    in.facts |= routing_fact_bit((int)req->facts[i]);
  }
  if (req->ticket_id > 0 && (!in.issue_type || !in.service_type)) {
    Helpdesk__V1__Ticket *t = NULL;
    if (route__read_ticket(call, req->ticket_id, &t)) return -1;
    if (!in.issue_type) in.issue_type = t->issue_type;
    if (!in.service_type) in.service_type = t->service_type;
  }
  if (routing_route(hd_call_worker(call)->db, rt_tenant(call), &in, call->arena, out, &call->err))
    return -1;
  out->issue_type = in.issue_type;
  out->service_type = in.service_type;
  size_t n = 0;
  for (int v = 1; v <= ROUTING_FACT_VALUE_MAX; v++) n += (in.facts & routing_fact_bit(v)) != 0;
  out->facts = n ? hd_arena_alloc(call->arena, n * sizeof *out->facts) : NULL;
  if (n && !out->facts)
    return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  out->n_facts = 0;
  for (int v = 1; v <= ROUTING_FACT_VALUE_MAX; v++)
    if (in.facts & routing_fact_bit(v)) out->facts[out->n_facts++] = (Helpdesk__V1__RoutingFact)v;
  return 0;
}
