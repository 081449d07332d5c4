/* common/auth/base64url: RFC 4648 vectors, the URL alphabet, and strict decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/base64url.h"

static void test_rfc4648_vectors_encode_without_padding(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } v[] = {{"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
           {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char out[16];
    size_t n = 99;
    assert_int_equal(
        hd_b64url_encode((const unsigned char *)v[i].in, strlen(v[i].in), out, sizeof out, &n), 0);
    assert_string_equal(out, v[i].out);
    assert_int_equal(n, strlen(v[i].out));
    assert_int_equal(hd_b64url_encoded_len(strlen(v[i].in)), strlen(v[i].out));

    unsigned char back[16];
    size_t m = 99;
    assert_int_equal(hd_b64url_decode(v[i].out, strlen(v[i].out), back, sizeof back, &m), 0);
    assert_int_equal(m, strlen(v[i].in));
    assert_memory_equal(back, v[i].in, m);
  }
}

static void test_url_alphabet_uses_dash_and_underscore(void **state) {
  (void)state;
  const unsigned char in[] = {0xfb, 0xff, 0xbf};
  char out[8];
  assert_int_equal(hd_b64url_encode(in, sizeof in, out, sizeof out, NULL), 0);
  assert_string_equal(out, "-_-_");
  unsigned char back[3];
  size_t n = 0;
  assert_int_equal(hd_b64url_decode("-_-_", 4, back, sizeof back, &n), 0);
  assert_int_equal(n, 3);
  assert_memory_equal(back, in, 3);
}

static void test_every_length_round_trips(void **state) {
  (void)state;
  unsigned char in[200], back[200];
  char text[300];
  for (size_t i = 0; i < sizeof in; i++) in[i] = (unsigned char)(i * 37 + 11);
  for (size_t len = 0; len <= sizeof in; len++) {
    size_t tl = 0, bl = 0;
    assert_int_equal(hd_b64url_encode(in, len, text, sizeof text, &tl), 0);
    assert_int_equal(tl, hd_b64url_encoded_len(len));
    assert_int_equal(hd_b64url_decoded_max(tl), len);
    assert_int_equal(hd_b64url_decode(text, tl, back, sizeof back, &bl), 0);
    assert_int_equal(bl, len);
    assert_memory_equal(back, in, len);
  }
}

static void test_decode_refuses_characters_outside_the_alphabet(void **state) {
  (void)state;
  unsigned char out[16];
  size_t n;
  const char *bad[] = {"Zm9+", "Zm9/", "Zg==", "Zm9v Zg", "Zm\n9v", "Zm9\x80", "Zm.v"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(hd_b64url_decode(bad[i], strlen(bad[i]), out, sizeof out, &n), -1);
  assert_int_equal(hd_b64url_decode("Zm9v\0Zg", 7, out, sizeof out, &n), -1);
}

static void test_decode_refuses_a_lone_trailing_character(void **state) {
  (void)state;
  unsigned char out[16];
  size_t n;
  assert_int_equal(hd_b64url_decode("Z", 1, out, sizeof out, &n), -1);
  assert_int_equal(hd_b64url_decode("Zm9vZ", 5, out, sizeof out, &n), -1);
  assert_int_equal(hd_b64url_decode("", 0, out, sizeof out, &n), 0);
  assert_int_equal(n, 0);
}

static void test_decode_refuses_nonzero_unused_bits(void **state) {
  (void)state;
  unsigned char out[16];
  size_t n;
  /* "Zg" is 'f'; "Zh".."Zv" spell the same byte with unused bits set. */
  assert_int_equal(hd_b64url_decode("Zg", 2, out, sizeof out, &n), 0);
  assert_int_equal(hd_b64url_decode("Zh", 2, out, sizeof out, &n), -1);
  assert_int_equal(hd_b64url_decode("Zv", 2, out, sizeof out, &n), -1);
  assert_int_equal(hd_b64url_decode("Zm8", 3, out, sizeof out, &n), 0);
  assert_int_equal(hd_b64url_decode("Zm9", 3, out, sizeof out, &n), -1);
}

static void test_buffers_too_small_are_refused(void **state) {
  (void)state;
  const unsigned char in[] = "foob";
  char text[7];
  /* "Zm9vYg" needs 6 characters and a NUL: 7 is the edge, 6 one short. */
  assert_int_equal(hd_b64url_encode(in, 4, text, 7, NULL), 0);
  assert_string_equal(text, "Zm9vYg");
  assert_int_equal(hd_b64url_encode(in, 4, text, 6, NULL), -1);
  unsigned char out[4];
  size_t n;
  assert_int_equal(hd_b64url_decode("Zm9vYg", 6, out, 4, &n), 0);
  assert_int_equal(hd_b64url_decode("Zm9vYg", 6, out, 3, &n), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc4648_vectors_encode_without_padding),
      cmocka_unit_test(test_url_alphabet_uses_dash_and_underscore),
      cmocka_unit_test(test_every_length_round_trips),
      cmocka_unit_test(test_decode_refuses_characters_outside_the_alphabet),
      cmocka_unit_test(test_decode_refuses_a_lone_trailing_character),
      cmocka_unit_test(test_decode_refuses_nonzero_unused_bits),
      cmocka_unit_test(test_buffers_too_small_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
