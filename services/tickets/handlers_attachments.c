/* Attachments: not built yet; each answers UNIMPLEMENTED until its handlers land. */
#include "ticket_handlers.h"

TICKETS_HANDLER(tickets_add_attachment) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "AddAttachment is not built yet");
}

TICKETS_HANDLER(tickets_list_attachments) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "ListAttachments is not built yet");
}

TICKETS_HANDLER(tickets_get_attachment) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "GetAttachment is not built yet");
}
