/* The kit's timers (common/svc/timer.h) on a table of this test's own (timer_rows), not the
 * ticket service's: due rows fire once across two loops (two replicas), a Redis wake-up fires
 * before the sweep, the sweep fires what FLUSHALL left without a wake-up, and a failing row is set
 * aside with a growing, capped back-off while the other rows still fire.
 *
 * Time is the manual clock (common/clock): the rules are driven by moving it, never by sleeping
 * out an interval. The loops poll every 20 ms of real time; tests wait for them with a bounded
 * poll (at most 10 s). The group runs its own Redis (a free port), so FLUSHALL here wipes nothing
 * another test of the suite uses. */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock/clock.h"
#include "svc/timer.h"
#include "test_env.h"

#define T0_US     ((int64_t)(1767571200LL * HD_US_PER_S)) /* 2026-01-05T00:00:00Z */
#define MINUTE_US ((int64_t)(60 * HD_US_PER_S))
#define DAY_US    ((int64_t)(86400 * HD_US_PER_S))
#define SOURCE    "kit_rows"

static const char table_sql[] =
    "CREATE TABLE timer_rows (id BIGINT NOT NULL PRIMARY KEY, due_us BIGINT NULL, "
    "fired INT NOT NULL DEFAULT 0, fired_at_us BIGINT NULL, fired_by VARCHAR(16) NULL, "
    "fail TINYINT NOT NULL DEFAULT 0, KEY ix_timer_rows_due (due_us, id)) ENGINE=InnoDB";

/* The group's own Redis. */
typedef struct group {
  hd_test_redis redis; /* a private Redis */
} group;

/* One test: a fresh database with timer_rows, a service environment around it, and the test's
 * own connections. */
typedef struct kt {
  group *g;
  hd_clock clock;
  hd_metrics *metrics;
  char db_name[64];
  hd_svc_env env;
  hd_worker w;
} kt;

/* One loop on its own thread and connections: a replica. */
typedef struct replica {
  kt *k;
  const char *name; /* written to fired_by */
  hd_timer_source src;
  hd_timer *t;
  hd_worker w;
  _Atomic bool stop;
  pthread_t thread;
} replica;

/* ---- the source: fire re-checks the row under its lock, records the firing, clears the due
 * time; a row with fail = 1 is damaged and its fire fails ---- */

static int fire_row(hd_svc_env *env, hd_db *db, void *ctx, const hd_timer_row *row, int64_t now_us,
                    hd_timer_outcome *out, hd_err *err) {
  (void)env;
  const char *by = ctx;
  hd_db_rows *rows = NULL;
  const hd_db_param id = hd_db_text(row->key[0]);
  if (hd_db_query(db, "SELECT fail, due_us FROM timer_rows WHERE id = ?", &id, 1, 1, &rows, err))
    return -1;
  const bool gone =
      hd_db_rows_count(rows) != 1 || hd_db_is_null(rows, 0, 1) || hd_db_i64(rows, 0, 1) > now_us;
  const bool fail = !gone && hd_db_i64(rows, 0, 0) != 0;
  hd_db_rows_free(rows);
  if (gone) return 0; /* no longer due: nothing to do (the kit's take makes this rare) */
  if (fail) return hd_err_set(err, HD_INTERNAL, "row %s is damaged", row->member);
  const hd_db_param p[] = {hd_db_int(now_us), hd_db_text(by), hd_db_text(row->key[0])};
  out->result = "recorded";
  return hd_db_exec(db,
                    "UPDATE timer_rows SET fired = fired + 1, fired_at_us = ?, fired_by = ?, "
                    "due_us = NULL WHERE id = ?",
                    p, 3, NULL, NULL, err);
}

static hd_timer_source source(const char *by) {
  return (hd_timer_source){.name = SOURCE,
                           .table = "timer_rows",
                           .keys = {"id"},
                           .due_col = "due_us",
                           .fire = fire_row,
                           .ctx = (void *)by,
                           .poll_us = 20 * HD_US_PER_MS,
                           .sweep_us = DAY_US, /* only the first round sweeps unless a test says */
                           .batch = 10,
                           .backoff_us = MINUTE_US,
                           .backoff_max_us = 4 * MINUTE_US};
}

/* ---- group: a private Redis ---- */

static int group_setup(void **state) {
  group *g = calloc(1, sizeof *g);
  if (!g || hd_test_redis_start(&g->redis) != 0) {
    free(g);
    return -1;
  }
  *state = g;
  return 0;
}

static int group_teardown(void **state) {
  group *g = *state;
  if (!g) return 0;
  hd_test_redis_stop(&g->redis);
  free(g);
  hd_db_library_end();
  return 0;
}

/* ---- per test ---- */

static int setup(void **state) {
  kt *k = calloc(1, sizeof *k);
  hd_err err = {0};
  if (!k) return -1;
  k->g = *state;
  hd_clock_init_manual(&k->clock, T0_US);
  hd_test_unique(k->db_name, sizeof k->db_name, "hdtimer");
  if (hd_metrics_new(&k->metrics, &err)) goto fail;
  k->env.config.service = "timertest";
  k->env.clock = &k->clock;
  k->env.metrics = k->metrics;
  hd_test_db_config(&k->env.db, k->db_name);
  k->env.kv = (hd_kv_config){.host = "127.0.0.1", .port = k->g->redis.port};
  if (hd_db_new(&k->env.db, &k->w.db, &err) || hd_kv_new(&k->env.kv, &k->w.kv, &err) ||
      hd_db_exec(k->w.db, table_sql, NULL, 0, NULL, NULL, &err))
    goto fail;
  *state = k;
  return 0;
fail:
  fprintf(stderr, "setup: %s\n", err.msg);
  hd_kv_close(k->w.kv);
  hd_db_close(k->w.db);
  hd_metrics_free(k->metrics);
  free(k);
  return -1;
}

static int teardown(void **state) {
  kt *k = *state;
  hd_err err = {0};
  char sql[128];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", k->db_name);
  hd_db_exec(k->w.db, sql, NULL, 0, NULL, NULL, &err);
  group *g = k->g;
  hd_kv_close(k->w.kv);
  hd_db_close(k->w.db);
  hd_metrics_free(k->metrics);
  free(k);
  *state = g;
  return 0;
}

/* ---- helpers ---- */

/* Runs a printf-formatted statement; with out, a query whose first column of the first row goes
 * to *out (0 for no row or NULL). Fails the test when MariaDB refuses it. */
static void run_sql(kt *k, int64_t *out, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void run_sql(kt *k, int64_t *out, const char *fmt, va_list ap) {
  char sql[8192];
  vsnprintf(sql, sizeof sql, fmt, ap);
  hd_err err = {0};
  hd_db_rows *rows = NULL;
  const int rc = out ? hd_db_query(k->w.db, sql, NULL, 0, 1, &rows, &err)
                     : hd_db_exec(k->w.db, sql, NULL, 0, NULL, NULL, &err);
  if (rc) fail_msg("%s: %s", sql, err.msg);
  if (out) *out = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  hd_db_rows_free(rows);
}

static void exec_sql(kt *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void exec_sql(kt *k, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  run_sql(k, NULL, fmt, ap);
  va_end(ap);
}

static int64_t sql_i64(kt *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t sql_i64(kt *k, const char *fmt, ...) {
  int64_t v = 0;
  va_list ap;
  va_start(ap, fmt);
  run_sql(k, &v, fmt, ap);
  va_end(ap);
  return v;
}

static void insert_row(kt *k, int64_t id, int64_t due_us) {
  exec_sql(k, "INSERT INTO timer_rows (id, due_us) VALUES (%" PRId64 ", %" PRId64 ")", id, due_us);
}

/* Polls (every 20 ms, at most 10 s) until the query gives want. */
static void wait_for(kt *k, int64_t want, const char *sql) {
  int64_t got = -1;
  for (int i = 0; i < 500; i++) {
    got = sql_i64(k, "%s", sql);
    if (got == want) return;
    usleep(20000);
  }
  fail_msg("%s gave %" PRId64 ", waited for %" PRId64, sql, got, want);
}

/* Gives the loops time for several rounds (20 ms each) to show that they do nothing. */
static void let_the_loops_run(void) { usleep(300000); }

static int64_t zcard(kt *k) {
  char zset[HD_KV_MAX_NAME + 1];
  hd_err err = {0};
  assert_int_equal(hd_timer_zset(&k->env, SOURCE, zset, sizeof zset, &err), 0);
  const char *argv[] = {"ZCARD", zset};
  hd_kv_reply *r = NULL;
  assert_int_equal(hd_kv_cmd(k->w.kv, 2, argv, NULL, true, &r, &err), 0);
  const int64_t n = r->integer;
  hd_kv_reply_free(r);
  return n;
}

/* The gauge's value in the rendered metrics, or -1 when the series is absent. */
static double set_aside_gauge(kt *k) {
  char *text = NULL;
  size_t len = 0;
  hd_err err = {0};
  assert_int_equal(hd_metrics_render(k->metrics, &text, &len, &err), 0);
  const char *series = HD_METRIC_TIMER_ROWS_SET_ASIDE "{timer=\"" SOURCE "\"} ";
  const char *at = strstr(text, series);
  const double v = at ? strtod(at + strlen(series), NULL) : -1;
  free(text);
  return v;
}

/* Starts r (see replica_start) and waits until its first round, which always sweeps, is done: a
 * probe row (id 1000) due before the clock's now has fired. From then on only a wake-up or the
 * next sweep makes it fire anything. */
static void replica_start_swept(replica *r, kt *k, const char *name, int64_t sweep_us);

static void *replica_main(void *arg) {
  replica *r = arg;
  hd_timer_run(r->t, &r->w, &r->stop);
  return NULL;
}

static void replica_start(replica *r, kt *k, const char *name, int64_t sweep_us) {
  memset(r, 0, sizeof *r);
  r->k = k;
  r->name = name;
  r->src = source(name);
  if (sweep_us) r->src.sweep_us = sweep_us;
  hd_err err = {0};
  assert_int_equal(hd_timer_new(&r->src, &k->env, &r->t, &err), 0);
  assert_int_equal(hd_db_new(&k->env.db, &r->w.db, &err), 0);
  assert_int_equal(hd_kv_new(&k->env.kv, &r->w.kv, &err), 0);
  atomic_store(&r->stop, false);
  assert_int_equal(pthread_create(&r->thread, NULL, replica_main, r), 0);
}

static void replica_stop(replica *r) {
  atomic_store(&r->stop, true);
  pthread_join(r->thread, NULL);
  hd_timer_free(r->t);
  hd_db_close(r->w.db);
  hd_kv_close(r->w.kv);
}

static void replica_start_swept(replica *r, kt *k, const char *name, int64_t sweep_us) {
  insert_row(k, 1000, hd_clock_now_us(&k->clock) - 1);
  replica_start(r, k, name, sweep_us);
  wait_for(k, 1, "SELECT fired FROM timer_rows WHERE id = 1000");
}

/* ---- tests ---- */

static void test_due_rows_fire_once_across_two_replicas(void **state) {
  kt *k = *state;
  enum { DUE = 400, LATER = 40 };
  /* One multi-row INSERT per 100 rows: due ones a microsecond apart, later ones a day ahead. */
  for (int64_t base = 1; base <= DUE + LATER; base += 100) {
    char sql[8192];
    size_t n = (size_t)snprintf(sql, sizeof sql, "INSERT INTO timer_rows (id, due_us) VALUES ");
    for (int64_t id = base; id < base + 100 && id <= DUE + LATER; id++)
      n += (size_t)snprintf(sql + n, sizeof sql - n, "%s(%" PRId64 ", %" PRId64 ")",
                            id == base ? "" : ", ", id,
                            id <= DUE ? T0_US - DUE + id : T0_US + DAY_US);
    exec_sql(k, "%s", sql);
  }
  replica a, b;
  replica_start(&a, k, "a", 0);
  replica_start(&b, k, "b", 0);
  wait_for(k, DUE, "SELECT COUNT(*) FROM timer_rows WHERE fired > 0");
  let_the_loops_run();
  replica_stop(&a);
  replica_stop(&b);

  assert_int_equal(sql_i64(k,
                           "SELECT COUNT(*) FROM timer_rows WHERE id <= %d AND fired = 1 AND "
                           "due_us IS NULL AND fired_at_us = %" PRId64,
                           DUE, T0_US),
                   DUE);
  assert_int_equal(sql_i64(k, "SELECT SUM(fired) FROM timer_rows"), DUE);
  assert_int_equal(sql_i64(k,
                           "SELECT COUNT(*) FROM timer_rows WHERE id > %d AND fired = 0 AND "
                           "due_us = %" PRId64,
                           DUE, T0_US + DAY_US),
                   LATER);
  print_message("fired by replica a: %" PRId64 ", by replica b: %" PRId64 ", twice: %" PRId64 "\n",
                sql_i64(k, "SELECT COUNT(*) FROM timer_rows WHERE fired_by = 'a'"),
                sql_i64(k, "SELECT COUNT(*) FROM timer_rows WHERE fired_by = 'b'"),
                sql_i64(k, "SELECT COUNT(*) FROM timer_rows WHERE fired > 1"));
}

static void test_a_wake_up_in_redis_fires_due_rows_before_the_sweep(void **state) {
  kt *k = *state;
  replica a;
  replica_start_swept(&a, k, "a", 0); /* swept at start, then only every day of the clock */
  insert_row(k, 1, T0_US + 10 * HD_US_PER_S);
  hd_clock_advance(&k->clock, 20 * HD_US_PER_S);
  let_the_loops_run();
  /* Due in MariaDB, but nothing woke the loop and no sweep is due. */
  assert_int_equal(sql_i64(k, "SELECT fired FROM timer_rows WHERE id = 1"), 0);

  /* A handler's wake-up after its commit: the loop takes everything due. */
  insert_row(k, 2, T0_US + 15 * HD_US_PER_S);
  hd_timer_wake(&k->env, k->w.kv, SOURCE, "2", T0_US + 15 * HD_US_PER_S);
  wait_for(k, 2, "SELECT COUNT(*) FROM timer_rows WHERE id < 1000 AND fired = 1");
  let_the_loops_run();
  assert_int_equal(zcard(k), 0); /* the wake-ups due by the run are removed */
  replica_stop(&a);
  assert_int_equal(sql_i64(k, "SELECT SUM(fired) FROM timer_rows WHERE id < 1000"), 2);
}

static void test_the_sweep_fires_due_rows_after_flushall(void **state) {
  kt *k = *state;
  replica a;
  replica_start_swept(&a, k, "a", MINUTE_US); /* swept at T0, then every minute of the clock */
  for (int64_t id = 1; id <= 3; id++) {
    insert_row(k, id, T0_US + 10 * HD_US_PER_S);
    char member[24];
    snprintf(member, sizeof member, "%" PRId64, id);
    hd_timer_wake(&k->env, k->w.kv, SOURCE, member, T0_US + 10 * HD_US_PER_S);
  }
  assert_int_equal(zcard(k), 3);
  const char *flush[] = {"FLUSHALL"};
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(k->w.kv, 1, flush, NULL, false, NULL, &err), 0);
  assert_int_equal(zcard(k), 0);

  hd_clock_advance(&k->clock, 30 * HD_US_PER_S); /* due, but no wake-up and no sweep yet */
  let_the_loops_run();
  assert_int_equal(sql_i64(k, "SELECT SUM(fired) FROM timer_rows WHERE id < 1000"), 0);

  hd_clock_advance(&k->clock, 31 * HD_US_PER_S); /* a minute since the last sweep */
  wait_for(k, 3, "SELECT COUNT(*) FROM timer_rows WHERE id < 1000 AND fired = 1");
  replica_stop(&a);
  assert_int_equal(sql_i64(k, "SELECT SUM(fired) FROM timer_rows WHERE id < 1000"), 3);
}

/* hd_timer_fire_due at chosen times on one timer (a loop's, without its thread). */
static size_t fire_at(kt *k, hd_timer *t, int64_t at_us) {
  size_t fired = 99;
  hd_err err = {0};
  if (hd_timer_fire_due(t, &k->w, at_us, &fired, &err)) fail_msg("fire_due: %s", err.msg);
  return fired;
}

static void test_a_failing_row_is_set_aside_with_a_growing_capped_back_off(void **state) {
  kt *k = *state;
  const hd_timer_source src = source("direct");
  hd_timer *t = NULL;
  hd_err err = {0};
  assert_int_equal(hd_timer_new(&src, &k->env, &t, &err), 0);
  insert_row(k, 1, T0_US - 2); /* damaged, and due first */
  exec_sql(k, "UPDATE timer_rows SET fail = 1 WHERE id = 1");
  insert_row(k, 2, T0_US - 1);
  insert_row(k, 3, T0_US);

  /* Each round: the damaged row goes aside again, for 1, 2, 4, then 4 (the cap) minutes, and a
   * row that fell due meanwhile still fires. */
  static const int64_t backoff_min[] = {1, 2, 4, 4};
  int64_t at = T0_US;
  for (size_t i = 0; i < sizeof backoff_min / sizeof backoff_min[0]; i++) {
    const size_t expect = i == 0 ? 2 : 1;
    if (i > 0) insert_row(k, 10 + (int64_t)i, at - 1);
    assert_int_equal(fire_at(k, t, at), expect);
    const int64_t due = sql_i64(k, "SELECT due_us FROM timer_rows WHERE id = 1");
    assert_int_equal(due, at + backoff_min[i] * MINUTE_US);
    assert_int_equal(sql_i64(k, "SELECT fired FROM timer_rows WHERE id = 1"), 0);
    assert_true(set_aside_gauge(k) == 1.0);
    assert_int_equal(fire_at(k, t, due - 1), 0); /* not before its time */
    at = due;
  }
  assert_int_equal(sql_i64(k, "SELECT COUNT(*) FROM timer_rows WHERE id <> 1 AND fired = 1"), 5);

  /* Repaired: it fires at its next retry and is no longer counted as set aside. */
  exec_sql(k, "UPDATE timer_rows SET fail = 0 WHERE id = 1");
  assert_int_equal(fire_at(k, t, at), 1);
  assert_int_equal(sql_i64(k, "SELECT fired FROM timer_rows WHERE id = 1"), 1);
  assert_true(set_aside_gauge(k) == 0.0);
  hd_timer_free(t);
}

static void test_a_source_that_cannot_work_is_refused_with_the_reason(void **state) {
  kt *k = *state;
  static const struct {
    hd_timer_source src;
    const char *says;
  } bad[] = {
      {{.name = "Rows", .table = "t", .keys = {"id"}, .due_col = "d", .fire = fire_row}, "name"},
      {{.name = "rows", .table = "t; DROP", .keys = {"id"}, .due_col = "d", .fire = fire_row},
       "table and due column"},
      {{.name = "rows", .table = "t", .due_col = "d", .fire = fire_row}, "at least one key"},
      {{.name = "rows", .table = "t", .keys = {"id"}, .due_col = "d"}, "no fire function"},
      {{.name = "rows",
        .table = "t",
        .keys = {"id"},
        .due_col = "d",
        .fire = fire_row,
        .backoff_us = 2,
        .backoff_max_us = 1},
       "back-off"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hd_timer *t = NULL;
    hd_err err = {0};
    assert_int_equal(hd_timer_new(&bad[i].src, &k->env, &t, &err), -1);
    assert_null(t);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
    if (!strstr(err.msg, bad[i].says)) fail_msg("case %zu: \"%s\"", i, err.msg);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_due_rows_fire_once_across_two_replicas, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_wake_up_in_redis_fires_due_rows_before_the_sweep,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_the_sweep_fires_due_rows_after_flushall, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_a_failing_row_is_set_aside_with_a_growing_capped_back_off, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_source_that_cannot_work_is_refused_with_the_reason,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
