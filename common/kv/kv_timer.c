/* Timer wake-ups in a sorted set scored by due time in microseconds: schedule (ZADD), the earliest
 * due time (ZRANGE 0 0 WITHSCORES) and removal of what is due (ZREMRANGEBYSCORE). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kv/kv_internal.h"

static int kv_timer__check_time(const char *what, int64_t us, hd_err *err) {
  if (us < -HD_KV_MAX_DUE_US || us > HD_KV_MAX_DUE_US)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "%s %" PRId64 " us is outside +-2^53 (a score holds it exactly)", what, us);
  return 0;
}

int hd_kv_timer_schedule(hd_kv *kv, const char *zset, const char *member, int64_t due_us,
                         hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char due[KV_I64_BUF];
  if (kv_check_name("sorted set name", zset, err) != 0 ||
      kv_check_name("timer member", member, err) != 0 ||
      kv_timer__check_time("due time", due_us, err) != 0)
    goto done;
  kv_fmt_i64(due, due_us);
  const char *argv[] = {"ZADD", zset, due, member};
  /* Idempotent: the same score for the same member twice is once. */
  if (kv_call(kv, 4, argv, NULL, true, 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "ZADD", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_INTEGER) {
    kv_reply_unexpected("ZADD", err);
    goto done;
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

/* A score as Redis writes it ("1767571200000000", or in exponent form) back to an integer. */
static int kv_timer__score(const redisReply *s, int64_t *out) {
  if (s->type != REDIS_REPLY_STRING || s->len == 0) return -1;
  char *end = NULL;
  errno = 0;
  const long long v = strtoll(s->str, &end, 10);
  if (errno == 0 && end == s->str + s->len) {
    *out = v;
    return 0;
  }
  errno = 0;
  const double d = strtod(s->str, &end);
  if (errno != 0 || end != s->str + s->len ||
      !(d >= (double)-HD_KV_MAX_DUE_US && d <= (double)HD_KV_MAX_DUE_US))
    return -1;
  *out = (int64_t)d;
  return 0;
}

int hd_kv_timer_next(hd_kv *kv, const char *zset, bool *has, int64_t *due_us, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  *has = false;
  *due_us = 0;
  if (kv_check_name("sorted set name", zset, err) != 0) goto done;
  const char *argv[] = {"ZRANGE", zset, "0", "0", "WITHSCORES"};
  if (kv_call(kv, 5, argv, NULL, true, 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "ZRANGE", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_ARRAY || (r->elements != 0 && r->elements != 2)) {
    kv_reply_unexpected("ZRANGE", err);
    goto done;
  }
  if (r->elements == 2) {
    if (kv_timer__score(r->element[1], due_us) != 0) {
      kv_reply_unexpected("ZRANGE", err);
      goto done;
    }
    *has = true;
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

int hd_kv_timer_pop_due(hd_kv *kv, const char *zset, int64_t now_us, int64_t *popped, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char now[KV_I64_BUF];
  if (popped) *popped = 0;
  if (kv_check_name("sorted set name", zset, err) != 0 ||
      kv_timer__check_time("now", now_us, err) != 0)
    goto done;
  kv_fmt_i64(now, now_us);
  const char *argv[] = {"ZREMRANGEBYSCORE", zset, "-inf", now};
  /* Not retried: a repeat after a lost reply would remove nothing and report 0. */
  if (kv_call(kv, 4, argv, NULL, false, 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "ZREMRANGEBYSCORE", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_INTEGER) {
    kv_reply_unexpected("ZREMRANGEBYSCORE", err);
    goto done;
  }
  if (popped) *popped = r->integer;
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}
