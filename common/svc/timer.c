/* Durable timers: taking due rows with SKIP LOCKED, firing them in batch transactions, Redis
 * wake-ups, the sweep, and failing rows set aside with a growing back-off (see timer.h). */
#include "svc/timer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "svc/sleep.h"

#define TIMER_POLL_DEFAULT_US    (200 * HD_US_PER_MS)
#define TIMER_SWEEP_DEFAULT_US   (30 * HD_US_PER_S)
#define TIMER_BATCH_DEFAULT      100
#define TIMER_BACKOFF_DEFAULT_US (60 * HD_US_PER_S)
#define TIMER_BACKOFF_MAX_DEF_US (3600 * HD_US_PER_S)
#define TIMER_PAUSE_US           HD_US_PER_S /* after a failed round of the loop */
#define TIMER_SQL_MAX            1024

/* A row fired in the current batch, kept for the log and the wake-up after the commit. */
typedef struct timer__fired {
  char member[HD_TIMER_MEMBER_MAX + 1];
  const char *result;
  int64_t due_us, next_due_us;
} timer__fired;

/* A row whose fire failed for good in the current batch: what setting it aside needs. */
typedef struct timer__poison {
  char key[HD_TIMER_KEYS_MAX][HD_TIMER_MEMBER_MAX + 1];
  char member[HD_TIMER_MEMBER_MAX + 1];
  int64_t due_us;
} timer__poison;

/* A row that failed before and has not fired since: how many times, and when last. */
typedef struct timer__aside {
  char member[HD_TIMER_MEMBER_MAX + 1];
  unsigned failures;
  int64_t last_us;
} timer__aside;

struct hd_timer {
  hd_timer_source src; /* defaults filled in */
  size_t n_keys;
  hd_svc_env *env;
  char zset[HD_KV_MAX_NAME + 1];
  bool has_zset;
  char take_sql[TIMER_SQL_MAX], aside_sql[TIMER_SQL_MAX];
  /* the batch in progress (reset by timer__batch: it may run again) */
  int64_t now_us;
  size_t taken, n_fired;
  bool catch_up;       /* a fire asked for a due time at or before now_us */
  timer__fired *fired; /* src.batch entries */
  bool has_poison;
  timer__poison poison;
  /* failing rows, across batches and rounds */
  timer__aside aside[HD_TIMER_ASIDE_MAX];
  size_t n_aside;
};

/* ---- set-up ---- */

static bool timer__ident_ok(const char *s, bool lower_only, size_t max) {
  if (!s || !*s || strlen(s) > max) return false;
  for (const char *p = s; *p; p++) {
    const bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                    (!lower_only && *p >= 'A' && *p <= 'Z');
    if (!ok) return false;
  }
  return true;
}

/* Fills the defaults of src into t->src and checks it. */
static int timer__check_source(hd_timer *t, const hd_timer_source *src, hd_err *err) {
  t->src = *src;
  hd_timer_source *s = &t->src;
  if (!timer__ident_ok(s->name, true, HD_TIMER_NAME_MAX))
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "a timer source's name must be 1 to %d of [a-z0-9_]", HD_TIMER_NAME_MAX);
  if (!timer__ident_ok(s->table, false, HD_TIMER_IDENT_MAX) ||
      !timer__ident_ok(s->due_col, false, HD_TIMER_IDENT_MAX))
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "timer %s: its table and due column must be 1 to %d of [A-Za-z0-9_]", s->name,
                      HD_TIMER_IDENT_MAX);
  t->n_keys = 0;
  while (t->n_keys < HD_TIMER_KEYS_MAX && s->keys[t->n_keys]) t->n_keys++;
  for (size_t k = t->n_keys; k < HD_TIMER_KEYS_MAX; k++)
    if (s->keys[k])
      return hd_err_set(err, HD_INVALID_ARGUMENT, "timer %s: key columns follow one another",
                        s->name);
  if (t->n_keys == 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "timer %s: name at least one key column", s->name);
  for (size_t k = 0; k < t->n_keys; k++)
    if (!timer__ident_ok(s->keys[k], false, HD_TIMER_IDENT_MAX))
      return hd_err_set(err, HD_INVALID_ARGUMENT,
                        "timer %s: key column %zu must be 1 to %d of [A-Za-z0-9_]", s->name, k + 1,
                        HD_TIMER_IDENT_MAX);
  if (!s->fire)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "timer %s has no fire function", s->name);
  if (s->poll_us < 0 || s->sweep_us < 0 || s->backoff_us < 0 || s->backoff_max_us < 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "timer %s: durations must not be negative",
                      s->name);
  if (s->batch > HD_TIMER_BATCH_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "timer %s: a batch is 1 to %d rows", s->name,
                      HD_TIMER_BATCH_MAX);
  if (!s->poll_us) s->poll_us = TIMER_POLL_DEFAULT_US;
  if (!s->sweep_us) s->sweep_us = TIMER_SWEEP_DEFAULT_US;
  if (!s->batch) s->batch = TIMER_BATCH_DEFAULT;
  if (!s->backoff_us) s->backoff_us = TIMER_BACKOFF_DEFAULT_US;
  if (!s->backoff_max_us) s->backoff_max_us = TIMER_BACKOFF_MAX_DEF_US;
  if (s->backoff_max_us < s->backoff_us)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "timer %s: the longest back-off is shorter than the first", s->name);
  return 0;
}

/* The take and set-aside statements (identifiers checked above, so quoting them is enough). */
static int timer__build_sql(hd_timer *t, hd_err *err) {
  const hd_timer_source *s = &t->src;
  char keys[TIMER_SQL_MAX / 2] = "", where[TIMER_SQL_MAX / 2] = "";
  size_t kl = 0, wl = 0;
  for (size_t k = 0; k < t->n_keys; k++) {
    kl += (size_t)snprintf(keys + kl, sizeof keys - kl, "`%s`, ", s->keys[k]);
    wl += (size_t)snprintf(where + wl, sizeof where - wl, "`%s` = ? AND ", s->keys[k]);
  }
  const int a =
      snprintf(t->take_sql, sizeof t->take_sql,
               "SELECT %s`%s` FROM `%s` WHERE `%s` <= ? ORDER BY `%s`, `%s` LIMIT ? "
               "FOR UPDATE SKIP LOCKED",
               keys, s->due_col, s->table, s->due_col, s->due_col, s->keys[t->n_keys - 1]);
  const int b =
      snprintf(t->aside_sql, sizeof t->aside_sql, "UPDATE `%s` SET `%s` = ? WHERE %s`%s` = ?",
               s->table, s->due_col, where, s->due_col);
  if (a < 0 || (size_t)a >= sizeof t->take_sql || b < 0 || (size_t)b >= sizeof t->aside_sql)
    return hd_err_set(err, HD_INTERNAL, "timer %s: its statements do not fit", s->name);
  return 0;
}

int hd_timer_new(const hd_timer_source *src, hd_svc_env *env, hd_timer **out, hd_err *err) {
  int rc = -1;
  hd_timer *t = calloc(1, sizeof *t);
  *out = NULL;
  if (!t) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating a timer");
    goto done;
  }
  t->env = env;
  if (timer__check_source(t, src, err) || timer__build_sql(t, err)) goto done;
  t->fired = calloc(t->src.batch, sizeof *t->fired);
  if (!t->fired) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating timer %s", t->src.name);
    goto done;
  }
  hd_err zerr = {0};
  t->has_zset = hd_timer_zset(env, t->src.name, t->zset, sizeof t->zset, &zerr) == 0;
  if (!t->has_zset)
    hd_log_error("timer.zset_name", "timer", t->src.name, "reason", zerr.msg, "then",
                 "sweeping MariaDB only");
  hd_metrics_gauge_describe(env->metrics, HD_METRIC_TIMER_ROWS_SET_ASIDE,
                            "Rows whose timer failed and waits for its retry (this replica).",
                            &zerr);
  *out = t;
  t = NULL;
  rc = 0;
done:
  hd_timer_free(t);
  return rc;
}

void hd_timer_free(hd_timer *t) {
  if (!t) return;
  free(t->fired);
  free(t);
}

/* ---- names and wake-ups ---- */

int hd_timer_zset(const hd_svc_env *env, const char *source, char *buf, size_t cap, hd_err *err) {
  const char *db = env->db.database ? env->db.database : "";
  const int n = snprintf(buf, cap, "helpdesk:{%s}:timers:%s", source, db);
  if (n < 0 || (size_t)n >= cap || (size_t)n > HD_KV_MAX_NAME)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "the wake-up set of timer %s in %s is too long",
                      source, db);
  return 0;
}

void hd_timer_wake(const hd_svc_env *env, hd_kv *kv, const char *source, const char *member,
                   int64_t due_us) {
  char zset[HD_KV_MAX_NAME + 1];
  hd_err err = {0};
  if (hd_timer_zset(env, source, zset, sizeof zset, &err) == 0 &&
      hd_kv_timer_schedule(kv, zset, member, due_us, &err) == 0)
    return;
  hd_metrics_redis_error(env->metrics);
  hd_log_warn("timer.wake_failed", "timer", source, "row", member, "reason", err.msg, "then",
              "the sweep finds it");
}

/* ---- failing rows ---- */

static void timer__gauge(const hd_timer *t) {
  const char *labels[] = {"timer", t->src.name, NULL};
  hd_err err = {0};
  hd_metrics_gauge_set(t->env->metrics, HD_METRIC_TIMER_ROWS_SET_ASIDE, labels, (double)t->n_aside,
                       &err);
}

static timer__aside *timer__aside_find(hd_timer *t, const char *member) {
  for (size_t i = 0; i < t->n_aside; i++)
    if (strcmp(t->aside[i].member, member) == 0) return &t->aside[i];
  return NULL;
}

/* The entry of member, made when new; when the table is full, the entry that failed longest ago
 * makes room (that row's back-off starts again from the first). */
static timer__aside *timer__aside_add(hd_timer *t, const char *member) {
  timer__aside *e = timer__aside_find(t, member);
  if (e) return e;
  if (t->n_aside < HD_TIMER_ASIDE_MAX) {
    e = &t->aside[t->n_aside++];
  } else {
    e = &t->aside[0];
    for (size_t i = 1; i < t->n_aside; i++)
      if (t->aside[i].last_us < e->last_us) e = &t->aside[i];
  }
  *e = (timer__aside){0};
  snprintf(e->member, sizeof e->member, "%s", member);
  return e;
}

/* A row fired: it is no longer failing. */
static void timer__aside_forget(hd_timer *t, const char *member) {
  timer__aside *e = timer__aside_find(t, member);
  if (!e) return;
  *e = t->aside[--t->n_aside];
  timer__gauge(t);
}

/* backoff_us doubled per earlier failure, at most backoff_max_us. */
static int64_t timer__backoff(const hd_timer_source *s, unsigned failures) {
  int64_t d = s->backoff_us;
  for (unsigned i = 1; i < failures && d < s->backoff_max_us; i++)
    d = d > s->backoff_max_us / 2 ? s->backoff_max_us : d * 2;
  return d < s->backoff_max_us ? d : s->backoff_max_us;
}

/* Moves the poison row's due time to now + back-off, only if it is still the due time the batch
 * read (another replica may have fired or changed it meanwhile). why: the fire's error. */
static int timer__set_aside(hd_timer *t, hd_worker *w, const hd_err *why, hd_err *err) {
  const timer__poison *p = &t->poison;
  timer__aside *e = timer__aside_add(t, p->member);
  e->failures++;
  e->last_us = t->now_us;
  const int64_t delay = timer__backoff(&t->src, e->failures);
  const int64_t until = t->now_us + delay;
  hd_db_param params[HD_TIMER_KEYS_MAX + 2];
  params[0] = hd_db_int(until);
  for (size_t k = 0; k < t->n_keys; k++) params[1 + k] = hd_db_text(p->key[k]);
  params[1 + t->n_keys] = hd_db_int(p->due_us);
  hd_metrics_db_error(t->env->metrics);
  timer__gauge(t);
  char n[16], retry[24];
  snprintf(n, sizeof n, "%u", e->failures);
  snprintf(retry, sizeof retry, "%" PRId64, (int64_t)(delay / HD_US_PER_S));
  hd_log_error("timer.row_set_aside", "timer", t->src.name, "row", p->member, "reason", why->msg,
               "failures", n, "retry_in_s", retry);
  if (hd_db_exec(w->db, t->aside_sql, params, t->n_keys + 2, NULL, NULL, err)) return -1;
  if (t->has_zset) hd_timer_wake(t->env, w->kv, t->src.name, p->member, until);
  return 0;
}

/* ---- firing ---- */

/* Joins the key values of row i with ':' into buf; -1 when one does not fit. */
static int timer__member(const hd_timer *t, const hd_db_rows *rows, size_t i, hd_timer_row *row,
                         char *buf, size_t cap) {
  size_t len = 0;
  for (size_t k = 0; k < t->n_keys; k++) {
    size_t vl = 0;
    row->key[k] = hd_db_str(rows, i, k, &vl);
    if (len + vl + (k ? 1 : 0) >= cap) return -1;
    if (k) buf[len++] = ':';
    memcpy(buf + len, row->key[k], vl);
    len += vl;
  }
  buf[len] = '\0';
  row->n_keys = t->n_keys;
  row->member = buf;
  return 0;
}

static void timer__keep_poison(hd_timer *t, const hd_timer_row *row) {
  t->has_poison = true;
  for (size_t k = 0; k < t->n_keys; k++)
    snprintf(t->poison.key[k], sizeof t->poison.key[k], "%s", row->key[k]);
  snprintf(t->poison.member, sizeof t->poison.member, "%s", row->member);
  t->poison.due_us = row->due_us;
}

/* One batch: take due rows, fire each. The transaction body; it resets its outputs. */
static int timer__batch(hd_db *db, void *arg, hd_err *err) {
  hd_timer *t = arg;
  hd_db_rows *rows = NULL;
  int rc = -1;
  t->taken = t->n_fired = 0;
  t->catch_up = t->has_poison = false;
  const hd_db_param p[] = {hd_db_int(t->now_us), hd_db_int((int64_t)t->src.batch)};
  if (hd_db_query(db, t->take_sql, p, 2, t->src.batch, &rows, err)) goto done;
  t->taken = hd_db_rows_count(rows);
  for (size_t i = 0; i < t->taken; i++) {
    timer__fired *f = &t->fired[t->n_fired];
    hd_timer_row row = {.due_us = hd_db_i64(rows, i, t->n_keys)};
    if (timer__member(t, rows, i, &row, f->member, sizeof f->member)) {
      hd_err_set(err, HD_INTERNAL, "timer %s: a row of %s has key values longer than %d bytes",
                 t->src.name, t->src.table, HD_TIMER_MEMBER_MAX);
      goto done;
    }
    hd_timer_outcome out = {0};
    if (t->src.fire(t->env, db, t->src.ctx, &row, t->now_us, &out, err)) {
      /* A deadlock or a lost connection is the batch's; anything else is this row's. */
      if (err->code != HD_ABORTED && err->code != HD_UNAVAILABLE) timer__keep_poison(t, &row);
      goto done;
    }
    f->result = out.result ? out.result : "fired";
    f->due_us = row.due_us;
    f->next_due_us = out.next_due_us;
    if (out.next_due_us != 0 && out.next_due_us <= t->now_us) t->catch_up = true;
    t->n_fired++;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* After a commit: the log line, the next wake-up, and the row is no longer failing. */
static void timer__after_commit(hd_timer *t, hd_worker *w) {
  for (size_t i = 0; i < t->n_fired; i++) {
    const timer__fired *f = &t->fired[i];
    char due[24], late[24], next[24] = "";
    snprintf(due, sizeof due, "%" PRId64, f->due_us);
    snprintf(late, sizeof late, "%" PRId64, (int64_t)((t->now_us - f->due_us) / HD_US_PER_MS));
    if (f->next_due_us) snprintf(next, sizeof next, "%" PRId64, f->next_due_us);
    hd_log_info("timer.fired", "timer", t->src.name, "row", f->member, "result", f->result,
                "due_us", due, "late_ms", late, "next_due_us", next);
    if (f->next_due_us && t->has_zset)
      hd_timer_wake(t->env, w->kv, t->src.name, f->member, f->next_due_us);
    timer__aside_forget(t, f->member);
  }
}

int hd_timer_fire_due(hd_timer *t, hd_worker *w, int64_t now_us, size_t *fired, hd_err *err) {
  int rc = -1;
  size_t total = 0;
  t->now_us = now_us;
  for (int round = 0; round < HD_TIMER_ROUNDS_MAX; round++) {
    hd_err ferr = {0};
    if (hd_db_tx(w->db, timer__batch, t, 0, &ferr)) {
      if (!t->has_poison) {
        if (err) *err = ferr;
        goto done;
      }
      if (timer__set_aside(t, w, &ferr, err)) goto done;
      continue; /* the same batch again, without the row set aside */
    }
    total += t->n_fired;
    timer__after_commit(t, w);
    if (t->taken < t->src.batch && !t->catch_up) break;
  }
  rc = 0;
done:
  if (fired) *fired = total;
  return rc;
}

/* ---- the loop ---- */

void hd_timer_run(hd_timer *t, hd_worker *w, const _Atomic bool *stop) {
  const hd_timer_source *s = &t->src;
  hd_svc_env *env = t->env;
  bool swept = false, housekept = false, failing = false;
  int64_t last_sweep_us = 0, last_house_us = 0;
  uint64_t failures = 0;
  timer__gauge(t);
  while (!atomic_load(stop)) {
    const int64_t now = hd_clock_now_us(env->clock);
    hd_err err = {0};
    const char *failed = NULL; /* what failed this round, for the log */
    bool run = !swept || now - last_sweep_us >= s->sweep_us || now < last_sweep_us;
    bool kv_ok = t->has_zset, has = false;
    int64_t next = 0;
    if (t->has_zset && hd_kv_timer_next(w->kv, t->zset, &has, &next, &err)) {
      hd_metrics_redis_error(env->metrics);
      failed = "redis";
      kv_ok = false;
    }
    if (!kv_ok || (has && next <= now)) run = true;
    if (run) {
      hd_err ferr = {0};
      if (hd_timer_fire_due(t, w, now, NULL, &ferr)) {
        hd_metrics_db_error(env->metrics);
        failed = "mariadb";
        err = ferr;
      } else {
        swept = true; /* every run asks MariaDB for everything due */
        last_sweep_us = now;
        if (kv_ok && hd_kv_timer_pop_due(w->kv, t->zset, now, NULL, &err)) {
          hd_metrics_redis_error(env->metrics);
          failed = "redis";
        }
        if (s->after_sweep &&
            (!housekept || now - last_house_us >= s->sweep_us || now < last_house_us)) {
          s->after_sweep(env, w, s->ctx, now);
          housekept = true;
          last_house_us = now;
        }
      }
    }
    if (failed) {
      failures++;
      if (!failing)
        hd_log_warn("timer.loop_failed", "timer", s->name, "store", failed, "reason", err.msg,
                    "then", "retrying every second");
      failing = true;
      hd_svc_sleep(TIMER_PAUSE_US, stop);
      continue;
    }
    if (failing) {
      char n[24];
      snprintf(n, sizeof n, "%" PRIu64, failures);
      hd_log_info("timer.loop_recovered", "timer", s->name, "failed_rounds", n);
    }
    failing = false;
    hd_svc_sleep(s->poll_us, stop);
  }
}

int hd_timer_fire_due_once(const hd_timer_source *src, hd_svc_env *env, hd_worker *w,
                           int64_t now_us, size_t *fired, hd_err *err) {
  hd_timer *t = NULL;
  if (fired) *fired = 0;
  if (hd_timer_new(src, env, &t, err)) return -1;
  const int rc = hd_timer_fire_due(t, w, now_us, fired, err);
  hd_timer_free(t);
  return rc;
}

void hd_timer_run_source(const hd_timer_source *src, hd_svc_env *env, hd_worker *w,
                         const _Atomic bool *stop) {
  hd_timer *t = NULL;
  hd_err err = {0};
  if (hd_timer_new(src, env, &t, &err)) {
    hd_log_error("timer.loop_not_started", "source", src->name ? src->name : "", "reason", err.msg);
    while (!hd_svc_sleep(HD_US_PER_S, stop)) {
    }
    return;
  }
  hd_timer_run(t, w, stop);
  hd_timer_free(t);
}
