/* The accounts service in-process for integration tests (svc_fixture underneath): tokens for
 * every kind of caller, one-line calls by RPC name, accounts and payment methods made through
 * the real RPCs, SQL checks on the service's database, and a fingerprint of every table so a
 * test can prove that a refused call wrote nothing. */
#ifndef HD_ACCOUNT_FIXTURE_H
#define HD_ACCOUNT_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "helpdesk/v1/accounts.pb-c.h"
#include "svc_fixture.h"

typedef struct af {
  hd_fixture f;
  hd_arena *arena; /* replies, tokens made by af_customer and strings live here until af_stop */
  hd_db *db;       /* the fixture's own connection to the service's database */
  hd_err err;      /* the last error of an af_call */
  /* Tokens of tenant "acme" unless said otherwise. */
  char *agent;        /* agent-1, agent */
  char *agent2;       /* agent-2, agent */
  char *lead;         /* lead-1, agent + team_lead */
  char *supervisor;   /* sup-1, agent + supervisor */
  char *admin;        /* admin-1, tenant_admin */
  char *service;      /* svc-console, service */
  char *bd;           /* bd-lee, agent: the BD contact of partner accounts */
  char *other_tenant; /* agent-9 of tenant "globex", every staff role */
} af;

/* cmocka set-up and tear-down: *state is a started af (the service on a fresh database). */
int af_setup(void **state);
int af_teardown(void **state);

/* A customer token for uid of acme (in t->arena). */
char *af_customer(af *t, const char *uid);

/* Moves the fixture's clock. */
void af_advance(af *t, int64_t us);
int64_t af_now(af *t);

/* Calls /helpdesk.v1.AccountService/<rpc> as token; the status code. *(ProtobufCMessage **)resp
 * is the reply (in t->arena) on HD_OK, NULL otherwise; resp may be NULL. The message is in
 * t->err. */
hd_code af_call(af *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, void *resp);

/* af_call that fails the test unless it succeeds; the reply. */
ProtobufCMessage *af_must(af *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *resp_desc);

/* CreateAccount as the service: a main account of region (PERSONAL unless enterprise), verified
 * or not, with email uid@example.com; bd_contact (NULL: none) makes a partner account. */
Helpdesk__V1__Account *af_account(af *t, const char *uid, const char *region, bool verified,
                                  const char *bd_contact);

/* AddPaymentMethod as the service; label NULL: "4242" for a card, "uid@example.com" for PayPal,
 * "" otherwise. */
Helpdesk__V1__AddPaymentMethodResponse *af_method(af *t, const char *uid,
                                                  Helpdesk__V1__PaymentMethodType type,
                                                  const char *label);

/* GetAccount as agent-1. */
Helpdesk__V1__GetAccountResponse *af_get(af *t, const char *uid);

/* The first column of the first row of a printf-style query (at most 4 KiB), as an integer (0
 * when no row) or as text in t->arena ("" when none); fail the test when the query fails. */
int64_t af_sql(af *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *af_sql_str(af *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Audit rows of uid with action. */
int64_t af_audits(af *t, const char *uid, const char *action);

/* A fingerprint of every table of the service's database (the outbox without published_at_us).
 * Caller frees. */
char *af_fingerprint(af *t);

/* Fails the test unless expr (an af_call) answers want with msg_part (NULL: any) in its message
 * and the database is unchanged. */
#define AF_REFUSED(t, want, msg_part, expr)                                                 \
  do {                                                                                      \
    char *af_before_ = af_fingerprint(t);                                                   \
    const hd_code af_got_ = (expr);                                                         \
    af_refused_at((t), af_before_, af_got_, (want), (msg_part), #expr, __FILE__, __LINE__); \
  } while (0)

void af_refused_at(af *t, char *before, hd_code got, hd_code want, const char *msg_part,
                   const char *what, const char *file, int line);

#define AF_DAY_US (24LL * 3600 * 1000000)

#endif
