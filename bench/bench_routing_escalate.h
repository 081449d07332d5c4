/* Routing's escalation scenario (scenarios_routing_escalate.c), listed in bench_scenarios. */
#ifndef HD_BENCH_ROUTING_ESCALATE_H
#define HD_BENCH_ROUTING_ESCALATE_H

#include "bench.h"

extern const bench_scenario bench_escalate;

#endif
