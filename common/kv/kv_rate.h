/* Token buckets in Redis: one atomic script checks and takes from two buckets of one tenant, the
 * tenant's own and one caller's, on Redis's clock. The rpc edge's rate limits (rpc/rate_limit.h)
 * are built on it. */
#ifndef HD_KV_KV_RATE_H
#define HD_KV_KV_RATE_H

#include <stdint.h>

#include "kv/kv.h"

/* Largest rate (tokens a second) and burst (tokens held) of one bucket. */
#define HD_KV_RATE_MAX  1000000
#define HD_KV_BURST_MAX 10000000

/* One bucket's limit: it gains rate_per_s tokens a second up to burst; each call takes one.
 * rate_per_s 0: the bucket is not checked (unlimited). */
typedef struct hd_kv_rate {
  int64_t rate_per_s;
  int64_t burst;
} hd_kv_rate;

/* Which bucket refused a call. */
typedef enum hd_kv_rate_bucket {
  HD_KV_RATE_ALLOWED = 0,
  HD_KV_RATE_TENANT = 1,
  HD_KV_RATE_CALLER = 2
} hd_kv_rate_bucket;

/* Keys (the tenant, length-prefixed, is the hash tag, so both share a slot; a length prefix keeps
 * a tenant holding '}' or ':' from reaching another tenant's keys):
 *   "{rl:<len>:<tenant>}:t"            the tenant's bucket;
 *   "{rl:<len>:<tenant>}:c:<subject>"  the caller's.
 * Each is a hash {tokens, at_us} with a ttl of the time it takes to fill up again plus a second:
 * an idle bucket is full, so it may vanish. Redis's TIME is the clock (scripts are replicated by
 * their effects, the default since Redis 5 and the only mode of Redis 7), so the services' clocks
 * do not matter.
 *
 * Takes one token from each checked bucket when every checked bucket has one; otherwise takes
 * nothing (a refused call costs no one a token) and sets *refused to the bucket that refused
 * (the one with the longer wait when both do) and *retry_after_us to the time until it has a
 * token (> 0). Both limits 0: nothing is sent, *refused ALLOWED. tenant and subject: 1 to
 * HD_KV_MAX_NAME bytes; limits within HD_KV_RATE_MAX and HD_KV_BURST_MAX, burst >= 1 when rate
 * is set (INVALID_ARGUMENT otherwise). Redis unreachable: UNAVAILABLE, as every kv call. */
int hd_kv_rate_take(hd_kv *kv, const char *tenant, const char *subject, hd_kv_rate tenant_limit,
                    hd_kv_rate caller_limit, hd_kv_rate_bucket *refused, int64_t *retry_after_us,
                    hd_err *err);

/* As hd_kv_rate_take, asking for want tokens (1..HD_KV_BURST_MAX) at once: when every checked
 * bucket has one, takes from each as many as all of them hold, at most want, and sets *granted
 * to that count (1..want; want when no bucket is checked); a refusal takes nothing and sets
 * *granted 0. The rpc edge takes tokens ahead this way (rpc/rate_reserve.h). */
int hd_kv_rate_take_n(hd_kv *kv, const char *tenant, const char *subject, hd_kv_rate tenant_limit,
                      hd_kv_rate caller_limit, int64_t want, int64_t *granted,
                      hd_kv_rate_bucket *refused, int64_t *retry_after_us, hd_err *err);

#endif
