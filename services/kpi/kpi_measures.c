/* Reading a period's inputs from the facts (kpi_measures.h). */
#include "kpi_measures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int measures__find(const kpi_inputs_set *s, const char *agent, size_t *pos) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    const int c = strcmp(s->items[mid].agent_id, agent);
    if (c == 0) {
      *pos = mid;
      return 1;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *pos = lo;
  return 0;
}

/* The agent's entry, made when missing. NULL with err set past the limits. */
static kpi_inputs *measures__agent(kpi_inputs_set *s, const char *agent, hd_err *err) {
  size_t pos = 0;
  if (measures__find(s, agent, &pos)) return &s->items[pos];
  if (s->n == KPI_AGENTS_MAX) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the period has more than %d agents", KPI_AGENTS_MAX);
    return NULL;
  }
  if (s->n == s->cap) {
    const size_t cap = s->cap ? s->cap * 2 : 16;
    kpi_inputs *items = realloc(s->items, cap * sizeof *items);
    if (!items) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the period's agents");
      return NULL;
    }
    s->items = items;
    s->cap = cap;
  }
  char *id = hd_arena_strdup(s->arena, agent);
  if (!id) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    return NULL;
  }
  memmove(&s->items[pos + 1], &s->items[pos], (s->n - pos) * sizeof s->items[0]);
  s->items[pos] = (kpi_inputs){.agent_id = id};
  s->n++;
  return &s->items[pos];
}

void kpi_inputs_set_free(kpi_inputs_set *s) {
  free(s->items);
  s->items = NULL;
  s->n = s->cap = 0;
}

const kpi_inputs *kpi_inputs_find(const kpi_inputs_set *s, const char *agent, kpi_inputs *empty) {
  size_t pos = 0;
  if (measures__find(s, agent, &pos)) return &s->items[pos];
  *empty = (kpi_inputs){.agent_id = agent};
  return empty;
}

/* Runs the query of one table and hands each row to fn: every agent's (sql_all with tenant,
 * from, to) or one agent's (sql_all with "AND <agent column> = ?" added at the mark, so that the
 * agent-first index is used). */
typedef int (*measures_row_fn)(kpi_inputs_set *s, const hd_db_rows *r, size_t i, void *arg,
                               hd_err *err);

static int measures__rows(hd_db *db, const char *sql_all, const char *sql_agent, const char *tenant,
                          hd_db_param from, hd_db_param to, const char *agent, size_t max,
                          kpi_inputs_set *s, measures_row_fn fn, void *arg, hd_err *err) {
  hd_db_rows *rows = NULL;
  int rc = -1;
  const hd_db_param p[] = {hd_db_text(tenant), from, to, hd_db_text(agent)};
  if (hd_db_query(db, *agent ? sql_agent : sql_all, p, *agent ? 4 : 3, max, &rows, err)) {
    if (err->code == HD_RESOURCE_EXHAUSTED)
      hd_err_set(err, HD_RESOURCE_EXHAUSTED,
                 "the period holds more than %zu facts of one kind; ask for one agent", max);
    goto done;
  }
  for (size_t i = 0; i < hd_db_rows_count(rows); i++)
    if (fn(s, rows, i, arg, err)) goto done;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

static const char *measures__cell(const hd_db_rows *r, size_t i, size_t c) {
  return hd_db_str(r, i, c, NULL);
}

static int measures__resolved(kpi_inputs_set *s, const hd_db_rows *r, size_t i, void *arg,
                              hd_err *err) {
  (void)arg;
  kpi_inputs *in = measures__agent(s, measures__cell(r, i, 0), err);
  if (!in) return -1;
  in->resolved[kpi_category_of(measures__cell(r, i, 1))] += hd_db_i64(r, i, 2);
  in->active = 1;
  return 0;
}

typedef struct measures_fr {
  int64_t target_us;
  int64_t *all; /* every duration, for the team's median; malloc'd */
  size_t n_all, cap_all;
  kpi_inputs *cur; /* the agent whose run of rows is being read */
  size_t run_start;
} measures_fr;

static int64_t measures__median(const int64_t *v, size_t n) {
  if (n == 0) return 0;
  if (n % 2) return v[n / 2];
  const int64_t a = v[n / 2 - 1], b = v[n / 2];
  return a + (b - a) / 2;
}

/* Rows come ordered by responder, then duration: each agent's are a sorted run. */
static int measures__first(kpi_inputs_set *s, const hd_db_rows *r, size_t i, void *arg,
                           hd_err *err) {
  measures_fr *fr = arg;
  const char *agent = measures__cell(r, i, 0);
  int64_t d = hd_db_i64(r, i, 1);
  if (d < 0) d = 0;
  if (!fr->cur || strcmp(fr->cur->agent_id, agent) != 0) {
    if (fr->cur)
      fr->cur->median_first_response_us =
          measures__median(fr->all + fr->run_start, fr->n_all - fr->run_start);
    if (!(fr->cur = measures__agent(s, agent, err))) return -1;
    fr->run_start = fr->n_all;
  }
  if (fr->n_all == fr->cap_all) {
    const size_t cap = fr->cap_all ? fr->cap_all * 2 : 1024;
    int64_t *all = realloc(fr->all, cap * sizeof *all);
    if (!all) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading responses");
    fr->all = all;
    fr->cap_all = cap;
  }
  fr->all[fr->n_all++] = d;
  fr->cur->first_responses++;
  fr->cur->within_target += d <= fr->target_us;
  fr->cur->active = 1;
  return 0;
}

static int measures__marks(kpi_inputs_set *s, const hd_db_rows *r, size_t i, void *arg,
                           hd_err *err) {
  (void)arg;
  kpi_inputs *in = measures__agent(s, measures__cell(r, i, 0), err);
  if (!in) return -1;
  const char *kind = measures__cell(r, i, 1);
  if (strcmp(kind, "RESPONSE") == 0)
    in->handled[kpi_category_of(measures__cell(r, i, 2))] += hd_db_i64(r, i, 3);
  else if (strcmp(kind, "REOPEN") == 0)
    in->reopened += hd_db_i64(r, i, 4);
  else if (strcmp(kind, "TRANSFER") == 0)
    in->transferred_away += hd_db_i64(r, i, 4);
  in->active = 1;
  return 0;
}

static int measures__escalations(kpi_inputs_set *s, const hd_db_rows *r, size_t i, void *arg,
                                 hd_err *err) {
  (void)arg;
  kpi_inputs *in = measures__agent(s, measures__cell(r, i, 0), err);
  if (!in) return -1;
  const char *status = measures__cell(r, i, 1);
  const int64_t n = hd_db_i64(r, i, 3);
  const bool acknowledged = hd_db_i64(r, i, 2) != 0;
  in->escalated += n;
  if (strcmp(status, "RESOLVED") == 0) {
    in->esc_resolved += n;
    in->accepted += n;
  } else if (strcmp(status, "BOUNCED") == 0) {
    in->bounced += n;
    if (acknowledged) in->accepted += n;
  } else {
    in->pending += n;
    if (acknowledged) in->accepted += n;
  }
  in->active = 1;
  return 0;
}

static int measures__ratings(kpi_inputs_set *s, const hd_db_rows *r, size_t i, void *arg,
                             hd_err *err) {
  (void)arg;
  kpi_inputs *in = measures__agent(s, measures__cell(r, i, 0), err);
  if (!in) return -1;
  const int64_t score = hd_db_i64(r, i, 1);
  if (score >= 1 && score <= 5) in->rating[score - 1] += hd_db_i64(r, i, 2);
  in->active = 1;
  return 0;
}

static int measures__scores(kpi_inputs_set *s, const hd_db_rows *r, size_t i, void *arg,
                            hd_err *err) {
  (void)arg;
  kpi_inputs *in = measures__agent(s, measures__cell(r, i, 0), err);
  if (!in) return -1;
  for (size_t k = 0; k < 5; k++) in->scores[k] += (double)hd_db_i64(r, i, 1 + k);
  in->scored_months++;
  size_t len = 0;
  const char *comment = hd_db_str(r, i, 6, &len);
  in->score_comment = hd_arena_strndup(s->arena, comment, len);
  in->score_by = hd_arena_strdup(s->arena, measures__cell(r, i, 7));
  if (!in->score_comment || !in->score_by)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  in->score_version = hd_db_i64(r, i, 8);
  in->score_time_us = hd_db_i64(r, i, 9);
  in->active = 1;
  return 0;
}

static int measures__cmp_i64(const void *a, const void *b) {
  const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The team's sums over every agent. */
static void measures__team(kpi_inputs_set *s) {
  kpi_inputs *t = &s->team;
  const int64_t median = t->median_first_response_us;
  *t = (kpi_inputs){.agent_id = "", .median_first_response_us = median};
  for (size_t i = 0; i < s->n; i++) {
    const kpi_inputs *a = &s->items[i];
    for (size_t c = 0; c < KPI_CAT_COUNT; c++) {
      t->resolved[c] += a->resolved[c];
      t->handled[c] += a->handled[c];
    }
    t->reopened += a->reopened;
    t->transferred_away += a->transferred_away;
    t->first_responses += a->first_responses;
    t->within_target += a->within_target;
    t->escalated += a->escalated;
    t->accepted += a->accepted;
    t->esc_resolved += a->esc_resolved;
    t->bounced += a->bounced;
    t->pending += a->pending;
    for (size_t k = 0; k < 5; k++) t->rating[k] += a->rating[k];
    if (a->scored_months > 0) { /* the team: the mean over agents of each agent's mean */
      for (size_t k = 0; k < 5; k++) t->scores[k] += a->scores[k] / a->scored_months;
      t->scored_months++;
    }
    t->active = 1;
  }
}

/* The queries, each with a mark where one agent's filter goes. */
#define RESOLVED_SQL(agent)                                                         \
  "SELECT closed_owner, category, COUNT(*) FROM ticket_facts WHERE tenant = ? AND " \
  "resolved_at_us >= ? AND resolved_at_us < ? AND closed_owner <> '' " agent        \
  "GROUP BY closed_owner, category"
#define FIRST_SQL(agent)                                                                 \
  "SELECT first_responder, first_response_at_us - created_at_us AS d FROM ticket_facts " \
  "WHERE tenant = ? AND first_response_at_us >= ? AND first_response_at_us < ? AND "     \
  "created_at_us IS NOT NULL AND first_responder <> '' " agent "ORDER BY first_responder, d"
/* FORCE INDEX: f is read by primary key, yet MariaDB would estimate a range in each of its
 * indexes starting with the tenant (known from m's) at every execution. */
#define MARKS_SQL(agent)                                                               \
  "SELECT m.agent_id, m.kind, COALESCE(f.category, ''), COUNT(DISTINCT m.ticket_id), " \
  "COUNT(*) FROM ticket_marks m LEFT JOIN ticket_facts f FORCE INDEX (PRIMARY) "       \
  "ON f.tenant = m.tenant AND f.ticket_id = m.ticket_id "                              \
  "WHERE m.tenant = ? AND m.at_us >= ? AND m.at_us < ? " agent                         \
  "GROUP BY m.agent_id, m.kind, f.category"
#define ESCALATIONS_SQL(agent)                                                                 \
  "SELECT created_by, status, acknowledged_at_us IS NOT NULL, COUNT(*) FROM escalation_facts " \
  "WHERE tenant = ? AND created_at_us >= ? AND created_at_us < ? AND created_by <> '' " agent  \
  "GROUP BY created_by, status, acknowledged_at_us IS NOT NULL"
#define RATINGS_SQL(agent)                                                   \
  "SELECT agent_id, score, COUNT(*) FROM satisfaction WHERE tenant = ? AND " \
  "recorded_at_us >= ? AND recorded_at_us < ? AND agent_id <> '' " agent     \
  "GROUP BY agent_id, score"
#define SCORES_SQL(agent)                                                               \
  "SELECT agent_id, personal_dynamic_index, performance_impact_service, adaptability, " \
  "initiative, sop_compliance, comment, recorded_by, version, updated_at_us FROM "      \
  "individual_scores WHERE tenant = ? AND month >= ? AND month <= ? " agent             \
  "ORDER BY agent_id, month"

int kpi_measures_collect(hd_db *db, const char *tenant, const kpi_period *pd, const char *agent,
                         const kpi_config *cfg, hd_arena *arena, kpi_inputs_set *out, hd_err *err) {
  int rc = -1;
  memset(out, 0, sizeof *out);
  out->arena = arena;
  if (!agent) agent = "";
  const hd_db_param from = hd_db_int(pd->start_us), to = hd_db_int(pd->end_us);
  measures_fr fr = {.target_us = cfg->first_response_target_us};
  if (measures__rows(db, RESOLVED_SQL(""), RESOLVED_SQL("AND closed_owner = ? "), tenant, from, to,
                     agent, KPI_AGENTS_MAX * KPI_CAT_COUNT, out, measures__resolved, NULL, err) ||
      measures__rows(db, FIRST_SQL(""), FIRST_SQL("AND first_responder = ? "), tenant, from, to,
                     agent, KPI_FACT_ROWS_MAX, out, measures__first, &fr, err))
    goto done;
  if (fr.cur)
    fr.cur->median_first_response_us =
        measures__median(fr.all + fr.run_start, fr.n_all - fr.run_start);
  if (measures__rows(db, MARKS_SQL(""), MARKS_SQL("AND m.agent_id = ? "), tenant, from, to, agent,
                     KPI_AGENTS_MAX * 3 * KPI_CAT_COUNT, out, measures__marks, NULL, err) ||
      measures__rows(db, ESCALATIONS_SQL(""), ESCALATIONS_SQL("AND created_by = ? "), tenant, from,
                     to, agent, KPI_AGENTS_MAX * 8, out, measures__escalations, NULL, err) ||
      measures__rows(db, RATINGS_SQL(""), RATINGS_SQL("AND agent_id = ? "), tenant, from, to, agent,
                     KPI_AGENTS_MAX * 5, out, measures__ratings, NULL, err))
    goto done;
  char first[8], last[8];
  snprintf(first, sizeof first, "%04d-%02u", (int)pd->year, pd->month);
  snprintf(last, sizeof last, "%04d-%02u", (int)pd->year, pd->month + pd->months - 1);
  if (measures__rows(db, SCORES_SQL(""), SCORES_SQL("AND agent_id = ? "), tenant, hd_db_text(first),
                     hd_db_text(last), agent, KPI_AGENTS_MAX * 6, out, measures__scores, NULL, err))
    goto done;
  if (fr.n_all) qsort(fr.all, fr.n_all, sizeof fr.all[0], measures__cmp_i64);
  out->team.median_first_response_us = measures__median(fr.all, fr.n_all);
  measures__team(out);
  rc = 0;
done:
  free(fr.all);
  if (rc) kpi_inputs_set_free(out);
  return rc;
}
