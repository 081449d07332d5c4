/* The idempotency and outbox kit (common/svc/idem, common/svc/outbox), used from a second
 * service's tables: a database of its own with the kit's migrations and an `approvals` table, an
 * exactly-once "approve" the way CreateTicket is, its event relayed to a Redis stream of its own.
 * Real MariaDB and Redis. */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/db.h"
#include "db/migrate.h"
#include "json/json.h"
#include "kv/kv.h"
#include "rpctest.pb-c.h"
#include "svc/idem.h"
#include "svc/outbox.h"
#include "test_env.h"

extern const hd_migration tickets_migrations[];
extern const size_t tickets_migrations_count;

#define T0        1700000000000000LL /* a fixed "now", microseconds */
#define N_THREADS 16

static const char APPROVALS_SQL[] =
    "CREATE TABLE approvals (id BIGINT NOT NULL AUTO_INCREMENT, tenant VARCHAR(64) NOT NULL, "
    "requester VARCHAR(128) NOT NULL, amount BIGINT NOT NULL, created_at_us BIGINT NOT NULL, "
    "PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

typedef struct fixture {
  hd_db *db;
  hd_kv *kv;
  char dbname[64];
  char service[64]; /* the stream is helpdesk:events:<service> */
  char stream[96];
  hd_clock clock;
  hd_svc_env env;
  hd_worker worker;
} fixture;

/* ---- fixture ---- */

static int drop_database(hd_db *db, const char *name) {
  char sql[128];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", name);
  hd_err err = {0};
  const int rc = hd_db_exec_script(db, sql, &err);
  if (rc != 0) fprintf(stderr, "drop %s: %s\n", name, err.msg);
  return rc;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  hd_test_unique(f->dbname, sizeof f->dbname, "svc_kit");
  hd_test_unique(f->service, sizeof f->service, "approvals");
  snprintf(f->stream, sizeof f->stream, "%s%s", HD_OUTBOX_STREAM_PREFIX, f->service);
  hd_db_config dcfg;
  hd_test_db_config(&dcfg, f->dbname);
  hd_kv_config kcfg;
  hd_test_kv_config(&kcfg);
  hd_err err = {0};
  size_t applied = 0;
  if (hd_db_new(&dcfg, &f->db, &err) != 0 ||
      hd_migrate(f->db, HD_MIGRATE_SET_KIT, hd_kit_migrations, hd_kit_migrations_count, &applied,
                 &err) != 0 ||
      hd_db_exec_script(f->db, APPROVALS_SQL, &err) != 0 || hd_kv_new(&kcfg, &f->kv, &err) != 0) {
    fprintf(stderr, "setup: %s\n", err.msg);
    if (f->db) drop_database(f->db, f->dbname);
    hd_db_close(f->db);
    hd_kv_close(f->kv);
    free(f);
    return -1;
  }
  if (applied != hd_kit_migrations_count) {
    fprintf(stderr, "setup: applied %zu of %zu kit migrations\n", applied, hd_kit_migrations_count);
    drop_database(f->db, f->dbname);
    hd_db_close(f->db);
    hd_kv_close(f->kv);
    free(f);
    return -1;
  }
  hd_clock_init_manual(&f->clock, T0);
  f->env.config.service = f->service;
  f->env.clock = &f->clock;
  f->worker = (hd_worker){.db = f->db, .kv = f->kv};
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  const char *argv[] = {"DEL", f->stream};
  hd_err err = {0};
  hd_kv_cmd(f->kv, 2, argv, NULL, true, NULL, &err);
  const int rc = drop_database(f->db, f->dbname);
  hd_db_close(f->db);
  hd_kv_close(f->kv);
  free(f);
  return rc;
}

/* ---- helpers ---- */

static int64_t count(hd_db *db, const char *sql) {
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  if (hd_db_query(db, sql, NULL, 0, 1, &rows, &err) != 0) fail_msg("%s: %s", sql, err.msg);
  const int64_t n = hd_db_i64(rows, 0, 0);
  hd_db_rows_free(rows);
  return n;
}

/* How many approvals, outbox rows and keys the database holds. */
typedef struct counts {
  int64_t approvals, outbox, keys;
} counts;

static counts count_all(hd_db *db) {
  return (counts){.approvals = count(db, "SELECT COUNT(*) FROM approvals"),
                  .outbox = count(db, "SELECT COUNT(*) FROM outbox"),
                  .keys = count(db, "SELECT COUNT(*) FROM idempotency_keys")};
}

static void assert_counts(counts c, int64_t approvals, int64_t outbox, int64_t keys) {
  if (c.approvals != approvals || c.outbox != outbox || c.keys != keys)
    fail_msg("approvals %" PRId64 ", outbox %" PRId64 ", keys %" PRId64 "; wanted %" PRId64
             ", %" PRId64 ", %" PRId64,
             c.approvals, c.outbox, c.keys, approvals, outbox, keys);
}

/* An approval request: the hashed request is an EchoRequest carrying the amount as its text. */
typedef struct approve {
  const char *tenant, *caller, *key;
  int64_t amount;
  int64_t now_us;
  bool fail_after_writes; /* the body fails after every write: the transaction rolls back */
  char hash[HD_IDEM_HASH_SIZE];
  int64_t id;   /* the approval the call returns */
  bool created; /* this call inserted it */
} approve;

static void approve_hash(approve *a) {
  char text[32];
  snprintf(text, sizeof text, "%" PRId64, a->amount);
  Hdtest__V1__EchoRequest rq = HDTEST__V1__ECHO_REQUEST__INIT;
  rq.text = text;
  hd_err err = {0};
  if (hd_idem_hash_request(&rq.base, a->hash, &err) != 0) fail_msg("hash: %s", err.msg);
}

/* The second service's exactly-once create: claim, insert, event, record, all in one tx. */
static int approve_tx(hd_db *db, void *arg, hd_err *err) {
  approve *a = arg;
  const hd_idem_key k = {
      .tenant = a->tenant, .caller_id = a->caller, .key = a->key, .result_kind = "approval"};
  a->id = 0;
  a->created = false;
  if (hd_idem_claim(db, &k, a->hash, a->now_us, &a->id, err) != 0) return -1;
  if (a->id > 0) return 0;
  const hd_db_param p[] = {hd_db_text(a->tenant), hd_db_text(a->caller), hd_db_int(a->amount),
                           hd_db_int(a->now_us)};
  uint64_t id = 0;
  if (hd_db_exec(db,
                 "INSERT INTO approvals (tenant, requester, amount, created_at_us) "
                 "VALUES (?, ?, ?, ?)",
                 p, 4, NULL, &id, err) != 0)
    return -1;
  json_error_t je;
  json_t *body = json_pack_ex(&je, 0, "{s:I, s:{s:s}}", "amount", (json_int_t)a->amount, "approval",
                              "state", "GRANTED");
  if (!body) return hd_json_pack_failed(&je, "the approval.granted event", err);
  const hd_outbox_event ev = {.type = "approval.granted",
                              .tenant = a->tenant,
                              .aggregate_key = "approval_id",
                              .aggregate_id = (int64_t)id,
                              .actor_id = a->caller,
                              .actor_role = "tenant_admin",
                              .time_us = a->now_us};
  const int rc = hd_outbox_append(db, &ev, body, err);
  json_decref(body);
  if (rc != 0 || hd_idem_set_result(db, &k, (int64_t)id, err) != 0) return -1;
  if (a->fail_after_writes)
    return hd_err_set(err, HD_FAILED_PRECONDITION, "the test fails the call after its writes");
  a->id = (int64_t)id;
  a->created = true;
  return 0;
}

static approve an_approval(const char *key, int64_t amount, int64_t now_us) {
  approve a = {
      .tenant = "acme", .caller = "admin-1", .key = key, .amount = amount, .now_us = now_us};
  approve_hash(&a);
  return a;
}

static void approve_ok(hd_db *db, approve *a) {
  hd_err err = {0};
  if (hd_db_tx(db, approve_tx, a, 0, &err) != 0) fail_msg("approve %s: %s", a->key, err.msg);
  assert_true(a->id > 0);
}

/* ---- exactly once ---- */

static void test_retry_with_the_same_key_returns_the_same_result_and_writes_nothing(void **state) {
  fixture *f = *state;
  approve first = an_approval("k-1", 500, T0);
  approve_ok(f->db, &first);
  assert_true(first.created);
  assert_counts(count_all(f->db), 1, 1, 1);
  for (int retry = 0; retry < 3; retry++) {
    approve again = an_approval("k-1", 500, T0 + 1000 * (retry + 1));
    approve_ok(f->db, &again);
    assert_false(again.created);
    assert_int_equal(again.id, first.id);
    assert_counts(count_all(f->db), 1, 1, 1);
  }
  /* The key belongs to its caller and tenant: the same key elsewhere is another key. */
  approve other_caller = an_approval("k-1", 500, T0);
  other_caller.caller = "admin-2";
  approve_ok(f->db, &other_caller);
  approve other_tenant = an_approval("k-1", 500, T0);
  other_tenant.tenant = "acme2";
  approve_ok(f->db, &other_tenant);
  assert_true(other_caller.created && other_tenant.created);
  assert_true(other_caller.id != first.id && other_tenant.id != first.id);
  assert_counts(count_all(f->db), 3, 3, 3);
}

static void test_same_key_with_another_request_is_already_exists_and_writes_nothing(void **state) {
  fixture *f = *state;
  approve first = an_approval("k-2", 500, T0);
  approve_ok(f->db, &first);
  approve other = an_approval("k-2", 501, T0 + 5);
  hd_err err = {0};
  assert_int_equal(hd_db_tx(f->db, approve_tx, &other, 0, &err), -1);
  assert_int_equal(err.code, HD_ALREADY_EXISTS);
  char want[200];
  snprintf(want, sizeof want,
           "idempotency_key 'k-2' was already used for a different request (approval %" PRId64
           "); use a new key for a new approval",
           first.id);
  assert_string_equal(err.msg, want);
  assert_counts(count_all(f->db), 1, 1, 1);
  /* The first request's hash is still the key's. */
  approve retry = an_approval("k-2", 500, T0 + 6);
  approve_ok(f->db, &retry);
  assert_int_equal(retry.id, first.id);
}

typedef struct racer {
  const fixture *f;
  pthread_barrier_t *start;
  approve a;
  int rc;
  char msg[HD_ERR_MSG_MAX];
} racer;

static void *race_main(void *p) {
  racer *r = p;
  hd_db_config cfg;
  hd_test_db_config(&cfg, r->f->dbname);
  hd_db *db = NULL;
  hd_err err = {0};
  r->rc = hd_db_new(&cfg, &db, &err);
  if (r->rc == 0) r->rc = hd_db_ping(db, &err); /* connected before the start line */
  pthread_barrier_wait(r->start);
  if (r->rc == 0) r->rc = hd_db_tx(db, approve_tx, &r->a, 0, &err);
  snprintf(r->msg, sizeof r->msg, "%s", err.msg);
  hd_db_close(db);
  return NULL;
}

static void test_threads_with_one_key_make_exactly_one_row(void **state) {
  fixture *f = *state;
  pthread_t th[N_THREADS];
  racer r[N_THREADS];
  pthread_barrier_t start;
  assert_int_equal(pthread_barrier_init(&start, NULL, N_THREADS), 0);
  for (int i = 0; i < N_THREADS; i++) {
    r[i] = (racer){.f = f, .start = &start, .a = an_approval("k-race", 900, T0)};
    assert_int_equal(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
  }
  for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&start);
  int created = 0;
  for (int i = 0; i < N_THREADS; i++) {
    if (r[i].rc != 0) fail_msg("thread %d failed: %s", i, r[i].msg);
    assert_int_equal(r[i].a.id, r[0].a.id);
    created += r[i].a.created;
  }
  const counts c = count_all(f->db);
  printf("# %d threads, one key: %d created, %d returned the winner's approval %" PRId64
         "; rows: approvals %" PRId64 ", outbox %" PRId64 ", keys %" PRId64 "\n",
         N_THREADS, created, N_THREADS - created, r[0].a.id, c.approvals, c.outbox, c.keys);
  assert_int_equal(created, 1);
  assert_counts(c, 1, 1, 1);
}

/* ---- expiry and purge ---- */

static void test_a_key_holds_for_its_window_and_is_claimed_anew_after_it(void **state) {
  fixture *f = *state;
  approve first = an_approval("k-exp", 100, T0);
  approve_ok(f->db, &first);
  /* At the window's last microsecond the key still holds. */
  approve late = an_approval("k-exp", 200, T0 + HD_IDEM_WINDOW_US);
  hd_err err = {0};
  assert_int_equal(hd_db_tx(f->db, approve_tx, &late, 0, &err), -1);
  assert_int_equal(err.code, HD_ALREADY_EXISTS);
  approve same = an_approval("k-exp", 100, T0 + HD_IDEM_WINDOW_US);
  approve_ok(f->db, &same);
  assert_int_equal(same.id, first.id);
  /* One past it, the key is free again: a new approval (the old row is replaced). */
  approve after = an_approval("k-exp", 200, T0 + HD_IDEM_WINDOW_US + 1);
  approve_ok(f->db, &after);
  assert_true(after.created);
  assert_true(after.id != first.id);
  assert_counts(count_all(f->db), 2, 2, 1);
}

static void test_expired_keys_are_purged_in_bounded_batches_and_fresh_ones_kept(void **state) {
  fixture *f = *state;
  for (int i = 0; i < 5; i++) {
    char key[16];
    snprintf(key, sizeof key, "old-%d", i);
    approve a = an_approval(key, i, T0 + i);
    approve_ok(f->db, &a);
  }
  approve fresh = an_approval("fresh", 1, T0 + HD_IDEM_WINDOW_US);
  approve_ok(f->db, &fresh);
  /* At T0 + window + 5 the keys created at T0..T0+4 have expired; "fresh" has not. */
  const int64_t now = T0 + HD_IDEM_WINDOW_US + 5;
  const uint64_t want[] = {2, 2, 1, 0};
  for (size_t round = 0; round < 4; round++) {
    uint64_t deleted = 99;
    hd_err err = {0};
    assert_int_equal(hd_idem_purge(f->db, now, 2, &deleted, &err), 0);
    assert_int_equal(deleted, want[round]);
  }
  assert_int_equal(count(f->db, "SELECT COUNT(*) FROM idempotency_keys"), 1);
  assert_int_equal(count(f->db, "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'fresh'"),
                   1);
  /* Purging changes no result: the approvals and their events stay. */
  assert_int_equal(count(f->db, "SELECT COUNT(*) FROM approvals"), 6);
  uint64_t deleted = 99;
  hd_err err = {0};
  assert_int_equal(hd_idem_purge(f->db, now, 0, &deleted, &err), 0);
  assert_int_equal(deleted, 0);
}

/* ---- the outbox ---- */

static void test_the_outbox_row_rolls_back_with_its_transaction(void **state) {
  fixture *f = *state;
  approve a = an_approval("k-rb", 700, T0);
  a.fail_after_writes = true;
  hd_err err = {0};
  assert_int_equal(hd_db_tx(f->db, approve_tx, &a, 0, &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  assert_counts(count_all(f->db), 0, 0, 0);
  size_t published = 99;
  assert_int_equal(hd_outbox_relay_once(&f->env, &f->worker, &published, &err), 0);
  assert_int_equal(published, 0);
  /* The key went with the rollback: the same request now goes through once. */
  approve again = an_approval("k-rb", 700, T0 + 1);
  approve_ok(f->db, &again);
  assert_true(again.created);
  assert_counts(count_all(f->db), 1, 1, 1);
}

/* The value of stream entry field `name` (borrowed from e), or fails. */
static const hd_kv_reply *entry_field(const hd_kv_reply *fields, const char *name) {
  for (size_t i = 0; i + 1 < fields->n; i += 2)
    if (strcmp(fields->elems[i]->str, name) == 0) return fields->elems[i + 1];
  fail_msg("stream entry has no field %s", name);
  return NULL;
}

static void test_the_relay_publishes_the_row_with_its_envelope_once(void **state) {
  fixture *f = *state;
  approve a = an_approval("k-pub", 1234, T0 + 42);
  approve_ok(f->db, &a);
  hd_clock_set(&f->clock, T0 + 100);
  size_t published = 0;
  hd_err err = {0};
  assert_int_equal(hd_outbox_relay_once(&f->env, &f->worker, &published, &err), 0);
  assert_int_equal(published, 1);
  assert_int_equal(
      count(f->db, "SELECT COUNT(*) FROM outbox WHERE published_at_us = 1700000000000100"), 1);
  assert_int_equal(hd_outbox_relay_once(&f->env, &f->worker, &published, &err), 0);
  assert_int_equal(published, 0);

  const char *argv[] = {"XRANGE", f->stream, "-", "+"};
  hd_kv_reply *r = NULL;
  assert_int_equal(hd_kv_cmd(f->kv, 4, argv, NULL, true, &r, &err), 0);
  assert_int_equal(r->type, HD_KV_ARRAY);
  assert_int_equal(r->n, 1);
  const hd_kv_reply *fields = r->elems[0]->elems[1];
  const int64_t outbox_id = count(f->db, "SELECT MAX(id) FROM outbox");
  char want[512];
  assert_int_equal(hd_outbox_event_id(f->db, f->service, outbox_id, want, &err), 0);
  /* "<service>-<origin: 12 hex digits>-<outbox id>" */
  const size_t svc_len = strlen(f->service);
  assert_memory_equal(want, f->service, svc_len);
  assert_int_equal(want[svc_len], '-');
  const char *origin = want + svc_len + 1;
  assert_int_equal(strspn(origin, "0123456789abcdef"), HD_OUTBOX_ORIGIN_LEN);
  char id_part[32];
  snprintf(id_part, sizeof id_part, "-%" PRId64, outbox_id);
  assert_string_equal(origin + HD_OUTBOX_ORIGIN_LEN, id_part);
  assert_string_equal(entry_field(fields, "event_id")->str, want);
  assert_string_equal(entry_field(fields, "type")->str, "approval.granted");
  assert_string_equal(entry_field(fields, "tenant")->str, "acme");
  snprintf(want, sizeof want, "%" PRId64, a.id);
  assert_string_equal(entry_field(fields, "aggregate_id")->str, want);
  assert_string_equal(entry_field(fields, "created_at_us")->str, "1700000000000042");
  const hd_kv_reply *payload = entry_field(fields, "payload");
  snprintf(want, sizeof want,
           "{\"event\":\"approval.granted\",\"tenant\":\"acme\",\"approval_id\":%" PRId64
           ",\"actor_id\":\"admin-1\",\"actor_role\":\"tenant_admin\",\"time_us\":"
           "1700000000000042,\"amount\":1234,\"approval\":{\"state\":\"GRANTED\"}}",
           a.id);
  assert_string_equal(payload->str, want);
  /* A consumer reads it back with the same module. */
  json_t *ev = NULL;
  assert_int_equal(
      hd_json_parse_object(payload->str, payload->len, &HD_JSON_EVENT_LIMITS, &ev, &err), 0);
  int64_t id = 0;
  const json_t *approval = NULL;
  const char *s = NULL;
  assert_int_equal(hd_json_get_int(ev, "approval_id", &id, &err), 0);
  assert_int_equal(id, a.id);
  assert_int_equal(hd_json_get_object(ev, "approval", &approval, &err), 0);
  assert_int_equal(hd_json_get_str(approval, "state", &s, NULL, &err), 0);
  assert_string_equal(s, "GRANTED");
  json_decref(ev);
  hd_kv_reply_free(r);
}

/* Runs one outbox append in its own transaction. */
typedef struct append_one {
  hd_outbox_event ev;
  json_t *body;
} append_one;

static int append_tx(hd_db *db, void *arg, hd_err *err) {
  append_one *x = arg;
  return hd_outbox_append(db, &x->ev, x->body, err);
}

static void test_outbox_append_refuses_a_bad_event_and_writes_nothing(void **state) {
  fixture *f = *state;
  const hd_outbox_event good = {.type = "approval.granted",
                                .tenant = "acme",
                                .aggregate_key = "approval_id",
                                .aggregate_id = 1,
                                .time_us = T0};
  hd_err err = {0};
  /* A body member named like an envelope member. */
  append_one x = {.ev = good, .body = json_pack("{s:s}", "tenant", "other")};
  assert_int_equal(hd_db_tx(f->db, append_tx, &x, 0, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_non_null(strstr(err.msg, "\"tenant\""));
  json_decref(x.body);
  /* No type, tenant or aggregate key. */
  x = (append_one){.ev = good};
  x.ev.tenant = "";
  assert_int_equal(hd_db_tx(f->db, append_tx, &x, 0, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  /* The aggregate key named like another envelope member. */
  x = (append_one){.ev = good};
  x.ev.aggregate_key = "time_us";
  assert_int_equal(hd_db_tx(f->db, append_tx, &x, 0, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  /* A payload past the TEXT column: RESOURCE_EXHAUSTED, nothing written. */
  char *big = malloc(HD_OUTBOX_PAYLOAD_MAX);
  assert_non_null(big);
  memset(big, 'x', HD_OUTBOX_PAYLOAD_MAX);
  x = (append_one){.ev = good,
                   .body = json_pack("{s:s%}", "pad", big, (size_t)HD_OUTBOX_PAYLOAD_MAX)};
  assert_non_null(x.body);
  assert_int_equal(hd_db_tx(f->db, append_tx, &x, 0, &err), -1);
  assert_int_equal(err.code, HD_RESOURCE_EXHAUSTED);
  assert_non_null(strstr(err.msg, "the approval.granted event"));
  json_decref(x.body);
  free(big);
  assert_int_equal(count(f->db, "SELECT COUNT(*) FROM outbox"), 0);
  /* Envelope only (no body), NULL actor: written, actor members null. */
  x = (append_one){.ev = good};
  assert_int_equal(hd_db_tx(f->db, append_tx, &x, 0, &err), 0);
  hd_db_rows *rows = NULL;
  assert_int_equal(hd_db_query(f->db, "SELECT payload FROM outbox", NULL, 0, 1, &rows, &err), 0);
  assert_string_equal(hd_db_str(rows, 0, 0, NULL),
                      "{\"event\":\"approval.granted\",\"tenant\":\"acme\",\"approval_id\":1,"
                      "\"actor_id\":null,\"actor_role\":null,\"time_us\":1700000000000000}");
  hd_db_rows_free(rows);
}

/* ---- input limits ---- */

/* hd_idem_record: a new key and its result in one statement; a key with a row (any hash) is
 * ALREADY_EXISTS and the transaction's writes roll back, after which the claim answers. */
static void test_record_writes_key_and_result_at_once_and_refuses_a_key_with_a_row(void **state) {
  fixture *f = *state;
  approve a = an_approval("k-rec", 700, T0);
  const hd_idem_key k = {
      .tenant = a.tenant, .caller_id = a.caller, .key = a.key, .result_kind = "approval"};
  hd_err err = {0};
  assert_int_equal(hd_idem_record(f->db, &k, a.hash, T0, 42, &err), 0);
  int64_t id = 0;
  assert_int_equal(hd_idem_claim(f->db, &k, a.hash, T0 + 1, &id, &err), 0);
  assert_int_equal(id, 42); /* recorded with its result: a retry gets it */
  assert_int_equal(hd_idem_record(f->db, &k, a.hash, T0 + 2, 43, &err), -1);
  assert_int_equal(err.code, HD_ALREADY_EXISTS);
  approve other = an_approval("k-rec", 701, T0 + 3);
  assert_int_equal(hd_idem_record(f->db, &k, other.hash, T0 + 3, 44, &err), -1);
  assert_int_equal(err.code, HD_ALREADY_EXISTS);
  assert_int_equal(hd_idem_claim(f->db, &k, a.hash, T0 + 4, &id, &err), 0);
  assert_int_equal(id, 42); /* neither refused call changed the row */
  assert_int_equal(hd_idem_record(f->db, &k, "not-a-hash", T0, 45, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_idem_record(f->db, &k, a.hash, T0, 0, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
}

static void test_key_caller_tenant_and_hash_limits_edge_and_one_past(void **state) {
  fixture *f = *state;
  char key[HD_IDEM_KEY_MAX + 2], hash[HD_IDEM_HASH_SIZE];
  hd_err err = {0};
  assert_int_equal(hd_idem_sha256_hex("x", 1, hash, &err), 0);
  memset(key, 'k', sizeof key - 1);
  key[sizeof key - 1] = '\0'; /* 129 characters */
  int64_t id = -1;
  hd_idem_key k = {.tenant = "acme", .caller_id = "c", .key = key};
  assert_int_equal(hd_idem_claim(f->db, &k, hash, T0, &id, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "key must be 1 to 128 characters"));
  key[HD_IDEM_KEY_MAX] = '\0'; /* 128: the edge */
  assert_int_equal(hd_idem_claim(f->db, &k, hash, T0, &id, &err), 0);
  assert_int_equal(id, 0);
  /* 128 characters of two bytes each are 128 characters too. */
  char wide[2 * HD_IDEM_KEY_MAX + 1];
  for (size_t i = 0; i < HD_IDEM_KEY_MAX; i++) memcpy(wide + 2 * i, "\xc3\xa9", 2);
  wide[2 * HD_IDEM_KEY_MAX] = '\0';
  k.key = wide;
  assert_int_equal(hd_idem_claim(f->db, &k, hash, T0, &id, &err), 0);
  k.key = "";
  assert_int_equal(hd_idem_claim(f->db, &k, hash, T0, &id, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  k.key = "ok\xff";
  assert_int_equal(hd_idem_claim(f->db, &k, hash, T0, &id, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  k.key = "ok";
  k.caller_id = NULL;
  assert_int_equal(hd_idem_claim(f->db, &k, hash, T0, &id, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  k.caller_id = "c";
  char tenant[HD_IDEM_TENANT_MAX + 2];
  memset(tenant, 't', sizeof tenant - 1);
  tenant[sizeof tenant - 1] = '\0';
  k.tenant = tenant;
  assert_int_equal(hd_idem_claim(f->db, &k, hash, T0, &id, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  k.tenant = "acme";
  static const char *const bad_hashes[] = {
      "", "abc", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555"};
  for (size_t i = 0; i < sizeof bad_hashes / sizeof bad_hashes[0]; i++) {
    assert_int_equal(hd_idem_claim(f->db, &k, bad_hashes[i], T0, &id, &err), -1);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  }
  assert_int_equal(hd_idem_set_result(f->db, &k, 0, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(count(f->db, "SELECT COUNT(*) FROM idempotency_keys"), 2);
}

/* ---- the kit's migration 002 ---- */

static char *show_create(hd_db *db, const char *table) {
  char sql[96];
  snprintf(sql, sizeof sql, "SHOW CREATE TABLE %s", table);
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  if (hd_db_query(db, sql, NULL, 0, 1, &rows, &err) != 0) fail_msg("%s: %s", sql, err.msg);
  char *s = strdup(hd_db_str(rows, 0, 1, NULL));
  hd_db_rows_free(rows);
  assert_non_null(s);
  return s;
}

/* The table as the tickets service's 001 created it before the kit had it. */
static const char OLD_TICKETS_IDEM_SQL[] =
    "CREATE TABLE idempotency_keys (tenant VARCHAR(64) NOT NULL, caller_id VARCHAR(128) NOT NULL, "
    "idem_key VARCHAR(128) NOT NULL, request_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin "
    "NOT NULL, ticket_id BIGINT NOT NULL, created_at_us BIGINT NOT NULL, "
    "PRIMARY KEY (tenant, caller_id, idem_key), KEY ix_idem_created (created_at_us)) "
    "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;\n"
    "INSERT INTO idempotency_keys VALUES ('acme', 'cust-1', 'k', "
    "'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 42, 1700000000000000)";

static void test_an_existing_tickets_table_and_a_fresh_one_end_in_the_same_schema(void **state) {
  fixture *f = *state;
  char fresh_name[64], old_name[64];
  hd_test_unique(fresh_name, sizeof fresh_name, "svc_kit_fresh");
  hd_test_unique(old_name, sizeof old_name, "svc_kit_old");
  hd_db_config cfg;
  hd_db *fresh = NULL, *old = NULL;
  hd_err err = {0};
  /* Fresh: the kit's set, then the tickets service's own (which no longer makes the table). */
  hd_test_db_config(&cfg, fresh_name);
  assert_int_equal(hd_db_new(&cfg, &fresh, &err), 0);
  assert_int_equal(
      hd_migrate(fresh, HD_MIGRATE_SET_KIT, hd_kit_migrations, hd_kit_migrations_count, NULL, &err),
      0);
  assert_int_equal(
      hd_migrate(fresh, NULL, tickets_migrations, tickets_migrations_count, NULL, &err), 0);
  /* Existing: the old table with a row, then the kit's set. */
  hd_test_db_config(&cfg, old_name);
  assert_int_equal(hd_db_new(&cfg, &old, &err), 0);
  if (hd_db_exec_script(old, OLD_TICKETS_IDEM_SQL, &err) != 0) fail_msg("old table: %s", err.msg);
  assert_int_equal(
      hd_migrate(old, HD_MIGRATE_SET_KIT, hd_kit_migrations, hd_kit_migrations_count, NULL, &err),
      0);
  char *a = show_create(fresh, "idempotency_keys"), *b = show_create(old, "idempotency_keys");
  assert_string_equal(a, b);
  assert_non_null(strstr(a, "`result_id` bigint(20) NOT NULL"));
  assert_null(strstr(a, "ticket_id"));
  /* The row kept its result, and the kit reads it. */
  const hd_idem_key k = {.tenant = "acme", .caller_id = "cust-1", .key = "k"};
  int64_t id = 0;
  assert_int_equal(
      hd_idem_claim(old, &k, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                    1700000000000001, &id, &err),
      0);
  assert_int_equal(id, 42);
  /* Running the set again changes nothing. */
  size_t applied = 9;
  assert_int_equal(hd_migrate(old, HD_MIGRATE_SET_KIT, hd_kit_migrations, hd_kit_migrations_count,
                              &applied, &err),
                   0);
  assert_int_equal(applied, 0);
  free(a);
  free(b);
  drop_database(fresh, fresh_name);
  drop_database(old, old_name);
  hd_db_close(fresh);
  hd_db_close(old);
  (void)f;
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
      T(test_retry_with_the_same_key_returns_the_same_result_and_writes_nothing),
      T(test_same_key_with_another_request_is_already_exists_and_writes_nothing),
      T(test_threads_with_one_key_make_exactly_one_row),
      T(test_a_key_holds_for_its_window_and_is_claimed_anew_after_it),
      T(test_expired_keys_are_purged_in_bounded_batches_and_fresh_ones_kept),
      T(test_the_outbox_row_rolls_back_with_its_transaction),
      T(test_the_relay_publishes_the_row_with_its_envelope_once),
      T(test_outbox_append_refuses_a_bad_event_and_writes_nothing),
      T(test_record_writes_key_and_result_at_once_and_refuses_a_key_with_a_row),
      T(test_key_caller_tenant_and_hash_limits_edge_and_one_past),
      T(test_an_existing_tickets_table_and_a_fresh_one_end_in_the_same_schema),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
