/* The shift hand-over (handover.h). The agent's open tickets are read from the ticket service
 * (ListTickets by owner: the source of truth); every note is checked before anything moves; then
 * each ticket goes back to its team's queue unowned through the ticket service (TransferTicket
 * with release_to_queue and the note, which the ticket service keeps as an internal record; a
 * worked status becomes PENDING_RESPONSE), and one transaction records the hand-over, its items,
 * the agent's OFF_DUTY and the routing.hand_over event. The ticket.released events queue the
 * tickets at their place by age, so the next shift's ClaimNext takes them, oldest first. */
#include "handover.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agents.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "routing_call.h"
#include "routing_idem.h"
#include "routing_rules.h"
#include "rpc/page.h"
#include "svc/idem.h"
#include "svc/outbox.h"
#include "ticket_peer.h"

#define HANDOVER_OPEN_MAX 500 /* open tickets one hand-over moves */

/* The team of a ticket and the rule that chose it: the tenant's routing rules on its issue type
 * and service type (routing_route_team; a ticket carries no routing facts). */
static int handover__team(hd_call *c, const Helpdesk__V1__Ticket *t, const char **dept,
                          const char **rule) {
  const routing_input in = {.issue_type = t->issue_type, .service_type = t->service_type};
  return routing_route_team(hd_call_worker(c)->db, rt_tenant(c), &in, c->arena, dept, rule,
                            &c->err);
}

static const char *handover__status_name(Helpdesk__V1__TicketStatus s) {
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value(&helpdesk__v1__ticket_status__descriptor, (int)s);
  return v ? v->name + strlen("TICKET_STATUS_") : "UNSPECIFIED";
}

static Helpdesk__V1__TicketStatus handover__status_parse(const char *name) {
  char full[64];
  snprintf(full, sizeof full, "TICKET_STATUS_%s", name);
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value_by_name(&helpdesk__v1__ticket_status__descriptor, full);
  return v ? (Helpdesk__V1__TicketStatus)v->value
           : HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_UNSPECIFIED;
}

/* ---- HandOverShift ---- */

typedef struct ho_item {
  const Helpdesk__V1__Ticket *ticket;
  const char *note, *dept, *rule;
} ho_item;

typedef struct ho_ctx {
  hd_call *call;
  const Helpdesk__V1__HandOverShiftRequest *req;
  const char *agent_id;
  const char *hash;
  ho_item *items;
  size_t n;
  int64_t id;
  bool retry;
  Helpdesk__V1__HandOverShiftResponse *out;
} ho_ctx;

#define HO_ITEM_COLUMNS                                                                        \
  "i.id, i.hand_over_id, i.ticket_id, i.from_agent_id, i.department, i.rule_name, i.note, "    \
  "i.status_at_hand_over, COALESCE(t.status, ''), COALESCE(t.owner_id, ''), i.created_at_us, " \
  "t.ticket_id IS NULL"

static Helpdesk__V1__HandOverItem *ho__item_from_row(const hd_db_rows *rows, size_t r,
                                                     hd_arena *a) {
  Helpdesk__V1__HandOverItem *it = hd_arena_alloc(a, sizeof *it);
  if (!it) return NULL;
  *it = (Helpdesk__V1__HandOverItem)HELPDESK__V1__HAND_OVER_ITEM__INIT;
  it->id = hd_db_i64(rows, r, 0);
  it->hand_over_id = hd_db_i64(rows, r, 1);
  it->ticket_id = hd_db_i64(rows, r, 2);
  it->from_agent_id = hd_arena_strdup(a, hd_db_str(rows, r, 3, NULL));
  it->department = hd_arena_strdup(a, hd_db_str(rows, r, 4, NULL));
  it->rule = hd_arena_strdup(a, hd_db_str(rows, r, 5, NULL));
  it->note = hd_arena_strdup(a, hd_db_str(rows, r, 6, NULL));
  it->status_at_hand_over = handover__status_parse(hd_db_str(rows, r, 7, NULL));
  it->current_status = handover__status_parse(hd_db_str(rows, r, 8, NULL));
  it->current_owner_id = hd_arena_strdup(a, hd_db_str(rows, r, 9, NULL));
  it->create_time_us = hd_db_i64(rows, r, 10);
  return it->from_agent_id && it->department && it->rule && it->note && it->current_owner_id ? it
                                                                                             : NULL;
}

/* The hand-over id's items into out (agent, by, time from its row). */
static int ho__read(hd_db *db, hd_call *c, int64_t id, Helpdesk__V1__HandOver **out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(rt_tenant(c)), hd_db_int(id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  Helpdesk__V1__HandOver *h = hd_arena_alloc(c->arena, sizeof *h);
  if (!h) goto oom;
  *h = (Helpdesk__V1__HandOver)HELPDESK__V1__HAND_OVER__INIT;
  if (hd_db_query(db,
                  "SELECT agent_id, handed_over_by, created_at_us FROM hand_overs WHERE tenant = ? "
                  "AND id = ?",
                  p, 2, 1, &rows, err))
    goto done;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND, "hand-over %" PRId64 " does not exist", id);
    goto done;
  }
  h->id = id;
  h->agent_id = hd_arena_strdup(c->arena, hd_db_str(rows, 0, 0, NULL));
  h->handed_over_by = hd_arena_strdup(c->arena, hd_db_str(rows, 0, 1, NULL));
  h->create_time_us = hd_db_i64(rows, 0, 2);
  hd_db_rows_free(rows);
  rows = NULL;
  /* FORCE INDEX, here and below: otherwise MariaDB estimates a range in each index starting
   * with the tenant, of both tables, at every execution. */
  if (hd_db_query(db,
                  "SELECT " HO_ITEM_COLUMNS " FROM hand_over_items i "
                  "FORCE INDEX (ix_hand_over_items_hand_over) LEFT JOIN routing_tickets t "
                  "FORCE INDEX (PRIMARY) ON t.ticket_id = i.ticket_id AND t.tenant = i.tenant "
                  "WHERE i.tenant = ? AND i.hand_over_id = ? ORDER BY i.ticket_id",
                  p, 2, HANDOVER_OPEN_MAX, &rows, err))
    goto done;
  const size_t n = hd_db_rows_count(rows);
  h->items = hd_arena_alloc(c->arena, (n ? n : 1) * sizeof *h->items);
  if (!h->items || !h->agent_id || !h->handed_over_by) goto oom;
  for (size_t i = 0; i < n; i++)
    if (!(h->items[i] = ho__item_from_row(rows, i, c->arena))) goto oom;
  h->n_items = n;
  *out = h;
  rc = 0;
  goto done;
oom:
  hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading a hand-over");
done:
  hd_db_rows_free(rows);
  return rc;
}

/* The agent as the reply shows them (routing_agent_require: NOT_FOUND when not registered). */
static int ho__agent(hd_db *db, hd_call *c, const char *agent_id, bool lock,
                     Helpdesk__V1__Agent **out, hd_err *err) {
  return routing_agent_require(db, rt_tenant(c), agent_id, lock, c->arena, out, err);
}

static int ho__tx(hd_db *db, void *arg, hd_err *err) {
  ho_ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = rt_tenant(c);
  const int64_t now = rt_now(c);
  x->id = 0;
  x->retry = false;
  const hd_idem_key k = {.tenant = tenant,
                         .caller_id = c->principal->user_id,
                         .key = x->req->idempotency_key,
                         .result_kind = "hand-over"};
  if (x->req->idempotency_key[0]) {
    if (hd_idem_claim(db, &k, x->hash, now, &x->id, err)) return -1;
    if (x->id > 0) {
      x->retry = true;
      return ho__read(db, c, x->id, &x->out->hand_over, err) ||
             ho__agent(db, c, x->agent_id, false, &x->out->agent, err);
    }
  }
  Helpdesk__V1__Agent *a = NULL;
  if (ho__agent(db, c, x->agent_id, true, &a, err)) return -1;
  const hd_db_param hp[] = {hd_db_text(tenant), hd_db_text(x->agent_id),
                            hd_db_text(c->principal->user_id), hd_db_int((int64_t)x->n),
                            hd_db_int(now)};
  uint64_t id = 0;
  if (hd_db_exec(db,
                 "INSERT INTO hand_overs (tenant, agent_id, handed_over_by, ticket_count, "
                 "created_at_us) VALUES (?, ?, ?, ?, ?)",
                 hp, 5, NULL, &id, err))
    return -1;
  x->id = (int64_t)id;
  json_t *tickets = json_array();
  if (!tickets) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < x->n; i++) {
    const ho_item *it = &x->items[i];
    const hd_db_param ip[] = {hd_db_text(tenant),
                              hd_db_int(x->id),
                              hd_db_int(it->ticket->id),
                              hd_db_text(x->agent_id),
                              hd_db_text(it->dept),
                              hd_db_text(it->rule),
                              hd_db_text(it->note),
                              hd_db_text(handover__status_name(it->ticket->status)),
                              hd_db_int(now)};
    if (hd_db_exec(db,
                   "INSERT INTO hand_over_items (tenant, hand_over_id, ticket_id, from_agent_id, "
                   "department, rule_name, note, status_at_hand_over, created_at_us) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   ip, 9, NULL, NULL, err) ||
        json_array_append_new(
            tickets, json_pack("{s:I, s:s}", "ticket_id", (json_int_t)it->ticket->id, "department",
                               it->dept))) {
      json_decref(tickets);
      return err->code ? -1 : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    }
  }
  json_t *body = json_pack("{s:s, s:o}", "agent_id", x->agent_id, "tickets", tickets);
  const hd_outbox_event ev = {.type = HANDOVER_EVENT,
                              .tenant = tenant,
                              .aggregate_key = "hand_over_id",
                              .aggregate_id = x->id,
                              .actor_id = c->principal->user_id,
                              .actor_role = hd_principal_role(c->principal),
                              .time_us = now};
  const int rc = !body ? hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory")
                 : routing_agent_set_presence(
                       db, tenant, x->agent_id, HELPDESK__V1__PRESENCE__PRESENCE_OFF_DUTY,
                       c->principal->user_id, now, c->arena, &x->out->agent, err) ||
                         hd_outbox_append(db, &ev, body, err) ||
                         (x->req->idempotency_key[0] && hd_idem_set_result(db, &k, x->id, err)) ||
                         ho__read(db, c, x->id, &x->out->hand_over, err)
                     ? -1
                     : 0;
  json_decref(body);
  return rc;
}

/* FAILED_PRECONDITION listing the open tickets without a note, or the notes for tickets the
 * agent does not own open. */
static int ho__check_notes(hd_call *c, const char *agent, Helpdesk__V1__Ticket **open, size_t n,
                           const Helpdesk__V1__HandOverShiftRequest *rq, ho_item *items) {
  char missing[1024] = "", stray[1024] = "";
  size_t nm = 0, ns = 0;
  for (size_t i = 0; i < n; i++) {
    items[i].ticket = open[i];
    items[i].note = NULL;
    for (size_t j = 0; j < rq->n_notes; j++)
      if (rq->notes[j]->ticket_id == open[i]->id) items[i].note = rq->notes[j]->note;
    if (!items[i].note) {
      const size_t len = strlen(missing);
      snprintf(missing + len, sizeof missing - len, "%s%" PRId64, nm++ ? ", " : "", open[i]->id);
    }
    if (handover__team(c, open[i], &items[i].dept, &items[i].rule)) return -1;
  }
  for (size_t j = 0; j < rq->n_notes; j++) {
    bool owned = false;
    for (size_t i = 0; i < n && !owned; i++) owned = open[i]->id == rq->notes[j]->ticket_id;
    if (!owned) {
      const size_t len = strlen(stray);
      snprintf(stray + len, sizeof stray - len, "%s%" PRId64, ns++ ? ", " : "",
               rq->notes[j]->ticket_id);
    }
  }
  if (nm)
    return hd_err_set(&c->err, HD_FAILED_PRECONDITION,
                      "%zu open ticket(s) of %s have no hand-over note: %s; every open ticket "
                      "needs one (what was done, what is left), and nothing was moved",
                      nm, agent, missing);
  if (ns)
    return hd_err_set(&c->err, HD_FAILED_PRECONDITION,
                      "notes name ticket(s) %s that %s does not own open; nothing was moved", stray,
                      agent);
  return 0;
}

/* A ticket with a live escalation (OPEN or ACKNOWLEDGED: to Level 2 or another department) stays
 * with the department it was escalated to; the hand-over does not route it back by issue type. */
static int ho__keep_escalated(hd_call *c, ho_item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const hd_db_param p[] = {hd_db_text(rt_tenant(c)), hd_db_int(items[i].ticket->id)};
    hd_db_rows *rows = NULL;
    if (hd_db_query(hd_call_worker(c)->db,
                    "SELECT to_department FROM escalations FORCE INDEX (ix_escalations_ticket) "
                    "WHERE tenant = ? AND ticket_id = ? AND mode = 'ASSIGN' AND "
                    "status IN ('OPEN', 'ACKNOWLEDGED') ORDER BY id DESC LIMIT 1",
                    p, 2, 1, &rows, &c->err))
      return -1;
    if (hd_db_rows_count(rows) == 1) {
      items[i].dept = hd_arena_strdup(c->arena, hd_db_str(rows, 0, 0, NULL));
      items[i].rule = "open-escalation";
    }
    hd_db_rows_free(rows);
    if (!items[i].dept) return hd_err_set(&c->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  }
  return 0;
}

/* An agent going off duty hands over every open ticket they own (see routing.proto). */
int routing_hand_over_shift(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__HandOverShiftRequest *rq = (const Helpdesk__V1__HandOverShiftRequest *)req;
  const hd_principal *p = call->principal;
  if (hd_call_check_ident(call, "agent_id", rq->agent_id, 0, 128) ||
      hd_call_check_ident(call, "idempotency_key", rq->idempotency_key, 0, HD_IDEM_KEY_MAX))
    return -1;
  const char *agent = rq->agent_id[0] ? rq->agent_id : p->user_id;
  if (strcmp(agent, p->user_id) != 0 && !(p->roles & ROUTING_LEADS))
    return hd_err_set(&call->err, HD_PERMISSION_DENIED,
                      "an agent hands over their own shift (you are %s, agent_id is %s); a "
                      "team_lead or supervisor hands over for another",
                      p->user_id, agent);
  if (rq->n_notes > HANDOVER_NOTES_MAX)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "notes has %zu entries; at most %d are allowed", rq->n_notes,
                      HANDOVER_NOTES_MAX);
  for (size_t i = 0; i < rq->n_notes; i++) {
    char field[48];
    snprintf(field, sizeof field, "notes[%zu].note", i);
    if (hd_call_check_id(call, "notes.ticket_id", rq->notes[i]->ticket_id) ||
        hd_call_check_text(call, field, rq->notes[i]->note, 1, HANDOVER_NOTE_MAX))
      return -1;
    for (size_t j = 0; j < i; j++)
      if (rq->notes[j]->ticket_id == rq->notes[i]->ticket_id)
        return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                          "ticket %" PRId64
                          " has two notes (notes[%zu] and notes[%zu]); give "
                          "one per ticket",
                          rq->notes[i]->ticket_id, j, i);
  }
  char hash[HD_IDEM_HASH_SIZE];
  if (hd_idem_hash_request(req, hash, &call->err)) return -1;
  ho_ctx x = {.call = call,
              .req = rq,
              .agent_id = agent,
              .hash = hash,
              .out = (Helpdesk__V1__HandOverShiftResponse *)resp};
  int64_t found = 0;
  if (rt_idem_lookup(call, rq->idempotency_key, hash, "hand-over", &found)) return -1;
  if (found > 0) return hd_call_tx(call, ho__tx, &x); /* the claim finds it and reads it */

  /* The agent's open tickets, from the ticket service. */
  Helpdesk__V1__Ticket **open = hd_arena_alloc(call->arena, HANDOVER_OPEN_MAX * sizeof *open);
  if (!open) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  size_t n = 0;
  const char *token = "";
  do {
    Helpdesk__V1__ListTicketsResponse *page = NULL;
    if (rt_ticket_list_owned(call, agent, token, &page)) return -1;
    for (size_t i = 0; i < page->n_tickets; i++) {
      if (!rt_ticket_status_open(page->tickets[i]->status)) continue;
      if (n == HANDOVER_OPEN_MAX)
        return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                          "%s owns more than %d open tickets; a team lead reassigns some first",
                          agent, HANDOVER_OPEN_MAX);
      open[n++] = page->tickets[i];
    }
    token = page->page && page->page->next_page_token ? page->page->next_page_token : "";
  } while (token[0]);
  ho_item *items = hd_arena_alloc(call->arena, (n ? n : 1) * sizeof *items);
  if (!items) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  if (ho__check_notes(call, agent, open, n, rq, items) || ho__keep_escalated(call, items, n))
    return -1;
  /* Every note is there: each ticket back to its team's queue, unowned (the note as its
   * internal record). */
  for (size_t i = 0; i < n; i++) {
    const ho_item *it = &items[i];
    if (rt_ticket_release(call, it->ticket->id, it->dept, it->note, NULL)) return -1;
  }
  x.items = items;
  x.n = n;
  return hd_call_tx(call, ho__tx, &x);
}

/* ---- GetHandOver ---- */

typedef struct get_ctx {
  hd_call *call;
  const Helpdesk__V1__GetHandOverRequest *req;
  int64_t since;
  hd_page page;
  hd_db_rows *rows; /* kept for the caller: items whose ticket routing has no record of */
  Helpdesk__V1__GetHandOverResponse *out;
} get_ctx;

static int ho__get_tx(hd_db *db, void *arg, hd_err *err) {
  get_ctx *x = arg;
  hd_call *c = x->call;
  const int64_t after_key = x->page.continued ? x->page.after.key : INT64_MIN;
  const hd_db_param p[] = {hd_db_text(rt_tenant(c)),
                           hd_db_int(x->since),
                           hd_db_text(x->req->department),
                           hd_db_text(x->req->department),
                           hd_db_text(x->req->from_agent_id),
                           hd_db_text(x->req->from_agent_id),
                           hd_db_int(after_key),
                           hd_db_int(after_key),
                           hd_db_int(x->page.after.id),
                           hd_db_int(hd_page_fetch(&x->page))};
  hd_db_rows_free(x->rows);
  x->rows = NULL;
  /* The three indexes the filters choose among; not the hand-over's nor the primary key. */
  if (hd_db_query(db,
                  "SELECT " HO_ITEM_COLUMNS " FROM hand_over_items i FORCE INDEX "
                  "(ix_hand_over_items_time, ix_hand_over_items_department, "
                  "ix_hand_over_items_agent) LEFT JOIN routing_tickets t FORCE INDEX (PRIMARY) "
                  "ON t.ticket_id = i.ticket_id AND t.tenant = i.tenant WHERE i.tenant = ? AND "
                  "i.created_at_us >= ? AND (? = '' OR i.department = ?) AND "
                  "(? = '' OR i.from_agent_id = ?) AND (i.created_at_us > ? OR "
                  "(i.created_at_us = ? AND i.id > ?)) ORDER BY i.created_at_us, i.id LIMIT ?",
                  p, sizeof p / sizeof p[0], (size_t)hd_page_fetch(&x->page), &x->rows, err))
    return -1;
  const size_t fetched = hd_db_rows_count(x->rows), shown = hd_page_shown(&x->page, fetched);
  Helpdesk__V1__HandOverItem **items =
      hd_arena_alloc(c->arena, (shown ? shown : 1) * sizeof *items);
  if (!items) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  for (size_t i = 0; i < shown; i++)
    if (!(items[i] = ho__item_from_row(x->rows, i, c->arena)))
      return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  hd_page_pos last = {0};
  if (shown)
    last = (hd_page_pos){.key = items[shown - 1]->create_time_us, .id = items[shown - 1]->id};
  char *next = NULL;
  if (hd_page_next(&x->page, fetched > shown ? &last : NULL, c->arena, &next, err) ||
      hd_page_info(c->arena, next, &x->out->page, err))
    return -1;
  x->out->items = items;
  x->out->n_items = shown;
  return 0;
}

/* What was handed over, oldest first, with each ticket's status now. */
int routing_get_hand_over(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__GetHandOverRequest *rq = (const Helpdesk__V1__GetHandOverRequest *)req;
  if ((rq->department[0] && rt_check_department_name(call, "department", rq->department)) ||
      hd_call_check_ident(call, "from_agent_id", rq->from_agent_id, 0, 128))
    return -1;
  if (rq->since_time_us < 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "since_time_us must be 0 (the last 24 hours) or a time, got %" PRId64,
                      rq->since_time_us);
  get_ctx x = {.call = call, .req = rq, .out = (Helpdesk__V1__GetHandOverResponse *)resp};
  x.since = rq->since_time_us ? rq->since_time_us : rt_now(call) - 24LL * 3600 * HD_US_PER_S;
  hd_page_scope scope;
  hd_page_scope_init(&scope, "hand_over", rt_tenant(call));
  hd_page_scope_str(&scope, rq->department);
  hd_page_scope_str(&scope, rq->from_agent_id);
  hd_page_scope_int(&scope, rq->since_time_us);
  int rc = -1;
  if (hd_page_start_pb(rq->page, &scope, &x.page, &call->err) || hd_call_tx(call, ho__get_tx, &x))
    goto done;
  /* A ticket routing has no record of yet (its events not consumed): ask the ticket service. */
  for (size_t i = 0; i < x.out->n_items; i++) {
    if (hd_db_i64(x.rows, i, 11) == 0) continue;
    Helpdesk__V1__Ticket *t = NULL;
    if (rt_ticket_get(call, x.out->items[i]->ticket_id, &t)) goto done;
    x.out->items[i]->current_status = t->status;
    x.out->items[i]->current_owner_id = t->owner_id;
  }
  rc = 0;
done:
  hd_db_rows_free(x.rows);
  return rc;
}
