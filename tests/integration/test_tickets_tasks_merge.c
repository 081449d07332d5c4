/* CreateTask, UpdateTask, ListTasks and MergeTickets through real gRPC calls against the
 * in-process ticket service (real MariaDB and Redis): tasks with their own versions, limits at
 * their edges, staff only; merges that close their sources into a target, and every way a merge
 * is refused (into itself, duplicates, across customers or tenants, chains and cycles, closed
 * tickets, a stale version), each leaving the database exactly as it was.
 *
 * Set-up goes through the real RPCs too (ticket_fixture): tickets are opened with CreateTicket,
 * owned through AssignTicket, moved to PROCESSING, SUSPENDED, CLOSED or CANCELLED through the
 * reply and case RPCs, and read back with GetTicket. */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ticket_fixture.h"

/* ---- calls (each keeps its message in x->err) ---- */

static Helpdesk__V1__CreateTaskRequest task_req(int64_t ticket_id, const char *title,
                                                const char *department) {
  Helpdesk__V1__CreateTaskRequest rq = HELPDESK__V1__CREATE_TASK_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  rq.title = (char *)title;
  rq.department = (char *)department;
  return rq;
}

static hd_code create_task(tf *x, const char *token, const Helpdesk__V1__CreateTaskRequest *rq,
                           Helpdesk__V1__Task **out) {
  return tf_call(x, "CreateTask", token, &rq->base, &helpdesk__v1__task__descriptor, out, NULL);
}

static hd_code update_task(tf *x, const char *token, const Helpdesk__V1__UpdateTaskRequest *rq,
                           Helpdesk__V1__Task **out) {
  return tf_call(x, "UpdateTask", token, &rq->base, &helpdesk__v1__task__descriptor, out, NULL);
}

static hd_code list_tasks(tf *x, const char *token, int64_t ticket_id, int32_t page_size,
                          const char *token_in, Helpdesk__V1__ListTasksResponse **out) {
  Helpdesk__V1__ListTasksRequest rq = HELPDESK__V1__LIST_TASKS_REQUEST__INIT;
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = page_size;
  page.page_token = (char *)(token_in ? token_in : "");
  rq.ticket_id = ticket_id;
  rq.page = &page;
  return tf_call(x, "ListTasks", token, &rq.base, &helpdesk__v1__list_tasks_response__descriptor,
                 out, NULL);
}

static hd_code merge(tf *x, const char *token, int64_t target, const int64_t *sources, size_t n,
                     int64_t expected, Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__MergeTicketsRequest rq = HELPDESK__V1__MERGE_TICKETS_REQUEST__INIT;
  rq.target_ticket_id = target;
  rq.source_ticket_ids = (int64_t *)sources;
  rq.n_source_ticket_ids = n;
  rq.expected_target_version = expected;
  return tf_call(x, "MergeTickets", token, &rq.base, &helpdesk__v1__ticket__descriptor, out, NULL);
}

#define MERGE(x, token, target, expected, out, ...)             \
  merge((x), (token), (target), (const int64_t[]){__VA_ARGS__}, \
        sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t), (expected), (out))

/* ---- set-up ---- */

/* A new PENDING_RESPONSE ticket of cust-1 in acme, opened by them. */
static int64_t new_ticket(tf *x, const char *subject) {
  return tf_create(x, x->customer, NULL, subject)->id;
}

/* A PROCESSING ticket of cust-1 in acme owned by agent-1 (assigned by the team lead, then
 * acknowledged). */
static int64_t owned(tf *x, const char *subject) {
  const int64_t id = new_ticket(x, subject);
  tf_assign(x, id, "agent-1");
  tf_set_status(x, id, TF_STATUS(PROCESSING));
  return id;
}

/* ---- tasks ---- */

static void test_tasks_are_created_updated_and_listed_oldest_first(void **state) {
  tf *x = *state;
  const int64_t id = owned(x, "Needs the DNS team");
  const int64_t v0 = tf_get(x, x->lead, id)->version;
  Helpdesk__V1__CreateTaskRequest rq = task_req(id, "Check the zone file", "dns");
  rq.expected_version = v0;
  Helpdesk__V1__Task *a = NULL, *b = NULL;
  TF_OK(x, create_task(x, x->agent, &rq, &a));
  assert_true(a->id > 0);
  assert_int_equal(a->ticket_id, id);
  assert_string_equal(a->title, "Check the zone file");
  assert_string_equal(a->department, "dns");
  assert_string_equal(a->assignee_id, "");
  assert_int_equal(a->status, HELPDESK__V1__TASK_STATUS__TASK_STATUS_OPEN);
  assert_int_equal(a->due_time_us, 0);
  assert_int_equal(a->version, 1);
  assert_int_equal(a->create_time_us, tf_now(x));
  rq = task_req(id, "Refund the renewal", "billing");
  rq.assignee_id = "bill-7";
  rq.due_time_us = tf_now(x) + 3600LL * 1000000;
  TF_OK(x, create_task(x, x->service, &rq, &b));
  assert_string_equal(b->assignee_id, "bill-7");
  assert_int_equal(b->due_time_us, tf_now(x) + 3600LL * 1000000);
  /* Each task is a change of the ticket: version, history row "task", event. */
  assert_int_equal(tf_get(x, x->lead, id)->version, v0 + 2);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'TASK_CREATED' AND field = 'task'",
                           id),
                   2);
  assert_int_equal(tf_events(x, TICKET_EVENT_TASK_CHANGED, id), 2);

  hd_clock_advance(&x->f.clock, 1000);
  Helpdesk__V1__UpdateTaskRequest up = HELPDESK__V1__UPDATE_TASK_REQUEST__INIT;
  up.ticket_id = id;
  up.task_id = a->id;
  up.expected_version = 1;
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_IN_PROGRESS;
  up.assignee_id = "dns-3";
  Helpdesk__V1__Task *u = NULL;
  TF_OK(x, update_task(x, x->lead, &up, &u));
  assert_int_equal(u->version, 2);
  assert_int_equal(u->status, HELPDESK__V1__TASK_STATUS__TASK_STATUS_IN_PROGRESS);
  assert_string_equal(u->assignee_id, "dns-3");
  assert_string_equal(u->title, "Check the zone file"); /* unset fields stay */
  assert_int_equal(u->update_time_us, tf_now(x));
  assert_int_equal(u->create_time_us, a->create_time_us);
  assert_int_equal(
      tf_sqlf(x, "SELECT COUNT(*) FROM tasks WHERE id = %" PRId64 " AND status = 'IN_PROGRESS'",
              a->id),
      1);
  /* Clearing: the assignee and the due time go; other fields change with them. */
  up = (Helpdesk__V1__UpdateTaskRequest)HELPDESK__V1__UPDATE_TASK_REQUEST__INIT;
  up.ticket_id = id;
  up.task_id = b->id;
  up.clear_assignee = true;
  up.clear_due_time = true;
  up.title = "Refund the renewal in full";
  up.department = "finance";
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_DONE;
  TF_OK(x, update_task(x, x->agent2, &up, &u));
  assert_string_equal(u->assignee_id, "");
  assert_int_equal(u->due_time_us, 0);
  assert_string_equal(u->title, "Refund the renewal in full");
  assert_string_equal(u->department, "finance");
  assert_int_equal(u->status, HELPDESK__V1__TASK_STATUS__TASK_STATUS_DONE);
  assert_int_equal(tf_get(x, x->lead, id)->version, v0 + 4);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'TASK_UPDATED' AND field = 'task'",
                           id),
                   2);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.task_changed' AND payload LIKE "
                           "'%%\"task_status\":\"DONE\"%%'",
                           id),
                   1);

  Helpdesk__V1__ListTasksResponse *l = NULL;
  TF_OK(x, list_tasks(x, x->admin, id, 0, NULL, &l));
  assert_int_equal(l->n_tasks, 2);
  assert_int_equal(l->tasks[0]->id, a->id);
  assert_int_equal(l->tasks[0]->version, 2);
  assert_int_equal(l->tasks[1]->id, b->id);
  assert_string_equal(l->tasks[1]->department, "finance");
  assert_non_null(l->page);
  assert_string_equal(l->page->next_page_token, "");
}

static void test_stale_task_version_is_aborted_and_writes_nothing(void **state) {
  tf *x = *state;
  const int64_t id = owned(x, "Two editors");
  Helpdesk__V1__CreateTaskRequest rq = task_req(id, "Restore the mailbox", "email");
  Helpdesk__V1__Task *task = NULL;
  TF_OK(x, create_task(x, x->agent, &rq, &task));
  Helpdesk__V1__UpdateTaskRequest up = HELPDESK__V1__UPDATE_TASK_REQUEST__INIT;
  up.ticket_id = id;
  up.task_id = task->id;
  up.expected_version = 1;
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_IN_PROGRESS;
  TF_OK(x, update_task(x, x->agent, &up, NULL));
  /* A second editor still holding version 1. */
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_CANCELLED;
  TF_REFUSED(x, HD_ABORTED, update_task(x, x->agent2, &up, NULL));
  tf_expect_err_has(x, "version is now 2, you sent 1");
  up.expected_version = 2;
  Helpdesk__V1__Task *u = NULL;
  TF_OK(x, update_task(x, x->agent2, &up, &u));
  assert_int_equal(u->version, 3);
  assert_int_equal(u->status, HELPDESK__V1__TASK_STATUS__TASK_STATUS_CANCELLED);
  /* The ticket's own version guards CreateTask. */
  rq.expected_version = 1;
  TF_REFUSED(x, HD_ABORTED, create_task(x, x->agent, &rq, NULL));
  tf_expect_err_has(x, "ticket");
}

static void test_task_inputs_at_their_limits_and_one_past(void **state) {
  tf *x = *state;
  const int64_t id = owned(x, "Limits");
  char *title200 = tf_repeat(x, "é", 200), *title201 = tf_repeat(x, "é", 201);
  char *dept64 = tf_repeat(x, "d", 64), *dept65 = tf_repeat(x, "d", 65);
  char *who128 = tf_repeat(x, "w", 128), *who129 = tf_repeat(x, "w", 129);
  Helpdesk__V1__CreateTaskRequest rq = task_req(id, title201, "dns");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->agent, &rq, NULL));
  tf_expect_err_has(x, "title has 201 characters; at most 200");
  rq.title = "";
  TF_REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->agent, &rq, NULL));
  tf_expect_err_has(x, "title is required");
  rq.title = "ok";
  rq.department = "";
  TF_REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->agent, &rq, NULL));
  tf_expect_err_has(x, "department is required");
  rq.department = dept65;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->agent, &rq, NULL));
  tf_expect_err_has(x, "department has 65 characters");
  rq.department = "dns";
  rq.assignee_id = who129;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->agent, &rq, NULL));
  tf_expect_err_has(x, "assignee_id has 129 characters");
  rq.assignee_id = "";
  rq.due_time_us = -1;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->agent, &rq, NULL));
  tf_expect_err_has(x, "due_time_us");
  rq.due_time_us = 0;
  rq.ticket_id = 0;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, create_task(x, x->agent, &rq, NULL));
  rq.ticket_id = 999999;
  TF_REFUSED(x, HD_NOT_FOUND, create_task(x, x->agent, &rq, NULL));
  /* Exactly at every limit. */
  rq = task_req(id, title200, dept64);
  rq.assignee_id = who128;
  Helpdesk__V1__Task *task = NULL;
  TF_OK(x, create_task(x, x->agent, &rq, &task));
  assert_string_equal(task->title, title200);
  assert_string_equal(task->assignee_id, who128);

  Helpdesk__V1__UpdateTaskRequest up = HELPDESK__V1__UPDATE_TASK_REQUEST__INIT;
  up.ticket_id = id;
  up.task_id = task->id;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->agent, &up, NULL));
  tf_expect_err_has(x, "nothing to change");
  up.title = title201;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->agent, &up, NULL));
  up.title = "";
  up.department = dept65;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->agent, &up, NULL));
  up.department = "";
  up.assignee_id = who129;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->agent, &up, NULL));
  up.assignee_id = "someone";
  up.clear_assignee = true;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->agent, &up, NULL));
  tf_expect_err_has(x, "clear_assignee");
  up.assignee_id = "";
  up.clear_assignee = false;
  up.due_time_us = 5;
  up.clear_due_time = true;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->agent, &up, NULL));
  tf_expect_err_has(x, "clear_due_time");
  up.due_time_us = -5;
  up.clear_due_time = false;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->agent, &up, NULL));
  up.due_time_us = 0;
  up.status = (Helpdesk__V1__TaskStatus)9;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->agent, &up, NULL));
  tf_expect_err_has(x, "status has no value 9");
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_DONE;
  up.task_id = 0;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, update_task(x, x->agent, &up, NULL));
  up.task_id = task->id + 1000;
  TF_REFUSED(x, HD_NOT_FOUND, update_task(x, x->agent, &up, NULL));
  tf_expect_err_has(x, "not found on ticket");
  /* A task is reached only through its own ticket. */
  const int64_t other = owned(x, "Another ticket");
  up.ticket_id = other;
  up.task_id = task->id;
  TF_REFUSED(x, HD_NOT_FOUND, update_task(x, x->agent, &up, NULL));
  up.ticket_id = id;
  up.title = title200;
  up.department = dept64;
  up.assignee_id = who128;
  TF_OK(x, update_task(x, x->agent, &up, NULL));
}

static void test_tasks_are_for_staff_and_created_on_open_tickets_only(void **state) {
  tf *x = *state;
  const int64_t id = owned(x, "Customer's own ticket");
  Helpdesk__V1__CreateTaskRequest rq = task_req(id, "Internal work", "dns");
  TF_REFUSED(x, HD_PERMISSION_DENIED, create_task(x, x->customer, &rq, NULL));
  tf_expect_err_has(x, "CreateTask is for staff");
  TF_REFUSED(x, HD_NOT_FOUND, create_task(x, x->other_tenant, &rq, NULL));
  Helpdesk__V1__Task *task = NULL;
  TF_OK(x, create_task(x, x->admin, &rq, &task));
  Helpdesk__V1__UpdateTaskRequest up = HELPDESK__V1__UPDATE_TASK_REQUEST__INIT;
  up.ticket_id = id;
  up.task_id = task->id;
  up.status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_DONE;
  TF_REFUSED(x, HD_PERMISSION_DENIED, update_task(x, x->customer, &up, NULL));
  TF_REFUSED(x, HD_NOT_FOUND, update_task(x, x->other_tenant, &up, NULL));
  TF_REFUSED(x, HD_PERMISSION_DENIED, list_tasks(x, x->customer, id, 0, NULL, NULL));
  TF_REFUSED(x, HD_NOT_FOUND, list_tasks(x, x->other_tenant, id, 0, NULL, NULL));
  /* A closed ticket takes no new task, but its tasks can still be finished. */
  tf_set_status(x, id, TF_STATUS(CLOSED));
  TF_REFUSED(x, HD_FAILED_PRECONDITION, create_task(x, x->agent, &rq, NULL));
  tf_expect_err_has(x, "cannot add a task to a ticket in status CLOSED");
  Helpdesk__V1__Task *u = NULL;
  TF_OK(x, update_task(x, x->agent, &up, &u));
  assert_int_equal(u->status, HELPDESK__V1__TASK_STATUS__TASK_STATUS_DONE);
  Helpdesk__V1__ListTasksResponse *l = NULL;
  TF_OK(x, list_tasks(x, x->service, id, 0, NULL, &l));
  assert_int_equal(l->n_tasks, 1);
}

static void test_task_list_pages_and_refuses_a_token_of_another_ticket(void **state) {
  tf *x = *state;
  const int64_t id = owned(x, "Many tasks");
  const int64_t other = owned(x, "Other");
  int64_t ids[3];
  for (int i = 0; i < 3; i++) {
    char title[32];
    snprintf(title, sizeof title, "Task %d", i + 1);
    Helpdesk__V1__CreateTaskRequest rq = task_req(id, title, "dns");
    Helpdesk__V1__Task *task = NULL;
    TF_OK(x, create_task(x, x->agent, &rq, &task));
    ids[i] = task->id;
  }
  Helpdesk__V1__CreateTaskRequest rq = task_req(other, "Elsewhere", "dns");
  TF_OK(x, create_task(x, x->agent, &rq, NULL));
  Helpdesk__V1__ListTasksResponse *p1 = NULL, *p2 = NULL, *p3 = NULL;
  TF_OK(x, list_tasks(x, x->agent, id, 2, NULL, &p1));
  assert_int_equal(p1->n_tasks, 2);
  assert_int_equal(p1->tasks[0]->id, ids[0]);
  assert_int_equal(p1->tasks[1]->id, ids[1]);
  assert_string_not_equal(p1->page->next_page_token, "");
  TF_OK(x, list_tasks(x, x->agent, id, 2, p1->page->next_page_token, &p2));
  assert_int_equal(p2->n_tasks, 1);
  assert_int_equal(p2->tasks[0]->id, ids[2]);
  assert_string_equal(p2->page->next_page_token, "");
  /* Exactly a full page: no next page. */
  TF_OK(x, list_tasks(x, x->agent, id, 3, NULL, &p3));
  assert_int_equal(p3->n_tasks, 3);
  assert_string_equal(p3->page->next_page_token, "");
  TF_REFUSED(x, HD_INVALID_ARGUMENT,
             list_tasks(x, x->agent, other, 2, p1->page->next_page_token, NULL));
  tf_expect_err_has(x, "another listing");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, list_tasks(x, x->agent, id, 2, "zz-not-a-token", NULL));
  TF_REFUSED(x, HD_INVALID_ARGUMENT, list_tasks(x, x->agent, id, 501, NULL, NULL));
  TF_OK(x, list_tasks(x, x->agent, id, 500, NULL, &p3));
  assert_int_equal(p3->n_tasks, 3);
}

/* ---- MergeTickets ---- */

static void test_merge_closes_two_sources_into_the_target_which_lists_them(void **state) {
  tf *x = *state;
  const int64_t target = owned(x, "Site down");
  const int64_t s1 = new_ticket(x, "Site down again");
  const int64_t s2 = owned(x, "Still down");
  /* A SUSPENDED source (suspended from PROCESSING) merges too. */
  tf_set_status(x, s2, TF_STATUS(SUSPENDED));
  const int64_t v = tf_get(x, x->lead, target)->version;
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, MERGE(x, x->agent, target, v, &t, s2, s1)); /* the target's owner; any order */
  assert_int_equal(t->id, target);
  assert_int_equal(t->version, v + 1);
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PROCESSING);
  assert_int_equal(t->merged_into_id, 0);
  assert_int_equal(t->n_associated_ticket_ids, 2);
  assert_int_equal(t->associated_ticket_ids[0], s1);
  assert_int_equal(t->associated_ticket_ids[1], s2);
  const int64_t sources[] = {s1, s2};
  for (size_t i = 0; i < 2; i++) {
    const Helpdesk__V1__Ticket *s = tf_get(x, x->lead, sources[i]);
    assert_int_equal(s->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
    assert_int_equal(s->merged_into_id, target);
    assert_int_equal(s->close_time_us, tf_now(x));
    assert_int_equal(s->suspended_from, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_UNSPECIFIED);
    assert_int_equal(tf_events(x, TICKET_EVENT_MERGED, sources[i]), 1);
    assert_int_equal(tf_sqlf(x,
                             "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " "
                             "AND action = 'MERGE' AND ((field = 'status' AND to_value = "
                             "'CLOSED') OR (field = 'merged_into_id'))",
                             sources[i]),
                     2);
  }
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.merged' AND payload LIKE "
                           "'%%\"source_ticket_ids\":\"%" PRId64 ",%" PRId64 "\"%%'",
                           target, s1, s2),
                   1);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'MERGE' AND field = 'associated_ticket'",
                           target),
                   2);
  /* Another merge into the same target adds to its list. */
  const int64_t s3 = new_ticket(x, "Third report");
  TF_OK(x, MERGE(x, x->lead, target, 0, &t, s3));
  assert_int_equal(t->n_associated_ticket_ids, 3);
  assert_int_equal(t->associated_ticket_ids[2], s3);
}

static void test_merge_is_for_the_target_owner_or_a_team_lead_or_supervisor(void **state) {
  tf *x = *state;
  const int64_t target = owned(x, "Target");
  const int64_t a = new_ticket(x, "A"), b = new_ticket(x, "B");
  TF_REFUSED(x, HD_PERMISSION_DENIED, MERGE(x, x->agent2, target, 0, NULL, a));
  tf_expect_err_has(x, "owned by agent-1");
  TF_REFUSED(x, HD_PERMISSION_DENIED, MERGE(x, x->admin, target, 0, NULL, a));
  TF_REFUSED(x, HD_PERMISSION_DENIED, MERGE(x, x->service, target, 0, NULL, a));
  TF_REFUSED(x, HD_PERMISSION_DENIED, MERGE(x, x->customer, target, 0, NULL, a));
  tf_expect_err_has(x, "customers cannot merge");
  /* Owning a source is not enough: the target's owner decides. */
  tf_assign(x, a, "agent-2");
  TF_REFUSED(x, HD_PERMISSION_DENIED, MERGE(x, x->agent2, target, 0, NULL, a));
  TF_OK(x, MERGE(x, x->lead, target, 0, NULL, a));
  TF_OK(x, MERGE(x, x->supervisor, target, 0, NULL, b));
  assert_int_equal(tf_get(x, x->lead, target)->n_associated_ticket_ids, 2);
}

static void test_merge_request_is_checked_before_any_work(void **state) {
  tf *x = *state;
  const int64_t target = owned(x, "Target");
  const int64_t a = new_ticket(x, "A");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->lead, target, 0, NULL, target));
  tf_expect_err_has(x, "into itself");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->lead, target, 0, NULL, a, target));
  TF_REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->lead, target, 0, NULL, a, a));
  tf_expect_err_has(x, "more than once");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, merge(x, x->lead, target, NULL, 0, 0, NULL));
  tf_expect_err_has(x, "needs 1 to 20 ticket ids, got 0");
  int64_t many[21];
  for (int i = 0; i < 21; i++) many[i] = target + 1 + i;
  TF_REFUSED(x, HD_INVALID_ARGUMENT, merge(x, x->lead, target, many, 21, 0, NULL));
  tf_expect_err_has(x, "got 21");
  TF_REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->lead, target, 0, NULL, a, -4));
  TF_REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->lead, 0, 0, NULL, a));
  TF_REFUSED(x, HD_INVALID_ARGUMENT, MERGE(x, x->lead, target, -1, NULL, a));
  TF_REFUSED(x, HD_NOT_FOUND, MERGE(x, x->lead, target, 0, NULL, a, 999999));
  TF_REFUSED(x, HD_NOT_FOUND, MERGE(x, x->lead, 999999, 0, NULL, a));
}

static void test_merge_across_customers_or_tenants_is_refused(void **state) {
  tf *x = *state;
  const int64_t target = owned(x, "Mine");
  const int64_t same = new_ticket(x, "Mine too");
  const int64_t theirs = tf_create(x, x->customer2, NULL, "Theirs")->id;
  const int64_t foreign = tf_create(x, x->other_tenant, "cust-1", "Another tenant's")->id;
  TF_REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->lead, target, 0, NULL, same, theirs));
  tf_expect_err_has(x, "customer cust-2");
  tf_expect_err_has(x, "customer cust-1");
  TF_REFUSED(x, HD_NOT_FOUND, MERGE(x, x->lead, target, 0, NULL, same, foreign));
  /* The other tenant's staff cannot reach acme's target either. */
  TF_REFUSED(x, HD_NOT_FOUND, MERGE(x, x->other_tenant, foreign, 0, NULL, target));
  TF_REFUSED(x, HD_NOT_FOUND, MERGE(x, x->other_tenant, target, 0, NULL, foreign));
  TF_OK(x, MERGE(x, x->lead, target, 0, NULL, same));
}

static void test_merge_never_chains_never_cycles_and_only_takes_open_tickets(void **state) {
  tf *x = *state;
  const int64_t a = owned(x, "A");
  const int64_t b = owned(x, "B");
  const int64_t c = owned(x, "C");
  const int64_t d = owned(x, "D");
  const int64_t e = owned(x, "E");
  TF_OK(x, MERGE(x, x->lead, a, 0, NULL, b)); /* b is merged into a */
  /* A source already merged. */
  TF_REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->lead, c, 0, NULL, b));
  tf_expect_err_has(x, "already merged into ticket");
  /* A target that was merged (b → a; merging into b would chain). */
  TF_REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->lead, b, 0, NULL, c));
  tf_expect_err_has(x, "was itself merged into ticket");
  /* A source others were merged into (a has b): a → c would chain b → a → c. */
  TF_REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->lead, c, 0, NULL, a));
  tf_expect_err_has(x, "merged into it");
  TF_REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->lead, c, 0, NULL, d, a));
  /* Closed or cancelled tickets are neither sources nor targets. */
  tf_set_status(x, d, TF_STATUS(CLOSED));
  TF_REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->lead, c, 0, NULL, d));
  tf_expect_err_has(x, "MergeTickets is not possible on a ticket in status CLOSED");
  TF_REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->lead, d, 0, NULL, c));
  tf_expect_err_has(x, "the target must be open");
  tf_set_status(x, e, TF_STATUS(CANCELLED));
  TF_REFUSED(x, HD_FAILED_PRECONDITION, MERGE(x, x->lead, c, 0, NULL, e));
  /* What was refused did not move: c can still take a fresh source. */
  const int64_t f = new_ticket(x, "F");
  TF_OK(x, MERGE(x, x->lead, c, 0, NULL, f));
  /* And a target with merged tickets still takes more (a star, not a chain). */
  const int64_t g = new_ticket(x, "G");
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, MERGE(x, x->lead, a, 0, &t, g));
  assert_int_equal(t->n_associated_ticket_ids, 2);
}

static void test_merge_with_a_stale_target_version_is_aborted(void **state) {
  tf *x = *state;
  const int64_t target = owned(x, "Target");
  const int64_t a = new_ticket(x, "A");
  const int64_t seen = tf_get(x, x->lead, target)->version;
  /* Someone else changed the target twice since the caller read it (a colleague commented). */
  for (int i = 0; i < 2; i++) {
    Helpdesk__V1__AddCommentRequest rq = HELPDESK__V1__ADD_COMMENT_REQUEST__INIT;
    rq.ticket_id = target;
    rq.body = "Checked the logs: nothing yet.";
    TF_OK(x, tf_call(x, "AddComment", x->agent2, &rq.base, &helpdesk__v1__comment__descriptor, NULL,
                     NULL));
  }
  TF_REFUSED(x, HD_ABORTED, MERGE(x, x->agent, target, seen, NULL, a));
  tf_expect_err_has(x, "was changed by someone else");
  TF_REFUSED(x, HD_ABORTED, MERGE(x, x->agent, target, seen + 3, NULL, a));
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, MERGE(x, x->agent, target, seen + 2, &t, a));
  assert_int_equal(t->version, seen + 3);
}

static void test_merge_takes_twenty_sources_at_once(void **state) {
  tf *x = *state;
  const int64_t target = owned(x, "Target of twenty");
  int64_t sources[20];
  for (int i = 0; i < 20; i++) sources[i] = new_ticket(x, "Duplicate report");
  Helpdesk__V1__Ticket *t = NULL;
  TF_OK(x, merge(x, x->supervisor, target, sources, 20, 0, &t));
  assert_int_equal(t->n_associated_ticket_ids, 20);
  for (int i = 0; i < 20; i++) assert_int_equal(t->associated_ticket_ids[i], sources[i]);
  assert_int_equal(tf_sqlf(x,
                           "SELECT COUNT(*) FROM tickets WHERE merged_into_id = %" PRId64 " AND "
                           "status = 'CLOSED'",
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
  a->code = arena
                ? hd_fixture_call(a->f, "/helpdesk.v1.TicketService/MergeTickets", a->token,
                                  &rq.base, &helpdesk__v1__ticket__descriptor, arena, NULL, &a->err)
                : HD_RESOURCE_EXHAUSTED;
  hd_arena_free(arena);
  return NULL;
}

static void test_concurrent_merges_over_the_same_tickets_leave_no_cycle(void **state) {
  tf *x = *state;
  for (int round = 0; round < 5; round++) {
    const int64_t a = owned(x, "A"), b = owned(x, "B");
    const int64_t c = owned(x, "C"), d = owned(x, "D");
    /* b, d → a against a, c → d: each wants the other's target as a source. */
    race_arg r1 = {.f = &x->f, .token = x->lead, .target = a, .sources = {d, b}};
    race_arg r2 = {.f = &x->f, .token = x->supervisor, .target = d, .sources = {a, c}};
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
    assert_int_equal(tf_get(x, x->lead, winner)->merged_into_id, 0);
    assert_int_equal(tf_get(x, x->lead, winner)->n_associated_ticket_ids, 2);
    assert_int_equal(tf_get(x, x->lead, loser)->merged_into_id, winner);
    assert_int_equal(tf_get(x, x->lead, loser)->n_associated_ticket_ids, 0);
    /* The loser's other source. */
    assert_int_equal(tf_get(x, x->lead, first ? c : b)->merged_into_id, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)
      T(test_tasks_are_created_updated_and_listed_oldest_first),
      T(test_stale_task_version_is_aborted_and_writes_nothing),
      T(test_task_inputs_at_their_limits_and_one_past),
      T(test_tasks_are_for_staff_and_created_on_open_tickets_only),
      T(test_task_list_pages_and_refuses_a_token_of_another_ticket),
      T(test_merge_closes_two_sources_into_the_target_which_lists_them),
      T(test_merge_is_for_the_target_owner_or_a_team_lead_or_supervisor),
      T(test_merge_request_is_checked_before_any_work),
      T(test_merge_across_customers_or_tenants_is_refused),
      T(test_merge_never_chains_never_cycles_and_only_takes_open_tickets),
      T(test_merge_with_a_stale_target_version_is_aborted),
      T(test_merge_takes_twenty_sources_at_once),
      T(test_concurrent_merges_over_the_same_tickets_leave_no_cycle),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
