/* The account and what it holds, through real gRPC against the in-process accounts service:
 * CreateAccount's rules (region, India closed, sub-accounts, duplicates), GetAccount for staff
 * and for the customer themself only, services, resources and bills, VerifyAccountService's
 * every reason, the roles of each RPC, the audit rows, and every text column of every table
 * comparing byte for byte. Every refused call is checked to leave the database unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "account_fixture.h"

#define TYPE(t) HELPDESK__V1__ACCOUNT_TYPE__ACCOUNT_TYPE_##t

static Helpdesk__V1__CreateAccountRequest create_req(const char *uid, const char *region) {
  Helpdesk__V1__CreateAccountRequest r = HELPDESK__V1__CREATE_ACCOUNT_REQUEST__INIT;
  r.uid = (char *)uid;
  r.region = (char *)region;
  r.type = TYPE(PERSONAL);
  return r;
}

static hd_code create(af *t, const char *token, Helpdesk__V1__CreateAccountRequest *r) {
  return af_call(t, "CreateAccount", token, &r->base, &helpdesk__v1__account__descriptor, NULL);
}

static Helpdesk__V1__VerifyAccountServiceResponse *verify(af *t, const char *uid,
                                                          int64_t service_id, const char *domain,
                                                          const char *hostname,
                                                          const char *resource_id) {
  Helpdesk__V1__VerifyAccountServiceRequest r = HELPDESK__V1__VERIFY_ACCOUNT_SERVICE_REQUEST__INIT;
  r.uid = (char *)uid;
  r.service_id = service_id;
  r.domain = (char *)(domain ? domain : "");
  r.hostname = (char *)(hostname ? hostname : "");
  r.resource_id = (char *)(resource_id ? resource_id : "");
  return (Helpdesk__V1__VerifyAccountServiceResponse *)af_must(
      t, "VerifyAccountService", t->agent, &r.base,
      &helpdesk__v1__verify_account_service_response__descriptor);
}

static Helpdesk__V1__HeldService *add_service(af *t, const char *uid,
                                              Helpdesk__V1__HeldServiceKind kind,
                                              Helpdesk__V1__HostingType hosting,
                                              const char *package, const char *domain,
                                              const char *hostname) {
  Helpdesk__V1__AddServiceRequest r = HELPDESK__V1__ADD_SERVICE_REQUEST__INIT;
  r.uid = (char *)uid;
  r.kind = kind;
  r.hosting_type = hosting;
  r.package = (char *)package;
  r.domain = (char *)domain;
  r.hostname = (char *)hostname;
  return (Helpdesk__V1__HeldService *)af_must(t, "AddService", t->service, &r.base,
                                              &helpdesk__v1__held_service__descriptor);
}

static Helpdesk__V1__Resource *add_ecs(af *t, const char *uid, const char *id, int64_t expire) {
  Helpdesk__V1__AddResourceRequest r = HELPDESK__V1__ADD_RESOURCE_REQUEST__INIT;
  r.uid = (char *)uid;
  r.resource_type = "ECS";
  r.resource_id = (char *)id;
  r.billing = HELPDESK__V1__BILLING_METHOD__BILLING_METHOD_SUBSCRIPTION;
  r.expire_time_us = expire;
  return (Helpdesk__V1__Resource *)af_must(t, "AddResource", t->service, &r.base,
                                           &helpdesk__v1__resource__descriptor);
}

/* ---- CreateAccount / GetAccount ---- */

static void test_create_account_is_read_back_with_version_1_and_audited(void **state) {
  af *t = *state;
  Helpdesk__V1__Account *a = af_account(t, "sg-1", "SG", false, NULL);
  assert_string_equal(a->uid, "sg-1");
  assert_string_equal(a->tenant, "acme");
  assert_string_equal(a->region, "SG");
  assert_int_equal(a->type, TYPE(PERSONAL));
  assert_int_equal(a->version, 1);
  assert_false(a->deleted);
  assert_int_equal(a->create_time_us, af_now(t));
  Helpdesk__V1__GetAccountResponse *g = af_get(t, "sg-1");
  assert_string_equal(g->account->email, "sg-1@example.com");
  assert_int_equal(g->n_services + g->n_resources + g->n_bills + g->n_payment_methods, 0);
  /* who, when, what, before and after */
  assert_int_equal(af_audits(t, "sg-1", "CREATE_ACCOUNT"), 1);
  assert_string_equal(
      af_sql_str(t,
                 "SELECT CONCAT(actor_id, '/', actor_role, '/', entity, '/', "
                 "before_json IS NULL, '/', created_at_us = %lld) FROM account_audit "
                 "WHERE uid = 'sg-1'",
                 (long long)af_now(t)),
      "svc-console/service/account/1/1");
  assert_non_null(strstr(af_sql_str(t, "SELECT after_json FROM account_audit WHERE uid = 'sg-1'"),
                         "\"region\":\"SG\""));
  assert_int_equal(af_sql(t, "SELECT COUNT(*) FROM outbox WHERE event_type = 'account.changed'"),
                   1);
}

static void test_create_account_refuses_a_taken_uid_an_unknown_region_and_india(void **state) {
  af *t = *state;
  af_account(t, "dup-1", "HK", true, NULL);
  Helpdesk__V1__CreateAccountRequest r = create_req("dup-1", "HK");
  AF_REFUSED(t, HD_ALREADY_EXISTS, "already exists", create(t, t->service, &r));
  r = create_req("new-1", "XX");
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "region 'XX' is not a region we know",
             create(t, t->service, &r));
  r = create_req("new-1", "sg");
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "write it in capitals", create(t, t->service, &r));
  r = create_req("new-1", "IN");
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "India", create(t, t->service, &r));
  r = create_req("new-1", "SG");
  r.type = TYPE(UNSPECIFIED);
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "type is required", create(t, t->service, &r));
  r = create_req("new-1 ", "SG");
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "uid ends with whitespace", create(t, t->service, &r));
  r = create_req("new-1", "SG");
  r.email = "not-an-email";
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "email must have exactly one @", create(t, t->service, &r));
  r = create_req("new-1", "SG");
  r.phone = "+85291234567";
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "registered in SG", create(t, t->service, &r));
}

static void test_sub_accounts_need_an_active_main_account(void **state) {
  af *t = *state;
  af_account(t, "main-1", "SG", true, NULL);
  Helpdesk__V1__CreateAccountRequest r = create_req("sub-1", "SG");
  r.main_uid = "main-1";
  Helpdesk__V1__Account *s = NULL;
  assert_int_equal(
      af_call(t, "CreateAccount", t->service, &r.base, &helpdesk__v1__account__descriptor, &s),
      HD_OK);
  assert_string_equal(s->main_uid, "main-1");
  r = create_req("sub-2", "SG");
  r.main_uid = "sub-1";
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "is itself a sub-account", create(t, t->service, &r));
  r.main_uid = "nobody";
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "does not exist", create(t, t->service, &r));
  r = create_req("self-1", "SG");
  r.main_uid = "self-1";
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "names the account itself", create(t, t->service, &r));
}

static void test_who_may_create_and_read_accounts(void **state) {
  af *t = *state;
  af_account(t, "cust-a", "SG", false, NULL);
  af_account(t, "cust-b", "SG", false, NULL);
  Helpdesk__V1__CreateAccountRequest r = create_req("by-agent", "SG");
  AF_REFUSED(t, HD_PERMISSION_DENIED, "tenant_admin", create(t, t->agent, &r));
  AF_REFUSED(t, HD_PERMISSION_DENIED, NULL, create(t, af_customer(t, "by-agent"), &r));
  assert_int_equal(create(t, t->admin, &r), HD_OK);
  /* A customer reads their own account; another one is NOT_FOUND, like a missing one. */
  Helpdesk__V1__GetAccountRequest g = HELPDESK__V1__GET_ACCOUNT_REQUEST__INIT;
  g.uid = "cust-a";
  assert_int_equal(af_call(t, "GetAccount", af_customer(t, "cust-a"), &g.base,
                           &helpdesk__v1__get_account_response__descriptor, NULL),
                   HD_OK);
  assert_int_equal(af_call(t, "GetAccount", af_customer(t, "cust-b"), &g.base,
                           &helpdesk__v1__get_account_response__descriptor, NULL),
                   HD_NOT_FOUND);
  assert_string_equal(t->err.msg, "account 'cust-a' not found");
  /* Another tenant does not see acme's accounts. */
  assert_int_equal(af_call(t, "GetAccount", t->other_tenant, &g.base,
                           &helpdesk__v1__get_account_response__descriptor, NULL),
                   HD_NOT_FOUND);
  /* Identifiers compare byte for byte. */
  g.uid = "CUST-A";
  assert_int_equal(af_call(t, "GetAccount", t->agent, &g.base,
                           &helpdesk__v1__get_account_response__descriptor, NULL),
                   HD_NOT_FOUND);
}

/* ---- services, resources, bills ---- */

static void test_services_of_every_kind_and_their_shape_rules(void **state) {
  af *t = *state;
  af_account(t, "host-1", "US", true, NULL);
  Helpdesk__V1__HeldService *sh =
      add_service(t, "host-1", HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_HOSTING,
                  HELPDESK__V1__HOSTING_TYPE__HOSTING_TYPE_SHARED, "", "", "Shop.Example.com");
  assert_string_equal(sh->hostname, "shop.example.com");
  add_service(t, "host-1", HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_HOSTING,
              HELPDESK__V1__HOSTING_TYPE__HOSTING_TYPE_RESELLER, "Reseller Pro", "", "");
  add_service(t, "host-1", HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_DOMAIN, 0, "",
              "example.com", "");
  add_service(t, "host-1", HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_VPS, 0, "", "",
              "vps1.example.com");
  add_service(t, "host-1", HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_SERVER, 0, "", "",
              "");
  assert_int_equal(af_get(t, "host-1")->n_services, 5);
  assert_int_equal(af_audits(t, "host-1", "ADD_SERVICE"), 5);
  Helpdesk__V1__AddServiceRequest r = HELPDESK__V1__ADD_SERVICE_REQUEST__INIT;
  r.uid = "host-1";
  r.kind = HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_HOSTING;
  r.hosting_type = HELPDESK__V1__HOSTING_TYPE__HOSTING_TYPE_RESELLER;
  AF_REFUSED(
      t, HD_INVALID_ARGUMENT, "package is required",
      af_call(t, "AddService", t->service, &r.base, &helpdesk__v1__held_service__descriptor, NULL));
  r.hosting_type = 0;
  AF_REFUSED(
      t, HD_INVALID_ARGUMENT, "hosting_type is required",
      af_call(t, "AddService", t->service, &r.base, &helpdesk__v1__held_service__descriptor, NULL));
  r.kind = HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_DOMAIN;
  AF_REFUSED(
      t, HD_INVALID_ARGUMENT, "domain is required",
      af_call(t, "AddService", t->service, &r.base, &helpdesk__v1__held_service__descriptor, NULL));
  r.domain = "bad_domain.com";
  AF_REFUSED(
      t, HD_INVALID_ARGUMENT, "'_'",
      af_call(t, "AddService", t->service, &r.base, &helpdesk__v1__held_service__descriptor, NULL));
  r.domain = "example.com";
  AF_REFUSED(
      t, HD_PERMISSION_DENIED, "provisioning",
      af_call(t, "AddService", t->agent, &r.base, &helpdesk__v1__held_service__descriptor, NULL));
  r.uid = "nobody";
  AF_REFUSED(
      t, HD_NOT_FOUND, "account 'nobody' not found",
      af_call(t, "AddService", t->service, &r.base, &helpdesk__v1__held_service__descriptor, NULL));
}

static void test_resources_are_released_once_and_bills_settled_once(void **state) {
  af *t = *state;
  af_account(t, "res-1", "ID", true, NULL);
  Helpdesk__V1__Resource *ecs = add_ecs(t, "res-1", "i-res1", af_now(t) + 30 * AF_DAY_US);
  assert_false(ecs->released);
  Helpdesk__V1__AddResourceRequest ar = HELPDESK__V1__ADD_RESOURCE_REQUEST__INIT;
  ar.uid = "res-1";
  ar.resource_type = "ECS";
  ar.resource_id = "i-res1";
  ar.billing = HELPDESK__V1__BILLING_METHOD__BILLING_METHOD_SUBSCRIPTION;
  ar.expire_time_us = af_now(t);
  AF_REFUSED(
      t, HD_ALREADY_EXISTS, "already recorded",
      af_call(t, "AddResource", t->service, &ar.base, &helpdesk__v1__resource__descriptor, NULL));
  ar.resource_id = "i-res2";
  ar.expire_time_us = 0;
  AF_REFUSED(
      t, HD_INVALID_ARGUMENT, "expire_time_us is required",
      af_call(t, "AddResource", t->service, &ar.base, &helpdesk__v1__resource__descriptor, NULL));
  Helpdesk__V1__ReleaseResourceRequest rr = HELPDESK__V1__RELEASE_RESOURCE_REQUEST__INIT;
  rr.uid = "res-1";
  rr.resource_id = "i-res1";
  Helpdesk__V1__Resource *rel = (Helpdesk__V1__Resource *)af_must(
      t, "ReleaseResource", t->service, &rr.base, &helpdesk__v1__resource__descriptor);
  assert_true(rel->released);
  assert_int_equal(rel->release_time_us, af_now(t));
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "released already",
             af_call(t, "ReleaseResource", t->service, &rr.base,
                     &helpdesk__v1__resource__descriptor, NULL));
  assert_int_equal(af_audits(t, "res-1", "RELEASE_RESOURCE"), 1);
  assert_non_null(
      strstr(af_sql_str(t,
                        "SELECT CONCAT(before_json, ' -> ', after_json) FROM account_audit WHERE "
                        "uid = 'res-1' AND action = 'RELEASE_RESOURCE'"),
             "\"released\":false"));

  Helpdesk__V1__AddBillRequest br = HELPDESK__V1__ADD_BILL_REQUEST__INIT;
  br.uid = "res-1";
  br.description = "ECS i-res1, January";
  br.amount_minor = 1250;
  br.currency = "USD";
  Helpdesk__V1__Bill *b = (Helpdesk__V1__Bill *)af_must(t, "AddBill", t->service, &br.base,
                                                        &helpdesk__v1__bill__descriptor);
  assert_false(b->settled);
  br.currency = "usd";
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "ISO 4217",
             af_call(t, "AddBill", t->service, &br.base, &helpdesk__v1__bill__descriptor, NULL));
  br.currency = "USD";
  br.amount_minor = 0;
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "amount_minor must be between 1",
             af_call(t, "AddBill", t->service, &br.base, &helpdesk__v1__bill__descriptor, NULL));
  Helpdesk__V1__SettleBillRequest sr = HELPDESK__V1__SETTLE_BILL_REQUEST__INIT;
  sr.uid = "res-1";
  sr.bill_id = b->id;
  assert_true(((Helpdesk__V1__Bill *)af_must(t, "SettleBill", t->service, &sr.base,
                                             &helpdesk__v1__bill__descriptor))
                  ->settled);
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "settled already",
             af_call(t, "SettleBill", t->service, &sr.base, &helpdesk__v1__bill__descriptor, NULL));
  sr.bill_id = b->id + 100;
  AF_REFUSED(t, HD_NOT_FOUND, "not found on account 'res-1'",
             af_call(t, "SettleBill", t->service, &sr.base, &helpdesk__v1__bill__descriptor, NULL));
}

/* ---- VerifyAccountService ---- */

static void test_verify_account_service_answers_yes_or_no_with_the_reason(void **state) {
  af *t = *state;
  af_account(t, "ver-1", "MY", true, NULL);
  af_account(t, "ver-2", "MY", true, NULL);
  Helpdesk__V1__HeldService *d =
      add_service(t, "ver-1", HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_DOMAIN, 0, "",
                  "ver1.example.com", "");
  add_service(t, "ver-1", HELPDESK__V1__HELD_SERVICE_KIND__HELD_SERVICE_KIND_VPS, 0, "", "",
              "vps.ver1.example.com");
  add_ecs(t, "ver-1", "i-ver1", af_now(t) + AF_DAY_US);
  add_ecs(t, "ver-1", "i-ver1-old", af_now(t) + AF_DAY_US);
  Helpdesk__V1__ReleaseResourceRequest rr = HELPDESK__V1__RELEASE_RESOURCE_REQUEST__INIT;
  rr.uid = "ver-1";
  rr.resource_id = "i-ver1-old";
  af_must(t, "ReleaseResource", t->service, &rr.base, &helpdesk__v1__resource__descriptor);

  Helpdesk__V1__VerifyAccountServiceResponse *v = verify(t, "ver-1", d->id, NULL, NULL, NULL);
  assert_true(v->verified);
  assert_int_equal(v->reason, HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_HELD);
  assert_int_equal(v->service->id, d->id);
  assert_true(verify(t, "ver-1", 0, "VER1.example.com", NULL, NULL)->verified);
  assert_true(verify(t, "ver-1", 0, NULL, "vps.ver1.example.com", NULL)->verified);
  assert_true(verify(t, "ver-1", 0, NULL, NULL, "i-ver1")->verified);
  v = verify(t, "ver-1", 0, NULL, NULL, "i-ver1-old");
  assert_false(v->verified);
  assert_int_equal(v->reason, HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_RESOURCE_RELEASED);
  v = verify(t, "ver-2", d->id, NULL, NULL, NULL); /* another account's service */
  assert_false(v->verified);
  assert_int_equal(v->reason, HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_NOT_HELD);
  assert_non_null(strstr(v->message, "account 'ver-2' does not hold service "));
  v = verify(t, "nobody", 0, "ver1.example.com", NULL, NULL);
  assert_false(v->verified);
  assert_int_equal(v->reason, HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_ACCOUNT_NOT_FOUND);
  /* A deleted account holds nothing. */
  Helpdesk__V1__DeleteAccountRequest del = HELPDESK__V1__DELETE_ACCOUNT_REQUEST__INIT;
  del.uid = "ver-2";
  af_must(t, "DeleteAccount", t->service, &del.base,
          &helpdesk__v1__delete_account_response__descriptor);
  assert_int_equal(verify(t, "ver-2", d->id, NULL, NULL, NULL)->reason,
                   HELPDESK__V1__VERIFY_REASON__VERIFY_REASON_ACCOUNT_DELETED);
  /* Exactly one target. */
  Helpdesk__V1__VerifyAccountServiceRequest r = HELPDESK__V1__VERIFY_ACCOUNT_SERVICE_REQUEST__INIT;
  r.uid = "ver-1";
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "exactly one",
             af_call(t, "VerifyAccountService", t->agent, &r.base,
                     &helpdesk__v1__verify_account_service_response__descriptor, NULL));
  r.service_id = d->id;
  r.domain = "ver1.example.com";
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "(2 given)",
             af_call(t, "VerifyAccountService", t->agent, &r.base,
                     &helpdesk__v1__verify_account_service_response__descriptor, NULL));
  r.domain = "";
  AF_REFUSED(t, HD_PERMISSION_DENIED, "staff",
             af_call(t, "VerifyAccountService", af_customer(t, "ver-1"), &r.base,
                     &helpdesk__v1__verify_account_service_response__descriptor, NULL));
}

/* ---- the schema ---- */

static void test_every_text_column_of_every_table_compares_byte_for_byte(void **state) {
  af *t = *state;
  const int64_t bad =
      af_sql(t,
             "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
             "COLLATION_NAME IS NOT NULL AND TABLE_NAME NOT LIKE '%%schema_migrations' AND "
             "COLLATION_NAME NOT IN ('utf8mb4_nopad_bin', 'ascii_nopad_bin')");
  if (bad)
    fail_msg("columns that are not NO PAD binary: %s",
             af_sql_str(t,
                        "SELECT GROUP_CONCAT(CONCAT(TABLE_NAME, '.', COLUMN_NAME, ' ', "
                        "COLLATION_NAME)) FROM information_schema.COLUMNS WHERE "
                        "TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL AND "
                        "TABLE_NAME NOT LIKE '%%schema_migrations' AND COLLATION_NAME NOT "
                        "IN ('utf8mb4_nopad_bin', 'ascii_nopad_bin')"));
  /* 'acme' and 'acme ' are two keys. */
  af_account(t, "pad", "SG", false, NULL);
  af_account(t, "pad-2", "SG", false, NULL);
  assert_int_equal(af_sql(t, "SELECT COUNT(*) FROM accounts WHERE uid = 'pad '"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_account_is_read_back_with_version_1_and_audited),
      cmocka_unit_test(test_create_account_refuses_a_taken_uid_an_unknown_region_and_india),
      cmocka_unit_test(test_sub_accounts_need_an_active_main_account),
      cmocka_unit_test(test_who_may_create_and_read_accounts),
      cmocka_unit_test(test_services_of_every_kind_and_their_shape_rules),
      cmocka_unit_test(test_resources_are_released_once_and_bills_settled_once),
      cmocka_unit_test(test_verify_account_service_answers_yes_or_no_with_the_reason),
      cmocka_unit_test(test_every_text_column_of_every_table_compares_byte_for_byte),
  };
  return cmocka_run_group_tests(tests, af_setup, af_teardown);
}
