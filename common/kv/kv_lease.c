/* Leases with fencing tokens: "{lease:<name>}" holds "<holder>|<fence>" with a PX expiry, and
 * "{lease:<name>}:fence" counts the tokens handed out, with a bounded life and re-seeded from the
 * caller's floor when it is missing (kv.h's rule; the seeding helpers here serve kv_queue.c too).
 * Each operation is one Lua script, so no other client can slip in between its steps. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kv/kv_internal.h"

/* Takes the lease only when nobody holds it; the token is drawn only then, so tokens of
 * successive holders are strictly increasing. Returns the token, or nil when held. */
static const char kv_lease_acquire_lua[] = KV_FENCE_DRAW_LUA
    "if redis.call('EXISTS', KEYS[1]) == 1 then return false end\n"
    "local fence = hd_fence_draw(KEYS[2], ARGV[3], ARGV[4])\n"
    "if not fence then return redis.status_reply('NOFENCE') end\n"
    "redis.call('SET', KEYS[1], ARGV[1] .. '|' .. string.format('%d', fence), 'PX', ARGV[2])\n"
    "return fence\n";

/* Compare-and-pexpire: 1 when the exact "<holder>|<fence>" still holds the lease; the counter
 * (KEYS[2]) then lives at least as long as the lease (ARGV[3]: its life). */
static const char kv_lease_renew_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[3]) then\n"
    "    redis.call('PEXPIRE', KEYS[2], ARGV[3])\n"
    "  end\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return 0\n";

/* Compare-and-delete: 1 when the exact "<holder>|<fence>" held the lease and it is now free. */
static const char kv_lease_release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

/* The seed of a draw into buf (KV_I64_BUF bytes); its length. See kv_eval_fenced. */
static int kv_fence__seed(const hd_kv_fence_floor *floor, bool retry, char *buf, size_t *len,
                          hd_err *err) {
  *len = 0;
  buf[0] = '\0';
  if (!floor) {
    *len = kv_fmt_i64(buf, 0);
    return 0;
  }
  if (!retry) return 0;
  int64_t v = -1;
  if (!floor->fn) return hd_err_set(err, HD_INTERNAL, "a fence floor was given without a function");
  if (floor->fn(floor->ctx, &v, err) != 0) return -1;
  if (v < 0 || v >= HD_KV_MAX_FENCE)
    return hd_err_set(err, HD_INTERNAL, "fence floor %" PRId64 " is outside 0..2^53-1", v);
  *len = kv_fmt_i64(buf, v);
  return 0;
}

/* True when a draw script answered NOFENCE (the counter is missing, nothing was written). */
static bool kv_fence__missing(const redisReply *r) {
  return r->type == REDIS_REPLY_STATUS && r->len == 7 && memcmp(r->str, "NOFENCE", 7) == 0;
}

int kv_eval_fenced(hd_kv *kv, const char *script, int nkeys, const char *const *args,
                   const size_t *lens, int n, int seed_at, const hd_kv_fence_floor *floor,
                   redisReply **out, hd_err *err) {
  int rc = -1;
  char seed[KV_I64_BUF];
  const char *a[KV_EVAL_MAX_ARGS];
  size_t l[KV_EVAL_MAX_ARGS];
  *out = NULL;
  if (n < 1 || n > KV_EVAL_MAX_ARGS || seed_at < nkeys || seed_at >= n) {
    hd_err_set(err, HD_INTERNAL, "a fenced redis script was given %d arguments, seed at %d", n,
               seed_at);
    goto done;
  }
  memcpy(a, args, (size_t)n * sizeof *a);
  memcpy(l, lens, (size_t)n * sizeof *l);
  a[seed_at] = seed;
  /* At most twice: the second run carries the floor, so the script seeds the counter itself. */
  for (int attempt = 0; attempt < 2; attempt++) {
    if (*out) freeReplyObject(*out);
    *out = NULL;
    if (kv_fence__seed(floor, attempt > 0, seed, &l[seed_at], err) != 0) goto done;
    if (kv_eval(kv, script, nkeys, a, l, n, false, out, err) != 0) goto done;
    if (!kv_fence__missing(*out)) break;
  }
  rc = 0;
done:
  if (rc != 0 && *out) {
    freeReplyObject(*out);
    *out = NULL;
  }
  return rc;
}

int64_t kv_fence_life(int64_t ttl_ms) {
  return ttl_ms > HD_KV_FENCE_LIFE_MS ? ttl_ms : HD_KV_FENCE_LIFE_MS;
}

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

/* The lease's fence key into key (KV_LEASE_KEY_MAX bytes); its length. */
static size_t kv_lease__fence_key(const char *name, char *key) {
  return (size_t)snprintf(key, KV_LEASE_KEY_MAX, "{lease:%s}:fence", name);
}

/* Renew and release: the script on the lease key with "<holder>|<fence>" and, for renew (ttl_ms
 * given), the fence key, the ttl and the counter's life. *hit is true when the script answered 1.
 */
static int kv_lease__compare(hd_kv *kv, const char *script, const char *what, const char *name,
                             const char *holder, int64_t fence, const int64_t *ttl_ms,
                             bool idempotent, bool *hit, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char key[KV_LEASE_KEY_MAX], fence_key[KV_LEASE_KEY_MAX], value[KV_LEASE_VALUE_MAX];
  char ttl[KV_I64_BUF], life[KV_I64_BUF];
  *hit = false;
  if (kv_lease__check(name, holder, err) != 0) goto done;
  if (fence < 1) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "fencing token %" PRId64 " is not one a lease hands out (>= 1)", fence);
    goto done;
  }
  if (ttl_ms && kv_check_ttl(*ttl_ms, err) != 0) goto done;
  const size_t key_len = kv_lease__key(name, key);
  const size_t value_len = (size_t)snprintf(value, sizeof value, "%s|%" PRId64, holder, fence);
  if (ttl_ms) {
    const char *args[5] = {key, fence_key, value, ttl, life};
    const size_t lens[5] = {key_len, kv_lease__fence_key(name, fence_key), value_len,
                            kv_fmt_i64(ttl, *ttl_ms), kv_fmt_i64(life, kv_fence_life(*ttl_ms))};
    if (kv_eval(kv, script, 2, args, lens, 5, idempotent, &r, err) != 0) goto done;
  } else {
    const char *args[2] = {key, value};
    const size_t lens[2] = {key_len, value_len};
    if (kv_eval(kv, script, 1, args, lens, 2, idempotent, &r, err) != 0) goto done;
  }
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
                        const hd_kv_fence_floor *floor, bool *acquired, int64_t *fence,
                        hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char key[KV_LEASE_KEY_MAX], fence_key[KV_LEASE_KEY_MAX], ttl[KV_I64_BUF], life[KV_I64_BUF];
  *acquired = false;
  *fence = 0;
  if (kv_lease__check(name, holder, err) != 0 || kv_check_ttl(ttl_ms, err) != 0) goto done;
  const char *args[6] = {key, fence_key, holder, ttl, NULL, life};
  const size_t lens[6] = {kv_lease__key(name, key),
                          kv_lease__fence_key(name, fence_key),
                          strlen(holder),
                          kv_fmt_i64(ttl, ttl_ms),
                          0,
                          kv_fmt_i64(life, kv_fence_life(ttl_ms))};
  /* Not repeated after a lost reply: a repeat would see our own lease. */
  if (kv_eval_fenced(kv, kv_lease_acquire_lua, 2, args, lens, 6, 4, floor, &r, err) != 0) goto done;
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
