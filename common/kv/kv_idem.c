/* Idempotency keys "idem:{<scope>}:<key>": the first claim stores its value for ttl_ms; later
 * claims get that value back. One SET ... NX GET PX (Redis >= 7.0) both claims and reads, so
 * there is no window where the key expires between a failed SET NX and the GET. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/kv_internal.h"

#define KV_IDEM_KEY_MAX (2 * HD_KV_MAX_NAME + 16)

int hd_kv_idem_claim(hd_kv *kv, const char *scope, const char *key, const char *value,
                     int64_t ttl_ms, bool *claimed, char **existing, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char full[KV_IDEM_KEY_MAX], ttl[KV_I64_BUF];
  *claimed = false;
  if (existing) *existing = NULL;
  if (kv_check_name("idempotency scope", scope, err) != 0 ||
      kv_check_name("idempotency key", key, err) != 0 || kv_check_ttl(ttl_ms, err) != 0)
    goto done;
  /* The scope is the hash tag: a brace in it would move the tag and let two scopes share keys. */
  if (strpbrk(scope, "{}")) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "idempotency scope must not contain '{' or '}'");
    goto done;
  }
  if (!value) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "idempotency value must not be NULL");
    goto done;
  }
  const size_t value_len = strnlen(value, (size_t)HD_KV_MAX_VALUE + 1);
  if (value_len > HD_KV_MAX_VALUE) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "idempotency value is longer than %u bytes",
               HD_KV_MAX_VALUE);
    goto done;
  }
  const size_t key_len = (size_t)snprintf(full, sizeof full, "idem:{%s}:%s", scope, key);
  const char *argv[] = {"SET", full, value, "NX", "GET", "PX", ttl};
  const size_t argvlen[] = {3, key_len, value_len, 2, 3, 2, kv_fmt_i64(ttl, ttl_ms)};
  /* Not idempotent: a repeat after a lost reply would find our own value and say "not claimed". */
  if (kv_call(kv, 7, argv, argvlen, false, 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "SET NX GET (idempotency claim)", err);
    goto done;
  }
  if (r->type == REDIS_REPLY_NIL) {
    *claimed = true;
  } else if (r->type == REDIS_REPLY_STRING) {
    if (existing) {
      *existing = malloc(r->len + 1);
      if (!*existing) {
        hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading an idempotency value");
        goto done;
      }
      if (r->len) memcpy(*existing, r->str, r->len);
      (*existing)[r->len] = '\0';
    }
  } else {
    kv_reply_unexpected("SET NX GET (idempotency claim)", err);
    goto done;
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}
