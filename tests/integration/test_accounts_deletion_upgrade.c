/* Deletion and the enterprise upgrade through real gRPC on the manual clock: the blockers
 * (unreleased resources, unsettled bills) and the backup reminder, a deletion refused then
 * allowed and never undone; the CONSOLE path for a verified account, the link for an unverified
 * one at 3 days minus a second and plus a second, used and replaced links, sub-accounts, the
 * main account alone completing it, and no way back to personal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "account_fixture.h"

#define TYPE(t) HELPDESK__V1__ACCOUNT_TYPE__ACCOUNT_TYPE_##t
#define S_US    1000000LL

static Helpdesk__V1__CheckAccountDeletionResponse *check(af *t, const char *uid) {
  Helpdesk__V1__CheckAccountDeletionRequest r = HELPDESK__V1__CHECK_ACCOUNT_DELETION_REQUEST__INIT;
  r.uid = (char *)uid;
  return (Helpdesk__V1__CheckAccountDeletionResponse *)af_must(
      t, "CheckAccountDeletion", t->agent, &r.base,
      &helpdesk__v1__check_account_deletion_response__descriptor);
}

static hd_code delete_account(af *t, const char *token, const char *uid) {
  Helpdesk__V1__DeleteAccountRequest r = HELPDESK__V1__DELETE_ACCOUNT_REQUEST__INIT;
  r.uid = (char *)uid;
  return af_call(t, "DeleteAccount", token, &r.base,
                 &helpdesk__v1__delete_account_response__descriptor, NULL);
}

static Helpdesk__V1__RequestEnterpriseUpgradeResponse *upgrade(af *t, const char *uid) {
  Helpdesk__V1__RequestEnterpriseUpgradeRequest r =
      HELPDESK__V1__REQUEST_ENTERPRISE_UPGRADE_REQUEST__INIT;
  r.uid = (char *)uid;
  return (Helpdesk__V1__RequestEnterpriseUpgradeResponse *)af_must(
      t, "RequestEnterpriseUpgrade", t->agent, &r.base,
      &helpdesk__v1__request_enterprise_upgrade_response__descriptor);
}

static hd_code complete(af *t, const char *token, const char *link_token) {
  Helpdesk__V1__CompleteEnterpriseUpgradeRequest r =
      HELPDESK__V1__COMPLETE_ENTERPRISE_UPGRADE_REQUEST__INIT;
  r.token = (char *)link_token;
  r.enterprise_name = "Lion Rock Trading Pte. Ltd.";
  return af_call(t, "CompleteEnterpriseUpgrade", token, &r.base, &helpdesk__v1__account__descriptor,
                 NULL);
}

/* ---- deletion ---- */

static void test_deletion_is_refused_while_resources_or_bills_remain_then_allowed(void **state) {
  af *t = *state;
  af_account(t, "del-1", "SG", true, NULL);
  Helpdesk__V1__AddResourceRequest ar = HELPDESK__V1__ADD_RESOURCE_REQUEST__INIT;
  ar.uid = "del-1";
  ar.resource_type = "ECS";
  ar.resource_id = "i-del1";
  ar.billing = HELPDESK__V1__BILLING_METHOD__BILLING_METHOD_SUBSCRIPTION;
  ar.expire_time_us = af_now(t) + 90 * AF_DAY_US;
  af_must(t, "AddResource", t->service, &ar.base, &helpdesk__v1__resource__descriptor);
  Helpdesk__V1__AddBillRequest br = HELPDESK__V1__ADD_BILL_REQUEST__INIT;
  br.uid = "del-1";
  br.description = "ECS i-del1, January";
  br.amount_minor = 1999;
  br.currency = "USD";
  Helpdesk__V1__Bill *bill = (Helpdesk__V1__Bill *)af_must(t, "AddBill", t->service, &br.base,
                                                           &helpdesk__v1__bill__descriptor);

  Helpdesk__V1__CheckAccountDeletionResponse *c = check(t, "del-1");
  assert_false(c->eligible);
  assert_int_equal(c->n_blockers, 2);
  assert_string_equal(c->blockers[0]->resource->resource_id, "i-del1");
  assert_string_equal(c->blockers[0]->message,
                      "release ECS i-del1 (subscription, expires 2026-04-05)");
  assert_int_equal(c->blockers[1]->bill->id, bill->id);
  assert_non_null(strstr(c->blockers[1]->message, "19.99 USD"));
  assert_non_null(strstr(c->backup_reminder, "Back up all important data first"));
  char *cust = af_customer(t, "del-1");
  AF_REFUSED(t, HD_FAILED_PRECONDITION,
             "release ECS i-del1 (subscription, expires 2026-04-05); "
             "settle bill",
             delete_account(t, cust, "del-1"));
  AF_REFUSED(t, HD_PERMISSION_DENIED, NULL, delete_account(t, t->agent, "del-1"));

  Helpdesk__V1__ReleaseResourceRequest rr = HELPDESK__V1__RELEASE_RESOURCE_REQUEST__INIT;
  rr.uid = "del-1";
  rr.resource_id = "i-del1";
  af_must(t, "ReleaseResource", t->service, &rr.base, &helpdesk__v1__resource__descriptor);
  c = check(t, "del-1");
  assert_false(c->eligible);
  assert_int_equal(c->n_blockers, 1);
  Helpdesk__V1__SettleBillRequest sr = HELPDESK__V1__SETTLE_BILL_REQUEST__INIT;
  sr.uid = "del-1";
  sr.bill_id = bill->id;
  af_must(t, "SettleBill", t->service, &sr.base, &helpdesk__v1__bill__descriptor);
  c = check(t, "del-1");
  assert_true(c->eligible);
  assert_int_equal(c->n_blockers, 0);
  assert_non_null(strstr(c->backup_reminder, "cannot be undone"));

  assert_int_equal(delete_account(t, cust, "del-1"), HD_OK);
  Helpdesk__V1__Account *a = af_get(t, "del-1")->account;
  assert_true(a->deleted);
  assert_int_equal(a->delete_time_us, af_now(t));
  assert_int_equal(af_audits(t, "del-1", "DELETE_ACCOUNT"), 1);
  /* Never undone: every change refused, deleting again too. */
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "was deleted", delete_account(t, cust, "del-1"));
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "was deleted",
             af_call(t, "AddBill", t->service, &br.base, &helpdesk__v1__bill__descriptor, NULL));
  Helpdesk__V1__CheckAccountDeletionRequest cr = HELPDESK__V1__CHECK_ACCOUNT_DELETION_REQUEST__INIT;
  cr.uid = "del-1";
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "was deleted",
             af_call(t, "CheckAccountDeletion", t->agent, &cr.base,
                     &helpdesk__v1__check_account_deletion_response__descriptor, NULL));
}

static void test_a_customer_deletes_only_their_own_account(void **state) {
  af *t = *state;
  af_account(t, "del-a", "SG", true, NULL);
  af_account(t, "del-b", "SG", true, NULL);
  AF_REFUSED(t, HD_NOT_FOUND, "account 'del-a' not found",
             delete_account(t, af_customer(t, "del-b"), "del-a"));
  assert_int_equal(delete_account(t, t->admin, "del-a"), HD_OK);
}

/* ---- enterprise upgrade ---- */

static void test_a_verified_personal_account_upgrades_in_the_console(void **state) {
  af *t = *state;
  af_account(t, "up-v", "SG", true, NULL);
  Helpdesk__V1__RequestEnterpriseUpgradeResponse *u = upgrade(t, "up-v");
  assert_int_equal(u->path, HELPDESK__V1__UPGRADE_PATH__UPGRADE_PATH_CONSOLE);
  assert_string_equal(u->link, "");
  assert_string_equal(u->token, "");
  assert_true(u->n_reminders >= 1);
  assert_non_null(strstr(u->reminders[0], "console"));
  assert_int_equal(af_sql(t, "SELECT COUNT(*) FROM upgrade_links WHERE uid = 'up-v'"), 0);
}

static void test_the_link_works_until_3_days_minus_a_second_and_not_after(void **state) {
  af *t = *state;
  af_account(t, "up-a", "SG", false, NULL);
  af_account(t, "up-b", "SG", false, NULL);
  Helpdesk__V1__RequestEnterpriseUpgradeResponse *a = upgrade(t, "up-a");
  Helpdesk__V1__RequestEnterpriseUpgradeResponse *b = upgrade(t, "up-b");
  assert_int_equal(a->path, HELPDESK__V1__UPGRADE_PATH__UPGRADE_PATH_LINK);
  assert_int_equal(a->expire_time_us, af_now(t) + 3 * AF_DAY_US);
  assert_int_equal(strlen(a->token), 64);
  assert_non_null(strstr(a->link, a->token));
  assert_int_equal(a->n_reminders, 3);
  assert_non_null(strstr(a->reminders[0], "cannot be switched back"));
  assert_non_null(strstr(a->reminders[1], "3 days (until 2026-01-08 00:00:00 UTC)"));
  assert_non_null(strstr(a->reminders[2], "main account"));
  /* Only the token's hash is kept, and the audit never names it. */
  assert_int_equal(
      af_sql(t, "SELECT COUNT(*) FROM upgrade_links WHERE token_sha256 = '%s'", a->token), 0);
  assert_int_equal(
      af_sql(t, "SELECT COUNT(*) FROM account_audit WHERE after_json LIKE '%%%s%%'", a->token), 0);
  af_advance(t, 3 * AF_DAY_US - S_US);
  AF_REFUSED(t, HD_PERMISSION_DENIED, "only the main account 'up-a'",
             complete(t, af_customer(t, "up-b"), a->token));
  Helpdesk__V1__CompleteEnterpriseUpgradeRequest r =
      HELPDESK__V1__COMPLETE_ENTERPRISE_UPGRADE_REQUEST__INIT;
  r.token = a->token;
  r.enterprise_name = "Lion Rock Trading Pte. Ltd.";
  Helpdesk__V1__Account *acct =
      (Helpdesk__V1__Account *)af_must(t, "CompleteEnterpriseUpgrade", af_customer(t, "up-a"),
                                       &r.base, &helpdesk__v1__account__descriptor);
  assert_int_equal(acct->type, TYPE(ENTERPRISE));
  assert_string_equal(acct->enterprise_name, "Lion Rock Trading Pte. Ltd.");
  assert_int_equal(af_audits(t, "up-a", "COMPLETE_ENTERPRISE_UPGRADE"), 1);
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "used already",
             complete(t, af_customer(t, "up-a"), a->token));
  /* up-b's link, made at the same moment: at 3 days plus a second it has expired. */
  af_advance(t, 2 * S_US);
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "expired", complete(t, af_customer(t, "up-b"), b->token));
  assert_int_equal(af_get(t, "up-b")->account->type, TYPE(PERSONAL));
  /* Nothing turns an enterprise account back: asking again is refused. */
  Helpdesk__V1__RequestEnterpriseUpgradeRequest again =
      HELPDESK__V1__REQUEST_ENTERPRISE_UPGRADE_REQUEST__INIT;
  again.uid = "up-a";
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "ENTERPRISE account already",
             af_call(t, "RequestEnterpriseUpgrade", t->agent, &again.base,
                     &helpdesk__v1__request_enterprise_upgrade_response__descriptor, NULL));
}

static void test_a_newer_link_replaces_the_older_and_unknown_tokens_are_not_found(void **state) {
  af *t = *state;
  af_account(t, "up-r", "HK", false, NULL);
  Helpdesk__V1__RequestEnterpriseUpgradeResponse *first = upgrade(t, "up-r");
  Helpdesk__V1__RequestEnterpriseUpgradeResponse *second = upgrade(t, "up-r");
  char *cust = af_customer(t, "up-r");
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "replaced by a newer one", complete(t, cust, first->token));
  AF_REFUSED(t, HD_NOT_FOUND, "not one we issued", complete(t, cust, "0123456789abcdef"));
  AF_REFUSED(t, HD_PERMISSION_DENIED, NULL, complete(t, t->agent, second->token));
  /* Another tenant's customer of the same uid cannot use it either. */
  char *other = hd_fixture_token(&t->f, "globex", "up-r", HD_ROLE_CUSTOMER);
  AF_REFUSED(t, HD_NOT_FOUND, "not one we issued", complete(t, other, second->token));
  free(other);
  assert_int_equal(complete(t, cust, second->token), HD_OK);
}

static void test_a_sub_account_cannot_be_upgraded(void **state) {
  af *t = *state;
  af_account(t, "up-main", "SG", false, NULL);
  Helpdesk__V1__CreateAccountRequest cr = HELPDESK__V1__CREATE_ACCOUNT_REQUEST__INIT;
  cr.uid = "up-sub";
  cr.region = "SG";
  cr.type = TYPE(PERSONAL);
  cr.main_uid = "up-main";
  af_must(t, "CreateAccount", t->service, &cr.base, &helpdesk__v1__account__descriptor);
  Helpdesk__V1__RequestEnterpriseUpgradeRequest r =
      HELPDESK__V1__REQUEST_ENTERPRISE_UPGRADE_REQUEST__INIT;
  r.uid = "up-sub";
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "is a sub-account of 'up-main'",
             af_call(t, "RequestEnterpriseUpgrade", t->agent, &r.base,
                     &helpdesk__v1__request_enterprise_upgrade_response__descriptor, NULL));
  /* The main account's link cannot be completed by its sub-account's user. */
  Helpdesk__V1__RequestEnterpriseUpgradeResponse *u = upgrade(t, "up-main");
  AF_REFUSED(t, HD_PERMISSION_DENIED, "only the main account 'up-main'",
             complete(t, af_customer(t, "up-sub"), u->token));
  r.uid = "nobody";
  AF_REFUSED(t, HD_NOT_FOUND, "account 'nobody' not found",
             af_call(t, "RequestEnterpriseUpgrade", t->agent, &r.base,
                     &helpdesk__v1__request_enterprise_upgrade_response__descriptor, NULL));
  AF_REFUSED(t, HD_PERMISSION_DENIED, NULL,
             af_call(t, "RequestEnterpriseUpgrade", af_customer(t, "up-main"), &r.base,
                     &helpdesk__v1__request_enterprise_upgrade_response__descriptor, NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deletion_is_refused_while_resources_or_bills_remain_then_allowed),
      cmocka_unit_test(test_a_customer_deletes_only_their_own_account),
      cmocka_unit_test(test_a_verified_personal_account_upgrades_in_the_console),
      cmocka_unit_test(test_the_link_works_until_3_days_minus_a_second_and_not_after),
      cmocka_unit_test(test_a_newer_link_replaces_the_older_and_unknown_tokens_are_not_found),
      cmocka_unit_test(test_a_sub_account_cannot_be_upgraded),
  };
  return cmocka_run_group_tests(tests, af_setup, af_teardown);
}
