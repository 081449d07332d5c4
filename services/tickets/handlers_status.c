/* Replies and the status-changing case operations: ReplyToTicket, AddCustomerReply, Close,
 * Cancel, Suspend, Resume and Restart. Each asks ticket_transition() for the status (telling it
 * what the caller sent, for the message of a refusal), sets or clears the ticket's durable timer
 * in the same transaction, and schedules its Redis wake-up after the commit. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "account_verification.h"
#include "rpc/pb_enum.h"
#include "tenant_settings.h"
#include "ticket_call.h"
#include "ticket_handlers.h"
#include "ticket_records.h"

#define STATUS_LEADS (HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR)

/* ---- shared checks ---- */

/* ABORTED when the caller's expected_version is stale. Checked right after the ticket is locked,
 * so a caller who saw an older ticket is told so before anything is judged on the newer one
 * (ticket_store_update checks it again). */
static int status__check_version(const Helpdesk__V1__Ticket *t, int64_t expected, hd_err *err) {
  return hd_call_check_current("ticket", t->id, t->version, expected, err);
}

/* The caller is the ticket's customer. */
static bool status__is_customer_of(const hd_principal *p, const Helpdesk__V1__Ticket *t) {
  return (p->roles & HD_ROLE_CUSTOMER) && strcmp(t->customer_id, p->user_id) == 0;
}

/* Close and Cancel: the ticket's customer, its owner, or a team_lead / supervisor. */
static int status__require_customer_owner_or_lead(hd_call *c, const Helpdesk__V1__Ticket *t,
                                                  const char *what, hd_err *err) {
  if (status__is_customer_of(c->principal, t) || tk_is_owner(c->principal, t) ||
      (c->principal->roles & STATUS_LEADS))
    return 0;
  if (t->owner_id && t->owner_id[0])
    return hd_err_set(err, HD_PERMISSION_DENIED,
                      "%s is for the ticket's customer, its owner or a team_lead or supervisor; "
                      "ticket %" PRId64 " is owned by %s",
                      what, t->id, t->owner_id);
  return hd_err_set(err, HD_PERMISSION_DENIED,
                    "%s is for the ticket's customer, its owner or a team_lead or supervisor; "
                    "ticket %" PRId64 " has no owner yet",
                    what, t->id);
}

/* The timer a ticket resuming to (or entering) status waits on, armed at now: FOLLOW_UP for
 * PENDING_FEEDBACK, AUTO_CLOSE for TO_BE_CONFIRMED, none otherwise. */
static ticket_timer status__timer_for(const tickets_config *cfg, ticket_status s, int64_t now) {
  if (s == TICKET_PENDING_FEEDBACK)
    return TICKET_TIMER_SET(TICKET_TIMER_FOLLOW_UP, now + cfg->follow_up_interval_us);
  if (s == TICKET_TO_BE_CONFIRMED)
    return TICKET_TIMER_SET(TICKET_TIMER_AUTO_CLOSE, now + cfg->auto_close_after_us);
  return TICKET_TIMER_CLEAR;
}

/* After the commit: schedules the wake-up of a timer the change armed. */
static void status__wake(hd_call *c, int64_t ticket_id, const ticket_timer *timer) {
  if (timer->set && timer->kind != TICKET_TIMER_NONE) tk_timer_wake(c, ticket_id, timer->due_us);
}

/* ---- ReplyToTicket ---- */

typedef struct reply_ctx {
  hd_call *call;
  const Helpdesk__V1__ReplyToTicketRequest *req;
  /* outputs, reset by each run of the body */
  Helpdesk__V1__Ticket *ticket;
  Helpdesk__V1__Comment *comment;
  const char *review_link;
  ticket_timer timer;
} reply_ctx;

/* The operation a reply makes: OTHER_ANSWER when the ticket has an owner and the caller is not
 * it (a team lead or supervisor answering for them: the owner is asked to act); otherwise by its
 * intent and the follow-ups already sent. */
static ticket_op reply__op(const hd_principal *p, const Helpdesk__V1__Ticket *t,
                           Helpdesk__V1__ReplyIntent intent, int64_t follow_ups) {
  if (tk_is_other_engineer(p, t)) return TICKET_OP_OTHER_ANSWER;
  switch (intent) {
    case HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_ACKNOWLEDGE:
      return TICKET_OP_ACKNOWLEDGE;
    case HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_REQUEST_INFO:
      return TICKET_OP_REQUEST_INFO;
    case HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_PROPOSE_SOLUTION:
      return TICKET_OP_PROPOSE_SOLUTION;
    case HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_FOLLOW_UP:
      return t->follow_up_count + 1 >= follow_ups ? TICKET_OP_FOLLOW_UP_LAST : TICKET_OP_FOLLOW_UP;
    case HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_FINAL_ANSWER:
    default: /* checked by hd_call_check_enum before */
      return TICKET_OP_FINAL_ANSWER;
  }
}

static int reply__tx(hd_db *db, void *arg, hd_err *err) {
  reply_ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__ReplyToTicketRequest *req = x->req;
  const tickets_config *cfg = tk_config(c);
  x->ticket = NULL;
  x->comment = NULL;
  x->review_link = "";
  x->timer = (ticket_timer){0};

  Helpdesk__V1__Ticket *t = NULL;
  ticket_meta meta;
  if (tk_ticket_load(c, db, req->ticket_id, true, &t, &meta, err) ||
      tk_require_owner_or(c, t, STATUS_LEADS, "ReplyToTicket", err) ||
      status__check_version(t, req->expected_version, err))
    return -1;
  const ticket_op op = reply__op(c->principal, t, req->intent, cfg->follow_ups);
  const char *intent = hd_pb_enum_name(&helpdesk__v1__reply_intent__descriptor, (int)req->intent);
  if (op == TICKET_OP_OTHER_ANSWER && req->resolved)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "resolved is for the ticket's owner (%s) to set: a reply by anyone else "
                      "moves ticket %" PRId64 " to FEEDBACK for them; send it without resolved",
                      t->owner_id, t->id);
  char request[64];
  snprintf(request, sizeof request, "ReplyToTicket with intent %s", intent);
  ticket_status to;
  if (ticket_transition(op, ticket_status_from_pb(t->status),
                        &(const ticket_facts){.request = request}, &to, err))
    return -1;
  /* The owner's answers other than ACKNOWLEDGE wait for the customer's account and service to be
   * verified (account_verification.h); another engineer's answer goes back to the owner. */
  Helpdesk__V1__TenantSettings *settings = NULL;
  if (op != TICKET_OP_ACKNOWLEDGE && op != TICKET_OP_OTHER_ANSWER &&
      account_verification_gate(db, tk_tenant(c), t->id, request, c->arena, &settings, err))
    return -1;

  const int64_t now = tk_now(c);
  const ticket_actor actor = tk_actor(c);
  const char *action = ticket_op_name(op);
  if (ticket_comment_insert(db, tk_tenant(c), t->id, &actor, req->body, now, c->arena, &x->comment,
                            err))
    return -1;
  char comment_id[24];
  snprintf(comment_id, sizeof comment_id, "%" PRId64, x->comment->id);
  ticket_change ch = {.action = action,
                      .event_type = TICKET_EVENT_REPLIED,
                      .status = to,
                      .note_field = "comment",
                      .note_value = comment_id};
  switch (op) {
    case TICKET_OP_ACKNOWLEDGE:
      ch.timer = TICKET_TIMER_CLEAR;
      break;
    case TICKET_OP_REQUEST_INFO:
    case TICKET_OP_PROPOSE_SOLUTION:
      ch.timer = status__timer_for(cfg, TICKET_PENDING_FEEDBACK, now);
      break;
    case TICKET_OP_FOLLOW_UP:
    case TICKET_OP_FOLLOW_UP_LAST:
      ch.follow_up_count = TICKET_SET(t->follow_up_count + 1);
      ch.timer = status__timer_for(cfg, to, now);
      break;
    case TICKET_OP_OTHER_ANSWER: /* the owner acts next: no follow-ups, no auto-close */
      ch.follow_up_count = TICKET_SET(0);
      ch.timer = TICKET_TIMER_CLEAR;
      break;
    default: /* FINAL_ANSWER */
      ch.resolved = TICKET_SET(req->resolved ? 1 : 0);
      ch.timer = status__timer_for(cfg, to, now);
      break;
  }
  const ticket_event_field ev[] = {TICKET_EV_STR("intent", intent),
                                   TICKET_EV_INT("comment_id", x->comment->id)};
  ch.event_fields = ev;
  ch.n_event_fields = sizeof ev / sizeof ev[0];
  if (ticket_store_update_locked(
          db, tk_tenant(c), &(const ticket_locked){.ticket = t, .meta = meta},
          req->expected_version, &ch, now, &actor, c->arena, &x->ticket, err))
    return -1;
  x->timer = ch.timer;

  if (op == TICKET_OP_FINAL_ANSWER && req->resolved) {
    /* read once by the verification gate, which every FINAL_ANSWER passes */
    if (!settings && tenant_settings_get(db, tk_tenant(c), c->arena, &settings, err)) return -1;
    if (settings->review_link && settings->review_link[0]) x->review_link = settings->review_link;
  }
  return 0;
}

int tickets_reply_to_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ReplyToTicketRequest *rq = (const Helpdesk__V1__ReplyToTicketRequest *)req;
  Helpdesk__V1__ReplyToTicketResponse *out = (Helpdesk__V1__ReplyToTicketResponse *)resp;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_enum(call, "intent", &helpdesk__v1__reply_intent__descriptor, (int)rq->intent,
                         false) ||
      hd_call_check_text(call, "body", rq->body, 1, TICKET_TEXT_MAX))
    return -1;
  if (rq->resolved && rq->intent != HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_FINAL_ANSWER)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "resolved may only be set with intent FINAL_ANSWER, not %s",
                      hd_pb_enum_name(&helpdesk__v1__reply_intent__descriptor, (int)rq->intent));
  reply_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, reply__tx, &x)) return -1;
  status__wake(call, rq->ticket_id, &x.timer);
  out->ticket = x.ticket;
  out->comment = x.comment;
  out->review_link = (char *)x.review_link;
  return 0;
}

/* ---- AddCustomerReply ---- */

typedef struct customer_reply_ctx {
  hd_call *call;
  const Helpdesk__V1__AddCustomerReplyRequest *req;
  Helpdesk__V1__Ticket *ticket;
  Helpdesk__V1__Comment *comment;
} customer_reply_ctx;

static int customer_reply__tx(hd_db *db, void *arg, hd_err *err) {
  customer_reply_ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__AddCustomerReplyRequest *req = x->req;
  x->ticket = NULL;
  x->comment = NULL;

  Helpdesk__V1__Ticket *t = NULL;
  ticket_meta meta;
  if (tk_ticket_load(c, db, req->ticket_id, true, &t, &meta, err)) return -1;
  if (!status__is_customer_of(c->principal, t))
    return hd_err_set(err, HD_PERMISSION_DENIED,
                      "only the ticket's customer may add a customer reply; staff answer with "
                      "ReplyToTicket or AddComment");
  if (status__check_version(t, req->expected_version, err)) return -1;
  ticket_status to;
  if (ticket_transition(TICKET_OP_CUSTOMER_REPLY, ticket_status_from_pb(t->status),
                        &(const ticket_facts){.request = "AddCustomerReply"}, &to, err))
    return -1;

  const int64_t now = tk_now(c);
  const ticket_actor actor = tk_actor(c);
  const char *action = ticket_op_name(TICKET_OP_CUSTOMER_REPLY);
  if (ticket_comment_insert(db, tk_tenant(c), t->id, &actor, req->body, now, c->arena, &x->comment,
                            err))
    return -1;
  char comment_id[24];
  snprintf(comment_id, sizeof comment_id, "%" PRId64, x->comment->id);
  const ticket_event_field ev[] = {TICKET_EV_INT("comment_id", x->comment->id)};
  const ticket_change ch = {.action = action,
                            .note_field = "comment",
                            .note_value = comment_id,
                            .event_type = TICKET_EVENT_CUSTOMER_REPLIED,
                            .status = to,
                            .follow_up_count = TICKET_SET(0),
                            .last_customer_reply_us = TICKET_SET(now),
                            .timer = TICKET_TIMER_CLEAR,
                            .event_fields = ev,
                            .n_event_fields = 1};
  return ticket_store_update_locked(
      db, tk_tenant(c), &(const ticket_locked){.ticket = t, .meta = meta}, req->expected_version,
      &ch, now, &actor, c->arena, &x->ticket, err);
}

int tickets_add_customer_reply(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__AddCustomerReplyRequest *rq =
      (const Helpdesk__V1__AddCustomerReplyRequest *)req;
  Helpdesk__V1__AddCustomerReplyResponse *out = (Helpdesk__V1__AddCustomerReplyResponse *)resp;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_text(call, "body", rq->body, 1, TICKET_TEXT_MAX))
    return -1;
  customer_reply_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, customer_reply__tx, &x)) return -1;
  out->ticket = x.ticket;
  out->comment = x.comment;
  return 0;
}

/* ---- Close, Cancel, Suspend, Resume, Restart ---- */

/* One case operation on one ticket. */
typedef struct case_op_ctx {
  hd_call *call;
  const char *rpc; /* "CloseTicket", for messages */
  ticket_op op;
  const char *event_type;
  int64_t ticket_id;
  int64_t expected_version;
  Helpdesk__V1__Ticket *ticket; /* output */
  ticket_timer timer;           /* output: the timer the change armed or cleared */
} case_op_ctx;

static int case_op__tx(hd_db *db, void *arg, hd_err *err) {
  case_op_ctx *x = arg;
  hd_call *c = x->call;
  x->ticket = NULL;
  x->timer = (ticket_timer){0};

  Helpdesk__V1__Ticket *t = NULL;
  ticket_meta meta;
  if (tk_ticket_load(c, db, x->ticket_id, true, &t, &meta, err)) return -1;
  const bool customer_may = x->op == TICKET_OP_CLOSE || x->op == TICKET_OP_CANCEL;
  if (customer_may ? status__require_customer_owner_or_lead(c, t, x->rpc, err)
                   : tk_require_owner_or(c, t, STATUS_LEADS, x->rpc, err))
    return -1;
  if (status__check_version(t, x->expected_version, err)) return -1;

  const ticket_status from = ticket_status_from_pb(t->status);
  const ticket_facts facts = {.suspended_from = ticket_status_from_pb(t->suspended_from),
                              .has_owner = t->owner_id && t->owner_id[0],
                              .request = x->rpc};
  ticket_status to;
  if (ticket_transition(x->op, from, &facts, &to, err)) return -1;

  const int64_t now = tk_now(c);
  ticket_change ch = {.action = ticket_op_name(x->op), .event_type = x->event_type, .status = to};
  switch (x->op) {
    case TICKET_OP_CLOSE:
    case TICKET_OP_CANCEL:
      /* The store clears the timer of a closed ticket; a suspended one forgets where it was. */
      if (from == TICKET_SUSPENDED) ch.suspended_from = TICKET_SET(TICKET_STATUS_NONE);
      break;
    case TICKET_OP_SUSPEND:
      ch.suspended_from = TICKET_SET(from);
      ch.timer = TICKET_TIMER_CLEAR;
      break;
    case TICKET_OP_RESUME:
      ch.suspended_from = TICKET_SET(TICKET_STATUS_NONE);
      ch.timer = status__timer_for(tk_config(c), to, now);
      break;
    case TICKET_OP_RESTART:
      if (t->merged_into_id != 0)
        return hd_err_set(err, HD_FAILED_PRECONDITION,
                          "ticket %" PRId64 " was merged into ticket %" PRId64
                          "; work on ticket %" PRId64,
                          t->id, t->merged_into_id, t->merged_into_id);
      ch.follow_up_count = TICKET_SET(0);
      ch.resolved = TICKET_SET(0);
      break;
    default:
      return hd_err_set(err, HD_INTERNAL, "%s is not a case operation", ticket_op_name(x->op));
  }
  const ticket_actor actor = tk_actor(c);
  if (ticket_store_update_locked(db, tk_tenant(c),
                                 &(const ticket_locked){.ticket = t, .meta = meta},
                                 x->expected_version, &ch, now, &actor, c->arena, &x->ticket, err))
    return -1;
  x->timer = ch.timer;
  return 0;
}

/* Checks the request, runs the operation in one transaction, schedules an armed timer, and
 * hands out the ticket after the change. */
static int case_op__run(hd_call *call, ProtobufCMessage *resp, const char *rpc, ticket_op op,
                        const char *event_type, int64_t ticket_id, int64_t expected_version) {
  if (hd_call_check_id(call, "ticket_id", ticket_id) ||
      hd_call_check_version(call, "expected_version", expected_version))
    return -1;
  case_op_ctx x = {.call = call,
                   .rpc = rpc,
                   .op = op,
                   .event_type = event_type,
                   .ticket_id = ticket_id,
                   .expected_version = expected_version};
  if (hd_call_tx(call, case_op__tx, &x)) return -1;
  status__wake(call, ticket_id, &x.timer);
  /* resp is an initialised Ticket; the store's copy lives in the same arena. */
  *(Helpdesk__V1__Ticket *)resp = *x.ticket;
  return 0;
}

int tickets_close_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__CloseTicketRequest *rq = (const Helpdesk__V1__CloseTicketRequest *)req;
  return case_op__run(call, resp, "CloseTicket", TICKET_OP_CLOSE, TICKET_EVENT_CLOSED,
                      rq->ticket_id, rq->expected_version);
}

int tickets_cancel_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__CancelTicketRequest *rq = (const Helpdesk__V1__CancelTicketRequest *)req;
  return case_op__run(call, resp, "CancelTicket", TICKET_OP_CANCEL, TICKET_EVENT_CANCELLED,
                      rq->ticket_id, rq->expected_version);
}

int tickets_suspend_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__SuspendTicketRequest *rq = (const Helpdesk__V1__SuspendTicketRequest *)req;
  return case_op__run(call, resp, "SuspendTicket", TICKET_OP_SUSPEND, TICKET_EVENT_SUSPENDED,
                      rq->ticket_id, rq->expected_version);
}

int tickets_resume_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ResumeTicketRequest *rq = (const Helpdesk__V1__ResumeTicketRequest *)req;
  return case_op__run(call, resp, "ResumeTicket", TICKET_OP_RESUME, TICKET_EVENT_RESUMED,
                      rq->ticket_id, rq->expected_version);
}

int tickets_restart_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__RestartTicketRequest *rq = (const Helpdesk__V1__RestartTicketRequest *)req;
  return case_op__run(call, resp, "RestartTicket", TICKET_OP_RESTART, TICKET_EVENT_RESTARTED,
                      rq->ticket_id, rq->expected_version);
}
