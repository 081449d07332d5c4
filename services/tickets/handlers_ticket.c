/* Create, read and list tickets; following; history; tenant settings: not built yet; each answers UNIMPLEMENTED until its handlers land. */
#include "ticket_handlers.h"

TICKETS_HANDLER(tickets_create_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "CreateTicket is not built yet");
}

TICKETS_HANDLER(tickets_get_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "GetTicket is not built yet");
}

TICKETS_HANDLER(tickets_list_tickets) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "ListTickets is not built yet");
}

TICKETS_HANDLER(tickets_follow_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "FollowTicket is not built yet");
}

TICKETS_HANDLER(tickets_unfollow_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "UnfollowTicket is not built yet");
}

TICKETS_HANDLER(tickets_get_ticket_history) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "GetTicketHistory is not built yet");
}

TICKETS_HANDLER(tickets_get_tenant_settings) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "GetTenantSettings is not built yet");
}

TICKETS_HANDLER(tickets_update_tenant_settings) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "UpdateTenantSettings is not built yet");
}
