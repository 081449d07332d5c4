/* The outbox: hd_outbox_append writes an event row in the same transaction as the change it
 * reports; the relay every service that emits events runs as a background loop publishes the
 * rows to a Redis stream and then marks them published. Several replicas relay at once without
 * double work (FOR UPDATE SKIP LOCKED); a crash between XADD and the mark only repeats an event,
 * which consumers de-duplicate by its id, "<service>-<origin>-<outbox id>" (hd_outbox_event_id).
 *
 * The table every service uses (created by the kit's migrations, common/svc/migrations):
 *   outbox(id BIGINT AUTO_INCREMENT PRIMARY KEY, tenant, aggregate_id BIGINT, event_type,
 *          payload TEXT (JSON), created_at_us BIGINT, published_at_us BIGINT NULL,
 *          KEY (published_at_us, id)) */
#ifndef HD_SVC_OUTBOX_H
#define HD_SVC_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "json/json.h"
#include "svc/service.h"

/* The stream a service's events go to: "helpdesk:events:<service>". */
#define HD_OUTBOX_STREAM_PREFIX "helpdesk:events:"
#define HD_OUTBOX_BATCH         200
#define HD_OUTBOX_PAYLOAD_MAX   HD_JSON_EVENT_MAX_BYTES /* the payload column is TEXT */
#define HD_OUTBOX_ORIGIN_LEN    12                      /* outbox_origin.origin: 12 hex digits */
#define HD_OUTBOX_EVENT_ID_MAX  128 /* bytes of an event id, NUL included: fits consumed_events */

/* Who and what an event is about: the envelope every payload starts with. Strings borrowed. */
typedef struct hd_outbox_event {
  const char *type;          /* "ticket.created": the entry's type, the payload's "event" */
  const char *tenant;        /* the tenant it happened in */
  const char *aggregate_key; /* the payload's name for the entity's id: "ticket_id" */
  int64_t aggregate_id;      /* the entity changed: the row's aggregate_id */
  const char *actor_id;      /* who made the change (NULL → null) */
  const char *actor_role;    /* as which role ("agent", "service"; NULL → null) */
  int64_t time_us;           /* when (the service's clock): the payload's time_us, created_at_us */
} hd_outbox_event;

/* Appends one outbox row for ev inside the caller's transaction, so that it commits or rolls back
 * with the change. The payload is the JSON object
 *   {"event": type, "tenant", <aggregate_key>: aggregate_id, "actor_id", "actor_role",
 *    "time_us", then body's members in body's order}
 * written compactly (hd_json_dump). body (may be NULL) is borrowed and left as it was. INTERNAL
 * when a member of body has an envelope member's name, or a string is not UTF-8;
 * RESOURCE_EXHAUSTED past HD_OUTBOX_PAYLOAD_MAX bytes; INVALID_ARGUMENT without type, tenant or
 * aggregate_key. */
int hd_outbox_append(hd_db *db, const hd_outbox_event *ev, json_t *body, hd_err *err);

/* Writes the id the relay gives outbox row outbox_id of the database behind db into
 * out[HD_OUTBOX_EVENT_ID_MAX]: "<service>-<origin>-<outbox id>", where origin is the database's
 * own random name (kit migration 005_outbox_origin). Unique across every database publishing to
 * one stream and across a database recreated from nothing. INTERNAL when the database has no
 * origin (its kit migrations did not run) or service is too long. */
int hd_outbox_event_id(hd_db *db, const char *service, int64_t outbox_id,
                       char out[HD_OUTBOX_EVENT_ID_MAX], hd_err *err);

/* Publishes up to one batch of unpublished rows. *published (may be NULL) receives how many.
 * Any failure rolls the batch back (nothing is marked), so it is retried on the next round. */
int hd_outbox_relay_once(const hd_svc_env *env, hd_worker *w, size_t *published, hd_err *err);

/* The background loop (an hd_loop_fn): relays every HELPDESK_OUTBOX_POLL (default 100 ms), at
 * once again while batches come back full, and deletes published rows older than
 * HELPDESK_OUTBOX_RETENTION (default 7d) now and then. It keeps the kit's other table too: about
 * once a minute of the service's clock (at once again while a batch comes back full) it purges
 * idempotency keys past their window (hd_idem_purge, HD_IDEM_PURGE_BATCH rows). About once a second
 * it sets the gauges helpdesk_outbox_pending and helpdesk_outbox_lag_seconds (age of the oldest
 * unpublished row). */
void hd_outbox_relay_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop);

#endif
