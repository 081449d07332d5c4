/* The allowed status transitions, as one table (see ticket_state.h for it in words). */
#include "ticket_state.h"

#include <inttypes.h>
#include <string.h>

#define BIT(s) (1u << (unsigned)(s))
#define OPEN_SET                                                                          \
  (BIT(TICKET_PENDING_RESPONSE) | BIT(TICKET_PROCESSING) | BIT(TICKET_PENDING_FEEDBACK) | \
   BIT(TICKET_FEEDBACK) | BIT(TICKET_TO_BE_CONFIRMED) | BIT(TICKET_SUSPENDED))
/* Statuses someone works on or waits on: not new-and-done, not on hold, not finished. */
#define ACTIVE_SET                                                                        \
  (BIT(TICKET_PENDING_RESPONSE) | BIT(TICKET_PROCESSING) | BIT(TICKET_PENDING_FEEDBACK) | \
   BIT(TICKET_FEEDBACK))

/* Statuses someone works the ticket in: never without an owner. */
#define OWNED_SET                                                                 \
  (BIT(TICKET_PROCESSING) | BIT(TICKET_PENDING_FEEDBACK) | BIT(TICKET_FEEDBACK) | \
   BIT(TICKET_TO_BE_CONFIRMED))
/* Where an answer from someone else than the owner asks the owner to act. */
#define ANSWERED_SET OWNED_SET

/* Where a row leads: a fixed status, or one decided by the ticket's facts. */
typedef enum state__target {
  TARGET_FIXED,
  TARGET_SUSPENDED_FROM, /* RESUME */
  TARGET_RESTART         /* PROCESSING with an owner, else PENDING_RESPONSE */
} state__target;

typedef struct state__row {
  ticket_op op;
  unsigned from; /* bit set of ticket_status */
  state__target target;
  ticket_status to; /* TARGET_FIXED */
} state__row;

/* THE table. An (op, from) pair matches at most one row. */
static const state__row STATE_TABLE[] = {
    {TICKET_OP_ACKNOWLEDGE,
     BIT(TICKET_PENDING_RESPONSE) | BIT(TICKET_FEEDBACK) | BIT(TICKET_PROCESSING), TARGET_FIXED,
     TICKET_PROCESSING},
    {TICKET_OP_REQUEST_INFO, ACTIVE_SET, TARGET_FIXED, TICKET_PENDING_FEEDBACK},
    {TICKET_OP_PROPOSE_SOLUTION, ACTIVE_SET, TARGET_FIXED, TICKET_PENDING_FEEDBACK},
    {TICKET_OP_FOLLOW_UP, BIT(TICKET_PENDING_FEEDBACK), TARGET_FIXED, TICKET_PENDING_FEEDBACK},
    {TICKET_OP_FOLLOW_UP_LAST, BIT(TICKET_PENDING_FEEDBACK), TARGET_FIXED, TICKET_TO_BE_CONFIRMED},
    {TICKET_OP_FINAL_ANSWER, ACTIVE_SET, TARGET_FIXED, TICKET_TO_BE_CONFIRMED},
    {TICKET_OP_CUSTOMER_REPLY, ANSWERED_SET, TARGET_FIXED, TICKET_FEEDBACK},
    {TICKET_OP_CUSTOMER_REPLY, BIT(TICKET_PENDING_RESPONSE), TARGET_FIXED, TICKET_PENDING_RESPONSE},
    {TICKET_OP_OTHER_ANSWER, ANSWERED_SET, TARGET_FIXED, TICKET_FEEDBACK},
    {TICKET_OP_OTHER_ANSWER, BIT(TICKET_PENDING_RESPONSE), TARGET_FIXED, TICKET_PENDING_RESPONSE},
    {TICKET_OP_CLOSE, OPEN_SET, TARGET_FIXED, TICKET_CLOSED},
    {TICKET_OP_AUTO_CLOSE, BIT(TICKET_TO_BE_CONFIRMED), TARGET_FIXED, TICKET_CLOSED},
    {TICKET_OP_CANCEL, OPEN_SET, TARGET_FIXED, TICKET_CANCELLED},
    {TICKET_OP_SUSPEND, ACTIVE_SET, TARGET_FIXED, TICKET_SUSPENDED},
    {TICKET_OP_RESUME, BIT(TICKET_SUSPENDED), TARGET_SUSPENDED_FROM, TICKET_STATUS_NONE},
    {TICKET_OP_RESTART, BIT(TICKET_CLOSED) | BIT(TICKET_CANCELLED), TARGET_RESTART,
     TICKET_STATUS_NONE},
    {TICKET_OP_MERGE_CLOSE, OPEN_SET, TARGET_FIXED, TICKET_CLOSED},
    {TICKET_OP_RELEASE, BIT(TICKET_PENDING_RESPONSE) | OWNED_SET, TARGET_FIXED,
     TICKET_PENDING_RESPONSE},
    {TICKET_OP_RELEASE, BIT(TICKET_SUSPENDED), TARGET_FIXED, TICKET_SUSPENDED},
};

static const char *const STATUS_NAMES[TICKET_STATUS_COUNT] = {
    [TICKET_STATUS_NONE] = "UNSPECIFIED", [TICKET_PENDING_RESPONSE] = "PENDING_RESPONSE",
    [TICKET_PROCESSING] = "PROCESSING",   [TICKET_PENDING_FEEDBACK] = "PENDING_FEEDBACK",
    [TICKET_FEEDBACK] = "FEEDBACK",       [TICKET_TO_BE_CONFIRMED] = "TO_BE_CONFIRMED",
    [TICKET_CLOSED] = "CLOSED",           [TICKET_SUSPENDED] = "SUSPENDED",
    [TICKET_CANCELLED] = "CANCELLED",
};

static const char *const OP_NAMES[TICKET_OP_COUNT] = {
    [TICKET_OP_ACKNOWLEDGE] = "ACKNOWLEDGE",
    [TICKET_OP_REQUEST_INFO] = "REQUEST_INFO",
    [TICKET_OP_PROPOSE_SOLUTION] = "PROPOSE_SOLUTION",
    [TICKET_OP_FOLLOW_UP] = "FOLLOW_UP",
    [TICKET_OP_FOLLOW_UP_LAST] = "FOLLOW_UP_LAST",
    [TICKET_OP_FINAL_ANSWER] = "FINAL_ANSWER",
    [TICKET_OP_CUSTOMER_REPLY] = "CUSTOMER_REPLY",
    [TICKET_OP_CLOSE] = "CLOSE",
    [TICKET_OP_AUTO_CLOSE] = "AUTO_CLOSE",
    [TICKET_OP_CANCEL] = "CANCEL",
    [TICKET_OP_SUSPEND] = "SUSPEND",
    [TICKET_OP_RESUME] = "RESUME",
    [TICKET_OP_RESTART] = "RESTART",
    [TICKET_OP_MERGE_CLOSE] = "MERGE_CLOSE",
    [TICKET_OP_OTHER_ANSWER] = "OTHER_ANSWER",
    [TICKET_OP_RELEASE] = "RELEASE",
};

static bool state__status_valid(ticket_status s) { return (unsigned)s < TICKET_STATUS_COUNT; }

static const state__row *state__find(ticket_op op, ticket_status from) {
  if (!state__status_valid(from) || from == TICKET_STATUS_NONE) return NULL;
  for (size_t i = 0; i < sizeof STATE_TABLE / sizeof STATE_TABLE[0]; i++) {
    if (STATE_TABLE[i].op == op && (STATE_TABLE[i].from & BIT(from))) return &STATE_TABLE[i];
  }
  return NULL;
}

bool ticket_transition_allowed(ticket_op op, ticket_status from) {
  return state__find(op, from) != NULL;
}

int ticket_transition(ticket_op op, ticket_status from, const ticket_facts *facts,
                      ticket_status *to, hd_err *err) {
  if ((unsigned)op >= TICKET_OP_COUNT)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "unknown ticket operation %d", (int)op);
  if (!state__status_valid(from))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "unknown ticket status %d", (int)from);
  const char *request = facts ? facts->request : NULL;
  const state__row *row = state__find(op, from);
  if (!row) {
    if (!request)
      hd_err_set(err, HD_FAILED_PRECONDITION,
                 "operation %s does not apply to a ticket in status %s", OP_NAMES[op],
                 STATUS_NAMES[from]);
    else if (op == TICKET_OP_CUSTOMER_REPLY && (from == TICKET_CLOSED || from == TICKET_CANCELLED))
      hd_err_set(err, HD_FAILED_PRECONDITION,
                 "%s is not possible on a ticket in status %s: open a new ticket, or ask "
                 "for this one to be restarted",
                 request, STATUS_NAMES[from]);
    else
      hd_err_set(err, HD_FAILED_PRECONDITION, "%s is not possible on a ticket in status %s",
                 request, STATUS_NAMES[from]);
    return hd_err_reason(err, HD_REASON_INVALID_TRANSITION);
  }
  switch (row->target) {
    case TARGET_FIXED:
      *to = row->to;
      return 0;
    case TARGET_SUSPENDED_FROM: {
      const ticket_status back = facts ? facts->suspended_from : TICKET_STATUS_NONE;
      /* Only a status SUSPEND could have started from is a valid way back. */
      if (!state__status_valid(back) || !ticket_transition_allowed(TICKET_OP_SUSPEND, back))
        return hd_err_set(err, HD_INTERNAL,
                          "%s: the suspended ticket has no valid status to resume to (%s)",
                          request ? request : "operation RESUME", ticket_status_name(back));
      *to = back;
      return 0;
    }
    case TARGET_RESTART:
      *to = facts && facts->has_owner ? TICKET_PROCESSING : TICKET_PENDING_RESPONSE;
      return 0;
  }
  return hd_err_set(err, HD_INTERNAL, "ticket transition table is damaged");
}

bool ticket_status_needs_owner(ticket_status s) {
  return state__status_valid(s) && (OWNED_SET & BIT(s)) != 0;
}

int ticket_check_owned(ticket_status status, bool has_owner, int64_t ticket_id, hd_err *err) {
  if (has_owner || !ticket_status_needs_owner(status)) return 0;
  hd_err_set(err, HD_FAILED_PRECONDITION,
             "ticket %" PRId64
             " has no owner, and a ticket in status %s must have one: "
             "assign it first (AssignTicket)",
             ticket_id, STATUS_NAMES[status]);
  return hd_err_reason(err, HD_REASON_OWNER_REQUIRED);
}

bool ticket_status_is_open(ticket_status s) {
  return state__status_valid(s) && (OPEN_SET & BIT(s)) != 0;
}

const char *ticket_status_name(ticket_status s) {
  return state__status_valid(s) ? STATUS_NAMES[s] : "UNKNOWN";
}

int ticket_status_parse(const char *name, size_t len, ticket_status *out) {
  if (!name) return -1;
  for (unsigned s = TICKET_PENDING_RESPONSE; s < TICKET_STATUS_COUNT; s++) {
    if (strlen(STATUS_NAMES[s]) == len && memcmp(STATUS_NAMES[s], name, len) == 0) {
      *out = (ticket_status)s;
      return 0;
    }
  }
  return -1;
}

const char *ticket_op_name(ticket_op op) {
  return (unsigned)op < TICKET_OP_COUNT ? OP_NAMES[op] : "UNKNOWN";
}
