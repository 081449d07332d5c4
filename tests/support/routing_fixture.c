/* The routing service for integration tests (see routing_fixture.h). */
#include "routing_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "routing_service.h"

#define RF_SQL_MAX 4096

/* The test's own connections: x->db and x->w (routing's database, the private Redis). */
static int rf__connect(rf *x) {
  hd_db_config cfg;
  hd_test_db_config(&cfg, x->r.db_name);
  hd_kv_config kc;
  hd_test_kv_config(&kc); /* pointed at the private Redis by hd_test_redis_start */
  hd_err err = {0};
  if (hd_db_new(&cfg, &x->db, &err) != 0 || hd_db_new(&cfg, &x->w.db, &err) != 0 ||
      hd_kv_new(&kc, &x->w.kv, &err) != 0) {
    fprintf(stderr, "routing fixture: %s\n", err.msg);
    return -1;
  }
  return 0;
}

int rf_start(rf *x) {
  memset(x, 0, sizeof *x);
  if (hd_test_redis_start(&x->redis) != 0) goto fail;
  x->kv = x->redis.kv;
  if (tf_start(&x->t) != 0) goto fail;
  setenv("HELPDESK_TICKETS_TARGET", x->t.f.target, 1);
  if (hd_fixture_start(&x->r, &routing_service_def) != 0 || rf__connect(x) != 0) goto fail;
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
      !x->service || !x->customer || !x->other_tenant)
    goto fail;
  return 0;
fail:
  fprintf(stderr, "routing fixture: start failed\n");
  rf_stop(x);
  return -1;
}

void rf_stop(rf *x) {
  hd_db_close(x->db);
  hd_db_close(x->w.db);
  hd_kv_close(x->w.kv);
  x->db = x->w.db = NULL;
  x->w.kv = NULL;
  if (x->r.svc) hd_fixture_stop(&x->r);
  if (x->t.f.svc) tf_stop(&x->t);
  hd_test_redis_stop(&x->redis);
  x->kv = NULL;
  hd_arena_free(x->arena);
  x->arena = NULL;
  char **tokens[] = {&x->agent, &x->agent2,  &x->lead,     &x->supervisor,
                     &x->admin, &x->service, &x->customer, &x->other_tenant};
  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
    free(*tokens[i]);
    *tokens[i] = NULL;
  }
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

int rf_restart_routing(rf *x) {
  hd_client_destroy(x->r.client);
  x->r.client = NULL;
  hd_svc_stop(x->r.svc);
  x->r.svc = NULL;
  hd_svc_options opts = {
      .listen_addr = "127.0.0.1:0", .clock = &x->r.clock, .db_name = x->r.db_name};
  hd_err err = {0};
  if (hd_svc_start(&routing_service_def, &opts, &x->r.svc, &err)) return -1;
  snprintf(x->r.target, sizeof x->r.target, "127.0.0.1:%d", hd_svc_port(x->r.svc));
  hd_client_config cc = {.target = x->r.target, .default_timeout_us = 20 * HD_US_PER_S};
  if (hd_client_new(&cc, &x->r.client, &err)) return -1;
  for (int i = 0; i < 500; i++) {
    if (hd_fixture_health(&x->r) == 1) return 0;
    usleep(10000);
  }
  return -1;
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

char *rf_token(rf *x, const char *user, unsigned roles) {
  return hd_fixture_token(&x->r, "acme", user, roles);
}

static int64_t rf__vsql(rf *x, const char *fmt, va_list ap) {
  char sql[RF_SQL_MAX];
  vsnprintf(sql, sizeof sql, fmt, ap);
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  const int rc = hd_db_query(x->db, sql, NULL, 0, 100000, &rows, &err);
  const int64_t v = rc == 0 && hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  hd_db_rows_free(rows);
  if (rc != 0) fail_msg("rf_sqlf %s: %s", sql, err.msg);
  return v;
}

int64_t rf_sqlf(rf *x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int64_t v = rf__vsql(x, fmt, ap);
  va_end(ap);
  return v;
}

void rf_execf(rf *x, const char *fmt, ...) {
  char sql[RF_SQL_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  hd_err err = {0};
  if (hd_db_exec(x->db, sql, NULL, 0, NULL, NULL, &err) != 0)
    fail_msg("rf_execf %s: %s", sql, err.msg);
}

int64_t rf_wait_sql(rf *x, int64_t want, const char *fmt, ...) {
  int64_t v = -1;
  for (int i = 0; i < 2000; i++) {
    va_list ap;
    va_start(ap, fmt);
    v = rf__vsql(x, fmt, ap);
    va_end(ap);
    if (v == want) break;
    usleep(10000);
  }
  return v;
}

void rf_agent(rf *x, const char *agent_id, const char *departments, int capacity,
              const char *presence) {
  rf_execf(x,
           "INSERT INTO agents (tenant, agent_id, level, capacity, presence, presence_at_us, "
           "updated_by, created_at_us, updated_at_us) VALUES ('acme', '%s', 'L1', %d, '%s', 0, "
           "'test', 0, 0) ON DUPLICATE KEY UPDATE capacity = VALUES(capacity), "
           "presence = VALUES(presence)",
           agent_id, capacity, presence);
  rf_execf(x, "DELETE FROM agent_departments WHERE tenant = 'acme' AND agent_id = '%s'", agent_id);
  char buf[512];
  snprintf(buf, sizeof buf, "%s", departments);
  int pos = 0;
  for (char *save = NULL, *d = strtok_r(buf, ",", &save); d; d = strtok_r(NULL, ",", &save))
    rf_execf(x,
             "INSERT INTO agent_departments (tenant, agent_id, department, position) VALUES "
             "('acme', '%s', '%s', %d)",
             agent_id, d, pos++);
}

void rf_create_queued(rf *x, int64_t *ids, int n) {
  const int64_t before = rf_sqlf(x, "SELECT COUNT(*) FROM routing_tickets");
  for (int i = 0; i < n; i++) {
    Helpdesk__V1__Ticket *t = tf_create(&x->t, x->t.customer, NULL, "routing test");
    if (ids) ids[i] = t->id;
  }
  rf_wait_sql(x, before + n, "SELECT COUNT(*) FROM routing_tickets");
}

Helpdesk__V1__Ticket *rf_create_about(rf *x, const char *key, const char *subject,
                                      Helpdesk__V1__IssueType issue) {
  Helpdesk__V1__CreateTicketRequest rq = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  rq.idempotency_key = (char *)key;
  rq.subject = (char *)subject;
  rq.description = "see subject";
  rq.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  rq.issue_type = issue;
  return (Helpdesk__V1__Ticket *)tf_must(&x->t, "CreateTicket", x->t.customer, &rq.base,
                                         &helpdesk__v1__ticket__descriptor);
}

hd_code rf_claim(rf *x, hd_client *client, const char *token, const char *department,
                 int64_t lease_s, hd_arena *a, Helpdesk__V1__Claim **claim, hd_err *err) {
  Helpdesk__V1__ClaimNextRequest rq = HELPDESK__V1__CLAIM_NEXT_REQUEST__INIT;
  rq.department = (char *)(department ? department : "");
  rq.lease_seconds = lease_s;
  Helpdesk__V1__ClaimNextResponse *rs = NULL;
  *claim = NULL;
  *err = (hd_err){0};
  if (hd_client_call(client ? client : x->r.client, "/helpdesk.v1.RoutingService/ClaimNext", token,
                     0, &rq.base, &helpdesk__v1__claim_next_response__descriptor, a,
                     (ProtobufCMessage **)&rs, err))
    return err->code;
  *claim = rs->claim;
  if (!rs->claim) snprintf(err->msg, sizeof err->msg, "%s", rs->message);
  return HD_OK;
}

void rf_flushall(rf *x) {
  hd_err err = {0};
  const char *argv[] = {"FLUSHALL"};
  (void)hd_kv_cmd(x->kv, 1, argv, NULL, false, NULL, &err);
}

Helpdesk__V1__ListCommentsResponse *rf_comments(rf *x, int64_t ticket_id) {
  Helpdesk__V1__ListCommentsRequest rq = HELPDESK__V1__LIST_COMMENTS_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  return (Helpdesk__V1__ListCommentsResponse *)tf_must(
      &x->t, "ListComments", x->t.lead, &rq.base,
      &helpdesk__v1__list_comments_response__descriptor);
}

int64_t rf_advance(rf *x, int64_t us) {
  hd_clock_advance(&x->r.clock, us);
  return hd_clock_now_us(&x->r.clock);
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
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char sql[128];
    snprintf(sql, sizeof sql, "CHECKSUM TABLE %s EXTENDED", tables[i]);
    hd_db_rows *rows = NULL;
    hd_err err = {0};
    if (hd_db_query(x->db, sql, NULL, 0, 1, &rows, &err) != 0) {
      free(out);
      fail_msg("rf_fingerprint: %s", err.msg);
    }
    const int n = snprintf(out + used, cap - used, "%s=%s ", tables[i],
                           hd_db_rows_count(rows) ? hd_db_str(rows, 0, 1, NULL) : "?");
    hd_db_rows_free(rows);
    if (n > 0 && (size_t)n < cap - used) used += (size_t)n;
  }
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
