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

typedef struct rate_shared {
  hd_kv **kv; /* one per worker */
  unsigned n;
} rate_shared;

static void rate_cleanup(void *shared) {
  rate_shared *s = shared;
  if (!s) return;
  for (unsigned i = 0; s->kv && i < s->n; i++) hd_kv_close(s->kv[i]);
  free(s->kv);
  free(s);
}

/* A Redis connection per worker. Caller frees *shared with rate_cleanup. */
static int rate_prepare(const bench_opts *o, hd_client *c, void **shared, hd_err *err) {
  (void)c;
  rate_shared *s = calloc(1, sizeof *s);
  *shared = s;
  if (!s || !(s->kv = calloc(o->concurrency, sizeof *s->kv)))
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  s->n = o->concurrency;
  for (unsigned i = 0; i < o->concurrency; i++)
    if (bench_kv_open(&s->kv[i], err) || hd_kv_ping(s->kv[i], err)) return -1;
  return 0;
}

static int rate_op(bench_worker *w, hd_arena *a, hd_err *err) {
  (void)a;
  rate_shared *s = w->shared;
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
    .prepare = rate_prepare,
    .op = rate_op,
    .cleanup = rate_cleanup};
