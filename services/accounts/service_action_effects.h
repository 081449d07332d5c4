/* What a recorded service action makes on the ticket and in routing, after its row committed:
 * the screenshot's attachment (an email test), the escalation (an ESCALATE rule, a failed
 * restore) under the key "service-action-<id>", and the internal record that tells the team
 * what was done; for a clean-up, its own internal record. Each result is kept on the row as soon
 * as it comes (sa_store_set_sent), so a retry of the same RecordServiceAction does only what is
 * still pending: routing's escalation is idempotent by its key; the ticket service's record and
 * attachment are not, so two concurrent retries of one pending step may both write it (the row
 * keeps the first). A failed call is not the action's failure: the row keeps last_error and the
 * answer shows what is pending. */
#ifndef ACCOUNTS_SERVICE_ACTION_EFFECTS_H
#define ACCOUNTS_SERVICE_ACTION_EFFECTS_H

#include "rpc/server.h"
#include "service_action_store.h"

/* Does what row (as read after the commit) still owes the ticket and routing services, then
 * re-reads it into *row. Always leaves call->err as it was; failures are kept in last_error. */
void sa_effects_run(hd_call *c, sa_row *row);

/* Writes the clean-up's internal record when it is recorded and its note still pending, then
 * re-reads *row. As sa_effects_run for failures. */
void sa_effects_cleanup(hd_call *c, sa_row *row);

/* The escalation's idempotency key of action id ("service-action-42"), in arena. */
char *sa_escalation_key(hd_arena *arena, int64_t id);

#endif
