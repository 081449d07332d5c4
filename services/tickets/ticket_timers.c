/* Durable ticket timers: the follow-ups and auto-closes the kit's timer loop fires
 * (common/svc/timer.h), and when each next one is due (see ticket_timers.h). */
#include "ticket_timers.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "svc/sleep.h"
#include "ticket_call.h"
#include "ticket_records.h"
#include "ticket_store.h"
#include "tickets_config.h"

#define TIMERS_BATCH        100        /* due tickets taken per transaction */
#define TIMERS_TICKET_ARENA (1u << 20) /* one ticket read back, its follow-up comment */
/* A ticket whose timer failed is retried after an hour, then 2, 4, ... hours, at most a day. */
#define TIMERS_ASIDE_US     (3600 * HD_US_PER_S)
#define TIMERS_ASIDE_MAX_US (24 * 3600 * HD_US_PER_S)

static const ticket_actor SYSTEM = {.user_id = "system", .role = "system"};

/* "3 days", "24 hours", "90 minutes", "45 seconds" into buf. */
static void timers__duration(int64_t us, char *buf, size_t cap) {
  const int64_t s = us / HD_US_PER_S;
  if (s >= 86400 && s % 86400 == 0)
    snprintf(buf, cap, "%" PRId64 " day%s", s / 86400, s == 86400 ? "" : "s");
  else if (s >= 3600 && s % 3600 == 0)
    snprintf(buf, cap, "%" PRId64 " hour%s", s / 3600, s == 3600 ? "" : "s");
  else if (s >= 60 && s % 60 == 0)
    snprintf(buf, cap, "%" PRId64 " minute%s", s / 60, s == 60 ? "" : "s");
  else
    snprintf(buf, cap, "%" PRId64 " second%s", s, s == 1 ? "" : "s");
}

/* The system's follow-up to the customer, in a. NULL when a is full. */
static char *timers__follow_up_text(hd_arena *a, const tickets_config *cfg, int64_t n, bool last) {
  char wait[48];
  if (!last)
    return hd_arena_printf(a,
                           "We have not heard from you since our last message. Is the issue "
                           "solved, or do you still need help? Please reply to this ticket. "
                           "(follow-up %" PRId64 " of %" PRId64 ")",
                           n, cfg->follow_ups);
  timers__duration(cfg->auto_close_after_us, wait, sizeof wait);
  return hd_arena_printf(a,
                         "We have not heard from you since our last message, so we take it that "
                         "the issue is solved. This ticket closes by itself in %s; reply to it "
                         "before then if you still need help. (follow-up %" PRId64 " of %" PRId64
                         ")",
                         wait, n, cfg->follow_ups);
}

/* The follow-up the system sends for a due FOLLOW_UP timer of PENDING_FEEDBACK ticket t, at
 * now_us: its comment, history row, and the change (count + 1, and the next timer counted from
 * this send, now_us: the customer always gets a full interval, or the full silence before the
 * auto-close, after the message they were sent). */
static int timers__follow_up(hd_db *db, const tickets_config *cfg, const char *tenant, int64_t id,
                             const Helpdesk__V1__Ticket *t, int64_t now_us, hd_arena *a,
                             hd_timer_outcome *out, hd_err *err) {
  const int64_t n = (int64_t)t->follow_up_count + 1;
  const bool last = n >= cfg->follow_ups;
  const ticket_op op = last ? TICKET_OP_FOLLOW_UP_LAST : TICKET_OP_FOLLOW_UP;
  ticket_status to;
  if (ticket_transition(op, ticket_status_from_pb(t->status), NULL, &to, err)) return -1;
  const char *body = timers__follow_up_text(a, cfg, n, last);
  if (!body) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory writing a follow-up");
  Helpdesk__V1__Comment *c = NULL;
  if (ticket_comment_insert(db, tenant, id, &SYSTEM, body, now_us, a, &c, err)) return -1;
  char cid[24];
  snprintf(cid, sizeof cid, "%" PRId64, c->id);
  if (ticket_store_history_append(db, tenant, id, &SYSTEM, ticket_op_name(op), "comment", NULL, cid,
                                  now_us, err))
    return -1;
  const ticket_timer_kind next = last ? TICKET_TIMER_AUTO_CLOSE : TICKET_TIMER_FOLLOW_UP;
  out->next_due_us = now_us + (last ? cfg->auto_close_after_us : cfg->follow_up_interval_us);
  out->result = last ? "to_be_confirmed" : "follow_up_sent";
  const ticket_event_field ev[] = {TICKET_EV_STR("intent", "FOLLOW_UP"),
                                   TICKET_EV_INT("comment_id", c->id),
                                   TICKET_EV_INT("follow_up", n)};
  const ticket_change ch = {.action = ticket_op_name(op),
                            .event_type = TICKET_EVENT_REPLIED,
                            .status = to,
                            .follow_up_count = TICKET_SET(n),
                            .timer = TICKET_TIMER_SET(next, out->next_due_us),
                            .event_fields = ev,
                            .n_event_fields = sizeof ev / sizeof ev[0]};
  return ticket_store_update(db, tenant, id, 0, &ch, now_us, &SYSTEM, NULL, NULL, err);
}

/* The kit's fire function (hd_timer_fire_fn) for one due ticket, keys (tenant, id), locked by the
 * take: re-reads it and applies what its timer and status call for. */
static int timers__fire(hd_svc_env *env, hd_db *db, void *ctx, const hd_timer_row *row,
                        int64_t now_us, hd_timer_outcome *out, hd_err *err) {
  (void)ctx;
  const tickets_config *cfg = tickets_app_config(env);
  const char *tenant = row->key[0];
  char *end = NULL;
  errno = 0;
  const long long id = strtoll(row->key[1], &end, 10);
  if (errno || end == row->key[1] || *end)
    return hd_err_set(err, HD_INTERNAL, "ticket id \"%s\" of a due timer is not a number",
                      row->key[1]);
  int rc = -1;
  hd_arena *a = hd_arena_new(TIMERS_TICKET_ARENA);
  if (!a) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory firing timers");
    goto done;
  }
  Helpdesk__V1__Ticket *t = NULL;
  ticket_meta meta = {0};
  if (ticket_store_get(db, tenant, id, true, a, &t, &meta, err)) goto done;
  const ticket_status from = ticket_status_from_pb(t->status);
  if (meta.timer_kind == TICKET_TIMER_AUTO_CLOSE &&
      ticket_transition_allowed(TICKET_OP_AUTO_CLOSE, from)) {
    ticket_status to;
    if (ticket_transition(TICKET_OP_AUTO_CLOSE, from, NULL, &to, err)) goto done;
    const ticket_change ch = {.action = ticket_op_name(TICKET_OP_AUTO_CLOSE),
                              .event_type = TICKET_EVENT_AUTO_CLOSED,
                              .status = to,
                              .timer = TICKET_TIMER_CLEAR};
    out->result = "closed";
    rc = ticket_store_update(db, tenant, id, 0, &ch, now_us, &SYSTEM, NULL, NULL, err);
    goto done;
  }
  if (meta.timer_kind == TICKET_TIMER_FOLLOW_UP && from == TICKET_PENDING_FEEDBACK) {
    rc = timers__follow_up(db, cfg, tenant, id, t, now_us, a, out, err);
    goto done;
  }
  /* The status moved on without clearing the timer: drop it, change nothing else. */
  const ticket_change ch = {.action = "TIMER_CLEAR", .timer = TICKET_TIMER_CLEAR};
  out->result = "cleared";
  rc = ticket_store_update(db, tenant, id, 0, &ch, now_us, &SYSTEM, NULL, NULL, err);
done:
  hd_arena_free(a);
  return rc;
}

/* The ticket service's timer source: tickets.timer_due_us, keyed by (tenant, id). */
static hd_timer_source timers__source(const hd_svc_env *env) {
  const tickets_config *cfg = tickets_app_config(env);
  return (hd_timer_source){.name = TICKETS_TIMER_SOURCE,
                           .table = "tickets",
                           .keys = {"tenant", "id"},
                           .due_col = "timer_due_us",
                           .fire = timers__fire,
                           .poll_us = cfg->timer_poll_us,
                           .sweep_us = cfg->timer_sweep_us,
                           .batch = TIMERS_BATCH,
                           .backoff_us = TIMERS_ASIDE_US,
                           .backoff_max_us = TIMERS_ASIDE_MAX_US};
}

int tickets_timers_fire_due(hd_svc_env *env, hd_worker *w, int64_t now_us, size_t *fired,
                            hd_err *err) {
  const hd_timer_source src = timers__source(env);
  return hd_timer_fire_due_once(&src, env, w, now_us, fired, err);
}

void tickets_timer_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop) {
  const hd_timer_source src = timers__source(env);
  hd_timer_run_source(&src, env, w, stop);
}
