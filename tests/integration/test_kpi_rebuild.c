/* Rebuild equals stream: the real ticket service in-process (on a stream of its own) does a
 * month of work for three agents through its RPCs; its relay publishes the events and the KPI's
 * consumer applies them; the KPI's figures are read over gRPC. Then the facts are wiped and
 * RebuildFacts (over gRPC, against the ticket service's history) writes them again: the figures
 * and the fact rows are exactly the stream's. A replay of the whole stream after the rebuild
 * changes nothing (the rebuild's floor), and work done after it still counts. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpdesk/v1/kpi.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "kpi_consume.h"
#include "kpi_service.h"
#include "svc/outbox.h"
#include "svc_fixture.h"
#include "test_env.h"
#include "ticket_fixture.h"
#include "tickets_service.h"

#define TENANT "kpi-rb"
#define MIN    (60 * HD_US_PER_S)
#define HOUR   (60 * MIN)
#define DAY    (24 * HOUR)

typedef struct fx {
  hd_fixture tickets, kpi;
  hd_service_def tickets_def, kpi_def;
  char name[48], stream[96];
  hd_db *db; /* the KPI's database */
  hd_kv *kv;
  hd_arena *arena;
  char *cust, *lead, *sup, *agent[3];
  int64_t keys;
} fx;

static const char *const AGENTS[3] = {"agent-a", "agent-b", "agent-c"};

static int setup(void **state) {
  fx *x = calloc(1, sizeof *x);
  *state = x;
  /* The ticket service under a name of its own: its relay publishes to a stream no other test
   * writes to (helpdesk:events:<name>). */
  hd_test_unique(x->name, sizeof x->name, "tkpi");
  snprintf(x->stream, sizeof x->stream, "%s%s", HD_OUTBOX_STREAM_PREFIX, x->name);
  x->tickets_def = tickets_service_def;
  x->tickets_def.name = x->name;
  if (hd_fixture_start(&x->tickets, &x->tickets_def) != 0) return -1;
  /* The KPI's tickets are answered without an account verification (not the rule tested here). */
  hd_err verr = {0};
  if (tf_fixture_verification_optional(&x->tickets, TENANT, true, &verr) != 0) return -1;
  setenv("HELPDESK_TICKETS_TARGET", x->tickets.target, 1);
  x->kpi_def = kpi_service_def;
  x->kpi_def.consumers = NULL; /* the test runs the consumer, on the ticket service's stream */
  x->kpi_def.n_consumers = 0;
  if (hd_fixture_start(&x->kpi, &x->kpi_def) != 0) return -1;
  hd_db_config dbc;
  hd_test_db_config(&dbc, x->kpi.db_name);
  hd_kv_config kvc;
  hd_test_kv_config(&kvc);
  hd_err err = {0};
  if (hd_db_new(&dbc, &x->db, &err) || hd_kv_new(&kvc, &x->kv, &err)) return -1;
  x->arena = hd_arena_new(64 << 20);
  x->cust = hd_fixture_token(&x->tickets, TENANT, "cust-1", HD_ROLE_CUSTOMER);
  x->lead = hd_fixture_token(&x->tickets, TENANT, "lead-1", HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD);
  x->sup = hd_fixture_token(&x->kpi, TENANT, "sup-1", HD_ROLE_AGENT | HD_ROLE_SUPERVISOR);
  for (int i = 0; i < 3; i++)
    x->agent[i] = hd_fixture_token(&x->tickets, TENANT, AGENTS[i], HD_ROLE_AGENT);
  return 0;
}

static int teardown(void **state) {
  fx *x = *state;
  if (!x) return 0;
  hd_err err = {0};
  const char *del[] = {"DEL", x->stream};
  if (x->kv) hd_kv_cmd(x->kv, 2, del, NULL, false, NULL, &err);
  hd_db_close(x->db);
  hd_kv_close(x->kv);
  hd_fixture_stop(&x->kpi);
  hd_fixture_stop(&x->tickets);
  hd_arena_free(x->arena);
  free(x->cust);
  free(x->lead);
  free(x->sup);
  for (int i = 0; i < 3; i++) free(x->agent[i]);
  free(x);
  return 0;
}

/* ---- calls ---- */

static void *must(hd_fixture *f, hd_arena *a, const char *method, const char *token,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc) {
  hd_err err = {0};
  ProtobufCMessage *resp = NULL;
  const hd_code code = hd_fixture_call(f, method, token, req, desc, a, &resp, &err);
  if (code != HD_OK) fail_msg("%s: %s: %s", method, hd_code_name(code), err.msg);
  return resp;
}

#define TK(rpc)  "/helpdesk.v1.TicketService/" rpc
#define KPI(rpc) "/helpdesk.v1.KpiService/" rpc

static void later(fx *x, int64_t us) { hd_clock_advance(&x->tickets.clock, us); }

static int64_t create(fx *x) {
  Helpdesk__V1__CreateTicketRequest rq = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  rq.idempotency_key = hd_arena_printf(x->arena, "k-%" PRId64, ++x->keys);
  rq.subject = "Emails bounce";
  rq.description = "Every email to gmail.com comes back with 550.";
  rq.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  rq.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_EMAIL;
  const Helpdesk__V1__Ticket *t = must(&x->tickets, x->arena, TK("CreateTicket"), x->cust, &rq.base,
                                       &helpdesk__v1__ticket__descriptor);
  return t->id;
}

static void assign(fx *x, int64_t id, const char *owner) {
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.owner_id = (char *)owner;
  must(&x->tickets, x->arena, TK("AssignTicket"), x->lead, &rq.base,
       &helpdesk__v1__ticket__descriptor);
}

static void reply(fx *x, int64_t id, const char *token, Helpdesk__V1__ReplyIntent intent) {
  Helpdesk__V1__ReplyToTicketRequest rq = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.intent = intent;
  rq.body = "We are on it.";
  must(&x->tickets, x->arena, TK("ReplyToTicket"), token, &rq.base,
       &helpdesk__v1__reply_to_ticket_response__descriptor);
}

static void categorise(fx *x, int64_t id, Helpdesk__V1__Category c) {
  Helpdesk__V1__SetCategoryRequest rq = HELPDESK__V1__SET_CATEGORY_REQUEST__INIT;
  rq.ticket_id = id;
  rq.category = c;
  must(&x->tickets, x->arena, TK("SetCategory"), x->lead, &rq.base,
       &helpdesk__v1__ticket__descriptor);
}

static void close_ticket(fx *x, int64_t id) {
  Helpdesk__V1__CloseTicketRequest rq = HELPDESK__V1__CLOSE_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  must(&x->tickets, x->arena, TK("CloseTicket"), x->cust, &rq.base,
       &helpdesk__v1__ticket__descriptor);
}

static void restart(fx *x, int64_t id) {
  Helpdesk__V1__RestartTicketRequest rq = HELPDESK__V1__RESTART_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  must(&x->tickets, x->arena, TK("RestartTicket"), x->lead, &rq.base,
       &helpdesk__v1__ticket__descriptor);
}

static void transfer(fx *x, int64_t id, const char *to) {
  Helpdesk__V1__TransferTicketRequest rq = HELPDESK__V1__TRANSFER_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.new_owner_id = (char *)to;
  rq.note = "End of my shift: the customer waits for the DNS change.";
  must(&x->tickets, x->arena, TK("TransferTicket"), x->lead, &rq.base,
       &helpdesk__v1__ticket__descriptor);
}

static void comment(fx *x, int64_t id, const char *token) {
  Helpdesk__V1__AddCommentRequest rq = HELPDESK__V1__ADD_COMMENT_REQUEST__INIT;
  rq.ticket_id = id;
  rq.body = "A colleague here: please try the new MX record.";
  must(&x->tickets, x->arena, TK("AddComment"), token, &rq.base,
       &helpdesk__v1__comment__descriptor);
}

#define ACK   HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_ACKNOWLEDGE
#define FINAL HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_FINAL_ANSWER

/* January's work: twelve tickets over three agents, answered after 10..120 minutes, categorised
 * in turn (none, LOWER, MEDIUM, HARD), most closed; one closed, reopened and closed again, one
 * transferred, one answered by a colleague, one left open. */
static void month_of_work(fx *x, int64_t ids[12]) {
  for (int i = 0; i < 12; i++) {
    const int a = i % 3;
    ids[i] = create(x);
    later(x, MIN);
    assign(x, ids[i], AGENTS[a]);
    later(x, (10 + 10 * i) * MIN);
    reply(x, ids[i], x->agent[a], ACK);
    later(x, 5 * MIN);
    if (i % 4) categorise(x, ids[i], (Helpdesk__V1__Category)(i % 4));
    if (i == 4) {
      transfer(x, ids[i], AGENTS[2]);
      later(x, HOUR);
      reply(x, ids[i], x->agent[2], ACK);
    }
    if (i == 5) comment(x, ids[i], x->agent[0]);
    later(x, 3 * HOUR);
    if (i != 7) {
      reply(x, ids[i], x->agent[i == 4 ? 2 : a], FINAL);
      later(x, 20 * MIN);
      close_ticket(x, ids[i]);
    }
    if (i == 2) {
      later(x, HOUR);
      restart(x, ids[i]);
      later(x, HOUR);
      reply(x, ids[i], x->agent[a], FINAL);
      close_ticket(x, ids[i]);
    }
    later(x, DAY);
  }
}

/* ---- the stream ---- */

/* Waits (bounded) until the relay has published every outbox row, then applies the whole stream
 * through a consumer of group `group`; returns the entries it handled. */
static uint64_t consume_all(fx *x, const char *group) {
  for (int i = 0;; i++) {
    if (hd_fixture_sql_i64(&x->tickets,
                           "SELECT COUNT(*) FROM outbox WHERE published_at_us IS NULL") == 0)
      break;
    if (i == 1000) fail_msg("the ticket service's relay did not publish its outbox");
    usleep(10000);
  }
  const hd_consumer_def def = {.stream = x->stream,
                               .group = group,
                               .apply = kpi_consume_ticket_event,
                               .opts = {.block_ms = 1, .consumer_name = "test"}};
  const hd_consumer_ctx ctx = {.db = x->db, .kv = x->kv, .clock = &x->kpi.clock};
  hd_consumer *c = NULL;
  hd_err err = {0};
  if (hd_consumer_new(&def, &ctx, &c, &err)) fail_msg("consumer: %s", err.msg);
  for (int i = 0; i < 2000; i++) {
    if (hd_consumer_poll(c, &err)) fail_msg("poll: %s", err.msg);
    hd_kv_group_info gi = {0};
    if (hd_kv_group_info_get(x->kv, x->stream, group, &gi, &err)) fail_msg("%s", err.msg);
    if (gi.group_exists && gi.lag == 0 && gi.pending == 0) break;
  }
  const hd_consumer_stats st = hd_consumer_stats_get(c);
  hd_consumer_free(c);
  assert_int_equal(st.failed, 0);
  assert_int_equal(st.dead_lettered, 0);
  return st.read;
}

/* ---- what the KPI says ---- */

/* The team's January and each agent's, packed: equal bytes are equal figures. */
static char *figures(fx *x) {
  hd_clock_set(&x->kpi.clock, 1771113600LL * HD_US_PER_S); /* 2026-02-15 */
  Helpdesk__V1__GetTeamSummaryRequest tq = HELPDESK__V1__GET_TEAM_SUMMARY_REQUEST__INIT;
  tq.month = "2026-01";
  const Helpdesk__V1__TeamSummary *t = must(&x->kpi, x->arena, KPI("GetTeamSummary"), x->sup,
                                            &tq.base, &helpdesk__v1__team_summary__descriptor);
  assert_int_equal(t->agent_count, 3);
  size_t len = protobuf_c_message_get_packed_size(&t->base);
  char *hex = hd_arena_alloc(x->arena, len * 2 + 1);
  uint8_t *buf = hd_arena_alloc(x->arena, len);
  protobuf_c_message_pack(&t->base, buf);
  for (size_t i = 0; i < len; i++) sprintf(hex + 2 * i, "%02x", buf[i]);
  printf("team 2026-01: resolved %" PRId64 ", first responses %" PRId64 " (median %" PRId64
         " s), handled %" PRId64 ", overall %.2f\n",
         t->team->resolution->resolved, t->team->response->first_responses,
         (int64_t)(t->team->response->median_first_response_us / HD_US_PER_S),
         t->team->productivity->handled, t->team->overall->score);
  return hex;
}

/* Every fact row, its version columns left out (they differ by design: events carry versions,
 * a rebuild numbers the history's rows). */
static char *fact_rows(fx *x) {
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  if (hd_db_query(x->db,
                  "SELECT CONCAT_WS('|', ticket_id, customer_id, status, owner_id, department, "
                  "category, category_by, IFNULL(category_at_us, '-'), IFNULL(created_at_us, '-'), "
                  "IFNULL(first_response_at_us, '-'), first_responder, close_action, "
                  "IFNULL(closed_at_us, '-'), closed_owner, IFNULL(resolved_at_us, '-')) "
                  "FROM ticket_facts WHERE tenant = '" TENANT "' ORDER BY ticket_id",
                  NULL, 0, 1000, &rows, &err))
    fail_msg("%s", err.msg);
  char *out = hd_arena_strdup(x->arena, "");
  for (size_t i = 0; i < hd_db_rows_count(rows); i++)
    out = hd_arena_printf(x->arena, "%s%s\n", out, hd_db_str(rows, i, 0, NULL));
  hd_db_rows_free(rows);
  if (hd_db_query(x->db,
                  "SELECT CONCAT_WS('|', ticket_id, kind, agent_id, at_us) FROM ticket_marks "
                  "WHERE tenant = '" TENANT "' ORDER BY ticket_id, at_us, kind, agent_id",
                  NULL, 0, 10000, &rows, &err))
    fail_msg("%s", err.msg);
  for (size_t i = 0; i < hd_db_rows_count(rows); i++)
    out = hd_arena_printf(x->arena, "%s%s\n", out, hd_db_str(rows, i, 0, NULL));
  hd_db_rows_free(rows);
  return out;
}

static void wipe_facts(fx *x) {
  hd_err err = {0};
  if (hd_db_exec_script(x->db, "DELETE FROM ticket_facts;\nDELETE FROM ticket_marks;\n", &err))
    fail_msg("%s", err.msg);
  assert_int_equal(hd_fixture_sql_i64(&x->kpi, "SELECT COUNT(*) FROM ticket_facts"), 0);
}

static int rebuild(fx *x, int32_t page_size) {
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = page_size;
  page.page_token = "";
  Helpdesk__V1__RebuildFactsRequest rq = HELPDESK__V1__REBUILD_FACTS_REQUEST__INIT;
  rq.source = HELPDESK__V1__FACT_SOURCE__FACT_SOURCE_TICKETS;
  rq.page = &page;
  int total = 0, calls = 0;
  do {
    const Helpdesk__V1__RebuildFactsResponse *r =
        must(&x->kpi, x->arena, KPI("RebuildFacts"), x->sup, &rq.base,
             &helpdesk__v1__rebuild_facts_response__descriptor);
    total += r->rebuilt;
    page.page_token = r->page->next_page_token;
    calls++;
  } while (*page.page_token && calls < 100);
  return total;
}

static void test_rebuild_gives_exactly_the_figures_the_stream_gave(void **state) {
  fx *x = *state;
  int64_t ids[12];
  month_of_work(x, ids);
  const uint64_t events = consume_all(x, KPI_CONSUMER_GROUP);
  assert_true(events > 12 * 5);
  const char *stream_figures = figures(x);
  const char *stream_rows = fact_rows(x);
  assert_true(hd_fixture_sql_i64(&x->kpi,
                                 "SELECT COUNT(*) FROM ticket_facts WHERE "
                                 "resolved_at_us IS NOT NULL") == 11);
  assert_int_equal(hd_fixture_sql_i64(&x->kpi,
                                      "SELECT COUNT(*) FROM ticket_marks "
                                      "WHERE kind = 'REOPEN'"),
                   1);
  assert_int_equal(hd_fixture_sql_i64(&x->kpi,
                                      "SELECT COUNT(*) FROM ticket_marks "
                                      "WHERE kind = 'TRANSFER'"),
                   1);

  wipe_facts(x);
  assert_int_equal(rebuild(x, 5), 12);
  const char *rebuilt_rows = fact_rows(x);
  if (strcmp(stream_rows, rebuilt_rows) != 0) {
    printf("stream:\n%s\nrebuilt:\n%s", stream_rows, rebuilt_rows);
    fail_msg("the rebuilt facts differ from the stream's (both printed above)");
  }
  assert_string_equal(figures(x), stream_figures);
  printf("rebuild equals stream: %zu fact rows and marks, team summary %zu bytes, equal\n",
         strlen(stream_rows), strlen(stream_figures) / 2);

  /* The whole stream again, through a group that never saw it: at or below each ticket's
   * floor, so nothing counts twice. */
  consume_all(x, "kpi-replay");
  assert_string_equal(fact_rows(x), stream_rows);
  assert_string_equal(figures(x), stream_figures);

  /* Work after the rebuild still counts: ticket 8 (left open) is answered and closed. */
  hd_clock_set(&x->tickets.clock, 1769800000LL * HD_US_PER_S); /* still January */
  reply(x, ids[7], x->agent[1], FINAL);
  close_ticket(x, ids[7]);
  consume_all(x, KPI_CONSUMER_GROUP);
  assert_int_equal(hd_fixture_sql_i64(&x->kpi,
                                      "SELECT COUNT(*) FROM ticket_facts WHERE "
                                      "resolved_at_us IS NOT NULL"),
                   12);
  assert_string_not_equal(figures(x), stream_figures);
}

static void test_rebuild_refuses_what_it_cannot_do(void **state) {
  fx *x = *state;
  Helpdesk__V1__RebuildFactsRequest rq = HELPDESK__V1__REBUILD_FACTS_REQUEST__INIT;
  hd_err err = {0};
  ProtobufCMessage *resp = NULL;
  assert_int_equal(
      hd_fixture_call(&x->kpi, KPI("RebuildFacts"), x->sup, &rq.base,
                      &helpdesk__v1__rebuild_facts_response__descriptor, x->arena, &resp, &err),
      HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "source"));
  rq.source = HELPDESK__V1__FACT_SOURCE__FACT_SOURCE_TICKETS;
  char *agent = hd_fixture_token(&x->kpi, TENANT, "agent-a", HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD);
  assert_int_equal(
      hd_fixture_call(&x->kpi, KPI("RebuildFacts"), agent, &rq.base,
                      &helpdesk__v1__rebuild_facts_response__descriptor, x->arena, &resp, &err),
      HD_PERMISSION_DENIED);
  free(agent);
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 501;
  rq.page = &page;
  assert_int_equal(
      hd_fixture_call(&x->kpi, KPI("RebuildFacts"), x->sup, &rq.base,
                      &helpdesk__v1__rebuild_facts_response__descriptor, x->arena, &resp, &err),
      HD_INVALID_ARGUMENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_rebuild_gives_exactly_the_figures_the_stream_gave, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rebuild_refuses_what_it_cannot_do, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
