/* The ticket's status life cycle: every status-changing operation and the statuses it may start
 * from, as ONE table (ticket_state.c). Handlers ask ticket_transition() before they change a
 * status; anything not in the table is FAILED_PRECONDITION naming what the caller sent and the
 * status.
 *
 *   op                from                                                  to
 *   ACKNOWLEDGE       PENDING_RESPONSE, FEEDBACK, PROCESSING (progress)     PROCESSING
 *   REQUEST_INFO      PENDING_RESPONSE, PROCESSING, FEEDBACK, PENDING_FEEDBACK   PENDING_FEEDBACK
 *   PROPOSE_SOLUTION  (same as REQUEST_INFO)                                PENDING_FEEDBACK
 *   FOLLOW_UP         PENDING_FEEDBACK                                      PENDING_FEEDBACK
 *   FOLLOW_UP_LAST    PENDING_FEEDBACK                                      TO_BE_CONFIRMED
 *   FINAL_ANSWER      PENDING_RESPONSE, PROCESSING, PENDING_FEEDBACK, FEEDBACK   TO_BE_CONFIRMED
 *   CUSTOMER_REPLY    PROCESSING, PENDING_FEEDBACK, FEEDBACK, TO_BE_CONFIRMED    FEEDBACK
 *                     PENDING_RESPONSE (nobody picked it up yet)            PENDING_RESPONSE
 *   OTHER_ANSWER      (same as CUSTOMER_REPLY)                              (same)
 *   CLOSE             every open status (SUSPENDED included)                CLOSED
 *   AUTO_CLOSE        TO_BE_CONFIRMED                                       CLOSED
 *   CANCEL            every open status (SUSPENDED included)                CANCELLED
 *   SUSPEND           PENDING_RESPONSE, PROCESSING, PENDING_FEEDBACK, FEEDBACK   SUSPENDED
 *   RESUME            SUSPENDED                                             facts->suspended_from
 *   RESTART           CLOSED, CANCELLED                       PROCESSING if facts->has_owner,
 *                                                             else PENDING_RESPONSE
 *   MERGE_CLOSE       every open status (SUSPENDED included)                CLOSED
 *   RELEASE           PENDING_RESPONSE, PROCESSING, PENDING_FEEDBACK,       PENDING_RESPONSE
 *                     FEEDBACK, TO_BE_CONFIRMED
 *                     SUSPENDED                                             SUSPENDED
 *
 * "Open" is every status but CLOSED and CANCELLED. TO_BE_CONFIRMED is not suspendable: its
 * auto-close timer runs. A customer's reply to a SUSPENDED ticket is refused: the ticket is on
 * hold; it is resumed (or restarted once closed) first.
 *
 * OTHER_ANSWER is the seed's "Feedback: the ticket has been addressed by another engineer or
 * support agent": a customer-visible answer (a comment, a reply) by staff who are not the owner
 * of an owned ticket. Like a customer's reply it asks the owner to act, so it stops the
 * follow-ups and the auto-close (the handler clears the timer and the follow-up count). A
 * comment on a status the op has no row for (SUSPENDED) leaves the status alone; internal records
 * never change it.
 *
 * Owned statuses (ticket_status_needs_owner): PROCESSING, PENDING_FEEDBACK, FEEDBACK and
 * TO_BE_CONFIRMED mean someone works the ticket, so a ticket in one of them always has an owner.
 * The store's change pipeline refuses any change that would leave one without
 * (ticket_check_owned), whatever the operation: an unowned ticket is assigned first.
 *
 * RELEASE is the one way back to a queue (TransferTicket with release_to_queue: a shift's
 * hand-over, a claim released or expired): the owner goes, so a worked status goes back to
 * "awaiting attention" (PENDING_RESPONSE) and its timers stop. A SUSPENDED ticket stays on hold;
 * the handler points its suspended_from at PENDING_RESPONSE when it named a worked status, so
 * that RESUME cannot lead to an owned status without an owner.
 *
 * Rules that need more than the status (a merged ticket cannot be restarted, who may do what,
 * whether a caller is "another engineer") are the handlers'. */
#ifndef TICKETS_TICKET_STATE_H
#define TICKETS_TICKET_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "helpdesk/v1/tickets.pb-c.h"

/* The contract's TicketStatus under short names; the numbers are the .proto's, so a value
 * converts to and from Helpdesk__V1__TicketStatus with a cast (see the helpers below). */
typedef enum ticket_status {
  TICKET_STATUS_NONE = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_UNSPECIFIED,
  TICKET_PENDING_RESPONSE = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE,
  TICKET_PROCESSING = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PROCESSING,
  TICKET_PENDING_FEEDBACK = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_FEEDBACK,
  TICKET_FEEDBACK = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_FEEDBACK,
  TICKET_TO_BE_CONFIRMED = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_TO_BE_CONFIRMED,
  TICKET_CLOSED = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED,
  TICKET_SUSPENDED = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SUSPENDED,
  TICKET_CANCELLED = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CANCELLED
} ticket_status;

#define TICKET_STATUS_COUNT 9 /* NONE .. CANCELLED */

static inline ticket_status ticket_status_from_pb(Helpdesk__V1__TicketStatus s) {
  return (ticket_status)s;
}
static inline Helpdesk__V1__TicketStatus ticket_status_to_pb(ticket_status s) {
  return (Helpdesk__V1__TicketStatus)s;
}

/* Every operation that may change a ticket's status. */
typedef enum ticket_op {
  TICKET_OP_ACKNOWLEDGE,
  TICKET_OP_REQUEST_INFO,
  TICKET_OP_PROPOSE_SOLUTION,
  TICKET_OP_FOLLOW_UP,      /* a follow-up that is not the configured last unanswered one */
  TICKET_OP_FOLLOW_UP_LAST, /* the configured last unanswered follow-up (default the 3rd) */
  TICKET_OP_FINAL_ANSWER,
  TICKET_OP_CUSTOMER_REPLY,
  TICKET_OP_CLOSE,
  TICKET_OP_AUTO_CLOSE,
  TICKET_OP_CANCEL,
  TICKET_OP_SUSPEND,
  TICKET_OP_RESUME,
  TICKET_OP_RESTART,
  TICKET_OP_MERGE_CLOSE,
  TICKET_OP_OTHER_ANSWER, /* a customer-visible answer by staff other than the owner */
  TICKET_OP_RELEASE,      /* the owner goes: the ticket waits in its department's queue again */
  TICKET_OP_COUNT
} ticket_op;

/* What some operations need to know besides the status. */
typedef struct ticket_facts {
  ticket_status suspended_from; /* RESUME: the status the ticket had before SUSPENDED */
  bool has_owner;               /* RESTART: the ticket has an owner */
  const char *request; /* what the caller sent, for messages: "CloseTicket", "ReplyToTicket with
                          intent FOLLOW_UP"; NULL for the service's own changes (timers), whose
                          messages name the operation, for logs. Borrowed. */
} ticket_facts;

/* Whether op may start from `from`, and the status it leads to. facts may be NULL for every op
 * but RESUME (NULL there is treated as "no status to resume to") and RESTART (NULL = no owner),
 * and is NULL for the timers. 0 with *to set, or -1 with err:
 *  - FAILED_PRECONDITION "<request> is not possible on a ticket in status <STATUS>" (for
 *    AddCustomerReply on a CLOSED or CANCELLED ticket followed by what to do instead); without a
 *    request, "operation <OP> does not apply to a ticket in status <STATUS>";
 *  - INTERNAL when a SUSPENDED ticket has no valid status to resume to (a damaged row);
 *  - INVALID_ARGUMENT for an op or status outside the enums. */
int ticket_transition(ticket_op op, ticket_status from, const ticket_facts *facts,
                      ticket_status *to, hd_err *err);

/* Whether the table allows op from `from` (no message, no facts needed). */
bool ticket_transition_allowed(ticket_op op, ticket_status from);

/* True for the statuses someone works the ticket in: PROCESSING, PENDING_FEEDBACK, FEEDBACK and
 * TO_BE_CONFIRMED. A ticket in one of them always has an owner. */
bool ticket_status_needs_owner(ticket_status s);

/* The owner rule, for the store to apply to every change it writes: 0 unless status needs an
 * owner and has_owner is false; then -1 with FAILED_PRECONDITION "ticket 42 has no owner, and a
 * ticket in status PROCESSING must have one: assign it first (AssignTicket)". */
int ticket_check_owned(ticket_status status, bool has_owner, int64_t ticket_id, hd_err *err);

/* True for every status but CLOSED and CANCELLED (and NONE). */
bool ticket_status_is_open(ticket_status s);

/* "PENDING_RESPONSE" ... "CANCELLED"; "UNSPECIFIED" for NONE; "UNKNOWN" outside the enum.
 * Static storage. These are the names stored in the tickets schema. */
const char *ticket_status_name(ticket_status s);

/* Parses a status name as ticket_status_name gives it (exact). 0, or -1 when unknown or
 * "UNSPECIFIED". */
int ticket_status_parse(const char *name, size_t len, ticket_status *out);

/* "ACKNOWLEDGE" ... "RELEASE"; "UNKNOWN" outside the enum. Static storage. These are the
 * actions written to history and events, not words for a caller (see ticket_facts.request). */
const char *ticket_op_name(ticket_op op);

#endif
