/* google.rpc.Status details (rpc/status_details.h): what hd_err's details become on the wire and
 * back, checked against the generated google.rpc messages themselves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "rpc/status_details.h"

static Google__Rpc__Status *packed(hd_code code, const char *msg, const hd_err *err,
                                   grpc_slice *s) {
  assert_int_equal(hd_rpc_status_details_pack(code, msg, err, s), 0);
  Google__Rpc__Status *st =
      google__rpc__status__unpack(NULL, GRPC_SLICE_LENGTH(*s), GRPC_SLICE_START_PTR(*s));
  assert_non_null(st);
  return st;
}

static void test_every_detail_goes_out_and_comes_back(void **state) {
  (void)state;
  hd_err e;
  hd_err_set(&e, HD_ABORTED, "ticket 7 was changed by someone else");
  hd_err_reason(&e, HD_REASON_VERSION_CONFLICT);
  hd_err_current_version(&e, 12);
  hd_err_field(&e, "expected_version");
  hd_err_retry_after(&e, 2500);
  grpc_slice s;
  Google__Rpc__Status *st = packed(e.code, e.msg, &e, &s);
  assert_int_equal(st->code, HD_ABORTED);
  assert_string_equal(st->message, e.msg);
  assert_int_equal(st->n_details, 3);
  assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.BadRequest");
  assert_string_equal(st->details[1]->type_url, "type.googleapis.com/google.rpc.ErrorInfo");
  assert_string_equal(st->details[2]->type_url, "type.googleapis.com/google.rpc.RetryInfo");
  Google__Rpc__ErrorInfo *info =
      google__rpc__error_info__unpack(NULL, st->details[1]->value.len, st->details[1]->value.data);
  assert_non_null(info);
  assert_string_equal(info->domain, HD_RPC_ERROR_DOMAIN);
  assert_int_equal(info->n_metadata, 1);
  assert_string_equal(info->metadata[0]->key, "current_version");
  assert_string_equal(info->metadata[0]->value, "12");
  google__rpc__error_info__free_unpacked(info, NULL);
  google__rpc__status__free_unpacked(st, NULL);

  hd_err back;
  hd_err_set(&back, HD_ABORTED, "the status line's message");
  assert_int_equal(
      hd_rpc_status_details_unpack(GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), &back), 0);
  assert_string_equal(back.msg, "the status line's message");
  assert_string_equal(back.reason, "VERSION_CONFLICT");
  assert_string_equal(back.field, "expected_version");
  assert_int_equal(back.current_version, 12);
  assert_int_equal(back.retry_after_ms, 2500);
  grpc_slice_unref(s);
}

static void test_no_details_is_a_bare_status(void **state) {
  (void)state;
  grpc_slice s;
  Google__Rpc__Status *st = packed(HD_NOT_FOUND, "ticket 9 not found", NULL, &s);
  assert_int_equal(st->code, HD_NOT_FOUND);
  assert_int_equal(st->n_details, 0);
  google__rpc__status__free_unpacked(st, NULL);
  grpc_slice_unref(s);
}

static void test_every_unavailable_says_when_to_retry(void **state) {
  (void)state;
  grpc_slice s;
  Google__Rpc__Status *st = packed(HD_UNAVAILABLE, "the database is unavailable", NULL, &s);
  assert_int_equal(st->n_details, 1);
  Google__Rpc__RetryInfo *r =
      google__rpc__retry_info__unpack(NULL, st->details[0]->value.len, st->details[0]->value.data);
  assert_non_null(r);
  assert_int_equal(r->retry_delay->seconds, HD_RPC_RETRY_UNAVAILABLE_MS / 1000);
  assert_int_equal(r->retry_delay->nanos, 0);
  google__rpc__retry_info__free_unpacked(r, NULL);
  google__rpc__status__free_unpacked(st, NULL);
  grpc_slice_unref(s);
}

static void test_what_is_not_a_status_is_refused_and_err_untouched(void **state) {
  (void)state;
  hd_err e;
  hd_err_set(&e, HD_INTERNAL, "x");
  static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
  assert_int_equal(hd_rpc_status_details_unpack(junk, sizeof junk, &e), -1);
  static uint8_t big[HD_RPC_STATUS_DETAILS_MAX + 1];
  assert_int_equal(hd_rpc_status_details_unpack(big, sizeof big, &e), -1);
  assert_string_equal(e.reason, "");
  assert_string_equal(e.field, "");
}

static void test_another_domains_reason_is_not_taken_for_ours(void **state) {
  (void)state;
  Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
  info.reason = "QUOTA_EXCEEDED";
  info.domain = "googleapis.com";
  uint8_t ibuf[128];
  size_t il = google__rpc__error_info__pack(&info, ibuf);
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = "type.googleapis.com/google.rpc.ErrorInfo";
  any.value.data = ibuf;
  any.value.len = il;
  Google__Protobuf__Any *list[1] = {&any};
  Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
  st.code = HD_RESOURCE_EXHAUSTED;
  st.n_details = 1;
  st.details = list;
  uint8_t sbuf[256];
  size_t sl = google__rpc__status__pack(&st, sbuf);
  hd_err e;
  hd_err_set(&e, HD_RESOURCE_EXHAUSTED, "x");
  assert_int_equal(hd_rpc_status_details_unpack(sbuf, sl, &e), 0);
  assert_string_equal(e.reason, "");
}

static void test_err_set_clears_and_keep_details_copies(void **state) {
  (void)state;
  hd_err sub, e;
  hd_err_set(&sub, HD_ABORTED, "inner");
  hd_err_reason(&sub, HD_REASON_VERSION_CONFLICT);
  hd_err_current_version(&sub, 4);
  hd_err_set(&e, sub.code, "outer: %s", sub.msg);
  assert_string_equal(e.reason, "");
  assert_int_equal(hd_err_keep_details(&e, &sub), -1);
  assert_string_equal(e.msg, "outer: inner");
  assert_string_equal(e.reason, "VERSION_CONFLICT");
  assert_int_equal(e.current_version, 4);
  hd_err_set(&e, HD_INTERNAL, "again");
  assert_string_equal(e.reason, "");
  assert_int_equal(e.current_version, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_detail_goes_out_and_comes_back),
      cmocka_unit_test(test_no_details_is_a_bare_status),
      cmocka_unit_test(test_every_unavailable_says_when_to_retry),
      cmocka_unit_test(test_what_is_not_a_status_is_refused_and_err_untouched),
      cmocka_unit_test(test_another_domains_reason_is_not_taken_for_ours),
      cmocka_unit_test(test_err_set_clears_and_keep_details_copies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
