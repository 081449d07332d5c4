/* Event consumers (see consumer.h): read through the group, apply once with the event's id in
 * the same transaction, acknowledge after the commit, take over stale entries, dead-letter
 * poison ones, and rebuild after Redis lost the stream. */
#include "svc/consumer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/utf8.h"
#include "json/json.h"
#include "log/log.h"

#define CONSUMER_DEAD_MAXLEN 100000 /* entries a dead-letter stream keeps (approximately) */
#define CONSUMER_DEAD_FIELDS 5      /* fields a dead-lettered entry gets besides its own */
#define CONSUMER_PURGE_EVERY 600    /* checks between two purges of consumed_events */
#define CONSUMER_PURGE_LIMIT 5000   /* rows one purge deletes at most */
#define CONSUMER_PAUSE_US    500000 /* the loop's pause after a failed round */
#define CONSUMER_MAX_TYPE    64     /* bytes of an event type, as outbox.event_type */
#define CONSUMER_ENTITY_MAX  300    /* bytes of a consumed_versions.entity */

struct hd_consumer {
  const hd_consumer_def *def;
  hd_consumer_ctx ctx;
  hd_consumer_options o; /* def->opts with the defaults filled in */
  char name[HD_KV_MAX_NAME + 1];
  char dead[HD_KV_MAX_NAME + 1];
  hd_consumer_stats st;
  bool checked;          /* the group has been looked at since the last failure */
  bool own_pending_read; /* this consumer's own pending list has been read since then */
  int64_t next_check_us; /* monotonic */
  unsigned checks;
  int64_t epoch;              /* consumer_groups.epoch as of the last check */
  uint64_t high_ms, high_seq; /* the highest entry applied, not yet recorded when dirty */
  bool high_dirty;
};

/* ---- the envelope and its JSON ---- */

/* The one place the consumer reads JSON, through common/json: a payload within
 * HD_JSON_EVENT_LIMITS (HD_CONSUMER_MAX_PAYLOAD bytes, HD_CONSUMER_MAX_DEPTH levels, duplicate
 * keys refused), an object at the top. *version gets its top-level "version" (a positive
 * integer), 0 when it has none. *out: caller frees with json_decref(); NULL on failure. */
static int consumer__payload_read(const char *s, size_t len, json_t **out, int64_t *version,
                                  hd_err *err) {
  int rc = -1;
  json_t *root = NULL;
  hd_err jerr = {0};
  *out = NULL;
  *version = 0;
  if (hd_json_parse_object(s, len, &HD_JSON_EVENT_LIMITS, &root, &jerr) != 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "the payload is not JSON this consumer reads: %s",
               jerr.msg);
    goto done;
  }
  int64_t v = 0;
  if (hd_json_get_int(root, "version", &v, &jerr) != 0) {
    if (jerr.code != HD_NOT_FOUND) {
      hd_err_set(err, HD_INVALID_ARGUMENT, "the payload's version is not a positive integer");
      goto done;
    }
  } else if (v < 1) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "the payload's version is not a positive integer");
    goto done;
  }
  *version = v;
  *out = root;
  root = NULL;
  rc = 0;
done:
  json_decref(root);
  return rc;
}

static const hd_kv_field *consumer__field(const hd_kv_entry *e, const char *name) {
  for (size_t i = 0; i < e->n; i++)
    if (strcmp(e->fields[i].name, name) == 0) return &e->fields[i];
  return NULL;
}

/* A field that must be text of 1..max bytes without NUL (ascii: printable ASCII only). */
static const char *consumer__text(const hd_kv_entry *e, const char *name, size_t max, bool ascii,
                                  hd_err *err) {
  const hd_kv_field *f = consumer__field(e, name);
  if (!f) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "the entry has no %s", name);
    return NULL;
  }
  if (f->value_len == 0 || f->value_len > max || strlen(f->value) != f->value_len) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "its %s is empty, longer than %zu bytes or holds NUL",
               name, max);
    return NULL;
  }
  for (size_t i = 0; ascii && i < f->value_len; i++) {
    if (f->value[i] < 0x21 || f->value[i] > 0x7e) {
      hd_err_set(err, HD_INVALID_ARGUMENT, "its %s is not printable ASCII", name);
      return NULL;
    }
  }
  if (!ascii && !hd_utf8_valid(f->value, f->value_len, NULL)) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "its %s is not valid UTF-8", name);
    return NULL;
  }
  return f->value;
}

/* A decimal integer field (required or not: absent → 0). */
static int consumer__int(const hd_kv_entry *e, const char *name, bool required, int64_t *out,
                         hd_err *err) {
  *out = 0;
  const hd_kv_field *f = consumer__field(e, name);
  if (!f) return required ? hd_err_set(err, HD_INVALID_ARGUMENT, "the entry has no %s", name) : 0;
  char *end = NULL;
  const long long v = f->value_len > 0 && f->value_len <= 20 ? strtoll(f->value, &end, 10) : 0;
  if (!end || end != f->value + f->value_len || v < 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "its %s is not a non-negative integer", name);
  *out = v;
  return 0;
}

/* Reads the outbox relay's envelope of e into ev (borrowing from e) and parses its payload into
 * *json (caller frees with json_decref()). INVALID_ARGUMENT naming what is wrong. */
static int consumer__envelope(const hd_consumer *c, const hd_kv_entry *e, hd_event *ev,
                              json_t **json, hd_err *err) {
  *json = NULL;
  *ev = (hd_event){.stream = c->def->stream,
                   .group = c->def->group,
                   .entry_id = e->id,
                   .deliveries = e->deliveries,
                   .kv = c->ctx.kv,
                   .applied_at_us = hd_clock_now_us(c->ctx.clock)};
  if (!(ev->event_id = consumer__text(e, "event_id", HD_KV_MAX_NAME, true, err)) ||
      !(ev->type = consumer__text(e, "type", CONSUMER_MAX_TYPE, true, err)) ||
      !(ev->tenant = consumer__text(e, "tenant", HD_CONSUMER_MAX_TENANT, false, err)) ||
      consumer__int(e, "aggregate_id", true, &ev->aggregate_id, err) != 0 ||
      consumer__int(e, "created_at_us", false, &ev->created_at_us, err) != 0)
    return -1;
  const hd_kv_field *p = consumer__field(e, "payload");
  if (!p) return hd_err_set(err, HD_INVALID_ARGUMENT, "the entry has no payload");
  ev->payload = p->value;
  ev->payload_len = p->value_len;
  json_t *root = NULL;
  if (consumer__payload_read(p->value, p->value_len, &root, &ev->version, err) != 0) return -1;
  ev->json = root;
  *json = root;
  return 0;
}

/* ---- one entry ---- */

static void consumer__count(hd_consumer *c, const char *metric) {
  const char *labels[] = {"stream", c->def->stream, "group", c->def->group, NULL};
  hd_err err = {0};
  hd_metrics_counter_add(c->ctx.metrics, metric, labels, 1, &err);
}

static int consumer__ack(hd_consumer *c, const hd_kv_entry *e, hd_err *err) {
  return hd_kv_stream_ack(c->ctx.kv, c->def->stream, c->def->group, e->id, err);
}

/* Moves e to the dead-letter stream with its fields (those XADD takes: names of 1..HD_KV_MAX_NAME
 * bytes, values up to HD_KV_MAX_VALUE, so that a strange entry cannot block the move), the reason,
 * the group, its entry id, its deliveries and this consumer's name, then acknowledges it.
 * -1 (Redis failed) leaves it pending. */
static int consumer__dead_letter(hd_consumer *c, const hd_kv_entry *e, const char *reason,
                                 hd_err *err) {
  int rc = -1;
  hd_kv_field *f = calloc(HD_KV_MAX_FIELDS, sizeof *f);
  if (!f) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory dead-lettering %s", e->id);
    goto done;
  }
  size_t own = 0;
  for (size_t i = 0; i < e->n && own < HD_KV_MAX_FIELDS - CONSUMER_DEAD_FIELDS; i++) {
    const size_t name_len = strlen(e->fields[i].name);
    if (name_len > 0 && name_len <= HD_KV_MAX_NAME && e->fields[i].value_len <= HD_KV_MAX_VALUE)
      f[own++] = e->fields[i];
  }
  char deliveries[24];
  snprintf(deliveries, sizeof deliveries, "%" PRId64, e->deliveries);
  f[own] = (hd_kv_field){"dead_reason", reason, strlen(reason)};
  f[own + 1] = (hd_kv_field){"dead_group", c->def->group, strlen(c->def->group)};
  f[own + 2] = (hd_kv_field){"dead_entry_id", e->id, strlen(e->id)};
  f[own + 3] = (hd_kv_field){"dead_deliveries", deliveries, strlen(deliveries)};
  f[own + 4] = (hd_kv_field){"dead_consumer", c->name, strlen(c->name)};
  if (hd_kv_stream_add(c->ctx.kv, c->dead, CONSUMER_DEAD_MAXLEN, f, own + CONSUMER_DEAD_FIELDS,
                       NULL, err) != 0 ||
      consumer__ack(c, e, err) != 0)
    goto done;
  c->st.dead_lettered++;
  consumer__count(c, HD_METRIC_EVENTS_DEAD_LETTERED);
  hd_log_warn("consumer.dead_lettered", "stream", c->def->stream, "group", c->def->group, "entry",
              e->id, "to", c->dead, "reason", reason);
  rc = 0;
done:
  free(f);
  return rc;
}

typedef struct consumer_apply {
  hd_consumer *c;
  const hd_event *ev;
  bool duplicate;
} consumer_apply;

static const char consumer__seen_sql[] =
    "INSERT INTO consumed_events (consumer_group, event_id, stream, entry_id, applied_at_us) "
    "VALUES (?, ?, ?, ?, ?)";

/* The transaction of one event: its consumed_events row first (a duplicate stops there; a
 * concurrent delivery of the same event waits on that key until this one ends), then apply. */
static int consumer__apply_tx(hd_db *db, void *arg, hd_err *err) {
  consumer_apply *a = arg;
  const hd_event *ev = a->ev;
  a->duplicate = false;
  const hd_db_param p[] = {hd_db_text(ev->group), hd_db_text(ev->event_id), hd_db_text(ev->stream),
                           hd_db_text(ev->entry_id), hd_db_int(ev->applied_at_us)};
  if (hd_db_exec(db, consumer__seen_sql, p, 5, NULL, NULL, err) != 0) {
    if (err->code != HD_ALREADY_EXISTS) return -1;
    hd_err_clear(err);
    a->duplicate = true;
    return 0;
  }
  if (a->c->def->apply(db, ev, a->c->ctx.app, err) != 0) return -1;
  if (a->c->o.fault) a->c->o.fault(HD_CONSUMER_BEFORE_COMMIT, ev, a->c->o.fault_arg);
  return 0;
}

static void consumer__note_high(hd_consumer *c, const char *entry_id) {
  uint64_t ms = 0, seq = 0;
  if (hd_kv_stream_id_parse(entry_id, &ms, &seq) != 0) return;
  if (ms > INT64_MAX) ms = INT64_MAX;
  if (seq > INT64_MAX) seq = INT64_MAX;
  if (ms > c->high_ms || (ms == c->high_ms && seq > c->high_seq)) {
    c->high_ms = ms;
    c->high_seq = seq;
    c->high_dirty = true;
  }
}

/* Handles one entry. -1 only when MariaDB or Redis failed (the entry stays pending); an event
 * that fails on its own is counted, left pending or dead-lettered, and 0 is returned. */
static int consumer__handle(hd_consumer *c, const hd_kv_entry *e, hd_err *err) {
  int rc = -1;
  json_t *json = NULL;
  char reason[HD_ERR_MSG_MAX + 96];
  c->st.read++;
  if (e->n == 0) { /* deleted from the stream since it was delivered: nothing left to apply */
    rc = consumer__ack(c, e, err);
    goto done;
  }
  hd_event ev;
  hd_err eerr = {0};
  if (consumer__envelope(c, e, &ev, &json, &eerr) != 0) {
    snprintf(reason, sizeof reason, "unreadable envelope: %s", eerr.msg);
    rc = consumer__dead_letter(c, e, reason, err);
    goto done;
  }
  if (e->deliveries > 2 * (int64_t)c->o.max_deliveries) {
    snprintf(reason, sizeof reason,
             "delivered %" PRId64 " times without an outcome (consumers died or stalled on it)",
             e->deliveries);
    rc = consumer__dead_letter(c, e, reason, err);
    goto done;
  }
  consumer_apply a = {.c = c, .ev = &ev};
  hd_err aerr = {0};
  if (hd_db_tx(c->ctx.db, consumer__apply_tx, &a, 0, &aerr) != 0) {
    if (aerr.code == HD_UNAVAILABLE) { /* MariaDB (or what apply needs) is down: pause, retry */
      *err = aerr;
      goto done;
    }
    c->st.failed++;
    if (e->deliveries >= (int64_t)c->o.max_deliveries) {
      snprintf(reason, sizeof reason, "apply failed on delivery %" PRId64 " of %u: %s: %s",
               e->deliveries, c->o.max_deliveries, hd_code_name(aerr.code), aerr.msg);
      rc = consumer__dead_letter(c, e, reason, err);
      goto done;
    }
    hd_log_warn("consumer.apply_failed", "stream", c->def->stream, "group", c->def->group, "entry",
                e->id, "event", ev.event_id, "status", hd_code_name(aerr.code), "reason", aerr.msg,
                "then", "left pending for a later delivery");
    rc = 0;
    goto done;
  }
  if (c->o.fault) c->o.fault(HD_CONSUMER_AFTER_COMMIT, &ev, c->o.fault_arg);
  /* Committed: a failed XACK only means a later delivery, which finds the event applied. */
  if (consumer__ack(c, e, err) != 0) goto done;
  if (a.duplicate) {
    c->st.duplicates++;
    consumer__count(c, HD_METRIC_EVENTS_DUPLICATES);
  } else {
    c->st.applied++;
    consumer__count(c, HD_METRIC_EVENTS_APPLIED);
    consumer__note_high(c, e->id);
  }
  rc = 0;
done:
  json_decref(json);
  return rc;
}

/* ---- the group: creation, a wiped Redis, lag ---- */

typedef struct consumer_check {
  hd_consumer *c;
  hd_kv_group_info info;
  int64_t epoch;
  bool rebuilt;
} consumer_check;

/* Under the group's consumer_groups row (FOR UPDATE): reads what Redis has, rebuilds when it lost
 * the stream, and makes the group from the stream's start when it is missing. */
static int consumer__check_tx(hd_db *db, void *arg, hd_err *err) {
  consumer_check *a = arg;
  hd_consumer *c = a->c;
  const hd_consumer_def *d = c->def;
  hd_db_rows *rows = NULL;
  int rc = -1;
  const int64_t now = hd_clock_now_us(c->ctx.clock);
  a->rebuilt = false;
  const hd_db_param key[] = {hd_db_text(d->group), hd_db_text(d->stream)};
  if (hd_db_query(db,
                  "SELECT epoch, high_ms, high_seq FROM consumer_groups "
                  "WHERE consumer_group = ? AND stream = ? FOR UPDATE",
                  key, 2, 1, &rows, err) != 0 ||
      hd_kv_group_info_get(c->ctx.kv, d->stream, d->group, &a->info, err) != 0)
    goto done;
  if (hd_db_rows_count(rows) == 0) {
    const hd_db_param p[] = {hd_db_text(d->group), hd_db_text(d->stream), hd_db_int(now)};
    if (hd_db_exec(db,
                   "INSERT INTO consumer_groups (consumer_group, stream, epoch, high_ms, high_seq, "
                   "created_at_us) VALUES (?, ?, 1, 0, 0, ?)",
                   p, 3, NULL, NULL, err) != 0)
      goto done;
    a->epoch = 1;
  } else {
    a->epoch = hd_db_i64(rows, 0, 0);
    const uint64_t high_ms = (uint64_t)hd_db_i64(rows, 0, 1);
    const uint64_t high_seq = (uint64_t)hd_db_i64(rows, 0, 2);
    uint64_t last_ms = 0, last_seq = 0;
    hd_kv_stream_id_parse(a->info.last_delivered, &last_ms, &last_seq);
    const bool has_high = high_ms || high_seq;
    const bool missing = !a->info.group_exists && has_high;
    const bool behind = a->info.group_exists && has_high &&
                        (last_ms < high_ms || (last_ms == high_ms && last_seq < high_seq));
    if (missing || behind) {
      hd_log_warn("consumer.stream_lost", "stream", d->stream, "group", d->group, "why",
                  missing ? "the group is gone from Redis"
                          : "the group's last-delivered id is below the highest entry applied",
                  "then", d->rebuild ? "rebuilding from MariaDB" : "making the group again");
      if (d->rebuild && d->rebuild(db, c->ctx.kv, c->ctx.app, err) != 0) goto done;
      const hd_db_param p[] = {hd_db_int(now), hd_db_text(d->group), hd_db_text(d->stream)};
      if (hd_db_exec(db,
                     "UPDATE consumer_groups SET epoch = epoch + 1, high_ms = 0, high_seq = 0, "
                     "rebuilt_at_us = ? WHERE consumer_group = ? AND stream = ?",
                     p, 3, NULL, NULL, err) != 0)
        goto done;
      a->epoch++;
      a->rebuilt = d->rebuild != NULL;
    }
  }
  /* Made while the row is held: a replica that waited for it finds the group in place. */
  if (!a->info.group_exists && hd_kv_group_ensure_at(c->ctx.kv, d->stream, d->group, "0", err) != 0)
    goto done;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

static void consumer__purge(hd_consumer *c) {
  hd_err err = {0};
  const hd_db_param p[] = {hd_db_text(c->def->group),
                           hd_db_int(hd_clock_now_us(c->ctx.clock) - c->o.retention_us),
                           hd_db_int(CONSUMER_PURGE_LIMIT)};
  if (hd_db_exec(c->ctx.db,
                 "DELETE FROM consumed_events WHERE consumer_group = ? AND applied_at_us < ? "
                 "LIMIT ?",
                 p, 3, NULL, NULL, &err) != 0)
    hd_log_warn("consumer.purge_failed", "group", c->def->group, "reason", err.msg);
}

static int consumer__check(hd_consumer *c, hd_err *err) {
  consumer_check a = {.c = c};
  if (hd_db_tx(c->ctx.db, consumer__check_tx, &a, 0, err) != 0) return -1;
  if (a.epoch != c->epoch) { /* a new epoch: marks of the old stream are not recorded */
    c->high_ms = c->high_seq = 0;
    c->high_dirty = false;
  }
  c->epoch = a.epoch;
  if (a.rebuilt) c->st.rebuilds++;
  if (a.info.group_exists && a.info.lag >= 0) {
    const char *labels[] = {"stream", c->def->stream, "group", c->def->group, NULL};
    hd_err gerr = {0};
    hd_metrics_gauge_set(c->ctx.metrics, HD_METRIC_EVENT_STREAM_LAG, labels, (double)a.info.lag,
                         &gerr);
  }
  if (++c->checks % CONSUMER_PURGE_EVERY == 1) consumer__purge(c);
  c->checked = true;
  c->next_check_us = hd_monotonic_us() + c->o.check_ms * HD_US_PER_MS;
  return 0;
}

/* Records the highest entry applied in this epoch (only ever raising it), outside any event's
 * transaction so that consumers do not queue on one row. A failure only delays it. */
static void consumer__record_high(hd_consumer *c) {
  if (!c->high_dirty) return;
  const int64_t ms = (int64_t)c->high_ms, seq = (int64_t)c->high_seq;
  const hd_db_param p[] = {hd_db_int(ms),
                           hd_db_int(seq),
                           hd_db_text(c->def->group),
                           hd_db_text(c->def->stream),
                           hd_db_int(c->epoch),
                           hd_db_int(ms),
                           hd_db_int(ms),
                           hd_db_int(seq)};
  hd_err err = {0};
  if (hd_db_exec(c->ctx.db,
                 "UPDATE consumer_groups SET high_ms = ?, high_seq = ? WHERE consumer_group = ? "
                 "AND stream = ? AND epoch = ? AND (high_ms < ? OR (high_ms = ? AND high_seq < ?))",
                 p, 8, NULL, NULL, &err) == 0)
    c->high_dirty = false;
}

/* ---- rounds ---- */

typedef enum consumer_fetch { FETCH_OWN_PENDING, FETCH_STALE, FETCH_NEW } consumer_fetch;

static int consumer__fetch(hd_consumer *c, consumer_fetch what, hd_kv_batch *b, hd_err *err) {
  const hd_consumer_def *d = c->def;
  switch (what) {
    case FETCH_OWN_PENDING:
      return hd_kv_stream_read_pending(c->ctx.kv, d->stream, d->group, c->name, c->o.batch, b, err);
    case FETCH_STALE:
      return hd_kv_stream_claim_stale(c->ctx.kv, d->stream, d->group, c->name, c->o.claim_idle_ms,
                                      c->o.batch, b, err);
    case FETCH_NEW:
      break;
  }
  return hd_kv_stream_read(c->ctx.kv, d->stream, d->group, c->name, c->o.batch, c->o.block_ms, b,
                           err);
}

/* Fetches and handles one batch. A Redis error reply (INTERNAL: NOGROUP when the group or the
 * stream is gone) makes it look at the group at once and try once more. */
static int consumer__step(hd_consumer *c, consumer_fetch what, hd_err *err) {
  int rc = -1;
  hd_kv_batch b = {0};
  if (consumer__fetch(c, what, &b, err) != 0) {
    if (err->code != HD_INTERNAL) goto done;
    hd_err_clear(err);
    if (consumer__check(c, err) != 0 || consumer__fetch(c, what, &b, err) != 0) goto done;
  }
  for (size_t i = 0; i < b.n; i++)
    if (consumer__handle(c, &b.entries[i], err) != 0) goto done;
  rc = 0;
done:
  hd_kv_batch_free(&b);
  return rc;
}

int hd_consumer_poll(hd_consumer *c, hd_err *err) {
  int rc = -1;
  if ((!c->checked || hd_monotonic_us() >= c->next_check_us) && consumer__check(c, err) != 0)
    goto done;
  if (!c->own_pending_read) {
    if (consumer__step(c, FETCH_OWN_PENDING, err) != 0) goto done;
    c->own_pending_read = true;
  }
  if (consumer__step(c, FETCH_STALE, err) != 0 || consumer__step(c, FETCH_NEW, err) != 0) goto done;
  rc = 0;
done:
  consumer__record_high(c);
  if (rc != 0) c->checked = c->own_pending_read = false;
  return rc;
}

/* ---- life ---- */

int hd_consumer_new(const hd_consumer_def *def, const hd_consumer_ctx *ctx, hd_consumer **out,
                    hd_err *err) {
  hd_consumer *c = NULL;
  *out = NULL;
  if (!def || !def->stream || !def->group || !def->apply || !ctx || !ctx->db || !ctx->kv ||
      !ctx->clock)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "a consumer needs a stream, a group, an apply function, MariaDB, Redis and "
                      "a clock");
  const size_t stream_len = strlen(def->stream), group_len = strlen(def->group);
  if (stream_len == 0 || stream_len > HD_KV_MAX_NAME || group_len == 0 ||
      group_len > HD_KV_MAX_NAME)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "a consumer's stream and group take 1..%d bytes each", HD_KV_MAX_NAME);
  hd_consumer_options o = def->opts;
  if (o.claim_idle_ms == 0) o.claim_idle_ms = HD_CONSUMER_CLAIM_IDLE_MS;
  if (o.max_deliveries == 0) o.max_deliveries = HD_CONSUMER_MAX_DELIVERIES;
  if (o.batch == 0) o.batch = HD_CONSUMER_BATCH;
  if (o.block_ms == 0) o.block_ms = HD_CONSUMER_BLOCK_MS;
  if (o.check_ms == 0) o.check_ms = HD_CONSUMER_CHECK_MS;
  if (o.retention_us == 0) o.retention_us = HD_CONSUMER_RETENTION_US;
  if (o.claim_idle_ms < 1 || o.claim_idle_ms > HD_KV_MAX_TTL_MS || o.max_deliveries > 1000 ||
      o.batch > HD_KV_MAX_COUNT || o.block_ms < 1 || o.block_ms > 1000 || o.check_ms < 1 ||
      o.check_ms > 3600000 || o.retention_us < HD_US_PER_S)
    return hd_err_set(
        err, HD_INVALID_ARGUMENT,
        "consumer %s: an option is out of range (claim idle 1 ms..30 d, at most 1000 "
        "deliveries, batch 1..%d, block 1..1000 ms, check 1 ms..1 h, retention >= 1 s)",
        def->group, HD_KV_MAX_COUNT);
  c = calloc(1, sizeof *c);
  if (!c) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory making a consumer");
  c->def = def;
  c->ctx = *ctx;
  c->o = o;
  int n = 0;
  if (o.consumer_name) {
    n = snprintf(c->name, sizeof c->name, "%s", o.consumer_name);
  } else {
    char host[64] = "host";
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = '\0';
    n = snprintf(c->name, sizeof c->name, "%s-%ld", host, (long)getpid());
  }
  const int m = o.dead_letter
                    ? snprintf(c->dead, sizeof c->dead, "%s", o.dead_letter)
                    : snprintf(c->dead, sizeof c->dead, "%s" HD_CONSUMER_DEAD_LETTER_SUFFIX "%s",
                               def->stream, def->group);
  if (n <= 0 || (size_t)n >= sizeof c->name || m <= 0 || (size_t)m >= sizeof c->dead) {
    free(c);
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "consumer %s: its name and dead-letter stream take 1..%d bytes", def->group,
                      HD_KV_MAX_NAME);
  }
  *out = c;
  return 0;
}

void hd_consumer_free(hd_consumer *c) { free(c); }

hd_consumer_stats hd_consumer_stats_get(const hd_consumer *c) { return c->st; }

const char *hd_consumer_name(const hd_consumer *c) { return c->name; }

/* ---- the version rule ---- */

/* Raises the entity's version when the event's is greater; the assignments read the row's old
 * version, so version itself is assigned last. 0 rows changed: not newer. */
static const char consumer__version_sql[] =
    "INSERT INTO consumed_versions (consumer_group, entity, version, event_id, applied_at_us) "
    "VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
    "event_id = IF(VALUES(version) > version, VALUES(event_id), event_id), "
    "applied_at_us = IF(VALUES(version) > version, VALUES(applied_at_us), applied_at_us), "
    "version = IF(VALUES(version) > version, VALUES(version), version)";

int hd_consumer_version_newer(hd_db *db, const hd_event *ev, bool *newer, hd_err *err) {
  *newer = true;
  if (ev->version == 0) return 0;
  if (!hd_db_in_tx(db))
    return hd_err_set(err, HD_INTERNAL,
                      "hd_consumer_version_newer runs in the apply function's transaction");
  char entity[CONSUMER_ENTITY_MAX + 1];
  const int n =
      snprintf(entity, sizeof entity, "%s|%s|%" PRId64, ev->stream, ev->tenant, ev->aggregate_id);
  if (n <= 0 || (size_t)n >= sizeof entity)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "the entity key of event %s is longer than %d",
                      ev->event_id, CONSUMER_ENTITY_MAX);
  const hd_db_param p[] = {hd_db_text(ev->group), hd_db_text(entity), hd_db_int(ev->version),
                           hd_db_text(ev->event_id), hd_db_int(ev->applied_at_us)};
  uint64_t affected = 0;
  if (hd_db_exec(db, consumer__version_sql, p, 5, &affected, NULL, err) != 0) return -1;
  *newer = affected > 0;
  return 0;
}

/* ---- the runtime's loop ---- */

void hd_consumer_loop(hd_svc_env *env, hd_worker *w, const hd_consumer_def *def,
                      const _Atomic bool *stop) {
  hd_consumer_def eff = *def; /* outlives c: c is freed before this returns */
  hd_err err = {0};
  int64_t idle_us = 0, max = 0;
  if (eff.opts.claim_idle_ms == 0 &&
      hd_config_duration_us("HELPDESK_CONSUMER_CLAIM_IDLE",
                            HD_CONSUMER_CLAIM_IDLE_MS * HD_US_PER_MS, &idle_us, &err) == 0)
    eff.opts.claim_idle_ms = idle_us / HD_US_PER_MS > 0 ? idle_us / HD_US_PER_MS : 1;
  if (eff.opts.max_deliveries == 0 &&
      hd_config_int("HELPDESK_CONSUMER_MAX_DELIVERIES", HD_CONSUMER_MAX_DELIVERIES, 1, 1000, &max,
                    &err) == 0)
    eff.opts.max_deliveries = (unsigned)max;
  if (err.code != HD_OK) hd_log_warn("consumer.config", "reason", err.msg, "then", "defaults");
  hd_consumer *c = NULL;
  const hd_consumer_ctx ctx = {
      .db = w->db, .kv = w->kv, .metrics = env->metrics, .clock = env->clock, .app = env->app};
  hd_err_clear(&err);
  if (hd_consumer_new(&eff, &ctx, &c, &err) != 0) {
    hd_log_error("consumer.start_failed", "stream", def->stream ? def->stream : "", "reason",
                 err.msg);
    return;
  }
  bool failing = false;
  while (!atomic_load(stop)) {
    hd_err_clear(&err);
    if (hd_consumer_poll(c, &err) == 0) {
      if (failing) hd_log_info("consumer.recovered", "stream", eff.stream, "group", eff.group);
      failing = false;
      continue;
    }
    if (!failing)
      hd_log_warn("consumer.poll_failed", "stream", eff.stream, "group", eff.group, "status",
                  hd_code_name(err.code), "reason", err.msg, "then", "retrying");
    failing = true;
    for (int64_t slept = 0; slept < CONSUMER_PAUSE_US && !atomic_load(stop); slept += 50000)
      usleep(50000);
  }
  hd_consumer_free(c);
}
