/* The routing service in-process for integration tests: a private Redis (routing consumes
 * helpdesk:events:tickets, which every ticket service of the suite writes on the shared Redis,
 * and tests wipe it with FLUSHALL), a real ticket service beside it (ticket_fixture) that routing
 * reaches over gRPC with its own token, and routing itself. Tokens for every kind of caller,
 * one-line calls by RPC name, SQL on routing's database, agents written straight into routing's
 * tables, ClaimNext from any client, routing's clock and timers, a restart of routing on the same
 * records, and a fingerprint of routing's tables so a test can prove that a failed call wrote
 * nothing. */
#ifndef HD_ROUTING_FIXTURE_H
#define HD_ROUTING_FIXTURE_H

#include <stdint.h>

#include "helpdesk/v1/routing.pb-c.h"
#include "svc_fixture.h"
#include "test_env.h"
#include "ticket_fixture.h"

typedef struct rf {
  hd_test_redis redis; /* the private Redis */
  hd_kv *kv;           /* redis.kv: the test's own commands on it */
  tf t;                /* the ticket service (and its tokens: t.customer, t.agent, ...) */
  hd_fixture r;        /* the routing service */
  hd_db *db;           /* the test's own connection to routing's database (main thread only) */
  hd_worker w;         /* the test's own connections (routing's database, the private Redis) for
                          firing routing's timers directly */
  hd_arena *arena;     /* replies live here until rf_stop */
  hd_err err;          /* the last rf_call's message */
  /* Tokens for tenant "acme" unless said otherwise (minted with the shared key). */
  char *agent;        /* agent-1, agent */
  char *agent2;       /* agent-2, agent */
  char *lead;         /* lead-1, agent + team_lead */
  char *supervisor;   /* sup-1, agent + supervisor */
  char *admin;        /* admin-1, tenant_admin */
  char *service;      /* svc-x, service */
  char *customer;     /* cust-1, customer */
  char *other_tenant; /* sup-9 of tenant "globex", agent + supervisor */
} rf;

/* Starts the private Redis, the ticket service, then routing pointed at it
 * (HELPDESK_TICKETS_TARGET). 0 or -1 (everything started is stopped again). */
int rf_start(rf *x);
/* Stops all three and frees what rf_start made. A zeroed x is a no-op. */
void rf_stop(rf *x);

/* cmocka set-up / tear-down: *state is a started rf. */
int rf_setup(void **state);
int rf_teardown(void **state);

/* Restarts routing on the same database (its records stay; Redis as it is). 0 or -1. */
int rf_restart_routing(rf *x);

/* Calls /helpdesk.v1.RoutingService/<rpc> as token; the status code. *(ProtobufCMessage **)resp
 * is the reply (in x->arena) on HD_OK, NULL otherwise; resp may be NULL. The message in x->err. */
hd_code rf_call(rf *x, const char *rpc, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, void *resp);

/* rf_call that fails the test unless it succeeds; the reply. */
ProtobufCMessage *rf_must(rf *x, const char *rpc, const char *token, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *resp_desc);

/* A token of "acme" for user with roles. Caller frees. */
char *rf_token(rf *x, const char *user, unsigned roles);

/* The first column of the first row of a printf-style query on routing's database as an integer
 * (0 when no row); fails the test when the query fails. */
int64_t rf_sqlf(rf *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs a printf-style statement on routing's database; fails the test unless it succeeds. */
void rf_execf(rf *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Waits (bounded, 20 s) until rf_sqlf(fmt...) == want; returns the last value. */
int64_t rf_wait_sql(rf *x, int64_t want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Registers agent_id of "acme" with departments (comma-separated, home first), capacity (0: the
 * home department's default) and presence, straight in routing's tables. */
void rf_agent(rf *x, const char *agent_id, const char *departments, int capacity,
              const char *presence);

/* Creates n tickets as the ticket fixture's customer (in order) and waits until routing has
 * recorded them all; ids[0..n) receives them (may be NULL). */
void rf_create_queued(rf *x, int64_t *ids, int n);

/* CreateTicket as the ticket fixture's customer with idempotency key, subject and issue type, on
 * a shared service, without a department (routing chooses it); fails the test unless it
 * succeeds. The ticket. */
Helpdesk__V1__Ticket *rf_create_about(rf *x, const char *key, const char *subject,
                                      Helpdesk__V1__IssueType issue);

/* ClaimNext as token through client (NULL: routing's fixture client): the status; *claim (in
 * arena a; NULL when none) and the message (also the reply's message when no claim). */
hd_code rf_claim(rf *x, hd_client *client, const char *token, const char *department,
                 int64_t lease_s, hd_arena *a, Helpdesk__V1__Claim **claim, hd_err *err);

/* FLUSHALL on the private Redis. */
void rf_flushall(rf *x);

/* The ticket's conversation as the ticket service has it (read as the team lead). */
Helpdesk__V1__ListCommentsResponse *rf_comments(rf *x, int64_t ticket_id);

/* Moves routing's clock by us and returns the new now. */
int64_t rf_advance(rf *x, int64_t us);

/* A fingerprint of every routing table (CHECKSUM TABLE ... EXTENDED). Caller frees. */
char *rf_fingerprint(rf *x);

/* Fails the test unless expr (an rf_call) answers want with msg_part (NULL: any) in x->err and
 * routing's tables are as they were before it. */
#define RF_REFUSED(x, want, msg_part, expr)                                                 \
  do {                                                                                      \
    char *rf_before_ = rf_fingerprint(x);                                                   \
    const hd_code rf_got_ = (expr);                                                         \
    rf_refused_at((x), rf_before_, rf_got_, (want), (msg_part), #expr, __FILE__, __LINE__); \
  } while (0)

void rf_refused_at(rf *x, char *before, hd_code got, hd_code want, const char *msg_part,
                   const char *what, const char *file, int line);

#endif
