/* The routing service for integration tests (see routing_fixture.h). */
#include "routing_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "routing_service.h"
#include "test_env.h"

#define RF_SQL_MAX 4096

int rf_start(rf *x) {
  memset(x, 0, sizeof *x);
  /* A Redis of its own: routing consumes helpdesk:events:tickets, which every ticket service of
   * the suite writes on the shared Redis. */
  if (hd_test_redis_start(&x->redis) != 0) return -1;
  if (tf_start(&x->t) != 0) {
    hd_test_redis_stop(&x->redis);
    return -1;
  }
  setenv("HELPDESK_TICKETS_TARGET", x->t.f.target, 1);
  if (hd_fixture_start(&x->r, &routing_service_def) != 0) {
    tf_stop(&x->t);
    return -1;
  }
  x->arena = hd_arena_new(16u << 20);
  hd_fixture *f = &x->r;
  x->agent = hd_fixture_token(f, "acme", "agent-1", HD_ROLE_AGENT);
  x->agent2 = hd_fixture_token(f, "acme", "agent-2", HD_ROLE_AGENT);
  x->lead = hd_fixture_token(f, "acme", "lead-1", HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD);
  x->supervisor = hd_fixture_token(f, "acme", "sup-1", HD_ROLE_AGENT | HD_ROLE_SUPERVISOR);
  x->admin = hd_fixture_token(f, "acme", "admin-1", HD_ROLE_TENANT_ADMIN);
  x->service = hd_fixture_token(f, "acme", "svc-x", HD_ROLE_SERVICE);
  x->customer = hd_fixture_token(f, "acme", "cust-1", HD_ROLE_CUSTOMER);
  x->other_tenant = hd_fixture_token(f, "globex", "sup-9", HD_ROLE_AGENT | HD_ROLE_SUPERVISOR);
  if (!x->arena || !x->agent || !x->agent2 || !x->lead || !x->supervisor || !x->admin ||
      !x->service || !x->customer || !x->other_tenant) {
    rf_stop(x);
    return -1;
  }
  return 0;
}

void rf_stop(rf *x) {
  hd_fixture_stop(&x->r);
  tf_stop(&x->t);
  hd_test_redis_stop(&x->redis);
  hd_arena_free(x->arena);
  char **tokens[] = {&x->agent, &x->agent2,  &x->lead,     &x->supervisor,
                     &x->admin, &x->service, &x->customer, &x->other_tenant};
  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
    free(*tokens[i]);
    *tokens[i] = NULL;
  }
  x->arena = NULL;
}

int rf_setup(void **state) {
  rf *x = calloc(1, sizeof *x);
  if (!x || rf_start(x) != 0) {
    free(x);
    return -1;
  }
  *state = x;
  return 0;
}

int rf_teardown(void **state) {
  rf *x = *state;
  if (x) rf_stop(x);
  free(x);
  return 0;
}

hd_code rf_call(rf *x, const char *rpc, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, void *resp) {
  char method[128];
  snprintf(method, sizeof method, "/helpdesk.v1.RoutingService/%s", rpc);
  ProtobufCMessage *out = NULL;
  hd_err_clear(&x->err);
  const hd_code code =
      hd_fixture_call(&x->r, method, token, req, resp_desc, x->arena, &out, &x->err);
  if (resp) *(ProtobufCMessage **)resp = code == HD_OK ? out : NULL;
  return code;
}

ProtobufCMessage *rf_must(rf *x, const char *rpc, const char *token, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *resp_desc) {
  ProtobufCMessage *out = NULL;
  const hd_code code = rf_call(x, rpc, token, req, resp_desc, &out);
  if (code != HD_OK) fail_msg("%s: %s %s", rpc, hd_code_name(code), x->err.msg);
  return out;
}

/* A connection to routing's database; fails the test unless it opens. */
static hd_db *rf__db(rf *x) {
  hd_db_config cfg;
  hd_test_db_config(&cfg, x->r.db_name);
  hd_db *db = NULL;
  hd_err err = {0};
  if (hd_db_new(&cfg, &db, &err) != 0) fail_msg("routing db: %s", err.msg);
  return db;
}

int64_t rf_sqlf(rf *x, const char *fmt, ...) {
  char sql[RF_SQL_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  hd_db *db = rf__db(x);
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  const int rc = hd_db_query(db, sql, NULL, 0, 1000, &rows, &err);
  const int64_t v = rc == 0 && hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  hd_db_rows_free(rows);
  hd_db_close(db);
  if (rc != 0) fail_msg("rf_sqlf %s: %s", sql, err.msg);
  return v;
}

void rf_execf(rf *x, const char *fmt, ...) {
  char sql[RF_SQL_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  hd_db *db = rf__db(x);
  hd_err err = {0};
  const int rc = hd_db_exec(db, sql, NULL, 0, NULL, NULL, &err);
  hd_db_close(db);
  if (rc != 0) fail_msg("rf_execf %s: %s", sql, err.msg);
}

char *rf_fingerprint(rf *x) {
  static const char *const tables[] = {"departments",       "routing_rules",   "agents",
                                       "agent_departments", "routing_tickets", "claims",
                                       "claim_fences",      "escalations",     "customer_estimates",
                                       "hand_overs",        "hand_over_items", "routing_settings",
                                       "routing_audit"};
  const size_t cap = 4096;
  size_t used = 0;
  char *out = calloc(1, cap);
  assert_non_null(out);
  hd_db *db = rf__db(x);
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char sql[128];
    snprintf(sql, sizeof sql, "CHECKSUM TABLE %s EXTENDED", tables[i]);
    hd_db_rows *rows = NULL;
    hd_err err = {0};
    if (hd_db_query(db, sql, NULL, 0, 1, &rows, &err) != 0) {
      free(out);
      hd_db_close(db);
      fail_msg("rf_fingerprint: %s", err.msg);
    }
    const int n = snprintf(out + used, cap - used, "%s=%s ", tables[i],
                           hd_db_rows_count(rows) ? hd_db_str(rows, 0, 1, NULL) : "?");
    hd_db_rows_free(rows);
    if (n > 0 && (size_t)n < cap - used) used += (size_t)n;
  }
  hd_db_close(db);
  return out;
}

void rf_refused_at(rf *x, char *before, hd_code got, hd_code want, const char *msg_part,
                   const char *what, const char *file, int line) {
  const bool code_ok = got == want && (!msg_part || strstr(x->err.msg, msg_part));
  if (!code_ok)
    print_error("%s: want %s \"%s\", got %s \"%s\"\n", what, hd_code_name(want),
                msg_part ? msg_part : "", hd_code_name(got), x->err.msg);
  char *after = rf_fingerprint(x);
  const bool same = strcmp(before, after) == 0;
  if (!same)
    print_error("%s: routing's tables changed\nbefore: %s\nafter:  %s\n", what, before, after);
  free(before);
  free(after);
  if (!code_ok || !same) _fail(file, line);
}
