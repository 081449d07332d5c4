/* The escalation of an overdue card refund (see refund_escalation.h). */
#include "refund_escalation.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "account_audit.h"
#include "account_call.h"
#include "card_refund.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "log/log.h"
#include "rpc/pb_enum.h"

#define REFUND_ROUTING_ESCALATE "/helpdesk.v1.RoutingService/EscalateToDepartment"

#define ESCALATION_COLS                                                                          \
  "state, department, idem_key, routing_escalation_id, requested_at_us, last_error, ticket_id, " \
  "attempts"

char *refund_escalation_key(hd_arena *arena, int64_t verification_id) {
  return hd_arena_printf(arena, REFUND_ESCALATION_KEY_PREFIX "%" PRId64, verification_id);
}

int refund_escalation_get(hd_db *db, const char *tenant, int64_t verification_id, hd_arena *arena,
                          Helpdesk__V1__RefundEscalation **out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(verification_id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  if (hd_db_query(db,
                  "SELECT " ESCALATION_COLS
                  " FROM refund_escalations WHERE tenant = ? AND verification_id = ?",
                  p, 2, 1, &rows, err))
    goto done;
  rc = 0;
  if (hd_db_rows_count(rows) == 0) goto done;
  Helpdesk__V1__RefundEscalation *e =
      hd_arena_new_message(arena, &helpdesk__v1__refund_escalation__descriptor);
  if (e) {
    size_t len = 0;
    const char *state = hd_db_str(rows, 0, 0, &len);
    int v = 0;
    e->state =
        hd_pb_enum_parse(&helpdesk__v1__escalation_state__descriptor, state, len, &v) == 0 ? v : 0;
    e->department = hd_arena_strdup(arena, hd_db_str(rows, 0, 1, NULL));
    e->idempotency_key = hd_arena_strdup(arena, hd_db_str(rows, 0, 2, NULL));
    e->routing_escalation_id = hd_db_i64(rows, 0, 3);
    e->request_time_us = hd_db_i64(rows, 0, 4);
    e->last_error = hd_arena_strdup(arena, hd_db_str(rows, 0, 5, NULL));
    e->ticket_id = hd_db_i64(rows, 0, 6);
    e->attempts = (int32_t)hd_db_i64(rows, 0, 7);
  }
  if (!e || !e->department || !e->idempotency_key || !e->last_error)
    rc = hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  else
    *out = e;
done:
  hd_db_rows_free(rows);
  return rc;
}

typedef struct record__ctx {
  hd_call *call;
  int64_t ticket_id;                       /* the ticket the question came on; 0 none */
  Helpdesk__V1__CardVerificationRefund *v; /* in: as read; out: as it stands under the lock */
} record__ctx;

/* Step 1: under the verification's lock, records the escalation once (the unique key per
 * verification backs the lock up). Runs again after a deadlock: it only reads and writes the
 * database and x->v. */
static int record__tx(hd_db *db, void *arg, hd_err *err) {
  record__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__CardVerificationRefund *v = NULL;
  if (card_refund_get(db, tenant, x->v->uid, x->v->payment_method_id, true, now, c->arena, &v, err))
    return -1;
  x->v = v;
  if (v->status != HELPDESK__V1__REFUND_STATUS__REFUND_STATUS_OVERDUE || v->escalation) return 0;
  if (x->ticket_id <= 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "the refund of card verification %" PRId64
                      " is overdue and is escalated to the L2 consulting team on a ticket: send "
                      "ticket_id, the ticket the customer asked on",
                      v->id);
  const char *key = refund_escalation_key(c->arena, v->id);
  if (!key) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  const char *department = ac_config(c)->refund_department;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(v->id),       hd_db_text(v->uid),
                           hd_db_text(key),    hd_db_text(department), hd_db_text(actor.user_id),
                           hd_db_int(now),     hd_db_int(x->ticket_id)};
  if (hd_db_exec(db,
                 "INSERT INTO refund_escalations (tenant, verification_id, uid, idem_key, "
                 "department, state, requested_by, requested_at_us, ticket_id) "
                 "VALUES (?, ?, ?, ?, ?, 'REQUESTED', ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, NULL, err) ||
      refund_escalation_get(db, tenant, v->id, c->arena, &v->escalation, err))
    return -1;
  json_error_t je;
  json_t *after =
      json_pack_ex(&je, 0, "{s:I, s:s, s:s, s:s, s:I, s:I}", "verification_id", (json_int_t)v->id,
                   "idempotency_key", key, "department", department, "state", "REQUESTED",
                   "expected_refund_time_us", (json_int_t)v->expected_refund_time_us, "ticket_id",
                   (json_int_t)x->ticket_id);
  return account_audit_take(db, tenant, &actor, v->uid, "ESCALATE_CARD_REFUND", "refund_escalation",
                            key, NULL, false, after, true, now, err);
}

/* What the L2 consulting team is asked, from the verification alone (no clock), so that every
 * send of one escalation is the same request under its key. In c->arena; NULL when full. */
static char *send__context(hd_call *c, const Helpdesk__V1__CardVerificationRefund *v) {
  return hd_arena_printf(
      c->arena,
      "The card verification charge of account %s has not been refunded: "
      "verification %" PRId64 ", payment method %" PRId64 ", %" PRId64 ".%02" PRId64
      " %s charged on %s, refund expected by %s. Please "
      "consult iPay on the refund and tell the customer.",
      v->uid, v->id, v->payment_method_id, v->amount_minor / 100, v->amount_minor % 100,
      v->currency, ac_datetime(c, v->bind_time_us), ac_datetime(c, v->expected_refund_time_us));
}

typedef struct sent__ctx {
  hd_call *call;
  const Helpdesk__V1__CardVerificationRefund *v;
  int64_t routing_id; /* > 0: routing accepted it as this escalation */
  const char *error;  /* else: why the call failed */
  Helpdesk__V1__RefundEscalation *out;
} sent__ctx;

/* Records the outcome of one send while the escalation is REQUESTED (a concurrent send that
 * recorded SENT first wins; nothing is written then). Runs again after a deadlock. */
static int sent__tx(hd_db *db, void *arg, hd_err *err) {
  sent__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const int64_t now = ac_now(c);
  uint64_t changed = 0;
  if (x->routing_id > 0) {
    const hd_db_param p[] = {hd_db_int(x->routing_id), hd_db_int(now), hd_db_text(tenant),
                             hd_db_int(x->v->id)};
    /* FORCE INDEX, here and below: otherwise MariaDB also estimates a range in the index by
     * idempotency key (by the tenant) and in the one by state, at every execution. */
    if (hd_db_exec(db,
                   "UPDATE refund_escalations FORCE INDEX (uq_refund_escalations_verification) "
                   "SET state = 'SENT', routing_escalation_id = ?, sent_at_us = ?, "
                   "attempts = attempts + 1, last_error = '' "
                   "WHERE tenant = ? AND verification_id = ? AND state = 'REQUESTED'",
                   p, 4, &changed, NULL, err))
      return -1;
  } else {
    char msg[501];
    snprintf(msg, sizeof msg, "%s", x->error);
    const hd_db_param p[] = {hd_db_text(msg), hd_db_text(tenant), hd_db_int(x->v->id)};
    if (hd_db_exec(db,
                   "UPDATE refund_escalations FORCE INDEX (uq_refund_escalations_verification) "
                   "SET attempts = attempts + 1, last_error = ? "
                   "WHERE tenant = ? AND verification_id = ? AND state = 'REQUESTED'",
                   p, 3, NULL, NULL, err))
      return -1;
  }
  if (refund_escalation_get(db, tenant, x->v->id, c->arena, &x->out, err)) return -1;
  if (!x->out) return hd_err_set(err, HD_INTERNAL, "the refund escalation vanished");
  if (x->routing_id <= 0 || changed == 0) return 0;
  const account_actor actor = ac_actor(c);
  json_error_t je;
  json_t *after =
      json_pack_ex(&je, 0, "{s:s, s:I, s:I}", "state", "SENT", "routing_escalation_id",
                   (json_int_t)x->routing_id, "ticket_id", (json_int_t)x->out->ticket_id);
  return account_audit_take(db, tenant, &actor, x->v->uid, "SEND_CARD_REFUND_ESCALATION",
                            "refund_escalation", x->out->idempotency_key, NULL, false, after, true,
                            now, err);
}

/* Step 2: consults the L2 consulting team on escalation e of v through RoutingService/
 * EscalateToDepartment (mode CONSULT, as the accounts service, with e's idempotency key: a
 * repeat escalates once in routing), then records SENT with routing's id, or attempts and
 * last_error (state stays REQUESTED; the next CheckCardVerificationRefund sends it again with
 * the same request). *e is replaced by the escalation as recorded. A failure to record leaves
 * *e as it was and is logged: the answer still carries the escalation. */
static void refund_escalation_send(hd_call *c, const Helpdesk__V1__CardVerificationRefund *v,
                                   Helpdesk__V1__RefundEscalation **e) {
  Helpdesk__V1__EscalateToDepartmentRequest rq = HELPDESK__V1__ESCALATE_TO_DEPARTMENT_REQUEST__INIT;
  rq.ticket_id = (*e)->ticket_id;
  rq.department = (*e)->department;
  rq.mode = HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_CONSULT;
  rq.context = send__context(c, v);
  rq.idempotency_key = (*e)->idempotency_key;
  sent__ctx x = {.call = c, .v = v};
  hd_err err = {0};
  Helpdesk__V1__Escalation *got = NULL;
  if (!rq.context)
    x.error = "out of memory writing the escalation";
  else if (hd_peer_call_for(ac_app(c)->routing, c, REFUND_ROUTING_ESCALATE, true, &rq.base,
                            &helpdesk__v1__escalation__descriptor, (ProtobufCMessage **)&got, &err))
    x.error = err.msg;
  else
    x.routing_id = got->id;
  const hd_err keep = c->err;
  if (hd_call_tx(c, sent__tx, &x)) {
    hd_log_warn("accounts.refund_escalation_record_failed", "reason", c->err.msg);
    c->err = keep;
    return;
  }
  *e = x.out;
}

int accounts_escalate_refund(hd_call *c, Helpdesk__V1__CardVerificationRefund *v, int64_t ticket_id,
                             hd_err *err) {
  record__ctx x = {.call = c, .ticket_id = ticket_id, .v = v};
  if (hd_call_tx(c, record__tx, &x)) {
    if (err != &c->err) *err = c->err;
    return -1;
  }
  *v = *x.v;
  if (v->escalation &&
      v->escalation->state == HELPDESK__V1__ESCALATION_STATE__ESCALATION_STATE_REQUESTED)
    refund_escalation_send(c, v, &v->escalation);
  return 0;
}
