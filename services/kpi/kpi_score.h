/* The formulas (kpi.proto documents each; the README lists them with the defaults): a period's
 * inputs (kpi_measures.h) become the contract's AgentKpi, with the numbers behind every score. */
#ifndef KPI_KPI_SCORE_H
#define KPI_KPI_SCORE_H

#include "core/arena.h"
#include "helpdesk/v1/kpi.pb-c.h"
#include "kpi_config.h"
#include "kpi_measures.h"
#include "kpi_period.h"

/* An AgentKpi of in over pd for `agents` agents (1, or the team's count) with the tenant's
 * weights w (borrowed: the reply points at it), in arena. RESOURCE_EXHAUSTED when the arena is
 * full. */
int kpi_score_build(hd_arena *a, const kpi_config *cfg, const Helpdesk__V1__CategoryWeights *w,
                    const kpi_period *pd, const char *zone, const kpi_inputs *in, int32_t agents,
                    Helpdesk__V1__AgentKpi **out, hd_err *err);

/* The score of measure m in k (and whether it has data). */
double kpi_score_of(const Helpdesk__V1__AgentKpi *k, kpi_measure m, bool *has_data);

#endif
