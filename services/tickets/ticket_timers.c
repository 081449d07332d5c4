/* Durable ticket timers: the scheduler loop and the firing of due follow-ups and auto-closes
 * (see ticket_timers.h). */
#include "ticket_timers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "ticket_call.h"
#include "ticket_records.h"
#include "ticket_store.h"
#include "tickets_config.h"

#define TIMERS_BATCH        100                 /* due tickets taken per transaction */
#define TIMERS_MAX_BATCHES  50                  /* per call; the rest waits for the next round */
#define TIMERS_TICKET_ARENA (1u << 20)          /* one ticket read back, its follow-up comment */
#define TIMERS_STEP_US      (50 * HD_US_PER_MS) /* the loop looks at *stop this often */
#define TIMERS_BACKOFF_US   HD_US_PER_S
#define TIMERS_POISON_DELAY_US \
  (3600 * HD_US_PER_S) /* a ticket whose timer failed is retried after */

static const ticket_actor SYSTEM = {.user_id = "system", .role = "system"};

/* What happened to one due timer, for the log and the Redis schedule after the commit. */
typedef struct timers__fired {
  char tenant[HD_TENANT_MAX + 1];
  int64_t id;
  ticket_timer_kind kind;
  const char *result;          /* "closed", "follow_up_sent", "to_be_confirmed", "cleared" */
  int64_t follow_up;           /* the follow-up's number, 0 for none */
  ticket_timer_kind next_kind; /* the timer armed now, NONE for none */
  int64_t next_due_us;
} timers__fired;

/* One batch transaction's context. The body resets its outputs: it may run again. */
typedef struct timers__batch {
  const tickets_config *cfg;
  int64_t now_us;
  size_t taken;     /* due tickets taken (== TIMERS_BATCH: maybe more are due) */
  bool rearmed_due; /* a timer was re-armed at or before now_us (a late sweep catching up) */
  timers__fired fired[TIMERS_BATCH];
  size_t n;
  ticket_due poison; /* a ticket whose timer failed for good (not a retryable error); id 0: none */
} timers__batch;

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

/* The follow-up the system sends for a due FOLLOW_UP timer of PENDING_FEEDBACK ticket t: its
 * comment, history row, and the change (count + 1, next timer from the due time). */
static int timers__follow_up(hd_db *db, const timers__batch *b, const ticket_due *d,
                             const Helpdesk__V1__Ticket *t, hd_arena *a, timers__fired *f,
                             hd_err *err) {
  const int64_t n = (int64_t)t->follow_up_count + 1;
  const bool last = n >= b->cfg->follow_ups;
  const ticket_op op = last ? TICKET_OP_FOLLOW_UP_LAST : TICKET_OP_FOLLOW_UP;
  ticket_status to;
  if (ticket_transition(op, ticket_status_from_pb(t->status), NULL, &to, err)) return -1;
  const char *body = timers__follow_up_text(a, b->cfg, n, last);
  if (!body) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory writing a follow-up");
  Helpdesk__V1__Comment *c = NULL;
  if (ticket_comment_insert(db, d->tenant, d->id, &SYSTEM, body, b->now_us, a, &c, err)) return -1;
  char cid[24];
  snprintf(cid, sizeof cid, "%" PRId64, c->id);
  if (ticket_store_history_append(db, d->tenant, d->id, &SYSTEM, ticket_op_name(op), "comment",
                                  NULL, cid, b->now_us, err))
    return -1;
  f->follow_up = n;
  f->next_kind = last ? TICKET_TIMER_AUTO_CLOSE : TICKET_TIMER_FOLLOW_UP;
  f->next_due_us = d->due_us + (last ? b->cfg->auto_close_after_us : b->cfg->follow_up_interval_us);
  f->result = last ? "to_be_confirmed" : "follow_up_sent";
  const ticket_event_field ev[] = {TICKET_EV_STR("intent", "FOLLOW_UP"),
                                   TICKET_EV_INT("comment_id", c->id),
                                   TICKET_EV_INT("follow_up", n)};
  const ticket_change ch = {.action = ticket_op_name(op),
                            .event_type = TICKET_EVENT_REPLIED,
                            .status = to,
                            .follow_up_count = TICKET_SET(n),
                            .timer = TICKET_TIMER_SET(f->next_kind, f->next_due_us),
                            .event_fields = ev,
                            .n_event_fields = sizeof ev / sizeof ev[0]};
  return ticket_store_update(db, d->tenant, d->id, 0, &ch, b->now_us, &SYSTEM, NULL, NULL, err);
}

/* Applies one due timer (its row is locked by ticket_store_take_due). */
static int timers__fire_one(hd_db *db, const timers__batch *b, const ticket_due *d,
                            timers__fired *f, hd_err *err) {
  int rc = -1;
  hd_arena *a = hd_arena_new(TIMERS_TICKET_ARENA);
  *f = (timers__fired){.id = d->id, .kind = d->kind};
  snprintf(f->tenant, sizeof f->tenant, "%s", d->tenant);
  if (!a) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory firing timers");
    goto done;
  }
  Helpdesk__V1__Ticket *t = NULL;
  if (ticket_store_get(db, d->tenant, d->id, true, a, &t, NULL, err)) goto done;
  const ticket_status from = ticket_status_from_pb(t->status);
  if (d->kind == TICKET_TIMER_AUTO_CLOSE && ticket_transition_allowed(TICKET_OP_AUTO_CLOSE, from)) {
    ticket_status to;
    if (ticket_transition(TICKET_OP_AUTO_CLOSE, from, NULL, &to, err)) goto done;
    const ticket_change ch = {.action = ticket_op_name(TICKET_OP_AUTO_CLOSE),
                              .event_type = TICKET_EVENT_AUTO_CLOSED,
                              .status = to,
                              .timer = TICKET_TIMER_CLEAR};
    f->result = "closed";
    rc = ticket_store_update(db, d->tenant, d->id, 0, &ch, b->now_us, &SYSTEM, NULL, NULL, err);
    goto done;
  }
  if (d->kind == TICKET_TIMER_FOLLOW_UP && from == TICKET_PENDING_FEEDBACK) {
    rc = timers__follow_up(db, b, d, t, a, f, err);
    goto done;
  }
  /* The status moved on without clearing the timer: drop it, change nothing else. */
  const ticket_change ch = {.action = "TIMER_CLEAR", .timer = TICKET_TIMER_CLEAR};
  f->result = "cleared";
  rc = ticket_store_update(db, d->tenant, d->id, 0, &ch, b->now_us, &SYSTEM, NULL, NULL, err);
done:
  hd_arena_free(a);
  return rc;
}

static int timers__batch_tx(hd_db *db, void *arg, hd_err *err) {
  timers__batch *b = arg;
  int rc = -1;
  b->taken = 0;
  b->n = 0;
  b->rearmed_due = false;
  b->poison.id = 0;
  hd_arena *a = hd_arena_new(TIMERS_TICKET_ARENA);
  ticket_due *due = NULL;
  if (!a) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory firing timers");
    goto done;
  }
  if (ticket_store_take_due(db, b->now_us, TIMERS_BATCH, a, &due, &b->taken, err)) goto done;
  for (size_t i = 0; i < b->taken; i++) {
    if (timers__fire_one(db, b, &due[i], &b->fired[b->n], err)) {
      /* A deadlock or a lost connection is retried as it is; anything else is this ticket's
       * (a damaged row): remember it, so it is set aside and the others go on. */
      if (err->code != HD_ABORTED && err->code != HD_UNAVAILABLE) b->poison = due[i];
      goto done;
    }
    if (b->fired[b->n].next_kind != TICKET_TIMER_NONE && b->fired[b->n].next_due_us <= b->now_us)
      b->rearmed_due = true;
    b->n++;
  }
  rc = 0;
done:
  hd_arena_free(a);
  return rc;
}

/* ZADD member "tenant:id" at due_us; best effort (MariaDB holds the due time). */
static void timers__schedule(hd_svc_env *env, hd_worker *w, const char *zset,
                             const timers__fired *f) {
  char member[HD_TENANT_MAX + 24];
  snprintf(member, sizeof member, "%s:%" PRId64, f->tenant, f->id);
  hd_err err = {0};
  if (hd_kv_timer_schedule(w->kv, zset, member, f->next_due_us, &err)) {
    hd_metrics_redis_error(env->metrics);
    hd_log_warn("tickets.timer_schedule_failed", "ticket", member, "error", err.msg);
  }
}

static void timers__log(const timers__fired *f) {
  char id[24], n[24], due[24];
  snprintf(id, sizeof id, "%" PRId64, f->id);
  snprintf(n, sizeof n, "%" PRId64, f->follow_up);
  snprintf(due, sizeof due, "%" PRId64, f->next_due_us);
  const char *next = ticket_timer_kind_name(f->next_kind);
  hd_log_info("tickets.timer_fired", "tenant", f->tenant, "ticket", id, "timer",
              ticket_timer_kind_name(f->kind), "result", f->result, "follow_up",
              f->follow_up ? n : "", "next_timer", next ? next : "", "next_due_us",
              next ? due : "");
}

int tickets_timers_fire_due(hd_svc_env *env, hd_worker *w, int64_t now_us, size_t *fired,
                            hd_err *err) {
  int rc = -1;
  size_t total = 0;
  char zset[128];
  const bool has_zset = tickets_timer_zset(env, zset, sizeof zset) == 0;
  timers__batch *b = calloc(1, sizeof *b); /* ~10 KB: off the loop thread's stack */
  if (!b) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory firing timers");
    goto done;
  }
  b->cfg = env->app;
  b->now_us = now_us;
  for (int round = 0; round < TIMERS_MAX_BATCHES; round++) {
    if (hd_db_tx(w->db, timers__batch_tx, b, 0, err)) {
      if (b->poison.id == 0) goto done;
      /* Set the failing ticket aside for TIMERS_POISON_DELAY_US and go on with the others. */
      char id[24];
      snprintf(id, sizeof id, "%" PRId64, b->poison.id);
      hd_log_error("tickets.timer_failed", "tenant", b->poison.tenant, "ticket", id, "reason",
                   err->msg, "then", "retrying this ticket in 1 hour");
      hd_metrics_db_error(env->metrics);
      if (ticket_store_timer_postpone(w->db, b->poison.tenant, b->poison.id,
                                      now_us + TIMERS_POISON_DELAY_US, err))
        goto done;
      continue;
    }
    total += b->n;
    for (size_t i = 0; i < b->n; i++) {
      timers__log(&b->fired[i]);
      if (has_zset && b->fired[i].next_kind != TICKET_TIMER_NONE)
        timers__schedule(env, w, zset, &b->fired[i]);
    }
    if (b->taken < TIMERS_BATCH && !b->rearmed_due) break;
  }
  rc = 0;
done:
  free(b);
  if (fired) *fired = total;
  return rc;
}

/* Sleeps us of real time in steps, returning early once *stop is set. */
static void timers__sleep(int64_t us, const _Atomic bool *stop) {
  for (int64_t slept = 0; slept < us && !atomic_load(stop); slept += TIMERS_STEP_US)
    usleep((useconds_t)(us - slept < TIMERS_STEP_US ? us - slept : TIMERS_STEP_US));
}

void tickets_timer_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop) {
  const tickets_config *cfg = env->app;
  char zset[128];
  const bool has_zset = tickets_timer_zset(env, zset, sizeof zset) == 0;
  if (!has_zset) hd_log_error("tickets.timer_zset_name", "then", "sweeping MariaDB only");
  bool swept = false, failing = false;
  int64_t last_sweep_us = 0;
  uint64_t failures = 0;
  while (!atomic_load(stop)) {
    const int64_t now = hd_clock_now_us(env->clock);
    hd_err err = {0};
    const char *failed = NULL; /* what failed this round, for the log */
    bool run = !swept || now - last_sweep_us >= cfg->timer_sweep_us || now < last_sweep_us;
    bool kv_ok = has_zset, has = false;
    int64_t next = 0;
    if (has_zset && hd_kv_timer_next(w->kv, zset, &has, &next, &err)) {
      hd_metrics_redis_error(env->metrics);
      failed = "redis";
      kv_ok = false;
    }
    if (!kv_ok || (has && next <= now)) run = true;
    if (run) {
      hd_err ferr = {0};
      if (tickets_timers_fire_due(env, w, now, NULL, &ferr)) {
        hd_metrics_db_error(env->metrics);
        failed = "mariadb";
        err = ferr;
      } else {
        swept = true;
        last_sweep_us = now;
        int64_t popped = 0;
        if (kv_ok && hd_kv_timer_pop_due(w->kv, zset, now, &popped, &err)) {
          hd_metrics_redis_error(env->metrics);
          failed = "redis";
        }
      }
    }
    if (failed) {
      failures++;
      if (!failing)
        hd_log_warn("tickets.timer_loop_failed", "store", failed, "reason", err.msg, "then",
                    "retrying in 1s");
      failing = true;
      timers__sleep(TIMERS_BACKOFF_US, stop);
      continue;
    }
    if (failing) {
      char n[24];
      snprintf(n, sizeof n, "%" PRIu64, failures);
      hd_log_info("tickets.timer_loop_recovered", "failures", n);
    }
    failing = false;
    timers__sleep(cfg->timer_poll_us, stop);
  }
}
