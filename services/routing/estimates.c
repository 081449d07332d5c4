/* Customer estimates (estimates.h). The ticket is read from the ticket service when the promise
 * is made (open, who owns it, who may promise); the timer, which may only touch MariaDB, re-checks
 * against routing's own records of the ticket (routing_tickets, from the ticket events). */
#include "estimates.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpdesk/v1/routing.pb-c.h"
#include "log/log.h"
#include "routing_call.h"
#include "rpc/page.h"
#include "svc/outbox.h"
#include "svc/timer.h"
#include "ticket_peer.h"

#define ESTIMATE_PROMISE_MAX  2000
#define ESTIMATE_AHEAD_MAX_US (90LL * 24 * 3600 * HD_US_PER_S)

#define ESTIMATE_COLUMNS                                                                  \
  "ticket_id, owner_id, estimate_at_us, promise, status, set_by, due_since_us, version, " \
  "created_at_us, updated_at_us"

static Helpdesk__V1__EstimateStatus estimate__status(const char *s) {
  if (strcmp(s, "PENDING") == 0) return HELPDESK__V1__ESTIMATE_STATUS__ESTIMATE_STATUS_PENDING;
  if (strcmp(s, "DUE") == 0) return HELPDESK__V1__ESTIMATE_STATUS__ESTIMATE_STATUS_DUE;
  if (strcmp(s, "CLEARED") == 0) return HELPDESK__V1__ESTIMATE_STATUS__ESTIMATE_STATUS_CLEARED;
  return HELPDESK__V1__ESTIMATE_STATUS__ESTIMATE_STATUS_UNSPECIFIED;
}

static Helpdesk__V1__CustomerEstimate *estimate__from_row(const hd_db_rows *rows, size_t r,
                                                          hd_arena *a) {
  Helpdesk__V1__CustomerEstimate *e = hd_arena_alloc(a, sizeof *e);
  if (!e) return NULL;
  *e = (Helpdesk__V1__CustomerEstimate)HELPDESK__V1__CUSTOMER_ESTIMATE__INIT;
  e->ticket_id = hd_db_i64(rows, r, 0);
  e->owner_id = hd_arena_strdup(a, hd_db_str(rows, r, 1, NULL));
  e->estimate_time_us = hd_db_i64(rows, r, 2);
  e->promise = hd_arena_strdup(a, hd_db_str(rows, r, 3, NULL));
  e->status = estimate__status(hd_db_str(rows, r, 4, NULL));
  e->set_by = hd_arena_strdup(a, hd_db_str(rows, r, 5, NULL));
  e->due_since_time_us = hd_db_i64(rows, r, 6);
  e->version = hd_db_i64(rows, r, 7);
  e->create_time_us = hd_db_i64(rows, r, 8);
  e->update_time_us = hd_db_i64(rows, r, 9);
  return e->owner_id && e->promise && e->set_by ? e : NULL;
}

/* ---- SetCustomerEstimate ---- */

typedef struct set_ctx {
  hd_call *call;
  const Helpdesk__V1__SetCustomerEstimateRequest *req;
  const Helpdesk__V1__Ticket *ticket;
  Helpdesk__V1__CustomerEstimate *out;
} set_ctx;

static int estimate__set_tx(hd_db *db, void *arg, hd_err *err) {
  set_ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = rt_tenant(c);
  const int64_t now = rt_now(c);
  const hd_db_param k[] = {hd_db_text(tenant), hd_db_int(x->ticket->id)};
  hd_db_rows *rows = NULL;
  if (hd_db_query(db,
                  "SELECT version, created_at_us FROM customer_estimates WHERE tenant = ? AND "
                  "ticket_id = ? FOR UPDATE",
                  k, 2, 1, &rows, err))
    return -1;
  const bool exists = hd_db_rows_count(rows) == 1;
  const int64_t version = exists ? hd_db_i64(rows, 0, 0) : 0;
  const int64_t created = exists ? hd_db_i64(rows, 0, 1) : now;
  hd_db_rows_free(rows);
  if (hd_call_check_current("the customer estimate of ticket", x->ticket->id, version,
                            x->req->expected_version, err))
    return -1;
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_int(x->ticket->id),
                           hd_db_text(x->ticket->owner_id),
                           hd_db_int(x->req->estimate_time_us),
                           hd_db_text(x->req->promise),
                           hd_db_text(c->principal->user_id),
                           hd_db_int(x->req->estimate_time_us),
                           hd_db_int(version + 1),
                           hd_db_int(created),
                           hd_db_int(now)};
  if (hd_db_exec(db,
                 "REPLACE INTO customer_estimates (tenant, ticket_id, owner_id, estimate_at_us, "
                 "promise, status, set_by, due_at_us, due_since_us, version, created_at_us, "
                 "updated_at_us) VALUES (?, ?, ?, ?, ?, 'PENDING', ?, ?, NULL, ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, NULL, err) ||
      hd_db_query(db,
                  "SELECT " ESTIMATE_COLUMNS " FROM customer_estimates WHERE tenant = ? AND "
                  "ticket_id = ?",
                  k, 2, 1, &rows, err))
    return -1;
  x->out = estimate__from_row(rows, 0, c->arena);
  hd_db_rows_free(rows);
  if (!x->out) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  char key[24];
  snprintf(key, sizeof key, "%" PRId64, x->ticket->id);
  json_t *to =
      json_pack("{s:I, s:s, s:s}", "estimate_time_us", (json_int_t)x->req->estimate_time_us,
                "promise", x->req->promise, "owner_id", x->ticket->owner_id);
  const int rc =
      to ? rt_audit(db, c, "SET_CUSTOMER_ESTIMATE", "customer_estimate", key, NULL, to, err)
         : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  json_decref(to);
  return rc;
}

/* Records the time promised to the customer for an open ticket (its owner, or a lead). */
int routing_set_customer_estimate(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp) {
  const Helpdesk__V1__SetCustomerEstimateRequest *rq =
      (const Helpdesk__V1__SetCustomerEstimateRequest *)req;
  const int64_t now = rt_now(call);
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_text(call, "promise", rq->promise, 0, ESTIMATE_PROMISE_MAX))
    return -1;
  if (rq->estimate_time_us <= now || rq->estimate_time_us > now + ESTIMATE_AHEAD_MAX_US)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "estimate_time_us must be after now (%" PRId64
                      ") and at most 90 days "
                      "ahead, got %" PRId64,
                      now, rq->estimate_time_us);
  Helpdesk__V1__Ticket *t = NULL;
  if (rt_ticket_get(call, rq->ticket_id, &t)) return -1;
  const hd_principal *p = call->principal;
  if (!(p->roles & ROUTING_LEADS) && strcmp(t->owner_id, p->user_id) != 0)
    return hd_err_set(&call->err, HD_PERMISSION_DENIED,
                      "the customer estimate of ticket %" PRId64
                      " is for its owner (%s) or a "
                      "team_lead or supervisor",
                      t->id, t->owner_id[0] ? t->owner_id : "nobody yet");
  if (!rt_ticket_status_open(t->status))
    return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64 " is closed or cancelled: nothing to promise", t->id);
  set_ctx x = {.call = call, .req = rq, .ticket = t};
  if (hd_call_tx(call, estimate__set_tx, &x)) return -1;
  char member[24];
  snprintf(member, sizeof member, "%" PRId64, t->id);
  hd_timer_wake(hd_call_env(call), hd_call_worker(call)->kv, ESTIMATE_TIMER_SOURCE, member,
                rq->estimate_time_us);
  *(Helpdesk__V1__CustomerEstimate *)resp = *x.out;
  return 0;
}

/* ---- ListDueCustomerUpdates ---- */

typedef struct due_ctx {
  hd_call *call;
  const char *owner;
  hd_page page;
  Helpdesk__V1__ListDueCustomerUpdatesResponse *out;
} due_ctx;

static int estimate__due_tx(hd_db *db, void *arg, hd_err *err) {
  due_ctx *x = arg;
  hd_call *c = x->call;
  const int64_t after_key = x->page.continued ? x->page.after.key : INT64_MIN;
  const hd_db_param p[] = {hd_db_text(rt_tenant(c)),
                           hd_db_text(x->owner),
                           hd_db_text(x->owner),
                           hd_db_int(after_key),
                           hd_db_int(after_key),
                           hd_db_int(x->page.after.id),
                           hd_db_int(hd_page_fetch(&x->page))};
  hd_db_rows *rows = NULL;
  int rc = -1;
  /* FORCE INDEX: otherwise MariaDB also estimates a range in the primary key (the page key's
   * ticket_id > ?) at every execution. */
  if (hd_db_query(db,
                  "SELECT " ESTIMATE_COLUMNS " FROM customer_estimates "
                  "FORCE INDEX (ix_customer_estimates_due_list) WHERE tenant = ? AND "
                  "status = 'DUE' AND (? = '' OR owner_id = ?) AND (estimate_at_us > ? OR "
                  "(estimate_at_us = ? AND ticket_id > ?)) ORDER BY estimate_at_us, ticket_id "
                  "LIMIT ?",
                  p, sizeof p / sizeof p[0], (size_t)hd_page_fetch(&x->page), &rows, err))
    goto done;
  const size_t fetched = hd_db_rows_count(rows), shown = hd_page_shown(&x->page, fetched);
  Helpdesk__V1__CustomerEstimate **items =
      hd_arena_alloc(c->arena, (shown ? shown : 1) * sizeof *items);
  if (!items) goto oom;
  for (size_t i = 0; i < shown; i++)
    if (!(items[i] = estimate__from_row(rows, i, c->arena))) goto oom;
  hd_page_pos last = {0};
  if (shown)
    last =
        (hd_page_pos){.key = items[shown - 1]->estimate_time_us, .id = items[shown - 1]->ticket_id};
  char *next = NULL;
  if (hd_page_next(&x->page, fetched > shown ? &last : NULL, c->arena, &next, err) ||
      hd_page_info(c->arena, next, &x->out->page, err))
    goto done;
  x->out->updates = items;
  x->out->n_updates = shown;
  rc = 0;
  goto done;
oom:
  hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
done:
  hd_db_rows_free(rows);
  return rc;
}

/* Passed promises on open tickets, longest overdue first: an agent's own, or (a lead) anyone's. */
int routing_list_due_customer_updates(hd_call *call, const ProtobufCMessage *req,
                                      ProtobufCMessage *resp) {
  const Helpdesk__V1__ListDueCustomerUpdatesRequest *rq =
      (const Helpdesk__V1__ListDueCustomerUpdatesRequest *)req;
  if (hd_call_check_ident(call, "owner_id", rq->owner_id, 0, 128)) return -1;
  const hd_principal *p = call->principal;
  const bool lead = (p->roles & ROUTING_LEADS) != 0;
  const char *owner = rq->owner_id[0] ? rq->owner_id : (lead ? "" : p->user_id);
  if (!lead && strcmp(owner, p->user_id) != 0)
    return hd_err_set(&call->err, HD_PERMISSION_DENIED,
                      "an agent sees their own due customer updates (you are %s, owner_id is %s); "
                      "a team_lead or supervisor sees anyone's",
                      p->user_id, owner);
  hd_page_scope scope;
  hd_page_scope_init(&scope, "due_customer_updates", rt_tenant(call));
  hd_page_scope_str(&scope, owner);
  due_ctx x = {
      .call = call, .owner = owner, .out = (Helpdesk__V1__ListDueCustomerUpdatesResponse *)resp};
  if (hd_page_start_pb(rq->page, &scope, &x.page, &call->err)) return -1;
  return hd_call_tx(call, estimate__due_tx, &x);
}

/* ---- the timer ---- */

static int estimate__fire(hd_svc_env *env, hd_db *db, void *ctx, const hd_timer_row *row,
                          int64_t now_us, hd_timer_outcome *out, hd_err *err) {
  (void)env;
  (void)ctx;
  const hd_db_param p[] = {hd_db_text(row->key[0])};
  hd_db_rows *rows = NULL;
  int rc = -1;
  /* routing_tickets: what routing knows of the ticket from its events (no row: not known to be
   * resolved, so the customer is due an update). */
  if (hd_db_query(db,
                  "SELECT e.tenant, e.owner_id, e.estimate_at_us, e.status, "
                  "COALESCE(t.status, '') FROM customer_estimates e LEFT JOIN routing_tickets t "
                  "ON t.ticket_id = e.ticket_id AND t.tenant = e.tenant WHERE e.ticket_id = ?",
                  p, 1, 1, &rows, err))
    goto done;
  if (hd_db_rows_count(rows) == 0 || strcmp(hd_db_str(rows, 0, 3, NULL), "PENDING") != 0) {
    rc = hd_db_exec(db, "UPDATE customer_estimates SET due_at_us = NULL WHERE ticket_id = ?", p, 1,
                    NULL, NULL, err);
    out->result = "cleared";
    goto done;
  }
  const char *ticket_status = hd_db_str(rows, 0, 4, NULL);
  const bool resolved =
      strcmp(ticket_status, "CLOSED") == 0 || strcmp(ticket_status, "CANCELLED") == 0;
  const hd_db_param q[] = {hd_db_text(resolved ? "CLEARED" : "DUE"),
                           resolved ? hd_db_null() : hd_db_int(now_us), hd_db_int(now_us),
                           hd_db_text(row->key[0])};
  if (hd_db_exec(db,
                 "UPDATE customer_estimates SET status = ?, due_since_us = ?, due_at_us = NULL, "
                 "version = version + 1, updated_at_us = ? WHERE ticket_id = ?",
                 q, 4, NULL, NULL, err))
    goto done;
  out->result = resolved ? "cleared" : "due";
  if (!resolved) {
    json_t *body =
        json_pack("{s:s, s:I, s:I}", "owner_id", hd_db_str(rows, 0, 1, NULL), "estimate_time_us",
                  (json_int_t)hd_db_i64(rows, 0, 2), "due_since_time_us", (json_int_t)now_us);
    if (!body) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    const hd_outbox_event ev = {.type = ESTIMATE_EVENT_DUE,
                                .tenant = hd_db_str(rows, 0, 0, NULL),
                                .aggregate_key = "ticket_id",
                                .aggregate_id = (int64_t)strtoll(row->key[0], NULL, 10),
                                .actor_id = "system",
                                .actor_role = "system",
                                .time_us = now_us};
    rc = hd_outbox_append(db, &ev, body, err);
    json_decref(body);
    goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

static hd_timer_source estimate__source(void) {
  return (hd_timer_source){.name = ESTIMATE_TIMER_SOURCE,
                           .table = "customer_estimates",
                           .keys = {"ticket_id"},
                           .due_col = "due_at_us",
                           .fire = estimate__fire};
}

int routing_estimate_timers_fire_due(hd_svc_env *env, hd_worker *w, int64_t now_us, size_t *fired,
                                     hd_err *err) {
  const hd_timer_source src = estimate__source();
  return hd_timer_fire_due_once(&src, env, w, now_us, fired, err);
}

void routing_estimate_timer_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop) {
  const hd_timer_source src = estimate__source();
  hd_timer_run_source(&src, env, w, stop);
}
