/* The KPI formulas (kpi_score.h). */
#include "kpi_score.h"

static double score__cap(double v) { return v < 0 ? 0 : v > 100 ? 100 : v; }

static double score__weighted(const int64_t n[KPI_CAT_COUNT],
                              const Helpdesk__V1__CategoryWeights *w) {
  return (double)n[KPI_CAT_LOWER] * w->lower + (double)n[KPI_CAT_MEDIUM] * w->medium +
         (double)n[KPI_CAT_HARD] * w->hard + (double)n[KPI_CAT_NONE] * w->uncategorised;
}

static int64_t score__sum(const int64_t n[KPI_CAT_COUNT]) {
  int64_t s = 0;
  for (size_t c = 0; c < KPI_CAT_COUNT; c++) s += n[c];
  return s;
}

#define SCORE_NEW(a, type, desc) ((type *)hd_arena_new_message((a), &(desc)))

double kpi_score_of(const Helpdesk__V1__AgentKpi *k, kpi_measure m, bool *has) {
  const Helpdesk__V1__IndividualScores *s = k->individual_scores;
  *has = false;
  switch (m) {
    case KPI_M_RESOLUTION:
      *has = k->resolution->has_data;
      return k->resolution->score;
    case KPI_M_RESPONSE:
      *has = k->response->has_data;
      return k->response->score;
    case KPI_M_ESCALATION:
      *has = k->escalation->has_data;
      return k->escalation->score;
    case KPI_M_PRODUCTIVITY:
      *has = k->productivity->has_data;
      return k->productivity->score;
    case KPI_M_SATISFACTION:
      *has = k->satisfaction->has_data;
      return k->satisfaction->score;
    default:
      break;
  }
  if (!s) return 0;
  *has = true;
  switch (m) {
    case KPI_M_PDI:
      return s->personal_dynamic_index;
    case KPI_M_PIS:
      return s->performance_impact_service;
    case KPI_M_ADAPTABILITY:
      return s->adaptability;
    case KPI_M_INITIATIVE:
      return s->initiative;
    default:
      return s->sop_compliance;
  }
}

static int score__overall(hd_arena *a, const kpi_config *cfg, Helpdesk__V1__AgentKpi *k) {
  Helpdesk__V1__OverallScore *o =
      SCORE_NEW(a, Helpdesk__V1__OverallScore, helpdesk__v1__overall_score__descriptor);
  Helpdesk__V1__MeasurePart **parts = HD_ARENA_ARRAY(a, Helpdesk__V1__MeasurePart *, KPI_M_COUNT);
  if (!o || !parts) return -1;
  double sum = 0, wsum = 0;
  for (int m = 0; m < KPI_M_COUNT; m++) {
    Helpdesk__V1__MeasurePart *p =
        SCORE_NEW(a, Helpdesk__V1__MeasurePart, helpdesk__v1__measure_part__descriptor);
    if (!p) return -1;
    bool has = false;
    p->measure = (char *)kpi_measure_name((kpi_measure)m);
    p->score = kpi_score_of(k, (kpi_measure)m, &has);
    p->weight = cfg->overall_weights[m];
    p->included = has && p->weight > 0;
    if (p->included) {
      sum += p->weight * p->score;
      wsum += p->weight;
    }
    parts[m] = p;
  }
  o->parts = parts;
  o->n_parts = KPI_M_COUNT;
  o->weight_total = wsum;
  o->has_data = wsum > 0;
  o->score = wsum > 0 ? sum / wsum : 0;
  k->overall = o;
  return 0;
}

int kpi_score_build(hd_arena *a, const kpi_config *cfg, const Helpdesk__V1__CategoryWeights *w,
                    const kpi_period *pd, const char *zone, const kpi_inputs *in, int32_t agents,
                    Helpdesk__V1__AgentKpi **out, hd_err *err) {
  Helpdesk__V1__AgentKpi *k =
      SCORE_NEW(a, Helpdesk__V1__AgentKpi, helpdesk__v1__agent_kpi__descriptor);
  Helpdesk__V1__ResolutionPerformance *rp = SCORE_NEW(
      a, Helpdesk__V1__ResolutionPerformance, helpdesk__v1__resolution_performance__descriptor);
  Helpdesk__V1__ResponseEfficiency *re =
      SCORE_NEW(a, Helpdesk__V1__ResponseEfficiency, helpdesk__v1__response_efficiency__descriptor);
  Helpdesk__V1__EffectiveEscalation *ee = SCORE_NEW(a, Helpdesk__V1__EffectiveEscalation,
                                                    helpdesk__v1__effective_escalation__descriptor);
  Helpdesk__V1__IndividualProductivity *ip = SCORE_NEW(
      a, Helpdesk__V1__IndividualProductivity, helpdesk__v1__individual_productivity__descriptor);
  Helpdesk__V1__CustomerSatisfaction *cs = SCORE_NEW(
      a, Helpdesk__V1__CustomerSatisfaction, helpdesk__v1__customer_satisfaction__descriptor);
  int64_t *dist = HD_ARENA_ARRAY(a, int64_t, 5);
  if (!k || !rp || !re || !ee || !ip || !cs || !dist) goto oom;
  k->agent_id = (char *)in->agent_id;
  k->period = hd_arena_strdup(a, pd->label);
  k->time_zone = (char *)zone;
  k->period_start_time_us = pd->start_us;
  k->period_end_time_us = pd->end_us;
  k->working_days = pd->working_days;
  if (!k->period) goto oom;
  if (agents < 1) agents = 1;

  /* Resolution Performance Index */
  rp->resolved = score__sum(in->resolved);
  rp->resolved_lower = in->resolved[KPI_CAT_LOWER];
  rp->resolved_medium = in->resolved[KPI_CAT_MEDIUM];
  rp->resolved_hard = in->resolved[KPI_CAT_HARD];
  rp->resolved_uncategorised = in->resolved[KPI_CAT_NONE];
  rp->weights = (Helpdesk__V1__CategoryWeights *)w;
  rp->weighted_resolved = score__weighted(in->resolved, w);
  rp->target_points_per_day = cfg->resolved_points_per_day;
  rp->working_days = pd->working_days;
  rp->agents = agents;
  rp->target_points = cfg->resolved_points_per_day * pd->working_days * agents;
  rp->has_data = rp->target_points > 0;
  rp->score = rp->has_data ? score__cap(100.0 * rp->weighted_resolved / rp->target_points) : 0;
  rp->reopened = in->reopened;
  rp->transferred_away = in->transferred_away;
  k->resolution = rp;

  /* Response Efficiency Metric */
  re->first_responses = in->first_responses;
  re->within_target = in->within_target;
  re->target_us = cfg->first_response_target_us;
  re->has_data = in->first_responses > 0;
  re->share_within_target =
      re->has_data ? (double)in->within_target / (double)in->first_responses : 0;
  re->median_first_response_us = in->median_first_response_us;
  re->score = 100.0 * re->share_within_target;
  k->response = re;

  /* Effective Escalation */
  ee->escalated = in->escalated;
  ee->accepted = in->accepted;
  ee->resolved = in->esc_resolved;
  ee->bounced = in->bounced;
  ee->pending = in->pending;
  ee->has_data = in->esc_resolved + in->bounced > 0;
  ee->share_effective =
      ee->has_data ? (double)in->esc_resolved / (double)(in->esc_resolved + in->bounced) : 0;
  ee->score = 100.0 * ee->share_effective;
  k->escalation = ee;

  /* Individual Productivity */
  ip->handled = score__sum(in->handled);
  ip->handled_lower = in->handled[KPI_CAT_LOWER];
  ip->handled_medium = in->handled[KPI_CAT_MEDIUM];
  ip->handled_hard = in->handled[KPI_CAT_HARD];
  ip->handled_uncategorised = in->handled[KPI_CAT_NONE];
  ip->weighted_handled = score__weighted(in->handled, w);
  ip->working_days = pd->working_days;
  ip->agents = agents;
  ip->target_per_day = cfg->handled_per_day;
  ip->has_data = pd->working_days > 0;
  ip->per_working_day =
      ip->has_data ? ip->weighted_handled / ((double)pd->working_days * agents) : 0;
  ip->score = ip->has_data ? score__cap(100.0 * ip->per_working_day / ip->target_per_day) : 0;
  k->productivity = ip;

  /* Customer Satisfaction */
  for (size_t i = 0; i < 5; i++) {
    dist[i] = in->rating[i];
    cs->count += in->rating[i];
    cs->sum += in->rating[i] * (int64_t)(i + 1);
  }
  cs->distribution = dist;
  cs->n_distribution = 5;
  cs->has_data = cs->count > 0;
  cs->mean = cs->has_data ? (double)cs->sum / (double)cs->count : 0;
  cs->score = cs->has_data ? 100.0 * (cs->mean - 1.0) / 4.0 : 0;
  k->satisfaction = cs;

  /* Individual scores */
  if (in->scored_months > 0) {
    Helpdesk__V1__IndividualScores *s =
        SCORE_NEW(a, Helpdesk__V1__IndividualScores, helpdesk__v1__individual_scores__descriptor);
    if (!s) goto oom;
    const double n = in->scored_months;
    s->agent_id = (char *)in->agent_id;
    s->month = k->period;
    s->personal_dynamic_index = in->scores[0] / n;
    s->performance_impact_service = in->scores[1] / n;
    s->adaptability = in->scores[2] / n;
    s->initiative = in->scores[3] / n;
    s->sop_compliance = in->scores[4] / n;
    s->months = in->scored_months;
    const bool one = pd->months == 1 && in->agent_id[0];
    s->comment = (char *)(one && in->score_comment ? in->score_comment : "");
    s->recorded_by = (char *)(one && in->score_by ? in->score_by : "");
    s->version = one ? in->score_version : 0;
    s->update_time_us = one ? in->score_time_us : 0;
    k->individual_scores = s;
  }
  if (score__overall(a, cfg, k)) goto oom;
  *out = k;
  return 0;
oom:
  return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
}
