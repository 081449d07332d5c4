/* ClaimNext, RenewClaim, ReleaseClaim and the return of expired leases (see claims.h). */
#include "claims.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "escalations.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "log/log.h"
#include "queues.h"
#include "routing_call.h"
#include "rpc/pb_enum.h"
#include "svc/outbox.h"
#include "svc/sleep.h"
#include "ticket_peer.h"

#define CLAIMS_ASSIGN "/helpdesk.v1.TicketService/AssignTicket"

/* ---- the agent, as a claim needs it: routing_agent_get and routing_agent_load (agents.h) ---- */

typedef struct claims_agent {
  bool exists;
  char presence[13];
  char departments[HD_KV_MAX_CLAIM_QUEUES][65];
  size_t n_departments;
  int64_t capacity; /* effective */
  bool own_capacity;
  int64_t load;
} claims_agent;

static int claims__agent(hd_db *db, const char *tenant, const char *agent_id, bool lock,
                         hd_arena *arena, claims_agent *a, hd_err *err) {
  *a = (claims_agent){0};
  Helpdesk__V1__Agent *ag = NULL;
  Helpdesk__V1__AgentLoad *load = NULL;
  if (routing_agent_get(db, tenant, agent_id, lock, arena, &ag, err)) return -1;
  if (!ag) return 0;
  if (routing_agent_load(db, tenant, ag, false, arena, &load, err)) return -1;
  a->exists = true;
  const char *pr = hd_pb_enum_name(&helpdesk__v1__presence__descriptor, (int)ag->presence);
  snprintf(a->presence, sizeof a->presence, "%s", pr ? pr : "UNSPECIFIED");
  a->n_departments =
      ag->n_departments < HD_KV_MAX_CLAIM_QUEUES ? ag->n_departments : HD_KV_MAX_CLAIM_QUEUES;
  for (size_t i = 0; i < a->n_departments; i++)
    snprintf(a->departments[i], sizeof a->departments[i], "%s", ag->departments[i]);
  a->capacity = ag->effective_capacity;
  a->own_capacity = ag->capacity > 0;
  a->load = load->load;
  return 0;
}

/* FAILED_PRECONDITION when a cannot take another ticket (not AVAILABLE, at capacity). */
static int claims__agent_can_take(const claims_agent *a, const char *agent_id, hd_err *err) {
  if (strcmp(a->presence, "AVAILABLE") != 0)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "agent %s is %s: only an AVAILABLE agent claims tickets (SetPresence)",
                      agent_id, a->presence);
  if (a->load >= a->capacity)
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "agent %s is at capacity: open tickets weigh %" PRId64
                      " of a capacity of "
                      "%" PRId64 " (%s); finish or hand over a ticket first",
                      agent_id, a->load, a->capacity,
                      a->own_capacity ? "the agent's own" : "their home department's default");
  return 0;
}

/* ---- fences ---- */

int routing_claim_fence_floor(hd_db *db, const char *tenant, int64_t *floor, hd_err *err) {
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(tenant)};
  if (hd_db_query(db, "SELECT highest_fence FROM claim_fences WHERE tenant = ?", p, 1, 1, &rows,
                  err))
    return -1;
  *floor = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  hd_db_rows_free(rows);
  return 0;
}

typedef struct claims_floor {
  hd_db *db;
  const char *tenant;
} claims_floor;

static int claims__floor(void *ctx, int64_t *floor, hd_err *err) {
  const claims_floor *f = ctx;
  return routing_claim_fence_floor(f->db, f->tenant, floor, err);
}

/* ---- events ---- */

static int claims__event(hd_db *db, const char *type, const char *tenant, int64_t ticket_id,
                         const char *actor, const char *role, int64_t now_us, json_t *body,
                         hd_err *err) {
  const hd_outbox_event ev = {.type = type,
                              .tenant = tenant,
                              .aggregate_key = "ticket_id",
                              .aggregate_id = ticket_id,
                              .actor_id = actor,
                              .actor_role = role,
                              .time_us = now_us};
  int rc = body
               ? hd_outbox_append(db, &ev, body, err)
               : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory writing the %s event", type);
  json_decref(body);
  return rc;
}

static void claims__count(hd_svc_env *env, const char *name, const char *outcome) {
  const char *labels[] = {"outcome", outcome, NULL};
  (void)hd_metrics_counter_add(env->metrics, name, outcome ? labels : NULL, 1, NULL);
}

/* ---- ClaimNext ---- */

typedef enum claims_outcome {
  CLAIM_RECORDED,
  CLAIM_STALE, /* the member no longer waits in that queue: drop it */
  CLAIM_BUSY   /* another fence holds a live claim on it: skip it */
} claims_outcome;

typedef struct claims_try {
  hd_call *call;
  const char *agent_id;
  const char *queue;
  const char *idem_key;
  int64_t ticket_id, fence, lease_us, now_us;
  claims_outcome outcome;
  int64_t version, created_us;    /* the record's */
  Helpdesk__V1__Ticket *assigned; /* AssignTicket's answer (step 4) */
} claims_try;

static const char SQL_RECORD_LOCK[] =
    "SELECT tenant, queue, version, created_at_us, status FROM routing_tickets "
    "WHERE ticket_id = ? FOR UPDATE";
static const char SQL_CLAIM_LOCK[] =
    "SELECT agent_id, fence, expires_at_us, department, claimed_at_us, tenant FROM claims "
    "WHERE ticket_id = ? FOR UPDATE";
static const char SQL_CLAIM_PUT[] =
    "REPLACE INTO claims (tenant, ticket_id, agent_id, department, fence, idempotency_key, "
    "claimed_at_us, expires_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_FENCE_PUT[] =
    "INSERT INTO claim_fences (tenant, highest_fence, updated_at_us) VALUES (?, ?, ?) "
    "ON DUPLICATE KEY UPDATE highest_fence = GREATEST(highest_fence, VALUES(highest_fence)), "
    "updated_at_us = VALUES(updated_at_us)";

/* Step 2 (claims.h). */
static int claims__record_tx(hd_db *db, void *arg, hd_err *err) {
  claims_try *t = arg;
  const char *tenant = rt_tenant(t->call);
  int rc = -1;
  hd_db_rows *rec = NULL, *claim = NULL;
  claims_agent a;
  if (claims__agent(db, tenant, t->agent_id, true, t->call->arena, &a, err)) goto done;
  if (!a.exists) {
    hd_err_set(err, HD_NOT_FOUND,
               "agent %s is not registered in routing; a team_lead registers them with "
               "UpsertAgent",
               t->agent_id);
    goto done;
  }
  if (claims__agent_can_take(&a, t->agent_id, err)) goto done;
  const hd_db_param id[] = {hd_db_int(t->ticket_id)};
  if (hd_db_query(db, SQL_RECORD_LOCK, id, 1, 1, &rec, err) ||
      hd_db_query(db, SQL_CLAIM_LOCK, id, 1, 1, &claim, err))
    goto done;
  if (!hd_db_rows_count(rec) || strcmp(hd_db_str(rec, 0, 0, NULL), tenant) != 0 ||
      strcmp(hd_db_str(rec, 0, 1, NULL), t->queue) != 0) {
    t->outcome = CLAIM_STALE;
    rc = 0;
    goto done;
  }
  if (hd_db_rows_count(claim) && hd_db_i64(claim, 0, 1) != t->fence &&
      hd_db_i64(claim, 0, 2) > t->now_us) {
    t->outcome = CLAIM_BUSY;
    rc = 0;
    goto done;
  }
  t->version = hd_db_i64(rec, 0, 2);
  t->created_us = hd_db_i64(rec, 0, 3);
  const hd_db_param c[] = {hd_db_text(tenant),      hd_db_int(t->ticket_id),
                           hd_db_text(t->agent_id), hd_db_text(t->queue),
                           hd_db_int(t->fence),     hd_db_text(t->idem_key),
                           hd_db_int(t->now_us),    hd_db_int(t->now_us + t->lease_us)};
  const hd_db_param f[] = {hd_db_text(tenant), hd_db_int(t->fence), hd_db_int(t->now_us)};
  if (hd_db_exec(db, SQL_CLAIM_PUT, c, 8, NULL, NULL, err) ||
      hd_db_exec(db, SQL_FENCE_PUT, f, 3, NULL, NULL, err))
    goto done;
  t->outcome = CLAIM_RECORDED;
  rc = 0;
done:
  hd_db_rows_free(rec);
  hd_db_rows_free(claim);
  return rc;
}

/* After ABORTED: the claim row goes (only ours: the fence says so). */
static int claims__forget_tx(hd_db *db, void *arg, hd_err *err) {
  const claims_try *t = arg;
  const hd_db_param p[] = {hd_db_int(t->ticket_id), hd_db_int(t->fence)};
  return hd_db_exec(db, "DELETE FROM claims WHERE ticket_id = ? AND fence = ?", p, 2, NULL, NULL,
                    err);
}

/* Step 4: the record takes the owner (the event will say the same, by version) and leaves the
 * queue; the claim-taken event. */
static int claims__taken_tx(hd_db *db, void *arg, hd_err *err) {
  const claims_try *t = arg;
  const hd_call *c = t->call;
  const Helpdesk__V1__Ticket *k = t->assigned;
  const hd_db_param p[] = {hd_db_text(t->agent_id), hd_db_text(k->department),
                           hd_db_int(k->version), hd_db_int(t->now_us), hd_db_int(t->ticket_id)};
  if (hd_db_exec(db,
                 "UPDATE routing_tickets SET owner_id = ?, department = ?, queue = '', "
                 "version = GREATEST(version, ?), updated_at_us = ? WHERE ticket_id = ?",
                 p, 5, NULL, NULL, err))
    return -1;
  json_t *body = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "agent_id", t->agent_id, "department",
                           t->queue, "fence", (json_int_t)t->fence, "expire_time_us",
                           (json_int_t)(t->now_us + t->lease_us), "ticket_create_time_us",
                           (json_int_t)t->created_us, "ticket_version", (json_int_t)k->version);
  return claims__event(db, ROUTING_EVENT_CLAIM_TAKEN, rt_tenant(c), t->ticket_id,
                       c->principal->user_id, hd_principal_role(c->principal), t->now_us, body,
                       err);
}

static Helpdesk__V1__Claim *claims__proto(hd_arena *arena, const char *agent_id, const char *queue,
                                          int64_t ticket_id, int64_t fence, int64_t claimed_us,
                                          int64_t expires_us, int64_t created_us, int64_t version) {
  Helpdesk__V1__Claim *m = hd_arena_new_message(arena, &helpdesk__v1__claim__descriptor);
  if (!m) return NULL;
  m->ticket_id = ticket_id;
  m->agent_id = hd_arena_strdup(arena, agent_id);
  m->department = hd_arena_strdup(arena, queue);
  m->fence = fence;
  m->expire_time_us = expires_us;
  m->claim_time_us = claimed_us;
  m->ticket_create_time_us = created_us;
  m->ticket_version = version;
  return m->agent_id && m->department ? m : NULL;
}

/* A retry with the same idempotency key while the claim is held: that claim. FORCE INDEX, here
 * and below: otherwise MariaDB estimates a range in each other index the WHERE touches (here
 * the expiry, which nearly every claim passes) at every execution. */
static const char SQL_CLAIM_BY_KEY[] =
    "SELECT c.ticket_id, c.department, c.fence, c.claimed_at_us, c.expires_at_us, "
    "t.created_at_us, t.version FROM claims c FORCE INDEX (ix_claims_agent) "
    "JOIN routing_tickets t ON t.ticket_id = c.ticket_id "
    "WHERE c.tenant = ? AND c.agent_id = ? AND c.idempotency_key = ? AND c.expires_at_us > ? "
    "AND t.owner_id = c.agent_id LIMIT 1";

static int claims__by_key(hd_call *c, hd_db *db, const char *agent_id, const char *key,
                          Helpdesk__V1__ClaimNextResponse *rs) {
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(rt_tenant(c)), hd_db_text(agent_id), hd_db_text(key),
                           hd_db_int(rt_now(c))};
  if (hd_db_query(db, SQL_CLAIM_BY_KEY, p, 4, 1, &rows, &c->err)) return -1;
  if (hd_db_rows_count(rows)) {
    rs->claim = claims__proto(c->arena, agent_id, hd_db_str(rows, 0, 1, NULL),
                              hd_db_i64(rows, 0, 0), hd_db_i64(rows, 0, 2), hd_db_i64(rows, 0, 3),
                              hd_db_i64(rows, 0, 4), hd_db_i64(rows, 0, 5), hd_db_i64(rows, 0, 6));
    if (!rs->claim) hd_err_set(&c->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  }
  hd_db_rows_free(rows);
  return rs->claim || c->err.code == HD_OK ? 0 : -1;
}

/* Members this call leased and did not assign: released when it ends, so that each round of the
 * claim takes the next ticket and none stays out of reach. */
typedef struct claims_held {
  int64_t ticket_id, fence;
  const char *queue;
} claims_held;

static void claims__release_held(hd_kv *kv, const char *group, const char *agent_id,
                                 const claims_held *h, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char member[ROUTING_QUEUE_MEMBER_MAX];
    routing_queue_member(h[i].ticket_id, member);
    hd_err err = {0};
    bool released = false;
    if (hd_kv_queue_release(kv, group, h[i].queue, member, agent_id, h[i].fence, &released, &err))
      hd_log_warn("claims.release_failed", "ticket", member, "error", err.msg);
  }
}

/* The queues the claim looks at: the one asked for (one of the agent's) or all of theirs. */
static int claims__queues(hd_call *c, const claims_agent *a, const char *dept, const char **queues,
                          size_t *n) {
  *n = 0;
  if (!dept[0]) {
    for (size_t i = 0; i < a->n_departments; i++) queues[(*n)++] = a->departments[i];
    if (!*n)
      return hd_err_set(&c->err, HD_FAILED_PRECONDITION,
                        "agent %s works no department; a team_lead sets their departments "
                        "(UpsertAgent)",
                        c->principal->user_id);
    return 0;
  }
  for (size_t i = 0; i < a->n_departments; i++)
    if (strcmp(a->departments[i], dept) == 0) {
      queues[(*n)++] = a->departments[i];
      return 0;
    }
  return hd_err_set(&c->err, HD_PERMISSION_DENIED,
                    "agent %s does not work department %s; claim from one of their own "
                    "departments or leave department empty",
                    c->principal->user_id, dept);
}

static int claims__check_lease(hd_call *c, int64_t lease_s, int64_t *lease_us) {
  if (lease_s < 0 || lease_s > ROUTING_CLAIM_LEASE_MAX_S)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "lease_seconds must be 0 (the default) or 1..%d, got %" PRId64,
                      ROUTING_CLAIM_LEASE_MAX_S, lease_s);
  *lease_us = lease_s ? lease_s * HD_US_PER_S : rt_app(c)->config.claim_lease_us;
  return 0;
}

/* One ticket tried (steps 2 to 4). *done true when the call has its answer (a claim in
 * rs->claim, or an error returned); false to try the next ticket, with *hold true when the
 * member stays leased until the call ends. */
static int claims__try(hd_call *c, claims_try *t, const char *group, const char *member,
                       Helpdesk__V1__ClaimNextResponse *rs, bool *done, bool *hold) {
  hd_svc_env *env = hd_call_env(c);
  hd_kv *kv = hd_call_worker(c)->kv;
  *done = false;
  *hold = false;
  if (hd_call_tx(c, claims__record_tx, t)) {
    *hold = true; /* released with the rest when the call ends */
    *done = true;
    return -1;
  }
  if (t->outcome == CLAIM_STALE) {
    claims__count(env, ROUTING_METRIC_CLAIMS, "stale");
    if (hd_kv_queue_remove(kv, group, t->queue, member, NULL, &c->err)) return *done = true, -1;
    return 0;
  }
  if (t->outcome == CLAIM_BUSY) {
    *hold = true;
    return 0;
  }
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = t->ticket_id;
  rq.expected_version = t->version;
  rq.owner_id = (char *)t->agent_id;
  rq.department = (char *)t->queue;
  rq.fence = t->fence;
  hd_err aerr = {0};
  if (hd_peer_call_for(rt_app(c)->tickets, c, CLAIMS_ASSIGN, false, &rq.base,
                       &helpdesk__v1__ticket__descriptor, (ProtobufCMessage **)&t->assigned,
                       &aerr)) {
    if (aerr.code != HD_ABORTED && aerr.code != HD_FAILED_PRECONDITION) {
      /* Unknown outcome: the claim row stays and expires like any lease (or the event shows
       * the assignment, which ends it properly). */
      c->err = aerr;
      *hold = true;
      *done = true;
      return -1;
    }
    /* ABORTED: the version moved or a newer fence wrote; FAILED_PRECONDITION: the ticket is no
     * longer open. Either way not ours: forget the claim, take the next one. */
    claims__count(env, ROUTING_METRIC_CLAIMS, "aborted");
    hd_log_info("claims.assign_refused", "ticket", member, "error", aerr.msg);
    *hold = true;
    return hd_call_tx(c, claims__forget_tx, t) ? (*done = true, -1) : 0;
  }
  if (hd_call_tx(c, claims__taken_tx, t)) {
    *done = true; /* the assignment stands; the event brings the record up to date */
    return -1;
  }
  hd_err rerr = {0};
  if (hd_kv_queue_remove(kv, group, t->queue, member, NULL, &rerr))
    hd_log_warn("claims.dequeue_failed", "ticket", member, "error", rerr.msg);
  claims__count(env, ROUTING_METRIC_CLAIMS, "taken");
  rs->claim = claims__proto(c->arena, t->agent_id, t->queue, t->ticket_id, t->fence, t->now_us,
                            t->now_us + t->lease_us, t->created_us, t->assigned->version);
  *done = true;
  return rs->claim ? 0 : hd_err_set(&c->err, HD_RESOURCE_EXHAUSTED, "out of memory");
}

int routing_claim_next(hd_call *c, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ClaimNextRequest *rq = (const Helpdesk__V1__ClaimNextRequest *)req;
  Helpdesk__V1__ClaimNextResponse *rs = (Helpdesk__V1__ClaimNextResponse *)resp;
  hd_svc_env *env = hd_call_env(c);
  hd_worker *w = hd_call_worker(c);
  const char *agent_id = c->principal->user_id;
  const char *dept = rq->department ? rq->department : "";
  const char *key = rq->idempotency_key ? rq->idempotency_key : "";
  int64_t lease_us = 0;
  if ((dept[0] && rt_check_department_name(c, "department", dept)) ||
      claims__check_lease(c, rq->lease_seconds, &lease_us) ||
      hd_call_check_ident(c, "idempotency_key", key, 0, ROUTING_CLAIM_KEY_MAX))
    return -1;
  claims_agent a;
  if (claims__agent(w->db, rt_tenant(c), agent_id, false, c->arena, &a, &c->err)) return -1;
  if (!a.exists)
    return hd_err_set(&c->err, HD_NOT_FOUND,
                      "agent %s is not registered in routing; a team_lead registers them with "
                      "UpsertAgent",
                      agent_id);
  if (key[0] && claims__by_key(c, w->db, agent_id, key, rs)) return -1;
  if (rs->claim) return 0;
  if (claims__agent_can_take(&a, agent_id, &c->err)) {
    if (c->err.code == HD_FAILED_PRECONDITION && a.load >= a.capacity)
      claims__count(env, ROUTING_METRIC_CLAIMS, "at_capacity");
    return -1;
  }
  const char *queues[HD_KV_MAX_CLAIM_QUEUES];
  size_t nq = 0;
  if (claims__queues(c, &a, dept, queues, &nq)) return -1;
  char group[ROUTING_QUEUE_GROUP_MAX];
  routing_queue_group(rt_tenant(c), group);
  claims_floor fl = {.db = w->db, .tenant = rt_tenant(c)};
  const hd_kv_fence_floor floor = {.fn = claims__floor, .ctx = &fl};
  claims_held held[ROUTING_CLAIM_ATTEMPTS];
  size_t n_held = 0;
  int rc = 0;
  bool done = false;
  for (int i = 0; i < ROUTING_CLAIM_ATTEMPTS && !done; i++) {
    bool claimed = false;
    hd_kv_claim k;
    if (hd_kv_queue_claim_any(w->kv, group, queues, nq, agent_id, lease_us / 1000, &floor, &claimed,
                              &k, &c->err)) {
      rc = -1;
      break;
    }
    if (!claimed) break;
    claims_try t = {.call = c,
                    .agent_id = agent_id,
                    .queue = queues[k.queue],
                    .idem_key = key,
                    .fence = k.fence,
                    .lease_us = lease_us,
                    .now_us = rt_now(c)};
    if (routing_queue_member_id(k.member, &t.ticket_id, &c->err)) { /* not ours: drop it */
      (void)hd_kv_queue_remove(w->kv, group, t.queue, k.member, NULL, NULL);
      continue;
    }
    bool hold = false;
    rc = claims__try(c, &t, group, k.member, rs, &done, &hold);
    if (hold)
      held[n_held++] = (claims_held){.ticket_id = t.ticket_id, .fence = k.fence, .queue = t.queue};
  }
  claims__release_held(w->kv, group, agent_id, held, n_held);
  if (rc || rs->claim) return rc;
  claims__count(env, ROUTING_METRIC_CLAIMS, "empty");
  char list[HD_KV_MAX_CLAIM_QUEUES * 66] = "";
  for (size_t i = 0; i < nq; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", queues[i]);
  rs->message = hd_arena_printf(c->arena, "no unclaimed ticket in %s", list);
  return rs->message ? 0 : hd_err_set(&c->err, HD_RESOURCE_EXHAUSTED, "out of memory");
}

/* ---- RenewClaim, ReleaseClaim ---- */

typedef struct claims_change {
  hd_call *call;
  int64_t ticket_id, fence, lease_us, now_us;
  const char *reason;
  bool release;
  Helpdesk__V1__Claim *claim; /* RenewClaim */
  char queue[65];             /* ReleaseClaim: where it went back */
  int64_t created_us;
  bool check_only;                      /* ReleaseClaim's first pass: the checks, no change */
  char holder[129];                     /* the check's: who holds the claim */
  const Helpdesk__V1__Ticket *released; /* the ticket service's answer to the release, or NULL */
} claims_change;

static int claims__change_tx(hd_db *db, void *arg, hd_err *err) {
  claims_change *x = arg;
  hd_call *c = x->call;
  const char *tenant = rt_tenant(c);
  const char *who = c->principal->user_id;
  int rc = -1;
  hd_db_rows *claim = NULL, *rec = NULL;
  const hd_db_param id[] = {hd_db_int(x->ticket_id)};
  if (hd_db_query(db, SQL_CLAIM_LOCK, id, 1, 1, &claim, err) ||
      hd_db_query(db, SQL_RECORD_LOCK, id, 1, 1, &rec, err))
    goto done;
  const bool exists = hd_db_rows_count(claim) && strcmp(hd_db_str(claim, 0, 5, NULL), tenant) == 0;
  if (!exists || hd_db_i64(claim, 0, 1) != x->fence || hd_db_i64(claim, 0, 2) <= x->now_us) {
    hd_err_set(err, HD_FAILED_PRECONDITION,
               "ticket %" PRId64 " is not claimed under fence %" PRId64
               ": the lease has expired or been released (the ticket went back to its queue), "
               "or another claim holds it",
               x->ticket_id, x->fence);
    goto done;
  }
  const char *holder = hd_db_str(claim, 0, 0, NULL);
  const bool lead = (c->principal->roles & ROUTING_LEADS) != 0;
  if (strcmp(holder, who) != 0 && (!x->release || !lead)) {
    hd_err_set(err, HD_PERMISSION_DENIED, "ticket %" PRId64 " is claimed by %s; only %s",
               x->ticket_id, holder,
               x->release ? "the holder, a team_lead or a supervisor releases it"
                          : "the holder renews it");
    goto done;
  }
  const int64_t created = hd_db_rows_count(rec) ? hd_db_i64(rec, 0, 3) : 0;
  if (x->check_only) {
    snprintf(x->holder, sizeof x->holder, "%s", holder);
    rc = 0;
    goto done;
  }
  if (!x->release) {
    const hd_db_param p[] = {hd_db_int(x->now_us + x->lease_us), hd_db_int(x->ticket_id)};
    if (hd_db_exec(db, "UPDATE claims SET expires_at_us = ? WHERE ticket_id = ?", p, 2, NULL, NULL,
                   err))
      goto done;
    x->claim = claims__proto(c->arena, holder, hd_db_str(claim, 0, 3, NULL), x->ticket_id, x->fence,
                             hd_db_i64(claim, 0, 4), x->now_us + x->lease_us, created,
                             hd_db_rows_count(rec) ? hd_db_i64(rec, 0, 2) : 0);
    rc = x->claim ? 0 : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  /* Released in the ticket service: its answer is the newest state (the event says the same). */
  const bool pending =
      x->released
          ? x->released->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE
          : hd_db_rows_count(rec) && strcmp(hd_db_str(rec, 0, 4, NULL), "PENDING_RESPONSE") == 0;
  snprintf(x->queue, sizeof x->queue, "%s", pending ? hd_db_str(claim, 0, 3, NULL) : "");
  x->created_us = created;
  const hd_db_param q[] = {hd_db_text(x->queue), hd_db_int(x->now_us), hd_db_int(x->ticket_id)};
  const hd_db_param o[] = {hd_db_int(x->released ? x->released->version : 0),
                           hd_db_int(x->ticket_id)};
  if (hd_db_exec(db, "DELETE FROM claims WHERE ticket_id = ?", id, 1, NULL, NULL, err) ||
      hd_db_exec(db, "UPDATE routing_tickets SET queue = ?, updated_at_us = ? WHERE ticket_id = ?",
                 q, 3, NULL, NULL, err) ||
      (x->released && hd_db_exec(db,
                                 "UPDATE routing_tickets SET owner_id = '', "
                                 "version = GREATEST(version, ?) WHERE ticket_id = ?",
                                 o, 2, NULL, NULL, err)))
    goto done;
  json_t *body = json_pack("{s:s, s:s, s:I, s:s, s:s}", "agent_id", holder, "department",
                           hd_db_str(claim, 0, 3, NULL), "fence", (json_int_t)x->fence, "reason",
                           "released", "note", x->reason);
  rc = claims__event(db, ROUTING_EVENT_CLAIM_RELEASED, tenant, x->ticket_id, who,
                     hd_principal_role(c->principal), x->now_us, body, err);
done:
  hd_db_rows_free(claim);
  hd_db_rows_free(rec);
  return rc;
}

static int claims__check_claim(hd_call *c, int64_t ticket_id, int64_t fence) {
  if (hd_call_check_id(c, "ticket_id", ticket_id)) return -1;
  if (fence <= 0)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "fence is required: the claim's fencing token from ClaimNext, got %" PRId64,
                      fence);
  return 0;
}

int routing_renew_claim(hd_call *c, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__RenewClaimRequest *rq = (const Helpdesk__V1__RenewClaimRequest *)req;
  claims_change x = {.call = c, .ticket_id = rq->ticket_id, .fence = rq->fence};
  if (claims__check_claim(c, rq->ticket_id, rq->fence) ||
      claims__check_lease(c, rq->lease_seconds, &x.lease_us))
    return -1;
  x.now_us = rt_now(c);
  if (hd_call_tx(c, claims__change_tx, &x)) return -1;
  *(Helpdesk__V1__Claim *)resp = *x.claim;
  return 0;
}

int routing_release_claim(hd_call *c, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__ReleaseClaimRequest *rq = (const Helpdesk__V1__ReleaseClaimRequest *)req;
  Helpdesk__V1__ReleaseClaimResponse *rs = (Helpdesk__V1__ReleaseClaimResponse *)resp;
  claims_change x = {.call = c,
                     .ticket_id = rq->ticket_id,
                     .fence = rq->fence,
                     .release = true,
                     .reason = rq->reason ? rq->reason : ""};
  if (claims__check_claim(c, rq->ticket_id, rq->fence) ||
      hd_call_check_text(c, "reason", x.reason, 0, ROUTING_CLAIM_REASON_MAX))
    return -1;
  x.now_us = rt_now(c);
  /* The checks first; then the ticket service releases the holder's ownership (when routing's
   * AssignTicket made them the owner), so that the next claim makes the next agent the owner of
   * an unowned ticket; then routing's records. A refused release changes nothing here. */
  x.check_only = true;
  if (hd_call_tx(c, claims__change_tx, &x)) return -1;
  x.check_only = false;
  const hd_peer_call_opts o = {
      .tenant = rt_tenant(c), .request_id = c->request_id, .deadline_us = c->deadline_us};
  Helpdesk__V1__Ticket *released = NULL;
  if (rt_ticket_release_claimed(rt_app(c)->tickets, &o, x.ticket_id, x.holder, x.fence, c->arena,
                                &released, &c->err))
    return -1;
  x.released = released;
  if (hd_call_tx(c, claims__change_tx, &x)) return -1;
  claims__count(hd_call_env(c), ROUTING_METRIC_RELEASES, "released");
  if (x.queue[0]) {
    hd_err err = {0}; /* MariaDB has it waiting: a rebuild puts it back if this fails */
    if (routing_queue_put(hd_call_worker(c)->kv, rt_tenant(c), x.queue, x.ticket_id, x.created_us,
                          &err))
      hd_log_warn("claims.requeue_failed", "error", err.msg);
  }
  rs->ticket_id = x.ticket_id;
  rs->department = hd_arena_strdup(c->arena, x.queue);
  return rs->department ? 0 : hd_err_set(&c->err, HD_RESOURCE_EXHAUSTED, "out of memory");
}

/* ---- expired leases ---- */

typedef struct claims_expired {
  int64_t ticket_id, created_us, fence;
  char tenant[65], queue[65], agent_id[129];
  bool owned;    /* the claim's AssignTicket made the agent the owner: release it */
  char home[65]; /* owned: the claim's queue, where the released ticket waits */
} claims_expired;

typedef struct claims_expire {
  int64_t now_us;
  claims_expired rows[ROUTING_CLAIM_EXPIRE_BATCH];
  size_t n;
} claims_expire;

static const char SQL_EXPIRED[] =
    "SELECT ticket_id, tenant, agent_id, fence, department FROM claims WHERE expires_at_us <= ? "
    "ORDER BY expires_at_us, ticket_id LIMIT ? FOR UPDATE SKIP LOCKED";

static int claims__expire_tx(hd_db *db, void *arg, hd_err *err) {
  claims_expire *x = arg;
  int rc = -1;
  hd_db_rows *rows = NULL, *rec = NULL;
  x->n = 0;
  const hd_db_param p[] = {hd_db_int(x->now_us), hd_db_int(ROUTING_CLAIM_EXPIRE_BATCH)};
  if (hd_db_query(db, SQL_EXPIRED, p, 2, ROUTING_CLAIM_EXPIRE_BATCH, &rows, err)) goto done;
  for (size_t i = 0; i < hd_db_rows_count(rows); i++) {
    const int64_t id = hd_db_i64(rows, i, 0);
    const hd_db_param k[] = {hd_db_int(id)};
    hd_db_rows_free(rec);
    rec = NULL;
    if (hd_db_query(db, SQL_RECORD_LOCK, k, 1, 1, &rec, err)) goto done;
    const bool pending =
        hd_db_rows_count(rec) && strcmp(hd_db_str(rec, 0, 4, NULL), "PENDING_RESPONSE") == 0;
    hd_db_rows *own = NULL;
    if (hd_db_query(db, "SELECT owner_id FROM routing_tickets WHERE ticket_id = ?", k, 1, 1, &own,
                    err))
      goto done;
    const bool owned = hd_db_rows_count(own) &&
                       strcmp(hd_db_str(own, 0, 0, NULL), hd_db_str(rows, i, 2, NULL)) == 0;
    hd_db_rows_free(own);
    claims_expired *e = &x->rows[x->n++];
    /* Owned: it waits again once the ticket service has released it (claims__release_expired). */
    e->owned = owned;
    snprintf(e->home, sizeof e->home, "%s", hd_db_str(rows, i, 4, NULL));
    e->ticket_id = id;
    e->created_us = hd_db_rows_count(rec) ? hd_db_i64(rec, 0, 3) : 0;
    snprintf(e->tenant, sizeof e->tenant, "%s", hd_db_str(rows, i, 1, NULL));
    snprintf(e->queue, sizeof e->queue, "%s", pending && !owned ? hd_db_str(rows, i, 4, NULL) : "");
    snprintf(e->agent_id, sizeof e->agent_id, "%s", hd_db_str(rows, i, 2, NULL));
    e->fence = hd_db_i64(rows, i, 3);
    const hd_db_param q[] = {hd_db_text(e->queue), hd_db_int(x->now_us), hd_db_int(id)};
    if (hd_db_exec(db, "DELETE FROM claims WHERE ticket_id = ?", k, 1, NULL, NULL, err) ||
        hd_db_exec(db,
                   "UPDATE routing_tickets SET queue = ?, updated_at_us = ? WHERE ticket_id = ?", q,
                   3, NULL, NULL, err))
      goto done;
    json_t *body = json_pack("{s:s, s:s, s:I, s:s}", "agent_id", hd_db_str(rows, i, 2, NULL),
                             "department", hd_db_str(rows, i, 4, NULL), "fence",
                             (json_int_t)hd_db_i64(rows, i, 3), "reason", "expired");
    if (claims__event(db, ROUTING_EVENT_CLAIM_RELEASED, e->tenant, id, NULL, "service", x->now_us,
                      body, err))
      goto done;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  hd_db_rows_free(rec);
  return rc;
}

/* An expired lease's ticket that the claim's agent owns (claims.h): released in the ticket
 * service, then it waits in routing again (the record unowned at the released version, so the
 * next claim's AssignTicket is current), guarded so that an event applied meanwhile wins. When
 * the release fails (logged), it waits all the same, still naming its last owner, as a ticket
 * did before releases existed: the next claim's AssignTicket (service) takes it from them. When
 * the ticket service names someone else, or it is closed, it is theirs: it stays out. Sets
 * e->queue to where it waits ("" none). */
static int claims__release_expired(hd_svc_env *env, hd_worker *w, claims_expired *e, hd_err *err) {
  const routing_app *app = env->app;
  hd_arena *arena = hd_arena_new(1u << 16);
  hd_err rerr = {0};
  char id[24];
  snprintf(id, sizeof id, "%" PRId64, e->ticket_id);
  Helpdesk__V1__Ticket *released = NULL;
  const hd_peer_call_opts o = {.tenant = e->tenant};
  bool failed = !arena;
  if (!arena)
    hd_err_set(&rerr, HD_RESOURCE_EXHAUSTED, "out of memory");
  else if (rt_ticket_release_claimed(app->tickets, &o, e->ticket_id, e->agent_id, e->fence, arena,
                                     &released, &rerr))
    failed = true;
  if (failed) hd_log_warn("claims.expired_release_failed", "ticket", id, "error", rerr.msg);
  e->queue[0] = '\0';
  int rc = 0;
  if (failed || (released &&
                 released->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE)) {
    const hd_db_param q[] = {hd_db_text(e->home), hd_db_int(released ? released->version : 0),
                             hd_db_int(hd_clock_now_us(env->clock)), hd_db_int(e->ticket_id),
                             hd_db_text(e->agent_id)};
    uint64_t changed = 0;
    rc =
        hd_db_exec(w->db,
                   failed ? "UPDATE routing_tickets FORCE INDEX (PRIMARY) SET queue = ?, "
                            "version = GREATEST(version, ?), updated_at_us = ? WHERE ticket_id = ? "
                            "AND owner_id = ? AND queue = '' AND status = 'PENDING_RESPONSE'"
                          : "UPDATE routing_tickets FORCE INDEX (PRIMARY) SET queue = ?, "
                            "owner_id = '', version = GREATEST(version, ?), updated_at_us = ? "
                            "WHERE ticket_id = ? AND owner_id = ? AND queue = ''",
                   q, 5, &changed, NULL, err);
    if (rc == 0 && changed) snprintf(e->queue, sizeof e->queue, "%s", e->home);
  }
  hd_arena_free(arena);
  return rc;
}

int routing_claims_expire_due(hd_svc_env *env, hd_worker *w, int64_t now_us, int64_t *returned,
                              hd_err *err) {
  claims_expire *x = calloc(1, sizeof *x);
  int64_t total = 0;
  int rc = -1;
  if (!x) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  x->now_us = now_us;
  do {
    if (hd_db_tx(w->db, claims__expire_tx, x, 0, err)) goto done;
    for (size_t i = 0; i < x->n; i++) {
      claims__count(env, ROUTING_METRIC_LEASE_EXPIRIES, NULL);
      if (x->rows[i].owned && claims__release_expired(env, w, &x->rows[i], err)) goto done;
      hd_err kerr = {0}; /* MariaDB has it waiting: the rebuild puts it back if this fails */
      if (x->rows[i].queue[0] &&
          routing_queue_put(w->kv, x->rows[i].tenant, x->rows[i].queue, x->rows[i].ticket_id,
                            x->rows[i].created_us, &kerr)) {
        hd_metrics_redis_error(env->metrics);
        hd_log_warn("claims.requeue_failed", "error", kerr.msg);
      }
    }
    total += (int64_t)x->n;
  } while (x->n == ROUTING_CLAIM_EXPIRE_BATCH);
  rc = 0;
done:
  if (returned) *returned = total;
  free(x);
  return rc;
}

void routing_claims_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop) {
  bool failing = false, started = false;
  int64_t next_gauges = 0;
  routing_queue_seen seen = {0};
  char marker[ROUTING_QUEUE_MARKER_MAX];
  routing_queue_marker(env->db.database ? env->db.database : "", marker);
  while (!atomic_load(stop)) {
    hd_err err = {0};
    bool rebuilt = false;
    int64_t added = 0;
    if (routing_queues_ensure(w->db, w->kv, marker, !started, &rebuilt, &added, &err) == 0 &&
        rebuilt) {
      started = true;
      char n[24];
      snprintf(n, sizeof n, "%" PRId64, added);
      hd_log_info("claims.queues_rebuilt", "added", n);
    }
    if (err.code == HD_OK)
      (void)routing_claims_expire_due(env, w, hd_clock_now_us(env->clock), NULL, &err);
    const int64_t mono = hd_monotonic_us();
    if (err.code == HD_OK && mono >= next_gauges) {
      next_gauges = mono + 2 * HD_US_PER_S;
      if (routing_queues_gauges(env, w->db, hd_clock_now_us(env->clock), &seen, &err) == 0)
        (void)routing_escalations_gauges(env, w->db, &err);
    }
    if (err.code != HD_OK && !failing) hd_log_warn("claims.loop_failed", "error", err.msg);
    if (err.code == HD_OK && failing) hd_log_info("claims.loop_recovered");
    failing = err.code != HD_OK;
    if (hd_svc_sleep(failing ? HD_US_PER_S : ROUTING_CLAIM_EXPIRE_POLL_US, stop)) break;
  }
}
