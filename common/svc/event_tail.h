/* A change feed's tail of a service's own outbox (svc/outbox.h): one tenant's events in outbox id
 * order, from a resume point, then live, each once, for a stream handler (rpc/stream.h) such as
 * WatchTickets. The outbox in MariaDB is the durable log: published rows stay
 * HELPDESK_OUTBOX_RETENTION (7 days), so a subscriber resumes exactly by event id, also after
 * Redis was wiped (the Redis stream is ordered by publish time, trimmed, and may repeat an entry
 * after a relay crash: it is not the log we resume from).
 *
 * Ids commit out of order: a transaction holding id 7 may commit after the one holding 8. The
 * tail never delivers past a gap until the gap is settled, so no event is skipped:
 *  - ids visible without a gap from the cursor up are delivered at once;
 *  - a gap (an id not visible while a higher one is) waits: it is either an open transaction's
 *    insert, or an id that was rolled back (a deadlock retry, a failed call) and never comes. Once
 *    the gap has been seen for HD_EVENT_TAIL_SETTLE_US, one locking read without waiting
 *    (LOCK IN SHARE MODE NOWAIT) over the ids up to the highest one seen then tells them apart:
 *    it fails while any of them is an uncommitted insert (InnoDB locks the record), and succeeds
 *    once every one is committed or gone; the cursor then passes them. The wait covers the short
 *    moment between an insert's id being drawn and its row being written.
 * So a feed shows an event HD_EVENT_TAIL_SETTLE_US late only behind a rolled-back id; otherwise
 * within one poll. On Galera (auto_increment_increment > 1) every step is a gap: correct, but
 * each batch waits the settle time.
 *
 * Event ids are the relay's, "<service>-<origin>-<outbox id>" (hd_outbox_event_id), so a feed's
 * event and the Redis stream's entry for it carry one id; the origin tells a cursor from another
 * database (restored elsewhere, or recreated) from ours. */
#ifndef HD_SVC_EVENT_TAIL_H
#define HD_SVC_EVENT_TAIL_H

#include <stddef.h>
#include <stdint.h>

#include "rpc/server.h"
#include "rpc/stream.h"
#include "svc/outbox.h"

#define HD_EVENT_TAIL_BATCH     200     /* outbox ids read per query */
#define HD_EVENT_TAIL_POLL_US   100000  /* how often an idle tail looks for new rows */
#define HD_EVENT_TAIL_SETTLE_US 500000  /* a gap's age before the locking read may settle it */
#define HD_EVENT_TAIL_SEND_US   1000000 /* how long a full buffer may stay full: then cut off */

/* One outbox row of the tenant, as the tail hands it over. Strings borrowed until the callback
 * returns. */
typedef struct hd_event_row {
  const char *event_id; /* "<service>-<origin>-<id>" */
  int64_t id;           /* the outbox id */
  int64_t aggregate_id;
  const char *event_type;
  const char *payload; /* the JSON object hd_outbox_append wrote */
  size_t payload_len;
  int64_t created_at_us;
} hd_event_row;

/* Called for each of the tenant's rows in id order, on the stream's thread: sends what it makes
 * of the row (or nothing, when a filter of its own does not match) and returns 0, or -1 with
 * call->err set (hd_stream_send's failure), which ends the tail. */
typedef int (*hd_event_tail_fn)(hd_call *call, hd_stream *st, const hd_event_row *row, void *arg);

/* What a feed follows. Strings borrowed for the call. */
typedef struct hd_event_tail_opts {
  const char *service;        /* the service's name, the event ids' first part: "tickets" */
  const char *tenant;         /* exact (the outbox's tenant column is a binary collation) */
  int64_t aggregate_id;       /* 0: any; else only this entity's events (a ticket's) */
  const char *type_prefix;    /* NULL or "": any; else only event types starting with it */
  const char *after_event_id; /* NULL or "": from now; else the last event the client got */
} hd_event_tail_opts;

/* Runs the feed on db (the stream thread's own connection) until the stream ends: every row of
 * o->tenant (and o->aggregate_id) after o->after_event_id in id order, then live ones, each given
 * to fn once. It polls every HD_EVENT_TAIL_POLL_US (at once again while a batch comes back full)
 * and looks at the stream at least that often. Returns -1 with call->err: the status that ended
 * the stream (CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE, RESOURCE_EXHAUSTED from fn), or before
 * the first event INVALID_ARGUMENT (an after_event_id that does not parse, or names an event not
 * written yet), FAILED_PRECONDITION (one of another database or service), OUT_OF_RANGE (events
 * after it were purged: older than the retention), UNAVAILABLE (MariaDB failed). */
int hd_event_tail_run(hd_call *call, hd_stream *st, hd_db *db, const hd_event_tail_opts *o,
                      hd_event_tail_fn fn, void *arg);

#endif
