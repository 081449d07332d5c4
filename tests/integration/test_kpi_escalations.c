/* Effective Escalation from routing's real events: the ticket, routing and KPI services
 * in-process on a private Redis (routing_fixture), KPI's peers pointed at the other two. Agents
 * escalate their tickets through RoutingService (ASSIGN and CONSULT), a lead acknowledges,
 * resolves and bounces them; the relays publish, KPI's own consumers apply, and GetAgentKpi shows
 * the share and the counts. Then the escalation facts are wiped and RebuildFacts (over gRPC,
 * against routing's ListEscalations) writes them again: the same rows and the same figures. */
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
#include "helpdesk/v1/routing.pb-c.h"
#include "kpi_consume.h"
#include "kpi_service.h"
#include "kv/kv.h"
#include "routing_fixture.h"
#include "svc/outbox.h"

#define KPI(rpc) "/helpdesk.v1.KpiService/" rpc

typedef struct fx {
  rf r;         /* tickets + routing on a private Redis */
  hd_fixture k; /* kpi */
  hd_db *kdb;   /* KPI's database */
  hd_kv *kv;    /* the private Redis */
  char *k_agent1, *k_agent2, *k_sup;
} fx;

static int setup(void **state) {
  fx *x = calloc(1, sizeof *x);
  *state = x;
  if (!x || rf_start(&x->r) != 0) return -1;
  setenv("HELPDESK_TICKETS_TARGET", x->r.t.f.target, 1);
  setenv("HELPDESK_ROUTING_TARGET", x->r.r.target, 1);
  if (hd_fixture_start(&x->k, &kpi_service_def) != 0) return -1;
  hd_db_config dbc;
  hd_test_db_config(&dbc, x->k.db_name);
  hd_kv_config kvc;
  hd_test_kv_config(&kvc);
  hd_err err = {0};
  if (hd_db_new(&dbc, &x->kdb, &err) || hd_kv_new(&kvc, &x->kv, &err)) return -1;
  x->k_agent1 = hd_fixture_token(&x->k, "acme", "agent-1", HD_ROLE_AGENT);
  x->k_agent2 = hd_fixture_token(&x->k, "acme", "agent-2", HD_ROLE_AGENT);
  x->k_sup = hd_fixture_token(&x->k, "acme", "sup-1", HD_ROLE_AGENT | HD_ROLE_SUPERVISOR);
  return 0;
}

static int teardown(void **state) {
  fx *x = *state;
  if (!x) return 0;
  hd_db_close(x->kdb);
  hd_kv_close(x->kv);
  hd_fixture_stop(&x->k);
  rf_stop(&x->r);
  free(x->k_agent1);
  free(x->k_agent2);
  free(x->k_sup);
  free(x);
  return 0;
}

/* Moves the three services' clocks together, as one wall clock would (each mints and checks
 * the tokens of its peer calls by its own). */
static void later(fx *x, int64_t us) {
  hd_clock_advance(&x->r.t.f.clock, us);
  hd_clock_advance(&x->r.r.clock, us);
  hd_clock_advance(&x->k.clock, us);
}

/* ---- routing ---- */

/* A ticket of cust-1 owned by owner, in TECHNICAL. */
static int64_t owned(fx *x, const char *owner, const char *subject) {
  Helpdesk__V1__Ticket *t = tf_create(&x->r.t, x->r.t.customer, NULL, subject);
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = t->id;
  rq.owner_id = (char *)owner;
  rq.department = "TECHNICAL";
  tf_must(&x->r.t, "AssignTicket", x->r.t.lead, &rq.base, &helpdesk__v1__ticket__descriptor);
  return t->id;
}

#define ASSIGN   HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_ASSIGN
#define CONSULT  HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_CONSULT
#define RESOLVED HELPDESK__V1__ESCALATION_OUTCOME__ESCALATION_OUTCOME_RESOLVED
#define BOUNCED  HELPDESK__V1__ESCALATION_OUTCOME__ESCALATION_OUTCOME_BOUNCED

/* The owner's escalation of ticket to dept; its id. */
static int64_t escalate(fx *x, const char *token, int64_t ticket, const char *dept,
                        Helpdesk__V1__EscalationMode mode) {
  Helpdesk__V1__EscalateToDepartmentRequest rq = HELPDESK__V1__ESCALATE_TO_DEPARTMENT_REQUEST__INIT;
  rq.ticket_id = ticket;
  rq.department = (char *)dept;
  rq.mode = mode;
  rq.context = "Customer is charged twice for the renewal";
  rq.thread_link = mode == CONSULT ? "https://chat.example.test/thread/7" : "";
  const Helpdesk__V1__Escalation *e = (const Helpdesk__V1__Escalation *)rf_must(
      &x->r, "EscalateToDepartment", token, &rq.base, &helpdesk__v1__escalation__descriptor);
  return e->id;
}

static void acknowledge(fx *x, int64_t id) {
  Helpdesk__V1__AcknowledgeEscalationRequest rq =
      HELPDESK__V1__ACKNOWLEDGE_ESCALATION_REQUEST__INIT;
  rq.escalation_id = id;
  rq.note = "On it.";
  rf_must(&x->r, "AcknowledgeEscalation", x->r.lead, &rq.base,
          &helpdesk__v1__escalation__descriptor);
}

static void resolve(fx *x, int64_t id, Helpdesk__V1__EscalationOutcome outcome) {
  Helpdesk__V1__ResolveEscalationRequest rq = HELPDESK__V1__RESOLVE_ESCALATION_REQUEST__INIT;
  rq.escalation_id = id;
  rq.outcome = outcome;
  rq.resolution = outcome == RESOLVED ? "the duplicate charge was refunded" : "not ours";
  rf_must(&x->r, "ResolveEscalation", x->r.lead, &rq.base, &helpdesk__v1__escalation__descriptor);
}

/* ---- the streams ---- */

/* Waits (bounded) until both relays have published everything and KPI's group on both streams
 * has applied and acknowledged every entry. */
static void settle(fx *x) {
  static const char *const streams[] = {HD_OUTBOX_STREAM_PREFIX "tickets",
                                        HD_OUTBOX_STREAM_PREFIX "routing"};
  for (int i = 0;; i++) {
    bool done = rf_sqlf(&x->r, "SELECT COUNT(*) FROM outbox WHERE published_at_us IS NULL") == 0 &&
                tf_sql(&x->r.t, "SELECT COUNT(*) FROM outbox WHERE published_at_us IS NULL") == 0;
    for (size_t s = 0; done && s < 2; s++) {
      hd_kv_group_info gi = {0};
      hd_err err = {0};
      if (hd_kv_group_info_get(x->kv, streams[s], KPI_CONSUMER_GROUP, &gi, &err))
        fail_msg("%s", err.msg);
      done = gi.group_exists && gi.lag == 0 && gi.pending == 0;
    }
    if (done) return;
    if (i == 3000) fail_msg("KPI's consumers did not apply the streams within 30 s");
    usleep(10000);
  }
}

/* ---- KPI ---- */

static const Helpdesk__V1__AgentKpi *agent_kpi(fx *x, const char *token) {
  Helpdesk__V1__GetAgentKpiRequest rq = HELPDESK__V1__GET_AGENT_KPI_REQUEST__INIT;
  rq.month = "2026-01";
  hd_err err = {0};
  ProtobufCMessage *resp = NULL;
  const hd_code code =
      hd_fixture_call(&x->k, KPI("GetAgentKpi"), token, &rq.base,
                      &helpdesk__v1__agent_kpi__descriptor, x->r.arena, &resp, &err);
  if (code != HD_OK) fail_msg("GetAgentKpi: %s %s", hd_code_name(code), err.msg);
  return (const Helpdesk__V1__AgentKpi *)resp;
}

/* The agent's Effective Escalation, printed and packed (equal bytes are equal figures). */
static char *escalation_figures(fx *x, const char *who, const char *token) {
  const Helpdesk__V1__EffectiveEscalation *e = agent_kpi(x, token)->escalation;
  assert_non_null(e);
  printf("%s 2026-01 Effective Escalation: escalated %" PRId64 ", accepted %" PRId64
         ", resolved %" PRId64 ", bounced %" PRId64 ", pending %" PRId64
         ", share %.4f, score %.2f\n",
         who, e->escalated, e->accepted, e->resolved, e->bounced, e->pending, e->share_effective,
         e->score);
  const size_t len = protobuf_c_message_get_packed_size(&e->base);
  uint8_t *buf = hd_arena_alloc(x->r.arena, len + 1);
  char *hex = hd_arena_alloc(x->r.arena, 2 * len + 1);
  protobuf_c_message_pack(&e->base, buf);
  hex[0] = '\0';
  for (size_t i = 0; i < len; i++) sprintf(hex + 2 * i, "%02x", buf[i]);
  return hex;
}

static char *escalation_rows(fx *x) {
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  if (hd_db_query(x->kdb,
                  "SELECT CONCAT_WS('|', escalation_id, ticket_id, kind, status, created_by, "
                  "IFNULL(created_at_us, '-'), IFNULL(acknowledged_at_us, '-'), "
                  "IFNULL(ended_at_us, '-')) FROM escalation_facts WHERE tenant = 'acme' "
                  "ORDER BY escalation_id",
                  NULL, 0, 1000, &rows, &err))
    fail_msg("%s", err.msg);
  char *out = hd_arena_strdup(x->r.arena, "");
  for (size_t i = 0; i < hd_db_rows_count(rows); i++)
    out = hd_arena_printf(x->r.arena, "%s%s\n", out, hd_db_str(rows, i, 0, NULL));
  hd_db_rows_free(rows);
  return out;
}

static int rebuild_escalations(fx *x, int32_t page_size) {
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = page_size;
  page.page_token = "";
  Helpdesk__V1__RebuildFactsRequest rq = HELPDESK__V1__REBUILD_FACTS_REQUEST__INIT;
  rq.source = HELPDESK__V1__FACT_SOURCE__FACT_SOURCE_ESCALATIONS;
  rq.page = &page;
  int total = 0, calls = 0;
  do {
    hd_err err = {0};
    ProtobufCMessage *resp = NULL;
    const hd_code code =
        hd_fixture_call(&x->k, KPI("RebuildFacts"), x->k_sup, &rq.base,
                        &helpdesk__v1__rebuild_facts_response__descriptor, x->r.arena, &resp, &err);
    if (code != HD_OK) fail_msg("RebuildFacts: %s %s", hd_code_name(code), err.msg);
    const Helpdesk__V1__RebuildFactsResponse *r = (const Helpdesk__V1__RebuildFactsResponse *)resp;
    total += r->rebuilt;
    page.page_token = r->page->next_page_token;
    calls++;
  } while (*page.page_token && calls < 100);
  return total;
}

static void test_effective_escalation_from_routing_events_and_rebuild_equals_stream(void **state) {
  fx *x = *state;
  /* agent-1: five escalations, each ending another way; agent-2: one, resolved. */
  const int64_t e1 = escalate(x, x->r.agent, owned(x, "agent-1", "Charged twice"), "BILLING",
                              ASSIGN); /* acknowledged, resolved */
  const int64_t e2 = escalate(x, x->r.agent, owned(x, "agent-1", "Transfer the domain"), "DOMAIN",
                              CONSULT); /* resolved unacknowledged */
  const int64_t e3 = escalate(x, x->r.agent, owned(x, "agent-1", "Invoice address"), "BILLING",
                              ASSIGN); /* acknowledged, bounced */
  const int64_t e4 = escalate(x, x->r.agent, owned(x, "agent-1", "DNS for the shop"), "DOMAIN",
                              CONSULT); /* bounced unacknowledged */
  const int64_t e5 = escalate(x, x->r.agent, owned(x, "agent-1", "Refund"), "BILLING",
                              ASSIGN); /* acknowledged, still open */
  const int64_t e6 = escalate(x, x->r.agent2, owned(x, "agent-2", "Whois privacy"), "DOMAIN",
                              CONSULT); /* agent-2's, resolved */
  later(x, 30 * 60 * HD_US_PER_S);
  acknowledge(x, e1);
  acknowledge(x, e3);
  acknowledge(x, e5);
  later(x, 60 * 60 * HD_US_PER_S);
  resolve(x, e1, RESOLVED);
  resolve(x, e2, RESOLVED);
  resolve(x, e3, BOUNCED);
  resolve(x, e4, BOUNCED);
  resolve(x, e6, RESOLVED);
  /* Routing's creation events carry the record's creator and create time. */
  assert_int_equal(rf_sqlf(&x->r,
                           "SELECT COUNT(*) FROM outbox o JOIN escalations e ON e.id = "
                           "o.aggregate_id WHERE o.event_type = 'routing.escalation_created' AND "
                           "JSON_VALUE(o.payload, '$.created_by') = e.created_by AND "
                           "JSON_VALUE(o.payload, '$.create_time_us') = e.created_at_us"),
                   6);

  settle(x);
  const char *stream_rows = escalation_rows(x);
  printf("escalation facts from the stream:\n%s", stream_rows);
  assert_int_equal(hd_fixture_sql_i64(&x->k, "SELECT COUNT(*) FROM escalation_facts"), 6);
  assert_int_equal(hd_fixture_sql_i64(&x->k,
                                      "SELECT COUNT(*) FROM escalation_facts WHERE created_by = "
                                      "'agent-1'"),
                   5);
  const char *a1 = escalation_figures(x, "agent-1 (stream)", x->k_agent1);
  const char *a2 = escalation_figures(x, "agent-2 (stream)", x->k_agent2);
  const Helpdesk__V1__EffectiveEscalation *e = agent_kpi(x, x->k_agent1)->escalation;
  assert_int_equal(e->escalated, 5);
  assert_int_equal(e->accepted, 4); /* e1, e2 (resolved), e3 and e5 (acknowledged) */
  assert_int_equal(e->resolved, 2);
  assert_int_equal(e->bounced, 2);
  assert_int_equal(e->pending, 1);
  assert_true(e->has_data);
  assert_float_equal(e->share_effective, 0.5, 1e-12);
  assert_float_equal(e->score, 50.0, 1e-9);
  e = agent_kpi(x, x->k_agent2)->escalation;
  assert_int_equal(e->escalated, 1);
  assert_int_equal(e->resolved, 1);
  assert_int_equal(e->bounced, 0);
  assert_float_equal(e->score, 100.0, 1e-9);

  /* Rebuild equals stream: wiped, then written again from routing's ListEscalations. */
  hd_err err = {0};
  if (hd_db_exec(x->kdb, "DELETE FROM escalation_facts", NULL, 0, NULL, NULL, &err))
    fail_msg("%s", err.msg);
  assert_false(agent_kpi(x, x->k_agent1)->escalation->has_data);
  assert_int_equal(rebuild_escalations(x, 4), 6);
  const char *rebuilt_rows = escalation_rows(x);
  if (strcmp(stream_rows, rebuilt_rows) != 0) {
    printf("stream:\n%s\nrebuilt:\n%s", stream_rows, rebuilt_rows);
    fail_msg("the rebuilt escalation facts differ from the stream's (both printed above)");
  }
  assert_string_equal(escalation_figures(x, "agent-1 (rebuilt)", x->k_agent1), a1);
  assert_string_equal(escalation_figures(x, "agent-2 (rebuilt)", x->k_agent2), a2);
  printf("rebuild equals stream for escalations: %d rows and both agents' figures equal\n", 6);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_effective_escalation_from_routing_events_and_rebuild_equals_stream, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
