/* Escalations through real gRPC calls: the routing service and a real ticket service in-process
 * (real MariaDB and Redis). Escalation to a department (ASSIGN and CONSULT) and the customer's
 * comments read back from the ticket service, a service caller's idempotency, acknowledging and
 * resolving, the overdue timer and the customer estimates driven by routing's manual clock, and
 * Level 2 with and without its note, through routing and through the ticket service. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "escalations.h"
#include "estimates.h"
#include "metrics/metrics.h"
#include "routing_fixture.h"

#define HOUR_US (3600LL * HD_US_PER_S)

/* A ticket of cust-1 owned by agent-1, in TECHNICAL. */
static Helpdesk__V1__Ticket *owned(rf *p, const char *subject) {
  Helpdesk__V1__Ticket *t = tf_create(&p->t, p->t.customer, NULL, subject);
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = t->id;
  rq.owner_id = "agent-1";
  rq.department = "TECHNICAL";
  return (Helpdesk__V1__Ticket *)tf_must(&p->t, "AssignTicket", p->t.lead, &rq.base,
                                         &helpdesk__v1__ticket__descriptor);
}

static hd_code escalate(rf *p, const char *token, int64_t ticket, const char *dept,
                        Helpdesk__V1__EscalationMode mode, const char *link, const char *key,
                        Helpdesk__V1__Escalation **out) {
  Helpdesk__V1__EscalateToDepartmentRequest rq = HELPDESK__V1__ESCALATE_TO_DEPARTMENT_REQUEST__INIT;
  rq.ticket_id = ticket;
  rq.department = (char *)dept;
  rq.mode = mode;
  rq.context = "Customer is charged twice for the renewal";
  rq.thread_link = (char *)(link ? link : "");
  rq.idempotency_key = (char *)(key ? key : "");
  rq.product = "Shared Hosting Pro";
  return rf_call(p, "EscalateToDepartment", token, &rq.base, &helpdesk__v1__escalation__descriptor,
                 out);
}

#define ASSIGN  HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_ASSIGN
#define CONSULT HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_CONSULT

static void test_assign_moves_the_ticket_and_tells_the_customer_by_the_tenant_template(
    void **state) {
  rf *p = *state;
  const Helpdesk__V1__Ticket *t = owned(p, "Charged twice");
  Helpdesk__V1__Escalation *e = NULL;
  assert_int_equal(escalate(p, p->t.agent, t->id, "BILLING", ASSIGN, NULL, NULL, &e), HD_OK);
  assert_int_equal(e->status, HELPDESK__V1__ESCALATION_STATUS__ESCALATION_STATUS_OPEN);
  assert_string_equal(e->from_department, "TECHNICAL");
  assert_string_equal(e->to_department, "BILLING");
  assert_int_equal(e->response_window_seconds, 14400);
  assert_true(e->assign_comment_id > 0);
  const Helpdesk__V1__Ticket *now = tf_get(&p->t, p->t.lead, t->id);
  assert_string_equal(now->department, "BILLING");
  assert_string_equal(now->owner_id, "agent-1");
  const Helpdesk__V1__ListCommentsResponse *cs = rf_comments(p, t->id);
  assert_int_equal(cs->n_comments, 1);
  assert_string_equal(cs->comments[0]->body,
                      "Your request is now being handled by our BILLING team. We will update you "
                      "as soon as we know more.");
  assert_string_equal(cs->comments[0]->author_role, "service");
  assert_int_equal(rf_sqlf(p,
                           "SELECT COUNT(*) FROM outbox WHERE event_type = "
                           "'routing.escalation_created'"),
                   1);

  /* The tenant's own wording, then resolving tells the customer again. */
  Helpdesk__V1__UpdateRoutingSettingsRequest us =
      HELPDESK__V1__UPDATE_ROUTING_SETTINGS_REQUEST__INIT;
  Helpdesk__V1__RoutingSettings s = HELPDESK__V1__ROUTING_SETTINGS__INIT;
  s.escalation_assigned_template = "Ticket {ticket_id}: the {department} team has it.";
  s.escalation_resolved_template = "{department} fixed it: {resolution}";
  us.settings = &s;
  assert_int_equal(rf_call(p, "UpdateRoutingSettings", p->t.agent, &us.base,
                           &helpdesk__v1__routing_settings__descriptor, NULL),
                   HD_PERMISSION_DENIED);
  assert_int_equal(rf_call(p, "UpdateRoutingSettings", p->t.supervisor, &us.base,
                           &helpdesk__v1__routing_settings__descriptor, NULL),
                   HD_OK);
  rf_agent(p, "billing-1", "BILLING", 0, "AVAILABLE");
  char *billing = hd_fixture_token(&p->r, "acme", "billing-1", HD_ROLE_AGENT);
  Helpdesk__V1__ResolveEscalationRequest rr = HELPDESK__V1__RESOLVE_ESCALATION_REQUEST__INIT;
  rr.escalation_id = e->id;
  rr.outcome = HELPDESK__V1__ESCALATION_OUTCOME__ESCALATION_OUTCOME_RESOLVED;
  rr.resolution = "the duplicate charge was refunded";
  assert_int_equal(rf_call(p, "ResolveEscalation", p->t.agent2, &rr.base,
                           &helpdesk__v1__escalation__descriptor, NULL),
                   HD_PERMISSION_DENIED); /* not of the receiving department */
  Helpdesk__V1__Escalation *done = NULL;
  assert_int_equal(rf_call(p, "ResolveEscalation", billing, &rr.base,
                           &helpdesk__v1__escalation__descriptor, &done),
                   HD_OK);
  assert_int_equal(done->status, HELPDESK__V1__ESCALATION_STATUS__ESCALATION_STATUS_RESOLVED);
  assert_true(done->resolve_comment_id > 0);
  cs = rf_comments(p, t->id);
  assert_int_equal(cs->n_comments, 2);
  assert_string_equal(cs->comments[1]->body, "BILLING fixed it: the duplicate charge was refunded");
  assert_int_equal(rf_call(p, "ResolveEscalation", billing, &rr.base,
                           &helpdesk__v1__escalation__descriptor, NULL),
                   HD_FAILED_PRECONDITION); /* already resolved */
  free(billing);
}

static void test_consult_leaves_the_ticket_and_adds_an_internal_note_with_the_thread_link(
    void **state) {
  rf *p = *state;
  const Helpdesk__V1__Ticket *t = owned(p, "Domain question");
  /* CONSULT without a thread link, or with one that is not https: refused, nothing written. */
  assert_int_equal(escalate(p, p->t.agent, t->id, "DOMAIN", CONSULT, NULL, NULL, NULL),
                   HD_INVALID_ARGUMENT);
  assert_non_null(strstr(p->err.msg, "thread_link is required"));
  assert_int_equal(escalate(p, p->t.agent, t->id, "DOMAIN", CONSULT, "http://chat/x", NULL, NULL),
                   HD_INVALID_ARGUMENT);
  assert_int_equal(rf_sqlf(p, "SELECT COUNT(*) FROM escalations"), 0);
  Helpdesk__V1__Escalation *e = NULL;
  const char *link = "https://chat.example.test/domain/thread/42";
  assert_int_equal(escalate(p, p->t.agent, t->id, "DOMAIN", CONSULT, link, NULL, &e), HD_OK);
  assert_int_equal(e->mode, CONSULT);
  assert_true(e->internal_record_id > 0);
  assert_int_equal(e->assign_comment_id, 0);
  const Helpdesk__V1__Ticket *now = tf_get(&p->t, p->t.lead, t->id);
  assert_string_equal(now->department, "TECHNICAL");      /* stays */
  assert_int_equal(rf_comments(p, t->id)->n_comments, 0); /* the customer is not told */
  assert_int_equal(tf_sqlf(&p->t,
                           "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64
                           " AND author_id = 'routing' AND body LIKE '%%%s%%'",
                           t->id, link),
                   1);
  /* An agent escalates only what they own. */
  assert_int_equal(escalate(p, p->t.agent2, t->id, "DOMAIN", CONSULT, link, NULL, NULL),
                   HD_PERMISSION_DENIED);
  assert_int_equal(escalate(p, p->t.agent, t->id, "ESCALATED", ASSIGN, NULL, NULL, NULL),
                   HD_INVALID_ARGUMENT);
  assert_non_null(strstr(p->err.msg, "use EscalateToLevel2"));
}

static void test_service_caller_needs_a_key_and_a_retry_creates_nothing_twice(void **state) {
  rf *p = *state;
  const Helpdesk__V1__Ticket *t = owned(p, "From another department's system");
  assert_int_equal(escalate(p, p->t.service, t->id, "BILLING", ASSIGN, NULL, NULL, NULL),
                   HD_INVALID_ARGUMENT);
  assert_non_null(strstr(p->err.msg, "idempotency_key is required for a service caller"));
  Helpdesk__V1__Escalation *a = NULL, *b = NULL;
  assert_int_equal(escalate(p, p->t.service, t->id, "BILLING", ASSIGN, NULL, "esc-1", &a), HD_OK);
  assert_int_equal(escalate(p, p->t.service, t->id, "BILLING", ASSIGN, NULL, "esc-1", &b), HD_OK);
  assert_int_equal(a->id, b->id);
  assert_int_equal(rf_sqlf(p, "SELECT COUNT(*) FROM escalations"), 1);
  assert_int_equal(rf_sqlf(p,
                           "SELECT COUNT(*) FROM outbox WHERE event_type = "
                           "'routing.escalation_created'"),
                   1);
  assert_int_equal(rf_comments(p, t->id)->n_comments, 1);
  /* The same key for another request: ALREADY_EXISTS, nothing written. */
  assert_int_equal(escalate(p, p->t.service, t->id, "DOMAIN", ASSIGN, NULL, "esc-1", NULL),
                   HD_ALREADY_EXISTS);
  assert_int_equal(rf_sqlf(p, "SELECT COUNT(*) FROM escalations"), 1);
}

static void test_escalation_without_update_in_its_window_is_overdue_by_the_clock(void **state) {
  rf *p = *state;
  const Helpdesk__V1__Ticket *t1 = owned(p, "One"), *t2 = owned(p, "Two");
  Helpdesk__V1__Escalation *e1 = NULL, *e2 = NULL;
  assert_int_equal(escalate(p, p->t.agent, t1->id, "BILLING", ASSIGN, NULL, NULL, &e1), HD_OK);
  rf_advance(p, HOUR_US);
  assert_int_equal(escalate(p, p->t.agent, t2->id, "DOMAIN", ASSIGN, NULL, NULL, &e2), HD_OK);
  hd_svc_env *env = hd_svc_env_of(p->r.svc);
  hd_err err = {0};
  size_t fired = 0;
  /* 4 h after the first: its window (4 h) ends exactly now; the second's in an hour. */
  const int64_t at = rf_advance(p, 3 * HOUR_US);
  assert_int_equal(routing_escalation_timers_fire_due(env, &p->w, at - 1, &fired, &err), 0);
  assert_int_equal(fired, 0);
  assert_int_equal(routing_escalation_timers_fire_due(env, &p->w, at, &fired, &err), 0);
  assert_int_equal(fired, 1);
  Helpdesk__V1__ListOverdueEscalationsRequest lr =
      HELPDESK__V1__LIST_OVERDUE_ESCALATIONS_REQUEST__INIT;
  Helpdesk__V1__ListOverdueEscalationsResponse *lo = NULL;
  assert_int_equal(rf_call(p, "ListOverdueEscalations", p->t.agent, &lr.base,
                           &helpdesk__v1__list_overdue_escalations_response__descriptor, &lo),
                   HD_OK);
  assert_int_equal(lo->n_escalations, 1);
  assert_int_equal(lo->escalations[0]->id, e1->id);
  assert_true(lo->escalations[0]->overdue);
  /* The second is acknowledged before its window ends: its window starts again. */
  rf_agent(p, "domain-1", "DOMAIN", 0, "AVAILABLE");
  char *dom = hd_fixture_token(&p->r, "acme", "domain-1", HD_ROLE_AGENT);
  Helpdesk__V1__AcknowledgeEscalationRequest ar =
      HELPDESK__V1__ACKNOWLEDGE_ESCALATION_REQUEST__INIT;
  ar.escalation_id = e2->id;
  assert_int_equal(rf_call(p, "AcknowledgeEscalation", dom, &ar.base,
                           &helpdesk__v1__escalation__descriptor, NULL),
                   HD_OK);
  assert_int_equal(routing_escalation_timers_fire_due(env, &p->w, at + HOUR_US, &fired, &err), 0);
  assert_int_equal(rf_sqlf(p, "SELECT overdue FROM escalations WHERE id = %" PRId64, e2->id), 0);
  assert_int_equal(routing_escalation_timers_fire_due(env, &p->w, at + 4 * HOUR_US, &fired, &err),
                   0);
  assert_int_equal(fired, 1);
  assert_int_equal(rf_call(p, "ListOverdueEscalations", p->t.agent, &lr.base,
                           &helpdesk__v1__list_overdue_escalations_response__descriptor, &lo),
                   HD_OK);
  assert_int_equal(lo->n_escalations, 2);
  assert_int_equal(lo->escalations[0]->id, e1->id); /* most overdue first */
  /* The gauges: both open and overdue, each in its department; every other department at 0. */
  assert_int_equal(routing_escalations_gauges(env, p->w.db, &err), 0);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(hd_metrics_render(env->metrics, &text, &len, &err), 0);
  assert_non_null(strstr(text, "helpdesk_escalations_open{department=\"BILLING\"} 1\n"));
  assert_non_null(strstr(text, "helpdesk_escalations_overdue{department=\"BILLING\"} 1\n"));
  assert_non_null(strstr(text, "helpdesk_escalations_open{department=\"DOMAIN\"} 1\n"));
  assert_non_null(strstr(text, "helpdesk_escalations_overdue{department=\"DOMAIN\"} 1\n"));
  assert_non_null(strstr(text, "helpdesk_escalations_open{department=\"RETENTION\"} 0\n"));
  free(text);
  assert_int_equal(rf_sqlf(p,
                           "SELECT COUNT(*) FROM outbox WHERE event_type = "
                           "'routing.escalation_overdue'"),
                   2);
  free(dom);
}

static void test_passed_estimate_on_an_open_ticket_makes_the_owner_due_to_update(void **state) {
  rf *p = *state;
  const Helpdesk__V1__Ticket *t = owned(p, "VPS activation");
  const int64_t now = hd_clock_now_us(&p->r.clock);
  Helpdesk__V1__SetCustomerEstimateRequest sr = HELPDESK__V1__SET_CUSTOMER_ESTIMATE_REQUEST__INIT;
  sr.ticket_id = t->id;
  sr.estimate_time_us = now + 2 * HOUR_US;
  sr.promise = "Your server will be active within 2 hours";
  assert_int_equal(rf_call(p, "SetCustomerEstimate", p->t.agent2, &sr.base,
                           &helpdesk__v1__customer_estimate__descriptor, NULL),
                   HD_PERMISSION_DENIED); /* not the owner */
  sr.estimate_time_us = now;
  assert_int_equal(rf_call(p, "SetCustomerEstimate", p->t.agent, &sr.base,
                           &helpdesk__v1__customer_estimate__descriptor, NULL),
                   HD_INVALID_ARGUMENT);
  sr.estimate_time_us = now + 2 * HOUR_US;
  Helpdesk__V1__CustomerEstimate *ce = NULL;
  assert_int_equal(rf_call(p, "SetCustomerEstimate", p->t.agent, &sr.base,
                           &helpdesk__v1__customer_estimate__descriptor, &ce),
                   HD_OK);
  assert_int_equal(ce->status, HELPDESK__V1__ESTIMATE_STATUS__ESTIMATE_STATUS_PENDING);
  assert_string_equal(ce->owner_id, "agent-1");
  hd_svc_env *env = hd_svc_env_of(p->r.svc);
  hd_err err = {0};
  size_t fired = 0;
  Helpdesk__V1__ListDueCustomerUpdatesRequest lr =
      HELPDESK__V1__LIST_DUE_CUSTOMER_UPDATES_REQUEST__INIT;
  Helpdesk__V1__ListDueCustomerUpdatesResponse *due = NULL;
  assert_int_equal(routing_estimate_timers_fire_due(env, &p->w, now + HOUR_US, &fired, &err), 0);
  assert_int_equal(fired, 0);
  assert_int_equal(rf_call(p, "ListDueCustomerUpdates", p->t.agent, &lr.base,
                           &helpdesk__v1__list_due_customer_updates_response__descriptor, &due),
                   HD_OK);
  assert_int_equal(due->n_updates, 0);
  assert_int_equal(routing_estimate_timers_fire_due(env, &p->w, now + 2 * HOUR_US, &fired, &err),
                   0);
  assert_int_equal(fired, 1);
  assert_int_equal(rf_call(p, "ListDueCustomerUpdates", p->t.agent, &lr.base,
                           &helpdesk__v1__list_due_customer_updates_response__descriptor, &due),
                   HD_OK);
  assert_int_equal(due->n_updates, 1);
  assert_int_equal(due->updates[0]->ticket_id, t->id);
  assert_int_equal(due->updates[0]->status, HELPDESK__V1__ESTIMATE_STATUS__ESTIMATE_STATUS_DUE);
  assert_int_equal(rf_sqlf(p,
                           "SELECT COUNT(*) FROM outbox WHERE event_type = "
                           "'routing.customer_update_due' AND aggregate_id = %" PRId64,
                           t->id),
                   1);
  /* Another agent cannot read agent-1's list; a lead can. */
  lr.owner_id = "agent-1";
  assert_int_equal(rf_call(p, "ListDueCustomerUpdates", p->t.agent2, &lr.base,
                           &helpdesk__v1__list_due_customer_updates_response__descriptor, NULL),
                   HD_PERMISSION_DENIED);
  assert_int_equal(rf_call(p, "ListDueCustomerUpdates", p->t.lead, &lr.base,
                           &helpdesk__v1__list_due_customer_updates_response__descriptor, &due),
                   HD_OK);
  assert_int_equal(due->n_updates, 1);
  /* A ticket routing knows as closed when the estimate passes: nothing is due. */
  const Helpdesk__V1__Ticket *t2 = owned(p, "Closed before");
  sr.ticket_id = t2->id;
  sr.estimate_time_us = now + 3 * HOUR_US;
  assert_int_equal(rf_call(p, "SetCustomerEstimate", p->t.agent, &sr.base,
                           &helpdesk__v1__customer_estimate__descriptor, NULL),
                   HD_OK);
  /* The record may already be there from the ticket's own events: arranged as closed at a
   * version above theirs, so a late one of them changes nothing. */
  rf_execf(p,
           "INSERT INTO routing_tickets (tenant, ticket_id, status, created_at_us, version, "
           "updated_at_us) VALUES ('acme', %" PRId64
           ", 'CLOSED', 0, 1000, 0) "
           "ON DUPLICATE KEY UPDATE status = 'CLOSED', queue = '', version = 1000",
           t2->id);
  assert_int_equal(routing_estimate_timers_fire_due(env, &p->w, now + 3 * HOUR_US, &fired, &err),
                   0);
  assert_int_equal(fired, 1);
  assert_int_equal(rf_sqlf(p, "SELECT COUNT(*) FROM customer_estimates WHERE status = 'CLEARED'"),
                   1);
}

static hd_code level2(rf *p, const char *token, int64_t ticket, const char *note,
                      Helpdesk__V1__EscalateToLevel2Response **out) {
  Helpdesk__V1__EscalateToLevel2Request rq = HELPDESK__V1__ESCALATE_TO_LEVEL2_REQUEST__INIT;
  rq.ticket_id = ticket;
  rq.note = (char *)note;
  return rf_call(p, "EscalateToLevel2", token, &rq.base,
                 &helpdesk__v1__escalate_to_level2_response__descriptor, out);
}

static void test_level2_without_a_note_is_refused_by_both_paths(void **state) {
  rf *p = *state;
  const Helpdesk__V1__Ticket *t = owned(p, "Kernel panic on VPS");
  /* Through routing: an empty or blank note is INVALID_ARGUMENT, nothing written anywhere. */
  assert_int_equal(level2(p, p->t.agent, t->id, "", NULL), HD_INVALID_ARGUMENT);
  assert_int_equal(level2(p, p->t.agent, t->id, "  \t\n ", NULL), HD_INVALID_ARGUMENT);
  assert_non_null(strstr(p->err.msg, "note is blank"));
  assert_int_equal(rf_sqlf(p, "SELECT COUNT(*) FROM escalations"), 0);
  /* Through the ticket service: TransferTicket to ESCALATED without the note. */
  Helpdesk__V1__TransferTicketRequest tr = HELPDESK__V1__TRANSFER_TICKET_REQUEST__INIT;
  tr.ticket_id = t->id;
  tr.new_owner_id = "agent-2";
  tr.department = "ESCALATED";
  tr.note = "";
  assert_int_equal(tf_call(&p->t, "TransferTicket", p->t.agent, &tr.base,
                           &helpdesk__v1__ticket__descriptor, NULL, NULL),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(tf_get(&p->t, p->t.lead, t->id)->department, "TECHNICAL");
  assert_int_equal(
      tf_sqlf(&p->t, "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64, t->id), 0);
  /* With the note, through routing: ESCALATED, the note an internal record, one escalation. */
  Helpdesk__V1__EscalateToLevel2Response *r = NULL;
  const char *note = "Panic after kernel 6.1 update; reproduced twice; logs in /var/log/kern";
  assert_int_equal(level2(p, p->t.agent, t->id, note, &r), HD_OK);
  assert_string_equal(r->ticket->department, "ESCALATED");
  assert_int_equal(r->escalation->kind, HELPDESK__V1__ESCALATION_KIND__ESCALATION_KIND_LEVEL2);
  assert_string_equal(r->escalation->context, note);
  assert_int_equal(
      tf_sqlf(&p->t,
              "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64 " AND body = '%s'",
              t->id, note),
      1);
  assert_int_equal(level2(p, p->t.agent, t->id, note, NULL), HD_FAILED_PRECONDITION);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, rf_setup, rf_teardown)
      T(test_assign_moves_the_ticket_and_tells_the_customer_by_the_tenant_template),
      T(test_consult_leaves_the_ticket_and_adds_an_internal_note_with_the_thread_link),
      T(test_service_caller_needs_a_key_and_a_retry_creates_nothing_twice),
      T(test_escalation_without_update_in_its_window_is_overdue_by_the_clock),
      T(test_passed_estimate_on_an_open_ticket_makes_the_owner_due_to_update),
      T(test_level2_without_a_note_is_refused_by_both_paths),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
