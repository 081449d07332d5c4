/* MergeTickets: source tickets close as merged into a target, which lists them as its associated
 * tickets. Never across customers or tenants, never a ticket into itself, no chains and no
 * cycles: a merged ticket is never a target or a source again, and a ticket others were merged
 * into is never a source. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ticket_call.h"
#include "ticket_handlers.h"

/* Room for "id,id,..." of TICKET_MERGE_SOURCES_MAX ids of at most 19 digits. */
#define MERGE_IDS_TEXT_MAX (TICKET_MERGE_SOURCES_MAX * 20 + 1)

typedef struct merge_ctx {
  hd_call *call;
  const Helpdesk__V1__MergeTicketsRequest *req;
  int64_t *order;            /* target and sources, ascending (the lock order); n_sources + 1 */
  Helpdesk__V1__Ticket *out; /* in call->arena */
} merge_ctx;

static int merge__cmp_id(const void *a, const void *b) {
  const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The loaded ticket with this id among tickets[0..n). */
static Helpdesk__V1__Ticket *merge__find(Helpdesk__V1__Ticket **tickets, size_t n, int64_t id) {
  for (size_t i = 0; i < n; i++)
    if (tickets[i]->id == id) return tickets[i];
  return NULL;
}

/* Whether source s may close as merged into target t: FAILED_PRECONDITION naming the rule. */
static int merge__check_source(const Helpdesk__V1__Ticket *s, const Helpdesk__V1__Ticket *t,
                               ticket_status *to, hd_err *err) {
  if (strcmp(s->customer_id, t->customer_id) != 0)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64 " belongs to customer %s and ticket %" PRId64
                      " to customer %s; tickets of different customers are never merged",
                      s->id, s->customer_id, t->id, t->customer_id);
  if (s->merged_into_id != 0)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64 " is already merged into ticket %" PRId64, s->id,
                      s->merged_into_id);
  if (s->n_associated_ticket_ids > 0)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64 " has %zu ticket(s) merged into it (the first is %" PRId64
                      "); it can be a merge target but not a source (no chains)",
                      s->id, s->n_associated_ticket_ids, s->associated_ticket_ids[0]);
  hd_err why = {0};
  if (ticket_transition(TICKET_OP_MERGE_CLOSE, ticket_status_from_pb(s->status),
                        &(const ticket_facts){.request = "MergeTickets"}, to, &why)) {
    hd_err_set(err, why.code, "ticket %" PRId64 ": %s; only open tickets are merged", s->id,
               why.msg);
    return hd_err_keep_details(err, &why);
  }
  return 0;
}

static int merge__tx(hd_db *db, void *arg, hd_err *err) {
  merge_ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__MergeTicketsRequest *rq = x->req;
  const char *tenant = tk_tenant(c);
  const ticket_actor actor = tk_actor(c);
  const int64_t now = tk_now(c);
  const size_t n = rq->n_source_ticket_ids + 1;
  x->out = NULL;

  /* Lock every ticket in ascending id order, so two merges that share tickets never deadlock.
   * Another tenant's id is NOT_FOUND like a missing one. */
  Helpdesk__V1__Ticket **tickets = HD_ARENA_ARRAY(c->arena, Helpdesk__V1__Ticket *, n);
  if (!tickets) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory merging tickets");
  for (size_t i = 0; i < n; i++)
    if (tk_ticket_load(c, db, x->order[i], true, &tickets[i], NULL, err)) return -1;
  Helpdesk__V1__Ticket *target = merge__find(tickets, n, rq->target_ticket_id);
  if (!target) return hd_err_set(err, HD_INTERNAL, "merge target was not loaded");

  if (tk_require_owner_or(c, target, HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR,
                          "MergeTickets (into this target)", err))
    return -1;
  if (hd_call_check_current("ticket", target->id, target->version, rq->expected_target_version,
                            err))
    return -1;
  if (target->merged_into_id != 0)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64 " was itself merged into ticket %" PRId64
                      "; merge into ticket %" PRId64 " instead",
                      target->id, target->merged_into_id, target->merged_into_id);
  const ticket_status target_status = ticket_status_from_pb(target->status);
  if (!ticket_status_is_open(target_status))
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "cannot merge into ticket %" PRId64 " in status %s; the target must be open",
                      target->id, ticket_status_name(target_status));

  /* Every rule is checked on every source before anything is written. */
  ticket_status *to = HD_ARENA_ARRAY(c->arena, ticket_status, rq->n_source_ticket_ids);
  if (!to) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory merging tickets");
  for (size_t i = 0; i < rq->n_source_ticket_ids; i++) {
    const Helpdesk__V1__Ticket *s = merge__find(tickets, n, rq->source_ticket_ids[i]);
    if (!s) return hd_err_set(err, HD_INTERNAL, "merge source was not loaded");
    if (merge__check_source(s, target, &to[i], err)) return -1;
  }

  /* Sources close as merged (ascending, the lock order); then the target records them. */
  char ids[MERGE_IDS_TEXT_MAX];
  size_t used = 0;
  ids[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    const Helpdesk__V1__Ticket *s = tickets[i];
    if (s == target) continue;
    size_t src = 0; /* its place in the request, where its checked transition is */
    while (rq->source_ticket_ids[src] != s->id) src++;
    const bool was_suspended = ticket_status_from_pb(s->status) == TICKET_SUSPENDED;
    const ticket_event_field ev[] = {TICKET_EV_INT("merged_into_id", target->id),
                                     TICKET_EV_STR("merge_role", "source")};
    const ticket_change ch = {
        .action = "MERGE",
        .event_type = TICKET_EVENT_MERGED,
        .status = to[src],
        /* A suspended source no longer has a status to resume to. */
        .suspended_from = was_suspended ? TICKET_SET(TICKET_STATUS_NONE) : (ticket_set){0},
        .merged_into_id = TICKET_SET(target->id),
        .event_fields = ev,
        .n_event_fields = sizeof ev / sizeof ev[0],
    };
    if (ticket_store_update(db, tenant, s->id, 0, &ch, now, &actor, NULL, NULL, err)) return -1;
    const int w = snprintf(ids + used, sizeof ids - used, "%s%" PRId64, used ? "," : "", s->id);
    if (w < 0 || (size_t)w >= sizeof ids - used)
      return hd_err_set(err, HD_INTERNAL, "merged ids do not fit their buffer");
    used += (size_t)w;
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, s->id);
    if (ticket_store_history_append(db, tenant, target->id, &actor, "MERGE", "associated_ticket",
                                    NULL, sid, now, err))
      return -1;
  }
  const ticket_event_field ev[] = {TICKET_EV_STR("source_ticket_ids", ids),
                                   TICKET_EV_STR("merge_role", "target")};
  const ticket_change ch = {.action = "MERGE",
                            .event_type = TICKET_EVENT_MERGED,
                            .event_fields = ev,
                            .n_event_fields = sizeof ev / sizeof ev[0]};
  if (ticket_store_update(db, tenant, target->id, rq->expected_target_version, &ch, now, &actor,
                          c->arena, &x->out, err))
    return -1;
  return ticket_store_mark_followed(db, x->out, TICKET_FOLLOWERS_UNKNOWN, actor.user_id, err);
}

/* Merges 1..TICKET_MERGE_SOURCES_MAX open tickets of the target's customer into an open target
 * (staff who own the target, or a team lead / supervisor). Replies with the target, whose
 * associated_ticket_ids list its merged tickets in ascending order. */
int tickets_merge_tickets(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__MergeTicketsRequest *rq = (const Helpdesk__V1__MergeTicketsRequest *)req;
  if (hd_call_check_id(call, "target_ticket_id", rq->target_ticket_id) ||
      hd_call_check_version(call, "expected_target_version", rq->expected_target_version))
    return -1;
  const size_t n = rq->n_source_ticket_ids;
  if (n < 1 || n > TICKET_MERGE_SOURCES_MAX)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "source_ticket_ids needs 1 to %d ticket ids, got %zu",
                      TICKET_MERGE_SOURCES_MAX, n);
  int64_t *order = HD_ARENA_ARRAY(call->arena, int64_t, n + 1);
  if (!order) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const int64_t id = rq->source_ticket_ids[i];
    if (id <= 0)
      return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                        "source_ticket_ids[%zu] must be a positive id, got %" PRId64, i, id);
    if (id == rq->target_ticket_id)
      return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                        "cannot merge ticket %" PRId64
                        " into itself; source_ticket_ids must not "
                        "list the target",
                        id);
    order[i] = id;
  }
  order[n] = rq->target_ticket_id;
  qsort(order, n + 1, sizeof order[0], merge__cmp_id);
  for (size_t i = 1; i < n + 1; i++)
    if (order[i] == order[i - 1])
      return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                        "source_ticket_ids lists ticket %" PRId64 " more than once", order[i]);
  merge_ctx x = {.call = call, .req = rq, .order = order};
  if (hd_call_tx(call, merge__tx, &x)) return -1;
  *(Helpdesk__V1__Ticket *)resp = *x.out;
  return 0;
}
