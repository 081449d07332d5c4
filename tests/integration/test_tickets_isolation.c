/* Tenants, users and keys compare exactly: a token whose tenant or subject has whitespace at an
 * end is UNAUTHENTICATED, a tenant that differs only in case is another tenant, a request field
 * naming an id, key or department with whitespace or a control character at an end is
 * INVALID_ARGUMENT (and writes nothing), and the database itself tells 'acme' from 'acme '
 * (every text column NO PAD). Each call prints one line: who, the request, the answer. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ticket_fixture.h"

#define ISO_LINE_MAX 1024 /* one printed request or answer */

/* ---- printing: one line per call ---- */

/* s quoted, with every byte outside printable ASCII written \xNN, appended to buf[*used..cap). */
static void iso__quote(const char *s, char *buf, size_t cap, size_t *used) {
  int n = snprintf(buf + *used, cap - *used, "\"");
  for (const unsigned char *p = (const unsigned char *)s; n >= 0 && *p; p++) {
    if (*used + (size_t)n >= cap) break;
    *used += (size_t)n;
    n = *p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\'
            ? snprintf(buf + *used, cap - *used, "\\x%02x", *p)
            : snprintf(buf + *used, cap - *used, "%c", *p);
  }
  if (n >= 0 && *used + (size_t)n < cap) *used += (size_t)n;
  n = snprintf(buf + *used, cap - *used, "\"");
  if (n >= 0 && *used + (size_t)n < cap) *used += (size_t)n;
}

/* The fields of m that are set (strings, integers, enums, bools, nested messages), as
 * "Name{field=value, ...}", appended to buf. */
static void iso__message(const ProtobufCMessage *m, char *buf, size_t cap, size_t *used) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  const char *sep = "";
  int n = snprintf(buf + *used, cap - *used, "%s{", d->short_name);
  if (n > 0 && *used + (size_t)n < cap) *used += (size_t)n;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *at = (const char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) continue;
    char value[ISO_LINE_MAX];
    size_t vu = 0;
    value[0] = '\0';
    if (f->type == PROTOBUF_C_TYPE_STRING) {
      const char *s = *(char *const *)at;
      if (!s || !*s) continue;
      iso__quote(s, value, sizeof value, &vu);
    } else if (f->type == PROTOBUF_C_TYPE_INT64) {
      const int64_t v = *(const int64_t *)at;
      if (v == 0) continue;
      snprintf(value, sizeof value, "%" PRId64, v);
    } else if (f->type == PROTOBUF_C_TYPE_ENUM) {
      const int v = *(const int *)at;
      const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
      if (v == 0) continue;
      snprintf(value, sizeof value, "%s", e ? e->name : "?");
    } else if (f->type == PROTOBUF_C_TYPE_BOOL) {
      if (!*(const protobuf_c_boolean *)at) continue;
      snprintf(value, sizeof value, "true");
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      const ProtobufCMessage *sub = *(ProtobufCMessage *const *)at;
      if (!sub) continue;
      iso__message(sub, value, sizeof value, &vu);
    } else {
      continue;
    }
    n = snprintf(buf + *used, cap - *used, "%s%s=%s", sep, f->name, value);
    if (n > 0 && *used + (size_t)n < cap) *used += (size_t)n;
    sep = ", ";
  }
  n = snprintf(buf + *used, cap - *used, "}");
  if (n > 0 && *used + (size_t)n < cap) *used += (size_t)n;
}

/* A reply, short: a ticket, record or task by id (and tenant, customer, owner when it has them);
 * a list by how many items and their ids. */
static void iso__answer(const ProtobufCMessage *m, char *buf, size_t cap, size_t *used) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  int n = snprintf(buf + *used, cap - *used, "%s", d->short_name);
  if (n > 0 && *used + (size_t)n < cap) *used += (size_t)n;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *at = (const char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE) {
      const size_t count = *(const size_t *)((const char *)m + f->quantifier_offset);
      ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)at;
      n = snprintf(buf + *used, cap - *used, " %zu %s [", count, f->name);
      if (n > 0 && *used + (size_t)n < cap) *used += (size_t)n;
      for (size_t k = 0; k < count; k++) {
        const ProtobufCFieldDescriptor *id =
            protobuf_c_message_descriptor_get_field_by_name(items[k]->descriptor, "id");
        if (!id) continue;
        n = snprintf(buf + *used, cap - *used, "%s%" PRId64, k ? " " : "",
                     *(const int64_t *)((const char *)items[k] + id->offset));
        if (n > 0 && *used + (size_t)n < cap) *used += (size_t)n;
      }
      n = snprintf(buf + *used, cap - *used, "]");
      if (n > 0 && *used + (size_t)n < cap) *used += (size_t)n;
    } else if (f->label != PROTOBUF_C_LABEL_REPEATED &&
               (strcmp(f->name, "id") == 0 || strcmp(f->name, "tenant") == 0 ||
                strcmp(f->name, "customer_id") == 0 || strcmp(f->name, "owner_id") == 0)) {
      if (f->type == PROTOBUF_C_TYPE_INT64) {
        n = snprintf(buf + *used, cap - *used, " %s=%" PRId64, f->name, *(const int64_t *)at);
        if (n > 0 && *used + (size_t)n < cap) *used += (size_t)n;
      } else if (f->type == PROTOBUF_C_TYPE_STRING && *(char *const *)at) {
        n = snprintf(buf + *used, cap - *used, " %s=", f->name);
        if (n > 0 && *used + (size_t)n < cap) *used += (size_t)n;
        iso__quote(*(char *const *)at, buf, cap, used);
      }
    }
  }
}

/* Calls rpc as token (tf_call: the message in t->err) and prints one line: who (tenant and user,
 * as the token says), the request, the answer (code and message, or the reply in short). */
static hd_code iso_call(tf *t, const char *tenant, const char *user, const char *rpc,
                        const char *token, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *resp_desc, void *resp) {
  ProtobufCMessage *out = NULL;
  const hd_code code = tf_call(t, rpc, token, req, resp_desc, &out, NULL);
  char line[ISO_LINE_MAX * 2];
  size_t used = 0;
  line[0] = '\0';
  int n = snprintf(line, sizeof line, "isolation: tenant=");
  if (n > 0) used = (size_t)n;
  iso__quote(tenant, line, sizeof line, &used);
  n = snprintf(line + used, sizeof line - used, " sub=");
  if (n > 0 && used + (size_t)n < sizeof line) used += (size_t)n;
  iso__quote(user, line, sizeof line, &used);
  n = snprintf(line + used, sizeof line - used, " %s ", rpc);
  if (n > 0 && used + (size_t)n < sizeof line) used += (size_t)n;
  iso__message(req, line, sizeof line, &used);
  n = snprintf(line + used, sizeof line - used, " -> %s", hd_code_name(code));
  if (n > 0 && used + (size_t)n < sizeof line) used += (size_t)n;
  if (code == HD_OK) {
    n = snprintf(line + used, sizeof line - used, " ");
    if (n > 0 && used + (size_t)n < sizeof line) used += (size_t)n;
    iso__answer(out, line, sizeof line, &used);
  } else {
    snprintf(line + used, sizeof line - used, ": %s", t->err.msg);
  }
  printf("%s\n", line);
  fflush(stdout);
  if (resp) *(ProtobufCMessage **)resp = out;
  return code;
}

/* ---- requests ---- */

static Helpdesk__V1__CreateTicketRequest create_req(const char *key, const char *customer_id) {
  Helpdesk__V1__CreateTicketRequest r = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  r.idempotency_key = (char *)key;
  r.customer_id = (char *)customer_id;
  r.subject = "Website down";
  r.description = "The site answers 502 since this morning.";
  r.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  r.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL;
  return r;
}

static hd_code get_ticket(tf *t, const char *tenant, const char *user, const char *token,
                          int64_t id, Helpdesk__V1__Ticket **out) {
  Helpdesk__V1__GetTicketRequest r = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  r.ticket_id = id;
  return iso_call(t, tenant, user, "GetTicket", token, &r.base, &helpdesk__v1__ticket__descriptor,
                  out);
}

static hd_code list_tickets(tf *t, const char *tenant, const char *user, const char *token,
                            Helpdesk__V1__ListTicketsResponse **out) {
  Helpdesk__V1__ListTicketsRequest r = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  return iso_call(t, tenant, user, "ListTickets", token, &r.base,
                  &helpdesk__v1__list_tickets_response__descriptor, out);
}

static hd_code list_records(tf *t, const char *tenant, const char *user, const char *token,
                            int64_t id, Helpdesk__V1__ListInternalRecordsResponse **out) {
  Helpdesk__V1__ListInternalRecordsRequest r = HELPDESK__V1__LIST_INTERNAL_RECORDS_REQUEST__INIT;
  r.ticket_id = id;
  return iso_call(t, tenant, user, "ListInternalRecords", token, &r.base,
                  &helpdesk__v1__list_internal_records_response__descriptor, out);
}

/* A ticket of acme's cust-1, owned by agent-1, with one internal record by acme's tenant admin. */
static int64_t acme_ticket_with_a_record(tf *t) {
  const int64_t id = tf_create(t, t->customer, NULL, "Website down")->id;
  tf_assign(t, id, "agent-1");
  Helpdesk__V1__AddInternalRecordRequest r = HELPDESK__V1__ADD_INTERNAL_RECORD_REQUEST__INIT;
  r.ticket_id = id;
  r.body = "Customer's DNS points to the old server.";
  tf_must(t, "AddInternalRecord", t->admin, &r.base, &helpdesk__v1__internal_record__descriptor);
  return id;
}

/* Fails the test unless code is want and t->err's message has part. */
static void expect(hd_code code, const tf *t, hd_code want, const char *part) {
  tf_expect_code(code, &t->err, want, part);
}

/* ---- tokens ---- */

static void test_token_tenant_with_whitespace_at_an_end_is_unauthenticated(void **state) {
  tf *t = *state;
  const int64_t id = acme_ticket_with_a_record(t);
  const unsigned all = HD_ROLE_AGENT | HD_ROLE_SUPERVISOR | HD_ROLE_TENANT_ADMIN;
  const char *tenants[] = {"acme ", " acme", "acme  "};
  for (size_t i = 0; i < sizeof tenants / sizeof tenants[0]; i++) {
    char *tok = hd_fixture_token(&t->f, tenants[i], "admin-1", all);
    expect(get_ticket(t, tenants[i], "admin-1", tok, id, NULL), t, HD_UNAUTHENTICATED,
           "whitespace");
    expect(list_tickets(t, tenants[i], "admin-1", tok, NULL), t, HD_UNAUTHENTICATED,
           "token tenant");
    expect(list_records(t, tenants[i], "admin-1", tok, id, NULL), t, HD_UNAUTHENTICATED,
           "token tenant");
    free(tok);
  }
  /* acme's own tenant admin reads the record the refused tokens could not. */
  Helpdesk__V1__ListInternalRecordsResponse *l = NULL;
  expect(list_records(t, "acme", "admin-1", t->admin, id, &l), t, HD_OK, NULL);
  assert_int_equal(l->n_records, 1);
}

static void test_token_tenant_differing_only_in_case_is_another_tenant(void **state) {
  tf *t = *state;
  const int64_t id = acme_ticket_with_a_record(t);
  char *tok = hd_fixture_token(&t->f, "ACME", "admin-1",
                               HD_ROLE_AGENT | HD_ROLE_SUPERVISOR | HD_ROLE_TENANT_ADMIN);
  Helpdesk__V1__ListTicketsResponse *l = NULL;
  expect(get_ticket(t, "ACME", "admin-1", tok, id, NULL), t, HD_NOT_FOUND, "not found");
  expect(list_tickets(t, "ACME", "admin-1", tok, &l), t, HD_OK, NULL);
  assert_int_equal(l->n_tickets, 0);
  expect(list_records(t, "ACME", "admin-1", tok, id, NULL), t, HD_NOT_FOUND, "not found");
  Helpdesk__V1__AddInternalRecordRequest r = HELPDESK__V1__ADD_INTERNAL_RECORD_REQUEST__INIT;
  r.ticket_id = id;
  r.body = "written by another tenant";
  char *before = tf_fingerprint(t);
  expect(iso_call(t, "ACME", "admin-1", "AddInternalRecord", tok, &r.base,
                  &helpdesk__v1__internal_record__descriptor, NULL),
         t, HD_NOT_FOUND, "not found");
  tf_expect_unchanged(t, before);
  /* The same calls as acme: the ticket is there. */
  expect(get_ticket(t, "acme", "admin-1", t->admin, id, NULL), t, HD_OK, NULL);
  expect(list_tickets(t, "acme", "admin-1", t->admin, &l), t, HD_OK, NULL);
  assert_int_equal(l->n_tickets, 1);
  free(tok);
}

static void test_token_customer_with_whitespace_at_an_end_is_unauthenticated(void **state) {
  tf *t = *state;
  const int64_t id = tf_create(t, t->customer, NULL, "Website down")->id;
  const char *users[] = {"cust-1 ", " cust-1"};
  for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
    char *tok = hd_fixture_token(&t->f, "acme", users[i], HD_ROLE_CUSTOMER);
    expect(list_tickets(t, "acme", users[i], tok, NULL), t, HD_UNAUTHENTICATED, "token subject");
    expect(get_ticket(t, "acme", users[i], tok, id, NULL), t, HD_UNAUTHENTICATED, "whitespace");
    free(tok);
  }
  Helpdesk__V1__ListTicketsResponse *l = NULL;
  expect(list_tickets(t, "acme", "cust-1", t->customer, &l), t, HD_OK, NULL);
  assert_int_equal(l->n_tickets, 1);
}

/* ---- idempotency keys ---- */

static void test_idempotency_keys_differing_only_in_case_open_two_tickets(void **state) {
  tf *t = *state;
  Helpdesk__V1__CreateTicketRequest upper = create_req("K", NULL);
  Helpdesk__V1__CreateTicketRequest lower = create_req("k", NULL);
  Helpdesk__V1__Ticket *a = NULL, *b = NULL, *again = NULL;
  expect(iso_call(t, "acme", "cust-1", "CreateTicket", t->customer, &upper.base,
                  &helpdesk__v1__ticket__descriptor, &a),
         t, HD_OK, NULL);
  expect(iso_call(t, "acme", "cust-1", "CreateTicket", t->customer, &lower.base,
                  &helpdesk__v1__ticket__descriptor, &b),
         t, HD_OK, NULL);
  assert_int_not_equal(a->id, b->id);
  expect(iso_call(t, "acme", "cust-1", "CreateTicket", t->customer, &lower.base,
                  &helpdesk__v1__ticket__descriptor, &again),
         t, HD_OK, NULL);
  assert_int_equal(again->id, b->id);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tickets"), 2);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM idempotency_keys"), 2);
}

static void test_idempotency_key_with_whitespace_or_a_control_at_an_end_is_invalid_argument(
    void **state) {
  tf *t = *state;
  Helpdesk__V1__CreateTicketRequest first = create_req("k", NULL);
  Helpdesk__V1__Ticket *a = NULL;
  expect(iso_call(t, "acme", "cust-1", "CreateTicket", t->customer, &first.base,
                  &helpdesk__v1__ticket__descriptor, &a),
         t, HD_OK, NULL);
  /* space, leading space, tab, DEL, C1 control, no-break space, zero-width space, BOM */
  const char *keys[] = {"k ",        " k",        "k\t",           "k\x7f",        "k\n",
                        "k\xc2\x85", "k\xc2\xa0", "\xe2\x80\x8bk", "\xef\xbb\xbfk"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    Helpdesk__V1__CreateTicketRequest r = create_req(keys[i], NULL);
    TF_REFUSED(t, HD_INVALID_ARGUMENT,
               iso_call(t, "acme", "cust-1", "CreateTicket", t->customer, &r.base,
                        &helpdesk__v1__ticket__descriptor, NULL));
    tf_expect_err_has(t, "idempotency_key");
  }
  /* Inside a key, a space is just a character. */
  Helpdesk__V1__CreateTicketRequest inner = create_req("k k", NULL);
  Helpdesk__V1__Ticket *b = NULL;
  expect(iso_call(t, "acme", "cust-1", "CreateTicket", t->customer, &inner.base,
                  &helpdesk__v1__ticket__descriptor, &b),
         t, HD_OK, NULL);
  assert_int_not_equal(a->id, b->id);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tickets"), 2);
}

/* ---- every identifier field of a request ---- */

static void expect_field_refused(tf *t, const char *rpc, const char *token,
                                 const ProtobufCMessage *req,
                                 const ProtobufCMessageDescriptor *resp_desc, const char *field) {
  TF_REFUSED(t, HD_INVALID_ARGUMENT,
             iso_call(t, "acme", "lead-1", rpc, token, req, resp_desc, NULL));
  tf_expect_err_has(t, field);
  tf_expect_err_has(t, "whitespace");
}

static void test_identifier_fields_with_whitespace_at_an_end_are_invalid_argument(void **state) {
  tf *t = *state;
  const int64_t id = tf_create(t, t->customer, NULL, "Website down")->id;
  tf_assign(t, id, "agent-1");
  Helpdesk__V1__CreateTaskRequest ct = HELPDESK__V1__CREATE_TASK_REQUEST__INIT;
  ct.ticket_id = id;
  ct.title = "Check the DNS";
  ct.department = "billing";
  const Helpdesk__V1__Task *task = (const Helpdesk__V1__Task *)tf_must(
      t, "CreateTask", t->lead, &ct.base, &helpdesk__v1__task__descriptor);

  Helpdesk__V1__CreateTicketRequest cr = create_req("key-1", "cust-1 ");
  expect_field_refused(t, "CreateTicket", t->lead, &cr.base, &helpdesk__v1__ticket__descriptor,
                       "customer_id");
  cr = create_req("key-1", "cust-1");
  cr.department = " billing";
  expect_field_refused(t, "CreateTicket", t->lead, &cr.base, &helpdesk__v1__ticket__descriptor,
                       "department");

  const ProtobufCMessageDescriptor *list_d = &helpdesk__v1__list_tickets_response__descriptor;
  Helpdesk__V1__ListTicketsRequest lr = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  lr.owner_id = "agent-1 ";
  expect_field_refused(t, "ListTickets", t->lead, &lr.base, list_d, "owner_id");
  lr.owner_id = "";
  lr.customer_id = "cust-1 ";
  expect_field_refused(t, "ListTickets", t->lead, &lr.base, list_d, "customer_id");
  lr.customer_id = "";
  lr.department = "billing ";
  expect_field_refused(t, "ListTickets", t->lead, &lr.base, list_d, "department");

  Helpdesk__V1__TransferTicketRequest tr = HELPDESK__V1__TRANSFER_TICKET_REQUEST__INIT;
  tr.ticket_id = id;
  tr.new_owner_id = "agent-2 ";
  expect_field_refused(t, "TransferTicket", t->lead, &tr.base, &helpdesk__v1__ticket__descriptor,
                       "new_owner_id");
  tr.new_owner_id = "agent-2";
  tr.department = "billing\t";
  expect_field_refused(t, "TransferTicket", t->lead, &tr.base, &helpdesk__v1__ticket__descriptor,
                       "department");

  Helpdesk__V1__AssignTicketRequest ar = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  ar.ticket_id = id;
  ar.owner_id = " agent-2";
  expect_field_refused(t, "AssignTicket", t->lead, &ar.base, &helpdesk__v1__ticket__descriptor,
                       "owner_id");
  ar.owner_id = "agent-2";
  ar.department = "billing ";
  expect_field_refused(t, "AssignTicket", t->lead, &ar.base, &helpdesk__v1__ticket__descriptor,
                       "department");

  ct.department = "billing ";
  expect_field_refused(t, "CreateTask", t->lead, &ct.base, &helpdesk__v1__task__descriptor,
                       "department");
  ct.department = "billing";
  ct.assignee_id = "agent-2 ";
  expect_field_refused(t, "CreateTask", t->lead, &ct.base, &helpdesk__v1__task__descriptor,
                       "assignee_id");

  Helpdesk__V1__UpdateTaskRequest ut = HELPDESK__V1__UPDATE_TASK_REQUEST__INIT;
  ut.ticket_id = id;
  ut.task_id = task->id;
  ut.department = " billing";
  expect_field_refused(t, "UpdateTask", t->lead, &ut.base, &helpdesk__v1__task__descriptor,
                       "department");
  ut.department = "";
  ut.assignee_id = "agent-2 ";
  expect_field_refused(t, "UpdateTask", t->lead, &ut.base, &helpdesk__v1__task__descriptor,
                       "assignee_id");
}

/* ---- the store ---- */

static void exec_sql(hd_db *db, const char *sql, const hd_db_param *p, size_t n) {
  hd_err err;
  if (hd_db_exec(db, sql, p, n, NULL, NULL, &err) != 0)
    fail_msg("%s: %s: %s", sql, hd_code_name(err.code), err.msg);
}

/* Rows written straight through SQL, with bound parameters as the service writes them: tenants,
 * customers, owners, followers and keys that differ only by a trailing space are different rows,
 * found apart, and unique keys hold both. */
static void test_the_database_tells_acme_from_acme_with_a_trailing_space(void **state) {
  tf *t = *state;
  hd_db *db = tf_db_open(t);
  static const char ticket_sql[] =
      "INSERT INTO tickets (tenant, customer_id, subject, title, description, service_type, "
      "issue_type, status, owner_id, department, created_at_us, updated_at_us) "
      "VALUES (?, ?, 's', 't', 'd', 'SHARED', 'TECHNICAL', 'PROCESSING', ?, ?, 1, 1)";
  const hd_db_param exact[] = {hd_db_text("acme"), hd_db_text("cust-1"), hd_db_text("agent-1"),
                               hd_db_text("billing")};
  const hd_db_param padded[] = {hd_db_text("acme "), hd_db_text("cust-1 "), hd_db_text("agent-1 "),
                                hd_db_text("billing ")};
  exec_sql(db, ticket_sql, exact, 4);
  exec_sql(db, ticket_sql, padded, 4);
  const hd_db_param p = hd_db_text("acme");
  hd_db_rows *rows = NULL;
  hd_err err;
  assert_int_equal(hd_db_query(db,
                               "SELECT COUNT(*), SUM(customer_id = 'cust-1'), "
                               "SUM(owner_id = 'agent-1'), SUM(department = 'billing') "
                               "FROM tickets WHERE tenant = ?",
                               &p, 1, 1, &rows, &err),
                   0);
  printf("isolation: SQL tickets WHERE tenant = 'acme' -> %" PRId64 " row(s)\n",
         hd_db_i64(rows, 0, 0));
  assert_int_equal(hd_db_i64(rows, 0, 0), 1);
  assert_int_equal(hd_db_i64(rows, 0, 1), 1);
  assert_int_equal(hd_db_i64(rows, 0, 2), 1);
  assert_int_equal(hd_db_i64(rows, 0, 3), 1);
  hd_db_rows_free(rows);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tickets WHERE tenant = 'acme '"), 1);
  assert_int_equal(tf_sql(t, "SELECT COUNT(DISTINCT tenant) FROM tickets"), 2);

  /* Keys and followers: both rows fit under the primary key. */
  static const char key_sql[] =
      "INSERT INTO idempotency_keys (tenant, caller_id, idem_key, "
      "request_hash, result_id, created_at_us) VALUES (?, ?, ?, ?, 1, 1)";
  const char *hash = "0000000000000000000000000000000000000000000000000000000000000000";
  const hd_db_param k1[] = {hd_db_text("acme"), hd_db_text("cust-1"), hd_db_text("k"),
                            hd_db_text(hash)};
  const hd_db_param k2[] = {hd_db_text("acme"), hd_db_text("cust-1"), hd_db_text("k "),
                            hd_db_text(hash)};
  exec_sql(db, key_sql, k1, 4);
  exec_sql(db, key_sql, k2, 4);
  printf("isolation: SQL idempotency_keys 'k' and 'k ' -> %" PRId64 " row(s)\n",
         tf_sql(t, "SELECT COUNT(*) FROM idempotency_keys"));
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'k'"), 1);
  static const char follow_sql[] =
      "INSERT INTO follows (ticket_id, agent_id, tenant, created_at_us) VALUES (1, ?, 'acme', 1)";
  const hd_db_param f1 = hd_db_text("agent-1"), f2 = hd_db_text("agent-1 ");
  exec_sql(db, follow_sql, &f1, 1);
  exec_sql(db, follow_sql, &f2, 1);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM follows WHERE agent_id = 'agent-1'"), 1);
  hd_db_close(db);
}

/* Every text column of every table of the service's database (the kit's included) has a NO PAD
 * binary collation, so no comparison, join or unique key can ignore a trailing space; only the
 * migration runner's own bookkeeping tables are left out. */
static void test_every_text_column_compares_byte_for_byte(void **state) {
  tf *t = *state;
  static const char where[] =
      "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
      "AND COLLATION_NAME IS NOT NULL AND TABLE_NAME NOT LIKE '%schema_migrations' "
      "AND COLLATION_NAME NOT IN ('utf8mb4_nopad_bin', 'ascii_nopad_bin')";
  char sql[512];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) %s", where);
  const int64_t padded = tf_sql(t, sql);
  if (padded != 0) {
    snprintf(sql, sizeof sql,
             "SELECT GROUP_CONCAT(CONCAT(TABLE_NAME, '.', COLUMN_NAME, ' ', COLLATION_NAME) "
             "SEPARATOR ', ') %s",
             where);
    fail_msg("%" PRId64 " column(s) compare with padding: %s", padded, tf_sqlf_str(t, "%s", sql));
  }
  /* And the tables' defaults, so that a column added later is exact too. */
  assert_int_equal(tf_sql(t,
                          "SELECT COUNT(*) FROM information_schema.TABLES "
                          "WHERE TABLE_SCHEMA = DATABASE() "
                          "AND TABLE_NAME NOT LIKE '%schema_migrations' "
                          "AND TABLE_COLLATION <> 'utf8mb4_nopad_bin'"),
                   0);
  assert_true(tf_sql(t,
                     "SELECT COUNT(*) FROM information_schema.TABLES "
                     "WHERE TABLE_SCHEMA = DATABASE()") >= 14);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)
      T(test_token_tenant_with_whitespace_at_an_end_is_unauthenticated),
      T(test_token_tenant_differing_only_in_case_is_another_tenant),
      T(test_token_customer_with_whitespace_at_an_end_is_unauthenticated),
      T(test_idempotency_keys_differing_only_in_case_open_two_tickets),
      T(test_idempotency_key_with_whitespace_or_a_control_at_an_end_is_invalid_argument),
      T(test_identifier_fields_with_whitespace_at_an_end_are_invalid_argument),
      T(test_the_database_tells_acme_from_acme_with_a_trailing_space),
      T(test_every_text_column_compares_byte_for_byte),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
