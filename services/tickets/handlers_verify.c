/* VerifyTicketAccount and GetAccountVerification: the ticket's owner (or a team lead /
 * supervisor) asks the accounts service whether the ticket's customer holds the service the
 * ticket is about, and the answer, yes or no, is recorded on the ticket (account_verification.h):
 * a row, a history entry, version + 1 and an event. The accounts call is made before the
 * transaction, so no ticket row stays locked while another service answers; the transaction then
 * checks the ticket again (its owner, status and version may have changed meanwhile). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "account_verification.h"
#include "helpdesk/v1/accounts.pb-c.h"
#include "rpc/client.h"
#include "rpc/pb_enum.h"
#include "ticket_call.h"
#include "ticket_handlers.h"

#define VERIFY_LEADS  (HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR)
#define VERIFY_METHOD "/helpdesk.v1.AccountService/VerifyAccountService"

typedef struct verify_ctx {
  hd_call *call;
  const Helpdesk__V1__VerifyTicketAccountRequest *req;
  const char *customer_id; /* the ticket's, read before the accounts call (in the arena) */
  Helpdesk__V1__AccountVerification *v; /* the answer to record (in the arena) */
  Helpdesk__V1__Ticket *ticket;         /* output: the ticket after the change */
} verify_ctx;

/* What every pass over the ticket checks: the caller may verify it, it is open, the caller saw
 * its version. */
static int verify__check(hd_call *c, const Helpdesk__V1__Ticket *t, int64_t expected, hd_err *err) {
  if (tk_require_owner_or(c, t, VERIFY_LEADS, "VerifyTicketAccount", err) ||
      hd_call_check_current("ticket", t->id, t->version, expected, err))
    return -1;
  const ticket_status s = ticket_status_from_pb(t->status);
  if (!ticket_status_is_open(s))
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64
                      " is %s: accounts are verified on open tickets only; have "
                      "it restarted first",
                      t->id, ticket_status_name(s));
  return 0;
}

/* Before the accounts call: the ticket as the caller may see it, checked, and its customer. */
static int verify__read_tx(hd_db *db, void *arg, hd_err *err) {
  verify_ctx *x = arg;
  Helpdesk__V1__Ticket *t = NULL;
  if (tk_ticket_load(x->call, db, x->req->ticket_id, false, &t, NULL, err) ||
      verify__check(x->call, t, x->req->expected_version, err))
    return -1;
  x->customer_id = t->customer_id;
  return 0;
}

/* The accounts service's answer as the verification to record (strings in the call's arena).
 * UNAVAILABLE naming the accounts service when it cannot be reached; its own refusals (a domain
 * of a bad form) as it answered them. */
static int verify__ask_accounts(verify_ctx *x) {
  hd_call *c = x->call;
  const Helpdesk__V1__VerifyTicketAccountRequest *rq = x->req;
  Helpdesk__V1__VerifyAccountServiceRequest ask =
      HELPDESK__V1__VERIFY_ACCOUNT_SERVICE_REQUEST__INIT;
  ask.uid = (char *)x->customer_id;
  ask.service_id = rq->service_id;
  ask.domain = rq->domain;
  ask.hostname = rq->hostname;
  ask.resource_id = rq->resource_id;
  ProtobufCMessage *resp = NULL;
  hd_err e = {0};
  if (hd_peer_call_for(tk_accounts(c), c, VERIFY_METHOD, true, &ask.base,
                       &helpdesk__v1__verify_account_service_response__descriptor, &resp, &e)) {
    if (e.code == HD_UNAVAILABLE || e.code == HD_DEADLINE_EXCEEDED) {
      hd_err_set(&c->err, e.code,
                 "the accounts service (%s) could not be reached to verify the account of "
                 "ticket %" PRId64 "; nothing was recorded, try again: %.300s",
                 hd_peer_target(tk_accounts(c)), rq->ticket_id, e.msg);
      return hd_err_keep_details(&c->err, &e); /* the retry delay */
    }
    c->err = e;
    return -1;
  }
  const Helpdesk__V1__VerifyAccountServiceResponse *a =
      (const Helpdesk__V1__VerifyAccountServiceResponse *)resp;
  Helpdesk__V1__AccountVerification *v =
      hd_arena_new_message(c->arena, &helpdesk__v1__account_verification__descriptor);
  if (!v) return hd_err_set(&c->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  const ticket_actor actor = tk_actor(c);
  v->ticket_id = rq->ticket_id;
  v->customer_id = (char *)x->customer_id;
  v->service_id = rq->service_id;
  v->domain = rq->domain;
  v->hostname = rq->hostname;
  v->resource_id = rq->resource_id;
  /* Same numbers as accounts' VerifyReason; one this build does not know is UNSPECIFIED, and only
   * HELD with the accounts' yes counts as verified. */
  const bool known =
      protobuf_c_enum_descriptor_get_value(&helpdesk__v1__account_verification_reason__descriptor,
                                           (int)a->reason) != NULL;
  v->reason =
      known ? (Helpdesk__V1__AccountVerificationReason)a->reason
            : HELPDESK__V1__ACCOUNT_VERIFICATION_REASON__ACCOUNT_VERIFICATION_REASON_UNSPECIFIED;
  v->verified =
      a->verified &&
      v->reason == HELPDESK__V1__ACCOUNT_VERIFICATION_REASON__ACCOUNT_VERIFICATION_REASON_HELD;
  v->message = a->message ? a->message : "";
  v->matched_service_id = a->service ? a->service->id : 0;
  v->verified_by = hd_arena_strdup(c->arena, actor.user_id);
  v->verified_by_role = hd_arena_strdup(c->arena, actor.role);
  if (!v->verified_by || !v->verified_by_role)
    return hd_err_set(&c->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  x->v = v;
  return 0;
}

/* Records the answer on the ticket, checked again under its lock. */
static int verify__record_tx(hd_db *db, void *arg, hd_err *err) {
  verify_ctx *x = arg;
  hd_call *c = x->call;
  x->ticket = NULL;
  Helpdesk__V1__Ticket *t = NULL;
  ticket_meta meta;
  if (tk_ticket_load(c, db, x->req->ticket_id, true, &t, &meta, err) ||
      verify__check(c, t, x->req->expected_version, err))
    return -1;
  const int64_t now = tk_now(c);
  x->v->create_time_us = now;
  if (account_verification_insert(db, tk_tenant(c), x->v, err)) return -1;
  const char *reason =
      hd_pb_enum_name(&helpdesk__v1__account_verification_reason__descriptor, (int)x->v->reason);
  const ticket_event_field ev[] = {TICKET_EV_INT("verification_id", x->v->id),
                                   TICKET_EV_INT("verified", x->v->verified ? 1 : 0),
                                   TICKET_EV_STR("reason", reason)};
  const ticket_change ch = {.action = "VERIFY_ACCOUNT",
                            .event_type = TICKET_EVENT_ACCOUNT_VERIFIED,
                            .event_fields = ev,
                            .n_event_fields = sizeof ev / sizeof ev[0]};
  const ticket_actor actor = tk_actor(c);
  if (ticket_store_update_locked(
          db, tk_tenant(c), &(const ticket_locked){.ticket = t, .meta = meta},
          x->req->expected_version, &ch, now, &actor, c->arena, &x->ticket, err))
    return -1;
  char id[24];
  snprintf(id, sizeof id, "%" PRId64, x->v->id);
  return ticket_store_history_append(db, tk_tenant(c), t->id, &actor, ch.action,
                                     "account_verification", NULL, id, now, err);
}

/* VerifyTicketAccount: check the request, read the ticket, ask accounts, record the answer. */
int tickets_verify_ticket_account(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp) {
  const Helpdesk__V1__VerifyTicketAccountRequest *rq =
      (const Helpdesk__V1__VerifyTicketAccountRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_ident(call, "domain", rq->domain, 0, ACCOUNT_VERIFICATION_DOMAIN_MAX) ||
      hd_call_check_ident(call, "hostname", rq->hostname, 0, ACCOUNT_VERIFICATION_DOMAIN_MAX) ||
      hd_call_check_ident(call, "resource_id", rq->resource_id, 0,
                          ACCOUNT_VERIFICATION_RESOURCE_ID_MAX))
    return -1;
  if (rq->service_id < 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "service_id must be a held service's id (or 0 when not given), got %" PRId64,
                      rq->service_id);
  const int given = (rq->service_id > 0) + (rq->domain && *rq->domain) +
                    (rq->hostname && *rq->hostname) + (rq->resource_id && *rq->resource_id);
  if (given != 1)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "say which service to verify: exactly one of service_id, domain, hostname "
                      "and resource_id (%d given)",
                      given);
  verify_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, verify__read_tx, &x) || verify__ask_accounts(&x) ||
      hd_call_tx(call, verify__record_tx, &x))
    return -1;
  Helpdesk__V1__VerifyTicketAccountResponse *out =
      (Helpdesk__V1__VerifyTicketAccountResponse *)resp;
  out->verification = x.v;
  out->ticket = x.ticket;
  return 0;
}

/* ---- GetAccountVerification ---- */

typedef struct verification_get {
  hd_call *call;
  int64_t ticket_id;
  Helpdesk__V1__GetAccountVerificationResponse *out;
} verification_get;

static int verification__get_tx(hd_db *db, void *arg, hd_err *err) {
  verification_get *x = arg;
  Helpdesk__V1__Ticket *t = NULL;
  bool required = false, allowed = false;
  if (tk_ticket_load(x->call, db, x->ticket_id, false, &t, NULL, err) ||
      account_verification_state(db, tk_tenant(x->call), t->id, x->call->arena, &x->out->latest,
                                 &required, &allowed, err))
    return -1;
  x->out->required = required;
  x->out->replies_allowed = allowed;
  return 0;
}

/* GetAccountVerification: the latest verification of a ticket the caller may see. */
int tickets_get_account_verification(hd_call *call, const ProtobufCMessage *req,
                                     ProtobufCMessage *resp) {
  const Helpdesk__V1__GetAccountVerificationRequest *rq =
      (const Helpdesk__V1__GetAccountVerificationRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id)) return -1;
  verification_get x = {.call = call,
                        .ticket_id = rq->ticket_id,
                        .out = (Helpdesk__V1__GetAccountVerificationResponse *)resp};
  return hd_call_tx(call, verification__get_tx, &x);
}
