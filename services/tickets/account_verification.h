/* A ticket's account verifications (the account_verifications table) and the rule they carry:
 * until the ticket's latest verification succeeded, its owner's replies other than ACKNOWLEDGE
 * wait, unless the tenant made verification optional (TenantSettings). VerifyTicketAccount
 * (handlers_verify.c) writes rows; ReplyToTicket asks account_verification_gate; rows are never
 * changed. Call inside the handler's transaction; strings passed in are borrowed, strings handed
 * out live in the arena. */
#ifndef TICKETS_ACCOUNT_VERIFICATION_H
#define TICKETS_ACCOUNT_VERIFICATION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/tickets.pb-c.h"

#define TICKET_EVENT_ACCOUNT_VERIFIED "ticket.account_verified" /* VerifyTicketAccount */

#define ACCOUNT_VERIFICATION_DOMAIN_MAX      253 /* domain, hostname (the accounts' limit) */
#define ACCOUNT_VERIFICATION_RESOURCE_ID_MAX 128
#define ACCOUNT_VERIFICATION_MESSAGE_MAX     500 /* the accounts' reason in words, characters */

/* The gate's refusal, for tests and callers that match on it. */
#define ACCOUNT_VERIFICATION_REQUIRED_TEXT \
  "the customer's account and service must be verified first (VerifyTicketAccount)"

/* Inserts v (its ticket_id, customer_id, what was asked, verified, reason, message,
 * matched_service_id, verified_by, verified_by_role, create_time_us; id is ignored) for tenant and
 * sets v->id to the new row's id. A message longer than ACCOUNT_VERIFICATION_MESSAGE_MAX
 * characters is cut there (at a character's boundary); one that is not UTF-8 is replaced by a
 * note saying so. The caller validated the rest. */
int account_verification_insert(hd_db *db, const char *tenant, Helpdesk__V1__AccountVerification *v,
                                hd_err *err);

/* What a ticket's verifications mean now: *latest the latest row (NULL when never verified; in
 * arena), *required whether the tenant requires a verification (its settings), *allowed whether
 * the owner's replies may go out (not required, or the latest succeeded). Any out-pointer but
 * allowed may be NULL. A plain read: no row is locked. */
int account_verification_state(hd_db *db, const char *tenant, int64_t ticket_id, hd_arena *arena,
                               Helpdesk__V1__AccountVerification **latest, bool *required,
                               bool *allowed, hd_err *err);

/* The reply gate: 0 when an owner's reply (named in request, "ReplyToTicket with intent
 * FINAL_ANSWER") may go out on ticket_id, else FAILED_PRECONDITION "<request> on ticket 42: the
 * customer's account and service must be verified first (VerifyTicketAccount); <what the latest
 * verification said, or that there is none>". ACKNOWLEDGE is not asked about (the caller).
 * *settings (may be NULL) receives the tenant's settings it read, in arena, so the caller need
 * not read them again. */
int account_verification_gate(hd_db *db, const char *tenant, int64_t ticket_id, const char *request,
                              hd_arena *arena, Helpdesk__V1__TenantSettings **settings,
                              hd_err *err);

#endif
