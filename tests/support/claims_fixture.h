/* The routing service in-process with what it needs, for integration tests and the benchmark: a
 * private redis-server (so FLUSHALL and the shared event stream touch no other test), the ticket
 * service (ticket_fixture.h) and routing with its hd_peer pointed at it; agents written straight
 * into routing's tables (slice 1's UpsertAgent is not needed to test claims), claims by RPC. */
#ifndef HD_CLAIMS_FIXTURE_H
#define HD_CLAIMS_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "helpdesk/v1/routing.pb-c.h"
#include "svc_fixture.h"
#include "test_env.h"
#include "ticket_fixture.h"

typedef struct cf {
  hd_test_redis redis; /* the private Redis */
  hd_kv *kv;           /* redis.kv */
  tf t;                /* the ticket service */
  hd_fixture r;
  hd_db *db; /* on routing's database */
} cf;

/* Starts a private Redis, the ticket service and routing. 0 or -1. */
int cf_start(cf *f);
/* Stops all three and drops their databases. */
void cf_stop(cf *f);
/* Restarts routing on the same database (its records stay; Redis as it is). 0 or -1. */
int cf_restart_routing(cf *f);

/* Registers agent_id of "acme" with departments (comma-separated, home first), capacity and
 * presence, straight in routing's tables. */
void cf_agent(cf *f, const char *agent_id, const char *departments, int capacity,
              const char *presence);
/* A token of "acme" for user with roles, valid for the routing fixture. Caller frees. */
char *cf_token(cf *f, const char *user, unsigned roles);

/* One SQL on routing's database: the first column of the first row (0 when none). */
int64_t cf_sqlf(cf *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Waits (bounded, 20 s) until cf_sqlf(sql) == want; returns the last value. */
int64_t cf_wait_sql(cf *f, int64_t want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Creates n tickets as the customer (in order) and waits until routing has queued them all;
 * ids[0..n) receives them (may be NULL). */
void cf_create_queued(cf *f, int64_t *ids, int n);

/* ClaimNext as token: the status; *claim (in arena a; NULL when none) and the message. */
hd_code cf_claim(cf *f, hd_client *client, const char *token, const char *department,
                 int64_t lease_s, hd_arena *a, Helpdesk__V1__Claim **claim, hd_err *err);

/* FLUSHALL on the private Redis. */
void cf_flushall(cf *f);

#endif
