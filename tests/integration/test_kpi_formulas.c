/* The KPI service on hand-made event sets with known answers: events are written to a stream of
 * the test's own as the outbox relay writes them (tickets and routing), applied by the service's
 * own apply functions through the kit's consumer, and read back over gRPC from the KPI service
 * in-process: the five key result areas, the overall score, a duplicated event, events out of
 * order, permissions, satisfaction's rules, month and half-year boundaries in UTC and in
 * Asia/Makassar (UTC+8), and the schema's byte-for-byte columns. */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpdesk/v1/kpi.pb-c.h"
#include "kpi_consume.h"
#include "kpi_service.h"
#include "svc_fixture.h"
#include "test_env.h"

#define T_UTC  "kpi-utc"
#define T_BALI "kpi-bali"
#define US     HD_US_PER_S
#define MIN    (60 * US)
#define HOUR   (3600 * US)
#define DAY    (86400 * US)

/* 2026-01-05T00:00:00Z, a Monday */
#define JAN5 (1767571200LL * US)

typedef struct fx {
  hd_fixture f;
  hd_service_def def;
  hd_consumer_def tickets_def, routing_def;
  char tickets_stream[96], routing_stream[96];
  hd_db *db;
  hd_kv *kv;
  hd_consumer *tickets, *routing;
  hd_arena *arena;
  int64_t next_event;
  char *ana, *ben, *lead, *cust, *cust2, *bali_ana, *bali_lead;
} fx;

static int setup(void **state) {
  fx *x = calloc(1, sizeof *x);
  setenv("HELPDESK_KPI_TENANT_TIME_ZONES", T_BALI "=Asia/Makassar", 1);
  setenv("HELPDESK_KPI_HOLIDAYS", "2026-01-01", 1);
  /* No ticket service: RecordSatisfaction's fallback (GetTicket) finds none, so the facts'
   * answers stand (test_kpi_satisfaction has the fallback with a real one). */
  setenv("HELPDESK_TICKETS_TARGET", "127.0.0.1:1", 1);
  x->def = kpi_service_def;
  x->def.consumers = NULL; /* the test drives its own consumers, on streams of its own */
  x->def.n_consumers = 0;
  if (hd_fixture_start(&x->f, &x->def) != 0) return -1;
  hd_test_unique(x->tickets_stream, sizeof x->tickets_stream, "kpit:tickets");
  hd_test_unique(x->routing_stream, sizeof x->routing_stream, "kpit:routing");
  x->tickets_def = (hd_consumer_def){.stream = x->tickets_stream,
                                     .group = KPI_CONSUMER_GROUP,
                                     .apply = kpi_consume_ticket_event,
                                     .opts = {.block_ms = 1, .consumer_name = "t"}};
  x->routing_def = (hd_consumer_def){.stream = x->routing_stream,
                                     .group = KPI_CONSUMER_GROUP,
                                     .apply = kpi_consume_routing_event,
                                     .opts = {.block_ms = 1, .consumer_name = "r"}};
  hd_db_config dbc;
  hd_test_db_config(&dbc, x->f.db_name);
  hd_kv_config kvc;
  hd_test_kv_config(&kvc);
  hd_err err = {0};
  if (hd_db_new(&dbc, &x->db, &err) || hd_kv_new(&kvc, &x->kv, &err)) return -1;
  const hd_consumer_ctx ctx = {.db = x->db, .kv = x->kv, .clock = &x->f.clock};
  if (hd_consumer_new(&x->tickets_def, &ctx, &x->tickets, &err) ||
      hd_consumer_new(&x->routing_def, &ctx, &x->routing, &err))
    return -1;
  x->arena = hd_arena_new(64 << 20);
  x->ana = hd_fixture_token(&x->f, T_UTC, "ana", HD_ROLE_AGENT);
  x->ben = hd_fixture_token(&x->f, T_UTC, "ben", HD_ROLE_AGENT);
  x->lead = hd_fixture_token(&x->f, T_UTC, "lead-1", HD_ROLE_AGENT | HD_ROLE_TEAM_LEAD);
  x->cust = hd_fixture_token(&x->f, T_UTC, "cust-1", HD_ROLE_CUSTOMER);
  x->cust2 = hd_fixture_token(&x->f, T_UTC, "cust-2", HD_ROLE_CUSTOMER);
  x->bali_ana = hd_fixture_token(&x->f, T_BALI, "ana", HD_ROLE_AGENT);
  x->bali_lead = hd_fixture_token(&x->f, T_BALI, "lead-1", HD_ROLE_SUPERVISOR);
  *state = x;
  return 0;
}

static int teardown(void **state) {
  fx *x = *state;
  if (!x) return 0;
  hd_err err = {0};
  const char *del[] = {"DEL", x->tickets_stream, x->routing_stream};
  if (x->kv) hd_kv_cmd(x->kv, 3, del, NULL, false, NULL, &err);
  hd_consumer_free(x->tickets);
  hd_consumer_free(x->routing);
  hd_db_close(x->db);
  hd_kv_close(x->kv);
  hd_fixture_stop(&x->f);
  hd_arena_free(x->arena);
  free(x->ana);
  free(x->ben);
  free(x->lead);
  free(x->cust);
  free(x->cust2);
  free(x->bali_ana);
  free(x->bali_lead);
  free(x);
  return 0;
}

/* ---- events as the relays write them ---- */

static void xadd(fx *x, const char *stream, const char *event_id, const char *type,
                 const char *tenant, int64_t aggregate, int64_t at_us, const char *payload) {
  char agg[24], at[24];
  snprintf(agg, sizeof agg, "%" PRId64, aggregate);
  snprintf(at, sizeof at, "%" PRId64, at_us);
  const hd_kv_field f[] = {
      {"event_id", event_id, strlen(event_id)}, {"type", type, strlen(type)},
      {"tenant", tenant, strlen(tenant)},       {"aggregate_id", agg, strlen(agg)},
      {"created_at_us", at, strlen(at)},        {"payload", payload, strlen(payload)}};
  hd_err err = {0};
  if (hd_kv_stream_add(x->kv, stream, 100000, f, 6, NULL, &err))
    fail_msg("XADD %s: %s", stream, err.msg);
}

/* A JSON string or null. */
static const char *js(char *buf, size_t cap, const char *s) {
  if (!s) return "null";
  snprintf(buf, cap, "\"%s\"", s);
  return buf;
}

/* One ticket event, as ticket_store writes it: the ticket after the change (customer cust-1),
 * changes (a JSON object's members, "" for none), a comment id when comment. Returns its id. */
typedef struct tev {
  const char *tenant;
  int64_t ticket;
  int64_t version;
  const char *type, *action, *actor, *role;
  int64_t at;
  const char *status, *owner, *category;
  const char *changes;
  bool comment;
  const char *event_id; /* NULL: a new one */
} tev;

static const char *ticket_event(fx *x, const tev *e) {
  char owner[160], cat[32], *payload = NULL;
  char *id = hd_arena_printf(x->arena, "tickets-%" PRId64, ++x->next_event);
  if (e->event_id) id = (char *)e->event_id;
  payload = hd_arena_printf(
      x->arena,
      "{\"event\":\"%s\",\"tenant\":\"%s\",\"ticket_id\":%" PRId64
      ",\"actor_id\":\"%s\",\"actor_role\":\"%s\",\"time_us\":%" PRId64 ",\"version\":%" PRId64
      ",\"action\":\"%s\",\"ticket\":{\"status\":\"%s\",\"owner_id\":%s,\"department\":null,"
      "\"customer_id\":\"cust-1\",\"category\":%s,\"level\":1,\"service_type\":\"SHARED\","
      "\"issue_type\":\"EMAIL\"},\"changes\":{%s}%s}",
      e->type, e->tenant, e->ticket, e->actor, e->role, e->at, e->version, e->action, e->status,
      js(owner, sizeof owner, e->owner), js(cat, sizeof cat, e->category),
      e->changes ? e->changes : "", e->comment ? ",\"comment_id\":7" : "");
  xadd(x, x->tickets_stream, id, e->type, e->tenant, e->ticket, e->at, payload);
  return id;
}

/* A ticket's usual life as events: created at t0, assigned to owner, first reply after
 * `first` (ACKNOWLEDGE), categorised, then closed by the customer at `closed` (0: stays open).
 * Versions 1..5. */
typedef struct life {
  const char *tenant;
  int64_t ticket;
  const char *owner, *category;
  int64_t t0, first, closed;
  bool reverse; /* publish the events newest first */
} life;

static void ticket_life(fx *x, const life *l) {
  char ch[256];
  tev ev[5];
  size_t n = 0;
  ev[n++] = (tev){l->tenant,
                  l->ticket,
                  1,
                  "ticket.created",
                  "CREATE",
                  "cust-1",
                  "customer",
                  l->t0,
                  "PENDING_RESPONSE",
                  NULL,
                  NULL,
                  "",
                  false,
                  NULL};
  snprintf(ch, sizeof ch, "\"owner_id\":{\"from\":null,\"to\":\"%s\"}", l->owner);
  char *assign = hd_arena_strdup(x->arena, ch);
  ev[n++] = (tev){l->tenant,
                  l->ticket,
                  2,
                  "ticket.assigned",
                  "ASSIGN",
                  "lead-1",
                  "team_lead",
                  l->t0 + MIN / 2,
                  "PENDING_RESPONSE",
                  l->owner,
                  NULL,
                  assign,
                  false,
                  NULL};
  ev[n++] = (tev){l->tenant,
                  l->ticket,
                  3,
                  "ticket.replied",
                  "ACKNOWLEDGE",
                  l->owner,
                  "agent",
                  l->t0 + l->first,
                  "PROCESSING",
                  l->owner,
                  NULL,
                  "\"status\":{\"from\":\"PENDING_RESPONSE\",\"to\":\"PROCESSING\"}",
                  true,
                  NULL};
  if (l->category) {
    snprintf(ch, sizeof ch, "\"category\":{\"from\":null,\"to\":\"%s\"}", l->category);
    ev[n++] = (tev){l->tenant,      l->ticket, 4,           "ticket.category_set",
                    "SET_CATEGORY", "lead-1",  "team_lead", l->t0 + l->first + MIN,
                    "PROCESSING",   l->owner,  l->category, hd_arena_strdup(x->arena, ch),
                    false,          NULL};
  }
  if (l->closed)
    ev[n++] = (tev){
        l->tenant, l->ticket, 5,           "ticket.closed",
        "CLOSE",   "cust-1",  "customer",  l->closed,
        "CLOSED",  l->owner,  l->category, "\"status\":{\"from\":\"PROCESSING\",\"to\":\"CLOSED\"}",
        false,     NULL};
  for (size_t i = 0; i < n; i++) ticket_event(x, &ev[l->reverse ? n - 1 - i : i]);
}

/* A routing.escalation_* event (as h17's escal_event writes it: the envelope's actor and time,
 * the escalation's state in the body). */
static void escalation_event(fx *x, const char *tenant, int64_t id, const char *what,
                             const char *actor, int64_t at, const char *status) {
  char type[64];
  snprintf(type, sizeof type, "routing.escalation_%s", what);
  char *eid = hd_arena_printf(x->arena, "routing-%" PRId64, ++x->next_event);
  char *payload = hd_arena_printf(
      x->arena,
      "{\"event\":\"%s\",\"tenant\":\"%s\",\"escalation_id\":%" PRId64
      ",\"actor_id\":\"%s\",\"actor_role\":\"agent\",\"time_us\":%" PRId64
      ",\"ticket_id\":1,\"kind\":\"DEPARTMENT\",\"mode\":\"ASSIGN\",\"from_department\":\"\","
      "\"to_department\":\"BILLING\",\"status\":\"%s\",\"due_time_us\":0,\"overdue\":false}",
      type, tenant, id, actor, at, status);
  xadd(x, x->routing_stream, eid, type, tenant, id, at, payload);
}

/* Polls both consumers until every entry of both streams has been handled. */
static void drain(fx *x) {
  for (int i = 0; i < 2000; i++) {
    hd_err err = {0};
    if (hd_consumer_poll(x->tickets, &err) || hd_consumer_poll(x->routing, &err))
      fail_msg("poll: %s", err.msg);
    hd_kv_group_info ti = {0}, ri = {0};
    if (hd_kv_group_info_get(x->kv, x->tickets_stream, KPI_CONSUMER_GROUP, &ti, &err) ||
        hd_kv_group_info_get(x->kv, x->routing_stream, KPI_CONSUMER_GROUP, &ri, &err))
      fail_msg("group info: %s", err.msg);
    if ((!ti.group_exists || ti.lag == 0) && (!ri.group_exists || ri.lag == 0) && ti.pending == 0 &&
        ri.pending == 0)
      return;
  }
  fail_msg("the consumers did not drain their streams");
}

/* ---- calls ---- */

static hd_code kpi_call(fx *x, const char *rpc, const char *token, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *desc, void *resp, hd_err *err) {
  char method[96];
  snprintf(method, sizeof method, "/helpdesk.v1.KpiService/%s", rpc);
  ProtobufCMessage *r = NULL;
  const hd_code code = hd_fixture_call(&x->f, method, token, req, desc, x->arena, &r, err);
  if (resp) *(ProtobufCMessage **)resp = code == HD_OK ? r : NULL;
  return code;
}

static void *kpi_must(fx *x, const char *rpc, const char *token, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *desc) {
  hd_err err = {0};
  void *resp = NULL;
  const hd_code code = kpi_call(x, rpc, token, req, desc, &resp, &err);
  if (code != HD_OK) fail_msg("%s: %s: %s", rpc, hd_code_name(code), err.msg);
  return resp;
}

static void expect_code(fx *x, const char *rpc, const char *token, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *desc, hd_code want, const char *part) {
  hd_err err = {0};
  const hd_code code = kpi_call(x, rpc, token, req, desc, NULL, &err);
  if (code != want || (part && !strstr(err.msg, part)))
    fail_msg("%s answered %s \"%s\"; expected %s with \"%s\"", rpc, hd_code_name(code), err.msg,
             hd_code_name(want), part ? part : "");
}

static Helpdesk__V1__AgentKpi *agent_kpi(fx *x, const char *token, const char *agent,
                                         const char *month) {
  Helpdesk__V1__GetAgentKpiRequest rq = HELPDESK__V1__GET_AGENT_KPI_REQUEST__INIT;
  rq.agent_id = (char *)agent;
  rq.month = (char *)month;
  return kpi_must(x, "GetAgentKpi", token, &rq.base, &helpdesk__v1__agent_kpi__descriptor);
}

static void rate(fx *x, const char *token, int64_t ticket, int score, hd_code want,
                 const char *part) {
  Helpdesk__V1__RecordSatisfactionRequest rq = HELPDESK__V1__RECORD_SATISFACTION_REQUEST__INIT;
  rq.ticket_id = ticket;
  rq.score = score;
  rq.comment = "thanks";
  expect_code(x, "RecordSatisfaction", token, &rq.base, &helpdesk__v1__satisfaction__descriptor,
              want, part);
}

static void scores(fx *x, const char *token, const char *agent, const char *month, int pdi, int pis,
                   int adapt, int init, int sop) {
  Helpdesk__V1__RecordIndividualScoresRequest rq =
      HELPDESK__V1__RECORD_INDIVIDUAL_SCORES_REQUEST__INIT;
  rq.agent_id = (char *)agent;
  rq.month = (char *)month;
  rq.personal_dynamic_index = pdi;
  rq.performance_impact_service = pis;
  rq.adaptability = adapt;
  rq.initiative = init;
  rq.sop_compliance = sop;
  rq.comment = "one-on-one";
  kpi_must(x, "RecordIndividualScores", token, &rq.base,
           &helpdesk__v1__individual_scores__descriptor);
}

#define assert_near(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-6)

/* ---- the known answers ---- */

/* ana's January: T1 HARD answered in 30 min and closed; T2 MEDIUM answered in 2 h and closed,
 * its events published newest first; T3 uncategorised answered in 10 min and open. ben: T4
 * LOWER, T5 answered once, its reply delivered twice. ana escalated three times: resolved,
 * bounced, acknowledged; once more in February. */
static void january(fx *x) {
  ticket_life(x,
              &(life){T_UTC, 1, "ana", "HARD", JAN5 + 9 * HOUR, 30 * MIN, JAN5 + 34 * HOUR, false});
  ticket_life(
      x, &(life){T_UTC, 2, "ana", "MEDIUM", JAN5 + 58 * HOUR, 2 * HOUR, JAN5 + 82 * HOUR, true});
  ticket_life(x, &(life){T_UTC, 3, "ana", NULL, JAN5 + 104 * HOUR, 10 * MIN, 0, false});
  ticket_life(x,
              &(life){T_UTC, 4, "ben", "LOWER", JAN5 + DAY, 5 * MIN, JAN5 + DAY + 2 * HOUR, false});
  ticket_life(x, &(life){T_UTC, 5, "ben", NULL, JAN5 + 2 * DAY, 20 * MIN, 0, false});
  /* The relay published T5's reply again after a crash: the same event id. */
  const tev again = {T_UTC,
                     5,
                     3,
                     "ticket.replied",
                     "ACKNOWLEDGE",
                     "ben",
                     "agent",
                     JAN5 + 2 * DAY + 20 * MIN,
                     "PROCESSING",
                     "ben",
                     NULL,
                     "\"status\":{\"from\":\"PENDING_RESPONSE\",\"to\":\"PROCESSING\"}",
                     true,
                     "tickets-dup-1"};
  ticket_event(x, &again);
  ticket_event(x, &again);
  escalation_event(x, T_UTC, 1, "created", "ana", JAN5 + DAY, "OPEN");
  escalation_event(x, T_UTC, 1, "acknowledged", "billing-1", JAN5 + DAY + HOUR, "ACKNOWLEDGED");
  escalation_event(x, T_UTC, 1, "resolved", "billing-1", JAN5 + 2 * DAY, "RESOLVED");
  escalation_event(x, T_UTC, 2, "bounced", "billing-1", JAN5 + 3 * DAY, "BOUNCED"); /* first */
  escalation_event(x, T_UTC, 2, "created", "ana", JAN5 + 2 * DAY, "OPEN");
  escalation_event(x, T_UTC, 3, "created", "ana", JAN5 + 4 * DAY, "OPEN");
  escalation_event(x, T_UTC, 3, "acknowledged", "billing-1", JAN5 + 5 * DAY, "ACKNOWLEDGED");
  escalation_event(x, T_UTC, 4, "created", "ana", JAN5 + 30 * DAY, "OPEN"); /* February */
  drain(x);
}

static void test_an_agents_month_gives_the_formulas_known_answers(void **state) {
  fx *x = *state;
  january(x);
  hd_clock_set(&x->f.clock, JAN5 + 15 * DAY); /* rated in January */
  rate(x, x->cust, 1, 5, HD_OK, NULL);
  rate(x, x->cust, 2, 3, HD_OK, NULL);
  scores(x, x->lead, "ana", "2026-01", 80, 70, 60, 90, 100);
  hd_clock_set(&x->f.clock, JAN5 + 41 * DAY); /* 2026-02-15: January is over */

  const Helpdesk__V1__AgentKpi *k = agent_kpi(x, x->ana, "", "2026-01");
  assert_string_equal(k->agent_id, "ana");
  assert_string_equal(k->period, "2026-01");
  assert_string_equal(k->time_zone, "UTC");
  assert_int_equal(k->working_days, 21); /* 22 weekdays less the New Year holiday */

  const Helpdesk__V1__ResolutionPerformance *rp = k->resolution;
  assert_int_equal(rp->resolved, 2);
  assert_int_equal(rp->resolved_hard, 1);
  assert_int_equal(rp->resolved_medium, 1);
  assert_near(rp->weighted_resolved, 3 + 2);
  assert_near(rp->target_points, 6 * 21);
  assert_near(rp->score, 100.0 * 5 / 126);

  const Helpdesk__V1__ResponseEfficiency *re = k->response;
  assert_int_equal(re->first_responses, 3);
  assert_int_equal(re->within_target, 2);
  assert_int_equal(re->median_first_response_us, 30 * MIN);
  assert_near(re->score, 100.0 * 2 / 3);

  const Helpdesk__V1__EffectiveEscalation *ee = k->escalation;
  assert_int_equal(ee->escalated, 3);
  assert_int_equal(ee->accepted, 2);
  assert_int_equal(ee->resolved, 1);
  assert_int_equal(ee->bounced, 1);
  assert_int_equal(ee->pending, 1);
  assert_near(ee->score, 50);

  const Helpdesk__V1__IndividualProductivity *ip = k->productivity;
  assert_int_equal(ip->handled, 3);
  assert_int_equal(ip->handled_uncategorised, 1);
  assert_near(ip->weighted_handled, 3 + 2 + 1);
  assert_near(ip->per_working_day, 6.0 / 21);
  assert_near(ip->score, 100.0 * (6.0 / 21) / 8);

  const Helpdesk__V1__CustomerSatisfaction *cs = k->satisfaction;
  assert_int_equal(cs->count, 2);
  assert_int_equal(cs->sum, 8);
  assert_near(cs->mean, 4);
  assert_near(cs->score, 75);
  assert_int_equal(cs->n_distribution, 5);
  assert_int_equal(cs->distribution[2], 1);
  assert_int_equal(cs->distribution[4], 1);

  assert_non_null(k->individual_scores);
  assert_near(k->individual_scores->sop_compliance, 100);
  assert_string_equal(k->individual_scores->recorded_by, "lead-1");
  const double kra = 100.0 * 5 / 126 + 100.0 * 2 / 3 + 50 + 100.0 * (6.0 / 21) / 8 + 75;
  assert_near(k->overall->score, (14 * kra + 6 * (80 + 70 + 60 + 90 + 100)) / 100.0);
  assert_near(k->overall->weight_total, 100);
  printf("ana 2026-01: RPI %.2f REM %.2f EE %.2f IP %.2f CSAT %.2f overall %.2f\n", rp->score,
         re->score, ee->score, ip->score, cs->score, k->overall->score);

  /* ben: the duplicated reply counted once. */
  const Helpdesk__V1__AgentKpi *b = agent_kpi(x, x->lead, "ben", "2026-01");
  assert_int_equal(b->response->first_responses, 2);
  assert_int_equal(b->productivity->handled, 2);
  assert_int_equal(b->resolution->resolved_lower, 1);
  assert_false(b->escalation->has_data);
  assert_false(b->satisfaction->has_data);
  assert_null(b->individual_scores);
  /* Without escalations, ratings and scores, the overall is the mean of the three others. */
  assert_near(b->overall->score,
              (b->resolution->score + b->response->score + b->productivity->score) / 3);
  assert_int_equal(
      hd_fixture_sql_i64(&x->f, "SELECT COUNT(*) FROM ticket_marks WHERE ticket_id = 5"), 1);

  /* The team: both agents, sums and the pooled median (5, 10, 20, 30 min, 2 h: 20 min). */
  Helpdesk__V1__GetTeamSummaryRequest tq = HELPDESK__V1__GET_TEAM_SUMMARY_REQUEST__INIT;
  tq.month = "2026-01";
  const Helpdesk__V1__TeamSummary *t =
      kpi_must(x, "GetTeamSummary", x->lead, &tq.base, &helpdesk__v1__team_summary__descriptor);
  assert_int_equal(t->agent_count, 2);
  assert_int_equal(t->n_agents, 2);
  assert_string_equal(t->agents[0]->agent_id, "ana");
  assert_string_equal(t->agents[1]->agent_id, "ben");
  assert_int_equal(t->team->resolution->resolved, 3);
  assert_int_equal(t->team->resolution->agents, 2);
  assert_near(t->team->resolution->target_points, 6 * 21 * 2);
  assert_int_equal(t->team->response->first_responses, 5);
  assert_int_equal(t->team->response->median_first_response_us, 20 * MIN);
  assert_int_equal(t->team->productivity->handled, 5);
  assert_string_equal(t->page->next_page_token, "");
  /* A page of one, then the next. */
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 1;
  tq.page = &page;
  t = kpi_must(x, "GetTeamSummary", x->lead, &tq.base, &helpdesk__v1__team_summary__descriptor);
  assert_int_equal(t->n_agents, 1);
  assert_string_not_equal(t->page->next_page_token, "");
  page.page_token = t->page->next_page_token;
  t = kpi_must(x, "GetTeamSummary", x->lead, &tq.base, &helpdesk__v1__team_summary__descriptor);
  assert_int_equal(t->n_agents, 1);
  assert_string_equal(t->agents[0]->agent_id, "ben");
  assert_int_equal(t->team->resolution->resolved, 3);
}

static void test_weights_change_the_weighted_figures_and_keep_their_version(void **state) {
  fx *x = *state;
  january(x);
  hd_clock_set(&x->f.clock, JAN5 + 41 * DAY);
  Helpdesk__V1__SetCategoryWeightsRequest rq = HELPDESK__V1__SET_CATEGORY_WEIGHTS_REQUEST__INIT;
  rq.lower = 2;
  rq.medium = 4;
  rq.hard = 8;
  rq.uncategorised = 0.5;
  const Helpdesk__V1__CategoryWeights *w = kpi_must(x, "SetCategoryWeights", x->lead, &rq.base,
                                                    &helpdesk__v1__category_weights__descriptor);
  assert_int_equal(w->version, 1);
  assert_string_equal(w->updated_by, "lead-1");
  const Helpdesk__V1__AgentKpi *k = agent_kpi(x, x->ana, "", "2026-01");
  assert_near(k->resolution->weighted_resolved, 8 + 4);
  assert_near(k->productivity->weighted_handled, 8 + 4 + 0.5);
  assert_near(k->resolution->weights->hard, 8);
  rq.expected_version = 7;
  expect_code(x, "SetCategoryWeights", x->lead, &rq.base,
              &helpdesk__v1__category_weights__descriptor, HD_ABORTED, "version is now 1");
  rq.expected_version = 1;
  rq.hard = 100.5;
  expect_code(x, "SetCategoryWeights", x->lead, &rq.base,
              &helpdesk__v1__category_weights__descriptor, HD_INVALID_ARGUMENT,
              "hard must be a weight from 0 to 100");
  rq.hard = NAN;
  expect_code(x, "SetCategoryWeights", x->lead, &rq.base,
              &helpdesk__v1__category_weights__descriptor, HD_INVALID_ARGUMENT, "hard");
  expect_code(x, "SetCategoryWeights", x->ana, &rq.base,
              &helpdesk__v1__category_weights__descriptor, HD_PERMISSION_DENIED, "team_lead");
}

static void test_satisfaction_is_once_per_closed_ticket_of_the_customer(void **state) {
  fx *x = *state;
  january(x);
  rate(x, x->cust, 1, 5, HD_OK, NULL);
  rate(x, x->cust, 1, 4, HD_ALREADY_EXISTS, "rated already");
  rate(x, x->cust, 3, 4, HD_FAILED_PRECONDITION, "not CLOSED");
  rate(x, x->cust2, 2, 4, HD_NOT_FOUND, "not found");
  rate(x, x->cust, 999, 4, HD_NOT_FOUND, "not found");
  rate(x, x->cust, 2, 0, HD_INVALID_ARGUMENT, "score must be 1 to 5");
  rate(x, x->cust, 2, 6, HD_INVALID_ARGUMENT, "score must be 1 to 5");
  rate(x, x->ana, 2, 4, HD_PERMISSION_DENIED, "customer");
  assert_int_equal(hd_fixture_sql_i64(&x->f, "SELECT COUNT(*) FROM satisfaction"), 1);
  assert_int_equal(
      hd_fixture_sql_i64(&x->f, "SELECT COUNT(*) FROM satisfaction WHERE agent_id = 'ana'"), 1);
}

static void test_an_agent_cannot_read_a_colleagues_kpi(void **state) {
  fx *x = *state;
  january(x);
  Helpdesk__V1__GetAgentKpiRequest rq = HELPDESK__V1__GET_AGENT_KPI_REQUEST__INIT;
  rq.agent_id = "ben";
  rq.month = "2026-01";
  expect_code(x, "GetAgentKpi", x->ana, &rq.base, &helpdesk__v1__agent_kpi__descriptor,
              HD_PERMISSION_DENIED, "an agent reads only their own KPI");
  expect_code(x, "GetAgentKpi", x->cust, &rq.base, &helpdesk__v1__agent_kpi__descriptor,
              HD_PERMISSION_DENIED, NULL);
  rq.agent_id = "ana";
  expect_code(x, "GetAgentKpi", x->ana, &rq.base, &helpdesk__v1__agent_kpi__descriptor, HD_OK,
              NULL);
  rq.agent_id = "ben";
  expect_code(x, "GetAgentKpi", x->lead, &rq.base, &helpdesk__v1__agent_kpi__descriptor, HD_OK,
              NULL);
  rq.agent_id = "ben ";
  expect_code(x, "GetAgentKpi", x->lead, &rq.base, &helpdesk__v1__agent_kpi__descriptor,
              HD_INVALID_ARGUMENT, "agent_id");
  rq.agent_id = "";
  rq.month = "2026-13";
  expect_code(x, "GetAgentKpi", x->ana, &rq.base, &helpdesk__v1__agent_kpi__descriptor,
              HD_INVALID_ARGUMENT, "month must be a month YYYY-MM");
  Helpdesk__V1__GetHalfYearReviewRequest hq = HELPDESK__V1__GET_HALF_YEAR_REVIEW_REQUEST__INIT;
  hq.agent_id = "ben";
  hq.year = 2026;
  hq.half = 1;
  expect_code(x, "GetHalfYearReview", x->ana, &hq.base, &helpdesk__v1__half_year_review__descriptor,
              HD_PERMISSION_DENIED, "their own");
  hq.half = 3;
  expect_code(x, "GetHalfYearReview", x->lead, &hq.base,
              &helpdesk__v1__half_year_review__descriptor, HD_INVALID_ARGUMENT, "half must be");
  Helpdesk__V1__GetTeamSummaryRequest tq = HELPDESK__V1__GET_TEAM_SUMMARY_REQUEST__INIT;
  tq.month = "2026-01";
  expect_code(x, "GetTeamSummary", x->ana, &tq.base, &helpdesk__v1__team_summary__descriptor,
              HD_PERMISSION_DENIED, "team_lead or supervisor");
  /* Another tenant's lead sees nothing of this tenant's agents. */
  const Helpdesk__V1__AgentKpi *k = agent_kpi(x, x->bali_lead, "ana", "2026-01");
  assert_int_equal(k->resolution->resolved, 0);
  assert_false(k->response->has_data);
}

/* ---- boundaries ---- */

static void closed_at(fx *x, const char *tenant, int64_t ticket, const char *owner, int64_t at) {
  ticket_life(x, &(life){tenant, ticket, owner, "LOWER", at - 2 * HOUR, 10 * MIN, at, false});
}

static void test_months_and_half_years_follow_the_tenants_time_zone(void **state) {
  fx *x = *state;
  const int64_t jan31_20h = 1769889600LL * US; /* 2026-01-31T20:00Z = Feb 1 04:00 in Bali */
  const int64_t jun30_17h = 1782838800LL * US; /* 2026-06-30T17:00Z = Jul 1 01:00 in Bali */
  closed_at(x, T_UTC, 1, "zed", jan31_20h);
  closed_at(x, T_UTC, 2, "zed", jun30_17h);
  closed_at(x, T_BALI, 1, "ana", jan31_20h);
  closed_at(x, T_BALI, 2, "ana", jun30_17h);
  drain(x);
  hd_clock_set(&x->f.clock, JAN5 + 360 * DAY);

  const Helpdesk__V1__AgentKpi *u1 = agent_kpi(x, x->lead, "zed", "2026-01");
  const Helpdesk__V1__AgentKpi *u2 = agent_kpi(x, x->lead, "zed", "2026-02");
  assert_int_equal(u1->resolution->resolved, 1);
  assert_int_equal(u2->resolution->resolved, 0);
  assert_int_equal(u2->period_start_time_us, 1769904000LL * US); /* 2026-02-01T00:00Z */

  const Helpdesk__V1__AgentKpi *b1 = agent_kpi(x, x->bali_ana, "", "2026-01");
  const Helpdesk__V1__AgentKpi *b2 = agent_kpi(x, x->bali_ana, "", "2026-02");
  assert_string_equal(b2->time_zone, "Asia/Makassar");
  assert_int_equal(b1->resolution->resolved, 0);
  assert_int_equal(b2->resolution->resolved, 1);
  assert_int_equal(b2->period_start_time_us, 1769875200LL * US); /* 2026-01-31T16:00Z */
  assert_int_equal(b1->period_end_time_us, b2->period_start_time_us);
  /* The first response (18:10Z on Jan 31) is January's in both zones... in UTC; in Bali it is
   * 02:10 on Feb 1. */
  assert_int_equal(u1->response->first_responses, 1);
  assert_int_equal(b2->response->first_responses, 1);

  Helpdesk__V1__GetHalfYearReviewRequest hq = HELPDESK__V1__GET_HALF_YEAR_REVIEW_REQUEST__INIT;
  hq.year = 2026;
  hq.half = 1;
  hq.agent_id = "zed";
  const Helpdesk__V1__HalfYearReview *uh1 = kpi_must(x, "GetHalfYearReview", x->lead, &hq.base,
                                                     &helpdesk__v1__half_year_review__descriptor);
  assert_int_equal(uh1->n_months, 6);
  assert_int_equal(uh1->aggregate->resolution->resolved, 2);
  assert_string_equal(uh1->aggregate->period, "2026-H1");
  assert_int_equal(uh1->months[5]->resolution->resolved, 1);
  hq.agent_id = "";
  const Helpdesk__V1__HalfYearReview *bh1 = kpi_must(x, "GetHalfYearReview", x->bali_ana, &hq.base,
                                                     &helpdesk__v1__half_year_review__descriptor);
  assert_int_equal(bh1->aggregate->resolution->resolved, 1);
  assert_int_equal(bh1->months[1]->resolution->resolved, 1);
  assert_int_equal(bh1->months[5]->resolution->resolved, 0);
  hq.half = 2;
  const Helpdesk__V1__HalfYearReview *bh2 = kpi_must(x, "GetHalfYearReview", x->bali_ana, &hq.base,
                                                     &helpdesk__v1__half_year_review__descriptor);
  assert_int_equal(bh2->aggregate->resolution->resolved, 1);
  assert_int_equal(bh2->months[0]->resolution->resolved, 1);
  assert_int_equal(bh2->aggregate->period_start_time_us, 1782835200LL * US); /* Jun 30 16:00Z */
  hq.agent_id = "zed";
  const Helpdesk__V1__HalfYearReview *uh2 = kpi_must(x, "GetHalfYearReview", x->lead, &hq.base,
                                                     &helpdesk__v1__half_year_review__descriptor);
  assert_int_equal(uh2->aggregate->resolution->resolved, 0);
}

static void test_the_half_year_review_shows_the_trend_of_each_measure(void **state) {
  fx *x = *state;
  static const char *const months[] = {"2026-01", "2026-02", "2026-03",
                                       "2026-04", "2026-05", "2026-06"};
  for (int i = 0; i < 6; i++) /* SOP compliance up 10 a month, initiative down 5, rest flat */
    scores(x, x->lead, "ana", months[i], 70, 70, 70, 80 - 5 * i, 50 + 10 * i);
  hd_clock_set(&x->f.clock, JAN5 + 200 * DAY);
  Helpdesk__V1__GetHalfYearReviewRequest hq = HELPDESK__V1__GET_HALF_YEAR_REVIEW_REQUEST__INIT;
  hq.year = 2026;
  hq.half = 1;
  const Helpdesk__V1__HalfYearReview *h = kpi_must(x, "GetHalfYearReview", x->ana, &hq.base,
                                                   &helpdesk__v1__half_year_review__descriptor);
  assert_int_equal(h->n_trends, 11);
  const Helpdesk__V1__MeasureTrend *sop = h->trends[10], *init = h->trends[9],
                                   *adapt = h->trends[8];
  assert_string_equal(sop->measure, "sop_compliance");
  assert_int_equal(sop->months_with_data, 6);
  assert_near(sop->slope_per_month, 10);
  assert_near(sop->change, 50);
  assert_int_equal(sop->direction, HELPDESK__V1__TREND_DIRECTION__TREND_DIRECTION_UP);
  assert_near(init->slope_per_month, -5);
  assert_int_equal(init->direction, HELPDESK__V1__TREND_DIRECTION__TREND_DIRECTION_DOWN);
  assert_int_equal(adapt->direction, HELPDESK__V1__TREND_DIRECTION__TREND_DIRECTION_FLAT);
  assert_int_equal(h->trends[3]->direction, HELPDESK__V1__TREND_DIRECTION__TREND_DIRECTION_NONE);
  /* The aggregate's individual scores: the means over the six months. */
  assert_near(h->aggregate->individual_scores->sop_compliance, 75);
  assert_int_equal(h->aggregate->individual_scores->months, 6);
  assert_string_equal(h->trends[0]->measure, "overall");
}

static void test_every_text_column_compares_byte_for_byte(void **state) {
  fx *x = *state;
  assert_int_equal(hd_fixture_sql_i64(&x->f,
                                      "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE "
                                      "TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL "
                                      "AND TABLE_NAME NOT LIKE '%schema_migrations' AND "
                                      "COLLATION_NAME NOT IN ('utf8mb4_nopad_bin')"),
                   0);
  assert_int_equal(hd_fixture_sql_i64(&x->f,
                                      "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                                      "TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE "
                                      "'%schema_migrations' AND "
                                      "TABLE_COLLATION <> 'utf8mb4_nopad_bin'"),
                   0);
  assert_true(hd_fixture_sql_i64(&x->f,
                                 "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                                 "TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('ticket_facts', "
                                 "'ticket_marks', 'escalation_facts', 'category_weights', "
                                 "'satisfaction', 'individual_scores')") == 6);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
      T(test_an_agents_month_gives_the_formulas_known_answers),
      T(test_weights_change_the_weighted_figures_and_keep_their_version),
      T(test_satisfaction_is_once_per_closed_ticket_of_the_customer),
      T(test_an_agent_cannot_read_a_colleagues_kpi),
      T(test_months_and_half_years_follow_the_tenants_time_zone),
      T(test_the_half_year_review_shows_the_trend_of_each_measure),
      T(test_every_text_column_compares_byte_for_byte),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
