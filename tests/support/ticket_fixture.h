/* The ticket service in-process for integration tests (svc_fixture underneath): tokens for every
 * kind of caller, one-line calls by RPC name, and a fingerprint of every table so a test can
 * prove that a failed call wrote nothing. */
#ifndef HD_TICKET_FIXTURE_H
#define HD_TICKET_FIXTURE_H

#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "svc_fixture.h"

typedef struct tf {
  hd_fixture f;
  hd_arena *arena; /* replies live here until tf_stop */
  /* Tokens, tenant "acme" unless said otherwise. */
  char *customer;     /* cust-1, customer */
  char *customer2;    /* cust-2, customer */
  char *agent;        /* agent-1, agent */
  char *agent2;       /* agent-2, agent */
  char *lead;         /* lead-1, agent + team_lead */
  char *supervisor;   /* sup-1, agent + supervisor */
  char *admin;        /* admin-1, tenant_admin */
  char *service;      /* svc-router, service */
  char *other_tenant; /* agent-9 of tenant "globex", agent + supervisor + tenant_admin */
} tf;

/* Starts the ticket service on a fresh database. 0 or -1. */
int tf_start(tf *t);
void tf_stop(tf *t);

/* Calls /helpdesk.v1.TicketService/<rpc>; the status code, err the message, *resp in t->arena. */
hd_code tf_call(tf *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, hd_err *err);

/* Creates a ticket for customer_id (NULL: the caller's own, for a customer token) with a fresh
 * idempotency key; fails the test unless it succeeds. */
Helpdesk__V1__Ticket *tf_create(tf *t, const char *token, const char *customer_id,
                                const char *subject);

/* GetTicket; fails the test unless it succeeds. */
Helpdesk__V1__Ticket *tf_get(tf *t, const char *token, int64_t id);

/* The first column of the first row of sql on the service's database (0 when no row). */
int64_t tf_sql(tf *t, const char *sql);

/* A fingerprint of every row of every table of the service's database (CHECKSUM TABLE; the
 * outbox without the relay's published_at_us): equal before and after a call that failed means
 * it wrote nothing. Caller frees. */
char *tf_fingerprint(tf *t);

#endif
