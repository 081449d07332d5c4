/* Lists and history pages (see ticket_query.h): the filters and keyset conditions over the
 * store's list query head, pages and tokens from rpc/page.h. */
#include "ticket_query.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rpc/page.h"
#include "ticket_store_internal.h"

/* NULL for "", so an empty filter means "any". */
static const char *query__none_if_empty(const char *s) { return s && *s ? s : NULL; }

/* A copy of a cell in the arena ("" for NULL). */
static char *query__cell(const hd_db_rows *rows, size_t r, size_t c, hd_arena *a) {
  size_t len = 0;
  const char *s = hd_db_str(rows, r, c, &len);
  return hd_arena_strndup(a, s, len);
}

/* ---- list ---- */

#define QUERY_SQL_MAX    16384 /* a union of one branch per status, each about 1 KB */
#define QUERY_PARAMS_MAX 192   /* (TICKET_LIST_STATUSES_MAX branches × at most 20) + 1 */
#define QUERY_BIT(s)     (1u << (unsigned)(s))

/* A statement being built: bounded SQL text and its parameters, both in the arena. ok turns
 * false for good when either would overflow. */
typedef struct query__stmt {
  char *sql;
  size_t len;
  hd_db_param *p;
  size_t n;
  bool ok;
} query__stmt;

static void query__sql(query__stmt *st, const char *text) {
  const size_t n = strlen(text);
  if (!st->ok || n >= QUERY_SQL_MAX - st->len) {
    st->ok = false;
    return;
  }
  memcpy(st->sql + st->len, text, n + 1);
  st->len += n;
}

static void query__param(query__stmt *st, hd_db_param v) {
  if (!st->ok || st->n >= QUERY_PARAMS_MAX) {
    st->ok = false;
    return;
  }
  st->p[st->n++] = v;
}

/* How a listing is ordered and continued: its key column (and the id's) and the direction. */
typedef struct query__order {
  const char *key; /* "t.created_at_us", "t.updated_at_us", "f.ticket_created_at_us" */
  const char *id;  /* "t.id" or "f.ticket_id" (the same value) */
  bool desc;
} query__order;

/* The filters every branch of one listing shares, resolved. */
typedef struct query__filters {
  const char *tenant;
  const char *viewer;
  const char *owner; /* TICKET_OWNER_THIS only */
  ticket_owner_match owner_match;
  const char *department;
  const char *customer;
  bool followed;
  int64_t since;
  bool continued;
  hd_page_pos after;
  int64_t fetch;
} query__filters;

/* The indexes of the tickets that can serve a listing (the statuses in `statuses`, 0: any, and
 * the shared filters), as the FORCE INDEX clause naming them: an index per filter present, the
 * update order's index with updated_since, the creation order's when there is no filter. Every
 * index of `tickets` starts with the tenant, so without the clause MariaDB estimates a range in
 * each of the nine for every page (two B-tree descents each): measured through mariadb-slap, a
 * page's two statements went 3,800 -> 5,500 a second at 16 connections with the clauses. */
static void query__index_hint(query__stmt *st, const query__filters *f, unsigned statuses) {
  const bool owner = f->owner || f->owner_match == TICKET_OWNER_NONE;
  const char *named[5];
  size_t n = 0;
  if (owner) named[n++] = statuses ? "ix_tickets_owner_status" : "ix_tickets_owner";
  if (statuses && !owner) named[n++] = "ix_tickets_status";
  if (f->department) named[n++] = "ix_tickets_department";
  if (f->customer) named[n++] = "ix_tickets_customer";
  if (f->since > 0) named[n++] = "ix_tickets_updated";
  if (n == 0) named[n++] = "ix_tickets_tenant_created";
  query__sql(st, " FORCE INDEX (");
  for (size_t i = 0; i < n; i++) {
    if (i) query__sql(st, ", ");
    query__sql(st, named[i]);
  }
  query__sql(st, ")");
}

/* Appends one SELECT of the page's ids and sort keys (columns id, k): from the tickets or, for
 * followed, from the viewer's follows joined to their tickets; the statuses in `statuses` (0:
 * any), the shared filters, the keyset condition, ORDER BY and LIMIT. The columns of the common
 * filters are all in the index of the listing's order, so MariaDB reads the ids from that index
 * alone, as a range starting where the page starts. (Selecting whole rows in the same statement,
 * MariaDB 10.11 may instead walk the index from the tenant's first entry and skip to the page:
 * a cost that grows with the table.) */
static void query__keys(query__stmt *st, const query__filters *f, unsigned statuses,
                        const query__order *o) {
  char buf[256];
  if (f->followed) {
    snprintf(buf, sizeof buf,
             "SELECT t.id, %s AS k FROM follows f FORCE INDEX (ix_follows_agent_created) "
             "JOIN tickets t FORCE INDEX (PRIMARY) ON t.id = f.ticket_id "
             "WHERE f.tenant = ? AND f.agent_id = ? AND t.tenant = ?",
             o->key);
    query__sql(st, buf);
    query__param(st, hd_db_text(f->tenant));
    query__param(st, f->viewer ? hd_db_text(f->viewer) : hd_db_null());
  } else {
    snprintf(buf, sizeof buf, "SELECT t.id, %s AS k FROM tickets t", o->key);
    query__sql(st, buf);
    query__index_hint(st, f, statuses);
    query__sql(st, " WHERE t.tenant = ?");
  }
  query__param(st, hd_db_text(f->tenant));
  if (statuses) {
    query__sql(st, " AND t.status IN (");
    bool first = true;
    for (int s = 1; s < TICKET_STATUS_COUNT; s++) {
      if (!(statuses & QUERY_BIT(s))) continue;
      query__sql(st, first ? "?" : ", ?");
      query__param(st, hd_db_text(ticket_status_name((ticket_status)s)));
      first = false;
    }
    query__sql(st, ")");
  }
  if (f->owner_match == TICKET_OWNER_NONE) query__sql(st, " AND t.owner_id IS NULL");
  if (f->owner) {
    query__sql(st, " AND t.owner_id = ?");
    query__param(st, hd_db_text(f->owner));
  }
  if (f->department) {
    query__sql(st, " AND t.department = ?");
    query__param(st, hd_db_text(f->department));
  }
  if (f->customer) {
    query__sql(st, " AND t.customer_id = ?");
    query__param(st, hd_db_text(f->customer));
  }
  if (f->since > 0) {
    query__sql(st, " AND t.updated_at_us >= ?");
    query__param(st, hd_db_int(f->since));
  }
  if (f->continued) {
    const char *cmp = o->desc ? "<" : ">";
    snprintf(buf, sizeof buf, " AND (%s %s ? OR (%s = ? AND %s %s ?))", o->key, cmp, o->key, o->id,
             cmp);
    query__sql(st, buf);
    query__param(st, hd_db_int(f->after.key));
    query__param(st, hd_db_int(f->after.key));
    query__param(st, hd_db_int(f->after.id));
  }
  const char *dir = o->desc ? "DESC" : "ASC";
  snprintf(buf, sizeof buf, " ORDER BY %s %s, %s %s LIMIT ?", o->key, dir, o->id, dir);
  query__sql(st, buf);
  query__param(st, hd_db_int(f->fetch));
}

/* The number of statuses in a set. */
static int query__count(unsigned set) {
  int n = 0;
  for (int s = 1; s < TICKET_STATUS_COUNT; s++) n += (set & QUERY_BIT(s)) != 0;
  return n;
}

/* The scope part naming a status set: "" for any, the status's name for one (so statuses [X] and
 * status X are the same listing, as tokens of the older field alone were), the names joined by
 * commas in the enum's order for several. */
static const char *query__set_name(unsigned set, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  for (int s = 1; s < TICKET_STATUS_COUNT; s++) {
    if (!(set & QUERY_BIT(s))) continue;
    const int w = snprintf(buf + len, cap - len, "%s%s", len ? "," : "",
                           ticket_status_name((ticket_status)s));
    if (w < 0 || (size_t)w >= cap - len) break;
    len += (size_t)w;
  }
  return buf;
}

int ticket_query_list(hd_db *db, const char *tenant, const ticket_list_query *q, hd_arena *arena,
                      ticket_page *out, hd_err *err) {
  hd_db_rows *keys = NULL, *rows = NULL;
  int rc = -1;
  *out = (ticket_page){.next_page_token = ""};
  unsigned set = q->status_set & ~QUERY_BIT(TICKET_STATUS_NONE);
  if (q->status) set |= QUERY_BIT(q->status);
  const char *viewer = query__none_if_empty(q->viewer_id);
  const char *owner = query__none_if_empty(q->owner_id);
  query__filters f = {
      .tenant = tenant,
      .viewer = viewer,
      .owner_match = q->owner,
      .owner = q->owner == TICKET_OWNER_NONE ? NULL : owner,
      .department = query__none_if_empty(q->department),
      .customer = query__none_if_empty(q->customer_id),
      .followed = q->followed_only,
      .since = q->updated_since_us > 0 ? q->updated_since_us : 0,
  };

  /* The listing's identity, so a token cannot continue a different one. The first five parts
   * are those of the older filters alone, so their tokens stay good; the newer ones follow only
   * when used. */
  char set_name[TICKET_LIST_STATUSES_MAX * 24];
  hd_page_scope scope;
  hd_page_scope_init(&scope, "tickets", tenant);
  hd_page_scope_str(&scope, query__set_name(set, set_name, sizeof set_name));
  hd_page_scope_str(&scope, f.owner);
  hd_page_scope_str(&scope, f.department);
  hd_page_scope_str(&scope, f.customer);
  hd_page_scope_str(&scope, q->newest_first ? "desc" : "asc");
  if (f.owner_match == TICKET_OWNER_NONE || f.followed || f.since) {
    hd_page_scope_int(&scope, f.owner_match == TICKET_OWNER_NONE);
    hd_page_scope_int(&scope, f.followed);
    hd_page_scope_str(&scope, f.followed ? viewer : NULL);
    hd_page_scope_int(&scope, f.since);
  }
  hd_page pg;
  if (hd_page_start(q->page_size, q->page_token, &scope, &pg, err) != 0) goto done;
  f.continued = pg.continued;
  f.after = pg.after;
  f.fetch = hd_page_fetch(&pg);

  /* Oldest first by creation; by update with updated_since; the followed tickets by the copy
   * of their creation time their follows row keeps (the same order, from the follows index). */
  const bool by_update = f.since > 0;
  query__order o = {.key = "t.created_at_us", .id = "t.id", .desc = q->newest_first};
  if (by_update) {
    o.key = "t.updated_at_us";
  } else if (f.followed) {
    o.key = "f.ticket_created_at_us";
    o.id = "f.ticket_id";
  }
  query__stmt st = {.sql = hd_arena_alloc(arena, QUERY_SQL_MAX),
                    .p = HD_ARENA_ARRAY(arena, hd_db_param, QUERY_PARAMS_MAX),
                    .ok = true};
  if (!st.sql || !st.p) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory listing tickets");
    goto done;
  }
  st.sql[0] = '\0';
  /* First the page's ids and sort keys, from an index alone (query__keys). Several statuses in
   * creation order: one ordered range per status, at most a page from each, merged by the
   * union's ORDER BY (at most 8 × 501 ids, never the table). Otherwise one range (the followed
   * tickets come from the viewer's follows, so IN is a filter on few rows; the update order has
   * one index for every status). */
  if (query__count(set) > 1 && !by_update && !f.followed) {
    bool first = true;
    for (int s = 1; s < TICKET_STATUS_COUNT; s++) {
      if (!(set & QUERY_BIT(s))) continue;
      query__sql(&st, first ? "(" : ") UNION ALL (");
      query__keys(&st, &f, QUERY_BIT(s), &o);
      first = false;
    }
    query__sql(&st, q->newest_first ? ") ORDER BY k DESC, id DESC LIMIT ?"
                                    : ") ORDER BY k ASC, id ASC LIMIT ?");
    query__param(&st, hd_db_int(f.fetch));
  } else {
    query__keys(&st, &f, set, &o);
  }
  if (!st.ok) {
    hd_err_set(err, HD_INTERNAL, "ticket list query does not fit its buffer");
    goto done;
  }
  if (hd_db_query(db, st.sql, st.p, st.n, (size_t)f.fetch, &keys, err) != 0) goto done;
  const size_t count = hd_db_rows_count(keys);
  const size_t shown = hd_page_shown(&pg, count);
  out->tickets = HD_ARENA_ARRAY(arena, Helpdesk__V1__Ticket *, shown ? shown : 1);
  if (!out->tickets) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory listing tickets");
    goto done;
  }
  if (shown == 0) {
    rc = 0;
    goto done;
  }

  /* Then those tickets by primary key, put in the order of the ids. A ticket changed between
   * the two reads shows as it now is, at the place the first read gave it; the next page
   * starts after the first read's last key either way. */
  hd_db_param *p = HD_ARENA_ARRAY(arena, hd_db_param, shown + 2);
  int64_t *ids = HD_ARENA_ARRAY(arena, int64_t, shown);
  st.len = 0;
  st.sql[0] = '\0';
  if (!p || !ids) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory listing tickets");
    goto done;
  }
  p[0] = viewer ? hd_db_text(viewer) : hd_db_null();
  p[1] = hd_db_text(tenant);
  query__sql(&st, ticket_store_sql_list_head);
  query__sql(&st, " AND t.id IN (");
  for (size_t i = 0; i < shown; i++) {
    query__sql(&st, i ? ", ?" : "?");
    ids[i] = hd_db_i64(keys, i, 0);
    p[i + 2] = hd_db_int(ids[i]);
  }
  query__sql(&st, ")");
  if (!st.ok) {
    hd_err_set(err, HD_INTERNAL, "ticket list query does not fit its buffer");
    goto done;
  }
  if (hd_db_query(db, st.sql, p, shown + 2, shown, &rows, err) != 0) goto done;
  const size_t got = hd_db_rows_count(rows);
  for (size_t r = 0; r < got; r++) {
    Helpdesk__V1__Ticket *t = NULL;
    if (ticket_store_row_proto(db, rows, r, arena, &t, err) != 0) goto done;
    for (size_t i = 0; i < shown; i++)
      if (ids[i] == t->id) out->tickets[i] = t;
  }
  /* Tickets are never deleted, so every id is found; a gap would only close up. */
  for (size_t i = 0; i < shown; i++)
    if (out->tickets[i]) out->tickets[out->n++] = out->tickets[i];
  if (count > shown) {
    const hd_page_pos pos = {.key = hd_db_i64(keys, shown - 1, 1),
                             .id = hd_db_i64(keys, shown - 1, 0)};
    if (hd_page_next(&pg, &pos, arena, &out->next_page_token, err) != 0) goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(keys);
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
