/* Oldest-first queues with leased claims (kv.h, "queues and claims"): a sorted set by creation
 * time, a hash of leases with fencing tokens drawn from the group's counter, and one Lua script
 * per step that reads and writes more than one key, so no other client slips in between. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/kv_internal.h"

/* Redis time in ms, used by every script that compares a lease with the clock. */
#define KV_QUEUE_NOW_LUA           \
  "local t = redis.call('TIME')\n" \
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/* KEYS: the fence counter, then each queue's sorted set and lease hash; ARGV: holder, ttl_ms,
 * seed, counter life. Walks each queue oldest first, 64 members a step (one HMGET for their
 * leases), to its first member with no lease or an expired one, and stops early where the
 * queue's times pass the best found so far; the oldest of those (equal times: the queue listed
 * first) gets a fence and the lease. Answers nil when none is free, NOFENCE when the counter is
 * missing (nothing written), or {member, fence, created_us, expires_ms, queue index from 0}. */
static const char kv_queue_claim_lua[] = KV_FENCE_DRAW_LUA KV_QUEUE_NOW_LUA
    "local best, best_score, best_q = nil, nil, nil\n"
    "for q = 1, (#KEYS - 1) / 2 do\n"
    "  local off, done = 0, false\n"
    "  while not done do\n"
    "    local batch = redis.call('ZRANGE', KEYS[2 * q], off, off + 63, 'WITHSCORES')\n"
    "    if #batch == 0 then break end\n"
    "    local names = {}\n"
    "    for i = 1, #batch, 2 do names[#names + 1] = batch[i] end\n"
    "    local held = redis.call('HMGET', KEYS[2 * q + 1], unpack(names))\n"
    "    for i = 1, #names do\n"
    "      local score = tonumber(batch[2 * i])\n"
    "      if best and score >= best_score then done = true break end\n"
    "      local h = held[i]\n"
    "      if not h or tonumber(string.match(h, '^%d+')) <= now then\n"
    "        best, best_score, best_q, done = names[i], score, q, true\n"
    "        break\n"
    "      end\n"
    "    end\n"
    "    off = off + 64\n"
    "  end\n"
    "end\n"
    "if not best then return false end\n"
    "local fence = hd_fence_draw(KEYS[1], ARGV[3], ARGV[4])\n"
    "if not fence then return redis.status_reply('NOFENCE') end\n"
    "local ttl = tonumber(ARGV[2])\n"
    "local exp = now + ttl\n"
    "local leases = KEYS[2 * best_q + 1]\n"
    "redis.call('HSET', leases, best, string.format('%d|%d|', exp, fence) .. ARGV[1])\n"
    "if redis.call('PTTL', leases) < ttl then redis.call('PEXPIRE', leases, ttl) end\n"
    "return {best, fence, best_score, exp, best_q - 1}\n";

/* The lease of ARGV[1] in KEYS[1] as (expires, fence, holder) when ARGV[2] holds it with fence
 * ARGV[3] and it has not expired; nil otherwise. */
#define KV_QUEUE_HELD_LUA                                                   \
  KV_QUEUE_NOW_LUA                                                          \
  "local h = redis.call('HGET', KEYS[1], ARGV[1])\n"                        \
  "if not h then return 0 end\n"                                            \
  "local exp, fence, holder = string.match(h, '^(%d+)|(%d+)|(.*)$')\n"      \
  "if fence ~= ARGV[3] or holder ~= ARGV[2] or tonumber(exp) <= now then\n" \
  "  return 0\n"                                                            \
  "end\n"

/* KEYS: leases, fence counter; ARGV: member, holder, fence, ttl_ms, counter life. 1 when
 * renewed. The lease hash and the counter then live at least as long as the lease. */
static const char kv_queue_renew_lua[] = KV_QUEUE_HELD_LUA
    "local ttl = tonumber(ARGV[4])\n"
    "redis.call('HSET', KEYS[1], ARGV[1], string.format('%d|', now + ttl) .. fence .. '|' .. "
    "holder)\n"
    "if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end\n"
    "if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[5]) then\n"
    "  redis.call('PEXPIRE', KEYS[2], ARGV[5])\n"
    "end\n"
    "return 1\n";

/* KEYS: leases; ARGV: member, holder, fence. 1 when released. */
static const char kv_queue_release_lua[] = KV_QUEUE_HELD_LUA
    "redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "return 1\n";

/* KEYS: queue, leases; ARGV: member. 1 when the member was in the queue. */
static const char kv_queue_remove_lua[] =
    "redis.call('HDEL', KEYS[2], ARGV[1])\n"
    "return redis.call('ZREM', KEYS[1], ARGV[1])\n";

/* KEYS: queue. {created_us} of the oldest member, or an empty array. */
static const char kv_queue_oldest_lua[] =
    "local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "if #r == 0 then return {} end\n"
    "return {tonumber(r[2])}\n";

/* "{q:" group "}:w:" queue, and the rest, with room. */
#define KV_QUEUE_KEY_MAX (2 * HD_KV_MAX_NAME + 16)

/* The keys of one queue. */
typedef struct kv_queue_keys {
  char queue[KV_QUEUE_KEY_MAX], leases[KV_QUEUE_KEY_MAX], fence[KV_QUEUE_KEY_MAX];
  size_t queue_len, leases_len, fence_len;
} kv_queue_keys;

/* Checks group and queue and writes their keys into k. */
static int kv_queue__keys(const char *group, const char *queue, kv_queue_keys *k, hd_err *err) {
  if (kv_check_name("queue group", group, err) != 0 || kv_check_name("queue name", queue, err))
    return -1;
  /* The group is the hash tag: a brace in it would move the tag and split a script's keys. */
  if (strpbrk(group, "{}"))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "queue group must not contain '{' or '}'");
  k->queue_len = (size_t)snprintf(k->queue, sizeof k->queue, "{q:%s}:w:%s", group, queue);
  k->leases_len = (size_t)snprintf(k->leases, sizeof k->leases, "{q:%s}:l:%s", group, queue);
  k->fence_len = (size_t)snprintf(k->fence, sizeof k->fence, "{q:%s}:fence", group);
  return 0;
}

/* Checks a holder and a fence as renew and release take them. */
static int kv_queue__check_holder(const char *member, const char *holder, int64_t fence,
                                  hd_err *err) {
  if (kv_check_name("queue member", member, err) != 0 ||
      kv_check_name("claim holder", holder, err) != 0)
    return -1;
  if (fence < 1)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "fencing token %" PRId64 " is not one a claim hands out (>= 1)", fence);
  return 0;
}

/* An integer reply from script `what` into *out. */
static int kv_queue__int_reply(const redisReply *r, const char *what, int64_t *out, hd_err *err) {
  if (r->type == REDIS_REPLY_ERROR) return kv_reply_error(r, what, err);
  if (r->type != REDIS_REPLY_INTEGER) return kv_reply_unexpected(what, err);
  *out = r->integer;
  return 0;
}

int hd_kv_queue_add(hd_kv *kv, const char *group, const char *queue, const char *member,
                    int64_t created_us, bool *added, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  kv_queue_keys k;
  char score[KV_I64_BUF];
  if (added) *added = false;
  if (kv_queue__keys(group, queue, &k, err) != 0 || kv_check_name("queue member", member, err) != 0)
    goto done;
  if (created_us < -HD_KV_MAX_DUE_US || created_us > HD_KV_MAX_DUE_US) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "created time %" PRId64 " us is outside +-2^53 (a score holds it exactly)",
               created_us);
    goto done;
  }
  const char *argv[] = {"ZADD", k.queue, "NX", score, member};
  const size_t argvlen[] = {4, k.queue_len, 2, kv_fmt_i64(score, created_us), strlen(member)};
  /* Idempotent: NX makes a repeat a no-op. */
  if (kv_call(kv, 5, argv, argvlen, true, 0, &r, err) != 0) goto done;
  int64_t n = 0;
  if (kv_queue__int_reply(r, "queue add", &n, err) != 0) goto done;
  if (added) *added = n == 1;
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

int hd_kv_queue_remove(hd_kv *kv, const char *group, const char *queue, const char *member,
                       bool *removed, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  kv_queue_keys k;
  if (removed) *removed = false;
  if (kv_queue__keys(group, queue, &k, err) != 0 || kv_check_name("queue member", member, err) != 0)
    goto done;
  const char *args[3] = {k.queue, k.leases, member};
  const size_t lens[3] = {k.queue_len, k.leases_len, strlen(member)};
  /* Idempotent: removing twice leaves what removing once does (a lost reply reads "absent"). */
  if (kv_eval(kv, kv_queue_remove_lua, 2, args, lens, 3, true, &r, err) != 0) goto done;
  int64_t n = 0;
  if (kv_queue__int_reply(r, "queue remove", &n, err) != 0) goto done;
  if (removed) *removed = n == 1;
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

int hd_kv_queue_depth(hd_kv *kv, const char *group, const char *queue, int64_t *depth,
                      hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  kv_queue_keys k;
  *depth = 0;
  if (kv_queue__keys(group, queue, &k, err) != 0) goto done;
  const char *argv[] = {"ZCARD", k.queue};
  const size_t argvlen[] = {5, k.queue_len};
  if (kv_call(kv, 2, argv, argvlen, true, 0, &r, err) != 0) goto done;
  if (kv_queue__int_reply(r, "queue depth", depth, err) != 0) goto done;
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

int hd_kv_queue_oldest_age(hd_kv *kv, const char *group, const char *queue, int64_t now_us,
                           bool *has, int64_t *age_us, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  kv_queue_keys k;
  *has = false;
  *age_us = 0;
  if (kv_queue__keys(group, queue, &k, err) != 0) goto done;
  const char *args[1] = {k.queue};
  const size_t lens[1] = {k.queue_len};
  if (kv_eval(kv, kv_queue_oldest_lua, 1, args, lens, 1, true, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "queue oldest", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements > 1 ||
      (r->elements == 1 && r->element[0]->type != REDIS_REPLY_INTEGER)) {
    kv_reply_unexpected("queue oldest", err);
    goto done;
  }
  if (r->elements == 1) {
    *has = true;
    *age_us = now_us - r->element[0]->integer;
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

/* The claim script's answer {member, fence, created_us, expires_ms, queue} into out; n queues
 * were asked. */
static int kv_queue__claim_reply(const redisReply *r, size_t n, hd_kv_claim *out, hd_err *err) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 5 ||
      r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len == 0 ||
      r->element[0]->len > HD_KV_MAX_NAME)
    return kv_reply_unexpected("queue claim", err);
  for (size_t i = 1; i < 5; i++)
    if (r->element[i]->type != REDIS_REPLY_INTEGER) return kv_reply_unexpected("queue claim", err);
  if (r->element[1]->integer < 1 || r->element[4]->integer < 0 ||
      (size_t)r->element[4]->integer >= n)
    return kv_reply_unexpected("queue claim", err);
  memcpy(out->member, r->element[0]->str, r->element[0]->len);
  out->member[r->element[0]->len] = '\0';
  out->fence = r->element[1]->integer;
  out->created_us = r->element[2]->integer;
  out->expires_ms = r->element[3]->integer;
  out->queue = (size_t)r->element[4]->integer;
  return 0;
}

int hd_kv_queue_claim_any(hd_kv *kv, const char *group, const char *const *queues, size_t n,
                          const char *holder, int64_t ttl_ms, const hd_kv_fence_floor *floor,
                          bool *claimed, hd_kv_claim *out, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char ttl[KV_I64_BUF], life[KV_I64_BUF];
  /* Each queue's two keys; the counter's key is the same in all (the group's). */
  kv_queue_keys *k = NULL;
  const char *args[KV_EVAL_MAX_ARGS];
  size_t lens[KV_EVAL_MAX_ARGS];
  *claimed = false;
  memset(out, 0, sizeof *out);
  if (!queues || n < 1 || n > HD_KV_MAX_CLAIM_QUEUES) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "a claim takes from 1 to %d queues, got %zu",
               HD_KV_MAX_CLAIM_QUEUES, queues ? n : 0);
    goto done;
  }
  if (kv_check_name("claim holder", holder, err) != 0 || kv_check_ttl(ttl_ms, err) != 0) goto done;
  k = calloc(n, sizeof *k);
  if (!k) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory claiming from %zu queues", n);
    goto done;
  }
  int nargs = 0;
  for (size_t i = 0; i < n; i++)
    if (kv_queue__keys(group, queues[i], &k[i], err) != 0) goto done;
  args[nargs] = k[0].fence;
  lens[nargs++] = k[0].fence_len;
  for (size_t i = 0; i < n; i++) {
    args[nargs] = k[i].queue;
    lens[nargs++] = k[i].queue_len;
    args[nargs] = k[i].leases;
    lens[nargs++] = k[i].leases_len;
  }
  const int nkeys = nargs;
  args[nargs] = holder;
  lens[nargs++] = strlen(holder);
  args[nargs] = ttl;
  lens[nargs++] = kv_fmt_i64(ttl, ttl_ms);
  const int seed_at = nargs;
  args[nargs] = NULL; /* the seed: kv_eval_fenced's */
  lens[nargs++] = 0;
  args[nargs] = life;
  lens[nargs++] = kv_fmt_i64(life, kv_fence_life(ttl_ms));
  /* Not repeated after a lost reply: a repeat would lease a second member. */
  if (kv_eval_fenced(kv, kv_queue_claim_lua, nkeys, args, lens, nargs, seed_at, floor, &r, err) !=
      0)
    goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "queue claim", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_NIL) {
    if (kv_queue__claim_reply(r, n, out, err) != 0) goto done;
    *claimed = true;
  }
  rc = 0;
done:
  if (rc != 0) memset(out, 0, sizeof *out);
  free(k);
  if (r) freeReplyObject(r);
  return rc;
}

int hd_kv_queue_claim(hd_kv *kv, const char *group, const char *queue, const char *holder,
                      int64_t ttl_ms, const hd_kv_fence_floor *floor, bool *claimed,
                      hd_kv_claim *out, hd_err *err) {
  const char *const queues[1] = {queue};
  return hd_kv_queue_claim_any(kv, group, queues, 1, holder, ttl_ms, floor, claimed, out, err);
}

int hd_kv_queue_renew(hd_kv *kv, const char *group, const char *queue, const char *member,
                      const char *holder, int64_t fence, int64_t ttl_ms, bool *still_held,
                      hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  kv_queue_keys k;
  char fence_buf[KV_I64_BUF], ttl[KV_I64_BUF], life[KV_I64_BUF];
  *still_held = false;
  if (kv_queue__keys(group, queue, &k, err) != 0 ||
      kv_queue__check_holder(member, holder, fence, err) != 0 || kv_check_ttl(ttl_ms, err) != 0)
    goto done;
  const char *args[7] = {k.leases, k.fence, member, holder, fence_buf, ttl, life};
  const size_t lens[7] = {k.leases_len,
                          k.fence_len,
                          strlen(member),
                          strlen(holder),
                          kv_fmt_i64(fence_buf, fence),
                          kv_fmt_i64(ttl, ttl_ms),
                          kv_fmt_i64(life, kv_fence_life(ttl_ms))};
  /* Idempotent: renewing twice moves the lease's end as once does. */
  if (kv_eval(kv, kv_queue_renew_lua, 2, args, lens, 7, true, &r, err) != 0) goto done;
  int64_t n = 0;
  if (kv_queue__int_reply(r, "queue renew", &n, err) != 0) goto done;
  *still_held = n == 1;
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

int hd_kv_queue_release(hd_kv *kv, const char *group, const char *queue, const char *member,
                        const char *holder, int64_t fence, bool *released, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  kv_queue_keys k;
  char fence_buf[KV_I64_BUF];
  *released = false;
  if (kv_queue__keys(group, queue, &k, err) != 0 ||
      kv_queue__check_holder(member, holder, fence, err) != 0)
    goto done;
  const char *args[4] = {k.leases, member, holder, fence_buf};
  const size_t lens[4] = {k.leases_len, strlen(member), strlen(holder),
                          kv_fmt_i64(fence_buf, fence)};
  /* Not retried: a repeat after a lost reply would report "not released" for a release that
   * happened. */
  if (kv_eval(kv, kv_queue_release_lua, 1, args, lens, 4, false, &r, err) != 0) goto done;
  int64_t n = 0;
  if (kv_queue__int_reply(r, "queue release", &n, err) != 0) goto done;
  *released = n == 1;
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}
