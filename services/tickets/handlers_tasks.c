/* Case tasks: work another department does for a ticket (CreateTask, UpdateTask, ListTasks).
 * Staff only. Each task has its own version; adding or changing one is also a change of the
 * ticket (version + 1, a history row "task", a ticket.task_changed event). MergeTickets, listed
 * with this group in ticket_handlers.h, lives in handlers_merge.c. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rpc/page.h"
#include "rpc/pb_enum.h"
#include "ticket_call.h"
#include "ticket_handlers.h"

#define TASK_COLS                                                                                \
  "id, ticket_id, title, department, assignee_id, status, due_time_us, version, created_at_us, " \
  "updated_at_us"
enum {
  T_ID,
  T_TICKET,
  T_TITLE,
  T_DEPARTMENT,
  T_ASSIGNEE,
  T_STATUS,
  T_DUE,
  T_VERSION,
  T_CREATED,
  T_UPDATED
};

static const char SQL_TASK_INSERT[] =
    "INSERT INTO tasks (tenant, ticket_id, title, department, assignee_id, status, due_time_us, "
    "version, created_by, created_at_us, updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)";
static const char SQL_TASK_GET_FOR_UPDATE[] =
    "SELECT " TASK_COLS " FROM tasks WHERE tenant = ? AND ticket_id = ? AND id = ? FOR UPDATE";
static const char SQL_TASK_UPDATE[] =
    "UPDATE tasks SET title = ?, department = ?, assignee_id = ?, status = ?, due_time_us = ?, "
    "version = version + 1, updated_at_us = ? "
    "WHERE tenant = ? AND ticket_id = ? AND id = ? AND version = ?";
static const char SQL_TASK_LIST[] = "SELECT " TASK_COLS
                                    " FROM tasks WHERE tenant = ? AND ticket_id = ? AND id > ? "
                                    "ORDER BY id LIMIT ?";

static int tasks__check_due(hd_call *c, int64_t due_us) {
  if (due_us >= 0) return 0;
  return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                    "due_time_us must be 0 (none) or microseconds since the epoch, got %" PRId64,
                    due_us);
}

static hd_db_param tasks__opt_text(const char *s) { return s && *s ? hd_db_text(s) : hd_db_null(); }
static hd_db_param tasks__opt_int(int64_t v) { return v ? hd_db_int(v) : hd_db_null(); }

/* Row r of a TASK_COLS query → a Task in arena. */
static int tasks__to_proto(const hd_db_rows *rows, size_t r, hd_arena *a, Helpdesk__V1__Task **out,
                           hd_err *err) {
  Helpdesk__V1__Task *t = hd_arena_new_message(a, &helpdesk__v1__task__descriptor);
  if (!t) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading a task");
  size_t len = 0;
  t->id = hd_db_i64(rows, r, T_ID);
  t->ticket_id = hd_db_i64(rows, r, T_TICKET);
  const char *s = hd_db_str(rows, r, T_TITLE, &len);
  t->title = hd_arena_strndup(a, s, len);
  s = hd_db_str(rows, r, T_DEPARTMENT, &len);
  t->department = hd_arena_strndup(a, s, len);
  s = hd_db_str(rows, r, T_ASSIGNEE, &len);
  t->assignee_id = hd_arena_strndup(a, s, len);
  if (!t->title || !t->department || !t->assignee_id)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading task %" PRId64, t->id);
  s = hd_db_str(rows, r, T_STATUS, &len);
  int status = 0;
  if (hd_pb_enum_parse(&helpdesk__v1__task_status__descriptor, s, len, &status) != 0)
    return hd_err_set(err, HD_INTERNAL, "task %" PRId64 " has an unknown status", t->id);
  t->status = (Helpdesk__V1__TaskStatus)status;
  t->due_time_us = hd_db_i64(rows, r, T_DUE);
  t->version = hd_db_i64(rows, r, T_VERSION);
  t->create_time_us = hd_db_i64(rows, r, T_CREATED);
  t->update_time_us = hd_db_i64(rows, r, T_UPDATED);
  *out = t;
  return 0;
}

static const char *tasks__status_name(Helpdesk__V1__TaskStatus s) {
  return hd_pb_enum_name(&helpdesk__v1__task_status__descriptor, (int)s);
}

/* The ticket side of a task change: version + 1 and the event (in ticket_store_update), and a
 * history row "task" whose to_value is the task's id. */
static int tasks__touch_ticket(hd_call *c, hd_db *db, const ticket_locked *row,
                               int64_t expected_version, const char *action,
                               const Helpdesk__V1__Task *task, hd_err *err) {
  const ticket_actor actor = tk_actor(c);
  const int64_t now = tk_now(c);
  const ticket_event_field ev[] = {
      TICKET_EV_INT("task_id", task->id),
      TICKET_EV_INT("task_version", task->version),
      TICKET_EV_STR("task_status", tasks__status_name(task->status)),
      TICKET_EV_STR("task_department", task->department),
      TICKET_EV_STR("task_assignee_id", task->assignee_id[0] ? task->assignee_id : NULL),
  };
  const ticket_change ch = {.action = action,
                            .event_type = TICKET_EVENT_TASK_CHANGED,
                            .event_fields = ev,
                            .n_event_fields = sizeof ev / sizeof ev[0]};
  if (ticket_store_update_locked(db, tk_tenant(c), row, expected_version, &ch, now, &actor, NULL,
                                 NULL, err))
    return -1;
  char id[24];
  snprintf(id, sizeof id, "%" PRId64, task->id);
  return ticket_store_history_append(db, tk_tenant(c), row->ticket->id, &actor, action, "task",
                                     NULL, id, now, err);
}

/* ---- CreateTask ---- */

typedef struct create_ctx {
  hd_call *call;
  const Helpdesk__V1__CreateTaskRequest *req;
  Helpdesk__V1__Task *out; /* in call->arena */
} create_ctx;

static int create__tx(hd_db *db, void *arg, hd_err *err) {
  create_ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__CreateTaskRequest *rq = x->req;
  const int64_t now = tk_now(c);
  x->out = NULL;
  Helpdesk__V1__Ticket *t;
  ticket_meta meta;
  if (tk_ticket_load(c, db, rq->ticket_id, true, &t, &meta, err)) return -1;
  const ticket_status st = ticket_status_from_pb(t->status);
  if (!ticket_status_is_open(st))
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "cannot add a task to a ticket in status %s; tasks are for open tickets",
                      ticket_status_name(st));
  const Helpdesk__V1__TaskStatus status = HELPDESK__V1__TASK_STATUS__TASK_STATUS_OPEN;
  const hd_db_param p[] = {hd_db_text(tk_tenant(c)),
                           hd_db_int(t->id),
                           hd_db_text(rq->title),
                           hd_db_text(rq->department),
                           tasks__opt_text(rq->assignee_id),
                           hd_db_text(tasks__status_name(status)),
                           tasks__opt_int(rq->due_time_us),
                           hd_db_text(c->principal->user_id),
                           hd_db_int(now),
                           hd_db_int(now)};
  uint64_t id = 0;
  if (hd_db_exec(db, SQL_TASK_INSERT, p, sizeof p / sizeof p[0], NULL, &id, err)) return -1;
  Helpdesk__V1__Task *task = hd_arena_new_message(c->arena, &helpdesk__v1__task__descriptor);
  if (!task) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating a task");
  task->id = (int64_t)id;
  task->ticket_id = t->id;
  task->title = hd_arena_strdup(c->arena, rq->title);
  task->department = hd_arena_strdup(c->arena, rq->department);
  task->assignee_id = hd_arena_strdup(c->arena, rq->assignee_id ? rq->assignee_id : "");
  task->status = status;
  task->due_time_us = rq->due_time_us;
  task->version = 1;
  task->create_time_us = now;
  task->update_time_us = now;
  if (!task->title || !task->department || !task->assignee_id)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating a task");
  if (tasks__touch_ticket(c, db, &(const ticket_locked){.ticket = t, .meta = meta},
                          rq->expected_version, "TASK_CREATED", task, err))
    return -1;
  x->out = task;
  return 0;
}

/* Adds an OPEN task to an open ticket (staff). Replies with the task (version 1). */
int tickets_create_task(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__CreateTaskRequest *rq = (const Helpdesk__V1__CreateTaskRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_text(call, "title", rq->title, 1, TICKET_TASK_TITLE_MAX) ||
      hd_call_check_ident(call, "department", rq->department, 1, TICKET_DEPARTMENT_MAX) ||
      hd_call_check_ident(call, "assignee_id", rq->assignee_id, 0, TICKET_USER_ID_MAX) ||
      tasks__check_due(call, rq->due_time_us))
    return -1;
  create_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, create__tx, &x)) return -1;
  *(Helpdesk__V1__Task *)resp = *x.out;
  return 0;
}

/* ---- UpdateTask ---- */

typedef struct update_ctx {
  hd_call *call;
  const Helpdesk__V1__UpdateTaskRequest *req;
  Helpdesk__V1__Task *out;
} update_ctx;

static int update__tx(hd_db *db, void *arg, hd_err *err) {
  update_ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__UpdateTaskRequest *rq = x->req;
  const char *tenant = tk_tenant(c);
  const int64_t now = tk_now(c);
  hd_db_rows *rows = NULL;
  int rc = -1;
  x->out = NULL;
  /* The ticket first (tenant and visibility, and the lock order every ticket change uses). */
  Helpdesk__V1__Ticket *t;
  ticket_meta meta;
  if (tk_ticket_load(c, db, rq->ticket_id, true, &t, &meta, err)) goto done;
  const hd_db_param key[] = {hd_db_text(tenant), hd_db_int(t->id), hd_db_int(rq->task_id)};
  if (hd_db_query(db, SQL_TASK_GET_FOR_UPDATE, key, 3, 1, &rows, err)) goto done;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND, "task %" PRId64 " not found on ticket %" PRId64, rq->task_id,
               t->id);
    goto done;
  }
  Helpdesk__V1__Task *task;
  if (tasks__to_proto(rows, 0, c->arena, &task, err)) goto done;
  if (hd_call_check_current("task", task->id, task->version, rq->expected_version, err)) goto done;
  if (rq->title && rq->title[0]) task->title = rq->title;
  if (rq->department && rq->department[0]) task->department = rq->department;
  if (rq->assignee_id && rq->assignee_id[0]) task->assignee_id = rq->assignee_id;
  if (rq->clear_assignee) task->assignee_id = "";
  if (rq->status) task->status = rq->status;
  if (rq->due_time_us) task->due_time_us = rq->due_time_us;
  if (rq->clear_due_time) task->due_time_us = 0;
  const hd_db_param p[] = {hd_db_text(task->title),
                           hd_db_text(task->department),
                           tasks__opt_text(task->assignee_id),
                           hd_db_text(tasks__status_name(task->status)),
                           tasks__opt_int(task->due_time_us),
                           hd_db_int(now),
                           hd_db_text(tenant),
                           hd_db_int(t->id),
                           hd_db_int(task->id),
                           hd_db_int(task->version)};
  uint64_t affected = 0;
  if (hd_db_exec(db, SQL_TASK_UPDATE, p, sizeof p / sizeof p[0], &affected, NULL, err)) goto done;
  if (affected != 1) {
    hd_err_set(err, HD_ABORTED, "task %" PRId64 " was changed by someone else: retry", task->id);
    goto done;
  }
  task->version += 1;
  task->update_time_us = now;
  /* Strings borrowed from the request must outlive the call's reply: copy into the arena. */
  task->title = hd_arena_strdup(c->arena, task->title);
  task->department = hd_arena_strdup(c->arena, task->department);
  task->assignee_id = hd_arena_strdup(c->arena, task->assignee_id);
  if (!task->title || !task->department || !task->assignee_id) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory updating a task");
    goto done;
  }
  if (tasks__touch_ticket(c, db, &(const ticket_locked){.ticket = t, .meta = meta}, 0,
                          "TASK_UPDATED", task, err))
    goto done;
  x->out = task;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* Changes the given fields of a task (staff); expected_version guards the task. Works on a ticket
 * in any status, so a task can still be finished after its ticket closed. */
int tickets_update_task(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__UpdateTaskRequest *rq = (const Helpdesk__V1__UpdateTaskRequest *)req;
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_call_check_id(call, "task_id", rq->task_id) ||
      hd_call_check_version(call, "expected_version", rq->expected_version) ||
      hd_call_check_text(call, "title", rq->title, 0, TICKET_TASK_TITLE_MAX) ||
      hd_call_check_ident(call, "department", rq->department, 0, TICKET_DEPARTMENT_MAX) ||
      hd_call_check_ident(call, "assignee_id", rq->assignee_id, 0, TICKET_USER_ID_MAX) ||
      hd_call_check_enum(call, "status", &helpdesk__v1__task_status__descriptor, (int)rq->status,
                         true) ||
      tasks__check_due(call, rq->due_time_us))
    return -1;
  const bool has_assignee = rq->assignee_id && rq->assignee_id[0];
  if (rq->clear_assignee && has_assignee)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "clear_assignee removes the assignee: leave assignee_id empty with it");
  if (rq->clear_due_time && rq->due_time_us != 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "clear_due_time removes the due time: leave due_time_us 0 with it");
  const bool changes = (rq->title && rq->title[0]) || (rq->department && rq->department[0]) ||
                       has_assignee || rq->clear_assignee || rq->status || rq->due_time_us ||
                       rq->clear_due_time;
  if (!changes)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "nothing to change: set title, department, assignee_id, status, due_time_us, "
                      "clear_assignee or clear_due_time");
  update_ctx x = {.call = call, .req = rq};
  if (hd_call_tx(call, update__tx, &x)) return -1;
  *(Helpdesk__V1__Task *)resp = *x.out;
  return 0;
}

/* ---- ListTasks ---- */

/* The ticket's tasks, oldest first, one page (staff). */
int tickets_list_tasks(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ListTasksRequest *rq = (const Helpdesk__V1__ListTasksRequest *)req;
  Helpdesk__V1__ListTasksResponse *out = (Helpdesk__V1__ListTasksResponse *)resp;
  hd_db *db = tk_db(call);
  const char *tenant = tk_tenant(call);
  hd_db_rows *rows = NULL;
  int rc = -1;
  hd_page pg;
  hd_page_scope scope;
  hd_page_scope_init(&scope, "tasks", tenant);
  hd_page_scope_int(&scope, rq->ticket_id);
  if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
      hd_page_start_pb(rq->page, &scope, &pg, &call->err))
    goto done;
  Helpdesk__V1__Ticket *t;
  if (tk_ticket_load(call, db, rq->ticket_id, false, &t, NULL, &call->err)) goto done;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(t->id), hd_db_int(pg.after.id),
                           hd_db_int(hd_page_fetch(&pg))};
  if (hd_db_query(db, SQL_TASK_LIST, p, 4, (size_t)hd_page_fetch(&pg), &rows, &call->err))
    goto done;
  const size_t count = hd_db_rows_count(rows);
  const size_t shown = hd_page_shown(&pg, count);
  Helpdesk__V1__Task **tasks = HD_ARENA_ARRAY(call->arena, Helpdesk__V1__Task *, shown ? shown : 1);
  if (!tasks) {
    hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory listing tasks");
    goto done;
  }
  for (size_t i = 0; i < shown; i++)
    if (tasks__to_proto(rows, i, call->arena, &tasks[i], &call->err)) goto done;
  char *next = "";
  if (hd_page_next(&pg, count > shown ? &(const hd_page_pos){.id = tasks[shown - 1]->id} : NULL,
                   call->arena, &next, &call->err) ||
      hd_page_info(call->arena, next, &out->page, &call->err))
    goto done;
  out->tasks = tasks;
  out->n_tasks = shown;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}
