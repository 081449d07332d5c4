/* Routing's queue scenarios (scenarios_routing_claims.c), listed in bench_scenarios. */
#ifndef HD_BENCH_ROUTING_CLAIMS_H
#define HD_BENCH_ROUTING_CLAIMS_H

#include "bench.h"

extern const bench_scenario bench_claim;
extern const bench_scenario bench_queue_latency;
extern const bench_scenario bench_redis_script;

#endif
