/* The accounts service for integration tests (see account_fixture.h). */
#include "account_fixture.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "accounts_service.h"
#include "test_env.h"

#define AF_SQL_MAX 4096

static void af__stop(af *t) {
  char **tokens[] = {&t->agent, &t->agent2,  &t->lead, &t->supervisor,
                     &t->admin, &t->service, &t->bd,   &t->other_tenant};
  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
    free(*tokens[i]);
    *tokens[i] = NULL;
  }
  hd_db_close(t->db);
  t->db = NULL;
  hd_arena_free(t->arena);
  t->arena = NULL;
  hd_fixture_stop(&t->f);
}

int af_setup(void **state) {
  af *t = calloc(1, sizeof *t);
  if (!t) return -1;
  if (hd_fixture_start(&t->f, &accounts_service_def) != 0) {
    free(t);
    return -1;
  }
  hd_fixture *f = &t->f;
  t->arena = hd_arena_new(64u << 20);
  t->agent = hd_fixture_token(f, "acme", "agent-1", HD_ROLE_AGENT);
  t->agent2 = hd_fixture_token(f, "acme", "agent-2", HD_ROLE_AGENT);
  t->lead = hd_fixture_token(f, "acme", "lead-1", HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD);
  t->supervisor = hd_fixture_token(f, "acme", "sup-1", HD_ROLE_AGENT | HD_ROLE_SUPERVISOR);
  t->admin = hd_fixture_token(f, "acme", "admin-1", HD_ROLE_TENANT_ADMIN);
  t->service = hd_fixture_token(f, "acme", "svc-console", HD_ROLE_SERVICE);
  t->bd = hd_fixture_token(f, "acme", "bd-lee", HD_ROLE_AGENT);
  t->other_tenant = hd_fixture_token(f, "globex", "agent-9", HD_ROLES_STAFF);
  hd_db_config cfg;
  hd_test_db_config(&cfg, t->f.db_name);
  hd_err err = {0};
  if (!t->arena || !t->agent || !t->agent2 || !t->lead || !t->supervisor || !t->admin ||
      !t->service || !t->bd || !t->other_tenant || hd_db_new(&cfg, &t->db, &err) != 0) {
    af__stop(t);
    free(t);
    return -1;
  }
  *state = t;
  return 0;
}

int af_teardown(void **state) {
  af *t = *state;
  if (!t) return 0;
  af__stop(t);
  free(t);
  return 0;
}

char *af_customer(af *t, const char *uid) {
  char *tok = hd_fixture_token(&t->f, "acme", uid, HD_ROLE_CUSTOMER);
  assert_non_null(tok);
  char *copy = hd_arena_strdup(t->arena, tok);
  free(tok);
  assert_non_null(copy);
  return copy;
}

void af_advance(af *t, int64_t us) { hd_clock_advance(&t->f.clock, us); }
int64_t af_now(af *t) { return hd_clock_now_us(&t->f.clock); }

hd_code af_call(af *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, void *resp) {
  char method[128];
  snprintf(method, sizeof method, "/helpdesk.v1.AccountService/%s", rpc);
  memset(&t->err, 0, sizeof t->err);
  ProtobufCMessage *reply = NULL;
  const hd_code code =
      hd_fixture_call(&t->f, method, token, req, resp_desc, t->arena, &reply, &t->err);
  if (resp) *(ProtobufCMessage **)resp = code == HD_OK ? reply : NULL;
  return code;
}

ProtobufCMessage *af_must(af *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *resp_desc) {
  ProtobufCMessage *resp = NULL;
  const hd_code code = af_call(t, rpc, token, req, resp_desc, &resp);
  if (code != HD_OK) fail_msg("%s: %s: %s", rpc, hd_code_name(code), t->err.msg);
  return resp;
}

Helpdesk__V1__Account *af_account(af *t, const char *uid, const char *region, bool verified,
                                  const char *bd_contact) {
  Helpdesk__V1__CreateAccountRequest r = HELPDESK__V1__CREATE_ACCOUNT_REQUEST__INIT;
  char email[200];
  snprintf(email, sizeof email, "%s@example.com", uid);
  r.uid = (char *)uid;
  r.region = (char *)region;
  r.type = HELPDESK__V1__ACCOUNT_TYPE__ACCOUNT_TYPE_PERSONAL;
  r.real_name_verified = verified;
  r.bd_contact = (char *)(bd_contact ? bd_contact : "");
  r.partner_name = bd_contact ? "Lion City Cloud Partners" : "";
  r.email = email;
  return (Helpdesk__V1__Account *)af_must(t, "CreateAccount", t->service, &r.base,
                                          &helpdesk__v1__account__descriptor);
}

Helpdesk__V1__AddPaymentMethodResponse *af_method(af *t, const char *uid,
                                                  Helpdesk__V1__PaymentMethodType type,
                                                  const char *label) {
  Helpdesk__V1__AddPaymentMethodRequest r = HELPDESK__V1__ADD_PAYMENT_METHOD_REQUEST__INIT;
  char paypal[200];
  snprintf(paypal, sizeof paypal, "%s@example.com", uid);
  r.uid = (char *)uid;
  r.type = type;
  r.label =
      (char *)(label                                                                      ? label
               : type == HELPDESK__V1__PAYMENT_METHOD_TYPE__PAYMENT_METHOD_TYPE_BANK_CARD ? "4242"
               : type == HELPDESK__V1__PAYMENT_METHOD_TYPE__PAYMENT_METHOD_TYPE_PAYPAL    ? paypal
                                                                                          : "");
  return (Helpdesk__V1__AddPaymentMethodResponse *)af_must(
      t, "AddPaymentMethod", t->service, &r.base,
      &helpdesk__v1__add_payment_method_response__descriptor);
}

Helpdesk__V1__GetAccountResponse *af_get(af *t, const char *uid) {
  Helpdesk__V1__GetAccountRequest r = HELPDESK__V1__GET_ACCOUNT_REQUEST__INIT;
  r.uid = (char *)uid;
  return (Helpdesk__V1__GetAccountResponse *)af_must(
      t, "GetAccount", t->agent, &r.base, &helpdesk__v1__get_account_response__descriptor);
}

/* Runs the formatted query; caller frees the rows. */
static hd_db_rows *af__query(af *t, const char *fmt, va_list ap) {
  char sql[AF_SQL_MAX];
  const int n = vsnprintf(sql, sizeof sql, fmt, ap);
  if (n < 0 || n >= AF_SQL_MAX) fail_msg("SQL longer than %d bytes: %.80s", AF_SQL_MAX, fmt);
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  if (hd_db_query(t->db, sql, NULL, 0, 1000, &rows, &err) != 0) fail_msg("%s: %s", sql, err.msg);
  return rows;
}

int64_t af_sql(af *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  hd_db_rows *rows = af__query(t, fmt, ap);
  va_end(ap);
  const int64_t v = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  hd_db_rows_free(rows);
  return v;
}

const char *af_sql_str(af *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  hd_db_rows *rows = af__query(t, fmt, ap);
  va_end(ap);
  const char *v =
      hd_arena_strdup(t->arena, hd_db_rows_count(rows) ? hd_db_str(rows, 0, 0, NULL) : "");
  hd_db_rows_free(rows);
  assert_non_null(v);
  return v;
}

int64_t af_audits(af *t, const char *uid, const char *action) {
  return af_sql(t, "SELECT COUNT(*) FROM account_audit WHERE uid = '%s' AND action = '%s'", uid,
                action);
}

char *af_fingerprint(af *t) {
  static const char *const tables[] = {
      "accounts",        "held_services",      "cloud_resources",       "bills",
      "payment_methods", "card_verifications", "refund_escalations",    "contact_changes",
      "upgrade_links",   "risk_codes",         "account_risk_controls", "account_audit",
      "idempotency_keys"};
  const size_t cap = 4096;
  size_t used = 0;
  char *out = calloc(1, cap);
  assert_non_null(out);
  for (size_t i = 0; i <= sizeof tables / sizeof tables[0]; i++) {
    char sql[256];
    const bool outbox = i == sizeof tables / sizeof tables[0];
    if (outbox)
      snprintf(sql, sizeof sql,
               "SELECT 'outbox', CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS('|', id, "
               "tenant, aggregate_id, event_type, payload, created_at_us))), 0)) FROM outbox");
    else
      snprintf(sql, sizeof sql, "CHECKSUM TABLE %s EXTENDED", tables[i]);
    hd_db_rows *rows = NULL;
    hd_err err = {0};
    if (hd_db_query(t->db, sql, NULL, 0, 1, &rows, &err) != 0) {
      free(out);
      fail_msg("af_fingerprint: %s", err.msg);
    }
    const char *sum = hd_db_rows_count(rows) ? hd_db_str(rows, 0, 1, NULL) : "?";
    const int n = snprintf(out + used, cap - used, "%s=%s ", outbox ? "outbox" : tables[i], sum);
    hd_db_rows_free(rows);
    if (n < 0 || (size_t)n >= cap - used) {
      free(out);
      fail_msg("af_fingerprint: longer than %zu bytes", cap);
    }
    used += (size_t)n;
  }
  return out;
}

void af_refused_at(af *t, char *before, hd_code got, hd_code want, const char *msg_part,
                   const char *what, const char *file, int line) {
  if (got != want || (msg_part && !strstr(t->err.msg, msg_part))) {
    print_error("%s: want %s \"%s\", got %s \"%s\"\n", what, hd_code_name(want),
                msg_part ? msg_part : "", hd_code_name(got), t->err.msg);
    free(before);
    _fail(file, line);
  }
  char *after = af_fingerprint(t);
  const bool same = strcmp(before, after) == 0;
  if (!same) print_error("%s: the database changed\nbefore: %s\nafter:  %s\n", what, before, after);
  free(before);
  free(after);
  if (!same) _fail(file, line);
}
