/* The accounts service's scenarios: GetAccount (the account and everything it holds: five reads)
 * and VerifyAccountService (is this domain the account's: two reads) of random accounts made
 * beforehand (--prepare, each with one domain). The token's service role may create them. Run
 * with --target at the accounts service (default port 50053). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_accounts.h"
#include "helpdesk/v1/accounts.pb-c.h"

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
