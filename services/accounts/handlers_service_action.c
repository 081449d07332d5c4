/* Work on a customer's hosting service under the SOP's policy: CheckServiceAction,
 * ListServiceActionRules, UpsertServiceActionRule (the rules: service_action_policy.h),
 * RecordServiceAction and RecordServiceActionCleanup (the record: service_action_store.h; what
 * it makes on the ticket and in routing: service_action_effects.h), ListServiceActions. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "account_audit.h"
#include "account_call.h"
#include "account_fields.h"
#include "account_handlers.h"
#include "account_limits.h"
#include "service_action_effects.h"
#include "service_action_peers.h"
#include "service_action_policy.h"
#include "service_action_store.h"
#include "svc/idem.h"

#define VERDICT(v) HELPDESK__V1__SERVICE_ACTION_VERDICT__SERVICE_ACTION_VERDICT_##v
#define ACTION(a)  HELPDESK__V1__SERVICE_ACTION__SERVICE_ACTION_##a
#define OUTCOME(o) HELPDESK__V1__SERVICE_ACTION_OUTCOME__SERVICE_ACTION_OUTCOME_##o
#define CLEANUP(x) HELPDESK__V1__SERVICE_ACTION_CLEANUP__SERVICE_ACTION_CLEANUP_##x

/* ---- the service and its rule ---- */

/* The account uid (active) and its HOSTING service service_id: NOT_FOUND for an account or a
 * service it does not hold, FAILED_PRECONDITION for a deleted account or another kind of
 * service. *a and *s in the call's arena. */
static int sa__service(hd_call *c, hd_db *db, const char *uid, int64_t service_id, bool for_update,
                       Helpdesk__V1__Account **a, Helpdesk__V1__HeldService **s, hd_err *err) {
  if (ac_account_load(c, db, uid, for_update, a, err) || ac_account_active(*a, err) ||
      account_store_find_service(db, ac_tenant(c), uid, service_id, "", "", c->arena, s, err))
    return -1;
  if (!*s)
    return hd_err_set(err, HD_NOT_FOUND, "account '%s' holds no service %" PRId64, uid, service_id);
  if ((*s)->kind != HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_HOSTING)
    return hd_err_set(
        err, HD_FAILED_PRECONDITION,
        "service %" PRId64
        " is a %s, not HOSTING: the service-action policy "
        "covers hosting services (SHARED, RESELLER, MANAGED, UNMANAGED)",
        service_id,
        account_enum_name(&helpdesk__v1__held_service_kind__descriptor, (int)(*s)->kind));
  return 0;
}

static int sa__check_action(hd_call *c, Helpdesk__V1__ServiceAction action,
                            Helpdesk__V1__ServiceActionModifier modifier) {
  return hd_call_check_enum(c, "action", &helpdesk__v1__service_action__descriptor, (int)action,
                            false) ||
         hd_call_check_enum(c, "modifier", &helpdesk__v1__service_action_modifier__descriptor,
                            (int)modifier, true);
}

/* CheckServiceAction: a read. */
int accounts_check_service_action(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp) {
  const Helpdesk__V1__CheckServiceActionRequest *rq =
      (const Helpdesk__V1__CheckServiceActionRequest *)req;
  if (ac_check_uid(call, "uid", rq->uid) || hd_call_check_id(call, "service_id", rq->service_id) ||
      sa__check_action(call, rq->action, rq->modifier))
    return -1;
  hd_db *db = ac_db(call);
  Helpdesk__V1__Account *a = NULL;
  Helpdesk__V1__HeldService *s = NULL;
  Helpdesk__V1__ServiceActionRule *r = NULL;
  if (sa__service(call, db, rq->uid, rq->service_id, false, &a, &s, &call->err) ||
      sap_rule_find(db, ac_tenant(call), s->hosting_type, rq->action, rq->modifier, call->arena, &r,
                    &call->err))
    return ac_failed(call);
  Helpdesk__V1__ServiceActionDecision *out = (Helpdesk__V1__ServiceActionDecision *)resp;
  out->verdict = r->verdict;
  out->rule = r;
  out->service = s;
  out->message = sap_rule_message(call->arena, r);
  if (!out->message) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  return 0;
}

/* ListServiceActionRules: a read. */
int accounts_list_service_action_rules(hd_call *call, const ProtobufCMessage *req,
                                       ProtobufCMessage *resp) {
  const Helpdesk__V1__ListServiceActionRulesRequest *rq =
      (const Helpdesk__V1__ListServiceActionRulesRequest *)req;
  if (hd_call_check_enum(call, "hosting_type", &helpdesk__v1__hosting_type__descriptor,
                         (int)rq->hosting_type, true))
    return -1;
  Helpdesk__V1__ListServiceActionRulesResponse *out =
      (Helpdesk__V1__ListServiceActionRulesResponse *)resp;
  if (sap_rules_list(ac_db(call), ac_tenant(call), rq->hosting_type, call->arena, &out->rules,
                     &out->n_rules, &call->err))
    return ac_failed(call);
  return 0;
}

/* A rule id: 1..64 of a-z, 0-9, '.' and '-'. */
static int sa__check_rule_id(hd_call *c, const char *id) {
  if (hd_call_check_text(c, "rule_id", id, 1, SAP_RULE_ID_MAX)) return -1;
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                        "rule_id must be lowercase letters, digits, '.' and '-' (such as "
                        "acme.shared.change-dns)");
  if (strcmp(id, SAP_DEFAULT_RULE_ID) == 0)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "rule_id '%s' names the policy's default; choose another", id);
  return 0;
}

typedef struct upsert__ctx {
  hd_call *call;
  Helpdesk__V1__ServiceActionRule *rule;
} upsert__ctx;

static int upsert__tx(hd_db *db, void *arg, hd_err *err) {
  upsert__ctx *x = arg;
  const account_actor actor = ac_actor(x->call);
  return sap_rule_upsert(db, ac_tenant(x->call), &actor, x->rule, ac_now(x->call), x->call->arena,
                         err);
}

/* UpsertServiceActionRule: the tenant's own rule, audited. */
int accounts_upsert_service_action_rule(hd_call *call, const ProtobufCMessage *req,
                                        ProtobufCMessage *resp) {
  const Helpdesk__V1__UpsertServiceActionRuleRequest *rq =
      (const Helpdesk__V1__UpsertServiceActionRuleRequest *)req;
  if (sa__check_rule_id(call, rq->rule_id) ||
      hd_call_check_enum(call, "hosting_type", &helpdesk__v1__hosting_type__descriptor,
                         (int)rq->hosting_type, false) ||
      sa__check_action(call, rq->action, rq->modifier) ||
      hd_call_check_enum(call, "verdict", &helpdesk__v1__service_action_verdict__descriptor,
                         (int)rq->verdict, false) ||
      hd_call_check_enum(call, "consent_scope", &helpdesk__v1__consent_scope__descriptor,
                         (int)rq->consent_scope, true) ||
      hd_call_check_text(call, "sop_section", rq->sop_section, 1, SAP_SECTION_MAX) ||
      hd_call_check_text(call, "reason", rq->reason, 1, SAP_REASON_MAX))
    return -1;
  const bool escalate = rq->verdict == VERDICT(ESCALATE);
  const bool consent = rq->verdict == VERDICT(NEEDS_CUSTOMER_CONSENT);
  if (escalate &&
      hd_call_check_ident(call, "department", rq->department, 1, ACCOUNTS_DEPARTMENT_MAX))
    return -1;
  if (!escalate && rq->department && rq->department[0])
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "department is for an ESCALATE rule only; leave it empty");
  if (consent != (rq->consent_scope != 0))
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      consent ? "consent_scope is required for a NEEDS_CUSTOMER_CONSENT rule"
                              : "consent_scope is for a NEEDS_CUSTOMER_CONSENT rule only");
  Helpdesk__V1__ServiceActionRule *r = (Helpdesk__V1__ServiceActionRule *)resp;
  r->rule_id = rq->rule_id;
  r->hosting_type = rq->hosting_type;
  r->action = rq->action;
  r->modifier = rq->modifier;
  r->verdict = rq->verdict;
  r->department = escalate ? rq->department : "";
  r->consent_scope = rq->consent_scope;
  r->sop_section = rq->sop_section;
  r->reason = rq->reason;
  upsert__ctx x = {.call = call, .rule = r};
  return hd_call_tx(call, upsert__tx, &x);
}

/* ---- RecordServiceAction ---- */

/* Whether needle occurs in hay, ignoring ASCII case. */
static bool sa__contains(const char *hay, const char *needle) {
  const size_t n = strlen(needle);
  for (const char *p = hay; n && *p; p++)
    if (strncasecmp(p, needle, n) == 0) return true;
  return false;
}

/* Whether domain is one of the comma-separated staff domains, or under one. */
static bool sa__staff_domain(const char *domains, const char *domain) {
  const size_t dl = strlen(domain);
  for (const char *p = domains; *p;) {
    while (*p == ',' || *p == ' ') p++;
    const char *e = p;
    while (*e && *e != ',') e++;
    size_t n = (size_t)(e - p);
    while (n && p[n - 1] == ' ') n--;
    if (n && ((dl == n && strncasecmp(domain, p, n) == 0) ||
              (dl > n && domain[dl - n - 1] == '.' && strncasecmp(domain + dl - n, p, n) == 0)))
      return true;
    p = e;
  }
  return false;
}

/* A date "YYYY-MM-DD" that exists. */
static bool sa__date_ok(const char *s) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
      sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
    return false;
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days[m - 1]) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

static bool sa__email_test(Helpdesk__V1__ServiceAction a) {
  return a == ACTION(EMAIL_TEST_CUSTOMER_MAILBOX) || a == ACTION(EMAIL_TEST_DUMMY_ACCOUNT);
}

static bool sa__change(Helpdesk__V1__ServiceAction a) {
  return a >= ACTION(CHANGE_CONFIGURATION) && a <= ACTION(CHANGE_DNS);
}

/* The request's own rules, before anything is read. */
static int record__check(hd_call *c, const Helpdesk__V1__RecordServiceActionRequest *rq) {
  if (hd_call_check_ident(c, "idempotency_key", rq->idempotency_key, 1,
                          ACCOUNT_IDEMPOTENCY_KEY_MAX) ||
      hd_call_check_id(c, "ticket_id", rq->ticket_id) || ac_check_uid(c, "uid", rq->uid) ||
      hd_call_check_id(c, "service_id", rq->service_id) ||
      sa__check_action(c, rq->action, rq->modifier) ||
      hd_call_check_text(c, "description", rq->description, 1, SA_TEXT_MAX) ||
      hd_call_check_enum(c, "outcome", &helpdesk__v1__service_action_outcome__descriptor,
                         (int)rq->outcome, true))
    return -1;
  const Helpdesk__V1__RestoreDetails *d = rq->restore;
  if (rq->action == ACTION(RESTORE_BACKUP)) {
    if (!d)
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                        "restore is required for RESTORE_BACKUP: the SOP does not restore without "
                        "the customer's details (the backup date, full or partial)");
    if (!d->backup_date || !sa__date_ok(d->backup_date))
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                        "restore.backup_date must be the backup's date as YYYY-MM-DD, got '%s'",
                        d->backup_date ? d->backup_date : "");
    if (strcmp(d->backup_date, ac_date(c, ac_now(c))) > 0)
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                        "restore.backup_date %s is after today (%s): confirm the date with the "
                        "customer",
                        d->backup_date, ac_date(c, ac_now(c)));
    if (hd_call_check_enum(c, "restore.scope", &helpdesk__v1__restore_scope__descriptor,
                           (int)d->scope, false) ||
        hd_call_check_text(c, "restore.what", d->what,
                           d->scope == HELPDESK__V1__RESTORE_SCOPE__RESTORE_SCOPE_PARTIAL,
                           SA_TEXT_MAX))
      return -1;
  } else if (d) {
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT, "restore is for RESTORE_BACKUP only");
  }
  const Helpdesk__V1__EmailTest *e = rq->email_test;
  if (sa__email_test(rq->action)) {
    if (!e)
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                        "email_test is required for an email test: its target, result and "
                        "screenshot");
    const bool dummy = rq->action == ACTION(EMAIL_TEST_DUMMY_ACCOUNT);
    if (hd_call_check_enum(c, "email_test.target", &helpdesk__v1__email_test_target__descriptor,
                           (int)e->target, false) ||
        ac_check_email(c, "email_test.target_address", e->target_address, true) ||
        ac_check_email(c, "email_test.dummy_account", e->dummy_account, dummy) ||
        hd_call_check_text(c, "email_test.screenshot_filename", e->screenshot_filename, 1,
                           SA_FILENAME_MAX) ||
        hd_call_check_text(c, "email_test.result", e->result, 1, SA_TEXT_MAX))
      return -1;
    if (!dummy && e->dummy_account && e->dummy_account[0])
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                        "email_test.dummy_account is for EMAIL_TEST_DUMMY_ACCOUNT only");
    if (e->screenshot.len == 0 || e->screenshot.len > (size_t)SA_SCREENSHOT_MAX)
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                        "email_test.screenshot must be the sent mail's screenshot, 1 byte to 5 MiB "
                        "(got %zu bytes): the SOP attaches it to the ticket",
                        e->screenshot.len);
  } else if (e) {
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT, "email_test is for the two email tests only");
  }
  if (rq->for_check && !sa__change(rq->action))
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "for_check is for a change (configuration, password, files, email, DNS) "
                      "made for a check, which is then reverted");
  return 0;
}

/* The email test's target (SOP 4.3 Email Issues, 7.3): the designated support address, or an
 * address the customer gave (the account's email, or one in a consent's words on the ticket),
 * never an address of a staff domain. */
static int record__email_target(hd_call *c, const Helpdesk__V1__EmailTest *e,
                                const Helpdesk__V1__Account *a, Helpdesk__V1__Consent **consents,
                                size_t n) {
  const accounts_config *cfg = ac_config(c);
  if (e->target == HELPDESK__V1__EMAIL_TEST_TARGET__EMAIL_TEST_TARGET_SUPPORT_ADDRESS) {
    if (strcasecmp(e->target_address, cfg->email_test_address) == 0) return 0;
    return hd_err_set(&c->err, HD_FAILED_PRECONDITION,
                      "%s is not the designated support address (%s): send test emails there, or "
                      "to an address the customer gave",
                      e->target_address, cfg->email_test_address);
  }
  const char *domain = strrchr(e->target_address, '@') + 1;
  if (sa__staff_domain(cfg->staff_email_domains, domain))
    return hd_err_set(&c->err, HD_FAILED_PRECONDITION,
                      "%s is a staff address (%s): support staff never send or receive test "
                      "emails with their own personal accounts (SOP 7.3); use the designated "
                      "support address %s or one the customer gave",
                      e->target_address, domain, cfg->email_test_address);
  if (a->email && strcasecmp(a->email, e->target_address) == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (consents[i]->customer_words && sa__contains(consents[i]->customer_words, e->target_address))
      return 0;
  return hd_err_set(&c->err, HD_FAILED_PRECONDITION,
                    "%s is not an address the customer gave: it is neither the account's email "
                    "nor quoted in the customer's words of a consent on the ticket",
                    e->target_address);
}

typedef struct record__ctx {
  hd_call *call;
  const Helpdesk__V1__RecordServiceActionRequest *req;
  const char *hash;
  const Helpdesk__V1__ServiceActionRule *rule; /* as decided before the transaction */
  Helpdesk__V1__ServiceActionRecord *rec;      /* the row to write (id set by the insert) */
  const char *escalation_mode;
  sa_row out;
} record__ctx;

/* Claims the key; a retry reads the first record. Else, under the account's lock, the rule must
 * still be the one decided on (ABORTED otherwise), and the action is written and audited. Runs
 * again after a deadlock. */
static int record__tx(hd_db *db, void *arg, hd_err *err) {
  record__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  const hd_idem_key k = {.tenant = tenant,
                         .caller_id = actor.user_id,
                         .key = x->req->idempotency_key,
                         .result_kind = "service action"};
  int64_t id = 0;
  x->out = (sa_row){0};
  if (hd_idem_claim(db, &k, x->hash, now, &id, err)) return -1;
  if (id > 0) return sa_store_get(db, tenant, id, false, c->arena, &x->out, err);
  Helpdesk__V1__Account *a = NULL;
  Helpdesk__V1__HeldService *s = NULL;
  Helpdesk__V1__ServiceActionRule *r = NULL;
  if (sa__service(c, db, x->req->uid, x->req->service_id, true, &a, &s, err) ||
      sap_rule_find(db, tenant, s->hosting_type, x->req->action, x->req->modifier, c->arena, &r,
                    err))
    return -1;
  if (strcmp(r->rule_id, x->rule->rule_id) != 0 || r->verdict != x->rule->verdict)
    return hd_err_set(err, HD_ABORTED,
                      "the service-action policy changed while recording (rule %s is now %s): "
                      "ask CheckServiceAction again",
                      r->rule_id, sap_verdict_name(r->verdict));
  x->rec->create_time_us = now;
  if (sa_store_insert(db, tenant, x->rec, x->escalation_mode,
                      x->req->email_test ? x->req->email_test->screenshot.data : NULL,
                      x->req->email_test ? x->req->email_test->screenshot.len : 0, err) ||
      account_audit_take(db, tenant, &actor, x->rec->uid, "RECORD_SERVICE_ACTION", "service_action",
                         ac_id_text(c, x->rec->id), NULL, false, sa_store_json(x->rec), true, now,
                         err) ||
      hd_idem_set_result(db, &k, x->rec->id, err))
    return -1;
  return sa_store_get(db, tenant, x->rec->id, false, c->arena, &x->out, err);
}

/* The consent of scope on the ticket (the latest), or NULL. */
static const Helpdesk__V1__Consent *record__consent(Helpdesk__V1__Consent **v, size_t n,
                                                    Helpdesk__V1__ConsentScope scope) {
  for (size_t i = n; i > 0; i--)
    if (v[i - 1]->scope == scope) return v[i - 1];
  return NULL;
}

/* RecordServiceAction: the rule, the ticket and its consents (over gRPC) are checked first;
 * then the action is recorded once; then its work on the ticket and in routing is done. */
int accounts_record_service_action(hd_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage *resp) {
  const Helpdesk__V1__RecordServiceActionRequest *rq =
      (const Helpdesk__V1__RecordServiceActionRequest *)req;
  if (record__check(call, rq)) return -1;
  char hash[HD_IDEM_HASH_SIZE];
  if (hd_idem_hash_request(&rq->base, hash, &call->err)) return -1;
  hd_db *db = ac_db(call);
  Helpdesk__V1__Account *a = NULL;
  Helpdesk__V1__HeldService *s = NULL;
  Helpdesk__V1__ServiceActionRule *r = NULL;
  if (sa__service(call, db, rq->uid, rq->service_id, false, &a, &s, &call->err) ||
      sap_rule_find(db, ac_tenant(call), s->hosting_type, rq->action, rq->modifier, call->arena, &r,
                    &call->err))
    return ac_failed(call);
  if (r->verdict == VERDICT(FORBIDDEN)) {
    hd_err_set(&call->err, HD_FAILED_PRECONDITION, "refused: %s", sap_rule_message(call->arena, r));
    return hd_err_reason(&call->err, HD_REASON_ACTION_FORBIDDEN);
  }
  const bool escalate = r->verdict == VERDICT(ESCALATE);
  Helpdesk__V1__ServiceActionOutcome outcome = rq->outcome;
  if (escalate && !outcome) outcome = OUTCOME(ESCALATED);
  if (escalate != (outcome == OUTCOME(ESCALATED)))
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      escalate ? "outcome: rule %s says to escalate this (%s); record it ESCALATED"
                               : "outcome must be DONE or FAILED: rule %s (%s) does not escalate",
                      r->rule_id, sap_verdict_name(r->verdict));

  /* The ticket is the account's, and holds what the rule asks for. */
  Helpdesk__V1__Ticket *t = NULL;
  if (sa_peer_ticket(call, rq->ticket_id, &t, &call->err)) return -1;
  if (strcmp(t->customer_id, rq->uid) != 0)
    return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64
                      " is not account '%s''s (its customer is '%s'): record the "
                      "action on the customer's own ticket",
                      t->id, rq->uid, t->customer_id);
  const bool consent_needed = r->verdict == VERDICT(NEEDS_CUSTOMER_CONSENT);
  Helpdesk__V1__Consent **consents = NULL;
  size_t n_consents = 0;
  if ((consent_needed || sa__email_test(rq->action)) &&
      sa_peer_consents(call, t->id, &consents, &n_consents, &call->err))
    return -1;
  const Helpdesk__V1__Consent *consent =
      consent_needed ? record__consent(consents, n_consents, r->consent_scope) : NULL;
  if (consent_needed && !consent) {
    hd_err_set(&call->err, HD_FAILED_PRECONDITION, "ticket %" PRId64 " holds no %s consent: %s",
               t->id,
               account_enum_name(&helpdesk__v1__consent_scope__descriptor, (int)r->consent_scope),
               sap_rule_message(call->arena, r));
    return hd_err_reason(&call->err, HD_REASON_CONSENT_REQUIRED);
  }
  if (rq->email_test && record__email_target(call, rq->email_test, a, consents, n_consents))
    return -1;

  /* The row. */
  Helpdesk__V1__ServiceActionRecord *rec =
      hd_arena_new_message(call->arena, &helpdesk__v1__service_action_record__descriptor);
  if (!rec) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  rec->ticket_id = t->id;
  rec->uid = rq->uid;
  rec->service_id = s->id;
  rec->hosting_type = s->hosting_type;
  rec->action = rq->action;
  rec->modifier = rq->modifier;
  rec->description = rq->description;
  rec->outcome = outcome;
  rec->rule_id = r->rule_id;
  rec->verdict = r->verdict;
  rec->consent_id = consent ? consent->id : 0;
  rec->restore = rq->restore;
  rec->email_test = rq->email_test;
  const bool failed_restore = rq->action == ACTION(RESTORE_BACKUP) && outcome == OUTCOME(FAILED);
  rec->escalation_department = escalate         ? r->department
                               : failed_restore ? (char *)ac_config(call)->restore_department
                                                : "";
  const char *mode = "";
  if (rec->escalation_department[0])
    mode = strcmp(t->department, rec->escalation_department) == 0 ? "CONSULT" : "ASSIGN";
  rec->cleanup = rq->action == ACTION(EMAIL_TEST_DUMMY_ACCOUNT) ? CLEANUP(DELETE_DUMMY_ACCOUNT)
                 : rq->for_check                                ? CLEANUP(REVERT_CHANGE)
                                                                : CLEANUP(UNSPECIFIED);
  rec->recorded_by = (char *)ac_actor(call).user_id;
  record__ctx x = {
      .call = call, .req = rq, .hash = hash, .rule = r, .rec = rec, .escalation_mode = mode};
  if (hd_call_tx(call, record__tx, &x)) return -1;
  sa_effects_run(call, &x.out);
  *(Helpdesk__V1__ServiceActionRecord *)resp = *x.out.rec;
  return 0;
}

/* ---- RecordServiceActionCleanup ---- */

typedef struct cleanup__ctx {
  hd_call *call;
  const Helpdesk__V1__RecordServiceActionCleanupRequest *req;
  sa_row out;
} cleanup__ctx;

/* Under the action's lock: records the clean-up once, audited. Runs again after a deadlock. */
static int cleanup__tx(hd_db *db, void *arg, hd_err *err) {
  cleanup__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const int64_t now = ac_now(c);
  x->out = (sa_row){0};
  if (sa_store_get(db, tenant, x->req->action_id, true, c->arena, &x->out, err)) return -1;
  Helpdesk__V1__ServiceActionRecord *r = x->out.rec;
  if (r->cleanup == CLEANUP(UNSPECIFIED))
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "service action %" PRId64
                      " (%s) owes no clean-up: only an email test on a "
                      "dummy mailbox and a change made for a check do",
                      r->id, sap_action_name(r->action));
  if (r->cleanup_time_us) return 0; /* recorded before: the first record stands */
  json_t *before = sa_store_json(r);
  if (sa_store_set_cleanup(db, tenant, r->id, x->req->note, now, err)) {
    json_decref(before);
    return -1;
  }
  r->cleanup_time_us = now;
  r->cleanup_note = x->req->note;
  const account_actor actor = ac_actor(c);
  return account_audit_take(db, tenant, &actor, r->uid, "CLEANUP_SERVICE_ACTION", "service_action",
                            ac_id_text(c, r->id), before, true, sa_store_json(r), true, now, err);
}

int accounts_record_service_action_cleanup(hd_call *call, const ProtobufCMessage *req,
                                           ProtobufCMessage *resp) {
  const Helpdesk__V1__RecordServiceActionCleanupRequest *rq =
      (const Helpdesk__V1__RecordServiceActionCleanupRequest *)req;
  if (hd_call_check_id(call, "action_id", rq->action_id) ||
      hd_call_check_text(call, "note", rq->note, 1, SA_TEXT_MAX))
    return -1;
  cleanup__ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, cleanup__tx, &x)) return -1;
  sa_effects_cleanup(call, &x.out);
  *(Helpdesk__V1__ServiceActionRecord *)resp = *x.out.rec;
  return 0;
}

/* ListServiceActions: a read. */
int accounts_list_service_actions(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp) {
  const Helpdesk__V1__ListServiceActionsRequest *rq =
      (const Helpdesk__V1__ListServiceActionsRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id)) return -1;
  Helpdesk__V1__ListServiceActionsResponse *out = (Helpdesk__V1__ListServiceActionsResponse *)resp;
  if (sa_store_list(ac_db(call), ac_tenant(call), rq->ticket_id, call->arena, &out->actions,
                    &out->n_actions, &call->err))
    return ac_failed(call);
  return 0;
}
