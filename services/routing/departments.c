/* The department catalog (departments.h) and its RPCs: ListDepartments, UpsertDepartment. */
#include "departments.h"

#include <string.h>

#include "routing_call.h"
#include "routing_handlers.h"

#define DEPT_COLS                                                                       \
  "d.tenant, d.name, d.level, d.response_window_s, d.default_capacity, d.description, " \
  "d.version, d.updated_by, d.updated_at_us"

/* The row a tenant sees: its own first, else the built-in one (tenant ''). */
static const char SQL_GET[] = "SELECT " DEPT_COLS
                              " FROM departments d WHERE d.tenant IN (?, '') "
                              "AND d.name = ? ORDER BY d.tenant = '' LIMIT 1";
static const char SQL_LIST[] =
    "SELECT " DEPT_COLS
    " FROM departments d WHERE d.tenant = ? OR (d.tenant = '' AND NOT EXISTS "
    "(SELECT 1 FROM departments o WHERE o.tenant = ? AND o.name = d.name)) ORDER BY d.name";
static const char SQL_LOCK_OWN[] =
    "SELECT version FROM departments WHERE tenant = ? AND name = ? FOR UPDATE";
static const char SQL_COUNT[] =
    "SELECT COUNT(*) FROM departments d WHERE d.tenant = ? OR (d.tenant = '' AND NOT EXISTS "
    "(SELECT 1 FROM departments o WHERE o.tenant = ? AND o.name = d.name))";
static const char SQL_INSERT[] =
    "INSERT INTO departments (tenant, name, level, response_window_s, default_capacity, "
    "description, version, updated_by, created_at_us, updated_at_us) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_UPDATE[] =
    "UPDATE departments SET level = ?, response_window_s = ?, default_capacity = ?, "
    "description = ?, version = version + 1, updated_by = ?, updated_at_us = ? "
    "WHERE tenant = ? AND name = ?";

/* One row of a DEPT_COLS query as a message in arena. NULL when out of memory. */
static Helpdesk__V1__Department *dept__from_row(const hd_db_rows *r, size_t i, hd_arena *arena) {
  Helpdesk__V1__Department *d = hd_arena_new_message(arena, &helpdesk__v1__department__descriptor);
  if (!d) return NULL;
  d->builtin = hd_db_str(r, i, 0, NULL)[0] == '\0';
  d->name = hd_arena_strdup(arena, hd_db_str(r, i, 1, NULL));
  d->level = (int32_t)hd_db_i64(r, i, 2);
  d->response_window_seconds = hd_db_i64(r, i, 3);
  d->default_capacity = (int32_t)hd_db_i64(r, i, 4);
  d->description = hd_arena_strdup(arena, hd_db_str(r, i, 5, NULL));
  d->version = hd_db_i64(r, i, 6);
  d->updated_by = hd_arena_strdup(arena, hd_db_str(r, i, 7, NULL));
  d->update_time_us = hd_db_i64(r, i, 8);
  return d->name && d->description && d->updated_by ? d : NULL;
}

int routing_department_get(hd_db *db, const char *tenant, const char *name, hd_arena *arena,
                           Helpdesk__V1__Department **out, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(name)};
  *out = NULL;
  if (hd_db_query(db, SQL_GET, p, 2, 1, &rows, err)) goto done;
  if (hd_db_rows_count(rows) == 1 && !(*out = dept__from_row(rows, 0, arena))) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

int routing_department_require(hd_db *db, const char *tenant, const char *field, const char *name,
                               hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(name)};
  if (hd_db_query(db, SQL_GET, p, 2, 1, &rows, err)) goto done;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND,
               "%s: department %s does not exist; ListDepartments names the departments, and a "
               "supervisor adds one with UpsertDepartment",
               field, name);
    goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

int routing_departments_list(hd_db *db, const char *tenant, hd_arena *arena,
                             Helpdesk__V1__Department ***out, size_t *n, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(tenant)};
  if (hd_db_query(db, SQL_LIST, p, 2, ROUTING_DEPARTMENTS_MAX + 16, &rows, err)) goto done;
  const size_t count = hd_db_rows_count(rows);
  Helpdesk__V1__Department **list = count ? hd_arena_alloc(arena, count * sizeof *list) : NULL;
  if (count && !list) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  for (size_t i = 0; i < count; i++) {
    if (!(list[i] = dept__from_row(rows, i, arena))) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
      goto done;
    }
  }
  *out = list;
  *n = count;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

int routing_department_put(hd_db *db, const char *tenant, const Helpdesk__V1__Department *d,
                           int64_t expected_version, const char *updated_by, int64_t now_us,
                           hd_arena *arena, Helpdesk__V1__Department **before,
                           Helpdesk__V1__Department **after, hd_err *err) {
  int rc = -1;
  hd_db_rows *own = NULL;
  const hd_db_param key[] = {hd_db_text(tenant), hd_db_text(d->name)};
  if (hd_db_query(db, SQL_LOCK_OWN, key, 2, 1, &own, err) ||
      routing_department_get(db, tenant, d->name, arena, before, err))
    goto done;
  const bool has_own = hd_db_rows_count(own) == 1;
  const int64_t seen = *before ? (*before)->version : 0;
  if (hd_call_check_seen(err, seen, expected_version, "department %s was changed by someone else",
                         d->name))
    goto done;
  const char *desc = d->description ? d->description : "";
  if (has_own) {
    const hd_db_param p[] = {hd_db_int(d->level),
                             hd_db_int(d->response_window_seconds),
                             hd_db_int(d->default_capacity),
                             hd_db_text(desc),
                             hd_db_text(updated_by),
                             hd_db_int(now_us),
                             hd_db_text(tenant),
                             hd_db_text(d->name)};
    if (hd_db_exec(db, SQL_UPDATE, p, 8, NULL, NULL, err)) goto done;
  } else {
    if (!*before) {
      hd_db_rows *count = NULL;
      const hd_db_param cp[] = {hd_db_text(tenant), hd_db_text(tenant)};
      if (hd_db_query(db, SQL_COUNT, cp, 2, 1, &count, err)) goto done;
      const int64_t have = hd_db_i64(count, 0, 0);
      hd_db_rows_free(count);
      if (have >= ROUTING_DEPARTMENTS_MAX) {
        hd_err_set(err, HD_FAILED_PRECONDITION,
                   "the tenant already has %lld departments, the most it may have (%d)",
                   (long long)have, ROUTING_DEPARTMENTS_MAX);
        goto done;
      }
    }
    const hd_db_param p[] = {hd_db_text(tenant),
                             hd_db_text(d->name),
                             hd_db_int(d->level),
                             hd_db_int(d->response_window_seconds),
                             hd_db_int(d->default_capacity),
                             hd_db_text(desc),
                             hd_db_int(seen + 1),
                             hd_db_text(updated_by),
                             hd_db_int(now_us),
                             hd_db_int(now_us)};
    hd_err ierr = {0};
    if (hd_db_exec(db, SQL_INSERT, p, 10, NULL, NULL, &ierr)) {
      if (ierr.code == HD_ALREADY_EXISTS)
        hd_err_set(err, HD_ABORTED,
                   "department %s was changed by someone else at the same time; read it again",
                   d->name);
      else
        *err = ierr;
      goto done;
    }
  }
  if (routing_department_get(db, tenant, d->name, arena, after, err)) goto done;
  if (!*after) {
    hd_err_set(err, HD_INTERNAL, "department %s vanished while being written", d->name);
    goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(own);
  return rc;
}

json_t *routing_department_json(const Helpdesk__V1__Department *d) {
  return json_pack("{s:s, s:i, s:I, s:i, s:s, s:I}", "name", d->name, "level", (int)d->level,
                   "response_window_seconds", (json_int_t)d->response_window_seconds,
                   "default_capacity", (int)d->default_capacity, "description",
                   d->description ? d->description : "", "version", (json_int_t)d->version);
}

/* ---- RPCs ---- */

int routing_list_departments(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs) {
  (void)rq;
  Helpdesk__V1__ListDepartmentsResponse *out = (Helpdesk__V1__ListDepartmentsResponse *)rs;
  size_t n = 0;
  if (routing_departments_list(hd_call_worker(call)->db, rt_tenant(call), call->arena,
                               &out->departments, &n, &call->err))
    return -1;
  out->n_departments = n;
  return 0;
}

typedef struct upsert_dept_ctx {
  hd_call *call;
  const Helpdesk__V1__UpsertDepartmentRequest *req;
  Helpdesk__V1__Department *after;
} upsert_dept_ctx;

static int upsert_dept__tx(hd_db *db, void *arg, hd_err *err) {
  upsert_dept_ctx *x = arg;
  hd_call *c = x->call;
  Helpdesk__V1__Department *before = NULL;
  x->after = NULL;
  if (routing_department_put(db, rt_tenant(c), x->req->department, x->req->expected_version,
                             c->principal->user_id, rt_now(c), c->arena, &before, &x->after, err))
    return -1;
  json_t *from = before ? routing_department_json(before) : NULL;
  json_t *to = routing_department_json(x->after);
  int rc = (before && !from) || !to
               ? hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory")
               : rt_audit(db, c, "UPSERT_DEPARTMENT", "department", x->after->name, from, to, err);
  json_decref(from);
  json_decref(to);
  return rc;
}

int routing_upsert_department(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs) {
  const Helpdesk__V1__UpsertDepartmentRequest *req =
      (const Helpdesk__V1__UpsertDepartmentRequest *)rq;
  const Helpdesk__V1__Department *d = req->department;
  if (!d) return hd_err_set(&call->err, HD_INVALID_ARGUMENT, "department is required");
  if (rt_check_department_name(call, "department.name", d->name) ||
      hd_call_check_text(call, "department.description", d->description, 0,
                         ROUTING_DESCRIPTION_MAX) ||
      hd_call_check_version(call, "expected_version", req->expected_version))
    return -1;
  if (d->level < 1 || d->level > 9)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "department.level must be between 1 and 9 (1 first line, 2 Level 2), got %d",
                      (int)d->level);
  if (d->response_window_seconds < 60 || d->response_window_seconds > 2592000)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "department.response_window_seconds must be between 60 and 2592000 (30 "
                      "days), got %lld",
                      (long long)d->response_window_seconds);
  if (d->default_capacity < 1 || d->default_capacity > 1000)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "department.default_capacity must be between 1 and 1000, got %d",
                      (int)d->default_capacity);
  upsert_dept_ctx x = {.call = call, .req = req};
  if (hd_call_tx(call, upsert_dept__tx, &x)) return -1;
  Helpdesk__V1__Department *out = (Helpdesk__V1__Department *)rs;
  *out = *x.after;
  return 0;
}
