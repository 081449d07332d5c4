/* WatchTickets, the change feed, on the real ticket service and MariaDB: typed events in outbox
 * order, the filters, resuming after a disconnect with no event lost or repeated, an id held back
 * while its transaction is open and passed once it rolled back, a slow subscriber cut off with
 * RESOURCE_EXHAUSTED while the service's memory stays bounded, tenant isolation, the roles and
 * the resume ids refused. Each stream ends its expectations with a sentinel event: what arrives
 * before it is exactly what the feed sent, so no check waits for "nothing more". */
#include <fcntl.h>
#include <inttypes.h>
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

#include "http_client.h"
#include "stream_client.h"
#include "svc/outbox.h"
#include "test_env.h"
#include "ticket_fixture.h"

#define WATCH_METHOD "/helpdesk.v1.TicketService/WatchTickets"
#define WAIT_MS      20000 /* the longest one event may take to arrive */

typedef Helpdesk__V1__TicketEvent event;

/* "tickets-<origin>-<id>" of outbox row id, in t->arena. */
static const char *event_id(tf *t, int64_t id) {
  const char *origin = tf_sqlf_str(t, "SELECT origin FROM outbox_origin WHERE id = 1");
  return hd_arena_printf(t->arena, "tickets-%s-%" PRId64, origin, id);
}

/* The id of the last event written (0 when none). */
static int64_t last_id(tf *t) { return tf_sql(t, "SELECT COALESCE(MAX(id), 0) FROM outbox"); }

/* A feed as token with the request's filters, after outbox row after (its id, 0 for before the
 * first event). */
static sc_stream *watch(tf *t, const char *token, int64_t after, int64_t ticket_id,
                        const char *department, const char *owner_id) {
  Helpdesk__V1__WatchTicketsRequest req = HELPDESK__V1__WATCH_TICKETS_REQUEST__INIT;
  req.after_event_id = (char *)event_id(t, after);
  req.ticket_id = ticket_id;
  req.department = (char *)(department ? department : "");
  req.owner_id = (char *)(owner_id ? owner_id : "");
  return sc_open(t->f.target, WATCH_METHOD, token, &req.base);
}

/* The next event; fails the test when the stream ends or nothing comes. Caller frees with
 * protobuf_c_message_free_unpacked. */
static event *next_event(sc_stream *s) {
  bool timed_out = false;
  event *e = (event *)sc_recv(s, &helpdesk__v1__ticket_event__descriptor, WAIT_MS, &timed_out);
  assert_false(timed_out);
  assert_non_null(e);
  return e;
}

/* The outbox id at the end of an event id. */
static int64_t seq_of(const event *e) {
  const char *dash = strrchr(e->event_id, '-');
  assert_non_null(dash);
  return strtoll(dash + 1, NULL, 10);
}

/* CreateTicket for cust-1 with a department ("" for none); the new ticket's id. */
static int64_t create_in(tf *t, const char *department) {
  static _Atomic long seq;
  char key[64];
  snprintf(key, sizeof key, "watch-%ld", ++seq);
  Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  req.idempotency_key = key;
  req.customer_id = "cust-1";
  req.subject = "Mail bounces";
  req.description = "Every mail to my shop bounces since noon.";
  req.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  req.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL;
  req.department = (char *)department;
  Helpdesk__V1__Ticket *tk = (Helpdesk__V1__Ticket *)tf_must(t, "CreateTicket", t->agent, &req.base,
                                                             &helpdesk__v1__ticket__descriptor);
  return tk->id;
}

/* AddComment as the team lead: one more event on the ticket. */
static void comment(tf *t, int64_t id) {
  Helpdesk__V1__AddCommentRequest req = HELPDESK__V1__ADD_COMMENT_REQUEST__INIT;
  req.ticket_id = id;
  req.body = "Looking into it.";
  tf_must(t, "AddComment", t->lead, &req.base, &helpdesk__v1__comment__descriptor);
}

/* Reads n events and checks their outbox ids are want[0..n) in that order. */
static void expect_ids(sc_stream *s, const int64_t *want, size_t n) {
  for (size_t i = 0; i < n; i++) {
    event *e = next_event(s);
    assert_int_equal(seq_of(e), want[i]);
    protobuf_c_message_free_unpacked(&e->base, NULL);
  }
}

/* Nothing more arrives for a while (a check that cannot fail by a slow machine, only miss). */
static void expect_quiet(sc_stream *s) {
  bool timed_out = false;
  ProtobufCMessage *m = sc_recv(s, &helpdesk__v1__ticket_event__descriptor, 500, &timed_out);
  if (m)
    fail_msg("an event arrived that the feed should not have sent: %s", ((event *)m)->event_id);
  assert_true(timed_out);
}

/* The stream ends with code, its message holding part. */
static void expect_ended(sc_stream *s, grpc_status_code code, const char *part) {
  bool timed_out = false;
  ProtobufCMessage *m = sc_recv(s, &helpdesk__v1__ticket_event__descriptor, WAIT_MS, &timed_out);
  assert_false(timed_out);
  assert_null(m);
  const char *details = NULL;
  grpc_status_code got = sc_status(s, &details);
  if (got != code || (part && !strstr(details, part)))
    fail_msg("the stream ended with %d \"%s\", expected %d with \"%s\"", (int)got, details,
             (int)code, part ? part : "");
}

static void test_events_are_typed_and_carry_the_ticket_after_the_change(void **state) {
  tf *t = *state;
  const int64_t after = last_id(t);
  sc_stream *s = watch(t, t->agent, after, 0, NULL, NULL);
  const int64_t id = create_in(t, "TECHNICAL");
  tf_assign(t, id, "agent-1");
  event *e = next_event(s);
  assert_int_equal(e->type, HELPDESK__V1__TICKET_EVENT_TYPE__TICKET_EVENT_TYPE_CREATED);
  assert_string_equal(e->type_name, "ticket.created");
  assert_int_equal(e->ticket_id, id);
  assert_int_equal(e->version, 1);
  assert_string_equal(e->actor_id, "agent-1");
  assert_string_equal(e->action, "CREATE");
  assert_non_null(e->ticket);
  assert_string_equal(e->ticket->tenant, "acme");
  assert_string_equal(e->ticket->department, "TECHNICAL");
  assert_string_equal(e->ticket->customer_id, "cust-1");
  assert_int_equal(e->ticket->status, TF_STATUS(PENDING_RESPONSE));
  assert_int_equal(seq_of(e), after + 1);
  protobuf_c_message_free_unpacked(&e->base, NULL);
  e = next_event(s);
  assert_int_equal(e->type, HELPDESK__V1__TICKET_EVENT_TYPE__TICKET_EVENT_TYPE_ASSIGNED);
  assert_int_equal(e->version, 2);
  assert_string_equal(e->actor_id, "lead-1");
  assert_string_equal(e->ticket->owner_id, "agent-1");
  bool owner_change = false;
  for (size_t i = 0; i < e->n_changes; i++)
    if (strcmp(e->changes[i]->field, "owner_id") == 0) {
      assert_string_equal(e->changes[i]->old_value, "");
      assert_string_equal(e->changes[i]->new_value, "agent-1");
      owner_change = true;
    }
  assert_true(owner_change);
  protobuf_c_message_free_unpacked(&e->base, NULL);
  sc_free(s);
}

static void test_filters_by_ticket_department_and_owner_each_and_combined(void **state) {
  tf *t = *state;
  const int64_t after = last_id(t);
  sc_stream *by_ticket = NULL;
  const int64_t a = create_in(t, "BILLING"); /* +1 */
  by_ticket = watch(t, t->agent, after, a, NULL, NULL);
  sc_stream *by_dept = watch(t, t->agent, after, 0, "BILLING", NULL);
  sc_stream *by_owner = watch(t, t->agent, after, 0, NULL, "agent-2");
  sc_stream *combined = watch(t, t->agent, after, 0, "TECHNICAL", "agent-2");
  sc_stream *exact = watch(t, t->agent, after, 0, "billing", NULL);
  const int64_t b = create_in(t, "TECHNICAL"); /* +2 */
  tf_assign(t, a, "agent-2");                  /* +3 */
  tf_assign(t, b, "agent-2");                  /* +4 */
  comment(t, a);                               /* +5 */
  comment(t, b);                               /* +6 */
  tf_assign(t, a, "agent-1");                  /* +7: a leaves agent-2 */
  assert_int_equal(last_id(t), after + 7);
  const int64_t want_a[] = {after + 1, after + 3, after + 5, after + 7};
  const int64_t want_owner[] = {after + 3, after + 4, after + 5, after + 6, after + 7};
  const int64_t want_combined[] = {after + 4, after + 6};
  expect_ids(by_ticket, want_a, 4);
  expect_ids(by_dept, want_a, 4);
  expect_ids(by_owner, want_owner, 5);
  expect_ids(combined, want_combined, 2);
  expect_quiet(by_ticket);
  expect_quiet(by_dept);
  expect_quiet(by_owner);
  expect_quiet(combined);
  expect_quiet(exact); /* "billing" is not "BILLING": departments compare exactly */
  sc_free(by_ticket);
  sc_free(by_dept);
  sc_free(by_owner);
  sc_free(combined);
  sc_free(exact);
}

/* All of acme's outbox ids above after, ascending, into ids (at most max); how many. */
static size_t acme_ids(tf *t, int64_t after, int64_t *ids, size_t max) {
  hd_db *db = tf_db_open(t);
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  const hd_db_param p[] = {hd_db_int(after)};
  assert_int_equal(hd_db_query(db,
                               "SELECT id FROM outbox WHERE tenant = 'acme' AND id > ? "
                               "ORDER BY id",
                               p, 1, max, &rows, &err),
                   0);
  const size_t n = hd_db_rows_count(rows);
  for (size_t i = 0; i < n; i++) ids[i] = hd_db_i64(rows, i, 0);
  hd_db_rows_free(rows);
  hd_db_close(db);
  return n;
}

static void test_a_resumed_feed_loses_and_repeats_no_event_written_while_disconnected(
    void **state) {
  tf *t = *state;
  const int64_t after = last_id(t);
  sc_stream *s = watch(t, t->agent, after, 0, NULL, NULL);
  const int64_t a = create_in(t, "");
  tf_assign(t, a, "agent-1");
  comment(t, a);
  event *e = next_event(s);
  e = (protobuf_c_message_free_unpacked(&e->base, NULL), next_event(s));
  char last[HD_OUTBOX_EVENT_ID_MAX];
  snprintf(last, sizeof last, "%s", e->event_id);
  const int64_t last_seq = seq_of(e);
  protobuf_c_message_free_unpacked(&e->base, NULL);
  sc_cancel(s); /* the client goes away after two of three events */
  sc_free(s);
  /* Written while nobody listens: on the same ticket, another one, another tenant. */
  const int64_t b = create_in(t, "BILLING");
  tf_assign(t, b, "agent-2");
  tf_create(t, t->other_tenant, "cust-9", "Not acme's");
  comment(t, a);
  Helpdesk__V1__WatchTicketsRequest req = HELPDESK__V1__WATCH_TICKETS_REQUEST__INIT;
  req.after_event_id = last;
  s = sc_open(t->f.target, WATCH_METHOD, t->agent, &req.base);
  tf_assign(t, a, "agent-2"); /* and one live after the resume */
  int64_t want[16];
  const size_t n = acme_ids(t, last_seq, want, 16);
  assert_int_equal(n, 5); /* the comment left unread, four while away, one live */
  expect_ids(s, want, n);
  expect_quiet(s);
  sc_free(s);
}

/* A raw connection's statement; fails the test unless it succeeds. */
static void exec_on(hd_db *db, const char *sql) {
  hd_err err = {0};
  if (hd_db_exec(db, sql, NULL, 0, NULL, NULL, &err) != 0) fail_msg("%s: %s", sql, err.msg);
}

/* An outbox row inserted on db (inside whatever transaction db has open): a copy of row src. */
static void copy_row_on(hd_db *db, int64_t src) {
  char sql[512];
  snprintf(sql, sizeof sql,
           "INSERT INTO outbox (tenant, aggregate_id, event_type, payload, created_at_us) "
           "SELECT tenant, aggregate_id, event_type, payload, created_at_us FROM outbox "
           "WHERE id = %" PRId64,
           src);
  exec_on(db, sql);
}

static void test_an_id_whose_transaction_is_open_holds_later_ones_back_until_it_commits(
    void **state) {
  tf *t = *state;
  const int64_t a = create_in(t, "");
  const int64_t after = last_id(t);
  sc_stream *s = watch(t, t->agent, after, 0, NULL, NULL);
  hd_db *held = tf_db_open(t);
  exec_on(held, "START TRANSACTION");
  copy_row_on(held, after);   /* after + 1, not committed */
  tf_assign(t, a, "agent-1"); /* after + 2, committed */
  /* Past the settle time the open insert still blocks the locking read: nothing passes it. */
  usleep(1200 * 1000);
  exec_on(held, "COMMIT");
  const int64_t want[] = {after + 1, after + 2};
  expect_ids(s, want, 2);
  /* A rolled-back id never comes: the feed passes it once it has settled. */
  exec_on(held, "START TRANSACTION");
  copy_row_on(held, after); /* after + 3 */
  exec_on(held, "ROLLBACK");
  tf_assign(t, a, "agent-2"); /* after + 4 */
  const int64_t want2[] = {after + 4};
  expect_ids(s, want2, 1);
  hd_db_close(held);
  expect_quiet(s);
  sc_free(s);
}

/* A field of /proc/self/status in KiB ("VmRSS:", "VmHWM:"). */
static long self_kib(const char *field) {
  char line[256];
  FILE *f = fopen("/proc/self/status", "r");
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, field, strlen(field)) == 0) kib = atol(line + strlen(field));
  if (f) fclose(f);
  assert_true(kib > 0);
  return kib;
}

/* Resets this process's peak resident size to the current one (proc(5), clear_refs 5). */
static void reset_peak(void) {
  int fd = open("/proc/self/clear_refs", O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "5", 1), 1);
  close(fd);
}

#define FLOOD_EVENTS 6000
#define FLOOD_PAD    4000 /* bytes added to each flooded event: 24 MB in all */

/* Waits (bounded) until the service has ended a WatchTickets call with RESOURCE_EXHAUSTED, as
 * its metrics count calls by method and code: the cut-off, observed without guessing a time. */
static void wait_cut_off(tf *t) {
  for (int i = 0; i < 600; i++) {
    int status = 0;
    char *resp = NULL;
    const char *body = NULL;
    if (hd_test_http_get(hd_svc_metrics_port(t->f.svc), "/metrics", &status, &resp, &body) == 0) {
      const bool cut = status == 200 && strstr(body, "WatchTickets\",code=\"RESOURCE_EXHAUSTED\"");
      free(resp);
      if (cut) return;
    }
    usleep(100 * 1000);
  }
  fail_msg("the slow subscriber was never cut off");
}

static void test_a_slow_subscriber_is_cut_off_holding_bounded_memory_and_resumes(void **state) {
  tf *t = *state;
  const int64_t a = create_in(t, "");
  const int64_t first = last_id(t);
  sc_stream *slow = watch(t, t->agent, first - 1, 0, NULL, NULL);
  event *e = next_event(slow); /* it reads one, then stops reading */
  assert_int_equal(seq_of(e), first);
  protobuf_c_message_free_unpacked(&e->base, NULL);
  const long baseline = self_kib("VmRSS:");
  reset_peak();
  /* FLOOD_EVENTS copies of the created event, each with a 4000-byte member, in one statement
   * (its ids are contiguous; the next statement's id may skip a few, as InnoDB reserves them).
   * Marked published, so the relay leaves them out of the suite's shared Redis stream: the feed
   * reads the outbox whether or not a row was published. */
  const char *payload = tf_sqlf_str(t,
                                    "SELECT JSON_INSERT(payload, '$.pad', REPEAT('x', %d)) FROM "
                                    "outbox WHERE id = %" PRId64,
                                    FLOOD_PAD, first);
  char sql[512];
  snprintf(sql, sizeof sql,
           "INSERT INTO outbox (tenant, aggregate_id, event_type, payload, created_at_us, "
           "published_at_us) SELECT 'acme', ?, 'ticket.created', ?, 1, ? FROM seq_1_to_%d",
           FLOOD_EVENTS);
  hd_db *db = tf_db_open(t);
  hd_err err = {0};
  const hd_db_param p[] = {hd_db_int(a), hd_db_text(payload), hd_db_int(tf_now(t))};
  if (hd_db_exec(db, sql, p, 3, NULL, NULL, &err) != 0) fail_msg("the flood: %s", err.msg);
  hd_db_close(db);
  tf_assign(t, a, "agent-1"); /* the last event, after the flood */
  wait_cut_off(t);
  const long peak = self_kib("VmHWM:");
  const size_t max = FLOOD_EVENTS + 2;
  int64_t *want = calloc(max, sizeof *want);
  assert_non_null(want);
  const size_t n = acme_ids(t, first, want, max);
  assert_int_equal(n, FLOOD_EVENTS + 1);
  /* The client reads now what the server still had for it: some events, then the cut-off. */
  size_t got = 0;
  char last[HD_OUTBOX_EVENT_ID_MAX] = "";
  for (;;) {
    bool timed_out = false;
    e = (event *)sc_recv(slow, &helpdesk__v1__ticket_event__descriptor, WAIT_MS, &timed_out);
    assert_false(timed_out);
    if (!e) break;
    assert_true(got < n);
    assert_int_equal(seq_of(e), want[got++]);
    snprintf(last, sizeof last, "%s", e->event_id);
    protobuf_c_message_free_unpacked(&e->base, NULL);
  }
  const char *details = NULL;
  assert_int_equal(sc_status(slow, &details), GRPC_STATUS_RESOURCE_EXHAUSTED);
  assert_non_null(strstr(details, "reads too slowly"));
  print_message(
      "slow subscriber: %zu of %zu events before the cut-off (\"%s\"); resident memory "
      "%ld KiB before, peak %ld KiB (+%ld KiB) while %d KiB of events were written\n",
      got, n, details, baseline, peak, peak - baseline, FLOOD_EVENTS * FLOOD_PAD / 1024);
  sc_free(slow);
  assert_true(got < n / 2);
  /* The feed held at most its buffer and the transport's windows, not the 24 MB written. (Under
   * ASan freed memory stays resident in its quarantine: the counts above still hold there.) */
#ifndef __SANITIZE_ADDRESS__
  assert_true(peak - baseline < 12 * 1024);
#endif
  /* It resumes from its last event and gets the rest, each once, up to the last. */
  Helpdesk__V1__WatchTicketsRequest req = HELPDESK__V1__WATCH_TICKETS_REQUEST__INIT;
  req.after_event_id = last[0] ? last : (char *)event_id(t, first);
  sc_stream *s = sc_open(t->f.target, WATCH_METHOD, t->agent, &req.base);
  expect_ids(s, want + got, n - got);
  expect_quiet(s);
  sc_free(s);
  free(want);
}

/* The kit's stream client (rpc/client.h) tells a wait for the end that ran out from a stream
 * ended by the server: the feed runs on, and its events still come after the wait. */
static void test_waiting_for_a_running_streams_end_is_not_its_end(void **state) {
  tf *t = *state;
  hd_client *client = NULL;
  hd_client_stream *st = NULL;
  hd_err err = {0};
  const hd_client_config cfg = {.target = t->f.target};
  assert_int_equal(hd_client_new(&cfg, &client, &err), 0);
  Helpdesk__V1__WatchTicketsRequest req = HELPDESK__V1__WATCH_TICKETS_REQUEST__INIT;
  req.after_event_id = (char *)event_id(t, last_id(t));
  req.department = req.owner_id = "";
  assert_int_equal(hd_client_stream_open(client, WATCH_METHOD, t->agent, 0, &req.base, &st, &err),
                   0);
  bool waiting = false;
  assert_int_equal(hd_client_stream_finish(st, 200, &waiting, &err), -1);
  assert_true(waiting);
  assert_int_equal(err.code, HD_DEADLINE_EXCEEDED);
  const int64_t id = create_in(t, "TECHNICAL");
  hd_arena *arena = hd_arena_new(1u << 20);
  assert_non_null(arena);
  ProtobufCMessage *m = NULL;
  hd_client_stream_got got = HD_CLIENT_STREAM_WAITING;
  while (got == HD_CLIENT_STREAM_WAITING)
    assert_int_equal(hd_client_stream_read(st, &helpdesk__v1__ticket_event__descriptor, WAIT_MS,
                                           arena, &m, &got, &err),
                     0);
  assert_int_equal(got, HD_CLIENT_STREAM_MESSAGE);
  assert_int_equal(((event *)m)->ticket_id, id);
  hd_client_stream_cancel(st);
  hd_err_clear(&err);
  assert_int_equal(hd_client_stream_finish(st, WAIT_MS, &waiting, &err), -1);
  assert_false(waiting);
  assert_int_equal(err.code, HD_CANCELLED);
  hd_arena_free(arena);
  hd_client_stream_free(st);
  hd_client_destroy(client);
}

static void test_a_caller_sees_only_its_own_tenants_events_compared_exactly(void **state) {
  tf *t = *state;
  const int64_t after = last_id(t);
  char *upper = hd_fixture_token(&t->f, "ACME", "agent-1", HD_ROLE_AGENT);
  char *spaced = hd_fixture_token(&t->f, "acme ", "agent-1", HD_ROLE_AGENT);
  sc_stream *globex = watch(t, t->other_tenant, after, 0, NULL, NULL);
  sc_stream *acme_upper = watch(t, upper, after, 0, NULL, NULL);
  sc_stream *acme_spaced = watch(t, spaced, after, 0, NULL, NULL);
  create_in(t, "BILLING");
  tf_create(t, t->other_tenant, "cust-9", "Globex's");
  const int64_t want[] = {after + 2};
  expect_ids(globex, want, 1);
  expect_quiet(globex);
  expect_quiet(acme_upper);
  expect_ended(acme_spaced, GRPC_STATUS_UNAUTHENTICATED, "whitespace");
  sc_free(globex);
  sc_free(acme_upper);
  sc_free(acme_spaced);
  free(upper);
  free(spaced);
}

static void test_customers_are_refused_and_bad_resume_ids_get_a_status_saying_why(void **state) {
  tf *t = *state;
  for (int i = 0; i < 4; i++) create_in(t, "");
  const int64_t hi = last_id(t);
  Helpdesk__V1__WatchTicketsRequest req = HELPDESK__V1__WATCH_TICKETS_REQUEST__INIT;
  sc_stream *s = sc_open(t->f.target, WATCH_METHOD, t->customer, &req.base);
  expect_ended(s, GRPC_STATUS_PERMISSION_DENIED, "customers");
  sc_free(s);
  s = sc_open(t->f.target, WATCH_METHOD, NULL, &req.base);
  expect_ended(s, GRPC_STATUS_UNAUTHENTICATED, NULL);
  sc_free(s);
  static const struct {
    const char *id;
    grpc_status_code code;
    const char *part;
  } bad[] = {
      {"garbage", GRPC_STATUS_INVALID_ARGUMENT, "not an event id of this feed"},
      {"tickets-000000000000-1", GRPC_STATUS_FAILED_PRECONDITION, "another database"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    req.after_event_id = (char *)bad[i].id;
    s = sc_open(t->f.target, WATCH_METHOD, t->agent, &req.base);
    expect_ended(s, bad[i].code, bad[i].part);
    sc_free(s);
  }
  req.after_event_id = (char *)hd_arena_printf(t->arena, "%sx", event_id(t, 1));
  s = sc_open(t->f.target, WATCH_METHOD, t->agent, &req.base);
  expect_ended(s, GRPC_STATUS_INVALID_ARGUMENT, "sequence number");
  sc_free(s);
  req.after_event_id = (char *)event_id(t, hi + 1);
  s = sc_open(t->f.target, WATCH_METHOD, t->agent, &req.base);
  expect_ended(s, GRPC_STATUS_INVALID_ARGUMENT, "not written yet");
  sc_free(s);
  req.after_event_id = "";
  req.department = " BILLING";
  s = sc_open(t->f.target, WATCH_METHOD, t->agent, &req.base);
  expect_ended(s, GRPC_STATUS_INVALID_ARGUMENT, "department");
  sc_free(s);
  req.department = "";
  /* Purged by the retention: the events after id 1 are gone, so a resume from it would miss
   * them; from the last purged one (hi - 1) nothing is missed. */
  tf_sqlf(t, "DELETE FROM outbox WHERE id < %" PRId64, hi);
  req.after_event_id = (char *)event_id(t, 1);
  s = sc_open(t->f.target, WATCH_METHOD, t->agent, &req.base);
  expect_ended(s, GRPC_STATUS_OUT_OF_RANGE, "no longer kept");
  sc_free(s);
  req.after_event_id = (char *)event_id(t, hi - 1);
  s = sc_open(t->f.target, WATCH_METHOD, t->agent, &req.base);
  const int64_t want[] = {hi};
  expect_ids(s, want, 1);
  sc_free(s);
}

/* A ticket service whose agents may make one call a second with a burst of one. */
static int setup_limited(void **state) {
  setenv("HELPDESK_RATE_LIMIT_AGENT", "1/s:1", 1);
  const int rc = tf_setup(state);
  unsetenv("HELPDESK_RATE_LIMIT_AGENT");
  return rc;
}

/* Opening a stream takes a rate-limit token, as a unary call does: of two streams a caller with
 * a burst of one opens at once, one is served and the other ends RESOURCE_EXHAUSTED naming the
 * caller's bucket, before its handler runs. */
static void test_opening_a_stream_takes_a_rate_limit_token(void **state) {
  tf *t = *state;
  char user[64];
  hd_test_unique(user, sizeof user, "watcher");
  char *token = hd_fixture_token(&t->f, "acme", user, HD_ROLE_AGENT);
  Helpdesk__V1__WatchTicketsRequest req = HELPDESK__V1__WATCH_TICKETS_REQUEST__INIT;
  sc_stream *s[2];
  for (int i = 0; i < 2; i++) s[i] = sc_open(t->f.target, WATCH_METHOD, token, &req.base);
  int open = 0, refused = 0;
  for (int i = 0; i < 2; i++) {
    bool timed_out = false;
    ProtobufCMessage *m = sc_recv(s[i], &helpdesk__v1__ticket_event__descriptor, 300, &timed_out);
    assert_null(m);
    if (timed_out) {
      open++;
      sc_cancel(s[i]);
      continue;
    }
    const char *details = NULL;
    assert_int_equal(sc_status(s[i], &details), GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(details, "rate limit of caller"));
    refused++;
  }
  assert_int_equal(open, 1);
  assert_int_equal(refused, 1);
  for (int i = 0; i < 2; i++) sc_free(s[i]);
  free(token);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)
  const struct CMUnitTest tests[] = {
      T(test_events_are_typed_and_carry_the_ticket_after_the_change),
      T(test_filters_by_ticket_department_and_owner_each_and_combined),
      T(test_a_resumed_feed_loses_and_repeats_no_event_written_while_disconnected),
      T(test_an_id_whose_transaction_is_open_holds_later_ones_back_until_it_commits),
      T(test_a_slow_subscriber_is_cut_off_holding_bounded_memory_and_resumes),
      T(test_waiting_for_a_running_streams_end_is_not_its_end),
      T(test_a_caller_sees_only_its_own_tenants_events_compared_exactly),
      T(test_customers_are_refused_and_bad_resume_ids_get_a_status_saying_why),
      cmocka_unit_test_setup_teardown(test_opening_a_stream_takes_a_rate_limit_token, setup_limited,
                                      tf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
