/* Agents of the routing service through real gRPC calls (real MariaDB and Redis): who registers
 * them, departments and level, capacity overriding the home department's default, presence
 * (OFF_DUTY only through the hand-over), load counted by category weight from routing's ticket
 * records, paging of ListAgents, and every refused call writing nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "routing_fixture.h"

#define LEVEL(n)    HELPDESK__V1__AGENT_LEVEL__AGENT_LEVEL_##n
#define PRESENCE(n) HELPDESK__V1__PRESENCE__PRESENCE_##n

static hd_code upsert_agent(rf *x, const char *token, const char *id, char **depts, size_t n,
                            int level, int capacity, int64_t expected, Helpdesk__V1__Agent **out) {
  Helpdesk__V1__UpsertAgentRequest rq = HELPDESK__V1__UPSERT_AGENT_REQUEST__INIT;
  rq.agent_id = (char *)id;
  rq.departments = depts;
  rq.n_departments = n;
  rq.level = (Helpdesk__V1__AgentLevel)level;
  rq.capacity = capacity;
  rq.expected_version = expected;
  return rf_call(x, "UpsertAgent", token, &rq.base, &helpdesk__v1__agent__descriptor, out);
}

static hd_code set_presence(rf *x, const char *token, const char *id, int presence,
                            Helpdesk__V1__Agent **out) {
  Helpdesk__V1__SetPresenceRequest rq = HELPDESK__V1__SET_PRESENCE_REQUEST__INIT;
  rq.agent_id = (char *)(id ? id : "");
  rq.presence = (Helpdesk__V1__Presence)presence;
  return rf_call(x, "SetPresence", token, &rq.base, &helpdesk__v1__agent__descriptor, out);
}

static hd_code get_load(rf *x, const char *token, const char *id, Helpdesk__V1__AgentLoad **out) {
  Helpdesk__V1__GetAgentLoadRequest rq = HELPDESK__V1__GET_AGENT_LOAD_REQUEST__INIT;
  rq.agent_id = (char *)(id ? id : "");
  return rf_call(x, "GetAgentLoad", token, &rq.base, &helpdesk__v1__agent_load__descriptor, out);
}

/* agent-1 in BILLING (home) and TECHNICAL, L1, the department's capacity. */
static Helpdesk__V1__Agent *register_agent1(rf *x) {
  char *depts[] = {"BILLING", "TECHNICAL"};
  Helpdesk__V1__Agent *a = NULL;
  const hd_code code = upsert_agent(x, x->lead, "agent-1", depts, 2, LEVEL(L1), 0, 0, &a);
  if (code != HD_OK) fail_msg("UpsertAgent: %s", x->err.msg);
  return a;
}

/* A ticket record as the ticket-event consumer keeps it. */
static void record_ticket(rf *x, int64_t id, const char *owner, const char *status,
                          const char *category, int weight) {
  rf_execf(x,
           "INSERT INTO routing_tickets (tenant, ticket_id, department, status, owner_id, "
           "category, weight, created_at_us, version, updated_at_us) VALUES ('acme', %lld, "
           "'BILLING', '%s', '%s', '%s', %d, %lld, 1, 0)",
           (long long)id, status, owner, category, weight, (long long)(1000 + id));
}

static void test_lead_registers_an_agent_with_departments_level_and_default_capacity(void **state) {
  rf *x = *state;
  Helpdesk__V1__Agent *a = register_agent1(x);
  assert_string_equal(a->agent_id, "agent-1");
  assert_int_equal(a->n_departments, 2);
  assert_string_equal(a->departments[0], "BILLING");
  assert_string_equal(a->departments[1], "TECHNICAL");
  assert_int_equal(a->level, LEVEL(L1));
  assert_int_equal(a->capacity, 0);
  assert_int_equal(a->effective_capacity, 10);
  assert_int_equal(a->presence, PRESENCE(OFF_DUTY));
  assert_int_equal(a->version, 1);
  assert_string_equal(a->updated_by, "lead-1");
  /* A supervisor changes them: L2, own capacity 4, one department. */
  char *depts[] = {"ESCALATED"};
  assert_int_equal(upsert_agent(x, x->supervisor, "agent-1", depts, 1, LEVEL(L2), 4, 1, &a), HD_OK);
  assert_int_equal(a->version, 2);
  assert_int_equal(a->level, LEVEL(L2));
  assert_int_equal(a->effective_capacity, 4);
  assert_int_equal(a->n_departments, 1);
  assert_int_equal(rf_sqlf(x, "SELECT COUNT(*) FROM agent_departments WHERE agent_id = 'agent-1'"),
                   1);
  assert_int_equal(rf_sqlf(x,
                           "SELECT COUNT(*) FROM routing_audit WHERE entity = 'agent' AND "
                           "entity_key = 'agent-1' AND action = 'UPSERT_AGENT'"),
                   2);
}

static void test_home_department_default_capacity_follows_the_department(void **state) {
  rf *x = *state;
  register_agent1(x);
  Helpdesk__V1__UpsertDepartmentRequest rq = HELPDESK__V1__UPSERT_DEPARTMENT_REQUEST__INIT;
  Helpdesk__V1__Department d = HELPDESK__V1__DEPARTMENT__INIT;
  d.name = "BILLING";
  d.level = 1;
  d.response_window_seconds = 3600;
  d.default_capacity = 3;
  rq.department = &d;
  rf_must(x, "UpsertDepartment", x->supervisor, &rq.base, &helpdesk__v1__department__descriptor);
  Helpdesk__V1__AgentLoad *l = NULL;
  assert_int_equal(get_load(x, x->agent, NULL, &l), HD_OK);
  assert_int_equal(l->capacity, 3);
  assert_string_equal(l->capacity_source, "department BILLING");
}

static void test_agent_registration_is_for_leads_and_refused_input_writes_nothing(void **state) {
  rf *x = *state;
  char *depts[] = {"BILLING", "TECHNICAL"};
  Helpdesk__V1__Agent *a = NULL;
  RF_REFUSED(x, HD_PERMISSION_DENIED, "team_lead or supervisor",
             upsert_agent(x, x->agent, "agent-1", depts, 2, LEVEL(L1), 0, 0, &a));
  RF_REFUSED(x, HD_PERMISSION_DENIED, NULL,
             upsert_agent(x, x->admin, "agent-1", depts, 2, LEVEL(L1), 0, 0, &a));
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "agent_id",
             upsert_agent(x, x->lead, "", depts, 2, LEVEL(L1), 0, 0, &a));
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "whitespace",
             upsert_agent(x, x->lead, "agent-1 ", depts, 2, LEVEL(L1), 0, 0, &a));
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "level",
             upsert_agent(x, x->lead, "agent-1", depts, 2, 0, 0, 0, &a));
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "level",
             upsert_agent(x, x->lead, "agent-1", depts, 2, 7, 0, 0, &a));
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "departments",
             upsert_agent(x, x->lead, "agent-1", depts, 0, LEVEL(L1), 0, 0, &a));
  char *twice[] = {"BILLING", "BILLING"};
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "twice",
             upsert_agent(x, x->lead, "agent-1", twice, 2, LEVEL(L1), 0, 0, &a));
  char *unknown[] = {"BILLING", "NOWHERE"};
  RF_REFUSED(x, HD_NOT_FOUND, "NOWHERE",
             upsert_agent(x, x->lead, "agent-1", unknown, 2, LEVEL(L1), 0, 0, &a));
  char *many[17];
  for (size_t i = 0; i < 17; i++) many[i] = "BILLING";
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "1 to 16",
             upsert_agent(x, x->lead, "agent-1", many, 17, LEVEL(L1), 0, 0, &a));
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "capacity",
             upsert_agent(x, x->lead, "agent-1", depts, 2, LEVEL(L1), 1001, 0, &a));
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "capacity",
             upsert_agent(x, x->lead, "agent-1", depts, 2, LEVEL(L1), -1, 0, &a));
  RF_REFUSED(x, HD_ABORTED, "version is now 0",
             upsert_agent(x, x->lead, "agent-1", depts, 2, LEVEL(L1), 0, 3, &a));
  assert_int_equal(upsert_agent(x, x->lead, "agent-1", depts, 2, LEVEL(L1), 1000, 0, &a), HD_OK);
  assert_int_equal(a->effective_capacity, 1000);
  RF_REFUSED(x, HD_ABORTED, "version is now 1",
             upsert_agent(x, x->lead, "agent-1", depts, 2, LEVEL(L1), 1, 5, &a));
  /* a program reads the conflict from the details, not the text */
  assert_string_equal(x->err.reason, HD_REASON_VERSION_CONFLICT);
  assert_int_equal(x->err.current_version, 1);
}

static void test_agent_sets_their_own_presence_and_off_duty_needs_the_hand_over(void **state) {
  rf *x = *state;
  register_agent1(x);
  Helpdesk__V1__Agent *a = NULL;
  assert_int_equal(set_presence(x, x->agent, NULL, PRESENCE(AVAILABLE), &a), HD_OK);
  assert_int_equal(a->presence, PRESENCE(AVAILABLE));
  assert_int_equal(a->version, 2);
  assert_int_equal(a->presence_time_us, hd_clock_now_us(&x->r.clock));
  /* The same presence again changes nothing. */
  assert_int_equal(set_presence(x, x->agent, "agent-1", PRESENCE(AVAILABLE), &a), HD_OK);
  assert_int_equal(a->version, 2);
  assert_int_equal(set_presence(x, x->agent, NULL, PRESENCE(AWAY), &a), HD_OK);
  assert_int_equal(a->presence, PRESENCE(AWAY));
  RF_REFUSED(x, HD_FAILED_PRECONDITION, "HandOverShift",
             set_presence(x, x->agent, NULL, PRESENCE(OFF_DUTY), &a));
  RF_REFUSED(x, HD_FAILED_PRECONDITION, "HandOverShift",
             set_presence(x, x->lead, "agent-1", PRESENCE(OFF_DUTY), &a));
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "presence is required",
             set_presence(x, x->agent, NULL, PRESENCE(UNSPECIFIED), &a));
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "presence has no value 9",
             set_presence(x, x->agent, NULL, 9, &a));
  /* Another agent's presence is for leads. */
  RF_REFUSED(x, HD_PERMISSION_DENIED, "team_lead or supervisor",
             set_presence(x, x->agent2, "agent-1", PRESENCE(AVAILABLE), &a));
  RF_REFUSED(x, HD_PERMISSION_DENIED, NULL,
             set_presence(x, x->service, "agent-1", PRESENCE(AVAILABLE), &a));
  assert_int_equal(set_presence(x, x->lead, "agent-1", PRESENCE(AVAILABLE), &a), HD_OK);
  assert_string_equal(a->updated_by, "lead-1");
  /* Someone not registered. */
  RF_REFUSED(x, HD_NOT_FOUND, "UpsertAgent",
             set_presence(x, x->agent2, NULL, PRESENCE(AVAILABLE), &a));
  assert_int_equal(rf_sqlf(x, "SELECT COUNT(*) FROM routing_audit WHERE action = 'SET_PRESENCE'"),
                   3);
}

static void test_load_counts_open_owned_tickets_by_weight_against_capacity(void **state) {
  rf *x = *state;
  char *depts[] = {"BILLING"};
  Helpdesk__V1__Agent *a = NULL;
  assert_int_equal(upsert_agent(x, x->lead, "agent-1", depts, 1, LEVEL(L1), 6, 0, &a), HD_OK);
  record_ticket(x, 11, "agent-1", "PROCESSING", "HARD", 3);
  record_ticket(x, 12, "agent-1", "PENDING_FEEDBACK", "", 1);
  record_ticket(x, 13, "agent-1", "CLOSED", "HARD", 3);      /* closed: not counted */
  record_ticket(x, 14, "agent-1", "CANCELLED", "MEDIUM", 2); /* cancelled: not counted */
  record_ticket(x, 15, "agent-2", "PROCESSING", "HARD", 3);  /* someone else's */
  Helpdesk__V1__AgentLoad *l = NULL;
  assert_int_equal(get_load(x, x->agent, NULL, &l), HD_OK);
  assert_int_equal(l->capacity, 6);
  assert_string_equal(l->capacity_source, "agent");
  assert_int_equal(l->open_tickets, 2);
  assert_int_equal(l->load, 4);
  assert_int_equal(l->remaining, 2);
  assert_false(l->at_capacity);
  assert_int_equal(l->n_tickets, 2);
  assert_int_equal(l->tickets[0]->ticket_id, 11);
  assert_int_equal(l->tickets[0]->category, HELPDESK__V1__CATEGORY__CATEGORY_HARD);
  assert_int_equal(l->tickets[0]->weight, 3);
  assert_int_equal(l->tickets[1]->category, HELPDESK__V1__CATEGORY__CATEGORY_UNSPECIFIED);
  /* At capacity once the load reaches it. */
  record_ticket(x, 16, "agent-1", "FEEDBACK", "MEDIUM", 2);
  assert_int_equal(get_load(x, x->lead, "agent-1", &l), HD_OK);
  assert_int_equal(l->load, 6);
  assert_int_equal(l->remaining, 0);
  assert_true(l->at_capacity);
  /* Another agent's load is for leads; the agent must be registered. */
  assert_int_equal(get_load(x, x->agent2, "agent-1", &l), HD_PERMISSION_DENIED);
  assert_int_equal(get_load(x, x->agent2, NULL, &l), HD_NOT_FOUND);
  assert_int_equal(get_load(x, x->customer, NULL, &l), HD_PERMISSION_DENIED);
}

static void test_list_agents_filters_and_pages_by_agent_id(void **state) {
  rf *x = *state;
  char *billing[] = {"BILLING"}, *tech[] = {"TECHNICAL", "BILLING"};
  static const char *const ids[] = {"agent-a", "agent-b", "agent-c", "agent-d", "agent-e"};
  Helpdesk__V1__Agent *a = NULL;
  for (size_t i = 0; i < 5; i++)
    assert_int_equal(upsert_agent(x, x->lead, ids[i], i % 2 ? tech : billing, i % 2 ? 2 : 1,
                                  LEVEL(L1), 0, 0, &a),
                     HD_OK);
  /* agent-b and agent-d work TECHNICAL. */
  Helpdesk__V1__ListAgentsRequest rq = HELPDESK__V1__LIST_AGENTS_REQUEST__INIT;
  rq.department = "TECHNICAL";
  Helpdesk__V1__ListAgentsResponse *l = (Helpdesk__V1__ListAgentsResponse *)rf_must(
      x, "ListAgents", x->agent, &rq.base, &helpdesk__v1__list_agents_response__descriptor);
  assert_int_equal(l->n_agents, 2);
  assert_string_equal(l->agents[0]->agent_id, "agent-b");
  assert_string_equal(l->agents[1]->agent_id, "agent-d");
  /* Pages of two over all five, by id. */
  rq.department = "";
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 2;
  rq.page = &page;
  size_t seen = 0;
  for (int round = 0; round < 4; round++) {
    l = (Helpdesk__V1__ListAgentsResponse *)rf_must(
        x, "ListAgents", x->agent, &rq.base, &helpdesk__v1__list_agents_response__descriptor);
    for (size_t i = 0; i < l->n_agents; i++)
      assert_string_equal(l->agents[i]->agent_id, ids[seen++]);
    if (!l->page->next_page_token[0]) break;
    page.page_token = l->page->next_page_token;
  }
  assert_int_equal(seen, 5);
  /* By presence: one becomes AVAILABLE. */
  assert_int_equal(set_presence(x, x->lead, "agent-c", PRESENCE(AVAILABLE), &a), HD_OK);
  Helpdesk__V1__ListAgentsRequest pr = HELPDESK__V1__LIST_AGENTS_REQUEST__INIT;
  pr.presence = PRESENCE(AVAILABLE);
  l = (Helpdesk__V1__ListAgentsResponse *)rf_must(x, "ListAgents", x->agent, &pr.base,
                                                  &helpdesk__v1__list_agents_response__descriptor);
  assert_int_equal(l->n_agents, 1);
  assert_string_equal(l->agents[0]->agent_id, "agent-c");
  /* A token of one listing does not continue another. */
  pr.page = &page;
  assert_int_equal(rf_call(x, "ListAgents", x->agent, &pr.base,
                           &helpdesk__v1__list_agents_response__descriptor, NULL),
                   HD_INVALID_ARGUMENT);
  /* Another tenant sees none of them. */
  Helpdesk__V1__ListAgentsRequest all = HELPDESK__V1__LIST_AGENTS_REQUEST__INIT;
  l = (Helpdesk__V1__ListAgentsResponse *)rf_must(x, "ListAgents", x->other_tenant, &all.base,
                                                  &helpdesk__v1__list_agents_response__descriptor);
  assert_int_equal(l->n_agents, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_lead_registers_an_agent_with_departments_level_and_default_capacity, rf_setup,
          rf_teardown),
      cmocka_unit_test_setup_teardown(test_home_department_default_capacity_follows_the_department,
                                      rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(
          test_agent_registration_is_for_leads_and_refused_input_writes_nothing, rf_setup,
          rf_teardown),
      cmocka_unit_test_setup_teardown(
          test_agent_sets_their_own_presence_and_off_duty_needs_the_hand_over, rf_setup,
          rf_teardown),
      cmocka_unit_test_setup_teardown(
          test_load_counts_open_owned_tickets_by_weight_against_capacity, rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(test_list_agents_filters_and_pages_by_agent_id, rf_setup,
                                      rf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
