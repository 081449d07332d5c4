/* The KPI service's scenarios: the monthly team summary (every agent's row and the totals, from
 * a month of facts) and an agent's half-year review (six months and the half as one period).
 * They read whatever facts the service holds; for the figures in BENCHMARKS.md a year of facts
 * (about a million tickets over 50 agents) is loaded first. The month is the current one (UTC),
 * the half year the current one; the agent is "agent-001" (the loader's first). */
#include <stdio.h>
#include <time.h>

#include "bench.h"
#include "bench_kpi.h"
#include "helpdesk/v1/kpi.pb-c.h"

#define KPI_METHOD(name) "/helpdesk.v1.KpiService/" name
#define BENCH_KPI_AGENT  "agent-001"

static void kpi__now(int *year, int *month) {
  const time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  *year = tm.tm_year + 1900;
  *month = tm.tm_mon + 1;
}

static int team_summary_op(bench_worker *w, hd_arena *a, hd_err *err) {
  int y = 0, m = 0;
  kpi__now(&y, &m);
  char month[32];
  snprintf(month, sizeof month, "%04d-%02d", y, m);
  Helpdesk__V1__GetTeamSummaryRequest req = HELPDESK__V1__GET_TEAM_SUMMARY_REQUEST__INIT;
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 100;
  req.month = month;
  req.page = &page;
  ProtobufCMessage *resp = NULL;
  return hd_client_call(w->client, KPI_METHOD("GetTeamSummary"), w->opts->token, 0, &req.base,
                        &helpdesk__v1__team_summary__descriptor, a, &resp, err);
}

const bench_scenario bench_kpi_team_summary = {
    .name = "kpi_team_summary",
    .what = "KpiService/GetTeamSummary of the current month (every agent's row and the totals)",
    .op = team_summary_op};

static int half_year_op(bench_worker *w, hd_arena *a, hd_err *err) {
  int y = 0, m = 0;
  kpi__now(&y, &m);
  Helpdesk__V1__GetHalfYearReviewRequest req = HELPDESK__V1__GET_HALF_YEAR_REVIEW_REQUEST__INIT;
  req.agent_id = BENCH_KPI_AGENT;
  req.year = y;
  req.half = m <= 6 ? 1 : 2;
  ProtobufCMessage *resp = NULL;
  return hd_client_call(w->client, KPI_METHOD("GetHalfYearReview"), w->opts->token, 0, &req.base,
                        &helpdesk__v1__half_year_review__descriptor, a, &resp, err);
}

const bench_scenario bench_kpi_half_year = {
    .name = "kpi_half_year",
    .what = "KpiService/GetHalfYearReview of one agent: six months and the half year",
    .op = half_year_op};
