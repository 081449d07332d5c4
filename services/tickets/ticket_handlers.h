/* Every TicketService handler (an hd_handler_fn), by the file that implements it, spelled out so
 * that grep and ctags find them. service.c maps the contract's method names to them and says
 * which roles each requires. */
#ifndef TICKETS_TICKET_HANDLERS_H
#define TICKETS_TICKET_HANDLERS_H

#include "rpc/server.h"

/* handlers_ticket.c: Create, read and list tickets; following; history; tenant settings. */
int tickets_create_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_get_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_list_tickets(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_follow_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_unfollow_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_get_ticket_history(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_get_tenant_settings(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_update_tenant_settings(hd_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage *resp);

/* handlers_status.c: Replies and the status-changing case operations. */
int tickets_reply_to_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_add_customer_reply(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_close_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_cancel_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_suspend_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_resume_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_restart_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* handlers_owner.c: Ownership and handling: transfer, assign, upgrade, urge, category. */
int tickets_transfer_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_assign_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_upgrade_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_urge_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_set_category(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* handlers_records.c: The conversation, internal records and consents. */
int tickets_add_comment(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_list_comments(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_add_internal_record(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_list_internal_records(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp);
int tickets_record_consent(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_list_consents(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* handlers_attachments.c: Attachments. */
int tickets_add_attachment(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_list_attachments(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_get_attachment(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* handlers_tasks.c: Case tasks; handlers_merge.c: merging. */
int tickets_create_task(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_update_task(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_list_tasks(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int tickets_merge_tickets(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* handlers_verify.c: The customer's account and service verified before work. */
int tickets_verify_ticket_account(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp);
int tickets_get_account_verification(hd_call *call, const ProtobufCMessage *req,
                                     ProtobufCMessage *resp);

/* handlers_watch.c: WatchTickets, the change feed (a stream, rpc/stream.h). */
int tickets_watch_tickets(hd_call *call, hd_stream *st, const ProtobufCMessage *req);

#endif
