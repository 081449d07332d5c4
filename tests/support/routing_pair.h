/* The routing service and a real ticket service, both in-process (svc_fixture), routing's peer
 * pointed at the ticket service: for tests of what routing does to tickets (escalations,
 * hand-overs). Tokens are the ticket fixture's (the same key signs for both services). */
#ifndef HD_ROUTING_PAIR_H
#define HD_ROUTING_PAIR_H

#include <stdint.h>

#include "helpdesk/v1/routing.pb-c.h"
#include "ticket_fixture.h"

typedef struct rp {
  tf t;         /* the ticket service, its tokens and arena */
  hd_fixture r; /* the routing service */
  hd_db *rdb;   /* the test's own connection to routing's database */
  hd_worker w;  /* the test's own connections for firing routing's timers directly */
} rp;

/* cmocka set-up / tear-down: *state is a started rp. */
int rp_setup(void **state);
int rp_teardown(void **state);

/* Calls /helpdesk.v1.RoutingService/<rpc> as token; the reply (in p->t.arena) in *resp on HD_OK,
 * the message in p->t.err. */
hd_code rp_call(rp *p, const char *rpc, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, void *resp);

/* Runs a printf-style statement on routing's database; fails the test unless it succeeds. */
void rp_exec(rp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first column of the first row of a printf-style query on routing's database (0: none). */
int64_t rp_sqlf(rp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Registers agent_id of acme in routing with departments (comma-separated) and presence. */
void rp_agent(rp *p, const char *agent_id, const char *departments, const char *presence);

/* The ticket's conversation as the ticket service has it (read as the team lead). */
Helpdesk__V1__ListCommentsResponse *rp_comments(rp *p, int64_t ticket_id);

/* Moves routing's clock by us and returns the new now. */
int64_t rp_advance(rp *p, int64_t us);

#endif
