/* The routing service in-process for integration tests, with a real ticket service beside it
 * (ticket_fixture) that routing reaches over gRPC with its own token: tokens for every kind of
 * caller, one-line calls by RPC name, SQL on routing's database, and a fingerprint of routing's
 * tables so a test can prove that a failed call wrote nothing. */
#ifndef HD_ROUTING_FIXTURE_H
#define HD_ROUTING_FIXTURE_H

#include <stdint.h>

#include "helpdesk/v1/routing.pb-c.h"
#include "test_env.h"
#include "ticket_fixture.h"

typedef struct rf {
  hd_test_redis redis; /* a private Redis (the ticket events stream is the suite's otherwise) */
  tf t;                /* the ticket service (and its tokens: t.customer, t.agent, ...) */
  hd_fixture r;        /* the routing service */
  hd_arena *arena;     /* replies live here until rf_stop */
  hd_err err;          /* the last call's message */
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

/* Starts the ticket service, then routing pointed at it (HELPDESK_TICKETS_TARGET). 0 or -1. */
int rf_start(rf *x);
void rf_stop(rf *x);

/* cmocka set-up / tear-down: *state is a started rf. */
int rf_setup(void **state);
int rf_teardown(void **state);

/* Calls /helpdesk.v1.RoutingService/<rpc> as token; the status code. *(ProtobufCMessage **)resp
 * is the reply (in x->arena) on HD_OK, NULL otherwise; resp may be NULL. The message in x->err. */
hd_code rf_call(rf *x, const char *rpc, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, void *resp);

/* rf_call that fails the test unless it succeeds; the reply. */
ProtobufCMessage *rf_must(rf *x, const char *rpc, const char *token, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *resp_desc);

/* The first column of the first row of a printf-style query on routing's database as an integer
 * (0 when no row); fails the test when the query fails. */
int64_t rf_sqlf(rf *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs a printf-style statement on routing's database; fails the test unless it succeeds. */
void rf_execf(rf *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
