/* RecordIndividualScores: a lead's five scores of an agent's month. */
#include <inttypes.h>
#include <stdio.h>

#include "kpi_app.h"
#include "kpi_handlers.h"
#include "kpi_period.h"
#include "rpc/call.h"

#define SCORES_COMMENT_MAX 5000

typedef struct scores_rec {
  hd_call *call;
  const Helpdesk__V1__RecordIndividualScoresRequest *req;
  char month[8];
  Helpdesk__V1__IndividualScores *out;
} scores_rec;

static int scores__tx(hd_db *db, void *arg, hd_err *err) {
  scores_rec *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__RecordIndividualScoresRequest *rq = x->req;
  const char *tenant = kpi_tenant(c);
  hd_db_rows *rows = NULL;
  int rc = -1;
  const hd_db_param key[] = {hd_db_text(tenant), hd_db_text(rq->agent_id), hd_db_text(x->month)};
  if (hd_db_query(db,
                  "SELECT version FROM individual_scores WHERE tenant = ? AND agent_id = ? AND "
                  "month = ? FOR UPDATE",
                  key, 3, 1, &rows, err))
    goto done;
  const int64_t version = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  if (hd_call_check_seen(err, version, rq->expected_version,
                         "the scores of %s for %s were changed by someone else", rq->agent_id,
                         x->month))
    goto done;
  Helpdesk__V1__IndividualScores *s =
      hd_arena_new_message(c->arena, &helpdesk__v1__individual_scores__descriptor);
  if (!s || !(s->month = hd_arena_strdup(c->arena, x->month))) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  s->agent_id = rq->agent_id;
  s->personal_dynamic_index = rq->personal_dynamic_index;
  s->performance_impact_service = rq->performance_impact_service;
  s->adaptability = rq->adaptability;
  s->initiative = rq->initiative;
  s->sop_compliance = rq->sop_compliance;
  s->comment = rq->comment ? rq->comment : "";
  s->recorded_by = (char *)c->principal->user_id;
  s->update_time_us = hd_clock_now_us(hd_call_env(c)->clock);
  s->version = version + 1;
  s->months = 1;
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_text(s->agent_id),
                           hd_db_text(s->month),
                           hd_db_int(rq->personal_dynamic_index),
                           hd_db_int(rq->performance_impact_service),
                           hd_db_int(rq->adaptability),
                           hd_db_int(rq->initiative),
                           hd_db_int(rq->sop_compliance),
                           hd_db_text(s->comment),
                           hd_db_text(s->recorded_by),
                           hd_db_int(s->version),
                           hd_db_int(s->update_time_us)};
  if (hd_db_exec(db,
                 "INSERT INTO individual_scores (tenant, agent_id, month, personal_dynamic_index, "
                 "performance_impact_service, adaptability, initiative, sop_compliance, comment, "
                 "recorded_by, version, updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                 "ON DUPLICATE KEY UPDATE personal_dynamic_index = VALUES(personal_dynamic_index), "
                 "performance_impact_service = VALUES(performance_impact_service), "
                 "adaptability = VALUES(adaptability), initiative = VALUES(initiative), "
                 "sop_compliance = VALUES(sop_compliance), comment = VALUES(comment), "
                 "recorded_by = VALUES(recorded_by), version = VALUES(version), "
                 "updated_at_us = VALUES(updated_at_us)",
                 p, 12, NULL, NULL, err))
    goto done;
  x->out = s;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

static int scores__check(hd_call *c, const char *field, int32_t v) {
  if (v < 0 || v > 100)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT, "%s must be a score from 0 to 100, got %d",
                      field, v);
  return 0;
}

int kpi_record_individual_scores(hd_call *call, const ProtobufCMessage *req,
                                 ProtobufCMessage *resp) {
  const Helpdesk__V1__RecordIndividualScoresRequest *rq =
      (const Helpdesk__V1__RecordIndividualScoresRequest *)req;
  int64_t y = 0;
  unsigned m = 0;
  if (hd_call_check_ident(call, "agent_id", rq->agent_id, 1, HD_USER_ID_MAX) ||
      kpi_month_parse("month", rq->month, &y, &m, &call->err) ||
      scores__check(call, "personal_dynamic_index", rq->personal_dynamic_index) ||
      scores__check(call, "performance_impact_service", rq->performance_impact_service) ||
      scores__check(call, "adaptability", rq->adaptability) ||
      scores__check(call, "initiative", rq->initiative) ||
      scores__check(call, "sop_compliance", rq->sop_compliance) ||
      hd_call_check_text(call, "comment", rq->comment, 0, SCORES_COMMENT_MAX) ||
      hd_call_check_version(call, "expected_version", rq->expected_version))
    return -1;
  scores_rec x = {.call = call, .req = rq};
  snprintf(x.month, sizeof x.month, "%04d-%02u", (int)y, m);
  if (hd_call_tx(call, scores__tx, &x)) return -1;
  *(Helpdesk__V1__IndividualScores *)resp = *x.out;
  return 0;
}
