/* common/core: the per-call arena, UTF-8 validation, the error struct and host:port lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/hostport.h"
#include "core/utf8.h"
#include "rpctest.pb-c.h"

/* ---- arena ---- */

static void test_arena_allocation_up_to_the_cap_succeeds_and_one_past_fails(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(64);
  assert_non_null(a);
  assert_non_null(hd_arena_alloc(a, 48));
  assert_non_null(hd_arena_alloc(a, 16));
  assert_int_equal(hd_arena_used(a), 64);
  assert_null(hd_arena_alloc(a, 1));
  assert_int_equal(hd_arena_used(a), 64);
  hd_arena_free(a);

  a = hd_arena_new(64);
  assert_null(hd_arena_alloc(a, 65));
  assert_non_null(hd_arena_alloc(a, 64));
  hd_arena_free(a);
}

static void test_arena_sizes_round_to_sixteen_and_stay_aligned(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(1 << 20);
  for (size_t size = 0; size < 40; size++) {
    size_t before = hd_arena_used(a);
    void *p = hd_arena_alloc(a, size);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
    size_t want = size == 0 ? 16 : (size + 15) / 16 * 16;
    assert_int_equal(hd_arena_used(a) - before, want);
  }
  hd_arena_free(a);
}

static void test_arena_with_zero_cap_refuses_everything(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(0);
  assert_non_null(a);
  assert_null(hd_arena_alloc(a, 0));
  assert_null(hd_arena_alloc(a, 1));
  assert_null(hd_arena_strdup(a, ""));
  hd_arena_free(a);
}

static void test_arena_huge_request_past_a_huge_cap_fails_without_wrapping(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(SIZE_MAX);
  assert_non_null(hd_arena_alloc(a, 16));
  /* total + need would wrap around to a small number. */
  assert_null(hd_arena_alloc(a, SIZE_MAX - 20));
  assert_null(hd_arena_alloc(a, SIZE_MAX));
  assert_null(hd_arena_strndup(a, "x", SIZE_MAX));
  assert_int_equal(hd_arena_used(a), 16);
  hd_arena_free(a);
}

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* Under ASan (make asan, make fuzz) a read past a string in the arena is reported as it would be
 * past a malloc'ed one: the bytes after each allocation and the unused rest of a block are
 * poisoned. Without ASan there is nothing to check. */
static void test_arena_under_asan_the_bytes_past_an_allocation_are_poisoned(void **state) {
  (void)state;
#ifdef TEST_ASAN
  hd_arena *a = hd_arena_new(1 << 20);
  char *s = hd_arena_strdup(a, "acme");
  assert_non_null(s);
  assert_int_equal(__asan_address_is_poisoned(s + 4), 0); /* the NUL */
  assert_int_equal(__asan_address_is_poisoned(s + 5), 1);
  char *big = hd_arena_alloc(a, 10000); /* a block of its own */
  assert_non_null(big);
  assert_int_equal(__asan_address_is_poisoned(big + 9999), 0);
  assert_int_equal(__asan_address_is_poisoned(big + 10000), 1);
  char *t = hd_arena_strdup(a, "next");
  assert_non_null(t);
  assert_string_equal(s, "acme");
  assert_int_equal(__asan_address_is_poisoned(t + 5), 1);
  hd_arena_free(a);
#else
  skip();
#endif
}

static void test_arena_memory_is_zeroed_and_spans_many_blocks(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(1 << 22);
  unsigned char *ptrs[300];
  for (size_t i = 0; i < 300; i++) {
    size_t size = i % 3 == 0 ? 5000 : 100; /* big ones get blocks of their own */
    ptrs[i] = hd_arena_alloc(a, size);
    assert_non_null(ptrs[i]);
    for (size_t k = 0; k < size; k++) assert_int_equal(ptrs[i][k], 0);
    memset(ptrs[i], (int)(i & 0xff), size);
  }
  for (size_t i = 0; i < 300; i++) {
    size_t size = i % 3 == 0 ? 5000 : 100;
    assert_int_equal(ptrs[i][0], i & 0xff);
    assert_int_equal(ptrs[i][size - 1], i & 0xff);
  }
  hd_arena_free(a);
}

static void test_arena_string_copies(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(4096);
  char *s = hd_arena_strdup(a, "hello");
  assert_string_equal(s, "hello");
  assert_string_equal(hd_arena_strdup(a, NULL), "");
  assert_string_equal(hd_arena_strndup(a, "hello world", 5), "hello");
  assert_string_equal(hd_arena_strndup(a, "", 0), "");
  const unsigned char bytes[] = {1, 0, 2, 0, 3};
  unsigned char *m = hd_arena_memdup(a, bytes, sizeof bytes);
  assert_memory_equal(m, bytes, sizeof bytes);
  assert_non_null(hd_arena_memdup(a, NULL, 0));
  char *f = hd_arena_printf(a, "%s-%d-%05.1f", "x", 42, 3.14159);
  assert_string_equal(f, "x-42-003.1");
  assert_string_equal(hd_arena_printf(a, "%s", ""), "");
  hd_arena_free(a);
}

static void test_arena_printf_longer_than_a_block_and_past_the_cap(void **state) {
  (void)state;
  char big[10001];
  memset(big, 'b', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  hd_arena *a = hd_arena_new(1 << 16);
  char *s = hd_arena_printf(a, "<%s>", big);
  assert_non_null(s);
  assert_int_equal(strlen(s), 10002);
  assert_int_equal(s[10001], '>');
  hd_arena_free(a);

  a = hd_arena_new(10000);
  assert_null(hd_arena_printf(a, "%s", big));
  assert_null(hd_arena_strdup(a, big));
  hd_arena_free(a);
}

static void test_arena_null_is_harmless(void **state) {
  (void)state;
  hd_arena_free(NULL);
  assert_int_equal(hd_arena_used(NULL), 0);
  assert_null(hd_arena_alloc(NULL, 8));
}

static void test_arena_array_macro_allocates_n_elements(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(4096);
  char **arr = HD_ARENA_ARRAY(a, char *, 10);
  assert_non_null(arr);
  for (size_t i = 0; i < 10; i++) assert_null(arr[i]);
  assert_int_equal(hd_arena_used(a), 80);
  hd_arena_free(a);
}

static void test_arena_pb_allocator_draws_on_the_arena(void **state) {
  (void)state;
  hd_arena *a = hd_arena_new(1 << 16);
  ProtobufCAllocator al = hd_arena_pb_allocator(a);
  void *p = al.alloc(al.allocator_data, 100);
  assert_non_null(p);
  assert_int_equal(hd_arena_used(a), 112);
  al.free(al.allocator_data, p); /* a no-op: the arena owns it */

  /* Unpacking into the arena needs no free: hd_arena_free releases everything. */
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  req.text = "hello arena";
  req.sleep_ms = 7;
  uint8_t buf[64];
  size_t n = hdtest__v1__echo_request__pack(&req, buf);
  Hdtest__V1__EchoRequest *back = hdtest__v1__echo_request__unpack(&al, n, buf);
  assert_non_null(back);
  assert_string_equal(back->text, "hello arena");
  assert_int_equal(back->sleep_ms, 7);

  Hdtest__V1__EchoResponse *resp = hd_arena_new_message(a, &hdtest__v1__echo_response__descriptor);
  assert_non_null(resp);
  assert_ptr_equal(resp->base.descriptor, &hdtest__v1__echo_response__descriptor);
  assert_non_null(resp->text); /* initialised to protobuf-c's empty string */
  assert_string_equal(resp->text, "");
  hd_arena_free(a);
}

static void test_arena_pb_allocator_fails_cleanly_past_the_cap(void **state) {
  (void)state;
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  char text[500];
  memset(text, 'x', sizeof text - 1);
  text[sizeof text - 1] = '\0';
  req.text = text;
  uint8_t buf[600];
  size_t n = hdtest__v1__echo_request__pack(&req, buf);
  hd_arena *a = hd_arena_new(256);
  ProtobufCAllocator al = hd_arena_pb_allocator(a);
  assert_null(hdtest__v1__echo_request__unpack(&al, n, buf));
  hd_arena_free(a);
}

/* ---- utf8 ---- */

static void assert_utf8(const char *s, size_t len, size_t want_chars) {
  size_t chars = 12345;
  if (!hd_utf8_valid(s, len, &chars)) fail_msg("refused valid UTF-8 of %zu bytes", len);
  assert_int_equal(chars, want_chars);
}

static void assert_not_utf8(const char *s, size_t len) {
  size_t chars = 12345;
  if (hd_utf8_valid(s, len, &chars)) fail_msg("accepted invalid UTF-8 of %zu bytes", len);
  assert_int_equal(chars, 12345); /* untouched on failure */
}

static void test_utf8_ascii_counts_bytes(void **state) {
  (void)state;
  assert_utf8("hello", 5, 5);
  assert_utf8("", 0, 0);
  assert_utf8("a\0b", 3, 3); /* U+0000 is a character */
  assert_utf8("\x7f", 1, 1);
  assert_true(hd_utf8_valid("abc", 3, NULL));
}

static void test_utf8_multibyte_characters_count_as_one(void **state) {
  (void)state;
  assert_utf8("\xc3\xa9", 2, 1);         /* é U+00E9 */
  assert_utf8("\xc2\x80", 2, 1);         /* U+0080, smallest 2-byte */
  assert_utf8("\xdf\xbf", 2, 1);         /* U+07FF, largest 2-byte */
  assert_utf8("\xe2\x82\xac", 3, 1);     /* € U+20AC */
  assert_utf8("\xe0\xa0\x80", 3, 1);     /* U+0800, smallest 3-byte */
  assert_utf8("\xef\xbf\xbf", 3, 1);     /* U+FFFF */
  assert_utf8("\xed\x9f\xbf", 3, 1);     /* U+D7FF, just below the surrogates */
  assert_utf8("\xee\x80\x80", 3, 1);     /* U+E000, just above them */
  assert_utf8("\xf0\x9f\x98\x80", 4, 1); /* 😀 U+1F600 */
  assert_utf8("\xf0\x90\x80\x80", 4, 1); /* U+10000, smallest 4-byte */
  assert_utf8("\xf4\x8f\xbf\xbf", 4, 1); /* U+10FFFF, the last code point */
  assert_utf8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", 11, 5);
}

static void test_utf8_refuses_overlong_forms(void **state) {
  (void)state;
  assert_not_utf8("\xc0\x80", 2);         /* U+0000 in 2 bytes */
  assert_not_utf8("\xc1\xbf", 2);         /* U+007F in 2 bytes */
  assert_not_utf8("\xe0\x80\x80", 3);     /* U+0000 in 3 bytes */
  assert_not_utf8("\xe0\x9f\xbf", 3);     /* U+07FF in 3 bytes */
  assert_not_utf8("\xf0\x80\x80\x80", 4); /* U+0000 in 4 bytes */
  assert_not_utf8("\xf0\x8f\xbf\xbf", 4); /* U+FFFF in 4 bytes */
}

static void test_utf8_refuses_surrogates(void **state) {
  (void)state;
  assert_not_utf8("\xed\xa0\x80", 3);             /* U+D800 */
  assert_not_utf8("\xed\xbf\xbf", 3);             /* U+DFFF */
  assert_not_utf8("\xed\xa0\xbd\xed\xb8\x80", 6); /* CESU-8 style pair */
}

static void test_utf8_refuses_code_points_past_10ffff(void **state) {
  (void)state;
  assert_not_utf8("\xf4\x90\x80\x80", 4); /* U+110000 */
  assert_not_utf8("\xf5\x80\x80\x80", 4);
  assert_not_utf8("\xf8\x88\x80\x80\x80", 5);
  assert_not_utf8("\xff", 1);
  assert_not_utf8("\xfe", 1);
}

static void test_utf8_refuses_truncated_and_broken_sequences(void **state) {
  (void)state;
  assert_not_utf8("\xc3", 1);
  assert_not_utf8("\xe2\x82", 2);
  assert_not_utf8("\xf0\x9f\x98", 3);
  assert_not_utf8("ok\xf0\x9f", 4);
  assert_not_utf8("\x80", 1); /* lone continuation byte */
  assert_not_utf8("\xbf", 1);
  assert_not_utf8("\xc3\x41", 2); /* continuation replaced by ASCII */
  assert_not_utf8("\xe2\x82\x41", 3);
  assert_not_utf8("\xf0\x9f\x98\xc3\xa9", 5);
  /* Only len bytes are read: a valid sequence cut by len is truncated. */
  assert_not_utf8("\xc3\xa9", 1);
}

/* ---- err ---- */

static void test_err_set_fills_code_and_message_and_returns_minus_one(void **state) {
  (void)state;
  hd_err err;
  assert_int_equal(hd_err_set(&err, HD_NOT_FOUND, "ticket %s not found (%d)", "T-1", 7), -1);
  assert_int_equal(err.code, HD_NOT_FOUND);
  assert_string_equal(err.msg, "ticket T-1 not found (7)");
  assert_int_equal(hd_err_set(NULL, HD_INTERNAL, "nobody listens"), -1);
}

static void test_err_message_is_cut_to_the_buffer(void **state) {
  (void)state;
  char long_text[HD_ERR_MSG_MAX + 100];
  memset(long_text, 'x', sizeof long_text - 1);
  long_text[sizeof long_text - 1] = '\0';
  hd_err err;
  hd_err_set(&err, HD_INVALID_ARGUMENT, "%s", long_text);
  assert_int_equal(strlen(err.msg), HD_ERR_MSG_MAX - 1);
  long_text[HD_ERR_MSG_MAX - 1] = '\0'; /* exactly fits */
  hd_err_set(&err, HD_INVALID_ARGUMENT, "%s", long_text);
  assert_string_equal(err.msg, long_text);
}

static void test_err_conflict_is_aborted_with_its_reason_and_current_version(void **state) {
  (void)state;
  hd_err err;
  hd_err_field(&err, "stale"); /* cleared like by hd_err_set */
  assert_int_equal(hd_err_conflict(&err, 7, "agent %s was changed: version is now %d", "a-1", 7),
                   -1);
  assert_int_equal(err.code, HD_ABORTED);
  assert_string_equal(err.msg, "agent a-1 was changed: version is now 7");
  assert_string_equal(err.reason, HD_REASON_VERSION_CONFLICT);
  assert_int_equal(err.current_version, 7);
  assert_string_equal(err.field, "");
  assert_int_equal(hd_err_conflict(NULL, 1, "nobody listens"), -1);
}

static void test_err_clear_resets_to_ok(void **state) {
  (void)state;
  hd_err err;
  hd_err_set(&err, HD_ABORTED, "conflict");
  hd_err_clear(&err);
  assert_int_equal(err.code, HD_OK);
  assert_string_equal(err.msg, "");
  hd_err_clear(NULL);
}

static void test_code_names_match_grpc(void **state) {
  (void)state;
  static const char *const names[] = {"OK",
                                      "CANCELLED",
                                      "UNKNOWN",
                                      "INVALID_ARGUMENT",
                                      "DEADLINE_EXCEEDED",
                                      "NOT_FOUND",
                                      "ALREADY_EXISTS",
                                      "PERMISSION_DENIED",
                                      "RESOURCE_EXHAUSTED",
                                      "FAILED_PRECONDITION",
                                      "ABORTED",
                                      "OUT_OF_RANGE",
                                      "UNIMPLEMENTED",
                                      "INTERNAL",
                                      "UNAVAILABLE",
                                      "DATA_LOSS",
                                      "UNAUTHENTICATED"};
  for (int c = HD_OK; c <= HD_UNAUTHENTICATED; c++)
    assert_string_equal(hd_code_name((hd_code)c), names[c]);
  assert_string_equal(hd_code_name((hd_code)17), "UNKNOWN");
  assert_string_equal(hd_code_name((hd_code)-1), "UNKNOWN");
}

/* ---- host:port lists ---- */

static void test_hostport_list_reads_hosts_v6_and_ports_at_their_edges(void **state) {
  (void)state;
  hd_hostport_list l;
  hd_err err = {0};
  assert_int_equal(hd_hostport_list_parse("HELPDESK_DB_NODES", "node",
                                          "db-1:3306,[::1]:1,10.0.0.7:65535,", &l, &err),
                   0);
  assert_int_equal(l.n, 3);
  assert_string_equal(l.host[0], "db-1");
  assert_int_equal(l.port[0], 3306);
  assert_string_equal(l.host[1], "::1");
  assert_int_equal(l.port[1], 1);
  assert_string_equal(l.host[2], "10.0.0.7");
  assert_int_equal(l.port[2], 65535);
  assert_string_equal(l.text, "db-1:3306,[::1]:1,10.0.0.7:65535,"); /* for messages, as given */
  hd_hostport_list_free(&l);
  assert_int_equal(l.n, 0);
  hd_hostport_list_free(NULL);
  /* 16 entries and a host of 255 bytes pass; one more of either does not */
  char list[HD_HOSTPORT_TEXT];
  size_t len = 0;
  for (int i = 0; i < 16; i++)
    len += (size_t)snprintf(list + len, sizeof list - len, "h%d:%d,", i, i + 1);
  assert_int_equal(hd_hostport_list_parse("S", "server", list, &l, &err), 0);
  assert_int_equal(l.n, 16);
  hd_hostport_list_free(&l);
  snprintf(list + len, sizeof list - len, "h16:17");
  assert_int_equal(hd_hostport_list_parse("S", "server", list, &l, &err), -1);
  assert_string_equal(err.msg, "S: more than 16 servers");
  assert_int_equal(l.n, 0);
  memset(list, 'a', 255);
  snprintf(list + 255, sizeof list - 255, ":1");
  assert_int_equal(hd_hostport_list_parse("S", "server", list, &l, &err), 0);
  assert_int_equal(strlen(l.host[0]), 255);
  hd_hostport_list_free(&l);
  memset(list, 'a', 256);
  snprintf(list + 256, sizeof list - 256, ":1");
  assert_int_equal(hd_hostport_list_parse("S", "server", list, &l, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
}

static void test_hostport_list_refuses_what_is_not_host_port_naming_the_entry(void **state) {
  (void)state;
  static const char *bad[] = {"127.0.0.1", "127.0.0.1:0", "a:1,:2",   "h:65536",      "h:3306x",
                              "h:-1",      "[]:1",        "a:1,,b:2", "h:99999999999"};
  static const char *quoted[] = {"'127.0.0.1'",    "'127.0.0.1:0'", "':2'",   "'h:65536'",
                                 "'h:3306x'",      "'h:-1'",        "'[]:1'", "''",
                                 "'h:99999999999'"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hd_hostport_list l;
    hd_err err = {0};
    assert_int_equal(
        hd_hostport_list_parse("HELPDESK_REDIS_SENTINELS", "Sentinel", bad[i], &l, &err), -1);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
    char want[128];
    snprintf(want, sizeof want, "HELPDESK_REDIS_SENTINELS: %s is not host:port (port 1..65535)",
             quoted[i]);
    assert_string_equal(err.msg, want);
    assert_int_equal(l.n, 0);
  }
  hd_hostport_list l;
  hd_err err = {0};
  assert_int_equal(hd_hostport_list_parse("HELPDESK_DB_NODES", "node", "", &l, &err), -1);
  assert_string_equal(err.msg, "HELPDESK_DB_NODES names no node (host:port,...)");
  char big[HD_HOSTPORT_TEXT + 1];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(hd_hostport_list_parse("HELPDESK_DB_NODES", "node", big, &l, &err), -1);
  assert_string_equal(err.msg, "HELPDESK_DB_NODES is longer than 2047 bytes");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arena_allocation_up_to_the_cap_succeeds_and_one_past_fails),
      cmocka_unit_test(test_arena_sizes_round_to_sixteen_and_stay_aligned),
      cmocka_unit_test(test_arena_with_zero_cap_refuses_everything),
      cmocka_unit_test(test_arena_huge_request_past_a_huge_cap_fails_without_wrapping),
      cmocka_unit_test(test_arena_under_asan_the_bytes_past_an_allocation_are_poisoned),
      cmocka_unit_test(test_arena_memory_is_zeroed_and_spans_many_blocks),
      cmocka_unit_test(test_arena_string_copies),
      cmocka_unit_test(test_arena_printf_longer_than_a_block_and_past_the_cap),
      cmocka_unit_test(test_arena_null_is_harmless),
      cmocka_unit_test(test_arena_array_macro_allocates_n_elements),
      cmocka_unit_test(test_arena_pb_allocator_draws_on_the_arena),
      cmocka_unit_test(test_arena_pb_allocator_fails_cleanly_past_the_cap),
      cmocka_unit_test(test_utf8_ascii_counts_bytes),
      cmocka_unit_test(test_utf8_multibyte_characters_count_as_one),
      cmocka_unit_test(test_utf8_refuses_overlong_forms),
      cmocka_unit_test(test_utf8_refuses_surrogates),
      cmocka_unit_test(test_utf8_refuses_code_points_past_10ffff),
      cmocka_unit_test(test_utf8_refuses_truncated_and_broken_sequences),
      cmocka_unit_test(test_err_set_fills_code_and_message_and_returns_minus_one),
      cmocka_unit_test(test_err_message_is_cut_to_the_buffer),
      cmocka_unit_test(test_err_conflict_is_aborted_with_its_reason_and_current_version),
      cmocka_unit_test(test_err_clear_resets_to_ok),
      cmocka_unit_test(test_code_names_match_grpc),
      cmocka_unit_test(test_hostport_list_reads_hosts_v6_and_ports_at_their_edges),
      cmocka_unit_test(test_hostport_list_refuses_what_is_not_host_port_naming_the_entry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
