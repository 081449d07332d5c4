/* Routing's queues against real MariaDB, Redis and a real ticket service: oldest first across many
 * tickets, a ticket leaving its queue when it is assigned by other means, closed or cancelled, a
 * department of its own; rebuilt after FLUSHALL and after a routing restart; events delivered
 * twice and out of order. */
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

#include "queues.h"
#include "routing_fixture.h"

static int64_t depth(rf *f, const char *queue) {
  int64_t d = -1;
  hd_err err = {0};
  assert_int_equal(hd_kv_queue_depth(f->kv, "acme", queue, &d, &err), 0);
  return d;
}

static int64_t wait_depth(rf *f, const char *queue, int64_t want) {
  int64_t d = -1;
  for (int i = 0; i < 2000 && (d = depth(f, queue)) != want; i++) usleep(10000);
  return d;
}

/* Claims everything as one agent and returns how many, their ids in order into ids. */
static int claim_all(rf *f, const char *token, int64_t *ids, int max) {
  hd_arena *a = hd_arena_new(1u << 20);
  int n = 0;
  for (; n < max; n++) {
    Helpdesk__V1__Claim *c = NULL;
    hd_err err;
    assert_int_equal(rf_claim(f, NULL, token, "", 0, a, &c, &err), HD_OK);
    if (!c) break;
    ids[n] = c->ticket_id;
  }
  hd_arena_free(a);
  return n;
}

#define MANY 60

static void test_claims_come_oldest_first_by_creation_time_then_id(void **state) {
  rf *f = *state;
  /* Three batches: the second created an hour before the first (bigger ids, older), the third
   * at the first's time (ties go by id). */
  int64_t first[MANY / 3], second[MANY / 3], third[MANY / 3];
  rf_create_queued(f, first, MANY / 3);
  hd_clock_advance(&f->t.f.clock, -3600 * HD_US_PER_S);
  rf_create_queued(f, second, MANY / 3);
  hd_clock_advance(&f->t.f.clock, 3600 * HD_US_PER_S);
  rf_create_queued(f, third, MANY / 3);
  rf_agent(f, "agent-a", "TECHNICAL", 1000, "AVAILABLE");
  char *ta = rf_token(f, "agent-a", HD_ROLE_AGENT);
  int64_t got[MANY + 1];
  assert_int_equal(claim_all(f, ta, got, MANY + 1), MANY);
  for (int i = 0; i < MANY / 3; i++) {
    assert_int_equal(got[i], second[i]);
    assert_int_equal(got[MANY / 3 + i], first[i]);
    assert_int_equal(got[2 * MANY / 3 + i], third[i]);
  }
  print_message("oldest first: %d tickets claimed in (created, id) order\n", MANY);
  free(ta);
}

static Helpdesk__V1__Ticket *cancel(rf *f, int64_t id) {
  Helpdesk__V1__CancelTicketRequest rq = HELPDESK__V1__CANCEL_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  return (Helpdesk__V1__Ticket *)tf_must(&f->t, "CancelTicket", f->t.supervisor, &rq.base,
                                         &helpdesk__v1__ticket__descriptor);
}

static void test_ticket_assigned_by_a_lead_or_cancelled_leaves_its_queue(void **state) {
  rf *f = *state;
  int64_t ids[4];
  rf_create_queued(f, ids, 4);
  assert_int_equal(wait_depth(f, "TECHNICAL", 4), 4);
  tf_assign(&f->t, ids[0], "agent-z"); /* a lead's assignment, not a claim */
  cancel(f, ids[1]);
  assert_int_equal(wait_depth(f, "TECHNICAL", 2), 2);
  assert_int_equal(rf_sqlf(f, "SELECT COUNT(*) FROM routing_tickets WHERE queue = 'TECHNICAL'"), 2);
  assert_int_equal(rf_sqlf(f,
                           "SELECT COUNT(*) FROM routing_tickets WHERE ticket_id = %" PRId64
                           " AND owner_id = 'agent-z' AND queue = ''",
                           ids[0]),
                   1);
  rf_agent(f, "agent-a", "TECHNICAL", 10, "AVAILABLE");
  char *ta = rf_token(f, "agent-a", HD_ROLE_AGENT);
  int64_t got[3];
  assert_int_equal(claim_all(f, ta, got, 3), 2);
  assert_int_equal(got[0], ids[2]);
  assert_int_equal(got[1], ids[3]);
  free(ta);
}

static void test_ticket_created_with_a_department_waits_in_that_queue(void **state) {
  rf *f = *state;
  Helpdesk__V1__CreateTicketRequest rq = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  rq.idempotency_key = "billing-1";
  rq.subject = "invoice";
  rq.description = "my invoice is wrong";
  rq.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  rq.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_BILLING;
  rq.department = "BILLING";
  Helpdesk__V1__Ticket *t = (Helpdesk__V1__Ticket *)tf_must(
      &f->t, "CreateTicket", f->t.customer, &rq.base, &helpdesk__v1__ticket__descriptor);
  assert_int_equal(wait_depth(f, "BILLING", 1), 1);
  rf_agent(f, "agent-t", "TECHNICAL", 10, "AVAILABLE");
  rf_agent(f, "agent-b", "TECHNICAL,BILLING", 10, "AVAILABLE");
  char *tt = rf_token(f, "agent-t", HD_ROLE_AGENT), *tb = rf_token(f, "agent-b", HD_ROLE_AGENT);
  int64_t got[2];
  assert_int_equal(claim_all(f, tt, got, 2), 0);
  assert_int_equal(claim_all(f, tb, got, 2), 1);
  assert_int_equal(got[0], t->id);
  free(tt);
  free(tb);
}

static void upsert_rule(rf *f, Helpdesk__V1__RoutingRule *r) {
  Helpdesk__V1__UpsertRoutingRuleRequest rq = HELPDESK__V1__UPSERT_ROUTING_RULE_REQUEST__INIT;
  rq.rule = r;
  rf_must(f, "UpsertRoutingRule", f->supervisor, &rq.base, &helpdesk__v1__routing_rule__descriptor);
}

static void test_ticket_created_without_a_department_waits_in_the_queue_its_rules_choose(
    void **state) {
  rf *f = *state;
  /* The built-in rules on the issue type. */
  rf_create_about(f, "acct", "acct", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_ACCOUNT);
  rf_create_about(f, "cancel", "cancel", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_CANCELLATION);
  rf_create_about(f, "mail", "mail", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_EMAIL);
  assert_int_equal(wait_depth(f, "ACCOUNT", 1), 1);
  assert_int_equal(wait_depth(f, "CANCELLATION", 1), 1);
  assert_int_equal(wait_depth(f, "TECHNICAL", 1), 1);
  /* A tenant's own rule that asks the customer first: queued in its department, whose agent
   * asks. */
  Helpdesk__V1__IssueType activation = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_ACTIVATION;
  Helpdesk__V1__RoutingRule ask = HELPDESK__V1__ROUTING_RULE__INIT;
  ask.name = "activation-ask";
  ask.priority = 900;
  ask.enabled = true;
  ask.issue_types = &activation;
  ask.n_issue_types = 1;
  ask.action = HELPDESK__V1__ROUTING_ACTION__ROUTING_ACTION_ASK_CUSTOMER_FIRST;
  ask.department = "INFRASTRUCTURE";
  ask.customer_request = "the server's hostname";
  ask.reason = "test";
  upsert_rule(f, &ask);
  rf_create_about(f, "activate", "activate", activation);
  assert_int_equal(wait_depth(f, "INFRASTRUCTURE", 1), 1);
  /* A tenant without "otherwise": a ticket no rule matches still waits, in TECHNICAL. */
  Helpdesk__V1__RoutingRule off = HELPDESK__V1__ROUTING_RULE__INIT;
  off.name = "otherwise";
  off.priority = 0;
  off.enabled = false;
  off.action = HELPDESK__V1__ROUTING_ACTION__ROUTING_ACTION_ROUTE;
  off.department = "TECHNICAL";
  off.reason = "off";
  upsert_rule(f, &off);
  rf_create_about(f, "mail-2", "mail-2", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_EMAIL);
  assert_int_equal(wait_depth(f, "TECHNICAL", 2), 2);
  assert_int_equal(rf_sqlf(f,
                           "SELECT COUNT(*) FROM routing_tickets WHERE department = 'TECHNICAL' "
                           "AND issue_type = 'EMAIL'"),
                   2);
}

static void test_queue_rebuilt_from_mariadb_after_flushall(void **state) {
  rf *f = *state;
  int64_t ids[5];
  rf_create_queued(f, ids, 5);
  assert_int_equal(wait_depth(f, "TECHNICAL", 5), 5);
  rf_flushall(f);
  /* The consumer sees its group gone while MariaDB remembers it: it rebuilds the queues (it may
   * have done so already by now, so the empty queue in between is not asserted). */
  assert_int_equal(wait_depth(f, "TECHNICAL", 5), 5);
  rf_agent(f, "agent-a", "TECHNICAL", 10, "AVAILABLE");
  char *ta = rf_token(f, "agent-a", HD_ROLE_AGENT);
  hd_arena *a = hd_arena_new(1u << 20);
  Helpdesk__V1__Claim *c = NULL;
  hd_err err;
  assert_int_equal(rf_claim(f, NULL, ta, "", 0, a, &c, &err), HD_OK);
  assert_non_null(c);
  assert_int_equal(c->ticket_id, ids[0]);
  /* The fence counter was lost too: it starts above the highest fence routing recorded. */
  rf_flushall(f);
  assert_int_equal(wait_depth(f, "TECHNICAL", 4), 4);
  Helpdesk__V1__Claim *c2 = NULL;
  assert_int_equal(rf_claim(f, NULL, ta, "", 0, a, &c2, &err), HD_OK);
  assert_non_null(c2);
  assert_int_equal(c2->ticket_id, ids[1]);
  assert_true(c2->fence > c->fence);
  hd_arena_free(a);
  free(ta);
}

static void test_queue_rebuilt_from_mariadb_after_a_routing_restart(void **state) {
  rf *f = *state;
  int64_t ids[5];
  rf_create_queued(f, ids, 5);
  assert_int_equal(wait_depth(f, "TECHNICAL", 5), 5);
  hd_err err = {0};
  const char *del[] = {"DEL", "{q:acme}:w:TECHNICAL"};
  assert_int_equal(hd_kv_cmd(f->kv, 2, del, NULL, false, NULL, &err), 0);
  assert_int_equal(depth(f, "TECHNICAL"), 0);
  assert_int_equal(rf_restart_routing(f), 0);
  assert_int_equal(wait_depth(f, "TECHNICAL", 5), 5);
  rf_agent(f, "agent-a", "TECHNICAL", 10, "AVAILABLE");
  char *ta = rf_token(f, "agent-a", HD_ROLE_AGENT);
  int64_t got[6];
  assert_int_equal(claim_all(f, ta, got, 6), 5);
  for (int i = 0; i < 5; i++) assert_int_equal(got[i], ids[i]);
  free(ta);
}

/* ---- events delivered twice and out of order (written to the stream as the relay does) ---- */

static void xadd(rf *f, const char *event_id, const char *type, int64_t id, int64_t version,
                 const char *status, const char *owner, const char *dept, int64_t created_us) {
  char payload[1024], ids[24], created[24];
  char owner_j[160], dept_j[100];
  snprintf(owner_j, sizeof owner_j, owner ? "\"%s\"" : "null", owner ? owner : "");
  snprintf(dept_j, sizeof dept_j, dept ? "\"%s\"" : "null", dept ? dept : "");
  snprintf(payload, sizeof payload,
           "{\"event\":\"%s\",\"tenant\":\"acme\",\"ticket_id\":%" PRId64 ",\"version\":%" PRId64
           ",\"action\":\"X\",\"ticket\":{\"status\":\"%s\",\"owner_id\":%s,\"department\":%s,"
           "\"customer_id\":\"cust-1\",\"category\":null,\"level\":1,\"service_type\":\"SHARED\","
           "\"issue_type\":\"TECHNICAL\",\"create_time_us\":%" PRId64 "}}",
           type, id, version, status, owner_j, dept_j, created_us);
  snprintf(ids, sizeof ids, "%" PRId64, id);
  snprintf(created, sizeof created, "%" PRId64, created_us + version);
  const hd_kv_field fields[] = {{"event_id", event_id, strlen(event_id)},
                                {"type", type, strlen(type)},
                                {"tenant", "acme", 4},
                                {"aggregate_id", ids, strlen(ids)},
                                {"created_at_us", created, strlen(created)},
                                {"payload", payload, strlen(payload)}};
  hd_err err = {0};
  assert_int_equal(
      hd_kv_stream_add(f->kv, "helpdesk:events:tickets", 100000, fields, 6, NULL, &err), 0);
}

static void test_events_delivered_twice_and_out_of_order_apply_once_by_version(void **state) {
  rf *f = *state;
  const int64_t t0 = 1767571200LL * HD_US_PER_S;
  /* 900001: the assignment (v2) arrives before the creation (v1), which comes twice. */
  xadd(f, "x-1", "ticket.assigned", 900001, 2, "PENDING_RESPONSE", "lead-x", "TECHNICAL", t0);
  xadd(f, "x-2", "ticket.created", 900001, 1, "PENDING_RESPONSE", NULL, "TECHNICAL", t0 - 5);
  xadd(f, "x-2", "ticket.created", 900001, 1, "PENDING_RESPONSE", NULL, "TECHNICAL", t0 - 5);
  /* 900002: created, closed (v3), then the late assignment (v2): stays closed, out of queue. */
  xadd(f, "x-3", "ticket.created", 900002, 1, "PENDING_RESPONSE", NULL, "TECHNICAL", t0);
  xadd(f, "x-4", "ticket.closed", 900002, 3, "CLOSED", NULL, "TECHNICAL", t0);
  xadd(f, "x-5", "ticket.assigned", 900002, 2, "PENDING_RESPONSE", "lead-x", "TECHNICAL", t0);
  /* 900003: created in TECHNICAL, moved to BILLING (v2, delivered twice). */
  xadd(f, "x-6", "ticket.created", 900003, 1, "PENDING_RESPONSE", NULL, "TECHNICAL", t0);
  xadd(f, "x-7", "ticket.updated", 900003, 2, "PENDING_RESPONSE", NULL, "BILLING", t0);
  xadd(f, "x-7", "ticket.updated", 900003, 2, "PENDING_RESPONSE", NULL, "BILLING", t0);
  assert_int_equal(
      rf_wait_sql(f, 7, "SELECT COUNT(*) FROM consumed_events WHERE event_id LIKE 'x-%%'"), 7);
  assert_int_equal(rf_sqlf(f, "SELECT version FROM routing_tickets WHERE ticket_id = 900001"), 2);
  assert_int_equal(rf_sqlf(f,
                           "SELECT COUNT(*) FROM routing_tickets WHERE ticket_id = 900001 AND "
                           "owner_id = 'lead-x' AND queue = ''"),
                   1);
  /* The late creation still gave the ticket its true place in time. */
  assert_int_equal(rf_sqlf(f, "SELECT created_at_us FROM routing_tickets WHERE ticket_id = 900001"),
                   t0 - 5);
  assert_int_equal(rf_sqlf(f,
                           "SELECT COUNT(*) FROM routing_tickets WHERE ticket_id = 900002 AND "
                           "status = 'CLOSED' AND owner_id = '' AND queue = '' AND version = 3"),
                   1);
  assert_int_equal(rf_sqlf(f,
                           "SELECT COUNT(*) FROM routing_tickets WHERE ticket_id = 900003 AND "
                           "department = 'BILLING' AND queue = 'BILLING' AND version = 2"),
                   1);
  assert_int_equal(depth(f, "TECHNICAL"), 0);
  assert_int_equal(depth(f, "BILLING"), 1);
}

/* A claim records the ticket's version from the ticket service's answer, ahead of the stream.
 * Events older than that version (delivered late: the assignment to a lead and the release that
 * came before the claim) neither end the claim nor put the ticket back in its queue; the event
 * of a later version applies. The claim is arranged as ClaimNext leaves it (claims row, record
 * owned at the assigned version, out of the Redis queue). */
static void test_events_older_than_a_claim_neither_end_it_nor_requeue_the_ticket(void **state) {
  rf *f = *state;
  const int64_t t0 = (int64_t)(1767571200LL * HD_US_PER_S), id = 900010;
  xadd(f, "y-1", "ticket.created", id, 1, "PENDING_RESPONSE", NULL, "TECHNICAL", t0);
  assert_int_equal(wait_depth(f, "TECHNICAL", 1), 1);
  rf_execf(f,
           "INSERT INTO claims (tenant, ticket_id, agent_id, department, fence, claimed_at_us, "
           "expires_at_us) VALUES ('acme', %" PRId64 ", 'agent-b', 'TECHNICAL', 7, %" PRId64
           ", %" PRId64 ")",
           id, t0, (int64_t)(t0 + 600 * HD_US_PER_S));
  rf_execf(f,
           "UPDATE routing_tickets SET owner_id = 'agent-b', queue = '', version = 4 WHERE "
           "ticket_id = %" PRId64,
           id);
  hd_err err = {0};
  assert_int_equal(routing_queue_drop(f->kv, "acme", "TECHNICAL", id, &err), 0);
  /* Late: assigned to a lead (v2), then released to the queue (v3). */
  xadd(f, "y-2", "ticket.assigned", id, 2, "PENDING_RESPONSE", "lead-x", "TECHNICAL", t0);
  xadd(f, "y-3", "ticket.released", id, 3, "PENDING_RESPONSE", NULL, "TECHNICAL", t0);
  assert_int_equal(
      rf_wait_sql(f, 3, "SELECT COUNT(*) FROM consumed_events WHERE event_id LIKE 'y-%%'"), 3);
  assert_int_equal(rf_sqlf(f,
                           "SELECT COUNT(*) FROM claims WHERE ticket_id = %" PRId64
                           " AND agent_id = 'agent-b' AND fence = 7",
                           id),
                   1);
  assert_int_equal(rf_sqlf(f,
                           "SELECT COUNT(*) FROM routing_tickets WHERE ticket_id = %" PRId64
                           " AND owner_id = 'agent-b' AND queue = '' AND version = 4",
                           id),
                   1);
  assert_int_equal(depth(f, "TECHNICAL"), 0);
  /* The claim's own version (v4) and a later one (v5, worked by agent-b) apply. */
  xadd(f, "y-4", "ticket.assigned", id, 4, "PENDING_RESPONSE", "agent-b", "TECHNICAL", t0);
  xadd(f, "y-5", "ticket.replied", id, 5, "PROCESSING", "agent-b", "TECHNICAL", t0);
  assert_int_equal(
      rf_wait_sql(f, 5, "SELECT COUNT(*) FROM consumed_events WHERE event_id LIKE 'y-%%'"), 5);
  assert_int_equal(rf_sqlf(f,
                           "SELECT COUNT(*) FROM routing_tickets WHERE ticket_id = %" PRId64
                           " AND owner_id = 'agent-b' AND status = 'PROCESSING' AND version = 5",
                           id),
                   1);
  assert_int_equal(depth(f, "TECHNICAL"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, rf_setup, rf_teardown)
      T(test_claims_come_oldest_first_by_creation_time_then_id),
      T(test_ticket_assigned_by_a_lead_or_cancelled_leaves_its_queue),
      T(test_ticket_created_with_a_department_waits_in_that_queue),
      T(test_ticket_created_without_a_department_waits_in_the_queue_its_rules_choose),
      T(test_queue_rebuilt_from_mariadb_after_flushall),
      T(test_queue_rebuilt_from_mariadb_after_a_routing_restart),
      T(test_events_delivered_twice_and_out_of_order_apply_once_by_version),
      T(test_events_older_than_a_claim_neither_end_it_nor_requeue_the_ticket),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
