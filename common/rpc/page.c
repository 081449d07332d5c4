/* Pages (see page.h). A token is the hex of "v1:<key>:<id>:<scope hash>", where the scope hash
 * is the first HD_PAGE_HASH_HEX hex digits of SHA-256 of the scope's bytes. */
#include "rpc/page.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/utf8.h"

#define PAGE_PLAIN_MAX (HD_PAGE_TOKEN_MAX / 2)

static const char page__hex[] = "0123456789abcdef";

static const char page__malformed[] = "page_token is malformed";

/* Appends one length-prefixed part. */
static void page__scope_add(hd_page_scope *s, const char *part, size_t len) {
  if (s->too_long) return;
  const int n = snprintf(s->bytes + s->len, sizeof s->bytes - s->len, "%zu:", len);
  if (n < 0 || (size_t)n + len >= sizeof s->bytes - s->len) {
    s->too_long = true;
    return;
  }
  s->len += (size_t)n;
  memcpy(s->bytes + s->len, part, len);
  s->len += len;
}

void hd_page_scope_init(hd_page_scope *s, const char *list, const char *tenant) {
  s->len = 0;
  s->too_long = false;
  hd_page_scope_str(s, list);
  hd_page_scope_str(s, tenant);
}

void hd_page_scope_str(hd_page_scope *s, const char *part) {
  if (!part) part = "";
  page__scope_add(s, part, strlen(part));
}

void hd_page_scope_int(hd_page_scope *s, int64_t part) {
  char buf[24];
  const int n = snprintf(buf, sizeof buf, "%" PRId64, part);
  page__scope_add(s, buf, (size_t)n);
}

static int page__hash(const hd_page_scope *s, char out[HD_PAGE_HASH_HEX + 1], hd_err *err) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned md_len = 0;
  if (EVP_Digest(s->bytes, s->len, md, &md_len, EVP_sha256(), NULL) != 1 ||
      md_len < HD_PAGE_HASH_HEX / 2)
    return hd_err_set(err, HD_INTERNAL, "page token: SHA-256 failed");
  for (size_t i = 0; i < HD_PAGE_HASH_HEX / 2; i++) {
    out[2 * i] = page__hex[md[i] >> 4];
    out[2 * i + 1] = page__hex[md[i] & 0xF];
  }
  out[HD_PAGE_HASH_HEX] = '\0';
  return 0;
}

static int page__hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* A decimal int64 (optional '-', no leading zeros but "0") at *at; advances *at past it. */
static int page__parse_i64(const char **at, const char *end, int64_t *out) {
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

/* Decodes token[0..len) into *out when its scope hash is want. */
static int page__decode(const char *token, size_t len, const char *want, hd_page_pos *out,
                        hd_err *err) {
  if (len % 2 != 0) return hd_err_set(err, HD_INVALID_ARGUMENT, "%s", page__malformed);
  char plain[PAGE_PLAIN_MAX + 1];
  const size_t n = len / 2;
  for (size_t i = 0; i < n; i++) {
    const int hi = page__hex_value(token[2 * i]), lo = page__hex_value(token[2 * i + 1]);
    if (hi < 0 || lo < 0) return hd_err_set(err, HD_INVALID_ARGUMENT, "%s", page__malformed);
    plain[i] = (char)(hi << 4 | lo);
    if (plain[i] == '\0') return hd_err_set(err, HD_INVALID_ARGUMENT, "%s", page__malformed);
  }
  plain[n] = '\0';
  int64_t key = 0, id = 0;
  const char *at = plain, *end = plain + n;
  if (n < 3 || memcmp(at, "v1:", 3) != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s", page__malformed);
  at += 3;
  if (page__parse_i64(&at, end, &key) != 0 || at == end || *at++ != ':' ||
      page__parse_i64(&at, end, &id) != 0 || at == end || *at++ != ':' || id <= 0 ||
      (size_t)(end - at) != HD_PAGE_HASH_HEX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s", page__malformed);
  if (memcmp(want, at, HD_PAGE_HASH_HEX) != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "page_token belongs to another listing: send the same filters and order as "
                      "for the first page, or no token to start over");
  *out = (hd_page_pos){.key = key, .id = id};
  return 0;
}

int hd_page_size(int32_t requested, size_t *out, hd_err *err) {
  if (requested == 0) {
    *out = HD_PAGE_SIZE_DEFAULT;
    return 0;
  }
  if (requested < 0 || requested > HD_PAGE_SIZE_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "page_size must be between 1 and %d (0 for %d), got %d", HD_PAGE_SIZE_MAX,
                      HD_PAGE_SIZE_DEFAULT, (int)requested);
  *out = (size_t)requested;
  return 0;
}

int hd_page_start(int32_t page_size, const char *page_token, const hd_page_scope *scope,
                  hd_page *out, hd_err *err) {
  *out = (hd_page){0};
  if (hd_page_size(page_size, &out->size, err)) return -1;
  const char *token = page_token ? page_token : "";
  const size_t len = strlen(token);
  size_t chars = 0;
  if (!hd_utf8_valid(token, len, &chars))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s", page__malformed);
  if (chars > HD_PAGE_TOKEN_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "page.page_token has %zu characters; at most %d are allowed", chars,
                      HD_PAGE_TOKEN_MAX);
  if (scope->too_long)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "list filters are too long: together they may have %d bytes",
                      HD_PAGE_SCOPE_MAX);
  if (page__hash(scope, out->scope_hash, err)) return -1;
  if (len == 0) return 0;
  if (page__decode(token, len, out->scope_hash, &out->after, err)) return -1;
  out->continued = true;
  return 0;
}

int hd_page_start_pb(const Helpdesk__V1__PageRequest *req, const hd_page_scope *scope, hd_page *out,
                     hd_err *err) {
  return hd_page_start(req ? req->page_size : 0, req ? req->page_token : NULL, scope, out, err);
}

int64_t hd_page_fetch(const hd_page *pg) { return (int64_t)pg->size + 1; }

size_t hd_page_shown(const hd_page *pg, size_t fetched) {
  return fetched > pg->size ? pg->size : fetched;
}

int hd_page_next(const hd_page *pg, const hd_page_pos *last, hd_arena *arena, char **out,
                 hd_err *err) {
  *out = "";
  if (!last) return 0;
  char plain[PAGE_PLAIN_MAX];
  const int n = snprintf(plain, sizeof plain, "v1:%" PRId64 ":%" PRId64 ":%s", last->key, last->id,
                         pg->scope_hash);
  if (n < 0 || (size_t)n >= sizeof plain)
    return hd_err_set(err, HD_INTERNAL, "page token too long");
  char *tok = hd_arena_alloc(arena, 2 * (size_t)n + 1);
  if (!tok) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory for a page token");
  for (int i = 0; i < n; i++) {
    tok[2 * i] = page__hex[(unsigned char)plain[i] >> 4];
    tok[2 * i + 1] = page__hex[(unsigned char)plain[i] & 0xF];
  }
  tok[2 * n] = '\0';
  *out = tok;
  return 0;
}

int hd_page_info(hd_arena *arena, char *next, Helpdesk__V1__PageInfo **out, hd_err *err) {
  Helpdesk__V1__PageInfo *p = hd_arena_new_message(arena, &helpdesk__v1__page_info__descriptor);
  *out = p;
  if (!p) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  p->next_page_token = next ? next : "";
  return 0;
}
