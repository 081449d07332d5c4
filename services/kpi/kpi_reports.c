/* GetAgentKpi, GetTeamSummary and GetHalfYearReview: the facts of a period, read in one
 * transaction (one snapshot), through the formulas of kpi_score.c. */
#include <math.h>
#include <string.h>

#include "kpi_app.h"
#include "kpi_handlers.h"
#include "kpi_measures.h"
#include "kpi_period.h"
#include "kpi_score.h"
#include "rpc/call.h"
#include "rpc/page.h"

#define LEADS      (HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR)
#define TREND_FLAT 1.0 /* points a month within which a trend is flat */

/* The agent the caller asks for: their own (agent_id empty or theirs), or, for a team lead or
 * supervisor, anyone of their tenant. */
static int reports__agent(hd_call *c, const char *requested, const char **agent) {
  if (hd_call_check_ident(c, "agent_id", requested, 0, HD_USER_ID_MAX)) return -1;
  const char *me = c->principal->user_id;
  const char *who = requested && *requested ? requested : me;
  if (strcmp(who, me) != 0 && !hd_principal_has(c->principal, LEADS))
    return hd_err_set(&c->err, HD_PERMISSION_DENIED,
                      "an agent reads only their own KPI; %s's is for a team_lead or supervisor",
                      who);
  if (!(*agent = hd_arena_strdup(c->arena, who))) /* the reply outlives the principal */
    return hd_err_set(&c->err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  return 0;
}

/* One period's AgentKpi of agent (or the team's, agent NULL: then *set is kept for the rows). */
static int reports__period(hd_call *c, hd_db *db, const kpi_period *pd, const char *agent,
                           const Helpdesk__V1__CategoryWeights *w, Helpdesk__V1__AgentKpi **out,
                           hd_err *err) {
  const kpi_app *app = kpi_app_of(c);
  const kpi_zone *zone = kpi_config_zone(&app->cfg, kpi_tenant(c));
  kpi_inputs_set set;
  if (kpi_measures_collect(db, kpi_tenant(c), pd, agent, &app->cfg, c->arena, &set, err)) return -1;
  kpi_inputs empty;
  const kpi_inputs *in = kpi_inputs_find(&set, agent, &empty);
  const int rc = kpi_score_build(c->arena, &app->cfg, w, pd, kpi_zone_name(zone), in, 1, out, err);
  kpi_inputs_set_free(&set);
  return rc;
}

static void reports__make(hd_call *c, int64_t y, unsigned m, unsigned months, kpi_period *pd) {
  const kpi_app *app = kpi_app_of(c);
  kpi_period_make(y, m, months, kpi_config_zone(&app->cfg, kpi_tenant(c)), &app->cfg,
                  hd_clock_now_us(hd_call_env(c)->clock), pd);
}

/* ---- GetAgentKpi ---- */

typedef struct agent_read {
  hd_call *call;
  const char *agent;
  kpi_period pd;
  Helpdesk__V1__AgentKpi *out;
} agent_read;

static int reports__agent_tx(hd_db *db, void *arg, hd_err *err) {
  agent_read *x = arg;
  Helpdesk__V1__CategoryWeights *w = NULL;
  return kpi_weights_get(db, kpi_tenant(x->call), &kpi_app_of(x->call)->cfg, x->call->arena, &w,
                         err) ||
                 reports__period(x->call, db, &x->pd, x->agent, w, &x->out, err)
             ? -1
             : 0;
}

int kpi_get_agent_kpi(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__GetAgentKpiRequest *rq = (const Helpdesk__V1__GetAgentKpiRequest *)req;
  agent_read x = {.call = call};
  int64_t y = 0;
  unsigned m = 0;
  if (reports__agent(call, rq->agent_id, &x.agent) ||
      kpi_month_parse("month", rq->month, &y, &m, &call->err))
    return -1;
  reports__make(call, y, m, 1, &x.pd);
  if (hd_call_tx(call, reports__agent_tx, &x)) return -1;
  *(Helpdesk__V1__AgentKpi *)resp = *x.out;
  return 0;
}

/* ---- GetTeamSummary ---- */

typedef struct team_read {
  hd_call *call;
  kpi_period pd;
  const hd_page *pg;
  Helpdesk__V1__TeamSummary *out;
} team_read;

static int reports__team_tx(hd_db *db, void *arg, hd_err *err) {
  team_read *x = arg;
  hd_call *c = x->call;
  const kpi_app *app = kpi_app_of(c);
  const char *zone = kpi_zone_name(kpi_config_zone(&app->cfg, kpi_tenant(c)));
  Helpdesk__V1__TeamSummary *out = x->out;
  Helpdesk__V1__CategoryWeights *w = NULL;
  kpi_inputs_set set;
  if (kpi_weights_get(db, kpi_tenant(c), &app->cfg, c->arena, &w, err) ||
      kpi_measures_collect(db, kpi_tenant(c), &x->pd, NULL, &app->cfg, c->arena, &set, err))
    return -1;
  int rc = -1;
  const size_t from = (size_t)x->pg->after.id;
  const size_t shown = from < set.n ? hd_page_shown(x->pg, set.n - from) : 0;
  out->agents = HD_ARENA_ARRAY(c->arena, Helpdesk__V1__AgentKpi *, shown ? shown : 1);
  if (!out->agents) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  for (size_t i = 0; i < shown; i++)
    if (kpi_score_build(c->arena, &app->cfg, w, &x->pd, zone, &set.items[from + i], 1,
                        &out->agents[i], err))
      goto done;
  out->n_agents = shown;
  out->agent_count = (int32_t)set.n;
  if (kpi_score_build(c->arena, &app->cfg, w, &x->pd, zone, &set.team, (int32_t)set.n, &out->team,
                      err))
    goto done;
  char *next = NULL;
  const bool more = from + shown < set.n;
  if (hd_page_next(x->pg, more ? &(hd_page_pos){.id = (int64_t)(from + shown)} : NULL, c->arena,
                   &next, err) ||
      hd_page_info(c->arena, next, &out->page, err))
    goto done;
  out->month = hd_arena_strdup(c->arena, x->pd.label);
  out->time_zone = (char *)zone;
  out->period_start_time_us = x->pd.start_us;
  out->period_end_time_us = x->pd.end_us;
  if (!out->month) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  rc = 0;
done:
  kpi_inputs_set_free(&set);
  return rc;
}

int kpi_get_team_summary(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__GetTeamSummaryRequest *rq = (const Helpdesk__V1__GetTeamSummaryRequest *)req;
  team_read x = {.call = call, .out = (Helpdesk__V1__TeamSummary *)resp};
  int64_t y = 0;
  unsigned m = 0;
  if (kpi_month_parse("month", rq->month, &y, &m, &call->err)) return -1;
  hd_page_scope scope;
  hd_page_scope_init(&scope, "team_summary", kpi_tenant(call));
  hd_page_scope_str(&scope, rq->month);
  hd_page pg;
  if (hd_page_start_pb(rq->page, &scope, &pg, &call->err)) return -1;
  x.pg = &pg;
  reports__make(call, y, m, 1, &x.pd);
  return hd_call_tx(call, reports__team_tx, &x);
}

/* ---- GetHalfYearReview ---- */

typedef struct half_read {
  hd_call *call;
  const char *agent;
  int64_t year;
  unsigned half;
  Helpdesk__V1__HalfYearReview *out;
} half_read;

/* The least-squares trend of one measure over the months that have it. */
static Helpdesk__V1__MeasureTrend *reports__trend(hd_arena *a, const char *name,
                                                  Helpdesk__V1__AgentKpi *const *months,
                                                  int measure) {
  Helpdesk__V1__MeasureTrend *t = hd_arena_new_message(a, &helpdesk__v1__measure_trend__descriptor);
  if (!t) return NULL;
  t->measure = (char *)name;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int n = 0;
  for (int i = 0; i < 6; i++) {
    bool has = false;
    double v = 0;
    if (measure < 0) {
      has = months[i]->overall->has_data;
      v = months[i]->overall->score;
    } else {
      v = kpi_score_of(months[i], (kpi_measure)measure, &has);
    }
    if (!has) continue;
    const double x = i + 1;
    if (n == 0) t->first = v;
    t->last = v;
    sx += x;
    sy += v;
    sxx += x * x;
    sxy += x * v;
    n++;
  }
  t->months_with_data = n;
  if (n < 2) {
    t->direction = HELPDESK__V1__TREND_DIRECTION__TREND_DIRECTION_NONE;
    return t;
  }
  t->change = t->last - t->first;
  const double den = n * sxx - sx * sx;
  t->slope_per_month = den != 0 ? (n * sxy - sx * sy) / den : 0;
  t->direction = t->slope_per_month > TREND_FLAT ? HELPDESK__V1__TREND_DIRECTION__TREND_DIRECTION_UP
                 : t->slope_per_month < -TREND_FLAT
                     ? HELPDESK__V1__TREND_DIRECTION__TREND_DIRECTION_DOWN
                     : HELPDESK__V1__TREND_DIRECTION__TREND_DIRECTION_FLAT;
  return t;
}

static int reports__half_tx(hd_db *db, void *arg, hd_err *err) {
  half_read *x = arg;
  hd_call *c = x->call;
  Helpdesk__V1__HalfYearReview *out = x->out;
  Helpdesk__V1__CategoryWeights *w = NULL;
  if (kpi_weights_get(db, kpi_tenant(c), &kpi_app_of(c)->cfg, c->arena, &w, err)) return -1;
  out->months = HD_ARENA_ARRAY(c->arena, Helpdesk__V1__AgentKpi *, 6);
  out->trends = HD_ARENA_ARRAY(c->arena, Helpdesk__V1__MeasureTrend *, KPI_M_COUNT + 1);
  if (!out->months || !out->trends)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  const unsigned first = x->half == 1 ? 1 : 7;
  for (unsigned i = 0; i < 6; i++) {
    kpi_period pd;
    reports__make(c, x->year, first + i, 1, &pd);
    if (reports__period(c, db, &pd, x->agent, w, &out->months[i], err)) return -1;
  }
  out->n_months = 6;
  kpi_period all;
  reports__make(c, x->year, first, 6, &all);
  if (reports__period(c, db, &all, x->agent, w, &out->aggregate, err)) return -1;
  for (int m = -1; m < KPI_M_COUNT; m++) {
    const char *name = m < 0 ? "overall" : kpi_measure_name((kpi_measure)m);
    if (!(out->trends[m + 1] = reports__trend(c->arena, name, out->months, m)))
      return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  }
  out->n_trends = KPI_M_COUNT + 1;
  out->agent_id = (char *)x->agent;
  out->year = (int32_t)x->year;
  out->half = (int32_t)x->half;
  out->time_zone = out->months[0]->time_zone;
  return 0;
}

int kpi_get_half_year_review(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__GetHalfYearReviewRequest *rq =
      (const Helpdesk__V1__GetHalfYearReviewRequest *)req;
  half_read x = {.call = call, .out = (Helpdesk__V1__HalfYearReview *)resp};
  if (reports__agent(call, rq->agent_id, &x.agent)) return -1;
  if (rq->year < KPI_YEAR_MIN || rq->year > KPI_YEAR_MAX)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT, "year must be %d to %d, got %d",
                      KPI_YEAR_MIN, KPI_YEAR_MAX, rq->year);
  if (rq->half != 1 && rq->half != 2)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "half must be 1 (January to June) or 2 (July to December), got %d", rq->half);
  x.year = rq->year;
  x.half = (unsigned)rq->half;
  return hd_call_tx(call, reports__half_tx, &x);
}
