/* CheckAccountDeletion and DeleteAccount: an account is deleted only when it holds no
 * unreleased resource and no unsettled bill; the answer always reminds to back the data up;
 * nothing undoes a deletion. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "account_audit.h"
#include "account_call.h"
#include "account_handlers.h"

#define BACKUP_REMINDER                                                                         \
  "Back up all important data first: deleting the account permanently removes every service "   \
  "and its data (an instance that is not released yet included), it cannot be undone, and the " \
  "account can no longer log in to the console. Release every resource and settle every bill, " \
  "then the customer deletes the account."

/* The blockers of account uid: every unreleased resource, then every unsettled bill. */
static int deletion__blockers(hd_call *c, hd_db *db, const char *uid,
                              Helpdesk__V1__DeletionBlocker ***out, size_t *n, hd_err *err) {
  Helpdesk__V1__Resource **res = NULL;
  Helpdesk__V1__Bill **bills = NULL;
  size_t n_res = 0, n_bills = 0;
  *out = NULL;
  *n = 0;
  if (account_store_resources(db, ac_tenant(c), uid, true, c->arena, &res, &n_res, err) ||
      account_store_bills(db, ac_tenant(c), uid, true, c->arena, &bills, &n_bills, err))
    return -1;
  const size_t total = n_res + n_bills;
  if (total == 0) return 0;
  Helpdesk__V1__DeletionBlocker **v =
      HD_ARENA_ARRAY(c->arena, Helpdesk__V1__DeletionBlocker *, total);
  if (!v) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  for (size_t i = 0; i < total; i++) {
    Helpdesk__V1__DeletionBlocker *b =
        hd_arena_new_message(c->arena, &helpdesk__v1__deletion_blocker__descriptor);
    if (!b) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    if (i < n_res) {
      const Helpdesk__V1__Resource *r = res[i];
      b->resource = res[i];
      b->message =
          r->expire_time_us
              ? hd_arena_printf(c->arena, "release %s %s (subscription, expires %s)",
                                r->resource_type, r->resource_id, ac_date(c, r->expire_time_us))
              : hd_arena_printf(c->arena, "release %s %s", r->resource_type, r->resource_id);
    } else {
      const Helpdesk__V1__Bill *bill = bills[i - n_res];
      b->bill = bills[i - n_res];
      b->message = hd_arena_printf(
          c->arena, "settle bill %" PRId64 " (%" PRId64 ".%02" PRId64 " %s: %s)", bill->id,
          bill->amount_minor / 100, bill->amount_minor % 100, bill->currency, bill->description);
    }
    if (!b->message) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    v[i] = b;
  }
  *out = v;
  *n = total;
  return 0;
}

/* CheckAccountDeletion: eligible, or what stops it; always the backup reminder. */
int accounts_check_account_deletion(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp) {
  const Helpdesk__V1__CheckAccountDeletionRequest *rq =
      (const Helpdesk__V1__CheckAccountDeletionRequest *)req;
  Helpdesk__V1__CheckAccountDeletionResponse *out =
      (Helpdesk__V1__CheckAccountDeletionResponse *)resp;
  if (ac_check_uid(call, "uid", rq->uid)) return -1;
  hd_db *db = ac_db(call);
  Helpdesk__V1__Account *a = NULL;
  if (ac_account_load(call, db, rq->uid, false, &a, &call->err)) return ac_failed(call);
  if (a->deleted) return ac_account_active(a, &call->err);
  if (deletion__blockers(call, db, a->uid, &out->blockers, &out->n_blockers, &call->err))
    return ac_failed(call);
  out->eligible = out->n_blockers == 0;
  out->backup_reminder = BACKUP_REMINDER;
  return 0;
}

typedef struct delete__ctx {
  hd_call *call;
  const char *uid;
  Helpdesk__V1__Account *out;
} delete__ctx;

/* FAILED_PRECONDITION listing the blockers (as many as the message holds). */
static int delete__refuse(const char *uid, Helpdesk__V1__DeletionBlocker **v, size_t n,
                          hd_err *err) {
  char list[HD_ERR_MSG_MAX];
  size_t used = 0, shown = 0;
  list[0] = '\0';
  for (; shown < n; shown++) {
    const int w =
        snprintf(list + used, sizeof list - used, "%s%s", shown ? "; " : "", v[shown]->message);
    if (w < 0 || (size_t)w >= sizeof list - used - 64) break; /* room for "... and N more" */
    used += (size_t)w;
  }
  list[used] = '\0';
  if (shown < n) snprintf(list + used, sizeof list - used, "; and %zu more", n - shown);
  return hd_err_set(err, HD_FAILED_PRECONDITION,
                    "account '%s' cannot be deleted while it holds unreleased resources or "
                    "unsettled bills: %s. Back the data up first.",
                    uid, list);
}

static int delete__tx(hd_db *db, void *arg, hd_err *err) {
  delete__ctx *x = arg;
  hd_call *c = x->call;
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__Account *a = NULL;
  Helpdesk__V1__DeletionBlocker **blockers = NULL;
  size_t n = 0;
  x->out = NULL;
  if (ac_account_load(c, db, x->uid, true, &a, err) || ac_account_active(a, err) ||
      deletion__blockers(c, db, a->uid, &blockers, &n, err))
    return -1;
  if (n) return delete__refuse(a->uid, blockers, n, err);
  json_t *before = account_store_json(a);
  const account_change ch = {.deleted = true};
  if (account_store_update(db, ac_tenant(c), a, &ch, now, err)) {
    json_decref(before);
    return -1;
  }
  x->out = a;
  return account_audit_take(db, ac_tenant(c), &actor, a->uid, "DELETE_ACCOUNT", "account", "",
                            before, true, account_store_json(a), true, now, err);
}

/* DeleteAccount: under the account's lock, so no resource or bill can be added meanwhile (every
 * add locks the account too). */
int accounts_delete_account(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__DeleteAccountRequest *rq = (const Helpdesk__V1__DeleteAccountRequest *)req;
  if (ac_check_uid(call, "uid", rq->uid)) return -1;
  delete__ctx x = {.call = call, .uid = rq->uid};
  if (hd_call_tx(call, delete__tx, &x)) return -1;
  ((Helpdesk__V1__DeleteAccountResponse *)resp)->account = x.out;
  return 0;
}
