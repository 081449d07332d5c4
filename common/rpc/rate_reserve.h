/* Tokens taken ahead: the rpc edge's rate limits (rate_limit.h) ask Redis for a caller's tokens
 * a few at a time (hd_kv_rate_take_n) and hold the spare ones here for that caller's next calls,
 * so a busy caller costs Redis one script per lease instead of one per call.
 *
 * No call is let through that its buckets did not pay for: every token held was taken from both
 * of the caller's buckets in Redis. What a lease changes is who spends a token and when: a token
 * held here is this process's for at most HD_RATE_RESERVE_US, then dropped (unspent, so a lease
 * only ever makes the limit stricter). A lease starts at one token, doubles while the caller
 * spends each lease within its lifetime and halves when one is dropped unspent, up to a cap the
 * caller of rate_limit.c sets from the limits (a twentieth of a second's worth of the slower
 * bucket): a caller of a few calls a second always leases one, as without a reserve.
 *
 * Bounded: a fixed number of slots chosen at creation, one per (tenant, subject), a new caller
 * taking the slot its key hashes to (the tokens held there are dropped). Keys compare byte for
 * byte. Thread-safe (striped mutexes). */
#ifndef HD_RPC_RATE_RESERVE_H
#define HD_RPC_RATE_RESERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define HD_RATE_RESERVE_SLOTS 1024u  /* a service's reserve */
#define HD_RATE_RESERVE_MAX   65536u /* the most slots a reserve may have */
#define HD_RATE_RESERVE_US    50000  /* a leased token is held at most this long */
#define HD_RATE_LEASE_MAX     64     /* the most tokens one lease asks for */

typedef struct hd_rate_reserve hd_rate_reserve;

/* A reserve of `slots` (1..HD_RATE_RESERVE_MAX) callers. INVALID_ARGUMENT outside that range,
 * RESOURCE_EXHAUSTED out of memory. Caller frees with hd_rate_reserve_free(). */
int hd_rate_reserve_new(size_t slots, hd_rate_reserve **out, hd_err *err);

/* NULL is a no-op. No call may be using the reserve. */
void hd_rate_reserve_free(hd_rate_reserve *r);

/* Spends one held token of (tenant, subject) when one is held and was leased less than
 * HD_RATE_RESERVE_US before now_us (a monotonic clock): true. Otherwise false, and *want is the
 * size of the lease to ask Redis for (1..cap, cap clamped to 1..HD_RATE_LEASE_MAX). */
bool hd_rate_reserve_spend(hd_rate_reserve *r, const char *tenant, const char *subject, int64_t cap,
                           int64_t now_us, int64_t *want);

/* Records a lease Redis granted at now_us: granted (>= 1) less the one the call that asked spends
 * itself is held (from now_us); a lease of one holds nothing but times the next one. */
void hd_rate_reserve_hold(hd_rate_reserve *r, const char *tenant, const char *subject,
                          int64_t granted, int64_t now_us);

#endif
