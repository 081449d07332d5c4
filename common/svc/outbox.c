/* The outbox: event rows appended in the change's transaction, and the relay that publishes them
 * from MariaDB to the Redis stream, at least once, in order within a batch. */
#include "svc/outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "svc/idem.h"
#include "svc/sleep.h"

#define OUTBOX_STREAM_MAXLEN 1000000
#define OUTBOX_MARK_IDS      16 /* ids one UPDATE marks as published */
#define OUTBOX_ENVELOPE_SIZE 6  /* members of the envelope */
#define IDEM_PURGE_EVERY_US  (60 * HD_US_PER_S)

int hd_outbox_append(hd_db *db, const hd_outbox_event *ev, json_t *body, hd_err *err) {
  json_t *doc = NULL;
  char *payload = NULL;
  size_t len = 0;
  int rc = -1;
  if (!ev || !ev->type || !*ev->type || !ev->tenant || !*ev->tenant || !ev->aggregate_key ||
      !*ev->aggregate_key) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "an outbox event needs a type, a tenant and the name of its aggregate's id");
    goto done;
  }
  char what[96];
  snprintf(what, sizeof what, "the %s event", ev->type);
  json_error_t je;
  doc =
      json_pack_ex(&je, 0, "{s:s, s:s, s:I, s:s?, s:s?, s:I}", "event", ev->type, "tenant",
                   ev->tenant, ev->aggregate_key, (json_int_t)ev->aggregate_id, "actor_id",
                   ev->actor_id, "actor_role", ev->actor_role, "time_us", (json_int_t)ev->time_us);
  if (!doc) {
    hd_json_pack_failed(&je, what, err);
    goto done;
  }
  if (json_object_size(doc) != OUTBOX_ENVELOPE_SIZE) {
    hd_err_set(err, HD_INTERNAL, "%s names its aggregate's id \"%s\" like another envelope member",
               what, ev->aggregate_key);
    goto done;
  }
  if (body && !json_is_object(body)) {
    hd_err_set(err, HD_INTERNAL, "the body of %s is not a JSON object", what);
    goto done;
  }
  const char *key;
  json_t *value;
  json_object_foreach(body, key, value) {
    if (json_object_get(doc, key)) {
      hd_err_set(err, HD_INTERNAL, "%s has a member \"%s\", a name the envelope uses", what, key);
      goto done;
    }
    if (json_object_set(doc, key, value) != 0) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory building %s", what);
      goto done;
    }
  }
  hd_err dump_err = {0};
  if (hd_json_dump(doc, &HD_JSON_EVENT_LIMITS, &payload, &len, &dump_err) != 0) {
    hd_err_set(err, dump_err.code, "%s: %s", what, dump_err.msg);
    goto done;
  }
  const hd_db_param p[] = {hd_db_text(ev->tenant), hd_db_int(ev->aggregate_id),
                           hd_db_text(ev->type), hd_db_textn(payload, len), hd_db_int(ev->time_us)};
  rc = hd_db_exec(db,
                  "INSERT INTO outbox (tenant, aggregate_id, event_type, payload, created_at_us) "
                  "VALUES (?, ?, ?, ?, ?)",
                  p, 5, NULL, NULL, err);
done:
  free(payload);
  json_decref(doc);
  return rc;
}

#define OUTBOX_TX_ATTEMPTS 10 /* a batch's tries when it deadlocks or loses a certification */

static const char outbox__mark_sql[] =
    "UPDATE outbox SET published_at_us = ? WHERE id IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?)";

/* The database's origin (kit migration 005) into out. */
static int outbox__origin(hd_db *db, char out[HD_OUTBOX_ORIGIN_LEN + 1], hd_err *err) {
  hd_db_rows *rows = NULL;
  int rc = -1;
  if (hd_db_query(db, "SELECT origin FROM outbox_origin WHERE id = 1", NULL, 0, 1, &rows, err) != 0)
    goto done;
  size_t len = 0;
  const char *origin = hd_db_rows_count(rows) == 1 ? hd_db_str(rows, 0, 0, &len) : NULL;
  if (!origin || len != HD_OUTBOX_ORIGIN_LEN) {
    hd_err_set(err, HD_INTERNAL,
               "the database has no outbox origin (outbox_origin, the kit's migration 005): its "
               "events cannot be given ids");
    goto done;
  }
  memcpy(out, origin, len + 1);
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

static int outbox__format_id(char out[HD_OUTBOX_EVENT_ID_MAX], const char *service,
                             const char *origin, int64_t outbox_id, hd_err *err) {
  const int n = snprintf(out, HD_OUTBOX_EVENT_ID_MAX, "%s-%s-%" PRId64, service, origin, outbox_id);
  if (n < 0 || n >= HD_OUTBOX_EVENT_ID_MAX)
    return hd_err_set(err, HD_INTERNAL, "the service name \"%s\" makes event ids too long",
                      service);
  return 0;
}

int hd_outbox_event_id(hd_db *db, const char *service, int64_t outbox_id,
                       char out[HD_OUTBOX_EVENT_ID_MAX], hd_err *err) {
  char origin[HD_OUTBOX_ORIGIN_LEN + 1];
  if (outbox__origin(db, origin, err) != 0) return -1;
  return outbox__format_id(out, service, origin, outbox_id, err);
}

typedef struct relay_ctx {
  const hd_svc_env *env;
  hd_worker *w;
  size_t published;
} relay_ctx;

static int outbox__batch(hd_db *db, void *arg, hd_err *err) {
  relay_ctx *r = arg;
  hd_db_rows *rows = NULL;
  int rc = -1;
  r->published = 0;
  hd_db_param lim = hd_db_int(HD_OUTBOX_BATCH);
  if (hd_db_query(db,
                  "SELECT id, tenant, aggregate_id, event_type, payload, created_at_us FROM outbox "
                  "WHERE published_at_us IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
                  &lim, 1, HD_OUTBOX_BATCH, &rows, err) != 0)
    goto done;
  char stream[96];
  snprintf(stream, sizeof stream, "%s%s", HD_OUTBOX_STREAM_PREFIX, r->env->config.service);
  int64_t now = hd_clock_now_us(r->env->clock);
  char origin[HD_OUTBOX_ORIGIN_LEN + 1];
  if (hd_db_rows_count(rows) > 0 && outbox__origin(db, origin, err) != 0) goto done;
  for (size_t i = 0; i < hd_db_rows_count(rows); i++) {
    char event_id[HD_OUTBOX_EVENT_ID_MAX];
    if (outbox__format_id(event_id, r->env->config.service, origin, hd_db_i64(rows, i, 0), err) !=
        0)
      goto done;
    size_t plen = 0;
    const char *payload = hd_db_str(rows, i, 4, &plen);
    hd_kv_field f[] = {
        {"event_id", event_id, strlen(event_id)},
        {"type", hd_db_str(rows, i, 3, NULL), strlen(hd_db_str(rows, i, 3, NULL))},
        {"tenant", hd_db_str(rows, i, 1, NULL), strlen(hd_db_str(rows, i, 1, NULL))},
        {"aggregate_id", hd_db_str(rows, i, 2, NULL), strlen(hd_db_str(rows, i, 2, NULL))},
        {"created_at_us", hd_db_str(rows, i, 5, NULL), strlen(hd_db_str(rows, i, 5, NULL))},
        {"payload", payload, plen},
    };
    if (hd_kv_stream_add(r->w->kv, stream, OUTBOX_STREAM_MAXLEN, f, 6, NULL, err) != 0) goto done;
    r->published++;
  }
  /* Marks exactly the rows this batch locked and published, OUTBOX_MARK_IDS at a time (one
   * statement text: the last id repeats to fill a short chunk). Never a range: a row between two
   * of ours may belong to a transaction still open, not yet published. */
  for (size_t i = 0; i < r->published; i += OUTBOX_MARK_IDS) {
    hd_db_param p[1 + OUTBOX_MARK_IDS];
    p[0] = hd_db_int(now);
    for (size_t k = 0; k < OUTBOX_MARK_IDS; k++) {
      const size_t row = i + k < r->published ? i + k : r->published - 1;
      p[1 + k] = hd_db_int(hd_db_i64(rows, row, 0));
    }
    if (hd_db_exec(db, outbox__mark_sql, p, 1 + OUTBOX_MARK_IDS, NULL, NULL, err) != 0) goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

int hd_outbox_relay_once(const hd_svc_env *env, hd_worker *w, size_t *published, hd_err *err) {
  relay_ctx r = {.env = env, .w = w};
  /* The batch's locking read at READ COMMITTED: it locks the rows it takes and no gap. Under
   * REPEATABLE READ it also held the gap after the newest unpublished row (next-key locks on
   * ix_outbox_unpublished) until its commit, Redis writes included, and every transaction
   * appending an event waited on that gap (the ticket service's creates: 30 ms on average,
   * measured). SKIP LOCKED still skips rows of transactions not yet committed. SET TRANSACTION
   * holds for the next transaction only, so each attempt sets it again: a deadlock, or a Galera
   * certification conflict at COMMIT (two nodes' relays took the same rows), is ABORTED and
   * retried here, up to OUTBOX_TX_ATTEMPTS times. */
  int rc = -1;
  for (unsigned attempt = 1; attempt <= OUTBOX_TX_ATTEMPTS; attempt++) {
    if (hd_db_exec(w->db, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED", NULL, 0, NULL, NULL,
                   err) != 0)
      break;
    rc = hd_db_tx(w->db, outbox__batch, &r, 1, err);
    if (rc == 0 || err->code != HD_ABORTED) break;
  }
  if (published) *published = rc == 0 ? r.published : 0;
  return rc;
}

static void outbox__purge(const hd_svc_env *env, hd_worker *w, int64_t retention_us) {
  hd_err err = {0};
  hd_db_param p = hd_db_int(hd_clock_now_us(env->clock) - retention_us);
  uint64_t n = 0;
  if (hd_db_exec(
          w->db,
          "DELETE FROM outbox WHERE published_at_us IS NOT NULL AND published_at_us < ? LIMIT 5000",
          &p, 1, &n, NULL, &err) != 0)
    hd_log_warn("outbox.purge_failed", "reason", err.msg);
}

/* Sets the lag gauges: how many rows wait to be published, and the age of the oldest one (0 when
 * none waits). Both read the (published_at_us, id) index's NULL range only. */
static void outbox__gauges(const hd_svc_env *env, hd_worker *w) {
  hd_err err = {0};
  hd_db_rows *rows = NULL;
  if (hd_db_query(w->db,
                  "SELECT COUNT(*), MIN(created_at_us) FROM outbox WHERE published_at_us IS NULL",
                  NULL, 0, 1, &rows, &err) != 0) {
    hd_metrics_db_error(env->metrics);
    return;
  }
  const int64_t pending = hd_db_i64(rows, 0, 0);
  const int64_t oldest = hd_db_is_null(rows, 0, 1) ? 0 : hd_db_i64(rows, 0, 1);
  hd_db_rows_free(rows);
  const int64_t now = hd_clock_now_us(env->clock);
  const double lag_s =
      pending > 0 && now > oldest ? (double)(now - oldest) / (double)HD_US_PER_S : 0.0;
  hd_metrics_gauge_set(env->metrics, HD_METRIC_OUTBOX_PENDING, NULL, (double)pending, &err);
  hd_metrics_gauge_set(env->metrics, HD_METRIC_OUTBOX_LAG_SECONDS, NULL, lag_s, &err);
}

/* Purges idempotency keys past their window when one is due by the service's clock: about once a
 * minute, at once again after a full batch, and when the clock went back. */
static void outbox__purge_idem(const hd_svc_env *env, hd_worker *w, int64_t *next_us) {
  const int64_t now = hd_clock_now_us(env->clock);
  if (now < *next_us && now >= *next_us - IDEM_PURGE_EVERY_US) return;
  hd_err err = {0};
  uint64_t n = 0;
  if (hd_idem_purge(w->db, now, HD_IDEM_PURGE_BATCH, &n, &err) != 0) {
    hd_metrics_db_error(env->metrics);
    hd_log_warn("idempotency.purge_failed", "reason", err.msg);
  }
  *next_us = n == HD_IDEM_PURGE_BATCH ? now : now + IDEM_PURGE_EVERY_US;
}

void hd_outbox_relay_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop) {
  int64_t poll_us = 100000, retention_us = 7 * 86400 * HD_US_PER_S;
  hd_err err = {0};
  if (hd_config_duration_us("HELPDESK_OUTBOX_POLL", poll_us, &poll_us, &err) != 0 ||
      hd_config_duration_us("HELPDESK_OUTBOX_RETENTION", retention_us, &retention_us, &err) != 0)
    hd_log_warn("outbox.config", "reason", err.msg, "then", "using defaults");
  unsigned rounds = 0;
  int64_t next_idem_purge_us = 0;
  bool failing = false;
  while (!atomic_load(stop)) {
    size_t n = 0;
    hd_err_clear(&err);
    if (hd_outbox_relay_once(env, w, &n, &err) != 0) {
      if (!failing) hd_log_warn("outbox.relay_failed", "reason", err.msg, "then", "retrying");
      failing = true;
    } else {
      if (failing) hd_log_info("outbox.relay_recovered");
      failing = false;
    }
    if (++rounds % 600 == 0) outbox__purge(env, w, retention_us);
    if (rounds % 10 == 1) outbox__gauges(env, w);
    outbox__purge_idem(env, w, &next_idem_purge_us);
    if (n == HD_OUTBOX_BATCH) continue;
    hd_svc_sleep(poll_us, stop);
  }
}
