/* TransferTicket, AssignTicket, UpgradeTicket, UrgeTicket and SetCategory through real gRPC calls
 * against the in-process ticket service (real MariaDB and Redis): who may do each, the open-only
 * rule, every input limit at its edge and one past it, the routing fence, the upgrade flag, the
 * reminder channel, and that every refused call leaves the database exactly as it was.
 *
 * Tickets are seeded with ticket_store_insert (the code CreateTicket runs) and read back with
 * ticket_store_get on a direct connection: CreateTicket, GetTicket, CloseTicket and
 * UpdateTenantSettings are built in parallel, so these tests do not depend on them. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db.h"
#include "tenant_settings.h"
#include "test_env.h"
#include "ticket_fixture.h"
#include "ticket_store.h"

/* ---- fixture ---- */

typedef struct fx {
  tf t;
  hd_db *db; /* a direct connection to the service's database */
  hd_err err; /* the last call's error */
} fx;

static int setup(void **state) {
  fx *x = calloc(1, sizeof *x);
  if (!x) return -1;
  if (tf_start(&x->t) != 0) {
    free(x);
    return -1;
  }
  hd_db_config cfg;
  hd_test_db_config(&cfg, x->t.f.db_name);
  hd_err err = {0};
  if (hd_db_new(&cfg, &x->db, &err) != 0) {
    fprintf(stderr, "setup: %s\n", err.msg);
    tf_stop(&x->t);
    free(x);
    return -1;
  }
  *state = x;
  return 0;
}

static int teardown(void **state) {
  fx *x = *state;
  hd_db_close(x->db);
  tf_stop(&x->t);
  free(x);
  return 0;
}

/* ---- helpers ---- */

static int64_t now_us(fx *x) { return hd_clock_now_us(&x->t.f.clock); }

typedef struct seed_args {
  const char *tenant;
  ticket_new t;
  int64_t now_us;
  int64_t id;
} seed_args;

static int seed_body(hd_db *db, void *arg, hd_err *err) {
  seed_args *a = arg;
  const ticket_actor actor = {.user_id = a->t.customer_id, .role = "customer"};
  return ticket_store_insert(db, a->tenant, &a->t, a->now_us, &actor, &a->id, err);
}

/* A new PENDING_RESPONSE ticket of tenant for customer (the store's insert, as CreateTicket). */
static int64_t seed(fx *x, const char *tenant, const char *customer, const char *subject) {
  seed_args a = {.tenant = tenant,
                 .t = {.customer_id = customer,
                       .subject = subject,
                       .description = "My website shows a 500 error since this morning.",
                       .product = "Web Hosting",
                       .brand = "Acme Hosting",
                       .service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED,
                       .issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL},
                 .now_us = now_us(x)};
  hd_err err = {0};
  if (hd_db_tx(x->db, seed_body, &a, 0, &err) != 0) fail_msg("seed: %s", err.msg);
  return a.id;
}

/* The ticket as stored (tenant acme), in the fixture's arena. */
static Helpdesk__V1__Ticket *stored(fx *x, int64_t id) {
  Helpdesk__V1__Ticket *t = NULL;
  hd_err err = {0};
  if (ticket_store_get(x->db, "acme", id, false, x->t.arena, &t, NULL, &err) != 0)
    fail_msg("stored %" PRId64 ": %s", id, err.msg);
  return t;
}

/* Runs one statement on the service's database with one integer parameter. */
static void sql1(fx *x, const char *sql, int64_t v) {
  hd_err err = {0};
  const hd_db_param p[] = {hd_db_int(v)};
  if (hd_db_exec(x->db, sql, p, 1, NULL, NULL, &err) != 0) fail_msg("%s: %s", sql, err.msg);
}

/* CLOSED by a direct SQL UPDATE: CloseTicket is built in parallel, so the state is set up here. */
static void force_closed(fx *x, int64_t id) {
  sql1(x, "UPDATE tickets SET status = 'CLOSED', closed_at_us = 1 WHERE id = ?", id);
}

/* A number from sql with one integer parameter (0 when no row). */
static int64_t count1(fx *x, const char *sql, int64_t v) {
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  const hd_db_param p[] = {hd_db_int(v)};
  if (hd_db_query(x->db, sql, p, 1, 1, &rows, &err) != 0) fail_msg("%s: %s", sql, err.msg);
  const int64_t n = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  hd_db_rows_free(rows);
  return n;
}

/* Waits (bounded) until the outbox relay published every event, so the only writer left is the
 * call under test and a fingerprint taken now stays put unless that call writes. */
static void settle(fx *x) {
  for (int i = 0; i < 300; i++) {
    if (tf_sql(&x->t, "SELECT COUNT(*) FROM outbox WHERE published_at_us IS NULL") == 0) return;
    usleep(10000);
  }
  fail_msg("the outbox relay did not publish within 3 s");
}

/* Asserts that expr (a call returning hd_code) fails with want and writes nothing. */
#define REFUSED(x, want, expr)                                                                     \
  do {                                                                                             \
    settle(x);                                                                                     \
    char *before_ = tf_fingerprint(&(x)->t);                                                       \
    assert_non_null(before_);                                                                      \
    const hd_code got_ = (expr);                                                                   \
    if (got_ != (want))                                                                            \
      fail_msg("%s: got %s (%s), want %s", #expr, hd_code_name(got_), (x)->err.msg,                \
               hd_code_name(want));                                                                \
    char *after_ = tf_fingerprint(&(x)->t);                                                        \
    assert_non_null(after_);                                                                       \
    assert_string_equal(before_, after_);                                                          \
    free(before_);                                                                                 \
    free(after_);                                                                                  \
  } while (0)

/* Asserts that expr succeeds. */
#define OK(x, expr)                                                                                \
  do {                                                                                             \
    const hd_code got_ = (expr);                                                                   \
    if (got_ != HD_OK) fail_msg("%s: %s: %s", #expr, hd_code_name(got_), (x)->err.msg);            \
  } while (0)

#define ERR_HAS(x, text)                                                                           \
  do {                                                                                             \
    if (!strstr((x)->err.msg, (text)))                                                             \
      fail_msg("error \"%s\" does not mention \"%s\"", (x)->err.msg, (text));                      \
  } while (0)

/* n copies of unit, NUL-terminated. Caller frees. */
static char *rep(const char *unit, size_t n) {
  const size_t len = strlen(unit);
  char *s = malloc(len * n + 1);
  assert_non_null(s);
  for (size_t i = 0; i < n; i++) memcpy(s + i * len, unit, len);
  s[len * n] = '\0';
  return s;
}

static hd_code call(fx *x, const char *rpc, const char *token, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *d, void *out) {
  ProtobufCMessage *resp = NULL;
  const hd_code code = tf_call(&x->t, rpc, token, req, d, &resp, &x->err);
  if (out) *(ProtobufCMessage **)out = code == HD_OK ? resp : NULL;
  return code;
}

static hd_code transfer(fx *x, const char *token, int64_t id, int64_t expected, const char *owner,
                        const char *department, const char *note, Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__TransferTicketRequest rq = HELPDESK__V1__TRANSFER_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.expected_version = expected;
  rq.new_owner_id = (char *)owner;
  rq.department = (char *)(department ? department : "");
  rq.note = (char *)(note ? note : "");
  return call(x, "TransferTicket", token, &rq.base, &helpdesk__v1__ticket__descriptor, out);
}

static hd_code assign(fx *x, const char *token, int64_t id, const char *owner, int64_t fence,
                      Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.owner_id = (char *)owner;
  rq.fence = fence;
  return call(x, "AssignTicket", token, &rq.base, &helpdesk__v1__ticket__descriptor, out);
}

static hd_code assign_req(fx *x, const char *token, Helpdesk__V1__AssignTicketRequest *rq,
                          Helpdesk__V1__Ticket **out) {
  return call(x, "AssignTicket", token, &rq->base, &helpdesk__v1__ticket__descriptor, out);
}

static hd_code upgrade(fx *x, const char *token, int64_t id, int64_t expected,
                       Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__UpgradeTicketRequest rq = HELPDESK__V1__UPGRADE_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.expected_version = expected;
  return call(x, "UpgradeTicket", token, &rq.base, &helpdesk__v1__ticket__descriptor, out);
}

static hd_code urge(fx *x, const char *token, int64_t id, int channel, Helpdesk__V1__Urge **out) {
  Helpdesk__V1__UrgeTicketRequest rq = HELPDESK__V1__URGE_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.channel = (Helpdesk__V1__ReminderChannel)channel;
  return call(x, "UrgeTicket", token, &rq.base, &helpdesk__v1__urge__descriptor, out);
}

static hd_code set_category(fx *x, const char *token, int64_t id, int64_t expected, int category,
                            Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__SetCategoryRequest rq = HELPDESK__V1__SET_CATEGORY_REQUEST__INIT;
  rq.ticket_id = id;
  rq.expected_version = expected;
  rq.category = (Helpdesk__V1__Category)category;
  return call(x, "SetCategory", token, &rq.base, &helpdesk__v1__ticket__descriptor, out);
}

/* A ticket of cust-1 owned by agent-1 (assigned by the team lead). */
static int64_t owned_ticket(fx *x, const char *subject) {
  const int64_t id = seed(x, "acme", "cust-1", subject);
  OK(x, assign(x, x->t.lead, id, "agent-1", 0, NULL));
  return id;
}

static int64_t events(fx *x, const char *type, int64_t ticket_id) {
  char sql[160];
  snprintf(sql, sizeof sql,
           "SELECT COUNT(*) FROM outbox WHERE event_type = '%s' AND aggregate_id = ?", type);
  return count1(x, sql, ticket_id);
}

/* ---- TransferTicket ---- */

static void test_transfer_is_for_the_owner_a_team_lead_or_a_supervisor(void **state) {
  fx *x = *state;
  const int64_t id = owned_ticket(x, "Transfer me");
  REFUSED(x, HD_PERMISSION_DENIED, transfer(x, x->t.agent2, id, 0, "agent-2", NULL, NULL, NULL));
  ERR_HAS(x, "owned by agent-1");
  REFUSED(x, HD_PERMISSION_DENIED, transfer(x, x->t.admin, id, 0, "agent-2", NULL, NULL, NULL));
  REFUSED(x, HD_PERMISSION_DENIED, transfer(x, x->t.service, id, 0, "agent-2", NULL, NULL, NULL));
  REFUSED(x, HD_PERMISSION_DENIED, transfer(x, x->t.customer, id, 0, "agent-2", NULL, NULL, NULL));
  REFUSED(x, HD_NOT_FOUND, transfer(x, x->t.other_tenant, id, 0, "agent-2", NULL, NULL, NULL));

  Helpdesk__V1__Ticket *t = NULL;
  OK(x, transfer(x, x->t.agent, id, 0, "agent-2", NULL, NULL, &t));
  assert_string_equal(t->owner_id, "agent-2");
  OK(x, transfer(x, x->t.lead, id, 0, "agent-1", NULL, NULL, &t));
  assert_string_equal(t->owner_id, "agent-1");
  OK(x, transfer(x, x->t.supervisor, id, t->version, "agent-2", NULL, NULL, &t));
  assert_string_equal(t->owner_id, "agent-2");
  assert_int_equal(events(x, TICKET_EVENT_TRANSFERRED, id), 3);
}

static void test_transfer_changes_owner_and_department_and_keeps_note_as_internal_record(
    void **state) {
  fx *x = *state;
  const int64_t id = owned_ticket(x, "Hand-over");
  const Helpdesk__V1__Ticket *before = stored(x, id);
  /* 20,000 characters of two-byte text: the note's limit counts characters, not bytes. */
  char *note = rep("é", 20000);
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, transfer(x, x->t.agent, id, before->version, "agent-2", "billing", note, &t));
  assert_string_equal(t->owner_id, "agent-2");
  assert_string_equal(t->department, "billing");
  assert_int_equal(t->status, before->status); /* a transfer never changes the status */
  assert_int_equal(t->version, before->version + 1);
  assert_int_equal(count1(x, "SELECT COUNT(*) FROM internal_records WHERE ticket_id = ?", id), 1);
  assert_int_equal(count1(x,
                          "SELECT CHAR_LENGTH(body) FROM internal_records WHERE ticket_id = ? "
                          "AND author_id = 'agent-1'",
                          id),
                   20000);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = ? AND action = "
                          "'TRANSFER' AND field IN ('owner_id', 'department', 'internal_record')",
                          id),
                   3);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM outbox WHERE aggregate_id = ? AND event_type = "
                          "'ticket.transferred' AND payload LIKE '%\"from_owner_id\":\"agent-1\"%' "
                          "AND payload LIKE '%\"to_owner_id\":\"agent-2\"%'",
                          id),
                   1);
  free(note);
  /* Without a note no record is written. */
  OK(x, transfer(x, x->t.agent2, id, 0, "agent-1", NULL, NULL, &t));
  assert_string_equal(t->department, "billing"); /* empty department = unchanged */
  assert_int_equal(count1(x, "SELECT COUNT(*) FROM internal_records WHERE ticket_id = ?", id), 1);
}

static void test_transfer_inputs_at_their_limits_and_one_past(void **state) {
  fx *x = *state;
  const int64_t id = owned_ticket(x, "Limits");
  char *owner128 = rep("a", 128), *owner129 = rep("a", 129);
  char *dept64 = rep("d", 64), *dept65 = rep("d", 65);
  char *note20001 = rep("é", 20001);
  REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->t.agent, id, 0, owner129, NULL, NULL, NULL));
  ERR_HAS(x, "new_owner_id has 129 characters; at most 128");
  REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->t.agent, id, 0, "", NULL, NULL, NULL));
  ERR_HAS(x, "new_owner_id is required");
  REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->t.agent, id, 0, "agent-2", dept65, NULL, NULL));
  ERR_HAS(x, "department has 65 characters");
  REFUSED(x, HD_INVALID_ARGUMENT,
          transfer(x, x->t.agent, id, 0, "agent-2", NULL, note20001, NULL));
  ERR_HAS(x, "note has 20001 characters; at most 20000");
  REFUSED(x, HD_INVALID_ARGUMENT,
          transfer(x, x->t.agent, id, 0, "agent-2", NULL, "bad \xff", NULL));
  ERR_HAS(x, "note is not valid UTF-8");
  REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->t.agent, 0, 0, "agent-2", NULL, NULL, NULL));
  REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->t.agent, id, -1, "agent-2", NULL, NULL, NULL));
  REFUSED(x, HD_INVALID_ARGUMENT, transfer(x, x->t.agent, id, 0, "agent-1", NULL, NULL, NULL));
  ERR_HAS(x, "already owned by agent-1");
  REFUSED(x, HD_NOT_FOUND, transfer(x, x->t.lead, 999999, 0, "agent-2", NULL, NULL, NULL));
  /* A stale version: the ticket moved on since the caller read it. */
  const int64_t v = stored(x, id)->version;
  REFUSED(x, HD_ABORTED, transfer(x, x->t.agent, id, v - 1, "agent-2", NULL, NULL, NULL));
  ERR_HAS(x, "was changed by someone else");
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, transfer(x, x->t.agent, id, v, owner128, dept64, NULL, &t));
  assert_string_equal(t->owner_id, owner128);
  assert_string_equal(t->department, dept64);
  free(owner128);
  free(owner129);
  free(dept64);
  free(dept65);
  free(note20001);
}

/* ---- forbidden states ---- */

static void test_transfer_assign_upgrade_and_urge_refuse_a_closed_or_cancelled_ticket(
    void **state) {
  fx *x = *state;
  const int64_t id = owned_ticket(x, "Done already");
  Helpdesk__V1__TenantSettings s = HELPDESK__V1__TENANT_SETTINGS__INIT;
  s.reminder_channel = HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_EMAIL;
  s.reminder_target = "reminders@acme.test";
  hd_err err = {0};
  assert_int_equal(tenant_settings_put(x->db, "acme", &s, "admin-1", now_us(x), &err), 0);
  force_closed(x, id);
  REFUSED(x, HD_FAILED_PRECONDITION, transfer(x, x->t.lead, id, 0, "agent-2", NULL, NULL, NULL));
  ERR_HAS(x, "cannot TRANSFER a ticket in status CLOSED");
  REFUSED(x, HD_FAILED_PRECONDITION, assign(x, x->t.lead, id, "agent-2", 0, NULL));
  ERR_HAS(x, "cannot ASSIGN a ticket in status CLOSED");
  REFUSED(x, HD_FAILED_PRECONDITION, upgrade(x, x->t.agent, id, 0, NULL));
  ERR_HAS(x, "cannot UPGRADE a ticket in status CLOSED");
  REFUSED(x, HD_FAILED_PRECONDITION, urge(x, x->t.customer, id, 0, NULL));
  ERR_HAS(x, "cannot URGE a ticket in status CLOSED");
  sql1(x, "UPDATE tickets SET status = 'CANCELLED' WHERE id = ?", id);
  REFUSED(x, HD_FAILED_PRECONDITION, transfer(x, x->t.agent, id, 0, "agent-2", NULL, NULL, NULL));
  ERR_HAS(x, "status CANCELLED");
  REFUSED(x, HD_FAILED_PRECONDITION, upgrade(x, x->t.supervisor, id, 0, NULL));
  /* A SUSPENDED ticket is open: it can still change hands. */
  sql1(x, "UPDATE tickets SET status = 'SUSPENDED', suspended_from = 'PROCESSING', "
          "closed_at_us = NULL WHERE id = ?",
       id);
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, transfer(x, x->t.agent, id, 0, "agent-2", NULL, NULL, &t));
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SUSPENDED);
}

/* ---- AssignTicket ---- */

static void test_assign_is_for_team_leads_supervisors_and_routing(void **state) {
  fx *x = *state;
  const int64_t id = seed(x, "acme", "cust-1", "Route me");
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, assign(x, x->t.lead, id, "agent-1", 0, &t));
  assert_string_equal(t->owner_id, "agent-1");
  assert_int_equal(t->version, 2);
  OK(x, assign(x, x->t.supervisor, id, "agent-2", 0, &t));
  assert_string_equal(t->owner_id, "agent-2");
  OK(x, assign(x, x->t.service, id, "agent-1", 0, &t));
  assert_string_equal(t->owner_id, "agent-1");
  assert_int_equal(events(x, TICKET_EVENT_ASSIGNED, id), 3);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = ? AND action = "
                          "'ASSIGN' AND field = 'owner_id'",
                          id),
                   3);
  REFUSED(x, HD_PERMISSION_DENIED, assign(x, x->t.customer, id, "agent-1", 0, NULL));
  REFUSED(x, HD_PERMISSION_DENIED, assign(x, x->t.admin, id, "agent-1", 0, NULL));
  REFUSED(x, HD_NOT_FOUND, assign(x, x->t.other_tenant, id, "agent-9", 0, NULL));
}

static void test_agent_may_assign_only_an_unowned_ticket_to_themself(void **state) {
  fx *x = *state;
  const int64_t id = seed(x, "acme", "cust-1", "Unowned");
  REFUSED(x, HD_PERMISSION_DENIED, assign(x, x->t.agent, id, "agent-2", 0, NULL));
  ERR_HAS(x, "only assign a ticket to themself");
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, assign(x, x->t.agent, id, "agent-1", 0, &t));
  assert_string_equal(t->owner_id, "agent-1");
  /* Owned now: neither the other agent nor the owner takes it through AssignTicket. */
  REFUSED(x, HD_PERMISSION_DENIED, assign(x, x->t.agent2, id, "agent-2", 0, NULL));
  ERR_HAS(x, "owned by agent-1");
  REFUSED(x, HD_PERMISSION_DENIED, assign(x, x->t.agent, id, "agent-1", 0, NULL));
}

static void test_assign_with_a_stale_fence_is_aborted(void **state) {
  fx *x = *state;
  const int64_t id = seed(x, "acme", "cust-1", "Claimed by routing");
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, assign(x, x->t.service, id, "agent-1", 5, &t));
  REFUSED(x, HD_ABORTED, assign(x, x->t.service, id, "agent-2", 3, NULL));
  ERR_HAS(x, "fence 3 is not greater than 5");
  REFUSED(x, HD_ABORTED, assign(x, x->t.service, id, "agent-2", 5, NULL));
  OK(x, assign(x, x->t.service, id, "agent-2", 7, &t));
  assert_string_equal(t->owner_id, "agent-2");
  assert_int_equal(count1(x, "SELECT fence FROM tickets WHERE id = ?", id), 7);
  REFUSED(x, HD_ABORTED, assign(x, x->t.lead, id, "agent-1", 6, NULL));
  /* Without a fence (a team lead's own assignment) the fence is not checked. */
  OK(x, assign(x, x->t.lead, id, "agent-1", 0, &t));
  assert_int_equal(count1(x, "SELECT fence FROM tickets WHERE id = ?", id), 7);
  REFUSED(x, HD_INVALID_ARGUMENT, assign(x, x->t.service, id, "agent-2", -1, NULL));
}

static void test_assign_inputs_at_their_limits_and_one_past(void **state) {
  fx *x = *state;
  const int64_t id = seed(x, "acme", "cust-1", "Assign limits");
  char *owner128 = rep("o", 128), *owner129 = rep("o", 129);
  char *dept64 = rep("d", 64), *dept65 = rep("d", 65);
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.owner_id = owner129;
  REFUSED(x, HD_INVALID_ARGUMENT, assign_req(x, x->t.lead, &rq, NULL));
  ERR_HAS(x, "owner_id has 129 characters");
  rq.owner_id = "";
  REFUSED(x, HD_INVALID_ARGUMENT, assign_req(x, x->t.lead, &rq, NULL));
  rq.owner_id = owner128;
  rq.department = dept65;
  REFUSED(x, HD_INVALID_ARGUMENT, assign_req(x, x->t.lead, &rq, NULL));
  rq.department = dept64;
  rq.expected_version = 9;
  REFUSED(x, HD_ABORTED, assign_req(x, x->t.lead, &rq, NULL));
  ERR_HAS(x, "version is now 1, you sent 9");
  rq.expected_version = 1;
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, assign_req(x, x->t.lead, &rq, &t));
  assert_string_equal(t->owner_id, owner128);
  assert_string_equal(t->department, dept64);
  free(owner128);
  free(owner129);
  free(dept64);
  free(dept65);
}

/* ---- UpgradeTicket ---- */

static void test_upgrade_raises_the_level_and_flags_the_title_each_time(void **state) {
  fx *x = *state;
  const int64_t id = owned_ticket(x, "Mail bounces");
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, upgrade(x, x->t.agent, id, 0, &t));
  assert_int_equal(t->level, 2);
  assert_string_equal(t->title, "[Upgraded L2] Mail bounces");
  assert_string_equal(t->subject, "Mail bounces");
  OK(x, upgrade(x, x->t.lead, id, t->version, &t));
  assert_int_equal(t->level, 3);
  assert_string_equal(t->title, "[Upgraded L3] Mail bounces");
  assert_string_equal(t->subject, "Mail bounces");
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = ? AND action = "
                          "'UPGRADE' AND ((field = 'level' AND to_value IN ('2', '3')) OR "
                          "(field = 'title' AND to_value LIKE '[Upgraded L_] Mail bounces'))",
                          id),
                   4);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM outbox WHERE aggregate_id = ? AND event_type = "
                          "'ticket.escalated' AND payload LIKE '%\"level\":3%'",
                          id),
                   1);
  OK(x, upgrade(x, x->t.supervisor, id, 0, &t));
  assert_string_equal(t->title, "[Upgraded L4] Mail bounces");
  REFUSED(x, HD_ABORTED, upgrade(x, x->t.agent, id, t->version - 1, NULL));
}

static void test_upgrade_is_for_the_owner_a_team_lead_or_a_supervisor(void **state) {
  fx *x = *state;
  const int64_t id = owned_ticket(x, "Upgrade rights");
  REFUSED(x, HD_PERMISSION_DENIED, upgrade(x, x->t.agent2, id, 0, NULL));
  REFUSED(x, HD_PERMISSION_DENIED, upgrade(x, x->t.admin, id, 0, NULL));
  REFUSED(x, HD_PERMISSION_DENIED, upgrade(x, x->t.service, id, 0, NULL));
  REFUSED(x, HD_PERMISSION_DENIED, upgrade(x, x->t.customer, id, 0, NULL));
  REFUSED(x, HD_NOT_FOUND, upgrade(x, x->t.other_tenant, id, 0, NULL));
  REFUSED(x, HD_INVALID_ARGUMENT, upgrade(x, x->t.agent, 0, 0, NULL));
  /* Unowned: only a team lead or supervisor. */
  const int64_t unowned = seed(x, "acme", "cust-1", "Nobody's");
  REFUSED(x, HD_PERMISSION_DENIED, upgrade(x, x->t.agent, unowned, 0, NULL));
  ERR_HAS(x, "has no owner yet");
  OK(x, upgrade(x, x->t.lead, unowned, 0, NULL));
}

/* ---- UrgeTicket ---- */

static void put_reminder(fx *x, int channel, const char *target) {
  Helpdesk__V1__TenantSettings s = HELPDESK__V1__TENANT_SETTINGS__INIT;
  s.reminder_channel = (Helpdesk__V1__ReminderChannel)channel;
  s.reminder_target = (char *)target;
  hd_err err = {0};
  if (tenant_settings_put(x->db, "acme", &s, "admin-1", now_us(x), &err) != 0)
    fail_msg("tenant_settings_put: %s", err.msg);
}

static void test_urge_is_refused_until_the_tenant_configures_a_reminder_channel(void **state) {
  fx *x = *state;
  const int64_t unowned = seed(x, "acme", "cust-1", "No owner");
  REFUSED(x, HD_FAILED_PRECONDITION, urge(x, x->t.customer, unowned, 0, NULL));
  ERR_HAS(x, "has no owner to remind yet");
  const int64_t id = owned_ticket(x, "Remind the owner");
  REFUSED(x, HD_FAILED_PRECONDITION, urge(x, x->t.customer, id, 0, NULL));
  ERR_HAS(x, "tenant acme has no reminder channel configured; a tenant_admin sets one with "
             "UpdateTenantSettings");
  /* Settings written without a channel are no configuration either. */
  put_reminder(x, 0, "");
  REFUSED(x, HD_FAILED_PRECONDITION, urge(x, x->t.agent2, id, 0, NULL));
  ERR_HAS(x, "no reminder channel configured");
}

static void test_urge_records_a_reminder_to_the_owner_and_an_outbox_event(void **state) {
  fx *x = *state;
  const int64_t id = owned_ticket(x, "Near its due time");
  put_reminder(x, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_SMS, "+15550100");
  const int64_t version = stored(x, id)->version;
  Helpdesk__V1__Urge *u = NULL;
  OK(x, urge(x, x->t.customer, id, 0, &u));
  assert_true(u->id > 0);
  assert_int_equal(u->ticket_id, id);
  assert_int_equal(u->channel, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_SMS);
  assert_string_equal(u->recipient_id, "agent-1");
  assert_string_equal(u->requested_by, "cust-1");
  assert_int_equal(u->create_time_us, now_us(x));
  assert_int_equal(stored(x, id)->version, version + 1);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM urges WHERE ticket_id = ? AND channel = 'SMS' AND "
                          "recipient_id = 'agent-1' AND requested_by = 'cust-1'",
                          id),
                   1);
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = ? AND event_type = 'ticket.urged' AND "
           "payload LIKE '%%\"urge_id\":%" PRId64 "%%' AND payload LIKE '%%\"channel\":\"SMS\"%%' "
           "AND payload LIKE '%%\"recipient_id\":\"agent-1\"%%'",
           u->id);
  assert_int_equal(count1(x, sql, id), 1);
  snprintf(sql, sizeof sql,
           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = ? AND action = 'URGE' AND "
           "field = 'urge' AND to_value = '%" PRId64 "'",
           u->id);
  assert_int_equal(count1(x, sql, id), 1);
  /* The phone number reaches the notifier through the event, never the history. */
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = ? AND "
                          "(to_value LIKE '%5550100%' OR from_value LIKE '%5550100%')",
                          id),
                   0);
  /* Any staff may urge, naming the configured channel; another channel has no target. */
  OK(x, urge(x, x->t.agent2, id, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_SMS, &u));
  assert_string_equal(u->requested_by, "agent-2");
  REFUSED(x, HD_FAILED_PRECONDITION,
          urge(x, x->t.lead, id, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_EMAIL, NULL));
  ERR_HAS(x, "sends reminders by SMS only");
  REFUSED(x, HD_INVALID_ARGUMENT, urge(x, x->t.lead, id, 9, NULL));
  /* Another customer's ticket does not exist for them; another tenant's neither. */
  REFUSED(x, HD_NOT_FOUND, urge(x, x->t.customer2, id, 0, NULL));
  REFUSED(x, HD_NOT_FOUND, urge(x, x->t.other_tenant, id, 0, NULL));
  assert_int_equal(count1(x, "SELECT COUNT(*) FROM urges WHERE ticket_id = ?", id), 2);
}

/* ---- SetCategory ---- */

static void test_set_category_is_for_team_leads_and_supervisors_only(void **state) {
  fx *x = *state;
  const int64_t id = owned_ticket(x, "How hard is it");
  const int hard = HELPDESK__V1__CATEGORY__CATEGORY_HARD;
  REFUSED(x, HD_PERMISSION_DENIED, set_category(x, x->t.agent, id, 0, hard, NULL)); /* owner */
  ERR_HAS(x, "team_lead or supervisor");
  REFUSED(x, HD_PERMISSION_DENIED, set_category(x, x->t.admin, id, 0, hard, NULL));
  REFUSED(x, HD_PERMISSION_DENIED, set_category(x, x->t.service, id, 0, hard, NULL));
  REFUSED(x, HD_PERMISSION_DENIED, set_category(x, x->t.customer, id, 0, hard, NULL));
  REFUSED(x, HD_NOT_FOUND, set_category(x, x->t.other_tenant, id, 0, hard, NULL));
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, set_category(x, x->t.lead, id, 0, hard, &t));
  assert_int_equal(t->category, HELPDESK__V1__CATEGORY__CATEGORY_HARD);
  OK(x, set_category(x, x->t.supervisor, id, t->version, HELPDESK__V1__CATEGORY__CATEGORY_LOWER,
                     &t));
  assert_int_equal(t->category, HELPDESK__V1__CATEGORY__CATEGORY_LOWER);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = ? AND action = "
                          "'SET_CATEGORY' AND field = 'category' AND ((from_value = '' AND "
                          "to_value = 'HARD') OR (from_value = 'HARD' AND to_value = 'LOWER'))",
                          id),
                   2);
  assert_int_equal(events(x, TICKET_EVENT_CATEGORY_SET, id), 2);
}

static void test_set_category_requires_a_defined_category_and_a_current_version(void **state) {
  fx *x = *state;
  const int64_t id = owned_ticket(x, "Categories");
  REFUSED(x, HD_INVALID_ARGUMENT, set_category(x, x->t.lead, id, 0, 0, NULL));
  ERR_HAS(x, "category is required");
  REFUSED(x, HD_INVALID_ARGUMENT, set_category(x, x->t.lead, id, 0, 4, NULL));
  ERR_HAS(x, "category has no value 4");
  REFUSED(x, HD_ABORTED,
          set_category(x, x->t.lead, id, 1, HELPDESK__V1__CATEGORY__CATEGORY_MEDIUM, NULL));
  /* A finished ticket is still categorised for the KPI. */
  force_closed(x, id);
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, set_category(x, x->t.lead, id, 0, HELPDESK__V1__CATEGORY__CATEGORY_MEDIUM, &t));
  assert_int_equal(t->category, HELPDESK__V1__CATEGORY__CATEGORY_MEDIUM);
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_transfer_is_for_the_owner_a_team_lead_or_a_supervisor,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_transfer_changes_owner_and_department_and_keeps_note_as_internal_record, setup,
          teardown),
      cmocka_unit_test_setup_teardown(test_transfer_inputs_at_their_limits_and_one_past, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_transfer_assign_upgrade_and_urge_refuse_a_closed_or_cancelled_ticket, setup,
          teardown),
      cmocka_unit_test_setup_teardown(test_assign_is_for_team_leads_supervisors_and_routing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_agent_may_assign_only_an_unowned_ticket_to_themself,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_assign_with_a_stale_fence_is_aborted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_assign_inputs_at_their_limits_and_one_past, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_raises_the_level_and_flags_the_title_each_time,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_is_for_the_owner_a_team_lead_or_a_supervisor,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_urge_is_refused_until_the_tenant_configures_a_reminder_channel, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_urge_records_a_reminder_to_the_owner_and_an_outbox_event, setup, teardown),
      cmocka_unit_test_setup_teardown(test_set_category_is_for_team_leads_and_supervisors_only,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_set_category_requires_a_defined_category_and_a_current_version, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
