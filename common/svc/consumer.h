/* Event consumers, the mirror of the outbox relay (svc/outbox.h): a service declares a stream, a
 * consumer group and an apply function; the kit reads the stream through the group and applies
 * each event at most once, in one MariaDB transaction with the event's id.
 *
 * What the kit guarantees, per group:
 * - Once: the apply function runs in a transaction that also inserts (group, event_id) into
 *   consumed_events; a second delivery of an event finds that row, is acknowledged and skipped.
 * - Acknowledged after the commit only: a consumer that dies before its commit leaves the entry
 *   pending, and another consumer takes it over (XAUTOCLAIM) once it has been idle for
 *   claim_idle_ms; one that dies between commit and acknowledgement has it redelivered (to
 *   itself, under the same name, at restart; or claimed by another) and skipped as a duplicate.
 * - Poison events: an apply that fails (any code but UNAVAILABLE, which means MariaDB or Redis
 *   is down and pauses the consumer instead) leaves the entry pending for a later delivery; the
 *   delivery that fails when the entry has been delivered max_deliveries times moves it to the
 *   dead-letter stream with the reason, acknowledges it, and the group goes on. An entry that
 *   reached 2 x max_deliveries deliveries without an outcome (consumers died on it) is moved
 *   without another attempt; one whose envelope cannot be read is moved at once (no retry can
 *   make it readable). Moving is XADD then XACK: a crash between them may dead-letter it twice.
 * - From the start: the group is created at id 0, so events published before the first consumer
 *   ever ran are delivered.
 * - A wiped Redis: when the group is missing while MariaDB remembers applying from it
 *   (consumer_groups), or the group's last-delivered id is below the highest entry applied, the
 *   service's rebuild function runs, then the group is made again from the stream's start.
 *
 * THE VERSION RULE. Outbox relays on several replicas publish at once, so two events of one
 * entity (one ticket) can reach the stream out of order. An event that carries the entity's
 * state after a change also carries that state's version (ticket events: "version" in the
 * payload, the ticket's version after the change). A consumer that keeps derived state of the
 * entity applies such an event only when its version is greater than the highest version it has
 * applied for that entity, and otherwise ignores it (the event is still recorded as consumed and
 * acknowledged): hd_consumer_version_newer() decides and records, in the apply's transaction.
 * An older event then never overwrites newer state; an event that is skipped is one whose state
 * the consumer already has or has passed. Events that carry no version (version 0: a comment
 * added) are not ordered by this rule; their effect must not depend on order. The rule suits
 * events that carry state; an event that carries a delta (add 1) must not be skipped by version.
 *
 * Threads: a consumer belongs to the thread that polls it; the runtime runs each declared
 * consumer on its own thread with its own connections (hd_consumer_loop). */
#ifndef HD_SVC_CONSUMER_H
#define HD_SVC_CONSUMER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "svc/service.h"

/* Limits on what an entry may carry before it is read (past them: dead-lettered as unreadable). */
#define HD_CONSUMER_MAX_PAYLOAD 65535 /* bytes of the payload (HD_JSON_EVENT_LIMITS), as TEXT */
#define HD_CONSUMER_MAX_DEPTH   8     /* nesting of the payload (HD_JSON_EVENT_LIMITS) */
#define HD_CONSUMER_MAX_TENANT  64

/* Defaults of hd_consumer_options (a 0 field takes them). */
#define HD_CONSUMER_CLAIM_IDLE_MS      30000
#define HD_CONSUMER_MAX_DELIVERIES     5
#define HD_CONSUMER_BATCH              100
#define HD_CONSUMER_BLOCK_MS           200
#define HD_CONSUMER_CHECK_MS           1000
#define HD_CONSUMER_RETENTION_US       (7LL * 86400 * 1000000)
#define HD_CONSUMER_DEAD_LETTER_SUFFIX ":dead:" /* "<stream>:dead:<group>" */

/* One event as the apply function sees it; everything borrowed for the call. The envelope is the
 * outbox relay's (svc/outbox.c): event_id, type, tenant, aggregate_id, created_at_us, payload. */
typedef struct hd_event {
  const char *stream;
  const char *group;
  const char *entry_id;  /* the stream entry id, "<ms>-<seq>" */
  const char *event_id;  /* "<service>-<origin>-<outbox id>": unique, consumed_events' key */
  const char *type;      /* "ticket.created" */
  const char *tenant;    /* valid UTF-8, at most HD_CONSUMER_MAX_TENANT bytes */
  int64_t aggregate_id;  /* the entity the event is about (a ticket id) */
  int64_t created_at_us; /* when the outbox row was written; 0 when the envelope has none */
  int64_t version;       /* the payload's "version", >= 1; 0 when the event carries none */
  const char *payload;   /* the JSON text, NUL-terminated */
  size_t payload_len;
  const json_t *json;    /* the payload, parsed: an object */
  int64_t deliveries;    /* 1 on the first delivery */
  int64_t applied_at_us; /* the service clock's time of this attempt */
  /* The consumer's Redis connection (its thread's), for derived state an apply keeps in Redis
   * (routing's queues): only idempotent writes (ZADD NX, ZREM), since the apply may run again
   * and its transaction may still roll back; what MariaDB holds must stay the truth. */
  hd_kv *kv;
} hd_event;

/* Applies ev inside the transaction that records it (db is in that transaction; do not commit,
 * do not call hd_db_tx). 0 commits; -1 with err set rolls back and leaves the event for a later
 * delivery (see the poison rule above). May be run again for the same event after a deadlock,
 * so no effect outside the database but idempotent ones on ev->kv. app is hd_consumer_ctx.app. Runs
 * on the consumer's thread. */
typedef int (*hd_consumer_apply_fn)(hd_db *db, const hd_event *ev, void *app, hd_err *err);

/* Rebuilds the consumer's derived state held in Redis (queues, timers) from MariaDB, after Redis
 * lost the stream. Runs inside a transaction on db that holds the group's consumer_groups row,
 * so replicas do not rebuild at once; must be idempotent (a retry runs it again). Events applied
 * after it come through the group made again from the stream's start. */
typedef int (*hd_consumer_rebuild_fn)(hd_db *db, hd_kv *kv, void *app, hd_err *err);

/* Where a test's fault hook is called: inside the transaction after apply, just before COMMIT;
 * and after COMMIT, just before XACK. A hook that _exit()s there is a consumer that died. */
typedef enum hd_consumer_point {
  HD_CONSUMER_BEFORE_COMMIT,
  HD_CONSUMER_AFTER_COMMIT
} hd_consumer_point;
typedef void (*hd_consumer_fault_fn)(hd_consumer_point at, const hd_event *ev, void *arg);

typedef struct hd_consumer_options {
  int64_t claim_idle_ms;      /* take over entries pending this long; 0 → 30 s */
  unsigned max_deliveries;    /* dead-letter after this many failed deliveries; 0 → 5 */
  size_t batch;               /* entries per read or claim, 1..HD_KV_MAX_COUNT; 0 → 100 */
  int64_t block_ms;           /* longest wait for new entries, 1..1000; 0 → 200 */
  int64_t check_ms;           /* how often the group, the lag and Redis's state are looked at */
  int64_t retention_us;       /* consumed_events rows kept this long; 0 → 7 days */
  const char *dead_letter;    /* NULL → "<stream>:dead:<group>" */
  const char *consumer_name;  /* NULL → "<host>-<pid>" */
  hd_consumer_fault_fn fault; /* tests only: NULL in services */
  void *fault_arg;
} hd_consumer_options;

/* What a service declares (hd_service_def.consumers). */
typedef struct hd_consumer_def {
  const char *stream; /* "helpdesk:events:tickets" (HD_OUTBOX_STREAM_PREFIX + the producer) */
  const char *group;  /* the consuming service: "routing" */
  hd_consumer_apply_fn apply;
  hd_consumer_rebuild_fn rebuild; /* NULL: nothing to rebuild */
  hd_consumer_options opts;
} hd_consumer_def;

/* What a consumer works with; borrowed for the consumer's life. */
typedef struct hd_consumer_ctx {
  hd_db *db;
  hd_kv *kv;
  hd_metrics *metrics; /* may be NULL */
  hd_clock *clock;
  void *app; /* handed to apply and rebuild */
} hd_consumer_ctx;

/* Counts since the consumer was made. */
typedef struct hd_consumer_stats {
  uint64_t read;          /* entries handled (fresh, re-read or claimed) */
  uint64_t applied;       /* committed by apply and acknowledged */
  uint64_t duplicates;    /* already in consumed_events: acknowledged and skipped */
  uint64_t failed;        /* apply failed; left pending for a later delivery */
  uint64_t dead_lettered; /* moved to the dead-letter stream */
  uint64_t rebuilds;      /* times the rebuild function ran */
} hd_consumer_stats;

typedef struct hd_consumer hd_consumer;

/* Makes a consumer of def (borrowed: it must outlive the consumer) on ctx. INVALID_ARGUMENT for a
 * missing stream, group or apply, or an option out of range. Caller frees with
 * hd_consumer_free(). Nothing is sent until the first poll. */
int hd_consumer_new(const hd_consumer_def *def, const hd_consumer_ctx *ctx, hd_consumer **out,
                    hd_err *err);

/* NULL is a no-op. */
void hd_consumer_free(hd_consumer *c);

/* One round: looks at the group when due (first round, every check_ms, after a failure: creates
 * it, detects a wiped Redis and rebuilds, sets helpdesk_event_stream_lag), reads this consumer's
 * own pending entries once (first round), takes over entries idle for claim_idle_ms, then reads
 * new ones waiting up to block_ms, and handles each. -1 when MariaDB or Redis failed the round
 * (UNAVAILABLE and the like; what was handled stays handled); an event's own failure is not a
 * round failure. */
int hd_consumer_poll(hd_consumer *c, hd_err *err);

/* The counts so far. */
hd_consumer_stats hd_consumer_stats_get(const hd_consumer *c);

/* The consumer's name in the group. Borrowed for the consumer's life. */
const char *hd_consumer_name(const hd_consumer *c);

/* THE VERSION RULE's helper, for the apply function (db in the apply's transaction): *newer is
 * true when ev->version is greater than the highest version the group has applied for ev's
 * entity ("<stream>|<tenant>|<aggregate_id>"), which then becomes ev->version (the row stays
 * locked until the transaction ends, so two deliveries of one entity's events serialise); false
 * when it is not (apply nothing). ev->version 0 (no version): *newer is true, nothing recorded. */
int hd_consumer_version_newer(hd_db *db, const hd_event *ev, bool *newer, hd_err *err);

/* The runtime's loop for one declared consumer (service.c): polls until *stop, pausing after a
 * failed round (logged once per outage). Reads HELPDESK_CONSUMER_CLAIM_IDLE and
 * HELPDESK_CONSUMER_MAX_DELIVERIES as defaults for options left 0. */
void hd_consumer_loop(hd_svc_env *env, hd_worker *w, const hd_consumer_def *def,
                      const _Atomic bool *stop);

#endif
