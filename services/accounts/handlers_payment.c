/* AddPaymentMethod and ListPaymentMethods. PAYTM is refused (registration in India is closed);
 * a BANK_CARD starts its card verification (card_refund.h) in the same transaction. */
#include <inttypes.h>
#include <string.h>

#include "account_audit.h"
#include "account_call.h"
#include "account_fields.h"
#include "account_handlers.h"
#include "account_limits.h"
#include "card_refund.h"
#include "rpc/page.h"

typedef struct method__ctx {
  hd_call *call;
  Helpdesk__V1__PaymentMethod *m;
  Helpdesk__V1__CardVerificationRefund *card; /* a BANK_CARD's verification */
} method__ctx;

static int method__tx(hd_db *db, void *arg, hd_err *err) {
  method__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__Account *a = NULL;
  x->card = NULL;
  if (ac_account_load(c, db, x->m->uid, true, &a, err) || ac_account_active(a, err)) return -1;
  int64_t n = 0;
  if (account_store_count(db, tenant, a->uid, ACCOUNT_ITEMS_PAYMENT_METHODS, &n, err)) return -1;
  if (n >= ACCOUNT_ITEMS_MAX)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED,
                      "account '%s' has %" PRId64
                      " payment methods, the most one account may "
                      "have",
                      a->uid, n);
  if (account_store_add_payment_method(db, tenant, x->m, now, err) ||
      account_audit_take(db, tenant, &actor, a->uid, "ADD_PAYMENT_METHOD", "payment_method",
                         ac_id_text(c, x->m->id), NULL, false,
                         account_store_payment_method_json(x->m), true, now, err))
    return -1;
  if (x->m->type != HELPDESK__V1__PAYMENT_METHOD_TYPE__PAYMENT_METHOD_TYPE_BANK_CARD) return 0;
  if (card_refund_start(db, tenant, a->uid, x->m->id, ac_config(c), now, c->arena, &x->card, err))
    return -1;
  return account_audit_take(db, tenant, &actor, a->uid, "START_CARD_VERIFICATION",
                            "card_verification", ac_id_text(c, x->card->id), NULL, false,
                            card_refund_json(x->card), true, now, err);
}

/* The label's rule by type: a card's last four digits, a PayPal email, else free. */
static int method__check_label(hd_call *c, const Helpdesk__V1__AddPaymentMethodRequest *rq) {
  const char *label = rq->label ? rq->label : "";
  if (rq->type == HELPDESK__V1__PAYMENT_METHOD_TYPE__PAYMENT_METHOD_TYPE_BANK_CARD) {
    bool four = strlen(label) == 4;
    for (size_t i = 0; four && i < 4; i++) four = label[i] >= '0' && label[i] <= '9';
    if (!four)
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                        "label must be the card's last four digits for a BANK_CARD (never the "
                        "whole number)");
    return 0;
  }
  if (rq->type == HELPDESK__V1__PAYMENT_METHOD_TYPE__PAYMENT_METHOD_TYPE_PAYPAL)
    return ac_check_email(c, "label", label, true);
  return 0;
}

/* AddPaymentMethod: PAYTM refused before anything else is looked at. */
int accounts_add_payment_method(hd_call *call, const ProtobufCMessage *req,
                                ProtobufCMessage *resp) {
  const Helpdesk__V1__AddPaymentMethodRequest *rq =
      (const Helpdesk__V1__AddPaymentMethodRequest *)req;
  Helpdesk__V1__AddPaymentMethodResponse *out = (Helpdesk__V1__AddPaymentMethodResponse *)resp;
  if (ac_check_uid(call, "uid", rq->uid) ||
      hd_call_check_enum(call, "type", &helpdesk__v1__payment_method_type__descriptor,
                         (int)rq->type, false) ||
      hd_call_check_text(call, "label", rq->label, 0, ACCOUNT_LABEL_MAX))
    return -1;
  if (rq->type == HELPDESK__V1__PAYMENT_METHOD_TYPE__PAYMENT_METHOD_TYPE_PAYTM)
    return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                      "PAYTM is no longer supported: registration in India is closed; bind a "
                      "BANK_CARD, PAYPAL or ACCOUNT_BALANCE instead");
  if (method__check_label(call, rq)) return -1;
  Helpdesk__V1__PaymentMethod *m =
      hd_arena_new_message(call->arena, &helpdesk__v1__payment_method__descriptor);
  if (!m) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  m->uid = rq->uid;
  m->type = rq->type;
  m->label = rq->label ? rq->label : "";
  method__ctx x = {.call = call, .m = m};
  if (hd_call_tx(call, method__tx, &x)) return -1;
  out->payment_method = m;
  out->card_verification = x.card;
  return 0;
}

/* ListPaymentMethods: keyset pages by id, oldest first; NOT_FOUND for a missing account. */
int accounts_list_payment_methods(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp) {
  const Helpdesk__V1__ListPaymentMethodsRequest *rq =
      (const Helpdesk__V1__ListPaymentMethodsRequest *)req;
  Helpdesk__V1__ListPaymentMethodsResponse *out = (Helpdesk__V1__ListPaymentMethodsResponse *)resp;
  if (ac_check_uid(call, "uid", rq->uid)) return -1;
  hd_page_scope scope;
  hd_page_scope_init(&scope, "payment_methods", ac_tenant(call));
  hd_page_scope_str(&scope, rq->uid);
  hd_page pg;
  if (hd_page_start_pb(rq->page, &scope, &pg, &call->err)) return -1;
  hd_db *db = ac_db(call);
  Helpdesk__V1__Account *a = NULL;
  size_t rows = 0;
  if (account_store_get(db, ac_tenant(call), rq->uid, false, call->arena, &a, &call->err) ||
      account_store_payment_methods(db, ac_tenant(call), rq->uid, pg.after.id, hd_page_fetch(&pg),
                                    call->arena, &out->payment_methods, &rows, &call->err))
    return ac_failed(call);
  const size_t shown = hd_page_shown(&pg, rows);
  out->n_payment_methods = shown;
  char *next = NULL;
  const hd_page_pos last = {.id = shown ? out->payment_methods[shown - 1]->id : 0};
  if (hd_page_next(&pg, rows > shown ? &last : NULL, call->arena, &next, &call->err) ||
      hd_page_info(call->arena, next, &out->page, &call->err))
    return -1;
  return 0;
}
