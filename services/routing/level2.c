/* EscalateToLevel2 (level2.h): one escalation row (kind LEVEL2, to ESCALATED) and one
 * TransferTicket on the ticket service that moves the ticket and records the note as an internal
 * record in the same ticket transaction. The owner stays: a worked ticket always has one, and
 * Level 2 takes it over from the escalation. */
#include "level2.h"

#include <inttypes.h>
#include <string.h>

#include "escalation_store.h"
#include "escalations.h"
#include "routing_call.h"
#include "routing_idem.h"
#include "svc/idem.h"
#include "ticket_peer.h"

#define LEVEL2_DEPARTMENT "ESCALATED"

typedef struct l2_ctx {
  hd_call *call;
  const Helpdesk__V1__EscalateToLevel2Request *req;
  const Helpdesk__V1__Ticket *ticket;
  const char *hash;
  int64_t id;
  bool retry;
  Helpdesk__V1__Escalation *out;
} l2_ctx;

static int l2__create_tx(hd_db *db, void *arg, hd_err *err) {
  l2_ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = rt_tenant(c);
  const int64_t now = rt_now(c);
  hd_idem_key k;
  if (rt_idem_claim(db, c, x->req->idempotency_key, x->hash, "escalation", &k, &x->id, err))
    return -1;
  x->retry = x->id > 0;
  if (x->retry) return 0;
  int64_t window = 0;
  if (escal_department_window(db, tenant, "department", LEVEL2_DEPARTMENT, &window, err)) return -1;
  const escal_new e = {.ticket_id = x->ticket->id,
                       .kind = HELPDESK__V1__ESCALATION_KIND__ESCALATION_KIND_LEVEL2,
                       .mode = HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_ASSIGN,
                       .from_department = x->ticket->department,
                       .to_department = LEVEL2_DEPARTMENT,
                       .product = x->ticket->product,
                       .brand = x->ticket->brand,
                       .context = x->req->note,
                       .created_by = c->principal->user_id,
                       .created_by_role = hd_principal_role(c->principal),
                       .response_window_s = window};
  if (escal_insert(db, tenant, &e, now, &x->id, err)) return -1;
  return x->req->idempotency_key[0] ? hd_idem_set_result(db, &k, x->id, err) : 0;
}

static int l2__done_tx(hd_db *db, void *arg, hd_err *err) {
  l2_ctx *x = arg;
  hd_call *c = x->call;
  if (!x->retry && escal_created(db, c, x->id, 0, 0, rt_now(c), err)) return -1;
  return escal_get(db, rt_tenant(c), x->id, false, c->arena, &x->out, err);
}

/* Moves the ticket to ESCALATED with the investigation note (required, not blank). The caller
 * is the ticket's owner or a lead. Replies with the escalation and the ticket after the move. */
int routing_escalate_to_level2(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__EscalateToLevel2Request *rq =
      (const Helpdesk__V1__EscalateToLevel2Request *)req;
  Helpdesk__V1__EscalateToLevel2Response *out = (Helpdesk__V1__EscalateToLevel2Response *)resp;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_text(call, "note", rq->note, 1, ESCAL_NOTE_MAX) ||
      hd_call_check_ident(call, "idempotency_key", rq->idempotency_key, 0, HD_IDEM_KEY_MAX))
    return -1;
  char hash[HD_IDEM_HASH_SIZE];
  if (hd_idem_hash_request(req, hash, &call->err)) return -1;
  l2_ctx x = {.call = call, .req = rq, .hash = hash};
  if (rt_idem_lookup(call, rq->idempotency_key, hash, "escalation", &x.id)) return -1;
  if (x.id > 0) { /* a retry: the first call's escalation, the ticket as it is now */
    x.retry = true;
    if (hd_call_tx(call, l2__done_tx, &x) || rt_ticket_get(call, x.out->ticket_id, &out->ticket))
      return -1;
    out->escalation = x.out;
    return 0;
  }
  Helpdesk__V1__Ticket *t = NULL;
  if (rt_ticket_get(call, rq->ticket_id, &t)) return -1;
  const hd_principal *p = call->principal;
  if (!(p->roles & ROUTING_LEADS) && strcmp(t->owner_id, p->user_id) != 0)
    return hd_err_set(&call->err, HD_PERMISSION_DENIED,
                      "an agent escalates the tickets they own to Level 2; ticket %" PRId64
                      " is %s%s (a team_lead or supervisor escalates any)",
                      t->id, t->owner_id[0] ? "owned by " : "not owned by anyone", t->owner_id);
  if (!rt_ticket_status_open(t->status))
    return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64 " is closed or cancelled; only an open ticket is escalated",
                      t->id);
  if (strcmp(t->department, LEVEL2_DEPARTMENT) == 0)
    return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64 " is already in ESCALATED (Level 2)", t->id);
  if (!t->owner_id[0])
    return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64
                      " has no owner: Level 2 takes a ticket over from the "
                      "agent who investigated it; claim it first",
                      t->id);
  if (hd_call_check_current("ticket", t->id, t->version, rq->expected_version, &call->err))
    return -1;
  x.ticket = t;
  if (hd_call_tx(call, l2__create_tx, &x)) return -1;
  if (!x.retry) {
    /* The move and the note in one ticket transaction: the note is the internal record the
     * ticket service requires for a move to ESCALATED. */
    if (rt_ticket_move(call, t->id, t->version, t->owner_id, LEVEL2_DEPARTMENT, rq->note,
                       &out->ticket)) {
      const hd_err keep = call->err;
      escal_forget(call, x.id, rq->idempotency_key);
      call->err = keep;
      return -1;
    }
  } else if (rt_ticket_get(call, t->id, &out->ticket)) {
    return -1;
  }
  if (hd_call_tx(call, l2__done_tx, &x)) return -1;
  routing_escalation_wake(call, x.out->id, x.out->due_time_us);
  out->escalation = x.out;
  return 0;
}
