/* Agents (agents.h) and their RPCs: UpsertAgent, ListAgents, SetPresence, GetAgentLoad. */
#include "agents.h"

#include <string.h>

#include "departments.h"
#include "routing_call.h"
#include "routing_handlers.h"
#include "rpc/page.h"
#include "rpc/pb_enum.h"

#define AGENT_COLS                                                                             \
  "a.agent_id, a.display_name, a.level, a.capacity, a.presence, a.presence_at_us, a.version, " \
  "a.updated_by, a.created_at_us, a.updated_at_us"

static const char SQL_GET[] =
    "SELECT " AGENT_COLS " FROM agents a WHERE a.tenant = ? AND a.agent_id = ?";
static const char SQL_GET_LOCK[] =
    "SELECT " AGENT_COLS " FROM agents a WHERE a.tenant = ? AND a.agent_id = ? FOR UPDATE";
/* FORCE INDEX, here and below: otherwise MariaDB estimates a range in each index starting with
 * the tenant at every execution, though only the named one serves the statement. */
static const char SQL_DEPTS[] =
    "SELECT department FROM agent_departments FORCE INDEX (uq_agent_departments_position) "
    "WHERE tenant = ? AND agent_id = ? ORDER BY position";
static const char SQL_INSERT[] =
    "INSERT INTO agents (tenant, agent_id, display_name, level, capacity, presence, "
    "presence_at_us, version, updated_by, created_at_us, updated_at_us) "
    "VALUES (?, ?, ?, ?, ?, 'OFF_DUTY', ?, 1, ?, ?, ?)";
static const char SQL_UPDATE[] =
    "UPDATE agents SET display_name = ?, level = ?, capacity = ?, version = version + 1, "
    "updated_by = ?, updated_at_us = ? WHERE tenant = ? AND agent_id = ?";
static const char SQL_DEPTS_CLEAR[] =
    "DELETE FROM agent_departments WHERE tenant = ? AND agent_id = ?";
static const char SQL_DEPTS_ADD[] =
    "INSERT INTO agent_departments (tenant, agent_id, department, "
    "position) VALUES (?, ?, ?, ?)";
static const char SQL_PRESENCE[] =
    "UPDATE agents FORCE INDEX (PRIMARY) SET presence = ?, presence_at_us = ?, "
    "version = version + 1, updated_by = ?, updated_at_us = ? WHERE tenant = ? AND agent_id = ?";
/* Agents by id, filtered (an empty department or presence = any), a page by position. */
static const char SQL_LIST[] =
    "SELECT a.agent_id FROM agents a WHERE a.tenant = ? AND (? = '' OR a.presence = ?) AND "
    "(? = '' OR EXISTS (SELECT 1 FROM agent_departments d WHERE d.tenant = a.tenant AND "
    "d.agent_id = a.agent_id AND d.department = ?)) ORDER BY a.agent_id LIMIT ? OFFSET ?";
/* The tickets that count against an agent: the open ones they own that wait in no queue (a
 * ticket released or whose lease expired waits in its queue again while the ticket service still
 * names its last owner), and those they hold a claim on that AssignTicket has not made theirs
 * yet (in flight). Their ids come from the owner index and the agent's claims, each read by its
 * own index (one UNION, which also counts a ticket both owned and claimed once), then the rows by
 * primary key: the cost is the agent's tickets, not the table's. (Written as one OR across both,
 * MariaDB read every row of routing_tickets, four times per ClaimNext.) Parameters: tenant,
 * agent, tenant, agent, tenant. */
#define LOAD_FROM                                                                               \
  "FROM (SELECT ticket_id FROM routing_tickets FORCE INDEX (ix_routing_tickets_owner) "         \
  "WHERE tenant = ? AND owner_id = ? AND queue = '' AND status NOT IN ('CLOSED', 'CANCELLED') " \
  "UNION SELECT ticket_id FROM claims WHERE tenant = ? AND agent_id = ?) u "                    \
  "JOIN routing_tickets t FORCE INDEX (PRIMARY) ON t.ticket_id = u.ticket_id "                  \
  "WHERE t.tenant = ? AND t.status NOT IN ('CLOSED', 'CANCELLED')"
static const char SQL_LOAD_SUM[] = "SELECT COUNT(*), COALESCE(SUM(t.weight), 0) " LOAD_FROM;
static const char SQL_LOAD_TICKETS[] =
    "SELECT t.ticket_id, t.department, t.status, t.category, t.weight " LOAD_FROM
    " ORDER BY t.created_at_us, t.ticket_id LIMIT ?";

static const char *agent__presence_name(Helpdesk__V1__Presence p) {
  return hd_pb_enum_name(&helpdesk__v1__presence__descriptor, (int)p);
}

/* The agent of the first row of rows, with departments and effective capacity, in arena. */
static int agent__build(hd_db *db, const char *tenant, const hd_db_rows *r, hd_arena *arena,
                        Helpdesk__V1__Agent **out, hd_err *err) {
  int rc = -1;
  hd_db_rows *depts = NULL;
  Helpdesk__V1__Agent *a = hd_arena_new_message(arena, &helpdesk__v1__agent__descriptor);
  if (!a) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  a->agent_id = hd_arena_strdup(arena, hd_db_str(r, 0, 0, NULL));
  a->display_name = hd_arena_strdup(arena, hd_db_str(r, 0, 1, NULL));
  int v = 0;
  size_t len = 0;
  const char *s = hd_db_str(r, 0, 2, &len);
  if (hd_pb_enum_parse(&helpdesk__v1__agent_level__descriptor, s, len, &v) == 0)
    a->level = (Helpdesk__V1__AgentLevel)v;
  a->capacity = (int32_t)hd_db_i64(r, 0, 3);
  s = hd_db_str(r, 0, 4, &len);
  if (hd_pb_enum_parse(&helpdesk__v1__presence__descriptor, s, len, &v) == 0)
    a->presence = (Helpdesk__V1__Presence)v;
  a->presence_time_us = hd_db_i64(r, 0, 5);
  a->version = hd_db_i64(r, 0, 6);
  a->updated_by = hd_arena_strdup(arena, hd_db_str(r, 0, 7, NULL));
  a->create_time_us = hd_db_i64(r, 0, 8);
  a->update_time_us = hd_db_i64(r, 0, 9);
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(a->agent_id)};
  if (!a->agent_id || !a->display_name || !a->updated_by) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  if (hd_db_query(db, SQL_DEPTS, p, 2, ROUTING_AGENT_DEPARTMENTS_MAX, &depts, err)) goto done;
  a->n_departments = hd_db_rows_count(depts);
  a->departments =
      a->n_departments ? hd_arena_alloc(arena, a->n_departments * sizeof(char *)) : NULL;
  if (a->n_departments && !a->departments) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  for (size_t i = 0; i < a->n_departments; i++)
    if (!(a->departments[i] = hd_arena_strdup(arena, hd_db_str(depts, i, 0, NULL)))) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
      goto done;
    }
  a->effective_capacity = a->capacity;
  if (a->capacity == 0 && a->n_departments) {
    Helpdesk__V1__Department *home = NULL;
    if (routing_department_get(db, tenant, a->departments[0], arena, &home, err)) goto done;
    a->effective_capacity = home ? home->default_capacity : 0;
  }
  *out = a;
  rc = 0;
done:
  hd_db_rows_free(depts);
  return rc;
}

int routing_agent_get(hd_db *db, const char *tenant, const char *agent_id, bool for_update,
                      hd_arena *arena, Helpdesk__V1__Agent **out, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(agent_id)};
  *out = NULL;
  if (hd_db_query(db, for_update ? SQL_GET_LOCK : SQL_GET, p, 2, 1, &rows, err)) goto done;
  if (hd_db_rows_count(rows) == 1 && agent__build(db, tenant, rows, arena, out, err)) goto done;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

int routing_agent_require(hd_db *db, const char *tenant, const char *agent_id, bool for_update,
                          hd_arena *arena, Helpdesk__V1__Agent **out, hd_err *err) {
  if (routing_agent_get(db, tenant, agent_id, for_update, arena, out, err)) return -1;
  if (!*out)
    return hd_err_set(err, HD_NOT_FOUND,
                      "agent %s is not registered with routing; a team_lead or supervisor adds "
                      "them with UpsertAgent",
                      agent_id);
  return 0;
}

int routing_agent_set_presence(hd_db *db, const char *tenant, const char *agent_id,
                               Helpdesk__V1__Presence presence, const char *updated_by,
                               int64_t now_us, hd_arena *arena, Helpdesk__V1__Agent **after,
                               hd_err *err) {
  const char *name = agent__presence_name(presence);
  if (!name || presence == HELPDESK__V1__PRESENCE__PRESENCE_UNSPECIFIED)
    return hd_err_set(err, HD_INTERNAL, "presence %d is not one an agent can have", (int)presence);
  const hd_db_param p[] = {hd_db_text(name),  hd_db_int(now_us),  hd_db_text(updated_by),
                           hd_db_int(now_us), hd_db_text(tenant), hd_db_text(agent_id)};
  if (hd_db_exec(db, SQL_PRESENCE, p, 6, NULL, NULL, err)) return -1;
  return routing_agent_require(db, tenant, agent_id, false, arena, after, err);
}

int routing_agent_load(hd_db *db, const char *tenant, const Helpdesk__V1__Agent *agent,
                       bool list_tickets, hd_arena *arena, Helpdesk__V1__AgentLoad **out,
                       hd_err *err) {
  int rc = -1;
  hd_db_rows *sum = NULL, *rows = NULL;
  Helpdesk__V1__AgentLoad *l = hd_arena_new_message(arena, &helpdesk__v1__agent_load__descriptor);
  if (!l) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(agent->agent_id),
                           hd_db_text(tenant), hd_db_text(agent->agent_id),
                           hd_db_text(tenant), hd_db_int(ROUTING_LOAD_TICKETS_MAX)};
  if (hd_db_query(db, SQL_LOAD_SUM, p, 5, 1, &sum, err) ||
      (list_tickets &&
       hd_db_query(db, SQL_LOAD_TICKETS, p, 6, ROUTING_LOAD_TICKETS_MAX, &rows, err)))
    goto done;
  l->agent_id = agent->agent_id;
  l->capacity = agent->effective_capacity;
  l->capacity_source = agent->capacity > 0
                           ? "agent"
                           : hd_arena_printf(arena, "department %s",
                                             agent->n_departments ? agent->departments[0] : "?");
  l->open_tickets = (int32_t)hd_db_i64(sum, 0, 0);
  l->load = (int32_t)hd_db_i64(sum, 0, 1);
  l->remaining = l->capacity > l->load ? l->capacity - l->load : 0;
  l->at_capacity = l->load >= l->capacity;
  l->presence = agent->presence;
  l->n_tickets = rows ? hd_db_rows_count(rows) : 0;
  l->tickets = l->n_tickets ? hd_arena_alloc(arena, l->n_tickets * sizeof *l->tickets) : NULL;
  if (!l->capacity_source || (l->n_tickets && !l->tickets)) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  for (size_t i = 0; i < l->n_tickets; i++) {
    Helpdesk__V1__AgentLoadTicket *t =
        hd_arena_new_message(arena, &helpdesk__v1__agent_load_ticket__descriptor);
    if (!t || !(t->department = hd_arena_strdup(arena, hd_db_str(rows, i, 1, NULL)))) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
      goto done;
    }
    t->ticket_id = hd_db_i64(rows, i, 0);
    int v = 0;
    size_t len = 0;
    const char *s = hd_db_str(rows, i, 2, &len);
    if (hd_pb_enum_parse(&helpdesk__v1__ticket_status__descriptor, s, len, &v) == 0)
      t->status = (Helpdesk__V1__TicketStatus)v;
    s = hd_db_str(rows, i, 3, &len);
    if (len && hd_pb_enum_parse(&helpdesk__v1__category__descriptor, s, len, &v) == 0)
      t->category = (Helpdesk__V1__Category)v;
    t->weight = (int32_t)hd_db_i64(rows, i, 4);
    l->tickets[i] = t;
  }
  *out = l;
  rc = 0;
done:
  hd_db_rows_free(sum);
  hd_db_rows_free(rows);
  return rc;
}

json_t *routing_agent_json(const Helpdesk__V1__Agent *a) {
  json_t *depts = json_array();
  for (size_t i = 0; depts && i < a->n_departments; i++)
    if (json_array_append_new(depts, json_string(a->departments[i]))) {
      json_decref(depts);
      depts = NULL;
    }
  const char *level = hd_pb_enum_name(&helpdesk__v1__agent_level__descriptor, (int)a->level);
  const char *presence = agent__presence_name(a->presence);
  return json_pack("{s:s, s:s, s:o?, s:s, s:i, s:s, s:I}", "agent_id", a->agent_id, "display_name",
                   a->display_name, "departments", depts, "level", level ? level : "?", "capacity",
                   (int)a->capacity, "presence", presence ? presence : "?", "version",
                   (json_int_t)a->version);
}

/* Audits a change of agent from before (NULL: registered now) to after. */
static int agent__audit(hd_db *db, const hd_call *c, const char *action,
                        const Helpdesk__V1__Agent *before, const Helpdesk__V1__Agent *after,
                        hd_err *err) {
  json_t *from = before ? routing_agent_json(before) : NULL;
  json_t *to = routing_agent_json(after);
  const int rc = (before && !from) || !to
                     ? hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory")
                     : rt_audit(db, c, action, "agent", after->agent_id, from, to, err);
  json_decref(from);
  json_decref(to);
  return rc;
}

/* ---- UpsertAgent ---- */

typedef struct upsert_agent_ctx {
  hd_call *call;
  const Helpdesk__V1__UpsertAgentRequest *req;
  Helpdesk__V1__Agent *after;
} upsert_agent_ctx;

static int upsert_agent__tx(hd_db *db, void *arg, hd_err *err) {
  upsert_agent_ctx *x = arg;
  hd_call *c = x->call;
  const Helpdesk__V1__UpsertAgentRequest *rq = x->req;
  const char *tenant = rt_tenant(c);
  const int64_t now = rt_now(c);
  Helpdesk__V1__Agent *before = NULL;
  x->after = NULL;
  if (routing_agent_get(db, tenant, rq->agent_id, true, c->arena, &before, err)) return -1;
  const int64_t seen = before ? before->version : 0;
  if (hd_call_check_seen(err, seen, rq->expected_version, "agent %s was changed by someone else",
                         rq->agent_id))
    return -1;
  for (size_t i = 0; i < rq->n_departments; i++)
    if (routing_department_require(db, tenant, "departments", rq->departments[i], err)) return -1;
  const char *level = hd_pb_enum_name(&helpdesk__v1__agent_level__descriptor, (int)rq->level);
  const char *name = rq->display_name ? rq->display_name : "";
  if (before) {
    const hd_db_param p[] = {hd_db_text(name),        hd_db_text(level),
                             hd_db_int(rq->capacity), hd_db_text(c->principal->user_id),
                             hd_db_int(now),          hd_db_text(tenant),
                             hd_db_text(rq->agent_id)};
    if (hd_db_exec(db, SQL_UPDATE, p, 7, NULL, NULL, err)) return -1;
  } else {
    const hd_db_param p[] = {hd_db_text(tenant),
                             hd_db_text(rq->agent_id),
                             hd_db_text(name),
                             hd_db_text(level),
                             hd_db_int(rq->capacity),
                             hd_db_int(now),
                             hd_db_text(c->principal->user_id),
                             hd_db_int(now),
                             hd_db_int(now)};
    hd_err ierr = {0};
    if (hd_db_exec(db, SQL_INSERT, p, 9, NULL, NULL, &ierr)) {
      if (ierr.code != HD_ALREADY_EXISTS) {
        *err = ierr;
        return -1;
      }
      return hd_err_set(err, HD_ABORTED,
                        "agent %s was registered by someone else at the same time; read it again",
                        rq->agent_id);
    }
  }
  const hd_db_param key[] = {hd_db_text(tenant), hd_db_text(rq->agent_id)};
  if (hd_db_exec(db, SQL_DEPTS_CLEAR, key, 2, NULL, NULL, err)) return -1;
  for (size_t i = 0; i < rq->n_departments; i++) {
    const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(rq->agent_id),
                             hd_db_text(rq->departments[i]), hd_db_int((int64_t)i)};
    if (hd_db_exec(db, SQL_DEPTS_ADD, p, 4, NULL, NULL, err)) return -1;
  }
  if (routing_agent_require(db, tenant, rq->agent_id, false, c->arena, &x->after, err)) return -1;
  return agent__audit(db, c, "UPSERT_AGENT", before, x->after, err);
}

int routing_upsert_agent(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs) {
  const Helpdesk__V1__UpsertAgentRequest *req = (const Helpdesk__V1__UpsertAgentRequest *)rq;
  if (hd_call_check_ident(call, "agent_id", req->agent_id, 1, HD_USER_ID_MAX) ||
      hd_call_check_text(call, "display_name", req->display_name, 0, ROUTING_AGENT_NAME_MAX) ||
      hd_call_check_enum(call, "level", &helpdesk__v1__agent_level__descriptor, (int)req->level,
                         false) ||
      hd_call_check_version(call, "expected_version", req->expected_version))
    return -1;
  if (req->n_departments < 1 || req->n_departments > ROUTING_AGENT_DEPARTMENTS_MAX)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "departments must name 1 to %d departments (the first is the agent's home), "
                      "got %zu",
                      ROUTING_AGENT_DEPARTMENTS_MAX, req->n_departments);
  for (size_t i = 0; i < req->n_departments; i++) {
    if (rt_check_department_name(call, "departments", req->departments[i])) return -1;
    for (size_t j = 0; j < i; j++)
      if (strcmp(req->departments[i], req->departments[j]) == 0)
        return hd_err_set(&call->err, HD_INVALID_ARGUMENT, "departments names %s twice",
                          req->departments[i]);
  }
  if (req->capacity < 0 || req->capacity > ROUTING_CAPACITY_MAX)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "capacity must be between 1 and %d, or 0 for the home department's "
                      "default, got %d",
                      ROUTING_CAPACITY_MAX, (int)req->capacity);
  upsert_agent_ctx x = {.call = call, .req = req};
  if (hd_call_tx(call, upsert_agent__tx, &x)) return -1;
  *(Helpdesk__V1__Agent *)rs = *x.after;
  return 0;
}

/* ---- ListAgents ---- */

int routing_list_agents(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs) {
  const Helpdesk__V1__ListAgentsRequest *req = (const Helpdesk__V1__ListAgentsRequest *)rq;
  Helpdesk__V1__ListAgentsResponse *out = (Helpdesk__V1__ListAgentsResponse *)rs;
  int rc = -1;
  hd_db_rows *rows = NULL;
  const char *dept = req->department ? req->department : "";
  if ((dept[0] && rt_check_department_name(call, "department", dept)) ||
      hd_call_check_enum(call, "presence", &helpdesk__v1__presence__descriptor, (int)req->presence,
                         true))
    return -1;
  const char *presence = req->presence ? agent__presence_name(req->presence) : "";
  hd_page_scope scope;
  hd_page_scope_init(&scope, "agents", rt_tenant(call));
  hd_page_scope_str(&scope, dept);
  hd_page_scope_str(&scope, presence);
  hd_page pg;
  if (hd_page_start_pb(req->page, &scope, &pg, &call->err)) return -1;
  hd_db *db = hd_call_worker(call)->db;
  /* Pages by position in the agent-id order (pg.after.id is the offset reached). */
  const hd_db_param p[] = {hd_db_text(rt_tenant(call)),
                           hd_db_text(presence),
                           hd_db_text(presence),
                           hd_db_text(dept),
                           hd_db_text(dept),
                           hd_db_int(hd_page_fetch(&pg)),
                           hd_db_int(pg.after.id)};
  if (hd_db_query(db, SQL_LIST, p, 7, (size_t)hd_page_fetch(&pg), &rows, &call->err)) goto done;
  const size_t fetched = hd_db_rows_count(rows), shown = hd_page_shown(&pg, fetched);
  out->agents = shown ? hd_arena_alloc(call->arena, shown * sizeof *out->agents) : NULL;
  if (shown && !out->agents) {
    hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  for (size_t i = 0; i < shown; i++) {
    if (routing_agent_require(db, rt_tenant(call), hd_db_str(rows, i, 0, NULL), false, call->arena,
                              &out->agents[i], &call->err))
      goto done;
  }
  out->n_agents = shown;
  char *next = NULL;
  const hd_page_pos last = {.id = pg.after.id + (int64_t)shown};
  if (hd_page_next(&pg, fetched > shown ? &last : NULL, call->arena, &next, &call->err) ||
      hd_page_info(call->arena, next, &out->page, &call->err))
    goto done;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* ---- SetPresence, GetAgentLoad ---- */

/* The agent a request names: the caller when empty; another needs team_lead or supervisor. */
static int agent__target(hd_call *c, const char *asked, const char *what, const char **out) {
  if (!asked || !asked[0]) {
    *out = c->principal->user_id;
    return 0;
  }
  if (hd_call_check_ident(c, "agent_id", asked, 1, HD_USER_ID_MAX)) return -1;
  if (strcmp(asked, c->principal->user_id) != 0 && !hd_principal_has(c->principal, ROUTING_LEADS))
    return hd_err_set(&c->err, HD_PERMISSION_DENIED,
                      "%s for another agent (%s) is for a team_lead or supervisor; an agent may "
                      "only ask for themself",
                      what, asked);
  *out = asked;
  return 0;
}

typedef struct presence_ctx {
  hd_call *call;
  const char *agent_id;
  Helpdesk__V1__Presence presence;
  int64_t expected_version;
  Helpdesk__V1__Agent *after;
} presence_ctx;

static int presence__tx(hd_db *db, void *arg, hd_err *err) {
  presence_ctx *x = arg;
  hd_call *c = x->call;
  Helpdesk__V1__Agent *before = NULL;
  x->after = NULL;
  if (routing_agent_require(db, rt_tenant(c), x->agent_id, true, c->arena, &before, err)) return -1;
  if (hd_call_check_seen(err, before->version, x->expected_version,
                         "agent %s was changed by someone else", x->agent_id))
    return -1;
  if (before->presence == x->presence) { /* already so: nothing to change or audit */
    x->after = before;
    return 0;
  }
  if (routing_agent_set_presence(db, rt_tenant(c), x->agent_id, x->presence, c->principal->user_id,
                                 rt_now(c), c->arena, &x->after, err))
    return -1;
  return agent__audit(db, c, "SET_PRESENCE", before, x->after, err);
}

int routing_set_presence(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs) {
  const Helpdesk__V1__SetPresenceRequest *req = (const Helpdesk__V1__SetPresenceRequest *)rq;
  presence_ctx x = {
      .call = call, .presence = req->presence, .expected_version = req->expected_version};
  if (agent__target(call, req->agent_id, "SetPresence", &x.agent_id) ||
      hd_call_check_enum(call, "presence", &helpdesk__v1__presence__descriptor, (int)req->presence,
                         false) ||
      hd_call_check_version(call, "expected_version", req->expected_version))
    return -1;
  if (req->presence == HELPDESK__V1__PRESENCE__PRESENCE_OFF_DUTY)
    return hd_err_set(&call->err, HD_FAILED_PRECONDITION,
                      "an agent goes OFF_DUTY by handing over their shift: call HandOverShift "
                      "with a note for each open ticket they own");
  if (hd_call_tx(call, presence__tx, &x)) return -1;
  *(Helpdesk__V1__Agent *)rs = *x.after;
  return 0;
}

int routing_get_agent_load(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs) {
  const Helpdesk__V1__GetAgentLoadRequest *req = (const Helpdesk__V1__GetAgentLoadRequest *)rq;
  const char *agent_id = NULL;
  if (agent__target(call, req->agent_id, "GetAgentLoad", &agent_id)) return -1;
  hd_db *db = hd_call_worker(call)->db;
  Helpdesk__V1__Agent *agent = NULL;
  Helpdesk__V1__AgentLoad *load = NULL;
  if (routing_agent_require(db, rt_tenant(call), agent_id, false, call->arena, &agent,
                            &call->err) ||
      routing_agent_load(db, rt_tenant(call), agent, true, call->arena, &load, &call->err))
    return -1;
  *(Helpdesk__V1__AgentLoad *)rs = *load;
  return 0;
}
