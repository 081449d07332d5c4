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
  /* Redis Sentinel (kv_sentinel.c): "h1:p1,h2:p2,..." (copied) instead of host/port; the handle
   * asks them for master_name's primary at each connect, and connects anew after a connection
   * error or a READONLY reply (a failover). NULL or "": host and port. */
  const char *sentinels;
  const char *master_name; /* default "helpdesk" */
  /* The Sentinels' own login (a Sentinel with requirepass or ACL users; borrowed, copied): with
   * sentinel_password each lookup starts with AUTH sentinel_user sentinel_password ("default"
   * when no user). NULL or "": none. */
  const char *sentinel_user;
  const char *sentinel_password;
  /* Login and TLS (borrowed, copied by hd_kv_new; NULL or "" → unset). With a password every
   * connection starts with AUTH user password (user "default" when unset). With tls_ca_file the
   * connection is TLS, the server's certificate checked against it and the host; tls_cert_file
   * and tls_key_file are the client's certificate for a Redis with tls-auth-clients. */
  const char *user;
  const char *password;
  const char *tls_ca_file;
  const char *tls_cert_file;
  const char *tls_key_file;
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

/* ---- fencing tokens: the rule ----
 *
 * Fences only grow, also after Redis was wiped. A fence is drawn by INCR on a counter in Redis,
 * inside the same script that takes the lease, so a lease and its token are one atomic step.
 * MariaDB keeps the highest fence that wrote a row (tickets.fence) and refuses a write whose
 * fence is not greater, so a counter that restarted at 1 would have every fenced write refused
 * until it caught up. Hence:
 *  - the draw script refuses to draw from a missing counter (lost in a wipe, or expired) and
 *    says so; the call then asks the caller's floor (below) and runs the script again with it,
 *    which sets the counter to max(counter, floor) and draws from there: the first token after a
 *    loss is floor + 1 or more. Concurrent seeders agree: the counter is only ever raised, never
 *    lowered, so whichever runs first, both draw above both floors they read;
 *  - a counter has a bounded life: HD_KV_FENCE_LIFE_MS after its last draw (never less than the
 *    lease it fenced, renewals included); one that expired is re-seeded from the floor like a
 *    wiped one.
 * Why a floor and not a database sequence: a claim stays one Redis round trip, and MariaDB is
 * read only after a loss; the guarantee stays where it was, in MariaDB's fence check, so a fence
 * too low is refused, never accepted.
 * The caller's duty: the floor covers every fence that may reach the database. Routing records a
 * claim's fence in its own MariaDB before writing with it (AssignTicket), and its floor is the
 * highest fence it has recorded for the counter's group; a caller that can read the fenced row
 * itself may use its stored fence. A fence drawn but never recorded never writes, so it needs no
 * cover. All claims of one row must draw from one counter (one queue group, one lease name). */

/* Longest idle life of a fence counter (7 days): re-seeded from the floor after it. */
#define HD_KV_FENCE_LIFE_MS (7LL * 86400 * 1000)
/* Largest floor: fences stay exact in Lua's doubles (2^53). */
#define HD_KV_MAX_FENCE (1LL << 53)

/* Where a fence counter starts when Redis has lost it. */
typedef struct hd_kv_fence_floor {
  /* Sets *floor (0..HD_KV_MAX_FENCE - 1) to at least every fence of this counter that MariaDB
   * holds (see the rule above). Runs on the calling thread, inside the call that draws, and
   * only when the counter is missing. 0, or -1 with err filled: the draw then fails with it. */
  int (*fn)(void *ctx, int64_t *floor, hd_err *err);
  void *ctx; /* borrowed; handed to fn */
} hd_kv_fence_floor;

/* ---- leases with fencing (keys: "{lease:<name>}" and "{lease:<name>}:fence") ---- */

/* Takes the lease `name` for ttl_ms if free, value = holder + fencing token, where the token
 * comes from INCR on the fence key (the rule above: strictly increasing for the name while the
 * counter lives; after a loss, above floor). floor NULL: nothing stores these fences, and a lost
 * counter starts again at 1. *acquired false when someone else holds it. *fence receives the
 * token when acquired (0 when not). The holder must not contain '|' (the stored value is
 * "<holder>|<fence>"). Both keys have a ttl: the lease ttl_ms, the counter its life. */
int hd_kv_lease_acquire(hd_kv *kv, const char *name, const char *holder, int64_t ttl_ms,
                        const hd_kv_fence_floor *floor, bool *acquired, int64_t *fence,
                        hd_err *err);

/* Extends the lease if (and only if) holder with that fence still holds it (Lua compare-and-
 * pexpire), and the counter's life to at least ttl_ms. *still_held false otherwise. */
int hd_kv_lease_renew(hd_kv *kv, const char *name, const char *holder, int64_t fence,
                      int64_t ttl_ms, bool *still_held, hd_err *err);

/* Releases the lease if holder with that fence holds it (Lua compare-and-delete).
 * *released false when it had expired or was taken by another. */
int hd_kv_lease_release(hd_kv *kv, const char *name, const char *holder, int64_t fence,
                        bool *released, hd_err *err);

/* ---- queues and claims: oldest first, leased with fencing tokens ----
 * Keys of queue Q in group G (the group is the hash tag, so one script's keys share a slot on
 * Redis Cluster, and it is the fence domain: one counter for all queues of the group, so a
 * member that moves between queues of a group keeps drawing growing fences):
 *   "{q:G}:w:Q"  sorted set: member -> created_us; equal times order by member, byte for byte
 *                (pad numeric ids to one width when their order matters);
 *   "{q:G}:l:Q"  hash: member -> "<expires_ms>|<fence>|<holder>", the leases (Redis time);
 *   "{q:G}:fence" the group's fence counter (the rule above).
 * A leased member stays in the sorted set, at its place: when its lease expires or is released it
 * is claimable again where it was, still ordered by age. Each claim skips the live leases ahead
 * of the oldest free member, so remove a member once the work it was claimed for is done
 * (routing: after AssignTicket); then the leases ahead are only the claims in flight.
 * Key lives: the lease hash lives until its last lease ends (each claim and renewal extends it),
 * the counter as above; the sorted set has no ttl, because it is the queue itself (rebuilt from
 * MariaDB after a wipe, where a silent expiry would lose entries): it holds only what was added
 * and not removed, and Redis deletes it when it is empty.
 * Names: group and queue are names (HD_KV_MAX_NAME), the group without '{' or '}'. */

/* Adds member (at most HD_KV_MAX_NAME bytes) with its creation time |created_us| <= 2^53:
 * ZADD NX, so adding it again is a no-op that keeps its first time. *added (may be NULL) true
 * when it was new. */
int hd_kv_queue_add(hd_kv *kv, const char *group, const char *queue, const char *member,
                    int64_t created_us, bool *added, hd_err *err);

/* Removes member and its lease, if any (unconditionally: for a member assigned, closed or moved
 * elsewhere). *removed (may be NULL) true when it was in the queue. */
int hd_kv_queue_remove(hd_kv *kv, const char *group, const char *queue, const char *member,
                       bool *removed, hd_err *err);

/* How many members the queue holds, leased or not. */
int hd_kv_queue_depth(hd_kv *kv, const char *group, const char *queue, int64_t *depth, hd_err *err);

/* The age at now_us (the caller's clock) of the oldest member, leased or not; *has false and
 * *age_us 0 when the queue is empty. */
int hd_kv_queue_oldest_age(hd_kv *kv, const char *group, const char *queue, int64_t now_us,
                           bool *has, int64_t *age_us, hd_err *err);

/* A claim handed out by hd_kv_queue_claim. */
typedef struct hd_kv_claim {
  char member[HD_KV_MAX_NAME + 1];
  size_t queue;       /* hd_kv_queue_claim_any: the index of the queue it came from; else 0 */
  int64_t fence;      /* the fencing token: write with it */
  int64_t created_us; /* the member's place in the queue */
  int64_t expires_ms; /* when the lease ends, Redis time (ms since the epoch) */
} hd_kv_claim;

/* One atomic script: the oldest member not under a live lease is leased to holder for ttl_ms
 * with a fresh fencing token of the group (the rule above; floor NULL as for leases). *claimed
 * false (and *out zeroed) when every member is leased or the queue is empty. An expired lease
 * counts as free: its member is taken again, with a greater fence. Not retried after a lost
 * reply (the repeat would claim a second member); a lease lost that way expires. */
int hd_kv_queue_claim(hd_kv *kv, const char *group, const char *queue, const char *holder,
                      int64_t ttl_ms, const hd_kv_fence_floor *floor, bool *claimed,
                      hd_kv_claim *out, hd_err *err);

/* Most queues one claim looks at. */
#define HD_KV_MAX_CLAIM_QUEUES 16

/* hd_kv_queue_claim over n queues of one group (1..HD_KV_MAX_CLAIM_QUEUES; an agent's
 * departments): the oldest free member of any of them, equal times going to the queue listed
 * first; out->queue says which. A member must be in one queue of a group at a time (a move is a
 * remove and an add), since each queue has its own leases. */
int hd_kv_queue_claim_any(hd_kv *kv, const char *group, const char *const *queues, size_t n,
                          const char *holder, int64_t ttl_ms, const hd_kv_fence_floor *floor,
                          bool *claimed, hd_kv_claim *out, hd_err *err);

/* Extends member's lease to ttl_ms from now if holder still holds it with that fence and it has
 * not expired (byte-for-byte compare); also the counter's life. *still_held false otherwise. */
int hd_kv_queue_renew(hd_kv *kv, const char *group, const char *queue, const char *member,
                      const char *holder, int64_t fence, int64_t ttl_ms, bool *still_held,
                      hd_err *err);

/* Ends member's lease if holder holds it with that fence and it has not expired; the member stays
 * in the queue at its place, claimable again. *released false otherwise. */
int hd_kv_queue_release(hd_kv *kv, const char *group, const char *queue, const char *member,
                        const char *holder, int64_t fence, bool *released, hd_err *err);

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
