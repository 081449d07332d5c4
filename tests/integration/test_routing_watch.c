/* WatchEscalations, the escalations' change feed, on the real routing and ticket services: typed
 * events of routing's outbox (only escalations' events), filtered by escalation, ticket and
 * department, resumed after a disconnect with no event lost or repeated, only the caller's
 * tenant's, and refused to customers. The tail itself (gaps, slow readers) is the one
 * WatchTickets uses, tested in test_tickets_watch. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "routing_fixture.h"
#include "stream_client.h"
#include "svc/outbox.h"

#define WATCH_METHOD "/helpdesk.v1.RoutingService/WatchEscalations"
#define WAIT_MS      20000

typedef Helpdesk__V1__EscalationEvent event;

/* "routing-<origin>-<id>" of routing's outbox row id, in p->arena. */
static const char *event_id(rf *p, int64_t id) {
  char out[HD_OUTBOX_EVENT_ID_MAX];
  hd_err err = {0};
  assert_int_equal(hd_outbox_event_id(p->db, "routing", id, out, &err), 0);
  return hd_arena_strdup(p->arena, out);
}

static int64_t last_id(rf *p) { return rf_sqlf(p, "SELECT COALESCE(MAX(id), 0) FROM outbox"); }

static sc_stream *watch(rf *p, const char *token, int64_t after, int64_t escalation_id,
                        int64_t ticket_id, const char *department) {
  Helpdesk__V1__WatchEscalationsRequest req = HELPDESK__V1__WATCH_ESCALATIONS_REQUEST__INIT;
  req.after_event_id = (char *)event_id(p, after);
  req.escalation_id = escalation_id;
  req.ticket_id = ticket_id;
  req.department = (char *)(department ? department : "");
  return sc_open(p->r.target, WATCH_METHOD, token, &req.base);
}

static event *next_event(sc_stream *s) {
  bool timed_out = false;
  event *e = (event *)sc_recv(s, &helpdesk__v1__escalation_event__descriptor, WAIT_MS, &timed_out);
  assert_false(timed_out);
  assert_non_null(e);
  return e;
}

static int64_t seq_of(const event *e) { return strtoll(strrchr(e->event_id, '-') + 1, NULL, 10); }

/* Reads n events: their escalation ids and types are want_esc[i] and want_type[i]. */
static void expect(sc_stream *s, const int64_t *want_esc, const int *want_type, size_t n) {
  for (size_t i = 0; i < n; i++) {
    event *e = next_event(s);
    assert_int_equal(e->escalation_id, want_esc[i]);
    assert_int_equal(e->type, want_type[i]);
    protobuf_c_message_free_unpacked(&e->base, NULL);
  }
}

static void expect_quiet(sc_stream *s) {
  bool timed_out = false;
  ProtobufCMessage *m = sc_recv(s, &helpdesk__v1__escalation_event__descriptor, 500, &timed_out);
  if (m)
    fail_msg("an event arrived that the feed should not have sent: %s", ((event *)m)->event_id);
  assert_true(timed_out);
}

/* A ticket of cust-1 owned by agent-1 in TECHNICAL. */
static int64_t owned(rf *p, const char *subject) {
  Helpdesk__V1__Ticket *t = tf_create(&p->t, p->t.customer, NULL, subject);
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = t->id;
  rq.owner_id = "agent-1";
  rq.department = "TECHNICAL";
  tf_must(&p->t, "AssignTicket", p->t.lead, &rq.base, &helpdesk__v1__ticket__descriptor);
  return t->id;
}

/* A consult of ticket with dept (the ticket stays where it is); the escalation's id. */
static int64_t consult(rf *p, int64_t ticket, const char *dept) {
  Helpdesk__V1__EscalateToDepartmentRequest rq = HELPDESK__V1__ESCALATE_TO_DEPARTMENT_REQUEST__INIT;
  rq.ticket_id = ticket;
  rq.department = (char *)dept;
  rq.mode = HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_CONSULT;
  rq.context = "Customer is charged twice for the renewal";
  rq.thread_link = "https://chat.example/t/42";
  Helpdesk__V1__Escalation *e = (Helpdesk__V1__Escalation *)rf_must(
      p, "EscalateToDepartment", p->agent, &rq.base, &helpdesk__v1__escalation__descriptor);
  return e->id;
}

static void acknowledge(rf *p, int64_t id) {
  Helpdesk__V1__AcknowledgeEscalationRequest rq =
      HELPDESK__V1__ACKNOWLEDGE_ESCALATION_REQUEST__INIT;
  rq.escalation_id = id;
  rf_must(p, "AcknowledgeEscalation", p->lead, &rq.base, &helpdesk__v1__escalation__descriptor);
}

static void resolve(rf *p, int64_t id) {
  Helpdesk__V1__ResolveEscalationRequest rq = HELPDESK__V1__RESOLVE_ESCALATION_REQUEST__INIT;
  rq.escalation_id = id;
  rq.outcome = HELPDESK__V1__ESCALATION_OUTCOME__ESCALATION_OUTCOME_RESOLVED;
  rq.resolution = "The second charge is refunded.";
  rf_must(p, "ResolveEscalation", p->lead, &rq.base, &helpdesk__v1__escalation__descriptor);
}

#define CREATED      HELPDESK__V1__ESCALATION_EVENT_TYPE__ESCALATION_EVENT_TYPE_CREATED
#define ACKNOWLEDGED HELPDESK__V1__ESCALATION_EVENT_TYPE__ESCALATION_EVENT_TYPE_ACKNOWLEDGED
#define RESOLVED     HELPDESK__V1__ESCALATION_EVENT_TYPE__ESCALATION_EVENT_TYPE_RESOLVED

static void test_escalation_events_are_typed_filtered_and_only_escalations(void **state) {
  rf *p = *state;
  const int64_t ta = owned(p, "Charged twice"), tb = owned(p, "Slow site");
  const int64_t after = last_id(p);
  sc_stream *all = watch(p, p->agent, after, 0, 0, NULL);
  sc_stream *by_ticket = watch(p, p->agent, after, 0, tb, NULL);
  sc_stream *by_dept = watch(p, p->agent, after, 0, 0, "BILLING");
  const int64_t a = consult(p, ta, "BILLING");
  /* Another kind of routing event in the same outbox: the feed leaves it out. */
  rf_execf(p,
           "INSERT INTO outbox (tenant, aggregate_id, event_type, payload, created_at_us) "
           "VALUES ('acme', %" PRId64 ", 'routing.claim_taken', '{}', 1)",
           ta);
  const int64_t b = consult(p, tb, "INFRASTRUCTURE");
  acknowledge(p, a);
  resolve(p, a);
  event *e = next_event(all);
  assert_int_equal(e->type, CREATED);
  assert_string_equal(e->type_name, "routing.escalation_created");
  assert_int_equal(e->escalation_id, a);
  assert_int_equal(e->ticket_id, ta);
  assert_string_equal(e->actor_id, "agent-1");
  assert_non_null(e->escalation);
  assert_string_equal(e->escalation->to_department, "BILLING");
  assert_string_equal(e->escalation->from_department, "TECHNICAL");
  assert_int_equal(e->escalation->status, HELPDESK__V1__ESCALATION_STATUS__ESCALATION_STATUS_OPEN);
  assert_int_equal(e->escalation->mode, HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_CONSULT);
  protobuf_c_message_free_unpacked(&e->base, NULL);
  const int64_t rest[] = {b, a, a};
  const int rest_types[] = {CREATED, ACKNOWLEDGED, RESOLVED};
  expect(all, rest, rest_types, 3);
  const int64_t only_b[] = {b};
  const int only_b_types[] = {CREATED};
  expect(by_ticket, only_b, only_b_types, 1);
  const int64_t only_a[] = {a, a, a};
  expect(by_dept, only_a, (const int[]){CREATED, ACKNOWLEDGED, RESOLVED}, 3);
  expect_quiet(all);
  expect_quiet(by_ticket);
  expect_quiet(by_dept);
  sc_free(all);
  sc_free(by_ticket);
  sc_free(by_dept);
}

static void test_a_resumed_escalation_feed_loses_and_repeats_nothing_and_keeps_to_its_tenant(
    void **state) {
  rf *p = *state;
  const int64_t ta = owned(p, "Charged twice");
  const int64_t after = last_id(p);
  sc_stream *s = watch(p, p->agent, after, 0, 0, NULL);
  sc_stream *globex = watch(p, p->other_tenant, after, 0, 0, NULL);
  const int64_t a = consult(p, ta, "BILLING");
  event *e = next_event(s);
  char last[HD_OUTBOX_EVENT_ID_MAX];
  snprintf(last, sizeof last, "%s", e->event_id);
  const int64_t last_seq = seq_of(e);
  protobuf_c_message_free_unpacked(&e->base, NULL);
  sc_cancel(s);
  sc_free(s);
  acknowledge(p, a); /* while nobody listens */
  resolve(p, a);
  Helpdesk__V1__WatchEscalationsRequest req = HELPDESK__V1__WATCH_ESCALATIONS_REQUEST__INIT;
  req.after_event_id = last;
  s = sc_open(p->r.target, WATCH_METHOD, p->agent, &req.base);
  e = next_event(s);
  assert_true(seq_of(e) > last_seq);
  assert_int_equal(e->type, ACKNOWLEDGED);
  protobuf_c_message_free_unpacked(&e->base, NULL);
  e = next_event(s);
  assert_int_equal(e->type, RESOLVED);
  protobuf_c_message_free_unpacked(&e->base, NULL);
  expect_quiet(s);
  expect_quiet(globex);
  sc_free(s);
  sc_free(globex);
  req.after_event_id = "";
  s = sc_open(p->r.target, WATCH_METHOD, p->customer, &req.base);
  bool timed_out = false;
  assert_null(sc_recv(s, &helpdesk__v1__escalation_event__descriptor, WAIT_MS, &timed_out));
  assert_false(timed_out);
  assert_int_equal(sc_status(s, NULL), GRPC_STATUS_PERMISSION_DENIED);
  sc_free(s);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, rf_setup, rf_teardown)
  const struct CMUnitTest tests[] = {
      T(test_escalation_events_are_typed_filtered_and_only_escalations),
      T(test_a_resumed_escalation_feed_loses_and_repeats_nothing_and_keeps_to_its_tenant),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
