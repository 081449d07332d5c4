/* Redis through hiredis: a connection with reconnect, and the primitives the services need:
 * leases with fencing tokens, idempotency keys, streams with consumer groups, timer wake-ups.
 * Keys one Lua script touches share a hash tag ({...}) so Redis Cluster can be used later.
 * Redis holds only what can be rebuilt; MariaDB stays the source of truth. */
#ifndef HD_KV_KV_H
#define HD_KV_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Limits on every input, checked before anything is sent (INVALID_ARGUMENT past them). */
/* Bytes of a lease name or holder, an idempotency scope or key, a stream, group, consumer, entry
 * id or field name, a sorted set or a member; never empty. */
#define HD_KV_MAX_NAME     200
#define HD_KV_MAX_VALUE    (16u << 20) /* bytes of an idempotency value or a stream field value */
#define HD_KV_MAX_FIELDS   256         /* fields of one stream entry (at least 1) */
#define HD_KV_MAX_COUNT    10000       /* entries read or claimed by one call (at least 1) */
#define HD_KV_MAX_BLOCK_MS 60000       /* longest blocking read */
/* Longest lease or idempotency ttl (at least 1 ms). */
#define HD_KV_MAX_TTL_MS (30LL * 86400 * 1000)
/* |due_us| of a timer: a sorted-set score (a double) holds integers exactly up to 2^53. */
#define HD_KV_MAX_DUE_US (1LL << 53)
#define HD_KV_MAX_ARGS   4096 /* arguments of one hd_kv_cmd (at least 1) */

typedef struct hd_kv_config {
  const char *host;    /* borrowed for the life of the hd_kv (copied); NULL or "" → 127.0.0.1 */
  unsigned port;       /* 0 → 6379 */
  unsigned timeout_ms; /* connect and command timeout, default 2000 when 0 */
} hd_kv_config;

/* One connection. A handle is used by one thread at a time (the runtime gives each worker and
 * loop its own). The process must ignore SIGPIPE (the rpc server does), since hiredis writes to
 * sockets the server may have closed. */
typedef struct hd_kv hd_kv;

/* Creates a handle; connects lazily and reconnects after any I/O error (a service starts while
 * Redis is down). Caller frees with hd_kv_close(). -1 only on out of memory. */
int hd_kv_new(const hd_kv_config *cfg, hd_kv **out, hd_err *err);
void hd_kv_close(hd_kv *kv);

/* PING; UNAVAILABLE when Redis does not answer. */
int hd_kv_ping(hd_kv *kv, hd_err *err);

/* A reply, simplified. Caller frees with hd_kv_reply_free(). */
typedef enum hd_kv_reply_type {
  HD_KV_NIL,
  HD_KV_INT,
  HD_KV_STR,
  HD_KV_ARRAY,
  HD_KV_STATUS
} hd_kv_reply_type;
typedef struct hd_kv_reply {
  hd_kv_reply_type type;
  int64_t integer;
  char *str; /* STR / STATUS, NUL-terminated */
  size_t len;
  struct hd_kv_reply **elems; /* ARRAY */
  size_t n;
} hd_kv_reply;
void hd_kv_reply_free(hd_kv_reply *r);

/* Runs one command given as binary-safe arguments (argvlen NULL: every argument is a C string).
 * A Redis error reply → INTERNAL with its text, also when it is nested in an array (every call
 * below maps them the same way, except that LOADING, BUSY, MASTERDOWN, TRYAGAIN, CLUSTERDOWN and
 * READONLY, which a retry can cure, are UNAVAILABLE, and OOM is RESOURCE_EXHAUSTED); an I/O error
 * → UNAVAILABLE (and one retry after reconnect for commands the caller marks idempotent).
 * *out (may be NULL to discard) owned by caller. */
int hd_kv_cmd(hd_kv *kv, int argc, const char **argv, const size_t *argvlen, bool idempotent,
              hd_kv_reply **out, hd_err *err);

/* ---- leases with fencing (keys: "{lease:<name>}" and "{lease:<name>}:fence") ---- */

/* Takes the lease `name` for ttl_ms if free: SET NX PX, value = holder + fencing token, where the
 * token comes from INCR on the fence key (strictly increasing for the name, never reused).
 * *acquired false when someone else holds it. *fence receives the token when acquired (0 when not).
 * The holder must not contain '|' (the stored value is "<holder>|<fence>"). */
int hd_kv_lease_acquire(hd_kv *kv, const char *name, const char *holder, int64_t ttl_ms,
                        bool *acquired, int64_t *fence, hd_err *err);

/* Extends the lease if (and only if) holder with that fence still holds it (Lua compare-and-
 * pexpire). *still_held false otherwise. */
int hd_kv_lease_renew(hd_kv *kv, const char *name, const char *holder, int64_t fence,
                      int64_t ttl_ms, bool *still_held, hd_err *err);

/* Releases the lease if holder with that fence holds it (Lua compare-and-delete).
 * *released false when it had expired or was taken by another. */
int hd_kv_lease_release(hd_kv *kv, const char *name, const char *holder, int64_t fence,
                        bool *released, hd_err *err);

/* ---- idempotency keys (key: "idem:{<scope>}:<key>") ---- */

/* Claims key in scope for ttl_ms, storing value: SET NX PX. When it already exists *claimed is
 * false and *existing (caller frees with free(), may be NULL to ignore) receives the stored value.
 * The scope must not contain '{' or '}' (it is the key's hash tag). Needs Redis >= 7.0
 * (SET ... NX GET does both in one atomic step).
 * MariaDB's unique key stays the real guarantee; this is a fast path. */
int hd_kv_idem_claim(hd_kv *kv, const char *scope, const char *key, const char *value,
                     int64_t ttl_ms, bool *claimed, char **existing, hd_err *err);

/* ---- streams with consumer groups ---- */

typedef struct hd_kv_field {
  const char *name;
  const char *value;
  size_t value_len;
} hd_kv_field;

/* XADD stream MAXLEN ~ maxlen * fields... ; *id (caller frees, may be NULL) gets the entry id. */
int hd_kv_stream_add(hd_kv *kv, const char *stream, int64_t maxlen, const hd_kv_field *fields,
                     size_t n, char **id, hd_err *err);

/* XGROUP CREATE stream group $ MKSTREAM; an existing group (BUSYGROUP) is success. */
int hd_kv_group_ensure(hd_kv *kv, const char *stream, const char *group, hd_err *err);

/* XGROUP CREATE stream group start_id MKSTREAM: "0" delivers every entry the stream holds (an
 * event consumer's group, so events published before it first ran are not lost), "$" only later
 * ones. An existing group (BUSYGROUP) is success and keeps its position. */
int hd_kv_group_ensure_at(hd_kv *kv, const char *stream, const char *group, const char *start_id,
                          hd_err *err);

/* What XINFO GROUPS says about one group. */
typedef struct hd_kv_group_info {
  bool stream_exists;
  bool group_exists;
  char last_delivered[48]; /* the group's last-delivered-id ("0-0" when none or no group) */
  int64_t pending;         /* entries delivered and not acknowledged */
  int64_t lag;             /* entries not yet delivered; -1 when Redis cannot tell (< 7.0, or
                            * entries deleted past the group's position) */
} hd_kv_group_info;

/* Fills *out for group on stream; a missing stream or group is no error (the flags say so). */
int hd_kv_group_info_get(hd_kv *kv, const char *stream, const char *group, hd_kv_group_info *out,
                         hd_err *err);

/* A stream entry id "<ms>-<seq>" as its two numbers; -1 (no error) when id is not one. */
int hd_kv_stream_id_parse(const char *id, uint64_t *ms, uint64_t *seq);

/* One stream entry read by a consumer. */
typedef struct hd_kv_entry {
  char *id;
  hd_kv_field *fields; /* names and values owned by the entry */
  size_t n;
  int64_t deliveries; /* 1 for fresh reads; from XPENDING/XAUTOCLAIM otherwise when known */
} hd_kv_entry;

typedef struct hd_kv_batch {
  hd_kv_entry *entries;
  size_t n;
} hd_kv_batch;
void hd_kv_batch_free(hd_kv_batch *b); /* frees the entries, not b itself */

/* XREADGROUP GROUP group consumer COUNT count BLOCK block_ms STREAMS stream >.
 * block_ms < 0 → no BLOCK; 0 (Redis: wait forever) is INVALID_ARGUMENT, pass a bound up to
 * HD_KV_MAX_BLOCK_MS. An empty batch when nothing arrived. *out is emptied first; caller frees
 * its entries with hd_kv_batch_free() (also after a failure). */
int hd_kv_stream_read(hd_kv *kv, const char *stream, const char *group, const char *consumer,
                      size_t count, int64_t block_ms, hd_kv_batch *out, hd_err *err);

/* XREADGROUP ... STREAMS stream 0: the entries already delivered to this consumer and not
 * acknowledged (its own pending list, as a consumer that restarts under the same name reads it
 * before new ones), with deliveries from XPENDING. An entry deleted from the stream since comes
 * with no fields (n = 0). *out as for hd_kv_stream_read. */
int hd_kv_stream_read_pending(hd_kv *kv, const char *stream, const char *group,
                              const char *consumer, size_t count, hd_kv_batch *out, hd_err *err);

/* XACK stream group id. */
int hd_kv_stream_ack(hd_kv *kv, const char *stream, const char *group, const char *id, hd_err *err);

/* XAUTOCLAIM stream group consumer min_idle_ms 0-0 COUNT count: takes over messages left
 * pending by a dead consumer for longer than min_idle_ms (needs Redis >= 6.2). deliveries comes
 * from XPENDING over the claimed ids; 2 ("at least the second delivery") when XPENDING could not
 * tell. *out as for hd_kv_stream_read. */
int hd_kv_stream_claim_stale(hd_kv *kv, const char *stream, const char *group, const char *consumer,
                             int64_t min_idle_ms, size_t count, hd_kv_batch *out, hd_err *err);

/* ---- timer wake-ups (a sorted set; losing it loses nothing, MariaDB holds the due times) ---- */

/* ZADD zset due_us member. */
int hd_kv_timer_schedule(hd_kv *kv, const char *zset, const char *member, int64_t due_us,
                         hd_err *err);

/* The earliest due time in zset, or *has = false when empty. */
int hd_kv_timer_next(hd_kv *kv, const char *zset, bool *has, int64_t *due_us, hd_err *err);

/* Removes members due at or before now_us (ZREMRANGEBYSCORE); *popped (may be NULL) gets how many.
 */
int hd_kv_timer_pop_due(hd_kv *kv, const char *zset, int64_t now_us, int64_t *popped, hd_err *err);

#endif
