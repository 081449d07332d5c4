/* The KPI service's scenarios (scenarios_kpi.c), listed in bench_scenarios. */
#ifndef HD_BENCH_KPI_H
#define HD_BENCH_KPI_H

#include "bench.h"

extern const bench_scenario bench_kpi_team_summary;
extern const bench_scenario bench_kpi_half_year;

#endif
