/* The numbers behind every figure of a period, read from the facts in one pass per table: per
 * agent, what they resolved, answered first, handled, escalated, were rated and were scored.
 * kpi_score.c turns them into the contract's figures. */
#ifndef KPI_KPI_MEASURES_H
#define KPI_KPI_MEASURES_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "db/db.h"
#include "kpi_config.h"
#include "kpi_period.h"

#define KPI_AGENTS_MAX    10000   /* agents in one summary */
#define KPI_FACT_ROWS_MAX 2000000 /* first responses read for one period */

/* One agent's inputs (or the team's, summed). */
typedef struct kpi_inputs {
  const char *agent_id; /* in the set's arena; "" for the team */
  int64_t resolved[KPI_CAT_COUNT];
  int64_t reopened, transferred_away;
  int64_t first_responses, within_target, median_first_response_us;
  int64_t escalated, accepted, esc_resolved, bounced, pending;
  int64_t handled[KPI_CAT_COUNT];
  int64_t rating[5]; /* ratings of 1..5 */
  /* Individual scores: their sums over scored_months (an agent's months, or the team's agents). */
  int32_t scored_months;
  double scores[5];
  const char *score_comment, *score_by; /* the last month's */
  int64_t score_version, score_time_us;
  int64_t active; /* facts seen: an agent with none is not listed */
} kpi_inputs;

typedef struct kpi_inputs_set {
  kpi_inputs *items; /* sorted by agent id (bytes); malloc'd */
  size_t n, cap;
  kpi_inputs team; /* the sums over every agent, with the team's own median */
  hd_arena *arena; /* borrowed: agent ids */
} kpi_inputs_set;

/* Reads the inputs of period pd of tenant for agent (NULL or "": every agent, and the team's
 * sums) with cfg's first-response target, in the caller's transaction (or none). *out is filled;
 * free with kpi_inputs_set_free(). RESOURCE_EXHAUSTED past KPI_AGENTS_MAX agents or
 * KPI_FACT_ROWS_MAX first responses. */
int kpi_measures_collect(hd_db *db, const char *tenant, const kpi_period *pd, const char *agent,
                         const kpi_config *cfg, hd_arena *arena, kpi_inputs_set *out, hd_err *err);

void kpi_inputs_set_free(kpi_inputs_set *s);

/* The agent's inputs in s (a zeroed one with agent_id when none), borrowed from s. */
const kpi_inputs *kpi_inputs_find(const kpi_inputs_set *s, const char *agent, kpi_inputs *empty);

#endif
