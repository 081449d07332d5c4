/* Lists and history pages (see ticket_query.h): the filters and keyset conditions over the
 * store's list query head, pages and tokens from rpc/page.h. */
#include "ticket_query.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rpc/page.h"
#include "ticket_store_internal.h"

#define QUERY_SQL_MAX 2048

/* NULL for "", so an empty filter means "any". */
static const char *query__none_if_empty(const char *s) { return s && *s ? s : NULL; }

/* A copy of a cell in the arena ("" for NULL). */
static char *query__cell(const hd_db_rows *rows, size_t r, size_t c, hd_arena *a) {
  size_t len = 0;
  const char *s = hd_db_str(rows, r, c, &len);
  return hd_arena_strndup(a, s, len);
}

/* ---- list ---- */

/* Appends text to a bounded SQL buffer; false when it would not fit. */
static bool query__sql_add(char *buf, size_t cap, size_t *len, const char *text) {
  const size_t n = strlen(text);
  if (n >= cap - *len) return false;
  memcpy(buf + *len, text, n + 1);
  *len += n;
  return true;
}

int ticket_query_list(hd_db *db, const char *tenant, const ticket_list_query *q, hd_arena *arena,
                      ticket_page *out, hd_err *err) {
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = (ticket_page){.next_page_token = ""};
  const char *owner = query__none_if_empty(q->owner_id);
  const char *department = query__none_if_empty(q->department);
  const char *customer = query__none_if_empty(q->customer_id);
  const char *status = q->status ? ticket_status_name(q->status) : NULL;

  /* The listing's identity, so a token cannot continue a different one. */
  hd_page_scope scope;
  hd_page_scope_init(&scope, "tickets", tenant);
  hd_page_scope_str(&scope, status);
  hd_page_scope_str(&scope, owner);
  hd_page_scope_str(&scope, department);
  hd_page_scope_str(&scope, customer);
  hd_page_scope_str(&scope, q->newest_first ? "desc" : "asc");
  hd_page pg;
  if (hd_page_start(q->page_size, q->page_token, &scope, &pg, err) != 0) goto done;
  const bool has_token = pg.continued;
  const hd_page_pos after = pg.after;

  char sql[QUERY_SQL_MAX];
  size_t len = 0;
  hd_db_param p[10];
  size_t n = 0;
  bool ok = query__sql_add(sql, sizeof sql, &len, ticket_store_sql_list_head);
  p[n++] = q->viewer_id && *q->viewer_id ? hd_db_text(q->viewer_id) : hd_db_null();
  p[n++] = hd_db_text(tenant);
  if (status) {
    ok = ok && query__sql_add(sql, sizeof sql, &len, " AND t.status = ?");
    p[n++] = hd_db_text(status);
  }
  if (owner) {
    ok = ok && query__sql_add(sql, sizeof sql, &len, " AND t.owner_id = ?");
    p[n++] = hd_db_text(owner);
  }
  if (department) {
    ok = ok && query__sql_add(sql, sizeof sql, &len, " AND t.department = ?");
    p[n++] = hd_db_text(department);
  }
  if (customer) {
    ok = ok && query__sql_add(sql, sizeof sql, &len, " AND t.customer_id = ?");
    p[n++] = hd_db_text(customer);
  }
  if (has_token) {
    ok = ok &&
         query__sql_add(sql, sizeof sql, &len,
                        q->newest_first
                            ? " AND (t.created_at_us < ? OR (t.created_at_us = ? AND t.id < ?))"
                            : " AND (t.created_at_us > ? OR (t.created_at_us = ? AND t.id > ?))");
    p[n++] = hd_db_int(after.key);
    p[n++] = hd_db_int(after.key);
    p[n++] = hd_db_int(after.id);
  }
  ok = ok && query__sql_add(sql, sizeof sql, &len,
                            q->newest_first ? " ORDER BY t.created_at_us DESC, t.id DESC LIMIT ?"
                                            : " ORDER BY t.created_at_us ASC, t.id ASC LIMIT ?");
  p[n++] = hd_db_int(hd_page_fetch(&pg));
  if (!ok) {
    hd_err_set(err, HD_INTERNAL, "ticket list query does not fit its buffer");
    goto done;
  }
  if (hd_db_query(db, sql, p, n, (size_t)hd_page_fetch(&pg), &rows, err) != 0) goto done;

  const size_t count = hd_db_rows_count(rows);
  const size_t shown = hd_page_shown(&pg, count);
  out->tickets = HD_ARENA_ARRAY(arena, Helpdesk__V1__Ticket *, shown ? shown : 1);
  if (!out->tickets) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory listing tickets");
    goto done;
  }
  for (size_t i = 0; i < shown; i++) {
    if (ticket_store_row_proto(db, rows, i, arena, &out->tickets[i], err) != 0) goto done;
  }
  out->n = shown;
  if (count > shown) {
    const Helpdesk__V1__Ticket *last = out->tickets[shown - 1];
    const hd_page_pos pos = {.key = last->create_time_us, .id = last->id};
    if (hd_page_next(&pg, &pos, arena, &out->next_page_token, err) != 0) goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* ---- history ---- */

int ticket_query_history(hd_db *db, const char *tenant, int64_t ticket_id, int32_t page_size,
                         const char *page_token, hd_arena *arena, Helpdesk__V1__HistoryEntry ***out,
                         size_t *n_out, char **next_token, hd_err *err) {
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  *n_out = 0;
  *next_token = "";
  hd_page_scope scope;
  hd_page_scope_init(&scope, "history", tenant);
  hd_page_scope_int(&scope, ticket_id);
  hd_page pg;
  if (hd_page_start(page_size, page_token, &scope, &pg, err) != 0) goto done;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(ticket_id), hd_db_int(pg.after.id),
                           hd_db_int(hd_page_fetch(&pg))};
  if (hd_db_query(
          db,
          "SELECT id, ticket_id, actor_id, actor_role, action, field, from_value, to_value, "
          "created_at_us FROM ticket_history WHERE tenant = ? AND ticket_id = ? AND id > ? "
          "ORDER BY id LIMIT ?",
          p, 4, (size_t)hd_page_fetch(&pg), &rows, err) != 0)
    goto done;
  const size_t count = hd_db_rows_count(rows);
  const size_t shown = hd_page_shown(&pg, count);
  Helpdesk__V1__HistoryEntry **entries =
      HD_ARENA_ARRAY(arena, Helpdesk__V1__HistoryEntry *, shown ? shown : 1);
  if (!entries) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading history");
    goto done;
  }
  for (size_t i = 0; i < shown; i++) {
    Helpdesk__V1__HistoryEntry *e =
        hd_arena_new_message(arena, &helpdesk__v1__history_entry__descriptor);
    if (!e) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading history");
      goto done;
    }
    e->id = hd_db_i64(rows, i, 0);
    e->ticket_id = hd_db_i64(rows, i, 1);
    e->actor_id = query__cell(rows, i, 2, arena);
    e->actor_role = query__cell(rows, i, 3, arena);
    e->action = query__cell(rows, i, 4, arena);
    e->field = query__cell(rows, i, 5, arena);
    e->from_value = query__cell(rows, i, 6, arena);
    e->to_value = query__cell(rows, i, 7, arena);
    e->create_time_us = hd_db_i64(rows, i, 8);
    if (!e->actor_id || !e->actor_role || !e->action || !e->field || !e->from_value ||
        !e->to_value) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading history");
      goto done;
    }
    entries[i] = e;
  }
  if (count > shown) {
    const hd_page_pos pos = {.key = 0, .id = entries[shown - 1]->id};
    if (hd_page_next(&pg, &pos, arena, next_token, err) != 0) goto done;
  }
  *out = entries;
  *n_out = shown;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}
