/* Ownership and handling of a ticket: TransferTicket, AssignTicket, UpgradeTicket, UrgeTicket and
 * SetCategory. None changes the status but TransferTicket's release to the queue (the table's
 * RELEASE); each is one transaction that locks the ticket, checks who
 * may do it and that the ticket is open (SetCategory excepted), and writes through
 * ticket_store_update so the version, history and outbox event follow. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "rpc/pb_enum.h"
#include "tenant_settings.h"
#include "ticket_call.h"
#include "ticket_handlers.h"
#include "ticket_records.h"

/* The roles that may act on any ticket of their tenant where an operation is "the owner or a
 * team lead / supervisor". */
#define OWNER_LEADS (HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR)

/* The Level 2 department (SOP 3.3): a ticket moves there only with an internal note carrying the
 * investigation details, written in the same request. */
#define TICKET_LEVEL2_DEPARTMENT "ESCALATED"

/* FAILED_PRECONDITION "<rpc> is not possible on a ticket in status CLOSED" unless t is open. */
static int owner__require_open(const Helpdesk__V1__Ticket *t, const char *rpc, hd_err *err) {
  const ticket_status s = ticket_status_from_pb(t->status);
  if (ticket_status_is_open(s)) return 0;
  return hd_err_set(err, HD_FAILED_PRECONDITION, "%s is not possible on a ticket in status %s", rpc,
                    ticket_status_name(s));
}

/* Fills t->followed for the caller (an agent's own follow; false for anyone else); meta is the
 * locked row's, whose count of followers no follow can change before the commit. */
static int owner__followed(hd_call *c, hd_db *db, Helpdesk__V1__Ticket *t, const ticket_meta *meta,
                           hd_err *err) {
  const char *viewer = tk_is_staff(c->principal) ? c->principal->user_id : NULL;
  return ticket_store_mark_followed(db, t, meta->followers, viewer, err);
}

/* The reply: the ticket the transaction produced, copied into the initialised response. */
static void owner__reply(ProtobufCMessage *resp, const Helpdesk__V1__Ticket *t) {
  *(Helpdesk__V1__Ticket *)resp = *t;
}

/* ---- TransferTicket ---- */

typedef struct transfer_ctx {
  hd_call *call;
  const Helpdesk__V1__TransferTicketRequest *req;
  Helpdesk__V1__Ticket *out; /* in call->arena */
} transfer_ctx;

/* The note as an internal record with its history row (TransferTicket's action), or none. */
static int transfer__note(hd_db *db, hd_call *c, const Helpdesk__V1__Ticket *t, const char *text,
                          const char *action, Helpdesk__V1__InternalRecord **note, hd_err *err) {
  *note = NULL;
  if (!text || !text[0]) return 0;
  const ticket_actor actor = tk_actor(c);
  if (ticket_record_insert(db, tk_tenant(c), t->id, actor.user_id, text, tk_now(c), c->arena, note,
                           err))
    return -1;
  char id[24];
  snprintf(id, sizeof id, "%" PRId64, (*note)->id);
  return ticket_store_history_append(db, tk_tenant(c), t->id, &actor, action, "internal_record",
                                     NULL, id, tk_now(c), err);
}

/* TransferTicket with release_to_queue, after transfer__tx checked who may and that t is open:
 * the owner goes, the status goes back through the table's RELEASE row, the timers stop (see
 * tickets.proto). */
static int transfer__release(hd_db *db, transfer_ctx *x, Helpdesk__V1__Ticket *t,
                             const ticket_meta *meta, hd_err *err) {
  hd_call *c = x->call;
  const Helpdesk__V1__TransferTicketRequest *rq = x->req;
  const ticket_actor actor = tk_actor(c);
  if (!t->owner_id[0])
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64
                      " has no owner to release: it already waits in the queue of "
                      "its department",
                      t->id);
  if (rq->fence > 0 && meta->fence > rq->fence)
    return hd_err_set(err, HD_ABORTED,
                      "ticket %" PRId64 " was claimed again after fence %" PRId64
                      " (fence is now %" PRId64 "): this release is too late and changes nothing",
                      t->id, rq->fence, meta->fence);
  const ticket_status from = ticket_status_from_pb(t->status);
  ticket_status to;
  if (ticket_transition(TICKET_OP_RELEASE, from,
                        &(const ticket_facts){.request = "TransferTicket with release_to_queue"},
                        &to, err))
    return -1;
  Helpdesk__V1__InternalRecord *note = NULL;
  if (transfer__note(db, c, t, rq->note, "RELEASE", &note, err)) return -1;
  ticket_event_field ev[4];
  size_t n_ev = 0;
  ev[n_ev++] = TICKET_EV_STR("from_owner_id", t->owner_id);
  ev[n_ev++] = TICKET_EV_STR("from_status", ticket_status_name(from));
  if (note) ev[n_ev++] = TICKET_EV_INT("internal_record_id", note->id);
  if (rq->fence > 0) ev[n_ev++] = TICKET_EV_INT("fence", rq->fence);
  ticket_change ch = {
      .action = "RELEASE",
      .event_type = TICKET_EVENT_RELEASED,
      .status = to != from ? to : TICKET_STATUS_NONE,
      .owner_id = "",
      .department = rq->department && rq->department[0] ? rq->department : NULL,
      .event_fields = ev,
      .n_event_fields = n_ev,
  };
  /* Nobody works it now: the follow-ups and the auto-close wait for the next owner. */
  if (to != from) {
    ch.timer = TICKET_TIMER_CLEAR;
    ch.follow_up_count = TICKET_SET(0);
  }
  /* On hold, it resumes to "awaiting attention", never to a worked status without an owner. */
  if (from == TICKET_SUSPENDED &&
      ticket_status_needs_owner(ticket_status_from_pb(t->suspended_from)))
    ch.suspended_from = TICKET_SET(TICKET_PENDING_RESPONSE);
  if (ticket_store_update_locked(
          db, tk_tenant(c), &(const ticket_locked){.ticket = t, .meta = *meta},
          rq->expected_version, &ch, tk_now(c), &actor, c->arena, &x->out, err))
    return -1;
  return owner__followed(c, db, x->out, meta, err);
}

static int transfer__tx(hd_db *db, void *arg, hd_err *err) {
  transfer_ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__TransferTicketRequest *rq = x->req;
  const char *tenant = tk_tenant(c);
  const ticket_actor actor = tk_actor(c);
  const int64_t now = tk_now(c);
  x->out = NULL;
  Helpdesk__V1__Ticket *t;
  ticket_meta meta;
  if (tk_ticket_load(c, db, rq->ticket_id, true, &t, &meta, err)) return -1;
  const bool moves_department =
      rq->department && rq->department[0] && strcmp(rq->department, t->department) != 0;
  /* A service (routing's escalations and hand-overs) may move a ticket to another department,
   * keeping its owner or naming another, and release it to a queue (routing's claims); handing a
   * ticket to another agent alone stays the owner's or a lead's. */
  const unsigned may =
      moves_department || rq->release_to_queue ? OWNER_LEADS | HD_ROLE_SERVICE : OWNER_LEADS;
  if (tk_require_owner_or(c, t, may, "TransferTicket", err)) return -1;
  if (owner__require_open(t, "TransferTicket", err)) return -1;
  if (moves_department && strcmp(rq->department, TICKET_LEVEL2_DEPARTMENT) == 0 &&
      (!rq->note || hd_text_is_blank(rq->note, strlen(rq->note))))
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "moving ticket %" PRId64
                      " to %s (Level 2) needs the investigation details "
                      "as a note in the same request (they become an internal record), or "
                      "RoutingService/EscalateToLevel2",
                      t->id, TICKET_LEVEL2_DEPARTMENT);
  if (rq->release_to_queue) return transfer__release(db, x, t, &meta, err);
  if (!moves_department && t->owner_id[0] && strcmp(t->owner_id, rq->new_owner_id) == 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "ticket %" PRId64
                      " is already owned by %s; new_owner_id must name another "
                      "agent",
                      t->id, t->owner_id);
  /* The hand-over note is an internal record written with the transfer, in the same tx. */
  Helpdesk__V1__InternalRecord *note = NULL;
  const bool has_note = rq->note && rq->note[0];
  if (has_note &&
      ticket_record_insert(db, tenant, t->id, actor.user_id, rq->note, now, c->arena, &note, err))
    return -1;
  ticket_event_field ev[3];
  size_t n_ev = 0;
  ev[n_ev++] = TICKET_EV_STR("from_owner_id", t->owner_id[0] ? t->owner_id : NULL);
  ev[n_ev++] = TICKET_EV_STR("to_owner_id", rq->new_owner_id);
  if (note) ev[n_ev++] = TICKET_EV_INT("internal_record_id", note->id);
  const ticket_change ch = {
      .action = "TRANSFER",
      .event_type = TICKET_EVENT_TRANSFERRED,
      .owner_id = rq->new_owner_id,
      .department = rq->department && rq->department[0] ? rq->department : NULL,
      .event_fields = ev,
      .n_event_fields = n_ev,
  };
  if (ticket_store_update_locked(db, tenant, &(const ticket_locked){.ticket = t, .meta = meta},
                                 rq->expected_version, &ch, now, &actor, c->arena, &x->out, err))
    return -1;
  if (note) {
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, note->id);
    if (ticket_store_history_append(db, tenant, t->id, &actor, "TRANSFER", "internal_record", NULL,
                                    id, now, err))
      return -1;
  }
  return owner__followed(c, db, x->out, &meta, err);
}

/* Hands the ticket to another agent (the owner, a team lead or a supervisor), or with
 * release_to_queue back to its queue unowned (also a service); open tickets only; the optional
 * note becomes an internal record. Replies with the ticket after the change. */
int tickets_transfer_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__TransferTicketRequest *rq = (const Helpdesk__V1__TransferTicketRequest *)req;
  const size_t owner_min = rq->release_to_queue ? 0 : 1;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_ident(call, "new_owner_id", rq->new_owner_id, owner_min, TICKET_USER_ID_MAX) ||
      hd_call_check_ident(call, "department", rq->department, 0, TICKET_DEPARTMENT_MAX) ||
      hd_call_check_text(call, "note", rq->note, 0, TICKET_TEXT_MAX))
    return -1;
  if (rq->release_to_queue && rq->new_owner_id && rq->new_owner_id[0])
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "release_to_queue puts the ticket back in its queue with no owner; leave "
                      "new_owner_id empty (it is %s), or send release_to_queue false to hand it "
                      "to that agent",
                      rq->new_owner_id);
  if (rq->fence < 0 || (rq->fence > 0 && !rq->release_to_queue))
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "fence must be 0, or with release_to_queue the releasing claim's fencing "
                      "token; got %" PRId64,
                      rq->fence);
  transfer_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, transfer__tx, &x)) return -1;
  owner__reply(resp, x.out);
  return 0;
}

/* ---- AssignTicket ---- */

/* The roles that assign any ticket to anyone (routing's claim runs as a service). */
#define ASSIGN_ANY (HD_ROLE_TEAM_LEAD | HD_ROLE_SUPERVISOR | HD_ROLE_SERVICE)

typedef struct assign_ctx {
  hd_call *call;
  const Helpdesk__V1__AssignTicketRequest *req;
  Helpdesk__V1__Ticket *out;
} assign_ctx;

static int assign__tx(hd_db *db, void *arg, hd_err *err) {
  assign_ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__AssignTicketRequest *rq = x->req;
  const ticket_actor actor = tk_actor(c);
  x->out = NULL;
  Helpdesk__V1__Ticket *t;
  ticket_meta meta;
  if (tk_ticket_load(c, db, rq->ticket_id, true, &t, &meta, err)) return -1;
  /* An agent alone: only an unowned ticket, only to themself (checked before the call). */
  if (!(c->principal->roles & ASSIGN_ANY) && t->owner_id[0])
    return hd_err_set(err, HD_PERMISSION_DENIED,
                      "ticket %" PRId64
                      " is owned by %s; an agent may only assign an unowned "
                      "ticket to themself (a team_lead or supervisor reassigns it, or its owner "
                      "transfers it)",
                      t->id, t->owner_id);
  if (owner__require_open(t, "AssignTicket", err)) return -1;
  if (rq->department && strcmp(rq->department, TICKET_LEVEL2_DEPARTMENT) == 0 &&
      strcmp(t->department, TICKET_LEVEL2_DEPARTMENT) != 0)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "AssignTicket cannot move ticket %" PRId64
                      " to %s (Level 2): that move "
                      "needs the investigation details as an internal record; use "
                      "TransferTicket with a note, or RoutingService/EscalateToLevel2",
                      t->id, TICKET_LEVEL2_DEPARTMENT);
  const ticket_event_field ev[] = {
      TICKET_EV_STR("from_owner_id", t->owner_id[0] ? t->owner_id : NULL),
      TICKET_EV_STR("to_owner_id", rq->owner_id),
      TICKET_EV_INT("fence", rq->fence),
  };
  const ticket_change ch = {
      .action = "ASSIGN",
      .event_type = TICKET_EVENT_ASSIGNED,
      .owner_id = rq->owner_id,
      .department = rq->department && rq->department[0] ? rq->department : NULL,
      .fence = rq->fence,
      .event_fields = ev,
      .n_event_fields = sizeof ev / sizeof ev[0],
  };
  if (ticket_store_update_locked(
          db, tk_tenant(c), &(const ticket_locked){.ticket = t, .meta = meta}, rq->expected_version,
          &ch, tk_now(c), &actor, c->arena, &x->out, err))
    return -1;
  return owner__followed(c, db, x->out, &meta, err);
}

/* Makes owner_id the owner: a team lead, supervisor or service (routing's claim, with its fence)
 * assigns any open ticket to anyone; an agent takes an unowned one for themself. */
int tickets_assign_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__AssignTicketRequest *rq = (const Helpdesk__V1__AssignTicketRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_ident(call, "owner_id", rq->owner_id, 1, TICKET_USER_ID_MAX) ||
      hd_call_check_ident(call, "department", rq->department, 0, TICKET_DEPARTMENT_MAX))
    return -1;
  if (rq->fence < 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "fence must be 0 (none) or the routing claim's fencing token, got %" PRId64,
                      rq->fence);
  const hd_principal *p = call->principal;
  if (!(p->roles & ASSIGN_ANY) && strcmp(rq->owner_id, p->user_id) != 0)
    return hd_err_set(&call->err, HD_PERMISSION_DENIED,
                      "an agent may only assign a ticket to themself (you are %s, owner_id is %s); "
                      "a team_lead or supervisor assigns tickets to others",
                      p->user_id, rq->owner_id);
  assign_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, assign__tx, &x)) return -1;
  owner__reply(resp, x.out);
  return 0;
}

/* ---- UpgradeTicket ---- */

typedef struct upgrade_ctx {
  hd_call *call;
  const Helpdesk__V1__UpgradeTicketRequest *req;
  Helpdesk__V1__Ticket *out;
} upgrade_ctx;

static int upgrade__tx(hd_db *db, void *arg, hd_err *err) {
  upgrade_ctx *x = arg;
  hd_call *c = x->call;
  const ticket_actor actor = tk_actor(c);
  x->out = NULL;
  Helpdesk__V1__Ticket *t;
  ticket_meta meta;
  if (tk_ticket_load(c, db, x->req->ticket_id, true, &t, &meta, err)) return -1;
  if (tk_require_owner_or(c, t, OWNER_LEADS, "UpgradeTicket", err)) return -1;
  if (owner__require_open(t, "UpgradeTicket", err)) return -1;
  if (t->level >= INT32_MAX)
    return hd_err_set(err, HD_FAILED_PRECONDITION, "ticket %" PRId64 " is at the highest level %d",
                      t->id, (int)t->level);
  const int32_t level = t->level + 1;
  /* The flag goes before the subject, never before an older flag: the subject is unchanged. */
  const char *title = hd_arena_printf(c->arena, "[Upgraded L%d] %s", (int)level, t->subject);
  if (!title) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory upgrading a ticket");
  const ticket_event_field ev[] = {TICKET_EV_INT("from_level", t->level),
                                   TICKET_EV_INT("level", level)};
  const ticket_change ch = {
      .action = "UPGRADE",
      .event_type = TICKET_EVENT_ESCALATED,
      .level = TICKET_SET(level),
      .title = title,
      .event_fields = ev,
      .n_event_fields = sizeof ev / sizeof ev[0],
  };
  if (ticket_store_update_locked(
          db, tk_tenant(c), &(const ticket_locked){.ticket = t, .meta = meta},
          x->req->expected_version, &ch, tk_now(c), &actor, c->arena, &x->out, err))
    return -1;
  return owner__followed(c, db, x->out, &meta, err);
}

/* Raises an open ticket's level by one and flags its title "[Upgraded L<n>] <subject>" (the
 * owner, a team lead or a supervisor). */
int tickets_upgrade_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__UpgradeTicketRequest *rq = (const Helpdesk__V1__UpgradeTicketRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version))
    return -1;
  upgrade_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, upgrade__tx, &x)) return -1;
  owner__reply(resp, x.out);
  return 0;
}

/* ---- UrgeTicket ---- */

static const char SQL_URGE_INSERT[] =
    "INSERT INTO urges (tenant, ticket_id, channel, recipient_id, requested_by, created_at_us) "
    "VALUES (?, ?, ?, ?, ?, ?)";

typedef struct urge_ctx {
  hd_call *call;
  const Helpdesk__V1__UrgeTicketRequest *req;
  Helpdesk__V1__Urge out; /* strings in call->arena */
} urge_ctx;

/* FAILED_PRECONDITION while the ticket's last reminder is younger than the configured cooldown
 * (the caller holds the ticket's row lock, so two calls at once cannot both pass). */
static int urge__check_cooldown(hd_call *c, hd_db *db, int64_t ticket_id, int64_t now,
                                hd_err *err) {
  const int64_t cooldown = tk_config(c)->urge_cooldown_us;
  if (cooldown <= 0) return 0;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(tk_tenant(c)), hd_db_int(ticket_id)};
  if (hd_db_query(db, "SELECT MAX(created_at_us) FROM urges WHERE tenant = ? AND ticket_id = ?", p,
                  2, 1, &rows, err))
    return -1;
  const bool any = !hd_db_is_null(rows, 0, 0);
  const int64_t last = hd_db_i64(rows, 0, 0);
  hd_db_rows_free(rows);
  if (!any || now - last >= cooldown) return 0;
  const int64_t wait_s = (int64_t)((last + cooldown - now + HD_US_PER_S - 1) / HD_US_PER_S);
  return hd_err_set(err, HD_FAILED_PRECONDITION,
                    "ticket %" PRId64 "'s owner was reminded %" PRId64
                    " s ago; the next reminder "
                    "can be sent in %" PRId64 " s",
                    ticket_id, (int64_t)((now - last) / HD_US_PER_S), wait_s);
}

static int urge__tx(hd_db *db, void *arg, hd_err *err) {
  urge_ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = tk_tenant(c);
  const ticket_actor actor = tk_actor(c);
  const int64_t now = tk_now(c);
  x->out = (Helpdesk__V1__Urge)HELPDESK__V1__URGE__INIT;
  Helpdesk__V1__Ticket *t;
  ticket_meta meta;
  /* A customer reaches only their own ticket (another's is NOT_FOUND); staff any of the tenant. */
  if (tk_ticket_load(c, db, x->req->ticket_id, true, &t, &meta, err)) return -1;
  if (owner__require_open(t, "UrgeTicket", err)) return -1;
  if (!t->owner_id[0])
    return hd_err_set(err, HD_FAILED_PRECONDITION, "ticket %" PRId64 " has no owner to remind yet",
                      t->id);
  Helpdesk__V1__TenantSettings *s;
  if (tenant_settings_get(db, tenant, c->arena, &s, err)) return -1;
  if (s->reminder_channel == HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_UNSPECIFIED)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "tenant %s has no reminder channel configured; a tenant_admin sets one with "
                      "UpdateTenantSettings",
                      tenant);
  const char *configured =
      hd_pb_enum_name(&helpdesk__v1__reminder_channel__descriptor, (int)s->reminder_channel);
  if (!configured) return hd_err_set(err, HD_INTERNAL, "tenant %s has an unknown channel", tenant);
  /* One target per tenant: a channel other than the configured one has nowhere to go. */
  if (x->req->channel != 0 && x->req->channel != s->reminder_channel)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "tenant %s sends reminders by %s only; ask for %s or leave channel unset",
                      tenant, configured, configured);
  if (urge__check_cooldown(c, db, t->id, now, err)) return -1;
  const hd_db_param p[] = {hd_db_text(tenant),        hd_db_int(t->id),
                           hd_db_text(configured),    hd_db_text(t->owner_id),
                           hd_db_text(actor.user_id), hd_db_int(now)};
  uint64_t urge_id = 0;
  if (hd_db_exec(db, SQL_URGE_INSERT, p, sizeof p / sizeof p[0], NULL, &urge_id, err)) return -1;
  /* The event carries the target for the notifier; history only ever shows the urge's id. */
  const ticket_event_field ev[] = {
      TICKET_EV_INT("urge_id", urge_id),
      TICKET_EV_STR("channel", configured),
      TICKET_EV_STR("recipient_id", t->owner_id),
      TICKET_EV_STR("target", s->reminder_target),
  };
  const ticket_change ch = {.action = "URGE",
                            .event_type = TICKET_EVENT_URGED,
                            .event_fields = ev,
                            .n_event_fields = sizeof ev / sizeof ev[0]};
  if (ticket_store_update_locked(db, tenant, &(const ticket_locked){.ticket = t, .meta = meta}, 0,
                                 &ch, now, &actor, NULL, NULL, err))
    return -1;
  char id[24];
  snprintf(id, sizeof id, "%" PRIu64, urge_id);
  if (ticket_store_history_append(db, tenant, t->id, &actor, "URGE", "urge", NULL, id, now, err))
    return -1;
  x->out.id = (int64_t)urge_id;
  x->out.ticket_id = t->id;
  x->out.channel = s->reminder_channel;
  x->out.recipient_id = t->owner_id; /* in call->arena */
  x->out.requested_by = hd_arena_strdup(c->arena, actor.user_id);
  x->out.create_time_us = now;
  if (!x->out.requested_by)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory recording a reminder");
  return 0;
}

/* Records a reminder to the owner of an open ticket through the tenant's configured channel (the
 * ticket's customer or any staff may ask); the outbox event sends it. Replies with the Urge. */
int tickets_urge_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__UrgeTicketRequest *rq = (const Helpdesk__V1__UrgeTicketRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_enum(call, "channel", &helpdesk__v1__reminder_channel__descriptor,
                         (int)rq->channel, true))
    return -1;
  urge_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, urge__tx, &x)) return -1;
  *(Helpdesk__V1__Urge *)resp = x.out;
  return 0;
}

/* ---- SetCategory ---- */

typedef struct category_ctx {
  hd_call *call;
  const Helpdesk__V1__SetCategoryRequest *req;
  Helpdesk__V1__Ticket *out;
} category_ctx;

static int category__tx(hd_db *db, void *arg, hd_err *err) {
  category_ctx *x = arg;
  hd_call *c = x->call;
  const ticket_actor actor = tk_actor(c);
  x->out = NULL;
  Helpdesk__V1__Ticket *t;
  ticket_meta meta;
  if (tk_ticket_load(c, db, x->req->ticket_id, true, &t, &meta, err)) return -1;
  const char *name = hd_pb_enum_name(&helpdesk__v1__category__descriptor, (int)x->req->category);
  const ticket_event_field ev[] = {TICKET_EV_STR("category", name)};
  const ticket_change ch = {.action = "SET_CATEGORY",
                            .event_type = TICKET_EVENT_CATEGORY_SET,
                            .category = x->req->category,
                            .event_fields = ev,
                            .n_event_fields = 1};
  if (ticket_store_update_locked(
          db, tk_tenant(c), &(const ticket_locked){.ticket = t, .meta = meta},
          x->req->expected_version, &ch, tk_now(c), &actor, c->arena, &x->out, err))
    return -1;
  return owner__followed(c, db, x->out, &meta, err);
}

/* Sets the ticket's complexity category (a KPI weight): team leads and supervisors only. Any
 * status: a finished ticket is still categorised for the KPI. */
int tickets_set_category(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__SetCategoryRequest *rq = (const Helpdesk__V1__SetCategoryRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_enum(call, "category", &helpdesk__v1__category__descriptor, (int)rq->category,
                         false))
    return -1;
  category_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, category__tx, &x)) return -1;
  owner__reply(resp, x.out);
  return 0;
}
