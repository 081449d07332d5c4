/* Create, read and list tickets; following; history; tenant settings. CreateTicket is
 * idempotent by a key per caller, claimed in the ticket's own transaction (see svc/idem.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rpc/page.h"
#include "svc/idem.h"
#include "tenant_settings.h"
#include "ticket_call.h"
#include "ticket_handlers.h"
#include "ticket_query.h"

/* ---- shared by the handlers of this file ---- */

/* Makes sure a failed store or database call leaves a status on the call; returns -1. */
static int ticket__failed(hd_call *c) {
  if (c->err.code == HD_OK) hd_err_set(&c->err, HD_INTERNAL, "reading tickets failed");
  return -1;
}

/* ---- CreateTicket ---- */

typedef struct create__ctx {
  hd_call *call;
  const char *key;              /* the idempotency key, borrowed from the request */
  ticket_new ticket;            /* strings borrowed from the request and the principal */
  char hash[HD_IDEM_HASH_SIZE]; /* SHA-256 of the request as the customer it is for */
  Helpdesk__V1__Ticket *out;    /* the created (or first call's) ticket, in call->arena */
  bool claim_first;             /* the key had a row: claim it before the work (a retry, a twin) */
  bool key_taken;               /* set by the fast path when the key turned out to have a row */
} create__ctx;

/* Claims the key first: a concurrent twin waits on its unique key until this transaction ends,
 * then finds the ticket this one created. Runs again after a deadlock, so it resets out. */
static int create__tx(hd_db *db, void *arg, hd_err *err) {
  create__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = tk_tenant(c);
  const char *caller = c->principal->user_id;
  const int64_t now = tk_now(c);
  const ticket_actor actor = tk_actor(c);
  const hd_idem_key key = {
      .tenant = tenant, .caller_id = caller, .key = x->key, .result_kind = "ticket"};
  int64_t id = 0;
  x->out = NULL;
  x->key_taken = false;
  if (!x->claim_first) {
    /* Almost every key is new: the ticket, then its key with the result in one statement. A key
     * with a row fails that statement: the whole transaction rolls back and runs again below. */
    if (ticket_store_insert(db, tenant, &x->ticket, now, &actor, &id, err)) return -1;
    if (hd_idem_record(db, &key, x->hash, now, id, err)) {
      x->key_taken = err->code == HD_ALREADY_EXISTS;
      return -1;
    }
    return ticket_store_new_proto(tenant, &x->ticket, id, now, c->arena, &x->out, err);
  }
  /* ALREADY_EXISTS for the key used with another request. */
  if (hd_idem_claim(db, &key, x->hash, now, &id, err)) return -1;
  if (id == 0) {
    /* The reply is what was just written: no read back (a new ticket has no follower). */
    return ticket_store_insert(db, tenant, &x->ticket, now, &actor, &id, err) ||
                   hd_idem_set_result(db, &key, id, err) ||
                   ticket_store_new_proto(tenant, &x->ticket, id, now, c->arena, &x->out, err)
               ? -1
               : 0;
  }
  /* A locking read: it sees the twin's committed ticket whatever this transaction's snapshot. */
  ticket_meta meta;
  if (ticket_store_get(db, tenant, id, true, c->arena, &x->out, &meta, err)) return -1;
  return ticket_store_mark_followed(db, x->out, meta.followers, c->principal->user_id, err);
}

/* The request as it is remembered for its key: customer_id resolved (a customer's "" and their
 * own id are the same request), packed (deterministic for equal values) and hashed. */
static int create__hash(hd_call *c, const Helpdesk__V1__CreateTicketRequest *rq,
                        const char *customer_id, char out[HD_IDEM_HASH_SIZE]) {
  Helpdesk__V1__CreateTicketRequest norm = *rq;
  norm.customer_id = (char *)customer_id;
  return hd_idem_hash_request(&norm.base, out, &c->err);
}

/* CreateTicket (tickets.proto): every field checked first; a customer opens for themself, staff
 * and services name the customer; then the key claim and the insert in one transaction. */
int tickets_create_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__CreateTicketRequest *rq = (const Helpdesk__V1__CreateTicketRequest *)req;
  const hd_principal *p = call->principal;
  if (hd_call_check_ident(call, "idempotency_key", rq->idempotency_key, 1,
                          TICKET_IDEMPOTENCY_KEY_MAX) ||
      hd_call_check_ident(call, "customer_id", rq->customer_id, 0, TICKET_USER_ID_MAX) ||
      hd_call_check_text(call, "subject", rq->subject, 1, TICKET_SUBJECT_MAX) ||
      hd_call_check_text(call, "description", rq->description, 1, TICKET_TEXT_MAX) ||
      hd_call_check_text(call, "product", rq->product, 0, TICKET_PRODUCT_MAX) ||
      hd_call_check_text(call, "brand", rq->brand, 0, TICKET_BRAND_MAX) ||
      hd_call_check_ident(call, "department", rq->department, 0, TICKET_DEPARTMENT_MAX) ||
      hd_call_check_enum(call, "service_type", &helpdesk__v1__service_type__descriptor,
                         (int)rq->service_type, false) ||
      hd_call_check_enum(call, "issue_type", &helpdesk__v1__issue_type__descriptor,
                         (int)rq->issue_type, false))
    return -1;
  const char *customer = rq->customer_id ? rq->customer_id : "";
  if (tk_is_customer_only(p)) {
    if (*customer && strcmp(customer, p->user_id) != 0)
      return hd_err_set(&call->err, HD_PERMISSION_DENIED,
                        "a customer opens tickets for themself only: leave customer_id empty or "
                        "set it to \"%s\"; staff open tickets on a customer's behalf",
                        p->user_id);
    customer = p->user_id;
  } else if (!*customer) {
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "customer_id is required when staff or a service opens a ticket: name the "
                      "customer it is for");
  }
  create__ctx x = {
      .call = call,
      .key = rq->idempotency_key,
      .ticket = {.customer_id = customer,
                 .subject = rq->subject,
                 .description = rq->description,
                 .product = rq->product,
                 .brand = rq->brand,
                 .service_type = rq->service_type,
                 .issue_type = rq->issue_type,
                 .department = rq->department},
  };
  if (create__hash(call, rq, customer, x.hash)) return -1;
  if (hd_call_tx(call, create__tx, &x)) {
    if (!x.key_taken) return -1;
    /* The key had a row: claimed first this time, which answers a retry, a twin's ticket or a
     * key used for another request. */
    x.claim_first = true;
    hd_err_clear(&call->err);
    if (hd_call_tx(call, create__tx, &x)) return -1;
  }
  *(Helpdesk__V1__Ticket *)resp = *x.out;
  return 0;
}

/* ---- GetTicket ---- */

/* GetTicket: the ticket with `followed` for the caller; another customer's is NOT_FOUND. */
int tickets_get_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__GetTicketRequest *rq = (const Helpdesk__V1__GetTicketRequest *)req;
  Helpdesk__V1__Ticket *t = NULL;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id)) return -1;
  if (ticket_store_get_viewed(tk_db(call), tk_tenant(call), rq->ticket_id, call->principal->user_id,
                              call->arena, &t, &call->err))
    return ticket__failed(call);
  if (tk_ticket_visible(call, t, &call->err)) return -1;
  *(Helpdesk__V1__Ticket *)resp = *t;
  return 0;
}

/* ---- ListTickets ---- */

/* The status set of a ListTickets request: status, statuses or open_only (one of them), each
 * status defined and not UNSPECIFIED, at most TICKET_LIST_STATUSES_MAX entries. *set is a bit
 * per status (0: any). */
static int list__statuses(hd_call *c, const Helpdesk__V1__ListTicketsRequest *rq, unsigned *set) {
  *set = 0;
  if (rq->n_statuses > TICKET_LIST_STATUSES_MAX)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "statuses has %zu entries; at most %d are allowed (each status once)",
                      rq->n_statuses, TICKET_LIST_STATUSES_MAX);
  if (rq->n_statuses && rq->status)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "set status or statuses, not both: put every status you want in statuses");
  if (rq->open_only && (rq->status || rq->n_statuses))
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "open_only already names the statuses (all but CLOSED and CANCELLED): "
                      "leave status and statuses empty with it");
  for (size_t i = 0; i < rq->n_statuses; i++) {
    char field[32];
    snprintf(field, sizeof field, "statuses[%zu]", i);
    if (hd_call_check_enum(c, field, &helpdesk__v1__ticket_status__descriptor, (int)rq->statuses[i],
                           false))
      return -1;
    *set |= 1u << (unsigned)ticket_status_from_pb(rq->statuses[i]);
  }
  if (rq->open_only) {
    for (int st = 1; st < TICKET_STATUS_COUNT; st++)
      if (ticket_status_is_open((ticket_status)st)) *set |= 1u << (unsigned)st;
  }
  return 0;
}

/* The owner rule of a ListTickets request: owner_filter against owner_id. */
static int list__owner(hd_call *c, const Helpdesk__V1__ListTicketsRequest *rq,
                       ticket_owner_match *out) {
  const bool named = rq->owner_id && *rq->owner_id;
  *out = named ? TICKET_OWNER_THIS : TICKET_OWNER_ANY;
  if (hd_call_check_enum(c, "owner_filter",
                         &helpdesk__v1__list_tickets_request__owner_filter__descriptor,
                         (int)rq->owner_filter, true))
    return -1;
  switch (rq->owner_filter) {
    case HELPDESK__V1__LIST_TICKETS_REQUEST__OWNER_FILTER__OWNER_FILTER_ANY:
    case HELPDESK__V1__LIST_TICKETS_REQUEST__OWNER_FILTER__OWNER_FILTER_NONE:
      if (named)
        return hd_err_set(
            &c->err, HD_INVALID_ARGUMENT,
            "owner_id is set but owner_filter is %s: leave owner_id empty, or use "
            "OWNER_FILTER_THIS for that owner's tickets",
            rq->owner_filter == HELPDESK__V1__LIST_TICKETS_REQUEST__OWNER_FILTER__OWNER_FILTER_ANY
                ? "OWNER_FILTER_ANY"
                : "OWNER_FILTER_NONE");
      if (rq->owner_filter == HELPDESK__V1__LIST_TICKETS_REQUEST__OWNER_FILTER__OWNER_FILTER_NONE)
        *out = TICKET_OWNER_NONE;
      break;
    case HELPDESK__V1__LIST_TICKETS_REQUEST__OWNER_FILTER__OWNER_FILTER_THIS:
      if (!named)
        return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                          "owner_id is required with OWNER_FILTER_THIS: name the owner whose "
                          "tickets to list");
      break;
    default:
      break;
  }
  return 0;
}

/* ListTickets: the store's keyset page; a customer's listing is always narrowed to themself,
 * whatever the other filters. */
int tickets_list_tickets(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ListTicketsRequest *rq = (const Helpdesk__V1__ListTicketsRequest *)req;
  Helpdesk__V1__ListTicketsResponse *out = (Helpdesk__V1__ListTicketsResponse *)resp;
  const hd_principal *p = call->principal;
  unsigned set = 0;
  ticket_owner_match owner = TICKET_OWNER_ANY;
  if (hd_call_check_enum(call, "status", &helpdesk__v1__ticket_status__descriptor, (int)rq->status,
                         true) ||
      list__statuses(call, rq, &set) ||
      hd_call_check_ident(call, "owner_id", rq->owner_id, 0, TICKET_USER_ID_MAX) ||
      list__owner(call, rq, &owner) ||
      hd_call_check_ident(call, "department", rq->department, 0, TICKET_DEPARTMENT_MAX) ||
      hd_call_check_ident(call, "customer_id", rq->customer_id, 0, TICKET_USER_ID_MAX))
    return -1;
  if (rq->updated_since_us < 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "updated_since_us must be 0 (any time) or a time in microseconds since the "
                      "epoch (UTC), got %" PRId64,
                      rq->updated_since_us);
  const char *customer = rq->customer_id ? rq->customer_id : "";
  if (tk_is_customer_only(p)) {
    if (*customer && strcmp(customer, p->user_id) != 0)
      return hd_err_set(&call->err, HD_PERMISSION_DENIED,
                        "a customer lists only their own tickets: leave customer_id empty or set "
                        "it to \"%s\"",
                        p->user_id);
    customer = p->user_id;
  }
  const ticket_list_query q = {
      .status = ticket_status_from_pb(rq->status),
      .status_set = set,
      .owner = owner,
      .owner_id = rq->owner_id,
      .department = rq->department,
      .customer_id = customer,
      .followed_only = rq->followed_only,
      .updated_since_us = rq->updated_since_us,
      .newest_first = rq->newest_first,
      .page_size = rq->page ? rq->page->page_size : 0,
      .page_token = rq->page ? rq->page->page_token : NULL,
      .viewer_id = p->user_id,
  };
  ticket_page pg;
  if (ticket_query_list(tk_db(call), tk_tenant(call), &q, call->arena, &pg, &call->err))
    return ticket__failed(call);
  out->tickets = pg.tickets;
  out->n_tickets = pg.n;
  return hd_page_info(call->arena, pg.next_page_token, &out->page, &call->err);
}

/* ---- FollowTicket / UnfollowTicket ---- */

typedef struct follow__ctx {
  hd_call *call;
  int64_t ticket_id;
  bool follow;               /* true: follow; false: unfollow */
  Helpdesk__V1__Ticket *out; /* in call->arena */
} follow__ctx;

/* Not a change of the ticket: no version, history or event; only the follows row and the
 * ticket's count of followers (migration 007), moved by the row that was written or removed. The
 * ticket is locked so the reply shows it as it is when the follow commits. */
static int follow__tx(hd_db *db, void *arg, hd_err *err) {
  follow__ctx *x = arg;
  hd_call *c = x->call;
  Helpdesk__V1__Ticket *t = NULL;
  x->out = NULL;
  if (tk_ticket_load(c, db, x->ticket_id, true, &t, NULL, err)) return -1;
  uint64_t moved = 0;
  if (x->follow) {
    /* The ticket's creation time too: ListTickets' followed_only reads in that order. */
    const hd_db_param p[] = {hd_db_int(x->ticket_id), hd_db_text(c->principal->user_id),
                             hd_db_text(tk_tenant(c)), hd_db_int(tk_now(c)),
                             hd_db_int(t->create_time_us)};
    if (hd_db_exec(db,
                   "INSERT IGNORE INTO follows (ticket_id, agent_id, tenant, created_at_us, "
                   "ticket_created_at_us) VALUES (?, ?, ?, ?, ?)",
                   p, 5, &moved, NULL, err))
      return -1;
  } else {
    const hd_db_param p[] = {hd_db_int(x->ticket_id), hd_db_text(c->principal->user_id),
                             hd_db_text(tk_tenant(c))};
    if (hd_db_exec(db, "DELETE FROM follows WHERE ticket_id = ? AND agent_id = ? AND tenant = ?", p,
                   3, &moved, NULL, err))
      return -1;
  }
  if (moved > 0) {
    const hd_db_param p[] = {hd_db_int(x->follow ? 1 : -1), hd_db_text(tk_tenant(c)),
                             hd_db_int(x->ticket_id)};
    if (hd_db_exec(db,
                   "UPDATE tickets FORCE INDEX (PRIMARY) SET follower_count = follower_count + ? "
                   "WHERE tenant = ? AND id = ?",
                   p, 3, NULL, NULL, err))
      return -1;
  }
  t->followed = x->follow;
  x->out = t;
  return 0;
}

/* FollowTicket and UnfollowTicket: the same checks, the opposite row; the reply is the ticket
 * with `followed` as it now is. */
static int follow__run(hd_call *call, int64_t ticket_id, bool follow, ProtobufCMessage *resp) {
  if (hd_call_check_id(call, "ticket_id", ticket_id)) return -1;
  follow__ctx x = {.call = call, .ticket_id = ticket_id, .follow = follow};
  if (hd_call_tx(call, follow__tx, &x)) return -1;
  *(Helpdesk__V1__Ticket *)resp = *x.out;
  return 0;
}

int tickets_follow_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  return follow__run(call, ((const Helpdesk__V1__FollowTicketRequest *)req)->ticket_id, true, resp);
}

int tickets_unfollow_ticket(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  return follow__run(call, ((const Helpdesk__V1__UnfollowTicketRequest *)req)->ticket_id, false,
                     resp);
}

/* ---- GetTicketHistory ---- */

/* GetTicketHistory: staff only; NOT_FOUND unless the ticket exists in the caller's tenant. */
int tickets_get_ticket_history(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__GetTicketHistoryRequest *rq =
      (const Helpdesk__V1__GetTicketHistoryRequest *)req;
  Helpdesk__V1__GetTicketHistoryResponse *out = (Helpdesk__V1__GetTicketHistoryResponse *)resp;
  const int32_t page_size = rq->page ? rq->page->page_size : 0;
  const char *page_token = rq->page ? rq->page->page_token : NULL;
  char *next = "";
  Helpdesk__V1__Ticket *t = NULL;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id)) return -1;
  hd_db *db = tk_db(call);
  if (tk_ticket_load(call, db, rq->ticket_id, false, &t, NULL, &call->err) ||
      ticket_query_history(db, tk_tenant(call), rq->ticket_id, page_size, page_token, call->arena,
                           &out->entries, &out->n_entries, &next, &call->err))
    return ticket__failed(call);
  return hd_page_info(call->arena, next, &out->page, &call->err);
}

/* ---- GetTenantSettings / UpdateTenantSettings ---- */

/* review_link: empty, or an https:// URL (scheme in any case) with something after the scheme
 * and no space or control character. Its length was checked as text. */
static int settings__check_review_link(hd_call *c, const char *s) {
  static const char scheme[] = "https://";
  const size_t n = strlen(s);
  if (n == 0) return 0;
  if (n <= sizeof scheme - 1 || strncasecmp(s, scheme, sizeof scheme - 1) != 0)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "review_link must be an https:// URL such as "
                      "https://www.trustpilot.com/review/example.com, or empty for none");
  for (size_t i = 0; i < n; i++) {
    const unsigned char ch = (unsigned char)s[i];
    if (ch <= 0x20 || ch == 0x7F)
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                        "review_link has a space or control character at byte %zu; encode it "
                        "(%%20 for a space)",
                        i);
  }
  return 0;
}

/* The rules of each field of s named in fields (TENANT_SETTINGS_* bits); the others are not
 * read. Before any database work. */
static int settings__check_fields(hd_call *c, const Helpdesk__V1__TenantSettings *s,
                                  unsigned fields) {
  if ((fields & TENANT_SETTINGS_REMINDER_CHANNEL) &&
      hd_call_check_enum(c, "settings.reminder_channel",
                         &helpdesk__v1__reminder_channel__descriptor, (int)s->reminder_channel,
                         true))
    return -1;
  if ((fields & TENANT_SETTINGS_REMINDER_TARGET) &&
      hd_call_check_text(c, "settings.reminder_target", s->reminder_target, 0,
                         TICKET_REMINDER_TARGET_MAX))
    return -1;
  if ((fields & TENANT_SETTINGS_REVIEW_LINK) &&
      (hd_call_check_text(c, "settings.review_link", s->review_link, 0, TICKET_REVIEW_LINK_MAX) ||
       settings__check_review_link(c, s->review_link ? s->review_link : "")))
    return -1;
  return 0;
}

/* The rule of the settings as a whole, on what the update left: a channel needs a target and a
 * target needs a channel. */
static int settings__check_whole(const Helpdesk__V1__TenantSettings *s, hd_err *err) {
  const char *target = s->reminder_target ? s->reminder_target : "";
  if (s->reminder_channel && !*target)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "settings.reminder_target is required with a reminder_channel: the email "
                      "address or phone number reminders go through (1..%d characters)",
                      TICKET_REMINDER_TARGET_MAX);
  if (!s->reminder_channel && *target)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "settings.reminder_target is set but reminder_channel is not: set the "
                      "channel (EMAIL or SMS) or leave the target empty");
  return 0;
}

typedef struct settings__ctx {
  hd_call *call;
  const Helpdesk__V1__TenantSettings *in; /* borrowed from the request */
  unsigned fields;                        /* the fields of in to write */
  Helpdesk__V1__TenantSettings *out;      /* in call->arena */
} settings__ctx;

/* Writes the masked fields, reads the settings back under the row lock and checks them whole;
 * a refusal rolls the write back. */
static int settings__put_tx(hd_db *db, void *arg, hd_err *err) {
  settings__ctx *x = arg;
  hd_call *c = x->call;
  x->out = NULL;
  if (tenant_settings_put(db, tk_tenant(c), x->in, x->fields, c->principal->user_id, tk_now(c),
                          err) ||
      tenant_settings_get(db, tk_tenant(c), c->arena, &x->out, err))
    return -1;
  return settings__check_whole(x->out, err);
}

/* GetTenantSettings: staff; the defaults when the tenant never set any. */
int tickets_get_tenant_settings(hd_call *call, const ProtobufCMessage *req,
                                ProtobufCMessage *resp) {
  (void)req;
  Helpdesk__V1__TenantSettings *s = NULL;
  if (tenant_settings_get(tk_db(call), tk_tenant(call), call->arena, &s, &call->err))
    return ticket__failed(call);
  *(Helpdesk__V1__TenantSettings *)resp = *s;
  return 0;
}

/* UpdateTenantSettings: a tenant_admin changes the fields its update_mask names (required; "*"
 * for all); the reply reads the settings back. */
int tickets_update_tenant_settings(hd_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage *resp) {
  const Helpdesk__V1__UpdateTenantSettingsRequest *rq =
      (const Helpdesk__V1__UpdateTenantSettingsRequest *)req;
  if (!rq->settings) return hd_err_set(&call->err, HD_INVALID_ARGUMENT, "settings is required");
  unsigned fields = 0;
  if (tenant_settings_mask(rq->update_mask, &fields, &call->err) ||
      settings__check_fields(call, rq->settings, fields))
    return -1;
  settings__ctx x = {.call = call, .in = rq->settings, .fields = fields};
  if (hd_call_tx(call, settings__put_tx, &x)) return -1;
  *(Helpdesk__V1__TenantSettings *)resp = *x.out;
  return 0;
}
