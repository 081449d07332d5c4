/* Prometheus metrics of one service: a registry object (no global state) that the rpc runtime,
 * handlers and background loops update from any thread, rendered in the text exposition format
 * 0.0.4, and a tiny HTTP endpoint that serves it on GET /metrics. */
#ifndef HD_METRICS_METRICS_H
#define HD_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct hd_metrics hd_metrics;

/* Gauges the runtime and services set by name (hd_metrics_gauge_set). */
#define HD_METRIC_OUTBOX_LAG_SECONDS \
  "helpdesk_outbox_lag_seconds" /* age of the oldest unpublished outbox row */
#define HD_METRIC_OUTBOX_PENDING "helpdesk_outbox_pending" /* unpublished outbox rows */
#define HD_METRIC_EVENT_STREAM_LAG \
  "helpdesk_event_stream_lag"                        /* entries a consumer group has yet to read */
#define HD_METRIC_QUEUE_DEPTH "helpdesk_queue_depth" /* tickets waiting, label queue */
#define HD_METRIC_QUEUE_OLDEST_AGE_SECONDS \
  "helpdesk_queue_oldest_ticket_age_seconds" /* label queue */
#define HD_METRIC_ESCALATIONS_OPEN \
  "helpdesk_escalations_open" /* not resolved nor bounced, label department */
#define HD_METRIC_ESCALATIONS_OVERDUE \
  "helpdesk_escalations_overdue" /* open and past the response window, label department */

/* Counters the event consumers add to (hd_metrics_counter_add), labels stream and group. */
#define HD_METRIC_EVENTS_APPLIED       "helpdesk_events_applied_total"
#define HD_METRIC_EVENTS_DUPLICATES    "helpdesk_events_duplicates_total"
#define HD_METRIC_EVENTS_DEAD_LETTERED "helpdesk_events_dead_lettered_total"

/* Counter of the calls between services (rpc/client.h hd_peer), labels peer, method and code:
 * one per attempt, with the status the peer answered. */
#define HD_METRIC_PEER_REQUESTS "helpdesk_peer_requests_total"

/* Limits: past them a new series is refused (gauges) or folded into method="_other" (rpc). */
#define HD_METRICS_MAX_METHODS     256  /* distinct rpc method label values */
#define HD_METRICS_MAX_GAUGES      1024 /* distinct gauge series (name + labels) */
#define HD_METRICS_MAX_LABELS      4    /* label pairs on one gauge series */
#define HD_METRICS_MAX_NAME        128  /* bytes of a metric or label name */
#define HD_METRICS_MAX_LABEL_VALUE 128  /* bytes of one label value */
#define HD_METRICS_MAX_METHOD      200  /* bytes of an rpc method label value; longer is cut */
#define HD_METRICS_MAX_RENDER      (8u << 20) /* bytes of one rendered exposition */

/* helpdesk_rpc_duration_seconds has these upper bounds (le), then +Inf:
 * 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 seconds. */
#define HD_METRICS_N_BUCKETS 13

/* Creates an empty registry. Caller frees with hd_metrics_free(). */
int hd_metrics_new(hd_metrics **out, hd_err *err);

/* Frees the registry. NULL is a no-op. No other thread may use it any more. */
void hd_metrics_free(hd_metrics *m);

/* Counts one finished call of method ("/pkg.Service/Method") that ended with code and took
 * duration_us: helpdesk_rpc_requests_total{method,code} and helpdesk_rpc_duration_seconds{method}.
 * Thread-safe; m may be NULL (no-op). */
void hd_metrics_observe_rpc(hd_metrics *m, const char *method, hd_code code, int64_t duration_us);

/* helpdesk_db_errors_total and helpdesk_redis_errors_total: one failed MariaDB / Redis operation.
 * Thread-safe; m may be NULL (no-op). */
void hd_metrics_db_error(hd_metrics *m);
void hd_metrics_redis_error(hd_metrics *m);

/* Sets gauge `name` for the series given by labels: a NULL-terminated list of alternating label
 * names and values ({"queue", "billing", NULL}), or NULL for none. Names must match
 * [a-zA-Z_:][a-zA-Z0-9_:]* (labels [a-zA-Z_][a-zA-Z0-9_]*), values must be valid UTF-8; limits
 * above. INVALID_ARGUMENT on a bad name or value, RESOURCE_EXHAUSTED past HD_METRICS_MAX_GAUGES.
 * Thread-safe; m may be NULL (returns 0). */
int hd_metrics_gauge_set(hd_metrics *m, const char *name, const char *const *labels, double value,
                         hd_err *err);

/* Adds delta (>= 0) to counter `name` for the series given by labels, creating it at 0 first;
 * rendered with TYPE counter. Names, labels and limits as for gauges (counter and gauge series
 * share HD_METRICS_MAX_GAUGES); a name already used by a gauge is INVALID_ARGUMENT, and so is a
 * negative delta. Thread-safe; m may be NULL (returns 0). */
int hd_metrics_counter_add(hd_metrics *m, const char *name, const char *const *labels, double delta,
                           hd_err *err);

/* Gives gauge `name` the HELP text rendered for it (copied; the names above have one already).
 * Thread-safe; m may be NULL (returns 0). */
int hd_metrics_gauge_describe(hd_metrics *m, const char *name, const char *help, hd_err *err);

/* Renders every metric in the text format 0.0.4 (HELP and TYPE lines, escaped label values).
 * *out is NUL-terminated; caller frees it with free(). Thread-safe. */
int hd_metrics_render(hd_metrics *m, char **out, size_t *len, hd_err *err);

/* The HTTP endpoint: its own thread serving GET /metrics (200, text/plain; version=0.0.4),
 * 404 for other paths, one request per connection. */
typedef struct hd_metrics_http hd_metrics_http;

/* Binds addr ("0.0.0.0:51051", "[::]:51051", "127.0.0.1:0" for a free port) and starts serving
 * m (borrowed: it must outlive the endpoint). Caller stops and frees with hd_metrics_http_stop().
 */
int hd_metrics_http_start(hd_metrics *m, const char *addr, hd_metrics_http **out, hd_err *err);

/* The bound port. */
int hd_metrics_http_port(const hd_metrics_http *h);

/* Stops the thread (an open connection is dropped), closes the socket, frees. NULL is a no-op. */
void hd_metrics_http_stop(hd_metrics_http *h);

#endif
