/* The data layer beyond one machine (common/db, common/svc), against the suite's MariaDB or, under
 * make test-cluster, a three-node Galera cluster (HELPDESK_DB_NODES names its nodes; thread i
 * then talks to node i):
 *  - migrations started by several replicas at once apply each migration once, serialised by the
 *    lock row (no GET_LOCK), and a dead holder's lock is taken over once its lease ran out;
 *  - every table of every service's schema (and the kit's) has a primary key (Galera needs one to
 *    replicate a row);
 *  - concurrent writes to one ticket through two nodes all commit: Galera's certification
 *    conflicts (1213 at COMMIT) are retried like deadlocks;
 *  - two timer sweeps on two nodes both take the same due row (SKIP LOCKED is local to a node):
 *    one loses at commit, its follow-up is rolled back with it, and the follow-up is written once;
 *  - two outbox relays on two nodes drain one outbox: every event is published, a row both took
 *    is published again only with the same event id (which consumers skip), and every row ends
 *    marked once;
 *  - HELPDESK_DB_NODES: a node that does not answer is passed over, and a lost connection moves
 *    the handle to the next node without a restart. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock/clock.h"
#include "db/migrate.h"
#include "svc/outbox.h"
#include "svc/timer.h"
#include "test_env.h"
#include "ticket_store.h"

extern const hd_migration tickets_migrations[];
extern const size_t tickets_migrations_count;
extern const hd_migration routing_migrations[];
extern const size_t routing_migrations_count;
extern const hd_migration accounts_migrations[];
extern const size_t accounts_migrations_count;
extern const hd_migration kpi_migrations[];
extern const size_t kpi_migrations_count;

#define MAX_NODES   3
#define MIGRATORS   6
#define WRITERS     2
#define WRITES_EACH 100

/* ---- the nodes: HELPDESK_DB_NODES, or the suite's one server ---- */

typedef struct nodes {
  size_t n;
  char host[MAX_NODES][64];
  unsigned port[MAX_NODES];
} nodes;

static void nodes_read(nodes *ns) {
  memset(ns, 0, sizeof *ns);
  const char *list = getenv("HELPDESK_DB_NODES");
  for (const char *p = list; p && *p && ns->n < MAX_NODES;) {
    const char *comma = strchr(p, ',');
    const size_t len = comma ? (size_t)(comma - p) : strlen(p);
    const char *colon = memchr(p, ':', len);
    if (colon && (size_t)(colon - p) < sizeof ns->host[0]) {
      memcpy(ns->host[ns->n], p, (size_t)(colon - p));
      ns->port[ns->n] = (unsigned)strtoul(colon + 1, NULL, 10);
      ns->n++;
    }
    p += len;
    if (*p == ',') p++;
  }
}

/* A handle's settings for node i (modulo the nodes there are) and database. */
static void node_config(const nodes *ns, size_t i, const char *database, hd_db_config *cfg) {
  hd_test_db_config(cfg, database);
  if (ns->n == 0) return;
  cfg->host = ns->host[i % ns->n];
  cfg->port = ns->port[i % ns->n];
  cfg->socket = NULL;
}

static hd_db *open_node(const nodes *ns, size_t i, const char *database) {
  hd_db_config cfg;
  node_config(ns, i, database, &cfg);
  hd_db *db = NULL;
  hd_err err = {0};
  if (hd_db_new(&cfg, &db, &err) != 0) fail_msg("hd_db_new: %s", err.msg);
  return db;
}

static int64_t one_int(hd_db *db, const char *sql) {
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  if (hd_db_query(db, sql, NULL, 0, 1, &rows, &err) != 0) fail_msg("%s: %s", sql, err.msg);
  const int64_t v = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : -1;
  hd_db_rows_free(rows);
  return v;
}

/* ---- migrations from several replicas at once ---- */

/* Statements that fail when run twice (no IF NOT EXISTS; a duplicate key): a migration applied
 * by two replicas would make one of them fail. */
static const hd_migration once_migs[] = {
    {1, "001_table", "CREATE TABLE m_once (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB"},
    {2, "002_row", "INSERT INTO m_once (id) VALUES (2)"},
    {3, "003_column", "ALTER TABLE m_once ADD COLUMN note VARCHAR(10) NULL"},
    {4, "004_row", "INSERT INTO m_once (id, note) VALUES (4, 'four')"},
};

typedef struct migrator {
  const nodes *ns;
  size_t index;
  const char *database;
  pthread_barrier_t *start;
  int rc;
  size_t applied;
  hd_err err;
} migrator;

static void *migrator_run(void *arg) {
  migrator *m = arg;
  hd_db_config cfg;
  node_config(m->ns, m->index, m->database, &cfg);
  hd_db *db = NULL;
  m->rc = hd_db_new(&cfg, &db, &m->err);
  if (m->rc == 0) m->rc = hd_db_ping(db, &m->err); /* creates the database, before the race */
  pthread_barrier_wait(m->start);
  if (m->rc == 0)
    m->rc = hd_migrate(db, NULL, once_migs, sizeof once_migs / sizeof once_migs[0], &m->applied,
                       &m->err);
  hd_db_close(db);
  return NULL;
}

static void test_migrations_from_replicas_starting_at_once_apply_each_once(void **state) {
  (void)state;
  nodes ns;
  nodes_read(&ns);
  char database[64];
  hd_test_unique(database, sizeof database, "galera_mig");
  hd_db *first = open_node(&ns, 0, database);
  hd_err err = {0};
  assert_int_equal(hd_db_ping(first, &err), 0); /* the database exists before the replicas */
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, MIGRATORS);
  migrator m[MIGRATORS];
  pthread_t th[MIGRATORS];
  for (size_t i = 0; i < MIGRATORS; i++) {
    m[i] = (migrator){.ns = &ns, .index = i, .database = database, .start = &start};
    assert_int_equal(pthread_create(&th[i], NULL, migrator_run, &m[i]), 0);
  }
  size_t applied = 0;
  for (size_t i = 0; i < MIGRATORS; i++) {
    pthread_join(th[i], NULL);
    if (m[i].rc != 0)
      fail_msg("migrator %zu (node %zu): %s", i, i % (ns.n ? ns.n : 1), m[i].err.msg);
    applied += m[i].applied;
  }
  pthread_barrier_destroy(&start);
  assert_int_equal(applied, 4);
  assert_int_equal(one_int(first, "SELECT COUNT(*) FROM m_once"), 2);
  assert_int_equal(one_int(first, "SELECT COUNT(*) FROM schema_migrations"), 4);
  /* Released: nobody holds the lock row afterwards. */
  assert_int_equal(
      one_int(first, "SELECT COUNT(*) FROM hd_migration_lock WHERE holder IS NOT NULL"), 0);
  hd_db_close(first);
  hd_test_drop_database(database);
}

static void test_migration_lock_of_a_dead_holder_is_taken_over_once_its_lease_ran_out(void **s) {
  (void)s;
  nodes ns;
  nodes_read(&ns);
  char database[64];
  hd_test_unique(database, sizeof database, "galera_dead");
  hd_db *db = open_node(&ns, 0, database);
  hd_err err = {0};
  assert_int_equal(
      hd_db_exec_script(db,
                        "CREATE TABLE hd_migration_lock (name VARBINARY(64) NOT NULL PRIMARY KEY, "
                        "holder VARBINARY(64) NULL, expires_at DATETIME(6) NULL) ENGINE=InnoDB;\n"
                        "INSERT INTO hd_migration_lock VALUES ('schema_migrations', 'crashed-1', "
                        "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND);\n",
                        &err),
      0);
  size_t applied = 0;
  if (hd_migrate(db, NULL, once_migs, 2, &applied, &err) != 0) fail_msg("%s", err.msg);
  assert_int_equal(applied, 2);
  assert_int_equal(one_int(db, "SELECT COUNT(*) FROM hd_migration_lock WHERE holder IS NOT NULL"),
                   0);
  hd_db_close(db);
  hd_test_drop_database(database);
}

/* ---- every table has a primary key ---- */

static void test_every_table_of_every_schema_has_a_primary_key(void **state) {
  (void)state;
  nodes ns;
  nodes_read(&ns);
  const struct {
    const char *name;
    const hd_migration *migs;
    size_t n;
  } sets[] = {{"tickets", tickets_migrations, tickets_migrations_count},
              {"routing", routing_migrations, routing_migrations_count},
              {"accounts", accounts_migrations, accounts_migrations_count},
              {"kpi", kpi_migrations, kpi_migrations_count}};
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
    char database[64];
    hd_test_unique(database, sizeof database, sets[i].name);
    hd_db *db = open_node(&ns, 0, database);
    hd_err err = {0};
    if (hd_migrate(db, HD_MIGRATE_SET_KIT, hd_kit_migrations, hd_kit_migrations_count, NULL,
                   &err) != 0 ||
        hd_migrate(db, NULL, sets[i].migs, sets[i].n, NULL, &err) != 0)
      fail_msg("%s: %s", sets[i].name, err.msg);
    hd_db_rows *rows = NULL;
    const hd_db_param p = hd_db_text(database);
    if (hd_db_query(db,
                    "SELECT t.table_name FROM information_schema.tables t WHERE t.table_schema = ? "
                    "AND t.table_type = 'BASE TABLE' AND NOT EXISTS (SELECT 1 FROM "
                    "information_schema.table_constraints c WHERE c.table_schema = t.table_schema "
                    "AND c.table_name = t.table_name AND c.constraint_type = 'PRIMARY KEY') "
                    "ORDER BY t.table_name",
                    &p, 1, 100, &rows, &err) != 0)
      fail_msg("%s", err.msg);
    for (size_t r = 0; r < hd_db_rows_count(rows); r++)
      fprintf(stderr, "%s: table %s has no primary key\n", sets[i].name,
              hd_db_str(rows, r, 0, NULL));
    assert_int_equal(hd_db_rows_count(rows), 0);
    hd_db_rows_free(rows);
    assert_true(one_int(db,
                        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                        "DATABASE()") > 3);
    hd_db_close(db);
    hd_test_drop_database(database);
  }
}

/* ---- concurrent writes to one ticket through two nodes ---- */

typedef struct writer {
  const nodes *ns;
  size_t index;
  const char *database;
  int64_t ticket;
  pthread_barrier_t *start;
  unsigned failed;
  hd_err err;
} writer;

typedef struct bump {
  int64_t ticket;
} bump;

/* Reads the ticket's version under its lock and writes version + 1: a read-modify-write that two
 * nodes certify against each other. */
static int bump_tx(hd_db *db, void *arg, hd_err *err) {
  const bump *b = arg;
  hd_db_rows *rows = NULL;
  const hd_db_param id = hd_db_int(b->ticket);
  if (hd_db_query(db, "SELECT version FROM tickets WHERE id = ? FOR UPDATE", &id, 1, 1, &rows,
                  err) != 0)
    return -1;
  const int64_t version = hd_db_i64(rows, 0, 0);
  hd_db_rows_free(rows);
  const hd_db_param p[] = {hd_db_int(version + 1), id, hd_db_int(version)};
  uint64_t changed = 0;
  if (hd_db_exec(db, "UPDATE tickets SET version = ? WHERE id = ? AND version = ?", p, 3, &changed,
                 NULL, err) != 0)
    return -1;
  if (changed != 1) return hd_err_set(err, HD_ABORTED, "version %" PRId64 " moved", version);
  return 0;
}

static void *writer_run(void *arg) {
  writer *w = arg;
  hd_db *db = NULL;
  hd_db_config cfg;
  node_config(w->ns, w->index, w->database, &cfg);
  if (hd_db_new(&cfg, &db, &w->err) != 0 || hd_db_ping(db, &w->err) != 0) {
    w->failed = WRITES_EACH;
    pthread_barrier_wait(w->start);
    hd_db_close(db);
    return NULL;
  }
  pthread_barrier_wait(w->start);
  bump b = {.ticket = w->ticket};
  for (unsigned i = 0; i < WRITES_EACH; i++) {
    hd_err err = {0};
    if (hd_db_tx(db, bump_tx, &b, 0, &err) != 0) {
      if (w->failed++ == 0) w->err = err;
    }
  }
  hd_db_close(db);
  return NULL;
}

static int64_t wsrep_conflicts(hd_db *db) {
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  int64_t n = 0;
  if (hd_db_query(db,
                  "SELECT variable_value FROM information_schema.global_status WHERE "
                  "variable_name IN ('WSREP_LOCAL_CERT_FAILURES', 'WSREP_LOCAL_BF_ABORTS')",
                  NULL, 0, 10, &rows, &err) == 0)
    for (size_t i = 0; i < hd_db_rows_count(rows); i++) n += hd_db_i64(rows, i, 0);
  hd_db_rows_free(rows);
  return n;
}

static int insert_tx(hd_db *db, void *arg, hd_err *err) {
  static const ticket_actor customer = {.user_id = "cust-1", .role = "customer"};
  const ticket_new t = {.customer_id = "cust-1",
                        .subject = "Website down",
                        .description = "My site shows a 500 error since this morning.",
                        .product = "Shared Hosting Pro",
                        .brand = "WHG",
                        .service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED,
                        .issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL};
  return ticket_store_insert(db, "acme", &t, 1767571200LL * HD_US_PER_S, &customer, arg, err);
}

static int64_t create_ticket(hd_db *db) {
  int64_t id = 0;
  hd_err err = {0};
  if (hd_db_tx(db, insert_tx, &id, 0, &err) != 0) fail_msg("insert: %s", err.msg);
  return id;
}

static void test_concurrent_writes_to_one_ticket_through_two_nodes_all_commit(void **state) {
  (void)state;
  nodes ns;
  nodes_read(&ns);
  char database[64];
  hd_test_unique(database, sizeof database, "galera_cert");
  hd_db *db = open_node(&ns, 0, database);
  hd_err err = {0};
  if (hd_migrate(db, HD_MIGRATE_SET_KIT, hd_kit_migrations, hd_kit_migrations_count, NULL, &err) ||
      hd_migrate(db, NULL, tickets_migrations, tickets_migrations_count, NULL, &err))
    fail_msg("%s", err.msg);
  const int64_t ticket = create_ticket(db);
  int64_t conflicts_before[MAX_NODES] = {0};
  hd_db *per_node[MAX_NODES] = {0};
  for (size_t i = 0; i < WRITERS && i < MAX_NODES; i++) {
    per_node[i] = open_node(&ns, i, database);
    conflicts_before[i] = wsrep_conflicts(per_node[i]);
  }
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, WRITERS);
  writer w[WRITERS];
  pthread_t th[WRITERS];
  for (size_t i = 0; i < WRITERS; i++) {
    w[i] = (writer){.ns = &ns, .index = i, .database = database, .ticket = ticket, .start = &start};
    assert_int_equal(pthread_create(&th[i], NULL, writer_run, &w[i]), 0);
  }
  for (size_t i = 0; i < WRITERS; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&start);
  int64_t conflicts = 0;
  for (size_t i = 0; i < WRITERS && i < MAX_NODES; i++) {
    conflicts += wsrep_conflicts(per_node[i]) - conflicts_before[i];
    hd_db_close(per_node[i]);
  }
  fprintf(stderr,
          "writes to one ticket through %zu node(s): %d each by %d writers, %" PRId64
          " certification conflicts retried\n",
          ns.n ? (ns.n < WRITERS ? ns.n : WRITERS) : 1, WRITES_EACH, WRITERS, conflicts);
  for (size_t i = 0; i < WRITERS; i++)
    if (w[i].failed) fail_msg("writer %zu: %u failed, first: %s", i, w[i].failed, w[i].err.msg);
  char sql[96];
  snprintf(sql, sizeof sql, "SELECT version FROM tickets WHERE id = %" PRId64, ticket);
  assert_int_equal(one_int(db, sql), 1 + WRITERS * WRITES_EACH);
  hd_db_close(db);
  hd_test_drop_database(database);
}

/* ---- two timer sweeps on two nodes take the same row ---- */

#define FOLLOWUP_SQL                                                                    \
  "CREATE TABLE fu_rows (id BIGINT NOT NULL PRIMARY KEY, due_us BIGINT NULL, "          \
  "sent INT NOT NULL DEFAULT 0, KEY ix_fu_due (due_us, id)) ENGINE=InnoDB;\n"           \
  "CREATE TABLE fu_sent (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, row_id BIGINT " \
  "NOT NULL, by_sweep VARCHAR(8) NOT NULL) ENGINE=InnoDB;\n"                            \
  "INSERT INTO fu_rows (id, due_us) VALUES (1, 1000);\n"

typedef struct sweep_shared {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  unsigned taken; /* fires that have the row: both, on two nodes; one, on one server */
  unsigned fires; /* fire calls, retries included */
} sweep_shared;

typedef struct sweeper {
  const nodes *ns;
  size_t index;
  const char *database;
  sweep_shared *sh;
  const char *name;
  size_t fired;
  int rc;
  hd_err err;
} sweeper;

/* The follow-up: an outbox-like row written in the fire's transaction, and the due time moved.
 * Before writing, the first fires wait (at most 2 s) until both sweeps hold the row, so that on
 * two nodes both have taken it before either commits. */
static int followup_fire(hd_svc_env *env, hd_db *db, void *ctx, const hd_timer_row *row,
                         int64_t now_us, hd_timer_outcome *out, hd_err *err) {
  (void)env;
  (void)now_us;
  sweeper *s = ctx;
  sweep_shared *sh = s->sh;
  pthread_mutex_lock(&sh->mu);
  sh->fires++;
  if (sh->taken < 2) {
    sh->taken++;
    pthread_cond_broadcast(&sh->cv);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    while (sh->taken < 2)
      if (pthread_cond_timedwait(&sh->cv, &sh->mu, &until) == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&sh->mu);
  const hd_db_param p[] = {hd_db_text(row->key[0]), hd_db_text(s->name)};
  if (hd_db_exec(db, "INSERT INTO fu_sent (row_id, by_sweep) VALUES (?, ?)", p, 2, NULL, NULL,
                 err) != 0)
    return -1;
  out->result = "sent";
  return hd_db_exec(db, "UPDATE fu_rows SET sent = sent + 1, due_us = NULL WHERE id = ?", p, 1,
                    NULL, NULL, err);
}

static void *sweeper_run(void *arg) {
  sweeper *s = arg;
  hd_clock clock;
  hd_clock_init_manual(&clock, 5000);
  hd_metrics *metrics = NULL;
  hd_svc_env env = {.clock = &clock};
  env.config.service = "galeratest";
  hd_worker w = {0};
  node_config(s->ns, s->index, s->database, &env.db);
  env.kv = (hd_kv_config){.host = "127.0.0.1", .port = (unsigned)hd_test_free_port()};
  hd_timer *t = NULL;
  const hd_timer_source src = {.name = "followups",
                               .table = "fu_rows",
                               .keys = {"id"},
                               .due_col = "due_us",
                               .fire = followup_fire,
                               .ctx = s,
                               .batch = 10};
  s->rc = -1;
  if (hd_metrics_new(&metrics, &s->err) != 0) goto done;
  env.metrics = metrics;
  if (hd_db_new(&env.db, &w.db, &s->err) != 0 || hd_kv_new(&env.kv, &w.kv, &s->err) != 0 ||
      hd_timer_new(&src, &env, &t, &s->err) != 0)
    goto done;
  s->rc = hd_timer_fire_due(t, &w, 5000, &s->fired, &s->err);
done:
  hd_timer_free(t);
  hd_db_close(w.db);
  hd_kv_close(w.kv);
  hd_metrics_free(metrics);
  return NULL;
}

static void test_two_sweeps_on_two_nodes_send_a_followup_once(void **state) {
  (void)state;
  nodes ns;
  nodes_read(&ns);
  char database[64];
  hd_test_unique(database, sizeof database, "galera_timer");
  hd_db *db = open_node(&ns, 0, database);
  hd_err err = {0};
  assert_int_equal(hd_db_exec_script(db, FOLLOWUP_SQL, &err), 0);
  sweep_shared sh = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  sweeper s[2];
  pthread_t th[2];
  for (size_t i = 0; i < 2; i++) {
    s[i] = (sweeper){.ns = &ns, .index = i, .database = database, .sh = &sh, .name = i ? "b" : "a"};
    assert_int_equal(pthread_create(&th[i], NULL, sweeper_run, &s[i]), 0);
  }
  for (size_t i = 0; i < 2; i++) pthread_join(th[i], NULL);
  for (size_t i = 0; i < 2; i++)
    if (s[i].rc != 0) fail_msg("sweep %s: %s", s[i].name, s[i].err.msg);
  fprintf(stderr, "two sweeps: %u fire call(s), fired %zu + %zu\n", sh.fires, s[0].fired,
          s[1].fired);
  /* On two nodes both took the row (SKIP LOCKED does not see the other node's lock). */
  if (ns.n >= 2) assert_int_equal(sh.taken, 2);
  assert_int_equal(s[0].fired + s[1].fired, 1);
  assert_int_equal(one_int(db, "SELECT COUNT(*) FROM fu_sent"), 1);
  assert_int_equal(one_int(db, "SELECT sent FROM fu_rows WHERE id = 1"), 1);
  hd_db_close(db);
  hd_test_drop_database(database);
}

/* ---- two outbox relays on two nodes ---- */

#define RELAY_EVENTS 600

typedef struct relay {
  const nodes *ns;
  size_t index;
  const char *database, *service;
  pthread_barrier_t *start;
  size_t published;
  int rc;
  hd_err err;
} relay;

static void *relay_run(void *arg) {
  relay *r = arg;
  hd_clock clock;
  hd_clock_init_manual(&clock, 5000);
  hd_metrics *metrics = NULL;
  hd_svc_env env = {.clock = &clock};
  env.config.service = r->service;
  hd_worker w = {0};
  node_config(r->ns, r->index, r->database, &env.db);
  hd_test_kv_config(&env.kv);
  r->rc = -1;
  bool started = false; /* past the barrier: a failure then must not wait at it again */
  if (hd_metrics_new(&metrics, &r->err) != 0) goto done;
  env.metrics = metrics;
  if (hd_db_new(&env.db, &w.db, &r->err) != 0 || hd_kv_new(&env.kv, &w.kv, &r->err) != 0 ||
      hd_db_ping(w.db, &r->err) != 0)
    goto done;
  pthread_barrier_wait(r->start);
  started = true;
  for (;;) {
    size_t n = 0;
    if (hd_outbox_relay_once(&env, &w, &n, &r->err) != 0) goto done;
    r->published += n;
    if (n == 0) break;
  }
  r->rc = 0;
done:
  if (r->rc != 0 && !started) pthread_barrier_wait(r->start);
  hd_db_close(w.db);
  hd_kv_close(w.kv);
  hd_metrics_free(metrics);
  return NULL;
}

static void test_two_relays_on_two_nodes_publish_every_event_repeats_with_its_id(void **state) {
  (void)state;
  nodes ns;
  nodes_read(&ns);
  char database[64], service[64];
  hd_test_unique(database, sizeof database, "galera_relay");
  hd_test_unique(service, sizeof service, "galrelay");
  hd_db *db = open_node(&ns, 0, database);
  hd_err err = {0};
  if (hd_migrate(db, HD_MIGRATE_SET_KIT, hd_kit_migrations, hd_kit_migrations_count, NULL, &err))
    fail_msg("%s", err.msg);
  for (int i = 1; i <= RELAY_EVENTS; i++) {
    const hd_outbox_event ev = {.type = "ticket.created",
                                .tenant = "acme",
                                .aggregate_key = "ticket_id",
                                .aggregate_id = i,
                                .time_us = i};
    if (hd_outbox_append(db, &ev, NULL, &err) != 0) fail_msg("append: %s", err.msg);
  }
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 2);
  relay r[2];
  pthread_t th[2];
  for (size_t i = 0; i < 2; i++) {
    r[i] =
        (relay){.ns = &ns, .index = i, .database = database, .service = service, .start = &start};
    assert_int_equal(pthread_create(&th[i], NULL, relay_run, &r[i]), 0);
  }
  for (size_t i = 0; i < 2; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&start);
  for (size_t i = 0; i < 2; i++)
    if (r[i].rc != 0) fail_msg("relay %zu: %s", i, r[i].err.msg);
  assert_int_equal(one_int(db, "SELECT COUNT(*) FROM outbox WHERE published_at_us IS NULL"), 0);
  /* The stream: every event id at least once; a repeat carries the same id and payload. */
  hd_kv_config kc;
  hd_test_kv_config(&kc);
  hd_kv *kv = NULL;
  assert_int_equal(hd_kv_new(&kc, &kv, &err), 0);
  char stream[128];
  snprintf(stream, sizeof stream, "%s%s", HD_OUTBOX_STREAM_PREFIX, service);
  const char *argv[] = {"XRANGE", stream, "-", "+"};
  hd_kv_reply *x = NULL;
  if (hd_kv_cmd(kv, 4, argv, NULL, true, &x, &err) != 0) fail_msg("XRANGE: %s", err.msg);
  /* The rows' ids (on Galera they step by the cluster's size), ascending. */
  hd_db_rows *idrows = NULL;
  if (hd_db_query(db, "SELECT id FROM outbox ORDER BY id", NULL, 0, RELAY_EVENTS, &idrows, &err))
    fail_msg("%s", err.msg);
  assert_int_equal(hd_db_rows_count(idrows), RELAY_EVENTS);
  unsigned seen[RELAY_EVENTS] = {0};
  size_t entries = 0, repeats = 0;
  for (size_t e = 0; e < x->n; e++) {
    const hd_kv_reply *fields = x->elems[e]->elems[1];
    for (size_t f = 0; f + 1 < fields->n; f += 2) {
      if (strcmp(fields->elems[f]->str, "event_id") != 0) continue;
      const char *dash = strrchr(fields->elems[f + 1]->str, '-');
      assert_non_null(dash);
      const int64_t id = strtoll(dash + 1, NULL, 10);
      size_t at = 0;
      while (at < RELAY_EVENTS && hd_db_i64(idrows, at, 0) != id) at++;
      assert_true(at < RELAY_EVENTS); /* an event of this outbox */
      if (seen[at]++) repeats++;
      entries++;
    }
  }
  for (size_t i = 0; i < RELAY_EVENTS; i++)
    if (!seen[i]) fail_msg("outbox row %s was never published", hd_db_str(idrows, i, 0, NULL));
  hd_db_rows_free(idrows);
  fprintf(stderr, "two relays: %zu + %zu published, %zu stream entries, %zu repeated ids\n",
          r[0].published, r[1].published, entries, repeats);
  assert_int_equal(entries, RELAY_EVENTS + repeats);
  const char *del[] = {"DEL", stream};
  (void)hd_kv_cmd(kv, 2, del, NULL, true, NULL, &err);
  hd_kv_reply_free(x);
  hd_kv_close(kv);
  hd_db_close(db);
  hd_test_drop_database(database);
}

/* ---- HELPDESK_DB_NODES ---- */

static void test_nodes_list_passes_over_a_node_that_does_not_answer(void **state) {
  (void)state;
  nodes ns;
  nodes_read(&ns);
  hd_db_config one;
  node_config(&ns, 0, NULL, &one);
  hd_db *admin = NULL;
  hd_err err = {0};
  hd_db_config tcp = one;
  tcp.socket = NULL;
  assert_int_equal(hd_db_new(&tcp, &admin, &err), 0);
  const int64_t port = one_int(admin, "SELECT @@port");
  char list[128];
  snprintf(list, sizeof list, "127.0.0.1:%d,%s:%" PRId64, hd_test_free_port(), one.host, port);
  hd_db_config cfg = one;
  cfg.nodes = list;
  hd_db *db = NULL;
  assert_int_equal(hd_db_new(&cfg, &db, &err), 0);
  assert_int_equal(one_int(db, "SELECT @@port"), port);
  /* The connection is lost (killed): the next statement moves on, past the dead node, to the
   * one that answers, without a new handle. */
  char kill[64];
  snprintf(kill, sizeof kill, "KILL CONNECTION %" PRId64, one_int(db, "SELECT CONNECTION_ID()"));
  assert_int_equal(hd_db_exec_script(admin, kill, &err), 0);
  usleep(100000);
  assert_int_equal(one_int(db, "SELECT @@port"), port);
  hd_db_close(db);
  hd_db_close(admin);
}

static void test_nodes_list_that_is_not_host_port_is_refused_with_the_entry(void **state) {
  (void)state;
  const char *bad[] = {"127.0.0.1", "127.0.0.1:0", "a:1,:2", "h:99999", "h:3306x", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hd_db_config cfg = {.nodes = bad[i]};
    hd_db *db = NULL;
    hd_err err = {0};
    const int rc = hd_db_new(&cfg, &db, &err);
    if (bad[i][0] == '\0') { /* empty: no list, host and port as before */
      assert_int_equal(rc, 0);
    } else {
      assert_int_equal(rc, -1);
      assert_int_equal(err.code, HD_INVALID_ARGUMENT);
      assert_non_null(strstr(err.msg, "HELPDESK_DB_NODES"));
    }
    hd_db_close(db);
  }
}

static void test_nodes_list_with_every_node_down_is_unavailable_naming_the_list(void **state) {
  (void)state;
  char list[64];
  snprintf(list, sizeof list, "127.0.0.1:%d,127.0.0.1:%d", hd_test_free_port(),
           hd_test_free_port());
  hd_db_config cfg = {.nodes = list, .user = "root", .connect_timeout_s = 1};
  hd_db *db = NULL;
  hd_err err = {0};
  assert_int_equal(hd_db_new(&cfg, &db, &err), 0);
  assert_int_equal(hd_db_ping(db, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  assert_non_null(strstr(err.msg, list));
  hd_db_close(db);
}

static int group_teardown(void **state) {
  (void)state;
  hd_db_library_end();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_migrations_from_replicas_starting_at_once_apply_each_once),
      cmocka_unit_test(test_migration_lock_of_a_dead_holder_is_taken_over_once_its_lease_ran_out),
      cmocka_unit_test(test_every_table_of_every_schema_has_a_primary_key),
      cmocka_unit_test(test_concurrent_writes_to_one_ticket_through_two_nodes_all_commit),
      cmocka_unit_test(test_two_sweeps_on_two_nodes_send_a_followup_once),
      cmocka_unit_test(test_two_relays_on_two_nodes_publish_every_event_repeats_with_its_id),
      cmocka_unit_test(test_nodes_list_passes_over_a_node_that_does_not_answer),
      cmocka_unit_test(test_nodes_list_that_is_not_host_port_is_refused_with_the_entry),
      cmocka_unit_test(test_nodes_list_with_every_node_down_is_unavailable_naming_the_list),
  };
  return cmocka_run_group_tests(tests, NULL, group_teardown);
}
