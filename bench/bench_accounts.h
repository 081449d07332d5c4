/* The accounts service's scenarios (scenarios_accounts.c), listed in bench_scenarios. */
#ifndef HD_BENCH_ACCOUNTS_H
#define HD_BENCH_ACCOUNTS_H

#include "bench.h"

extern const bench_scenario bench_account_get;
extern const bench_scenario bench_account_verify;
extern const bench_scenario bench_service_action_check;
extern const bench_scenario bench_service_action_record;

#endif
