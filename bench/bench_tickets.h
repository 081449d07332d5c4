/* The ticket service's scenarios (scenarios_tickets.c), listed in bench_scenarios. */
#ifndef HD_BENCH_TICKETS_H
#define HD_BENCH_TICKETS_H

#include "bench.h"

extern const bench_scenario bench_create;
extern const bench_scenario bench_get;
extern const bench_scenario bench_list;
extern const bench_scenario bench_list_status;
extern const bench_scenario bench_list_owner;
extern const bench_scenario bench_list_my_open;
extern const bench_scenario bench_list_unassigned;
extern const bench_scenario bench_list_followed;
extern const bench_scenario bench_list_updated;
extern const bench_scenario bench_workloop;

#endif
