/* Rate limits at the rpc edge: every authenticated call takes a token from its tenant's bucket
 * and from its caller's (tenant + subject), token buckets in Redis (kv/kv_rate.h), checked by the
 * dispatcher after the token and the roles, before the request is unpacked. A call over a limit
 * gets RESOURCE_EXHAUSTED naming the bucket, with the retry delay (hd_err.retry_after_ms).
 * A busy caller's tokens are taken a few at a time and the spare ones held by the process for a
 * moment (rate_reserve.h): one Redis script per lease, not per call, and never a call its buckets
 * did not pay for.
 * Health and the other HD_METHOD_PUBLIC methods carry no token and are not limited, nor is
 * /metrics (not gRPC). A streaming call takes its token when its thread has its worker (its Redis
 * connection), before the handler runs: opening a stream costs one token. When Redis
 * does not answer, the limits fail open: the call goes on and helpdesk_rate_limit_fail_open_total
 * counts it. */
#ifndef HD_RPC_RATE_LIMIT_H
#define HD_RPC_RATE_LIMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "kv/kv.h"
#include "kv/kv_rate.h"
#include "metrics/metrics.h"
#include "rpc/rate_reserve.h"

/* Counters: calls refused (label bucket = tenant | caller), and calls let through unchecked
 * because Redis did not answer. */
#define HD_METRIC_RATE_LIMITED         "helpdesk_rate_limited_total"
#define HD_METRIC_RATE_LIMIT_FAIL_OPEN "helpdesk_rate_limit_fail_open_total"

/* Roles, in hd_role's bit order (customer .. service). */
#define HD_RATE_ROLES 6

/* After Redis failed a check, calls skip it (fail open at once) for this long, so an outage costs
 * one slow call a second rather than one per call. */
#define HD_RATE_LIMIT_BACKOFF_US 1000000

/* The defaults (generous: an interactive user is far below them; make test and the bench are
 * too), each overridden by its setting:
 *   HELPDESK_RATE_LIMIT_TENANT        5000/s:10000  every caller of a tenant but `service`;
 *   HELPDESK_RATE_LIMIT_CUSTOMER       100/s:1000;
 *   HELPDESK_RATE_LIMIT_AGENT,
 *   _TEAM_LEAD, _SUPERVISOR,
 *   _TENANT_ADMIN                      500/s:2000;
 *   HELPDESK_RATE_LIMIT_SERVICE      20000/s:40000 (service-to-service calls: its own bucket
 *                                                   only, never the tenant's);
 *   HELPDESK_RATE_LIMITS               on | off (off: no limits, Redis is never asked). */
typedef struct hd_rate_limits {
  bool enabled;
  hd_kv_rate tenant;
  hd_kv_rate role[HD_RATE_ROLES]; /* the caller's bucket, by the role that gives it */
  hd_metrics *metrics;            /* borrowed; may be NULL */
  /* The Redis connection of the worker thread serving the call (hd_worker's), or NULL. */
  hd_kv *(*worker_kv)(void *worker);
  hd_rate_reserve *reserve;      /* owned: tokens leased ahead (NULL when disabled) */
  _Atomic int64_t skip_until_us; /* monotonic: Redis failed, fail open until then */
  _Atomic bool failing;          /* logged once per outage */
} hd_rate_limits;

/* Fills *out from the settings above (every value validated: INVALID_ARGUMENT naming the
 * variable), with metrics and worker_kv as given (borrowed), creates the counters at 0 so they
 * are scraped before the first refusal, and (when enabled) the reserve of leased tokens. Caller
 * frees with hd_rate_limits_fini(), also after a failed load. */
int hd_rate_limits_load(hd_rate_limits *out, hd_metrics *metrics, hd_kv *(*worker_kv)(void *),
                        hd_err *err);

/* Frees what load made (the reserve); NULL is a no-op. No call may be using rl. */
void hd_rate_limits_fini(hd_rate_limits *rl);

/* The caller's limit: of the roles p holds, the most generous (unlimited beats any rate); the
 * tenant's limit, or none (rate 0) for a `service` caller. */
void hd_rate_limits_for(const hd_rate_limits *rl, const hd_principal *p, hd_kv_rate *tenant,
                        hd_kv_rate *caller);

/* The edge's check for one call of p on the worker's connection (rl NULL or disabled, or no
 * worker: 0 at once): 0 when the call may go on (also when Redis failed: fail open, counted, logged
 * once per outage); -1 with err RESOURCE_EXHAUSTED naming the bucket and the wait, retry_after_ms
 * set. Runs on a worker thread; rl is shared by all of them. */
int hd_rate_limit_admit(hd_rate_limits *rl, void *worker, const hd_principal *p, hd_err *err);

#endif
