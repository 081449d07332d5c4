/* Replies and the status-changing case operations: not built yet; each answers UNIMPLEMENTED until its handlers land. */
#include "ticket_handlers.h"

TICKETS_HANDLER(tickets_reply_to_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "ReplyToTicket is not built yet");
}

TICKETS_HANDLER(tickets_add_customer_reply) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "AddCustomerReply is not built yet");
}

TICKETS_HANDLER(tickets_close_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "CloseTicket is not built yet");
}

TICKETS_HANDLER(tickets_cancel_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "CancelTicket is not built yet");
}

TICKETS_HANDLER(tickets_suspend_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "SuspendTicket is not built yet");
}

TICKETS_HANDLER(tickets_resume_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "ResumeTicket is not built yet");
}

TICKETS_HANDLER(tickets_restart_ticket) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "RestartTicket is not built yet");
}
