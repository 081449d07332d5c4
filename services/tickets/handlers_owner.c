/* Ownership and handling: transfer, assign, upgrade, urge, category: not built yet; each answers UNIMPLEMENTED until its handlers land. */
#include "ticket_handlers.h"

TICKETS_HANDLER(tickets_transfer_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "TransferTicket is not built yet");
}

TICKETS_HANDLER(tickets_assign_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "AssignTicket is not built yet");
}

TICKETS_HANDLER(tickets_upgrade_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "UpgradeTicket is not built yet");
}

TICKETS_HANDLER(tickets_urge_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "UrgeTicket is not built yet");
}

TICKETS_HANDLER(tickets_set_category) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "SetCategory is not built yet");
}
