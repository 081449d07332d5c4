/* The change feed's tail of the outbox: resume by event id, deliver in id order, hold back at a
 * gap until it is settled (event_tail.h says how and why). */
#include "svc/event_tail.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"

/* The tail's position: every id up to cursor is settled (delivered, not the tenant's, or known
 * never to come); gap_from > 0 while ids above cursor wait for a gap seen at gap_seen_us, with
 * gap_horizon the highest id visible then. */
typedef struct tail {
  hd_call *call;
  hd_stream *st;
  hd_db *db;
  const hd_event_tail_opts *o;
  hd_event_tail_fn fn;
  void *arg;
  char prefix[HD_OUTBOX_EVENT_ID_MAX]; /* "<service>-<origin>-" */
  int64_t cursor;
  int64_t gap_from, gap_horizon, gap_seen_us;
} tail;

/* The prefix of our event ids, from the id the relay gives outbox row 0 ("tickets-<origin>-0"). */
static int tail__prefix(tail *t, hd_err *err) {
  if (hd_outbox_event_id(t->db, t->o->service, 0, t->prefix, err) != 0) return -1;
  t->prefix[strlen(t->prefix) - 1] = '\0';
  return 0;
}

/* Parses "<prefix><digits>" into *id. INVALID_ARGUMENT for anything else, FAILED_PRECONDITION
 * for an id of this service with another origin. */
static int tail__parse(const tail *t, const char *s, int64_t *id, hd_err *err) {
  const size_t plen = strlen(t->prefix), slen = strlen(s);
  if (slen >= HD_OUTBOX_EVENT_ID_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "after_event_id has %zu bytes; event ids have at most %d", slen,
                      HD_OUTBOX_EVENT_ID_MAX - 1);
  if (strncmp(s, t->prefix, plen) != 0) {
    const size_t svc = strlen(t->o->service);
    if (strncmp(s, t->o->service, svc) == 0 && s[svc] == '-' && strchr(s + svc + 1, '-'))
      return hd_err_set(err, HD_FAILED_PRECONDITION,
                        "after_event_id \"%.127s\" is of another database (this one's events are "
                        "%s<n>): start again without after_event_id and read the current state",
                        s, t->prefix);
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "after_event_id \"%.127s\" is not an event id of this feed (%s<n>)", s,
                      t->prefix);
  }
  const char *digits = s + plen;
  size_t n = strspn(digits, "0123456789");
  if (n == 0 || n > 18 || digits[n] != '\0')
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "after_event_id \"%.127s\" must end in the event's sequence number", s);
  *id = strtoll(digits, NULL, 10);
  return 0;
}

/* Where a resumed feed starts: after id, which must be in the kept log. From now: after the
 * highest id written. */
static int tail__start(tail *t, hd_err *err) {
  hd_db_rows *rows = NULL;
  int rc = -1;
  int64_t after = 0;
  const bool resume = t->o->after_event_id && t->o->after_event_id[0];
  if (tail__prefix(t, err) != 0) goto done;
  if (resume && tail__parse(t, t->o->after_event_id, &after, err) != 0) goto done;
  if (hd_db_query(t->db, "SELECT MIN(id), MAX(id) FROM outbox", NULL, 0, 1, &rows, err) != 0)
    goto done;
  const bool empty = hd_db_is_null(rows, 0, 1);
  const int64_t lo = hd_db_i64(rows, 0, 0), hi = hd_db_i64(rows, 0, 1);
  if (!resume) {
    t->cursor = hi;
  } else if (!empty && after > hi) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "after_event_id \"%s\" names an event not written yet (the last is %s%" PRId64 ")",
               t->o->after_event_id, t->prefix, hi);
    goto done;
  } else if (!empty && after < lo - 1) {
    hd_err_set(err, HD_OUT_OF_RANGE,
               "events after \"%s\" are no longer kept (the oldest kept is %s%" PRId64
               ", HELPDESK_OUTBOX_RETENTION): start again without after_event_id and read the "
               "current state",
               t->o->after_event_id, t->prefix, lo);
    goto done;
  } else {
    t->cursor = after;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* Whether every id in (cursor, upto] is committed or gone: a locking read that does not wait
 * fails on a record an open transaction inserted (ER_LOCK_WAIT_TIMEOUT, ABORTED). 1 settled,
 * 0 not yet, -1 with err when MariaDB failed otherwise. */
static int tail__settled(tail *t, int64_t upto, hd_err *err) {
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_int(t->cursor), hd_db_int(upto)};
  hd_err e = {0};
  int rc =
      hd_db_query(t->db, "SELECT id FROM outbox WHERE id > ? AND id <= ? LOCK IN SHARE MODE NOWAIT",
                  p, 2, (size_t)(upto - t->cursor), &rows, &e);
  hd_db_rows_free(rows);
  if (rc == 0) return 1;
  if (e.code == HD_ABORTED) return 0;
  *err = e;
  return -1;
}

/* How far ids are settled above the cursor, from the next batch of ids: the run without a gap,
 * and past a gap that is old enough and settled. *upto = cursor when nothing is. *full when the
 * batch was full (more may wait). */
static int tail__horizon(tail *t, int64_t *upto, bool *full, hd_err *err) {
  hd_db_rows *rows = NULL;
  int rc = -1;
  const hd_db_param p[] = {hd_db_int(t->cursor), hd_db_int(HD_EVENT_TAIL_BATCH)};
  if (hd_db_query(t->db, "SELECT id FROM outbox WHERE id > ? ORDER BY id LIMIT ?", p, 2,
                  HD_EVENT_TAIL_BATCH, &rows, err) != 0)
    goto done;
  const size_t n = hd_db_rows_count(rows);
  *full = n == HD_EVENT_TAIL_BATCH;
  int64_t h = t->cursor;
  size_t i = 0;
  for (;;) {
    while (i < n && hd_db_i64(rows, i, 0) == h + 1) h = hd_db_i64(rows, i++, 0);
    if (i == n) break;
    /* A gap at h + 1, with ids up to the batch's last visible above it. */
    const int64_t now = hd_monotonic_us();
    if (t->gap_from != h + 1) {
      t->gap_from = h + 1;
      t->gap_horizon = hd_db_i64(rows, n - 1, 0);
      t->gap_seen_us = now;
      break;
    }
    if (now - t->gap_seen_us < HD_EVENT_TAIL_SETTLE_US) break;
    const int64_t saved = t->cursor;
    t->cursor = h;
    const int s = tail__settled(t, t->gap_horizon, err);
    t->cursor = saved;
    if (s < 0) goto done;
    if (s == 0) break;
    h = t->gap_horizon;
    t->gap_from = 0;
    while (i < n && hd_db_i64(rows, i, 0) <= h) i++;
  }
  *upto = h;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* Hands the tenant's rows in (cursor, upto] to fn, then moves the cursor to upto. */
static int tail__deliver(tail *t, int64_t upto, hd_err *err) {
  hd_db_rows *rows = NULL;
  int rc = -1;
  const char *prefix = t->o->type_prefix ? t->o->type_prefix : "";
  const hd_db_param p[] = {hd_db_int(t->cursor),
                           hd_db_int(upto),
                           hd_db_text(t->o->tenant),
                           hd_db_int(t->o->aggregate_id),
                           hd_db_int(t->o->aggregate_id),
                           hd_db_text(prefix),
                           hd_db_text(prefix)};
  /* The prefix compares as the column does, byte for byte (LEFT, not LIKE: no wildcards). */
  if (hd_db_query(t->db,
                  "SELECT id, aggregate_id, event_type, payload, created_at_us FROM outbox "
                  "WHERE id > ? AND id <= ? AND tenant = ? AND (? = 0 OR aggregate_id = ?) "
                  "AND LEFT(event_type, CHAR_LENGTH(?)) = ? ORDER BY id",
                  p, 7, (size_t)(upto - t->cursor), &rows, err) != 0)
    goto done;
  for (size_t i = 0; i < hd_db_rows_count(rows); i++) {
    char event_id[HD_OUTBOX_EVENT_ID_MAX];
    const int64_t id = hd_db_i64(rows, i, 0);
    const int n = snprintf(event_id, sizeof event_id, "%s%" PRId64, t->prefix, id);
    if (n < 0 || (size_t)n >= sizeof event_id) {
      hd_err_set(err, HD_INTERNAL, "event id of outbox row %" PRId64 " is too long", id);
      goto done;
    }
    hd_event_row r = {.event_id = event_id,
                      .id = id,
                      .aggregate_id = hd_db_i64(rows, i, 1),
                      .event_type = hd_db_str(rows, i, 2, NULL),
                      .created_at_us = hd_db_i64(rows, i, 4)};
    r.payload = hd_db_str(rows, i, 3, &r.payload_len);
    if (t->fn(t->call, t->st, &r, t->arg) != 0) {
      *err = t->call->err;
      goto done;
    }
  }
  t->cursor = upto;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

int hd_event_tail_run(hd_call *call, hd_stream *st, hd_db *db, const hd_event_tail_opts *o,
                      hd_event_tail_fn fn, void *arg) {
  tail t = {.call = call, .st = st, .db = db, .o = o, .fn = fn, .arg = arg};
  hd_err err = {0};
  if (tail__start(&t, &err) != 0) goto fail;
  for (;;) {
    if (hd_stream_over(st)) return -1;
    const int64_t before = t.cursor;
    int64_t upto = before;
    bool full = false;
    if (tail__horizon(&t, &upto, &full, &err) != 0) goto fail;
    if (upto > before && tail__deliver(&t, upto, &err) != 0) goto fail;
    /* A full batch that moved the cursor: more are waiting, read on at once. */
    if ((!full || t.cursor == before) && hd_stream_wait(st, HD_EVENT_TAIL_POLL_US) != 0) return -1;
  }
fail:
  call->err = err;
  return -1;
}
