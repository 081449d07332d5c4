/* Attachments: files on a ticket, at most TICKET_ATTACHMENTS_MAX of them and
 * TICKET_ATTACHMENT_BYTES_MAX bytes together, of the allowed types by name AND content
 * (file_type.h); stored with their bytes, returned identical. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "file_type.h"
#include "svc/idem.h"
#include "ticket_call.h"
#include "ticket_handlers.h"
#include "ticket_limits.h"

#define ATT_COLS                                                             \
  "id, ticket_id, filename, content_type, size_bytes, sha256, uploaded_by, " \
  "created_at_us"
enum {
  A_ID,
  A_TICKET,
  A_FILENAME,
  A_CONTENT_TYPE,
  A_SIZE,
  A_SHA256,
  A_UPLOADED_BY,
  A_CREATED,
  A_DATA
};

static const char SQL_USAGE[] =
    "SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM attachments "
    "WHERE tenant = ? AND ticket_id = ?";
static const char SQL_INSERT[] =
    "INSERT INTO attachments (tenant, ticket_id, filename, content_type, size_bytes, sha256, "
    "data, uploaded_by, created_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_LIST[] = "SELECT " ATT_COLS
                               " FROM attachments "
                               "WHERE tenant = ? AND ticket_id = ? ORDER BY id LIMIT ?";
static const char SQL_GET[] = "SELECT " ATT_COLS
                              ", data FROM attachments "
                              "WHERE tenant = ? AND ticket_id = ? AND id = ?";

/* Rows a list reads at most: the limit holds them all; more would be a damaged table. */
#define ATT_LIST_MAX 100

/* v with thousands separators ("5,242,880") into buf. */
static const char *att__thousands(int64_t v, char buf[32]) {
  char digits[24];
  const int n = snprintf(digits, sizeof digits, "%" PRId64, v < 0 ? -v : v);
  size_t at = 0;
  if (v < 0) buf[at++] = '-';
  for (int i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 == 0) buf[at++] = ',';
    buf[at++] = digits[i];
  }
  buf[at] = '\0';
  return buf;
}

/* Row r of an attachment query → an Attachment in the arena; NULL when the arena is full. */
static Helpdesk__V1__Attachment *att__from_row(hd_call *c, const hd_db_rows *rows, size_t r) {
  Helpdesk__V1__Attachment *a =
      hd_arena_new_message(c->arena, &helpdesk__v1__attachment__descriptor);
  if (!a) return NULL;
  size_t len = 0;
  const char *s;
  a->id = hd_db_i64(rows, r, A_ID);
  a->ticket_id = hd_db_i64(rows, r, A_TICKET);
  s = hd_db_str(rows, r, A_FILENAME, &len);
  a->filename = hd_arena_strndup(c->arena, s, len);
  s = hd_db_str(rows, r, A_CONTENT_TYPE, &len);
  a->content_type = hd_arena_strndup(c->arena, s, len);
  a->size_bytes = hd_db_i64(rows, r, A_SIZE);
  s = hd_db_str(rows, r, A_SHA256, &len);
  a->sha256_hex = hd_arena_strndup(c->arena, s, len);
  s = hd_db_str(rows, r, A_UPLOADED_BY, &len);
  a->uploaded_by = hd_arena_strndup(c->arena, s, len);
  a->create_time_us = hd_db_i64(rows, r, A_CREATED);
  if (!a->filename || !a->content_type || !a->sha256_hex || !a->uploaded_by) return NULL;
  return a;
}

/* ---- AddAttachment ---- */

typedef struct att_add {
  hd_call *call;
  const Helpdesk__V1__AddAttachmentRequest *req;
  const char *filename;     /* checked by file_type_check */
  const char *content_type; /* static storage (file_type_content_type) */
  char sha256[65];
  Helpdesk__V1__Attachment *out; /* set by the body, in the arena */
} att_add;

/* FAILED_PRECONDITION when one more file of `adding` bytes would pass the ticket's limits.
 * Runs with the ticket's row locked, so concurrent uploads to one ticket are counted one after
 * the other and cannot both pass. */
static int att__check_room(hd_call *c, hd_db *db, int64_t ticket_id, int64_t adding, hd_err *err) {
  hd_db_rows *rows = NULL;
  int rc = -1;
  const hd_db_param p[] = {hd_db_text(tk_tenant(c)), hd_db_int(ticket_id)};
  if (hd_db_query(db, SQL_USAGE, p, 2, 1, &rows, err)) goto done;
  const int64_t count = hd_db_i64(rows, 0, 0), bytes = hd_db_i64(rows, 0, 1);
  if (count >= TICKET_ATTACHMENTS_MAX) {
    hd_err_set(err, HD_FAILED_PRECONDITION,
               "ticket %" PRId64 " has %" PRId64 " attachments; at most %d are allowed", ticket_id,
               count, TICKET_ATTACHMENTS_MAX);
    goto done;
  }
  if (bytes + adding > TICKET_ATTACHMENT_BYTES_MAX) {
    char file[32], total[32], max[32];
    hd_err_set(err, HD_FAILED_PRECONDITION,
               "this file (%s bytes) would bring ticket %" PRId64
               "'s attachments to %s bytes; at most %s are allowed",
               att__thousands(adding, file), ticket_id, att__thousands(bytes + adding, total),
               att__thousands(TICKET_ATTACHMENT_BYTES_MAX, max));
    goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

static int att__add_tx(hd_db *db, void *arg, hd_err *err) {
  att_add *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__AddAttachmentRequest *rq = x->req;
  x->out = NULL;
  Helpdesk__V1__Ticket *t = NULL;
  ticket_meta meta;
  /* The row lock serialises uploads to one ticket until this transaction ends. */
  if (tk_ticket_load(c, db, rq->ticket_id, true, &t, &meta, err)) return -1;
  const ticket_status s = ticket_status_from_pb(t->status);
  if (!ticket_status_is_open(s))
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "ticket %" PRId64
                      " is %s: attachments are added to open tickets only; "
                      "have it restarted or open a new ticket",
                      t->id, ticket_status_name(s));
  const int64_t size = (int64_t)rq->content.len;
  if (att__check_room(c, db, t->id, size, err)) return -1;
  const int64_t now = tk_now(c);
  const hd_db_param p[] = {hd_db_text(tk_tenant(c)),
                           hd_db_int(t->id),
                           hd_db_text(x->filename),
                           hd_db_text(x->content_type),
                           hd_db_int(size),
                           hd_db_text(x->sha256),
                           hd_db_blob(rq->content.data, rq->content.len),
                           hd_db_text(c->principal->user_id),
                           hd_db_int(now)};
  uint64_t id = 0;
  if (hd_db_exec(db, SQL_INSERT, p, sizeof p / sizeof p[0], NULL, &id, err)) return -1;
  const ticket_actor actor = tk_actor(c);
  const ticket_event_field ev[] = {TICKET_EV_INT("attachment_id", (int64_t)id),
                                   TICKET_EV_STR("filename", x->filename),
                                   TICKET_EV_INT("size", size)};
  const ticket_change ch = {.action = "ATTACHMENT",
                            .event_type = TICKET_EVENT_ATTACHMENT_ADDED,
                            .event_fields = ev,
                            .n_event_fields = sizeof ev / sizeof ev[0]};
  if (ticket_store_update_locked(db, tk_tenant(c),
                                 &(const ticket_locked){.ticket = t, .meta = meta},
                                 rq->expected_version, &ch, now, &actor, NULL, NULL, err))
    return -1;
  char id_text[24];
  snprintf(id_text, sizeof id_text, "%" PRIu64, id);
  if (ticket_store_history_append(db, tk_tenant(c), t->id, &actor, "ATTACHMENT", "attachment", NULL,
                                  id_text, now, err))
    return -1;
  Helpdesk__V1__Attachment *a =
      hd_arena_new_message(c->arena, &helpdesk__v1__attachment__descriptor);
  if (!a) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  a->id = (int64_t)id;
  a->ticket_id = t->id;
  a->filename = (char *)x->filename; /* the request lives in the arena until the reply is sent */
  a->content_type = (char *)x->content_type;
  a->size_bytes = size;
  a->sha256_hex = hd_arena_strdup(c->arena, x->sha256);
  a->uploaded_by = hd_arena_strdup(c->arena, c->principal->user_id);
  a->create_time_us = now;
  if (!a->sha256_hex || !a->uploaded_by)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  x->out = a;
  return 0;
}

/* AddAttachment: the ticket's customer or staff of its tenant; open tickets only. The name and
 * content are checked (and hashed) before any database work; the per-ticket limits are counted
 * under the ticket's row lock. */
int tickets_add_attachment(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__AddAttachmentRequest *rq = (const Helpdesk__V1__AddAttachmentRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version))
    return -1;
  if (rq->content.len == 0 || !rq->content.data)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "content is empty: attach a file of at least 1 byte");
  if (rq->content.len > (size_t)TICKET_ATTACHMENT_BYTES_MAX) {
    char file[32], max[32];
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "this file (%s bytes) is larger than the %s bytes a ticket's attachments "
                      "may hold together",
                      att__thousands((int64_t)rq->content.len, file),
                      att__thousands(TICKET_ATTACHMENT_BYTES_MAX, max));
  }
  att_add x = {.call = call, .req = rq, .filename = rq->filename ? rq->filename : ""};
  if (file_type_check(x.filename, strlen(x.filename), rq->content.data, rq->content.len, NULL,
                      &x.content_type, &call->err) ||
      hd_idem_sha256_hex(rq->content.data, rq->content.len, x.sha256, &call->err))
    return -1;
  if (hd_call_tx(call, att__add_tx, &x)) return -1;
  *(Helpdesk__V1__Attachment *)resp = *x.out;
  return 0;
}

/* ---- ListAttachments ---- */

typedef struct att_list {
  hd_call *call;
  int64_t ticket_id;
  Helpdesk__V1__ListAttachmentsResponse *out;
} att_list;

static int att__list_tx(hd_db *db, void *arg, hd_err *err) {
  att_list *x = arg;
  hd_call *c = x->call;
  hd_db_rows *rows = NULL;
  int rc = -1;
  x->out->attachments = NULL;
  x->out->n_attachments = 0;
  Helpdesk__V1__Ticket *t = NULL;
  if (tk_ticket_load(c, db, x->ticket_id, false, &t, NULL, err)) goto done;
  const hd_db_param p[] = {hd_db_text(tk_tenant(c)), hd_db_int(t->id), hd_db_int(ATT_LIST_MAX)};
  if (hd_db_query(db, SQL_LIST, p, 3, ATT_LIST_MAX, &rows, err)) goto done;
  const size_t n = hd_db_rows_count(rows);
  Helpdesk__V1__Attachment **items = HD_ARENA_ARRAY(c->arena, Helpdesk__V1__Attachment *, n + 1);
  if (!items) goto too_large;
  for (size_t i = 0; i < n; i++)
    if (!(items[i] = att__from_row(c, rows, i))) goto too_large;
  x->out->attachments = items;
  x->out->n_attachments = n;
  rc = 0;
  goto done;
too_large:
  hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the list of attachments is too large");
done:
  hd_db_rows_free(rows);
  return rc;
}

/* ListAttachments: the ticket's customer or staff of its tenant; without the bytes, oldest
 * first. */
int tickets_list_attachments(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ListAttachmentsRequest *rq =
      (const Helpdesk__V1__ListAttachmentsRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id)) return -1;
  att_list x = {.call = call,
                .ticket_id = rq->ticket_id,
                .out = (Helpdesk__V1__ListAttachmentsResponse *)resp};
  return hd_call_tx(call, att__list_tx, &x);
}

/* ---- GetAttachment ---- */

typedef struct att_get {
  hd_call *call;
  const Helpdesk__V1__GetAttachmentRequest *req;
  Helpdesk__V1__GetAttachmentResponse *out;
} att_get;

static int att__get_tx(hd_db *db, void *arg, hd_err *err) {
  att_get *x = arg;
  hd_call *c = x->call;
  hd_db_rows *rows = NULL;
  int rc = -1;
  x->out->attachment = NULL;
  x->out->content = (ProtobufCBinaryData){0};
  Helpdesk__V1__Ticket *t = NULL;
  if (tk_ticket_load(c, db, x->req->ticket_id, false, &t, NULL, err)) goto done;
  const hd_db_param p[] = {hd_db_text(tk_tenant(c)), hd_db_int(t->id),
                           hd_db_int(x->req->attachment_id)};
  if (hd_db_query(db, SQL_GET, p, 3, 1, &rows, err)) goto done;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND, "attachment %" PRId64 " not found on ticket %" PRId64,
               x->req->attachment_id, t->id);
    goto done;
  }
  size_t len = 0;
  const char *data = hd_db_str(rows, 0, A_DATA, &len);
  Helpdesk__V1__Attachment *a = att__from_row(c, rows, 0);
  void *copy = len ? hd_arena_memdup(c->arena, data, len) : NULL;
  if (!a || (len && !copy)) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the attachment does not fit in a reply");
    goto done;
  }
  x->out->attachment = a;
  x->out->content = (ProtobufCBinaryData){.len = len, .data = copy};
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* GetAttachment: the ticket's customer or staff of its tenant; the bytes as uploaded. An
 * attachment of another ticket (or tenant) is NOT_FOUND. */
int tickets_get_attachment(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__GetAttachmentRequest *rq = (const Helpdesk__V1__GetAttachmentRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_id(call, "attachment_id", rq->attachment_id))
    return -1;
  att_get x = {.call = call, .req = rq, .out = (Helpdesk__V1__GetAttachmentResponse *)resp};
  return hd_call_tx(call, att__get_tx, &x);
}
