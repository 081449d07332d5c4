/* The conversation, internal records and consents: not built yet; each answers UNIMPLEMENTED until its handlers land. */
#include "ticket_handlers.h"

TICKETS_HANDLER(tickets_add_comment) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "AddComment is not built yet");
}

TICKETS_HANDLER(tickets_list_comments) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "ListComments is not built yet");
}

TICKETS_HANDLER(tickets_add_internal_record) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "AddInternalRecord is not built yet");
}

TICKETS_HANDLER(tickets_list_internal_records) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "ListInternalRecords is not built yet");
}

TICKETS_HANDLER(tickets_record_consent) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "RecordConsent is not built yet");
}

TICKETS_HANDLER(tickets_list_consents) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "ListConsents is not built yet");
}
