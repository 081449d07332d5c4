/* base64url without padding: the encoding of every JWT part. */
#include "auth/base64url.h"

#include <stdint.h>

static const char b64url__alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c, or -1 when c is not in the base64url alphabet. */
static int b64url__value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

size_t hd_b64url_encoded_len(size_t n) {
  static const size_t tail[3] = {0, 2, 3};
  return n / 3 * 4 + tail[n % 3];
}

size_t hd_b64url_decoded_max(size_t n) { return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0); }

int hd_b64url_encode(const unsigned char *in, size_t n, char *out, size_t out_size,
                     size_t *out_len) {
  if (n > (SIZE_MAX - 1) / 4 * 3) return -1;
  size_t need = hd_b64url_encoded_len(n);
  if (!out || out_size < need + 1) return -1;
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = b64url__alphabet[v >> 18 & 63];
    out[o++] = b64url__alphabet[v >> 12 & 63];
    out[o++] = b64url__alphabet[v >> 6 & 63];
    out[o++] = b64url__alphabet[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = b64url__alphabet[v >> 18 & 63];
    out[o++] = b64url__alphabet[v >> 12 & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = b64url__alphabet[v >> 18 & 63];
    out[o++] = b64url__alphabet[v >> 12 & 63];
    out[o++] = b64url__alphabet[v >> 6 & 63];
  }
  out[o] = '\0';
  if (out_len) *out_len = o;
  return 0;
}

int hd_b64url_decode(const char *in, size_t n, unsigned char *out, size_t out_size,
                     size_t *out_len) {
  if (n % 4 == 1 || out_size < hd_b64url_decoded_max(n) || (n && (!in || !out))) return -1;
  const unsigned char *s = (const unsigned char *)in;
  uint32_t acc = 0;
  unsigned bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64url__value(s[i]);
    if (v < 0) return -1;
    acc = (acc << 6 | (uint32_t)v) & 0xFFFFFFu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits & 0xFF);
    }
  }
  /* Leftover bits (2 or 4) must be zero: a second spelling of the same bytes is refused. */
  if (bits && (acc & ((1u << bits) - 1u))) return -1;
  if (out_len) *out_len = o;
  return 0;
}
