/* The rate-limit check's own cost (scenarios_rate_limit.c), listed in bench_scenarios. */
#ifndef HD_BENCH_RATE_LIMIT_H
#define HD_BENCH_RATE_LIMIT_H

#include "bench.h"

extern const bench_scenario bench_rate_limit_script;

#endif
