/* The outbox relay every service that emits events runs as a background loop: rows written to
 * its `outbox` table in the same transaction as a change are published to a Redis stream and
 * then marked published. Several replicas relay at once without double work (FOR UPDATE SKIP
 * LOCKED); a crash between XADD and the mark only repeats an event, which consumers de-duplicate
 * by its id ("<service>-<outbox id>").
 *
 * The table every service uses (created by the kit's migrations, common/svc/migrations):
 *   outbox(id BIGINT AUTO_INCREMENT PRIMARY KEY, tenant, aggregate_id BIGINT, event_type,
 *          payload TEXT (JSON), created_at_us BIGINT, published_at_us BIGINT NULL,
 *          KEY (published_at_us, id)) */
#ifndef HD_SVC_OUTBOX_H
#define HD_SVC_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "svc/service.h"

/* The stream a service's events go to: "helpdesk:events:<service>". */
#define HD_OUTBOX_STREAM_PREFIX "helpdesk:events:"
#define HD_OUTBOX_BATCH         200

/* Publishes up to one batch of unpublished rows. *published (may be NULL) receives how many.
 * Any failure rolls the batch back (nothing is marked), so it is retried on the next round. */
int hd_outbox_relay_once(const hd_svc_env *env, hd_worker *w, size_t *published, hd_err *err);

/* The background loop (an hd_loop_fn): relays every HELPDESK_OUTBOX_POLL (default 100 ms), at
 * once again while batches come back full, and deletes published rows older than
 * HELPDESK_OUTBOX_RETENTION (default 7d) now and then. About once a second it sets the gauges
 * helpdesk_outbox_pending and helpdesk_outbox_lag_seconds (age of the oldest unpublished row). */
void hd_outbox_relay_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop);

#endif
