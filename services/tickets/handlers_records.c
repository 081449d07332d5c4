/* The conversation (comments), internal records (the ticket's owner and tenant admins only) and
 * the customer's consents: adding one is a change of the ticket (version + 1, a history row
 * naming the new row's id, an outbox event), listing them is oldest first by id, keyset-paged. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rpc/page.h"
#include "rpc/pb_enum.h"
#include "ticket_call.h"
#include "ticket_handlers.h"
#include "ticket_limits.h"
#include "ticket_records.h"

#define RECORDS_PAGE_TEXT_MAX \
  (4u << 20) /* text bytes of one list page (replies are capped at 8 MiB) */

/* ---- shared by the three kinds of rows ---- */

/* FAILED_PRECONDITION "ticket 42 is CLOSED: <then>" unless t is open. */
static int records__require_open(const Helpdesk__V1__Ticket *t, const char *then, hd_err *err) {
  const ticket_status s = ticket_status_from_pb(t->status);
  if (ticket_status_is_open(s)) return 0;
  return hd_err_set(err, HD_FAILED_PRECONDITION, "ticket %" PRId64 " is %s: %s", t->id,
                    ticket_status_name(s), then);
}

/* A row added to the ticket: the change ch (its action, event and payload fields, and the
 * status it moves to if any) applied with ticket_store_update (version + 1, which also checks
 * expected_version), and a history row whose field names the kind of row and whose to_value is
 * its id. Inside the caller's transaction. */
static int records__child_added(hd_call *c, hd_db *db, const ticket_locked *row,
                                int64_t expected_version, const ticket_change *ch,
                                const char *field, int64_t child_id, int64_t now_us, hd_err *err) {
  const ticket_actor actor = tk_actor(c);
  if (ticket_store_update_locked(db, tk_tenant(c), row, expected_version, ch, now_us, &actor, NULL,
                                 NULL, err))
    return -1;
  char id[24];
  snprintf(id, sizeof id, "%" PRId64, child_id);
  return ticket_store_history_append(db, tk_tenant(c), row->ticket->id, &actor, ch->action, field,
                                     NULL, id, now_us, err);
}

/* Where a list of one ticket's rows starts, from the request's page (checked before any
 * database work): its scope is the list, the tenant and the ticket, so a token cannot continue
 * another list. 0, or -1 with call->err INVALID_ARGUMENT. */
static int records__page_start(hd_call *c, const char *list, int64_t ticket_id,
                               const Helpdesk__V1__PageRequest *req, hd_page *out) {
  hd_page_scope scope;
  hd_page_scope_init(&scope, list, tk_tenant(c));
  hd_page_scope_int(&scope, ticket_id);
  return hd_page_start_pb(req, &scope, out, &c->err);
}

/* Runs sql (parameters: tenant, ticket id, after id, limit; its first column the row id, ordered
 * by id) for one page. *rows (caller frees with hd_db_rows_free) holds up to size + 1 rows;
 * *shown how many belong to this page; *next the token of the next page ("" on the last), in
 * the arena. A page also ends early, with a token, once the text in column text_col adds up to
 * RECORDS_PAGE_TEXT_MAX bytes (at least one row a page): 500 records of 20,000 four-byte
 * characters would not fit a reply. */
static int records__page_query(hd_call *c, hd_db *db, int64_t ticket_id, const hd_page *pg,
                               const char *sql, size_t text_col, hd_db_rows **rows, size_t *shown,
                               char **next, hd_err *err) {
  *rows = NULL;
  *shown = 0;
  *next = "";
  const hd_db_param p[] = {hd_db_text(tk_tenant(c)), hd_db_int(ticket_id), hd_db_int(pg->after.id),
                           hd_db_int(hd_page_fetch(pg))};
  if (hd_db_query(db, sql, p, 4, (size_t)hd_page_fetch(pg), rows, err)) return -1;
  const size_t count = hd_db_rows_count(*rows);
  size_t n = hd_page_shown(pg, count), bytes = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = 0;
    hd_db_str(*rows, i, text_col, &len);
    if (i > 0 && bytes + len > RECORDS_PAGE_TEXT_MAX) {
      n = i;
      break;
    }
    bytes += len;
  }
  *shown = n;
  if (count <= n) return 0;
  return hd_page_next(pg, &(const hd_page_pos){.id = hd_db_i64(*rows, n - 1, 0)}, c->arena, next,
                      err);
}

/* A copy of a cell in the arena ("" for NULL); NULL when the arena is full. */
static char *records__cell(hd_call *c, const hd_db_rows *rows, size_t r, size_t col) {
  size_t len = 0;
  const char *s = hd_db_str(rows, r, col, &len);
  return hd_arena_strndup(c->arena, s, len);
}

/* ---- comments ---- */

typedef struct comment_add {
  hd_call *call;
  const Helpdesk__V1__AddCommentRequest *req;
  Helpdesk__V1__Comment *out;
} comment_add;

static int comment__add_tx(hd_db *db, void *arg, hd_err *err) {
  comment_add *x = arg;
  hd_call *c = x->call;
  x->out = NULL;
  Helpdesk__V1__Ticket *t = NULL;
  ticket_meta meta;
  if (tk_ticket_load(c, db, x->req->ticket_id, true, &t, &meta, err)) return -1;
  if (records__require_open(t, "comments are closed; have it restarted or open a new ticket", err))
    return -1;
  const ticket_actor actor = tk_actor(c);
  const int64_t now = tk_now(c);
  if (ticket_comment_insert(db, tk_tenant(c), t->id, &actor, x->req->body, now, c->arena, &x->out,
                            err))
    return -1;
  const ticket_event_field ev[] = {TICKET_EV_INT("comment_id", x->out->id)};
  ticket_change ch = {.action = "COMMENT",
                      .event_type = TICKET_EVENT_COMMENTED,
                      .event_fields = ev,
                      .n_event_fields = 1};
  /* Another engineer's answer asks the owner to act, where the table says so. */
  const ticket_status from = ticket_status_from_pb(t->status);
  if (tk_is_other_engineer(c->principal, t) &&
      ticket_transition_allowed(TICKET_OP_OTHER_ANSWER, from)) {
    if (ticket_transition(TICKET_OP_OTHER_ANSWER, from,
                          &(const ticket_facts){.request = "AddComment"}, &ch.status, err))
      return -1;
    ch.follow_up_count = TICKET_SET(0);
    ch.timer = TICKET_TIMER_CLEAR;
  }
  return records__child_added(c, db, &(const ticket_locked){.ticket = t, .meta = meta},
                              x->req->expected_version, &ch, "comment", x->out->id, now, err);
}

/* AddComment: staff of the ticket's tenant (a customer's message is an answer and goes through
 * AddCustomerReply, which moves the ticket to FEEDBACK and stops the follow-ups: the method
 * table refuses customers); open tickets only. A comment is visible to the customer: by the
 * owner (or on an unowned ticket) it leaves the status alone; by anyone else it is another
 * engineer's answer (TICKET_OP_OTHER_ANSWER): PROCESSING, PENDING_FEEDBACK, FEEDBACK and
 * TO_BE_CONFIRMED move to FEEDBACK for the owner, and the follow-ups and auto-close stop. */
int tickets_add_comment(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__AddCommentRequest *rq = (const Helpdesk__V1__AddCommentRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_text(call, "body", rq->body, 1, TICKET_TEXT_MAX))
    return -1;
  comment_add x = {.call = call, .req = rq};
  if (hd_call_tx(call, comment__add_tx, &x)) return -1;
  *(Helpdesk__V1__Comment *)resp = *x.out;
  return 0;
}

typedef struct comment_list {
  hd_call *call;
  int64_t ticket_id;
  const hd_page *page;
  Helpdesk__V1__ListCommentsResponse *out;
} comment_list;

static int comment__list_tx(hd_db *db, void *arg, hd_err *err) {
  comment_list *x = arg;
  hd_call *c = x->call;
  hd_db_rows *rows = NULL;
  int rc = -1;
  x->out->comments = NULL;
  x->out->n_comments = 0;
  Helpdesk__V1__Ticket *t = NULL;
  if (tk_ticket_load(c, db, x->ticket_id, false, &t, NULL, err)) goto done;
  size_t shown = 0;
  char *next = "";
  if (records__page_query(c, db, t->id, x->page,
                          "SELECT id, ticket_id, author_id, author_role, body, created_at_us "
                          "FROM comments WHERE tenant = ? AND ticket_id = ? AND id > ? "
                          "ORDER BY id LIMIT ?",
                          4, &rows, &shown, &next, err))
    goto done;
  Helpdesk__V1__Comment **items = HD_ARENA_ARRAY(c->arena, Helpdesk__V1__Comment *, shown + 1);
  if (!items) goto too_large;
  for (size_t i = 0; i < shown; i++) {
    Helpdesk__V1__Comment *m = hd_arena_new_message(c->arena, &helpdesk__v1__comment__descriptor);
    if (!m) goto too_large;
    m->id = hd_db_i64(rows, i, 0);
    m->ticket_id = hd_db_i64(rows, i, 1);
    m->author_id = records__cell(c, rows, i, 2);
    m->author_role = records__cell(c, rows, i, 3);
    m->body = records__cell(c, rows, i, 4);
    m->create_time_us = hd_db_i64(rows, i, 5);
    if (!m->author_id || !m->author_role || !m->body) goto too_large;
    items[i] = m;
  }
  if (hd_page_info(c->arena, next, &x->out->page, err)) goto too_large;
  x->out->comments = items;
  x->out->n_comments = shown;
  rc = 0;
  goto done;
too_large:
  hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the page of comments is too large: ask for fewer");
done:
  hd_db_rows_free(rows);
  return rc;
}

/* ListComments: the ticket's customer or staff of its tenant; oldest first. */
int tickets_list_comments(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ListCommentsRequest *rq = (const Helpdesk__V1__ListCommentsRequest *)req;
  hd_page page;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      records__page_start(call, "comments", rq->ticket_id, rq->page, &page))
    return -1;
  comment_list x = {.call = call,
                    .ticket_id = rq->ticket_id,
                    .page = &page,
                    .out = (Helpdesk__V1__ListCommentsResponse *)resp};
  return hd_call_tx(call, comment__list_tx, &x);
}

/* ---- internal records ---- */

/* PERMISSION_DENIED unless the caller owns t or is a tenant_admin (read and write alike). */
static int record__require_access(hd_call *c, const Helpdesk__V1__Ticket *t, hd_err *err) {
  if (tk_is_owner(c->principal, t) || hd_principal_has(c->principal, HD_ROLE_TENANT_ADMIN))
    return 0;
  if (t->owner_id && t->owner_id[0])
    return hd_err_set(err, HD_PERMISSION_DENIED,
                      "internal records are for the ticket's owner (%s) or a tenant_admin",
                      t->owner_id);
  return hd_err_set(err, HD_PERMISSION_DENIED,
                    "internal records are for the ticket's owner or a tenant_admin; ticket %" PRId64
                    " has no owner yet",
                    t->id);
}

typedef struct record_add {
  hd_call *call;
  const Helpdesk__V1__AddInternalRecordRequest *req;
  Helpdesk__V1__InternalRecord *out;
} record_add;

static int record__add_tx(hd_db *db, void *arg, hd_err *err) {
  record_add *x = arg;
  hd_call *c = x->call;
  x->out = NULL;
  Helpdesk__V1__Ticket *t = NULL;
  ticket_meta meta;
  if (tk_ticket_load(c, db, x->req->ticket_id, true, &t, &meta, err)) return -1;
  /* A service (routing: a consultation's note, a hand-over note) writes records it never reads. */
  if (!hd_principal_has(c->principal, HD_ROLE_SERVICE) && record__require_access(c, t, err))
    return -1;
  const int64_t now = tk_now(c);
  if (ticket_record_insert(db, tk_tenant(c), t->id, c->principal->user_id, x->req->body, now,
                           c->arena, &x->out, err))
    return -1;
  /* The body stays out of the event and the history: both reach readers who may not see it. */
  const ticket_event_field ev[] = {TICKET_EV_INT("record_id", x->out->id)};
  const ticket_change ch = {.action = "INTERNAL_RECORD",
                            .event_type = TICKET_EVENT_RECORD_ADDED,
                            .event_fields = ev,
                            .n_event_fields = 1};
  return records__child_added(c, db, &(const ticket_locked){.ticket = t, .meta = meta},
                              x->req->expected_version, &ch, "internal_record", x->out->id, now,
                              err);
}

/* AddInternalRecord: the ticket's owner or a tenant_admin; closed tickets too (notes written
 * after the fact). The customer never sees one, so it never changes the status. */
int tickets_add_internal_record(hd_call *call, const ProtobufCMessage *req,
                                ProtobufCMessage *resp) {
  const Helpdesk__V1__AddInternalRecordRequest *rq =
      (const Helpdesk__V1__AddInternalRecordRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_text(call, "body", rq->body, 1, TICKET_TEXT_MAX))
    return -1;
  record_add x = {.call = call, .req = rq};
  if (hd_call_tx(call, record__add_tx, &x)) return -1;
  *(Helpdesk__V1__InternalRecord *)resp = *x.out;
  return 0;
}

typedef struct record_list {
  hd_call *call;
  int64_t ticket_id;
  const hd_page *page;
  Helpdesk__V1__ListInternalRecordsResponse *out;
} record_list;

static int record__list_tx(hd_db *db, void *arg, hd_err *err) {
  record_list *x = arg;
  hd_call *c = x->call;
  hd_db_rows *rows = NULL;
  int rc = -1;
  x->out->records = NULL;
  x->out->n_records = 0;
  Helpdesk__V1__Ticket *t = NULL;
  if (tk_ticket_load(c, db, x->ticket_id, false, &t, NULL, err)) goto done;
  if (record__require_access(c, t, err)) goto done;
  size_t shown = 0;
  char *next = "";
  if (records__page_query(c, db, t->id, x->page,
                          "SELECT id, ticket_id, author_id, body, created_at_us "
                          "FROM internal_records WHERE tenant = ? AND ticket_id = ? AND id > ? "
                          "ORDER BY id LIMIT ?",
                          3, &rows, &shown, &next, err))
    goto done;
  Helpdesk__V1__InternalRecord **items =
      HD_ARENA_ARRAY(c->arena, Helpdesk__V1__InternalRecord *, shown + 1);
  if (!items) goto too_large;
  for (size_t i = 0; i < shown; i++) {
    Helpdesk__V1__InternalRecord *m =
        hd_arena_new_message(c->arena, &helpdesk__v1__internal_record__descriptor);
    if (!m) goto too_large;
    m->id = hd_db_i64(rows, i, 0);
    m->ticket_id = hd_db_i64(rows, i, 1);
    m->author_id = records__cell(c, rows, i, 2);
    m->body = records__cell(c, rows, i, 3);
    m->create_time_us = hd_db_i64(rows, i, 4);
    if (!m->author_id || !m->body) goto too_large;
    items[i] = m;
  }
  if (hd_page_info(c->arena, next, &x->out->page, err)) goto too_large;
  x->out->records = items;
  x->out->n_records = shown;
  rc = 0;
  goto done;
too_large:
  hd_err_set(err, HD_RESOURCE_EXHAUSTED,
             "the page of internal records is too large: ask for fewer");
done:
  hd_db_rows_free(rows);
  return rc;
}

/* ListInternalRecords: the ticket's owner or a tenant_admin; oldest first. */
int tickets_list_internal_records(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp) {
  const Helpdesk__V1__ListInternalRecordsRequest *rq =
      (const Helpdesk__V1__ListInternalRecordsRequest *)req;
  hd_page page;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      records__page_start(call, "internal_records", rq->ticket_id, rq->page, &page))
    return -1;
  record_list x = {.call = call,
                   .ticket_id = rq->ticket_id,
                   .page = &page,
                   .out = (Helpdesk__V1__ListInternalRecordsResponse *)resp};
  return hd_call_tx(call, record__list_tx, &x);
}

/* ---- consents ---- */

static const char SQL_CONSENT_INSERT[] =
    "INSERT INTO consents (tenant, ticket_id, scope, customer_words, recorded_by, created_at_us) "
    "VALUES (?, ?, ?, ?, ?, ?)";

typedef struct consent_add {
  hd_call *call;
  const Helpdesk__V1__RecordConsentRequest *req;
  const char *scope; /* its short name, as stored */
  int64_t id;
  int64_t now_us;
} consent_add;

static int consent__add_tx(hd_db *db, void *arg, hd_err *err) {
  consent_add *x = arg;
  hd_call *c = x->call;
  x->id = 0;
  Helpdesk__V1__Ticket *t = NULL;
  ticket_meta meta;
  if (tk_ticket_load(c, db, x->req->ticket_id, true, &t, &meta, err)) return -1;
  if (records__require_open(t,
                            "consents are recorded on open tickets only; have it restarted "
                            "first",
                            err))
    return -1;
  x->now_us = tk_now(c);
  const hd_db_param p[] = {hd_db_text(tk_tenant(c)),
                           hd_db_int(t->id),
                           hd_db_text(x->scope),
                           hd_db_text(x->req->customer_words),
                           hd_db_text(c->principal->user_id),
                           hd_db_int(x->now_us)};
  uint64_t id = 0;
  if (hd_db_exec(db, SQL_CONSENT_INSERT, p, 6, NULL, &id, err)) return -1;
  x->id = (int64_t)id;
  const ticket_event_field ev[] = {TICKET_EV_INT("consent_id", x->id),
                                   TICKET_EV_STR("scope", x->scope)};
  const ticket_change ch = {.action = "CONSENT",
                            .event_type = TICKET_EVENT_CONSENT_RECORDED,
                            .event_fields = ev,
                            .n_event_fields = 2};
  return records__child_added(c, db, &(const ticket_locked){.ticket = t, .meta = meta},
                              x->req->expected_version, &ch, "consent", x->id, x->now_us, err);
}

/* RecordConsent: staff record what the customer allowed, in the customer's words; open tickets
 * only. */
int tickets_record_consent(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__RecordConsentRequest *rq = (const Helpdesk__V1__RecordConsentRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_enum(call, "scope", &helpdesk__v1__consent_scope__descriptor, (int)rq->scope,
                         false) ||
      hd_call_check_text(call, "customer_words", rq->customer_words, 1, TICKET_CONSENT_WORDS_MAX))
    return -1;
  consent_add x = {
      .call = call,
      .req = rq,
      .scope = hd_pb_enum_name(&helpdesk__v1__consent_scope__descriptor, (int)rq->scope)};
  if (hd_call_tx(call, consent__add_tx, &x)) return -1;
  Helpdesk__V1__Consent *out = (Helpdesk__V1__Consent *)resp;
  out->id = x.id;
  out->ticket_id = rq->ticket_id;
  out->scope = rq->scope;
  out->customer_words = rq->customer_words; /* the request lives in the arena too */
  out->recorded_by = hd_arena_strdup(call->arena, call->principal->user_id);
  out->create_time_us = x.now_us;
  if (!out->recorded_by)
    return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  return 0;
}

typedef struct consent_list {
  hd_call *call;
  int64_t ticket_id;
  const hd_page *page;
  Helpdesk__V1__ListConsentsResponse *out;
} consent_list;

static int consent__list_tx(hd_db *db, void *arg, hd_err *err) {
  consent_list *x = arg;
  hd_call *c = x->call;
  hd_db_rows *rows = NULL;
  int rc = -1;
  x->out->consents = NULL;
  x->out->n_consents = 0;
  Helpdesk__V1__Ticket *t = NULL;
  if (tk_ticket_load(c, db, x->ticket_id, false, &t, NULL, err)) goto done;
  size_t shown = 0;
  char *next = "";
  if (records__page_query(c, db, t->id, x->page,
                          "SELECT id, ticket_id, scope, customer_words, recorded_by, "
                          "created_at_us FROM consents WHERE tenant = ? AND ticket_id = ? AND "
                          "id > ? ORDER BY id LIMIT ?",
                          3, &rows, &shown, &next, err))
    goto done;
  Helpdesk__V1__Consent **items = HD_ARENA_ARRAY(c->arena, Helpdesk__V1__Consent *, shown + 1);
  if (!items) goto too_large;
  for (size_t i = 0; i < shown; i++) {
    Helpdesk__V1__Consent *m = hd_arena_new_message(c->arena, &helpdesk__v1__consent__descriptor);
    if (!m) goto too_large;
    m->id = hd_db_i64(rows, i, 0);
    m->ticket_id = hd_db_i64(rows, i, 1);
    size_t len = 0;
    const char *scope = hd_db_str(rows, i, 2, &len);
    int v = 0;
    if (hd_pb_enum_parse(&helpdesk__v1__consent_scope__descriptor, scope, len, &v)) {
      hd_err_set(err, HD_INTERNAL, "consent %" PRId64 " has an unknown scope", m->id);
      goto done;
    }
    m->scope = (Helpdesk__V1__ConsentScope)v;
    m->customer_words = records__cell(c, rows, i, 3);
    m->recorded_by = records__cell(c, rows, i, 4);
    m->create_time_us = hd_db_i64(rows, i, 5);
    if (!m->customer_words || !m->recorded_by) goto too_large;
    items[i] = m;
  }
  if (hd_page_info(c->arena, next, &x->out->page, err)) goto too_large;
  x->out->consents = items;
  x->out->n_consents = shown;
  rc = 0;
  goto done;
too_large:
  hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the page of consents is too large: ask for fewer");
done:
  hd_db_rows_free(rows);
  return rc;
}

/* ListConsents: staff of the tenant and the ticket's customer; oldest first. */
int tickets_list_consents(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ListConsentsRequest *rq = (const Helpdesk__V1__ListConsentsRequest *)req;
  hd_page page;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      records__page_start(call, "consents", rq->ticket_id, rq->page, &page))
    return -1;
  consent_list x = {.call = call,
                    .ticket_id = rq->ticket_id,
                    .page = &page,
                    .out = (Helpdesk__V1__ListConsentsResponse *)resp};
  return hd_call_tx(call, consent__list_tx, &x);
}
