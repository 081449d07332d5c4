/* hd-bench: a load generator on the gRPC core client. A scenario is one operation (one or several
 * calls) run by every worker thread in a loop; the driver measures each operation's latency. */
#ifndef HD_BENCH_H
#define HD_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/err.h"
#include "kv/kv.h"
#include "rpc/client.h"

typedef struct bench_opts {
  const char *target; /* host:port of the service under test */
  const char *token;  /* bearer token (minted by the driver from HELPDESK_AUTH_SECRET) */
  const char *scenario;
  unsigned concurrency; /* worker threads, each with its own channel */
  double duration_s;    /* run time, when calls == 0 */
  uint64_t calls;       /* total operations, 0 → duration */
  double rate;          /* operations/s across all workers, 0 → as fast as possible */
  uint64_t prepare;     /* objects a scenario creates beforehand (tickets) */
  const char *tenant;
  /* The ticket service, for scenarios whose target is another service (--tickets-target, else
   * HD_BENCH_TICKETS_TARGET, else 127.0.0.1:50051). */
  const char *tickets_target;
  /* The shared key the token was minted with: a scenario mints its own callers' tokens with it
   * (hd_auth_mint). */
  const hd_auth_config *auth;
} bench_opts;

/* One worker's view. */
typedef struct bench_worker {
  const bench_opts *opts;
  hd_client *client;
  unsigned index;
  void *shared; /* the scenario's shared state from prepare */
  uint64_t seq; /* operations this worker has started */
  /* -1 before each operation; an op that sets it (microseconds) reports that as its latency
   * instead of the whole call's (e.g. only the wait after a request was answered). */
  int64_t measured_us;
} bench_worker;

typedef struct bench_scenario {
  const char *name;
  const char *what;
  /* Optional: builds shared state before the clock starts (e.g. creates tickets). */
  int (*prepare)(const bench_opts *o, hd_client *c, void **shared, hd_err *err);
  /* One operation. Returns 0, or -1 with err set (counted as an error). */
  int (*op)(bench_worker *w, hd_arena *a, hd_err *err);
  /* Optional: checks what the run did once the clock stopped (c: a channel to the target) and
   * prints its figures as one "check=<name> key=value ..." line; -1 with err set when the check
   * fails (hd-bench then exits 1). */
  int (*finish)(const bench_opts *o, hd_client *c, void *shared, hd_err *err);
  void (*cleanup)(void *shared);
} bench_scenario;

/* A connection to the services' Redis, as they make it (every HELPDESK_REDIS_* setting:
 * hd_config_kv), for scenarios that look at or load Redis directly
 * (scenarios.c). Caller frees *out with hd_kv_close. */
int bench_kv_open(hd_kv **out, hd_err *err);

/* One Redis connection per worker (bench_kv_open each), for scenarios that call Redis
 * themselves: the shared state of bench_kv_workers_prepare, freed by bench_kv_workers_cleanup. */
typedef struct bench_kv_workers {
  hd_kv **kv; /* kv[w->index] */
  unsigned n;
} bench_kv_workers;
int bench_kv_workers_prepare(const bench_opts *o, hd_client *c, void **shared, hd_err *err);
void bench_kv_workers_cleanup(void *shared);

/* The scenarios (scenarios.c); NULL-terminated. */
extern const bench_scenario *const bench_scenarios[];

#endif
