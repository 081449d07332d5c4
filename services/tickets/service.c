/* The ticket service as the runtime runs it: its contract, handlers, migrations, settings and
 * background loops. main.c serves it; tests start it in-process with hd_fixture_start. */
#include "tickets_service.h"

#include "helpdesk/v1/tickets.pb-c.h"
#include "svc/outbox.h"
#include "ticket_handlers.h"
#include "ticket_timers.h"
#include "tickets_app.h"

extern const hd_migration tickets_migrations[];

/* Who may call what. ANYONE is any role (a token without one is refused); FOLLOWERS are people
 * who work tickets, not services or customers; routing's claim assigns as a service. */
#define ANYONE    (HD_ROLE_CUSTOMER | HD_ROLES_STAFF)
#define STAFF     HD_ROLES_STAFF
#define LEADS     (HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR)
#define FOLLOWERS (HD_ROLE_AGENT | LEADS)
#define ASSIGNERS (HD_ROLE_AGENT | LEADS | HD_ROLE_SERVICE)

/* The contract's methods, their handlers and the roles each requires (any of them), checked by
 * the dispatcher before the handler runs. The handlers check the finer rules on the ticket:
 * its customer (another customer's ticket is NOT_FOUND, so those RPCs take ANYONE and decide
 * after reading it), its owner, a tenant admin. */
static const hd_method_impl tickets__methods[] = {
    {"CreateTicket", tickets_create_ticket, 0, ANYONE, NULL},
    {"GetTicket", tickets_get_ticket, 0, ANYONE, NULL},
    {"ListTickets", tickets_list_tickets, 0, ANYONE, NULL},
    {"FollowTicket", tickets_follow_ticket, 0, FOLLOWERS,
     "following a ticket is for an agent, team_lead or supervisor"},
    {"UnfollowTicket", tickets_unfollow_ticket, 0, FOLLOWERS,
     "unfollowing a ticket is for an agent, team_lead or supervisor"},
    {"GetTicketHistory", tickets_get_ticket_history, 0, STAFF,
     "a ticket's history is for staff; customers see the conversation instead"},
    {"GetTenantSettings", tickets_get_tenant_settings, 0, STAFF, "tenant settings are for staff"},
    {"UpdateTenantSettings", tickets_update_tenant_settings, 0, HD_ROLE_TENANT_ADMIN,
     "changing tenant settings is for a tenant_admin"},
    {"ReplyToTicket", tickets_reply_to_ticket, 0, ANYONE, NULL},
    {"AddCustomerReply", tickets_add_customer_reply, 0, ANYONE, NULL},
    {"CloseTicket", tickets_close_ticket, 0, ANYONE, NULL},
    {"CancelTicket", tickets_cancel_ticket, 0, ANYONE, NULL},
    {"SuspendTicket", tickets_suspend_ticket, 0, ANYONE, NULL},
    {"ResumeTicket", tickets_resume_ticket, 0, ANYONE, NULL},
    {"RestartTicket", tickets_restart_ticket, 0, ANYONE, NULL},
    {"TransferTicket", tickets_transfer_ticket, 0, STAFF,
     "TransferTicket is for the ticket's owner or a team_lead or supervisor; customers cannot do "
     "it"},
    {"AssignTicket", tickets_assign_ticket, 0, ASSIGNERS,
     "AssignTicket is for a team_lead, supervisor or service (routing's claim); an agent may "
     "assign an unowned ticket to themself"},
    {"UpgradeTicket", tickets_upgrade_ticket, 0, STAFF,
     "UpgradeTicket is for the ticket's owner or a team_lead or supervisor; customers cannot do "
     "it"},
    {"UrgeTicket", tickets_urge_ticket, 0, ANYONE, NULL},
    {"SetCategory", tickets_set_category, 0, LEADS, "SetCategory is for a team_lead or supervisor"},
    {"AddComment", tickets_add_comment, 0, STAFF,
     "customers answer with AddCustomerReply (it moves the ticket to FEEDBACK and stops the "
     "follow-ups); AddComment is for staff"},
    {"ListComments", tickets_list_comments, 0, ANYONE, NULL},
    {"AddInternalRecord", tickets_add_internal_record, 0, ANYONE, NULL},
    {"ListInternalRecords", tickets_list_internal_records, 0, ANYONE, NULL},
    {"RecordConsent", tickets_record_consent, 0, STAFF, NULL},
    {"ListConsents", tickets_list_consents, 0, ANYONE, NULL},
    {"AddAttachment", tickets_add_attachment, 0, ANYONE, NULL},
    {"ListAttachments", tickets_list_attachments, 0, ANYONE, NULL},
    {"GetAttachment", tickets_get_attachment, 0, ANYONE, NULL},
    {"CreateTask", tickets_create_task, 0, STAFF,
     "CreateTask is for staff; case tasks are internal"},
    {"UpdateTask", tickets_update_task, 0, STAFF,
     "UpdateTask is for staff; case tasks are internal"},
    {"ListTasks", tickets_list_tasks, 0, STAFF, "ListTasks is for staff; case tasks are internal"},
    {"MergeTickets", tickets_merge_tickets, 0, STAFF,
     "MergeTickets is for the target's owner or a team_lead or supervisor; customers cannot "
     "merge tickets"},
    {"VerifyTicketAccount", tickets_verify_ticket_account, 0, STAFF,
     "VerifyTicketAccount is for the ticket's owner or a team_lead or supervisor; customers "
     "cannot verify accounts"},
    {"GetAccountVerification", tickets_get_account_verification, 0, ANYONE, NULL},
};

/* Streaming methods (rpc/stream.h). */
static const hd_stream_impl tickets__streams[] = {
    {"WatchTickets", tickets_watch_tickets, 0, STAFF,
     "the change feed is for staff and services; customers follow their own tickets with "
     "GetTicket and ListTickets"},
};

static const hd_loop_fn tickets__loops[] = {hd_outbox_relay_loop, tickets_timer_loop};

const hd_service_def tickets_service_def = {
    .name = "tickets",
    .default_port = 50051,
    .descriptor = &helpdesk__v1__ticket_service__descriptor,
    .methods = tickets__methods,
    .n_methods = sizeof tickets__methods / sizeof tickets__methods[0],
    .migrations = tickets_migrations,
    .setup = tickets_app_setup,
    .teardown = tickets_app_teardown,
    .loops = tickets__loops,
    .n_loops = sizeof tickets__loops / sizeof tickets__loops[0],
    .streams = tickets__streams,
    .n_streams = sizeof tickets__streams / sizeof tickets__streams[0],
};
