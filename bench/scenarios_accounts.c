/* The accounts service's scenarios: GetAccount (the account and everything it holds: five reads)
 * and VerifyAccountService (is this domain the account's: two reads) of random accounts made
 * beforehand (--prepare, each with one domain); CheckServiceAction and RecordServiceAction on
 * random accounts made beforehand, each with a SHARED hosting service and a ticket (on
 * --tickets-target) holding the customer's SERVICE_CHANGE consent. The token's service role may
 * create them. Run with --target at the accounts service (default port 50053), itself pointed at
 * that ticket service (HELPDESK_TICKETS_TARGET). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_accounts.h"
#include "helpdesk/v1/accounts.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"

#define ACCOUNTS_METHOD(m) "/helpdesk.v1.AccountService/" m

typedef struct accounts_shared {
  long pid; /* the prepared accounts are bench-<pid>-<i>, their domains d<i>-<pid>.example.com */
  uint64_t n;
} accounts_shared;

static uint64_t accounts__rand(bench_worker *w) {
  uint64_t x = (w->seq + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)w->index << 32);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

/* Creates account i with one DOMAIN service. */
static int accounts__make(const bench_opts *o, hd_client *c, long pid, uint64_t i, hd_err *err) {
  char uid[64], domain[96];
  snprintf(uid, sizeof uid, "bench-%ld-%" PRIu64, pid, i);
  snprintf(domain, sizeof domain, "d%" PRIu64 "-%ld.example.com", i, pid);
  hd_arena *a = hd_arena_new(1u << 20);
  if (!a) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  Helpdesk__V1__CreateAccountRequest cr = HELPDESK__V1__CREATE_ACCOUNT_REQUEST__INIT;
  cr.uid = uid;
  cr.region = "SG";
  cr.type = HELPDESK__V1__ACCOUNT_TYPE__ACCOUNT_TYPE_PERSONAL;
  cr.real_name_verified = true;
  cr.email = "bench@example.com";
  Helpdesk__V1__AddServiceRequest sr = HELPDESK__V1__ADD_SERVICE_REQUEST__INIT;
  sr.uid = uid;
  sr.kind = HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_DOMAIN;
  sr.domain = domain;
  ProtobufCMessage *resp = NULL;
  const int rc = hd_client_call(c, ACCOUNTS_METHOD("CreateAccount"), o->token, 0, &cr.base,
                                &helpdesk__v1__account__descriptor, a, &resp, err) ||
                         hd_client_call(c, ACCOUNTS_METHOD("AddService"), o->token, 0, &sr.base,
                                        &helpdesk__v1__held_service__descriptor, a, &resp, err)
                     ? -1
                     : 0;
  hd_arena_free(a);
  return rc;
}

/* Creates o->prepare accounts (at least one); caller frees *shared with accounts_cleanup. */
static int accounts_prepare(const bench_opts *o, hd_client *c, void **shared, hd_err *err) {
  accounts_shared *s = calloc(1, sizeof *s);
  if (!s) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  *shared = s;
  s->pid = (long)getpid();
  const uint64_t n = o->prepare ? o->prepare : 1;
  for (uint64_t i = 0; i < n; i++) {
    if (accounts__make(o, c, s->pid, i, err)) return -1;
    s->n++;
  }
  return 0;
}

static void accounts_cleanup(void *shared) { free(shared); }

static int account_get_op(bench_worker *w, hd_arena *a, hd_err *err) {
  const accounts_shared *s = w->shared;
  char uid[64];
  snprintf(uid, sizeof uid, "bench-%ld-%" PRIu64, s->pid, accounts__rand(w) % s->n);
  Helpdesk__V1__GetAccountRequest req = HELPDESK__V1__GET_ACCOUNT_REQUEST__INIT;
  req.uid = uid;
  ProtobufCMessage *resp = NULL;
  return hd_client_call(w->client, ACCOUNTS_METHOD("GetAccount"), w->opts->token, 0, &req.base,
                        &helpdesk__v1__get_account_response__descriptor, a, &resp, err);
}

static int account_verify_op(bench_worker *w, hd_arena *a, hd_err *err) {
  const accounts_shared *s = w->shared;
  const uint64_t i = accounts__rand(w) % s->n;
  char uid[64], domain[96];
  snprintf(uid, sizeof uid, "bench-%ld-%" PRIu64, s->pid, i);
  snprintf(domain, sizeof domain, "d%" PRIu64 "-%ld.example.com", i, s->pid);
  Helpdesk__V1__VerifyAccountServiceRequest req =
      HELPDESK__V1__VERIFY_ACCOUNT_SERVICE_REQUEST__INIT;
  req.uid = uid;
  req.domain = domain;
  ProtobufCMessage *resp = NULL;
  if (hd_client_call(w->client, ACCOUNTS_METHOD("VerifyAccountService"), w->opts->token, 0,
                     &req.base, &helpdesk__v1__verify_account_service_response__descriptor, a,
                     &resp, err))
    return -1;
  if (!((Helpdesk__V1__VerifyAccountServiceResponse *)resp)->verified)
    return hd_err_set(err, HD_INTERNAL, "account %s was not verified as holding %s", uid, domain);
  return 0;
}

const bench_scenario bench_account_get = {
    .name = "account_get",
    .what =
        "AccountService/GetAccount of a random account made beforehand (the account, its "
        "services, resources, bills and payment methods)",
    .prepare = accounts_prepare,
    .op = account_get_op,
    .cleanup = accounts_cleanup};

const bench_scenario bench_account_verify = {
    .name = "account_verify",
    .what = "AccountService/VerifyAccountService by domain of a random account made beforehand",
    .prepare = accounts_prepare,
    .op = account_verify_op,
    .cleanup = accounts_cleanup};

/* ---- the service-action policy ---- */

#define SA_ACCOUNTS_DEFAULT 20
#define TICKETS_METHOD(m)   "/helpdesk.v1.TicketService/" m

typedef struct sa_shared {
  long pid;          /* accounts bench-sa-<pid>-<i> */
  int64_t *services; /* account i's SHARED hosting service */
  int64_t *tickets;  /* account i's ticket, holding a SERVICE_CHANGE consent */
  uint64_t n;
} sa_shared;

/* Account i with a SHARED hosting service, and its ticket with the customer's consent. */
static int sa__make(const bench_opts *o, hd_client *accounts, hd_client *tickets, sa_shared *s,
                    uint64_t i, hd_arena *a, hd_err *err) {
  char uid[64], key[96];
  snprintf(uid, sizeof uid, "bench-sa-%ld-%" PRIu64, s->pid, i);
  snprintf(key, sizeof key, "bench-sa-%ld-%" PRIu64, s->pid, i);
  Helpdesk__V1__CreateAccountRequest cr = HELPDESK__V1__CREATE_ACCOUNT_REQUEST__INIT;
  cr.uid = uid;
  cr.region = "SG";
  cr.type = HELPDESK__V1__ACCOUNT_TYPE__ACCOUNT_TYPE_PERSONAL;
  cr.real_name_verified = true;
  cr.email = "bench@example.com";
  Helpdesk__V1__AddServiceRequest sr = HELPDESK__V1__ADD_SERVICE_REQUEST__INIT;
  sr.uid = uid;
  sr.kind = HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_HOSTING;
  sr.hosting_type = HELPDESK__V1__HOSTING_TYPE__HOSTING_TYPE_SHARED;
  Helpdesk__V1__CreateTicketRequest tr = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  tr.idempotency_key = key;
  tr.customer_id = uid;
  tr.subject = "My DNS points to the old server";
  tr.description = "Please change the A record";
  tr.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  tr.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL;
  ProtobufCMessage *acc = NULL, *svc = NULL, *t = NULL, *cons = NULL;
  if (hd_client_call(accounts, ACCOUNTS_METHOD("CreateAccount"), o->token, 0, &cr.base,
                     &helpdesk__v1__account__descriptor, a, &acc, err) ||
      hd_client_call(accounts, ACCOUNTS_METHOD("AddService"), o->token, 0, &sr.base,
                     &helpdesk__v1__held_service__descriptor, a, &svc, err) ||
      hd_client_call(tickets, TICKETS_METHOD("CreateTicket"), o->token, 0, &tr.base,
                     &helpdesk__v1__ticket__descriptor, a, &t, err))
    return -1;
  Helpdesk__V1__RecordConsentRequest rc = HELPDESK__V1__RECORD_CONSENT_REQUEST__INIT;
  rc.ticket_id = ((Helpdesk__V1__Ticket *)t)->id;
  rc.scope = HELPDESK__V1__CONSENT_SCOPE__CONSENT_SCOPE_SERVICE_CHANGE;
  rc.customer_words = "Yes, please change my DNS.";
  if (hd_client_call(tickets, TICKETS_METHOD("RecordConsent"), o->token, 0, &rc.base,
                     &helpdesk__v1__consent__descriptor, a, &cons, err))
    return -1;
  s->services[i] = ((Helpdesk__V1__HeldService *)svc)->id;
  s->tickets[i] = rc.ticket_id;
  return 0;
}

static void sa_cleanup(void *shared) {
  sa_shared *s = shared;
  if (!s) return;
  free(s->services);
  free(s->tickets);
  free(s);
}

/* Creates o->prepare accounts (default SA_ACCOUNTS_DEFAULT); caller frees *shared with
 * sa_cleanup. */
static int sa_prepare(const bench_opts *o, hd_client *c, void **shared, hd_err *err) {
  const hd_client_config cfg = {.target = o->tickets_target};
  hd_client *tickets = NULL;
  const uint64_t n = o->prepare ? o->prepare : SA_ACCOUNTS_DEFAULT;
  sa_shared *s = calloc(1, sizeof *s);
  int rc = -1;
  if (!s || !(s->services = calloc(n, sizeof *s->services)) ||
      !(s->tickets = calloc(n, sizeof *s->tickets))) {
    sa_cleanup(s);
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  }
  *shared = s;
  s->pid = (long)getpid();
  if (hd_client_new(&cfg, &tickets, err)) goto done;
  for (uint64_t i = 0; i < n; i++) {
    hd_arena *a = hd_arena_new(1u << 20);
    const int r = a ? sa__make(o, c, tickets, s, i, a, err)
                    : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    hd_arena_free(a);
    if (r) goto done;
    s->n++;
  }
  rc = 0;
done:
  hd_client_destroy(tickets);
  return rc;
}

static int sa_check_op(bench_worker *w, hd_arena *a, hd_err *err) {
  const sa_shared *s = w->shared;
  const uint64_t r = accounts__rand(w);
  const uint64_t i = r % s->n;
  char uid[64];
  snprintf(uid, sizeof uid, "bench-sa-%ld-%" PRIu64, s->pid, i);
  Helpdesk__V1__CheckServiceActionRequest req = HELPDESK__V1__CHECK_SERVICE_ACTION_REQUEST__INIT;
  req.uid = uid;
  req.service_id = s->services[i];
  req.action = (Helpdesk__V1__ServiceAction)(1 + (r >> 32) % 13); /* CHANGE_CONFIGURATION .. */
  ProtobufCMessage *resp = NULL;
  return hd_client_call(w->client, ACCOUNTS_METHOD("CheckServiceAction"), w->opts->token, 0,
                        &req.base, &helpdesk__v1__service_action_decision__descriptor, a, &resp,
                        err);
}

static int sa_record_op(bench_worker *w, hd_arena *a, hd_err *err) {
  const sa_shared *s = w->shared;
  const uint64_t i = accounts__rand(w) % s->n;
  char uid[64], key[96];
  snprintf(uid, sizeof uid, "bench-sa-%ld-%" PRIu64, s->pid, i);
  snprintf(key, sizeof key, "bench-sa-%ld-%u-%" PRIu64, s->pid, w->index, w->seq);
  Helpdesk__V1__RecordServiceActionRequest req = HELPDESK__V1__RECORD_SERVICE_ACTION_REQUEST__INIT;
  req.idempotency_key = key;
  req.ticket_id = s->tickets[i];
  req.uid = uid;
  req.service_id = s->services[i];
  req.action = HELPDESK__V1__SERVICE_ACTION__SERVICE_ACTION_CHANGE_DNS;
  req.outcome = HELPDESK__V1__SERVICE_ACTION_OUTCOME__SERVICE_ACTION_OUTCOME_DONE;
  req.description = "A record 192.0.2.1 -> 192.0.2.7";
  ProtobufCMessage *resp = NULL;
  if (hd_client_call(w->client, ACCOUNTS_METHOD("RecordServiceAction"), w->opts->token, 0,
                     &req.base, &helpdesk__v1__service_action_record__descriptor, a, &resp, err))
    return -1;
  const Helpdesk__V1__ServiceActionRecord *rec = (const Helpdesk__V1__ServiceActionRecord *)resp;
  if (!rec->consent_id || !rec->internal_record_id)
    return hd_err_set(err, HD_INTERNAL, "action %" PRId64 " recorded without its %s", rec->id,
                      rec->consent_id ? "internal record" : "consent");
  return 0;
}

const bench_scenario bench_service_action_check = {
    .name = "service_action_check",
    .what =
        "AccountService/CheckServiceAction: a random action on a random account's SHARED "
        "service (the account, the service, the rule: three reads)",
    .prepare = sa_prepare,
    .op = sa_check_op,
    .cleanup = sa_cleanup};

const bench_scenario bench_service_action_record = {
    .name = "service_action_record",
    .what =
        "AccountService/RecordServiceAction: a consented DNS change on a random account's "
        "ticket (GetTicket and ListConsents over gRPC, one transaction with its idempotency "
        "key and audit, AddInternalRecord over gRPC)",
    .prepare = sa_prepare,
    .op = sa_record_op,
    .cleanup = sa_cleanup};
