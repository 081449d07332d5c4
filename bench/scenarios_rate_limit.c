/* rate_limit_script: what the edge's rate-limit check adds to every call, measured alone: the
 * token-bucket script (kv/kv_rate.h, one EVALSHA over the tenant's and a caller's bucket) on a
 * connection per worker, each worker its own caller of one tenant, with limits no run reaches.
 * Compare with redis_script (the claim script on an empty queue), the floor of a script call.
 * Redis is the services' (HELPDESK_REDIS_HOST / HELPDESK_REDIS_PORT). */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_rate_limit.h"
#include "kv/kv.h"
#include "kv/kv_rate.h"

static int rate_op(bench_worker *w, hd_arena *a, hd_err *err) {
  (void)a;
  bench_kv_workers *s = w->shared;
  char caller[32];
  snprintf(caller, sizeof caller, "bench-caller-%u", w->index);
  const hd_kv_rate high = {HD_KV_RATE_MAX, HD_KV_BURST_MAX};
  hd_kv_rate_bucket refused = HD_KV_RATE_ALLOWED;
  int64_t wait_us = 0;
  if (hd_kv_rate_take(s->kv[w->index], "hd-bench-rate", caller, high, high, &refused, &wait_us,
                      err))
    return -1;
  if (refused != HD_KV_RATE_ALLOWED)
    return hd_err_set(err, HD_INTERNAL, "the bench's rate limit refused a call (bucket %d)",
                      (int)refused);
  return 0;
}

const bench_scenario bench_rate_limit_script = {
    .name = "rate_limit_script",
    .what = "the edge's rate-limit check alone: one EVALSHA over a tenant's and a caller's bucket",
    .prepare = bench_kv_workers_prepare,
    .op = rate_op,
    .cleanup = bench_kv_workers_cleanup};
