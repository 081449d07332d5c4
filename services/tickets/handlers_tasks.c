/* Case tasks and merging: not built yet; each answers UNIMPLEMENTED until its handlers land. */
#include "ticket_handlers.h"

TICKETS_HANDLER(tickets_create_task) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "CreateTask is not built yet");
}

TICKETS_HANDLER(tickets_update_task) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "UpdateTask is not built yet");
}

TICKETS_HANDLER(tickets_list_tasks) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "ListTasks is not built yet");
}

TICKETS_HANDLER(tickets_merge_tickets) {
  (void)req;
  (void)resp;
  return hd_err_set(&call->err, HD_UNIMPLEMENTED, "MergeTickets is not built yet");
}
