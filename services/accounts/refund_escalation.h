/* The escalation of an overdue card refund to the L2 consulting team through the routing
 * service, exactly once per card verification.
 *
 * accounts_escalate_refund is the one entry. It works in two steps:
 *  1. record: in its own transaction, under the verification's lock, and only while the refund
 *     is still overdue, it inserts the escalation request (refund_escalations, unique per
 *     verification) with the idempotency key "card-refund-<verification id>", state REQUESTED,
 *     audited (ESCALATE_CARD_REFUND) — or finds the one recorded before, so asking twice
 *     records once;
 *  2. send: the call to RoutingService (EscalateToDepartment with that idempotency key and the
 *     department HELPDESK_ACCOUNTS_REFUND_DEPARTMENT), and then state SENT with the routing
 *     service's escalation id. The key makes a repeated send (a retry, a second replica, a
 *     second CheckCardVerificationRefund) escalate once on the routing side too.
 * The escalation is a CONSULT (the ticket stays where it is, the L2 team gets an internal note
 * on it) on the ticket the first overdue check named, recorded with it. When routing cannot be
 * reached or refuses, the answer is still OK and carries the escalation REQUESTED with attempts
 * and last_error: it is recorded for good and sent again, the same request under the same key,
 * by the next CheckCardVerificationRefund; once SENT it is never sent again. */
#ifndef ACCOUNTS_REFUND_ESCALATION_H
#define ACCOUNTS_REFUND_ESCALATION_H

#include <stdint.h>

#include "helpdesk/v1/accounts.pb-c.h"
#include "rpc/call.h"

#define REFUND_ESCALATION_KEY_PREFIX "card-refund-"

/* The idempotency key of verification_id's escalation ("card-refund-42"), in arena. */
char *refund_escalation_key(hd_arena *arena, int64_t verification_id);

/* Escalates the overdue refund v (as card_refund_get read it for the call c) once on ticket_id
 * (required, > 0, when nothing is recorded yet: else INVALID_ARGUMENT): steps 1 and 2 above.
 * v->escalation is set to the escalation as it then stands; when the refund turned out not overdue
 * any more under the lock (refunded meanwhile), v is updated and nothing recorded. 0, or -1 with
 * err set (the record's failure; a failed send is not an error: the escalation stays REQUESTED with
 * last_error set, and the next call sends it again). */
int accounts_escalate_refund(hd_call *c, Helpdesk__V1__CardVerificationRefund *v, int64_t ticket_id,
                             hd_err *err);

/* Reads the escalation of verification_id, *out NULL when there is none. In arena. */
int refund_escalation_get(hd_db *db, const char *tenant, int64_t verification_id, hd_arena *arena,
                          Helpdesk__V1__RefundEscalation **out, hd_err *err);

#endif
