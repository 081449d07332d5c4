/* Claims: an AVAILABLE agent takes the oldest unclaimed ticket of a queue (or of their
 * departments' queues) under a lease with a fencing token, and becomes its owner through the
 * ticket service's AssignTicket, conditional on the ticket's version and the fence.
 *
 * One claim, step by step (ClaimNext):
 *  1. Redis: the kit's one atomic claim script over the agent's queues (hd_kv_queue_claim_any)
 *     leases the oldest free member with a fence of the tenant's counter, seeded after a wipe
 *     from routing_claim_fence_floor (the highest fence routing recorded);
 *  2. MariaDB, one transaction: the agent's row locked (capacity checked again under it, so one
 *     agent's concurrent claims cannot pass it together), the ticket's record locked and still
 *     waiting in that queue (else the member is stale: dropped, next one), no live claim of
 *     another fence on it (else skipped), then the claim row and the tenant's highest fence
 *     written: the fence is recorded BEFORE it is used;
 *  3. AssignTicket(owner = the agent, department = the queue, expected_version = the recorded
 *     version, fence). ABORTED (the version moved, or a newer fence wrote): the claim row goes,
 *     the member stays leased until this call ends, so the next round takes the next ticket;
 *  4. the record takes the owner and leaves the queue, a routing.claim_taken event is written,
 *     and the member leaves Redis's queue.
 * The claim then lives in MariaDB (claims.expires_at_us, the service clock) until the ticket
 * leaves PENDING_RESPONSE (the owner works it: the event ends the claim), is assigned by other
 * means (void), or the lease ends: released (ReleaseClaim) or expired (the claims loop), the
 * ticket waits again in its queue at its place by age, and routing.claim_released is written.
 * When the lease ends and the ticket service still names the claim's agent as the owner (the
 * claim's AssignTicket did, nobody reassigned it), routing releases it there too (TransferTicket
 * with release_to_queue, conditional on the version it read and the claim's fence): the ticket
 * is unowned again, a worked status back at PENDING_RESPONSE, and its ticket.released event
 * queues it. ReleaseClaim does that between its checks and its change, so that a refused release
 * changes nothing; an expired lease after its transaction (a failure is logged: the ticket waits
 * in routing all the same, and the next claim's AssignTicket takes it from the last owner). */
#ifndef ROUTING_CLAIMS_H
#define ROUTING_CLAIMS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "rpc/server.h"
#include "svc/service.h"

#define ROUTING_CLAIM_ATTEMPTS       16     /* tickets one ClaimNext tries before it gives up */
#define ROUTING_CLAIM_LEASE_MAX_S    3600   /* the longest lease_seconds */
#define ROUTING_CLAIM_KEY_MAX        128    /* idempotency_key */
#define ROUTING_CLAIM_REASON_MAX     2000   /* ReleaseClaim's reason */
#define ROUTING_CLAIM_EXPIRE_BATCH   100    /* expired claims returned per transaction */
#define ROUTING_CLAIM_EXPIRE_POLL_US 200000 /* real time between looks for expired claims */

#define ROUTING_EVENT_CLAIM_TAKEN    "routing.claim_taken"
#define ROUTING_EVENT_CLAIM_RELEASED "routing.claim_released"

/* Counters: claims by outcome (taken, empty, aborted, stale, at_capacity), lease expiries,
 * releases. */
#define ROUTING_METRIC_CLAIMS         "helpdesk_routing_claims_total"
#define ROUTING_METRIC_LEASE_EXPIRIES "helpdesk_routing_lease_expiries_total"
#define ROUTING_METRIC_RELEASES       "helpdesk_routing_claims_released_total"

/* The handlers (method table in service.c). */
int routing_claim_next(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int routing_renew_claim(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int routing_release_claim(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* The floor of tenant's fence counter: the highest fence routing recorded for it (claim_fences),
 * 0 when none. */
int routing_claim_fence_floor(hd_db *db, const char *tenant, int64_t *floor, hd_err *err);

/* Returns every claim whose lease ended at now_us to its queue: in one transaction per batch
 * (FOR UPDATE SKIP LOCKED, so replicas never return one twice) the claim row goes, the record
 * waits again in its department's queue (when still PENDING_RESPONSE) and routing.claim_released
 * (reason "expired") is written; after the commit the tickets go back into Redis at their place.
 * *returned (may be NULL) receives how many. */
int routing_claims_expire_due(hd_svc_env *env, hd_worker *w, int64_t now_us, int64_t *returned,
                              hd_err *err);

/* The background loop (hd_loop_fn), every ROUTING_CLAIM_EXPIRE_POLL_US: the queues are rebuilt
 * into Redis from MariaDB when Redis lacks them (routing_queues_ensure: at start, after any wipe),
 * expired leases are returned, and every 2 s the queue and escalation gauges are set. A failure is
 * logged once per outage and followed by a 1 s pause. */
void routing_claims_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop);

#endif
