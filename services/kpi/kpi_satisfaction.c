/* RecordSatisfaction: the customer's 1..5 for a closed ticket, once. The KPI's facts say whose
 * ticket it is and who closed it; when they do not know the close yet (its event is a moment
 * away), the ticket service is asked (GetTicket, as this service for the caller's tenant). */
#include <inttypes.h>
#include <string.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "kpi_app.h"
#include "kpi_handlers.h"
#include "log/log.h"
#include "rpc/call.h"

#define SATISFACTION_COMMENT_MAX 2000

typedef struct satisfaction_rec {
  hd_call *call;
  const Helpdesk__V1__RecordSatisfactionRequest *req;
  /* The ticket service's answer, once asked: the caller's ticket, CLOSED, credited to this agent
   * (the facts are then not read). NULL: read the facts. */
  const char *closed_owner;
  Helpdesk__V1__Satisfaction *out;
} satisfaction_rec;

/* The facts' refusal when they do not know the ticket (or not as the caller's). */
static int satisfaction__not_found(int64_t id, hd_err *err) {
  return hd_err_set(err, HD_NOT_FOUND,
                    "ticket %" PRId64
                    " not found among your tickets (a ticket closed a moment ago "
                    "may take a second to reach the KPI service: try again)",
                    id);
}

static int satisfaction__tx(hd_db *db, void *arg, hd_err *err) {
  satisfaction_rec *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__RecordSatisfactionRequest *rq = x->req;
  const char *tenant = kpi_tenant(c);
  hd_db_rows *rows = NULL;
  int rc = -1;
  const char *agent = x->closed_owner;
  if (!agent) {
    const hd_db_param key[] = {hd_db_text(tenant), hd_db_int(rq->ticket_id)};
    if (hd_db_query(db,
                    "SELECT customer_id, status, closed_owner FROM ticket_facts "
                    "WHERE tenant = ? AND ticket_id = ?",
                    key, 2, 1, &rows, err))
      goto done;
    /* Another customer's ticket reads as missing, so ids cannot be probed. */
    if (hd_db_rows_count(rows) == 0 ||
        strcmp(hd_db_str(rows, 0, 0, NULL), c->principal->user_id) != 0) {
      satisfaction__not_found(rq->ticket_id, err);
      goto done;
    }
    if (strcmp(hd_db_str(rows, 0, 1, NULL), "CLOSED") != 0) {
      hd_err_set(err, HD_FAILED_PRECONDITION,
                 "ticket %" PRId64 " is %s, not CLOSED: a ticket is rated once it is closed",
                 rq->ticket_id, hd_db_str(rows, 0, 1, NULL));
      goto done;
    }
    agent = hd_db_str(rows, 0, 2, NULL);
  }
  Helpdesk__V1__Satisfaction *s =
      hd_arena_new_message(c->arena, &helpdesk__v1__satisfaction__descriptor);
  if (!s) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  s->ticket_id = rq->ticket_id;
  s->customer_id = (char *)c->principal->user_id;
  s->agent_id = hd_arena_strdup(c->arena, agent);
  s->score = rq->score;
  s->comment = rq->comment ? rq->comment : "";
  s->record_time_us = hd_clock_now_us(hd_call_env(c)->clock);
  if (!s->agent_id) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  const hd_db_param p[] = {hd_db_text(tenant),          hd_db_int(s->ticket_id),
                           hd_db_text(s->customer_id),  hd_db_text(s->agent_id),
                           hd_db_int(s->score),         hd_db_text(s->comment),
                           hd_db_int(s->record_time_us)};
  if (hd_db_exec(db,
                 "INSERT INTO satisfaction (tenant, ticket_id, customer_id, agent_id, score, "
                 "comment, recorded_at_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 p, 7, NULL, NULL, err)) {
    if (err->code == HD_ALREADY_EXISTS)
      hd_err_set(err, HD_ALREADY_EXISTS,
                 "ticket %" PRId64 " has been rated already; a ticket is rated once",
                 rq->ticket_id);
    goto done;
  }
  x->out = s;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* After the facts refused x (NOT_FOUND: not known as the caller's; FAILED_PRECONDITION: not
 * closed yet), asks the ticket service: the caller's ticket and CLOSED there → recorded,
 * credited to its owner. The caller's ticket not closed there → FAILED_PRECONDITION naming its
 * status; otherwise (another's ticket, none, the ticket service unreachable: logged) the facts'
 * refusal stands. Other refusals of the facts (ALREADY_EXISTS, ...) stand as they are. */
static int satisfaction__from_ticket(hd_call *c, satisfaction_rec *x) {
  if (c->err.code != HD_NOT_FOUND && c->err.code != HD_FAILED_PRECONDITION) return -1;
  const hd_err facts_err = c->err;
  const int64_t id = x->req->ticket_id;
  Helpdesk__V1__GetTicketRequest rq = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  Helpdesk__V1__Ticket *t = NULL;
  if (hd_peer_call_for(kpi_app_of(c)->tickets, c, "/helpdesk.v1.TicketService/GetTicket", true,
                       &rq.base, &helpdesk__v1__ticket__descriptor, (ProtobufCMessage **)&t,
                       &c->err)) {
    if (c->err.code != HD_NOT_FOUND)
      hd_log_warn("kpi.satisfaction_ticket_unread", "reason", c->err.msg);
    c->err = facts_err;
    return -1;
  }
  if (strcmp(t->customer_id ? t->customer_id : "", c->principal->user_id) != 0) {
    c->err = facts_err;
    return -1;
  }
  if (t->status != HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED) {
    c->err = facts_err;
    if (facts_err.code == HD_FAILED_PRECONDITION) return -1; /* it names the facts' status */
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&helpdesk__v1__ticket_status__descriptor, t->status);
    return hd_err_set(&c->err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64 " is %s, not CLOSED: a ticket is rated once it is closed",
                      id, v ? v->name + strlen("TICKET_STATUS_") : "not closed");
  }
  hd_err_clear(&c->err);
  x->closed_owner = t->owner_id ? t->owner_id : "";
  return hd_call_tx(c, satisfaction__tx, x);
}

int kpi_record_satisfaction(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__RecordSatisfactionRequest *rq =
      (const Helpdesk__V1__RecordSatisfactionRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_text(call, "comment", rq->comment, 0, SATISFACTION_COMMENT_MAX))
    return -1;
  if (rq->score < 1 || rq->score > 5)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT, "score must be 1 to 5, got %d", rq->score);
  satisfaction_rec x = {.call = call, .req = rq};
  if (hd_call_tx(call, satisfaction__tx, &x) && satisfaction__from_ticket(call, &x)) return -1;
  *(Helpdesk__V1__Satisfaction *)resp = *x.out;
  return 0;
}
