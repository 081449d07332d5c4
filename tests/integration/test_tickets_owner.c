/* TransferTicket, AssignTicket, UpgradeTicket, UrgeTicket and SetCategory through real gRPC calls
 * against the in-process ticket service (real MariaDB and Redis): who may do each, the open-only
 * rule, every input limit at its edge and one past it, the routing fence, the upgrade flag, the
 * reminder channel, and that every refused call leaves the database exactly as it was.
 *
 * Set-up goes through the real RPCs too (ticket_fixture): tickets are opened with CreateTicket,
 * owned through AssignTicket, closed, cancelled or suspended through the case RPCs, read back with
 * GetTicket, and the reminder channel is set with UpdateTenantSettings. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ticket_fixture.h"

/* ---- calls (each keeps its message in x->err) ---- */

static hd_code transfer(tf *x, const char *token, int64_t id, int64_t expected, const char *owner,
                        const char *department, const char *note, Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__TransferTicketRequest rq = HELPDESK__V1__TRANSFER_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.expected_version = expected;
  rq.new_owner_id = (char *)owner;
  rq.department = (char *)(department ? department : "");
  rq.note = (char *)(note ? note : "");
  return tf_call(x, "TransferTicket", token, &rq.base, &helpdesk__v1__ticket__descriptor, out,
                 NULL);
}

static hd_code assign(tf *x, const char *token, int64_t id, const char *owner, int64_t fence,
                      Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.owner_id = (char *)owner;
  rq.fence = fence;
  return tf_call(x, "AssignTicket", token, &rq.base, &helpdesk__v1__ticket__descriptor, out, NULL);
}

static hd_code assign_req(tf *x, const char *token, Helpdesk__V1__AssignTicketRequest *rq,
                          Helpdesk__V1__Ticket **out) {
  return tf_call(x, "AssignTicket", token, &rq->base, &helpdesk__v1__ticket__descriptor, out, NULL);
}

static hd_code upgrade(tf *x, const char *token, int64_t id, int64_t expected,
                       Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__UpgradeTicketRequest rq = HELPDESK__V1__UPGRADE_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.expected_version = expected;
  return tf_call(x, "UpgradeTicket", token, &rq.base, &helpdesk__v1__ticket__descriptor, out, NULL);
}

static hd_code urge(tf *x, const char *token, int64_t id, int channel, Helpdesk__V1__Urge **out) {
  Helpdesk__V1__UrgeTicketRequest rq = HELPDESK__V1__URGE_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.channel = (Helpdesk__V1__ReminderChannel)channel;
  return tf_call(x, "UrgeTicket", token, &rq.base, &helpdesk__v1__urge__descriptor, out, NULL);
}

static hd_code set_category(tf *x, const char *token, int64_t id, int64_t expected, int category,
                            Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__SetCategoryRequest rq = HELPDESK__V1__SET_CATEGORY_REQUEST__INIT;
  rq.ticket_id = id;
  rq.expected_version = expected;
  rq.category = (Helpdesk__V1__Category)category;
  return tf_call(x, "SetCategory", token, &rq.base, &helpdesk__v1__ticket__descriptor, out, NULL);
}

/* TransferTicket with release_to_queue (no new owner): back to the queue of department (NULL:
 * its own). */
static hd_code release(tf *x, const char *token, int64_t id, const char *department,
                       const char *note, int64_t fence, Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__TransferTicketRequest rq = HELPDESK__V1__TRANSFER_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.department = (char *)(department ? department : "");
  rq.note = (char *)(note ? note : "");
  rq.release_to_queue = true;
  rq.fence = fence;
  return tf_call(x, "TransferTicket", token, &rq.base, &helpdesk__v1__ticket__descriptor, out,
                 NULL);
}

/* ReplyToTicket as token with intent (a plain body), failing the test unless it succeeds. */
static void must_reply(tf *x, const char *token, int64_t id, Helpdesk__V1__ReplyIntent intent) {
  Helpdesk__V1__ReplyToTicketRequest rq = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.intent = intent;
  rq.body = "Working on it.";
  TF_OK(x, tf_call(x, "ReplyToTicket", token, &rq.base,
                   &helpdesk__v1__reply_to_ticket_response__descriptor, NULL, NULL));
}

/* A new ticket of cust-1, opened by them, nobody's yet. */
static int64_t new_ticket(tf *x, const char *subject) {
  return tf_create(x, x->customer, NULL, subject)->id;
}

/* A ticket of cust-1 owned by agent-1 (assigned by the team lead). */
static int64_t owned_ticket(tf *x, const char *subject) {
  const int64_t id = new_ticket(x, subject);
  tf_assign(x, id, "agent-1");
  return id;
}

/* ---- TransferTicket ---- */

static void test_transfer_is_for_the_owner_a_team_lead_or_a_supervisor(void **state) {
  tf *x = *state;
  const int64_t id = owned_ticket(x, "Transfer me");
  TF_REFUSED(x, HD_PERMISSION_DENIED, transfer(x, x->agent2, id, 0, "agent-2", NULL, NULL, NULL));
  tf_expect_err_has(x, "owned by agent-1");
  TF_REFUSED(x, HD_PERMISSION_DENIED, transfer(x, x->admin, id, 0, "agent-2", NULL, NULL, NULL));
  TF_REFUSED(x, HD_PERMISSION_DENIED, transfer(x, x->service, id, 0, "agent-2", NULL, NULL, NULL));
  TF_REFUSED(x, HD_PERMISSION_DENIED, transfer(x, x->customer, id, 0, "agent-2", NULL, NULL, NULL));
  TF_REFUSED(x, HD_NOT_FOUND, transfer(x, x->other_tenant, id, 0, "agent-2", NULL, NULL, NULL));

  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, transfer(x, x->agent, id, 0, "agent-2", NULL, NULL, &t));
  assert_string_equal(t->owner_id, "agent-2");
  TF_OK(x, transfer(x, x->lead, id, 0, "agent-1", NULL, NULL, &t));
  assert_string_equal(t->owner_id, "agent-1");
  TF_OK(x, transfer(x, x->supervisor, id, t->version, "agent-2", NULL, NULL, &t));
  assert_string_equal(t->owner_id, "agent-2");
  assert_int_equal(tf_events(x, TICKET_EVENT_TRANSFERRED, id), 3);
}

static void test_transfer_changes_owner_and_department_and_keeps_note_as_internal_record(
    void **state) {
  tf *x = *state;
  const int64_t id = owned_ticket(x, "Hand-over");
  const Helpdesk__V1__Ticket *before = tf_get(x, x->lead, id);
  /* 20,000 characters of two-byte text: the note's limit counts characters, not bytes. */
  char *note = tf_repeat(x, "é", 20000);
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, transfer(x, x->agent, id, before->version, "agent-2", "billing", note, &t));
  assert_string_equal(t->owner_id, "agent-2");
  assert_string_equal(t->department, "billing");
  assert_int_equal(t->status, before->status); /* a transfer never changes the status */
  assert_int_equal(t->version, before->version + 1);
  assert_int_equal(
      tf_sqlf(x, "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64, id), 1);
  assert_int_equal(tf_sqlf(x,
                           "SELECT CHAR_LENGTH(body) FROM internal_records WHERE ticket_id = "
                           "%" PRId64 " AND author_id = 'agent-1'",
                           id),
                   20000);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'TRANSFER' AND field IN ('owner_id', 'department', "
                           "'internal_record')",
                           id),
                   3);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.transferred' AND payload LIKE "
                           "'%%\"from_owner_id\":\"agent-1\"%%' AND payload LIKE "
                           "'%%\"to_owner_id\":\"agent-2\"%%'",
                           id),
                   1);
  /* Without a note no record is written. */
  TF_OK(x, transfer(x, x->agent2, id, 0, "agent-1", NULL, NULL, &t));
  assert_string_equal(t->department, "billing"); /* empty department = unchanged */
  assert_int_equal(
      tf_sqlf(x, "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64, id), 1);
}

static void test_transfer_inputs_at_their_limits_and_one_past(void **state) {
  tf *x = *state;
  const int64_t id = owned_ticket(x, "Limits");
  char *owner128 = tf_repeat(x, "a", 128), *owner129 = tf_repeat(x, "a", 129);
  char *dept64 = tf_repeat(x, "d", 64), *dept65 = tf_repeat(x, "d", 65);
  char *note20001 = tf_repeat(x, "é", 20001);
  TF_REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->agent, id, 0, owner129, NULL, NULL, NULL));
  tf_expect_err_has(x, "new_owner_id has 129 characters; at most 128");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->agent, id, 0, "", NULL, NULL, NULL));
  tf_expect_err_has(x, "new_owner_id is required");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->agent, id, 0, "agent-2", dept65, NULL, NULL));
  tf_expect_err_has(x, "department has 65 characters");
  TF_REFUSED(x, HD_INVALID_ARGUMENT,
             transfer(x, x->agent, id, 0, "agent-2", NULL, note20001, NULL));
  tf_expect_err_has(x, "note has 20001 characters; at most 20000");
  TF_REFUSED(x, HD_INVALID_ARGUMENT,
             transfer(x, x->agent, id, 0, "agent-2", NULL, "bad \xff", NULL));
  tf_expect_err_has(x, "note is not valid UTF-8");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->agent, 0, 0, "agent-2", NULL, NULL, NULL));
  TF_REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->agent, id, -1, "agent-2", NULL, NULL, NULL));
  TF_REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->agent, id, 0, "agent-1", NULL, NULL, NULL));
  tf_expect_err_has(x, "already owned by agent-1");
  TF_REFUSED(x, HD_NOT_FOUND, transfer(x, x->lead, 999999, 0, "agent-2", NULL, NULL, NULL));
  /* A stale version: the ticket moved on since the caller read it. */
  const int64_t v = tf_get(x, x->lead, id)->version;
  TF_REFUSED(x, HD_ABORTED, transfer(x, x->agent, id, v - 1, "agent-2", NULL, NULL, NULL));
  tf_expect_err_has(x, "was changed by someone else");
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, transfer(x, x->agent, id, v, owner128, dept64, NULL, &t));
  assert_string_equal(t->owner_id, owner128);
  assert_string_equal(t->department, dept64);
}

/* ---- forbidden states ---- */

static void test_transfer_assign_upgrade_and_urge_refuse_a_closed_or_cancelled_ticket(
    void **state) {
  tf *x = *state;
  const int64_t id = owned_ticket(x, "Done already");
  tf_put_settings(x, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_EMAIL, "reminders@acme.test",
                  "");
  tf_set_status(x, id, TF_STATUS(CLOSED));
  TF_REFUSED(x, HD_FAILED_PRECONDITION, transfer(x, x->lead, id, 0, "agent-2", NULL, NULL, NULL));
  tf_expect_err_has(x, "TransferTicket is not possible on a ticket in status CLOSED");
  TF_REFUSED(x, HD_FAILED_PRECONDITION, assign(x, x->lead, id, "agent-2", 0, NULL));
  tf_expect_err_has(x, "AssignTicket is not possible on a ticket in status CLOSED");
  TF_REFUSED(x, HD_FAILED_PRECONDITION, upgrade(x, x->agent, id, 0, NULL));
  tf_expect_err_has(x, "UpgradeTicket is not possible on a ticket in status CLOSED");
  TF_REFUSED(x, HD_FAILED_PRECONDITION, urge(x, x->customer, id, 0, NULL));
  tf_expect_err_has(x, "UrgeTicket is not possible on a ticket in status CLOSED");
  tf_set_status(x, id, TF_STATUS(CANCELLED)); /* restarted, then cancelled */
  TF_REFUSED(x, HD_FAILED_PRECONDITION, transfer(x, x->agent, id, 0, "agent-2", NULL, NULL, NULL));
  tf_expect_err_has(x, "status CANCELLED");
  TF_REFUSED(x, HD_FAILED_PRECONDITION, upgrade(x, x->supervisor, id, 0, NULL));
  /* A SUSPENDED ticket is open: it can still change hands. */
  tf_set_status(x, id, TF_STATUS(SUSPENDED)); /* restarted (PROCESSING), then suspended */
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, transfer(x, x->agent, id, 0, "agent-2", NULL, NULL, &t));
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SUSPENDED);
}

/* ---- AssignTicket ---- */

static void test_assign_is_for_team_leads_supervisors_and_routing(void **state) {
  tf *x = *state;
  const int64_t id = new_ticket(x, "Route me");
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, assign(x, x->lead, id, "agent-1", 0, &t));
  assert_string_equal(t->owner_id, "agent-1");
  assert_int_equal(t->version, 2);
  TF_OK(x, assign(x, x->supervisor, id, "agent-2", 0, &t));
  assert_string_equal(t->owner_id, "agent-2");
  TF_OK(x, assign(x, x->service, id, "agent-1", 0, &t));
  assert_string_equal(t->owner_id, "agent-1");
  assert_int_equal(tf_events(x, TICKET_EVENT_ASSIGNED, id), 3);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'ASSIGN' AND field = 'owner_id'",
                           id),
                   3);
  TF_REFUSED(x, HD_PERMISSION_DENIED, assign(x, x->customer, id, "agent-1", 0, NULL));
  TF_REFUSED(x, HD_PERMISSION_DENIED, assign(x, x->admin, id, "agent-1", 0, NULL));
  TF_REFUSED(x, HD_NOT_FOUND, assign(x, x->other_tenant, id, "agent-9", 0, NULL));
}

static void test_agent_may_assign_only_an_unowned_ticket_to_themself(void **state) {
  tf *x = *state;
  const int64_t id = new_ticket(x, "Unowned");
  TF_REFUSED(x, HD_PERMISSION_DENIED, assign(x, x->agent, id, "agent-2", 0, NULL));
  tf_expect_err_has(x, "only assign a ticket to themself");
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, assign(x, x->agent, id, "agent-1", 0, &t));
  assert_string_equal(t->owner_id, "agent-1");
  /* Owned now: neither the other agent nor the owner takes it through AssignTicket. */
  TF_REFUSED(x, HD_PERMISSION_DENIED, assign(x, x->agent2, id, "agent-2", 0, NULL));
  tf_expect_err_has(x, "owned by agent-1");
  TF_REFUSED(x, HD_PERMISSION_DENIED, assign(x, x->agent, id, "agent-1", 0, NULL));
}

static void test_assign_with_a_stale_fence_is_aborted(void **state) {
  tf *x = *state;
  const int64_t id = new_ticket(x, "Claimed by routing");
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, assign(x, x->service, id, "agent-1", 5, &t));
  TF_REFUSED(x, HD_ABORTED, assign(x, x->service, id, "agent-2", 3, NULL));
  tf_expect_err_has(x, "fence 3 is not greater than 5");
  TF_REFUSED(x, HD_ABORTED, assign(x, x->service, id, "agent-2", 5, NULL));
  TF_OK(x, assign(x, x->service, id, "agent-2", 7, &t));
  assert_string_equal(t->owner_id, "agent-2");
  assert_int_equal(tf_sqlf(x, "SELECT fence FROM tickets WHERE id = %" PRId64, id), 7);
  TF_REFUSED(x, HD_ABORTED, assign(x, x->lead, id, "agent-1", 6, NULL));
  /* Without a fence (a team lead's own assignment) the fence is not checked. */
  TF_OK(x, assign(x, x->lead, id, "agent-1", 0, &t));
  assert_int_equal(tf_sqlf(x, "SELECT fence FROM tickets WHERE id = %" PRId64, id), 7);
  TF_REFUSED(x, HD_INVALID_ARGUMENT, assign(x, x->service, id, "agent-2", -1, NULL));
}

static void test_assign_inputs_at_their_limits_and_one_past(void **state) {
  tf *x = *state;
  const int64_t id = new_ticket(x, "Assign limits");
  char *owner128 = tf_repeat(x, "o", 128), *owner129 = tf_repeat(x, "o", 129);
  char *dept64 = tf_repeat(x, "d", 64), *dept65 = tf_repeat(x, "d", 65);
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.owner_id = owner129;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, assign_req(x, x->lead, &rq, NULL));
  tf_expect_err_has(x, "owner_id has 129 characters");
  rq.owner_id = "";
  TF_REFUSED(x, HD_INVALID_ARGUMENT, assign_req(x, x->lead, &rq, NULL));
  rq.owner_id = owner128;
  rq.department = dept65;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, assign_req(x, x->lead, &rq, NULL));
  rq.department = dept64;
  rq.expected_version = 9;
  TF_REFUSED(x, HD_ABORTED, assign_req(x, x->lead, &rq, NULL));
  tf_expect_err_has(x, "version is now 1, you sent 9");
  rq.expected_version = 1;
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, assign_req(x, x->lead, &rq, &t));
  assert_string_equal(t->owner_id, owner128);
  assert_string_equal(t->department, dept64);
}

/* ---- UpgradeTicket ---- */

static void test_upgrade_raises_the_level_and_flags_the_title_each_time(void **state) {
  tf *x = *state;
  const int64_t id = owned_ticket(x, "Mail bounces");
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, upgrade(x, x->agent, id, 0, &t));
  assert_int_equal(t->level, 2);
  assert_string_equal(t->title, "[Upgraded L2] Mail bounces");
  assert_string_equal(t->subject, "Mail bounces");
  TF_OK(x, upgrade(x, x->lead, id, t->version, &t));
  assert_int_equal(t->level, 3);
  assert_string_equal(t->title, "[Upgraded L3] Mail bounces");
  assert_string_equal(t->subject, "Mail bounces");
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'UPGRADE' AND ((field = 'level' AND to_value IN ('2', '3')) "
                           "OR (field = 'title' AND to_value LIKE '[Upgraded L_] Mail bounces'))",
                           id),
                   4);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.escalated' AND payload LIKE '%%\"level\":3%%'",
                           id),
                   1);
  TF_OK(x, upgrade(x, x->supervisor, id, 0, &t));
  assert_string_equal(t->title, "[Upgraded L4] Mail bounces");
  TF_REFUSED(x, HD_ABORTED, upgrade(x, x->agent, id, t->version - 1, NULL));
}

static void test_upgrade_is_for_the_owner_a_team_lead_or_a_supervisor(void **state) {
  tf *x = *state;
  const int64_t id = owned_ticket(x, "Upgrade rights");
  TF_REFUSED(x, HD_PERMISSION_DENIED, upgrade(x, x->agent2, id, 0, NULL));
  TF_REFUSED(x, HD_PERMISSION_DENIED, upgrade(x, x->admin, id, 0, NULL));
  TF_REFUSED(x, HD_PERMISSION_DENIED, upgrade(x, x->service, id, 0, NULL));
  TF_REFUSED(x, HD_PERMISSION_DENIED, upgrade(x, x->customer, id, 0, NULL));
  TF_REFUSED(x, HD_NOT_FOUND, upgrade(x, x->other_tenant, id, 0, NULL));
  TF_REFUSED(x, HD_INVALID_ARGUMENT, upgrade(x, x->agent, 0, 0, NULL));
  /* Unowned: only a team lead or supervisor. */
  const int64_t unowned = new_ticket(x, "Nobody's");
  TF_REFUSED(x, HD_PERMISSION_DENIED, upgrade(x, x->agent, unowned, 0, NULL));
  tf_expect_err_has(x, "has no owner yet");
  TF_OK(x, upgrade(x, x->lead, unowned, 0, NULL));
}

/* ---- UrgeTicket ---- */

static void test_urge_is_refused_until_the_tenant_configures_a_reminder_channel(void **state) {
  tf *x = *state;
  const int64_t unowned = new_ticket(x, "No owner");
  TF_REFUSED(x, HD_FAILED_PRECONDITION, urge(x, x->customer, unowned, 0, NULL));
  tf_expect_err_has(x, "has no owner to remind yet");
  const int64_t id = owned_ticket(x, "Remind the owner");
  TF_REFUSED(x, HD_FAILED_PRECONDITION, urge(x, x->customer, id, 0, NULL));
  tf_expect_err_has(x,
                    "tenant acme has no reminder channel configured; a tenant_admin sets one "
                    "with UpdateTenantSettings");
  /* Settings written without a channel are no configuration either. */
  tf_put_settings(x, 0, "", "");
  TF_REFUSED(x, HD_FAILED_PRECONDITION, urge(x, x->agent2, id, 0, NULL));
  tf_expect_err_has(x, "no reminder channel configured");
}

static void test_urge_records_a_reminder_to_the_owner_and_an_outbox_event(void **state) {
  tf *x = *state;
  const int64_t id = owned_ticket(x, "Near its due time");
  tf_put_settings(x, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_SMS, "+15550100", "");
  const int64_t version = tf_get(x, x->lead, id)->version;
  Helpdesk__V1__Urge *u = NULL;
  TF_OK(x, urge(x, x->customer, id, 0, &u));
  assert_true(u->id > 0);
  assert_int_equal(u->ticket_id, id);
  assert_int_equal(u->channel, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_SMS);
  assert_string_equal(u->recipient_id, "agent-1");
  assert_string_equal(u->requested_by, "cust-1");
  assert_int_equal(u->create_time_us, tf_now(x));
  assert_int_equal(tf_get(x, x->lead, id)->version, version + 1);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM urges WHERE ticket_id = %" PRId64 " AND channel "
                           "= 'SMS' AND recipient_id = 'agent-1' AND requested_by = 'cust-1'",
                           id),
                   1);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.urged' AND payload LIKE '%%\"urge_id\":%" PRId64
                           "%%' AND payload LIKE '%%\"channel\":\"SMS\"%%' AND payload LIKE "
                           "'%%\"recipient_id\":\"agent-1\"%%'",
                           id, u->id),
                   1);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'URGE' AND field = 'urge' AND to_value = '%" PRId64 "'",
                           id, u->id),
                   1);
  /* The phone number reaches the notifier through the event, never the history. */
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "(to_value LIKE '%%5550100%%' OR from_value LIKE '%%5550100%%')",
                           id),
                   0);
  /* A second reminder within the cooldown (15 minutes by default) is refused, writing nothing. */
  TF_REFUSED(x, HD_FAILED_PRECONDITION,
             urge(x, x->agent2, id, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_SMS, NULL));
  tf_expect_err_has(x, "the next reminder can be sent in 900 s");
  hd_clock_advance(&x->f.clock, 15 * 60 * HD_US_PER_S);
  /* Any staff may urge, naming the configured channel; another channel has no target. */
  TF_OK(x, urge(x, x->agent2, id, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_SMS, &u));
  assert_string_equal(u->requested_by, "agent-2");
  TF_REFUSED(x, HD_FAILED_PRECONDITION,
             urge(x, x->lead, id, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_EMAIL, NULL));
  tf_expect_err_has(x, "sends reminders by SMS only");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, urge(x, x->lead, id, 9, NULL));
  /* Another customer's ticket does not exist for them; another tenant's neither. */
  TF_REFUSED(x, HD_NOT_FOUND, urge(x, x->customer2, id, 0, NULL));
  TF_REFUSED(x, HD_NOT_FOUND, urge(x, x->other_tenant, id, 0, NULL));
  assert_int_equal(tf_sqlf(x, "SELECT COUNT(*) FROM urges WHERE ticket_id = %" PRId64, id), 2);
}

/* ---- SetCategory ---- */

static void test_set_category_is_for_team_leads_and_supervisors_only(void **state) {
  tf *x = *state;
  const int64_t id = owned_ticket(x, "How hard is it");
  const int hard = HELPDESK__V1__CATEGORY__CATEGORY_HARD;
  TF_REFUSED(x, HD_PERMISSION_DENIED, set_category(x, x->agent, id, 0, hard, NULL)); /* owner */
  tf_expect_err_has(x, "team_lead or supervisor");
  TF_REFUSED(x, HD_PERMISSION_DENIED, set_category(x, x->admin, id, 0, hard, NULL));
  TF_REFUSED(x, HD_PERMISSION_DENIED, set_category(x, x->service, id, 0, hard, NULL));
  TF_REFUSED(x, HD_PERMISSION_DENIED, set_category(x, x->customer, id, 0, hard, NULL));
  TF_REFUSED(x, HD_NOT_FOUND, set_category(x, x->other_tenant, id, 0, hard, NULL));
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, set_category(x, x->lead, id, 0, hard, &t));
  assert_int_equal(t->category, HELPDESK__V1__CATEGORY__CATEGORY_HARD);
  TF_OK(x,
        set_category(x, x->supervisor, id, t->version, HELPDESK__V1__CATEGORY__CATEGORY_LOWER, &t));
  assert_int_equal(t->category, HELPDESK__V1__CATEGORY__CATEGORY_LOWER);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'SET_CATEGORY' AND field = 'category' AND ((from_value = '' "
                           "AND to_value = 'HARD') OR (from_value = 'HARD' AND to_value = "
                           "'LOWER'))",
                           id),
                   2);
  assert_int_equal(tf_events(x, TICKET_EVENT_CATEGORY_SET, id), 2);
}

static void test_set_category_requires_a_defined_category_and_a_current_version(void **state) {
  tf *x = *state;
  const int64_t id = owned_ticket(x, "Categories");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, set_category(x, x->lead, id, 0, 0, NULL));
  tf_expect_err_has(x, "category is required");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, set_category(x, x->lead, id, 0, 4, NULL));
  tf_expect_err_has(x, "category has no value 4");
  TF_REFUSED(x, HD_ABORTED,
             set_category(x, x->lead, id, 1, HELPDESK__V1__CATEGORY__CATEGORY_MEDIUM, NULL));
  /* A finished ticket is still categorised for the KPI. */
  tf_set_status(x, id, TF_STATUS(CLOSED));
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, set_category(x, x->lead, id, 0, HELPDESK__V1__CATEGORY__CATEGORY_MEDIUM, &t));
  assert_int_equal(t->category, HELPDESK__V1__CATEGORY__CATEGORY_MEDIUM);
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
}

/* ---- the move to Level 2 (SOP 3.3) and routing's department moves ---- */

static void test_transfer_to_escalated_without_a_note_is_refused_and_with_one_keeps_it(
    void **state) {
  tf *x = *state;
  const int64_t id = owned_ticket(x, "Needs Level 2");
  TF_REFUSED(x, HD_FAILED_PRECONDITION,
             transfer(x, x->agent, id, 0, "agent-2", "ESCALATED", NULL, NULL));
  tf_expect_err_has(x, "needs the investigation details as a note");
  TF_REFUSED(x, HD_FAILED_PRECONDITION,
             transfer(x, x->lead, id, 0, "agent-2", "ESCALATED", " \t\n ", NULL));
  /* AssignTicket carries no note: it cannot move a ticket to ESCALATED at all. */
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.owner_id = "agent-2";
  rq.department = "ESCALATED";
  TF_REFUSED(x, HD_FAILED_PRECONDITION, assign_req(x, x->lead, &rq, NULL));
  tf_expect_err_has(x, "AssignTicket cannot move ticket");
  TF_REFUSED(x, HD_FAILED_PRECONDITION, assign_req(x, x->service, &rq, NULL));
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, transfer(x, x->agent, id, 0, "agent-2", "ESCALATED", "Reproduced on two hosts", &t));
  assert_string_equal(t->department, "ESCALATED");
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64
                           " AND body = 'Reproduced on two hosts'",
                           id),
                   1);
  /* Within ESCALATED the rule does not apply again: Level 2 passes it on among itself. */
  TF_OK(x, transfer(x, x->agent2, id, 0, "agent-1", NULL, NULL, &t));
  assert_string_equal(t->department, "ESCALATED");
}

static void test_service_moves_a_ticket_to_another_department_keeping_its_owner(void **state) {
  tf *x = *state;
  const int64_t id = owned_ticket(x, "Route me");
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, transfer(x, x->service, id, 0, "agent-1", "BILLING", NULL, &t));
  assert_string_equal(t->owner_id, "agent-1");
  assert_string_equal(t->department, "BILLING");
  /* Without a department change it is still a hand-over to another agent: not a service's. */
  TF_REFUSED(x, HD_PERMISSION_DENIED,
             transfer(x, x->service, id, 0, "agent-2", "BILLING", NULL, NULL));
  TF_REFUSED(x, HD_INVALID_ARGUMENT,
             transfer(x, x->agent, id, 0, "agent-1", "BILLING", NULL, NULL));
  tf_expect_err_has(x, "already owned by agent-1");
  /* The service writes an internal record (a consultation's note) it cannot read back. */
  Helpdesk__V1__AddInternalRecordRequest rr = HELPDESK__V1__ADD_INTERNAL_RECORD_REQUEST__INIT;
  rr.ticket_id = id;
  rr.body = "Consulted DOMAIN";
  TF_OK(x, tf_call(x, "AddInternalRecord", x->service, &rr.base,
                   &helpdesk__v1__internal_record__descriptor, NULL, NULL));
  Helpdesk__V1__ListInternalRecordsRequest lr = HELPDESK__V1__LIST_INTERNAL_RECORDS_REQUEST__INIT;
  lr.ticket_id = id;
  TF_REFUSED(x, HD_PERMISSION_DENIED,
             tf_call(x, "ListInternalRecords", x->service, &lr.base,
                     &helpdesk__v1__list_internal_records_response__descriptor, NULL, NULL));
}

/* ---- TransferTicket with release_to_queue ---- */

#define INTENT(name) HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_##name

/* A ticket owned by agent-1 brought to status (worked ones through agent-1's own replies). */
static int64_t owned_in(tf *x, Helpdesk__V1__TicketStatus status) {
  const int64_t id = owned_ticket(x, "Release me");
  switch (status) {
    case TF_STATUS(PROCESSING):
    case TF_STATUS(SUSPENDED):
      tf_set_status(x, id, status);
      break;
    case TF_STATUS(PENDING_FEEDBACK):
      must_reply(x, x->agent, id, INTENT(REQUEST_INFO));
      break;
    case TF_STATUS(FEEDBACK): {
      must_reply(x, x->agent, id, INTENT(REQUEST_INFO));
      Helpdesk__V1__AddCustomerReplyRequest rq = HELPDESK__V1__ADD_CUSTOMER_REPLY_REQUEST__INIT;
      rq.ticket_id = id;
      rq.body = "Here is the error message.";
      TF_OK(x, tf_call(x, "AddCustomerReply", x->customer, &rq.base,
                       &helpdesk__v1__add_customer_reply_response__descriptor, NULL, NULL));
      break;
    }
    case TF_STATUS(TO_BE_CONFIRMED):
      must_reply(x, x->agent, id, INTENT(FINAL_ANSWER));
      break;
    default:
      break;
  }
  assert_int_equal(tf_get(x, x->lead, id)->status, status);
  return id;
}

static void test_release_to_queue_unowns_each_status_and_a_worked_one_awaits_attention(
    void **state) {
  tf *x = *state;
  static const struct {
    Helpdesk__V1__TicketStatus from, to;
  } cases[] = {
      {TF_STATUS(PENDING_RESPONSE), TF_STATUS(PENDING_RESPONSE)},
      {TF_STATUS(PROCESSING), TF_STATUS(PENDING_RESPONSE)},
      {TF_STATUS(PENDING_FEEDBACK), TF_STATUS(PENDING_RESPONSE)},
      {TF_STATUS(FEEDBACK), TF_STATUS(PENDING_RESPONSE)},
      {TF_STATUS(TO_BE_CONFIRMED), TF_STATUS(PENDING_RESPONSE)},
      {TF_STATUS(SUSPENDED), TF_STATUS(SUSPENDED)},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const int64_t id = owned_in(x, cases[i].from);
    const Helpdesk__V1__Ticket *before = tf_get(x, x->lead, id);
    const bool timed =
        cases[i].from == TF_STATUS(PENDING_FEEDBACK) || cases[i].from == TF_STATUS(TO_BE_CONFIRMED);
    assert_int_equal(
        tf_sqlf(x, "SELECT COUNT(*) FROM tickets WHERE id = %" PRId64 " AND timer_kind IS NOT NULL",
                id),
        timed ? 1 : 0);
    Helpdesk__V1__Ticket *t = NULL;
    TF_OK(x, release(x, x->agent, id, NULL, NULL, 0, &t));
    assert_string_equal(t->owner_id, "");
    assert_int_equal(t->status, cases[i].to);
    assert_string_equal(t->department, before->department);
    assert_int_equal(t->version, before->version + 1);
    /* Nobody works it: no follow-up or auto-close timer runs, the follow-ups start again. */
    assert_int_equal(tf_sqlf(x,
                             "SELECT COUNT(*) FROM tickets WHERE id = %" PRId64
                             " AND timer_kind IS NULL AND follow_up_count = 0",
                             id),
                     1);
    const int64_t status_rows = cases[i].from == cases[i].to ? 0 : 1;
    assert_int_equal(tf_sqlf(x,
                             "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64
                             " AND action = 'RELEASE' AND field = 'owner_id' AND "
                             "from_value = 'agent-1' AND to_value = ''",
                             id),
                     1);
    assert_int_equal(tf_sqlf(x,
                             "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64
                             " AND action = 'RELEASE' AND field = 'status' AND to_value = "
                             "'PENDING_RESPONSE'",
                             id),
                     status_rows);
    assert_int_equal(tf_events(x, TICKET_EVENT_RELEASED, id), 1);
    assert_int_equal(tf_sqlf(x,
                             "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64
                             " AND event_type = 'ticket.released' AND payload LIKE "
                             "'%%\"from_owner_id\":\"agent-1\"%%' AND payload LIKE "
                             "'%%\"owner_id\":null%%'",
                             id),
                     1);
  }
}

static void test_a_released_suspended_ticket_resumes_awaiting_attention_not_worked(void **state) {
  tf *x = *state;
  const int64_t id = owned_in(x, TF_STATUS(SUSPENDED)); /* suspended from PROCESSING */
  TF_OK(x, release(x, x->lead, id, NULL, NULL, 0, NULL));
  Helpdesk__V1__ResumeTicketRequest rq = HELPDESK__V1__RESUME_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, tf_call(x, "ResumeTicket", x->lead, &rq.base, &helpdesk__v1__ticket__descriptor,
                   (ProtobufCMessage **)&t, NULL));
  assert_int_equal(t->status, TF_STATUS(PENDING_RESPONSE));
  assert_string_equal(t->owner_id, "");
}

static void test_release_to_queue_is_for_the_owner_a_lead_a_supervisor_or_routing(void **state) {
  tf *x = *state;
  const int64_t id = owned_in(x, TF_STATUS(PROCESSING));
  TF_REFUSED(x, HD_PERMISSION_DENIED, release(x, x->agent2, id, NULL, NULL, 0, NULL));
  tf_expect_err_has(x, "owned by agent-1");
  TF_REFUSED(x, HD_PERMISSION_DENIED, release(x, x->admin, id, NULL, NULL, 0, NULL));
  TF_REFUSED(x, HD_PERMISSION_DENIED, release(x, x->customer, id, NULL, NULL, 0, NULL));
  TF_REFUSED(x, HD_NOT_FOUND, release(x, x->other_tenant, id, NULL, NULL, 0, NULL));
  const char *const may[] = {x->agent, x->lead, x->supervisor, x->service};
  for (size_t i = 0; i < sizeof may / sizeof may[0]; i++) {
    const int64_t t = owned_in(x, TF_STATUS(PROCESSING));
    TF_OK(x, release(x, may[i], t, NULL, NULL, 0, NULL));
    assert_string_equal(tf_get(x, x->lead, t)->owner_id, "");
  }
  /* Released once, it has no owner to release: it already waits. */
  TF_OK(x, release(x, x->agent, id, NULL, NULL, 0, NULL));
  TF_REFUSED(x, HD_FAILED_PRECONDITION, release(x, x->lead, id, NULL, NULL, 0, NULL));
  tf_expect_err_has(x, "has no owner to release");
  /* A finished ticket is not released. */
  const int64_t closed = owned_in(x, TF_STATUS(PROCESSING));
  tf_set_status(x, closed, TF_STATUS(CLOSED));
  TF_REFUSED(x, HD_FAILED_PRECONDITION, release(x, x->lead, closed, NULL, NULL, 0, NULL));
}

static void test_release_to_queue_refuses_a_new_owner_and_a_fence_without_it(void **state) {
  tf *x = *state;
  const int64_t id = owned_in(x, TF_STATUS(PROCESSING));
  Helpdesk__V1__TransferTicketRequest rq = HELPDESK__V1__TRANSFER_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.new_owner_id = "agent-2";
  rq.release_to_queue = true;
  TF_REFUSED(x, HD_INVALID_ARGUMENT,
             tf_call(x, "TransferTicket", x->lead, &rq.base, &helpdesk__v1__ticket__descriptor,
                     NULL, NULL));
  tf_expect_err_has(x, "leave new_owner_id empty");
  rq.release_to_queue = false;
  rq.fence = 3;
  TF_REFUSED(x, HD_INVALID_ARGUMENT,
             tf_call(x, "TransferTicket", x->lead, &rq.base, &helpdesk__v1__ticket__descriptor,
                     NULL, NULL));
  TF_REFUSED(x, HD_INVALID_ARGUMENT, release(x, x->lead, id, NULL, NULL, -1, NULL));
}

static void test_release_by_an_older_claim_than_the_ticket_has_seen_is_aborted(void **state) {
  tf *x = *state;
  const int64_t id = new_ticket(x, "Claimed twice");
  TF_OK(x, assign(x, x->service, id, "agent-1", 5, NULL));
  TF_OK(x, assign(x, x->service, id, "agent-2", 7, NULL)); /* claimed again by agent-2 */
  TF_REFUSED(x, HD_ABORTED, release(x, x->service, id, NULL, NULL, 5, NULL));
  tf_expect_err_has(x, "was claimed again after fence 5");
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, release(x, x->service, id, NULL, NULL, 7, &t));
  assert_string_equal(t->owner_id, "");
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64
                           " AND event_type = 'ticket.released' AND payload LIKE "
                           "'%%\"fence\":7%%'",
                           id),
                   1);
  /* The next claim (a greater fence) takes it. */
  TF_OK(x, assign(x, x->service, id, "agent-1", 8, &t));
  assert_string_equal(t->owner_id, "agent-1");
}

static void test_release_to_another_department_keeps_the_note_and_guards_level2(void **state) {
  tf *x = *state;
  const int64_t id = owned_in(x, TF_STATUS(PROCESSING));
  TF_REFUSED(x, HD_FAILED_PRECONDITION, release(x, x->service, id, "ESCALATED", NULL, 0, NULL));
  tf_expect_err_has(x, "needs the investigation details as a note");
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, release(x, x->service, id, "BILLING", "Refund asked; invoice 7 checked", 0, &t));
  assert_string_equal(t->department, "BILLING");
  assert_string_equal(t->owner_id, "");
  assert_int_equal(t->status, TF_STATUS(PENDING_RESPONSE));
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64
                           " AND body = 'Refund asked; invoice 7 checked'",
                           id),
                   1);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64
                           " AND action = 'RELEASE' AND field IN ('owner_id', 'status', "
                           "'department', 'internal_record')",
                           id),
                   4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
/* Replies go out without an account verification here (test_tickets_verify.c checks it). */
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup_verification_optional, tf_teardown)
      T(test_transfer_is_for_the_owner_a_team_lead_or_a_supervisor),
      T(test_transfer_changes_owner_and_department_and_keeps_note_as_internal_record),
      T(test_transfer_inputs_at_their_limits_and_one_past),
      T(test_transfer_assign_upgrade_and_urge_refuse_a_closed_or_cancelled_ticket),
      T(test_assign_is_for_team_leads_supervisors_and_routing),
      T(test_agent_may_assign_only_an_unowned_ticket_to_themself),
      T(test_assign_with_a_stale_fence_is_aborted),
      T(test_assign_inputs_at_their_limits_and_one_past),
      T(test_upgrade_raises_the_level_and_flags_the_title_each_time),
      T(test_upgrade_is_for_the_owner_a_team_lead_or_a_supervisor),
      T(test_urge_is_refused_until_the_tenant_configures_a_reminder_channel),
      T(test_urge_records_a_reminder_to_the_owner_and_an_outbox_event),
      T(test_set_category_is_for_team_leads_and_supervisors_only),
      T(test_set_category_requires_a_defined_category_and_a_current_version),
      T(test_transfer_to_escalated_without_a_note_is_refused_and_with_one_keeps_it),
      T(test_service_moves_a_ticket_to_another_department_keeping_its_owner),
      T(test_release_to_queue_unowns_each_status_and_a_worked_one_awaits_attention),
      T(test_a_released_suspended_ticket_resumes_awaiting_attention_not_worked),
      T(test_release_to_queue_is_for_the_owner_a_lead_a_supervisor_or_routing),
      T(test_release_to_queue_refuses_a_new_owner_and_a_fence_without_it),
      T(test_release_by_an_older_claim_than_the_ticket_has_seen_is_aborted),
      T(test_release_to_another_department_keeps_the_note_and_guards_level2),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
