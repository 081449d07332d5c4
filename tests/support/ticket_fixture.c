/* The ticket service for integration tests (see ticket_fixture.h). */
#include "ticket_fixture.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_env.h"
#include "ticket_call.h"
#include "tickets_service.h"

#define TF_SQL_MAX 4096 /* a formatted tf_sqlf query, NUL included */

/* ---- life ---- */

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

/* The zset's name, or -1 when no service runs (it is named after the service's database). */
static int tf__wake_up_set(tf *t, char *buf, size_t cap) {
  return t->f.svc ? tickets_timer_zset(hd_svc_env_of(t->f.svc), buf, cap) : -1;
}

/* DEL of the wake-up set; 0 or -1 with err set. */
static int tf__del_wake_ups(tf *t, hd_err *err) {
  char zset[128];
  if (tf__wake_up_set(t, zset, sizeof zset) != 0)
    return hd_err_set(err, HD_FAILED_PRECONDITION, "no running service names the wake-up set");
  hd_kv_config kc;
  hd_test_kv_config(&kc);
  hd_kv *kv = NULL;
  const char *argv[] = {"DEL", zset};
  int rc = hd_kv_new(&kc, &kv, err);
  if (rc == 0) rc = hd_kv_cmd(kv, 2, argv, NULL, true, NULL, err);
  hd_kv_close(kv);
  return rc;
}

void tf_stop(tf *t) {
  /* The wake-up set is keyed by the database, which goes: leave nothing behind in Redis. */
  hd_err err = {0};
  if (t->f.svc && tf__del_wake_ups(t, &err) != 0)
    fprintf(stderr, "tf_stop: wake-ups not deleted: %s\n", err.msg);
  char **tokens[] = {&t->customer,   &t->customer2, &t->agent,   &t->agent2,      &t->lead,
                     &t->supervisor, &t->admin,     &t->service, &t->other_tenant};
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

int tf_setup(void **state) {
  tf *t = calloc(1, sizeof *t);
  if (!t || tf_start(t) != 0) {
    free(t);
    return -1;
  }
  *state = t;
  return 0;
}

int tf_teardown(void **state) {
  tf *t = *state;
  if (!t) return 0; /* cmocka runs a group's tear-down even when its set-up failed */
  tf_stop(t);
  free(t);
  return 0;
}

int64_t tf_now(tf *t) { return hd_clock_now_us(&t->f.clock); }

void tf_delete_wake_ups(tf *t) {
  hd_err err = {0};
  if (tf__del_wake_ups(t, &err) != 0) fail_msg("tf_delete_wake_ups: %s", err.msg);
}

/* ---- calls ---- */

hd_code tf_call(tf *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, void *resp, hd_err *err) {
  char method[128];
  snprintf(method, sizeof method, "/helpdesk.v1.TicketService/%s", rpc);
  if (!err) err = &t->err;
  memset(err, 0, sizeof *err);
  ProtobufCMessage *reply = NULL;
  const hd_code code = hd_fixture_call(&t->f, method, token, req, resp_desc, t->arena, &reply, err);
  if (resp) *(ProtobufCMessage **)resp = code == HD_OK ? reply : NULL;
  return code;
}

ProtobufCMessage *tf_must(tf *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *resp_desc) {
  ProtobufCMessage *resp = NULL;
  const hd_code code = tf_call(t, rpc, token, req, resp_desc, &resp, NULL);
  if (code != HD_OK) fail_msg("%s: %s: %s", rpc, hd_code_name(code), t->err.msg);
  return resp;
}

/* ---- set-up through the real RPCs ---- */

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
  return (Helpdesk__V1__Ticket *)tf_must(t, "CreateTicket", token, &req.base,
                                         &helpdesk__v1__ticket__descriptor);
}

Helpdesk__V1__Ticket *tf_get(tf *t, const char *token, int64_t id) {
  Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  req.ticket_id = id;
  return (Helpdesk__V1__Ticket *)tf_must(t, "GetTicket", token, &req.base,
                                         &helpdesk__v1__ticket__descriptor);
}

Helpdesk__V1__Ticket *tf_assign(tf *t, int64_t id, const char *owner_id) {
  Helpdesk__V1__AssignTicketRequest req = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  req.ticket_id = id;
  req.owner_id = (char *)owner_id;
  return (Helpdesk__V1__Ticket *)tf_must(t, "AssignTicket", t->lead, &req.base,
                                         &helpdesk__v1__ticket__descriptor);
}

/* One case operation (the five requests share their fields) as the team lead. */
static Helpdesk__V1__Ticket *tf__case_op(tf *t, const char *rpc, int64_t id) {
  Helpdesk__V1__CloseTicketRequest close = HELPDESK__V1__CLOSE_TICKET_REQUEST__INIT;
  Helpdesk__V1__CancelTicketRequest cancel = HELPDESK__V1__CANCEL_TICKET_REQUEST__INIT;
  Helpdesk__V1__SuspendTicketRequest suspend = HELPDESK__V1__SUSPEND_TICKET_REQUEST__INIT;
  Helpdesk__V1__RestartTicketRequest restart = HELPDESK__V1__RESTART_TICKET_REQUEST__INIT;
  close.ticket_id = cancel.ticket_id = suspend.ticket_id = restart.ticket_id = id;
  const ProtobufCMessage *req = strcmp(rpc, "CloseTicket") == 0     ? &close.base
                                : strcmp(rpc, "CancelTicket") == 0  ? &cancel.base
                                : strcmp(rpc, "SuspendTicket") == 0 ? &suspend.base
                                                                    : &restart.base;
  return (Helpdesk__V1__Ticket *)tf_must(t, rpc, t->lead, req, &helpdesk__v1__ticket__descriptor);
}

Helpdesk__V1__Ticket *tf_set_status(tf *t, int64_t id, Helpdesk__V1__TicketStatus status) {
  Helpdesk__V1__Ticket *tk = tf_get(t, t->lead, id);
  if (tk->status == status) return tk;
  if (tk->status == TF_STATUS(CLOSED) || tk->status == TF_STATUS(CANCELLED))
    tk = tf__case_op(t, "RestartTicket", id);
  if (tk->status == status) return tk;
  switch (status) {
    case TF_STATUS(PROCESSING): {
      /* Acknowledged by its owner: anyone else's reply would move it to FEEDBACK, and an
       * unowned ticket cannot be PROCESSING. */
      if (!tk->owner_id[0])
        fail_msg("tf_set_status: ticket %" PRId64 " has no owner: assign it first", id);
      char *owner = hd_fixture_token(&t->f, "acme", tk->owner_id, HD_ROLE_AGENT);
      if (!owner) fail_msg("tf_set_status: no token for %s", tk->owner_id);
      Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
      req.ticket_id = id;
      req.intent = HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_ACKNOWLEDGE;
      req.body = "We are looking into it.";
      Helpdesk__V1__ReplyToTicketResponse *r = NULL;
      hd_err err;
      const hd_code code = tf_call(t, "ReplyToTicket", owner, &req.base,
                                   &helpdesk__v1__reply_to_ticket_response__descriptor, &r, &err);
      free(owner);
      if (code != HD_OK) fail_msg("ReplyToTicket: %s: %s", hd_code_name(code), err.msg);
      tk = r->ticket;
      break;
    }
    case TF_STATUS(CLOSED):
      tk = tf__case_op(t, "CloseTicket", id);
      break;
    case TF_STATUS(CANCELLED):
      tk = tf__case_op(t, "CancelTicket", id);
      break;
    case TF_STATUS(SUSPENDED):
      tk = tf__case_op(t, "SuspendTicket", id);
      break;
    default:
      fail_msg("tf_set_status: status %d is not one this helper reaches", (int)status);
  }
  if (tk->status != status)
    fail_msg("tf_set_status: ticket %" PRId64 " is in status %d, not %d", id, (int)tk->status,
             (int)status);
  return tk;
}

Helpdesk__V1__TenantSettings *tf_put_settings(tf *t, Helpdesk__V1__ReminderChannel channel,
                                              const char *target, const char *review_link) {
  Helpdesk__V1__TenantSettings s = HELPDESK__V1__TENANT_SETTINGS__INIT;
  s.reminder_channel = channel;
  s.reminder_target = (char *)target;
  s.review_link = (char *)review_link;
  s.account_verification_optional = true;
  char *all[] = {"*"};
  Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  mask.paths = all;
  mask.n_paths = 1;
  Helpdesk__V1__UpdateTenantSettingsRequest req =
      HELPDESK__V1__UPDATE_TENANT_SETTINGS_REQUEST__INIT;
  req.settings = &s;
  req.update_mask = &mask;
  return (Helpdesk__V1__TenantSettings *)tf_must(t, "UpdateTenantSettings", t->admin, &req.base,
                                                 &helpdesk__v1__tenant_settings__descriptor);
}

int tf_fixture_verification_optional(hd_fixture *f, const char *tenant, bool optional,
                                     hd_err *err) {
  int rc = -1;
  char *admin = hd_fixture_token(f, tenant, "admin-setup", HD_ROLE_TENANT_ADMIN);
  hd_arena *a = hd_arena_new(1u << 20);
  if (!admin || !a) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  Helpdesk__V1__TenantSettings s = HELPDESK__V1__TENANT_SETTINGS__INIT;
  s.account_verification_optional = optional;
  char *path[] = {"account_verification_optional"};
  Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  mask.paths = path;
  mask.n_paths = 1;
  Helpdesk__V1__UpdateTenantSettingsRequest req =
      HELPDESK__V1__UPDATE_TENANT_SETTINGS_REQUEST__INIT;
  req.settings = &s;
  req.update_mask = &mask;
  ProtobufCMessage *resp = NULL;
  if (hd_fixture_call(f, "/helpdesk.v1.TicketService/UpdateTenantSettings", admin, &req.base,
                      &helpdesk__v1__tenant_settings__descriptor, a, &resp, err) != HD_OK)
    goto done;
  rc = 0;
done:
  hd_arena_free(a);
  free(admin);
  return rc;
}

int tf_setup_verification_optional(void **state) {
  if (tf_setup(state) != 0) return -1;
  tf *t = *state;
  hd_err err = {0};
  if (tf_fixture_verification_optional(&t->f, "acme", true, &err) != 0 ||
      tf_fixture_verification_optional(&t->f, "globex", true, &err) != 0) {
    fprintf(stderr, "tf_setup_verification_optional: %s\n", err.msg);
    return -1; /* tf_teardown stops the service */
  }
  return 0;
}

typedef struct tf__change {
  int64_t id;
  const ticket_change *ch;
  int64_t now;
} tf__change;

static int tf__change_tx(hd_db *db, void *arg, hd_err *err) {
  const tf__change *a = arg;
  const ticket_actor sup = {.user_id = "sup-1", .role = "supervisor"};
  return ticket_store_update(db, "acme", a->id, 0, a->ch, a->now, &sup, NULL, NULL, err);
}

void tf_force_change(tf *t, int64_t id, const ticket_change *ch) {
  hd_db *db = tf_db_open(t);
  tf__change a = {.id = id, .ch = ch, .now = tf_now(t)};
  hd_err err = {0};
  const int rc = hd_db_tx(db, tf__change_tx, &a, 0, &err);
  hd_db_close(db);
  if (rc != 0) fail_msg("tf_force_change %" PRId64 ": %s", id, err.msg);
}

/* ---- the service's database ---- */

hd_db *tf_db_open(tf *t) {
  hd_db_config cfg;
  hd_test_db_config(&cfg, t->f.db_name);
  hd_db *db = NULL;
  hd_err err = {0};
  if (hd_db_new(&cfg, &db, &err) != 0) fail_msg("tf_db_open: %s", err.msg);
  return db;
}

/* The fixture's own connection (tf_stop closes it). */
static hd_db *tf__db(tf *t) {
  if (!t->db) t->db = tf_db_open(t);
  return t->db;
}

/* Runs sql; fails the test unless it succeeds. Caller frees the rows. */
static hd_db_rows *tf__query(tf *t, const char *sql) {
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  if (hd_db_query(tf__db(t), sql, NULL, 0, 1000, &rows, &err) != 0)
    fail_msg("%s: %s", sql, err.msg);
  return rows;
}

/* fmt and ap formatted into buf (TF_SQL_MAX); fails the test when it does not fit. */
static void tf__format(char *buf, const char *fmt, va_list ap) {
  const int n = vsnprintf(buf, TF_SQL_MAX, fmt, ap);
  if (n < 0 || n >= TF_SQL_MAX) fail_msg("SQL longer than %d bytes: %.80s...", TF_SQL_MAX, fmt);
}

int64_t tf_sql(tf *t, const char *sql) {
  hd_db_rows *rows = tf__query(t, sql);
  const int64_t v = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  hd_db_rows_free(rows);
  return v;
}

int64_t tf_sqlf(tf *t, const char *fmt, ...) {
  char sql[TF_SQL_MAX];
  va_list ap;
  va_start(ap, fmt);
  tf__format(sql, fmt, ap);
  va_end(ap);
  return tf_sql(t, sql);
}

const char *tf_sqlf_str(tf *t, const char *fmt, ...) {
  char sql[TF_SQL_MAX];
  va_list ap;
  va_start(ap, fmt);
  tf__format(sql, fmt, ap);
  va_end(ap);
  hd_db_rows *rows = tf__query(t, sql);
  const char *v =
      hd_arena_strdup(t->arena, hd_db_rows_count(rows) ? hd_db_str(rows, 0, 0, NULL) : "");
  hd_db_rows_free(rows);
  assert_non_null(v);
  return v;
}

int64_t tf_version(tf *t, int64_t id) {
  return tf_sqlf(t, "SELECT version FROM tickets WHERE id = %" PRId64, id);
}

int64_t tf_events(tf *t, const char *event_type, int64_t id) {
  return tf_sqlf(t,
                 "SELECT COUNT(*) FROM outbox WHERE event_type = '%s' AND aggregate_id = %" PRId64,
                 event_type, id);
}

/* ---- checks ---- */

char *tf_repeat(tf *t, const char *unit, size_t n) {
  const size_t len = strlen(unit);
  char *s = hd_arena_alloc(t->arena, len * n + 1);
  assert_non_null(s);
  for (size_t i = 0; i < n; i++) memcpy(s + i * len, unit, len);
  s[len * n] = '\0';
  return s;
}

char *tf_fingerprint(tf *t) {
  static const char *const tables[] = {
      "tickets",          "ticket_history", "outbox", "idempotency_keys", "comments",
      "internal_records", "attachments",    "tasks",  "follows",          "urges",
      "consents",         "tenant_settings"};
  const size_t cap = 4096;
  size_t used = 0;
  char *out = calloc(1, cap);
  assert_non_null(out);
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char sql[256];
    /* CHECKSUM TABLE ... EXTENDED reads every row: any inserted, deleted or changed row changes
     * it. Its answer is (table, checksum). The outbox leaves out published_at_us, which the relay
     * sets in the background whatever the test does. */
    if (strcmp(tables[i], "outbox") == 0)
      snprintf(sql, sizeof sql,
               "SELECT 'outbox', CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS('|', id, "
               "tenant, aggregate_id, event_type, payload, created_at_us))), 0)) FROM outbox");
    else
      snprintf(sql, sizeof sql, "CHECKSUM TABLE %s EXTENDED", tables[i]);
    hd_db_rows *rows = NULL;
    hd_err err = {0};
    if (hd_db_query(tf__db(t), sql, NULL, 0, 1, &rows, &err) != 0) {
      free(out);
      fail_msg("tf_fingerprint: %s", err.msg);
    }
    const char *sum = hd_db_rows_count(rows) ? hd_db_str(rows, 0, 1, NULL) : "?";
    const int n = snprintf(out + used, cap - used, "%s=%s ", tables[i], sum);
    hd_db_rows_free(rows);
    if (n < 0 || (size_t)n >= cap - used) {
      free(out);
      fail_msg("tf_fingerprint: longer than %zu bytes", cap);
    }
    used += (size_t)n;
  }
  return out;
}

void tf_expect_unchanged_at(tf *t, char *before, const char *file, int line) {
  char *after = tf_fingerprint(t);
  const bool same = strcmp(before, after) == 0;
  if (!same) print_error("the database changed\nbefore: %s\nafter:  %s\n", before, after);
  free(before);
  free(after);
  if (!same) _fail(file, line);
}

/* Whether got is want with msg_part (NULL: any) in the message; says what differs when not. */
static bool tf__code_is(hd_code got, const hd_err *err, hd_code want, const char *msg_part,
                        const char *what) {
  if (got == want && (!msg_part || strstr(err->msg, msg_part))) return true;
  print_error("%s: want %s \"%s\", got %s \"%s\"\n", what, hd_code_name(want),
              msg_part ? msg_part : "", hd_code_name(got), err->msg);
  return false;
}

void tf_expect_code_at(hd_code got, const hd_err *err, hd_code want, const char *msg_part,
                       const char *file, int line) {
  if (!tf__code_is(got, err, want, msg_part, "call")) _fail(file, line);
}

void tf_expect_err_has_at(const tf *t, const char *text, const char *file, int line) {
  if (strstr(t->err.msg, text)) return;
  print_error("error \"%s\" does not mention \"%s\"\n", t->err.msg, text);
  _fail(file, line);
}

void tf_call_refused_at(tf *t, const char *rpc, const char *token, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *resp_desc, hd_code want,
                        const char *msg_part, const char *file, int line) {
  char *before = tf_fingerprint(t);
  const hd_code got = tf_call(t, rpc, token, req, resp_desc, NULL, NULL);
  if (!tf__code_is(got, &t->err, want, msg_part, rpc)) {
    free(before);
    _fail(file, line);
  }
  tf_expect_unchanged_at(t, before, file, line);
}

void tf_refused_at(tf *t, char *before, hd_code got, hd_code want, const char *what,
                   const char *file, int line) {
  if (!tf__code_is(got, &t->err, want, NULL, what)) {
    free(before);
    _fail(file, line);
  }
  tf_expect_unchanged_at(t, before, file, line);
}

void tf_ok_at(const tf *t, hd_code got, const char *what, const char *file, int line) {
  if (!tf__code_is(got, &t->err, HD_OK, NULL, what)) _fail(file, line);
}
