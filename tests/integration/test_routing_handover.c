/* The shift hand-over through real gRPC calls: the routing service and a real ticket service
 * in-process (real MariaDB and Redis). A missing note moves nothing; with every note each open
 * ticket moves to the team of its issue type with its note as an internal record, the agent goes
 * OFF_DUTY, and GetHandOver shows the next shift (and the agent, the next day) how they stand. */
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

#include "routing_fixture.h"

#define HOUR_US (3600LL * HD_US_PER_S)

/* A ticket of cust-1 about issue, owned by agent-1 in TECHNICAL. */
static int64_t owned(rf *p, const char *subject, Helpdesk__V1__IssueType issue) {
  char key[64];
  snprintf(key, sizeof key, "ho-%s", subject);
  const Helpdesk__V1__Ticket *t = rf_create_about(p, key, subject, issue);
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = t->id;
  rq.owner_id = "agent-1";
  rq.department = "TECHNICAL";
  tf_must(&p->t, "AssignTicket", p->t.lead, &rq.base, &helpdesk__v1__ticket__descriptor);
  return t->id;
}

static hd_code hand_over_for(rf *p, const char *token, const char *agent, const int64_t *ids,
                             const char *const *notes, size_t n,
                             Helpdesk__V1__HandOverShiftResponse **out) {
  Helpdesk__V1__HandOverShiftRequest rq = HELPDESK__V1__HAND_OVER_SHIFT_REQUEST__INIT;
  rq.agent_id = (char *)agent;
  Helpdesk__V1__HandOverNote items[8], *ptrs[8];
  for (size_t i = 0; i < n; i++) {
    items[i] = (Helpdesk__V1__HandOverNote)HELPDESK__V1__HAND_OVER_NOTE__INIT;
    items[i].ticket_id = ids[i];
    items[i].note = (char *)notes[i];
    ptrs[i] = &items[i];
  }
  rq.notes = ptrs;
  rq.n_notes = n;
  return rf_call(p, "HandOverShift", token, &rq.base,
                 &helpdesk__v1__hand_over_shift_response__descriptor, out);
}

static hd_code hand_over(rf *p, const char *token, const int64_t *ids, const char *const *notes,
                         size_t n, Helpdesk__V1__HandOverShiftResponse **out) {
  return hand_over_for(p, token, "", ids, notes, n, out);
}

static void test_hand_over_with_a_missing_note_moves_nothing(void **state) {
  rf *p = *state;
  rf_agent(p, "agent-1", "TECHNICAL", 0, "AVAILABLE");
  const int64_t a = owned(p, "Login fails", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_ACCOUNT);
  const int64_t b = owned(p, "Invoice wrong", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_BILLING);
  const int64_t c = owned(p, "Site down", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL);
  char *tickets_before = tf_fingerprint(&p->t);
  const int64_t ids[] = {a, c};
  const char *const notes[] = {"Reset link sent; waiting for the customer", "Checked DNS"};
  assert_int_equal(hand_over(p, p->t.agent, ids, notes, 2, NULL), HD_FAILED_PRECONDITION);
  char want[64];
  snprintf(want, sizeof want, "no hand-over note: %" PRId64, b);
  assert_non_null(strstr(p->err.msg, want));
  tf_expect_unchanged(&p->t, tickets_before);
  assert_int_equal(rf_sqlf(p, "SELECT COUNT(*) FROM hand_overs"), 0);
  assert_int_equal(rf_sqlf(p,
                           "SELECT presence = 'AVAILABLE' FROM agents WHERE agent_id = "
                           "'agent-1'"),
                   1);
  /* A blank note is no note; a note for a ticket the agent does not own neither. */
  const int64_t ids3[] = {a, b, c};
  const char *const blank[] = {"x", "   ", "y"};
  assert_int_equal(hand_over(p, p->t.agent, ids3, blank, 3, NULL), HD_INVALID_ARGUMENT);
  const int64_t stray[] = {a, b, c, 999999};
  const char *const four[] = {"x", "y", "z", "w"};
  assert_int_equal(hand_over(p, p->t.agent, stray, four, 4, NULL), HD_FAILED_PRECONDITION);
  assert_non_null(strstr(p->err.msg, "999999"));
  /* Another agent cannot hand over agent-1's shift. */
  assert_int_equal(hand_over_for(p, p->t.agent2, "agent-1", ids3, four, 3, NULL),
                   HD_PERMISSION_DENIED);
}

static void test_hand_over_moves_each_ticket_to_its_team_and_the_agent_off_duty(void **state) {
  rf *p = *state;
  rf_agent(p, "agent-1", "TECHNICAL", 0, "AVAILABLE");
  const int64_t a = owned(p, "Login fails", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_ACCOUNT);
  const int64_t b = owned(p, "Invoice wrong", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_BILLING);
  const int64_t c = owned(p, "Site down", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL);
  const int64_t ids[] = {a, b, c};
  const char *const notes[] = {"Reset link sent; waiting for the customer",
                               "Customer says the VAT is wrong; invoice 2211",
                               "Checked DNS and the vhost; the PHP limit is next"};
  Helpdesk__V1__HandOverShiftResponse *r = NULL;
  assert_int_equal(hand_over(p, p->t.agent, ids, notes, 3, &r), HD_OK);
  assert_int_equal(r->agent->presence, HELPDESK__V1__PRESENCE__PRESENCE_OFF_DUTY);
  assert_int_equal(r->hand_over->n_items, 3);
  assert_string_equal(r->hand_over->items[0]->department, "ACCOUNT");
  assert_string_equal(r->hand_over->items[1]->department, "BILLING");
  assert_string_equal(r->hand_over->items[2]->department, "TECHNICAL");
  assert_string_equal(tf_get(&p->t, p->t.lead, a)->department, "ACCOUNT");
  assert_string_equal(tf_get(&p->t, p->t.lead, b)->department, "BILLING");
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(tf_sqlf(&p->t,
                             "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64
                             " AND body = '%s'",
                             ids[i], notes[i]),
                     1);
  assert_int_equal(rf_sqlf(p,
                           "SELECT COUNT(*) FROM outbox WHERE event_type = "
                           "'routing.hand_over'"),
                   1);
  /* The next day: the agent sees how the tickets they handed over stand now. */
  tf_set_status(&p->t, c, TF_STATUS(CLOSED));
  /* GetHandOver reads routing's records of the tickets: wait until its consumer has the close. */
  assert_int_equal(rf_wait_sql(p, 1,
                               "SELECT COUNT(*) FROM routing_tickets WHERE ticket_id = %" PRId64
                               " AND status = 'CLOSED'",
                               c),
                   1);
  rf_advance(p, 20 * HOUR_US);
  Helpdesk__V1__GetHandOverRequest gr = HELPDESK__V1__GET_HAND_OVER_REQUEST__INIT;
  gr.from_agent_id = "agent-1";
  Helpdesk__V1__GetHandOverResponse *g = NULL;
  assert_int_equal(rf_call(p, "GetHandOver", p->t.agent, &gr.base,
                           &helpdesk__v1__get_hand_over_response__descriptor, &g),
                   HD_OK);
  assert_int_equal(g->n_items, 3);
  assert_int_equal(g->items[0]->ticket_id, a); /* oldest first */
  assert_string_equal(g->items[0]->note, notes[0]);
  assert_int_equal(g->items[2]->ticket_id, c);
  assert_int_equal(g->items[2]->current_status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
  /* The next shift of one team reads only its own. */
  gr.from_agent_id = "";
  gr.department = "BILLING";
  assert_int_equal(rf_call(p, "GetHandOver", p->t.lead, &gr.base,
                           &helpdesk__v1__get_hand_over_response__descriptor, &g),
                   HD_OK);
  assert_int_equal(g->n_items, 1);
  assert_int_equal(g->items[0]->ticket_id, b);
  /* Past 24 hours the default window no longer shows it. */
  rf_advance(p, 5 * HOUR_US);
  assert_int_equal(rf_call(p, "GetHandOver", p->t.lead, &gr.base,
                           &helpdesk__v1__get_hand_over_response__descriptor, &g),
                   HD_OK);
  assert_int_equal(g->n_items, 0);
}

/* ---- the next shift claims what was handed over ---- */

static hd_code claim_next(rf *p, const char *token, Helpdesk__V1__ClaimNextResponse **out) {
  Helpdesk__V1__ClaimNextRequest rq = HELPDESK__V1__CLAIM_NEXT_REQUEST__INIT;
  return rf_call(p, "ClaimNext", token, &rq.base, &helpdesk__v1__claim_next_response__descriptor,
                 out);
}

static void test_next_shift_claims_the_handed_over_tickets_unowned_oldest_first(void **state) {
  rf *p = *state;
  rf_agent(p, "agent-1", "TECHNICAL", 0, "AVAILABLE");
  rf_agent(p, "agent-2", "TECHNICAL", 0, "AVAILABLE");
  const int64_t a = owned(p, "Mail bounces", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL);
  const int64_t b = owned(p, "Site slow", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL);
  const int64_t c = owned(p, "Cron stopped", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL);
  const int64_t d = owned(p, "Cannot log in", HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_ACCOUNT);
  tf_set_status(&p->t, b, TF_STATUS(PROCESSING)); /* worked by agent-1 */
  /* Owned, none waits: agent-2 finds nothing to claim. */
  assert_int_equal(rf_wait_sql(p, 4, "%s",
                               "SELECT COUNT(*) FROM routing_tickets WHERE owner_id = 'agent-1' "
                               "AND queue = ''"),
                   4);
  Helpdesk__V1__ClaimNextResponse *cr = NULL;
  assert_int_equal(claim_next(p, p->t.agent2, &cr), HD_OK);
  assert_null(cr->claim);
  const int64_t ids[] = {a, b, c, d};
  const char *const notes[] = {"SPF checked; DKIM next", "Cache warmed; DB slow log attached",
                               "Crontab restored; confirm tomorrow", "Reset link sent"};
  assert_int_equal(hand_over(p, p->t.agent, ids, notes, 4, NULL), HD_OK);
  /* In the ticket service each is unowned, awaiting attention, the note its internal record. */
  for (size_t i = 0; i < 4; i++) {
    const Helpdesk__V1__Ticket *t = tf_get(&p->t, p->t.lead, ids[i]);
    assert_string_equal(t->owner_id, "");
    assert_int_equal(t->status, TF_STATUS(PENDING_RESPONSE));
    assert_int_equal(tf_sqlf(&p->t,
                             "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64
                             " AND body = '%s'",
                             ids[i], notes[i]),
                     1);
    assert_int_equal(tf_events(&p->t, TICKET_EVENT_RELEASED, ids[i]), 1);
  }
  assert_string_equal(tf_get(&p->t, p->t.lead, d)->department, "ACCOUNT");
  /* Routing queues them again at their place by age: agent-2 (TECHNICAL) claims a, b, c. */
  assert_int_equal(rf_wait_sql(p, 3, "%s",
                               "SELECT COUNT(*) FROM routing_tickets WHERE queue = 'TECHNICAL' AND "
                               "owner_id = ''"),
                   3);
  assert_int_equal(
      rf_wait_sql(p, 1, "%s", "SELECT COUNT(*) FROM routing_tickets WHERE queue = 'ACCOUNT'"), 1);
  const int64_t order[] = {a, b, c};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(claim_next(p, p->t.agent2, &cr), HD_OK);
    assert_non_null(cr->claim);
    assert_int_equal(cr->claim->ticket_id, order[i]);
    assert_string_equal(tf_get(&p->t, p->t.lead, order[i])->owner_id, "agent-2");
  }
  assert_int_equal(claim_next(p, p->t.agent2, &cr), HD_OK);
  assert_null(cr->claim); /* d waits in ACCOUNT, which agent-2 does not work */
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, rf_setup, rf_teardown)
      T(test_hand_over_with_a_missing_note_moves_nothing),
      T(test_hand_over_moves_each_ticket_to_its_team_and_the_agent_off_duty),
      T(test_next_shift_claims_the_handed_over_tickets_unowned_oldest_first),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
