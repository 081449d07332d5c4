/* BindPhone: an E.164 number of the account's own region (phone_region.h holds the rule). */
#include <string.h>

#include "account_audit.h"
#include "account_call.h"
#include "account_handlers.h"
#include "account_limits.h"
#include "phone_region.h"

typedef struct bind__ctx {
  hd_call *call;
  const char *uid;
  const char *phone;
  Helpdesk__V1__Account *out;
} bind__ctx;

static int bind__tx(hd_db *db, void *arg, hd_err *err) {
  bind__ctx *x = arg;
  hd_call *c = x->call;
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__Account *a = NULL;
  x->out = NULL;
  if (ac_account_load(c, db, x->uid, true, &a, err) || ac_account_active(a, err) ||
      phone_check_for_region("phone", x->phone, a->region, err))
    return -1;
  x->out = a;
  if (strcmp(a->phone, x->phone) == 0) return 0; /* bound already: no change, nothing audited */
  json_error_t je;
  json_t *before = json_pack_ex(&je, 0, "{s:s}", "phone", a->phone);
  const account_change ch = {.phone = x->phone};
  if (account_store_update(db, ac_tenant(c), a, &ch, now, err)) {
    json_decref(before);
    return -1;
  }
  return account_audit_take(db, ac_tenant(c), &actor, a->uid, "BIND_PHONE", "account", "", before,
                            true, json_pack_ex(&je, 0, "{s:s}", "phone", a->phone), true, now, err);
}

/* BindPhone: the form first (INVALID_ARGUMENT before any database work), the region under the
 * account's lock (FAILED_PRECONDITION). */
int accounts_bind_phone(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__BindPhoneRequest *rq = (const Helpdesk__V1__BindPhoneRequest *)req;
  if (ac_check_uid(call, "uid", rq->uid) ||
      hd_call_check_text(call, "phone", rq->phone, 1, ACCOUNT_PHONE_MAX + 8) ||
      phone_parse("phone", rq->phone, NULL, &call->err))
    return -1;
  bind__ctx x = {.call = call, .uid = rq->uid, .phone = rq->phone};
  if (hd_call_tx(call, bind__tx, &x)) return -1;
  *(Helpdesk__V1__Account *)resp = *x.out;
  return 0;
}
