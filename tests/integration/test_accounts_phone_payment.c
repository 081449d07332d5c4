/* BindPhone and payment methods through real gRPC: an SG account binds +65 and not +852
 * (FAILED_PRECONDITION saying why), malformed numbers are INVALID_ARGUMENT, +1 is shared by US and
 * CA; PAYTM is refused, a card starts its verification, labels follow the type, pages of payment
 * methods; who may call each. Refused calls leave the database unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "account_fixture.h"
#include "phone_region.h"

#define PM(t) HELPDESK__V1__PAYMENT_METHOD_TYPE__PAYMENT_METHOD_TYPE_##t

static hd_code bind(af *t, const char *token, const char *uid, const char *phone) {
  Helpdesk__V1__BindPhoneRequest r = HELPDESK__V1__BIND_PHONE_REQUEST__INIT;
  r.uid = (char *)uid;
  r.phone = (char *)phone;
  return af_call(t, "BindPhone", token, &r.base, &helpdesk__v1__account__descriptor, NULL);
}

static hd_code add_method(af *t, const char *token, const char *uid,
                          Helpdesk__V1__PaymentMethodType type, const char *label) {
  Helpdesk__V1__AddPaymentMethodRequest r = HELPDESK__V1__ADD_PAYMENT_METHOD_REQUEST__INIT;
  r.uid = (char *)uid;
  r.type = type;
  r.label = (char *)label;
  return af_call(t, "AddPaymentMethod", token, &r.base,
                 &helpdesk__v1__add_payment_method_response__descriptor, NULL);
}

static void test_a_singapore_account_binds_plus_65_but_not_plus_852(void **state) {
  af *t = *state;
  af_account(t, "sg-phone", "SG", true, NULL);
  char *cust = af_customer(t, "sg-phone");
  AF_REFUSED(t, HD_FAILED_PRECONDITION,
             "the phone number must match the account's registered region: an account "
             "registered in SG can bind only a +65 number; +85291234567 is a number of HK (+852)",
             bind(t, cust, "sg-phone", "+85291234567"));
  assert_int_equal(bind(t, cust, "sg-phone", "+6591234567"), HD_OK);
  Helpdesk__V1__Account *a = af_get(t, "sg-phone")->account;
  assert_string_equal(a->phone, "+6591234567");
  assert_int_equal(a->version, 2);
  assert_int_equal(af_audits(t, "sg-phone", "BIND_PHONE"), 1);
  assert_string_equal(af_sql_str(t,
                                 "SELECT CONCAT(before_json, after_json) FROM account_audit "
                                 "WHERE uid = 'sg-phone' AND action = 'BIND_PHONE'"),
                      "{\"phone\":\"\"}{\"phone\":\"+6591234567\"}");
  /* The same number again: no change, nothing audited. */
  assert_int_equal(bind(t, cust, "sg-phone", "+6591234567"), HD_OK);
  assert_int_equal(af_audits(t, "sg-phone", "BIND_PHONE"), 1);
}

static void test_malformed_numbers_are_invalid_argument(void **state) {
  af *t = *state;
  af_account(t, "sg-bad", "SG", true, NULL);
  static const struct {
    const char *phone, *msg;
  } bad[] = {
      {"6591234567", "E.164 form"},
      {"+65 9123 4567", "other than a digit"},
      {"+65-91234567", "other than a digit"},
      {"+0591234567", "starts with 0"},
      {"+6591", "has 4 digits"},
      {"+6591234567890123", "has 16 digits; an E.164 number has 8 to 15"},
      {"+659123456", "this one has 7"},
      {"+99912345678", "no country calling code"},
      {"+", "E.164 form"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    AF_REFUSED(t, HD_INVALID_ARGUMENT, bad[i].msg, bind(t, t->service, "sg-bad", bad[i].phone));
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "phone is required", bind(t, t->service, "sg-bad", ""));
}

static void test_calling_codes_of_the_seeded_regions(void **state) {
  (void)state;
  static const struct {
    const char *region, *phone;
  } ok[] = {{"SG", "+6581234567"},   {"HK", "+85261234567"},   {"ID", "+6281234567890"},
            {"US", "+14155550123"},  {"CA", "+16135550123"},   {"MY", "+60123456789"},
            {"IN", "+919812345678"}, {"CN", "+8613812345678"}, {"GB", "+447911123456"}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    hd_err err = {0};
    if (phone_check_for_region("phone", ok[i].phone, ok[i].region, &err) != 0)
      fail_msg("%s %s: %s", ok[i].region, ok[i].phone, err.msg);
  }
  hd_err err = {0};
  /* +1 is shared: a CA account binds a +1 number, and the message names both. */
  assert_int_equal(phone_check_for_region("phone", "+14155550123", "CA", &err), 0);
  assert_int_equal(phone_check_for_region("phone", "+14155550123", "SG", &err), -1);
  assert_int_equal(err.code, HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, "a number of US/CA (+1)"));
  assert_int_equal(phone_check_for_region("phone", "+6581234567", "HK", &err), -1);
  assert_non_null(strstr(err.msg, "registered in HK can bind only a +852 number"));
}

static void test_who_may_bind_a_phone(void **state) {
  af *t = *state;
  af_account(t, "sg-who", "SG", true, NULL);
  af_account(t, "sg-other", "SG", true, NULL);
  AF_REFUSED(t, HD_PERMISSION_DENIED, "RequestContactChange",
             bind(t, t->agent, "sg-who", "+6581234567"));
  AF_REFUSED(t, HD_NOT_FOUND, "account 'sg-who' not found",
             bind(t, af_customer(t, "sg-other"), "sg-who", "+6581234567"));
  assert_int_equal(bind(t, t->service, "sg-who", "+6581234567"), HD_OK);
}

static void test_paytm_is_no_longer_supported(void **state) {
  af *t = *state;
  af_account(t, "pay-1", "SG", true, NULL);
  AF_REFUSED(t, HD_FAILED_PRECONDITION, "registration in India is closed",
             add_method(t, af_customer(t, "pay-1"), "pay-1", PM(PAYTM), ""));
}

static void test_binding_a_card_starts_its_verification(void **state) {
  af *t = *state;
  af_account(t, "card-1", "SG", true, NULL);
  Helpdesk__V1__AddPaymentMethodResponse *r = af_method(t, "card-1", PM(BANK_CARD), "4242");
  assert_int_equal(r->payment_method->type, PM(BANK_CARD));
  assert_string_equal(r->payment_method->label, "4242");
  Helpdesk__V1__CardVerificationRefund *v = r->card_verification;
  assert_non_null(v);
  assert_int_equal(v->amount_minor, 100);
  assert_string_equal(v->currency, "USD");
  assert_int_equal(v->bind_time_us, af_now(t));
  assert_int_equal(v->expected_refund_time_us, af_now(t) + 7 * AF_DAY_US);
  assert_int_equal(v->status, HELPDESK__V1__REFUND_STATUS__REFUND_STATUS_PENDING);
  assert_int_equal(af_audits(t, "card-1", "ADD_PAYMENT_METHOD"), 1);
  assert_int_equal(af_audits(t, "card-1", "START_CARD_VERIFICATION"), 1);
  /* Other types start none. */
  assert_null(af_method(t, "card-1", PM(PAYPAL), NULL)->card_verification);
  assert_null(af_method(t, "card-1", PM(ACCOUNT_BALANCE), NULL)->card_verification);
  assert_int_equal(af_sql(t, "SELECT COUNT(*) FROM card_verifications WHERE uid = 'card-1'"), 1);
}

static void test_labels_follow_the_type(void **state) {
  af *t = *state;
  af_account(t, "lab-1", "SG", true, NULL);
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "last four digits",
             add_method(t, t->service, "lab-1", PM(BANK_CARD), "4111111111111111"));
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "last four digits",
             add_method(t, t->service, "lab-1", PM(BANK_CARD), ""));
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "label is required",
             add_method(t, t->service, "lab-1", PM(PAYPAL), ""));
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "type is required",
             add_method(t, t->service, "lab-1", PM(UNSPECIFIED), ""));
  AF_REFUSED(t, HD_INVALID_ARGUMENT, "has no value 42",
             add_method(t, t->service, "lab-1", (Helpdesk__V1__PaymentMethodType)42, ""));
  AF_REFUSED(t, HD_PERMISSION_DENIED, NULL,
             add_method(t, t->agent, "lab-1", PM(ACCOUNT_BALANCE), ""));
}

static void test_payment_methods_are_listed_oldest_first_in_pages(void **state) {
  af *t = *state;
  af_account(t, "list-1", "SG", true, NULL);
  for (int i = 0; i < 5; i++) af_method(t, "list-1", PM(ACCOUNT_BALANCE), NULL);
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 2;
  Helpdesk__V1__ListPaymentMethodsRequest r = HELPDESK__V1__LIST_PAYMENT_METHODS_REQUEST__INIT;
  r.uid = "list-1";
  r.page = &page;
  int64_t last = 0;
  size_t seen = 0, pages = 0;
  do {
    Helpdesk__V1__ListPaymentMethodsResponse *l =
        (Helpdesk__V1__ListPaymentMethodsResponse *)af_must(
            t, "ListPaymentMethods", af_customer(t, "list-1"), &r.base,
            &helpdesk__v1__list_payment_methods_response__descriptor);
    for (size_t i = 0; i < l->n_payment_methods; i++) {
      assert_true(l->payment_methods[i]->id > last);
      last = l->payment_methods[i]->id;
    }
    seen += l->n_payment_methods;
    pages++;
    page.page_token = l->page->next_page_token;
  } while (*page.page_token && pages < 10);
  assert_int_equal(seen, 5);
  assert_int_equal(pages, 3);
  r.uid = "nobody";
  page.page_token = "";
  AF_REFUSED(t, HD_NOT_FOUND, "account 'nobody' not found",
             af_call(t, "ListPaymentMethods", t->agent, &r.base,
                     &helpdesk__v1__list_payment_methods_response__descriptor, NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_singapore_account_binds_plus_65_but_not_plus_852),
      cmocka_unit_test(test_malformed_numbers_are_invalid_argument),
      cmocka_unit_test(test_calling_codes_of_the_seeded_regions),
      cmocka_unit_test(test_who_may_bind_a_phone),
      cmocka_unit_test(test_paytm_is_no_longer_supported),
      cmocka_unit_test(test_binding_a_card_starts_its_verification),
      cmocka_unit_test(test_labels_follow_the_type),
      cmocka_unit_test(test_payment_methods_are_listed_oldest_first_in_pages),
  };
  return cmocka_run_group_tests(tests, af_setup, af_teardown);
}
