/* Durable timers for every service: a due time is a column of the service's own table, and the
 * kit's loop fires due rows. MariaDB is the truth; Redis only makes firing faster.
 *
 * A service declares a timer source: its table, the columns that name one row, the due-time
 * column (BIGINT NULL, microseconds on the service's clock, NULL = no timer), and a fire
 * function. The kit gives the rest:
 *  - taking due rows: SELECT <keys>, <due> FROM <table> WHERE <due> <= now ORDER BY <due>, <last
 *    key> LIMIT <batch> FOR UPDATE SKIP LOCKED, so replicas running at once never take one row
 *    twice (give the table an index on (<due>, <last key>));
 *  - firing them, each in the batch's transaction, committed together;
 *  - wake-ups: a Redis sorted set per source and database, "helpdesk:{<source>}:timers:<db>",
 *    scored by due time. Handlers add to it after their commit (hd_timer_wake), the loop after
 *    each batch. The loop asks it every poll_us whether something is due; losing it (FLUSHALL,
 *    Redis down) loses nothing, it only waits for the next sweep;
 *  - the sweep: every sweep_us of the service's clock (and on the first round, and every round
 *    while Redis fails) the loop asks MariaDB directly;
 *  - setting a failing row aside: a row whose fire fails for good is moved to now + back-off (the
 *    back-off doubles with each failure of that row, from backoff_us up to backoff_max_us),
 *    logged (timer.row_set_aside), counted (helpdesk_db_errors_total, and the gauge
 *    helpdesk_timer_rows_set_aside{timer}), and the other rows go on.
 *
 * The contract of a fire function (hd_timer_fire_fn):
 *  - Locked: the row it is given, and every other row of its batch, by the take (FOR UPDATE), in
 *    the transaction open on db, until the batch commits. Nothing else is locked for it.
 *  - It runs on the loop's thread (the one hd_timer_run or hd_timer_fire_due runs on), with db
 *    in a transaction: it may read and write the service's tables through db (its change, history
 *    rows, outbox rows). It must not commit, roll back or begin a transaction, call Redis or
 *    anything outside MariaDB, or keep state between calls: the batch may run again (a deadlock is
 *    retried by hd_db_tx; a batch with a failing row is rolled back and run again without it), so
 *    whatever it did outside db could happen twice.
 *  - It re-checks the condition under the lock (the row was due when taken; the entity may have
 *    moved on meanwhile, say the customer answered) and then either fires, or does nothing but
 *    clear the timer.
 *  - It moves the due column itself: to the next due time or NULL, and reports that time in
 *    out->next_due_us (0 for none), for the wake-up. A next due time at or before now_us asks for
 *    another batch at once (a catch-up); the kit bounds those rounds.
 *  - Errors: ABORTED or UNAVAILABLE (a deadlock, a lost connection) fail the whole batch, which
 *    is rolled back and tried again on a later round (after a 1 s pause in the loop). Any other
 *    code is the row's own fault (a damaged row): the batch is rolled back, the row is set aside,
 *    and the batch runs again without it.
 *
 * One hd_timer is used by one thread at a time (its loop). */
#ifndef HD_SVC_TIMER_H
#define HD_SVC_TIMER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svc/service.h"

#define HD_TIMER_KEYS_MAX   3              /* key columns of one source (at least 1) */
#define HD_TIMER_MEMBER_MAX HD_KV_MAX_NAME /* bytes of a row's key values joined by ':' */
#define HD_TIMER_NAME_MAX   32             /* bytes of a source's name */
#define HD_TIMER_IDENT_MAX  64             /* bytes of a table or column name */
#define HD_TIMER_BATCH_MAX  500            /* rows per batch transaction */
#define HD_TIMER_ROUNDS_MAX 50 /* batches per hd_timer_fire_due; the rest waits for a round */
#define HD_TIMER_ASIDE_MAX  64 /* failing rows whose failure count a loop remembers */

/* Gauge: rows whose timer failed and wait for their retry, as this replica knows them (label
 * timer = the source's name). 0 when every row fires. */
#define HD_METRIC_TIMER_ROWS_SET_ASIDE "helpdesk_timer_rows_set_aside"

/* One due row, as the take read it. Everything borrowed for the fire call. */
typedef struct hd_timer_row {
  const char *key[HD_TIMER_KEYS_MAX]; /* the key columns' values as text, in the source's order */
  size_t n_keys;
  const char
      *member;    /* the key values joined by ':' ("acme:42"): the Redis member, the logs' row */
  int64_t due_us; /* the due time the take read (<= now_us) */
} hd_timer_row;

/* What a fire did, for the log and the wake-up after the commit. */
typedef struct hd_timer_outcome {
  const char *result;  /* static text for the log ("closed", "cleared"); NULL → "fired" */
  int64_t next_due_us; /* the due time it wrote; 0 when it cleared the timer */
} hd_timer_outcome;

/* Fires one due row (see the contract above). now_us is the time the loop read its clock at; use
 * it as the time of what the fire writes. *out starts zeroed. 0, or -1 with err set. */
typedef int (*hd_timer_fire_fn)(hd_svc_env *env, hd_db *db, void *ctx, const hd_timer_row *row,
                                int64_t now_us, hd_timer_outcome *out, hd_err *err);

/* Optional housekeeping at the sweep's pace, on the loop's thread, outside any transaction, after
 * a successful sweep. Errors are its own to log. */
typedef void (*hd_timer_sweep_fn)(hd_svc_env *env, hd_worker *w, void *ctx, int64_t now_us);

typedef struct hd_timer_source {
  const char *name;  /* [a-z0-9_]{1,32}: the wake-up set, logs, the metric's label */
  const char *table; /* [A-Za-z0-9_]{1,64}, in the service's database */
  const char *keys[HD_TIMER_KEYS_MAX]; /* key columns, 1 to 3 (unused ones NULL) */
  const char *due_col;                 /* BIGINT NULL */
  hd_timer_fire_fn fire;
  hd_timer_sweep_fn after_sweep; /* may be NULL */
  void *ctx;                     /* handed to fire and after_sweep; borrowed */
  int64_t poll_us;               /* real time between looks at the wake-ups; 0 → 200 ms */
  int64_t sweep_us;              /* service clock between sweeps of MariaDB; 0 → 30 s */
  size_t batch;                  /* rows per transaction, 1..HD_TIMER_BATCH_MAX; 0 → 100 */
  int64_t backoff_us;            /* a failing row's first set-aside; 0 → 1 minute */
  int64_t backoff_max_us;        /* the longest set-aside; 0 → 1 hour (at least backoff_us) */
} hd_timer_source;

typedef struct hd_timer hd_timer;

/* A timer for src (copied; its strings and ctx are borrowed and must outlive it) in env
 * (borrowed). INVALID_ARGUMENT naming what is wrong with src. Caller frees with hd_timer_free(). */
int hd_timer_new(const hd_timer_source *src, hd_svc_env *env, hd_timer **out, hd_err *err);

/* Frees t. NULL is a no-op. */
void hd_timer_free(hd_timer *t);

/* Fires every row due at now_us on w->db, a batch per transaction, batches repeating while one
 * came back full or asked for a catch-up (at most HD_TIMER_ROUNDS_MAX). After each commit it logs
 * every fired row (timer.fired), schedules the next wake-ups (best effort; Redis failures are
 * counted in helpdesk_redis_errors_total and logged) and forgets rows that had failed before.
 * A row that fails for good is set aside (see the top) and the others go on.
 * *fired (may be NULL) receives how many rows were fired (cleared ones included), also on failure
 * (those committed before it). 0, or -1 with err set (ABORTED / UNAVAILABLE from a batch, or the
 * set-aside itself failing); what committed stays. */
int hd_timer_fire_due(hd_timer *t, hd_worker *w, int64_t now_us, size_t *fired, hd_err *err);

/* The loop, until *stop: every poll_us of real time it reads the earliest wake-up; when that is
 * due on the service's clock, or a sweep is due, or Redis failed, it runs hd_timer_fire_due at
 * the clock's now and then removes the wake-ups due by then (ZREMRANGEBYSCORE). A failure (Redis
 * or MariaDB) is counted, logged once until it recovers (timer.loop_failed, timer.loop_recovered)
 * and followed by a 1 s pause; never fatal. Sleeps through hd_svc_sleep. */
void hd_timer_run(hd_timer *t, hd_worker *w, const _Atomic bool *stop);

/* The wake-up set of source in env's database: "helpdesk:{<source>}:timers:<database>" (one per
 * database, so services and test fixtures sharing a Redis never take each other's wake-ups).
 * 0, or -1 (INVALID_ARGUMENT) when buf is too small. */
int hd_timer_zset(const hd_svc_env *env, const char *source, char *buf, size_t cap, hd_err *err);

/* Schedules a wake-up of source's loop at due_us for member (the row's key values joined by ':'),
 * after the transaction that set the due time committed. Best effort: a failure is logged
 * (timer.wake_failed) and counted (helpdesk_redis_errors_total), and the sweep finds the row
 * anyway. kv is the caller's connection. Any thread. */
void hd_timer_wake(const hd_svc_env *env, hd_kv *kv, const char *source, const char *member,
                   int64_t due_us);

/* ---- one source, once or as a loop (what a service's timer thread and its tests call) ---- */

/* hd_timer_new(src), hd_timer_fire_due at now_us, hd_timer_free: *fired (may be NULL; 0 first)
 * and the result as hd_timer_fire_due's, or hd_timer_new's error. */
int hd_timer_fire_due_once(const hd_timer_source *src, hd_svc_env *env, hd_worker *w,
                           int64_t now_us, size_t *fired, hd_err *err);

/* hd_timer_new(src) and hd_timer_run until *stop. When the timer cannot be made (a source that
 * is wrong) it logs timer.loop_not_started with the reason and waits for the stop, so the
 * service's thread ends as the others do. */
void hd_timer_run_source(const hd_timer_source *src, hd_svc_env *env, hd_worker *w,
                         const _Atomic bool *stop);

#endif
