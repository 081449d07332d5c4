/* The ticket service in-process for integration tests (svc_fixture underneath): tokens for every
 * kind of caller, one-line calls by RPC name, the set-up every ticket test needs (tickets opened,
 * assigned and moved through the real RPCs), SQL checks on the service's database, and a
 * fingerprint of every table so a test can prove that a failed call wrote nothing. */
#ifndef HD_TICKET_FIXTURE_H
#define HD_TICKET_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "svc_fixture.h"
#include "ticket_store.h"

typedef struct tf {
  hd_fixture f;
  hd_arena *arena; /* replies and tf_repeat's strings live here until tf_stop */
  hd_db *db;       /* tf_sqlf's own connection to the service's database; opened on first use */
  hd_err err;      /* the last error of a tf_call given no err of its own (it lives here) */
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

/* ---- life ---- */

/* Starts the ticket service on a fresh database. 0 or -1. */
int tf_start(tf *t);

/* Deletes the service's Redis timer wake-ups, stops it, drops its database, frees the tokens. */
void tf_stop(tf *t);

/* cmocka set-up and tear-down (per test or per group): *state is a started tf, freed by
 * tf_teardown (which does nothing when tf_setup failed). */
int tf_setup(void **state);
int tf_teardown(void **state);

/* The fixture's clock, now. */
int64_t tf_now(tf *t);

/* Deletes the Redis set of the running service's timer wake-ups (MariaDB still knows every
 * timer). Fails the test unless Redis answers. */
void tf_delete_wake_ups(tf *t);

/* ---- calls ---- */

/* Calls /helpdesk.v1.TicketService/<rpc> as token (NULL: no token) and returns the status code.
 * *(ProtobufCMessage **)resp is the reply (in t->arena) on HD_OK and NULL otherwise; resp may be
 * NULL. err gets the message; NULL keeps it in t->err. */
hd_code tf_call(tf *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, void *resp, hd_err *err);

/* tf_call that fails the test unless the call succeeds; the reply. */
ProtobufCMessage *tf_must(tf *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *resp_desc);

/* ---- set-up through the real RPCs (each fails the test unless it succeeds) ---- */

/* CreateTicket for customer_id (NULL: the caller's own, for a customer token) with a fresh
 * idempotency key: a PENDING_RESPONSE ticket with no owner. */
Helpdesk__V1__Ticket *tf_create(tf *t, const char *token, const char *customer_id,
                                const char *subject);

/* GetTicket. */
Helpdesk__V1__Ticket *tf_get(tf *t, const char *token, int64_t id);

/* AssignTicket as the team lead (lead-1, no fence): owner_id becomes the owner; the status does
 * not change. */
Helpdesk__V1__Ticket *tf_assign(tf *t, int64_t id, const char *owner_id);

/* A Helpdesk__V1__TicketStatus by its short name: TF_STATUS(CLOSED). */
#define TF_STATUS(name) HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_##name

/* Brings ticket id to status through the real RPCs, as the team lead (lead-1): a CLOSED or
 * CANCELLED ticket is restarted first (RestartTicket: PROCESSING when owned, PENDING_RESPONSE
 * when not); then PROCESSING by ReplyToTicket ACKNOWLEDGE as the ticket's owner (which adds a
 * comment by them; an unowned ticket fails the test: assign it first),
 * CLOSED by CloseTicket, CANCELLED by CancelTicket, SUSPENDED by SuspendTicket (suspended from
 * the status it had). Only these four statuses, from a ticket the tests left in
 * PENDING_RESPONSE, PROCESSING, CLOSED or CANCELLED; a ticket already in status is left alone.
 * Fails the test unless the ticket ends in status. */
Helpdesk__V1__Ticket *tf_set_status(tf *t, int64_t id, Helpdesk__V1__TicketStatus status);

/* UpdateTenantSettings for acme as its tenant_admin (admin-1), every field (mask "*"), with
 * account_verification_optional true: the tests that set reminders and review links test other
 * rules than the account verification, and reply without one. */
Helpdesk__V1__TenantSettings *tf_put_settings(tf *t, Helpdesk__V1__ReminderChannel channel,
                                              const char *target, const char *review_link);

/* UpdateTenantSettings for tenant on the ticket service f runs, as a tenant_admin of it (mask
 * "account_verification_optional"): optional true lets the owner's replies go out without an
 * account verification (VerifyTicketAccount), false restores the SOP's rule. For the set-up of
 * tests of other rules (no cmocka check here: 0, or -1 with err set). */
int tf_fixture_verification_optional(hd_fixture *f, const char *tenant, bool optional, hd_err *err);

/* tf_setup, then tf_fixture_verification_optional(acme and globex, true): for tests whose
 * tickets are replied to without an account verification. */
int tf_setup_verification_optional(void **state);

/* Applies ch to ticket id of acme straight through the store (ticket_store_update as sup-1, at
 * the fixture's clock), bypassing every handler: only for states no RPC makes, such as a status
 * moved while its timer is left behind. Fails the test unless it succeeds. */
void tf_force_change(tf *t, int64_t id, const ticket_change *ch);

/* ---- the service's database ---- */

/* A new direct connection to the service's database; fails the test unless it opens. Caller
 * closes it with hd_db_close. */
hd_db *tf_db_open(tf *t);

/* The first column of the first row of sql as an integer (0 when no row or NULL); fails the test
 * when the query fails. */
int64_t tf_sql(tf *t, const char *sql);

/* tf_sql of a printf-style query (at most 4 KiB once formatted). */
int64_t tf_sqlf(tf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first column of the first row of a printf-style query as text ("" when no row), in
 * t->arena; fails the test when the query fails. */
const char *tf_sqlf_str(tf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The ticket's version as stored. */
int64_t tf_version(tf *t, int64_t id);

/* How many outbox events of event_type ticket id has. */
int64_t tf_events(tf *t, const char *event_type, int64_t id);

/* ---- checks ---- */

/* unit repeated n times, NUL-terminated, in t->arena. */
char *tf_repeat(tf *t, const char *unit, size_t n);

/* A fingerprint of every row of every table of the service's database (CHECKSUM TABLE; the
 * outbox without published_at_us, which the relay sets in the background): equal before and
 * after a call that failed means it wrote nothing. Fails the test unless every table is read.
 * Caller frees (or hands it to tf_expect_unchanged). */
char *tf_fingerprint(tf *t);

/* The checks below are macros so that a failure names the test's line; each *_at function does
 * the work for the macro of the same name. */

/* Fails the test unless the database's fingerprint now equals before (printing both when not).
 * Frees before. */
#define tf_expect_unchanged(t, before) tf_expect_unchanged_at((t), (before), __FILE__, __LINE__)

/* Fails the test unless got is want and err's message contains msg_part (NULL: any message). */
#define tf_expect_code(got, err, want, msg_part) \
  tf_expect_code_at((got), (err), (want), (msg_part), __FILE__, __LINE__)

/* Fails the test unless got is HD_OK, printing err's message. */
#define tf_expect_ok(got, err) tf_expect_code_at((got), (err), HD_OK, NULL, __FILE__, __LINE__)

/* Fails the test unless t->err's message contains text. */
#define tf_expect_err_has(t, text) tf_expect_err_has_at((t), (text), __FILE__, __LINE__)

/* Calls rpc as token (tf_call: the message in t->err) and fails the test unless it answers want
 * with msg_part (NULL: any) in its message and leaves the fingerprint as it was. */
#define tf_call_refused(t, rpc, token, req, resp_desc, want, msg_part)                      \
  tf_call_refused_at((t), (rpc), (token), (req), (resp_desc), (want), (msg_part), __FILE__, \
                     __LINE__)

/* Fails the test unless expr (a call whose message lands in t->err: tf_call with no err) answers
 * want and writes nothing (fingerprints before and after). */
#define TF_REFUSED(t, want, expr)                                               \
  do {                                                                          \
    char *tf_before_ = tf_fingerprint(t);                                       \
    const hd_code tf_got_ = (expr);                                             \
    tf_refused_at((t), tf_before_, tf_got_, (want), #expr, __FILE__, __LINE__); \
  } while (0)

/* Fails the test unless expr (as for TF_REFUSED) succeeds. */
#define TF_OK(t, expr) tf_ok_at((t), (expr), #expr, __FILE__, __LINE__)

void tf_expect_unchanged_at(tf *t, char *before, const char *file, int line);
void tf_expect_code_at(hd_code got, const hd_err *err, hd_code want, const char *msg_part,
                       const char *file, int line);
void tf_expect_err_has_at(const tf *t, const char *text, const char *file, int line);
void tf_call_refused_at(tf *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *resp_desc, hd_code want,
                        const char *msg_part, const char *file, int line);
void tf_refused_at(tf *t, char *before, hd_code got, hd_code want, const char *what,
                   const char *file, int line);
void tf_ok_at(const tf *t, hd_code got, const char *what, const char *file, int line);

#endif
