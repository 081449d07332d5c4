/* The ticket service for integration tests (see ticket_fixture.h). */
#include "ticket_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_env.h"
#include "tickets_service.h"

int tf_start(tf *t) {
  memset(t, 0, sizeof *t);
  if (hd_fixture_start(&t->f, &tickets_service_def) != 0) return -1;
  t->arena = hd_arena_new(64u << 20);
  hd_fixture *f = &t->f;
  t->customer = hd_fixture_token(f, "acme", "cust-1", HD_ROLE_CUSTOMER);
  t->customer2 = hd_fixture_token(f, "acme", "cust-2", HD_ROLE_CUSTOMER);
  t->agent = hd_fixture_token(f, "acme", "agent-1", HD_ROLE_AGENT);
  t->agent2 = hd_fixture_token(f, "acme", "agent-2", HD_ROLE_AGENT);
  t->lead = hd_fixture_token(f, "acme", "lead-1", HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD);
  t->supervisor = hd_fixture_token(f, "acme", "sup-1", HD_ROLE_AGENT | HD_ROLE_SUPERVISOR);
  t->admin = hd_fixture_token(f, "acme", "admin-1", HD_ROLE_TENANT_ADMIN);
  t->service = hd_fixture_token(f, "acme", "svc-router", HD_ROLE_SERVICE);
  t->other_tenant = hd_fixture_token(f, "globex", "agent-9",
                                     HD_ROLE_AGENT | HD_ROLE_SUPERVISOR | HD_ROLE_TENANT_ADMIN);
  if (!t->arena || !t->customer || !t->customer2 || !t->agent || !t->agent2 || !t->lead ||
      !t->supervisor || !t->admin || !t->service || !t->other_tenant) {
    tf_stop(t);
    return -1;
  }
  return 0;
}

void tf_stop(tf *t) {
  char **tokens[] = {&t->customer, &t->customer2, &t->agent,   &t->agent2,      &t->lead,
                     &t->supervisor, &t->admin,   &t->service, &t->other_tenant};
  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
    free(*tokens[i]);
    *tokens[i] = NULL;
  }
  hd_arena_free(t->arena);
  t->arena = NULL;
  hd_fixture_stop(&t->f);
}

hd_code tf_call(tf *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, hd_err *err) {
  char method[128];
  snprintf(method, sizeof method, "/helpdesk.v1.TicketService/%s", rpc);
  memset(err, 0, sizeof *err);
  return hd_fixture_call(&t->f, method, token, req, resp_desc, t->arena, resp, err);
}

Helpdesk__V1__Ticket *tf_create(tf *t, const char *token, const char *customer_id,
                                const char *subject) {
  static _Atomic long seq;
  char key[64];
  snprintf(key, sizeof key, "tf-%ld", ++seq);
  Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  req.idempotency_key = key;
  req.customer_id = (char *)(customer_id ? customer_id : "");
  req.subject = (char *)subject;
  req.description = "My website shows a 500 error since this morning.";
  req.product = "Web Hosting";
  req.brand = "Acme Hosting";
  req.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  req.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL;
  ProtobufCMessage *resp = NULL;
  hd_err err;
  hd_code code = tf_call(t, "CreateTicket", token, &req.base, &helpdesk__v1__ticket__descriptor,
                         &resp, &err);
  if (code != HD_OK) fprintf(stderr, "tf_create: %s: %s\n", hd_code_name(code), err.msg);
  assert_int_equal(code, HD_OK);
  return (Helpdesk__V1__Ticket *)resp;
}

Helpdesk__V1__Ticket *tf_get(tf *t, const char *token, int64_t id) {
  Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  req.ticket_id = id;
  ProtobufCMessage *resp = NULL;
  hd_err err;
  hd_code code =
      tf_call(t, "GetTicket", token, &req.base, &helpdesk__v1__ticket__descriptor, &resp, &err);
  if (code != HD_OK) fprintf(stderr, "tf_get: %s: %s\n", hd_code_name(code), err.msg);
  assert_int_equal(code, HD_OK);
  return (Helpdesk__V1__Ticket *)resp;
}

int64_t tf_sql(tf *t, const char *sql) { return hd_fixture_sql_i64(&t->f, sql); }

char *tf_fingerprint(tf *t) {
  static const char *const tables[] = {"tickets", "ticket_history", "outbox", "idempotency_keys",
                                       "comments", "internal_records", "attachments", "tasks",
                                       "follows", "urges", "consents", "tenant_settings"};
  const size_t cap = 4096;
  size_t used = 0;
  char *out = calloc(1, cap);
  hd_db_config cfg;
  hd_db *db = NULL;
  hd_err err = {0};
  hd_test_db_config(&cfg, t->f.db_name);
  if (!out || hd_db_new(&cfg, &db, &err) != 0) goto fail;
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char sql[256];
    hd_db_rows *rows = NULL;
    /* CHECKSUM TABLE ... EXTENDED reads every row: any inserted, deleted or changed row changes
     * it. Its answer is (table, checksum). The outbox leaves out published_at_us, which the relay
     * sets in the background whatever the test does. */
    if (strcmp(tables[i], "outbox") == 0)
      snprintf(sql, sizeof sql,
               "SELECT 'outbox', CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS('|', id, "
               "tenant, aggregate_id, event_type, payload, created_at_us))), 0)) FROM outbox");
    else
      snprintf(sql, sizeof sql, "CHECKSUM TABLE %s EXTENDED", tables[i]);
    if (hd_db_query(db, sql, NULL, 0, 1, &rows, &err) != 0) goto fail;
    const char *sum = hd_db_rows_count(rows) ? hd_db_str(rows, 0, 1, NULL) : "?";
    int n = snprintf(out + used, cap - used, "%s=%s ", tables[i], sum);
    hd_db_rows_free(rows);
    if (n < 0 || (size_t)n >= cap - used) goto fail;
    used += (size_t)n;
  }
  hd_db_close(db);
  return out;
fail:
  fprintf(stderr, "tf_fingerprint: %s\n", err.msg);
  hd_db_close(db);
  free(out);
  return NULL;
}
