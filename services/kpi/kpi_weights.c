/* SetCategoryWeights and the weights every report uses. */
#include <math.h>

#include "kpi_app.h"
#include "kpi_handlers.h"
#include "rpc/call.h"

#define WEIGHT_MAX 100.0

int kpi_weights_get(hd_db *db, const char *tenant, const kpi_config *cfg, hd_arena *arena,
                    Helpdesk__V1__CategoryWeights **out, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  Helpdesk__V1__CategoryWeights *w =
      hd_arena_new_message(arena, &helpdesk__v1__category_weights__descriptor);
  if (!w || !(w->tenant = hd_arena_strdup(arena, tenant))) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  const hd_db_param p[] = {hd_db_text(tenant)};
  if (hd_db_query(db,
                  "SELECT lower_weight, medium_weight, hard_weight, uncategorised_weight, "
                  "version, updated_by, updated_at_us FROM category_weights WHERE tenant = ?",
                  p, 1, 1, &rows, err))
    goto done;
  w->updated_by = "";
  if (hd_db_rows_count(rows) == 0) {
    w->lower = cfg->weights[KPI_CAT_LOWER];
    w->medium = cfg->weights[KPI_CAT_MEDIUM];
    w->hard = cfg->weights[KPI_CAT_HARD];
    w->uncategorised = cfg->weights[KPI_CAT_NONE];
  } else {
    w->lower = hd_db_f64(rows, 0, 0);
    w->medium = hd_db_f64(rows, 0, 1);
    w->hard = hd_db_f64(rows, 0, 2);
    w->uncategorised = hd_db_f64(rows, 0, 3);
    w->version = hd_db_i64(rows, 0, 4);
    w->updated_by = hd_arena_strdup(arena, hd_db_str(rows, 0, 5, NULL));
    w->update_time_us = hd_db_i64(rows, 0, 6);
    if (!w->updated_by) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
      goto done;
    }
  }
  *out = w;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

static int weights__check(hd_call *c, const char *field, double v) {
  if (!isfinite(v) || v < 0 || v > WEIGHT_MAX)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT, "%s must be a weight from 0 to %g, got %g",
                      field, WEIGHT_MAX, v);
  return 0;
}

typedef struct weights_set {
  hd_call *call;
  const Helpdesk__V1__SetCategoryWeightsRequest *req;
  Helpdesk__V1__CategoryWeights *out;
} weights_set;

static int weights__set_tx(hd_db *db, void *arg, hd_err *err) {
  weights_set *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__SetCategoryWeightsRequest *rq = x->req;
  const char *tenant = kpi_tenant(c);
  hd_db_rows *rows = NULL;
  int rc = -1;
  const hd_db_param key[] = {hd_db_text(tenant)};
  if (hd_db_query(db, "SELECT version FROM category_weights WHERE tenant = ? FOR UPDATE", key, 1, 1,
                  &rows, err))
    goto done;
  const int64_t version = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  if (hd_call_check_seen(err, version, rq->expected_version,
                         "the category weights were changed by someone else"))
    goto done;
  const int64_t now = hd_clock_now_us(hd_call_env(c)->clock);
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_double(rq->lower),
                           hd_db_double(rq->medium),
                           hd_db_double(rq->hard),
                           hd_db_double(rq->uncategorised),
                           hd_db_int(version + 1),
                           hd_db_text(c->principal->user_id),
                           hd_db_int(now)};
  if (hd_db_exec(db,
                 "INSERT INTO category_weights (tenant, lower_weight, medium_weight, hard_weight, "
                 "uncategorised_weight, version, updated_by, updated_at_us) VALUES "
                 "(?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
                 "lower_weight = VALUES(lower_weight), medium_weight = VALUES(medium_weight), "
                 "hard_weight = VALUES(hard_weight), "
                 "uncategorised_weight = VALUES(uncategorised_weight), version = VALUES(version), "
                 "updated_by = VALUES(updated_by), updated_at_us = VALUES(updated_at_us)",
                 p, 8, NULL, NULL, err) ||
      kpi_weights_get(db, tenant, &kpi_app_of(c)->cfg, c->arena, &x->out, err))
    goto done;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

int kpi_set_category_weights(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__SetCategoryWeightsRequest *rq =
      (const Helpdesk__V1__SetCategoryWeightsRequest *)req;
  if (weights__check(call, "lower", rq->lower) || weights__check(call, "medium", rq->medium) ||
      weights__check(call, "hard", rq->hard) ||
      weights__check(call, "uncategorised", rq->uncategorised) ||
      hd_call_check_version(call, "expected_version", rq->expected_version))
    return -1;
  weights_set x = {.call = call, .req = rq};
  if (hd_call_tx(call, weights__set_tx, &x)) return -1;
  *(Helpdesk__V1__CategoryWeights *)resp = *x.out;
  return 0;
}
