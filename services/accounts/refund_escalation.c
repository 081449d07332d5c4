/* The escalation of an overdue card refund (see refund_escalation.h). */
#include "refund_escalation.h"

#include <inttypes.h>
#include <string.h>

#include "account_audit.h"
#include "account_call.h"
#include "card_refund.h"
#include "rpc/pb_enum.h"

#define ESCALATION_COLS \
  "state, department, idem_key, routing_escalation_id, requested_at_us, last_error"

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
  const char *key = refund_escalation_key(c->arena, v->id);
  if (!key) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  const char *department = ac_config(c)->refund_department;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(v->id),       hd_db_text(v->uid),
                           hd_db_text(key),    hd_db_text(department), hd_db_text(actor.user_id),
                           hd_db_int(now)};
  if (hd_db_exec(db,
                 "INSERT INTO refund_escalations (tenant, verification_id, uid, idem_key, "
                 "department, state, requested_by, requested_at_us) "
                 "VALUES (?, ?, ?, ?, ?, 'REQUESTED', ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, NULL, err) ||
      refund_escalation_get(db, tenant, v->id, c->arena, &v->escalation, err))
    return -1;
  json_error_t je;
  json_t *after =
      json_pack_ex(&je, 0, "{s:I, s:s, s:s, s:s, s:I}", "verification_id", (json_int_t)v->id,
                   "idempotency_key", key, "department", department, "state", "REQUESTED",
                   "expected_refund_time_us", (json_int_t)v->expected_refund_time_us);
  return account_audit_take(db, tenant, &actor, v->uid, "ESCALATE_CARD_REFUND", "refund_escalation",
                            key, NULL, false, after, true, now, err);
}

/* Step 2, the seam: sends escalation e of v to the routing service and, once routing accepted
 * it, records state SENT with its id.
 *
 * NOT WIRED YET: protos/helpdesk/v1/routing.proto has no RPC on main. Wiring it:
 *  - accounts__setup (service.c) opens the peer: hd_peer_open("routing", 50052, identity,
 *    env->clock, env->metrics, &peer, err), with an hd_auth_identity for "svc-accounts";
 *  - here: RoutingService/EscalateToDepartment (or EscalateToLevel2) through
 *    hd_peer_call_for(peer, c, ..., idempotent = true, ...) with idempotency_key =
 *    e->idempotency_key, department = e->department, the uid and a note naming the card
 *    verification, its amount and expected refund date;
 *  - on OK: UPDATE refund_escalations SET state = 'SENT', routing_escalation_id = ?,
 *    sent_at_us = ?, attempts = attempts + 1 WHERE tenant = ? AND verification_id = ? AND
 *    state = 'REQUESTED' (audited as SEND_CARD_REFUND_ESCALATION), and e updated;
 *  - on failure: attempts + 1 and last_error = the peer's message, state stays REQUESTED; the
 *    next CheckCardVerificationRefund sends it again with the same key (a durable timer on
 *    refund_escalations.state could retry without waiting for a call).
 * Until then nothing is sent and the escalation stays REQUESTED, as the answer says. */
static int refund_escalation_send(hd_call *c, const Helpdesk__V1__CardVerificationRefund *v,
                                  Helpdesk__V1__RefundEscalation *e) {
  (void)c;
  (void)v;
  (void)e;
  return 0;
}

int accounts_escalate_refund(hd_call *c, Helpdesk__V1__CardVerificationRefund *v, hd_err *err) {
  record__ctx x = {.call = c, .v = v};
  if (hd_call_tx(c, record__tx, &x)) {
    if (err != &c->err) *err = c->err;
    return -1;
  }
  *v = *x.v;
  if (v->escalation &&
      v->escalation->state == HELPDESK__V1__ESCALATION_STATE__ESCALATION_STATE_REQUESTED)
    refund_escalation_send(c, v, v->escalation);
  return 0;
}
