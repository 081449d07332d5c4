/* A service action's calls to the ticket and routing services (service_action_peers.h). */
#include "service_action_peers.h"

#include "account_call.h"

#define SA_TICKETS(m) "/helpdesk.v1.TicketService/" m
#define SA_ESCALATE   "/helpdesk.v1.RoutingService/EscalateToDepartment"

int sa_peer_ticket(hd_call *c, int64_t ticket_id, Helpdesk__V1__Ticket **out, hd_err *err) {
  Helpdesk__V1__GetTicketRequest rq = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  return hd_peer_call_for(ac_app(c)->tickets, c, SA_TICKETS("GetTicket"), true, &rq.base,
                          &helpdesk__v1__ticket__descriptor, (ProtobufCMessage **)out, err);
}

int sa_peer_consents(hd_call *c, int64_t ticket_id, Helpdesk__V1__Consent ***out, size_t *n,
                     hd_err *err) {
  Helpdesk__V1__Consent **all = HD_ARENA_ARRAY(c->arena, Helpdesk__V1__Consent *, SA_CONSENTS_MAX);
  if (!all) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  size_t count = 0;
  const char *token = "";
  do {
    Helpdesk__V1__ListConsentsRequest rq = HELPDESK__V1__LIST_CONSENTS_REQUEST__INIT;
    Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
    page.page_size = 500;
    page.page_token = (char *)token;
    rq.ticket_id = ticket_id;
    rq.page = &page;
    Helpdesk__V1__ListConsentsResponse *got = NULL;
    if (hd_peer_call_for(ac_app(c)->tickets, c, SA_TICKETS("ListConsents"), true, &rq.base,
                         &helpdesk__v1__list_consents_response__descriptor,
                         (ProtobufCMessage **)&got, err))
      return -1;
    for (size_t i = 0; i < got->n_consents && count < SA_CONSENTS_MAX; i++)
      all[count++] = got->consents[i];
    token = got->page && got->page->next_page_token ? got->page->next_page_token : "";
  } while (token[0] && count < SA_CONSENTS_MAX);
  *out = all;
  *n = count;
  return 0;
}

int sa_peer_record(hd_call *c, int64_t ticket_id, const char *body, int64_t *id, hd_err *err) {
  Helpdesk__V1__AddInternalRecordRequest rq = HELPDESK__V1__ADD_INTERNAL_RECORD_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  rq.body = (char *)body;
  Helpdesk__V1__InternalRecord *got = NULL;
  if (hd_peer_call_for(ac_app(c)->tickets, c, SA_TICKETS("AddInternalRecord"), false, &rq.base,
                       &helpdesk__v1__internal_record__descriptor, (ProtobufCMessage **)&got, err))
    return -1;
  *id = got->id;
  return 0;
}

int sa_peer_attach(hd_call *c, int64_t ticket_id, const char *filename, const void *data,
                   size_t len, int64_t *id, hd_err *err) {
  Helpdesk__V1__AddAttachmentRequest rq = HELPDESK__V1__ADD_ATTACHMENT_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  rq.filename = (char *)filename;
  rq.content.data = (uint8_t *)data;
  rq.content.len = len;
  Helpdesk__V1__Attachment *got = NULL;
  if (hd_peer_call_for(ac_app(c)->tickets, c, SA_TICKETS("AddAttachment"), false, &rq.base,
                       &helpdesk__v1__attachment__descriptor, (ProtobufCMessage **)&got, err))
    return -1;
  *id = got->id;
  return 0;
}

int sa_peer_escalate(hd_call *c, int64_t ticket_id, const char *department,
                     Helpdesk__V1__EscalationMode mode, const char *context, const char *key,
                     int64_t *id, hd_err *err) {
  Helpdesk__V1__EscalateToDepartmentRequest rq = HELPDESK__V1__ESCALATE_TO_DEPARTMENT_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  rq.department = (char *)department;
  rq.mode = mode;
  rq.context = (char *)context;
  rq.idempotency_key = (char *)key;
  Helpdesk__V1__Escalation *got = NULL;
  if (hd_peer_call_for(ac_app(c)->routing, c, SA_ESCALATE, true, &rq.base,
                       &helpdesk__v1__escalation__descriptor, (ProtobufCMessage **)&got, err))
    return -1;
  *id = got->id;
  return 0;
}
