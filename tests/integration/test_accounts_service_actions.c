/* The service-action policy (WHG SOP 1.3, 4, 6, 7) against real MariaDB and the real accounts,
 * routing and ticket services in-process: every seeded rule as CheckServiceAction answers it per
 * hosting type, the SOP's rules spelled out, and RecordServiceAction enforcing them: consents
 * read from the ticket over gRPC (present, absent, of the wrong scope, on another ticket), the
 * escalations to INFRASTRUCTURE through routing asked twice, the internal records and the
 * screenshot written on the ticket, the clean-ups owed and recorded, and a supervisor's rule. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "account_fixture.h"
#include "routing_fixture.h"

#define HT(t)    HELPDESK__V1__HOSTING_TYPE__HOSTING_TYPE_##t
#define ACT(a)   HELPDESK__V1__SERVICE_ACTION__SERVICE_ACTION_##a
#define MOD(m)   HELPDESK__V1__SERVICE_ACTION_MODIFIER__SERVICE_ACTION_MODIFIER_##m
#define V(v)     HELPDESK__V1__SERVICE_ACTION_VERDICT__SERVICE_ACTION_VERDICT_##v
#define OUT(o)   HELPDESK__V1__SERVICE_ACTION_OUTCOME__SERVICE_ACTION_OUTCOME_##o
#define SCOPE(s) HELPDESK__V1__CONSENT_SCOPE__CONSENT_SCOPE_##s
#define CLEAN(c) HELPDESK__V1__SERVICE_ACTION_CLEANUP__SERVICE_ACTION_CLEANUP_##c
#define CUSTOMER "cust-1" /* the ticket fixture's customer: the account's uid */
#define N_TYPES  4

typedef struct pair {
  rf r; /* routing and the ticket service */
  af *a;
  int64_t svc[N_TYPES + 1]; /* the account's HOSTING service of each type (index: HostingType) */
  int64_t ticket;           /* a ticket of cust-1, owned by agent-1 */
} pair;

static const unsigned char PNG[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0};

static int64_t add_hosting(pair *p, const char *uid, Helpdesk__V1__HostingType type) {
  Helpdesk__V1__AddServiceRequest r = HELPDESK__V1__ADD_SERVICE_REQUEST__INIT;
  r.uid = (char *)uid;
  r.kind = HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_HOSTING;
  r.hosting_type = type;
  r.package = type == HT(RESELLER) ? "Reseller Pro" : "";
  return ((Helpdesk__V1__HeldService *)af_must(p->a, "AddService", p->a->service, &r.base,
                                               &helpdesk__v1__held_service__descriptor))
      ->id;
}

static int64_t owned_ticket(pair *p, const char *subject) {
  Helpdesk__V1__Ticket *t = tf_create(&p->r.t, p->r.t.customer, NULL, subject);
  tf_assign(&p->r.t, t->id, "agent-1");
  return t->id;
}

static int pair_setup(void **state) {
  pair *p = calloc(1, sizeof *p);
  if (!p || rf_start(&p->r) != 0) {
    free(p);
    return -1;
  }
  setenv("HELPDESK_ROUTING_TARGET", p->r.r.target, 1); /* HELPDESK_TICKETS_TARGET: rf_start */
  void *a = NULL;
  if (af_setup(&a) != 0) {
    rf_stop(&p->r);
    free(p);
    return -1;
  }
  p->a = a;
  af_account(p->a, CUSTOMER, "SG", true, NULL);
  for (int t = 1; t <= N_TYPES; t++)
    p->svc[t] = add_hosting(p, CUSTOMER, (Helpdesk__V1__HostingType)t);
  p->ticket = owned_ticket(p, "My site's DNS is wrong");
  *state = p;
  return 0;
}

static int pair_teardown(void **state) {
  pair *p = *state;
  if (!p) return 0;
  void *a = p->a;
  af_teardown(&a);
  rf_stop(&p->r);
  unsetenv("HELPDESK_ROUTING_TARGET");
  free(p);
  return 0;
}

/* ---- helpers ---- */

static hd_code check(pair *p, int64_t service, Helpdesk__V1__ServiceAction action,
                     Helpdesk__V1__ServiceActionModifier mod,
                     Helpdesk__V1__ServiceActionDecision **d) {
  Helpdesk__V1__CheckServiceActionRequest r = HELPDESK__V1__CHECK_SERVICE_ACTION_REQUEST__INIT;
  r.uid = CUSTOMER;
  r.service_id = service;
  r.action = action;
  r.modifier = mod;
  return af_call(p->a, "CheckServiceAction", p->a->agent, &r.base,
                 &helpdesk__v1__service_action_decision__descriptor, d);
}

static Helpdesk__V1__ServiceActionDecision *decide(pair *p, Helpdesk__V1__HostingType type,
                                                   Helpdesk__V1__ServiceAction action,
                                                   Helpdesk__V1__ServiceActionModifier mod) {
  Helpdesk__V1__ServiceActionDecision *d = NULL;
  assert_int_equal(check(p, p->svc[type], action, mod, &d), HD_OK);
  return d;
}

/* The verdict of (type, action, mod), and the rule's id checked. */
static void expect(pair *p, Helpdesk__V1__HostingType type, Helpdesk__V1__ServiceAction action,
                   Helpdesk__V1__ServiceActionModifier mod, Helpdesk__V1__ServiceActionVerdict want,
                   const char *rule_id) {
  Helpdesk__V1__ServiceActionDecision *d = decide(p, type, action, mod);
  if (d->verdict != want || strcmp(d->rule->rule_id, rule_id) != 0)
    fail_msg("type %d action %d modifier %d: want verdict %d rule %s, got %d rule %s (%s)",
             (int)type, (int)action, (int)mod, (int)want, rule_id, (int)d->verdict,
             d->rule->rule_id, d->message);
}

static Helpdesk__V1__RecordServiceActionRequest request(pair *p, const char *key, int64_t ticket,
                                                        Helpdesk__V1__HostingType type,
                                                        Helpdesk__V1__ServiceAction action) {
  Helpdesk__V1__RecordServiceActionRequest r = HELPDESK__V1__RECORD_SERVICE_ACTION_REQUEST__INIT;
  r.idempotency_key = (char *)key;
  r.ticket_id = ticket;
  r.uid = CUSTOMER;
  r.service_id = p->svc[type];
  r.action = action;
  r.description = "Changed the A record of example.com from 192.0.2.1 to 192.0.2.7";
  r.outcome = OUT(DONE);
  return r;
}

static hd_code record(pair *p, const Helpdesk__V1__RecordServiceActionRequest *r,
                      Helpdesk__V1__ServiceActionRecord **out) {
  return af_call(p->a, "RecordServiceAction", p->a->agent, &r->base,
                 &helpdesk__v1__service_action_record__descriptor, out);
}

static Helpdesk__V1__ServiceActionRecord *record_ok(
    pair *p, const Helpdesk__V1__RecordServiceActionRequest *r) {
  Helpdesk__V1__ServiceActionRecord *out = NULL;
  hd_code got = record(p, r, &out);
  if (got != HD_OK) fail_msg("RecordServiceAction: %d %s", (int)got, p->a->err.msg);
  return out;
}

static int64_t consent(pair *p, int64_t ticket, Helpdesk__V1__ConsentScope scope,
                       const char *words) {
  Helpdesk__V1__RecordConsentRequest r = HELPDESK__V1__RECORD_CONSENT_REQUEST__INIT;
  r.ticket_id = ticket;
  r.scope = scope;
  r.customer_words = (char *)words;
  return ((Helpdesk__V1__Consent *)tf_must(&p->r.t, "RecordConsent", p->r.t.agent, &r.base,
                                           &helpdesk__v1__consent__descriptor))
      ->id;
}

static int64_t records_on(pair *p, int64_t ticket) {
  return tf_sqlf(&p->r.t, "SELECT COUNT(*) FROM internal_records WHERE ticket_id = %" PRId64,
                 ticket);
}

static int64_t escalations_on(pair *p, int64_t ticket, const char *department) {
  return rf_sqlf(&p->r,
                 "SELECT COUNT(*) FROM escalations WHERE ticket_id = %" PRId64
                 " AND to_department = '%s'",
                 ticket, department);
}

/* A statement on the accounts database; fails the test unless it succeeds. */
static void exec(pair *p, const char *sql) {
  hd_err err = {0};
  if (hd_db_exec(p->a->db, sql, NULL, 0, NULL, NULL, &err)) fail_msg("%s: %s", sql, err.msg);
}

static int64_t actions(pair *p) { return af_sql(p->a, "SELECT COUNT(*) FROM service_actions"); }

/* ---- the policy table ---- */

static const char *const TYPES[] = {"", "SHARED", "RESELLER", "MANAGED", "UNMANAGED"};

static void test_every_seeded_rule_is_what_check_service_action_answers_per_hosting_type(
    void **state) {
  pair *p = *state;
  Helpdesk__V1__ListServiceActionRulesRequest lr =
      HELPDESK__V1__LIST_SERVICE_ACTION_RULES_REQUEST__INIT;
  Helpdesk__V1__ListServiceActionRulesResponse *all =
      (Helpdesk__V1__ListServiceActionRulesResponse *)af_must(
          p->a, "ListServiceActionRules", p->a->agent, &lr.base,
          &helpdesk__v1__list_service_action_rules_response__descriptor);
  assert_int_equal((int64_t)all->n_rules,
                   af_sql(p->a, "SELECT COUNT(*) FROM service_action_rules WHERE tenant = ''"));
  int per_type[N_TYPES + 1] = {0};
  for (size_t i = 0; i < all->n_rules; i++) {
    const Helpdesk__V1__ServiceActionRule *rule = all->rules[i];
    assert_true(rule->hosting_type >= 1 && rule->hosting_type <= N_TYPES);
    per_type[rule->hosting_type]++;
    assert_false(rule->tenant_override);
    assert_true(rule->reason[0] && rule->sop_section[0]);
    /* The rule's own key gets the rule itself. */
    expect(p, rule->hosting_type, rule->action, rule->modifier, rule->verdict, rule->rule_id);
    const Helpdesk__V1__ServiceActionDecision *d =
        decide(p, rule->hosting_type, rule->action, rule->modifier);
    assert_string_equal(d->rule->reason, rule->reason);
    assert_string_equal(d->rule->department, rule->department);
    assert_int_equal(d->rule->consent_scope, rule->consent_scope);
    assert_int_equal(d->service->id, p->svc[rule->hosting_type]);
    if (rule->verdict == V(ESCALATE)) assert_string_equal(rule->department, "INFRASTRUCTURE");
    if (rule->verdict == V(NEEDS_CUSTOMER_CONSENT)) assert_true(rule->consent_scope != 0);
  }
  /* Every action has its own rule on every type. */
  for (int t = 1; t <= N_TYPES; t++) {
    assert_true(per_type[t] >= 13);
    for (int a = ACT(CHANGE_CONFIGURATION); a <= ACT(EMAIL_TEST_DUMMY_ACCOUNT); a++)
      assert_int_equal(
          af_sql(p->a,
                 "SELECT COUNT(*) FROM service_action_rules WHERE tenant = '' AND "
                 "hosting_type = '%s' AND action = '%s' AND modifier = ''",
                 TYPES[t],
                 protobuf_c_enum_descriptor_get_value(&helpdesk__v1__service_action__descriptor, a)
                         ->name +
                     strlen("SERVICE_ACTION_")),
          1);
  }
  /* One type at a time. */
  lr.hosting_type = HT(UNMANAGED);
  Helpdesk__V1__ListServiceActionRulesResponse *u =
      (Helpdesk__V1__ListServiceActionRulesResponse *)af_must(
          p->a, "ListServiceActionRules", p->a->agent, &lr.base,
          &helpdesk__v1__list_service_action_rules_response__descriptor);
  assert_int_equal((int)u->n_rules, per_type[HT(UNMANAGED)]);
}

static void test_shared_forbids_root_changes_installs_disabled_features_and_isp_whitelisting(
    void **state) {
  pair *p = *state;
  expect(p, HT(SHARED), ACT(CHANGE_CONFIGURATION), MOD(AS_ROOT), V(FORBIDDEN),
         "shared.change-configuration.as-root");
  expect(p, HT(SHARED), ACT(INSTALL_APPLICATION), MOD(UNSPECIFIED), V(FORBIDDEN),
         "shared.install-application");
  expect(p, HT(SHARED), ACT(ENABLE_CLOUDLINUX_FEATURE), MOD(UNSPECIFIED), V(FORBIDDEN),
         "shared.enable-cloudlinux-feature");
  expect(p, HT(SHARED), ACT(WHITELIST_IP), MOD(UNSPECIFIED), V(FORBIDDEN), "shared.whitelist-ip");
  expect(p, HT(SHARED), ACT(WHITELIST_IP), MOD(IMUNIFY360), V(FORBIDDEN), "shared.whitelist-ip");
  expect(p, HT(SHARED), ACT(WHITELIST_IP), MOD(REMOTE_DATABASE_ACCESS), V(ALLOWED),
         "shared.whitelist-ip.remote-database-access");
  expect(p, HT(SHARED), ACT(RAISE_RESOURCE_LIMIT), MOD(UNSPECIFIED), V(ALLOWED),
         "shared.raise-resource-limit");
  expect(p, HT(SHARED), ACT(RAISE_RESOURCE_LIMIT), MOD(BEYOND_PLAN_LIMITS), V(FORBIDDEN),
         "shared.raise-resource-limit.beyond-plan-limits");
  Helpdesk__V1__ServiceActionDecision *d =
      decide(p, HT(SHARED), ACT(INSTALL_APPLICATION), MOD(UNSPECIFIED));
  assert_non_null(strstr(d->rule->reason, "as root on a shared server"));
  assert_non_null(strstr(d->message, "rule shared.install-application"));
  d = decide(p, HT(SHARED), ACT(WHITELIST_IP), MOD(UNSPECIFIED));
  assert_non_null(strstr(d->rule->reason, "except conditionally for remote database access"));
}

static void test_any_change_to_files_email_dns_passwords_or_configuration_needs_consent(
    void **state) {
  pair *p = *state;
  static const Helpdesk__V1__ServiceAction changes[] = {ACT(CHANGE_CONFIGURATION),
                                                        ACT(CHANGE_PASSWORD), ACT(CHANGE_FILES),
                                                        ACT(CHANGE_EMAIL), ACT(CHANGE_DNS)};
  for (int t = HT(SHARED); t <= HT(MANAGED); t++)
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
      Helpdesk__V1__ServiceActionDecision *d =
          decide(p, (Helpdesk__V1__HostingType)t, changes[i], MOD(UNSPECIFIED));
      assert_int_equal(d->verdict, V(NEEDS_CUSTOMER_CONSENT));
      assert_int_equal(d->rule->consent_scope, SCOPE(SERVICE_CHANGE));
      assert_non_null(strstr(d->rule->reason, "without customer permission"));
    }
  /* Restores and mailbox tests need their own scopes. */
  assert_int_equal(
      decide(p, HT(SHARED), ACT(RESTORE_BACKUP), MOD(UNSPECIFIED))->rule->consent_scope,
      SCOPE(BACKUP_RESTORE));
  assert_int_equal(decide(p, HT(SHARED), ACT(EMAIL_TEST_CUSTOMER_MAILBOX), MOD(UNSPECIFIED))
                       ->rule->consent_scope,
                   SCOPE(MAILBOX_TEST));
}

static void test_reseller_follows_shared_for_resources_configuration_backups_and_email(
    void **state) {
  pair *p = *state;
  static const Helpdesk__V1__ServiceAction same[] = {ACT(CHANGE_CONFIGURATION),
                                                     ACT(CHANGE_PASSWORD),
                                                     ACT(CHANGE_FILES),
                                                     ACT(CHANGE_EMAIL),
                                                     ACT(CHANGE_DNS),
                                                     ACT(RAISE_RESOURCE_LIMIT),
                                                     ACT(RESTORE_BACKUP),
                                                     ACT(EMAIL_TEST_CUSTOMER_MAILBOX),
                                                     ACT(EMAIL_TEST_DUMMY_ACCOUNT)};
  for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
    const Helpdesk__V1__ServiceActionDecision *s = decide(p, HT(SHARED), same[i], MOD(UNSPECIFIED));
    const Helpdesk__V1__ServiceActionDecision *r =
        decide(p, HT(RESELLER), same[i], MOD(UNSPECIFIED));
    assert_int_equal(r->verdict, s->verdict);
    assert_int_equal(r->rule->consent_scope, s->rule->consent_scope);
    assert_string_equal(r->rule->reason, s->rule->reason);
  }
  expect(p, HT(RESELLER), ACT(ENABLE_CLOUDLINUX_FEATURE), MOD(UNSPECIFIED), V(FORBIDDEN),
         "reseller.enable-cloudlinux-feature");
  expect(p, HT(RESELLER), ACT(ENABLE_CLOUDLINUX_FEATURE), MOD(HIGHEST_RESELLER_PACKAGE), V(ALLOWED),
         "reseller.enable-cloudlinux-feature.highest-reseller-package");
  expect(p, HT(RESELLER), ACT(WHITELIST_IP), MOD(IMUNIFY360), V(ALLOWED),
         "reseller.whitelist-ip.imunify360");
  expect(p, HT(RESELLER), ACT(WHITELIST_IP), MOD(UNSPECIFIED), V(FORBIDDEN),
         "reseller.whitelist-ip");
  expect(p, HT(RESELLER), ACT(INSTALL_APPLICATION), MOD(UNSPECIFIED), V(FORBIDDEN),
         "reseller.install-application");
}

static void test_managed_forbids_unsupported_applications_and_allows_imunify360(void **state) {
  pair *p = *state;
  expect(p, HT(MANAGED), ACT(INSTALL_APPLICATION), MOD(UNSPECIFIED), V(FORBIDDEN),
         "managed.install-application");
  assert_non_null(
      strstr(decide(p, HT(MANAGED), ACT(INSTALL_APPLICATION), MOD(UNSPECIFIED))->rule->reason,
             "unsupported applications"));
  expect(p, HT(MANAGED), ACT(INSTALL_APPLICATION), MOD(SUPPORTED_APPLICATION),
         V(NEEDS_CUSTOMER_CONSENT), "managed.install-application.supported-application");
  expect(p, HT(MANAGED), ACT(WHITELIST_IP), MOD(IMUNIFY360), V(ALLOWED),
         "managed.whitelist-ip.imunify360");
  expect(p, HT(MANAGED), ACT(RAISE_RESOURCE_LIMIT), MOD(UNSPECIFIED), V(ALLOWED),
         "managed.raise-resource-limit");
}

static void test_unmanaged_forbids_configuring_and_installing_and_escalates_an_unreachable_restart(
    void **state) {
  pair *p = *state;
  static const Helpdesk__V1__ServiceAction config[] = {
      ACT(CHANGE_CONFIGURATION), ACT(CHANGE_PASSWORD),
      ACT(CHANGE_FILES),         ACT(CHANGE_EMAIL),
      ACT(CHANGE_DNS),           ACT(RAISE_RESOURCE_LIMIT),
      ACT(WHITELIST_IP),         ACT(ENABLE_CLOUDLINUX_FEATURE)};
  for (size_t i = 0; i < sizeof config / sizeof config[0]; i++) {
    Helpdesk__V1__ServiceActionDecision *d = decide(p, HT(UNMANAGED), config[i], MOD(UNSPECIFIED));
    assert_int_equal(d->verdict, V(FORBIDDEN));
    assert_non_null(strstr(d->rule->reason, "not permitted to configure unmanaged services"));
  }
  Helpdesk__V1__ServiceActionDecision *d =
      decide(p, HT(UNMANAGED), ACT(INSTALL_APPLICATION), MOD(UNSPECIFIED));
  assert_int_equal(d->verdict, V(FORBIDDEN));
  assert_non_null(strstr(d->rule->reason, "provide installation instructions"));
  expect(p, HT(UNMANAGED), ACT(RESTART_SERVER), MOD(UNSPECIFIED), V(FORBIDDEN),
         "unmanaged.restart-server");
  d = decide(p, HT(UNMANAGED), ACT(RESTART_SERVER), MOD(CUSTOMER_CANNOT_REACH_SERVER));
  assert_int_equal(d->verdict, V(ESCALATE));
  assert_string_equal(d->rule->department, "INFRASTRUCTURE");
  assert_non_null(strstr(d->message, "Escalate the ticket to INFRASTRUCTURE"));
}

static void test_a_rule_missing_from_the_table_is_forbidden_by_default(void **state) {
  pair *p = *state;
  exec(p,
       "DELETE FROM service_action_rules WHERE tenant = '' AND hosting_type = 'SHARED' AND "
       "action = 'CHANGE_DNS'");
  expect(p, HT(SHARED), ACT(CHANGE_DNS), MOD(UNSPECIFIED), V(FORBIDDEN), "default-forbidden");
}

static void test_check_refuses_a_service_not_held_a_deleted_account_and_a_domain(void **state) {
  pair *p = *state;
  Helpdesk__V1__ServiceActionDecision *d = NULL;
  assert_int_equal(check(p, 999999, ACT(CHANGE_DNS), MOD(UNSPECIFIED), &d), HD_NOT_FOUND);
  af_account(p->a, "other-1", "SG", true, NULL);
  const int64_t theirs = add_hosting(p, "other-1", HT(SHARED));
  assert_int_equal(check(p, theirs, ACT(CHANGE_DNS), MOD(UNSPECIFIED), &d), HD_NOT_FOUND);
  Helpdesk__V1__AddServiceRequest r = HELPDESK__V1__ADD_SERVICE_REQUEST__INIT;
  r.uid = CUSTOMER;
  r.kind = HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_DOMAIN;
  r.domain = "example.org";
  const int64_t domain =
      ((Helpdesk__V1__HeldService *)af_must(p->a, "AddService", p->a->service, &r.base,
                                            &helpdesk__v1__held_service__descriptor))
          ->id;
  assert_int_equal(check(p, domain, ACT(CHANGE_DNS), MOD(UNSPECIFIED), &d), HD_FAILED_PRECONDITION);
  assert_non_null(strstr(p->a->err.msg, "not HOSTING"));
  exec(p, "UPDATE accounts SET deleted_at_us = 1 WHERE uid = '" CUSTOMER "'");
  assert_int_equal(check(p, p->svc[HT(SHARED)], ACT(CHANGE_DNS), MOD(UNSPECIFIED), &d),
                   HD_FAILED_PRECONDITION);
  assert_non_null(strstr(p->a->err.msg, "was deleted"));
}

/* ---- RecordServiceAction ---- */

static void test_a_forbidden_action_is_refused_with_the_sop_reason_and_writes_nothing(
    void **state) {
  pair *p = *state;
  Helpdesk__V1__RecordServiceActionRequest r =
      request(p, "k-install", p->ticket, HT(SHARED), ACT(INSTALL_APPLICATION));
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "rule shared.install-application", record(p, &r, NULL));
  assert_non_null(strstr(p->a->err.msg, "as root on a shared server"));
  assert_string_equal(p->a->err.reason, HD_REASON_ACTION_FORBIDDEN); /* google.rpc.ErrorInfo */
  assert_int_equal(records_on(p, p->ticket), 0);
}

static void test_a_dns_change_needs_a_service_change_consent_on_that_very_ticket(void **state) {
  pair *p = *state;
  Helpdesk__V1__RecordServiceActionRequest r =
      request(p, "k-dns", p->ticket, HT(SHARED), ACT(CHANGE_DNS));
  /* Absent. */
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "holds no SERVICE_CHANGE consent", record(p, &r, NULL));
  assert_string_equal(p->a->err.reason, HD_REASON_CONSENT_REQUIRED); /* google.rpc.ErrorInfo */
  /* Of the wrong scope. */
  consent(p, p->ticket, SCOPE(MAILBOX_TEST), "You may test with my mailbox.");
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "holds no SERVICE_CHANGE consent", record(p, &r, NULL));
  /* On another ticket of the same customer. */
  const int64_t other = owned_ticket(p, "Another question");
  consent(p, other, SCOPE(SERVICE_CHANGE), "Yes, change my DNS.");
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "holds no SERVICE_CHANGE consent", record(p, &r, NULL));
  assert_int_equal(records_on(p, p->ticket), 0);
  /* Present: recorded, naming the consent, with its internal record on the ticket. */
  const int64_t yes = consent(p, p->ticket, SCOPE(SERVICE_CHANGE), "Yes, please fix my DNS.");
  Helpdesk__V1__ServiceActionRecord *rec = record_ok(p, &r);
  assert_true(rec->id > 0);
  assert_int_equal(rec->consent_id, yes);
  assert_int_equal(rec->verdict, V(NEEDS_CUSTOMER_CONSENT));
  assert_string_equal(rec->rule_id, "shared.change-dns");
  assert_string_equal(rec->recorded_by, "agent-1");
  assert_true(rec->internal_record_id > 0);
  assert_string_equal(rec->last_error, "");
  assert_int_equal(records_on(p, p->ticket), 1);
  const char *body = tf_sqlf_str(&p->r.t, "SELECT body FROM internal_records WHERE id = %" PRId64,
                                 rec->internal_record_id);
  assert_non_null(strstr(body, "CHANGE_DNS on SHARED service"));
  assert_non_null(strstr(body, "192.0.2.7"));
  assert_int_equal(af_audits(p->a, CUSTOMER, "RECORD_SERVICE_ACTION"), 1);
  /* A retry: the same record, nothing written twice. */
  Helpdesk__V1__ServiceActionRecord *again = record_ok(p, &r);
  assert_int_equal(again->id, rec->id);
  assert_int_equal(again->internal_record_id, rec->internal_record_id);
  assert_int_equal(actions(p), 1);
  assert_int_equal(records_on(p, p->ticket), 1);
  assert_int_equal(af_audits(p->a, CUSTOMER, "RECORD_SERVICE_ACTION"), 1);
  /* The same key for another request. */
  r.description = "Something else";
  AF_REFUSED(p->a, HD_ALREADY_EXISTS, "idempotency_key", record(p, &r, NULL));
}

static void test_an_action_on_another_customers_ticket_is_refused(void **state) {
  pair *p = *state;
  Helpdesk__V1__Ticket *theirs = tf_create(&p->r.t, p->r.t.customer2, NULL, "Not yours");
  consent(p, theirs->id, SCOPE(SERVICE_CHANGE), "Yes");
  Helpdesk__V1__RecordServiceActionRequest r =
      request(p, "k-x", theirs->id, HT(SHARED), ACT(CHANGE_DNS));
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "its customer is 'cust-2'", record(p, &r, NULL));
}

static void test_an_allowed_action_is_recorded_without_consent(void **state) {
  pair *p = *state;
  Helpdesk__V1__RecordServiceActionRequest r =
      request(p, "k-php", p->ticket, HT(SHARED), ACT(RAISE_RESOURCE_LIMIT));
  r.description = "PHP memory_limit 128M -> 256M (the plan allows 512M)";
  Helpdesk__V1__ServiceActionRecord *rec = record_ok(p, &r);
  assert_int_equal(rec->verdict, V(ALLOWED));
  assert_int_equal(rec->consent_id, 0);
  assert_int_equal(records_on(p, p->ticket), 1);
  /* An ALLOWED rule cannot be recorded as escalated. */
  r.idempotency_key = "k-php-2";
  r.outcome = OUT(ESCALATED);
  AF_REFUSED(p->a, HD_INVALID_ARGUMENT, "does not escalate", record(p, &r, NULL));
}

static void test_restart_on_unmanaged_is_refused_while_reachable_and_escalated_once_when_not(
    void **state) {
  pair *p = *state;
  Helpdesk__V1__RecordServiceActionRequest r =
      request(p, "k-restart", p->ticket, HT(UNMANAGED), ACT(RESTART_SERVER));
  r.description = "The customer asks for a restart";
  r.outcome = 0;
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "unless the customer cannot access it",
             record(p, &r, NULL));
  r.modifier = MOD(CUSTOMER_CANNOT_REACH_SERVER);
  r.description = "The customer cannot reach the server (ping and SSH time out)";
  Helpdesk__V1__ServiceActionRecord *rec = record_ok(p, &r);
  assert_int_equal(rec->verdict, V(ESCALATE));
  assert_int_equal(rec->outcome, OUT(ESCALATED));
  assert_string_equal(rec->escalation_department, "INFRASTRUCTURE");
  assert_true(rec->routing_escalation_id > 0);
  assert_int_equal(escalations_on(p, p->ticket, "INFRASTRUCTURE"), 1);
  /* Asked twice: one escalation. */
  Helpdesk__V1__ServiceActionRecord *again = record_ok(p, &r);
  assert_int_equal(again->routing_escalation_id, rec->routing_escalation_id);
  assert_int_equal(escalations_on(p, p->ticket, "INFRASTRUCTURE"), 1);
  /* Routing answered but the id was lost (a crash in between): the retry sends the same request
   * under the same key, and routing still has one. */
  exec(p, "UPDATE service_actions SET routing_escalation_id = 0");
  again = record_ok(p, &r);
  assert_int_equal(again->routing_escalation_id, rec->routing_escalation_id);
  assert_int_equal(escalations_on(p, p->ticket, "INFRASTRUCTURE"), 1);
  Helpdesk__V1__ListEscalationsRequest lr = HELPDESK__V1__LIST_ESCALATIONS_REQUEST__INIT;
  lr.ticket_id = p->ticket;
  Helpdesk__V1__ListEscalationsResponse *ls = (Helpdesk__V1__ListEscalationsResponse *)rf_must(
      &p->r, "ListEscalations", p->r.lead, &lr.base,
      &helpdesk__v1__list_escalations_response__descriptor);
  assert_int_equal(ls->n_escalations, 1);
  assert_int_equal(ls->escalations[0]->mode, HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_ASSIGN);
  assert_string_equal(ls->escalations[0]->created_by_role, "service");
  assert_non_null(strstr(ls->escalations[0]->context, "cannot reach the server"));
  assert_string_equal(tf_get(&p->r.t, p->r.t.lead, p->ticket)->department, "INFRASTRUCTURE");
  assert_int_equal(records_on(p, p->ticket), 1); /* ours (ASSIGN tells the customer in a comment) */
  /* An ESCALATE rule is recorded as escalated, never as done. */
  r.idempotency_key = "k-restart-2";
  r.outcome = OUT(DONE);
  AF_REFUSED(p->a, HD_INVALID_ARGUMENT, "record it ESCALATED", record(p, &r, NULL));
}

static void test_an_escalation_routing_refuses_stays_pending_and_the_retry_sends_it_once(
    void **state) {
  pair *p = *state;
  /* No owner yet: routing refuses to ASSIGN it; the action is recorded all the same. */
  Helpdesk__V1__Ticket *t = tf_create(&p->r.t, p->r.t.customer, NULL, "Server down");
  Helpdesk__V1__RecordServiceActionRequest r =
      request(p, "k-pending", t->id, HT(UNMANAGED), ACT(RESTART_SERVER));
  r.modifier = MOD(CUSTOMER_CANNOT_REACH_SERVER);
  r.outcome = 0;
  r.description = "The customer cannot reach the server";
  Helpdesk__V1__ServiceActionRecord *rec = record_ok(p, &r);
  assert_int_equal(rec->routing_escalation_id, 0);
  assert_non_null(strstr(rec->last_error, "escalating to INFRASTRUCTURE"));
  assert_non_null(strstr(rec->last_error, "has no owner"));
  assert_true(rec->internal_record_id > 0);
  assert_int_equal(escalations_on(p, t->id, "INFRASTRUCTURE"), 0);
  /* Once it has an owner, the same call sends it, and only it. */
  tf_assign(&p->r.t, t->id, "agent-1");
  Helpdesk__V1__ServiceActionRecord *again = record_ok(p, &r);
  assert_int_equal(again->id, rec->id);
  assert_true(again->routing_escalation_id > 0);
  assert_string_equal(again->last_error, "");
  assert_int_equal(again->internal_record_id, rec->internal_record_id);
  assert_int_equal(escalations_on(p, t->id, "INFRASTRUCTURE"), 1);
  assert_int_equal(records_on(p, t->id), 1);
}

static void test_a_restore_needs_the_customers_details_and_a_failed_one_escalates_once(
    void **state) {
  pair *p = *state;
  Helpdesk__V1__RecordServiceActionRequest r =
      request(p, "k-restore", p->ticket, HT(SHARED), ACT(RESTORE_BACKUP));
  r.description = "Restored public_html from the backup";
  AF_REFUSED(p->a, HD_INVALID_ARGUMENT, "restore is required", record(p, &r, NULL));
  Helpdesk__V1__RestoreDetails d = HELPDESK__V1__RESTORE_DETAILS__INIT;
  d.backup_date = "2026-13-01";
  d.scope = HELPDESK__V1__RESTORE_SCOPE__RESTORE_SCOPE_PARTIAL;
  d.what = "";
  r.restore = &d;
  AF_REFUSED(p->a, HD_INVALID_ARGUMENT, "YYYY-MM-DD", record(p, &r, NULL));
  d.backup_date = "2099-01-01";
  AF_REFUSED(p->a, HD_INVALID_ARGUMENT, "after today", record(p, &r, NULL));
  d.backup_date = "2020-02-29";
  AF_REFUSED(p->a, HD_INVALID_ARGUMENT, "restore.what is required", record(p, &r, NULL));
  d.what = "public_html only";
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "holds no BACKUP_RESTORE consent", record(p, &r, NULL));
  consent(p, p->ticket, SCOPE(SERVICE_CHANGE), "Change what you need"); /* not a restore's */
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "holds no BACKUP_RESTORE consent", record(p, &r, NULL));
  consent(p, p->ticket, SCOPE(BACKUP_RESTORE), "Restore public_html from 29 February, please");
  Helpdesk__V1__ServiceActionRecord *done = record_ok(p, &r);
  assert_string_equal(done->restore->backup_date, "2020-02-29");
  assert_string_equal(done->escalation_department, "");
  assert_int_equal(escalations_on(p, p->ticket, "INFRASTRUCTURE"), 0);
  /* It failed: escalated to INFRASTRUCTURE, once however often asked. */
  r.idempotency_key = "k-restore-failed";
  r.outcome = OUT(FAILED);
  r.description = "The restore stopped: tar reported a corrupt archive";
  Helpdesk__V1__ServiceActionRecord *failed = record_ok(p, &r);
  assert_string_equal(failed->escalation_department, "INFRASTRUCTURE");
  assert_true(failed->routing_escalation_id > 0);
  Helpdesk__V1__ServiceActionRecord *again = record_ok(p, &r);
  assert_int_equal(again->routing_escalation_id, failed->routing_escalation_id);
  assert_int_equal(escalations_on(p, p->ticket, "INFRASTRUCTURE"), 1);
  assert_int_equal(records_on(p, p->ticket), 2);
}

static Helpdesk__V1__EmailTest email_test(const char *to, Helpdesk__V1__EmailTestTarget target,
                                          const char *dummy) {
  Helpdesk__V1__EmailTest e = HELPDESK__V1__EMAIL_TEST__INIT;
  e.target = target;
  e.target_address = (char *)to;
  e.dummy_account = (char *)dummy;
  e.screenshot_filename = "sent.png";
  e.screenshot.data = (uint8_t *)PNG;
  e.screenshot.len = sizeof PNG;
  e.result = "Sent and received in 4 seconds";
  return e;
}

#define SUPPORT  HELPDESK__V1__EMAIL_TEST_TARGET__EMAIL_TEST_TARGET_SUPPORT_ADDRESS
#define CUSTGIVE HELPDESK__V1__EMAIL_TEST_TARGET__EMAIL_TEST_TARGET_CUSTOMER_GIVEN

static void test_an_email_test_on_a_dummy_goes_to_the_support_address_and_records_its_deletion(
    void **state) {
  pair *p = *state;
  Helpdesk__V1__RecordServiceActionRequest r =
      request(p, "k-mail", p->ticket, HT(SHARED), ACT(EMAIL_TEST_DUMMY_ACCOUNT));
  r.description = "Made test@example.com and sent a test mail";
  Helpdesk__V1__EmailTest e = email_test("emailtest@support.example.com", SUPPORT, "");
  r.email_test = &e;
  AF_REFUSED(p->a, HD_INVALID_ARGUMENT, "email_test.dummy_account is required",
             record(p, &r, NULL));
  e.dummy_account = "test@example.com";
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "holds no MAILBOX_TEST consent", record(p, &r, NULL));
  consent(p, p->ticket, SCOPE(MAILBOX_TEST), "You may make a test mailbox.");
  /* Never to a staff member's own address, nor one the customer never gave. */
  e.target_address = "agent-1@staff.example.com";
  e.target = CUSTGIVE;
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "own personal accounts", record(p, &r, NULL));
  e.target_address = "someone@gmail.com";
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "not an address the customer gave", record(p, &r, NULL));
  e.target = SUPPORT;
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "not the designated support address",
             record(p, &r, NULL));
  e.target_address = "EmailTest@support.example.com";
  Helpdesk__V1__ServiceActionRecord *rec = record_ok(p, &r);
  assert_int_equal(rec->cleanup, CLEAN(DELETE_DUMMY_ACCOUNT));
  assert_int_equal(rec->cleanup_time_us, 0);
  assert_true(rec->attachment_id > 0);
  assert_string_equal(rec->email_test->dummy_account, "test@example.com");
  assert_int_equal(tf_sqlf(&p->r.t,
                           "SELECT COUNT(*) FROM attachments WHERE ticket_id = %" PRId64
                           " AND filename = 'sent.png'",
                           p->ticket),
                   1);
  const char *body = tf_sqlf_str(&p->r.t, "SELECT body FROM internal_records WHERE id = %" PRId64,
                                 rec->internal_record_id);
  assert_non_null(strstr(body, "Owed: the deletion of the dummy mailbox test@example.com"));
  /* A retry attaches nothing twice. */
  assert_int_equal(record_ok(p, &r)->attachment_id, rec->attachment_id);
  assert_int_equal(
      tf_sqlf(&p->r.t, "SELECT COUNT(*) FROM attachments WHERE ticket_id = %" PRId64, p->ticket),
      1);
  /* The deletion, recorded once, with its own internal record. */
  Helpdesk__V1__RecordServiceActionCleanupRequest c =
      HELPDESK__V1__RECORD_SERVICE_ACTION_CLEANUP_REQUEST__INIT;
  c.action_id = rec->id;
  c.note = "Deleted test@example.com in cPanel";
  Helpdesk__V1__ServiceActionRecord *cleaned = (Helpdesk__V1__ServiceActionRecord *)af_must(
      p->a, "RecordServiceActionCleanup", p->a->agent, &c.base,
      &helpdesk__v1__service_action_record__descriptor);
  assert_true(cleaned->cleanup_time_us > 0);
  assert_string_equal(cleaned->cleanup_note, "Deleted test@example.com in cPanel");
  assert_int_equal(records_on(p, p->ticket), 2);
  Helpdesk__V1__ServiceActionRecord *twice = (Helpdesk__V1__ServiceActionRecord *)af_must(
      p->a, "RecordServiceActionCleanup", p->a->agent, &c.base,
      &helpdesk__v1__service_action_record__descriptor);
  assert_int_equal(twice->cleanup_time_us, cleaned->cleanup_time_us);
  assert_int_equal(records_on(p, p->ticket), 2);
  assert_int_equal(af_audits(p->a, CUSTOMER, "CLEANUP_SERVICE_ACTION"), 1);
}

static void test_a_mailbox_test_may_go_to_an_address_the_customer_gave_in_their_consent(
    void **state) {
  pair *p = *state;
  consent(p, p->ticket, SCOPE(MAILBOX_TEST),
          "Yes, test with my mailbox and send it to Jane.Doe@gmail.com");
  Helpdesk__V1__RecordServiceActionRequest r =
      request(p, "k-box", p->ticket, HT(SHARED), ACT(EMAIL_TEST_CUSTOMER_MAILBOX));
  r.description = "Sent from info@example.com";
  Helpdesk__V1__EmailTest e = email_test("jane.doe@gmail.com", CUSTGIVE, "");
  r.email_test = &e;
  Helpdesk__V1__ServiceActionRecord *rec = record_ok(p, &r);
  assert_int_equal(rec->cleanup, CLEAN(UNSPECIFIED));
  /* Nothing to clean up. */
  Helpdesk__V1__RecordServiceActionCleanupRequest c =
      HELPDESK__V1__RECORD_SERVICE_ACTION_CLEANUP_REQUEST__INIT;
  c.action_id = rec->id;
  c.note = "n/a";
  AF_REFUSED(p->a, HD_FAILED_PRECONDITION, "owes no clean-up",
             af_call(p->a, "RecordServiceActionCleanup", p->a->agent, &c.base,
                     &helpdesk__v1__service_action_record__descriptor, NULL));
  /* The account's own email is one the customer gave too. */
  r.idempotency_key = "k-box-2";
  e.target_address = CUSTOMER "@example.com";
  assert_true(record_ok(p, &r)->id > rec->id);
}

static void test_a_configuration_change_made_for_a_check_owes_its_revert(void **state) {
  pair *p = *state;
  consent(p, p->ticket, SCOPE(SERVICE_CHANGE), "Yes, try what you need");
  Helpdesk__V1__RecordServiceActionRequest r =
      request(p, "k-check", p->ticket, HT(MANAGED), ACT(CHANGE_CONFIGURATION));
  r.description = "display_errors On to read the error";
  r.for_check = true;
  Helpdesk__V1__ServiceActionRecord *rec = record_ok(p, &r);
  assert_int_equal(rec->cleanup, CLEAN(REVERT_CHANGE));
  Helpdesk__V1__RecordServiceActionCleanupRequest c =
      HELPDESK__V1__RECORD_SERVICE_ACTION_CLEANUP_REQUEST__INIT;
  c.action_id = rec->id;
  c.note = "display_errors back to Off";
  Helpdesk__V1__ServiceActionRecord *done = (Helpdesk__V1__ServiceActionRecord *)af_must(
      p->a, "RecordServiceActionCleanup", p->a->agent, &c.base,
      &helpdesk__v1__service_action_record__descriptor);
  assert_true(done->cleanup_time_us > 0);
  Helpdesk__V1__ListServiceActionsRequest lr = HELPDESK__V1__LIST_SERVICE_ACTIONS_REQUEST__INIT;
  lr.ticket_id = p->ticket;
  Helpdesk__V1__ListServiceActionsResponse *ls =
      (Helpdesk__V1__ListServiceActionsResponse *)af_must(
          p->a, "ListServiceActions", p->a->agent, &lr.base,
          &helpdesk__v1__list_service_actions_response__descriptor);
  assert_int_equal(ls->n_actions, 1);
  assert_int_equal(ls->actions[0]->cleanup_time_us, done->cleanup_time_us);
  /* for_check is for changes only. */
  r.idempotency_key = "k-check-2";
  r.action = ACT(RAISE_RESOURCE_LIMIT);
  AF_REFUSED(p->a, HD_INVALID_ARGUMENT, "for_check is for a change", record(p, &r, NULL));
}

static void test_a_supervisor_changes_a_rule_for_the_tenant_and_an_agent_cannot(void **state) {
  pair *p = *state;
  Helpdesk__V1__UpsertServiceActionRuleRequest u =
      HELPDESK__V1__UPSERT_SERVICE_ACTION_RULE_REQUEST__INIT;
  u.rule_id = "acme.shared.change-dns";
  u.hosting_type = HT(SHARED);
  u.action = ACT(CHANGE_DNS);
  u.verdict = V(ESCALATE);
  u.sop_section = "acme 1";
  u.reason = "Our DNS team makes DNS changes.";
  AF_REFUSED(p->a, HD_PERMISSION_DENIED, "supervisor",
             af_call(p->a, "UpsertServiceActionRule", p->a->agent, &u.base,
                     &helpdesk__v1__service_action_rule__descriptor, NULL));
  AF_REFUSED(p->a, HD_INVALID_ARGUMENT, "department",
             af_call(p->a, "UpsertServiceActionRule", p->a->supervisor, &u.base,
                     &helpdesk__v1__service_action_rule__descriptor, NULL));
  u.department = "TECHNICAL";
  u.consent_scope = SCOPE(SERVICE_CHANGE);
  AF_REFUSED(p->a, HD_INVALID_ARGUMENT, "consent_scope",
             af_call(p->a, "UpsertServiceActionRule", p->a->supervisor, &u.base,
                     &helpdesk__v1__service_action_rule__descriptor, NULL));
  u.consent_scope = 0;
  Helpdesk__V1__ServiceActionRule *rule = (Helpdesk__V1__ServiceActionRule *)af_must(
      p->a, "UpsertServiceActionRule", p->a->supervisor, &u.base,
      &helpdesk__v1__service_action_rule__descriptor);
  assert_true(rule->tenant_override);
  Helpdesk__V1__ServiceActionDecision *d = decide(p, HT(SHARED), ACT(CHANGE_DNS), MOD(UNSPECIFIED));
  assert_int_equal(d->verdict, V(ESCALATE));
  assert_string_equal(d->rule->rule_id, "acme.shared.change-dns");
  assert_string_equal(d->rule->department, "TECHNICAL");
  assert_true(d->rule->tenant_override);
  assert_string_equal(d->rule->updated_by, "sup-1");
  assert_int_equal(af_sql(p->a,
                          "SELECT COUNT(*) FROM account_audit WHERE action = "
                          "'UPSERT_SERVICE_ACTION_RULE' AND before_json IS NOT NULL"),
                   1);
  /* The seed stays for every other tenant; the listing shows the tenant's rule once. */
  assert_int_equal(af_sql(p->a,
                          "SELECT COUNT(*) FROM service_action_rules WHERE tenant = '' AND "
                          "rule_id = 'shared.change-dns'"),
                   1);
  Helpdesk__V1__ListServiceActionRulesRequest lr =
      HELPDESK__V1__LIST_SERVICE_ACTION_RULES_REQUEST__INIT;
  lr.hosting_type = HT(SHARED);
  Helpdesk__V1__ListServiceActionRulesResponse *ls =
      (Helpdesk__V1__ListServiceActionRulesResponse *)af_must(
          p->a, "ListServiceActionRules", p->a->agent, &lr.base,
          &helpdesk__v1__list_service_action_rules_response__descriptor);
  int dns = 0;
  for (size_t i = 0; i < ls->n_rules; i++)
    if (ls->rules[i]->action == ACT(CHANGE_DNS) && !ls->rules[i]->modifier) {
      dns++;
      assert_true(ls->rules[i]->tenant_override);
    }
  assert_int_equal(dns, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, pair_setup, pair_teardown)
      T(test_every_seeded_rule_is_what_check_service_action_answers_per_hosting_type),
      T(test_shared_forbids_root_changes_installs_disabled_features_and_isp_whitelisting),
      T(test_any_change_to_files_email_dns_passwords_or_configuration_needs_consent),
      T(test_reseller_follows_shared_for_resources_configuration_backups_and_email),
      T(test_managed_forbids_unsupported_applications_and_allows_imunify360),
      T(test_unmanaged_forbids_configuring_and_installing_and_escalates_an_unreachable_restart),
      T(test_a_rule_missing_from_the_table_is_forbidden_by_default),
      T(test_check_refuses_a_service_not_held_a_deleted_account_and_a_domain),
      T(test_a_forbidden_action_is_refused_with_the_sop_reason_and_writes_nothing),
      T(test_a_dns_change_needs_a_service_change_consent_on_that_very_ticket),
      T(test_an_action_on_another_customers_ticket_is_refused),
      T(test_an_allowed_action_is_recorded_without_consent),
      T(test_restart_on_unmanaged_is_refused_while_reachable_and_escalated_once_when_not),
      T(test_an_escalation_routing_refuses_stays_pending_and_the_retry_sends_it_once),
      T(test_a_restore_needs_the_customers_details_and_a_failed_one_escalates_once),
      T(test_an_email_test_on_a_dummy_goes_to_the_support_address_and_records_its_deletion),
      T(test_a_mailbox_test_may_go_to_an_address_the_customer_gave_in_their_consent),
      T(test_a_configuration_change_made_for_a_check_owes_its_revert),
      T(test_a_supervisor_changes_a_rule_for_the_tenant_and_an_agent_cannot),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
