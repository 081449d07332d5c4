/* Contact changes: the customer lost their phone or wants a new email. The verification path
 * follows the account's payment methods (contact__path), the answer says what to ask the customer
 * for on it (contact__guidance), a PARTNER_APPROVAL needs the BD contact's endorsement before it
 * can be approved, and only an approval changes the account. Requests and approvals are
 * exactly-once by an idempotency key claimed in their own transaction (svc/idem.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "account_audit.h"
#include "account_call.h"
#include "account_fields.h"
#include "account_handlers.h"
#include "account_limits.h"
#include "phone_region.h"
#include "rpc/pb_enum.h"
#include "svc/idem.h"

#define CC_STATUS(s) HELPDESK__V1__CONTACT_CHANGE_STATUS__CONTACT_CHANGE_STATUS_##s
#define CC_PATH(p)   HELPDESK__V1__CONTACT_CHANGE_PATH__CONTACT_CHANGE_PATH_##p
#define CC_FIELD(f)  HELPDESK__V1__CONTACT_FIELD__CONTACT_FIELD_##f
#define PM_TYPE(t)   HELPDESK__V1__PAYMENT_METHOD_TYPE__PAYMENT_METHOD_TYPE_##t

/* ---- the contact_changes table ---- */

#define CC_COLS                                                                            \
  "id, uid, field, old_value, new_value, path, status, reason, ticket_id, requested_by, "  \
  "bd_contact, endorsed_by, endorsement_note, endorsed_at_us, decided_by, decision_note, " \
  "decided_at_us, created_at_us"

static int cc__enum(const ProtobufCEnumDescriptor *d, const hd_db_rows *rows, size_t col) {
  size_t len = 0;
  const char *s = hd_db_str(rows, 0, col, &len);
  int v = 0;
  return hd_pb_enum_parse(d, s, len, &v) == 0 ? v : 0;
}

/* Request id of tenant; for_update locks it. NOT_FOUND "contact-change request 7 not found". */
static int cc__get(hd_db *db, const char *tenant, int64_t id, bool for_update, hd_arena *arena,
                   Helpdesk__V1__ContactChange **out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  if (hd_db_query(db,
                  for_update
                      ? "SELECT " CC_COLS " FROM contact_changes WHERE tenant = ? AND id = ? "
                        "FOR UPDATE"
                      : "SELECT " CC_COLS " FROM contact_changes WHERE tenant = ? AND id = ?",
                  p, 2, 1, &rows, err))
    goto done;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND, "contact-change request %" PRId64 " not found", id);
    goto done;
  }
  Helpdesk__V1__ContactChange *r =
      hd_arena_new_message(arena, &helpdesk__v1__contact_change__descriptor);
  if (!r) goto full;
  char **text[] = {&r->uid,          &r->old_value,    &r->new_value,   &r->reason,
                   &r->requested_by, &r->bd_contact,   &r->endorsed_by, &r->endorsement_note,
                   &r->decided_by,   &r->decision_note};
  const size_t cols[] = {1, 3, 4, 7, 9, 10, 11, 12, 14, 15};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
    if (!(*text[i] = hd_arena_strdup(arena, hd_db_str(rows, 0, cols[i], NULL)))) goto full;
  r->id = hd_db_i64(rows, 0, 0);
  r->field = cc__enum(&helpdesk__v1__contact_field__descriptor, rows, 2);
  r->path = cc__enum(&helpdesk__v1__contact_change_path__descriptor, rows, 5);
  r->status = cc__enum(&helpdesk__v1__contact_change_status__descriptor, rows, 6);
  r->ticket_id = hd_db_i64(rows, 0, 8);
  r->endorse_time_us = hd_db_i64(rows, 0, 13);
  r->decide_time_us = hd_db_i64(rows, 0, 16);
  r->create_time_us = hd_db_i64(rows, 0, 17);
  *out = r;
  rc = 0;
  goto done;
full:
  hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
done:
  hd_db_rows_free(rows);
  return rc;
}

static json_t *cc__json(const Helpdesk__V1__ContactChange *r) {
  json_error_t je;
  return json_pack_ex(
      &je, 0, "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)r->id, "field",
      hd_pb_enum_name(&helpdesk__v1__contact_field__descriptor, (int)r->field), "old_value",
      r->old_value, "new_value", r->new_value, "path",
      hd_pb_enum_name(&helpdesk__v1__contact_change_path__descriptor, (int)r->path), "status",
      hd_pb_enum_name(&helpdesk__v1__contact_change_status__descriptor, (int)r->status),
      "bd_contact", r->bd_contact, "endorsed_by", r->endorsed_by, "decided_by", r->decided_by);
}

/* Which payment method types the account has bound, as a bit set of (1 << type). */
static int cc__method_types(hd_db *db, const char *tenant, const char *uid, unsigned *out,
                            hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid)};
  hd_db_rows *rows = NULL;
  *out = 0;
  if (hd_db_query(db, "SELECT DISTINCT type FROM payment_methods WHERE tenant = ? AND uid = ?", p,
                  2, 16, &rows, err))
    return -1;
  for (size_t i = 0; i < hd_db_rows_count(rows); i++) {
    size_t len = 0;
    const char *s = hd_db_str(rows, i, 0, &len);
    int v = 0;
    if (hd_pb_enum_parse(&helpdesk__v1__payment_method_type__descriptor, s, len, &v) == 0)
      *out |= 1u << v;
  }
  hd_db_rows_free(rows);
  return 0;
}

/* ---- the rule of the path, and what to ask for on it ---- */

/* The path the bound payment methods give: QUOTA or CREDIT_LIMIT (a partner end-user account)
 * wins over BANK_CARD, PAYPAL and ACCOUNT_BALANCE. FAILED_PRECONDITION without any. */
static int cc__path(const char *uid, unsigned types, Helpdesk__V1__ContactChangePath *out,
                    hd_err *err) {
  if (types & ((1u << PM_TYPE(QUOTA)) | (1u << PM_TYPE(CREDIT_LIMIT))))
    *out = CC_PATH(PARTNER_APPROVAL);
  else if (types & ((1u << PM_TYPE(BANK_CARD)) | (1u << PM_TYPE(PAYPAL)) |
                    (1u << PM_TYPE(ACCOUNT_BALANCE))))
    *out = CC_PATH(INTERNAL_APPROVAL);
  else
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "account '%s' has no payment method bound, so the verification path "
                      "cannot be chosen: it follows the payment method (BANK_CARD, PAYPAL or "
                      "ACCOUNT_BALANCE: internal approval; QUOTA or CREDIT_LIMIT: partner "
                      "approval)",
                      uid);
  return 0;
}

/* Fills resp's guidance for request r on its path (types: the account's bound methods). */
static int cc__guidance(hd_arena *arena, const Helpdesk__V1__ContactChange *r, unsigned types,
                        Helpdesk__V1__ContactChangeResponse *resp, hd_err *err) {
  const bool email = r->field == CC_FIELD(EMAIL);
  const char *items[10];
  size_t n = 0;
  items[n++] = email ? "the account UID and the email registered on it now"
                     : "the account UID and the phone number registered on it now";
  items[n++] = email ? "the new email address to set"
                     : "the new phone number to set (E.164, of "
                       "the account's registered region)";
  items[n++] = "why the change is needed (lost phone, email no longer in use)";
  if (r->path == CC_PATH(PARTNER_APPROVAL)) {
    items[n++] = "the name of the partner (distributor) the account was bought through";
    items[n++] = "the customer's contact person at that partner (name and email)";
    resp->next_steps = hd_arena_printf(
        arena,
        "Partner approval: the partner's business-development contact %s confirms the "
        "customer's identity inside this approval request (EndorseContactChange; no chat group "
        "needed), then a team_lead or supervisor approves it (ApproveContactChange). Follow the "
        "request up; nothing changes on the account before it is approved.",
        r->bd_contact);
  } else {
    items[n++] =
        "a photo of the account holder's government-issued ID (or, for an enterprise "
        "account, its business licence)";
    if (types & (1u << PM_TYPE(BANK_CARD)))
      items[n++] =
          "a photo of the bound bank card showing the holder's name and its last four "
          "digits (the other digits covered)";
    if (types & (1u << PM_TYPE(PAYPAL)))
      items[n++] = "a screenshot of a recent PayPal payment to us showing the PayPal account";
    if (types & (1u << PM_TYPE(ACCOUNT_BALANCE)))
      items[n++] = "the date and amount of the latest top-up of the account balance";
    resp->next_steps = hd_arena_printf(
        arena,
        "Internal approval: send the customer the Modify %s template asking for the items "
        "listed, attach what they send to this request, and a team_lead or supervisor approves "
        "it (ApproveContactChange). Nothing changes on the account before it is approved.",
        email ? "Email" : "Phone Number");
  }
  resp->ask_customer_for = HD_ARENA_ARRAY(arena, char *, n);
  if (!resp->next_steps || !resp->ask_customer_for)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < n; i++) resp->ask_customer_for[i] = (char *)items[i];
  resp->n_ask_customer_for = n;
  return 0;
}

/* The answer for request r: the request and its guidance. */
static int cc__respond(hd_db *db, hd_call *c, Helpdesk__V1__ContactChange *r,
                       Helpdesk__V1__ContactChangeResponse *resp, hd_err *err) {
  unsigned types = 0;
  if (cc__method_types(db, ac_tenant(c), r->uid, &types, err)) return -1;
  resp->request = r;
  return cc__guidance(c->arena, r, types, resp, err);
}

/* ---- RequestContactChange ---- */

typedef struct request__ctx {
  hd_call *call;
  const Helpdesk__V1__RequestContactChangeRequest *rq;
  char hash[HD_IDEM_HASH_SIZE];
  Helpdesk__V1__ContactChangeResponse *out;
} request__ctx;

/* The pending request of account uid, 0 when none. */
static int request__pending(hd_db *db, const char *tenant, const char *uid, int64_t *id,
                            hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid)};
  hd_db_rows *rows = NULL;
  if (hd_db_query(db,
                  "SELECT id FROM contact_changes WHERE tenant = ? AND uid = ? AND "
                  "status = 'PENDING' ORDER BY id LIMIT 1",
                  p, 2, 1, &rows, err))
    return -1;
  *id = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  hd_db_rows_free(rows);
  return 0;
}

static int request__tx(hd_db *db, void *arg, hd_err *err) {
  request__ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__RequestContactChangeRequest *rq = x->rq;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  const hd_idem_key key = {.tenant = tenant,
                           .caller_id = actor.user_id,
                           .key = rq->idempotency_key,
                           .result_kind = "contact-change request"};
  int64_t id = 0;
  Helpdesk__V1__ContactChange *r = NULL;
  memset(x->out, 0, sizeof *x->out);
  helpdesk__v1__contact_change_response__init(x->out);
  if (hd_idem_claim(db, &key, x->hash, now, &id, err)) return -1;
  if (id > 0) /* a retry: the first call's request, as it now stands */
    return cc__get(db, tenant, id, true, c->arena, &r, err) || cc__respond(db, c, r, x->out, err);
  Helpdesk__V1__Account *a = NULL;
  unsigned types = 0;
  Helpdesk__V1__ContactChangePath path = 0;
  if (ac_account_load(c, db, rq->uid, true, &a, err) || ac_account_active(a, err) ||
      cc__method_types(db, tenant, a->uid, &types, err) || cc__path(a->uid, types, &path, err))
    return -1;
  const bool email = rq->field == CC_FIELD(EMAIL);
  if (path == CC_PATH(PARTNER_APPROVAL) && !a->bd_contact[0])
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "account '%s' pays by quota or credit limit (a partner account) but has no "
                      "business-development contact recorded, who must endorse the change: "
                      "record the partner's BD contact first",
                      a->uid);
  if (!email && phone_check_for_region("new_value", rq->new_value, a->region, err)) return -1;
  const char *old = email ? a->email : a->phone;
  if (strcmp(old, rq->new_value) == 0)
    return hd_err_set(err, HD_FAILED_PRECONDITION, "%s is already the account's %s", rq->new_value,
                      email ? "email" : "phone");
  int64_t pending = 0;
  if (request__pending(db, tenant, a->uid, &pending, err)) return -1;
  if (pending)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "account '%s' already has a pending contact-change request (%" PRId64
                      "): approve or reject it first",
                      a->uid, pending);
  const hd_db_param p[] = {
      hd_db_text(tenant),
      hd_db_text(a->uid),
      hd_db_text(email ? "EMAIL" : "PHONE"),
      hd_db_text(old),
      hd_db_text(rq->new_value),
      hd_db_text(hd_pb_enum_name(&helpdesk__v1__contact_change_path__descriptor, (int)path)),
      hd_db_text(rq->reason),
      rq->ticket_id ? hd_db_int(rq->ticket_id) : hd_db_null(),
      hd_db_text(actor.user_id),
      path == CC_PATH(PARTNER_APPROVAL) ? hd_db_text(a->bd_contact) : hd_db_null(),
      hd_db_int(now)};
  uint64_t new_id = 0;
  if (hd_db_exec(db,
                 "INSERT INTO contact_changes (tenant, uid, field, old_value, new_value, path, "
                 "status, reason, ticket_id, requested_by, bd_contact, created_at_us) "
                 "VALUES (?, ?, ?, ?, ?, ?, 'PENDING', ?, ?, ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, &new_id, err) ||
      hd_idem_set_result(db, &key, (int64_t)new_id, err) ||
      cc__get(db, tenant, (int64_t)new_id, false, c->arena, &r, err) ||
      account_audit_take(db, tenant, &actor, a->uid, "REQUEST_CONTACT_CHANGE", "contact_change",
                         ac_id_text(c, r->id), NULL, false, cc__json(r), true, now, err))
    return -1;
  x->out->request = r;
  return cc__guidance(c->arena, r, types, x->out, err);
}

/* RequestContactChange: the new value's form first; the path, the region and the pending rule
 * under the account's lock. */
int accounts_request_contact_change(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp) {
  const Helpdesk__V1__RequestContactChangeRequest *rq =
      (const Helpdesk__V1__RequestContactChangeRequest *)req;
  if (hd_call_check_ident(call, "idempotency_key", rq->idempotency_key, 1,
                          ACCOUNT_IDEMPOTENCY_KEY_MAX) ||
      hd_call_check_ident(call, "uid", rq->uid, 1, ACCOUNT_UID_MAX) ||
      hd_call_check_enum(call, "field", &helpdesk__v1__contact_field__descriptor, (int)rq->field,
                         false) ||
      hd_call_check_text(call, "reason", rq->reason, 1, ACCOUNT_REASON_MAX))
    return -1;
  if (rq->field == CC_FIELD(EMAIL)
          ? ac_check_email(call, "new_value", rq->new_value, true)
          : (hd_call_check_text(call, "new_value", rq->new_value, 1, ACCOUNT_PHONE_MAX + 8) ||
             phone_parse("new_value", rq->new_value, NULL, &call->err)))
    return -1;
  if (rq->ticket_id < 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "ticket_id must be a ticket's id, or 0 for none; got %" PRId64,
                      rq->ticket_id);
  request__ctx x = {.call = call, .rq = rq, .out = (Helpdesk__V1__ContactChangeResponse *)resp};
  if (hd_idem_hash_request(&rq->base, x.hash, &call->err)) return -1;
  return hd_call_tx(call, request__tx, &x);
}

/* ---- EndorseContactChange ---- */

typedef struct decide__ctx {
  hd_call *call;
  int64_t request_id;
  const char *note;     /* Endorse: the note; Reject: the reason */
  const char *idem_key; /* Approve */
  char hash[HD_IDEM_HASH_SIZE];
  Helpdesk__V1__ContactChangeResponse *out;
} decide__ctx;

/* FAILED_PRECONDITION unless r is PENDING ("contact-change request 7 is APPROVED already"). */
static int cc__pending(const Helpdesk__V1__ContactChange *r, const char *what, hd_err *err) {
  if (r->status == CC_STATUS(PENDING)) return 0;
  return hd_err_set(
      err, HD_FAILED_PRECONDITION,
      "contact-change request %" PRId64
      " is %s already; only a PENDING request "
      "can be %s",
      r->id, hd_pb_enum_name(&helpdesk__v1__contact_change_status__descriptor, (int)r->status),
      what);
}

/* Writes a step of request r that the caller has already set on r (the caller, x->note and now
 * bound to sql's first three parameters, the tenant and r's id to its last two), audits it as
 * action from before (r's JSON before the step; taken, freed here) to r, and answers with r. */
static int cc__record(hd_db *db, decide__ctx *x, Helpdesk__V1__ContactChange *r, json_t *before,
                      const char *sql, const char *action, hd_err *err) {
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  const hd_db_param p[] = {hd_db_text(actor.user_id), hd_db_text(x->note), hd_db_int(now),
                           hd_db_text(tenant), hd_db_int(r->id)};
  if (hd_db_exec(db, sql, p, 5, NULL, NULL, err)) {
    json_decref(before);
    return -1;
  }
  return account_audit_take(db, tenant, &actor, r->uid, action, "contact_change",
                            ac_id_text(c, r->id), before, true, cc__json(r), true, now, err) ||
                 cc__respond(db, c, r, x->out, err)
             ? -1
             : 0;
}

static int endorse__tx(hd_db *db, void *arg, hd_err *err) {
  decide__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__ContactChange *r = NULL;
  helpdesk__v1__contact_change_response__init(x->out);
  if (cc__get(db, tenant, x->request_id, true, c->arena, &r, err)) return -1;
  if (r->path != CC_PATH(PARTNER_APPROVAL))
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "contact-change request %" PRId64
                      " is an INTERNAL_APPROVAL request: it "
                      "needs no partner endorsement",
                      r->id);
  if (strcmp(r->bd_contact, actor.user_id) != 0)
    return hd_err_set(err, HD_PERMISSION_DENIED,
                      "only the partner's business-development contact '%s' may endorse "
                      "contact-change request %" PRId64,
                      r->bd_contact, r->id);
  if (cc__pending(r, "endorsed", err)) return -1;
  if (r->endorsed_by[0]) return cc__respond(db, c, r, x->out, err); /* the first one stands */
  json_t *before = cc__json(r);
  r->endorsed_by = (char *)actor.user_id;
  r->endorsement_note = (char *)x->note;
  r->endorse_time_us = now;
  /* FORCE INDEX, here and below: otherwise MariaDB estimates a range in the index by tenant and
   * account at every execution (an UPDATE by primary key is not a const read). */
  return cc__record(db, x, r, before,
                    "UPDATE contact_changes FORCE INDEX (PRIMARY) SET endorsed_by = ?, "
                    "endorsement_note = ?, endorsed_at_us = ? WHERE tenant = ? AND id = ?",
                    "ENDORSE_CONTACT_CHANGE", err);
}

/* EndorseContactChange: the BD contact of the request, and nobody else. */
int accounts_endorse_contact_change(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp) {
  const Helpdesk__V1__EndorseContactChangeRequest *rq =
      (const Helpdesk__V1__EndorseContactChangeRequest *)req;
  if (hd_call_check_id(call, "request_id", rq->request_id) ||
      hd_call_check_text(call, "note", rq->note, 1, ACCOUNT_REASON_MAX))
    return -1;
  decide__ctx x = {.call = call,
                   .request_id = rq->request_id,
                   .note = rq->note,
                   .out = (Helpdesk__V1__ContactChangeResponse *)resp};
  return hd_call_tx(call, endorse__tx, &x);
}

/* ---- ApproveContactChange ---- */

/* The request's uid without a lock: the account is locked first, then the request, in the same
 * order as RequestContactChange (account, then contact_changes), so the two never deadlock. */
static int approve__uid(hd_db *db, const char *tenant, int64_t id, hd_arena *arena, char **uid,
                        hd_err *err) {
  Helpdesk__V1__ContactChange *r = NULL;
  if (cc__get(db, tenant, id, false, arena, &r, err)) return -1;
  *uid = r->uid;
  return 0;
}

static int approve__tx(hd_db *db, void *arg, hd_err *err) {
  decide__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  const hd_idem_key key = {.tenant = tenant,
                           .caller_id = actor.user_id,
                           .key = x->idem_key,
                           .result_kind = "approval of contact-change request"};
  Helpdesk__V1__ContactChange *r = NULL;
  Helpdesk__V1__Account *a = NULL;
  char *uid = NULL;
  int64_t done = 0;
  helpdesk__v1__contact_change_response__init(x->out);
  if (hd_idem_claim(db, &key, x->hash, now, &done, err)) return -1;
  if (done > 0) /* a retry of this approval: the request as it now stands, nothing applied */
    return cc__get(db, tenant, done, true, c->arena, &r, err) || cc__respond(db, c, r, x->out, err);
  if (approve__uid(db, tenant, x->request_id, c->arena, &uid, err) ||
      account_store_get(db, tenant, uid, true, c->arena, &a, err) ||
      cc__get(db, tenant, x->request_id, true, c->arena, &r, err) ||
      cc__pending(r, "approved", err))
    return -1;
  if (strcmp(r->requested_by, actor.user_id) == 0)
    return hd_err_set(err, HD_PERMISSION_DENIED,
                      "%s requested contact-change request %" PRId64
                      " and cannot approve it too: "
                      "another team_lead or supervisor approves it",
                      actor.user_id, r->id);
  if (r->path == CC_PATH(PARTNER_APPROVAL) && !r->endorsed_by[0])
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "contact-change request %" PRId64
                      " is a PARTNER_APPROVAL: the partner's "
                      "business-development contact '%s' must endorse it first "
                      "(EndorseContactChange)",
                      r->id, r->bd_contact);
  const bool email = r->field == CC_FIELD(EMAIL);
  if (ac_account_active(a, err) ||
      (!email && phone_check_for_region("new_value", r->new_value, a->region, err)))
    return -1;
  json_t *req_before = cc__json(r);
  json_t *acct_before = account_store_json(a);
  const hd_db_param p[] = {hd_db_text(actor.user_id), hd_db_int(now), hd_db_text(tenant),
                           hd_db_int(r->id)};
  account_change ch = {0};
  if (email)
    ch.email = r->new_value;
  else
    ch.phone = r->new_value;
  if (hd_db_exec(db,
                 "UPDATE contact_changes FORCE INDEX (PRIMARY) SET status = 'APPROVED', "
                 "decided_by = ?, decided_at_us = ? WHERE tenant = ? AND id = ? AND "
                 "status = 'PENDING'",
                 p, 4, NULL, NULL, err) ||
      account_store_update(db, tenant, a, &ch, now, err)) {
    json_decref(req_before);
    json_decref(acct_before);
    return -1;
  }
  r->status = CC_STATUS(APPROVED);
  r->decided_by = (char *)actor.user_id;
  r->decide_time_us = now;
  return hd_idem_set_result(db, &key, r->id, err) ||
                 account_audit_take(db, tenant, &actor, r->uid, "APPROVE_CONTACT_CHANGE",
                                    "contact_change", ac_id_text(c, r->id), req_before, true,
                                    cc__json(r), true, now, err) ||
                 account_audit_take(db, tenant, &actor, a->uid,
                                    email ? "CHANGE_EMAIL" : "CHANGE_PHONE", "account", "",
                                    acct_before, true, account_store_json(a), true, now, err) ||
                 cc__respond(db, c, r, x->out, err)
             ? -1
             : 0;
}

/* ApproveContactChange: exactly once by its key; applies the new email or phone. */
int accounts_approve_contact_change(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp) {
  const Helpdesk__V1__ApproveContactChangeRequest *rq =
      (const Helpdesk__V1__ApproveContactChangeRequest *)req;
  if (hd_call_check_ident(call, "idempotency_key", rq->idempotency_key, 1,
                          ACCOUNT_IDEMPOTENCY_KEY_MAX) ||
      hd_call_check_id(call, "request_id", rq->request_id))
    return -1;
  decide__ctx x = {.call = call,
                   .request_id = rq->request_id,
                   .idem_key = rq->idempotency_key,
                   .out = (Helpdesk__V1__ContactChangeResponse *)resp};
  if (hd_idem_hash_request(&rq->base, x.hash, &call->err)) return -1;
  return hd_call_tx(call, approve__tx, &x);
}

/* ---- RejectContactChange / GetContactChange ---- */

static int reject__tx(hd_db *db, void *arg, hd_err *err) {
  decide__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__ContactChange *r = NULL;
  helpdesk__v1__contact_change_response__init(x->out);
  if (cc__get(db, tenant, x->request_id, true, c->arena, &r, err) ||
      cc__pending(r, "rejected", err))
    return -1;
  json_t *before = cc__json(r);
  r->status = CC_STATUS(REJECTED);
  r->decided_by = (char *)actor.user_id;
  r->decision_note = (char *)x->note;
  r->decide_time_us = now;
  return cc__record(db, x, r, before,
                    "UPDATE contact_changes FORCE INDEX (PRIMARY) SET status = 'REJECTED', "
                    "decided_by = ?, decision_note = ?, decided_at_us = ? "
                    "WHERE tenant = ? AND id = ?",
                    "REJECT_CONTACT_CHANGE", err);
}

/* RejectContactChange: the account is left as it was. */
int accounts_reject_contact_change(hd_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage *resp) {
  const Helpdesk__V1__RejectContactChangeRequest *rq =
      (const Helpdesk__V1__RejectContactChangeRequest *)req;
  if (hd_call_check_id(call, "request_id", rq->request_id) ||
      hd_call_check_text(call, "reason", rq->reason, 1, ACCOUNT_REASON_MAX))
    return -1;
  decide__ctx x = {.call = call,
                   .request_id = rq->request_id,
                   .note = rq->reason,
                   .out = (Helpdesk__V1__ContactChangeResponse *)resp};
  return hd_call_tx(call, reject__tx, &x);
}

/* GetContactChange: the request and its guidance. */
int accounts_get_contact_change(hd_call *call, const ProtobufCMessage *req,
                                ProtobufCMessage *resp) {
  const Helpdesk__V1__GetContactChangeRequest *rq =
      (const Helpdesk__V1__GetContactChangeRequest *)req;
  if (hd_call_check_id(call, "request_id", rq->request_id)) return -1;
  hd_db *db = ac_db(call);
  Helpdesk__V1__ContactChange *r = NULL;
  if (cc__get(db, ac_tenant(call), rq->request_id, false, call->arena, &r, &call->err) ||
      cc__respond(db, call, r, (Helpdesk__V1__ContactChangeResponse *)resp, &call->err))
    return ac_failed(call);
  return 0;
}
