/* The ticket's status life cycle through real gRPC calls: ReplyToTicket, AddCustomerReply,
 * CloseTicket, CancelTicket, SuspendTicket, ResumeTicket, RestartTicket. Every operation from
 * every status against the transition table, who may do what, the limits of a reply, stale
 * versions, the timers a change arms or clears, the review link, and that a failed call writes
 * nothing. One service for the group; each test makes its own tickets.
 *
 * Tickets are opened with CreateTicket, given their owner with AssignTicket, merged with
 * MergeTickets and read back with GetTicket (ticket_fixture); the review link is set with
 * UpdateTenantSettings. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock/clock.h"
#include "ticket_call.h"
#include "ticket_fixture.h"
#include "ticket_state.h"

#define DAY_US       (24LL * 3600 * HD_US_PER_S)
#define INTENT(x)    HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_##x
#define PB_STATUS(x) HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_##x

/* ---- set-up through the RPCs ---- */

/* A new PENDING_RESPONSE ticket of cust-1 (opened by them), owned by owner (NULL: nobody). */
static int64_t new_ticket(tf *l, const char *owner) {
  const int64_t id = tf_create(l, l->customer, NULL, "Website down")->id;
  if (owner) tf_assign(l, id, owner);
  return id;
}

/* The ticket as it is now (GetTicket as the team lead). */
static Helpdesk__V1__Ticket *get(tf *l, int64_t id) { return tf_get(l, l->lead, id); }

/* ---- calls ---- */

static hd_code reply(tf *l, const char *token, int64_t id, Helpdesk__V1__ReplyIntent intent,
                     const char *body, bool resolved, int64_t expected,
                     Helpdesk__V1__ReplyToTicketResponse **out, hd_err *err) {
  Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
  req.ticket_id = id;
  req.intent = intent;
  req.body = (char *)body;
  req.resolved = resolved;
  req.expected_version = expected;
  return tf_call(l, "ReplyToTicket", token, &req.base,
                 &helpdesk__v1__reply_to_ticket_response__descriptor, out, err);
}

static Helpdesk__V1__ReplyToTicketResponse *must_reply(tf *l, const char *token, int64_t id,
                                                       Helpdesk__V1__ReplyIntent intent) {
  Helpdesk__V1__ReplyToTicketResponse *r = NULL;
  hd_err err;
  hd_code code = reply(l, token, id, intent, "Thank you for your patience.", false, 0, &r, &err);
  if (code != HD_OK) fail_msg("ReplyToTicket: %s: %s", hd_code_name(code), err.msg);
  return r;
}

static hd_code customer_reply(tf *l, const char *token, int64_t id, const char *body,
                              int64_t expected, Helpdesk__V1__AddCustomerReplyResponse **out,
                              hd_err *err) {
  Helpdesk__V1__AddCustomerReplyRequest req = HELPDESK__V1__ADD_CUSTOMER_REPLY_REQUEST__INIT;
  req.ticket_id = id;
  req.body = (char *)body;
  req.expected_version = expected;
  return tf_call(l, "AddCustomerReply", token, &req.base,
                 &helpdesk__v1__add_customer_reply_response__descriptor, out, err);
}

static Helpdesk__V1__AddCustomerReplyResponse *must_customer_reply(tf *l, int64_t id) {
  Helpdesk__V1__AddCustomerReplyResponse *r = NULL;
  hd_err err;
  hd_code code = customer_reply(l, l->customer, id, "Here is the log you asked for.", 0, &r, &err);
  if (code != HD_OK) fail_msg("AddCustomerReply: %s: %s", hd_code_name(code), err.msg);
  return r;
}

/* CloseTicket, CancelTicket, SuspendTicket, ResumeTicket or RestartTicket (same fields). */
static hd_code case_op(tf *l, const char *rpc, const char *token, int64_t id, int64_t expected,
                       Helpdesk__V1__Ticket **out, hd_err *err) {
  Helpdesk__V1__CloseTicketRequest close = HELPDESK__V1__CLOSE_TICKET_REQUEST__INIT;
  Helpdesk__V1__CancelTicketRequest cancel = HELPDESK__V1__CANCEL_TICKET_REQUEST__INIT;
  Helpdesk__V1__SuspendTicketRequest suspend = HELPDESK__V1__SUSPEND_TICKET_REQUEST__INIT;
  Helpdesk__V1__ResumeTicketRequest resume = HELPDESK__V1__RESUME_TICKET_REQUEST__INIT;
  Helpdesk__V1__RestartTicketRequest restart = HELPDESK__V1__RESTART_TICKET_REQUEST__INIT;
  const ProtobufCMessage *req = NULL;
#define CASE_OP_REQ(name, var)       \
  if (strcmp(rpc, name) == 0) {      \
    var.ticket_id = id;              \
    var.expected_version = expected; \
    req = &var.base;                 \
  }
  CASE_OP_REQ("CloseTicket", close)
  CASE_OP_REQ("CancelTicket", cancel)
  CASE_OP_REQ("SuspendTicket", suspend)
  CASE_OP_REQ("ResumeTicket", resume)
  CASE_OP_REQ("RestartTicket", restart)
#undef CASE_OP_REQ
  assert_non_null(req);
  return tf_call(l, rpc, token, req, &helpdesk__v1__ticket__descriptor, out, err);
}

static Helpdesk__V1__Ticket *must_op(tf *l, const char *rpc, const char *token, int64_t id) {
  Helpdesk__V1__Ticket *t = NULL;
  hd_err err;
  hd_code code = case_op(l, rpc, token, id, 0, &t, &err);
  if (code != HD_OK) fail_msg("%s: %s: %s", rpc, hd_code_name(code), err.msg);
  return t;
}

static void assert_contains(const char *s, const char *part) {
  if (!strstr(s, part)) fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

/* A ticket owned by agent-1 brought to status s through the RPCs under test. */
static int64_t ticket_in(tf *l, ticket_status s) {
  const int64_t id = new_ticket(l, "agent-1");
  const char *agent = l->agent;
  switch (s) {
    case TICKET_PROCESSING:
      must_reply(l, agent, id, INTENT(ACKNOWLEDGE));
      break;
    case TICKET_PENDING_FEEDBACK:
      must_reply(l, agent, id, INTENT(REQUEST_INFO));
      break;
    case TICKET_FEEDBACK:
      must_reply(l, agent, id, INTENT(REQUEST_INFO));
      must_customer_reply(l, id);
      break;
    case TICKET_TO_BE_CONFIRMED:
      must_reply(l, agent, id, INTENT(FINAL_ANSWER));
      break;
    case TICKET_CLOSED:
      must_op(l, "CloseTicket", agent, id);
      break;
    case TICKET_CANCELLED:
      must_op(l, "CancelTicket", agent, id);
      break;
    case TICKET_SUSPENDED:
      must_reply(l, agent, id, INTENT(ACKNOWLEDGE));
      must_op(l, "SuspendTicket", agent, id);
      break;
    default:
      break;
  }
  assert_int_equal(get(l, id)->status, ticket_status_to_pb(s));
  return id;
}

/* ---- the transition table through the RPCs ---- */

enum { BY_REPLY, BY_CUSTOMER, BY_CASE_OP };

typedef struct matrix_op {
  const char *name; /* what the caller sent, as a refusal names it */
  int by;
  Helpdesk__V1__ReplyIntent intent;
  const char *rpc;
  ticket_status to[TICKET_STATUS_COUNT]; /* by status the ticket is in; NONE = refused */
} matrix_op;

#define PR   TICKET_PENDING_RESPONSE
#define PROC TICKET_PROCESSING
#define PF   TICKET_PENDING_FEEDBACK
#define FB   TICKET_FEEDBACK
#define TBC  TICKET_TO_BE_CONFIRMED
#define CL   TICKET_CLOSED
#define SU   TICKET_SUSPENDED
#define CA   TICKET_CANCELLED

/* Written out from the issue and ticket_state.h, not computed from ticket_transition. */
static const matrix_op MATRIX[] = {
    {"ReplyToTicket with intent ACKNOWLEDGE",
     BY_REPLY,
     INTENT(ACKNOWLEDGE),
     NULL,
     {[PR] = PROC, [PROC] = PROC, [FB] = PROC}},
    {"ReplyToTicket with intent REQUEST_INFO",
     BY_REPLY,
     INTENT(REQUEST_INFO),
     NULL,
     {[PR] = PF, [PROC] = PF, [PF] = PF, [FB] = PF}},
    {"ReplyToTicket with intent PROPOSE_SOLUTION",
     BY_REPLY,
     INTENT(PROPOSE_SOLUTION),
     NULL,
     {[PR] = PF, [PROC] = PF, [PF] = PF, [FB] = PF}},
    {"ReplyToTicket with intent FOLLOW_UP", BY_REPLY, INTENT(FOLLOW_UP), NULL, {[PF] = PF}},
    {"ReplyToTicket with intent FINAL_ANSWER",
     BY_REPLY,
     INTENT(FINAL_ANSWER),
     NULL,
     {[PR] = TBC, [PROC] = TBC, [PF] = TBC, [FB] = TBC}},
    {"AddCustomerReply",
     BY_CUSTOMER,
     0,
     NULL,
     {[PR] = PR, [PROC] = FB, [PF] = FB, [FB] = FB, [TBC] = FB}},
    {"CloseTicket",
     BY_CASE_OP,
     0,
     "CloseTicket",
     {[PR] = CL, [PROC] = CL, [PF] = CL, [FB] = CL, [TBC] = CL, [SU] = CL}},
    {"CancelTicket",
     BY_CASE_OP,
     0,
     "CancelTicket",
     {[PR] = CA, [PROC] = CA, [PF] = CA, [FB] = CA, [TBC] = CA, [SU] = CA}},
    {"SuspendTicket",
     BY_CASE_OP,
     0,
     "SuspendTicket",
     {[PR] = SU, [PROC] = SU, [PF] = SU, [FB] = SU}},
    {"ResumeTicket", BY_CASE_OP, 0, "ResumeTicket", {[SU] = PROC}}, /* suspended from PROCESSING */
    {"RestartTicket", BY_CASE_OP, 0, "RestartTicket", {[CL] = PROC, [CA] = PROC}}, /* owned */
};

static void test_every_reply_and_case_operation_follows_the_transition_table(void **state) {
  tf *l = *state;
  static const ticket_status all[] = {PR, PROC, PF, FB, TBC, CL, SU, CA};
  int allowed = 0, refused = 0;
  for (size_t o = 0; o < sizeof MATRIX / sizeof MATRIX[0]; o++) {
    const matrix_op *m = &MATRIX[o];
    for (size_t s = 0; s < sizeof all / sizeof all[0]; s++) {
      const ticket_status from = all[s];
      const int64_t id = ticket_in(l, from);
      const int64_t version = get(l, id)->version;
      hd_err err;
      hd_code code;
      Helpdesk__V1__Ticket *after = NULL;
      if (m->by == BY_REPLY) {
        Helpdesk__V1__ReplyToTicketResponse *r = NULL;
        code = reply(l, l->agent, id, m->intent, "An update on your ticket.", false, version, &r,
                     &err);
        if (r) after = r->ticket;
      } else if (m->by == BY_CUSTOMER) {
        Helpdesk__V1__AddCustomerReplyResponse *r = NULL;
        code = customer_reply(l, l->customer, id, "Any news?", version, &r, &err);
        if (r) after = r->ticket;
      } else {
        code = case_op(l, m->rpc, l->agent, id, version, &after, &err);
      }
      const ticket_status want = m->to[from];
      if (want != TICKET_STATUS_NONE) {
        if (code != HD_OK)
          fail_msg("%s from %s: %s %s", m->name, ticket_status_name(from), hd_code_name(code),
                   err.msg);
        assert_int_equal(after->status, ticket_status_to_pb(want));
        assert_int_equal(after->version, version + 1);
        assert_int_equal(get(l, id)->status, ticket_status_to_pb(want));
        allowed++;
      } else {
        if (code != HD_FAILED_PRECONDITION)
          fail_msg("%s from %s: want FAILED_PRECONDITION, got %s %s", m->name,
                   ticket_status_name(from), hd_code_name(code), err.msg);
        char msg[128];
        snprintf(msg, sizeof msg, "%s is not possible on a ticket in status %s", m->name,
                 ticket_status_name(from));
        assert_contains(err.msg, msg);
        const Helpdesk__V1__Ticket *now = get(l, id);
        assert_int_equal(now->status, ticket_status_to_pb(from));
        assert_int_equal(now->version, version);
        refused++;
      }
    }
  }
  assert_int_equal(allowed, 40);
  assert_int_equal(refused, 48);
}

/* ---- ReplyToTicket ---- */

static void test_reply_is_stored_as_a_comment_with_history_and_a_replied_event(void **state) {
  tf *l = *state;
  const int64_t id = new_ticket(l, "agent-1");
  hd_err err;
  Helpdesk__V1__ReplyToTicketResponse *r = NULL;
  assert_int_equal(reply(l, l->agent, id, INTENT(ACKNOWLEDGE), "We are looking into it.", false,
                         1 + 1, &r, &err),
                   HD_OK);
  assert_int_equal(r->ticket->id, id);
  assert_int_equal(r->ticket->status, PB_STATUS(PROCESSING));
  assert_int_equal(r->ticket->version, 3);
  assert_non_null(r->comment);
  assert_true(r->comment->id > 0);
  assert_int_equal(r->comment->ticket_id, id);
  assert_string_equal(r->comment->author_id, "agent-1");
  assert_string_equal(r->comment->author_role, "agent");
  assert_string_equal(r->comment->body, "We are looking into it.");
  assert_int_equal(r->comment->create_time_us, tf_now(l));
  assert_string_equal(r->review_link, "");

  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM comments WHERE ticket_id = %" PRId64 " AND body "
                           "= 'We are looking into it.'",
                           id),
                   1);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'ACKNOWLEDGE' AND field = 'comment' AND to_value = '%" PRId64
                           "' AND actor_id = 'agent-1'",
                           id, r->comment->id),
                   1);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'ACKNOWLEDGE' AND field = 'status' AND from_value = "
                           "'PENDING_RESPONSE' AND to_value = 'PROCESSING'",
                           id),
                   1);
  const char *payload = tf_sqlf_str(l,
                                    "SELECT payload FROM outbox WHERE aggregate_id = %" PRId64
                                    " "
                                    "AND event_type = 'ticket.replied' ORDER BY id DESC LIMIT 1",
                                    id);
  assert_contains(payload, "\"intent\":\"ACKNOWLEDGE\"");
  char cid[64];
  snprintf(cid, sizeof cid, "\"comment_id\":%" PRId64, r->comment->id);
  assert_contains(payload, cid);
}

static void test_reply_checks_its_fields_before_touching_the_database(void **state) {
  tf *l = *state;
  const int64_t id = new_ticket(l, "agent-1");
  char *before = tf_fingerprint(l);
  hd_err err;
  const char *agent = l->agent;

  assert_int_equal(reply(l, agent, 0, INTENT(ACKNOWLEDGE), "hi", false, 0, NULL, &err),
                   HD_INVALID_ARGUMENT);
  assert_contains(err.msg, "ticket_id must be a positive id");
  assert_int_equal(reply(l, agent, id, 0, "hi", false, 0, NULL, &err), HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, "intent is required");
  assert_int_equal(reply(l, agent, id, (Helpdesk__V1__ReplyIntent)42, "hi", false, 0, NULL, &err),
                   HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, "intent has no value 42");
  assert_int_equal(reply(l, agent, id, INTENT(ACKNOWLEDGE), "", false, 0, NULL, &err),
                   HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, "body is required");
  assert_int_equal(
      reply(l, agent, id, INTENT(ACKNOWLEDGE), "bad \xc3\x28 bytes", false, 0, NULL, &err),
      HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, "body is not valid UTF-8");
  assert_int_equal(reply(l, agent, id, INTENT(ACKNOWLEDGE), "hi", false, -1, NULL, &err),
                   HD_INVALID_ARGUMENT);
  assert_contains(err.msg, "expected_version");
  static const Helpdesk__V1__ReplyIntent not_final[] = {
      INTENT(ACKNOWLEDGE), INTENT(REQUEST_INFO), INTENT(PROPOSE_SOLUTION), INTENT(FOLLOW_UP)};
  for (size_t i = 0; i < sizeof not_final / sizeof not_final[0]; i++) {
    assert_int_equal(reply(l, agent, id, not_final[i], "hi", true, 0, NULL, &err),
                     HD_INVALID_ARGUMENT);
    assert_contains(err.msg, "resolved may only be set with intent FINAL_ANSWER");
  }

  /* 20,001 two-byte characters: one past the limit, counted in characters. */
  const size_t max = 20000;
  char *body = malloc(2 * (max + 1) + 1);
  for (size_t i = 0; i < max + 1; i++) memcpy(body + 2 * i, "\xc3\xa9", 2);
  body[2 * (max + 1)] = '\0';
  assert_int_equal(reply(l, agent, id, INTENT(ACKNOWLEDGE), body, false, 0, NULL, &err),
                   HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, "body has 20001 characters; at most 20000 are allowed");

  tf_expect_unchanged(l, before);

  /* Exactly 20,000 (40,000 bytes) is accepted and comes back whole. */
  body[2 * max] = '\0';
  Helpdesk__V1__ReplyToTicketResponse *r = NULL;
  assert_int_equal(reply(l, agent, id, INTENT(ACKNOWLEDGE), body, false, 0, &r, &err), HD_OK);
  assert_string_equal(r->comment->body, body);
  assert_int_equal(reply(l, agent, id, INTENT(ACKNOWLEDGE), "x", false, 0, NULL, &err), HD_OK);
  free(body);
}

static void test_reply_is_for_the_owner_or_a_team_lead_or_supervisor(void **state) {
  tf *l = *state;
  const int64_t id = new_ticket(l, "agent-1");
  char *before = tf_fingerprint(l);
  hd_err err;
  const Helpdesk__V1__ReplyIntent ack = INTENT(ACKNOWLEDGE);

  assert_int_equal(reply(l, l->agent2, id, ack, "hi", false, 0, NULL, &err), HD_PERMISSION_DENIED);
  assert_contains(err.msg, "ReplyToTicket is for the ticket's owner or a team_lead or supervisor");
  assert_contains(err.msg, "is owned by agent-1");
  assert_int_equal(reply(l, l->customer, id, ack, "hi", false, 0, NULL, &err),
                   HD_PERMISSION_DENIED);
  assert_int_equal(reply(l, l->admin, id, ack, "hi", false, 0, NULL, &err), HD_PERMISSION_DENIED);
  assert_int_equal(reply(l, l->service, id, ack, "hi", false, 0, NULL, &err), HD_PERMISSION_DENIED);
  /* Another customer's ticket and another tenant's ticket do not exist for the caller. */
  assert_int_equal(reply(l, l->customer2, id, ack, "hi", false, 0, NULL, &err), HD_NOT_FOUND);
  assert_int_equal(reply(l, l->other_tenant, id, ack, "hi", false, 0, NULL, &err), HD_NOT_FOUND);
  assert_int_equal(reply(l, l->agent, 999999999, ack, "hi", false, 0, NULL, &err), HD_NOT_FOUND);
  assert_string_equal(err.msg, "ticket 999999999 not found");
  tf_expect_unchanged(l, before);

  /* Nobody owns it yet: an agent is told to have it assigned first. */
  const int64_t unowned = new_ticket(l, NULL);
  char *before2 = tf_fingerprint(l);
  assert_int_equal(reply(l, l->agent, unowned, ack, "hi", false, 0, NULL, &err),
                   HD_PERMISSION_DENIED);
  assert_contains(err.msg, "has no owner yet (assign it first)");
  tf_expect_unchanged(l, before2);

  Helpdesk__V1__ReplyToTicketResponse *r = NULL;
  assert_int_equal(reply(l, l->lead, id, ack, "A lead answers.", false, 0, &r, &err), HD_OK);
  assert_string_equal(r->comment->author_role, "team_lead");
  assert_int_equal(reply(l, l->supervisor, id, ack, "A supervisor answers.", false, 0, &r, &err),
                   HD_OK);
  assert_string_equal(r->comment->author_role, "supervisor");
  assert_int_equal(reply(l, l->agent, id, ack, "The owner answers.", false, 0, &r, &err), HD_OK);
  /* A lead may answer an unowned ticket only once it has an owner (see the owner rule below). */
  assert_int_equal(reply(l, l->lead, unowned, ack, "A lead answers.", false, 0, &r, &err),
                   HD_FAILED_PRECONDITION);
}

static void test_replies_arm_and_clear_the_follow_up_timer(void **state) {
  tf *l = *state;
  const tickets_config *cfg = hd_svc_env_of(l->f.svc)->app;
  const int64_t id = new_ticket(l, "agent-1");
  const char *a = l->agent;
  Helpdesk__V1__ReplyToTicketResponse *r = must_reply(l, a, id, INTENT(REQUEST_INFO));
  assert_int_equal(r->ticket->status, PB_STATUS(PENDING_FEEDBACK));
  assert_int_equal(r->ticket->due_time_us, tf_now(l) + cfg->follow_up_interval_us);
  assert_int_equal(cfg->follow_up_interval_us, DAY_US);

  hd_clock_advance(&l->f.clock, 3600 * HD_US_PER_S); /* well before anything is due */
  r = must_reply(l, a, id, INTENT(PROPOSE_SOLUTION));
  assert_int_equal(r->ticket->status, PB_STATUS(PENDING_FEEDBACK));
  assert_int_equal(r->ticket->due_time_us, tf_now(l) + DAY_US);
  assert_int_equal(r->ticket->follow_up_count, 0);

  must_customer_reply(l, id);
  r = must_reply(l, a, id, INTENT(ACKNOWLEDGE));
  assert_int_equal(r->ticket->status, PB_STATUS(PROCESSING));
  assert_int_equal(r->ticket->due_time_us, 0);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM tickets WHERE id = %" PRId64 " AND timer_kind IS "
                           "NULL AND timer_due_us IS NULL",
                           id),
                   1);
}

static void test_third_manual_follow_up_moves_to_to_be_confirmed_with_auto_close(void **state) {
  tf *l = *state;
  const int64_t id = new_ticket(l, "agent-1");
  const char *a = l->agent;
  must_reply(l, a, id, INTENT(REQUEST_INFO));
  Helpdesk__V1__ReplyToTicketResponse *r = must_reply(l, a, id, INTENT(FOLLOW_UP));
  assert_int_equal(r->ticket->status, PB_STATUS(PENDING_FEEDBACK));
  assert_int_equal(r->ticket->follow_up_count, 1);
  assert_int_equal(r->ticket->due_time_us, tf_now(l) + DAY_US);
  r = must_reply(l, a, id, INTENT(FOLLOW_UP));
  assert_int_equal(r->ticket->status, PB_STATUS(PENDING_FEEDBACK));
  assert_int_equal(r->ticket->follow_up_count, 2);
  r = must_reply(l, a, id, INTENT(FOLLOW_UP));
  assert_int_equal(r->ticket->status, PB_STATUS(TO_BE_CONFIRMED));
  assert_int_equal(r->ticket->follow_up_count, 3);
  assert_int_equal(r->ticket->due_time_us, tf_now(l) + 3 * DAY_US);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM tickets WHERE id = %" PRId64 " AND timer_kind = "
                           "'AUTO_CLOSE'",
                           id),
                   1);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'FOLLOW_UP_LAST' AND field = 'status' AND to_value = "
                           "'TO_BE_CONFIRMED'",
                           id),
                   1);

  /* A fourth is refused: the ticket no longer waits on the customer. */
  char *before = tf_fingerprint(l);
  hd_err err;
  assert_int_equal(reply(l, a, id, INTENT(FOLLOW_UP), "Still there?", false, 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg,
                      "ReplyToTicket with intent FOLLOW_UP is not possible on a ticket in status "
                      "TO_BE_CONFIRMED");
  tf_expect_unchanged(l, before);
}

static void test_final_answer_offers_the_review_link_only_when_resolved(void **state) {
  tf *l = *state;
  const char *a = l->agent;
  hd_err err;
  Helpdesk__V1__ReplyToTicketResponse *r = NULL;

  /* No link configured: nothing to offer, even resolved. */
  int64_t id = new_ticket(l, "agent-1");
  assert_int_equal(reply(l, a, id, INTENT(FINAL_ANSWER), "Fixed.", true, 0, &r, &err), HD_OK);
  assert_string_equal(r->review_link, "");
  assert_true(r->ticket->resolved);
  assert_int_equal(r->ticket->status, PB_STATUS(TO_BE_CONFIRMED));
  assert_int_equal(r->ticket->due_time_us, tf_now(l) + 3 * DAY_US);

  tf_put_settings(l, 0, "", "https://www.trustpilot.com/evaluate/acme.example");

  id = new_ticket(l, "agent-1");
  assert_int_equal(reply(l, a, id, INTENT(FINAL_ANSWER), "Fixed for good.", true, 0, &r, &err),
                   HD_OK);
  assert_string_equal(r->review_link, "https://www.trustpilot.com/evaluate/acme.example");
  assert_true(r->ticket->resolved);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "field = 'resolved' AND to_value = 'true'",
                           id),
                   1);

  /* A final answer that does not resolve the issue offers no link. */
  id = new_ticket(l, "agent-1");
  assert_int_equal(reply(l, a, id, INTENT(FINAL_ANSWER), "We cannot fix this.", false, 0, &r, &err),
                   HD_OK);
  assert_string_equal(r->review_link, "");
  assert_false(r->ticket->resolved);
  assert_int_equal(reply(l, a, id, INTENT(FINAL_ANSWER), "x", false, 0, &r, &err),
                   HD_FAILED_PRECONDITION);

  tf_put_settings(l, 0, "", ""); /* no link for the tests after this one */
}

/* ---- AddCustomerReply ---- */

static void test_customer_reply_moves_to_feedback_resets_follow_ups_and_stops_timers(void **state) {
  tf *l = *state;
  const int64_t id = new_ticket(l, "agent-1");
  must_reply(l, l->agent, id, INTENT(REQUEST_INFO));
  must_reply(l, l->agent, id, INTENT(FOLLOW_UP));
  must_reply(l, l->agent, id, INTENT(FOLLOW_UP));
  assert_int_equal(get(l, id)->follow_up_count, 2);

  hd_clock_advance(&l->f.clock, 5 * HD_US_PER_S);
  Helpdesk__V1__AddCustomerReplyResponse *r = must_customer_reply(l, id);
  assert_int_equal(r->ticket->status, PB_STATUS(FEEDBACK));
  assert_int_equal(r->ticket->follow_up_count, 0);
  assert_int_equal(r->ticket->due_time_us, 0);
  assert_string_equal(r->comment->author_id, "cust-1");
  assert_string_equal(r->comment->author_role, "customer");
  assert_string_equal(r->comment->body, "Here is the log you asked for.");
  assert_int_equal(tf_sqlf(l, "SELECT last_customer_reply_us FROM tickets WHERE id = %" PRId64, id),
                   tf_now(l));
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'CUSTOMER_REPLY' AND field = 'follow_up_count' AND "
                           "from_value = '2' AND to_value = '0'",
                           id),
                   1);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.customer_replied'",
                           id),
                   1);

  /* A customer's reply to a TO_BE_CONFIRMED ticket stops its auto-close. */
  must_reply(l, l->agent, id, INTENT(FINAL_ANSWER));
  assert_true(get(l, id)->due_time_us > 0);
  r = must_customer_reply(l, id);
  assert_int_equal(r->ticket->status, PB_STATUS(FEEDBACK));
  assert_int_equal(r->ticket->due_time_us, 0);

  /* Nobody picked the ticket up yet: it stays in the queue. */
  const int64_t fresh = new_ticket(l, NULL);
  r = must_customer_reply(l, fresh);
  assert_int_equal(r->ticket->status, PB_STATUS(PENDING_RESPONSE));
  assert_int_equal(r->ticket->version, 2);
}

static void test_customer_reply_is_for_the_ticket_customer_only(void **state) {
  tf *l = *state;
  const int64_t id = new_ticket(l, "agent-1");
  char *before = tf_fingerprint(l);
  hd_err err;
  const char *staff[] = {l->agent, l->lead, l->supervisor, l->admin, l->service};
  for (size_t i = 0; i < sizeof staff / sizeof staff[0]; i++) {
    assert_int_equal(customer_reply(l, staff[i], id, "hi", 0, NULL, &err), HD_PERMISSION_DENIED);
    assert_contains(err.msg, "only the ticket's customer");
  }
  assert_int_equal(customer_reply(l, l->customer2, id, "hi", 0, NULL, &err), HD_NOT_FOUND);
  assert_contains(err.msg, "not found");
  assert_int_equal(customer_reply(l, l->other_tenant, id, "hi", 0, NULL, &err), HD_NOT_FOUND);
  assert_int_equal(customer_reply(l, l->customer, id, "", 0, NULL, &err), HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, "body is required");
  assert_int_equal(customer_reply(l, l->customer, 0, "hi", 0, NULL, &err), HD_INVALID_ARGUMENT);
  tf_expect_unchanged(l, before);
}

static void test_customer_reply_to_a_closed_ticket_says_open_a_new_one(void **state) {
  tf *l = *state;
  const int64_t closed = ticket_in(l, TICKET_CLOSED);
  const int64_t cancelled = ticket_in(l, TICKET_CANCELLED);
  const int64_t suspended = ticket_in(l, TICKET_SUSPENDED);
  char *before = tf_fingerprint(l);
  hd_err err;
  assert_int_equal(customer_reply(l, l->customer, closed, "It broke again", 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg,
                      "AddCustomerReply is not possible on a ticket in status CLOSED: open a new "
                      "ticket, or ask for this one to be restarted");
  assert_int_equal(customer_reply(l, l->customer, cancelled, "Wait", 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_contains(err.msg, "status CANCELLED: open a new ticket");
  assert_int_equal(customer_reply(l, l->customer, suspended, "Hello?", 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg, "AddCustomerReply is not possible on a ticket in status SUSPENDED");
  tf_expect_unchanged(l, before);
}

/* ---- Close, Cancel ---- */

static void test_close_and_cancel_are_for_the_customer_the_owner_or_a_lead(void **state) {
  tf *l = *state;
  static const char *const rpcs[] = {"CloseTicket", "CancelTicket"};
  static const Helpdesk__V1__TicketStatus done[] = {PB_STATUS(CLOSED), PB_STATUS(CANCELLED)};
  for (size_t i = 0; i < 2; i++) {
    const int64_t id = new_ticket(l, "agent-1");
    char *before = tf_fingerprint(l);
    hd_err err;
    assert_int_equal(case_op(l, rpcs[i], l->agent2, id, 0, NULL, &err), HD_PERMISSION_DENIED);
    char want[160];
    snprintf(want, sizeof want,
             "%s is for the ticket's customer, its owner or a team_lead or supervisor; ticket "
             "%" PRId64 " is owned by agent-1",
             rpcs[i], id);
    assert_string_equal(err.msg, want);
    assert_int_equal(case_op(l, rpcs[i], l->admin, id, 0, NULL, &err), HD_PERMISSION_DENIED);
    assert_int_equal(case_op(l, rpcs[i], l->customer2, id, 0, NULL, &err), HD_NOT_FOUND);
    assert_int_equal(case_op(l, rpcs[i], l->other_tenant, id, 0, NULL, &err), HD_NOT_FOUND);
    assert_int_equal(case_op(l, rpcs[i], l->agent, 0, 0, NULL, &err), HD_INVALID_ARGUMENT);
    tf_expect_unchanged(l, before);

    /* The customer, the owner, a team lead and a supervisor may. */
    const char *who[] = {l->customer, l->agent, l->lead, l->supervisor};
    for (size_t w = 0; w < 4; w++) {
      const int64_t t = new_ticket(l, "agent-1");
      Helpdesk__V1__Ticket *out = NULL;
      assert_int_equal(case_op(l, rpcs[i], who[w], t, 0, &out, &err), HD_OK);
      assert_int_equal(out->status, done[i]);
      assert_int_equal(out->close_time_us, tf_now(l));
      assert_int_equal(out->version, 3);
    }
    /* An unowned ticket: the customer may, another agent may not. */
    const int64_t unowned = new_ticket(l, NULL);
    assert_int_equal(case_op(l, rpcs[i], l->agent, unowned, 0, NULL, &err), HD_PERMISSION_DENIED);
    assert_contains(err.msg, "has no owner yet");
    assert_int_equal(case_op(l, rpcs[i], l->customer, unowned, 0, NULL, &err), HD_OK);
  }
}

static void test_close_and_cancel_record_the_operation_and_stop_timers(void **state) {
  tf *l = *state;
  int64_t id = ticket_in(l, TICKET_TO_BE_CONFIRMED);
  assert_true(get(l, id)->due_time_us > 0);
  Helpdesk__V1__Ticket *t = must_op(l, "CloseTicket", l->customer, id);
  assert_int_equal(t->due_time_us, 0);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'CLOSE' AND field = 'status' AND from_value = "
                           "'TO_BE_CONFIRMED' AND to_value = 'CLOSED' AND actor_id = 'cust-1'",
                           id),
                   1);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.closed'",
                           id),
                   1);

  /* A suspended ticket that is cancelled forgets the status it was suspended from. */
  id = ticket_in(l, TICKET_SUSPENDED);
  assert_int_equal(get(l, id)->suspended_from, PB_STATUS(PROCESSING));
  t = must_op(l, "CancelTicket", l->lead, id);
  assert_int_equal(t->status, PB_STATUS(CANCELLED));
  assert_int_equal(t->suspended_from, PB_STATUS(UNSPECIFIED));
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.cancelled'",
                           id),
                   1);
}

/* ---- Suspend, Resume, Restart ---- */

static void test_suspend_resume_restart_are_for_the_owner_or_a_lead(void **state) {
  tf *l = *state;
  static const struct {
    const char *rpc;
    ticket_status from;
    Helpdesk__V1__TicketStatus to;
  } ops[] = {
      {"SuspendTicket", TICKET_PROCESSING, PB_STATUS(SUSPENDED)},
      {"ResumeTicket", TICKET_SUSPENDED, PB_STATUS(PROCESSING)},
      {"RestartTicket", TICKET_CLOSED, PB_STATUS(PROCESSING)},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    const int64_t id = ticket_in(l, ops[i].from);
    char *before = tf_fingerprint(l);
    hd_err err;
    const char *denied[] = {l->customer, l->agent2, l->admin, l->service};
    for (size_t d = 0; d < 4; d++) {
      assert_int_equal(case_op(l, ops[i].rpc, denied[d], id, 0, NULL, &err), HD_PERMISSION_DENIED);
      char want[96];
      snprintf(want, sizeof want, "%s is for the ticket's owner or a team_lead or supervisor",
               ops[i].rpc);
      assert_contains(err.msg, want);
    }
    assert_int_equal(case_op(l, ops[i].rpc, l->customer2, id, 0, NULL, &err), HD_NOT_FOUND);
    assert_int_equal(case_op(l, ops[i].rpc, l->other_tenant, id, 0, NULL, &err), HD_NOT_FOUND);
    tf_expect_unchanged(l, before);

    const char *allowed[] = {l->agent, l->lead, l->supervisor};
    for (size_t a = 0; a < 3; a++) {
      const int64_t t = a == 0 ? id : ticket_in(l, ops[i].from);
      Helpdesk__V1__Ticket *out = NULL;
      assert_int_equal(case_op(l, ops[i].rpc, allowed[a], t, 0, &out, &err), HD_OK);
      assert_int_equal(out->status, ops[i].to);
    }
  }
}

static void test_suspend_remembers_the_status_and_resume_returns_with_its_timer(void **state) {
  tf *l = *state;
  const int64_t id = new_ticket(l, "agent-1");
  must_reply(l, l->agent, id, INTENT(REQUEST_INFO));
  must_reply(l, l->agent, id, INTENT(FOLLOW_UP));
  Helpdesk__V1__Ticket *t = must_op(l, "SuspendTicket", l->agent, id);
  assert_int_equal(t->status, PB_STATUS(SUSPENDED));
  assert_int_equal(t->suspended_from, PB_STATUS(PENDING_FEEDBACK));
  assert_int_equal(t->due_time_us, 0); /* on hold: no follow-ups */
  assert_int_equal(t->follow_up_count, 1);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.suspended'",
                           id),
                   1);

  hd_clock_advance(&l->f.clock, 2 * 3600 * HD_US_PER_S);
  t = must_op(l, "ResumeTicket", l->lead, id);
  assert_int_equal(t->status, PB_STATUS(PENDING_FEEDBACK));
  assert_int_equal(t->suspended_from, PB_STATUS(UNSPECIFIED));
  assert_int_equal(t->follow_up_count, 1);
  assert_int_equal(t->due_time_us, tf_now(l) + DAY_US); /* the wait starts again */
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'RESUME' AND field = 'suspended_from' AND from_value = "
                           "'PENDING_FEEDBACK' AND to_value = ''",
                           id),
                   1);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.resumed'",
                           id),
                   1);

  /* Back to FEEDBACK: no timer there. */
  const int64_t fb = ticket_in(l, TICKET_FEEDBACK);
  must_op(l, "SuspendTicket", l->agent, fb);
  t = must_op(l, "ResumeTicket", l->agent, fb);
  assert_int_equal(t->status, PB_STATUS(FEEDBACK));
  assert_int_equal(t->due_time_us, 0);
}

static void test_restart_reopens_and_resets_follow_ups_and_resolved(void **state) {
  tf *l = *state;
  const int64_t id = new_ticket(l, "agent-1");
  must_reply(l, l->agent, id, INTENT(REQUEST_INFO));
  must_reply(l, l->agent, id, INTENT(FOLLOW_UP));
  hd_err err;
  assert_int_equal(reply(l, l->agent, id, INTENT(FINAL_ANSWER), "Done.", true, 0, NULL, &err),
                   HD_OK);
  must_op(l, "CloseTicket", l->customer, id);
  Helpdesk__V1__Ticket *t = get(l, id);
  assert_true(t->resolved);
  assert_int_equal(t->follow_up_count, 1);
  assert_true(t->close_time_us > 0);

  t = must_op(l, "RestartTicket", l->agent, id);
  assert_int_equal(t->status, PB_STATUS(PROCESSING));
  assert_false(t->resolved);
  assert_int_equal(t->follow_up_count, 0);
  assert_int_equal(t->close_time_us, 0);
  assert_int_equal(t->due_time_us, 0);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.restarted'",
                           id),
                   1);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'RESTART' AND field = 'status' AND from_value = 'CLOSED' AND "
                           "to_value = 'PROCESSING'",
                           id),
                   1);

  /* Without an owner it goes back to the queue; a lead may restart it. */
  const int64_t unowned = new_ticket(l, NULL);
  must_op(l, "CancelTicket", l->customer, unowned);
  t = must_op(l, "RestartTicket", l->lead, unowned);
  assert_int_equal(t->status, PB_STATUS(PENDING_RESPONSE));
}

static void test_restart_of_a_merged_ticket_points_to_its_target(void **state) {
  tf *l = *state;
  const int64_t target = new_ticket(l, "agent-1");
  const int64_t source = new_ticket(l, "agent-1");
  Helpdesk__V1__MergeTicketsRequest merge = HELPDESK__V1__MERGE_TICKETS_REQUEST__INIT;
  merge.target_ticket_id = target;
  merge.source_ticket_ids = (int64_t[]){source};
  merge.n_source_ticket_ids = 1;
  TF_OK(l, tf_call(l, "MergeTickets", l->lead, &merge.base, &helpdesk__v1__ticket__descriptor, NULL,
                   NULL));
  char *before = tf_fingerprint(l);
  hd_err err;
  assert_int_equal(case_op(l, "RestartTicket", l->lead, source, 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  char want[128];
  snprintf(want, sizeof want,
           "ticket %" PRId64 " was merged into ticket %" PRId64 "; work on ticket %" PRId64, source,
           target, target);
  assert_string_equal(err.msg, want);
  tf_expect_unchanged(l, before);
}

/* ---- every RPC: stale versions and forbidden changes write nothing ---- */

static void test_stale_expected_version_is_aborted_and_writes_nothing(void **state) {
  tf *l = *state;
  static const struct {
    const char *rpc; /* NULL: ReplyToTicket; "customer": AddCustomerReply */
    ticket_status from;
  } calls[] = {{NULL, TICKET_PROCESSING},
               {"customer", TICKET_PENDING_FEEDBACK},
               {"CloseTicket", TICKET_PROCESSING},
               {"CancelTicket", TICKET_PROCESSING},
               {"SuspendTicket", TICKET_PROCESSING},
               {"ResumeTicket", TICKET_SUSPENDED},
               {"RestartTicket", TICKET_CLOSED}};
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    const int64_t id = ticket_in(l, calls[i].from);
    const int64_t version = get(l, id)->version;
    char *before = tf_fingerprint(l);
    hd_err err;
    hd_code code;
    for (int attempt = 0; attempt < 2; attempt++) {
      const int64_t sent = attempt == 0 ? version - 1 : version + 1;
      if (!calls[i].rpc)
        code = reply(l, l->agent, id, INTENT(FINAL_ANSWER), "Done.", false, sent, NULL, &err);
      else if (strcmp(calls[i].rpc, "customer") == 0)
        code = customer_reply(l, l->customer, id, "Here you go.", sent, NULL, &err);
      else
        code = case_op(l, calls[i].rpc, l->agent, id, sent, NULL, &err);
      assert_int_equal(code, HD_ABORTED);
      char want[128];
      snprintf(want, sizeof want,
               "ticket %" PRId64 " was changed by someone else: version is now %" PRId64
               ", you sent %" PRId64,
               id, version, sent);
      assert_string_equal(err.msg, want);
    }
    tf_expect_unchanged(l, before);

    /* The version read is accepted. */
    if (!calls[i].rpc)
      code = reply(l, l->agent, id, INTENT(FINAL_ANSWER), "Done.", false, version, NULL, &err);
    else if (strcmp(calls[i].rpc, "customer") == 0)
      code = customer_reply(l, l->customer, id, "Here you go.", version, NULL, &err);
    else
      code = case_op(l, calls[i].rpc, l->agent, id, version, NULL, &err);
    assert_int_equal(code, HD_OK);
    assert_int_equal(get(l, id)->version, version + 1);
  }
}

static void test_forbidden_changes_name_status_and_operation_and_write_nothing(void **state) {
  tf *l = *state;
  const int64_t closed = ticket_in(l, TICKET_CLOSED);
  const int64_t processing = ticket_in(l, TICKET_PROCESSING);
  const int64_t tbc = ticket_in(l, TICKET_TO_BE_CONFIRMED);
  const int64_t cancelled = ticket_in(l, TICKET_CANCELLED);
  char *before = tf_fingerprint(l);
  hd_err err;
  assert_int_equal(reply(l, l->agent, closed, INTENT(FINAL_ANSWER), "Done.", true, 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg,
                      "ReplyToTicket with intent FINAL_ANSWER is not possible on a ticket in "
                      "status CLOSED");
  assert_int_equal(case_op(l, "ResumeTicket", l->agent, processing, 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg, "ResumeTicket is not possible on a ticket in status PROCESSING");
  assert_int_equal(case_op(l, "SuspendTicket", l->agent, tbc, 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg,
                      "SuspendTicket is not possible on a ticket in status TO_BE_CONFIRMED");
  assert_int_equal(case_op(l, "RestartTicket", l->agent, processing, 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg, "RestartTicket is not possible on a ticket in status PROCESSING");
  assert_int_equal(case_op(l, "CloseTicket", l->customer, cancelled, 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg, "CloseTicket is not possible on a ticket in status CANCELLED");
  assert_int_equal(
      reply(l, l->agent, processing, INTENT(FOLLOW_UP), "Hello?", false, 0, NULL, &err),
      HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg,
                      "ReplyToTicket with intent FOLLOW_UP is not possible on a ticket in status "
                      "PROCESSING");
  assert_int_equal(customer_reply(l, l->customer, closed, "Again", 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_contains(err.msg, "open a new ticket");
  tf_expect_unchanged(l, before);
}

/* ---- another engineer's answer (the seed's FEEDBACK) ---- */

static void test_a_lead_answering_someone_elses_ticket_moves_it_to_feedback_for_the_owner(
    void **state) {
  tf *l = *state;
  /* Waiting on the customer with a follow-up armed and one already sent. */
  const int64_t id = new_ticket(l, "agent-1");
  must_reply(l, l->agent, id, INTENT(REQUEST_INFO));
  must_reply(l, l->agent, id, INTENT(FOLLOW_UP));
  assert_true(get(l, id)->due_time_us > 0);
  Helpdesk__V1__ReplyToTicketResponse *r = NULL;
  hd_err err;
  assert_int_equal(reply(l, l->lead, id, INTENT(PROPOSE_SOLUTION), "Try the new DNS record.", false,
                         0, &r, &err),
                   HD_OK);
  assert_int_equal(r->ticket->status, PB_STATUS(FEEDBACK));
  assert_string_equal(r->ticket->owner_id, "agent-1");
  assert_int_equal(r->ticket->due_time_us, 0);
  assert_int_equal(r->ticket->follow_up_count, 0);
  assert_string_equal(r->comment->author_id, "lead-1");
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM tickets WHERE id = %" PRId64 " AND timer_kind IS "
                           "NULL AND timer_due_us IS NULL",
                           id),
                   1);
  assert_int_equal(tf_sqlf(l,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'OTHER_ANSWER' AND field = 'status' AND from_value = "
                           "'PENDING_FEEDBACK' AND to_value = 'FEEDBACK' AND actor_id = 'lead-1'",
                           id),
                   1);
  const char *payload = tf_sqlf_str(l,
                                    "SELECT payload FROM outbox WHERE aggregate_id = %" PRId64
                                    " AND event_type = 'ticket.replied' ORDER BY id DESC LIMIT 1",
                                    id);
  assert_contains(payload, "\"intent\":\"PROPOSE_SOLUTION\"");

  /* PROCESSING and TO_BE_CONFIRMED (its auto-close stops) likewise; any intent. */
  const int64_t proc = ticket_in(l, TICKET_PROCESSING);
  r = must_reply(l, l->supervisor, proc, INTENT(ACKNOWLEDGE));
  assert_int_equal(r->ticket->status, PB_STATUS(FEEDBACK));
  const int64_t tbc = ticket_in(l, TICKET_TO_BE_CONFIRMED);
  assert_true(get(l, tbc)->due_time_us > 0);
  r = must_reply(l, l->lead, tbc, INTENT(FINAL_ANSWER));
  assert_int_equal(r->ticket->status, PB_STATUS(FEEDBACK));
  assert_int_equal(r->ticket->due_time_us, 0);

  /* The owner's own reply still follows its intent. */
  r = must_reply(l, l->agent, id, INTENT(ACKNOWLEDGE));
  assert_int_equal(r->ticket->status, PB_STATUS(PROCESSING));

  /* Resolving is the owner's: refused, nothing written. */
  char *before = tf_fingerprint(l);
  assert_int_equal(reply(l, l->lead, id, INTENT(FINAL_ANSWER), "Fixed.", true, 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_contains(err.msg, "resolved is for the ticket's owner (agent-1)");
  tf_expect_unchanged(l, before);
}

/* ---- the owner rule: PROCESSING and the statuses after it always have an owner ---- */

static void test_acknowledging_an_unowned_ticket_is_refused_until_it_is_assigned(void **state) {
  tf *l = *state;
  const int64_t id = new_ticket(l, NULL);
  char *before = tf_fingerprint(l);
  hd_err err;
  static const Helpdesk__V1__ReplyIntent intents[] = {
      INTENT(ACKNOWLEDGE), INTENT(REQUEST_INFO), INTENT(PROPOSE_SOLUTION), INTENT(FINAL_ANSWER)};
  static const char *const to[] = {"PROCESSING", "PENDING_FEEDBACK", "PENDING_FEEDBACK",
                                   "TO_BE_CONFIRMED"};
  const char *leads[] = {l->lead, l->supervisor};
  for (size_t w = 0; w < 2; w++) {
    for (size_t i = 0; i < sizeof intents / sizeof intents[0]; i++) {
      assert_int_equal(reply(l, leads[w], id, intents[i], "On it.", false, 0, NULL, &err),
                       HD_FAILED_PRECONDITION);
      char want[160];
      snprintf(want, sizeof want,
               "ticket %" PRId64
               " has no owner, and a ticket in status %s must have one: "
               "assign it first (AssignTicket)",
               id, to[i]);
      assert_string_equal(err.msg, want);
    }
  }
  tf_expect_unchanged(l, before); /* no comment, no history, no event, still in the queue */
  const Helpdesk__V1__Ticket *t = get(l, id);
  assert_int_equal(t->status, PB_STATUS(PENDING_RESPONSE));
  assert_string_equal(t->owner_id, "");

  /* Assigned to the lead, the same acknowledgement works: PROCESSING with its owner. */
  tf_assign(l, id, "lead-1");
  Helpdesk__V1__ReplyToTicketResponse *r = must_reply(l, l->lead, id, INTENT(ACKNOWLEDGE));
  assert_int_equal(r->ticket->status, PB_STATUS(PROCESSING));
  assert_string_equal(r->ticket->owner_id, "lead-1");
}

typedef struct forced_change {
  const char *tenant;
  int64_t id;
  ticket_change ch;
  int64_t now;
} forced_change;

static int forced_change__tx(hd_db *db, void *arg, hd_err *err) {
  const forced_change *x = arg;
  const ticket_actor sup = {.user_id = "sup-1", .role = "supervisor"};
  return ticket_store_update(db, x->tenant, x->id, 0, &x->ch, x->now, &sup, NULL, NULL, err);
}

static void test_no_change_can_write_a_worked_status_without_an_owner(void **state) {
  tf *l = *state;
  /* The store itself refuses it, whichever operation asks: every owned status, by any action. */
  const int64_t id = new_ticket(l, NULL);
  char *before = tf_fingerprint(l);
  static const ticket_status owned[] = {PROC, PF, FB, TBC};
  hd_db *db = tf_db_open(l);
  for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
    forced_change x = {.tenant = "acme",
                       .id = id,
                       .ch = {.action = "SOME_FUTURE_OP", .status = owned[i]},
                       .now = tf_now(l)};
    hd_err err = {0};
    assert_int_equal(hd_db_tx(db, forced_change__tx, &x, 0, &err), -1);
    assert_int_equal(err.code, HD_FAILED_PRECONDITION);
    assert_non_null(strstr(err.msg, "has no owner"));
    assert_non_null(strstr(err.msg, ticket_status_name(owned[i])));
  }
  tf_expect_unchanged(l, before);

  /* Restart of an unowned ticket goes back to the queue; resume returns where it was. */
  must_op(l, "CancelTicket", l->customer, id);
  Helpdesk__V1__Ticket *t = must_op(l, "RestartTicket", l->lead, id);
  assert_int_equal(t->status, PB_STATUS(PENDING_RESPONSE));
  t = must_op(l, "SuspendTicket", l->lead, id);
  t = must_op(l, "ResumeTicket", l->lead, id);
  assert_int_equal(t->status, PB_STATUS(PENDING_RESPONSE));

  /* A change that names neither status nor owner leaves an owned row alone (no check needed). */
  const int64_t owned_id = ticket_in(l, TICKET_PROCESSING);
  forced_change x = {.tenant = "acme", .id = owned_id, .ch = {.action = "TOUCH"}, .now = tf_now(l)};
  hd_err err = {0};
  assert_int_equal(hd_db_tx(db, forced_change__tx, &x, 0, &err), 0);
  hd_db_close(db);
}

/* ---- messages name what the caller sent ---- */

static void test_refusals_name_the_rpc_and_intent_sent_never_an_internal_operation(void **state) {
  tf *l = *state;
  /* The configured last follow-up is FOLLOW_UP_LAST inside; the caller sent intent FOLLOW_UP. */
  const int64_t pf = ticket_in(l, TICKET_PENDING_FEEDBACK);
  must_reply(l, l->agent, pf, INTENT(FOLLOW_UP));
  must_reply(l, l->agent, pf, INTENT(FOLLOW_UP));
  must_reply(l, l->agent, pf, INTENT(FOLLOW_UP));
  const int64_t closed = ticket_in(l, TICKET_CLOSED);
  hd_err err;
  assert_int_equal(reply(l, l->agent, pf, INTENT(FOLLOW_UP), "Hello?", false, 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg,
                      "ReplyToTicket with intent FOLLOW_UP is not possible on a ticket in status "
                      "TO_BE_CONFIRMED");
  assert_int_equal(customer_reply(l, l->customer, closed, "Again", 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg,
                      "AddCustomerReply is not possible on a ticket in status CLOSED: open a new "
                      "ticket, or ask for this one to be restarted");
  assert_int_equal(case_op(l, "SuspendTicket", l->agent, closed, 0, NULL, &err),
                   HD_FAILED_PRECONDITION);
  assert_string_equal(err.msg, "SuspendTicket is not possible on a ticket in status CLOSED");
  static const char *const internal[] = {"FOLLOW_UP_LAST", "CUSTOMER_REPLY", "cannot "};
  for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++)
    assert_null(strstr(err.msg, internal[i]));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_reply_and_case_operation_follows_the_transition_table),
      cmocka_unit_test(test_reply_is_stored_as_a_comment_with_history_and_a_replied_event),
      cmocka_unit_test(test_reply_checks_its_fields_before_touching_the_database),
      cmocka_unit_test(test_reply_is_for_the_owner_or_a_team_lead_or_supervisor),
      cmocka_unit_test(test_replies_arm_and_clear_the_follow_up_timer),
      cmocka_unit_test(test_third_manual_follow_up_moves_to_to_be_confirmed_with_auto_close),
      cmocka_unit_test(test_final_answer_offers_the_review_link_only_when_resolved),
      cmocka_unit_test(test_customer_reply_moves_to_feedback_resets_follow_ups_and_stops_timers),
      cmocka_unit_test(test_customer_reply_is_for_the_ticket_customer_only),
      cmocka_unit_test(test_customer_reply_to_a_closed_ticket_says_open_a_new_one),
      cmocka_unit_test(test_close_and_cancel_are_for_the_customer_the_owner_or_a_lead),
      cmocka_unit_test(test_close_and_cancel_record_the_operation_and_stop_timers),
      cmocka_unit_test(test_suspend_resume_restart_are_for_the_owner_or_a_lead),
      cmocka_unit_test(test_suspend_remembers_the_status_and_resume_returns_with_its_timer),
      cmocka_unit_test(test_restart_reopens_and_resets_follow_ups_and_resolved),
      cmocka_unit_test(test_restart_of_a_merged_ticket_points_to_its_target),
      cmocka_unit_test(test_stale_expected_version_is_aborted_and_writes_nothing),
      cmocka_unit_test(test_forbidden_changes_name_status_and_operation_and_write_nothing),
      cmocka_unit_test(
          test_a_lead_answering_someone_elses_ticket_moves_it_to_feedback_for_the_owner),
      cmocka_unit_test(test_acknowledging_an_unowned_ticket_is_refused_until_it_is_assigned),
      cmocka_unit_test(test_no_change_can_write_a_worked_status_without_an_owner),
      cmocka_unit_test(test_refusals_name_the_rpc_and_intent_sent_never_an_internal_operation),
  };
  /* These tests check the status rules, not the account verification: replies go out without
   * one (test_tickets_verify.c checks that rule). */
  return cmocka_run_group_tests(tests, tf_setup_verification_optional, tf_teardown);
}
