/* Idempotency for routing's RPCs whose work is partly on the ticket service (escalations, the
 * hand-over): before calling the ticket service, a retry must be recognised, since the ticket has
 * moved on and the checks the first call passed would fail now. The claim itself stays the kit's
 * (svc/idem.h, in the transaction that records the result); this is the read before it. */
#ifndef ROUTING_ROUTING_IDEM_H
#define ROUTING_ROUTING_IDEM_H

#include <stdint.h>

#include "rpc/server.h"
#include "svc/idem.h"

/* Looks up the caller's key (tenant and user id from c) on the worker's connection: *result_id
 * is the first call's result when the key is in use for this very request (hash), 0 when it is
 * new, expired or still being claimed. ALREADY_EXISTS (call->err) when it was used for another
 * request, naming kind ("escalation 42"). 0 / -1. */
int rt_idem_lookup(hd_call *c, const char *key, const char *hash, const char *kind,
                   int64_t *result_id);

#endif
