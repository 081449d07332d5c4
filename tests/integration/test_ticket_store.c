/* services/tickets/ticket_store against a real MariaDB: the schema migrates, tickets read back,
 * the change pipeline checks versions and fences and writes history and outbox rows in the same
 * transaction (and nothing after a rollback), lists page, order, filter and keep tenants apart,
 * idempotency keys. One database per run; each test uses its own tenant. */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/db.h"
#include "db/migrate.h"
#include "svc/idem.h"
#include "test_env.h"
#include "ticket_query.h"
#include "ticket_state.h"
#include "ticket_store.h"

extern const hd_migration tickets_migrations[];
extern const size_t tickets_migrations_count;

#define T0        1700000000000000LL /* a fixed "now", microseconds */
#define ARENA_CAP (16u << 20)

typedef struct fixture {
  hd_db *db;
  char dbname[64];
} fixture;

static const ticket_actor AGENT = {.user_id = "agent-1", .role = "agent"};
static const ticket_actor CUSTOMER = {.user_id = "cust-1", .role = "customer"};

/* ---- fixture ---- */

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  hd_test_unique(f->dbname, sizeof f->dbname, "tickets_store");
  hd_db_config cfg;
  hd_test_db_config(&cfg, f->dbname);
  hd_err err = {0};
  size_t applied = 0;
  if (hd_db_new(&cfg, &f->db, &err) != 0 ||
      hd_migrate(f->db, HD_MIGRATE_SET_KIT, hd_kit_migrations, hd_kit_migrations_count, NULL,
                 &err) != 0 ||
      hd_migrate(f->db, NULL, tickets_migrations, tickets_migrations_count, &applied, &err) != 0) {
    fprintf(stderr, "setup: %s\n", err.msg);
    hd_db_close(f->db);
    free(f);
    return -1;
  }
  if (applied != tickets_migrations_count) {
    fprintf(stderr, "setup: applied %zu of %zu migrations\n", applied, tickets_migrations_count);
    hd_db_close(f->db);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (!f) return 0; /* cmocka runs a group's tear-down even when its set-up failed */
  char sql[128];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", f->dbname);
  hd_err err = {0};
  const int rc = hd_db_exec_script(f->db, sql, &err);
  if (rc != 0) fprintf(stderr, "teardown: %s\n", err.msg);
  hd_db_close(f->db);
  free(f);
  return rc;
}

/* ---- helpers ---- */

static const char *tenant_name(char *buf, size_t size) {
  return hd_test_unique(buf, size, "tenant");
}

static int64_t count_rows(hd_db *db, const char *sql, const char *tenant) {
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  const hd_db_param p[] = {hd_db_text(tenant)};
  if (hd_db_query(db, sql, p, 1, 1, &rows, &err) != 0) fail_msg("%s: %s", sql, err.msg);
  const int64_t n = hd_db_i64(rows, 0, 0);
  hd_db_rows_free(rows);
  return n;
}

static ticket_new a_ticket(const char *customer, const char *department) {
  return (ticket_new){.customer_id = customer,
                      .subject = "Website down",
                      .description = "My site shows a 500 error since this morning.",
                      .product = "Shared Hosting Pro",
                      .brand = "WHG",
                      .service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED,
                      .issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL,
                      .department = department};
}

typedef struct insert_args {
  const char *tenant;
  ticket_new t;
  int64_t now_us;
  int64_t id;
  bool fail_after; /* roll back after the insert */
} insert_args;

static int insert_body(hd_db *db, void *arg, hd_err *err) {
  insert_args *a = arg;
  if (ticket_store_insert(db, a->tenant, &a->t, a->now_us, &CUSTOMER, &a->id, err) != 0) return -1;
  if (a->fail_after) return hd_err_set(err, HD_INTERNAL, "test: roll back");
  return 0;
}

static int64_t insert_at(hd_db *db, const char *tenant, const char *customer,
                         const char *department, int64_t now_us) {
  insert_args a = {.tenant = tenant, .t = a_ticket(customer, department), .now_us = now_us};
  hd_err err = {0};
  if (hd_db_tx(db, insert_body, &a, 0, &err) != 0) fail_msg("insert: %s", err.msg);
  return a.id;
}

typedef struct update_args {
  const char *tenant;
  int64_t id;
  int64_t expected_version;
  const ticket_change *change;
  int64_t now_us;
  hd_arena *arena;
  Helpdesk__V1__Ticket *out;
  bool fail_after;
} update_args;

static int update_body(hd_db *db, void *arg, hd_err *err) {
  update_args *a = arg;
  if (ticket_store_update(db, a->tenant, a->id, a->expected_version, a->change, a->now_us, &AGENT,
                          a->arena, a->arena ? &a->out : NULL, err) != 0)
    return -1;
  if (a->fail_after) return hd_err_set(err, HD_INTERNAL, "test: roll back");
  return 0;
}

static int update_tx(hd_db *db, const char *tenant, int64_t id, int64_t expected,
                     const ticket_change *ch, int64_t now_us, hd_arena *arena,
                     Helpdesk__V1__Ticket **out, hd_err *err) {
  update_args a = {.tenant = tenant,
                   .id = id,
                   .expected_version = expected,
                   .change = ch,
                   .now_us = now_us,
                   .arena = arena};
  const int rc = hd_db_tx(db, update_body, &a, 0, err);
  if (out) *out = a.out;
  return rc;
}

static Helpdesk__V1__Ticket *get(hd_db *db, const char *tenant, int64_t id, hd_arena *arena,
                                 ticket_meta *meta) {
  Helpdesk__V1__Ticket *t = NULL;
  hd_err err = {0};
  if (ticket_store_get(db, tenant, id, false, arena, &t, meta, &err) != 0)
    fail_msg("get: %s", err.msg);
  return t;
}

/* The payload of the tenant's newest outbox row (caller frees). */
static char *last_event(hd_db *db, const char *tenant, char *type, size_t type_size) {
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  const hd_db_param p[] = {hd_db_text(tenant)};
  if (hd_db_query(
          db, "SELECT event_type, payload FROM outbox WHERE tenant = ? ORDER BY id DESC LIMIT 1", p,
          1, 1, &rows, &err) != 0)
    fail_msg("outbox: %s", err.msg);
  assert_int_equal(hd_db_rows_count(rows), 1);
  snprintf(type, type_size, "%s", hd_db_str(rows, 0, 0, NULL));
  char *payload = strdup(hd_db_str(rows, 0, 1, NULL));
  hd_db_rows_free(rows);
  return payload;
}

/* ---- migrations ---- */

static void test_migrations_applied_again_change_nothing(void **state) {
  fixture *f = *state;
  size_t applied = 99;
  hd_err err = {0};
  assert_int_equal(
      hd_migrate(f->db, NULL, tickets_migrations, tickets_migrations_count, &applied, &err), 0);
  assert_int_equal(applied, 0);
}

/* A database written before the owner rule (migrations up to 003) may hold a worked ticket with
 * no owner; migration 004 sends it back to PENDING_RESPONSE with a history row, then the database
 * itself refuses such a row. */
static void test_the_owner_repair_requeues_unowned_worked_tickets_and_then_refuses_them(void **st) {
  (void)st;
  char name[64];
  hd_test_unique(name, sizeof name, "tickets_repair");
  hd_db_config cfg;
  hd_test_db_config(&cfg, name);
  hd_db *db = NULL;
  hd_err err = {0};
  assert_int_equal(hd_db_new(&cfg, &db, &err), 0);
  assert_int_equal(
      hd_migrate(db, HD_MIGRATE_SET_KIT, hd_kit_migrations, hd_kit_migrations_count, NULL, &err),
      0);
  assert_int_equal(hd_migrate(db, NULL, tickets_migrations, 3, NULL, &err), 0);
  static const char insert[] =
      "INSERT INTO tickets (tenant, customer_id, subject, title, description, service_type, "
      "issue_type, status, owner_id, created_at_us, updated_at_us) VALUES "
      "('acme', 'cust-1', 's', 's', 'd', 'SHARED', 'TECHNICAL', 'PROCESSING', NULL, 1, 1), "
      "('acme', 'cust-1', 's', 's', 'd', 'SHARED', 'TECHNICAL', 'PROCESSING', 'agent-1', 1, 1)";
  if (hd_db_exec_script(db, insert, &err) != 0) fail_msg("%s", err.msg);
  size_t applied = 0;
  assert_int_equal(
      hd_migrate(db, NULL, tickets_migrations, tickets_migrations_count, &applied, &err), 0);
  assert_int_equal(applied, tickets_migrations_count - 3);
  assert_int_equal(count_rows(db,
                              "SELECT COUNT(*) FROM tickets WHERE tenant = ? AND status = "
                              "'PENDING_RESPONSE' AND owner_id IS NULL AND version = 2",
                              "acme"),
                   1);
  assert_int_equal(count_rows(db,
                              "SELECT COUNT(*) FROM tickets WHERE tenant = ? AND status = "
                              "'PROCESSING' AND owner_id = 'agent-1' AND version = 1",
                              "acme"),
                   1);
  assert_int_equal(count_rows(db,
                              "SELECT COUNT(*) FROM ticket_history WHERE tenant = ? AND action = "
                              "'REPAIR_NO_OWNER' AND from_value = 'PROCESSING'",
                              "acme"),
                   1);
  static const char bad[] = "UPDATE tickets SET owner_id = NULL WHERE owner_id = 'agent-1'";
  assert_int_not_equal(hd_db_exec_script(db, bad, &err), 0);
  char drop[128];
  snprintf(drop, sizeof drop, "DROP DATABASE IF EXISTS `%s`", name);
  assert_int_equal(hd_db_exec_script(db, drop, &err), 0);
  hd_db_close(db);
}

/* ---- insert and get ---- */

static void test_inserted_ticket_reads_back_in_pending_response_at_version_1(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", "technical", T0);
  assert_true(id > 0);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  ticket_meta meta;
  const Helpdesk__V1__Ticket *t = get(f->db, tenant, id, a, &meta);
  assert_int_equal(t->id, id);
  assert_string_equal(t->tenant, tenant);
  assert_string_equal(t->customer_id, "cust-1");
  assert_string_equal(t->subject, "Website down");
  assert_string_equal(t->title, "Website down");
  assert_string_equal(t->description, "My site shows a 500 error since this morning.");
  assert_string_equal(t->product, "Shared Hosting Pro");
  assert_string_equal(t->brand, "WHG");
  assert_int_equal(t->service_type, HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED);
  assert_int_equal(t->issue_type, HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL);
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE);
  assert_int_equal(t->suspended_from, 0);
  assert_string_equal(t->owner_id, "");
  assert_string_equal(t->department, "technical");
  assert_int_equal(t->level, 1);
  assert_int_equal(t->category, 0);
  assert_int_equal(t->version, 1);
  assert_int_equal(t->follow_up_count, 0);
  assert_false(t->resolved);
  assert_int_equal(t->merged_into_id, 0);
  assert_int_equal(t->n_associated_ticket_ids, 0);
  assert_int_equal(t->create_time_us, T0);
  assert_int_equal(t->update_time_us, T0);
  assert_int_equal(t->due_time_us, 0);
  assert_int_equal(t->close_time_us, 0);
  assert_false(t->followed);
  assert_int_equal(meta.fence, 0);
  assert_int_equal(meta.timer_kind, TICKET_TIMER_NONE);
  assert_int_equal(meta.last_customer_reply_us, 0);
  hd_arena_free(a);
}

static void test_insert_writes_create_history_and_a_created_event(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", "billing", T0);
  assert_int_equal(
      count_rows(f->db, "SELECT COUNT(*) FROM ticket_history WHERE tenant = ?", tenant), 2);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  Helpdesk__V1__HistoryEntry **h = NULL;
  size_t n = 0;
  char *next = NULL;
  hd_err err = {0};
  assert_int_equal(ticket_query_history(f->db, tenant, id, 0, NULL, a, &h, &n, &next, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(h[0]->action, "CREATE");
  assert_string_equal(h[0]->field, "status");
  assert_string_equal(h[0]->from_value, "");
  assert_string_equal(h[0]->to_value, "PENDING_RESPONSE");
  assert_string_equal(h[0]->actor_id, "cust-1");
  assert_string_equal(h[0]->actor_role, "customer");
  assert_int_equal(h[0]->create_time_us, T0);
  assert_string_equal(h[1]->field, "department");
  assert_string_equal(h[1]->to_value, "billing");
  assert_string_equal(next, "");
  char type[64];
  char *payload = last_event(f->db, tenant, type, sizeof type);
  assert_string_equal(type, "ticket.created");
  char want[512];
  snprintf(want, sizeof want,
           "{\"event\":\"ticket.created\",\"tenant\":\"%s\",\"ticket_id\":%" PRId64
           ",\"actor_id\":\"cust-1\",\"actor_role\":\"customer\",\"time_us\":%lld,\"version\":1,"
           "\"action\":\"CREATE\",\"ticket\":{\"status\":\"PENDING_RESPONSE\",\"owner_id\":null,"
           "\"department\":\"billing\",\"customer_id\":\"cust-1\",\"category\":null,\"level\":1,"
           "\"service_type\":\"SHARED\",\"issue_type\":\"TECHNICAL\",\"create_time_us\":%lld}}",
           tenant, id, T0, T0);
  assert_string_equal(payload, want);
  free(payload);
  hd_arena_free(a);
}

static void test_ticket_of_another_tenant_is_not_found(void **state) {
  fixture *f = *state;
  char tenant[64], other[64];
  tenant_name(tenant, sizeof tenant);
  tenant_name(other, sizeof other);
  const int64_t id = insert_at(f->db, tenant, "cust-1", NULL, T0);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  Helpdesk__V1__Ticket *t = NULL;
  hd_err err = {0};
  assert_int_equal(ticket_store_get(f->db, other, id, false, a, &t, NULL, &err), -1);
  assert_int_equal(err.code, HD_NOT_FOUND);
  char want[64];
  snprintf(want, sizeof want, "ticket %" PRId64 " not found", id);
  assert_string_equal(err.msg, want);
  /* nor can it be changed from there */
  const ticket_change ch = {.action = "CLOSE", .status = TICKET_CLOSED};
  assert_int_equal(update_tx(f->db, other, id, 0, &ch, T0 + 1, NULL, NULL, &err), -1);
  assert_int_equal(err.code, HD_NOT_FOUND);
  assert_int_equal(get(f->db, tenant, id, a, NULL)->version, 1);
  hd_arena_free(a);
}

static void test_missing_ticket_is_not_found_with_its_id(void **state) {
  fixture *f = *state;
  hd_arena *a = hd_arena_new(ARENA_CAP);
  Helpdesk__V1__Ticket *t = NULL;
  hd_err err = {0};
  assert_int_equal(ticket_store_get(f->db, "nobody", 987654321, true, a, &t, NULL, &err), -1);
  assert_int_equal(err.code, HD_NOT_FOUND);
  assert_string_equal(err.msg, "ticket 987654321 not found");
  hd_arena_free(a);
}

static void test_multibyte_text_round_trips_byte_for_byte(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  /* 20,000 characters of 4-byte UTF-8 (80,000 bytes) fit the description column. */
  const size_t chars = 20000;
  char *desc = malloc(chars * 4 + 1);
  for (size_t i = 0; i < chars; i++) memcpy(desc + 4 * i, "\xf0\x9f\x98\x80", 4); /* 😀 */
  desc[chars * 4] = '\0';
  insert_args ia = {.tenant = tenant, .t = a_ticket("cust-1", NULL), .now_us = T0};
  ia.t.subject = "Ünïcödé «subject» \"quoted\" \\ back";
  ia.t.description = desc;
  hd_err err = {0};
  assert_int_equal(hd_db_tx(f->db, insert_body, &ia, 0, &err), 0);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  const Helpdesk__V1__Ticket *t = get(f->db, tenant, ia.id, a, NULL);
  assert_string_equal(t->description, desc);
  assert_string_equal(t->subject, "Ünïcödé «subject» \"quoted\" \\ back");
  char type[64];
  char *payload = last_event(f->db, tenant, type, sizeof type);
  assert_string_equal(type, "ticket.created");
  free(payload);
  free(desc);
  hd_arena_free(a);
}

/* ---- the change pipeline ---- */

static void test_update_bumps_version_and_writes_a_history_row_per_changed_field(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", "technical", T0);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  const ticket_change ch = {.action = "ASSIGN",
                            .owner_id = "agent-7",
                            .status = TICKET_PROCESSING,
                            .department = "technical" /* unchanged: no row */};
  Helpdesk__V1__Ticket *t = NULL;
  hd_err err = {0};
  assert_int_equal(update_tx(f->db, tenant, id, 1, &ch, T0 + 10, a, &t, &err), 0);
  assert_int_equal(t->version, 2);
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PROCESSING);
  assert_string_equal(t->owner_id, "agent-7");
  assert_int_equal(t->update_time_us, T0 + 10);
  assert_int_equal(t->create_time_us, T0);

  Helpdesk__V1__HistoryEntry **h = NULL;
  size_t n = 0;
  char *next = NULL;
  assert_int_equal(ticket_query_history(f->db, tenant, id, 0, NULL, a, &h, &n, &next, &err), 0);
  assert_int_equal(n, 4); /* CREATE status, CREATE department, ASSIGN status, ASSIGN owner */
  assert_string_equal(h[2]->action, "ASSIGN");
  assert_string_equal(h[2]->field, "status");
  assert_string_equal(h[2]->from_value, "PENDING_RESPONSE");
  assert_string_equal(h[2]->to_value, "PROCESSING");
  assert_string_equal(h[2]->actor_id, "agent-1");
  assert_string_equal(h[2]->actor_role, "agent");
  assert_int_equal(h[2]->create_time_us, T0 + 10);
  assert_string_equal(h[3]->field, "owner_id");
  assert_string_equal(h[3]->from_value, "");
  assert_string_equal(h[3]->to_value, "agent-7");

  char type[64];
  char *payload = last_event(f->db, tenant, type, sizeof type);
  assert_string_equal(type, "ticket.status_changed");
  char want[768];
  snprintf(want, sizeof want,
           "{\"event\":\"ticket.status_changed\",\"tenant\":\"%s\",\"ticket_id\":%" PRId64
           ",\"actor_id\":\"agent-1\",\"actor_role\":\"agent\",\"time_us\":%lld,\"version\":2,"
           "\"action\":\"ASSIGN\",\"ticket\":{\"status\":\"PROCESSING\",\"owner_id\":\"agent-7\","
           "\"department\":\"technical\",\"customer_id\":\"cust-1\",\"category\":null,\"level\":1,"
           "\"service_type\":\"SHARED\",\"issue_type\":\"TECHNICAL\"},\"changes\":{"
           "\"status\":{\"from\":\"PENDING_RESPONSE\",\"to\":\"PROCESSING\"},"
           "\"owner_id\":{\"from\":\"\",\"to\":\"agent-7\"}}}",
           tenant, id, T0 + 10);
  assert_string_equal(payload, want);
  free(payload);
  hd_arena_free(a);
}

static void test_stale_expected_version_is_aborted_naming_both_versions(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", NULL, T0);
  const ticket_change ack = {
      .action = "ACKNOWLEDGE", .status = TICKET_PROCESSING, .owner_id = "agent-1"};
  hd_err err = {0};
  assert_int_equal(update_tx(f->db, tenant, id, 1, &ack, T0 + 1, NULL, NULL, &err), 0);
  const int64_t history =
      count_rows(f->db, "SELECT COUNT(*) FROM ticket_history WHERE tenant = ?", tenant);
  const int64_t events = count_rows(f->db, "SELECT COUNT(*) FROM outbox WHERE tenant = ?", tenant);

  const ticket_change close = {.action = "CLOSE", .status = TICKET_CLOSED};
  assert_int_equal(update_tx(f->db, tenant, id, 1, &close, T0 + 2, NULL, NULL, &err), -1);
  assert_int_equal(err.code, HD_ABORTED);
  char want[128];
  snprintf(want, sizeof want,
           "ticket %" PRId64 " was changed by someone else: version is now 2, you sent 1", id);
  assert_string_equal(err.msg, want);
  /* a version from the future is just as stale */
  assert_int_equal(update_tx(f->db, tenant, id, 3, &close, T0 + 2, NULL, NULL, &err), -1);
  assert_int_equal(err.code, HD_ABORTED);

  hd_arena *a = hd_arena_new(ARENA_CAP);
  const Helpdesk__V1__Ticket *t = get(f->db, tenant, id, a, NULL);
  assert_int_equal(t->version, 2);
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PROCESSING);
  assert_int_equal(
      count_rows(f->db, "SELECT COUNT(*) FROM ticket_history WHERE tenant = ?", tenant), history);
  assert_int_equal(count_rows(f->db, "SELECT COUNT(*) FROM outbox WHERE tenant = ?", tenant),
                   events);
  hd_arena_free(a);
}

static void test_expected_version_zero_skips_the_check(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", NULL, T0);
  hd_err err = {0};
  const ticket_change ack = {
      .action = "ACKNOWLEDGE", .status = TICKET_PROCESSING, .owner_id = "agent-1"};
  assert_int_equal(update_tx(f->db, tenant, id, 0, &ack, T0 + 1, NULL, NULL, &err), 0);
  const ticket_change cat = {.action = "SET_CATEGORY",
                             .category = HELPDESK__V1__CATEGORY__CATEGORY_HARD};
  hd_arena *a = hd_arena_new(ARENA_CAP);
  Helpdesk__V1__Ticket *t = NULL;
  assert_int_equal(update_tx(f->db, tenant, id, 0, &cat, T0 + 2, a, &t, &err), 0);
  assert_int_equal(t->version, 3);
  assert_int_equal(t->category, HELPDESK__V1__CATEGORY__CATEGORY_HARD);
  char type[64];
  char *payload = last_event(f->db, tenant, type, sizeof type);
  assert_string_equal(type, "ticket.updated");
  assert_non_null(strstr(payload, "\"category\":{\"from\":\"\",\"to\":\"HARD\"}"));
  free(payload);
  hd_arena_free(a);
}

static void test_fence_must_be_greater_than_every_fence_that_wrote_the_ticket(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", NULL, T0);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  const ticket_change claim5 = {.action = "ASSIGN", .owner_id = "agent-5", .fence = 5};
  assert_int_equal(update_tx(f->db, tenant, id, 0, &claim5, T0 + 1, NULL, NULL, &err), 0);
  ticket_meta meta;
  get(f->db, tenant, id, a, &meta);
  assert_int_equal(meta.fence, 5);

  const ticket_change again5 = {.action = "ASSIGN", .owner_id = "agent-6", .fence = 5};
  assert_int_equal(update_tx(f->db, tenant, id, 0, &again5, T0 + 2, NULL, NULL, &err), -1);
  assert_int_equal(err.code, HD_ABORTED);
  char want[128];
  snprintf(want, sizeof want,
           "ticket %" PRId64 " was written by a newer claim: fence 5 is not greater than 5", id);
  assert_string_equal(err.msg, want);
  const ticket_change older4 = {.action = "ASSIGN", .owner_id = "agent-4", .fence = 4};
  assert_int_equal(update_tx(f->db, tenant, id, 0, &older4, T0 + 2, NULL, NULL, &err), -1);
  assert_int_equal(err.code, HD_ABORTED);
  assert_string_equal(get(f->db, tenant, id, a, NULL)->owner_id, "agent-5");

  const ticket_change newer6 = {.action = "ASSIGN", .owner_id = "agent-6", .fence = 6};
  Helpdesk__V1__Ticket *t = NULL;
  assert_int_equal(update_tx(f->db, tenant, id, 0, &newer6, T0 + 3, a, &t, &err), 0);
  assert_string_equal(t->owner_id, "agent-6");
  get(f->db, tenant, id, a, &meta);
  assert_int_equal(meta.fence, 6);
  char type[64];
  char *payload = last_event(f->db, tenant, type, sizeof type);
  assert_string_equal(type, "ticket.owner_changed");
  free(payload);
  /* an unfenced write (a supervisor's assignment) leaves the fence where it is */
  const ticket_change plain = {.action = "TRANSFER", .owner_id = "agent-9"};
  assert_int_equal(update_tx(f->db, tenant, id, 0, &plain, T0 + 4, NULL, NULL, &err), 0);
  get(f->db, tenant, id, a, &meta);
  assert_int_equal(meta.fence, 6);
  hd_arena_free(a);
}

static void test_rollback_leaves_no_ticket_history_or_event(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  insert_args ia = {
      .tenant = tenant, .t = a_ticket("cust-1", "dept"), .now_us = T0, .fail_after = true};
  hd_err err = {0};
  assert_int_equal(hd_db_tx(f->db, insert_body, &ia, 0, &err), -1);
  assert_string_equal(err.msg, "test: roll back");
  assert_int_equal(count_rows(f->db, "SELECT COUNT(*) FROM tickets WHERE tenant = ?", tenant), 0);
  assert_int_equal(
      count_rows(f->db, "SELECT COUNT(*) FROM ticket_history WHERE tenant = ?", tenant), 0);
  assert_int_equal(count_rows(f->db, "SELECT COUNT(*) FROM outbox WHERE tenant = ?", tenant), 0);

  const int64_t id = insert_at(f->db, tenant, "cust-1", NULL, T0);
  const int64_t history =
      count_rows(f->db, "SELECT COUNT(*) FROM ticket_history WHERE tenant = ?", tenant);
  const int64_t events = count_rows(f->db, "SELECT COUNT(*) FROM outbox WHERE tenant = ?", tenant);
  const ticket_change ch = {
      .action = "ACKNOWLEDGE", .status = TICKET_PROCESSING, .owner_id = "agent-1"};
  update_args ua = {
      .tenant = tenant, .id = id, .change = &ch, .now_us = T0 + 5, .fail_after = true};
  assert_int_equal(hd_db_tx(f->db, update_body, &ua, 0, &err), -1);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  const Helpdesk__V1__Ticket *t = get(f->db, tenant, id, a, NULL);
  assert_int_equal(t->version, 1);
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE);
  assert_string_equal(t->owner_id, "");
  assert_int_equal(
      count_rows(f->db, "SELECT COUNT(*) FROM ticket_history WHERE tenant = ?", tenant), history);
  assert_int_equal(count_rows(f->db, "SELECT COUNT(*) FROM outbox WHERE tenant = ?", tenant),
                   events);
  hd_arena_free(a);
}

static void test_closing_stamps_close_time_and_clears_the_timer_and_restart_undoes_it(
    void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", NULL, T0);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  const int64_t due = T0 + 3LL * 24 * 3600 * 1000000;
  const ticket_change final = {.action = "FINAL_ANSWER",
                               .status = TICKET_TO_BE_CONFIRMED,
                               .resolved = TICKET_SET(1),
                               .owner_id = "agent-1",
                               .timer = TICKET_TIMER_SET(TICKET_TIMER_AUTO_CLOSE, due)};
  Helpdesk__V1__Ticket *t = NULL;
  assert_int_equal(update_tx(f->db, tenant, id, 1, &final, T0 + 1, a, &t, &err), 0);
  assert_int_equal(t->due_time_us, due);
  assert_true(t->resolved);
  ticket_meta meta;
  get(f->db, tenant, id, a, &meta);
  assert_int_equal(meta.timer_kind, TICKET_TIMER_AUTO_CLOSE);
  assert_int_equal(meta.timer_due_us, due);

  const ticket_change close = {.action = "AUTO_CLOSE", .status = TICKET_CLOSED};
  assert_int_equal(update_tx(f->db, tenant, id, 2, &close, due, a, &t, &err), 0);
  assert_int_equal(t->close_time_us, due);
  assert_int_equal(t->due_time_us, 0);
  get(f->db, tenant, id, a, &meta);
  assert_int_equal(meta.timer_kind, TICKET_TIMER_NONE);

  const ticket_change restart = {.action = "RESTART", .status = TICKET_PROCESSING};
  assert_int_equal(update_tx(f->db, tenant, id, 3, &restart, due + 1, a, &t, &err), 0);
  assert_int_equal(t->close_time_us, 0);
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PROCESSING);
  assert_int_equal(t->version, 4);
  hd_arena_free(a);
}

static void test_suspend_and_resume_keep_and_clear_suspended_from(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", NULL, T0);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  const ticket_change suspend = {.action = "SUSPEND",
                                 .status = TICKET_SUSPENDED,
                                 .suspended_from = TICKET_SET(TICKET_PENDING_RESPONSE)};
  Helpdesk__V1__Ticket *t = NULL;
  assert_int_equal(update_tx(f->db, tenant, id, 0, &suspend, T0 + 1, a, &t, &err), 0);
  assert_int_equal(t->suspended_from, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE);
  const ticket_change resume = {.action = "RESUME",
                                .status = TICKET_PENDING_RESPONSE,
                                .suspended_from = TICKET_SET(TICKET_STATUS_NONE)};
  assert_int_equal(update_tx(f->db, tenant, id, 0, &resume, T0 + 2, a, &t, &err), 0);
  assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE);
  assert_int_equal(t->suspended_from, 0);
  Helpdesk__V1__HistoryEntry **h = NULL;
  size_t n = 0;
  char *next = NULL;
  assert_int_equal(ticket_query_history(f->db, tenant, id, 0, NULL, a, &h, &n, &next, &err), 0);
  assert_int_equal(n,
                   5); /* CREATE; SUSPEND status + suspended_from; RESUME status + suspended_from */
  assert_string_equal(h[4]->field, "suspended_from");
  assert_string_equal(h[4]->from_value, "PENDING_RESPONSE");
  assert_string_equal(h[4]->to_value, "");
  hd_arena_free(a);
}

static void test_change_without_audited_fields_bumps_version_and_writes_no_event(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", NULL, T0);
  const int64_t events = count_rows(f->db, "SELECT COUNT(*) FROM outbox WHERE tenant = ?", tenant);
  const int64_t history =
      count_rows(f->db, "SELECT COUNT(*) FROM ticket_history WHERE tenant = ?", tenant);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  const ticket_change touch = {.action = "ADD_COMMENT",
                               .last_customer_reply_us = TICKET_SET(T0 + 7)};
  Helpdesk__V1__Ticket *t = NULL;
  assert_int_equal(update_tx(f->db, tenant, id, 1, &touch, T0 + 7, a, &t, &err), 0);
  assert_int_equal(t->version, 2);
  assert_int_equal(t->update_time_us, T0 + 7);
  ticket_meta meta;
  get(f->db, tenant, id, a, &meta);
  assert_int_equal(meta.last_customer_reply_us, T0 + 7);
  assert_int_equal(count_rows(f->db, "SELECT COUNT(*) FROM outbox WHERE tenant = ?", tenant),
                   events);
  assert_int_equal(
      count_rows(f->db, "SELECT COUNT(*) FROM ticket_history WHERE tenant = ?", tenant), history);
  hd_arena_free(a);
}

static void test_explicit_event_type_and_extra_fields_reach_the_payload_escaped(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", NULL, T0);
  hd_err err = {0};
  const ticket_event_field extra[] = {TICKET_EV_INT("comment_id", 77),
                                      TICKET_EV_STR("note", "a \"b\"\n")};
  const ticket_change ch = {.action = "UPGRADE",
                            .event_type = TICKET_EVENT_ESCALATED,
                            .level = TICKET_SET(2),
                            .title = "[Upgraded L2] Website down",
                            .event_fields = extra,
                            .n_event_fields = 2};
  assert_int_equal(update_tx(f->db, tenant, id, 1, &ch, T0 + 1, NULL, NULL, &err), 0);
  char type[64];
  char *payload = last_event(f->db, tenant, type, sizeof type);
  assert_string_equal(type, "ticket.escalated");
  assert_non_null(strstr(
      payload,
      "\"changes\":{\"title\":{\"from\":\"Website down\",\"to\":\"[Upgraded L2] Website down\"},"
      "\"level\":{\"from\":\"1\",\"to\":\"2\"}}"));
  assert_non_null(strstr(payload, ",\"comment_id\":77,\"note\":\"a \\\"b\\\"\\n\"}"));
  free(payload);
}

static void test_history_append_and_event_record_what_is_not_a_column(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", NULL, T0);
  hd_err err = {0};
  assert_int_equal(ticket_store_history_append(f->db, tenant, id, &AGENT, "ADD_COMMENT", "comment",
                                               NULL, "12", T0 + 1, &err),
                   0);
  const ticket_event_field fields[] = {TICKET_EV_INT("comment_id", 12)};
  assert_int_equal(ticket_store_event(f->db, tenant, id, TICKET_EVENT_COMMENTED, &AGENT, T0 + 1,
                                      fields, 1, &err),
                   0);
  char type[64];
  char *payload = last_event(f->db, tenant, type, sizeof type);
  assert_string_equal(type, "ticket.commented");
  char want[256];
  snprintf(want, sizeof want,
           "{\"event\":\"ticket.commented\",\"tenant\":\"%s\",\"ticket_id\":%" PRId64
           ",\"actor_id\":\"agent-1\",\"actor_role\":\"agent\",\"time_us\":%lld,\"comment_id\":12}",
           tenant, id, T0 + 1);
  assert_string_equal(payload, want);
  free(payload);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  Helpdesk__V1__HistoryEntry **h = NULL;
  size_t n = 0;
  char *next = NULL;
  assert_int_equal(ticket_query_history(f->db, tenant, id, 0, NULL, a, &h, &n, &next, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(h[1]->field, "comment");
  assert_string_equal(h[1]->to_value, "12");
  hd_arena_free(a);
}

static void test_merged_tickets_are_listed_as_associated_on_the_target(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t target = insert_at(f->db, tenant, "cust-1", NULL, T0);
  const int64_t s1 = insert_at(f->db, tenant, "cust-1", NULL, T0 + 1);
  const int64_t s2 = insert_at(f->db, tenant, "cust-1", NULL, T0 + 2);
  hd_err err = {0};
  const int64_t sources[] = {s2, s1};
  for (size_t i = 0; i < 2; i++) {
    const ticket_change ch = {.action = "MERGE",
                              .event_type = TICKET_EVENT_MERGED,
                              .status = TICKET_CLOSED,
                              .merged_into_id = TICKET_SET(target)};
    assert_int_equal(update_tx(f->db, tenant, sources[i], 0, &ch, T0 + 5, NULL, NULL, &err), 0);
  }
  hd_arena *a = hd_arena_new(ARENA_CAP);
  const Helpdesk__V1__Ticket *t = get(f->db, tenant, target, a, NULL);
  assert_int_equal(t->n_associated_ticket_ids, 2);
  assert_int_equal(t->associated_ticket_ids[0], s1);
  assert_int_equal(t->associated_ticket_ids[1], s2);
  const Helpdesk__V1__Ticket *src = get(f->db, tenant, s1, a, NULL);
  assert_int_equal(src->merged_into_id, target);
  assert_int_equal(src->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
  assert_int_equal(src->close_time_us, T0 + 5);
  hd_arena_free(a);
}

/* Several connections race to change the same version: exactly one wins. */
typedef struct race_arg {
  const char *dbname;
  const char *tenant;
  int64_t id;
  int rc;
  hd_code code;
} race_arg;

static void *race_thread(void *p) {
  race_arg *r = p;
  hd_db_config cfg;
  hd_test_db_config(&cfg, r->dbname);
  hd_db *db = NULL;
  hd_err err = {0};
  r->rc = -2;
  if (hd_db_new(&cfg, &db, &err) != 0) return NULL;
  const ticket_change ch = {.action = "ASSIGN", .owner_id = "racer"};
  r->rc = update_tx(db, r->tenant, r->id, 1, &ch, T0 + 1, NULL, NULL, &err);
  r->code = err.code;
  hd_db_close(db);
  return NULL;
}

static void test_concurrent_changes_from_the_same_version_have_exactly_one_winner(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "cust-1", NULL, T0);
  enum { N = 6 };
  pthread_t th[N];
  race_arg args[N];
  for (int i = 0; i < N; i++) {
    args[i] = (race_arg){.dbname = f->dbname, .tenant = tenant, .id = id};
    assert_int_equal(pthread_create(&th[i], NULL, race_thread, &args[i]), 0);
  }
  int wins = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    if (args[i].rc == 0)
      wins++;
    else
      assert_int_equal(args[i].code, HD_ABORTED);
  }
  assert_int_equal(wins, 1);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  assert_int_equal(get(f->db, tenant, id, a, NULL)->version, 2);
  hd_arena_free(a);
  assert_int_equal(
      count_rows(f->db,
                 "SELECT COUNT(*) FROM ticket_history WHERE tenant = ? AND action = 'ASSIGN'",
                 tenant),
      1);
}

/* ---- lists ---- */

/* Seven tickets; created times with ties so the id breaks them. */
static void seed_list(hd_db *db, const char *tenant, int64_t ids[7]) {
  static const int64_t created[7] = {T0 + 30, T0 + 10, T0 + 20, T0 + 10, T0 + 40, T0 + 20, T0 + 10};
  static const char *const customers[7] = {"c1", "c2", "c1", "c3", "c1", "c2", "c1"};
  static const char *const departments[7] = {"tech", "billing", "tech", NULL,
                                             "tech", "billing", NULL};
  for (int i = 0; i < 7; i++)
    ids[i] = insert_at(db, tenant, customers[i], departments[i], created[i]);
}

/* The order by (created, id) of the seeded tickets. */
static void seeded_order(const int64_t ids[7], int64_t out[7]) {
  /* created: 1,3,6 at +10; 2,5 at +20; 0 at +30; 4 at +40 — ids grow with i */
  const int order[7] = {1, 3, 6, 2, 5, 0, 4};
  for (int i = 0; i < 7; i++) out[i] = ids[order[i]];
}

static void test_list_pages_oldest_first_by_created_time_then_id(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  int64_t ids[7], want[7];
  seed_list(f->db, tenant, ids);
  seeded_order(ids, want);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  ticket_list_query q = {.page_size = 3};
  size_t seen = 0;
  int pages = 0;
  for (;;) {
    ticket_page page;
    assert_int_equal(ticket_query_list(f->db, tenant, &q, a, &page, &err), 0);
    pages++;
    for (size_t i = 0; i < page.n; i++) {
      assert_true(seen < 7);
      assert_int_equal(page.tickets[i]->id, want[seen++]);
      assert_string_equal(page.tickets[i]->description, "");
    }
    if (!*page.next_page_token) break;
    q.page_token = page.next_page_token;
  }
  assert_int_equal(seen, 7);
  assert_int_equal(pages, 3);
  hd_arena_free(a);
}

static void test_list_newest_first_is_the_exact_reverse(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  int64_t ids[7], want[7];
  seed_list(f->db, tenant, ids);
  seeded_order(ids, want);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  ticket_list_query q = {.page_size = 2, .newest_first = true};
  size_t seen = 0;
  for (;;) {
    ticket_page page;
    assert_int_equal(ticket_query_list(f->db, tenant, &q, a, &page, &err), 0);
    for (size_t i = 0; i < page.n; i++) assert_int_equal(page.tickets[i]->id, want[6 - seen++]);
    if (!*page.next_page_token) break;
    q.page_token = page.next_page_token;
  }
  assert_int_equal(seen, 7);
  hd_arena_free(a);
}

static void test_list_page_exactly_full_has_no_next_token(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  int64_t ids[7];
  seed_list(f->db, tenant, ids);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  ticket_page page;
  ticket_list_query q = {.page_size = 7};
  assert_int_equal(ticket_query_list(f->db, tenant, &q, a, &page, &err), 0);
  assert_int_equal(page.n, 7);
  assert_string_equal(page.next_page_token, "");
  q.page_size = 6;
  assert_int_equal(ticket_query_list(f->db, tenant, &q, a, &page, &err), 0);
  assert_int_equal(page.n, 6);
  assert_string_not_equal(page.next_page_token, "");
  hd_arena_free(a);
}

static size_t list_count(hd_db *db, const char *tenant, const ticket_list_query *q, hd_arena *a) {
  ticket_page page;
  hd_err err = {0};
  if (ticket_query_list(db, tenant, q, a, &page, &err) != 0) fail_msg("list: %s", err.msg);
  return page.n;
}

static void test_list_filters_by_status_owner_department_and_customer(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  int64_t ids[7];
  seed_list(f->db, tenant, ids);
  hd_err err = {0};
  const ticket_change mine = {
      .action = "ASSIGN", .owner_id = "agent-x", .status = TICKET_PROCESSING};
  assert_int_equal(update_tx(f->db, tenant, ids[0], 0, &mine, T0 + 50, NULL, NULL, &err), 0);
  assert_int_equal(update_tx(f->db, tenant, ids[3], 0, &mine, T0 + 50, NULL, NULL, &err), 0);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  assert_int_equal(list_count(f->db, tenant, &(ticket_list_query){.status = TICKET_PROCESSING}, a),
                   2);
  assert_int_equal(
      list_count(f->db, tenant, &(ticket_list_query){.status = TICKET_PENDING_RESPONSE}, a), 5);
  assert_int_equal(list_count(f->db, tenant, &(ticket_list_query){.owner_id = "agent-x"}, a), 2);
  assert_int_equal(list_count(f->db, tenant, &(ticket_list_query){.department = "tech"}, a), 3);
  assert_int_equal(list_count(f->db, tenant, &(ticket_list_query){.customer_id = "c1"}, a), 4);
  assert_int_equal(list_count(f->db, tenant,
                              &(ticket_list_query){.customer_id = "c1",
                                                   .department = "tech",
                                                   .status = TICKET_PROCESSING,
                                                   .owner_id = "agent-x"},
                              a),
                   1);
  assert_int_equal(list_count(f->db, tenant, &(ticket_list_query){.customer_id = "nobody"}, a), 0);
  assert_int_equal(
      list_count(f->db, tenant, &(ticket_list_query){.owner_id = "", .department = ""}, a), 7);
  hd_arena_free(a);
}

static void test_list_token_with_other_filters_or_order_is_invalid_argument(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  int64_t ids[7];
  seed_list(f->db, tenant, ids);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  ticket_page page;
  ticket_list_query q = {.page_size = 2, .customer_id = "c1"};
  assert_int_equal(ticket_query_list(f->db, tenant, &q, a, &page, &err), 0);
  q.page_token = page.next_page_token;
  q.customer_id = "c2";
  assert_int_equal(ticket_query_list(f->db, tenant, &q, a, &page, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "another listing"));
  q.customer_id = "c1";
  q.newest_first = true;
  assert_int_equal(ticket_query_list(f->db, tenant, &q, a, &page, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  q.newest_first = false;
  char other[64];
  tenant_name(other, sizeof other);
  assert_int_equal(ticket_query_list(f->db, other, &q, a, &page, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  q.page_token = "not-a-token";
  assert_int_equal(ticket_query_list(f->db, tenant, &q, a, &page, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "malformed"));
  hd_arena_free(a);
}

static void test_list_page_size_past_500_is_invalid_argument(void **state) {
  fixture *f = *state;
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  ticket_page page;
  assert_int_equal(
      ticket_query_list(f->db, "t", &(ticket_list_query){.page_size = 500}, a, &page, &err), 0);
  assert_int_equal(
      ticket_query_list(f->db, "t", &(ticket_list_query){.page_size = 501}, a, &page, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(
      ticket_query_list(f->db, "t", &(ticket_list_query){.page_size = -1}, a, &page, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  hd_arena_free(a);
}

static void test_list_only_shows_the_callers_tenant(void **state) {
  fixture *f = *state;
  char t1[64], t2[64];
  tenant_name(t1, sizeof t1);
  tenant_name(t2, sizeof t2);
  insert_at(f->db, t1, "c1", NULL, T0);
  insert_at(f->db, t1, "c1", NULL, T0 + 1);
  const int64_t other = insert_at(f->db, t2, "c1", NULL, T0 + 2);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  ticket_page page;
  assert_int_equal(ticket_query_list(f->db, t1, &(ticket_list_query){0}, a, &page, &err), 0);
  assert_int_equal(page.n, 2);
  for (size_t i = 0; i < page.n; i++) {
    assert_string_equal(page.tickets[i]->tenant, t1);
    assert_true(page.tickets[i]->id != other);
  }
  assert_int_equal(ticket_query_list(f->db, t2, &(ticket_list_query){0}, a, &page, &err), 0);
  assert_int_equal(page.n, 1);
  assert_int_equal(page.tickets[0]->id, other);
  hd_arena_free(a);
}

static void test_list_and_followed_mark_the_viewers_follows(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t a1 = insert_at(f->db, tenant, "c1", NULL, T0);
  const int64_t a2 = insert_at(f->db, tenant, "c1", NULL, T0 + 1);
  hd_err err = {0};
  const hd_db_param p[] = {hd_db_int(a2), hd_db_text("agent-f"), hd_db_text(tenant), hd_db_int(T0)};
  assert_int_equal(
      hd_db_exec(
          f->db,
          "INSERT INTO follows (ticket_id, agent_id, tenant, created_at_us) VALUES (?, ?, ?, ?)", p,
          4, NULL, NULL, &err),
      0);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  ticket_page page;
  assert_int_equal(ticket_query_list(f->db, tenant, &(ticket_list_query){.viewer_id = "agent-f"}, a,
                                     &page, &err),
                   0);
  assert_int_equal(page.n, 2);
  assert_int_equal(page.tickets[0]->id, a1);
  assert_false(page.tickets[0]->followed);
  assert_true(page.tickets[1]->followed);
  assert_int_equal(ticket_query_list(f->db, tenant, &(ticket_list_query){.viewer_id = "agent-g"}, a,
                                     &page, &err),
                   0);
  assert_false(page.tickets[1]->followed);
  Helpdesk__V1__Ticket t1 = HELPDESK__V1__TICKET__INIT, t2 = HELPDESK__V1__TICKET__INIT,
                       elsewhere = HELPDESK__V1__TICKET__INIT;
  t1.tenant = t2.tenant = tenant;
  t1.id = a1;
  t2.id = a2;
  elsewhere.tenant = "other-tenant";
  elsewhere.id = a2;
  assert_int_equal(
      ticket_store_mark_followed(f->db, &t2, TICKET_FOLLOWERS_UNKNOWN, "agent-f", &err), 0);
  assert_true(t2.followed);
  assert_int_equal(
      ticket_store_mark_followed(f->db, &t1, TICKET_FOLLOWERS_UNKNOWN, "agent-f", &err), 0);
  assert_false(t1.followed);
  assert_int_equal(
      ticket_store_mark_followed(f->db, &elsewhere, TICKET_FOLLOWERS_UNKNOWN, "agent-f", &err), 0);
  assert_false(elsewhere.followed);
  /* A count of 0 is taken at its word: nothing is read (the row above was written behind the
   * count's back, which FollowTicket never does). */
  assert_int_equal(ticket_store_mark_followed(f->db, &t2, 0, "agent-f", &err), 0);
  assert_false(t2.followed);
  hd_arena_free(a);
}

static void test_history_pages_oldest_first(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  const int64_t id = insert_at(f->db, tenant, "c1", NULL, T0);
  hd_err err = {0};
  for (int i = 1; i <= 4; i++) {
    const ticket_change ch = {.action = "FOLLOW_UP", .follow_up_count = TICKET_SET(i)};
    assert_int_equal(update_tx(f->db, tenant, id, 0, &ch, T0 + i, NULL, NULL, &err), 0);
  }
  hd_arena *a = hd_arena_new(ARENA_CAP);
  Helpdesk__V1__HistoryEntry **h = NULL;
  size_t n = 0;
  char *next = NULL;
  assert_int_equal(ticket_query_history(f->db, tenant, id, 2, NULL, a, &h, &n, &next, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(h[0]->action, "CREATE");
  assert_string_equal(h[1]->to_value, "1");
  assert_string_not_equal(next, "");
  assert_int_equal(ticket_query_history(f->db, tenant, id, 2, next, a, &h, &n, &next, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(h[0]->from_value, "1");
  assert_string_equal(h[0]->to_value, "2");
  assert_string_equal(h[1]->to_value, "3");
  assert_int_equal(ticket_query_history(f->db, tenant, id, 2, next, a, &h, &n, &next, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(h[0]->to_value, "4");
  assert_string_equal(next, "");
  /* a token of another ticket's history does not continue this one */
  char *tok = NULL;
  assert_int_equal(ticket_query_history(f->db, tenant, id, 1, NULL, a, &h, &n, &tok, &err), 0);
  assert_int_equal(ticket_query_history(f->db, tenant, id + 1, 1, tok, a, &h, &n, &next, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  hd_arena_free(a);
}

/* ---- timers ---- */

typedef struct due_args {
  const char *dbname;
  int64_t now_us;
  hd_arena *arena;
  ticket_due *due;
  size_t n;
  ticket_due *other_due; /* what a second connection takes meanwhile */
  size_t other_n;
} due_args;

static int other_take_body(hd_db *db, void *arg, hd_err *err) {
  due_args *a = arg;
  return ticket_store_take_due(db, a->now_us, 10, a->arena, &a->other_due, &a->other_n, err);
}

/* Takes the due tickets, and while holding them lets a second connection take what is left. */
static int take_due_body(hd_db *db, void *arg, hd_err *err) {
  due_args *a = arg;
  if (ticket_store_take_due(db, a->now_us, 2, a->arena, &a->due, &a->n, err) != 0) return -1;
  if (!a->dbname) return 0;
  hd_db_config cfg;
  hd_test_db_config(&cfg, a->dbname);
  hd_db *other = NULL;
  int rc = hd_db_new(&cfg, &other, err);
  if (rc == 0) rc = hd_db_tx(other, other_take_body, a, 0, err);
  hd_db_close(other);
  return rc;
}

static void test_due_timers_are_taken_earliest_first_and_skipped_while_locked(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  /* Far in the past so that other tests' tickets (no timers, or due later) do not interfere. */
  const int64_t base = 1000;
  int64_t ids[4];
  for (int i = 0; i < 4; i++) ids[i] = insert_at(f->db, tenant, "c1", NULL, T0 + i);
  hd_err err = {0};
  const ticket_timer timers[4] = {TICKET_TIMER_SET(TICKET_TIMER_AUTO_CLOSE, base + 30),
                                  TICKET_TIMER_SET(TICKET_TIMER_FOLLOW_UP, base + 10),
                                  TICKET_TIMER_SET(TICKET_TIMER_AUTO_CLOSE, base + 20),
                                  TICKET_TIMER_SET(TICKET_TIMER_FOLLOW_UP, base + 99)};
  for (int i = 0; i < 4; i++) {
    const ticket_change ch = {.action = "SET_TIMER", .timer = timers[i]};
    assert_int_equal(update_tx(f->db, tenant, ids[i], 0, &ch, T0 + 10, NULL, NULL, &err), 0);
  }
  hd_arena *a = hd_arena_new(ARENA_CAP);
  due_args d = {.dbname = f->dbname, .now_us = base + 30, .arena = a};
  assert_int_equal(hd_db_tx(f->db, take_due_body, &d, 0, &err), 0);
  assert_int_equal(d.n, 2);
  assert_int_equal(d.due[0].id, ids[1]);
  assert_int_equal(d.due[0].kind, TICKET_TIMER_FOLLOW_UP);
  assert_int_equal(d.due[0].due_us, base + 10);
  assert_string_equal(d.due[0].tenant, tenant);
  assert_int_equal(d.due[1].id, ids[2]);
  assert_int_equal(d.due[1].kind, TICKET_TIMER_AUTO_CLOSE);
  /* the other connection skipped the two locked rows and got the last due one (due at +30) */
  assert_int_equal(d.other_n, 1);
  assert_int_equal(d.other_due[0].id, ids[0]);

  /* the exact due time counts; one microsecond earlier it does not */
  due_args early = {.now_us = base + 9, .arena = a};
  assert_int_equal(hd_db_tx(f->db, take_due_body, &early, 0, &err), 0);
  assert_int_equal(early.n, 0);
  due_args edge = {.now_us = base + 10, .arena = a};
  assert_int_equal(hd_db_tx(f->db, take_due_body, &edge, 0, &err), 0);
  assert_int_equal(edge.n, 1);

  /* a cleared timer is no longer due */
  const ticket_change clear = {.action = "CUSTOMER_REPLY", .timer = TICKET_TIMER_CLEAR};
  assert_int_equal(update_tx(f->db, tenant, ids[1], 0, &clear, T0 + 20, NULL, NULL, &err), 0);
  assert_int_equal(hd_db_tx(f->db, take_due_body, &edge, 0, &err), 0);
  assert_int_equal(edge.n, 0);
  ticket_due *none = NULL;
  size_t n = 0;
  assert_int_equal(ticket_store_take_due(f->db, base, 0, a, &none, &n, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  hd_arena_free(a);
}

/* ---- idempotency keys ---- */

static void test_idempotency_key_is_claimed_once_until_it_expires(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  hd_err err = {0};
  char hash[HD_IDEM_HASH_SIZE], other_hash[HD_IDEM_HASH_SIZE];
  assert_int_equal(hd_idem_sha256_hex("request", 7, hash, &err), 0);
  assert_int_equal(hd_idem_sha256_hex("another", 7, other_hash, &err), 0);
  assert_int_equal(strlen(hash), 64);
  const hd_idem_key k1 = {
      .tenant = tenant, .caller_id = "cust-1", .key = "k1", .result_kind = "ticket"};
  int64_t seen = -1;
  assert_int_equal(hd_idem_claim(f->db, &k1, hash, T0, &seen, &err), 0);
  assert_int_equal(seen, 0); /* claimed */
  assert_int_equal(hd_idem_set_result(f->db, &k1, 42, &err), 0);
  /* the same key again: the first request's result comes back; another request is refused */
  assert_int_equal(hd_idem_claim(f->db, &k1, hash, T0 + 5, &seen, &err), 0);
  assert_int_equal(seen, 42);
  assert_int_equal(hd_idem_claim(f->db, &k1, other_hash, T0 + 5, &seen, &err), -1);
  assert_int_equal(err.code, HD_ALREADY_EXISTS);
  assert_string_equal(err.msg,
                      "idempotency_key 'k1' was already used for a different request (ticket 42); "
                      "use a new key for a new ticket");
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT COUNT(*) FROM idempotency_keys WHERE tenant = ? AND created_at_us = %lld "
           "AND result_id = 42 AND request_hash = '%s'",
           T0, hash);
  assert_int_equal(count_rows(f->db, sql, tenant), 1);
  /* the same key of another caller or tenant is another key */
  const hd_idem_key other_caller = {.tenant = tenant, .caller_id = "cust-2", .key = "k1"};
  const hd_idem_key other_tenant = {.tenant = "other", .caller_id = "cust-1", .key = "k1"};
  assert_int_equal(hd_idem_claim(f->db, &other_caller, hash, T0, &seen, &err), 0);
  assert_int_equal(seen, 0);
  assert_int_equal(hd_idem_claim(f->db, &other_tenant, hash, T0, &seen, &err), 0);
  assert_int_equal(seen, 0);
  /* at the end of the window the key still holds; one microsecond past it the old row has
   * expired: replaced and claimed anew */
  assert_int_equal(hd_idem_claim(f->db, &k1, other_hash, T0 + HD_IDEM_WINDOW_US, &seen, &err), -1);
  assert_int_equal(err.code, HD_ALREADY_EXISTS);
  assert_int_equal(hd_idem_claim(f->db, &k1, other_hash, T0 + HD_IDEM_WINDOW_US + 1, &seen, &err),
                   0);
  assert_int_equal(seen, 0);
  assert_int_equal(hd_idem_set_result(f->db, &k1, 43, &err), 0);
  assert_int_equal(hd_idem_claim(f->db, &k1, other_hash, T0 + HD_IDEM_WINDOW_US + 2, &seen, &err),
                   0);
  assert_int_equal(seen, 43);
  assert_int_equal(hd_idem_claim(f->db, &k1, hash, T0 + HD_IDEM_WINDOW_US + 2, &seen, &err), -1);
  assert_non_null(strstr(err.msg, "(ticket 43)"));
  const hd_idem_key never = {.tenant = tenant, .caller_id = "cust-1", .key = "never"};
  assert_int_equal(hd_idem_set_result(f->db, &never, 1, &err), -1);
  assert_int_equal(err.code, HD_NOT_FOUND);
}

/* CreateTicket's pattern: look the key up, else insert the ticket and the key, in one tx. */
typedef struct idem_race {
  const char *dbname;
  const char *tenant;
  int64_t ticket_id;
  int rc;
  char msg[HD_ERR_MSG_MAX];
} idem_race;

static int idem_create_body(hd_db *db, void *arg, hd_err *err) {
  idem_race *r = arg;
  const hd_idem_key k = {.tenant = r->tenant, .caller_id = "cust-1", .key = "key-1"};
  char hash[HD_IDEM_HASH_SIZE];
  if (hd_idem_sha256_hex("same request", 12, hash, err) != 0) return -1;
  r->ticket_id = 0;
  if (hd_idem_claim(db, &k, hash, T0, &r->ticket_id, err) != 0) return -1;
  if (r->ticket_id > 0) return 0;
  const ticket_new t = a_ticket("cust-1", NULL);
  if (ticket_store_insert(db, r->tenant, &t, T0, &CUSTOMER, &r->ticket_id, err) != 0) return -1;
  return hd_idem_set_result(db, &k, r->ticket_id, err);
}

static void *idem_thread(void *p) {
  idem_race *r = p;
  hd_db_config cfg;
  hd_test_db_config(&cfg, r->dbname);
  hd_db *db = NULL;
  hd_err err = {0};
  r->rc = hd_db_new(&cfg, &db, &err);
  if (r->rc == 0) r->rc = hd_db_tx(db, idem_create_body, r, 0, &err);
  snprintf(r->msg, sizeof r->msg, "%s", err.msg);
  hd_db_close(db);
  return NULL;
}

static void test_concurrent_first_uses_of_a_key_create_exactly_one_ticket(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  enum { N = 8 };
  pthread_t th[N];
  idem_race r[N];
  for (int i = 0; i < N; i++) {
    r[i] = (idem_race){.dbname = f->dbname, .tenant = tenant};
    assert_int_equal(pthread_create(&th[i], NULL, idem_thread, &r[i]), 0);
  }
  for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < N; i++) {
    if (r[i].rc != 0) fail_msg("caller %d failed: %s", i, r[i].msg);
    assert_int_equal(r[i].ticket_id, r[0].ticket_id);
  }
  assert_int_equal(count_rows(f->db, "SELECT COUNT(*) FROM tickets WHERE tenant = ?", tenant), 1);
  assert_int_equal(count_rows(f->db, "SELECT COUNT(*) FROM outbox WHERE tenant = ?", tenant), 1);
}

static void test_idempotency_purge_deletes_only_expired_keys(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  hd_err err = {0};
  char hash[HD_IDEM_HASH_SIZE];
  assert_int_equal(hd_idem_sha256_hex("", 0, hash, &err), 0);
  assert_string_equal(hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  /* far in the past, so other tests' keys are not touched */
  int64_t seen = 0;
  const char *keys[] = {"old1", "old2", "new"};
  const int64_t at[] = {1000, 1001, 2000};
  for (size_t i = 0; i < 3; i++) {
    const hd_idem_key k = {.tenant = tenant, .caller_id = "c", .key = keys[i]};
    assert_int_equal(hd_idem_claim(f->db, &k, hash, at[i], &seen, &err), 0);
    assert_int_equal(seen, 0);
  }
  uint64_t deleted = 0;
  assert_int_equal(hd_idem_purge(f->db, 2000 + HD_IDEM_WINDOW_US, 100, &deleted, &err), 0);
  assert_int_equal(deleted, 2);
  assert_int_equal(
      count_rows(f->db, "SELECT COUNT(*) FROM idempotency_keys WHERE tenant = ?", tenant), 1);
}

/* The ticket an update hands back is built from the locked row and the columns written, not read
 * again: it must equal a fresh read byte for byte, after changes that touch every column kind
 * (status, owner, department, title, level, category, counters, flags, timer, close time), and
 * for a merge target whose sources were merged in the same transaction. */
static void packed_equal(const Helpdesk__V1__Ticket *x, const Helpdesk__V1__Ticket *y) {
  const size_t nx = protobuf_c_message_get_packed_size(&x->base);
  const size_t ny = protobuf_c_message_get_packed_size(&y->base);
  assert_int_equal(nx, ny);
  uint8_t *bx = malloc(nx ? nx : 1), *by = malloc(ny ? ny : 1);
  assert_non_null(bx);
  assert_non_null(by);
  protobuf_c_message_pack(&x->base, bx);
  protobuf_c_message_pack(&y->base, by);
  assert_memory_equal(bx, by, nx);
  free(bx);
  free(by);
}

/* CreateTicket answers with ticket_store_new_proto, built from the request instead of read back:
 * it must equal a fresh read byte for byte (with and without a department), so a column default
 * changed by a migration cannot make the reply and the row disagree unnoticed. */
static void test_new_ticket_built_without_a_read_equals_a_fresh_read(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  const char *departments[] = {"technical", NULL};
  for (size_t i = 0; i < 2; i++) {
    const ticket_new n = a_ticket("cust-1", departments[i]);
    const int64_t id = insert_at(f->db, tenant, "cust-1", departments[i], T0);
    Helpdesk__V1__Ticket *built = NULL;
    assert_int_equal(ticket_store_new_proto(tenant, &n, id, T0, a, &built, &err), 0);
    packed_equal(built, get(f->db, tenant, id, a, NULL));
  }
  hd_arena_free(a);
}

static void test_update_answers_the_ticket_exactly_as_a_fresh_read(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  hd_arena *a = hd_arena_new(ARENA_CAP);
  hd_err err = {0};
  const int64_t id = insert_at(f->db, tenant, "cust-1", "billing", T0);
  const ticket_change changes[] = {
      {.action = "ASSIGN", .owner_id = "agent-1", .department = "email"},
      {.action = "ACKNOWLEDGE", .status = TICKET_PROCESSING},
      {.action = "UPGRADE",
       .level = TICKET_SET(2),
       .title = "[Upgraded L2] Website down",
       .category = HELPDESK__V1__CATEGORY__CATEGORY_HARD},
      {.action = "REQUEST_INFO",
       .status = TICKET_PENDING_FEEDBACK,
       .follow_up_count = TICKET_SET(1),
       .timer = TICKET_TIMER_SET(TICKET_TIMER_FOLLOW_UP, T0 + 86400000000LL)},
      {.action = "SUSPEND",
       .status = TICKET_SUSPENDED,
       .suspended_from = TICKET_SET(TICKET_PENDING_FEEDBACK),
       .timer = TICKET_TIMER_CLEAR},
      {.action = "FINAL_ANSWER",
       .status = TICKET_TO_BE_CONFIRMED,
       .resolved = TICKET_SET(1),
       .suspended_from = TICKET_SET(TICKET_STATUS_NONE),
       .timer = TICKET_TIMER_SET(TICKET_TIMER_AUTO_CLOSE, T0 + 3 * 86400000000LL)},
      {.action = "CLOSE", .status = TICKET_CLOSED},
  };
  for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
    Helpdesk__V1__Ticket *out = NULL;
    if (update_tx(f->db, tenant, id, 0, &changes[i], T0 + (int64_t)i + 1, a, &out, &err) != 0)
      fail_msg("%s: %s", changes[i].action, err.msg);
    packed_equal(out, get(f->db, tenant, id, a, NULL));
  }
  /* A merge: two sources into a target, then the target's own change sees them. */
  const int64_t target = insert_at(f->db, tenant, "cust-1", NULL, T0);
  const int64_t s1 = insert_at(f->db, tenant, "cust-1", NULL, T0);
  const int64_t s2 = insert_at(f->db, tenant, "cust-1", NULL, T0);
  const int64_t sources[] = {s1, s2};
  for (size_t i = 0; i < 2; i++) {
    const ticket_change m = {
        .action = "MERGE", .status = TICKET_CLOSED, .merged_into_id = TICKET_SET(target)};
    Helpdesk__V1__Ticket *out = NULL;
    if (update_tx(f->db, tenant, sources[i], 0, &m, T0 + 10, a, &out, &err) != 0)
      fail_msg("merge: %s", err.msg);
    packed_equal(out, get(f->db, tenant, sources[i], a, NULL));
  }
  const ticket_change t_change = {.action = "MERGE", .event_type = TICKET_EVENT_MERGED};
  Helpdesk__V1__Ticket *out = NULL;
  if (update_tx(f->db, tenant, target, 0, &t_change, T0 + 11, a, &out, &err) != 0)
    fail_msg("merge target: %s", err.msg);
  assert_int_equal(out->n_associated_ticket_ids, 2);
  assert_int_equal(out->associated_ticket_ids[0], s1);
  assert_int_equal(out->associated_ticket_ids[1], s2);
  packed_equal(out, get(f->db, tenant, target, a, NULL));
  hd_arena_free(a);
}

/* A locked read sees the tickets merged into the ticket by a transaction that committed after this
 * one took its snapshot: MergeTickets refuses a source with merged tickets, so the ids must come
 * from the latest rows, not the snapshot (else a concurrent merge could build a chain). */
typedef struct snapshot_args {
  const char *tenant;
  int64_t x, y;
  hd_db *other; /* a second connection: the concurrent merge */
  hd_arena *arena;
  size_t n_seen;
  int64_t first_seen;
} snapshot_args;

static int merge_y_into_x(hd_db *db, void *arg, hd_err *err) {
  const snapshot_args *a = arg;
  const ticket_change m = {
      .action = "MERGE", .status = TICKET_CLOSED, .merged_into_id = TICKET_SET(a->x)};
  return ticket_store_update(db, a->tenant, a->y, 0, &m, T0 + 1, &AGENT, NULL, NULL, err);
}

static int snapshot_then_lock(hd_db *db, void *arg, hd_err *err) {
  snapshot_args *a = arg;
  Helpdesk__V1__Ticket *t = NULL;
  /* a plain read fixes this transaction's snapshot (REPEATABLE READ) */
  if (ticket_store_get(db, a->tenant, a->y, false, a->arena, &t, NULL, err) != 0) return -1;
  /* meanwhile, on another connection, Y is merged into X and committed */
  if (hd_db_tx(a->other, merge_y_into_x, a, 0, err) != 0) return -1;
  if (ticket_store_get(db, a->tenant, a->x, true, a->arena, &t, NULL, err) != 0) return -1;
  a->n_seen = t->n_associated_ticket_ids;
  a->first_seen = t->n_associated_ticket_ids ? t->associated_ticket_ids[0] : 0;
  return 0;
}

static void test_locked_read_sees_tickets_merged_after_its_snapshot(void **state) {
  fixture *f = *state;
  char tenant[64];
  tenant_name(tenant, sizeof tenant);
  hd_db_config cfg;
  hd_test_db_config(&cfg, f->dbname);
  hd_err err = {0};
  snapshot_args a = {.tenant = tenant, .arena = hd_arena_new(ARENA_CAP)};
  assert_int_equal(hd_db_new(&cfg, &a.other, &err), 0);
  a.x = insert_at(f->db, tenant, "cust-1", NULL, T0);
  a.y = insert_at(f->db, tenant, "cust-1", NULL, T0);
  if (hd_db_tx(f->db, snapshot_then_lock, &a, 0, &err) != 0) fail_msg("tx: %s", err.msg);
  assert_int_equal(a.n_seen, 1);
  assert_int_equal(a.first_seen, a.y);
  hd_db_close(a.other);
  hd_arena_free(a.arena);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_migrations_applied_again_change_nothing),
      cmocka_unit_test(test_the_owner_repair_requeues_unowned_worked_tickets_and_then_refuses_them),
      cmocka_unit_test(test_update_answers_the_ticket_exactly_as_a_fresh_read),
      cmocka_unit_test(test_new_ticket_built_without_a_read_equals_a_fresh_read),
      cmocka_unit_test(test_locked_read_sees_tickets_merged_after_its_snapshot),
      cmocka_unit_test(test_inserted_ticket_reads_back_in_pending_response_at_version_1),
      cmocka_unit_test(test_insert_writes_create_history_and_a_created_event),
      cmocka_unit_test(test_ticket_of_another_tenant_is_not_found),
      cmocka_unit_test(test_missing_ticket_is_not_found_with_its_id),
      cmocka_unit_test(test_multibyte_text_round_trips_byte_for_byte),
      cmocka_unit_test(test_update_bumps_version_and_writes_a_history_row_per_changed_field),
      cmocka_unit_test(test_stale_expected_version_is_aborted_naming_both_versions),
      cmocka_unit_test(test_expected_version_zero_skips_the_check),
      cmocka_unit_test(test_fence_must_be_greater_than_every_fence_that_wrote_the_ticket),
      cmocka_unit_test(test_rollback_leaves_no_ticket_history_or_event),
      cmocka_unit_test(test_closing_stamps_close_time_and_clears_the_timer_and_restart_undoes_it),
      cmocka_unit_test(test_suspend_and_resume_keep_and_clear_suspended_from),
      cmocka_unit_test(test_change_without_audited_fields_bumps_version_and_writes_no_event),
      cmocka_unit_test(test_explicit_event_type_and_extra_fields_reach_the_payload_escaped),
      cmocka_unit_test(test_history_append_and_event_record_what_is_not_a_column),
      cmocka_unit_test(test_merged_tickets_are_listed_as_associated_on_the_target),
      cmocka_unit_test(test_concurrent_changes_from_the_same_version_have_exactly_one_winner),
      cmocka_unit_test(test_list_pages_oldest_first_by_created_time_then_id),
      cmocka_unit_test(test_list_newest_first_is_the_exact_reverse),
      cmocka_unit_test(test_list_page_exactly_full_has_no_next_token),
      cmocka_unit_test(test_list_filters_by_status_owner_department_and_customer),
      cmocka_unit_test(test_list_token_with_other_filters_or_order_is_invalid_argument),
      cmocka_unit_test(test_list_page_size_past_500_is_invalid_argument),
      cmocka_unit_test(test_list_only_shows_the_callers_tenant),
      cmocka_unit_test(test_list_and_followed_mark_the_viewers_follows),
      cmocka_unit_test(test_history_pages_oldest_first),
      cmocka_unit_test(test_due_timers_are_taken_earliest_first_and_skipped_while_locked),
      cmocka_unit_test(test_idempotency_key_is_claimed_once_until_it_expires),
      cmocka_unit_test(test_concurrent_first_uses_of_a_key_create_exactly_one_ticket),
      cmocka_unit_test(test_idempotency_purge_deletes_only_expired_keys),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
