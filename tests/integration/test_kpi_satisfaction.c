/* RecordSatisfaction in the moment before the KPI's facts know the close: the real ticket service
 * in-process and the KPI pointed at it, with the KPI's consumers off, so its facts never learn of
 * the tickets. A customer's rating of their closed ticket is accepted on the ticket service's
 * word (GetTicket) and credited to its owner; another customer's ticket, a ticket not closed and
 * a missing one are refused as before, and a ticket is still rated once. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpdesk/v1/kpi.pb-c.h"
#include "kpi_service.h"
#include "ticket_fixture.h"

typedef struct fx {
  tf t;
  hd_fixture k;
  hd_service_def kpi_def;
  char *cust, *cust2; /* KPI tokens of cust-1 and cust-2 of acme */
} fx;

static int setup(void **state) {
  fx *x = calloc(1, sizeof *x);
  *state = x;
  if (!x || tf_start(&x->t) != 0) return -1;
  setenv("HELPDESK_TICKETS_TARGET", x->t.f.target, 1);
  x->kpi_def = kpi_service_def;
  x->kpi_def.consumers = NULL; /* the facts stay behind the ticket service */
  x->kpi_def.n_consumers = 0;
  if (hd_fixture_start(&x->k, &x->kpi_def) != 0) return -1;
  x->cust = hd_fixture_token(&x->k, "acme", "cust-1", HD_ROLE_CUSTOMER);
  x->cust2 = hd_fixture_token(&x->k, "acme", "cust-2", HD_ROLE_CUSTOMER);
  return 0;
}

static int teardown(void **state) {
  fx *x = *state;
  if (!x) return 0;
  hd_fixture_stop(&x->k);
  tf_stop(&x->t);
  free(x->cust);
  free(x->cust2);
  free(x);
  return 0;
}

static hd_code rate(fx *x, const char *token, int64_t ticket, int score,
                    Helpdesk__V1__Satisfaction **out, hd_err *err) {
  Helpdesk__V1__RecordSatisfactionRequest rq = HELPDESK__V1__RECORD_SATISFACTION_REQUEST__INIT;
  rq.ticket_id = ticket;
  rq.score = score;
  rq.comment = "quick and kind";
  ProtobufCMessage *resp = NULL;
  hd_err_clear(err);
  const hd_code code =
      hd_fixture_call(&x->k, "/helpdesk.v1.KpiService/RecordSatisfaction", token, &rq.base,
                      &helpdesk__v1__satisfaction__descriptor, x->t.arena, &resp, err);
  if (out) *out = code == HD_OK ? (Helpdesk__V1__Satisfaction *)resp : NULL;
  return code;
}

static void test_a_rating_of_a_ticket_closed_before_the_facts_know_is_accepted(void **state) {
  fx *x = *state;
  const Helpdesk__V1__Ticket *t = tf_create(&x->t, x->t.customer, NULL, "Mail bounces");
  tf_assign(&x->t, t->id, "agent-1");
  tf_set_status(&x->t, t->id, TF_STATUS(CLOSED));
  assert_int_equal(hd_fixture_sql_i64(&x->k, "SELECT COUNT(*) FROM ticket_facts"), 0);

  hd_err err = {0};
  Helpdesk__V1__Satisfaction *s = NULL;
  assert_int_equal(rate(x, x->cust, t->id, 4, &s, &err), HD_OK);
  assert_int_equal(s->ticket_id, t->id);
  assert_string_equal(s->customer_id, "cust-1");
  assert_string_equal(s->agent_id, "agent-1"); /* the ticket service's owner */
  assert_int_equal(s->score, 4);
  assert_int_equal(hd_fixture_sql_i64(&x->k,
                                      "SELECT COUNT(*) FROM satisfaction WHERE tenant = 'acme' "
                                      "AND agent_id = 'agent-1' AND score = 4"),
                   1);
  /* Once per ticket, by whichever path. */
  assert_int_equal(rate(x, x->cust, t->id, 5, NULL, &err), HD_ALREADY_EXISTS);
  assert_non_null(strstr(err.msg, "rated already"));
}

static void test_the_fallback_refuses_what_the_facts_would(void **state) {
  fx *x = *state;
  const Helpdesk__V1__Ticket *closed = tf_create(&x->t, x->t.customer, NULL, "Closed one");
  tf_assign(&x->t, closed->id, "agent-1");
  tf_set_status(&x->t, closed->id, TF_STATUS(CLOSED));
  const Helpdesk__V1__Ticket *open = tf_create(&x->t, x->t.customer, NULL, "Still open");
  tf_assign(&x->t, open->id, "agent-1");
  hd_err err = {0};
  /* Another customer's closed ticket reads as missing. */
  assert_int_equal(rate(x, x->cust2, closed->id, 5, NULL, &err), HD_NOT_FOUND);
  assert_non_null(strstr(err.msg, "not found among your tickets"));
  /* The caller's ticket, not closed. */
  assert_int_equal(rate(x, x->cust, open->id, 5, NULL, &err), HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, "not CLOSED"));
  /* No such ticket. */
  assert_int_equal(rate(x, x->cust, 999999, 5, NULL, &err), HD_NOT_FOUND);
  assert_non_null(strstr(err.msg, "not found among your tickets"));
  assert_int_equal(hd_fixture_sql_i64(&x->k, "SELECT COUNT(*) FROM satisfaction"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_a_rating_of_a_ticket_closed_before_the_facts_know_is_accepted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_the_fallback_refuses_what_the_facts_would, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
