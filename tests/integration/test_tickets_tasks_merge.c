/* CreateTask, UpdateTask, ListTasks and MergeTickets through real gRPC calls against the
 * in-process ticket service (real MariaDB and Redis): tasks with their own versions, limits at
 * their edges, staff only; merges that close their sources into a target, and every way a merge
 * is refused (into itself, duplicates, across customers or tenants, chains and cycles, closed
 * tickets, a stale version), each leaving the database exactly as it was.
 *
 * Tickets are seeded with ticket_store_insert (the code CreateTicket runs), read back with
 * ticket_store_get on a direct connection, and closed or suspended by a direct SQL UPDATE:
 * CreateTicket, GetTicket, CloseTicket and SuspendTicket are built in parallel, so these tests do
 * not depend on them. */
#include <inttypes.h>
#include <pthread.h>
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
#include "test_env.h"
#include "ticket_fixture.h"
#include "ticket_store.h"

/* ---- fixture ---- */

typedef struct fx {
  tf t;
  hd_db *db;  /* a direct connection to the service's database */
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

static Helpdesk__V1__CreateTaskRequest task_req(int64_t ticket_id, const char *title,
                                                const char *department) {
  Helpdesk__V1__CreateTaskRequest rq = HELPDESK__V1__CREATE_TASK_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  rq.title = (char *)title;
  rq.department = (char *)department;
  return rq;
}

static hd_code create_task(fx *x, const char *token, const Helpdesk__V1__CreateTaskRequest *rq,
                           Helpdesk__V1__Task **out) {
  return call(x, "CreateTask", token, &rq->base, &helpdesk__v1__task__descriptor, out);
}

static hd_code update_task(fx *x, const char *token, const Helpdesk__V1__UpdateTaskRequest *rq,
                           Helpdesk__V1__Task **out) {
  return call(x, "UpdateTask", token, &rq->base, &helpdesk__v1__task__descriptor, out);
}

static hd_code list_tasks(fx *x, const char *token, int64_t ticket_id, int32_t page_size,
                          const char *token_in, Helpdesk__V1__ListTasksResponse **out) {
  Helpdesk__V1__ListTasksRequest rq = HELPDESK__V1__LIST_TASKS_REQUEST__INIT;
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = page_size;
  page.page_token = (char *)(token_in ? token_in : "");
  rq.ticket_id = ticket_id;
  rq.page = &page;
  return call(x, "ListTasks", token, &rq.base, &helpdesk__v1__list_tasks_response__descriptor,
              out);
}

static hd_code merge(fx *x, const char *token, int64_t target, const int64_t *sources, size_t n,
                     int64_t expected, Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__MergeTicketsRequest rq = HELPDESK__V1__MERGE_TICKETS_REQUEST__INIT;
  rq.target_ticket_id = target;
  rq.source_ticket_ids = (int64_t *)sources;
  rq.n_source_ticket_ids = n;
  rq.expected_target_version = expected;
  return call(x, "MergeTickets", token, &rq.base, &helpdesk__v1__ticket__descriptor, out);
}

#define MERGE(x, token, target, expected, out, ...)                                                \
  merge((x), (token), (target), (const int64_t[]){__VA_ARGS__},                                    \
        sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t), (expected), (out))

/* A PROCESSING ticket of customer in acme owned by agent-1, set directly (AssignTicket and
 * ReplyToTicket are not what this file tests). */
static int64_t owned(fx *x, const char *customer, const char *subject) {
  const int64_t id = seed(x, "acme", customer, subject);
  sql1(x, "UPDATE tickets SET owner_id = 'agent-1', status = 'PROCESSING' WHERE id = ?", id);
  return id;
}

static int64_t events(fx *x, const char *type, int64_t ticket_id) {
  char sql[160];
  snprintf(sql, sizeof sql,
           "SELECT COUNT(*) FROM outbox WHERE event_type = '%s' AND aggregate_id = ?", type);
  return count1(x, sql, ticket_id);
}

/* ---- tasks ---- */

static void test_tasks_are_created_updated_and_listed_oldest_first(void **state) {
  fx *x = *state;
  const int64_t id = owned(x, "cust-1", "Needs the DNS team");
  const int64_t v0 = stored(x, id)->version;
  Helpdesk__V1__CreateTaskRequest rq = task_req(id, "Check the zone file", "dns");
  rq.expected_version = v0;
  Helpdesk__V1__Task *a = NULL, *b = NULL;
  OK(x, create_task(x, x->t.agent, &rq, &a));
  assert_true(a->id > 0);
  assert_int_equal(a->ticket_id, id);
  assert_string_equal(a->title, "Check the zone file");
  assert_string_equal(a->department, "dns");
  assert_string_equal(a->assignee_id, "");
  assert_int_equal(a->status, HELPDESK__V1__TASK_STATUS__TASK_STATUS_OPEN);
  assert_int_equal(a->due_time_us, 0);
  assert_int_equal(a->version, 1);
  assert_int_equal(a->create_time_us, now_us(x));
  rq = task_req(id, "Refund the renewal", "billing");
  rq.assignee_id = "bill-7";
  rq.due_time_us = now_us(x) + 3600LL * 1000000;
  OK(x, create_task(x, x->t.service, &rq, &b));
  assert_string_equal(b->assignee_id, "bill-7");
  assert_int_equal(b->due_time_us, now_us(x) + 3600LL * 1000000);
  /* Each task is a change of the ticket: version, history row "task", event. */
  assert_int_equal(stored(x, id)->version, v0 + 2);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = ? AND action = "
                          "'TASK_CREATED' AND field = 'task'",
                          id),
                   2);
  assert_int_equal(events(x, TICKET_EVENT_TASK_CHANGED, id), 2);

  hd_clock_advance(&x->t.f.clock, 1000);
  Helpdesk__V1__UpdateTaskRequest up = HELPDESK__V1__UPDATE_TASK_REQUEST__INIT;
  up.ticket_id = id;
  up.task_id = a->id;
  up.expected_version = 1;
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_IN_PROGRESS;
  up.assignee_id = "dns-3";
  Helpdesk__V1__Task *u = NULL;
  OK(x, update_task(x, x->t.lead, &up, &u));
  assert_int_equal(u->version, 2);
  assert_int_equal(u->status, HELPDESK__V1__TASK_STATUS__TASK_STATUS_IN_PROGRESS);
  assert_string_equal(u->assignee_id, "dns-3");
  assert_string_equal(u->title, "Check the zone file"); /* unset fields stay */
  assert_int_equal(u->update_time_us, now_us(x));
  assert_int_equal(u->create_time_us, a->create_time_us);
  assert_int_equal(
      count1(x, "SELECT COUNT(*) FROM tasks WHERE id = ? AND status = 'IN_PROGRESS'", a->id), 1);
  /* Clearing: the assignee and the due time go; other fields change with them. */
  up = (Helpdesk__V1__UpdateTaskRequest)HELPDESK__V1__UPDATE_TASK_REQUEST__INIT;
  up.ticket_id = id;
  up.task_id = b->id;
  up.clear_assignee = true;
  up.clear_due_time = true;
  up.title = "Refund the renewal in full";
  up.department = "finance";
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_DONE;
  OK(x, update_task(x, x->t.agent2, &up, &u));
  assert_string_equal(u->assignee_id, "");
  assert_int_equal(u->due_time_us, 0);
  assert_string_equal(u->title, "Refund the renewal in full");
  assert_string_equal(u->department, "finance");
  assert_int_equal(u->status, HELPDESK__V1__TASK_STATUS__TASK_STATUS_DONE);
  assert_int_equal(stored(x, id)->version, v0 + 4);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = ? AND action = "
                          "'TASK_UPDATED' AND field = 'task'",
                          id),
                   2);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM outbox WHERE aggregate_id = ? AND event_type = "
                          "'ticket.task_changed' AND payload LIKE '%\"task_status\":\"DONE\"%'",
                          id),
                   1);

  Helpdesk__V1__ListTasksResponse *l = NULL;
  OK(x, list_tasks(x, x->t.admin, id, 0, NULL, &l));
  assert_int_equal(l->n_tasks, 2);
  assert_int_equal(l->tasks[0]->id, a->id);
  assert_int_equal(l->tasks[0]->version, 2);
  assert_int_equal(l->tasks[1]->id, b->id);
  assert_string_equal(l->tasks[1]->department, "finance");
  assert_non_null(l->page);
  assert_string_equal(l->page->next_page_token, "");
}

static void test_stale_task_version_is_aborted_and_writes_nothing(void **state) {
  fx *x = *state;
  const int64_t id = owned(x, "cust-1", "Two editors");
  Helpdesk__V1__CreateTaskRequest rq = task_req(id, "Restore the mailbox", "email");
  Helpdesk__V1__Task *task = NULL;
  OK(x, create_task(x, x->t.agent, &rq, &task));
  Helpdesk__V1__UpdateTaskRequest up = HELPDESK__V1__UPDATE_TASK_REQUEST__INIT;
  up.ticket_id = id;
  up.task_id = task->id;
  up.expected_version = 1;
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_IN_PROGRESS;
  OK(x, update_task(x, x->t.agent, &up, NULL));
  /* A second editor still holding version 1. */
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_CANCELLED;
  REFUSED(x, HD_ABORTED, update_task(x, x->t.agent2, &up, NULL));
  ERR_HAS(x, "version is now 2, you sent 1");
  up.expected_version = 2;
  Helpdesk__V1__Task *u = NULL;
  OK(x, update_task(x, x->t.agent2, &up, &u));
  assert_int_equal(u->version, 3);
  assert_int_equal(u->status, HELPDESK__V1__TASK_STATUS__TASK_STATUS_CANCELLED);
  /* The ticket's own version guards CreateTask. */
  rq.expected_version = 1;
  REFUSED(x, HD_ABORTED, create_task(x, x->t.agent, &rq, NULL));
  ERR_HAS(x, "ticket");
}

static void test_task_inputs_at_their_limits_and_one_past(void **state) {
  fx *x = *state;
  const int64_t id = owned(x, "cust-1", "Limits");
  char *title200 = rep("é", 200), *title201 = rep("é", 201);
  char *dept64 = rep("d", 64), *dept65 = rep("d", 65);
  char *who128 = rep("w", 128), *who129 = rep("w", 129);
  Helpdesk__V1__CreateTaskRequest rq = task_req(id, title201, "dns");
  REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->t.agent, &rq, NULL));
  ERR_HAS(x, "title has 201 characters; at most 200");
  rq.title = "";
  REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->t.agent, &rq, NULL));
  ERR_HAS(x, "title is required");
  rq.title = "ok";
  rq.department = "";
  REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->t.agent, &rq, NULL));
  ERR_HAS(x, "department is required");
  rq.department = dept65;
  REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->t.agent, &rq, NULL));
  ERR_HAS(x, "department has 65 characters");
  rq.department = "dns";
  rq.assignee_id = who129;
  REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->t.agent, &rq, NULL));
  ERR_HAS(x, "assignee_id has 129 characters");
  rq.assignee_id = "";
  rq.due_time_us = -1;
  REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->t.agent, &rq, NULL));
  ERR_HAS(x, "due_time_us");
  rq.due_time_us = 0;
  rq.ticket_id = 0;
  REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->t.agent, &rq, NULL));
  rq.ticket_id = 999999;
  REFUSED(x, HD_NOT_FOUND, create_task(x, x->t.agent, &rq, NULL));
  /* Exactly at every limit. */
  rq = task_req(id, title200, dept64);
  rq.assignee_id = who128;
  Helpdesk__V1__Task *task = NULL;
  OK(x, create_task(x, x->t.agent, &rq, &task));
  assert_string_equal(task->title, title200);
  assert_string_equal(task->assignee_id, who128);

  Helpdesk__V1__UpdateTaskRequest up = HELPDESK__V1__UPDATE_TASK_REQUEST__INIT;
  up.ticket_id = id;
  up.task_id = task->id;
  REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->t.agent, &up, NULL));
  ERR_HAS(x, "nothing to change");
  up.title = title201;
  REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->t.agent, &up, NULL));
  up.title = "";
  up.department = dept65;
  REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->t.agent, &up, NULL));
  up.department = "";
  up.assignee_id = who129;
  REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->t.agent, &up, NULL));
  up.assignee_id = "someone";
  up.clear_assignee = true;
  REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->t.agent, &up, NULL));
  ERR_HAS(x, "clear_assignee");
  up.assignee_id = "";
  up.clear_assignee = false;
  up.due_time_us = 5;
  up.clear_due_time = true;
  REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->t.agent, &up, NULL));
  ERR_HAS(x, "clear_due_time");
  up.due_time_us = -5;
  up.clear_due_time = false;
  REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->t.agent, &up, NULL));
  up.due_time_us = 0;
  up.status = (Helpdesk__V1__TaskStatus)9;
  REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->t.agent, &up, NULL));
  ERR_HAS(x, "status has no value 9");
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_DONE;
  up.task_id = 0;
  REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->t.agent, &up, NULL));
  up.task_id = task->id + 1000;
  REFUSED(x, HD_NOT_FOUND, update_task(x, x->t.agent, &up, NULL));
  ERR_HAS(x, "not found on ticket");
  /* A task is reached only through its own ticket. */
  const int64_t other = owned(x, "cust-1", "Another ticket");
  up.ticket_id = other;
  up.task_id = task->id;
  REFUSED(x, HD_NOT_FOUND, update_task(x, x->t.agent, &up, NULL));
  up.ticket_id = id;
  up.title = title200;
  up.department = dept64;
  up.assignee_id = who128;
  OK(x, update_task(x, x->t.agent, &up, NULL));
  free(title200);
  free(title201);
  free(dept64);
  free(dept65);
  free(who128);
  free(who129);
}

static void test_tasks_are_for_staff_and_created_on_open_tickets_only(void **state) {
  fx *x = *state;
  const int64_t id = owned(x, "cust-1", "Customer's own ticket");
  Helpdesk__V1__CreateTaskRequest rq = task_req(id, "Internal work", "dns");
  REFUSED(x, HD_PERMISSION_DENIED, create_task(x, x->t.customer, &rq, NULL));
  ERR_HAS(x, "CreateTask is for staff");
  REFUSED(x, HD_NOT_FOUND, create_task(x, x->t.other_tenant, &rq, NULL));
  Helpdesk__V1__Task *task = NULL;
  OK(x, create_task(x, x->t.admin, &rq, &task));
  Helpdesk__V1__UpdateTaskRequest up = HELPDESK__V1__UPDATE_TASK_REQUEST__INIT;
  up.ticket_id = id;
  up.task_id = task->id;
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_DONE;
  REFUSED(x, HD_PERMISSION_DENIED, update_task(x, x->t.customer, &up, NULL));
  REFUSED(x, HD_NOT_FOUND, update_task(x, x->t.other_tenant, &up, NULL));
  REFUSED(x, HD_PERMISSION_DENIED, list_tasks(x, x->t.customer, id, 0, NULL, NULL));
  REFUSED(x, HD_NOT_FOUND, list_tasks(x, x->t.other_tenant, id, 0, NULL, NULL));
  /* A closed ticket takes no new task, but its tasks can still be finished. */
  force_closed(x, id);
  REFUSED(x, HD_FAILED_PRECONDITION, create_task(x, x->t.agent, &rq, NULL));
  ERR_HAS(x, "cannot add a task to a ticket in status CLOSED");
  Helpdesk__V1__Task *u = NULL;
  OK(x, update_task(x, x->t.agent, &up, &u));
  assert_int_equal(u->status, HELPDESK__V1__TASK_STATUS__TASK_STATUS_DONE);
  Helpdesk__V1__ListTasksResponse *l = NULL;
  OK(x, list_tasks(x, x->t.service, id, 0, NULL, &l));
  assert_int_equal(l->n_tasks, 1);
}

static void test_task_list_pages_and_refuses_a_token_of_another_ticket(void **state) {
  fx *x = *state;
  const int64_t id = owned(x, "cust-1", "Many tasks");
  const int64_t other = owned(x, "cust-1", "Other");
  int64_t ids[3];
  for (int i = 0; i < 3; i++) {
    char title[32];
    snprintf(title, sizeof title, "Task %d", i + 1);
    Helpdesk__V1__CreateTaskRequest rq = task_req(id, title, "dns");
    Helpdesk__V1__Task *task = NULL;
    OK(x, create_task(x, x->t.agent, &rq, &task));
    ids[i] = task->id;
  }
  Helpdesk__V1__CreateTaskRequest rq = task_req(other, "Elsewhere", "dns");
  OK(x, create_task(x, x->t.agent, &rq, NULL));
  Helpdesk__V1__ListTasksResponse *p1 = NULL, *p2 = NULL, *p3 = NULL;
  OK(x, list_tasks(x, x->t.agent, id, 2, NULL, &p1));
  assert_int_equal(p1->n_tasks, 2);
  assert_int_equal(p1->tasks[0]->id, ids[0]);
  assert_int_equal(p1->tasks[1]->id, ids[1]);
  assert_string_not_equal(p1->page->next_page_token, "");
  OK(x, list_tasks(x, x->t.agent, id, 2, p1->page->next_page_token, &p2));
  assert_int_equal(p2->n_tasks, 1);
  assert_int_equal(p2->tasks[0]->id, ids[2]);
  assert_string_equal(p2->page->next_page_token, "");
  /* Exactly a full page: no next page. */
  OK(x, list_tasks(x, x->t.agent, id, 3, NULL, &p3));
  assert_int_equal(p3->n_tasks, 3);
  assert_string_equal(p3->page->next_page_token, "");
  REFUSED(x, HD_INVALID_ARGUMENT,
          list_tasks(x, x->t.agent, other, 2, p1->page->next_page_token, NULL));
  ERR_HAS(x, "another listing");
  REFUSED(x, HD_INVALID_ARGUMENT, list_tasks(x, x->t.agent, id, 2, "zz-not-a-token", NULL));
  REFUSED(x, HD_INVALID_ARGUMENT, list_tasks(x, x->t.agent, id, 501, NULL, NULL));
  OK(x, list_tasks(x, x->t.agent, id, 500, NULL, &p3));
  assert_int_equal(p3->n_tasks, 3);
}

/* ---- MergeTickets ---- */

static void test_merge_closes_two_sources_into_the_target_which_lists_them(void **state) {
  fx *x = *state;
  const int64_t target = owned(x, "cust-1", "Site down");
  const int64_t s1 = seed(x, "acme", "cust-1", "Site down again");
  const int64_t s2 = owned(x, "cust-1", "Still down");
  /* A SUSPENDED source (set directly: SuspendTicket is built in parallel) merges too. */
  sql1(x, "UPDATE tickets SET status = 'SUSPENDED', suspended_from = 'PROCESSING' WHERE id = ?",
       s2);
  const int64_t v = stored(x, target)->version;
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, MERGE(x, x->t.agent, target, v, &t, s2, s1)); /* the target's owner; any order */
  assert_int_equal(t->id, target);
  assert_int_equal(t->version, v + 1);
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PROCESSING);
  assert_int_equal(t->merged_into_id, 0);
  assert_int_equal(t->n_associated_ticket_ids, 2);
  assert_int_equal(t->associated_ticket_ids[0], s1);
  assert_int_equal(t->associated_ticket_ids[1], s2);
  const int64_t sources[] = {s1, s2};
  for (size_t i = 0; i < 2; i++) {
    const Helpdesk__V1__Ticket *s = stored(x, sources[i]);
    assert_int_equal(s->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
    assert_int_equal(s->merged_into_id, target);
    assert_int_equal(s->close_time_us, now_us(x));
    assert_int_equal(s->suspended_from, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_UNSPECIFIED);
    assert_int_equal(events(x, TICKET_EVENT_MERGED, sources[i]), 1);
    assert_int_equal(count1(x,
                            "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = ? AND action = "
                            "'MERGE' AND ((field = 'status' AND to_value = 'CLOSED') OR "
                            "(field = 'merged_into_id'))",
                            sources[i]),
                     2);
  }
  char sql[200];
  snprintf(sql, sizeof sql,
           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = ? AND event_type = 'ticket.merged' "
           "AND payload LIKE '%%\"source_ticket_ids\":\"%" PRId64 ",%" PRId64 "\"%%'",
           s1, s2);
  assert_int_equal(count1(x, sql, target), 1);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = ? AND action = "
                          "'MERGE' AND field = 'associated_ticket'",
                          target),
                   2);
  /* Another merge into the same target adds to its list. */
  const int64_t s3 = seed(x, "acme", "cust-1", "Third report");
  OK(x, MERGE(x, x->t.lead, target, 0, &t, s3));
  assert_int_equal(t->n_associated_ticket_ids, 3);
  assert_int_equal(t->associated_ticket_ids[2], s3);
}

static void test_merge_is_for_the_target_owner_or_a_team_lead_or_supervisor(void **state) {
  fx *x = *state;
  const int64_t target = owned(x, "cust-1", "Target");
  const int64_t a = seed(x, "acme", "cust-1", "A"), b = seed(x, "acme", "cust-1", "B");
  REFUSED(x, HD_PERMISSION_DENIED, MERGE(x, x->t.agent2, target, 0, NULL, a));
  ERR_HAS(x, "owned by agent-1");
  REFUSED(x, HD_PERMISSION_DENIED, MERGE(x, x->t.admin, target, 0, NULL, a));
  REFUSED(x, HD_PERMISSION_DENIED, MERGE(x, x->t.service, target, 0, NULL, a));
  REFUSED(x, HD_PERMISSION_DENIED, MERGE(x, x->t.customer, target, 0, NULL, a));
  ERR_HAS(x, "customers cannot merge");
  /* Owning a source is not enough: the target's owner decides. */
  sql1(x, "UPDATE tickets SET owner_id = 'agent-2' WHERE id = ?", a);
  REFUSED(x, HD_PERMISSION_DENIED, MERGE(x, x->t.agent2, target, 0, NULL, a));
  OK(x, MERGE(x, x->t.lead, target, 0, NULL, a));
  OK(x, MERGE(x, x->t.supervisor, target, 0, NULL, b));
  assert_int_equal(stored(x, target)->n_associated_ticket_ids, 2);
}

static void test_merge_request_is_checked_before_any_work(void **state) {
  fx *x = *state;
  const int64_t target = owned(x, "cust-1", "Target");
  const int64_t a = seed(x, "acme", "cust-1", "A");
  REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->t.lead, target, 0, NULL, target));
  ERR_HAS(x, "into itself");
  REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->t.lead, target, 0, NULL, a, target));
  REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->t.lead, target, 0, NULL, a, a));
  ERR_HAS(x, "more than once");
  REFUSED(x, HD_INVALID_ARGUMENT, merge(x, x->t.lead, target, NULL, 0, 0, NULL));
  ERR_HAS(x, "needs 1 to 20 ticket ids, got 0");
  int64_t many[21];
  for (int i = 0; i < 21; i++) many[i] = target + 1 + i;
  REFUSED(x, HD_INVALID_ARGUMENT, merge(x, x->t.lead, target, many, 21, 0, NULL));
  ERR_HAS(x, "got 21");
  REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->t.lead, target, 0, NULL, a, -4));
  REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->t.lead, 0, 0, NULL, a));
  REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->t.lead, target, -1, NULL, a));
  REFUSED(x, HD_NOT_FOUND, MERGE(x, x->t.lead, target, 0, NULL, a, 999999));
  REFUSED(x, HD_NOT_FOUND, MERGE(x, x->t.lead, 999999, 0, NULL, a));
}

static void test_merge_across_customers_or_tenants_is_refused(void **state) {
  fx *x = *state;
  const int64_t target = owned(x, "cust-1", "Mine");
  const int64_t same = seed(x, "acme", "cust-1", "Mine too");
  const int64_t theirs = seed(x, "acme", "cust-2", "Theirs");
  const int64_t foreign = seed(x, "globex", "cust-1", "Another tenant's");
  REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->t.lead, target, 0, NULL, same, theirs));
  ERR_HAS(x, "customer cust-2");
  ERR_HAS(x, "customer cust-1");
  REFUSED(x, HD_NOT_FOUND, MERGE(x, x->t.lead, target, 0, NULL, same, foreign));
  /* The other tenant's staff cannot reach acme's target either. */
  REFUSED(x, HD_NOT_FOUND, MERGE(x, x->t.other_tenant, foreign, 0, NULL, target));
  REFUSED(x, HD_NOT_FOUND, MERGE(x, x->t.other_tenant, target, 0, NULL, foreign));
  OK(x, MERGE(x, x->t.lead, target, 0, NULL, same));
}

static void test_merge_never_chains_never_cycles_and_only_takes_open_tickets(void **state) {
  fx *x = *state;
  const int64_t a = owned(x, "cust-1", "A");
  const int64_t b = owned(x, "cust-1", "B");
  const int64_t c = owned(x, "cust-1", "C");
  const int64_t d = owned(x, "cust-1", "D");
  const int64_t e = owned(x, "cust-1", "E");
  OK(x, MERGE(x, x->t.lead, a, 0, NULL, b)); /* b is merged into a */
  /* A source already merged. */
  REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->t.lead, c, 0, NULL, b));
  ERR_HAS(x, "already merged into ticket");
  /* A target that was merged (b → a; merging into b would chain). */
  REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->t.lead, b, 0, NULL, c));
  ERR_HAS(x, "was itself merged into ticket");
  /* A source others were merged into (a has b): a → c would chain b → a → c. */
  REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->t.lead, c, 0, NULL, a));
  ERR_HAS(x, "merged into it");
  REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->t.lead, c, 0, NULL, d, a));
  /* Closed or cancelled tickets are neither sources nor targets. */
  force_closed(x, d);
  REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->t.lead, c, 0, NULL, d));
  ERR_HAS(x, "cannot MERGE_CLOSE a ticket in status CLOSED");
  REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->t.lead, d, 0, NULL, c));
  ERR_HAS(x, "the target must be open");
  sql1(x, "UPDATE tickets SET status = 'CANCELLED' WHERE id = ?", e);
  REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->t.lead, c, 0, NULL, e));
  /* What was refused did not move: c can still take a fresh source. */
  const int64_t f = seed(x, "acme", "cust-1", "F");
  OK(x, MERGE(x, x->t.lead, c, 0, NULL, f));
  /* And a target with merged tickets still takes more (a star, not a chain). */
  const int64_t g = seed(x, "acme", "cust-1", "G");
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, MERGE(x, x->t.lead, a, 0, &t, g));
  assert_int_equal(t->n_associated_ticket_ids, 2);
}

static void test_merge_with_a_stale_target_version_is_aborted(void **state) {
  fx *x = *state;
  const int64_t target = owned(x, "cust-1", "Target");
  const int64_t a = seed(x, "acme", "cust-1", "A");
  const int64_t seen = stored(x, target)->version;
  /* Someone else changed the target twice since the caller read it. */
  sql1(x, "UPDATE tickets SET version = version + 2 WHERE id = ?", target);
  REFUSED(x, HD_ABORTED, MERGE(x, x->t.agent, target, seen, NULL, a));
  ERR_HAS(x, "was changed by someone else");
  REFUSED(x, HD_ABORTED, MERGE(x, x->t.agent, target, seen + 3, NULL, a));
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, MERGE(x, x->t.agent, target, seen + 2, &t, a));
  assert_int_equal(t->version, seen + 3);
}

static void test_merge_takes_twenty_sources_at_once(void **state) {
  fx *x = *state;
  const int64_t target = owned(x, "cust-1", "Target of twenty");
  int64_t sources[20];
  for (int i = 0; i < 20; i++) sources[i] = seed(x, "acme", "cust-1", "Duplicate report");
  Helpdesk__V1__Ticket *t = NULL;
  OK(x, merge(x, x->t.supervisor, target, sources, 20, 0, &t));
  assert_int_equal(t->n_associated_ticket_ids, 20);
  for (int i = 0; i < 20; i++) assert_int_equal(t->associated_ticket_ids[i], sources[i]);
  assert_int_equal(count1(x,
                          "SELECT COUNT(*) FROM tickets WHERE merged_into_id = ? AND status = "
                          "'CLOSED'",
                          target),
                   20);
}

/* One of two merges racing over the same tickets, on its own thread with its own reply arena. */
typedef struct race_arg {
  hd_fixture *f;
  const char *token;
  int64_t target;
  int64_t sources[2];
  hd_code code;
  hd_err err;
} race_arg;

static void *race_merge(void *p) {
  race_arg *a = p;
  Helpdesk__V1__MergeTicketsRequest rq = HELPDESK__V1__MERGE_TICKETS_REQUEST__INIT;
  rq.target_ticket_id = a->target;
  rq.source_ticket_ids = a->sources;
  rq.n_source_ticket_ids = 2;
  hd_arena *arena = hd_arena_new(1u << 20);
  a->code = arena ? hd_fixture_call(a->f, "/helpdesk.v1.TicketService/MergeTickets", a->token,
                                    &rq.base, &helpdesk__v1__ticket__descriptor, arena, NULL,
                                    &a->err)
                  : HD_RESOURCE_EXHAUSTED;
  hd_arena_free(arena);
  return NULL;
}

static void test_concurrent_merges_over_the_same_tickets_leave_no_cycle(void **state) {
  fx *x = *state;
  for (int round = 0; round < 5; round++) {
    const int64_t a = owned(x, "cust-1", "A"), b = owned(x, "cust-1", "B");
    const int64_t c = owned(x, "cust-1", "C"), d = owned(x, "cust-1", "D");
    /* b, d → a against a, c → d: each wants the other's target as a source. */
    race_arg r1 = {.f = &x->t.f, .token = x->t.lead, .target = a, .sources = {d, b}};
    race_arg r2 = {.f = &x->t.f, .token = x->t.supervisor, .target = d, .sources = {a, c}};
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, race_merge, &r1), 0);
    assert_int_equal(pthread_create(&t2, NULL, race_merge, &r2), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    /* Exactly one wins; the loser is refused by the rules, not by a deadlock or an error. */
    const bool first = r1.code == HD_OK;
    if (first == (r2.code == HD_OK))
      fail_msg("round %d: %s (%s) and %s (%s)", round, hd_code_name(r1.code), r1.err.msg,
               hd_code_name(r2.code), r2.err.msg);
    assert_int_equal(first ? r2.code : r1.code, HD_FAILED_PRECONDITION);
    const int64_t winner = first ? a : d, loser = first ? d : a;
    assert_int_equal(stored(x, winner)->merged_into_id, 0);
    assert_int_equal(stored(x, winner)->n_associated_ticket_ids, 2);
    assert_int_equal(stored(x, loser)->merged_into_id, winner);
    assert_int_equal(stored(x, loser)->n_associated_ticket_ids, 0);
    assert_int_equal(stored(x, first ? c : b)->merged_into_id, 0); /* the loser's other source */
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tasks_are_created_updated_and_listed_oldest_first,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_stale_task_version_is_aborted_and_writes_nothing,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_task_inputs_at_their_limits_and_one_past, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_tasks_are_for_staff_and_created_on_open_tickets_only,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_task_list_pages_and_refuses_a_token_of_another_ticket,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_merge_closes_two_sources_into_the_target_which_lists_them, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_merge_is_for_the_target_owner_or_a_team_lead_or_supervisor, setup, teardown),
      cmocka_unit_test_setup_teardown(test_merge_request_is_checked_before_any_work, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_merge_across_customers_or_tenants_is_refused, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_merge_never_chains_never_cycles_and_only_takes_open_tickets, setup, teardown),
      cmocka_unit_test_setup_teardown(test_merge_with_a_stale_target_version_is_aborted, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_merge_takes_twenty_sources_at_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_merges_over_the_same_tickets_leave_no_cycle,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
