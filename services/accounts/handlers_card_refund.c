/* CheckCardVerificationRefund and MarkCardVerificationRefunded: the refund rule is in
 * card_refund.h, the escalation of an overdue refund in refund_escalation.h. */
#include "account_audit.h"
#include "account_call.h"
#include "account_handlers.h"
#include "card_refund.h"
#include "refund_escalation.h"

/* CheckCardVerificationRefund: read; an OVERDUE refund is escalated (once, on ticket_id) to the
 * L2 consulting team through routing before answering. */
int accounts_check_card_verification_refund(hd_call *call, const ProtobufCMessage *req,
                                            ProtobufCMessage *resp) {
  const Helpdesk__V1__CheckCardVerificationRefundRequest *rq =
      (const Helpdesk__V1__CheckCardVerificationRefundRequest *)req;
  if (ac_check_uid(call, "uid", rq->uid) ||
      hd_call_check_id(call, "payment_method_id", rq->payment_method_id) ||
      (rq->ticket_id && hd_call_check_id(call, "ticket_id", rq->ticket_id)))
    return -1;
  hd_db *db = ac_db(call);
  Helpdesk__V1__Account *a = NULL;
  Helpdesk__V1__CardVerificationRefund *v = NULL;
  if (ac_account_load(call, db, rq->uid, false, &a, &call->err) ||
      card_refund_get(db, ac_tenant(call), rq->uid, rq->payment_method_id, false, ac_now(call),
                      call->arena, &v, &call->err))
    return ac_failed(call);
  if (v->status == HELPDESK__V1__REFUND_STATUS__REFUND_STATUS_OVERDUE &&
      accounts_escalate_refund(call, v, rq->ticket_id, &call->err))
    return -1;
  *(Helpdesk__V1__CardVerificationRefund *)resp = *v;
  return 0;
}

typedef struct refunded__ctx {
  hd_call *call;
  const char *uid;
  int64_t payment_method_id;
  Helpdesk__V1__CardVerificationRefund *out;
} refunded__ctx;

static int refunded__tx(hd_db *db, void *arg, hd_err *err) {
  refunded__ctx *x = arg;
  hd_call *c = x->call;
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__CardVerificationRefund *v = NULL;
  x->out = NULL;
  if (card_refund_get(db, ac_tenant(c), x->uid, x->payment_method_id, true, now, c->arena, &v, err))
    return -1;
  x->out = v;
  if (v->refund_time_us) return 0; /* recorded before: the first record stands */
  json_t *before = card_refund_json(v);
  if (card_refund_mark_refunded(db, ac_tenant(c), v, now, c->arena, err)) {
    json_decref(before);
    return -1;
  }
  return account_audit_take(db, ac_tenant(c), &actor, x->uid, "MARK_CARD_REFUNDED",
                            "card_verification", ac_id_text(c, v->id), before, true,
                            card_refund_json(v), true, now, err);
}

/* MarkCardVerificationRefunded: records the refund once; the account may be deleted already
 * (the money goes back all the same). */
int accounts_mark_card_verification_refunded(hd_call *call, const ProtobufCMessage *req,
                                             ProtobufCMessage *resp) {
  const Helpdesk__V1__MarkCardVerificationRefundedRequest *rq =
      (const Helpdesk__V1__MarkCardVerificationRefundedRequest *)req;
  if (hd_call_check_ident(call, "uid", rq->uid, 1, 128) ||
      hd_call_check_id(call, "payment_method_id", rq->payment_method_id))
    return -1;
  refunded__ctx x = {.call = call, .uid = rq->uid, .payment_method_id = rq->payment_method_id};
  if (hd_call_tx(call, refunded__tx, &x)) return -1;
  *(Helpdesk__V1__CardVerificationRefund *)resp = *x.out;
  return 0;
}
