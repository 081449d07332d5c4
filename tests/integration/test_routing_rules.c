/* Departments and routing rules of the routing service through real gRPC calls (real MariaDB and
 * Redis, and a real ticket service that RouteTicket reads tickets from with routing's own token):
 * each built-in rule of the SOP, a supervisor's rule taking precedence by priority (for its tenant
 * only), ListRoutingRules in the order rules are tried, who may change the catalog and the rules,
 * every refused change writing nothing, and the audit row of every change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "routing_fixture.h"
#include "rpc/pb_enum.h"

#define ISSUE(n)   HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_##n
#define SERVICE(n) HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_##n
#define FACT(n)    HELPDESK__V1__ROUTING_FACT__ROUTING_FACT_##n
#define ACTION(n)  HELPDESK__V1__ROUTING_ACTION__ROUTING_ACTION_##n

/* ---- calls ---- */

static hd_code route(rf *x, const char *token, int64_t ticket_id, int issue, int service,
                     const Helpdesk__V1__RoutingFact *facts, size_t n,
                     Helpdesk__V1__RouteTicketResponse **out) {
  Helpdesk__V1__RouteTicketRequest rq = HELPDESK__V1__ROUTE_TICKET_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  rq.issue_type = (Helpdesk__V1__IssueType)issue;
  rq.service_type = (Helpdesk__V1__ServiceType)service;
  rq.facts = (Helpdesk__V1__RoutingFact *)facts;
  rq.n_facts = n;
  return rf_call(x, "RouteTicket", token, &rq.base,
                 &helpdesk__v1__route_ticket_response__descriptor, out);
}

/* RouteTicket as agent-1 that must succeed, checking the rule, department and action. */
static Helpdesk__V1__RouteTicketResponse *expect_route(rf *x, int issue, int service,
                                                       const Helpdesk__V1__RoutingFact *facts,
                                                       size_t n, const char *rule,
                                                       const char *department, int action) {
  Helpdesk__V1__RouteTicketResponse *r = NULL;
  const hd_code code = route(x, x->agent, 0, issue, service, facts, n, &r);
  if (code != HD_OK) fail_msg("RouteTicket: %s %s", hd_code_name(code), x->err.msg);
  assert_string_equal(r->rule->name, rule);
  assert_string_equal(r->department, department);
  assert_int_equal(r->action, action);
  assert_non_null(strstr(r->explanation, rule));
  assert_non_null(strstr(r->explanation, r->rule->reason));
  return r;
}

static Helpdesk__V1__ListRoutingRulesResponse *list_rules(rf *x, const char *token,
                                                          bool include_disabled) {
  Helpdesk__V1__ListRoutingRulesRequest rq = HELPDESK__V1__LIST_ROUTING_RULES_REQUEST__INIT;
  rq.include_disabled = include_disabled;
  return (Helpdesk__V1__ListRoutingRulesResponse *)rf_must(
      x, "ListRoutingRules", token, &rq.base,
      &helpdesk__v1__list_routing_rules_response__descriptor);
}

static hd_code upsert_rule(rf *x, const char *token, Helpdesk__V1__RoutingRule *rule,
                           int64_t expected, Helpdesk__V1__RoutingRule **out) {
  Helpdesk__V1__UpsertRoutingRuleRequest rq = HELPDESK__V1__UPSERT_ROUTING_RULE_REQUEST__INIT;
  rq.rule = rule;
  rq.expected_version = expected;
  return rf_call(x, "UpsertRoutingRule", token, &rq.base, &helpdesk__v1__routing_rule__descriptor,
                 out);
}

static hd_code upsert_dept(rf *x, const char *token, Helpdesk__V1__Department *d, int64_t expected,
                           Helpdesk__V1__Department **out) {
  Helpdesk__V1__UpsertDepartmentRequest rq = HELPDESK__V1__UPSERT_DEPARTMENT_REQUEST__INIT;
  rq.department = d;
  rq.expected_version = expected;
  return rf_call(x, "UpsertDepartment", token, &rq.base, &helpdesk__v1__department__descriptor,
                 out);
}

static Helpdesk__V1__ListDepartmentsResponse *list_depts(rf *x, const char *token) {
  Helpdesk__V1__ListDepartmentsRequest rq = HELPDESK__V1__LIST_DEPARTMENTS_REQUEST__INIT;
  return (Helpdesk__V1__ListDepartmentsResponse *)rf_must(
      x, "ListDepartments", token, &rq.base, &helpdesk__v1__list_departments_response__descriptor);
}

static const Helpdesk__V1__Department *find_dept(const Helpdesk__V1__ListDepartmentsResponse *l,
                                                 const char *name) {
  for (size_t i = 0; i < l->n_departments; i++)
    if (strcmp(l->departments[i]->name, name) == 0) return l->departments[i];
  return NULL;
}

/* A rule routing REFUND to RETENTION (a supervisor's). */
static void vip_rule(Helpdesk__V1__RoutingRule *r, Helpdesk__V1__RoutingFact *fact) {
  helpdesk__v1__routing_rule__init(r);
  *fact = FACT(REFUND);
  r->name = "refunds-to-retention";
  r->priority = 2000;
  r->enabled = true;
  r->any_facts = fact;
  r->n_any_facts = 1;
  r->action = ACTION(ROUTE);
  r->department = "RETENTION";
  r->reason = "Refunds are retention cases this quarter";
}

/* ---- each built-in rule ---- */

static void test_cancellation_fact_goes_to_cancellation_at_once(void **state) {
  rf *x = *state;
  const Helpdesk__V1__RoutingFact f[] = {FACT(CANCELLATION), FACT(REFUND)};
  expect_route(x, ISSUE(TECHNICAL), 0, f, 2, "cancellation", "CANCELLATION", ACTION(ROUTE));
}

static void test_cancellation_issue_goes_to_cancellation(void **state) {
  rf *x = *state;
  expect_route(x, ISSUE(CANCELLATION), 0, NULL, 0, "cancellation-issue", "CANCELLATION",
               ACTION(ROUTE));
}

static void test_imminent_renewal_or_dispute_is_urgent_for_billing_and_retention(void **state) {
  rf *x = *state;
  const Helpdesk__V1__RoutingFact f[] = {FACT(RENEWAL), FACT(IMMINENT_RENEWAL)};
  Helpdesk__V1__RouteTicketResponse *r =
      expect_route(x, ISSUE(BILLING), 0, f, 2, "billing-urgent", "BILLING", ACTION(ROUTE));
  assert_true(r->urgent);
  assert_int_equal(r->n_flag_departments, 2);
  assert_string_equal(r->flag_departments[0], "BILLING");
  assert_string_equal(r->flag_departments[1], "RETENTION");
  const Helpdesk__V1__RoutingFact d[] = {FACT(DISPUTE)};
  r = expect_route(x, ISSUE(OTHER), 0, d, 1, "billing-urgent", "BILLING", ACTION(ROUTE));
  assert_true(r->urgent);
  assert_non_null(strstr(r->explanation, "DISPUTE"));
}

static void test_payment_error_asks_for_the_exact_error_message_first(void **state) {
  rf *x = *state;
  const Helpdesk__V1__RoutingFact f[] = {FACT(PAYMENT_ERROR)};
  Helpdesk__V1__RouteTicketResponse *r = expect_route(
      x, ISSUE(BILLING), 0, f, 1, "payment-error-ask-first", "BILLING", ACTION(ASK_CUSTOMER_FIRST));
  assert_non_null(strstr(r->customer_request, "exact error message"));
  assert_false(r->urgent);
  /* Once the customer gave it, the ticket goes to Billing. */
  const Helpdesk__V1__RoutingFact g[] = {FACT(PAYMENT_ERROR), FACT(ERROR_MESSAGE_GIVEN)};
  r = expect_route(x, ISSUE(BILLING), 0, g, 2, "billing", "BILLING", ACTION(ROUTE));
  assert_string_equal(r->customer_request, "");
}

static void test_billing_topics_go_to_billing(void **state) {
  rf *x = *state;
  const Helpdesk__V1__RoutingFact topics[] = {
      FACT(PRICING), FACT(INVOICE),      FACT(BILLING_SYSTEM_ERROR), FACT(DUE_DATE_EXTENSION),
      FACT(RENEWAL), FACT(REACTIVATION), FACT(SERVICE_UPGRADE),      FACT(REFUND)};
  for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++) {
    Helpdesk__V1__RouteTicketResponse *r = expect_route(
        x, ISSUE(TECHNICAL), SERVICE(SHARED), &topics[i], 1, "billing", "BILLING", ACTION(ROUTE));
    const char *name = hd_pb_enum_name(&helpdesk__v1__routing_fact__descriptor, (int)topics[i]);
    assert_non_null(strstr(r->explanation, name));
    assert_false(r->urgent);
  }
}

static void test_billing_issue_type_goes_to_billing(void **state) {
  rf *x = *state;
  expect_route(x, ISSUE(BILLING), 0, NULL, 0, "billing-issue", "BILLING", ACTION(ROUTE));
}

static void test_incomplete_domain_data_goes_back_to_the_customer(void **state) {
  rf *x = *state;
  const Helpdesk__V1__RoutingFact f[] = {FACT(INCOMPLETE_DOMAIN_DATA), FACT(REGISTRAR_ERROR)};
  Helpdesk__V1__RouteTicketResponse *r =
      expect_route(x, ISSUE(DOMAIN), SERVICE(DOMAIN), f, 2, "domain-incomplete-data", "",
                   ACTION(RETURN_TO_CUSTOMER));
  assert_non_null(strstr(r->customer_request, "domain registration data"));
}

static void test_domain_registrar_error_goes_to_domain(void **state) {
  rf *x = *state;
  const Helpdesk__V1__RoutingFact f[] = {FACT(REGISTRAR_ERROR)};
  expect_route(x, ISSUE(DOMAIN), SERVICE(DOMAIN), f, 1, "domain-registrar-error", "DOMAIN",
               ACTION(ROUTE));
}

static void test_server_activation_without_hostname_confirms_then_infrastructure(void **state) {
  rf *x = *state;
  const Helpdesk__V1__RoutingFact f[] = {FACT(HOSTNAME_MISSING)};
  Helpdesk__V1__RouteTicketResponse *r =
      expect_route(x, ISSUE(ACTIVATION), SERVICE(VPS), f, 1, "server-activation-no-hostname",
                   "INFRASTRUCTURE", ACTION(ASK_CUSTOMER_FIRST));
  assert_true(r->estimate_required);
  assert_non_null(strstr(r->customer_request, "FQDN"));
  assert_non_null(strstr(r->explanation, "service type VPS"));
  /* Shared hosting activation is no server deployment: Level 1 activates it by hand. */
  expect_route(x, ISSUE(ACTIVATION), SERVICE(SHARED), f, 1, "otherwise", "TECHNICAL",
               ACTION(ROUTE));
}

static void test_ticket_read_from_the_ticket_service_routes_by_its_types(void **state) {
  rf *x = *state;
  Helpdesk__V1__CreateTicketRequest cr = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  cr.idempotency_key = "route-vps-1";
  cr.subject = "My new VPS is not active";
  cr.description = "Ordered yesterday, still pending.";
  cr.service_type = SERVICE(VPS);
  cr.issue_type = ISSUE(ACTIVATION);
  Helpdesk__V1__Ticket *t = (Helpdesk__V1__Ticket *)tf_must(
      &x->t, "CreateTicket", x->t.customer, &cr.base, &helpdesk__v1__ticket__descriptor);
  const Helpdesk__V1__RoutingFact f[] = {FACT(HOSTNAME_MISSING)};
  Helpdesk__V1__RouteTicketResponse *r = NULL;
  assert_int_equal(route(x, x->agent, t->id, 0, 0, f, 1, &r), HD_OK);
  assert_string_equal(r->rule->name, "server-activation-no-hostname");
  assert_int_equal(r->issue_type, ISSUE(ACTIVATION));
  assert_int_equal(r->service_type, SERVICE(VPS));
  /* A ticket that does not exist: the ticket service's NOT_FOUND. */
  assert_int_equal(route(x, x->agent, t->id + 1000, 0, 0, NULL, 0, &r), HD_NOT_FOUND);
}

static void test_failed_restore_goes_to_infrastructure(void **state) {
  rf *x = *state;
  const Helpdesk__V1__RoutingFact f[] = {FACT(RESTORE_FAILED)};
  expect_route(x, ISSUE(BACKUP_RESTORE), SERVICE(SHARED), f, 1, "restore-failed", "INFRASTRUCTURE",
               ACTION(ROUTE));
}

static void test_account_issue_goes_to_account(void **state) {
  rf *x = *state;
  expect_route(x, ISSUE(ACCOUNT), 0, NULL, 0, "account", "ACCOUNT", ACTION(ROUTE));
}

static void test_payment_method_goes_to_payment(void **state) {
  rf *x = *state;
  const Helpdesk__V1__RoutingFact f[] = {FACT(PAYMENT_METHOD)};
  expect_route(x, ISSUE(OTHER), 0, f, 1, "payment", "PAYMENT", ACTION(ROUTE));
}

static void test_anything_else_goes_to_technical(void **state) {
  rf *x = *state;
  Helpdesk__V1__RouteTicketResponse *r = expect_route(x, ISSUE(EMAIL), SERVICE(SHARED), NULL, 0,
                                                      "otherwise", "TECHNICAL", ACTION(ROUTE));
  assert_non_null(strstr(r->explanation, "no condition"));
}

static void test_route_ticket_refuses_bad_input(void **state) {
  rf *x = *state;
  Helpdesk__V1__RouteTicketResponse *r = NULL;
  assert_int_equal(route(x, x->agent, 0, 0, 0, NULL, 0, &r), HD_INVALID_ARGUMENT);
  assert_non_null(strstr(x->err.msg, "issue_type is required"));
  const Helpdesk__V1__RoutingFact zero[] = {FACT(UNSPECIFIED)};
  assert_int_equal(route(x, x->agent, 0, ISSUE(OTHER), 0, zero, 1, &r), HD_INVALID_ARGUMENT);
  const Helpdesk__V1__RoutingFact bad[] = {(Helpdesk__V1__RoutingFact)99};
  assert_int_equal(route(x, x->agent, 0, ISSUE(OTHER), 0, bad, 1, &r), HD_INVALID_ARGUMENT);
  assert_non_null(strstr(x->err.msg, "facts has no value 99"));
  assert_int_equal(route(x, x->agent, -1, ISSUE(OTHER), 0, NULL, 0, &r), HD_INVALID_ARGUMENT);
  assert_int_equal(route(x, x->customer, 0, ISSUE(OTHER), 0, NULL, 0, &r), HD_PERMISSION_DENIED);
}

/* ---- rules as data ---- */

static void test_list_routing_rules_in_the_order_they_are_tried(void **state) {
  rf *x = *state;
  static const char *const want[] = {"cancellation",
                                     "cancellation-issue",
                                     "billing-urgent",
                                     "payment-error-ask-first",
                                     "billing",
                                     "billing-issue",
                                     "domain-incomplete-data",
                                     "domain-registrar-error",
                                     "server-activation-no-hostname",
                                     "restore-failed",
                                     "account",
                                     "payment",
                                     "otherwise"};
  Helpdesk__V1__ListRoutingRulesResponse *l = list_rules(x, x->agent, false);
  assert_int_equal(l->n_rules, sizeof want / sizeof want[0]);
  printf("    %-30s %5s %-19s %-15s %s\n", "rule", "prio", "action", "department", "conditions");
  for (size_t i = 0; i < l->n_rules; i++) {
    const Helpdesk__V1__RoutingRule *r = l->rules[i];
    assert_string_equal(r->name, want[i]);
    assert_true(r->builtin);
    assert_true(r->enabled);
    assert_int_equal(r->version, 1);
    if (i) assert_true(l->rules[i - 1]->priority >= r->priority);
    printf("    %-30s %5d %-19s %-15s issues=%zu services=%zu all=%zu any=%zu none=%zu%s\n",
           r->name, (int)r->priority,
           hd_pb_enum_name(&helpdesk__v1__routing_action__descriptor, (int)r->action),
           r->department[0] ? r->department : "-", r->n_issue_types, r->n_service_types,
           r->n_all_facts, r->n_any_facts, r->n_none_facts, r->urgent ? " urgent" : "");
  }
}

static void test_supervisor_rule_takes_precedence_by_priority_for_its_tenant_only(void **state) {
  rf *x = *state;
  Helpdesk__V1__RoutingRule rule;
  Helpdesk__V1__RoutingFact fact;
  vip_rule(&rule, &fact);
  Helpdesk__V1__RoutingRule *saved = NULL;
  assert_int_equal(upsert_rule(x, x->supervisor, &rule, 0, &saved), HD_OK);
  assert_false(saved->builtin);
  assert_int_equal(saved->version, 1);
  assert_string_equal(saved->updated_by, "sup-1");
  const Helpdesk__V1__RoutingFact f[] = {FACT(REFUND)};
  expect_route(x, ISSUE(BILLING), 0, f, 1, "refunds-to-retention", "RETENTION", ACTION(ROUTE));
  Helpdesk__V1__ListRoutingRulesResponse *l = list_rules(x, x->agent, false);
  assert_string_equal(l->rules[0]->name, "refunds-to-retention");
  /* Another tenant still has the built-in rules only. */
  Helpdesk__V1__RouteTicketResponse *r = NULL;
  assert_int_equal(route(x, x->other_tenant, 0, ISSUE(BILLING), 0, f, 1, &r), HD_OK);
  assert_string_equal(r->rule->name, "billing");
  /* Below the built-in billing rule it no longer wins. */
  rule.priority = 10;
  assert_int_equal(upsert_rule(x, x->supervisor, &rule, 1, &saved), HD_OK);
  assert_int_equal(saved->version, 2);
  expect_route(x, ISSUE(BILLING), 0, f, 1, "billing", "BILLING", ACTION(ROUTE));
  assert_int_equal(rf_sqlf(x,
                           "SELECT COUNT(*) FROM routing_audit WHERE tenant = 'acme' AND "
                           "entity = 'routing_rule' AND entity_key = 'refunds-to-retention'"),
                   2);
  assert_int_equal(rf_sqlf(x,
                           "SELECT COUNT(*) FROM routing_audit WHERE from_value IS NULL AND "
                           "entity_key = 'refunds-to-retention' AND actor_id = 'sup-1'"),
                   1);
}

static void test_disabling_a_builtin_rule_replaces_it_for_the_tenant(void **state) {
  rf *x = *state;
  Helpdesk__V1__ListRoutingRulesResponse *l = list_rules(x, x->agent, false);
  Helpdesk__V1__RoutingRule *otherwise = l->rules[l->n_rules - 1];
  assert_string_equal(otherwise->name, "otherwise");
  otherwise->enabled = false;
  Helpdesk__V1__RoutingRule *saved = NULL;
  assert_int_equal(upsert_rule(x, x->supervisor, otherwise, 1, &saved), HD_OK);
  assert_false(saved->builtin);
  assert_false(saved->enabled);
  assert_int_equal(saved->version, 2);
  assert_int_equal(list_rules(x, x->agent, false)->n_rules, l->n_rules - 1);
  assert_int_equal(list_rules(x, x->agent, true)->n_rules, l->n_rules);
  Helpdesk__V1__RouteTicketResponse *r = NULL;
  assert_int_equal(route(x, x->agent, 0, ISSUE(EMAIL), 0, NULL, 0, &r), HD_FAILED_PRECONDITION);
  assert_non_null(strstr(x->err.msg, "otherwise"));
  /* The built-in row itself is untouched. */
  assert_int_equal(
      rf_sqlf(x, "SELECT enabled FROM routing_rules WHERE tenant = '' AND name = 'otherwise'"), 1);
}

static void test_routing_rule_changes_are_for_supervisors_and_refused_ones_write_nothing(
    void **state) {
  rf *x = *state;
  Helpdesk__V1__RoutingRule rule;
  Helpdesk__V1__RoutingFact fact;
  vip_rule(&rule, &fact);
  Helpdesk__V1__RoutingRule *out = NULL;
  RF_REFUSED(x, HD_PERMISSION_DENIED, "supervisor", upsert_rule(x, x->lead, &rule, 0, &out));
  RF_REFUSED(x, HD_PERMISSION_DENIED, "supervisor", upsert_rule(x, x->agent, &rule, 0, &out));
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "rule is required",
             upsert_rule(x, x->supervisor, NULL, 0, &out));
  rule.department = "NOWHERE";
  RF_REFUSED(x, HD_NOT_FOUND, "NOWHERE", upsert_rule(x, x->supervisor, &rule, 0, &out));
  rule.department = "billing";
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "department code",
             upsert_rule(x, x->supervisor, &rule, 0, &out));
  rule.department = "BILLING ";
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "whitespace", upsert_rule(x, x->supervisor, &rule, 0, &out));
  rule.department = "RETENTION";
  rule.name = "Refunds";
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "rule name", upsert_rule(x, x->supervisor, &rule, 0, &out));
  rule.name = "refunds-to-retention";
  rule.priority = 1000001;
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "priority", upsert_rule(x, x->supervisor, &rule, 0, &out));
  rule.priority = 2000;
  rule.reason = "   ";
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "rule.reason", upsert_rule(x, x->supervisor, &rule, 0, &out));
  rule.reason = "why";
  rule.action = ACTION(RETURN_TO_CUSTOMER);
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "must be empty",
             upsert_rule(x, x->supervisor, &rule, 0, &out));
  rule.department = "";
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "customer_request",
             upsert_rule(x, x->supervisor, &rule, 0, &out));
  rule.action = ACTION(ROUTE);
  rule.department = "RETENTION";
  rule.all_facts = &fact;
  rule.n_all_facts = 1;
  rule.none_facts = &fact;
  rule.n_none_facts = 1;
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "never match", upsert_rule(x, x->supervisor, &rule, 0, &out));
  rule.n_all_facts = rule.n_none_facts = 0;
  Helpdesk__V1__RoutingFact twice[] = {FACT(REFUND), FACT(REFUND)};
  rule.any_facts = twice;
  rule.n_any_facts = 2;
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "twice", upsert_rule(x, x->supervisor, &rule, 0, &out));
  rule.any_facts = &fact;
  rule.n_any_facts = 1;
  char *flags[] = {"BILLING", "NOWHERE"};
  rule.flag_departments = flags;
  rule.n_flag_departments = 2;
  RF_REFUSED(x, HD_NOT_FOUND, "NOWHERE", upsert_rule(x, x->supervisor, &rule, 0, &out));
  rule.n_flag_departments = 0;
  /* A stale version of a built-in rule. */
  Helpdesk__V1__RoutingRule *billing = list_rules(x, x->agent, false)->rules[4];
  assert_string_equal(billing->name, "billing");
  RF_REFUSED(x, HD_ABORTED, "version is now 1", upsert_rule(x, x->supervisor, billing, 7, &out));
  assert_int_equal(upsert_rule(x, x->supervisor, &rule, 0, &out), HD_OK);
}

/* ---- departments ---- */

static void test_builtin_departments_are_listed_with_their_levels(void **state) {
  rf *x = *state;
  static const char *const names[] = {"ACCOUNT", "BILLING",   "CANCELLATION",
                                      "DOMAIN",  "ESCALATED", "INFRASTRUCTURE",
                                      "PAYMENT", "RETENTION", "TECHNICAL"};
  Helpdesk__V1__ListDepartmentsResponse *l = list_depts(x, x->agent);
  assert_int_equal(l->n_departments, sizeof names / sizeof names[0]);
  for (size_t i = 0; i < l->n_departments; i++) {
    const Helpdesk__V1__Department *d = l->departments[i];
    assert_string_equal(d->name, names[i]);
    assert_true(d->builtin);
    assert_int_equal(d->version, 1);
    assert_int_equal(d->level, strcmp(d->name, "ESCALATED") == 0 ? 2 : 1);
    assert_int_equal(d->response_window_seconds, 14400);
    assert_int_equal(d->default_capacity, 10);
  }
  Helpdesk__V1__ListDepartmentsRequest rq = HELPDESK__V1__LIST_DEPARTMENTS_REQUEST__INIT;
  assert_int_equal(rf_call(x, "ListDepartments", x->customer, &rq.base,
                           &helpdesk__v1__list_departments_response__descriptor, NULL),
                   HD_PERMISSION_DENIED);
}

static void test_supervisor_upserts_a_department_for_their_tenant_only(void **state) {
  rf *x = *state;
  Helpdesk__V1__Department d = HELPDESK__V1__DEPARTMENT__INIT;
  d.name = "BILLING";
  d.level = 1;
  d.response_window_seconds = 3600;
  d.default_capacity = 6;
  d.description = "Billing, one-hour window";
  Helpdesk__V1__Department *out = NULL;
  assert_int_equal(upsert_dept(x, x->supervisor, &d, 1, &out), HD_OK);
  assert_false(out->builtin);
  assert_int_equal(out->version, 2);
  assert_int_equal(out->response_window_seconds, 3600);
  assert_string_equal(out->updated_by, "sup-1");
  const Helpdesk__V1__Department *seen = find_dept(list_depts(x, x->agent), "BILLING");
  assert_int_equal(seen->default_capacity, 6);
  assert_int_equal(find_dept(list_depts(x, x->other_tenant), "BILLING")->default_capacity, 10);
  /* Same values again: a new version, nothing else. */
  assert_int_equal(upsert_dept(x, x->supervisor, &d, 0, &out), HD_OK);
  assert_int_equal(out->version, 3);
  /* A new department. */
  d.name = "VIP_CARE";
  d.level = 2;
  assert_int_equal(upsert_dept(x, x->supervisor, &d, 0, &out), HD_OK);
  assert_int_equal(out->version, 1);
  assert_int_equal(list_depts(x, x->agent)->n_departments, 10);
  assert_int_equal(list_depts(x, x->other_tenant)->n_departments, 9);
  assert_int_equal(rf_sqlf(x,
                           "SELECT COUNT(*) FROM routing_audit WHERE tenant = 'acme' AND "
                           "entity = 'department' AND action = 'UPSERT_DEPARTMENT'"),
                   3);
  assert_int_equal(
      rf_sqlf(x, "SELECT default_capacity FROM departments WHERE tenant = '' AND name = 'BILLING'"),
      10);
}

static void test_department_upsert_refuses_bad_input_and_other_roles(void **state) {
  rf *x = *state;
  Helpdesk__V1__Department d = HELPDESK__V1__DEPARTMENT__INIT;
  d.name = "BILLING";
  d.level = 1;
  d.response_window_seconds = 3600;
  d.default_capacity = 6;
  Helpdesk__V1__Department *out = NULL;
  RF_REFUSED(x, HD_PERMISSION_DENIED, "supervisor", upsert_dept(x, x->lead, &d, 0, &out));
  RF_REFUSED(x, HD_PERMISSION_DENIED, "supervisor", upsert_dept(x, x->admin, &d, 0, &out));
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "department is required",
             upsert_dept(x, x->supervisor, NULL, 0, &out));
  RF_REFUSED(x, HD_ABORTED, "version is now 1", upsert_dept(x, x->supervisor, &d, 2, &out));
  d.level = 10;
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "level", upsert_dept(x, x->supervisor, &d, 0, &out));
  d.level = 0;
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "level", upsert_dept(x, x->supervisor, &d, 0, &out));
  d.level = 1;
  d.response_window_seconds = 59;
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "response_window", upsert_dept(x, x->supervisor, &d, 0, &out));
  d.response_window_seconds = 2592001;
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "response_window", upsert_dept(x, x->supervisor, &d, 0, &out));
  d.response_window_seconds = 60;
  d.default_capacity = 0;
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "default_capacity",
             upsert_dept(x, x->supervisor, &d, 0, &out));
  d.default_capacity = 1001;
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "default_capacity",
             upsert_dept(x, x->supervisor, &d, 0, &out));
  d.default_capacity = 1000;
  d.name = "Billing";
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "department code", upsert_dept(x, x->supervisor, &d, 0, &out));
  d.name = "BILLING ";
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "whitespace", upsert_dept(x, x->supervisor, &d, 0, &out));
  d.name = "";
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "required", upsert_dept(x, x->supervisor, &d, 0, &out));
  d.name = "BILLING";
  char desc[502];
  memset(desc, 'a', 501);
  desc[501] = '\0';
  d.description = desc;
  RF_REFUSED(x, HD_INVALID_ARGUMENT, "at most 500", upsert_dept(x, x->supervisor, &d, 0, &out));
  desc[500] = '\0';
  /* The edges themselves are accepted. */
  assert_int_equal(upsert_dept(x, x->supervisor, &d, 0, &out), HD_OK);
  assert_int_equal(out->response_window_seconds, 60);
  assert_int_equal(out->default_capacity, 1000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cancellation_fact_goes_to_cancellation_at_once, rf_setup,
                                      rf_teardown),
      cmocka_unit_test_setup_teardown(test_cancellation_issue_goes_to_cancellation, rf_setup,
                                      rf_teardown),
      cmocka_unit_test_setup_teardown(
          test_imminent_renewal_or_dispute_is_urgent_for_billing_and_retention, rf_setup,
          rf_teardown),
      cmocka_unit_test_setup_teardown(test_payment_error_asks_for_the_exact_error_message_first,
                                      rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(test_billing_topics_go_to_billing, rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(test_billing_issue_type_goes_to_billing, rf_setup,
                                      rf_teardown),
      cmocka_unit_test_setup_teardown(test_incomplete_domain_data_goes_back_to_the_customer,
                                      rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(test_domain_registrar_error_goes_to_domain, rf_setup,
                                      rf_teardown),
      cmocka_unit_test_setup_teardown(
          test_server_activation_without_hostname_confirms_then_infrastructure, rf_setup,
          rf_teardown),
      cmocka_unit_test_setup_teardown(test_ticket_read_from_the_ticket_service_routes_by_its_types,
                                      rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(test_failed_restore_goes_to_infrastructure, rf_setup,
                                      rf_teardown),
      cmocka_unit_test_setup_teardown(test_account_issue_goes_to_account, rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(test_payment_method_goes_to_payment, rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(test_anything_else_goes_to_technical, rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(test_route_ticket_refuses_bad_input, rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(test_list_routing_rules_in_the_order_they_are_tried, rf_setup,
                                      rf_teardown),
      cmocka_unit_test_setup_teardown(
          test_supervisor_rule_takes_precedence_by_priority_for_its_tenant_only, rf_setup,
          rf_teardown),
      cmocka_unit_test_setup_teardown(test_disabling_a_builtin_rule_replaces_it_for_the_tenant,
                                      rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(
          test_routing_rule_changes_are_for_supervisors_and_refused_ones_write_nothing, rf_setup,
          rf_teardown),
      cmocka_unit_test_setup_teardown(test_builtin_departments_are_listed_with_their_levels,
                                      rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(test_supervisor_upserts_a_department_for_their_tenant_only,
                                      rf_setup, rf_teardown),
      cmocka_unit_test_setup_teardown(test_department_upsert_refuses_bad_input_and_other_roles,
                                      rf_setup, rf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
