/* Every TicketService handler (an hd_handler_fn), by the file that implements it. service.c maps
 * the contract's method names to them. */
#ifndef TICKETS_TICKET_HANDLERS_H
#define TICKETS_TICKET_HANDLERS_H

#include "rpc/server.h"

#define TICKETS_HANDLER(fn) \
  int fn(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp)

/* handlers_ticket.c: Create, read and list tickets; following; history; tenant settings. */
TICKETS_HANDLER(tickets_create_ticket);
TICKETS_HANDLER(tickets_get_ticket);
TICKETS_HANDLER(tickets_list_tickets);
TICKETS_HANDLER(tickets_follow_ticket);
TICKETS_HANDLER(tickets_unfollow_ticket);
TICKETS_HANDLER(tickets_get_ticket_history);
TICKETS_HANDLER(tickets_get_tenant_settings);
TICKETS_HANDLER(tickets_update_tenant_settings);

/* handlers_status.c: Replies and the status-changing case operations. */
TICKETS_HANDLER(tickets_reply_to_ticket);
TICKETS_HANDLER(tickets_add_customer_reply);
TICKETS_HANDLER(tickets_close_ticket);
TICKETS_HANDLER(tickets_cancel_ticket);
TICKETS_HANDLER(tickets_suspend_ticket);
TICKETS_HANDLER(tickets_resume_ticket);
TICKETS_HANDLER(tickets_restart_ticket);

/* handlers_owner.c: Ownership and handling: transfer, assign, upgrade, urge, category. */
TICKETS_HANDLER(tickets_transfer_ticket);
TICKETS_HANDLER(tickets_assign_ticket);
TICKETS_HANDLER(tickets_upgrade_ticket);
TICKETS_HANDLER(tickets_urge_ticket);
TICKETS_HANDLER(tickets_set_category);

/* handlers_records.c: The conversation, internal records and consents. */
TICKETS_HANDLER(tickets_add_comment);
TICKETS_HANDLER(tickets_list_comments);
TICKETS_HANDLER(tickets_add_internal_record);
TICKETS_HANDLER(tickets_list_internal_records);
TICKETS_HANDLER(tickets_record_consent);
TICKETS_HANDLER(tickets_list_consents);

/* handlers_attachments.c: Attachments. */
TICKETS_HANDLER(tickets_add_attachment);
TICKETS_HANDLER(tickets_list_attachments);
TICKETS_HANDLER(tickets_get_attachment);

/* handlers_tasks.c: Case tasks; handlers_merge.c: merging. */
TICKETS_HANDLER(tickets_create_task);
TICKETS_HANDLER(tickets_update_task);
TICKETS_HANDLER(tickets_list_tasks);
TICKETS_HANDLER(tickets_merge_tickets);

#endif
