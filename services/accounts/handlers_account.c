/* The account and what it holds: CreateAccount, GetAccount, AddService, AddResource,
 * ReleaseResource, AddBill, SettleBill, VerifyAccountService. Every change locks the account
 * first and is audited in its own transaction. */
#include <inttypes.h>
#include <string.h>

#include "account_audit.h"
#include "account_call.h"
#include "account_fields.h"
#include "account_handlers.h"
#include "account_limits.h"
#include "phone_region.h"

/* RESOURCE_EXHAUSTED unless the account holds fewer than ACCOUNT_ITEMS_MAX rows of kind. */
static int account__room(hd_db *db, hd_call *c, const char *uid, account_items kind,
                         const char *what, hd_err *err) {
  int64_t n = 0;
  if (account_store_count(db, ac_tenant(c), uid, kind, &n, err)) return -1;
  if (n >= ACCOUNT_ITEMS_MAX)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED,
                      "account '%s' has %" PRId64 " %s, the most one account may have", uid, n,
                      what);
  return 0;
}

/* ---- CreateAccount ---- */

typedef struct create__ctx {
  hd_call *call;
  account_new a;
  Helpdesk__V1__Account *out;
} create__ctx;

static int create__tx(hd_db *db, void *arg, hd_err *err) {
  create__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  x->out = NULL;
  if (x->a.main_uid && *x->a.main_uid) {
    Helpdesk__V1__Account *main = NULL;
    /* Locked, so the main account cannot be deleted while its sub-account is being made. */
    if (account_store_get(db, tenant, x->a.main_uid, true, c->arena, &main, err)) {
      if (err->code == HD_NOT_FOUND)
        hd_err_set(err, HD_FAILED_PRECONDITION,
                   "main account '%s' does not exist: create it first, or leave main_uid empty "
                   "for a main account",
                   x->a.main_uid);
      return -1;
    }
    if (main->deleted)
      return hd_err_set(err, HD_FAILED_PRECONDITION,
                        "main account '%s' was deleted; a sub-account needs an active main "
                        "account",
                        main->uid);
    if (main->main_uid[0])
      return hd_err_set(err, HD_FAILED_PRECONDITION,
                        "account '%s' is itself a sub-account of '%s': name the main account",
                        main->uid, main->main_uid);
  }
  if (account_store_insert(db, tenant, &x->a, now, err) ||
      account_store_get(db, tenant, x->a.uid, false, c->arena, &x->out, err))
    return -1;
  return account_audit_take(db, tenant, &actor, x->out->uid, "CREATE_ACCOUNT", "account", "", NULL,
                            false, account_store_json(x->out), true, now, err);
}

/* CreateAccount: every field checked, then the main account's rules and the insert. */
int accounts_create_account(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__CreateAccountRequest *rq = (const Helpdesk__V1__CreateAccountRequest *)req;
  if (hd_call_check_ident(call, "uid", rq->uid, 1, ACCOUNT_UID_MAX) ||
      ac_check_region(call, "region", rq->region) ||
      hd_call_check_enum(call, "type", &helpdesk__v1__account_type__descriptor, (int)rq->type,
                         false) ||
      hd_call_check_ident(call, "main_uid", rq->main_uid, 0, ACCOUNT_UID_MAX) ||
      hd_call_check_ident(call, "bd_contact", rq->bd_contact, 0, ACCOUNT_UID_MAX) ||
      hd_call_check_text(call, "partner_name", rq->partner_name, 0, ACCOUNT_PARTNER_NAME_MAX) ||
      ac_check_email(call, "email", rq->email, false))
    return -1;
  if (phone_region_closed(rq->region))
    return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                      "registration in region %s is closed: new accounts cannot be registered "
                      "in India (and PAYTM is no longer supported)",
                      rq->region);
  if (rq->phone && *rq->phone && phone_check_for_region("phone", rq->phone, rq->region, &call->err))
    return -1;
  if (rq->main_uid && strcmp(rq->main_uid, rq->uid) == 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "main_uid names the account itself; leave it empty for a main account");
  create__ctx x = {.call = call,
                   .a = {.uid = rq->uid,
                         .region = rq->region,
                         .type = rq->type,
                         .real_name_verified = rq->real_name_verified,
                         .main_uid = rq->main_uid,
                         .bd_contact = rq->bd_contact,
                         .partner_name = rq->partner_name,
                         .email = rq->email,
                         .phone = rq->phone}};
  if (hd_call_tx(call, create__tx, &x)) return -1;
  *(Helpdesk__V1__Account *)resp = *x.out;
  return 0;
}

/* ---- GetAccount ---- */

/* GetAccount: the account and its rows, read without a transaction (each list as it is). */
int accounts_get_account(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__GetAccountRequest *rq = (const Helpdesk__V1__GetAccountRequest *)req;
  Helpdesk__V1__GetAccountResponse *out = (Helpdesk__V1__GetAccountResponse *)resp;
  if (ac_check_uid(call, "uid", rq->uid)) return -1;
  hd_db *db = ac_db(call);
  const char *tenant = ac_tenant(call);
  if (account_store_get(db, tenant, rq->uid, false, call->arena, &out->account, &call->err) ||
      account_store_services(db, tenant, rq->uid, call->arena, &out->services, &out->n_services,
                             &call->err) ||
      account_store_resources(db, tenant, rq->uid, false, call->arena, &out->resources,
                              &out->n_resources, &call->err) ||
      account_store_bills(db, tenant, rq->uid, false, call->arena, &out->bills, &out->n_bills,
                          &call->err) ||
      account_store_payment_methods(db, tenant, rq->uid, 0, ACCOUNT_ITEMS_MAX, call->arena,
                                    &out->payment_methods, &out->n_payment_methods, &call->err))
    return ac_failed(call);
  return 0;
}

/* ---- AddService ---- */

typedef struct service__ctx {
  hd_call *call;
  Helpdesk__V1__HeldService *s; /* in call->arena; id and time set by the insert */
} service__ctx;

static int service__tx(hd_db *db, void *arg, hd_err *err) {
  service__ctx *x = arg;
  hd_call *c = x->call;
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__Account *a = NULL;
  if (ac_account_load(c, db, x->s->uid, true, &a, err) || ac_account_active(a, err) ||
      account__room(db, c, a->uid, ACCOUNT_ITEMS_SERVICES, "services", err) ||
      account_store_add_service(db, ac_tenant(c), x->s, now, err))
    return -1;
  return account_audit_take(db, ac_tenant(c), &actor, a->uid, "ADD_SERVICE", "service",
                            ac_id_text(c, x->s->id), NULL, false, account_store_service_json(x->s),
                            true, now, err);
}

/* The shape rules of a service by its kind. */
static int service__check_shape(hd_call *c, const Helpdesk__V1__AddServiceRequest *rq) {
  const Helpdesk__V1__HeldServiceKind k = rq->kind;
  const bool hosting = k == HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_HOSTING;
  const bool domain = k == HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_DOMAIN;
  const bool reseller = rq->hosting_type == HELPDESK__V1__HOSTING_TYPE__HOSTING_TYPE_RESELLER;
  const bool has_package = rq->package && *rq->package;
  if (hosting && !rq->hosting_type)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "hosting_type is required for a HOSTING service: SHARED, RESELLER, MANAGED "
                      "or UNMANAGED");
  if (!hosting && rq->hosting_type)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "hosting_type is only for a HOSTING service; leave it UNSPECIFIED");
  if (reseller && !has_package)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "package is required for RESELLER hosting (the reseller package's name)");
  if (!reseller && has_package)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "package is only for RESELLER hosting; leave it empty");
  if (domain && !(rq->domain && *rq->domain))
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "domain is required for a DOMAIN service (example.com)");
  if (!domain && rq->domain && *rq->domain)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "domain is only for a DOMAIN service; a server's or hosting's name goes in "
                      "hostname");
  if (domain && rq->hostname && *rq->hostname)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "hostname is not for a DOMAIN service; leave it empty");
  return 0;
}

/* AddService: the kind's shape, then the insert under the account's lock. */
int accounts_add_service(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__AddServiceRequest *rq = (const Helpdesk__V1__AddServiceRequest *)req;
  if (hd_call_check_ident(call, "uid", rq->uid, 1, ACCOUNT_UID_MAX) ||
      hd_call_check_enum(call, "kind", &helpdesk__v1__held_service_kind__descriptor, (int)rq->kind,
                         false) ||
      hd_call_check_enum(call, "hosting_type", &helpdesk__v1__hosting_type__descriptor,
                         (int)rq->hosting_type, true) ||
      hd_call_check_text(call, "package", rq->package, 0, ACCOUNT_PACKAGE_MAX) ||
      ac_check_domain(call, "domain", rq->domain, false, true) ||
      ac_check_domain(call, "hostname", rq->hostname, false, false) ||
      service__check_shape(call, rq))
    return -1;
  Helpdesk__V1__HeldService *s =
      hd_arena_new_message(call->arena, &helpdesk__v1__held_service__descriptor);
  if (!s) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  s->uid = rq->uid;
  s->kind = rq->kind;
  s->hosting_type = rq->hosting_type;
  s->package = rq->package ? rq->package : "";
  s->domain = ac_lower(call, rq->domain);
  s->hostname = ac_lower(call, rq->hostname);
  if (!s->domain || !s->hostname)
    return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  service__ctx x = {.call = call, .s = s};
  if (hd_call_tx(call, service__tx, &x)) return -1;
  *(Helpdesk__V1__HeldService *)resp = *s;
  return 0;
}

/* ---- AddResource / ReleaseResource ---- */

typedef struct resource__ctx {
  hd_call *call;
  const char *uid;
  const char *resource_id;
  Helpdesk__V1__Resource *r; /* AddResource: the new row; ReleaseResource: the released one */
} resource__ctx;

static int resource__add_tx(hd_db *db, void *arg, hd_err *err) {
  resource__ctx *x = arg;
  hd_call *c = x->call;
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__Account *a = NULL;
  if (ac_account_load(c, db, x->r->uid, true, &a, err) || ac_account_active(a, err) ||
      account__room(db, c, a->uid, ACCOUNT_ITEMS_RESOURCES, "resources", err) ||
      account_store_add_resource(db, ac_tenant(c), x->r, now, err))
    return -1;
  return account_audit_take(db, ac_tenant(c), &actor, a->uid, "ADD_RESOURCE", "resource",
                            x->r->resource_id, NULL, false, account_store_resource_json(x->r), true,
                            now, err);
}

/* AddResource: a SUBSCRIPTION needs its expiry, a PAY_AS_YOU_GO resource has none. */
int accounts_add_resource(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__AddResourceRequest *rq = (const Helpdesk__V1__AddResourceRequest *)req;
  if (hd_call_check_ident(call, "uid", rq->uid, 1, ACCOUNT_UID_MAX) ||
      hd_call_check_ident(call, "resource_type", rq->resource_type, 1, ACCOUNT_RESOURCE_TYPE_MAX) ||
      hd_call_check_ident(call, "resource_id", rq->resource_id, 1, ACCOUNT_RESOURCE_ID_MAX) ||
      hd_call_check_enum(call, "billing", &helpdesk__v1__billing_method__descriptor,
                         (int)rq->billing, false))
    return -1;
  const bool subscription =
      rq->billing == HELPDESK__V1__BILLING_METHOD__BILLING_METHOD_SUBSCRIPTION;
  if (subscription && rq->expire_time_us <= 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "expire_time_us is required for a SUBSCRIPTION resource: when its period "
                      "ends");
  if (!subscription && rq->expire_time_us != 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "expire_time_us is only for a SUBSCRIPTION resource; leave it 0");
  Helpdesk__V1__Resource *r =
      hd_arena_new_message(call->arena, &helpdesk__v1__resource__descriptor);
  if (!r) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  r->uid = rq->uid;
  r->resource_type = rq->resource_type;
  r->resource_id = rq->resource_id;
  r->billing = rq->billing;
  r->expire_time_us = rq->expire_time_us;
  resource__ctx x = {.call = call, .r = r};
  if (hd_call_tx(call, resource__add_tx, &x)) return -1;
  *(Helpdesk__V1__Resource *)resp = *r;
  return 0;
}

static int resource__release_tx(hd_db *db, void *arg, hd_err *err) {
  resource__ctx *x = arg;
  hd_call *c = x->call;
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__Account *a = NULL;
  x->r = NULL;
  if (ac_account_load(c, db, x->uid, true, &a, err) || ac_account_active(a, err) ||
      account_store_get_resource(db, ac_tenant(c), x->uid, x->resource_id, c->arena, &x->r, err))
    return -1;
  if (x->r->released)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "resource '%s' was released already (at %" PRId64 " us)", x->resource_id,
                      x->r->release_time_us);
  json_t *before = account_store_resource_json(x->r);
  if (account_store_release_resource(db, ac_tenant(c), x->r, now, err)) {
    json_decref(before);
    return -1;
  }
  return account_audit_take(db, ac_tenant(c), &actor, a->uid, "RELEASE_RESOURCE", "resource",
                            x->resource_id, before, true, account_store_resource_json(x->r), true,
                            now, err);
}

/* ReleaseResource: once; a released resource no longer blocks a deletion. */
int accounts_release_resource(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ReleaseResourceRequest *rq =
      (const Helpdesk__V1__ReleaseResourceRequest *)req;
  if (hd_call_check_ident(call, "uid", rq->uid, 1, ACCOUNT_UID_MAX) ||
      hd_call_check_ident(call, "resource_id", rq->resource_id, 1, ACCOUNT_RESOURCE_ID_MAX))
    return -1;
  resource__ctx x = {.call = call, .uid = rq->uid, .resource_id = rq->resource_id};
  if (hd_call_tx(call, resource__release_tx, &x)) return -1;
  *(Helpdesk__V1__Resource *)resp = *x.r;
  return 0;
}

/* ---- AddBill / SettleBill ---- */

typedef struct bill__ctx {
  hd_call *call;
  const char *uid;
  int64_t bill_id;
  Helpdesk__V1__Bill *b;
} bill__ctx;

static int bill__add_tx(hd_db *db, void *arg, hd_err *err) {
  bill__ctx *x = arg;
  hd_call *c = x->call;
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__Account *a = NULL;
  if (ac_account_load(c, db, x->b->uid, true, &a, err) || ac_account_active(a, err) ||
      account__room(db, c, a->uid, ACCOUNT_ITEMS_BILLS, "bills", err) ||
      account_store_add_bill(db, ac_tenant(c), x->b, now, err))
    return -1;
  return account_audit_take(db, ac_tenant(c), &actor, a->uid, "ADD_BILL", "bill",
                            ac_id_text(c, x->b->id), NULL, false, account_store_bill_json(x->b),
                            true, now, err);
}

/* AddBill: an unsettled bill. */
int accounts_add_bill(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__AddBillRequest *rq = (const Helpdesk__V1__AddBillRequest *)req;
  if (hd_call_check_ident(call, "uid", rq->uid, 1, ACCOUNT_UID_MAX) ||
      hd_call_check_text(call, "description", rq->description, 1, ACCOUNT_BILL_TEXT_MAX) ||
      ac_check_currency(call, "currency", rq->currency))
    return -1;
  if (rq->amount_minor < 1 || rq->amount_minor > ACCOUNT_AMOUNT_MAX)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "amount_minor must be between 1 and %lld (in the currency's minor unit), "
                      "got %" PRId64,
                      (long long)ACCOUNT_AMOUNT_MAX, rq->amount_minor);
  Helpdesk__V1__Bill *b = hd_arena_new_message(call->arena, &helpdesk__v1__bill__descriptor);
  if (!b) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  b->uid = rq->uid;
  b->description = rq->description;
  b->amount_minor = rq->amount_minor;
  b->currency = rq->currency;
  bill__ctx x = {.call = call, .b = b};
  if (hd_call_tx(call, bill__add_tx, &x)) return -1;
  *(Helpdesk__V1__Bill *)resp = *b;
  return 0;
}

static int bill__settle_tx(hd_db *db, void *arg, hd_err *err) {
  bill__ctx *x = arg;
  hd_call *c = x->call;
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__Account *a = NULL;
  x->b = NULL;
  if (ac_account_load(c, db, x->uid, true, &a, err) || ac_account_active(a, err) ||
      account_store_get_bill(db, ac_tenant(c), x->uid, x->bill_id, c->arena, &x->b, err))
    return -1;
  if (x->b->settled)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "bill %" PRId64 " was settled already (at %" PRId64 " us)", x->b->id,
                      x->b->settle_time_us);
  json_t *before = account_store_bill_json(x->b);
  if (account_store_settle_bill(db, ac_tenant(c), x->b, now, err)) {
    json_decref(before);
    return -1;
  }
  return account_audit_take(db, ac_tenant(c), &actor, a->uid, "SETTLE_BILL", "bill",
                            ac_id_text(c, x->b->id), before, true, account_store_bill_json(x->b),
                            true, now, err);
}

/* SettleBill: once; a settled bill no longer blocks a deletion. */
int accounts_settle_bill(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__SettleBillRequest *rq = (const Helpdesk__V1__SettleBillRequest *)req;
  if (hd_call_check_ident(call, "uid", rq->uid, 1, ACCOUNT_UID_MAX) ||
      hd_call_check_id(call, "bill_id", rq->bill_id))
    return -1;
  bill__ctx x = {.call = call, .uid = rq->uid, .bill_id = rq->bill_id};
  if (hd_call_tx(call, bill__settle_tx, &x)) return -1;
  *(Helpdesk__V1__Bill *)resp = *x.b;
  return 0;
}

/* ---- VerifyAccountService ---- */

/* Fills the answer: verified only for VERIFY_REASON_HELD. message is printf-style. */
static int verify__answer(hd_call *c, Helpdesk__V1__VerifyAccountServiceResponse *out,
                          Helpdesk__V1__VerifyReason reason, const char *message) {
  out->verified = reason == HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_HELD;
  out->reason = reason;
  out->message = (char *)message;
  if (!message) return hd_err_set(&c->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  return 0;
}

/* VerifyAccountService: yes or no with the reason; only a failure to read is an error. */
int accounts_verify_account_service(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp) {
  const Helpdesk__V1__VerifyAccountServiceRequest *rq =
      (const Helpdesk__V1__VerifyAccountServiceRequest *)req;
  Helpdesk__V1__VerifyAccountServiceResponse *out =
      (Helpdesk__V1__VerifyAccountServiceResponse *)resp;
  if (hd_call_check_ident(call, "uid", rq->uid, 1, ACCOUNT_UID_MAX) ||
      ac_check_domain(call, "domain", rq->domain, false, true) ||
      ac_check_domain(call, "hostname", rq->hostname, false, false) ||
      hd_call_check_ident(call, "resource_id", rq->resource_id, 0, ACCOUNT_RESOURCE_ID_MAX))
    return -1;
  if (rq->service_id < 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "service_id must be a positive id (or 0 when not given), got %" PRId64,
                      rq->service_id);
  const int given = (rq->service_id > 0) + (rq->domain && *rq->domain) +
                    (rq->hostname && *rq->hostname) + (rq->resource_id && *rq->resource_id);
  if (given != 1)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "give exactly one of service_id, domain, hostname and resource_id (%d "
                      "given)",
                      given);
  hd_db *db = ac_db(call);
  const char *tenant = ac_tenant(call);
  Helpdesk__V1__Account *a = NULL;
  hd_err e = {0};
  if (account_store_get(db, tenant, rq->uid, false, call->arena, &a, &e)) {
    if (e.code != HD_NOT_FOUND) {
      call->err = e;
      return -1;
    }
    return verify__answer(call, out, HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_ACCOUNT_NOT_FOUND,
                          hd_arena_printf(call->arena, "no account '%s' in this tenant", rq->uid));
  }
  if (a->deleted)
    return verify__answer(
        call, out, HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_ACCOUNT_DELETED,
        hd_arena_printf(call->arena, "account '%s' was deleted; it holds nothing any more",
                        a->uid));
  if (rq->resource_id && *rq->resource_id) {
    if (account_store_find_resource(db, tenant, a->uid, rq->resource_id, call->arena,
                                    &out->resource, &call->err))
      return ac_failed(call);
    if (!out->resource)
      return verify__answer(call, out, HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_NOT_HELD,
                            hd_arena_printf(call->arena, "account '%s' does not hold resource '%s'",
                                            a->uid, rq->resource_id));
    if (out->resource->released)
      return verify__answer(
          call, out, HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_RESOURCE_RELEASED,
          hd_arena_printf(call->arena, "resource '%s' of account '%s' was released",
                          rq->resource_id, a->uid));
    return verify__answer(call, out, HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_HELD,
                          hd_arena_printf(call->arena, "account '%s' is active and holds %s '%s'",
                                          a->uid, out->resource->resource_type, rq->resource_id));
  }
  const char *domain = ac_lower(call, rq->domain), *host = ac_lower(call, rq->hostname);
  if (!domain || !host) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  if (account_store_find_service(db, tenant, a->uid, rq->service_id, domain, host, call->arena,
                                 &out->service, &call->err))
    return ac_failed(call);
  const char *what = rq->service_id > 0
                         ? hd_arena_printf(call->arena, "service %" PRId64, rq->service_id)
                     : *domain ? hd_arena_printf(call->arena, "domain %s", domain)
                               : hd_arena_printf(call->arena, "hostname %s", host);
  if (!what) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  if (!out->service)
    return verify__answer(
        call, out, HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_NOT_HELD,
        hd_arena_printf(call->arena, "account '%s' does not hold %s", a->uid, what));
  return verify__answer(
      call, out, HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_HELD,
      hd_arena_printf(call->arena, "account '%s' is active and holds %s", a->uid, what));
}
