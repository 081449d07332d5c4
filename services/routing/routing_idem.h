/* Idempotency for routing's RPCs whose work is partly on the ticket service (escalations, the
 * hand-over): before calling the ticket service, a retry must be recognised, since the ticket has
 * moved on and the checks the first call passed would fail now. The claim itself stays the kit's
 * (svc/idem.h, in the transaction that records the result): rt_idem_lookup is the read before
 * it, rt_idem_claim the claim with the caller's key. */
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

/* The kit's claim of the caller's key (tenant and user id from c) for results of kind, inside
 * the caller's transaction at rt_now(c) (hd_idem_claim): *k is the key for hd_idem_set_result
 * (its strings borrowed from c, key and kind); *result_id > 0 when an earlier call with it made
 * that result (a retry: read it and return), 0 when this call makes it. An empty key claims
 * nothing (*result_id 0). 0 / -1. */
int rt_idem_claim(hd_db *db, hd_call *c, const char *key, const char *hash, const char *kind,
                  hd_idem_key *k, int64_t *result_id, hd_err *err);

#endif
