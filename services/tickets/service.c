/* The ticket service as the runtime runs it: its contract, handlers, migrations, settings and
 * background loops. main.c serves it; tests start it in-process with hd_fixture_start. */
#include "tickets_service.h"

#include <stdlib.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "svc/outbox.h"
#include "ticket_handlers.h"
#include "ticket_timers.h"
#include "tickets_config.h"

extern const hd_migration tickets_migrations[];

static const hd_method_impl tickets__methods[] = {
    {"CreateTicket", tickets_create_ticket, 0},
    {"GetTicket", tickets_get_ticket, 0},
    {"ListTickets", tickets_list_tickets, 0},
    {"FollowTicket", tickets_follow_ticket, 0},
    {"UnfollowTicket", tickets_unfollow_ticket, 0},
    {"GetTicketHistory", tickets_get_ticket_history, 0},
    {"GetTenantSettings", tickets_get_tenant_settings, 0},
    {"UpdateTenantSettings", tickets_update_tenant_settings, 0},
    {"ReplyToTicket", tickets_reply_to_ticket, 0},
    {"AddCustomerReply", tickets_add_customer_reply, 0},
    {"CloseTicket", tickets_close_ticket, 0},
    {"CancelTicket", tickets_cancel_ticket, 0},
    {"SuspendTicket", tickets_suspend_ticket, 0},
    {"ResumeTicket", tickets_resume_ticket, 0},
    {"RestartTicket", tickets_restart_ticket, 0},
    {"TransferTicket", tickets_transfer_ticket, 0},
    {"AssignTicket", tickets_assign_ticket, 0},
    {"UpgradeTicket", tickets_upgrade_ticket, 0},
    {"UrgeTicket", tickets_urge_ticket, 0},
    {"SetCategory", tickets_set_category, 0},
    {"AddComment", tickets_add_comment, 0},
    {"ListComments", tickets_list_comments, 0},
    {"AddInternalRecord", tickets_add_internal_record, 0},
    {"ListInternalRecords", tickets_list_internal_records, 0},
    {"RecordConsent", tickets_record_consent, 0},
    {"ListConsents", tickets_list_consents, 0},
    {"AddAttachment", tickets_add_attachment, 0},
    {"ListAttachments", tickets_list_attachments, 0},
    {"GetAttachment", tickets_get_attachment, 0},
    {"CreateTask", tickets_create_task, 0},
    {"UpdateTask", tickets_update_task, 0},
    {"ListTasks", tickets_list_tasks, 0},
    {"MergeTickets", tickets_merge_tickets, 0},
};

/* Reads HELPDESK_TICKETS_* into env->app (freed by tickets__teardown). */
static int tickets__setup(hd_svc_env *env, hd_err *err) {
  tickets_config *cfg = calloc(1, sizeof *cfg);
  if (!cfg) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  if (tickets_config_load(cfg, err)) {
    free(cfg);
    return -1;
  }
  env->app = cfg;
  return 0;
}

static void tickets__teardown(hd_svc_env *env) {
  free(env->app);
  env->app = NULL;
}

static const hd_loop_fn tickets__loops[] = {hd_outbox_relay_loop, tickets_timer_loop};

const hd_service_def tickets_service_def = {
    .name = "tickets",
    .default_port = 50051,
    .descriptor = &helpdesk__v1__ticket_service__descriptor,
    .methods = tickets__methods,
    .n_methods = sizeof tickets__methods / sizeof tickets__methods[0],
    .migrations = tickets_migrations,
    .setup = tickets__setup,
    .teardown = tickets__teardown,
    .loops = tickets__loops,
    .n_loops = sizeof tickets__loops / sizeof tickets__loops[0],
};
