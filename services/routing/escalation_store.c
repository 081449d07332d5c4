/* Escalation rows and their events (escalation_store.h). */
#include "escalation_store.h"

#include <inttypes.h>
#include <string.h>

#include "departments.h"
#include "log/log.h"
#include "routing_call.h"
#include "svc/outbox.h"

static const char *const KIND_NAMES[] = {"", "DEPARTMENT", "LEVEL2"};
static const char *const MODE_NAMES[] = {"", "ASSIGN", "CONSULT"};
static const char *const STATUS_NAMES[] = {"", "OPEN", "ACKNOWLEDGED", "RESOLVED", "BOUNCED"};

#define NAMES_N(a) (sizeof(a) / sizeof((a)[0]))

static int escal__parse(const char *const *names, size_t n, const char *s) {
  for (size_t i = 1; i < n; i++)
    if (strcmp(names[i], s) == 0) return (int)i;
  return 0;
}

const char *escal_kind_name(Helpdesk__V1__EscalationKind k) {
  return (size_t)k < NAMES_N(KIND_NAMES) ? KIND_NAMES[k] : "";
}
const char *escal_mode_name(Helpdesk__V1__EscalationMode m) {
  return (size_t)m < NAMES_N(MODE_NAMES) ? MODE_NAMES[m] : "";
}
const char *escal_status_name(Helpdesk__V1__EscalationStatus s) {
  return (size_t)s < NAMES_N(STATUS_NAMES) ? STATUS_NAMES[s] : "";
}

static char *escal__str(const hd_db_rows *rows, size_t r, size_t col, hd_arena *a, bool *oom) {
  char *s = hd_arena_strdup(a, hd_db_str(rows, r, col, NULL));
  if (!s) *oom = true;
  return s;
}

Helpdesk__V1__Escalation *escal_from_row(const hd_db_rows *rows, size_t r, hd_arena *arena) {
  Helpdesk__V1__Escalation *e = hd_arena_alloc(arena, sizeof *e);
  if (!e) return NULL;
  *e = (Helpdesk__V1__Escalation)HELPDESK__V1__ESCALATION__INIT;
  bool oom = false;
  e->id = hd_db_i64(rows, r, 0);
  e->ticket_id = hd_db_i64(rows, r, 1);
  e->kind = escal__parse(KIND_NAMES, NAMES_N(KIND_NAMES), hd_db_str(rows, r, 2, NULL));
  e->mode = escal__parse(MODE_NAMES, NAMES_N(MODE_NAMES), hd_db_str(rows, r, 3, NULL));
  e->from_department = escal__str(rows, r, 4, arena, &oom);
  e->to_department = escal__str(rows, r, 5, arena, &oom);
  e->status = escal__parse(STATUS_NAMES, NAMES_N(STATUS_NAMES), hd_db_str(rows, r, 6, NULL));
  e->product = escal__str(rows, r, 7, arena, &oom);
  e->brand = escal__str(rows, r, 8, arena, &oom);
  e->context = escal__str(rows, r, 9, arena, &oom);
  e->thread_link = escal__str(rows, r, 10, arena, &oom);
  e->created_by = escal__str(rows, r, 11, arena, &oom);
  e->created_by_role = escal__str(rows, r, 12, arena, &oom);
  e->response_window_seconds = hd_db_i64(rows, r, 13);
  const bool live = e->status == HELPDESK__V1__ESCALATION_STATUS__ESCALATION_STATUS_OPEN ||
                    e->status == HELPDESK__V1__ESCALATION_STATUS__ESCALATION_STATUS_ACKNOWLEDGED;
  /* The timer's column goes NULL once it fired; the due time itself is the last update + the
   * window while the escalation is live. */
  e->due_time_us = live ? hd_db_i64(rows, r, 16) + e->response_window_seconds * HD_US_PER_S : 0;
  e->overdue = hd_db_i64(rows, r, 15) != 0;
  e->acknowledged_by = escal__str(rows, r, 17, arena, &oom);
  e->acknowledge_time_us = hd_db_i64(rows, r, 18);
  e->resolved_by = escal__str(rows, r, 19, arena, &oom);
  e->resolution = escal__str(rows, r, 20, arena, &oom);
  e->resolve_time_us = hd_db_i64(rows, r, 21);
  e->assign_comment_id = hd_db_i64(rows, r, 22);
  e->resolve_comment_id = hd_db_i64(rows, r, 23);
  e->internal_record_id = hd_db_i64(rows, r, 24);
  e->version = hd_db_i64(rows, r, 25);
  e->create_time_us = hd_db_i64(rows, r, 26);
  e->update_time_us = hd_db_i64(rows, r, 27);
  return oom ? NULL : e;
}

int escal_get(hd_db *db, const char *tenant, int64_t id, bool for_update, hd_arena *arena,
              Helpdesk__V1__Escalation **out, hd_err *err) {
  const char *sql = for_update ? "SELECT " ESCAL_COLUMNS
                                 " FROM escalations e WHERE e.tenant = ? AND e.id = ? FOR UPDATE"
                               : "SELECT " ESCAL_COLUMNS
                                 " FROM escalations e WHERE e.tenant = ? AND e.id = ?";
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  if (hd_db_query(db, sql, p, 2, 1, &rows, err)) goto done;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND, "escalation %" PRId64 " does not exist", id);
    goto done;
  }
  *out = escal_from_row(rows, 0, arena);
  if (!*out) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading escalation %" PRId64, id);
    goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

static const char SQL_INSERT[] =
    "INSERT INTO escalations (tenant, ticket_id, kind, mode, from_department, to_department, "
    "status, product, brand, context, thread_link, created_by, created_by_role, "
    "response_window_s, due_at_us, overdue, last_update_at_us, created_at_us, updated_at_us) "
    "VALUES (?, ?, ?, ?, ?, ?, 'OPEN', ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)";

int escal_insert(hd_db *db, const char *tenant, const escal_new *e, int64_t now_us, int64_t *id,
                 hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_int(e->ticket_id),
                           hd_db_text(escal_kind_name(e->kind)),
                           hd_db_text(escal_mode_name(e->mode)),
                           hd_db_text(e->from_department ? e->from_department : ""),
                           hd_db_text(e->to_department),
                           hd_db_text(e->product ? e->product : ""),
                           hd_db_text(e->brand ? e->brand : ""),
                           hd_db_text(e->context ? e->context : ""),
                           hd_db_text(e->thread_link ? e->thread_link : ""),
                           hd_db_text(e->created_by),
                           hd_db_text(e->created_by_role),
                           hd_db_int(e->response_window_s),
                           hd_db_int(now_us + e->response_window_s * HD_US_PER_S),
                           hd_db_int(now_us),
                           hd_db_int(now_us),
                           hd_db_int(now_us)};
  uint64_t new_id = 0;
  if (hd_db_exec(db, SQL_INSERT, p, sizeof p / sizeof p[0], NULL, &new_id, err)) return -1;
  *id = (int64_t)new_id;
  return 0;
}

int escal_event(hd_db *db, const char *tenant, const char *actor_id, const char *actor_role,
                const char *type, const Helpdesk__V1__Escalation *e, int64_t now_us, hd_err *err) {
  /* Who escalated and when each step happened, as the record has them (0: not yet), so that a
   * consumer's facts equal what ListEscalations gives: the creation's event is written after the
   * ticket-side work, later than the record's create time. */
  json_t *body = json_pack(
      "{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:s, s:I, s:I, s:I}", "ticket_id",
      (json_int_t)e->ticket_id, "kind", escal_kind_name(e->kind), "mode", escal_mode_name(e->mode),
      "from_department", e->from_department, "to_department", e->to_department, "status",
      escal_status_name(e->status), "due_time_us", (json_int_t)e->due_time_us, "overdue",
      (int)e->overdue, "created_by", e->created_by, "create_time_us", (json_int_t)e->create_time_us,
      "acknowledge_time_us", (json_int_t)e->acknowledge_time_us, "resolve_time_us",
      (json_int_t)e->resolve_time_us);
  if (!body) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory writing an event");
  const hd_outbox_event ev = {.type = type,
                              .tenant = tenant,
                              .aggregate_key = "escalation_id",
                              .aggregate_id = e->id,
                              .actor_id = actor_id,
                              .actor_role = actor_role,
                              .time_us = now_us};
  const int rc = hd_outbox_append(db, &ev, body, err);
  json_decref(body);
  return rc;
}

int escal_call_event(hd_db *db, const hd_call *c, const char *type,
                     const Helpdesk__V1__Escalation *e, int64_t now_us, hd_err *err) {
  return escal_event(db, rt_tenant(c), c->principal->user_id, hd_principal_role(c->principal), type,
                     e, now_us, err);
}

int escal_created(hd_db *db, const hd_call *c, int64_t id, int64_t assign_comment_id,
                  int64_t internal_record_id, int64_t now_us, hd_err *err) {
  const hd_db_param p[] = {hd_db_int(assign_comment_id), hd_db_int(internal_record_id),
                           hd_db_text(rt_tenant(c)), hd_db_int(id)};
  /* FORCE INDEX: otherwise MariaDB estimates a range in each index starting with the tenant at
   * every execution (an UPDATE by primary key is not a const read). */
  if (hd_db_exec(db,
                 "UPDATE escalations FORCE INDEX (PRIMARY) SET assign_comment_id = ?, "
                 "internal_record_id = ? WHERE tenant = ? AND id = ?",
                 p, 4, NULL, NULL, err))
    return -1;
  Helpdesk__V1__Escalation *e = NULL;
  if (escal_get(db, rt_tenant(c), id, false, c->arena, &e, err)) return -1;
  return escal_call_event(db, c, ESCAL_EVENT_CREATED, e, now_us, err);
}

typedef struct forget_ctx {
  const hd_call *c;
  int64_t id;
  const char *key;
} forget_ctx;

static int escal__forget_tx(hd_db *db, void *arg, hd_err *err) {
  const forget_ctx *x = arg;
  const hd_db_param p[] = {hd_db_text(rt_tenant(x->c)), hd_db_int(x->id)};
  if (hd_db_exec(db, "DELETE FROM escalations WHERE tenant = ? AND id = ?", p, 2, NULL, NULL, err))
    return -1;
  if (!x->key || !x->key[0]) return 0;
  const hd_db_param k[] = {hd_db_text(rt_tenant(x->c)), hd_db_text(x->c->principal->user_id),
                           hd_db_text(x->key)};
  return hd_db_exec(db,
                    "DELETE FROM idempotency_keys WHERE tenant = ? AND caller_id = ? AND "
                    "idem_key = ?",
                    k, 3, NULL, NULL, err);
}

void escal_forget(hd_call *c, int64_t id, const char *key) {
  forget_ctx x = {.c = c, .id = id, .key = key};
  hd_err err = {0};
  if (hd_db_tx(hd_call_worker(c)->db, escal__forget_tx, &x, 0, &err) != 0) {
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    hd_log_error("routing.escalation_forget_failed", "escalation_id", idbuf, "reason", err.msg);
  }
}

int escal_department_window(hd_db *db, const char *tenant, const char *field, const char *name,
                            int64_t *window_s, hd_err *err) {
  hd_arena *arena = hd_arena_new(16 * 1024);
  if (!arena) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  Helpdesk__V1__Department *d = NULL;
  int rc = routing_department_get(db, tenant, name, arena, &d, err);
  if (rc == 0 && d) *window_s = d->response_window_seconds;
  if (rc == 0 && !d)
    rc = hd_err_set(err, HD_NOT_FOUND,
                    "%s %s does not exist in this tenant; ListDepartments shows the departments",
                    field, name);
  hd_arena_free(arena);
  return rc;
}
