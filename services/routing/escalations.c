/* Escalations to other departments (escalations.h). The ticket-side work (the move, the
 * customer's comment, the internal note) goes through the ticket service between two
 * transactions of routing's: the first claims the idempotency key and creates the escalation,
 * the second records what was written on the ticket and publishes the event. When the ticket
 * service refuses, the first is undone (escal_forget), so a failed call leaves nothing in
 * routing; a retry with the key after success finds the escalation and calls nothing. */
#include "escalations.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agents.h"
#include "core/utf8.h"
#include "escalation_store.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "routing_call.h"
#include "routing_idem.h"
#include "routing_settings.h"
#include "rpc/page.h"
#include "svc/idem.h"
#include "svc/timer.h"
#include "ticket_peer.h"

#define ESCALATED_DEPARTMENT "ESCALATED"

/* Who may act on any ticket or escalation (an agent acts on their own tickets and their
 * departments' escalations). */
#define ESCAL_ANY (ROUTING_LEADS | HD_ROLE_SERVICE)

void routing_escalation_wake(hd_call *c, int64_t id, int64_t due_us) {
  char member[32];
  snprintf(member, sizeof member, "%" PRId64, id);
  hd_timer_wake(hd_call_env(c), hd_call_worker(c)->kv, ESCAL_TIMER_SOURCE, member, due_us);
}

/* INVALID_ARGUMENT unless link is empty (when optional) or an https URL without white space. */
static int escal__check_link(hd_call *c, const char *link, bool required) {
  if (hd_call_check_text(c, "thread_link", link, required ? 1 : 0, ESCAL_LINK_MAX)) return -1;
  if (!link || !link[0]) return 0;
  bool space = false;
  for (const char *p = link; *p; p++)
    if ((unsigned char)*p <= ' ') space = true;
  if (strncmp(link, "https://", 8) != 0 || strlen(link) == 8 || space)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "thread_link must be an https URL of the thread in the department's group "
                      "chat (https://...), without spaces");
  return 0;
}

/* PERMISSION_DENIED unless the caller may escalate ticket t: its owner, a lead or a service. */
static int escal__may_escalate(hd_call *c, const Helpdesk__V1__Ticket *t) {
  const hd_principal *p = c->principal;
  if ((p->roles & ESCAL_ANY) || (t->owner_id[0] && strcmp(t->owner_id, p->user_id) == 0)) return 0;
  return hd_err_set(&c->err, HD_PERMISSION_DENIED,
                    "ticket %" PRId64
                    " is %s%s; an agent escalates the tickets they own (a team_lead, "
                    "supervisor or service escalates any)",
                    t->id, t->owner_id[0] ? "owned by " : "not owned by anyone",
                    t->owner_id[0] ? t->owner_id : "");
}

/* ---- EscalateToDepartment ---- */

typedef struct escalate_ctx {
  hd_call *call;
  const Helpdesk__V1__EscalateToDepartmentRequest *req;
  const Helpdesk__V1__Ticket *ticket;
  const char *hash;
  int64_t id;      /* the escalation made (or found) */
  bool retry;      /* found: the key's first call made it */
  char *assign_tx; /* ASSIGN: the customer's comment, rendered from the tenant's template */
} escalate_ctx;

static int escalate__tx(hd_db *db, void *arg, hd_err *err) {
  escalate_ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__EscalateToDepartmentRequest *rq = x->req;
  const char *tenant = rt_tenant(c);
  const int64_t now = rt_now(c);
  hd_idem_key k;
  if (rt_idem_claim(db, c, rq->idempotency_key, x->hash, "escalation", &k, &x->id, err)) return -1;
  x->retry = x->id > 0;
  if (x->retry) return 0;
  int64_t window = 0;
  if (escal_department_window(db, tenant, "department", rq->department, &window, err)) return -1;
  Helpdesk__V1__RoutingSettings *s = NULL;
  if (rq->mode == HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_ASSIGN &&
      (routing_settings_get(db, tenant, c->arena, &s, err) ||
       routing_template_render(s->escalation_assigned_template, rq->department, x->ticket->id, NULL,
                               c->arena, &x->assign_tx, err)))
    return -1;
  const escal_new e = {
      .ticket_id = x->ticket->id,
      .kind = HELPDESK__V1__ESCALATION_KIND__ESCALATION_KIND_DEPARTMENT,
      .mode = rq->mode,
      .from_department = x->ticket->department,
      .to_department = rq->department,
      .product = rq->product[0] ? rq->product : x->ticket->product,
      .brand = rq->brand[0] ? rq->brand : x->ticket->brand,
      .context = rq->context,
      .thread_link = rq->thread_link,
      .created_by = c->principal->user_id,
      .created_by_role = hd_principal_role(c->principal),
      .response_window_s = window,
  };
  if (escal_insert(db, tenant, &e, now, &x->id, err)) return -1;
  return rq->idempotency_key[0] ? hd_idem_set_result(db, &k, x->id, err) : 0;
}

typedef struct created_ctx {
  hd_call *call;
  int64_t id, comment_id, record_id;
  Helpdesk__V1__Escalation *out;
} created_ctx;

static int escalate__created_tx(hd_db *db, void *arg, hd_err *err) {
  created_ctx *x = arg;
  hd_call *c = x->call;
  const int64_t now = rt_now(c);
  return escal_created(db, c, x->id, x->comment_id, x->record_id, now, err) ||
         escal_get(db, rt_tenant(c), x->id, false, c->arena, &x->out, err);
}

typedef struct read_ctx {
  hd_call *call;
  int64_t id;
  Helpdesk__V1__Escalation *out;
} read_ctx;

static int escal__read_tx(hd_db *db, void *arg, hd_err *err) {
  read_ctx *x = arg;
  return escal_get(db, rt_tenant(x->call), x->id, false, x->call->arena, &x->out, err);
}

/* The CONSULT note: what the other department was asked and where the thread is. */
static char *escalate__consult_note(hd_call *c, const Helpdesk__V1__EscalateToDepartmentRequest *rq,
                                    const Helpdesk__V1__Ticket *t, int64_t id) {
  const char *product = rq->product[0] ? rq->product : t->product;
  const char *brand = rq->brand[0] ? rq->brand : t->brand;
  return hd_arena_printf(c->arena,
                         "Consulted %s (escalation %" PRId64
                         ").\nThread: %s\nProduct: %s\n"
                         "Brand: %s\nContext: %s",
                         rq->department, id, rq->thread_link[0] ? rq->thread_link : "-",
                         product[0] ? product : "-", brand[0] ? brand : "-", rq->context);
}

/* Escalates a ticket to a department (see routing.proto). A service caller must send an
 * idempotency key; a retry with it returns the first call's escalation and calls nothing. */
int routing_escalate_to_department(hd_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage *resp) {
  const Helpdesk__V1__EscalateToDepartmentRequest *rq =
      (const Helpdesk__V1__EscalateToDepartmentRequest *)req;
  const bool consult = rq->mode == HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_CONSULT;
  const bool service = hd_principal_has(call->principal, HD_ROLE_SERVICE);
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      rt_check_department_name(call, "department", rq->department) ||
      hd_call_check_enum(call, "mode", &helpdesk__v1__escalation_mode__descriptor, (int)rq->mode,
                         false) ||
      hd_call_check_text(call, "product", rq->product, 0, ESCAL_PRODUCT_MAX) ||
      hd_call_check_text(call, "brand", rq->brand, 0, ESCAL_PRODUCT_MAX) ||
      hd_call_check_text(call, "context", rq->context, 1, ESCAL_CONTEXT_MAX) ||
      escal__check_link(call, rq->thread_link, consult && !service) ||
      hd_call_check_ident(call, "idempotency_key", rq->idempotency_key, 0, HD_IDEM_KEY_MAX))
    return -1;
  if (!consult && strcmp(rq->department, ESCALATED_DEPARTMENT) == 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "department ESCALATED is Level 2: use EscalateToLevel2, which carries the "
                      "investigation note Level 2 needs (CONSULT asks Level 2 without moving)");
  if (service && !rq->idempotency_key[0])
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "idempotency_key is required for a service caller, so that a retry "
                      "escalates the ticket only once");
  char hash[HD_IDEM_HASH_SIZE];
  if (hd_idem_hash_request(req, hash, &call->err)) return -1;
  int64_t found = 0;
  if (rt_idem_lookup(call, rq->idempotency_key, hash, "escalation", &found)) return -1;
  read_ctx rd = {.call = call, .id = found};
  if (found > 0) {
    if (hd_call_tx(call, escal__read_tx, &rd)) return -1;
    *(Helpdesk__V1__Escalation *)resp = *rd.out;
    return 0;
  }

  Helpdesk__V1__Ticket *t = NULL;
  if (rt_ticket_get(call, rq->ticket_id, &t) || escal__may_escalate(call, t)) return -1;
  if (!rt_ticket_status_open(t->status))
    return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64 " is closed or cancelled; only an open ticket is escalated",
                      t->id);
  if (hd_call_check_current("ticket", t->id, t->version, rq->expected_version, &call->err))
    return -1;
  if (!consult && strcmp(t->department, rq->department) == 0)
    return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64
                      " is already in department %s; ASSIGN moves a ticket to "
                      "another department (CONSULT asks one without moving it)",
                      t->id, rq->department);
  if (!consult && !t->owner_id[0])
    return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64
                      " has no owner: an escalation moves a ticket someone "
                      "works; claim it first (ClaimNext), or let the routing rules queue it",
                      t->id);

  escalate_ctx x = {.call = call, .req = rq, .ticket = t, .hash = hash};
  if (hd_call_tx(call, escalate__tx, &x)) return -1;
  if (x.retry) { /* a concurrent twin with the same key committed first */
    rd.id = x.id;
    if (hd_call_tx(call, escal__read_tx, &rd)) return -1;
    *(Helpdesk__V1__Escalation *)resp = *rd.out;
    return 0;
  }

  /* The ticket-side work, as routing (service token). */
  created_ctx done = {.call = call, .id = x.id};
  if (consult) {
    const char *note = escalate__consult_note(call, rq, t, x.id);
    Helpdesk__V1__InternalRecord *rec = NULL;
    if (!note) {
      hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory writing the note");
      goto undo;
    }
    if (rt_ticket_record(call, t->id, note, &rec)) goto undo;
    done.record_id = rec->id;
  } else {
    Helpdesk__V1__Ticket *moved = NULL;
    Helpdesk__V1__Comment *comment = NULL;
    if (rt_ticket_move(call, t->id, t->version, t->owner_id, rq->department, NULL, &moved))
      goto undo;
    if (rt_ticket_comment(call, t->id, x.assign_tx, &comment)) {
      /* The ticket moved; the customer was not told. Keep the escalation (the move is real)
       * and say so: the caller tells the customer by hand or retries ResolveEscalation later. */
      hd_log_warn("routing.escalation_comment_failed", "reason", call->err.msg);
    } else {
      done.comment_id = comment->id;
    }
  }
  if (hd_call_tx(call, escalate__created_tx, &done)) return -1;
  routing_escalation_wake(call, done.out->id, done.out->due_time_us);
  *(Helpdesk__V1__Escalation *)resp = *done.out;
  return 0;
undo:;
  const hd_err keep = call->err;
  escal_forget(call, x.id, rq->idempotency_key);
  call->err = keep;
  return -1;
}

/* ---- AcknowledgeEscalation, ResolveEscalation ---- */

/* PERMISSION_DENIED unless the caller may act for e's receiving department: a lead or a service,
 * or an agent registered in that department (routing_agent_get's departments). */
static int escal__may_receive(hd_call *c, hd_db *db, const Helpdesk__V1__Escalation *e,
                              const char *rpc, hd_err *err) {
  if (c->principal->roles & ESCAL_ANY) return 0;
  Helpdesk__V1__Agent *a = NULL;
  if (routing_agent_get(db, rt_tenant(c), c->principal->user_id, false, c->arena, &a, err))
    return -1;
  bool member = false;
  for (size_t i = 0; a && i < a->n_departments && !member; i++)
    member = strcmp(a->departments[i], e->to_department) == 0;
  if (member) return 0;
  return hd_err_set(err, HD_PERMISSION_DENIED,
                    "%s is for the receiving department %s (an agent registered in it), a "
                    "team_lead, supervisor or service; %s is not registered in %s",
                    rpc, e->to_department, c->principal->user_id, e->to_department);
}

static bool escal__live(const Helpdesk__V1__Escalation *e) {
  return e->status == HELPDESK__V1__ESCALATION_STATUS__ESCALATION_STATUS_OPEN ||
         e->status == HELPDESK__V1__ESCALATION_STATUS__ESCALATION_STATUS_ACKNOWLEDGED;
}

typedef struct ack_ctx {
  hd_call *call;
  const Helpdesk__V1__AcknowledgeEscalationRequest *req;
  Helpdesk__V1__Escalation *out;
} ack_ctx;

static int ack__tx(hd_db *db, void *arg, hd_err *err) {
  ack_ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = rt_tenant(c);
  const int64_t now = rt_now(c);
  Helpdesk__V1__Escalation *e = NULL;
  if (escal_get(db, tenant, x->req->escalation_id, true, c->arena, &e, err) ||
      escal__may_receive(c, db, e, "AcknowledgeEscalation", err) ||
      hd_call_check_current("escalation", e->id, e->version, x->req->expected_version, err))
    return -1;
  if (e->status != HELPDESK__V1__ESCALATION_STATUS__ESCALATION_STATUS_OPEN)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "escalation %" PRId64 " is %s; only an OPEN escalation is acknowledged",
                      e->id, escal_status_name(e->status));
  const hd_db_param p[] = {hd_db_text(c->principal->user_id),
                           hd_db_int(now),
                           hd_db_int(now),
                           hd_db_int(now + e->response_window_seconds * HD_US_PER_S),
                           hd_db_int(now),
                           hd_db_text(tenant),
                           hd_db_int(e->id)};
  /* FORCE INDEX, here and below: otherwise MariaDB estimates a range in each index starting
   * with the tenant at every execution; an UPDATE by primary key is not a const read. */
  if (hd_db_exec(db,
                 "UPDATE escalations FORCE INDEX (PRIMARY) SET status = 'ACKNOWLEDGED', "
                 "acknowledged_by = ?, acknowledged_at_us = ?, last_update_at_us = ?, "
                 "due_at_us = ?, overdue = 0, version = version + 1, updated_at_us = ? "
                 "WHERE tenant = ? AND id = ?",
                 p, sizeof p / sizeof p[0], NULL, NULL, err) ||
      escal_get(db, tenant, e->id, false, c->arena, &x->out, err))
    return -1;
  return escal_call_event(db, c, ESCAL_EVENT_ACKNOWLEDGED, x->out, now, err);
}

/* OPEN → ACKNOWLEDGED by the receiving department; the response window starts again. */
int routing_acknowledge_escalation(hd_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage *resp) {
  const Helpdesk__V1__AcknowledgeEscalationRequest *rq =
      (const Helpdesk__V1__AcknowledgeEscalationRequest *)req;
  if (hd_call_check_id(call, "escalation_id", rq->escalation_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_text(call, "note", rq->note, 0, ESCAL_CONTEXT_MAX))
    return -1;
  ack_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, ack__tx, &x)) return -1;
  routing_escalation_wake(call, x.out->id, x.out->due_time_us);
  *(Helpdesk__V1__Escalation *)resp = *x.out;
  return 0;
}

typedef struct resolve_ctx {
  hd_call *call;
  const Helpdesk__V1__ResolveEscalationRequest *req;
  bool check_only;    /* first pass: read, check, render the comment */
  char *comment_text; /* RESOLVED: the customer's comment */
  int64_t comment_id;
  Helpdesk__V1__Escalation *out;
} resolve_ctx;

static int resolve__tx(hd_db *db, void *arg, hd_err *err) {
  resolve_ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = rt_tenant(c);
  const int64_t now = rt_now(c);
  const bool resolved =
      x->req->outcome == HELPDESK__V1__ESCALATION_OUTCOME__ESCALATION_OUTCOME_RESOLVED;
  Helpdesk__V1__Escalation *e = NULL;
  if (escal_get(db, tenant, x->req->escalation_id, !x->check_only, c->arena, &e, err) ||
      escal__may_receive(c, db, e, "ResolveEscalation", err) ||
      hd_call_check_current("escalation", e->id, e->version, x->req->expected_version, err))
    return -1;
  if (!escal__live(e))
    return hd_err_set(err, HD_FAILED_PRECONDITION, "escalation %" PRId64 " is already %s", e->id,
                      escal_status_name(e->status));
  if (x->check_only) {
    x->out = e;
    if (!resolved) return 0;
    Helpdesk__V1__RoutingSettings *s = NULL;
    return routing_settings_get(db, tenant, c->arena, &s, err) ||
           routing_template_render(s->escalation_resolved_template, e->to_department, e->ticket_id,
                                   x->req->resolution, c->arena, &x->comment_text, err);
  }
  const hd_db_param p[] = {hd_db_text(resolved ? "RESOLVED" : "BOUNCED"),
                           hd_db_text(c->principal->user_id),
                           hd_db_text(x->req->resolution),
                           hd_db_int(now),
                           hd_db_int(x->comment_id),
                           hd_db_int(now),
                           hd_db_int(now),
                           hd_db_text(tenant),
                           hd_db_int(e->id)};
  if (hd_db_exec(db,
                 "UPDATE escalations FORCE INDEX (PRIMARY) SET status = ?, resolved_by = ?, "
                 "resolution = ?, resolved_at_us = ?, resolve_comment_id = ?, "
                 "last_update_at_us = ?, due_at_us = NULL, overdue = 0, version = version + 1, "
                 "updated_at_us = ? WHERE tenant = ? AND id = ?",
                 p, sizeof p / sizeof p[0], NULL, NULL, err) ||
      escal_get(db, tenant, e->id, false, c->arena, &x->out, err))
    return -1;
  return escal_call_event(db, c, resolved ? ESCAL_EVENT_RESOLVED : ESCAL_EVENT_BOUNCED, x->out, now,
                          err);
}

/* RESOLVED (the customer is told, in a comment worded by the tenant's template) or BOUNCED
 * (back to the sender unresolved), by the receiving department. */
int routing_resolve_escalation(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ResolveEscalationRequest *rq =
      (const Helpdesk__V1__ResolveEscalationRequest *)req;
  if (hd_call_check_id(call, "escalation_id", rq->escalation_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_enum(call, "outcome", &helpdesk__v1__escalation_outcome__descriptor,
                         (int)rq->outcome, false) ||
      hd_call_check_text(call, "resolution", rq->resolution, 1, ESCAL_CONTEXT_MAX))
    return -1;
  resolve_ctx x = {.call = call, .req = rq, .check_only = true};
  if (hd_call_tx(call, resolve__tx, &x)) return -1;
  if (x.comment_text) {
    Helpdesk__V1__Comment *comment = NULL;
    if (rt_ticket_comment(call, x.out->ticket_id, x.comment_text, &comment)) return -1;
    x.comment_id = comment->id;
  }
  x.check_only = false;
  if (hd_call_tx(call, resolve__tx, &x)) return -1;
  *(Helpdesk__V1__Escalation *)resp = *x.out;
  return 0;
}

/* ---- ListEscalations, ListOverdueEscalations ---- */

typedef struct list_ctx {
  hd_call *call;
  const char *sql;
  hd_db_param params[12];
  size_t n_params;
  hd_page page;
  bool by_due; /* the page key is the due time (overdue list), else the id alone */
  Helpdesk__V1__Escalation ***items;
  size_t *n_items;
  Helpdesk__V1__PageInfo **info;
} list_ctx;

static int list__tx(hd_db *db, void *arg, hd_err *err) {
  list_ctx *x = arg;
  hd_call *c = x->call;
  hd_db_rows *rows = NULL;
  int rc = -1;
  if (hd_db_query(db, x->sql, x->params, x->n_params, (size_t)hd_page_fetch(&x->page), &rows, err))
    goto done;
  const size_t fetched = hd_db_rows_count(rows), shown = hd_page_shown(&x->page, fetched);
  Helpdesk__V1__Escalation **items = hd_arena_alloc(c->arena, (shown ? shown : 1) * sizeof *items);
  if (!items) goto oom;
  for (size_t i = 0; i < shown; i++)
    if (!(items[i] = escal_from_row(rows, i, c->arena))) goto oom;
  hd_page_pos last = {0};
  if (shown)
    last = (hd_page_pos){.key = x->by_due ? items[shown - 1]->due_time_us : 0,
                         .id = items[shown - 1]->id};
  char *next = NULL;
  if (hd_page_next(&x->page, fetched > shown ? &last : NULL, c->arena, &next, err) ||
      hd_page_info(c->arena, next, x->info, err))
    goto done;
  *x->items = items;
  *x->n_items = shown;
  rc = 0;
  goto done;
oom:
  hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
done:
  hd_db_rows_free(rows);
  return rc;
}

/* Escalations of the tenant, oldest first, filtered. */
int routing_list_escalations(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ListEscalationsRequest *rq =
      (const Helpdesk__V1__ListEscalationsRequest *)req;
  Helpdesk__V1__ListEscalationsResponse *out = (Helpdesk__V1__ListEscalationsResponse *)resp;
  if ((rq->ticket_id && hd_call_check_id(call, "ticket_id", rq->ticket_id)) ||
      (rq->department[0] && rt_check_department_name(call, "department", rq->department)) ||
      hd_call_check_enum(call, "status", &helpdesk__v1__escalation_status__descriptor,
                         (int)rq->status, true) ||
      hd_call_check_enum(call, "kind", &helpdesk__v1__escalation_kind__descriptor, (int)rq->kind,
                         true))
    return -1;
  hd_page_scope scope;
  hd_page_scope_init(&scope, "escalations", rt_tenant(call));
  hd_page_scope_int(&scope, rq->ticket_id);
  hd_page_scope_str(&scope, rq->department);
  hd_page_scope_int(&scope, rq->status);
  hd_page_scope_int(&scope, rq->kind);
  list_ctx x = {
      .call = call, .items = &out->escalations, .n_items = &out->n_escalations, .info = &out->page};
  if (hd_page_start_pb(rq->page, &scope, &x.page, &call->err)) return -1;
  /* 0 / '' filters match everything: (? = 0 OR ticket_id = ?). FORCE INDEX: the indexes the id
   * order or a filter can use; the overdue and open ones never beat them, yet MariaDB would
   * estimate a range in them at every execution. */
  x.sql = "SELECT " ESCAL_COLUMNS
          " FROM escalations e FORCE INDEX (PRIMARY, ix_escalations_ticket, "
          "ix_escalations_department, ix_escalations_status) WHERE e.tenant = ? AND e.id > ? AND "
          "(? = 0 OR e.ticket_id = ?) AND (? = '' OR e.to_department = ?) AND "
          "(? = '' OR e.status = ?) AND (? = '' OR e.kind = ?) ORDER BY e.id LIMIT ?";
  const char *status = escal_status_name(rq->status), *kind = escal_kind_name(rq->kind);
  const hd_db_param p[] = {hd_db_text(rt_tenant(call)),
                           hd_db_int(x.page.after.id),
                           hd_db_int(rq->ticket_id),
                           hd_db_int(rq->ticket_id),
                           hd_db_text(rq->department),
                           hd_db_text(rq->department),
                           hd_db_text(status),
                           hd_db_text(status),
                           hd_db_text(kind),
                           hd_db_text(kind),
                           hd_db_int(hd_page_fetch(&x.page))};
  memcpy(x.params, p, sizeof p);
  x.n_params = sizeof p / sizeof p[0];
  return hd_call_tx(call, list__tx, &x);
}

/* Live escalations the timer marked overdue, most overdue (earliest due time) first. */
int routing_list_overdue_escalations(hd_call *call, const ProtobufCMessage *req,
                                     ProtobufCMessage *resp) {
  const Helpdesk__V1__ListOverdueEscalationsRequest *rq =
      (const Helpdesk__V1__ListOverdueEscalationsRequest *)req;
  Helpdesk__V1__ListOverdueEscalationsResponse *out =
      (Helpdesk__V1__ListOverdueEscalationsResponse *)resp;
  if (rq->department[0] && rt_check_department_name(call, "department", rq->department)) return -1;
  hd_page_scope scope;
  hd_page_scope_init(&scope, "overdue_escalations", rt_tenant(call));
  hd_page_scope_str(&scope, rq->department);
  list_ctx x = {.call = call,
                .by_due = true,
                .items = &out->escalations,
                .n_items = &out->n_escalations,
                .info = &out->page};
  if (hd_page_start_pb(rq->page, &scope, &x.page, &call->err)) return -1;
    /* The due time is the last update + the window (the timer's column is cleared once fired). */
#define ESCAL_DUE "(e.last_update_at_us + e.response_window_s * 1000000)"
  x.sql = "SELECT " ESCAL_COLUMNS
          " FROM escalations e WHERE e.tenant = ? AND e.overdue = 1 AND "
          "e.status IN ('OPEN', 'ACKNOWLEDGED') AND (? = '' OR e.to_department = ?) AND "
          "(" ESCAL_DUE " > ? OR (" ESCAL_DUE " = ? AND e.id > ?)) ORDER BY " ESCAL_DUE
          ", e.id LIMIT ?";
#undef ESCAL_DUE
  const int64_t after_key = x.page.continued ? x.page.after.key : INT64_MIN;
  const hd_db_param p[] = {hd_db_text(rt_tenant(call)),
                           hd_db_text(rq->department),
                           hd_db_text(rq->department),
                           hd_db_int(after_key),
                           hd_db_int(after_key),
                           hd_db_int(x.page.after.id),
                           hd_db_int(hd_page_fetch(&x.page))};
  memcpy(x.params, p, sizeof p);
  x.n_params = sizeof p / sizeof p[0];
  return hd_call_tx(call, list__tx, &x);
}

/* ---- the overdue timer ---- */

static int escal__fire(hd_svc_env *env, hd_db *db, void *ctx, const hd_timer_row *row,
                       int64_t now_us, hd_timer_outcome *out, hd_err *err) {
  (void)env;
  (void)ctx;
  const hd_db_param p[] = {hd_db_text(row->key[0])};
  hd_db_rows *rows = NULL;
  hd_arena *arena = NULL;
  int rc = -1;
  if (hd_db_query(db, "SELECT e.tenant, " ESCAL_COLUMNS " FROM escalations e WHERE e.id = ?", p, 1,
                  1, &rows, err))
    goto done;
  if (hd_db_rows_count(rows) == 0) { /* gone (undone): nothing to do */
    out->result = "gone";
    rc = 0;
    goto done;
  }
  arena = hd_arena_new(64 * 1024);
  if (!arena) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  /* escal_from_row reads from column 0: copy past the tenant by reading a shifted row. */
  const char *tenant = hd_arena_strdup(arena, hd_db_str(rows, 0, 0, NULL));
  const int64_t id = hd_db_i64(rows, 0, 1);
  hd_db_rows_free(rows);
  rows = NULL;
  Helpdesk__V1__Escalation *e = NULL;
  if (!tenant || escal_get(db, tenant, id, false, arena, &e, err)) goto done;
  if (!escal__live(e)) {
    if (hd_db_exec(db, "UPDATE escalations SET due_at_us = NULL WHERE id = ?", p, 1, NULL, NULL,
                   err))
      goto done;
    out->result = "cleared";
  } else if (e->due_time_us > now_us) { /* updated meanwhile: due later */
    const hd_db_param q[] = {hd_db_int(e->due_time_us), hd_db_int(id)};
    if (hd_db_exec(db, "UPDATE escalations SET due_at_us = ? WHERE id = ?", q, 2, NULL, NULL, err))
      goto done;
    out->next_due_us = e->due_time_us;
    out->result = "moved";
  } else {
    if (hd_db_exec(db, "UPDATE escalations SET overdue = 1, due_at_us = NULL WHERE id = ?", p, 1,
                   NULL, NULL, err))
      goto done;
    e->overdue = true;
    if (escal_event(db, tenant, "system", "system", ESCAL_EVENT_OVERDUE, e, now_us, err)) goto done;
    out->result = "overdue";
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  hd_arena_free(arena);
  return rc;
}

static hd_timer_source escal__source(void) {
  return (hd_timer_source){.name = ESCAL_TIMER_SOURCE,
                           .table = "escalations",
                           .keys = {"id"},
                           .due_col = "due_at_us",
                           .fire = escal__fire};
}

int routing_escalation_timers_fire_due(hd_svc_env *env, hd_worker *w, int64_t now_us, size_t *fired,
                                       hd_err *err) {
  const hd_timer_source src = escal__source();
  return hd_timer_fire_due_once(&src, env, w, now_us, fired, err);
}

void routing_escalation_timer_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop) {
  const hd_timer_source src = escal__source();
  hd_timer_run_source(&src, env, w, stop);
}

static const char SQL_ESCALATION_GAUGES[] =
    "SELECT d.name, COUNT(e.id), COALESCE(SUM(e.overdue), 0) FROM "
    "(SELECT name FROM departments UNION SELECT to_department FROM escalations "
    "WHERE status IN ('OPEN', 'ACKNOWLEDGED')) d "
    "LEFT JOIN escalations e ON e.status IN ('OPEN', 'ACKNOWLEDGED') AND e.to_department = d.name "
    "GROUP BY d.name ORDER BY d.name LIMIT ?";

int routing_escalations_gauges(hd_svc_env *env, hd_db *db, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_int(ROUTING_ESCALATION_GAUGES_MAX)};
  if (hd_db_query(db, SQL_ESCALATION_GAUGES, p, 1, ROUTING_ESCALATION_GAUGES_MAX, &rows, err))
    goto done;
  for (size_t i = 0; i < hd_db_rows_count(rows); i++) {
    const char *labels[] = {"department", hd_db_str(rows, i, 0, NULL), NULL};
    if (hd_metrics_gauge_set(env->metrics, HD_METRIC_ESCALATIONS_OPEN, labels,
                             (double)hd_db_i64(rows, i, 1), err) ||
        hd_metrics_gauge_set(env->metrics, HD_METRIC_ESCALATIONS_OVERDUE, labels,
                             (double)hd_db_i64(rows, i, 2), err))
      goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}
