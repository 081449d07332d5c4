/* The Redis connection: lazy connect, reconnect after I/O errors, binary-safe commands through
 * redisCommandArgv, and hiredis replies turned into hd_kv_reply. */
#include "kv/kv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "kv/kv_internal.h"

#define KV_DEFAULT_HOST       "127.0.0.1"
#define KV_DEFAULT_PORT       6379u
#define KV_DEFAULT_TIMEOUT_MS 2000u
#define KV_CMD_NAME_MAX       32  /* bytes of a command name quoted in a message */
#define KV_ERR_TEXT_MAX       300 /* bytes of Redis's error text quoted in a message */

struct hd_kv {
  char *host; /* owned copy of the configured host */
  unsigned port;
  unsigned timeout_ms;
  redisContext *c;       /* NULL until the first call and after an I/O or protocol error */
  kv_sentinel *sentinel; /* HELPDESK_REDIS_SENTINELS (kv_sentinel.c); NULL: host and port */
  char *user, *password; /* owned copies; password NULL: no AUTH */
  kv_tls *tls;           /* NULL: plaintext */
};

/* strdup of a setting; NULL or "" stay NULL. false only when out of memory. */
static bool kv__dup(const char *s, char **out) {
  *out = (s && s[0]) ? strdup(s) : NULL;
  return !(s && s[0]) || *out;
}

int hd_kv_new(const hd_kv_config *cfg, hd_kv **out, hd_err *err) {
  int rc = -1;
  hd_kv *kv = calloc(1, sizeof *kv);
  const char *host = (cfg && cfg->host && cfg->host[0]) ? cfg->host : KV_DEFAULT_HOST;
  *out = NULL;
  if (!kv || !(kv->host = strdup(host)) || !kv__dup(cfg ? cfg->user : NULL, &kv->user) ||
      !kv__dup(cfg ? cfg->password : NULL, &kv->password)) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating the redis handle");
    goto done;
  }
  if (kv_tls_new(cfg, &kv->tls, err) != 0) goto done;
  kv->port = (cfg && cfg->port) ? cfg->port : KV_DEFAULT_PORT;
  kv->timeout_ms = (cfg && cfg->timeout_ms) ? cfg->timeout_ms : KV_DEFAULT_TIMEOUT_MS;
  if (cfg && cfg->sentinels && cfg->sentinels[0] &&
      kv_sentinel_new(cfg->sentinels, cfg->master_name, cfg->sentinel_user, cfg->sentinel_password,
                      &kv->sentinel, err) != 0)
    goto done;
  *out = kv;
  kv = NULL;
  rc = 0;
done:
  hd_kv_close(kv);
  return rc;
}

void hd_kv_close(hd_kv *kv) {
  if (!kv) return;
  if (kv->c) redisFree(kv->c);
  kv_sentinel_free(kv->sentinel);
  kv_tls_free(kv->tls);
  free(kv->host);
  free(kv->user);
  free(kv->password);
  free(kv);
}

static struct timeval kv__timeval(int64_t ms) {
  return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                          .tv_usec = (suseconds_t)((ms % 1000) * 1000)};
}

/* "host:port", with brackets around an IPv6 literal. */
static void kv__addr(const hd_kv *kv, char *buf, size_t size) {
  if (strchr(kv->host, ':'))
    snprintf(buf, size, "[%s]:%u", kv->host, kv->port);
  else
    snprintf(buf, size, "%s:%u", kv->host, kv->port);
}

/* Fills err from a context in error (saved_errno: errno right after the failed call), frees the
 * context and forgets it, so the next call reconnects. Returns -1. */
static int kv__fail(hd_kv *kv, redisContext *c, int saved_errno, hd_err *err) {
  char addr[300];
  kv__addr(kv, addr, sizeof addr);
  if (c->err == REDIS_ERR_OOM)
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory talking to redis at %s", addr);
  else if (c->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK))
    hd_err_set(err, HD_UNAVAILABLE, "redis unavailable at %s: no answer within the %u ms timeout",
               addr, kv->timeout_ms);
  else
    hd_err_set(err, HD_UNAVAILABLE, "redis unavailable at %s: %s", addr,
               c->errstr[0] ? c->errstr : "connection error");
  if (kv->c == c) kv->c = NULL;
  kv_tls_end(kv->tls);
  redisFree(c);
  return -1;
}

/* One command on c, over TLS when the handle has it. */
static redisReply *kv__command(hd_kv *kv, redisContext *c, int argc, const char **argv,
                               const size_t *argvlen) {
  if (kv->tls) return kv_tls_command(kv->tls, c, argc, argv, argvlen);
  return redisCommandArgv(c, argc, argv, argvlen);
}

/* AUTH [user] password on a fresh connection. A refused login is FAILED_PRECONDITION naming the
 * user and Redis's reason (the settings are wrong, a retry cannot help); the password is never
 * quoted. */
static int kv__auth(hd_kv *kv, redisContext *c, hd_err *err) {
  if (!kv->password) return 0;
  const char *argv[] = {"AUTH", kv->user ? kv->user : "default", kv->password};
  errno = 0;
  redisReply *r = kv__command(kv, c, 3, argv, NULL);
  if (!r) return kv__fail(kv, c, errno, err);
  int rc = 0;
  if (r->type == REDIS_REPLY_ERROR) {
    char addr[300];
    kv__addr(kv, addr, sizeof addr);
    hd_err_set(err, HD_FAILED_PRECONDITION,
               "redis at %s refused the login of user %s: %.*s (check HELPDESK_REDIS_USER and "
               "HELPDESK_REDIS_PASSWORD)",
               addr, argv[1], (int)(r->len > KV_ERR_TEXT_MAX ? KV_ERR_TEXT_MAX : r->len),
               r->str ? r->str : "");
    kv_tls_end(kv->tls);
    redisFree(c);
    rc = -1;
  }
  freeReplyObject(r);
  return rc;
}

static int kv__connect(hd_kv *kv, hd_err *err) {
  if (kv->sentinel &&
      kv_sentinel_primary(kv->sentinel, kv->timeout_ms, &kv->host, &kv->port, err) != 0)
    return -1;
  if (kv->port > 65535)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "redis port %u is out of range 1..65535", kv->port);
  const struct timeval tv = kv__timeval(kv->timeout_ms);
  errno = 0;
  redisContext *c = redisConnectWithTimeout(kv->host, (int)kv->port, tv);
  if (!c) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory connecting to redis");
  if (c->err) return kv__fail(kv, c, errno, err);
  errno = 0;
  if (redisSetTimeout(c, tv) != REDIS_OK) return kv__fail(kv, c, errno, err);
  if (kv->tls && kv_tls_start(kv->tls, c, kv->host) != 0) return kv__fail(kv, c, errno, err);
  if (kv__auth(kv, c, err) != 0) return -1;
  if (kv->sentinel) {
    char addr[300];
    kv__addr(kv, addr, sizeof addr);
    if (kv_sentinel_check_role(c, addr, err) != 0) {
      redisFree(c);
      return -1;
    }
  }
  kv->c = c;
  return 0;
}

int kv_call(hd_kv *kv, int argc, const char **argv, const size_t *argvlen, bool idempotent,
            int64_t extra_ms, redisReply **out, hd_err *err) {
  int rc = -1;
  *out = NULL;
  for (int attempt = 0; attempt < 2; attempt++) {
    const bool reused = kv->c != NULL;
    if (!kv->c && kv__connect(kv, err) != 0) goto done;
    errno = 0;
    if (extra_ms > 0 &&
        redisSetTimeout(kv->c, kv__timeval((int64_t)kv->timeout_ms + extra_ms)) != REDIS_OK) {
      kv__fail(kv, kv->c, errno, err);
      goto done;
    }
    errno = 0;
    redisReply *r = kv__command(kv, kv->c, argc, argv, argvlen);
    const int saved_errno = errno;
    if (r && kv->sentinel && kv_sentinel_readonly(r) && attempt == 0) {
      /* A replica since a failover: the command did not run; connect anew, asking Sentinel. */
      freeReplyObject(r);
      redisFree(kv->c);
      kv->c = NULL;
      continue;
    }
    if (r) {
      /* The reply is whole; a socket that cannot take its timeout back is dropped for the next
       * call. */
      if (extra_ms > 0 && redisSetTimeout(kv->c, kv__timeval(kv->timeout_ms)) != REDIS_OK) {
        kv_tls_end(kv->tls);
        redisFree(kv->c);
        kv->c = NULL;
      }
      *out = r;
      rc = 0;
      goto done;
    }
    kv__fail(kv, kv->c, saved_errno, err);
    /* A connection this call made itself failed: another one would not fare better. And a
     * command that may have run must not run twice. */
    if (!idempotent || !reused) goto done;
  }
done:
  return rc;
}

/* Error replies meaning "not now" rather than "wrong": a client may retry them. */
static hd_code kv__error_code(const char *text, size_t len) {
  static const char *const transient[] = {"LOADING",  "BUSY",        "MASTERDOWN",
                                          "TRYAGAIN", "CLUSTERDOWN", "READONLY"};
  size_t word = 0;
  while (word < len && text[word] != ' ') word++;
  for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
    if (strlen(transient[i]) == word && memcmp(text, transient[i], word) == 0)
      return HD_UNAVAILABLE;
  if (word == 3 && memcmp(text, "OOM", 3) == 0) return HD_RESOURCE_EXHAUSTED;
  return HD_INTERNAL;
}

int kv_reply_error(const redisReply *r, const char *cmd, hd_err *err) {
  const size_t len = r->str ? r->len : 0;
  /* A Redis with a password reached without one: the settings are wrong, not the call. */
  if (len >= 6 && memcmp(r->str, "NOAUTH", 6) == 0)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "redis %s: %.*s (this Redis needs a login: set HELPDESK_REDIS_USER and "
                      "HELPDESK_REDIS_PASSWORD)",
                      cmd, (int)(len > KV_ERR_TEXT_MAX ? KV_ERR_TEXT_MAX : len), r->str);
  return hd_err_set(err, kv__error_code(r->str, len), "redis %s: %.*s", cmd,
                    (int)(len > KV_ERR_TEXT_MAX ? KV_ERR_TEXT_MAX : len), r->str ? r->str : "");
}

int kv_reply_unexpected(const char *cmd, hd_err *err) {
  return hd_err_set(err, HD_INTERNAL, "redis %s: unexpected reply", cmd);
}

int hd_kv_ping(hd_kv *kv, hd_err *err) {
  const char *argv[] = {"PING"};
  redisReply *r = NULL;
  int rc = -1;
  if (kv_call(kv, 1, argv, NULL, true, 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "PING", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0) {
    kv_reply_unexpected("PING", err);
    goto done;
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

void hd_kv_reply_free(hd_kv_reply *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) hd_kv_reply_free(r->elems[i]);
  free(r->elems);
  free(r->str);
  free(r);
}

static int kv__oom(const char *cmd, hd_err *err) {
  return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the reply to redis %s", cmd);
}

/* Converts a hiredis reply; an error reply anywhere in it fails the whole conversion.
 * *out owned by caller: hd_kv_reply_free(). Recursion is bounded by hiredis's nesting limit. */
static int kv__convert(const redisReply *r, const char *cmd, hd_kv_reply **out, hd_err *err) {
  int rc = -1;
  hd_kv_reply *x = calloc(1, sizeof *x);
  if (!x) {
    kv__oom(cmd, err);
    goto done;
  }
  switch (r->type) {
    case REDIS_REPLY_ERROR:
      kv_reply_error(r, cmd, err);
      goto done;
    case REDIS_REPLY_NIL:
      x->type = HD_KV_NIL;
      break;
    case REDIS_REPLY_INTEGER:
      x->type = HD_KV_INT;
      x->integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      x->type = r->type == REDIS_REPLY_STRING ? HD_KV_STR : HD_KV_STATUS;
      x->str = malloc(r->len + 1);
      if (!x->str) {
        kv__oom(cmd, err);
        goto done;
      }
      if (r->len) memcpy(x->str, r->str, r->len);
      x->str[r->len] = '\0';
      x->len = r->len;
      break;
    case REDIS_REPLY_ARRAY:
      x->type = HD_KV_ARRAY;
      if (r->elements) {
        x->elems = calloc(r->elements, sizeof *x->elems);
        if (!x->elems) {
          kv__oom(cmd, err);
          goto done;
        }
        x->n = r->elements;
        for (size_t i = 0; i < r->elements; i++)
          if (kv__convert(r->element[i], cmd, &x->elems[i], err) != 0) goto done;
      }
      break;
    default:
      kv_reply_unexpected(cmd, err);
      goto done;
  }
  *out = x;
  x = NULL;
  rc = 0;
done:
  hd_kv_reply_free(x);
  return rc;
}

/* The command's name for messages: at most KV_CMD_NAME_MAX bytes, unprintable bytes as '?'. */
static void kv__cmd_name(const char *arg, size_t len, char buf[KV_CMD_NAME_MAX + 1]) {
  if (len > KV_CMD_NAME_MAX) len = KV_CMD_NAME_MAX;
  for (size_t i = 0; i < len; i++) buf[i] = (arg[i] >= 0x20 && arg[i] < 0x7f) ? arg[i] : '?';
  buf[len] = '\0';
}

int hd_kv_cmd(hd_kv *kv, int argc, const char **argv, const size_t *argvlen, bool idempotent,
              hd_kv_reply **out, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  hd_kv_reply *conv = NULL;
  char name[KV_CMD_NAME_MAX + 1];
  if (out) *out = NULL;
  if (argc < 1 || argc > HD_KV_MAX_ARGS || !argv) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "a redis command takes 1..%d arguments, got %d",
               HD_KV_MAX_ARGS, argc);
    goto done;
  }
  for (int i = 0; i < argc; i++) {
    if (!argv[i]) {
      hd_err_set(err, HD_INVALID_ARGUMENT, "argument %d of the redis command is NULL", i);
      goto done;
    }
  }
  kv__cmd_name(argv[0], argvlen ? argvlen[0] : strlen(argv[0]), name);
  if (kv_call(kv, argc, argv, argvlen, idempotent, 0, &r, err) != 0) goto done;
  if (kv__convert(r, name, &conv, err) != 0) goto done;
  if (out) {
    *out = conv;
    conv = NULL;
  }
  rc = 0;
done:
  hd_kv_reply_free(conv);
  if (r) freeReplyObject(r);
  return rc;
}

int kv_check_name(const char *what, const char *s, hd_err *err) {
  if (!s || !s[0]) return hd_err_set(err, HD_INVALID_ARGUMENT, "%s must not be empty", what);
  const size_t len = strnlen(s, HD_KV_MAX_NAME + 1);
  if (len > HD_KV_MAX_NAME)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s is longer than %d bytes", what, HD_KV_MAX_NAME);
  return 0;
}

int kv_check_ttl(int64_t ttl_ms, hd_err *err) {
  if (ttl_ms < 1 || ttl_ms > HD_KV_MAX_TTL_MS)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "ttl %" PRId64 " ms is outside 1..%lld ms", ttl_ms,
                      (long long)HD_KV_MAX_TTL_MS);
  return 0;
}

size_t kv_fmt_i64(char buf[KV_I64_BUF], int64_t v) {
  const int n = snprintf(buf, KV_I64_BUF, "%" PRId64, v);
  return n > 0 ? (size_t)n : 0;
}
