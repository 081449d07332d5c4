/* Leases with fencing tokens: "{lease:<name>}" holds "<holder>|<fence>" with a PX expiry, and
 * "{lease:<name>}:fence" counts the tokens handed out (never expires, so a token is never reused).
 * Each operation is one Lua script, so no other client can slip in between its steps. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kv/kv_internal.h"

/* Takes the lease only when nobody holds it; the token is drawn only then, so tokens of
 * successive holders are strictly increasing. Returns the token, or nil when held. */
static const char kv_lease_acquire_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return false end\n"
    "local fence = redis.call('INCR', KEYS[2])\n"
    "redis.call('SET', KEYS[1], ARGV[1] .. '|' .. string.format('%d', fence), 'PX', ARGV[2])\n"
    "return fence\n";

/* Compare-and-pexpire: 1 when the exact "<holder>|<fence>" still holds the lease. */
static const char kv_lease_renew_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return 0\n";

/* Compare-and-delete: 1 when the exact "<holder>|<fence>" held the lease and it is now free. */
static const char kv_lease_release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

#define KV_LEASE_KEY_MAX   (HD_KV_MAX_NAME + 16)
#define KV_LEASE_VALUE_MAX (HD_KV_MAX_NAME + 1 + KV_I64_BUF)

static int kv_lease__check(const char *name, const char *holder, hd_err *err) {
  if (kv_check_name("lease name", name, err) != 0 ||
      kv_check_name("lease holder", holder, err) != 0)
    return -1;
  if (strchr(holder, '|'))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "lease holder must not contain '|'");
  return 0;
}

/* The lease's key into key (KV_LEASE_KEY_MAX bytes); its length. */
static size_t kv_lease__key(const char *name, char *key) {
  return (size_t)snprintf(key, KV_LEASE_KEY_MAX, "{lease:%s}", name);
}

/* Renew and release: the script on the lease key with "<holder>|<fence>" and, for renew, a ttl.
 * *hit is true when the script answered 1. */
static int kv_lease__compare(hd_kv *kv, const char *script, const char *what, const char *name,
                             const char *holder, int64_t fence, const int64_t *ttl_ms,
                             bool idempotent, bool *hit, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char key[KV_LEASE_KEY_MAX], value[KV_LEASE_VALUE_MAX], ttl[KV_I64_BUF];
  *hit = false;
  if (kv_lease__check(name, holder, err) != 0) goto done;
  if (fence < 1) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "fencing token %" PRId64 " is not one a lease hands out (>= 1)", fence);
    goto done;
  }
  if (ttl_ms && kv_check_ttl(*ttl_ms, err) != 0) goto done;
  const char *args[3] = {key, value, ttl};
  size_t lens[3];
  lens[0] = kv_lease__key(name, key);
  lens[1] = (size_t)snprintf(value, sizeof value, "%s|%" PRId64, holder, fence);
  lens[2] = ttl_ms ? kv_fmt_i64(ttl, *ttl_ms) : 0;
  if (kv_eval(kv, script, 1, args, lens, ttl_ms ? 3 : 2, idempotent, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, what, err);
    goto done;
  }
  if (r->type != REDIS_REPLY_INTEGER) {
    kv_reply_unexpected(what, err);
    goto done;
  }
  *hit = r->integer == 1;
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

int hd_kv_lease_acquire(hd_kv *kv, const char *name, const char *holder, int64_t ttl_ms,
                        bool *acquired, int64_t *fence, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char key[KV_LEASE_KEY_MAX], fence_key[KV_LEASE_KEY_MAX], ttl[KV_I64_BUF];
  *acquired = false;
  *fence = 0;
  if (kv_lease__check(name, holder, err) != 0 || kv_check_ttl(ttl_ms, err) != 0) goto done;
  const char *args[4] = {key, fence_key, holder, ttl};
  const size_t lens[4] = {kv_lease__key(name, key),
                          (size_t)snprintf(fence_key, sizeof fence_key, "{lease:%s}:fence", name),
                          strlen(holder), kv_fmt_i64(ttl, ttl_ms)};
  /* Not idempotent: a lost reply after a successful run would, if repeated, see our own lease. */
  if (kv_eval(kv, kv_lease_acquire_lua, 2, args, lens, 4, false, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "lease acquire", err);
    goto done;
  }
  if (r->type == REDIS_REPLY_INTEGER && r->integer >= 1) {
    *acquired = true;
    *fence = r->integer;
  } else if (r->type != REDIS_REPLY_NIL) {
    kv_reply_unexpected("lease acquire", err);
    goto done;
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

int hd_kv_lease_renew(hd_kv *kv, const char *name, const char *holder, int64_t fence,
                      int64_t ttl_ms, bool *still_held, hd_err *err) {
  /* Idempotent: setting the same expiry twice is the same as once. */
  return kv_lease__compare(kv, kv_lease_renew_lua, "lease renew", name, holder, fence, &ttl_ms,
                           true, still_held, err);
}

int hd_kv_lease_release(hd_kv *kv, const char *name, const char *holder, int64_t fence,
                        bool *released, hd_err *err) {
  /* Not retried: a repeat after a lost reply would report "not released" for a release that
   * happened. */
  return kv_lease__compare(kv, kv_lease_release_lua, "lease release", name, holder, fence, NULL,
                           false, released, err);
}
