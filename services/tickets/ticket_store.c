/* The tickets table: rows ↔ Helpdesk__V1__Ticket, the change pipeline (version, fence, history,
 * outbox event; see ticket_store.h). Lists and history pages: ticket_query.c.
 *
 * A statement naming a ticket by its key but not as a constant read (an UPDATE, a list page's
 * rows) says FORCE INDEX (PRIMARY), and one read by another index names it: every secondary
 * index of `tickets` starts with the tenant, so otherwise MariaDB estimates a range in each of
 * the nine (two B-tree descents apiece) at every execution before it uses the key. */
#include "ticket_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json/json.h"
#include "rpc/call.h"
#include "rpc/page.h"
#include "rpc/pb_enum.h"
#include "svc/outbox.h"
#include "ticket_store_internal.h"

#define STORE_SCRATCH_MAX    (8u << 20) /* the "before" snapshot of an update: one ticket */
#define STORE_ASSOCIATED_MAX 100000u    /* ids parsed from GROUP_CONCAT */

/* The columns every ticket read selects, in this order (see the enum below). The description
 * and the followed flag differ between a single read and a list. */
#define COLS_HEAD "t.id, t.tenant, t.customer_id, t.subject, t.title, "
#define COLS_TAIL                                                                               \
  "t.product, t.brand, t.service_type, t.issue_type, t.status, t.suspended_from, t.owner_id, "  \
  "t.department, t.level, t.category, t.version, t.fence, t.follow_up_count, t.resolved, "      \
  "t.merged_into_id, t.timer_kind, t.timer_due_us, t.last_customer_reply_us, t.created_at_us, " \
  "t.updated_at_us, t.closed_at_us, t.associated_count, t.follower_count, "

enum {
  C_ID,
  C_TENANT,
  C_CUSTOMER,
  C_SUBJECT,
  C_TITLE,
  C_DESCRIPTION,
  C_PRODUCT,
  C_BRAND,
  C_SERVICE_TYPE,
  C_ISSUE_TYPE,
  C_STATUS,
  C_SUSPENDED_FROM,
  C_OWNER,
  C_DEPARTMENT,
  C_LEVEL,
  C_CATEGORY,
  C_VERSION,
  C_FENCE,
  C_FOLLOW_UPS,
  C_RESOLVED,
  C_MERGED_INTO,
  C_TIMER_KIND,
  C_TIMER_DUE,
  C_LAST_CUSTOMER_REPLY,
  C_CREATED,
  C_UPDATED,
  C_CLOSED,
  C_ASSOCIATED,
  C_FOLLOWERS,
  C_FOLLOWED,
  C_COUNT
};

static const char SQL_GET[] = "SELECT " COLS_HEAD "t.description, " COLS_TAIL
                              "0 AS followed FROM tickets t WHERE t.tenant = ? AND t.id = ?";
static const char SQL_GET_FOR_UPDATE[] = "SELECT " COLS_HEAD "t.description, " COLS_TAIL
                                         "0 AS followed FROM tickets t WHERE t.tenant = ? AND "
                                         "t.id = ? FOR UPDATE";

const char ticket_store_sql_list_head[] =
    "SELECT " COLS_HEAD "'' AS description, " COLS_TAIL
    "(f.agent_id IS NOT NULL) AS followed FROM tickets t FORCE INDEX (PRIMARY) "
    "LEFT JOIN follows f ON f.ticket_id = t.id AND f.agent_id = ? "
    "WHERE t.tenant = ?";

#define SQL_HISTORY_HEAD                                                                 \
  "INSERT INTO ticket_history (tenant, ticket_id, actor_id, actor_role, action, field, " \
  "from_value, to_value, created_at_us) VALUES "
#define SQL_HISTORY_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
/* The rows one statement writes: a change's diffs and its note. */
#define STORE_HISTORY_ROWS_MAX 12

/* ---- small helpers ---- */

const char *ticket_timer_kind_name(ticket_timer_kind k) {
  switch (k) {
    case TICKET_TIMER_FOLLOW_UP:
      return "FOLLOW_UP";
    case TICKET_TIMER_AUTO_CLOSE:
      return "AUTO_CLOSE";
    case TICKET_TIMER_NONE:
      break;
  }
  return NULL;
}

static int store__timer_parse(const char *s, size_t len, ticket_timer_kind *out) {
  if (len == 9 && memcmp(s, "FOLLOW_UP", 9) == 0)
    *out = TICKET_TIMER_FOLLOW_UP;
  else if (len == 10 && memcmp(s, "AUTO_CLOSE", 10) == 0)
    *out = TICKET_TIMER_AUTO_CLOSE;
  else
    return -1;
  return 0;
}

ticket_actor ticket_actor_of(const hd_principal *p) {
  return (ticket_actor){.user_id = p->user_id, .role = hd_principal_role(p)};
}

/* NULL for "" so optional text columns store NULL. */
static hd_db_param store__opt_text(const char *s) { return s && *s ? hd_db_text(s) : hd_db_null(); }

static hd_db_param store__opt_int(int64_t v) { return v ? hd_db_int(v) : hd_db_null(); }

static const char *store__enum_name(const ProtobufCEnumDescriptor *d, int v) {
  return v ? hd_pb_enum_name(d, v) : NULL;
}

/* A copy of a cell in the arena ("" for NULL). */
static char *store__cell(const hd_db_rows *rows, size_t r, size_t c, hd_arena *a) {
  size_t len = 0;
  const char *s = hd_db_str(rows, r, c, &len);
  return hd_arena_strndup(a, s, len);
}

static int store__cell_enum(const hd_db_rows *rows, size_t r, size_t c,
                            const ProtobufCEnumDescriptor *d, int64_t id, int *out, hd_err *err) {
  if (hd_db_is_null(rows, r, c)) {
    *out = 0;
    return 0;
  }
  size_t len = 0;
  const char *s = hd_db_str(rows, r, c, &len);
  if (hd_pb_enum_parse(d, s, len, out) != 0)
    return hd_err_set(err, HD_INTERNAL, "ticket %" PRId64 " has an unknown %s value", id,
                      d->short_name);
  return 0;
}

/* Reads the ids of the tickets merged into t (t->n_associated_ticket_ids of them, as the row's
 * associated_count said; 0 reads nothing) into an arena array, ascending. locking: t was read
 * FOR UPDATE, so the ids are read as a locking read too (the latest committed rows, not the
 * transaction's older snapshot: a merge that committed while this one waited for t's lock must be
 * seen, or a chain could slip through MergeTickets' checks). */
static int store__fill_associated(hd_db *db, Helpdesk__V1__Ticket *t, bool locking, hd_arena *a,
                                  hd_err *err) {
  const size_t want = t->n_associated_ticket_ids;
  t->n_associated_ticket_ids = 0;
  t->associated_ticket_ids = NULL;
  if (want == 0) return 0;
  if (want > STORE_ASSOCIATED_MAX)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "a ticket has more than %u associated tickets",
                      STORE_ASSOCIATED_MAX);
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(t->tenant), hd_db_int(t->id)};
  if (hd_db_query(db,
                  locking ? "SELECT id FROM tickets FORCE INDEX (ix_tickets_merged_into) "
                            "WHERE tenant = ? AND merged_into_id = ? ORDER BY id LOCK IN SHARE MODE"
                          : "SELECT id FROM tickets FORCE INDEX (ix_tickets_merged_into) "
                            "WHERE tenant = ? AND merged_into_id = ? ORDER BY id",
                  p, 2, STORE_ASSOCIATED_MAX, &rows, err) != 0)
    return -1;
  const size_t n = hd_db_rows_count(rows);
  int64_t *ids = n ? HD_ARENA_ARRAY(a, int64_t, n) : NULL;
  if (n && !ids) {
    hd_db_rows_free(rows);
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading associated tickets");
  }
  for (size_t i = 0; i < n; i++) ids[i] = hd_db_i64(rows, i, 0);
  hd_db_rows_free(rows);
  t->associated_ticket_ids = ids;
  t->n_associated_ticket_ids = n;
  return 0;
}

static int store__to_proto(const hd_db_rows *rows, size_t r, hd_arena *a,
                           Helpdesk__V1__Ticket **out, ticket_meta *meta, hd_err *err) {
  Helpdesk__V1__Ticket *t = hd_arena_new_message(a, &helpdesk__v1__ticket__descriptor);
  if (!t) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading a ticket");
  t->id = hd_db_i64(rows, r, C_ID);
  t->tenant = store__cell(rows, r, C_TENANT, a);
  t->customer_id = store__cell(rows, r, C_CUSTOMER, a);
  t->subject = store__cell(rows, r, C_SUBJECT, a);
  t->title = store__cell(rows, r, C_TITLE, a);
  t->description = store__cell(rows, r, C_DESCRIPTION, a);
  t->product = store__cell(rows, r, C_PRODUCT, a);
  t->brand = store__cell(rows, r, C_BRAND, a);
  t->owner_id = store__cell(rows, r, C_OWNER, a);
  t->department = store__cell(rows, r, C_DEPARTMENT, a);
  if (!t->tenant || !t->customer_id || !t->subject || !t->title || !t->description || !t->product ||
      !t->brand || !t->owner_id || !t->department)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading ticket %" PRId64, t->id);
  static const struct {
    size_t col;
    const ProtobufCEnumDescriptor *desc;
  } ENUMS[] = {{C_SERVICE_TYPE, &helpdesk__v1__service_type__descriptor},
               {C_ISSUE_TYPE, &helpdesk__v1__issue_type__descriptor},
               {C_STATUS, &helpdesk__v1__ticket_status__descriptor},
               {C_SUSPENDED_FROM, &helpdesk__v1__ticket_status__descriptor},
               {C_CATEGORY, &helpdesk__v1__category__descriptor}};
  int v[sizeof ENUMS / sizeof ENUMS[0]];
  for (size_t i = 0; i < sizeof ENUMS / sizeof ENUMS[0]; i++)
    if (store__cell_enum(rows, r, ENUMS[i].col, ENUMS[i].desc, t->id, &v[i], err) != 0) return -1;
  t->service_type = (Helpdesk__V1__ServiceType)v[0];
  t->issue_type = (Helpdesk__V1__IssueType)v[1];
  t->status = (Helpdesk__V1__TicketStatus)v[2];
  t->suspended_from = (Helpdesk__V1__TicketStatus)v[3];
  t->category = (Helpdesk__V1__Category)v[4];
  t->level = (int32_t)hd_db_i64(rows, r, C_LEVEL);
  t->version = hd_db_i64(rows, r, C_VERSION);
  t->follow_up_count = (int32_t)hd_db_i64(rows, r, C_FOLLOW_UPS);
  t->resolved = hd_db_i64(rows, r, C_RESOLVED) != 0;
  t->merged_into_id = hd_db_i64(rows, r, C_MERGED_INTO);
  t->due_time_us = hd_db_i64(rows, r, C_TIMER_DUE);
  t->create_time_us = hd_db_i64(rows, r, C_CREATED);
  t->update_time_us = hd_db_i64(rows, r, C_UPDATED);
  t->close_time_us = hd_db_i64(rows, r, C_CLOSED);
  t->followed = hd_db_i64(rows, r, C_FOLLOWED) != 0;
  size_t len = 0;
  /* The count only; store__fill_associated reads the ids when there are any. */
  const int64_t associated = hd_db_i64(rows, r, C_ASSOCIATED);
  t->n_associated_ticket_ids = associated > 0 ? (size_t)associated : 0;
  if (meta) {
    *meta = (ticket_meta){.fence = hd_db_i64(rows, r, C_FENCE),
                          .timer_due_us = hd_db_i64(rows, r, C_TIMER_DUE),
                          .last_customer_reply_us = hd_db_i64(rows, r, C_LAST_CUSTOMER_REPLY),
                          .followers = hd_db_i64(rows, r, C_FOLLOWERS)};
    if (!hd_db_is_null(rows, r, C_TIMER_KIND)) {
      const char *k = hd_db_str(rows, r, C_TIMER_KIND, &len);
      if (store__timer_parse(k, len, &meta->timer_kind) != 0)
        return hd_err_set(err, HD_INTERNAL, "ticket %" PRId64 " has an unknown timer kind", t->id);
    }
  }
  *out = t;
  return 0;
}

/* ---- read ---- */

int ticket_store_get(hd_db *db, const char *tenant, int64_t id, bool for_update, hd_arena *arena,
                     Helpdesk__V1__Ticket **out, ticket_meta *meta, hd_err *err) {
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(id)};
  int rc = hd_db_query(db, for_update ? SQL_GET_FOR_UPDATE : SQL_GET, p, 2, 1, &rows, err);
  if (rc != 0) goto done;
  if (hd_db_rows_count(rows) == 0) {
    rc = hd_err_set(err, HD_NOT_FOUND, "ticket %" PRId64 " not found", id);
    goto done;
  }
  rc = store__to_proto(rows, 0, arena, out, meta, err);
  if (rc == 0) rc = store__fill_associated(db, *out, for_update, arena, err);
done:
  hd_db_rows_free(rows);
  return rc;
}

int ticket_store_get_viewed(hd_db *db, const char *tenant, int64_t id, const char *viewer_id,
                            hd_arena *arena, Helpdesk__V1__Ticket **out, hd_err *err) {
  ticket_meta meta;
  if (ticket_store_get(db, tenant, id, false, arena, out, &meta, err) != 0) return -1;
  return ticket_store_mark_followed(db, *out, meta.followers, viewer_id, err);
}

int ticket_store_row_proto(hd_db *db, const hd_db_rows *rows, size_t r, hd_arena *arena,
                           Helpdesk__V1__Ticket **out, hd_err *err) {
  if (store__to_proto(rows, r, arena, out, NULL, err) != 0) return -1;
  return store__fill_associated(db, *out, false, arena, err);
}

int ticket_store_mark_followed(hd_db *db, Helpdesk__V1__Ticket *t, int64_t followers,
                               const char *viewer_id, hd_err *err) {
  t->followed = false;
  if (!viewer_id || !*viewer_id || followers == 0) return 0;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_int(t->id), hd_db_text(viewer_id), hd_db_text(t->tenant)};
  const int rc =
      hd_db_query(db, "SELECT 1 FROM follows WHERE ticket_id = ? AND agent_id = ? AND tenant = ?",
                  p, 3, 1, &rows, err);
  if (rc == 0) t->followed = hd_db_rows_count(rows) > 0;
  hd_db_rows_free(rows);
  return rc;
}

/* ---- history and outbox rows ---- */

/* One history row: field, from, to (NULL: stored as NULL). */
typedef struct store__history_row {
  const char *field, *from, *to;
} store__history_row;

/* rows[0..n) of one action on one ticket in one INSERT (1..STORE_HISTORY_ROWS_MAX rows), in
 * their order. */
static int store__history_write(hd_db *db, const char *tenant, int64_t ticket_id,
                                const ticket_actor *actor, const char *action,
                                const store__history_row *rows, size_t n, int64_t now_us,
                                hd_err *err) {
  if (n == 0) return 0;
  if (n > STORE_HISTORY_ROWS_MAX)
    return hd_err_set(err, HD_INTERNAL, "%zu history rows in one change; at most %d", n,
                      STORE_HISTORY_ROWS_MAX);
  char sql[sizeof SQL_HISTORY_HEAD + STORE_HISTORY_ROWS_MAX * (sizeof SQL_HISTORY_ROW + 2)];
  size_t len = sizeof SQL_HISTORY_HEAD - 1;
  memcpy(sql, SQL_HISTORY_HEAD, len);
  hd_db_param p[STORE_HISTORY_ROWS_MAX * 9];
  for (size_t i = 0; i < n; i++) {
    if (i) {
      memcpy(sql + len, ", ", 2);
      len += 2;
    }
    memcpy(sql + len, SQL_HISTORY_ROW, sizeof SQL_HISTORY_ROW - 1);
    len += sizeof SQL_HISTORY_ROW - 1;
    hd_db_param *q = p + 9 * i;
    q[0] = hd_db_text(tenant);
    q[1] = hd_db_int(ticket_id);
    q[2] = hd_db_text(actor->user_id);
    q[3] = hd_db_text(actor->role);
    q[4] = hd_db_text(action);
    q[5] = hd_db_text(rows[i].field);
    q[6] = hd_db_text(rows[i].from);
    q[7] = hd_db_text(rows[i].to);
    q[8] = hd_db_int(now_us);
  }
  sql[len] = '\0';
  return hd_db_exec(db, sql, p, 9 * n, NULL, NULL, err);
}

int ticket_store_history_append(hd_db *db, const char *tenant, int64_t ticket_id,
                                const ticket_actor *actor, const char *action, const char *field,
                                const char *from_value, const char *to_value, int64_t now_us,
                                hd_err *err) {
  const store__history_row row = {field, from_value, to_value};
  return store__history_write(db, tenant, ticket_id, actor, action, &row, 1, now_us, err);
}

/* A ticket's event as the kit's outbox writes it: the envelope names the ticket. */
static hd_outbox_event store__event_of(const char *type, const char *tenant, int64_t ticket_id,
                                       const ticket_actor *actor, int64_t now_us) {
  return (hd_outbox_event){.type = type,
                           .tenant = tenant,
                           .aggregate_key = "ticket_id",
                           .aggregate_id = ticket_id,
                           .actor_id = actor->user_id,
                           .actor_role = actor->role,
                           .time_us = now_us};
}

/* Adds f[0..n) to body, after what it holds. INTERNAL for a name body already has or a string
 * that is not UTF-8, RESOURCE_EXHAUSTED out of memory. */
static int store__fields(json_t *body, const ticket_event_field *f, size_t n, const char *type,
                         hd_err *err) {
  for (size_t i = 0; i < n; i++) {
    if (json_object_get(body, f[i].key))
      return hd_err_set(err, HD_INTERNAL, "the %s event has member \"%s\" twice", type, f[i].key);
    json_t *v = f[i].is_int ? json_integer((json_int_t)f[i].num)
                : f[i].str  ? json_string(f[i].str)
                            : json_null();
    if (json_object_set_new(body, f[i].key, v) != 0)
      return hd_err_set(err, HD_INTERNAL,
                        "the %s event's member \"%s\" cannot be written (not UTF-8, or out of "
                        "memory)",
                        type, f[i].key);
  }
  return 0;
}

/* body (built by json_pack_ex: NULL when that failed, je saying why) with fields[0..n) added,
 * appended to the outbox in the caller's transaction. Takes body's reference. */
static int store__emit(hd_db *db, const hd_outbox_event *ev, json_t *body, const json_error_t *je,
                       const ticket_event_field *fields, size_t n, hd_err *err) {
  int rc = -1;
  if (!body) {
    char what[96];
    snprintf(what, sizeof what, "the %s event", ev->type);
    hd_json_pack_failed(je, what, err);
    goto done;
  }
  if (store__fields(body, fields, n, ev->type, err) != 0) goto done;
  rc = hd_outbox_append(db, ev, body, err);
done:
  json_decref(body);
  return rc;
}

int ticket_store_event(hd_db *db, const char *tenant, int64_t ticket_id, const char *event_type,
                       const ticket_actor *actor, int64_t now_us, const ticket_event_field *fields,
                       size_t n, hd_err *err) {
  const hd_outbox_event ev = store__event_of(event_type, tenant, ticket_id, actor, now_us);
  json_error_t je;
  json_t *body = json_pack_ex(&je, 0, "{}");
  return store__emit(db, &ev, body, &je, fields, n, err);
}

/* ---- create ---- */

int ticket_store_insert(hd_db *db, const char *tenant, const ticket_new *t, int64_t now_us,
                        const ticket_actor *actor, int64_t *out_id, hd_err *err) {
  int rc = -1;
  const char *status = ticket_status_name(TICKET_PENDING_RESPONSE);
  const char *service_type =
      hd_pb_enum_name(&helpdesk__v1__service_type__descriptor, t->service_type);
  const char *issue_type = hd_pb_enum_name(&helpdesk__v1__issue_type__descriptor, t->issue_type);
  if (!service_type || !issue_type || !t->customer_id || !t->subject || !t->description) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "a new ticket needs a customer, a subject, a description, "
               "a service type and an issue type");
    goto done;
  }
  const bool has_department = t->department && *t->department;
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_text(t->customer_id),
                           hd_db_text(t->subject),
                           hd_db_text(t->subject),
                           hd_db_text(t->description),
                           hd_db_text(t->product ? t->product : ""),
                           hd_db_text(t->brand ? t->brand : ""),
                           hd_db_text(service_type),
                           hd_db_text(issue_type),
                           hd_db_text(status),
                           store__opt_text(t->department),
                           hd_db_int(now_us),
                           hd_db_int(now_us)};
  uint64_t id = 0;
  if (hd_db_exec(db,
                 "INSERT INTO tickets (tenant, customer_id, subject, title, description, product, "
                 "brand, service_type, issue_type, status, department, level, version, fence, "
                 "follow_up_count, resolved, created_at_us, updated_at_us) VALUES "
                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, 0, 0, 0, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, &id, err) != 0)
    goto done;
  const int64_t tid = (int64_t)id;
  const store__history_row created[] = {{"status", NULL, status},
                                        {"department", NULL, t->department}};
  if (store__history_write(db, tenant, tid, actor, "CREATE", created, has_department ? 2 : 1,
                           now_us, err) != 0)
    goto done;
  const hd_outbox_event ev = store__event_of(TICKET_EVENT_CREATED, tenant, tid, actor, now_us);
  json_error_t je;
  json_t *body =
      json_pack_ex(&je, 0, "{s:I, s:s, s:{s:s, s:n, s:s?, s:s, s:n, s:I, s:s, s:s, s:I}}",
                   "version", (json_int_t)1, "action", "CREATE", "ticket", "status", status,
                   "owner_id", "department", has_department ? t->department : NULL, "customer_id",
                   t->customer_id, "category", "level", (json_int_t)1, "service_type", service_type,
                   "issue_type", issue_type, "create_time_us", (json_int_t)now_us);
  if (store__emit(db, &ev, body, &je, NULL, 0, err) != 0) goto done;
  *out_id = tid;
  rc = 0;
done:
  return rc;
}

int ticket_store_new_proto(const char *tenant, const ticket_new *t, int64_t id, int64_t now_us,
                           hd_arena *arena, Helpdesk__V1__Ticket **out, hd_err *err) {
  Helpdesk__V1__Ticket *m = hd_arena_new_message(arena, &helpdesk__v1__ticket__descriptor);
  if (!m)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory building ticket %" PRId64, id);
  m->id = id;
  m->tenant = hd_arena_strdup(arena, tenant);
  m->customer_id = hd_arena_strdup(arena, t->customer_id);
  m->subject = hd_arena_strdup(arena, t->subject);
  m->title = m->subject;
  m->description = hd_arena_strdup(arena, t->description);
  m->product = hd_arena_strdup(arena, t->product ? t->product : "");
  m->brand = hd_arena_strdup(arena, t->brand ? t->brand : "");
  m->owner_id = "";
  m->department = hd_arena_strdup(arena, t->department ? t->department : "");
  if (!m->tenant || !m->customer_id || !m->subject || !m->description || !m->product || !m->brand ||
      !m->department)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory building ticket %" PRId64, id);
  m->service_type = t->service_type;
  m->issue_type = t->issue_type;
  m->status = ticket_status_to_pb(TICKET_PENDING_RESPONSE);
  m->level = 1;
  m->version = 1;
  m->create_time_us = now_us;
  m->update_time_us = now_us;
  *out = m;
  return 0;
}

/* ---- change ---- */

/* The columns an update may write, before or after the change. Strings borrow from the
 * snapshot or the change. */
typedef struct store__state {
  ticket_status status;
  ticket_status suspended_from;
  const char *owner_id;   /* NULL = none */
  const char *department; /* NULL = none */
  const char *title;
  int64_t level;
  int category;
  int64_t follow_up_count;
  int64_t resolved;
  int64_t merged_into_id;
  int64_t close_time_us;
  int64_t last_customer_reply_us;
  int64_t fence;
  ticket_timer_kind timer_kind;
  int64_t timer_due_us;
} store__state;

static const char *store__none_if_empty(const char *s) { return s && *s ? s : NULL; }

static store__state store__state_of(const Helpdesk__V1__Ticket *t, const ticket_meta *m) {
  return (store__state){
      .status = ticket_status_from_pb(t->status),
      .suspended_from = ticket_status_from_pb(t->suspended_from),
      .owner_id = store__none_if_empty(t->owner_id),
      .department = store__none_if_empty(t->department),
      .title = t->title,
      .level = t->level,
      .category = t->category,
      .follow_up_count = t->follow_up_count,
      .resolved = t->resolved,
      .merged_into_id = t->merged_into_id,
      .close_time_us = t->close_time_us,
      .last_customer_reply_us = m->last_customer_reply_us,
      .fence = m->fence,
      .timer_kind = m->timer_kind,
      .timer_due_us = m->timer_due_us,
  };
}

static bool store__finished(ticket_status s) { return s == TICKET_CLOSED || s == TICKET_CANCELLED; }

static store__state store__apply(const store__state *b, const ticket_change *ch, int64_t now_us) {
  store__state a = *b;
  if (ch->status != TICKET_STATUS_NONE) a.status = ch->status;
  if (ch->suspended_from.set) a.suspended_from = (ticket_status)ch->suspended_from.value;
  if (ch->owner_id) a.owner_id = store__none_if_empty(ch->owner_id);
  if (ch->department) a.department = store__none_if_empty(ch->department);
  if (ch->title) a.title = ch->title;
  if (ch->level.set) a.level = ch->level.value;
  if (ch->category) a.category = ch->category;
  if (ch->follow_up_count.set) a.follow_up_count = ch->follow_up_count.value;
  if (ch->resolved.set) a.resolved = ch->resolved.value != 0;
  if (ch->merged_into_id.set) a.merged_into_id = ch->merged_into_id.value;
  if (ch->close_time_us.set) a.close_time_us = ch->close_time_us.value;
  if (ch->last_customer_reply_us.set) a.last_customer_reply_us = ch->last_customer_reply_us.value;
  if (ch->timer.set) {
    a.timer_kind = ch->timer.kind;
    a.timer_due_us = ch->timer.kind == TICKET_TIMER_NONE ? 0 : ch->timer.due_us;
  }
  if (ch->fence > 0) a.fence = ch->fence;
  if (a.status != b->status && store__finished(a.status) && !store__finished(b->status)) {
    if (!ch->close_time_us.set) a.close_time_us = now_us;
    if (!ch->timer.set) {
      a.timer_kind = TICKET_TIMER_NONE;
      a.timer_due_us = 0;
    }
  } else if (a.status != b->status && store__finished(b->status) && !store__finished(a.status)) {
    if (!ch->close_time_us.set) a.close_time_us = 0;
  }
  return a;
}

/* One audited field that changed; values as history stores them. */
typedef struct store__diff {
  const char *field;
  const char *from;
  const char *to;
  char from_buf[24];
  char to_buf[24];
} store__diff;

#define STORE_MAX_DIFFS 10 /* < STORE_HISTORY_ROWS_MAX: the note takes one more row */

typedef struct store__diffs {
  store__diff d[STORE_MAX_DIFFS];
  size_t n;
} store__diffs;

static void store__diff_str(store__diffs *ds, const char *field, const char *from, const char *to) {
  from = from ? from : "";
  to = to ? to : "";
  if (strcmp(from, to) == 0) return;
  store__diff *d = &ds->d[ds->n++];
  d->field = field;
  d->from = from;
  d->to = to;
}

static void store__diff_int(store__diffs *ds, const char *field, int64_t from, int64_t to,
                            bool zero_is_none) {
  if (from == to) return;
  store__diff *d = &ds->d[ds->n++];
  d->field = field;
  snprintf(d->from_buf, sizeof d->from_buf, "%" PRId64, from);
  snprintf(d->to_buf, sizeof d->to_buf, "%" PRId64, to);
  d->from = zero_is_none && from == 0 ? "" : d->from_buf;
  d->to = zero_is_none && to == 0 ? "" : d->to_buf;
}

static const char *store__status_text(ticket_status s) {
  return s == TICKET_STATUS_NONE ? NULL : ticket_status_name(s);
}

static void store__diff_all(const store__state *b, const store__state *a, store__diffs *ds) {
  ds->n = 0;
  store__diff_str(ds, "status", store__status_text(b->status), store__status_text(a->status));
  store__diff_str(ds, "suspended_from", store__status_text(b->suspended_from),
                  store__status_text(a->suspended_from));
  store__diff_str(ds, "owner_id", b->owner_id, a->owner_id);
  store__diff_str(ds, "department", b->department, a->department);
  store__diff_str(ds, "title", b->title, a->title);
  store__diff_int(ds, "level", b->level, a->level, false);
  store__diff_str(ds, "category",
                  store__enum_name(&helpdesk__v1__category__descriptor, b->category),
                  store__enum_name(&helpdesk__v1__category__descriptor, a->category));
  store__diff_int(ds, "follow_up_count", b->follow_up_count, a->follow_up_count, false);
  if (b->resolved != a->resolved)
    store__diff_str(ds, "resolved", b->resolved ? "true" : "false", a->resolved ? "true" : "false");
  store__diff_int(ds, "merged_into_id", b->merged_into_id, a->merged_into_id, true);
}

static const char *store__default_event(const store__diffs *ds) {
  for (size_t i = 0; i < ds->n; i++)
    if (strcmp(ds->d[i].field, "status") == 0) return TICKET_EVENT_STATUS_CHANGED;
  for (size_t i = 0; i < ds->n; i++)
    if (strcmp(ds->d[i].field, "owner_id") == 0) return TICKET_EVENT_OWNER_CHANGED;
  return ds->n ? TICKET_EVENT_UPDATED : NULL;
}

static int store__write_row(hd_db *db, const char *tenant, int64_t id, int64_t version,
                            const store__state *a, int64_t now_us, hd_err *err) {
  const char *category = store__enum_name(&helpdesk__v1__category__descriptor, a->category);
  const char *timer = ticket_timer_kind_name(a->timer_kind);
  const hd_db_param p[] = {
      hd_db_text(ticket_status_name(a->status)),
      a->suspended_from ? hd_db_text(ticket_status_name(a->suspended_from)) : hd_db_null(),
      store__opt_text(a->owner_id),
      store__opt_text(a->department),
      hd_db_text(a->title),
      hd_db_int(a->level),
      store__opt_text(category),
      hd_db_int(a->follow_up_count),
      hd_db_int(a->resolved),
      store__opt_int(a->merged_into_id),
      timer ? hd_db_text(timer) : hd_db_null(),
      timer ? hd_db_int(a->timer_due_us) : hd_db_null(),
      store__opt_int(a->last_customer_reply_us),
      store__opt_int(a->close_time_us),
      hd_db_int(a->fence),
      hd_db_int(now_us),
      hd_db_text(tenant),
      hd_db_int(id),
      hd_db_int(version),
  };
  uint64_t affected = 0;
  if (hd_db_exec(db,
                 "UPDATE tickets FORCE INDEX (PRIMARY) SET status = ?, suspended_from = ?, "
                 "owner_id = ?, department = ?, title = ?, level = ?, category = ?, "
                 "follow_up_count = ?, resolved = ?, merged_into_id = ?, timer_kind = ?, "
                 "timer_due_us = ?, last_customer_reply_us = ?, closed_at_us = ?, fence = ?, "
                 "version = version + 1, updated_at_us = ? "
                 "WHERE tenant = ? AND id = ? AND version = ?",
                 p, sizeof p / sizeof p[0], &affected, NULL, err) != 0)
    return -1;
  if (affected != 1)
    return hd_err_set(err, HD_ABORTED, "ticket %" PRId64 " was changed by someone else: retry", id);
  return 0;
}

/* Keeps tickets.associated_count in step when a change moves merged_into_id from `from` to `to`
 * (0 = none): the old target counts one less, the new one one more. */
static int store__count_associated(hd_db *db, const char *tenant, int64_t from, int64_t to,
                                   hd_err *err) {
  if (from == to) return 0;
  static const char sql[] =
      "UPDATE tickets FORCE INDEX (PRIMARY) SET associated_count = associated_count + ? "
      "WHERE tenant = ? AND id = ?";
  if (from > 0) {
    const hd_db_param p[] = {hd_db_int(-1), hd_db_text(tenant), hd_db_int(from)};
    if (hd_db_exec(db, sql, p, 3, NULL, NULL, err) != 0) return -1;
  }
  if (to > 0) {
    const hd_db_param p[] = {hd_db_int(1), hd_db_text(tenant), hd_db_int(to)};
    if (hd_db_exec(db, sql, p, 3, NULL, NULL, err) != 0) return -1;
  }
  return 0;
}

/* The change's event: the ticket after it, the fields that changed, the change's own members. */
static int store__change_event(hd_db *db, const char *tenant, int64_t id, const char *type,
                               const ticket_change *ch, const Helpdesk__V1__Ticket *before,
                               const store__state *a, const store__diffs *ds, int64_t version,
                               int64_t now_us, const ticket_actor *actor, hd_err *err) {
  const hd_outbox_event ev = store__event_of(type, tenant, id, actor, now_us);
  json_error_t je;
  json_t *body = json_pack_ex(
      &je, 0, "{s:I, s:s?, s:{s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:s?, s:s?}, s:{}}", "version",
      (json_int_t)version, "action", ch->action, "ticket", "status", ticket_status_name(a->status),
      "owner_id", a->owner_id, "department", a->department, "customer_id", before->customer_id,
      "category", store__enum_name(&helpdesk__v1__category__descriptor, a->category), "level",
      (json_int_t)a->level, "service_type",
      hd_pb_enum_name(&helpdesk__v1__service_type__descriptor, before->service_type), "issue_type",
      hd_pb_enum_name(&helpdesk__v1__issue_type__descriptor, before->issue_type), "changes");
  json_t *changes = body ? json_object_get(body, "changes") : NULL;
  for (size_t i = 0; changes && i < ds->n; i++) {
    json_t *d = json_pack_ex(&je, 0, "{s:s?, s:s?}", "from", ds->d[i].from, "to", ds->d[i].to);
    if (json_object_set_new(changes, ds->d[i].field, d) != 0) { /* takes d, also NULL */
      json_decref(body);
      return hd_err_set(err, HD_INTERNAL,
                        "the %s event's change of %s cannot be written (not UTF-8, or out of "
                        "memory)",
                        type, ds->d[i].field);
    }
  }
  return store__emit(db, &ev, body, &je, ch->event_fields, ch->n_event_fields, err);
}

/* The ticket as the update left it, built from the row read under the lock (before, in the
 * scratch arena) and the columns written (a), without reading it again: *out and every string in
 * arena. */
static int store__after(const Helpdesk__V1__Ticket *before, const store__state *a, int64_t now_us,
                        hd_arena *arena, Helpdesk__V1__Ticket **out, hd_err *err) {
  Helpdesk__V1__Ticket *t = hd_arena_new_message(arena, &helpdesk__v1__ticket__descriptor);
  if (!t) goto oom;
  *t = *before;
  char **strs[] = {&t->tenant,      &t->customer_id, &t->subject,
                   &t->description, &t->product,     &t->brand};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
    if (!(*strs[i] = hd_arena_strdup(arena, *strs[i] ? *strs[i] : ""))) goto oom;
  t->title = hd_arena_strdup(arena, a->title ? a->title : "");
  t->owner_id = hd_arena_strdup(arena, a->owner_id ? a->owner_id : "");
  t->department = hd_arena_strdup(arena, a->department ? a->department : "");
  if (!t->title || !t->owner_id || !t->department) goto oom;
  if (before->n_associated_ticket_ids) {
    t->associated_ticket_ids = hd_arena_memdup(arena, before->associated_ticket_ids,
                                               before->n_associated_ticket_ids * sizeof(int64_t));
    if (!t->associated_ticket_ids) goto oom;
  }
  t->status = ticket_status_to_pb(a->status);
  t->suspended_from = ticket_status_to_pb(a->suspended_from);
  t->level = (int32_t)a->level;
  t->category = (Helpdesk__V1__Category)a->category;
  t->follow_up_count = (int32_t)a->follow_up_count;
  t->resolved = a->resolved != 0;
  t->merged_into_id = a->merged_into_id;
  t->due_time_us = a->timer_kind != TICKET_TIMER_NONE ? a->timer_due_us : 0;
  t->close_time_us = a->close_time_us;
  t->version = before->version + 1;
  t->update_time_us = now_us;
  *out = t;
  return 0;
oom:
  return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory building ticket %" PRId64,
                    before->id);
}

int ticket_store_update(hd_db *db, const char *tenant, int64_t id, int64_t expected_version,
                        const ticket_change *ch, int64_t now_us, const ticket_actor *actor,
                        hd_arena *arena, Helpdesk__V1__Ticket **out, hd_err *err) {
  int rc = -1;
  hd_arena *scratch = hd_arena_new(STORE_SCRATCH_MAX);
  ticket_locked row = {0};
  Helpdesk__V1__Ticket *t = NULL;
  if (!scratch) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory updating ticket %" PRId64, id);
    goto done;
  }
  if (ticket_store_get(db, tenant, id, true, scratch, &t, &row.meta, err) != 0) goto done;
  row.ticket = t;
  rc = ticket_store_update_locked(db, tenant, &row, expected_version, ch, now_us, actor, arena, out,
                                  err);
done:
  hd_arena_free(scratch);
  return rc;
}

int ticket_store_update_locked(hd_db *db, const char *tenant, const ticket_locked *row,
                               int64_t expected_version, const ticket_change *ch, int64_t now_us,
                               const ticket_actor *actor, hd_arena *arena,
                               Helpdesk__V1__Ticket **out, hd_err *err) {
  int rc = -1;
  const Helpdesk__V1__Ticket *before = row->ticket;
  const ticket_meta meta = row->meta;
  const int64_t id = before->id;
  if (!ch->action || !*ch->action) {
    hd_err_set(err, HD_INTERNAL, "a ticket change needs an action");
    goto done;
  }
  if (hd_call_check_current("ticket", id, before->version, expected_version, err)) goto done;
  if (ch->fence > 0 && ch->fence <= meta.fence) {
    hd_err_set(err, HD_ABORTED,
               "ticket %" PRId64 " was written by a newer claim: fence %" PRId64
               " is not greater than %" PRId64,
               id, ch->fence, meta.fence);
    goto done;
  }
  const store__state b = store__state_of(before, &meta);
  const store__state a = store__apply(&b, ch, now_us);
  /* The owner rule, for every change that sets a status or an owner, whichever operation makes
   * it (ticket_state.h); a change of neither keeps a row as valid as it was. */
  if ((ch->status != TICKET_STATUS_NONE || ch->owner_id) &&
      ticket_check_owned(a.status, a.owner_id != NULL, id, err) != 0)
    goto done;
  store__diffs ds;
  store__diff_all(&b, &a, &ds);
  if (store__write_row(db, tenant, id, before->version, &a, now_us, err) != 0 ||
      store__count_associated(db, tenant, b.merged_into_id, a.merged_into_id, err) != 0)
    goto done;
  /* The change's note first, then a row per changed field: one statement. */
  store__history_row hist[STORE_HISTORY_ROWS_MAX];
  size_t nh = 0;
  if (ch->note_field) hist[nh++] = (store__history_row){ch->note_field, NULL, ch->note_value};
  for (size_t i = 0; i < ds.n; i++)
    hist[nh++] = (store__history_row){ds.d[i].field, ds.d[i].from, ds.d[i].to};
  if (store__history_write(db, tenant, id, actor, ch->action, hist, nh, now_us, err) != 0)
    goto done;
  const char *type = ch->event_type ? ch->event_type : store__default_event(&ds);
  if (type && store__change_event(db, tenant, id, type, ch, before, &a, &ds, before->version + 1,
                                  now_us, actor, err) != 0)
    goto done;
  if (out && store__after(before, &a, now_us, arena, out, err) != 0) goto done;
  rc = 0;
done:
  return rc;
}

/* ---- timers ---- */

int ticket_store_take_due(hd_db *db, int64_t now_us, size_t max, hd_arena *arena, ticket_due **out,
                          size_t *n, hd_err *err) {
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  *n = 0;
  if (max == 0 || max > HD_PAGE_SIZE_MAX) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "take 1 to %d due tickets at a time", HD_PAGE_SIZE_MAX);
    goto done;
  }
  const hd_db_param p[] = {hd_db_int(now_us), hd_db_int((int64_t)max)};
  if (hd_db_query(
          db,
          "SELECT tenant, id, timer_kind, timer_due_us FROM tickets WHERE timer_due_us <= ? "
          "ORDER BY timer_due_us, id LIMIT ? FOR UPDATE SKIP LOCKED",
          p, 2, max, &rows, err) != 0)
    goto done;
  const size_t count = hd_db_rows_count(rows);
  if (count == 0) {
    rc = 0;
    goto done;
  }
  ticket_due *due = HD_ARENA_ARRAY(arena, ticket_due, count);
  if (!due) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading due timers");
    goto done;
  }
  for (size_t i = 0; i < count; i++) {
    size_t len = 0;
    const char *tenant = hd_db_str(rows, i, 0, &len);
    due[i].id = hd_db_i64(rows, i, 1);
    if (len > HD_TENANT_MAX) {
      hd_err_set(err, HD_INTERNAL, "ticket %" PRId64 " has an overlong tenant", due[i].id);
      goto done;
    }
    memcpy(due[i].tenant, tenant, len);
    due[i].tenant[len] = '\0';
    const char *kind = hd_db_str(rows, i, 2, &len);
    if (store__timer_parse(kind, len, &due[i].kind) != 0) {
      hd_err_set(err, HD_INTERNAL, "ticket %" PRId64 " has an unknown timer kind", due[i].id);
      goto done;
    }
    due[i].due_us = hd_db_i64(rows, i, 3);
  }
  *out = due;
  *n = count;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}
