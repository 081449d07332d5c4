/* Page tokens (see page_token.h): hex of "v1:<key>:<id>:<scope hash>", where the scope hash is
 * the first 16 hex digits of SHA-256(scope). */
#include "page_token.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#define SCOPE_HASH_HEX 16
#define PLAIN_MAX      (PAGE_TOKEN_MAX / 2)

static const char HEX[] = "0123456789abcdef";

static int pt__scope_hash(const void *scope, size_t len, char out[SCOPE_HASH_HEX + 1],
                          hd_err *err) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned md_len = 0;
  if (EVP_Digest(scope, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len < SCOPE_HASH_HEX / 2)
    return hd_err_set(err, HD_INTERNAL, "page token: SHA-256 failed");
  for (size_t i = 0; i < SCOPE_HASH_HEX / 2; i++) {
    out[2 * i] = HEX[md[i] >> 4];
    out[2 * i + 1] = HEX[md[i] & 0xF];
  }
  out[SCOPE_HASH_HEX] = '\0';
  return 0;
}

static int pt__hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* A decimal int64 (optional '-', no leading zeros but "0") at *at; advances *at past it. */
static int pt__parse_i64(const char **at, const char *end, int64_t *out) {
  const char *p = *at;
  bool neg = false;
  if (p < end && *p == '-') {
    neg = true;
    p++;
  }
  const char *digits = p;
  uint64_t v = 0;
  const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  while (p < end && *p >= '0' && *p <= '9') {
    const unsigned d = (unsigned)(*p - '0');
    if (v > (limit - d) / 10) return -1;
    v = v * 10 + d;
    p++;
  }
  if (p == digits || (p - digits > 1 && *digits == '0') || (neg && v == 0)) return -1;
  *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
  *at = p;
  return 0;
}

int page_size_resolve(int32_t requested, size_t *out, hd_err *err) {
  if (requested == 0) {
    *out = PAGE_SIZE_DEFAULT;
    return 0;
  }
  if (requested < 0 || requested > PAGE_SIZE_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "page_size must be between 1 and %d (0 for %d), got %d", PAGE_SIZE_MAX,
                      PAGE_SIZE_DEFAULT, (int)requested);
  *out = (size_t)requested;
  return 0;
}

int page_token_encode(const page_pos *pos, const void *scope, size_t scope_len, hd_arena *arena,
                      char **out, hd_err *err) {
  char hash[SCOPE_HASH_HEX + 1];
  if (pt__scope_hash(scope, scope_len, hash, err) != 0) return -1;
  char plain[PLAIN_MAX];
  const int n =
      snprintf(plain, sizeof plain, "v1:%" PRId64 ":%" PRId64 ":%s", pos->key, pos->id, hash);
  if (n < 0 || (size_t)n >= sizeof plain)
    return hd_err_set(err, HD_INTERNAL, "page token too long");
  char *tok = hd_arena_alloc(arena, 2 * (size_t)n + 1);
  if (!tok) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory for a page token");
  for (int i = 0; i < n; i++) {
    tok[2 * i] = HEX[(unsigned char)plain[i] >> 4];
    tok[2 * i + 1] = HEX[(unsigned char)plain[i] & 0xF];
  }
  tok[2 * n] = '\0';
  *out = tok;
  return 0;
}

int page_token_decode(const char *token, size_t len, const void *scope, size_t scope_len,
                      page_pos *out, hd_err *err) {
  if (!token || len == 0 || len > PAGE_TOKEN_MAX || len % 2 != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "page_token is malformed");
  char plain[PLAIN_MAX + 1];
  const size_t n = len / 2;
  for (size_t i = 0; i < n; i++) {
    const int hi = pt__hex_value(token[2 * i]), lo = pt__hex_value(token[2 * i + 1]);
    if (hi < 0 || lo < 0) return hd_err_set(err, HD_INVALID_ARGUMENT, "page_token is malformed");
    plain[i] = (char)(hi << 4 | lo);
    if (plain[i] == '\0') return hd_err_set(err, HD_INVALID_ARGUMENT, "page_token is malformed");
  }
  plain[n] = '\0';
  int64_t key = 0, id = 0;
  const char *at = plain, *end = plain + n;
  if (n < 3 || memcmp(at, "v1:", 3) != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "page_token is malformed");
  at += 3;
  if (pt__parse_i64(&at, end, &key) != 0 || at == end || *at++ != ':' ||
      pt__parse_i64(&at, end, &id) != 0 || at == end || *at++ != ':' || id <= 0 ||
      (size_t)(end - at) != SCOPE_HASH_HEX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "page_token is malformed");
  const char *hash = at;
  char want[SCOPE_HASH_HEX + 1];
  if (pt__scope_hash(scope, scope_len, want, err) != 0) return -1;
  if (memcmp(want, hash, SCOPE_HASH_HEX) != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "page_token belongs to another listing: send the same filters and order as "
                      "for the first page, or no token to start over");
  out->key = key;
  out->id = id;
  return 0;
}
