/* Routing's queues: one per department of a tenant, its unowned open tickets oldest first. The
 * truth is routing_tickets.queue in MariaDB (written by the ticket-event consumer and the
 * claims); Redis holds the same queues as the kit's sorted sets (kv.h, hd_kv_queue_*) so that a
 * claim is one atomic script, and they are rebuilt from MariaDB after Redis lost them.
 *
 * Keys: the kit's queue group is the tenant (the fence domain: claim_fences is per tenant), the
 * queue is the department, the member the ticket id zero-padded to 20 digits, so tickets created
 * in the same microsecond wait in id order. A tenant that a hash tag cannot hold ('{', '}') is
 * written in hex (routing_queue_group). */
#ifndef ROUTING_QUEUES_H
#define ROUTING_QUEUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"
#include "kv/kv.h"
#include "svc/service.h"

#define ROUTING_QUEUE_GROUP_MAX    (2 * 64 + 2) /* bytes of a group name, NUL included */
#define ROUTING_QUEUE_MEMBER_MAX   21           /* 20 digits and the NUL */
#define ROUTING_QUEUE_REBUILD_PAGE 1000         /* rows read per page while rebuilding */

/* The kit's queue group of tenant into buf (ROUTING_QUEUE_GROUP_MAX bytes): the tenant itself,
 * or "~" and its bytes in hex when it holds '{' or '}' or starts with '~'. */
void routing_queue_group(const char *tenant, char buf[ROUTING_QUEUE_GROUP_MAX]);

/* The member of ticket id: 20 digits, zero-padded. */
void routing_queue_member(int64_t ticket_id, char buf[ROUTING_QUEUE_MEMBER_MAX]);

/* The ticket id of a member; -1 (INTERNAL) when it is not one. */
int routing_queue_member_id(const char *member, int64_t *ticket_id, hd_err *err);

/* Puts ticket id in queue department of tenant at its place (created_us), or takes it out of
 * it. Idempotent (ZADD NX; a removal of what is not there changes nothing), so they may run
 * again after a rolled-back transaction, or for an event delivered twice. */
int routing_queue_put(hd_kv *kv, const char *tenant, const char *department, int64_t ticket_id,
                      int64_t created_us, hd_err *err);
int routing_queue_drop(hd_kv *kv, const char *tenant, const char *department, int64_t ticket_id,
                       hd_err *err);

/* Puts every ticket MariaDB says is waiting (routing_tickets.queue <> '') into its Redis queue,
 * page by page in (queue, tenant, created_at_us, ticket_id) order. What Redis holds beyond that
 * stays (a claim checks each member against MariaDB and drops stale ones). *added (may be NULL)
 * receives how many were missing. Idempotent. db may be in a transaction (the consumer's rebuild
 * hook) or not (start-up). */
int routing_queues_rebuild(hd_db *db, hd_kv *kv, int64_t *added, hd_err *err);

/* The marker that says Redis holds the queues rebuilt from database (one per database, so
 * services and fixtures sharing a Redis keep theirs apart): "helpdesk:{routing}:queues:<db>". */
#define ROUTING_QUEUE_MARKER_MAX 120
void routing_queue_marker(const char *database, char buf[ROUTING_QUEUE_MARKER_MAX]);

/* Rebuilds the queues when the marker is missing (a fresh or wiped Redis, however it was wiped:
 * the consumer notices only a lost stream it had applied from): sets the marker first, then
 * rebuilds, so a wipe during the rebuild removes the marker and the next call rebuilds again.
 * force rebuilds whatever the marker says (a routing that starts: Redis may have lost members
 * without losing the marker). *rebuilt (may be NULL) says whether it did; *added (may be NULL)
 * how many members were missing. */
int routing_queues_ensure(hd_db *db, hd_kv *kv, const char *marker, bool force, bool *rebuilt,
                          int64_t *added, hd_err *err);

/* Sets helpdesk_queue_depth and helpdesk_queue_oldest_ticket_age_seconds{queue} for every
 * department that has a waiting ticket (across tenants: the oldest of any), from MariaDB at
 * now_us; a department whose queue emptied since the last call is set to 0 (seen remembers up
 * to ROUTING_QUEUE_GAUGES_MAX names: caller-owned, zeroed at first). */
#define ROUTING_QUEUE_GAUGES_MAX 64
typedef struct routing_queue_seen {
  char names[ROUTING_QUEUE_GAUGES_MAX][65];
  size_t n;
} routing_queue_seen;
int routing_queues_gauges(hd_svc_env *env, hd_db *db, int64_t now_us, routing_queue_seen *seen,
                          hd_err *err);

#endif
