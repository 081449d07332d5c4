/* services/tickets/ticket_state: every allowed transition, every forbidden one, the messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rpc/pb_enum.h"
#include "ticket_state.h"

/* The allowed transitions written out one by one, independently of the table in
 * ticket_state.c (RESUME and RESTART, whose target depends on facts, have their own tests). */
typedef struct expected_row {
  ticket_op op;
  ticket_status from;
  ticket_status to;
} expected_row;

#define PR     TICKET_PENDING_RESPONSE
#define PROC   TICKET_PROCESSING
#define PF     TICKET_PENDING_FEEDBACK
#define FB     TICKET_FEEDBACK
#define TBC    TICKET_TO_BE_CONFIRMED
#define CLOSED TICKET_CLOSED
#define SUSP   TICKET_SUSPENDED
#define CANC   TICKET_CANCELLED

static const expected_row ALLOWED[] = {
    {TICKET_OP_ACKNOWLEDGE, PR, PROC},
    {TICKET_OP_ACKNOWLEDGE, FB, PROC},
    {TICKET_OP_ACKNOWLEDGE, PROC, PROC},
    {TICKET_OP_REQUEST_INFO, PR, PF},
    {TICKET_OP_REQUEST_INFO, PROC, PF},
    {TICKET_OP_REQUEST_INFO, FB, PF},
    {TICKET_OP_REQUEST_INFO, PF, PF},
    {TICKET_OP_PROPOSE_SOLUTION, PR, PF},
    {TICKET_OP_PROPOSE_SOLUTION, PROC, PF},
    {TICKET_OP_PROPOSE_SOLUTION, FB, PF},
    {TICKET_OP_PROPOSE_SOLUTION, PF, PF},
    {TICKET_OP_FOLLOW_UP, PF, PF},
    {TICKET_OP_FOLLOW_UP_LAST, PF, TBC},
    {TICKET_OP_FINAL_ANSWER, PR, TBC},
    {TICKET_OP_FINAL_ANSWER, PROC, TBC},
    {TICKET_OP_FINAL_ANSWER, PF, TBC},
    {TICKET_OP_FINAL_ANSWER, FB, TBC},
    {TICKET_OP_CUSTOMER_REPLY, PROC, FB},
    {TICKET_OP_CUSTOMER_REPLY, PF, FB},
    {TICKET_OP_CUSTOMER_REPLY, FB, FB},
    {TICKET_OP_CUSTOMER_REPLY, TBC, FB},
    {TICKET_OP_CUSTOMER_REPLY, PR, PR},
    {TICKET_OP_CLOSE, PR, CLOSED},
    {TICKET_OP_CLOSE, PROC, CLOSED},
    {TICKET_OP_CLOSE, PF, CLOSED},
    {TICKET_OP_CLOSE, FB, CLOSED},
    {TICKET_OP_CLOSE, TBC, CLOSED},
    {TICKET_OP_CLOSE, SUSP, CLOSED},
    {TICKET_OP_AUTO_CLOSE, TBC, CLOSED},
    {TICKET_OP_CANCEL, PR, CANC},
    {TICKET_OP_CANCEL, PROC, CANC},
    {TICKET_OP_CANCEL, PF, CANC},
    {TICKET_OP_CANCEL, FB, CANC},
    {TICKET_OP_CANCEL, TBC, CANC},
    {TICKET_OP_CANCEL, SUSP, CANC},
    {TICKET_OP_SUSPEND, PR, SUSP},
    {TICKET_OP_SUSPEND, PROC, SUSP},
    {TICKET_OP_SUSPEND, PF, SUSP},
    {TICKET_OP_SUSPEND, FB, SUSP},
    {TICKET_OP_MERGE_CLOSE, PR, CLOSED},
    {TICKET_OP_MERGE_CLOSE, PROC, CLOSED},
    {TICKET_OP_MERGE_CLOSE, PF, CLOSED},
    {TICKET_OP_MERGE_CLOSE, FB, CLOSED},
    {TICKET_OP_MERGE_CLOSE, TBC, CLOSED},
    {TICKET_OP_MERGE_CLOSE, SUSP, CLOSED},
    {TICKET_OP_OTHER_ANSWER, PR, PR},
    {TICKET_OP_OTHER_ANSWER, PROC, FB},
    {TICKET_OP_OTHER_ANSWER, PF, FB},
    {TICKET_OP_OTHER_ANSWER, FB, FB},
    {TICKET_OP_OTHER_ANSWER, TBC, FB},
    {TICKET_OP_RELEASE, PR, PR},
    {TICKET_OP_RELEASE, PROC, PR},
    {TICKET_OP_RELEASE, PF, PR},
    {TICKET_OP_RELEASE, FB, PR},
    {TICKET_OP_RELEASE, TBC, PR},
    {TICKET_OP_RELEASE, SUSP, SUSP},
};
#define N_ALLOWED (sizeof ALLOWED / sizeof ALLOWED[0])

/* A fact set under which RESUME and RESTART succeed, for the exhaustive sweep. */
static const ticket_facts SOME_FACTS = {.suspended_from = PROC, .has_owner = true};

static const expected_row *find_allowed(ticket_op op, ticket_status from) {
  for (size_t i = 0; i < N_ALLOWED; i++)
    if (ALLOWED[i].op == op && ALLOWED[i].from == from) return &ALLOWED[i];
  return NULL;
}

static bool facts_driven(ticket_op op, ticket_status from) {
  return (op == TICKET_OP_RESUME && from == SUSP) ||
         (op == TICKET_OP_RESTART && (from == CLOSED || from == CANC));
}

/* Refused, worded for logs without a request and for the caller with one. */
static void assert_forbidden(ticket_op op, ticket_status from) {
  hd_err err = {0};
  ticket_status to = TICKET_STATUS_NONE;
  assert_int_equal(ticket_transition(op, from, &SOME_FACTS, &to, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  char want[128];
  snprintf(want, sizeof want, "operation %s does not apply to a ticket in status %s",
           ticket_op_name(op), ticket_status_name(from));
  assert_string_equal(err.msg, want);
  assert_int_equal(to, TICKET_STATUS_NONE);
  assert_false(ticket_transition_allowed(op, from));

  ticket_facts asked = SOME_FACTS;
  asked.request = "SomeRpc with intent X";
  assert_int_equal(ticket_transition(op, from, &asked, &to, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  snprintf(want, sizeof want, "SomeRpc with intent X is not possible on a ticket in status %s",
           ticket_status_name(from));
  /* Only a customer's reply to a finished ticket says more: what to do instead. */
  if (op == TICKET_OP_CUSTOMER_REPLY && (from == CLOSED || from == CANC))
    assert_true(strncmp(err.msg, want, strlen(want)) == 0);
  else
    assert_string_equal(err.msg, want);
  assert_int_equal(to, TICKET_STATUS_NONE);
}

/* ---- every allowed transition ---- */

static void test_every_listed_transition_is_allowed_and_leads_to_its_status(void **state) {
  (void)state;
  for (size_t i = 0; i < N_ALLOWED; i++) {
    hd_err err = {0};
    ticket_status to = TICKET_STATUS_NONE;
    if (ticket_transition(ALLOWED[i].op, ALLOWED[i].from, NULL, &to, &err) != 0)
      fail_msg("%s from %s refused: %s", ticket_op_name(ALLOWED[i].op),
               ticket_status_name(ALLOWED[i].from), err.msg);
    if (to != ALLOWED[i].to)
      fail_msg("%s from %s led to %s, want %s", ticket_op_name(ALLOWED[i].op),
               ticket_status_name(ALLOWED[i].from), ticket_status_name(to),
               ticket_status_name(ALLOWED[i].to));
    assert_true(ticket_transition_allowed(ALLOWED[i].op, ALLOWED[i].from));
  }
}

static void test_resume_returns_to_each_status_a_ticket_can_be_suspended_from(void **state) {
  (void)state;
  const ticket_status from[] = {PR, PROC, PF, FB};
  for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
    const ticket_facts facts = {.suspended_from = from[i]};
    hd_err err = {0};
    ticket_status to = TICKET_STATUS_NONE;
    assert_int_equal(ticket_transition(TICKET_OP_RESUME, SUSP, &facts, &to, &err), 0);
    assert_int_equal(to, from[i]);
  }
}

static void test_resume_without_a_valid_status_to_return_to_is_internal(void **state) {
  (void)state;
  const ticket_status bad[] = {TICKET_STATUS_NONE, TBC, CLOSED, SUSP, CANC, (ticket_status)42};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const ticket_facts facts = {.suspended_from = bad[i]};
    hd_err err = {0};
    ticket_status to = TICKET_STATUS_NONE;
    assert_int_equal(ticket_transition(TICKET_OP_RESUME, SUSP, &facts, &to, &err), -1);
    assert_int_equal(err.code, HD_INTERNAL);
    assert_non_null(strstr(err.msg, "no valid status to resume to"));
  }
  hd_err err = {0};
  ticket_status to = TICKET_STATUS_NONE;
  assert_int_equal(ticket_transition(TICKET_OP_RESUME, SUSP, NULL, &to, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
}

static void test_restart_of_an_owned_ticket_goes_to_processing(void **state) {
  (void)state;
  const ticket_facts owned = {.has_owner = true};
  const ticket_status from[] = {CLOSED, CANC};
  for (size_t i = 0; i < 2; i++) {
    hd_err err = {0};
    ticket_status to = TICKET_STATUS_NONE;
    assert_int_equal(ticket_transition(TICKET_OP_RESTART, from[i], &owned, &to, &err), 0);
    assert_int_equal(to, PROC);
  }
}

static void test_restart_of_an_unowned_ticket_goes_back_to_pending_response(void **state) {
  (void)state;
  const ticket_facts unowned = {.has_owner = false};
  const ticket_status from[] = {CLOSED, CANC};
  for (size_t i = 0; i < 2; i++) {
    hd_err err = {0};
    ticket_status to = TICKET_STATUS_NONE;
    assert_int_equal(ticket_transition(TICKET_OP_RESTART, from[i], &unowned, &to, &err), 0);
    assert_int_equal(to, PR);
    to = TICKET_STATUS_NONE;
    assert_int_equal(ticket_transition(TICKET_OP_RESTART, from[i], NULL, &to, &err), 0);
    assert_int_equal(to, PR);
  }
}

/* ---- every forbidden transition ---- */

static void test_every_pair_not_listed_is_failed_precondition_naming_op_and_status(void **state) {
  (void)state;
  size_t allowed = 0, forbidden = 0;
  for (unsigned op = 0; op < TICKET_OP_COUNT; op++) {
    for (unsigned s = 0; s < TICKET_STATUS_COUNT; s++) {
      if (find_allowed((ticket_op)op, (ticket_status)s) ||
          facts_driven((ticket_op)op, (ticket_status)s)) {
        allowed++;
        continue;
      }
      assert_forbidden((ticket_op)op, (ticket_status)s);
      forbidden++;
    }
  }
  /* 56 listed + RESUME from SUSPENDED + RESTART from CLOSED and CANCELLED. */
  assert_int_equal(allowed, N_ALLOWED + 3);
  assert_int_equal(allowed + forbidden, (size_t)TICKET_OP_COUNT * TICKET_STATUS_COUNT);
}

static void test_final_answer_on_a_closed_ticket_names_the_rpc_and_intent_sent(void **state) {
  (void)state;
  hd_err err = {0};
  ticket_status to = TICKET_STATUS_NONE;
  const ticket_facts asked = {.request = "ReplyToTicket with intent FINAL_ANSWER"};
  assert_int_equal(ticket_transition(TICKET_OP_FINAL_ANSWER, CLOSED, &asked, &to, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg,
                      "ReplyToTicket with intent FINAL_ANSWER is not possible on a ticket in "
                      "status CLOSED");
}

static void test_customer_reply_on_a_closed_ticket_tells_what_to_do_instead(void **state) {
  (void)state;
  const ticket_status from[] = {CLOSED, CANC};
  const ticket_facts asked = {.request = "AddCustomerReply"};
  for (size_t i = 0; i < 2; i++) {
    hd_err err = {0};
    ticket_status to = TICKET_STATUS_NONE;
    assert_int_equal(ticket_transition(TICKET_OP_CUSTOMER_REPLY, from[i], &asked, &to, &err), -1);
    assert_int_equal(err.code, HD_FAILED_PRECONDITION);
    char want[160];
    snprintf(want, sizeof want,
             "AddCustomerReply is not possible on a ticket in status %s: open a new ticket, or "
             "ask for this one to be restarted",
             ticket_status_name(from[i]));
    assert_string_equal(err.msg, want);
  }
}

static void test_timer_operations_are_worded_for_logs_not_for_a_caller(void **state) {
  (void)state;
  hd_err err = {0};
  ticket_status to = TICKET_STATUS_NONE;
  assert_int_equal(ticket_transition(TICKET_OP_FOLLOW_UP_LAST, CLOSED, NULL, &to, &err), -1);
  assert_string_equal(err.msg,
                      "operation FOLLOW_UP_LAST does not apply to a ticket in status "
                      "CLOSED");
  assert_int_equal(ticket_transition(TICKET_OP_AUTO_CLOSE, FB, NULL, &to, &err), -1);
  assert_string_equal(err.msg,
                      "operation AUTO_CLOSE does not apply to a ticket in status "
                      "FEEDBACK");
  assert_int_equal(ticket_transition(TICKET_OP_RESUME, SUSP, NULL, &to, &err), -1);
  assert_string_equal(err.msg,
                      "operation RESUME: the suspended ticket has no valid status to "
                      "resume to (UNSPECIFIED)");
  const ticket_facts asked = {.suspended_from = TBC, .request = "ResumeTicket"};
  assert_int_equal(ticket_transition(TICKET_OP_RESUME, SUSP, &asked, &to, &err), -1);
  assert_string_equal(err.msg,
                      "ResumeTicket: the suspended ticket has no valid status to "
                      "resume to (TO_BE_CONFIRMED)");
}

/* ---- another engineer's answer ---- */

static void test_another_engineers_answer_moves_a_worked_ticket_to_feedback(void **state) {
  (void)state;
  const ticket_status worked[] = {PROC, PF, FB, TBC};
  for (size_t i = 0; i < sizeof worked / sizeof worked[0]; i++) {
    hd_err err = {0};
    ticket_status to = TICKET_STATUS_NONE;
    assert_int_equal(ticket_transition(TICKET_OP_OTHER_ANSWER, worked[i], NULL, &to, &err), 0);
    assert_int_equal(to, FB);
  }
  /* Not picked up yet: it stays new; on hold or finished: no row (a comment leaves it). */
  ticket_status to = TICKET_STATUS_NONE;
  assert_int_equal(ticket_transition(TICKET_OP_OTHER_ANSWER, PR, NULL, &to, NULL), 0);
  assert_int_equal(to, PR);
  assert_forbidden(TICKET_OP_OTHER_ANSWER, SUSP);
  assert_forbidden(TICKET_OP_OTHER_ANSWER, CLOSED);
  assert_forbidden(TICKET_OP_OTHER_ANSWER, CANC);
  assert_string_equal(ticket_op_name(TICKET_OP_OTHER_ANSWER), "OTHER_ANSWER");
}

/* ---- the owner rule ---- */

static void test_worked_statuses_need_an_owner_and_the_rest_do_not(void **state) {
  (void)state;
  for (unsigned s = 0; s < TICKET_STATUS_COUNT + 2; s++) {
    const bool needs = s == PROC || s == PF || s == FB || s == TBC;
    assert_int_equal(ticket_status_needs_owner((ticket_status)s), needs);
    hd_err err = {0};
    assert_int_equal(ticket_check_owned((ticket_status)s, true, 42, &err), 0);
    assert_int_equal(ticket_check_owned((ticket_status)s, false, 42, &err), needs ? -1 : 0);
    if (needs) {
      assert_int_equal(err.code, HD_FAILED_PRECONDITION);
      char want[160];
      snprintf(want, sizeof want,
               "ticket 42 has no owner, and a ticket in status %s must have one: assign it "
               "first (AssignTicket)",
               ticket_status_name((ticket_status)s));
      assert_string_equal(err.msg, want);
    }
  }
}

static void test_customer_reply_on_a_suspended_ticket_is_refused(void **state) {
  (void)state;
  assert_forbidden(TICKET_OP_CUSTOMER_REPLY, SUSP);
}

static void test_follow_up_outside_pending_feedback_is_refused(void **state) {
  (void)state;
  const ticket_status from[] = {PR, PROC, FB, TBC, CLOSED, SUSP, CANC};
  for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
    assert_forbidden(TICKET_OP_FOLLOW_UP, from[i]);
    assert_forbidden(TICKET_OP_FOLLOW_UP_LAST, from[i]);
  }
}

static void test_auto_close_only_fires_in_to_be_confirmed(void **state) {
  (void)state;
  const ticket_status from[] = {PR, PROC, PF, FB, CLOSED, SUSP, CANC};
  for (size_t i = 0; i < sizeof from / sizeof from[0]; i++)
    assert_forbidden(TICKET_OP_AUTO_CLOSE, from[i]);
}

static void test_finished_tickets_accept_nothing_but_restart(void **state) {
  (void)state;
  const ticket_status done[] = {CLOSED, CANC};
  for (size_t i = 0; i < 2; i++) {
    for (unsigned op = 0; op < TICKET_OP_COUNT; op++) {
      if (op == TICKET_OP_RESTART) continue;
      assert_forbidden((ticket_op)op, done[i]);
    }
  }
}

static void test_restart_of_an_open_ticket_is_refused(void **state) {
  (void)state;
  const ticket_status from[] = {PR, PROC, PF, FB, TBC, SUSP};
  for (size_t i = 0; i < sizeof from / sizeof from[0]; i++)
    assert_forbidden(TICKET_OP_RESTART, from[i]);
}

static void test_suspend_twice_and_suspend_to_be_confirmed_are_refused(void **state) {
  (void)state;
  assert_forbidden(TICKET_OP_SUSPEND, SUSP);
  assert_forbidden(TICKET_OP_SUSPEND, TBC);
  assert_forbidden(TICKET_OP_RESUME, PROC);
}

static void test_unspecified_status_allows_nothing(void **state) {
  (void)state;
  for (unsigned op = 0; op < TICKET_OP_COUNT; op++)
    assert_forbidden((ticket_op)op, TICKET_STATUS_NONE);
}

static void test_op_or_status_outside_the_enums_is_invalid_argument(void **state) {
  (void)state;
  hd_err err = {0};
  ticket_status to = TICKET_STATUS_NONE;
  assert_int_equal(ticket_transition(TICKET_OP_COUNT, PR, NULL, &to, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(
      ticket_transition(TICKET_OP_CLOSE, (ticket_status)TICKET_STATUS_COUNT, NULL, &to, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_false(ticket_transition_allowed(TICKET_OP_CLOSE, (ticket_status)-1));
}

/* ---- names ---- */

static void test_status_names_round_trip_and_match_the_proto(void **state) {
  (void)state;
  for (unsigned s = 1; s < TICKET_STATUS_COUNT; s++) {
    const char *name = ticket_status_name((ticket_status)s);
    ticket_status back = TICKET_STATUS_NONE;
    assert_int_equal(ticket_status_parse(name, strlen(name), &back), 0);
    assert_int_equal(back, s);
    assert_string_equal(name, hd_pb_enum_name(&helpdesk__v1__ticket_status__descriptor, (int)s));
  }
  assert_string_equal(ticket_status_name(TICKET_STATUS_NONE), "UNSPECIFIED");
  assert_string_equal(ticket_status_name((ticket_status)99), "UNKNOWN");
}

static void test_status_parse_refuses_unknown_partial_and_unspecified_names(void **state) {
  (void)state;
  ticket_status s = TICKET_PROCESSING;
  assert_int_equal(ticket_status_parse("CLOSE", 5, &s), -1);
  assert_int_equal(ticket_status_parse("closed", 6, &s), -1);
  assert_int_equal(ticket_status_parse("CLOSED ", 7, &s), -1);
  assert_int_equal(ticket_status_parse("UNSPECIFIED", 11, &s), -1);
  assert_int_equal(ticket_status_parse("", 0, &s), -1);
  assert_int_equal(ticket_status_parse(NULL, 0, &s), -1);
  assert_int_equal(s, TICKET_PROCESSING);
  assert_int_equal(ticket_status_parse("CLOSEDX", 6, &s), 0); /* length-bounded */
  assert_int_equal(s, TICKET_CLOSED);
}

static void test_op_names_cover_every_op(void **state) {
  (void)state;
  for (unsigned op = 0; op < TICKET_OP_COUNT; op++) {
    assert_non_null(ticket_op_name((ticket_op)op));
    assert_string_not_equal(ticket_op_name((ticket_op)op), "UNKNOWN");
  }
  assert_string_equal(ticket_op_name(TICKET_OP_FINAL_ANSWER), "FINAL_ANSWER");
  assert_string_equal(ticket_op_name(TICKET_OP_COUNT), "UNKNOWN");
}

static void test_open_statuses_are_all_but_closed_cancelled_and_unspecified(void **state) {
  (void)state;
  assert_true(ticket_status_is_open(PR));
  assert_true(ticket_status_is_open(PROC));
  assert_true(ticket_status_is_open(PF));
  assert_true(ticket_status_is_open(FB));
  assert_true(ticket_status_is_open(TBC));
  assert_true(ticket_status_is_open(SUSP));
  assert_false(ticket_status_is_open(CLOSED));
  assert_false(ticket_status_is_open(CANC));
  assert_false(ticket_status_is_open(TICKET_STATUS_NONE));
}

static void test_enum_short_names_strip_the_prefix_and_parse_back(void **state) {
  (void)state;
  const ProtobufCEnumDescriptor *d = &helpdesk__v1__issue_type__descriptor;
  assert_string_equal(hd_pb_enum_name(d, HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_BACKUP_RESTORE),
                      "BACKUP_RESTORE");
  assert_string_equal(hd_pb_enum_name(&helpdesk__v1__category__descriptor, 3), "HARD");
  assert_string_equal(hd_pb_enum_name(d, 0), "UNSPECIFIED");
  assert_null(hd_pb_enum_name(d, 99));
  int v = -1;
  assert_int_equal(hd_pb_enum_parse(&helpdesk__v1__service_type__descriptor, "VPS", 3, &v), 0);
  assert_int_equal(v, HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_VPS);
  assert_int_equal(
      hd_pb_enum_parse(&helpdesk__v1__service_type__descriptor, "SERVICE_TYPE_VPS", 16, &v), -1);
  assert_int_equal(hd_pb_enum_parse(&helpdesk__v1__service_type__descriptor, "vps", 3, &v), -1);
  assert_int_equal(hd_pb_enum_parse(&helpdesk__v1__service_type__descriptor, "", 0, &v), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_listed_transition_is_allowed_and_leads_to_its_status),
      cmocka_unit_test(test_resume_returns_to_each_status_a_ticket_can_be_suspended_from),
      cmocka_unit_test(test_resume_without_a_valid_status_to_return_to_is_internal),
      cmocka_unit_test(test_restart_of_an_owned_ticket_goes_to_processing),
      cmocka_unit_test(test_restart_of_an_unowned_ticket_goes_back_to_pending_response),
      cmocka_unit_test(test_every_pair_not_listed_is_failed_precondition_naming_op_and_status),
      cmocka_unit_test(test_final_answer_on_a_closed_ticket_names_the_rpc_and_intent_sent),
      cmocka_unit_test(test_customer_reply_on_a_closed_ticket_tells_what_to_do_instead),
      cmocka_unit_test(test_timer_operations_are_worded_for_logs_not_for_a_caller),
      cmocka_unit_test(test_another_engineers_answer_moves_a_worked_ticket_to_feedback),
      cmocka_unit_test(test_worked_statuses_need_an_owner_and_the_rest_do_not),
      cmocka_unit_test(test_customer_reply_on_a_suspended_ticket_is_refused),
      cmocka_unit_test(test_follow_up_outside_pending_feedback_is_refused),
      cmocka_unit_test(test_auto_close_only_fires_in_to_be_confirmed),
      cmocka_unit_test(test_finished_tickets_accept_nothing_but_restart),
      cmocka_unit_test(test_restart_of_an_open_ticket_is_refused),
      cmocka_unit_test(test_suspend_twice_and_suspend_to_be_confirmed_are_refused),
      cmocka_unit_test(test_unspecified_status_allows_nothing),
      cmocka_unit_test(test_op_or_status_outside_the_enums_is_invalid_argument),
      cmocka_unit_test(test_status_names_round_trip_and_match_the_proto),
      cmocka_unit_test(test_status_parse_refuses_unknown_partial_and_unspecified_names),
      cmocka_unit_test(test_op_names_cover_every_op),
      cmocka_unit_test(test_open_statuses_are_all_but_closed_cancelled_and_unspecified),
      cmocka_unit_test(test_enum_short_names_strip_the_prefix_and_parse_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
