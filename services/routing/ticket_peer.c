/* Routing's calls to the ticket service (ticket_peer.h). */
#include "ticket_peer.h"

#include <string.h>

#include "routing_call.h"

int rt_ticket_get(hd_call *c, int64_t ticket_id, Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__GetTicketRequest rq = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  return hd_peer_call_for(rt_app(c)->tickets, c, RT_TICKET_METHOD("GetTicket"), true, &rq.base,
                          &helpdesk__v1__ticket__descriptor, (ProtobufCMessage **)out, &c->err);
}

int rt_ticket_comment(hd_call *c, int64_t ticket_id, const char *body,
                      Helpdesk__V1__Comment **out) {
  Helpdesk__V1__AddCommentRequest rq = HELPDESK__V1__ADD_COMMENT_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  rq.body = (char *)body;
  Helpdesk__V1__Comment *got = NULL;
  if (hd_peer_call_for(rt_app(c)->tickets, c, RT_TICKET_METHOD("AddComment"), false, &rq.base,
                       &helpdesk__v1__comment__descriptor, (ProtobufCMessage **)&got, &c->err))
    return -1;
  if (out) *out = got;
  return 0;
}

int rt_ticket_record(hd_call *c, int64_t ticket_id, const char *body,
                     Helpdesk__V1__InternalRecord **out) {
  Helpdesk__V1__AddInternalRecordRequest rq = HELPDESK__V1__ADD_INTERNAL_RECORD_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  rq.body = (char *)body;
  Helpdesk__V1__InternalRecord *got = NULL;
  if (hd_peer_call_for(rt_app(c)->tickets, c, RT_TICKET_METHOD("AddInternalRecord"), false,
                       &rq.base, &helpdesk__v1__internal_record__descriptor,
                       (ProtobufCMessage **)&got, &c->err))
    return -1;
  if (out) *out = got;
  return 0;
}

int rt_ticket_move(hd_call *c, int64_t ticket_id, int64_t expected_version, const char *owner_id,
                   const char *department, const char *note, Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__TransferTicketRequest rq = HELPDESK__V1__TRANSFER_TICKET_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  rq.expected_version = expected_version;
  rq.new_owner_id = (char *)owner_id;
  rq.department = (char *)department;
  rq.note = (char *)(note ? note : "");
  Helpdesk__V1__Ticket *got = NULL;
  if (hd_peer_call_for(rt_app(c)->tickets, c, RT_TICKET_METHOD("TransferTicket"), false, &rq.base,
                       &helpdesk__v1__ticket__descriptor, (ProtobufCMessage **)&got, &c->err))
    return -1;
  if (out) *out = got;
  return 0;
}

int rt_ticket_list_owned(hd_call *c, const char *owner_id, const char *page_token,
                         Helpdesk__V1__ListTicketsResponse **out) {
  Helpdesk__V1__ListTicketsRequest rq = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 500;
  page.page_token = (char *)page_token;
  rq.owner_id = (char *)owner_id;
  rq.page = &page;
  return hd_peer_call_for(rt_app(c)->tickets, c, RT_TICKET_METHOD("ListTickets"), true, &rq.base,
                          &helpdesk__v1__list_tickets_response__descriptor,
                          (ProtobufCMessage **)out, &c->err);
}

int rt_ticket_release(hd_call *c, int64_t ticket_id, const char *department, const char *note,
                      Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__TransferTicketRequest rq = HELPDESK__V1__TRANSFER_TICKET_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  rq.department = (char *)(department ? department : "");
  rq.note = (char *)(note ? note : "");
  rq.release_to_queue = true;
  Helpdesk__V1__Ticket *got = NULL;
  if (hd_peer_call_for(rt_app(c)->tickets, c, RT_TICKET_METHOD("TransferTicket"), false, &rq.base,
                       &helpdesk__v1__ticket__descriptor, (ProtobufCMessage **)&got, &c->err))
    return -1;
  if (out) *out = got;
  return 0;
}

int rt_ticket_release_claimed(hd_peer *tickets, const hd_peer_call_opts *opts, int64_t ticket_id,
                              const char *agent_id, int64_t fence, hd_arena *arena,
                              Helpdesk__V1__Ticket **out, hd_err *err) {
  *out = NULL;
  Helpdesk__V1__GetTicketRequest gq = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  gq.ticket_id = ticket_id;
  hd_peer_call_opts read = *opts;
  read.idempotent = true;
  Helpdesk__V1__Ticket *t = NULL;
  if (hd_peer_call(tickets, RT_TICKET_METHOD("GetTicket"), &read, &gq.base,
                   &helpdesk__v1__ticket__descriptor, arena, (ProtobufCMessage **)&t, err))
    return -1;
  if (strcmp(t->owner_id, agent_id) != 0 || !rt_ticket_status_open(t->status)) return 0;
  Helpdesk__V1__TransferTicketRequest rq = HELPDESK__V1__TRANSFER_TICKET_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  rq.expected_version = t->version;
  rq.release_to_queue = true;
  rq.fence = fence;
  hd_peer_call_opts write = *opts;
  write.idempotent = false;
  return hd_peer_call(tickets, RT_TICKET_METHOD("TransferTicket"), &write, &rq.base,
                      &helpdesk__v1__ticket__descriptor, arena, (ProtobufCMessage **)out, err);
}

int rt_ticket_status_open(Helpdesk__V1__TicketStatus s) {
  return s != HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED &&
         s != HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CANCELLED &&
         s != HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_UNSPECIFIED;
}
