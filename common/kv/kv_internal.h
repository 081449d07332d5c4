/* Internals shared by the files of common/kv (kv.c, kv_lease.c, kv_queue.c, kv_idem.c,
 * kv_stream.c, kv_timer.c): the raw call that keeps hiredis's reply, Lua scripts, and input checks.
 */
#ifndef HD_KV_KV_INTERNAL_H
#define HD_KV_KV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "kv/kv.h"

/* Room for an int64 in decimal with its sign and NUL. */
#define KV_I64_BUF 24

/* Sends one command and hands back Redis's reply as it is, error replies included, so callers
 * can look at BUSYGROUP or NOSCRIPT. An I/O or protocol error drops the connection (the next
 * call reconnects) and is UNAVAILABLE; an idempotent command that failed on a connection made
 * by an earlier call is sent once more on a fresh one. extra_ms lengthens the socket timeout of
 * this one command (a blocking read). *out owned by caller: freeReplyObject(). */
int kv_call(hd_kv *kv, int argc, const char **argv, const size_t *argvlen, bool idempotent,
            int64_t extra_ms, redisReply **out, hd_err *err);

/* ---- TLS to Redis (kv_tls.c): hiredis 0.14 has none, so OpenSSL runs on hiredis's socket and a
 * redisReader parses the replies. One kv_tls per handle, one TLS session per connection. ---- */
typedef struct kv_tls kv_tls;

/* The TLS context of cfg (CA, optional client certificate); *out NULL when cfg asks for no TLS
 * (no tls_ca_file). Caller frees with kv_tls_free(). FAILED_PRECONDITION for unreadable files. */
int kv_tls_new(const hd_kv_config *cfg, kv_tls **out, hd_err *err);
void kv_tls_free(kv_tls *t);

/* Handshake on c's connected socket; the server's certificate must chain to the CA and name
 * host (a SAN IP address for an address). 0, or -1 with c->err / c->errstr filled (and errno
 * kept for a timeout). */
int kv_tls_start(kv_tls *t, redisContext *c, const char *host);

/* Forgets the connection's TLS session (before or after redisFree of its context). */
void kv_tls_end(kv_tls *t);

/* redisCommandArgv over the TLS session: the reply (caller frees with freeReplyObject), or NULL
 * with c->err / c->errstr filled as hiredis would. */
redisReply *kv_tls_command(kv_tls *t, redisContext *c, int argc, const char **argv,
                           const size_t *argvlen);

/* INTERNAL: "redis <cmd>: <Redis's error text>". Returns -1. */
int kv_reply_error(const redisReply *r, const char *cmd, hd_err *err);

/* INTERNAL: "unexpected reply to <cmd>". Returns -1. */
int kv_reply_unexpected(const char *cmd, hd_err *err);

/* Runs a Lua script with nkeys keys followed by the other arguments in args (n in all, at most
 * KV_EVAL_MAX_ARGS): EVALSHA, then EVAL when Redis answers NOSCRIPT (a restart or SCRIPT FLUSH
 * emptied its cache; the script has not run then, so EVAL is safe for any script).
 * *out owned by caller: freeReplyObject(); error replies are handed back as for kv_call. */
/* Room for a claim over HD_KV_MAX_CLAIM_QUEUES queues: 1 + 2 per queue keys, 4 arguments. */
#define KV_EVAL_MAX_ARGS (5 + 2 * HD_KV_MAX_CLAIM_QUEUES)
int kv_eval(hd_kv *kv, const char *script, int nkeys, const char *const *args, const size_t *lens,
            int n, bool idempotent, redisReply **out, hd_err *err);

/* INVALID_ARGUMENT unless s is non-NULL, non-empty and at most HD_KV_MAX_NAME bytes; `what`
 * names the argument in the message. */
int kv_check_name(const char *what, const char *s, hd_err *err);

/* INVALID_ARGUMENT unless 1 <= ttl_ms <= HD_KV_MAX_TTL_MS. */
int kv_check_ttl(int64_t ttl_ms, hd_err *err);

/* Writes v in decimal into buf (KV_I64_BUF bytes); returns its length. */
size_t kv_fmt_i64(char buf[KV_I64_BUF], int64_t v);

/* ---- fence counters (kv_lease.c; the rule is in kv.h) ---- */

/* A Lua function for scripts that draw a fence, put in front of them:
 * hd_fence_draw(key, seed, life_ms) returns the next token of counter `key`, or nil when the
 * counter is missing and seed is "" (the script then answers the status NOFENCE, having written
 * nothing). A seed (decimal) raises the counter to at least it first. The counter's ttl is
 * extended to at least life_ms. */
#define KV_FENCE_DRAW_LUA                                                  \
  "local function hd_fence_draw(key, seed, life)\n"                        \
  "  local cur = redis.call('GET', key)\n"                                 \
  "  if seed ~= '' and (not cur or tonumber(cur) < tonumber(seed)) then\n" \
  "    redis.call('SET', key, seed)\n"                                     \
  "  elseif not cur then\n"                                                \
  "    return nil\n"                                                       \
  "  end\n"                                                                \
  "  local fence = redis.call('INCR', key)\n"                              \
  "  if redis.call('PTTL', key) < tonumber(life) then\n"                   \
  "    redis.call('PEXPIRE', key, life)\n"                                 \
  "  end\n"                                                                \
  "  return fence\n"                                                       \
  "end\n"

/* Runs a draw script (kv_eval, never repeated after a lost reply) with n arguments of which
 * args[seed_at] is the seed (its value in args is ignored): first "0" when floor is NULL (nothing
 * stores the fences) and "" otherwise (refuse a missing counter); when the script answers
 * NOFENCE, once more with the floor floor->fn gives (0..HD_KV_MAX_FENCE - 1, INTERNAL otherwise),
 * with which the script seeds the counter itself. -1 with err filled when fn fails.
 * *out owned by caller: freeReplyObject(); any other reply is handed back as kv_eval's. */
int kv_eval_fenced(hd_kv *kv, const char *script, int nkeys, const char *const *args,
                   const size_t *lens, int n, int seed_at, const hd_kv_fence_floor *floor,
                   redisReply **out, hd_err *err);

/* ---- Redis Sentinel (kv_sentinel.c) ---- */

typedef struct kv_sentinel kv_sentinel;

/* Parses list ("host:port,...", at most 16) for the primary named master (NULL or "":
 * "helpdesk"), logging in to each Sentinel as user with password when password is set (both
 * copied; NULL or "": no AUTH). *out owned by the caller: kv_sentinel_free(). INVALID_ARGUMENT
 * naming the entry. */
int kv_sentinel_new(const char *list, const char *master, const char *user, const char *password,
                    kv_sentinel **out, hd_err *err);
void kv_sentinel_free(kv_sentinel *s);

/* Asks the Sentinels in turn (the one that answered last first) for the primary's address;
 * replaces *host (malloc'd; freed here) and *port. UNAVAILABLE when none can say. */
int kv_sentinel_primary(kv_sentinel *s, unsigned timeout_ms, char **host, unsigned *port,
                        hd_err *err);

/* ROLE on a new connection c to addr: 0 when it is a primary, else UNAVAILABLE. */
int kv_sentinel_check_role(redisContext *c, const char *addr, hd_err *err);

/* True for a READONLY error reply: the command reached a replica (a failover happened) and did
 * not run. */
bool kv_sentinel_readonly(const redisReply *r);

/* The counter's life for a lease of ttl_ms: max(HD_KV_FENCE_LIFE_MS, ttl_ms). */
int64_t kv_fence_life(int64_t ttl_ms);

#endif
