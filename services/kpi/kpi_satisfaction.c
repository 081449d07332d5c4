/* RecordSatisfaction: the customer's 1..5 for a closed ticket, once. */
#include <inttypes.h>
#include <string.h>

#include "kpi_app.h"
#include "kpi_handlers.h"
#include "rpc/call.h"

#define SATISFACTION_COMMENT_MAX 2000

typedef struct satisfaction_rec {
  hd_call *call;
  const Helpdesk__V1__RecordSatisfactionRequest *req;
  Helpdesk__V1__Satisfaction *out;
} satisfaction_rec;

static int satisfaction__tx(hd_db *db, void *arg, hd_err *err) {
  satisfaction_rec *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__RecordSatisfactionRequest *rq = x->req;
  const char *tenant = kpi_tenant(c);
  hd_db_rows *rows = NULL;
  int rc = -1;
  const hd_db_param key[] = {hd_db_text(tenant), hd_db_int(rq->ticket_id)};
  if (hd_db_query(db,
                  "SELECT customer_id, status, closed_owner FROM ticket_facts "
                  "WHERE tenant = ? AND ticket_id = ?",
                  key, 2, 1, &rows, err))
    goto done;
  /* Another customer's ticket reads as missing, so ids cannot be probed. */
  if (hd_db_rows_count(rows) == 0 ||
      strcmp(hd_db_str(rows, 0, 0, NULL), c->principal->user_id) != 0) {
    hd_err_set(err, HD_NOT_FOUND,
               "ticket %" PRId64
               " not found among your tickets (a ticket closed a moment ago "
               "may take a second to reach the KPI service: try again)",
               rq->ticket_id);
    goto done;
  }
  if (strcmp(hd_db_str(rows, 0, 1, NULL), "CLOSED") != 0) {
    hd_err_set(err, HD_FAILED_PRECONDITION,
               "ticket %" PRId64 " is %s, not CLOSED: a ticket is rated once it is closed",
               rq->ticket_id, hd_db_str(rows, 0, 1, NULL));
    goto done;
  }
  Helpdesk__V1__Satisfaction *s =
      hd_arena_new_message(c->arena, &helpdesk__v1__satisfaction__descriptor);
  if (!s) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  s->ticket_id = rq->ticket_id;
  s->customer_id = (char *)c->principal->user_id;
  s->agent_id = hd_arena_strdup(c->arena, hd_db_str(rows, 0, 2, NULL));
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

int kpi_record_satisfaction(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__RecordSatisfactionRequest *rq =
      (const Helpdesk__V1__RecordSatisfactionRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_text(call, "comment", rq->comment, 0, SATISFACTION_COMMENT_MAX))
    return -1;
  if (rq->score < 1 || rq->score > 5)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT, "score must be 1 to 5, got %d", rq->score);
  satisfaction_rec x = {.call = call, .req = rq};
  if (hd_call_tx(call, satisfaction__tx, &x)) return -1;
  *(Helpdesk__V1__Satisfaction *)resp = *x.out;
  return 0;
}
