/* The ticket-event consumer: routing's records of the tickets and their queues (see
 * ticket_events.h for the rules). */
#include "ticket_events.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json/json.h"
#include "queues.h"
#include "routing_call.h"
#include "routing_rules.h"
#include "rpc/pb_enum.h"

#define EV_PENDING "PENDING_RESPONSE"

#define EV_ARENA_CAP (4u << 20) /* a tenant's rules, ROUTING_RULES_MAX of them */

/* The value of short enum name s of d; 0 (UNSPECIFIED) for "" or a name d does not have. */
static int ev__enum(const ProtobufCEnumDescriptor *d, const char *s) {
  int v = 0;
  return s[0] && hd_pb_enum_parse(d, s, strlen(s), &v) == 0 ? v : 0;
}

int routing_ticket_events_route(hd_db *db, const char *tenant, const char *issue_type,
                                const char *service_type, char buf[65], hd_err *err) {
  const routing_input in = {.issue_type = (Helpdesk__V1__IssueType)ev__enum(
                                &helpdesk__v1__issue_type__descriptor, issue_type),
                            .service_type = (Helpdesk__V1__ServiceType)ev__enum(
                                &helpdesk__v1__service_type__descriptor, service_type)};
  hd_arena *arena = hd_arena_new(EV_ARENA_CAP);
  if (!arena) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory routing a ticket");
  const char *dept = NULL, *rule = NULL;
  const int rc = routing_route_team(db, tenant, &in, arena, &dept, &rule, err);
  if (rc == 0) snprintf(buf, 65, "%s", dept);
  hd_arena_free(arena);
  return rc;
}

/* The ticket's state as an event carries it ("ticket": {...}); strings borrowed from ev. */
typedef struct ev_ticket {
  const char *status, *owner, *department, *customer, *category, *issue_type, *service_type;
  int64_t level;
  int64_t create_time_us; /* ticket.created only; else 0 */
} ev_ticket;

static const char *ev__or(const char *s) { return s ? s : ""; }

static int ev__ticket(const hd_event *ev, bool *has, ev_ticket *t, hd_err *err) {
  const json_t *o = json_object_get(ev->json, "ticket");
  *has = o && json_is_object(o) && ev->version > 0;
  if (!*has) return 0;
  *t = (ev_ticket){0};
  if (hd_json_get_str(o, "status", &t->status, NULL, err) ||
      hd_json_get_opt_str(o, "owner_id", &t->owner, NULL, err) ||
      hd_json_get_opt_str(o, "department", &t->department, NULL, err) ||
      hd_json_get_opt_str(o, "customer_id", &t->customer, NULL, err) ||
      hd_json_get_opt_str(o, "category", &t->category, NULL, err) ||
      hd_json_get_opt_str(o, "issue_type", &t->issue_type, NULL, err) ||
      hd_json_get_opt_str(o, "service_type", &t->service_type, NULL, err) ||
      hd_json_get_int(o, "level", &t->level, err))
    return -1;
  if (strcmp(ev->type, "ticket.created") == 0 &&
      hd_json_get_int(o, "create_time_us", &t->create_time_us, err))
    return -1;
  t->owner = ev__or(t->owner);
  t->department = ev__or(t->department);
  t->customer = ev__or(t->customer);
  t->category = ev__or(t->category);
  t->issue_type = ev__or(t->issue_type);
  t->service_type = ev__or(t->service_type);
  return 0;
}

/* What routing had of the ticket before this event. */
typedef struct ev_record {
  bool exists;
  char tenant[65], department[65], queue[65], status[21], owner[129];
  int64_t created_us;
  int64_t version; /* the highest the record holds: an event's, a claim's or a release's */
  bool claimed;    /* a claims row */
  char claim_agent[129];
} ev_record;

static const char SQL_RECORD[] =
    "SELECT tenant, department, queue, status, owner_id, created_at_us, version FROM "
    "routing_tickets "
    "WHERE ticket_id = ? FOR UPDATE";
static const char SQL_CLAIM[] = "SELECT agent_id FROM claims WHERE ticket_id = ? FOR UPDATE";

static int ev__record(hd_db *db, int64_t id, ev_record *r, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL, *claim = NULL;
  *r = (ev_record){0};
  const hd_db_param p[] = {hd_db_int(id)};
  if (hd_db_query(db, SQL_RECORD, p, 1, 1, &rows, err) ||
      hd_db_query(db, SQL_CLAIM, p, 1, 1, &claim, err))
    goto done;
  if (hd_db_rows_count(rows)) {
    r->exists = true;
    snprintf(r->tenant, sizeof r->tenant, "%s", hd_db_str(rows, 0, 0, NULL));
    snprintf(r->department, sizeof r->department, "%s", hd_db_str(rows, 0, 1, NULL));
    snprintf(r->queue, sizeof r->queue, "%s", hd_db_str(rows, 0, 2, NULL));
    snprintf(r->status, sizeof r->status, "%s", hd_db_str(rows, 0, 3, NULL));
    snprintf(r->owner, sizeof r->owner, "%s", hd_db_str(rows, 0, 4, NULL));
    r->created_us = hd_db_i64(rows, 0, 5);
    r->version = hd_db_i64(rows, 0, 6);
  }
  if (hd_db_rows_count(claim)) {
    r->claimed = true;
    snprintf(r->claim_agent, sizeof r->claim_agent, "%s", hd_db_str(claim, 0, 0, NULL));
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  hd_db_rows_free(claim);
  return rc;
}

/* The queue the ticket waits in after the event (ticket_events.h's rules); *end_claim when its
 * claim ends. */
static const char *ev__next_queue(const ev_record *r, const ev_ticket *t, const char *dept,
                                  bool *end_claim) {
  *end_claim = false;
  if (strcmp(t->status, EV_PENDING) != 0) {
    *end_claim = r->claimed;
    return "";
  }
  if (!r->exists || strcmp(r->status, EV_PENDING) != 0) return t->owner[0] ? "" : dept;
  if (strcmp(r->owner, t->owner) != 0) {
    if (!t->owner[0]) return dept;
    *end_claim = r->claimed && strcmp(r->claim_agent, t->owner) != 0;
    return "";
  }
  return r->queue[0] ? dept : "";
}

static const char SQL_UPSERT[] =
    "INSERT INTO routing_tickets (tenant, ticket_id, department, queue, status, owner_id, "
    "customer_id, issue_type, service_type, category, weight, level, created_at_us, version, "
    "updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON DUPLICATE KEY UPDATE department = VALUES(department), queue = VALUES(queue), "
    "status = VALUES(status), owner_id = VALUES(owner_id), customer_id = VALUES(customer_id), "
    "issue_type = VALUES(issue_type), service_type = VALUES(service_type), "
    "category = VALUES(category), weight = VALUES(weight), level = VALUES(level), "
    "created_at_us = VALUES(created_at_us), version = VALUES(version), "
    "updated_at_us = VALUES(updated_at_us)";

/* A ticket.created that arrives after a later event of its ticket: the state is older, but the
 * creation time is a fact the later event did not carry (the record took its event's time); put
 * the ticket at its true place. */
static int ev__late_created(hd_db *db, const hd_event *ev, const ev_ticket *t, hd_err *err) {
  ev_record r;
  if (ev__record(db, ev->aggregate_id, &r, err)) return -1;
  if (!r.exists || r.created_us <= t->create_time_us) return 0;
  const hd_db_param p[] = {hd_db_int(t->create_time_us), hd_db_int(ev->aggregate_id)};
  if (hd_db_exec(db, "UPDATE routing_tickets SET created_at_us = ? WHERE ticket_id = ?", p, 2, NULL,
                 NULL, err))
    return -1;
  if (!r.queue[0] || r.claimed) return 0; /* a claim in flight keeps its lease */
  return routing_queue_drop(ev->kv, r.tenant, r.queue, ev->aggregate_id, err) ||
                 routing_queue_put(ev->kv, r.tenant, r.queue, ev->aggregate_id, t->create_time_us,
                                   err)
             ? -1
             : 0;
}

int routing_ticket_events_apply(hd_db *db, const hd_event *ev, void *app, hd_err *err) {
  const routing_app *a = app;
  bool has = false;
  ev_ticket t;
  if (strncmp(ev->type, "ticket.", 7) != 0 || ev__ticket(ev, &has, &t, err)) return -1;
  if (!has) return 0; /* no state carried (a comment's event): nothing routing keeps */
  bool newer = false;
  if (hd_consumer_version_newer(db, ev, &newer, err)) return -1;
  if (!newer) return t.create_time_us ? ev__late_created(db, ev, &t, err) : 0;
  ev_record r;
  if (ev__record(db, ev->aggregate_id, &r, err)) return -1;
  /* Older than what a claim or a release recorded from the ticket service's own answer (the
   * record is then ahead of the stream): the claim or release already holds a newer state, which
   * this event must neither end nor undo. The event of that very version still applies. */
  if (r.exists && ev->version > 0 && ev->version < r.version)
    return t.create_time_us ? ev__late_created(db, ev, &t, err) : 0;
  if (r.exists && strcmp(r.tenant, ev->tenant) != 0)
    return hd_err_set(err, HD_INTERNAL,
                      "ticket %" PRId64 " of tenant '%s' is recorded under tenant '%s'",
                      ev->aggregate_id, ev->tenant, r.tenant);
  char dept[65];
  if (t.department[0])
    snprintf(dept, sizeof dept, "%s", t.department);
  else if (r.exists && r.department[0])
    snprintf(dept, sizeof dept, "%s", r.department);
  else if (routing_ticket_events_route(db, ev->tenant, t.issue_type, t.service_type, dept, err))
    return -1;
  const int64_t created = t.create_time_us    ? t.create_time_us
                          : r.exists          ? r.created_us
                          : ev->created_at_us ? ev->created_at_us
                                              : ev->applied_at_us;
  bool end_claim = false;
  const char *queue = ev__next_queue(&r, &t, dept, &end_claim);
  const int weight = routing_config_weight(&a->config, t.category);
  const hd_db_param p[] = {
      hd_db_text(ev->tenant), hd_db_int(ev->aggregate_id), hd_db_text(dept),
      hd_db_text(queue),      hd_db_text(t.status),        hd_db_text(t.owner),
      hd_db_text(t.customer), hd_db_text(t.issue_type),    hd_db_text(t.service_type),
      hd_db_text(t.category), hd_db_int(weight),           hd_db_int(t.level),
      hd_db_int(created),     hd_db_int(ev->version),      hd_db_int(ev->applied_at_us)};
  if (hd_db_exec(db, SQL_UPSERT, p, sizeof p / sizeof p[0], NULL, NULL, err)) return -1;
  if (end_claim) {
    const hd_db_param c[] = {hd_db_int(ev->aggregate_id)};
    if (hd_db_exec(db, "DELETE FROM claims WHERE ticket_id = ?", c, 1, NULL, NULL, err)) return -1;
  }
  if (r.queue[0] && strcmp(r.queue, queue) != 0 &&
      routing_queue_drop(ev->kv, ev->tenant, r.queue, ev->aggregate_id, err))
    return -1;
  if (queue[0] && routing_queue_put(ev->kv, ev->tenant, queue, ev->aggregate_id, created, err))
    return -1;
  return 0;
}

int routing_ticket_events_rebuild(hd_db *db, hd_kv *kv, void *app, hd_err *err) {
  (void)app;
  return routing_queues_rebuild(db, kv, NULL, err);
}

const hd_consumer_def routing_ticket_events_consumer = {
    .stream = ROUTING_TICKET_STREAM,
    .group = ROUTING_CONSUMER_GROUP,
    .apply = routing_ticket_events_apply,
    .rebuild = routing_ticket_events_rebuild,
};
