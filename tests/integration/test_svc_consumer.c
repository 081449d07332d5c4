/* common/svc/consumer against a real MariaDB and Redis: events published by the real outbox relay
 * are applied once, in version order, after consumers die at either side of their commit,
 * around poison events, from before the group existed, and after Redis was wiped (a private
 * redis-server, so FLUSHALL touches no other test). Consumers that "die" are forked children
 * that _exit() from the kit's fault hook. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "echo_service.h"
#include "svc/consumer.h"
#include "svc/outbox.h"
#include "svc_fixture.h"
#include "test_env.h"

#define GROUP       "routing"
#define DIED_EXIT   42             /* the exit status of a child that died at the fault hook */
#define WAIT_US     (20 * 1000000) /* how long a test waits for what must happen */
#define TEST_TENANT "acme"

/* The consumer's own tables: how often each event was applied, and the state derived from
 * ticket events (written only for a newer version). */
static const char test_tables_sql[] =
    "CREATE TABLE IF NOT EXISTS effects (event_id VARCHAR(200) NOT NULL PRIMARY KEY, "
    "applies INT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;\n"
    "CREATE TABLE IF NOT EXISTS ticket_state (tenant VARCHAR(64) NOT NULL, ticket_id BIGINT NOT "
    "NULL, version BIGINT NOT NULL, status VARCHAR(32) NOT NULL, writes INT NOT NULL, "
    "PRIMARY KEY (tenant, ticket_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
    "COLLATE=utf8mb4_bin;\n";

typedef struct fixture {
  char dbname[64];
  char service[48]; /* the producer's name: its stream is helpdesk:events:<service> */
  char stream[96];
  char dead[128];
  hd_db *db;
  hd_kv *kv;
  hd_metrics *metrics;
  hd_clock clock;
  hd_svc_env env; /* for the outbox relay */
  hd_worker w;
  hd_test_redis redis; /* a private Redis, when the test started one */
} fixture;

/* What the apply function saw, for the test's assertions (one process). */
typedef struct test_app {
  int64_t last_deliveries;
  int rebuilds;
} test_app;

/* ---- the consumer under test ---- */

static int test_apply(hd_db *db, const hd_event *ev, void *app, hd_err *err) {
  test_app *t = app;
  if (t) t->last_deliveries = ev->deliveries;
  if (strcmp(ev->type, "test.poison") == 0)
    return hd_err_set(err, HD_FAILED_PRECONDITION, "poison event refused by the test");
  const hd_db_param e = hd_db_text(ev->event_id);
  if (hd_db_exec(db,
                 "INSERT INTO effects (event_id, applies) VALUES (?, 1) "
                 "ON DUPLICATE KEY UPDATE applies = applies + 1",
                 &e, 1, NULL, NULL, err) != 0)
    return -1;
  bool newer = false;
  if (hd_consumer_version_newer(db, ev, &newer, err) != 0) return -1;
  if (!newer || ev->version == 0) return 0;
  const char *status =
      json_string_value(json_object_get(json_object_get(ev->json, "ticket"), "status"));
  const hd_db_param p[] = {hd_db_text(ev->tenant), hd_db_int(ev->aggregate_id),
                           hd_db_int(ev->version), hd_db_text(status ? status : "")};
  return hd_db_exec(db,
                    "INSERT INTO ticket_state (tenant, ticket_id, version, status, writes) "
                    "VALUES (?, ?, ?, ?, 1) ON DUPLICATE KEY UPDATE version = VALUES(version), "
                    "status = VALUES(status), writes = writes + 1",
                    p, 4, NULL, NULL, err);
}

static int test_rebuild(hd_db *db, hd_kv *kv, void *app, hd_err *err) {
  (void)db;
  test_app *t = app;
  t->rebuilds++;
  /* Derived state in Redis, made again from MariaDB: a marker the test can see. */
  const char *argv[] = {"SET", "rebuilt-marker", "1"};
  return hd_kv_cmd(kv, 3, argv, NULL, true, NULL, err);
}

static hd_consumer_def consumer_def(const fixture *f) {
  return (hd_consumer_def){.stream = f->stream,
                           .group = GROUP,
                           .apply = test_apply,
                           .opts = {.block_ms = 1, .consumer_name = "c1"}};
}

static hd_consumer *consumer_new(fixture *f, const hd_consumer_def *def, test_app *app) {
  const hd_consumer_ctx ctx = {
      .db = f->db, .kv = f->kv, .metrics = f->metrics, .clock = &f->clock, .app = app};
  hd_consumer *c = NULL;
  hd_err err = {0};
  if (hd_consumer_new(def, &ctx, &c, &err) != 0) fail_msg("hd_consumer_new: %s", err.msg);
  return c;
}

static void poll_ok(hd_consumer *c) {
  hd_err err = {0};
  if (hd_consumer_poll(c, &err) != 0) fail_msg("poll: %s: %s", hd_code_name(err.code), err.msg);
}

/* Polls until pred(c) holds, for at most WAIT_US. */
static bool poll_until(hd_consumer *c, bool (*pred)(const hd_consumer *c)) {
  const int64_t end = hd_monotonic_us() + WAIT_US;
  while (!pred(c)) {
    if (hd_monotonic_us() > end) return false;
    poll_ok(c);
  }
  return true;
}

static void print_figures(const char *test, size_t events, const hd_consumer_stats *s) {
  printf(
      "figures %s: events=%zu applied=%llu duplicates=%llu dead_lettered=%llu failed=%llu "
      "rebuilds=%llu\n",
      test, events, (unsigned long long)s->applied, (unsigned long long)s->duplicates,
      (unsigned long long)s->dead_lettered, (unsigned long long)s->failed,
      (unsigned long long)s->rebuilds);
}

/* ---- fixture ---- */

static int open_all(fixture *f, unsigned redis_port) {
  hd_db_config cfg;
  hd_test_db_config(&cfg, f->dbname);
  hd_kv_config kcfg;
  hd_test_kv_config(&kcfg);
  if (redis_port) kcfg.port = redis_port;
  hd_err err = {0};
  if (hd_db_new(&cfg, &f->db, &err) != 0 || hd_kv_new(&kcfg, &f->kv, &err) != 0 ||
      hd_metrics_new(&f->metrics, &err) != 0 ||
      hd_migrate(f->db, HD_MIGRATE_SET_KIT, hd_kit_migrations, hd_kit_migrations_count, NULL,
                 &err) != 0 ||
      hd_db_exec_script(f->db, test_tables_sql, &err) != 0) {
    fprintf(stderr, "setup: %s\n", err.msg);
    return -1;
  }
  f->env.config.service = f->service;
  f->env.clock = &f->clock;
  f->env.metrics = f->metrics;
  f->w = (hd_worker){.db = f->db, .kv = f->kv};
  return 0;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  *state = f;
  hd_test_unique(f->dbname, sizeof f->dbname, "consumer");
  hd_test_unique(f->service, sizeof f->service, "prod");
  snprintf(f->stream, sizeof f->stream, "%s%s", HD_OUTBOX_STREAM_PREFIX, f->service);
  snprintf(f->dead, sizeof f->dead, "%s:dead:%s", f->stream, GROUP);
  hd_clock_init_manual(&f->clock, 1767571200LL * HD_US_PER_S);
  return open_all(f, 0);
}

static void del_keys(fixture *f) {
  const char *argv[] = {"DEL", f->stream, f->dead};
  hd_err err = {0};
  hd_kv_cmd(f->kv, 3, argv, NULL, true, NULL, &err);
}

static int teardown(void **state) {
  fixture *f = *state;
  int rc = 0;
  if (f->db) {
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", f->dbname);
    hd_err err = {0};
    rc = hd_db_exec_script(f->db, sql, &err);
    if (rc != 0) fprintf(stderr, "teardown: %s\n", err.msg);
  }
  if (f->kv) del_keys(f);
  hd_db_close(f->db);
  hd_kv_close(f->kv);
  hd_metrics_free(f->metrics);
  hd_test_redis_stop(&f->redis);
  free(f);
  return rc;
}

/* ---- publishing, the way services do: an outbox row, then the real relay ---- */

/* Returns the row's id (on Galera ids step by the cluster's size: never assume 1, 2, ...). */
static int64_t outbox_add(fixture *f, int64_t ticket_id, const char *type, int64_t version,
                          const char *status) {
  char payload[512];
  if (version > 0)
    snprintf(payload, sizeof payload,
             "{\"event\":\"%s\",\"tenant\":\"" TEST_TENANT
             "\",\"ticket_id\":%lld,"
             "\"version\":%lld,\"action\":\"UPDATE\",\"ticket\":{\"status\":\"%s\"}}",
             type, (long long)ticket_id, (long long)version, status);
  else
    snprintf(payload, sizeof payload,
             "{\"event\":\"%s\",\"tenant\":\"" TEST_TENANT "\",\"ticket_id\":%lld}", type,
             (long long)ticket_id);
  const hd_db_param p[] = {hd_db_text(TEST_TENANT), hd_db_int(ticket_id), hd_db_text(type),
                           hd_db_text(payload), hd_db_int(hd_clock_now_us(&f->clock))};
  hd_err err = {0};
  uint64_t id = 0;
  assert_int_equal(hd_db_exec(f->db,
                              "INSERT INTO outbox (tenant, aggregate_id, event_type, payload, "
                              "created_at_us) VALUES (?, ?, ?, ?, ?)",
                              p, 5, NULL, &id, &err),
                   0);
  return (int64_t)id;
}

static size_t relay(fixture *f) {
  size_t n = 0;
  hd_err err = {0};
  if (hd_outbox_relay_once(&f->env, &f->w, &n, &err) != 0) fail_msg("relay: %s", err.msg);
  return n;
}

static int64_t publish(fixture *f, int64_t ticket_id, const char *type, int64_t version,
                       const char *status) {
  const int64_t id = outbox_add(f, ticket_id, type, version, status);
  assert_int_equal(relay(f), 1);
  return id;
}

/* XADDs fields as they are (a hand-made entry, or a copy of a published one). */
static void xadd(fixture *f, const hd_kv_field *fields, size_t n) {
  hd_err err = {0};
  assert_int_equal(hd_kv_stream_add(f->kv, f->stream, 1000, fields, n, NULL, &err), 0);
}

/* ---- reading back ---- */

static int64_t sql_i64(fixture *f, const char *sql, const char *arg) {
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  const hd_db_param p = hd_db_text(arg);
  if (hd_db_query(f->db, sql, arg ? &p : NULL, arg ? 1 : 0, 1, &rows, &err) != 0)
    fail_msg("%s: %s", sql, err.msg);
  const int64_t v = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  hd_db_rows_free(rows);
  return v;
}

/* The id the relay gave the fixture's outbox row outbox_id. */
static void event_id_of(fixture *f, int64_t outbox_id, char out[HD_OUTBOX_EVENT_ID_MAX]) {
  hd_err err = {0};
  if (hd_outbox_event_id(f->db, f->service, outbox_id, out, &err) != 0) fail_msg("%s", err.msg);
}

static int64_t applies_of(fixture *f, const char *event_id) {
  return sql_i64(f, "SELECT applies FROM effects WHERE event_id = ?", event_id);
}

static int64_t pending(fixture *f) {
  const char *argv[] = {"XPENDING", f->stream, GROUP};
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(f->kv, 3, argv, NULL, true, &r, &err), 0);
  assert_int_equal(r->type, HD_KV_ARRAY);
  const int64_t n = r->elems[0]->integer;
  hd_kv_reply_free(r);
  return n;
}

/* The entries of a stream (XRANGE - +). Caller frees with hd_kv_reply_free(). */
static hd_kv_reply *xrange(fixture *f, const char *stream) {
  const char *argv[] = {"XRANGE", stream, "-", "+"};
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(f->kv, 4, argv, NULL, true, &r, &err), 0);
  assert_int_equal(r->type, HD_KV_ARRAY);
  return r;
}

/* The value of field name in an XRANGE entry, or NULL. */
static const char *entry_field(const hd_kv_reply *entry, const char *name) {
  const hd_kv_reply *f = entry->elems[1];
  for (size_t i = 0; i + 1 < f->n; i += 2)
    if (strcmp(f->elems[i]->str, name) == 0) return f->elems[i + 1]->str;
  return NULL;
}

static bool metrics_has(fixture *f, const char *line) {
  char *text = NULL;
  size_t len = 0;
  hd_err err = {0};
  assert_int_equal(hd_metrics_render(f->metrics, &text, &len, &err), 0);
  const bool found = strstr(text, line) != NULL;
  if (!found) fprintf(stderr, "metrics lack \"%s\" in:\n%s\n", line, text);
  free(text);
  return found;
}

/* ---- dying consumers ---- */

static void die_here(hd_consumer_point at, const hd_event *ev, void *arg) {
  (void)ev;
  if (at == *(const hd_consumer_point *)arg) _exit(DIED_EXIT);
}

/* Forks a consumer named name that reads the stream with fresh connections and dies at `at`.
 * Returns the child's exit status (DIED_EXIT when it died there). */
static int run_dying_consumer(fixture *f, const char *name, hd_consumer_point at) {
  fflush(NULL);
  const pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    hd_db_config cfg;
    hd_test_db_config(&cfg, f->dbname);
    hd_kv_config kcfg;
    hd_test_kv_config(&kcfg);
    hd_db *db = NULL;
    hd_kv *kv = NULL;
    hd_err err = {0};
    if (hd_db_new(&cfg, &db, &err) != 0 || hd_kv_new(&kcfg, &kv, &err) != 0) _exit(2);
    hd_consumer_def def = consumer_def(f);
    def.opts.consumer_name = name;
    def.opts.fault = die_here;
    def.opts.fault_arg = &at;
    const hd_consumer_ctx ctx = {.db = db, .kv = kv, .clock = &f->clock};
    hd_consumer *c = NULL;
    if (hd_consumer_new(&def, &ctx, &c, &err) != 0) _exit(3);
    for (int i = 0; i < 50; i++)
      if (hd_consumer_poll(c, &err) != 0) _exit(4);
    _exit(5); /* never reached the hook */
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

/* ---- tests ---- */

static void test_events_published_before_the_group_existed_are_delivered(void **state) {
  fixture *f = *state;
  for (int64_t t = 1; t <= 3; t++) outbox_add(f, t, "ticket.created", 1, "open");
  assert_int_equal(relay(f), 3); /* the stream exists, no group yet */
  const hd_consumer_def def = consumer_def(f);
  hd_consumer *c = consumer_new(f, &def, NULL);
  poll_ok(c);
  const hd_consumer_stats s = hd_consumer_stats_get(c);
  print_figures("before_group", 3, &s);
  assert_int_equal(s.applied, 3);
  assert_int_equal(sql_i64(f, "SELECT COUNT(*) FROM effects", NULL), 3);
  assert_int_equal(sql_i64(f, "SELECT COUNT(*) FROM consumed_events", NULL), 3);
  assert_int_equal(pending(f), 0);
  hd_consumer_free(c);
}

static void test_the_lag_gauge_counts_entries_the_group_has_not_read(void **state) {
  fixture *f = *state;
  for (int64_t t = 1; t <= 3; t++) outbox_add(f, t, "ticket.created", 1, "open");
  assert_int_equal(relay(f), 3);
  hd_consumer_def def = consumer_def(f);
  def.opts.batch = 1;
  def.opts.check_ms = 1; /* look at the group on every round */
  hd_consumer *c = consumer_new(f, &def, NULL);
  poll_ok(c);   /* makes the group, reads one */
  usleep(2000); /* past check_ms, so the next round looks at the group */
  poll_ok(c);   /* sees two unread, reads one */
  char line[256];
  snprintf(line, sizeof line, "helpdesk_event_stream_lag{group=\"" GROUP "\",stream=\"%s\"} 2\n",
           f->stream);
  assert_true(metrics_has(f, line));
  poll_ok(c); /* reads the last one */
  usleep(2000);
  poll_ok(c); /* sees none unread */
  snprintf(line, sizeof line, "helpdesk_event_stream_lag{group=\"" GROUP "\",stream=\"%s\"} 0\n",
           f->stream);
  assert_true(metrics_has(f, line));
  assert_int_equal(hd_consumer_stats_get(c).applied, 3);
  hd_consumer_free(c);
}

static void test_an_event_delivered_twice_is_applied_once(void **state) {
  fixture *f = *state;
  publish(f, 7, "ticket.created", 1, "open");
  /* The relay published it again (it died between XADD and marking the row): same envelope. */
  hd_kv_reply *r = xrange(f, f->stream);
  assert_int_equal(r->n, 1);
  const hd_kv_reply *fields = r->elems[0]->elems[1];
  hd_kv_field copy[16];
  const size_t n = fields->n / 2;
  assert_true(n <= 16);
  for (size_t i = 0; i < n; i++)
    copy[i] = (hd_kv_field){fields->elems[2 * i]->str, fields->elems[2 * i + 1]->str,
                            fields->elems[2 * i + 1]->len};
  xadd(f, copy, n);
  char event_id[128];
  snprintf(event_id, sizeof event_id, "%s", entry_field(r->elems[0], "event_id"));
  hd_kv_reply_free(r);

  const hd_consumer_def def = consumer_def(f);
  hd_consumer *c = consumer_new(f, &def, NULL);
  poll_ok(c);
  poll_ok(c);
  const hd_consumer_stats s = hd_consumer_stats_get(c);
  print_figures("delivered_twice", 2, &s);
  assert_int_equal(s.applied, 1);
  assert_int_equal(s.duplicates, 1);
  assert_int_equal(applies_of(f, event_id), 1);
  assert_int_equal(pending(f), 0); /* the duplicate was acknowledged too */
  char line[256];
  snprintf(line, sizeof line,
           "helpdesk_events_duplicates_total{group=\"" GROUP "\",stream=\"%s\"} 1\n", f->stream);
  assert_true(metrics_has(f, line));
  snprintf(line, sizeof line,
           "helpdesk_events_applied_total{group=\"" GROUP "\",stream=\"%s\"} 1\n", f->stream);
  assert_true(metrics_has(f, line));
  assert_true(metrics_has(f, "# TYPE helpdesk_events_applied_total counter\n"));
  hd_consumer_free(c);
}

static void test_out_of_order_versions_are_ignored(void **state) {
  fixture *f = *state;
  /* Two relays published ticket 9's events as 1, 3, 2: version 2 is older than what is applied. */
  publish(f, 9, "ticket.created", 1, "open");
  publish(f, 9, "ticket.updated", 3, "resolved");
  publish(f, 9, "ticket.updated", 2, "in_progress");
  publish(f, 9, "ticket.updated", 3, "resolved"); /* another event of the same version */
  publish(f, 9, "ticket.commented", 0, NULL);     /* no version: not ordered, applied */
  const hd_consumer_def def = consumer_def(f);
  hd_consumer *c = consumer_new(f, &def, NULL);
  poll_ok(c);
  const hd_consumer_stats s = hd_consumer_stats_get(c);
  print_figures("out_of_order", 5, &s);
  assert_int_equal(s.applied, 5); /* every event consumed and acknowledged... */
  assert_int_equal(sql_i64(f, "SELECT version FROM ticket_state WHERE ticket_id = 9", NULL), 3);
  assert_int_equal(sql_i64(f, "SELECT writes FROM ticket_state WHERE ticket_id = 9", NULL), 2);
  assert_int_equal(sql_i64(f, "SELECT COUNT(*) FROM ticket_state WHERE status = ?", "resolved"),
                   1); /* ...and version 2 did not overwrite version 3 */
  assert_int_equal(sql_i64(f, "SELECT version FROM consumed_versions", NULL), 3);
  assert_int_equal(sql_i64(f, "SELECT COUNT(*) FROM effects", NULL), 5);
  assert_int_equal(pending(f), 0);
  hd_consumer_free(c);
}

static void test_a_consumer_killed_between_commit_and_ack_applies_the_event_once_after_restart(
    void **state) {
  fixture *f = *state;
  const int64_t row = publish(f, 11, "ticket.created", 1, "open");
  assert_int_equal(run_dying_consumer(f, "c1", HD_CONSUMER_AFTER_COMMIT), DIED_EXIT);
  char event_id[HD_OUTBOX_EVENT_ID_MAX];
  event_id_of(f, row, event_id);
  assert_int_equal(applies_of(f, event_id), 1); /* committed */
  assert_int_equal(pending(f), 1);              /* never acknowledged */

  /* The same consumer restarts: it reads its own pending entry first, and skips it. */
  const hd_consumer_def def = consumer_def(f);
  test_app app = {0};
  hd_consumer *c = consumer_new(f, &def, &app);
  poll_ok(c);
  const hd_consumer_stats s = hd_consumer_stats_get(c);
  print_figures("killed_after_commit", 1, &s);
  assert_int_equal(s.duplicates, 1);
  assert_int_equal(s.applied, 0);
  assert_int_equal(applies_of(f, event_id), 1);
  assert_int_equal(pending(f), 0);
  hd_consumer_free(c);
}

static bool applied_one(const hd_consumer *c) { return hd_consumer_stats_get(c).applied >= 1; }

static void test_a_consumer_killed_before_its_commit_leaves_the_event_to_another_after_idle(
    void **state) {
  fixture *f = *state;
  const int64_t row = publish(f, 12, "ticket.created", 1, "open");
  assert_int_equal(run_dying_consumer(f, "dead", HD_CONSUMER_BEFORE_COMMIT), DIED_EXIT);
  char event_id[HD_OUTBOX_EVENT_ID_MAX];
  event_id_of(f, row, event_id);
  assert_int_equal(applies_of(f, event_id), 0); /* rolled back with the dead connection */
  assert_int_equal(sql_i64(f, "SELECT COUNT(*) FROM consumed_events", NULL), 0);
  assert_int_equal(pending(f), 1);

  /* Another consumer does not take it before it has been idle for the claim time (1 min)... */
  hd_consumer_def patient = consumer_def(f);
  patient.opts.consumer_name = "alive";
  patient.opts.claim_idle_ms = 60000;
  hd_consumer *c = consumer_new(f, &patient, NULL);
  poll_ok(c);
  assert_int_equal(hd_consumer_stats_get(c).read, 0);
  assert_int_equal(applies_of(f, event_id), 0);
  hd_consumer_free(c);

  /* ...and does once it has (1 ms). */
  hd_consumer_def quick = patient;
  quick.opts.claim_idle_ms = 1;
  test_app app = {0};
  c = consumer_new(f, &quick, &app);
  assert_true(poll_until(c, applied_one));
  const hd_consumer_stats s = hd_consumer_stats_get(c);
  print_figures("killed_before_commit", 1, &s);
  assert_int_equal(s.applied, 1);
  assert_int_equal(s.duplicates, 0);
  assert_int_equal(app.last_deliveries, 2); /* the second delivery, as XPENDING counts */
  assert_int_equal(applies_of(f, event_id), 1);
  assert_int_equal(pending(f), 0);
  hd_consumer_free(c);
}

static bool dead_lettered_one(const hd_consumer *c) {
  return hd_consumer_stats_get(c).dead_lettered >= 1;
}

static void test_a_poison_event_reaches_the_dead_letter_stream_and_the_next_is_applied(
    void **state) {
  fixture *f = *state;
  const int64_t bad_row = publish(f, 13, "test.poison", 1, "open");
  const int64_t good_row = publish(f, 14, "ticket.created", 1, "open");
  hd_consumer_def def = consumer_def(f);
  def.opts.max_deliveries = 3;
  def.opts.claim_idle_ms = 1;
  hd_consumer *c = consumer_new(f, &def, NULL);
  poll_ok(c);
  char good[HD_OUTBOX_EVENT_ID_MAX], bad[HD_OUTBOX_EVENT_ID_MAX];
  event_id_of(f, bad_row, bad);
  event_id_of(f, good_row, good);
  assert_int_equal(applies_of(f, good), 1); /* not held up behind the poison event */
  assert_true(poll_until(c, dead_lettered_one));
  const hd_consumer_stats s = hd_consumer_stats_get(c);
  print_figures("poison", 2, &s);
  assert_int_equal(s.applied, 1);
  assert_int_equal(s.dead_lettered, 1);
  assert_int_equal(s.failed, 3); /* deliveries 1, 2 and 3 failed; the third moved it */
  assert_int_equal(pending(f), 0);
  assert_int_equal(applies_of(f, bad), 0);

  hd_kv_reply *r = xrange(f, f->dead);
  assert_int_equal(r->n, 1);
  assert_string_equal(entry_field(r->elems[0], "event_id"), bad);
  assert_string_equal(entry_field(r->elems[0], "type"), "test.poison");
  assert_string_equal(entry_field(r->elems[0], "dead_group"), GROUP);
  assert_string_equal(entry_field(r->elems[0], "dead_deliveries"), "3");
  const char *reason = entry_field(r->elems[0], "dead_reason");
  assert_non_null(strstr(reason, "delivery 3 of 3"));
  assert_non_null(strstr(reason, "FAILED_PRECONDITION: poison event refused by the test"));
  hd_kv_reply_free(r);
  char line[256];
  snprintf(line, sizeof line,
           "helpdesk_events_dead_lettered_total{group=\"" GROUP "\",stream=\"%s\"} 1\n", f->stream);
  assert_true(metrics_has(f, line));
  hd_consumer_free(c);
}

/* A payload nested `depth` deep: {"a":{"a":...{}...}}. */
static void nested(char *buf, size_t size, int depth) {
  size_t n = 0;
  n += (size_t)snprintf(buf + n, size - n, "{\"version\":1");
  for (int i = 1; i < depth; i++) n += (size_t)snprintf(buf + n, size - n, ",\"a\":{\"b\":1");
  for (int i = 1; i < depth; i++) n += (size_t)snprintf(buf + n, size - n, "}");
  snprintf(buf + n, size - n, "}");
}

static void add_raw(fixture *f, const char *event_id, int64_t ticket, const char *payload,
                    size_t payload_len) {
  char agg[24];
  snprintf(agg, sizeof agg, "%lld", (long long)ticket);
  const hd_kv_field fields[] = {
      {"event_id", event_id, strlen(event_id)},
      {"type", "ticket.updated", 14},
      {"tenant", TEST_TENANT, strlen(TEST_TENANT)},
      {"aggregate_id", agg, strlen(agg)},
      {"payload", payload, payload_len},
  };
  xadd(f, fields, 5);
}

static void test_an_unreadable_event_is_dead_lettered_at_once_and_limits_hold_at_their_edge(
    void **state) {
  fixture *f = *state;
  char deep[512];
  nested(deep, sizeof deep, HD_CONSUMER_MAX_DEPTH);
  add_raw(f, "x-1", 21, deep, strlen(deep)); /* at the depth limit: applied */
  nested(deep, sizeof deep, HD_CONSUMER_MAX_DEPTH + 1);
  add_raw(f, "x-2", 22, deep, strlen(deep)); /* one past it */
  add_raw(f, "x-3", 23, "not json", 8);
  add_raw(f, "x-4", 24, "{\"version\":\"2\"}", 15); /* a version must be an integer */
  char *big = malloc(HD_CONSUMER_MAX_PAYLOAD + 2);
  assert_non_null(big);
  /* {"version":1,"pad":"xxx...x"} of exactly the limit, then one byte more. */
  const char head[] = "{\"version\":1,\"pad\":\"";
  for (size_t len = HD_CONSUMER_MAX_PAYLOAD; len <= HD_CONSUMER_MAX_PAYLOAD + 1; len++) {
    memcpy(big, head, sizeof head - 1);
    memset(big + sizeof head - 1, 'x', len - (sizeof head - 1) - 2);
    memcpy(big + len - 2, "\"}", 2);
    add_raw(f, len == HD_CONSUMER_MAX_PAYLOAD ? "x-5" : "x-6", 25, big, len);
  }
  free(big);
  const hd_kv_field no_id[] = {{"type", "ticket.updated", 14}, {"payload", "{}", 2}};
  xadd(f, no_id, 2);

  const hd_consumer_def def = consumer_def(f);
  hd_consumer *c = consumer_new(f, &def, NULL);
  poll_ok(c);
  const hd_consumer_stats s = hd_consumer_stats_get(c);
  print_figures("unreadable", 7, &s);
  assert_int_equal(s.applied, 2);
  assert_int_equal(s.dead_lettered, 5); /* at once: no retry makes them readable */
  assert_int_equal(s.failed, 0);
  assert_int_equal(applies_of(f, "x-1"), 1);
  assert_int_equal(applies_of(f, "x-5"), 1);
  assert_int_equal(pending(f), 0);
  hd_kv_reply *r = xrange(f, f->dead);
  assert_int_equal(r->n, 5);
  assert_string_equal(entry_field(r->elems[0], "event_id"), "x-2");
  assert_non_null(strstr(entry_field(r->elems[0], "dead_reason"), "nests deeper than 8"));
  assert_non_null(strstr(entry_field(r->elems[1], "dead_reason"), "not JSON"));
  assert_non_null(strstr(entry_field(r->elems[2], "dead_reason"), "not a positive integer"));
  assert_non_null(strstr(entry_field(r->elems[3], "dead_reason"), "65536 bytes; at most 65535"));
  assert_non_null(strstr(entry_field(r->elems[4], "dead_reason"), "no event_id"));
  hd_kv_reply_free(r);
  hd_consumer_free(c);
}

/* Starts a private Redis (hd_test_redis_start); its port. */
static unsigned private_redis(fixture *f) {
  assert_int_equal(hd_test_redis_start(&f->redis), 0);
  return f->redis.port;
}

static void flushall(fixture *f) {
  const char *argv[] = {"FLUSHALL"};
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(f->kv, 1, argv, NULL, false, NULL, &err), 0);
}

static bool marker_set(fixture *f) {
  const char *argv[] = {"EXISTS", "rebuilt-marker"};
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(f->kv, 2, argv, NULL, true, &r, &err), 0);
  const bool set = r->integer == 1;
  hd_kv_reply_free(r);
  return set;
}

static void test_the_rebuild_hook_runs_after_flushall_and_when_the_group_goes_back(void **state) {
  fixture *f = *state;
  hd_kv_close(f->kv); /* this test's Redis is its own: FLUSHALL touches no other test */
  f->kv = NULL;
  hd_kv_config cfg = {.host = "127.0.0.1", .port = private_redis(f)};
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &f->kv, &err), 0);
  f->w.kv = f->kv;

  hd_consumer_def def = consumer_def(f);
  def.rebuild = test_rebuild;
  test_app app = {0};
  hd_consumer *c = consumer_new(f, &def, &app);
  poll_ok(c); /* first start: the group is made, nothing to rebuild */
  assert_int_equal(app.rebuilds, 0);
  publish(f, 31, "ticket.created", 1, "open");
  poll_ok(c);
  assert_int_equal(hd_consumer_stats_get(c).applied, 1);

  flushall(f);
  assert_false(marker_set(f));
  poll_ok(c); /* the group is gone: rebuild, then the group again from the start */
  assert_int_equal(app.rebuilds, 1);
  assert_true(marker_set(f));
  publish(f, 32, "ticket.created", 1, "open");
  poll_ok(c);
  poll_ok(c);
  assert_int_equal(app.rebuilds, 1); /* once per loss */
  assert_int_equal(hd_consumer_stats_get(c).applied, 2);

  /* Redis came back from an older snapshot: the group's position is below what was applied. */
  const char *setid[] = {"XGROUP", "SETID", f->stream, GROUP, "0"};
  assert_int_equal(hd_kv_cmd(f->kv, 5, setid, NULL, false, NULL, &err), 0);
  hd_consumer_def every = def; /* look at the group on every round */
  every.opts.check_ms = 1;
  hd_consumer_free(c);
  c = consumer_new(f, &every, &app);
  poll_ok(c);
  poll_ok(c);
  const hd_consumer_stats s = hd_consumer_stats_get(c);
  print_figures("rebuild", 2, &s);
  printf("figures rebuild: rebuild hook calls=%d (after FLUSHALL, after the group went back)\n",
         app.rebuilds);
  assert_int_equal(app.rebuilds, 2);
  assert_int_equal(s.duplicates, 1); /* the entry delivered again is skipped */
  assert_int_equal(sql_i64(f, "SELECT COUNT(*) FROM effects", NULL), 2);
  assert_int_equal(sql_i64(f, "SELECT MAX(applies) FROM effects", NULL), 1);
  assert_int_equal(sql_i64(f, "SELECT epoch FROM consumer_groups", NULL), 3);
  hd_consumer_free(c);
}

static void test_consumer_options_out_of_range_are_refused(void **state) {
  fixture *f = *state;
  const hd_consumer_ctx ctx = {.db = f->db, .kv = f->kv, .clock = &f->clock};
  hd_consumer *c = NULL;
  hd_err err = {0};
  hd_consumer_def def = consumer_def(f);
  def.opts.batch = HD_KV_MAX_COUNT + 1;
  assert_int_equal(hd_consumer_new(&def, &ctx, &c, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  def = consumer_def(f);
  def.opts.block_ms = 1001;
  assert_int_equal(hd_consumer_new(&def, &ctx, &c, &err), -1);
  def = consumer_def(f);
  def.apply = NULL;
  assert_int_equal(hd_consumer_new(&def, &ctx, &c, &err), -1);
  char long_group[HD_KV_MAX_NAME + 2];
  memset(long_group, 'g', sizeof long_group - 1);
  long_group[sizeof long_group - 1] = '\0';
  def = consumer_def(f);
  def.group = long_group;
  assert_int_equal(hd_consumer_new(&def, &ctx, &c, &err), -1);
  long_group[HD_KV_MAX_NAME] = '\0'; /* at the limit: accepted, but the dead-letter name is not */
  assert_int_equal(hd_consumer_new(&def, &ctx, &c, &err), -1);
  def.opts.dead_letter = "dead";
  assert_int_equal(hd_consumer_new(&def, &ctx, &c, &err), 0);
  hd_consumer_free(c);
}

/* The runtime runs a service's declared consumers as background loops. */
static const hd_migration consumer_test_migrations[] = {
    {1, "001_effects", test_tables_sql},
    {0, NULL, NULL},
};

static void test_a_service_runs_its_declared_consumers(void **state) {
  fixture *f = *state;
  hd_consumer_def defs[1] = {consumer_def(f)};
  defs[0].opts.block_ms = 100;
  defs[0].opts.consumer_name = NULL; /* "<host>-<pid>" */
  hd_service_def def = hd_test_echo_def;
  def.migrations = consumer_test_migrations;
  def.consumers = defs;
  def.n_consumers = 1;
  hd_fixture fx = {0};
  assert_int_equal(hd_fixture_start(&fx, &def), 0);
  const int64_t row = publish(f, 41, "ticket.created", 1, "open");
  char event_id[HD_OUTBOX_EVENT_ID_MAX], sql[HD_OUTBOX_EVENT_ID_MAX + 64];
  event_id_of(f, row, event_id);
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM effects WHERE event_id = '%s'", event_id);
  const int64_t end = hd_monotonic_us() + WAIT_US;
  while (hd_fixture_sql_i64(&fx, sql) != 1 && hd_monotonic_us() < end) usleep(20000);
  assert_int_equal(hd_fixture_sql_i64(&fx, sql), 1);
  const int64_t waited = hd_monotonic_us() + WAIT_US;
  while (hd_fixture_sql_i64(&fx, "SELECT COUNT(*) FROM consumed_events") != 1 &&
         hd_monotonic_us() < waited)
    usleep(20000);
  assert_int_equal(hd_fixture_sql_i64(&fx, "SELECT COUNT(*) FROM consumed_events"), 1);
  hd_fixture_stop(&fx); /* stops the consumer's loop with the others */
  assert_int_equal(pending(f), 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_events_published_before_the_group_existed_are_delivered,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_the_lag_gauge_counts_entries_the_group_has_not_read,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_an_event_delivered_twice_is_applied_once, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_out_of_order_versions_are_ignored, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_a_consumer_killed_between_commit_and_ack_applies_the_event_once_after_restart, setup,
          teardown),
      cmocka_unit_test_setup_teardown(
          test_a_consumer_killed_before_its_commit_leaves_the_event_to_another_after_idle, setup,
          teardown),
      cmocka_unit_test_setup_teardown(
          test_a_poison_event_reaches_the_dead_letter_stream_and_the_next_is_applied, setup,
          teardown),
      cmocka_unit_test_setup_teardown(
          test_an_unreadable_event_is_dead_lettered_at_once_and_limits_hold_at_their_edge, setup,
          teardown),
      cmocka_unit_test_setup_teardown(
          test_the_rebuild_hook_runs_after_flushall_and_when_the_group_goes_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_consumer_options_out_of_range_are_refused, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_a_service_runs_its_declared_consumers, setup, teardown),
  };
  const int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hd_db_library_end();
  return failed;
}
