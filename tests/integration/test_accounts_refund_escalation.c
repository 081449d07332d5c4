/* An overdue card verification refund escalated to the L2 consulting team over real gRPC: the
 * accounts service in-process pointed at a real routing service (HELPDESK_ROUTING_TARGET),
 * itself pointed at a real ticket service. Asked twice: one CONSULT escalation in routing (to
 * ESCALATED, Level 2, an internal note on the ticket), both answers carry it; an escalation
 * recorded as REQUESTED after routing answered is sent again under its key and still makes one;
 * routing refusing (a closed ticket) leaves it REQUESTED with its attempts and last error, and
 * the next check, once the ticket is open again, sends it. The three clocks move together (the
 * accounts service's tokens are minted on its clock and checked on routing's). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "account_fixture.h"
#include "routing_fixture.h"

#define PM(t)     HELPDESK__V1__PAYMENT_METHOD_TYPE__PAYMENT_METHOD_TYPE_##t
#define REFUND(s) HELPDESK__V1__REFUND_STATUS__REFUND_STATUS_##s
#define ESC(s)    HELPDESK__V1__ESCALATION_STATE__ESCALATION_STATE_##s

typedef struct pair {
  rf r; /* routing and the ticket service */
  af *a;
} pair;

static int pair_setup(void **state) {
  pair *p = calloc(1, sizeof *p);
  if (!p || rf_start(&p->r) != 0) {
    free(p);
    return -1;
  }
  setenv("HELPDESK_ROUTING_TARGET", p->r.r.target, 1);
  void *a = NULL;
  if (af_setup(&a) != 0) {
    rf_stop(&p->r);
    free(p);
    return -1;
  }
  p->a = a;
  *state = p;
  return 0;
}

static int pair_teardown(void **state) {
  pair *p = *state;
  if (!p) return 0;
  void *a = p->a;
  af_teardown(&a);
  rf_stop(&p->r);
  unsetenv("HELPDESK_ROUTING_TARGET");
  free(p);
  return 0;
}

/* Moves the three services' clocks by us. */
static void advance(pair *p, int64_t us) {
  af_advance(p->a, us);
  hd_clock_advance(&p->r.r.clock, us);
  hd_clock_advance(&p->r.t.f.clock, us);
}

/* An account uid with a card bound now; the card's payment method id. */
static int64_t bound_card(pair *p, const char *uid) {
  af_account(p->a, uid, "SG", true, NULL);
  return af_method(p->a, uid, PM(BANK_CARD), "4242")->payment_method->id;
}

static Helpdesk__V1__CardVerificationRefund *check(pair *p, const char *uid, int64_t method,
                                                   int64_t ticket) {
  Helpdesk__V1__CheckCardVerificationRefundRequest r =
      HELPDESK__V1__CHECK_CARD_VERIFICATION_REFUND_REQUEST__INIT;
  r.uid = (char *)uid;
  r.payment_method_id = method;
  r.ticket_id = ticket;
  return (Helpdesk__V1__CardVerificationRefund *)af_must(
      p->a, "CheckCardVerificationRefund", p->a->agent, &r.base,
      &helpdesk__v1__card_verification_refund__descriptor);
}

static int64_t routing_escalations(pair *p, int64_t ticket) {
  return rf_sqlf(&p->r, "SELECT COUNT(*) FROM escalations WHERE ticket_id = %" PRId64, ticket);
}

static void test_asked_twice_the_overdue_refund_consults_l2_once_and_both_answers_carry_it(
    void **state) {
  pair *p = *state;
  const int64_t card = bound_card(p, "cust-1");
  Helpdesk__V1__Ticket *t = tf_create(&p->r.t, p->r.t.customer, NULL, "Where is my 1 dollar?");
  advance(p, 8 * AF_DAY_US);
  Helpdesk__V1__CardVerificationRefund *first = check(p, "cust-1", card, t->id);
  Helpdesk__V1__CardVerificationRefund *second = check(p, "cust-1", card, 0); /* recorded: read */
  assert_int_equal(first->status, REFUND(OVERDUE));
  for (int i = 0; i < 2; i++) {
    const Helpdesk__V1__RefundEscalation *e = (i ? second : first)->escalation;
    assert_non_null(e);
    assert_int_equal(e->state, ESC(SENT));
    assert_string_equal(e->department, "ESCALATED");
    assert_int_equal(e->ticket_id, t->id);
    assert_int_equal(e->attempts, 1); /* the second check sent nothing */
    assert_string_equal(e->last_error, "");
    assert_true(e->routing_escalation_id > 0);
  }
  const int64_t rid = first->escalation->routing_escalation_id;
  assert_int_equal(second->escalation->routing_escalation_id, rid);
  /* In routing: one CONSULT to Level 2 by the accounts service, naming the verification. */
  assert_int_equal(routing_escalations(p, t->id), 1);
  Helpdesk__V1__ListEscalationsRequest lr = HELPDESK__V1__LIST_ESCALATIONS_REQUEST__INIT;
  lr.ticket_id = t->id;
  Helpdesk__V1__ListEscalationsResponse *ls = (Helpdesk__V1__ListEscalationsResponse *)rf_must(
      &p->r, "ListEscalations", p->r.lead, &lr.base,
      &helpdesk__v1__list_escalations_response__descriptor);
  assert_int_equal(ls->n_escalations, 1);
  const Helpdesk__V1__Escalation *re = ls->escalations[0];
  assert_int_equal(re->id, rid);
  assert_int_equal(re->mode, HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_CONSULT);
  assert_string_equal(re->to_department, "ESCALATED");
  assert_string_equal(re->created_by_role, "service");
  char verification[64];
  snprintf(verification, sizeof verification, "verification %" PRId64, first->id);
  assert_non_null(strstr(re->context, verification));
  assert_non_null(strstr(re->context, "1.00 USD"));
  /* On the ticket: the L2 note, and the ticket stays where it was. */
  assert_int_equal(
      tf_sqlf(&p->r.t, "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64, t->id),
      1);
  assert_string_equal(tf_get(&p->r.t, p->r.t.lead, t->id)->department, t->department);
  assert_int_equal(af_audits(p->a, "cust-1", "ESCALATE_CARD_REFUND"), 1);
  assert_int_equal(af_audits(p->a, "cust-1", "SEND_CARD_REFUND_ESCALATION"), 1);

  /* Routing answered but SENT was not recorded (a crash in between): the next check sends the
   * same request under the same key, and routing still has one escalation. */
  const hd_db_param back[] = {hd_db_int(first->id)};
  hd_err err = {0};
  assert_int_equal(hd_db_exec(p->a->db,
                              "UPDATE refund_escalations SET state = 'REQUESTED', "
                              "routing_escalation_id = NULL WHERE verification_id = ?",
                              back, 1, NULL, NULL, &err),
                   0);
  Helpdesk__V1__CardVerificationRefund *third = check(p, "cust-1", card, 0);
  assert_int_equal(third->escalation->state, ESC(SENT));
  assert_int_equal(third->escalation->routing_escalation_id, rid);
  assert_int_equal(third->escalation->attempts, 2);
  assert_int_equal(routing_escalations(p, t->id), 1);
  assert_int_equal(
      tf_sqlf(&p->r.t, "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64, t->id),
      1);
}

static void test_a_refused_send_stays_requested_with_its_error_and_the_next_check_sends_it(
    void **state) {
  pair *p = *state;
  const int64_t card = bound_card(p, "cust-2");
  Helpdesk__V1__Ticket *t = tf_create(&p->r.t, p->r.t.customer2, NULL, "Refund of the charge");
  tf_assign(&p->r.t, t->id, "agent-1");
  tf_set_status(&p->r.t, t->id, TF_STATUS(CANCELLED));
  advance(p, 8 * AF_DAY_US);
  Helpdesk__V1__CardVerificationRefund *v = check(p, "cust-2", card, t->id);
  assert_int_equal(v->status, REFUND(OVERDUE));
  assert_int_equal(v->escalation->state, ESC(REQUESTED));
  assert_int_equal(v->escalation->attempts, 1);
  assert_int_equal(v->escalation->routing_escalation_id, 0);
  assert_non_null(strstr(v->escalation->last_error, "closed or cancelled"));
  assert_int_equal(routing_escalations(p, t->id), 0);
  assert_int_equal(af_audits(p->a, "cust-2", "SEND_CARD_REFUND_ESCALATION"), 0);
  /* The ticket is worked again: the next check (naming no ticket) sends the recorded one. */
  tf_set_status(&p->r.t, t->id, TF_STATUS(PROCESSING));
  v = check(p, "cust-2", card, 0);
  assert_int_equal(v->escalation->state, ESC(SENT));
  assert_int_equal(v->escalation->attempts, 2);
  assert_string_equal(v->escalation->last_error, "");
  assert_true(v->escalation->routing_escalation_id > 0);
  assert_int_equal(routing_escalations(p, t->id), 1);
  assert_int_equal(af_audits(p->a, "cust-2", "SEND_CARD_REFUND_ESCALATION"), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(
          test_asked_twice_the_overdue_refund_consults_l2_once_and_both_answers_carry_it),
      cmocka_unit_test(
          test_a_refused_send_stays_requested_with_its_error_and_the_next_check_sends_it),
  };
  return cmocka_run_group_tests(tests, pair_setup, pair_teardown);
}
