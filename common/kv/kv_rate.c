/* Token buckets: one EVALSHA checks the tenant's and the caller's bucket and takes from both, or
 * from neither (kv_rate.h). */
#include "kv/kv_rate.h"

#include <stdio.h>
#include <string.h>

#include "kv/kv_internal.h"

/* Room for "{rl:<len>:<tenant>}:c:<subject>". */
#define KV_RATE_KEY_MAX (2 * HD_KV_MAX_NAME + 32)

/* KEYS[1] the tenant's bucket, KEYS[2] the caller's; ARGV rate1 burst1 rate2 burst2 want (rate 0:
 * that bucket is not checked). Returns {0, granted} when the call may go on (granted tokens,
 * 1..want, taken from each checked bucket: as many as every one of them holds), else
 * {bucket, wait_us}: nothing taken, bucket 1 tenant or 2 caller.
 * The times are microseconds since the epoch (~1.8e15 < 2^53, exact in Lua's doubles), written
 * with %d and %.6f because Lua's own tostring keeps only 14 digits. */
static const char kv_rate__script[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local level = {}\n"
    "local worst, wait = 0, 0\n"
    "for i = 1, 2 do\n"
    "  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])\n"
    "  if rate > 0 then\n"
    "    local v = redis.call('HMGET', KEYS[i], 'tokens', 'at_us')\n"
    "    local tokens, at = tonumber(v[1]), tonumber(v[2])\n"
    "    if not tokens or not at then tokens, at = burst, now end\n"
    "    if now > at then tokens = math.min(burst, tokens + (now - at) * rate / 1000000) end\n"
    "    level[i] = tokens\n"
    "    if tokens < 1 then\n"
    "      local w = math.ceil((1 - tokens) * 1000000 / rate)\n"
    "      if w > wait then worst, wait = i, w end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if worst > 0 then return {worst, wait} end\n"
    "local n = tonumber(ARGV[5])\n"
    "for i = 1, 2 do\n"
    "  if level[i] and math.floor(level[i]) < n then n = math.floor(level[i]) end\n"
    "end\n"
    "for i = 1, 2 do\n"
    "  if level[i] then\n"
    "    local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])\n"
    "    redis.call('HSET', KEYS[i], 'tokens', string.format('%.6f', level[i] - n),\n"
    "               'at_us', string.format('%d', now))\n"
    "    redis.call('PEXPIRE', KEYS[i], math.ceil(burst * 1000 / rate) + 1000)\n"
    "  end\n"
    "end\n"
    "return {0, n}\n";

static int kv_rate__check_limit(const char *which, hd_kv_rate l, hd_err *err) {
  if (l.rate_per_s == 0) return 0;
  if (l.rate_per_s < 0 || l.rate_per_s > HD_KV_RATE_MAX || l.burst < 1 || l.burst > HD_KV_BURST_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "the %s rate limit %lld/s:%lld is out of range (rate 1..%d, burst 1..%d)",
                      which, (long long)l.rate_per_s, (long long)l.burst, HD_KV_RATE_MAX,
                      HD_KV_BURST_MAX);
  return 0;
}

int hd_kv_rate_take(hd_kv *kv, const char *tenant, const char *subject, hd_kv_rate tenant_limit,
                    hd_kv_rate caller_limit, hd_kv_rate_bucket *refused, int64_t *retry_after_us,
                    hd_err *err) {
  int64_t granted = 0;
  return hd_kv_rate_take_n(kv, tenant, subject, tenant_limit, caller_limit, 1, &granted, refused,
                           retry_after_us, err);
}

int hd_kv_rate_take_n(hd_kv *kv, const char *tenant, const char *subject, hd_kv_rate tenant_limit,
                      hd_kv_rate caller_limit, int64_t want, int64_t *granted,
                      hd_kv_rate_bucket *refused, int64_t *retry_after_us, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char tkey[KV_RATE_KEY_MAX], ckey[KV_RATE_KEY_MAX];
  char nums[5][KV_I64_BUF];
  *refused = HD_KV_RATE_ALLOWED;
  *retry_after_us = 0;
  *granted = 0;
  if (want < 1 || want > HD_KV_BURST_MAX) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "asked for %lld rate-limit tokens; ask for 1 to %d",
               (long long)want, HD_KV_BURST_MAX);
    goto done;
  }
  if (kv_check_name("rate-limit tenant", tenant, err) != 0 ||
      kv_check_name("rate-limit subject", subject, err) != 0 ||
      kv_rate__check_limit("tenant", tenant_limit, err) != 0 ||
      kv_rate__check_limit("caller", caller_limit, err) != 0)
    goto done;
  if (tenant_limit.rate_per_s == 0 && caller_limit.rate_per_s == 0) {
    *granted = want;
    rc = 0;
    goto done;
  }
  const size_t tlen = strlen(tenant);
  const size_t tkey_len = (size_t)snprintf(tkey, sizeof tkey, "{rl:%zu:%s}:t", tlen, tenant);
  const size_t ckey_len =
      (size_t)snprintf(ckey, sizeof ckey, "{rl:%zu:%s}:c:%s", tlen, tenant, subject);
  const char *args[7] = {tkey, ckey, nums[0], nums[1], nums[2], nums[3], nums[4]};
  const size_t lens[7] = {tkey_len,
                          ckey_len,
                          kv_fmt_i64(nums[0], tenant_limit.rate_per_s),
                          kv_fmt_i64(nums[1], tenant_limit.burst),
                          kv_fmt_i64(nums[2], caller_limit.rate_per_s),
                          kv_fmt_i64(nums[3], caller_limit.burst),
                          kv_fmt_i64(nums[4], want)};
  /* Retried once on a stale connection: a lost reply may cost the caller what it asked for, no
   * more. */
  if (kv_eval(kv, kv_rate__script, 2, args, lens, 7, true, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "EVALSHA (rate limit)", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
      r->element[0]->integer < 0 || r->element[0]->integer > 2) {
    kv_reply_unexpected("EVALSHA (rate limit)", err);
    goto done;
  }
  *refused = (hd_kv_rate_bucket)r->element[0]->integer;
  if (*refused != HD_KV_RATE_ALLOWED) {
    *retry_after_us = r->element[1]->integer > 0 ? r->element[1]->integer : 1;
  } else if (r->element[1]->integer < 1 || r->element[1]->integer > want) {
    kv_reply_unexpected("EVALSHA (rate limit)", err);
    goto done;
  } else {
    *granted = r->element[1]->integer;
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}
