/* CreateTicket, GetTicket and ListTickets through real gRPC against the in-process ticket
 * service: who may open a ticket for whom, every field limit at its edge and one past it,
 * idempotent retries (also 8 at once with one key), a customer never seeing another's ticket,
 * tenants kept apart, the list's order, filters and page tokens. Every refused call is checked
 * to leave the database unchanged (tf_fingerprint). */
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
#include <unistd.h>

#include <cmocka.h>

#include "ticket_fixture.h"

#define RPC_PREFIX "/helpdesk.v1.TicketService/"

/* ---- fixture and helpers ---- */

static Helpdesk__V1__CreateTicketRequest create_req(const char *key, const char *customer_id,
                                                    const char *subject) {
  Helpdesk__V1__CreateTicketRequest r = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  r.idempotency_key = (char *)key;
  r.customer_id = (char *)customer_id;
  r.subject = (char *)subject;
  r.description = "The control panel says my disk is full, but I deleted 2 GB yesterday.";
  r.product = "Web Hosting Pro";
  r.brand = "Acme Hosting";
  r.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  r.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL;
  return r;
}

static hd_code create(tf *t, const char *token, const Helpdesk__V1__CreateTicketRequest *r,
                      Helpdesk__V1__Ticket **out, hd_err *err) {
  return tf_call(t, "CreateTicket", token, &r->base, &helpdesk__v1__ticket__descriptor, out, err);
}

static Helpdesk__V1__Ticket *create_ok(tf *t, const char *token,
                                       const Helpdesk__V1__CreateTicketRequest *r) {
  Helpdesk__V1__Ticket *out = NULL;
  hd_err err;
  const hd_code code = create(t, token, r, &out, &err);
  if (code != HD_OK) fail_msg("CreateTicket: %s: %s", hd_code_name(code), err.msg);
  return out;
}

static void expect_create_refused(tf *t, const char *token,
                                  const Helpdesk__V1__CreateTicketRequest *r, hd_code code,
                                  const char *msg_part) {
  tf_call_refused(t, "CreateTicket", token, &r->base, &helpdesk__v1__ticket__descriptor, code,
                  msg_part);
}

static hd_code list(tf *t, const char *token, const Helpdesk__V1__ListTicketsRequest *r,
                    Helpdesk__V1__ListTicketsResponse **out, hd_err *err) {
  return tf_call(t, "ListTickets", token, &r->base,
                 &helpdesk__v1__list_tickets_response__descriptor, out, err);
}

static Helpdesk__V1__ListTicketsResponse *list_ok(tf *t, const char *token,
                                                  const Helpdesk__V1__ListTicketsRequest *r) {
  Helpdesk__V1__ListTicketsResponse *out = NULL;
  hd_err err;
  const hd_code code = list(t, token, r, &out, &err);
  if (code != HD_OK) fail_msg("ListTickets: %s: %s", hd_code_name(code), err.msg);
  assert_non_null(out->page);
  return out;
}

static int64_t count_tickets(tf *t) { return tf_sql(t, "SELECT COUNT(*) FROM tickets"); }

/* ---- who opens a ticket for whom ---- */

static void test_customer_creates_a_ticket_for_themself_in_pending_response(void **state) {
  tf *t = *state;
  Helpdesk__V1__CreateTicketRequest r = create_req("c-1", "", "Disk full after cleanup");
  r.department = "technical";
  Helpdesk__V1__Ticket *c = create_ok(t, t->customer, &r);
  assert_true(c->id > 0);
  assert_string_equal(c->tenant, "acme");
  assert_string_equal(c->customer_id, "cust-1");
  assert_string_equal(c->subject, "Disk full after cleanup");
  assert_string_equal(c->title, "Disk full after cleanup");
  assert_string_equal(c->description, r.description);
  assert_string_equal(c->product, "Web Hosting Pro");
  assert_string_equal(c->brand, "Acme Hosting");
  assert_string_equal(c->department, "technical");
  assert_string_equal(c->owner_id, "");
  assert_int_equal(c->service_type, HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED);
  assert_int_equal(c->issue_type, HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL);
  assert_int_equal(c->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE);
  assert_int_equal(c->version, 1);
  assert_int_equal(c->level, 1);
  assert_int_equal(c->create_time_us, hd_clock_now_us(&t->f.clock));
  assert_false(c->followed);

  /* Naming themself is the same as leaving customer_id empty. */
  Helpdesk__V1__CreateTicketRequest own = create_req("c-2", "cust-1", "Second question");
  assert_string_equal(create_ok(t, t->customer, &own)->customer_id, "cust-1");

  Helpdesk__V1__Ticket *g = tf_get(t, t->customer, c->id);
  assert_int_equal(g->id, c->id);
  assert_string_equal(g->description, r.description);
  assert_int_equal(count_tickets(t), 2);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM outbox WHERE event_type = 'ticket.created'"), 2);
}

static void test_staff_and_services_create_on_a_customers_behalf(void **state) {
  tf *t = *state;
  Helpdesk__V1__CreateTicketRequest by_agent = create_req("a-1", "cust-2", "Phoned in: no email");
  Helpdesk__V1__Ticket *a = create_ok(t, t->agent, &by_agent);
  assert_string_equal(a->customer_id, "cust-2");
  assert_int_equal(tf_sql(t,
                          "SELECT COUNT(*) FROM ticket_history WHERE actor_id = 'agent-1' AND "
                          "actor_role = 'agent' AND action = 'CREATE'"),
                   1);
  Helpdesk__V1__CreateTicketRequest by_service = create_req("s-1", "cust-3", "From the portal");
  assert_string_equal(create_ok(t, t->service, &by_service)->customer_id, "cust-3");
  /* The customer it was opened for sees it as their own. */
  assert_int_equal(tf_get(t, t->customer2, a->id)->id, a->id);

  Helpdesk__V1__CreateTicketRequest nobody = create_req("a-2", "", "For whom?");
  expect_create_refused(t, t->agent, &nobody, HD_INVALID_ARGUMENT, "customer_id is required");
  expect_create_refused(t, t->service, &nobody, HD_INVALID_ARGUMENT, "customer_id is required");
  assert_int_equal(count_tickets(t), 2);
}

static void test_customer_cannot_open_a_ticket_for_another_customer(void **state) {
  tf *t = *state;
  Helpdesk__V1__CreateTicketRequest r = create_req("x-1", "cust-2", "On behalf of a friend");
  expect_create_refused(t, t->customer, &r, HD_PERMISSION_DENIED,
                        "leave customer_id empty or set it to \"cust-1\"");
  assert_int_equal(count_tickets(t), 0);
}

/* ---- field limits ---- */

typedef struct text_limit {
  const char *field;
  size_t offset;           /* of the char * in CreateTicketRequest */
  size_t offset_in_ticket; /* of the same value in Ticket; 0 = not in the ticket */
  size_t max;
  const char *unit; /* one character, multi-byte where the column must count characters */
} text_limit;

#define REQ_FIELD(f)    offsetof(Helpdesk__V1__CreateTicketRequest, f)
#define TICKET_FIELD(f) offsetof(Helpdesk__V1__Ticket, f)

static void test_every_text_field_is_accepted_at_its_limit_and_refused_one_past_it(void **state) {
  tf *t = *state;
  static const text_limit limits[] = {
      {"idempotency_key", REQ_FIELD(idempotency_key), 0, 128, "к"},
      {"customer_id", REQ_FIELD(customer_id), TICKET_FIELD(customer_id), 128, "c"},
      {"subject", REQ_FIELD(subject), TICKET_FIELD(subject), 200, "日"},
      {"description", REQ_FIELD(description), TICKET_FIELD(description), 20000, "😀"},
      {"product", REQ_FIELD(product), TICKET_FIELD(product), 100, "é"},
      {"brand", REQ_FIELD(brand), TICKET_FIELD(brand), 100, "b"},
      {"department", REQ_FIELD(department), TICKET_FIELD(department), 64, "ü"},
  };
  int64_t made = 0;
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
    const text_limit *l = &limits[i];
    char key_edge[64], key_past[64], msg[128];
    snprintf(key_edge, sizeof key_edge, "edge-%s", l->field);
    snprintf(key_past, sizeof key_past, "past-%s", l->field);
    /* Staff name the customer, so customer_id can be any length; an agent calls throughout. */
    Helpdesk__V1__CreateTicketRequest edge = create_req(key_edge, "cust-1", "Limits");
    char *value = tf_repeat(t, l->unit, l->max);
    *(char **)((char *)&edge + l->offset) = value;
    Helpdesk__V1__Ticket *c = create_ok(t, t->agent, &edge);
    made++;
    if (l->offset_in_ticket) {
      Helpdesk__V1__Ticket *g = tf_get(t, t->agent, c->id);
      assert_string_equal(*(char **)((char *)g + l->offset_in_ticket), value);
    }

    Helpdesk__V1__CreateTicketRequest past = create_req(key_past, "cust-1", "Limits");
    *(char **)((char *)&past + l->offset) = tf_repeat(t, l->unit, l->max + 1);
    snprintf(msg, sizeof msg, "%s has %zu characters; at most %zu are allowed", l->field,
             l->max + 1, l->max);
    expect_create_refused(t, t->agent, &past, HD_INVALID_ARGUMENT, msg);
  }
  assert_int_equal(count_tickets(t), made);
}

static void test_multibyte_subject_of_exactly_200_characters_round_trips(void **state) {
  tf *t = *state;
  /* 200 characters, 800 bytes: counted as characters, stored byte for byte. */
  char *subject = tf_repeat(t, "🚀", 200);
  Helpdesk__V1__CreateTicketRequest r = create_req("mb-200", "", subject);
  Helpdesk__V1__Ticket *c = create_ok(t, t->customer, &r);
  assert_int_equal(strlen(c->subject), 800);
  assert_string_equal(tf_get(t, t->customer, c->id)->subject, subject);
  assert_string_equal(tf_get(t, t->customer, c->id)->title, subject);
  Helpdesk__V1__CreateTicketRequest past = create_req("mb-201", "", tf_repeat(t, "🚀", 201));
  expect_create_refused(t, t->customer, &past, HD_INVALID_ARGUMENT,
                        "subject has 201 characters; at most 200 are allowed");
}

static void test_required_fields_enums_and_utf8_are_checked_before_anything_is_written(
    void **state) {
  tf *t = *state;
  Helpdesk__V1__CreateTicketRequest r;

  r = create_req("", "", "No key");
  expect_create_refused(t, t->customer, &r, HD_INVALID_ARGUMENT, "idempotency_key is required");
  r = create_req("k-subject", "", "");
  expect_create_refused(t, t->customer, &r, HD_INVALID_ARGUMENT, "subject is required");
  r = create_req("k-description", "", "No description");
  r.description = "";
  expect_create_refused(t, t->customer, &r, HD_INVALID_ARGUMENT, "description is required");
  r = create_req("k-service", "", "No service type");
  r.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_UNSPECIFIED;
  expect_create_refused(t, t->customer, &r, HD_INVALID_ARGUMENT, "service_type is required");
  r = create_req("k-service-99", "", "Unknown service type");
  r.service_type = (Helpdesk__V1__ServiceType)99;
  expect_create_refused(t, t->customer, &r, HD_INVALID_ARGUMENT, "service_type has no value 99");
  r = create_req("k-issue", "", "No issue type");
  r.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_UNSPECIFIED;
  expect_create_refused(t, t->customer, &r, HD_INVALID_ARGUMENT, "issue_type is required");
  r = create_req("k-issue-11", "", "Unknown issue type");
  r.issue_type = (Helpdesk__V1__IssueType)11;
  expect_create_refused(t, t->customer, &r, HD_INVALID_ARGUMENT, "issue_type has no value 11");
  r = create_req("k-utf8", "", "caf\xc3");
  expect_create_refused(t, t->customer, &r, HD_INVALID_ARGUMENT, "subject is not valid UTF-8");
  r = create_req("k-utf8-overlong", "", "Overlong");
  r.description = "slash \xc0\xaf";
  expect_create_refused(t, t->customer, &r, HD_INVALID_ARGUMENT, "description is not valid UTF-8");
  assert_int_equal(count_tickets(t), 0);

  /* Every service and issue type the contract defines is accepted. */
  char key[32];
  for (int st = 1; st <= 7; st++) {
    snprintf(key, sizeof key, "st-%d", st);
    r = create_req(key, "", "Each service type");
    r.service_type = (Helpdesk__V1__ServiceType)st;
    assert_int_equal(create_ok(t, t->customer, &r)->service_type, st);
  }
  for (int it = 1; it <= 10; it++) {
    snprintf(key, sizeof key, "it-%d", it);
    r = create_req(key, "", "Each issue type");
    r.issue_type = (Helpdesk__V1__IssueType)it;
    assert_int_equal(create_ok(t, t->customer, &r)->issue_type, it);
  }
}

/* ---- idempotency ---- */

static void test_retry_with_the_same_key_returns_the_same_ticket_and_creates_nothing(void **state) {
  tf *t = *state;
  Helpdesk__V1__CreateTicketRequest r = create_req("retry-1", "", "Site down");
  Helpdesk__V1__Ticket *first = create_ok(t, t->customer, &r);
  char *before = tf_fingerprint(t);
  hd_clock_advance(&t->f.clock, 60 * HD_US_PER_S); /* a retry a minute later */
  Helpdesk__V1__Ticket *again = create_ok(t, t->customer, &r);
  /* The same request naming the customer's own id is the same request. */
  Helpdesk__V1__CreateTicketRequest named = create_req("retry-1", "cust-1", "Site down");
  Helpdesk__V1__Ticket *named_again = create_ok(t, t->customer, &named);
  tf_expect_unchanged(t, before);
  assert_int_equal(again->id, first->id);
  assert_int_equal(named_again->id, first->id);
  assert_int_equal(again->version, 1);
  assert_int_equal(again->create_time_us, first->create_time_us);
  assert_int_equal(count_tickets(t), 1);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM ticket_history"), 1);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM outbox"), 1);

  /* Keys belong to their caller: another customer's same key opens their own ticket. */
  Helpdesk__V1__Ticket *other = create_ok(t, t->customer2, &r);
  assert_true(other->id != first->id);
  assert_string_equal(other->customer_id, "cust-2");
  assert_int_equal(count_tickets(t), 2);
}

static void test_same_key_with_a_different_request_is_already_exists(void **state) {
  tf *t = *state;
  Helpdesk__V1__CreateTicketRequest r = create_req("dup-1", "", "Site down");
  Helpdesk__V1__Ticket *first = create_ok(t, t->customer, &r);
  char msg[160];
  snprintf(msg, sizeof msg,
           "idempotency_key 'dup-1' was already used for a different request (ticket %" PRId64
           "); use a new key for a new ticket",
           first->id);
  Helpdesk__V1__CreateTicketRequest other_subject = create_req("dup-1", "", "Site still down");
  expect_create_refused(t, t->customer, &other_subject, HD_ALREADY_EXISTS, msg);
  Helpdesk__V1__CreateTicketRequest other_type = create_req("dup-1", "", "Site down");
  other_type.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_BILLING;
  expect_create_refused(t, t->customer, &other_type, HD_ALREADY_EXISTS, msg);
  /* An agent reusing a key for another customer is a different request too. */
  Helpdesk__V1__CreateTicketRequest for_2 = create_req("dup-a", "cust-2", "Phoned in");
  Helpdesk__V1__Ticket *a = create_ok(t, t->agent, &for_2);
  Helpdesk__V1__CreateTicketRequest for_3 = create_req("dup-a", "cust-3", "Phoned in");
  snprintf(msg, sizeof msg, "(ticket %" PRId64 ")", a->id);
  expect_create_refused(t, t->agent, &for_3, HD_ALREADY_EXISTS, msg);
  assert_int_equal(count_tickets(t), 2);
}

typedef struct create_race {
  tf *t;
  const Helpdesk__V1__CreateTicketRequest *req;
  pthread_barrier_t *start;
  hd_code code;
  int64_t id;
  char msg[HD_ERR_MSG_MAX];
} create_race;

/* One caller of the race. tf_call shares the fixture's arena, which is not thread-safe, so each
 * thread calls hd_fixture_call with its own arena (the fixture's client is: hd_client_call is
 * documented thread-safe and only reads the client). */
static void *create_race_thread(void *arg) {
  create_race *r = arg;
  hd_arena *a = hd_arena_new(1u << 20);
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  pthread_barrier_wait(r->start);
  if (!a) {
    r->code = HD_RESOURCE_EXHAUSTED;
    return NULL;
  }
  r->code = hd_fixture_call(&r->t->f, RPC_PREFIX "CreateTicket", r->t->customer, &r->req->base,
                            &helpdesk__v1__ticket__descriptor, a, &resp, &err);
  if (r->code == HD_OK) r->id = ((Helpdesk__V1__Ticket *)resp)->id;
  snprintf(r->msg, sizeof r->msg, "%s", err.msg);
  hd_arena_free(a);
  return NULL;
}

static void test_eight_concurrent_creates_with_one_key_make_exactly_one_ticket(void **state) {
  tf *t = *state;
  enum { N = 8 };
  Helpdesk__V1__CreateTicketRequest r = create_req("race-1", "", "Double-clicked submit");
  pthread_barrier_t start;
  assert_int_equal(pthread_barrier_init(&start, NULL, N), 0);
  pthread_t th[N];
  create_race races[N];
  for (int i = 0; i < N; i++) {
    races[i] = (create_race){.t = t, .req = &r, .start = &start};
    assert_int_equal(pthread_create(&th[i], NULL, create_race_thread, &races[i]), 0);
  }
  for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&start);
  for (int i = 0; i < N; i++) {
    if (races[i].code != HD_OK)
      fail_msg("caller %d: %s: %s", i, hd_code_name(races[i].code), races[i].msg);
    assert_int_equal(races[i].id, races[0].id);
  }
  assert_int_equal(count_tickets(t), 1);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM idempotency_keys"), 1);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM ticket_history"), 1);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM outbox"), 1);
  assert_int_equal(tf_sql(t, "SELECT MIN(id) FROM tickets"), races[0].id);
}

/* ---- who sees what ---- */

static void test_customer_never_sees_another_customers_ticket(void **state) {
  tf *t = *state;
  Helpdesk__V1__Ticket *mine = tf_create(t, t->customer, NULL, "Mine");
  Helpdesk__V1__Ticket *theirs = tf_create(t, t->customer2, NULL, "Theirs");
  Helpdesk__V1__ListTicketsResponse *l;
  Helpdesk__V1__ListTicketsRequest lr = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  Helpdesk__V1__GetTicketRequest gr = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  char msg[64];

  /* Another customer's ticket answers exactly like a missing one. */
  gr.ticket_id = theirs->id;
  snprintf(msg, sizeof msg, "ticket %" PRId64 " not found", theirs->id);
  tf_call_refused(t, "GetTicket", t->customer, &gr.base, &helpdesk__v1__ticket__descriptor,
                  HD_NOT_FOUND, msg);
  gr.ticket_id = theirs->id + 1000;
  snprintf(msg, sizeof msg, "ticket %" PRId64 " not found", theirs->id + 1000);
  tf_call_refused(t, "GetTicket", t->customer, &gr.base, &helpdesk__v1__ticket__descriptor,
                  HD_NOT_FOUND, msg);

  l = list_ok(t, t->customer, &lr);
  assert_int_equal(l->n_tickets, 1);
  assert_int_equal(l->tickets[0]->id, mine->id);
  lr.customer_id = "cust-1";
  l = list_ok(t, t->customer, &lr);
  assert_int_equal(l->n_tickets, 1);
  assert_int_equal(l->tickets[0]->id, mine->id);
  lr.customer_id = "cust-2";
  tf_call_refused(t, "ListTickets", t->customer, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_PERMISSION_DENIED,
                  "a customer lists only their own tickets");

  /* Staff see both, and can narrow to one customer. */
  lr.customer_id = "";
  assert_int_equal(list_ok(t, t->agent, &lr)->n_tickets, 2);
  lr.customer_id = "cust-2";
  l = list_ok(t, t->agent, &lr);
  assert_int_equal(l->n_tickets, 1);
  assert_int_equal(l->tickets[0]->id, theirs->id);
}

static void test_another_tenants_agent_gets_not_found_and_an_empty_list(void **state) {
  tf *t = *state;
  Helpdesk__V1__Ticket *c = tf_create(t, t->customer, NULL, "Acme only");
  Helpdesk__V1__GetTicketRequest gr = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  gr.ticket_id = c->id;
  tf_call_refused(t, "GetTicket", t->other_tenant, &gr.base, &helpdesk__v1__ticket__descriptor,
                  HD_NOT_FOUND, "not found");
  Helpdesk__V1__ListTicketsRequest lr = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  assert_int_equal(list_ok(t, t->other_tenant, &lr)->n_tickets, 0);
  lr.customer_id = "cust-1";
  assert_int_equal(list_ok(t, t->other_tenant, &lr)->n_tickets, 0);
  /* The same key in another tenant is another caller's key. */
  Helpdesk__V1__CreateTicketRequest r = create_req("shared-key", "cust-1", "Globex ticket");
  Helpdesk__V1__Ticket *g = create_ok(t, t->other_tenant, &r);
  assert_string_equal(g->tenant, "globex");
  assert_int_equal(list_ok(t, t->other_tenant, &lr)->n_tickets, 1);
  Helpdesk__V1__ListTicketsRequest all = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  assert_int_equal(list_ok(t, t->agent, &all)->n_tickets, 1);
}

static void test_get_checks_the_id_and_names_a_missing_ticket(void **state) {
  tf *t = *state;
  Helpdesk__V1__GetTicketRequest gr = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  tf_call_refused(t, "GetTicket", t->agent, &gr.base, &helpdesk__v1__ticket__descriptor,
                  HD_INVALID_ARGUMENT, "ticket_id must be a positive id");
  gr.ticket_id = -4;
  tf_call_refused(t, "GetTicket", t->agent, &gr.base, &helpdesk__v1__ticket__descriptor,
                  HD_INVALID_ARGUMENT, "ticket_id must be a positive id, got -4");
  gr.ticket_id = 77;
  tf_call_refused(t, "GetTicket", t->agent, &gr.base, &helpdesk__v1__ticket__descriptor,
                  HD_NOT_FOUND, "ticket 77 not found");
}

/* ---- the list: order, filters, pages ---- */

/* n tickets by cust-1, one clock millisecond apart; their ids into ids[]. */
static void create_spaced(tf *t, const char *token, const char *customer, size_t n, int64_t *ids) {
  for (size_t i = 0; i < n; i++) {
    char subject[32];
    snprintf(subject, sizeof subject, "Ticket %zu", i);
    ids[i] = tf_create(t, token, customer, subject)->id;
    hd_clock_advance(&t->f.clock, HD_US_PER_MS);
  }
}

static void test_list_is_oldest_first_and_pages_with_a_token(void **state) {
  tf *t = *state;
  int64_t ids[5];
  create_spaced(t, t->customer, NULL, 5, ids);
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  Helpdesk__V1__ListTicketsRequest lr = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  lr.page = &page;
  page.page_size = 2;
  size_t seen = 0;
  for (int round = 0; round < 3; round++) {
    Helpdesk__V1__ListTicketsResponse *l = list_ok(t, t->agent, &lr);
    assert_int_equal(l->n_tickets, round < 2 ? 2 : 1);
    for (size_t i = 0; i < l->n_tickets; i++) {
      assert_int_equal(l->tickets[i]->id, ids[seen++]);
      assert_string_equal(l->tickets[i]->description, ""); /* lists carry no description */
      assert_string_equal(l->tickets[i]->customer_id, "cust-1");
    }
    if (round < 2)
      assert_string_not_equal(l->page->next_page_token, "");
    else
      assert_string_equal(l->page->next_page_token, "");
    page.page_token = l->page->next_page_token;
  }
  assert_int_equal(seen, 5);

  /* Newest first is the exact reverse; the customer's own view pages the same way. */
  lr.newest_first = true;
  page.page_size = 0;
  page.page_token = "";
  Helpdesk__V1__ListTicketsResponse *rev = list_ok(t, t->customer, &lr);
  assert_int_equal(rev->n_tickets, 5);
  for (size_t i = 0; i < 5; i++) assert_int_equal(rev->tickets[i]->id, ids[4 - i]);
  assert_string_equal(rev->page->next_page_token, "");

  /* A page exactly full and the 500 maximum. */
  lr.newest_first = false;
  page.page_size = 5;
  assert_string_equal(list_ok(t, t->agent, &lr)->page->next_page_token, "");
  page.page_size = 500;
  assert_int_equal(list_ok(t, t->agent, &lr)->n_tickets, 5);
}

static void test_list_filters_by_status_owner_department_and_customer(void **state) {
  tf *t = *state;
  int64_t ids[4];
  create_spaced(t, t->customer, NULL, 3, ids);
  Helpdesk__V1__CreateTicketRequest billing = create_req("billing-1", "cust-2", "Invoice");
  billing.department = "billing";
  ids[3] = create_ok(t, t->agent, &billing)->id;
  /* Owned by agent-1 and acknowledged (PROCESSING); owned by agent-2 and still waiting. */
  tf_assign(t, ids[1], "agent-1");
  tf_set_status(t, ids[1], TF_STATUS(PROCESSING));
  tf_assign(t, ids[2], "agent-2");

  Helpdesk__V1__ListTicketsRequest lr = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  Helpdesk__V1__ListTicketsResponse *l;
  lr.status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PROCESSING;
  l = list_ok(t, t->agent, &lr);
  assert_int_equal(l->n_tickets, 1);
  assert_int_equal(l->tickets[0]->id, ids[1]);
  lr.status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE;
  l = list_ok(t, t->agent, &lr);
  assert_int_equal(l->n_tickets, 3);
  assert_int_equal(l->tickets[0]->id, ids[0]);
  assert_int_equal(l->tickets[1]->id, ids[2]);
  assert_int_equal(l->tickets[2]->id, ids[3]);

  lr.status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_UNSPECIFIED;
  lr.owner_id = "agent-2";
  l = list_ok(t, t->agent, &lr);
  assert_int_equal(l->n_tickets, 1);
  assert_int_equal(l->tickets[0]->id, ids[2]);
  lr.owner_id = "agent-1";
  lr.status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE;
  assert_int_equal(list_ok(t, t->agent, &lr)->n_tickets, 0); /* filters combine */

  lr = (Helpdesk__V1__ListTicketsRequest)HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  lr.department = "billing";
  l = list_ok(t, t->lead, &lr);
  assert_int_equal(l->n_tickets, 1);
  assert_int_equal(l->tickets[0]->id, ids[3]);
  lr.department = "";
  lr.customer_id = "cust-2";
  l = list_ok(t, t->service, &lr);
  assert_int_equal(l->n_tickets, 1);
  assert_int_equal(l->tickets[0]->id, ids[3]);
  /* A customer's filters apply within their own tickets. */
  lr.customer_id = "";
  lr.owner_id = "agent-1";
  l = list_ok(t, t->customer, &lr);
  assert_int_equal(l->n_tickets, 1);
  assert_int_equal(l->tickets[0]->id, ids[1]);
  lr.owner_id = "";
  lr.department = "billing";
  assert_int_equal(list_ok(t, t->customer, &lr)->n_tickets, 0);

  lr = (Helpdesk__V1__ListTicketsRequest)HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  lr.status = (Helpdesk__V1__TicketStatus)42;
  tf_call_refused(t, "ListTickets", t->agent, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT,
                  "status has no value 42");
  lr.status = 0;
  lr.owner_id = tf_repeat(t, "o", 129);
  tf_call_refused(t, "ListTickets", t->agent, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT,
                  "owner_id has 129 characters; at most 128 are allowed");
  lr.owner_id = "";
  lr.department = tf_repeat(t, "d", 65);
  tf_call_refused(t, "ListTickets", t->agent, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT,
                  "department has 65 characters; at most 64 are allowed");
}

static void test_page_token_replayed_with_other_filters_or_order_is_invalid_argument(void **state) {
  tf *t = *state;
  int64_t ids[3];
  create_spaced(t, t->customer, NULL, 3, ids);
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  Helpdesk__V1__ListTicketsRequest lr = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  lr.page = &page;
  page.page_size = 1;
  char *token = list_ok(t, t->agent, &lr)->page->next_page_token;
  assert_string_not_equal(token, "");
  page.page_token = token;

  lr.status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE;
  tf_call_refused(t, "ListTickets", t->agent, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT,
                  "page_token");
  lr.status = 0;
  lr.newest_first = true;
  tf_call_refused(t, "ListTickets", t->agent, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT,
                  "page_token");
  lr.newest_first = false;
  lr.customer_id = "cust-1";
  tf_call_refused(t, "ListTickets", t->agent, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT,
                  "page_token");
  lr.customer_id = "";
  /* With its own listing it continues. */
  Helpdesk__V1__ListTicketsResponse *l = list_ok(t, t->agent, &lr);
  assert_int_equal(l->n_tickets, 1);
  assert_int_equal(l->tickets[0]->id, ids[1]);
  /* Another tenant cannot continue it. */
  tf_call_refused(t, "ListTickets", t->other_tenant, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT,
                  "page_token");

  page.page_token = "not-a-token";
  tf_call_refused(t, "ListTickets", t->agent, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT,
                  "page_token");
  page.page_token = tf_repeat(t, "A", 257);
  tf_call_refused(t, "ListTickets", t->agent, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT,
                  "page.page_token has 257 characters");
  page.page_token = "";
  page.page_size = 501;
  tf_call_refused(t, "ListTickets", t->agent, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT, "500");
  page.page_size = -1;
  tf_call_refused(t, "ListTickets", t->agent, &lr.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT, NULL);
}

/* Keys are remembered 24 hours: a day later the kit's housekeeping (in the outbox relay loop)
 * deletes them. Driven by the fixture's clock. */
static void test_idempotency_keys_expire_after_a_day_and_are_purged(void **state) {
  tf *t = *state;
  tf_create(t, t->customer, NULL, "Website down");
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM idempotency_keys"), 1);
  hd_clock_advance(&t->f.clock, 25LL * 3600 * HD_US_PER_S);
  int64_t left = 1;
  for (int i = 0; i < 150 && left != 0; i++) {
    left = tf_sql(t, "SELECT COUNT(*) FROM idempotency_keys");
    if (left) usleep(20 * 1000);
  }
  assert_int_equal(left, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)
      T(test_customer_creates_a_ticket_for_themself_in_pending_response),
      T(test_staff_and_services_create_on_a_customers_behalf),
      T(test_customer_cannot_open_a_ticket_for_another_customer),
      T(test_every_text_field_is_accepted_at_its_limit_and_refused_one_past_it),
      T(test_multibyte_subject_of_exactly_200_characters_round_trips),
      T(test_required_fields_enums_and_utf8_are_checked_before_anything_is_written),
      T(test_retry_with_the_same_key_returns_the_same_ticket_and_creates_nothing),
      T(test_same_key_with_a_different_request_is_already_exists),
      T(test_eight_concurrent_creates_with_one_key_make_exactly_one_ticket),
      T(test_customer_never_sees_another_customers_ticket),
      T(test_another_tenants_agent_gets_not_found_and_an_empty_list),
      T(test_get_checks_the_id_and_names_a_missing_ticket),
      T(test_list_is_oldest_first_and_pages_with_a_token),
      T(test_list_filters_by_status_owner_department_and_customer),
      T(test_page_token_replayed_with_other_filters_or_order_is_invalid_argument),
      T(test_idempotency_keys_expire_after_a_day_and_are_purged),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
