/* Routing's queue scenarios (--target is the routing service; tickets are made on the ticket
 * service at --tickets-target, which routing must call: HELPDESK_TICKETS_TARGET):
 *  - claim: --concurrency agents race ClaimNext on one queue (TECHNICAL of --tenant) filled
 *    beforehand with --prepare tickets; each worker is its own agent (registered with
 *    UpsertAgent, made AVAILABLE, its own token). Afterwards no two claims may have returned the
 *    same ticket, and the ticket service must name each claimed ticket's claimer as its owner.
 *  - queue_latency: from CreateTicket's answer until the ticket waits in its Redis queue (the
 *    sorted set ClaimNext's script takes from), polling the queue's depth. Each worker creates
 *    in a tenant of its own (--tenant "-q" and its index), so the depth it watches moves only
 *    with its own tickets (one, waited for, before the clock starts: the consumer has caught
 *    up). The operation's latency is that wait alone.
 *  - redis_script: the floor of a claim in Redis: the kit's claim script (EVALSHA) on an empty
 *    queue of a group nobody uses, on a connection per worker.
 * Redis is the one the services use (HELPDESK_REDIS_HOST / HELPDESK_REDIS_PORT); routing's
 * queue group is the tenant (services/routing/queues.h), so tenants here must not hold '{', '}'
 * or start with '~'. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_routing_claims.h"
#include "clock/clock.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "kv/kv.h"

#define ROUTING_METHOD(m) "/helpdesk.v1.RoutingService/" m
#define CLAIM_QUEUE       "TECHNICAL"
#define CLAIM_LEASE_S     3600 /* longer than any run: no claim expires back into the queue */
#define CLAIM_CAPACITY    1000 /* the most an agent may hold: 16 agents share 10,000 tickets */
#define QUEUE_WAIT_US     (300 * HD_US_PER_S) /* the longest wait for tickets to be queued */
#define QUEUE_POLL_US     50                  /* pause between two looks at a queue's depth */
#define TOKEN_TTL_S       86400
#define NAME_MAX_LEN      128

/* ---- shared helpers ---- */

static int rc__mint(const bench_opts *o, const char *tenant, const char *user, unsigned roles,
                    char **token, hd_err *err) {
  return hd_auth_mint(o->auth, tenant, user, roles, (int64_t)time(NULL), TOKEN_TTL_S, token, err);
}

/* Creates one ticket queued in CLAIM_QUEUE; *id receives its id. */
static int rc__create(hd_client *tickets, const char *token, const char *key, hd_arena *a,
                      int64_t *id, hd_err *err) {
  Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  req.idempotency_key = (char *)key;
  req.customer_id = "bench-customer";
  req.subject = "The mail server refuses every login";
  req.description = "Since this morning every mailbox answers authentication failed.";
  req.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  req.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL;
  req.department = CLAIM_QUEUE;
  ProtobufCMessage *resp = NULL;
  if (hd_client_call(tickets, "/helpdesk.v1.TicketService/CreateTicket", token, 0, &req.base,
                     &helpdesk__v1__ticket__descriptor, a, &resp, err))
    return -1;
  *id = ((Helpdesk__V1__Ticket *)resp)->id;
  return 0;
}

/* Registers agent_id in CLAIM_QUEUE with CLAIM_CAPACITY and makes them AVAILABLE (token: a
 * supervisor of the agent's tenant). */
static int rc__agent(hd_client *routing, const char *token, const char *agent_id, hd_err *err) {
  hd_arena *a = hd_arena_new(1u << 20);
  int rc = -1;
  if (!a) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  char *departments[] = {CLAIM_QUEUE};
  Helpdesk__V1__UpsertAgentRequest up = HELPDESK__V1__UPSERT_AGENT_REQUEST__INIT;
  up.agent_id = (char *)agent_id;
  up.display_name = "Bench claimer";
  up.n_departments = 1;
  up.departments = departments;
  up.level = HELPDESK__V1__AGENT_LEVEL__AGENT_LEVEL_L1;
  up.capacity = CLAIM_CAPACITY;
  Helpdesk__V1__SetPresenceRequest pr = HELPDESK__V1__SET_PRESENCE_REQUEST__INIT;
  pr.agent_id = (char *)agent_id;
  pr.presence = HELPDESK__V1__PRESENCE__PRESENCE_AVAILABLE;
  ProtobufCMessage *resp = NULL;
  if (hd_client_call(routing, ROUTING_METHOD("UpsertAgent"), token, 0, &up.base,
                     &helpdesk__v1__agent__descriptor, a, &resp, err) ||
      hd_client_call(routing, ROUTING_METHOD("SetPresence"), token, 0, &pr.base,
                     &helpdesk__v1__agent__descriptor, a, &resp, err))
    goto done;
  rc = 0;
done:
  hd_arena_free(a);
  return rc;
}

/* Waits until tenant's CLAIM_QUEUE holds at least want members (QUEUE_WAIT_US at most). */
static int rc__wait_depth(hd_kv *kv, const char *tenant, int64_t want, int64_t *depth,
                          hd_err *err) {
  const int64_t deadline = hd_monotonic_us() + QUEUE_WAIT_US;
  for (;;) {
    if (hd_kv_queue_depth(kv, tenant, CLAIM_QUEUE, depth, err)) return -1;
    if (*depth >= want) return 0;
    if (hd_monotonic_us() > deadline)
      return hd_err_set(err, HD_DEADLINE_EXCEEDED,
                        "queue %s of tenant %s holds %" PRId64 " tickets, %" PRId64
                        " expected: is routing running and pointed at this ticket service "
                        "(HELPDESK_TICKETS_TARGET) and this Redis?",
                        CLAIM_QUEUE, tenant, *depth, want);
    usleep(QUEUE_POLL_US);
  }
}

/* ---- claim ---- */

typedef struct claim_worker {
  char agent_id[NAME_MAX_LEN];
  char *token;     /* the agent's own */
  int64_t *claims; /* ticket ids this worker's claims returned, in order */
  size_t n, cap;
} claim_worker;

typedef struct claim_shared {
  claim_worker *workers; /* one per worker thread */
  unsigned n_workers;
  int64_t *created; /* the tickets prepare made */
  size_t n_created;
} claim_shared;

static void claim_cleanup(void *shared) {
  claim_shared *s = shared;
  if (!s) return;
  for (unsigned i = 0; s->workers && i < s->n_workers; i++) {
    free(s->workers[i].token);
    free(s->workers[i].claims);
  }
  free(s->workers);
  free(s->created);
  free(s);
}

/* Registers the agents, creates the tickets and waits until the queue holds them. Caller frees
 * *shared with claim_cleanup. */
static int claim_prepare(const bench_opts *o, hd_client *routing, void **shared, hd_err *err) {
  claim_shared *s = calloc(1, sizeof *s);
  hd_client *tickets = NULL;
  hd_kv *kv = NULL;
  int rc = -1;
  *shared = s;
  if (!s || !(s->workers = calloc(o->concurrency, sizeof *s->workers)) ||
      !(s->created = calloc(o->prepare ? o->prepare : 1, sizeof *s->created))) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  s->n_workers = o->concurrency;
  for (unsigned i = 0; i < o->concurrency; i++) {
    claim_worker *cw = &s->workers[i];
    snprintf(cw->agent_id, sizeof cw->agent_id, "bench-claimer-%ld-%u", (long)getpid(), i);
    if (rc__mint(o, o->tenant, cw->agent_id, HD_ROLE_AGENT, &cw->token, err) ||
        rc__agent(routing, o->token, cw->agent_id, err))
      goto done;
  }
  const hd_client_config cfg = {.target = o->tickets_target};
  int64_t before = 0, depth = 0;
  if (hd_client_new(&cfg, &tickets, err) || bench_kv_open(&kv, err) ||
      hd_kv_queue_depth(kv, o->tenant, CLAIM_QUEUE, &before, err))
    goto done;
  const int64_t t0 = hd_monotonic_us();
  for (uint64_t i = 0; i < o->prepare; i++) {
    char key[96];
    snprintf(key, sizeof key, "bench-claim-%ld-%" PRIu64, (long)getpid(), i);
    hd_arena *a = hd_arena_new(1u << 20);
    const int r = a ? rc__create(tickets, o->token, key, a, &s->created[i], err)
                    : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    hd_arena_free(a);
    if (r) goto done;
    s->n_created++;
  }
  if (rc__wait_depth(kv, o->tenant, before + (int64_t)o->prepare, &depth, err)) goto done;
  fprintf(stderr,
          "hd-bench: %zu tickets created and queued in %s (%" PRId64 " waiting) in %.1f s\n",
          s->n_created, CLAIM_QUEUE, depth, (double)(hd_monotonic_us() - t0) / 1e6);
  rc = 0;
done:
  hd_kv_close(kv);
  hd_client_destroy(tickets);
  return rc;
}

static int claim_op(bench_worker *w, hd_arena *a, hd_err *err) {
  claim_shared *s = w->shared;
  claim_worker *cw = &s->workers[w->index];
  Helpdesk__V1__ClaimNextRequest req = HELPDESK__V1__CLAIM_NEXT_REQUEST__INIT;
  req.department = CLAIM_QUEUE;
  req.lease_seconds = CLAIM_LEASE_S;
  Helpdesk__V1__ClaimNextResponse *resp = NULL;
  if (hd_client_call(w->client, ROUTING_METHOD("ClaimNext"), cw->token, 0, &req.base,
                     &helpdesk__v1__claim_next_response__descriptor, a, (ProtobufCMessage **)&resp,
                     err))
    return -1;
  if (!resp->claim)
    return hd_err_set(err, HD_NOT_FOUND, "ClaimNext returned no ticket: %s", resp->message);
  if (cw->n == cw->cap) {
    const size_t cap = cw->cap ? cw->cap * 2 : 1024;
    int64_t *p = realloc(cw->claims, cap * sizeof *p);
    if (!p) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    cw->claims = p;
    cw->cap = cap;
  }
  cw->claims[cw->n++] = resp->claim->ticket_id;
  return 0;
}

typedef struct claim_seen {
  int64_t ticket_id;
  unsigned worker;
} claim_seen;

static int claim__cmp(const void *x, const void *y) {
  const claim_seen *a = x, *b = y;
  return a->ticket_id < b->ticket_id ? -1 : a->ticket_id > b->ticket_id;
}

static int id__cmp(const void *x, const void *y) {
  const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return a < b ? -1 : a > b;
}

/* Counts tickets two claims returned, then asks the ticket service for the owner of every
 * claimed ticket: it must be the agent whose claim returned it. */
static int claim_finish(const bench_opts *o, hd_client *routing, void *shared, hd_err *err) {
  (void)routing;
  claim_shared *s = shared;
  size_t total = 0, duplicates = 0, owner_ok = 0, owner_wrong = 0, created_claimed = 0;
  for (unsigned i = 0; i < s->n_workers; i++) total += s->workers[i].n;
  claim_seen *all = calloc(total ? total : 1, sizeof *all);
  hd_client *tickets = NULL;
  hd_arena *a = NULL;
  int rc = -1;
  if (!all) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  size_t k = 0;
  for (unsigned i = 0; i < s->n_workers; i++)
    for (size_t j = 0; j < s->workers[i].n; j++)
      all[k++] = (claim_seen){.ticket_id = s->workers[i].claims[j], .worker = i};
  qsort(all, total, sizeof *all, claim__cmp);
  for (size_t i = 1; i < total; i++)
    if (all[i].ticket_id == all[i - 1].ticket_id) duplicates++;
  qsort(s->created, s->n_created, sizeof *s->created, id__cmp);
  const hd_client_config cfg = {.target = o->tickets_target};
  if (hd_client_new(&cfg, &tickets, err)) goto done;
  for (size_t i = 0; i < total; i++) {
    if (bsearch(&all[i].ticket_id, s->created, s->n_created, sizeof *s->created, id__cmp))
      created_claimed++;
    if (!(i % 256)) {
      hd_arena_free(a);
      if (!(a = hd_arena_new(4u << 20))) {
        hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
      }
    }
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    req.ticket_id = all[i].ticket_id;
    ProtobufCMessage *resp = NULL;
    if (hd_client_call(tickets, "/helpdesk.v1.TicketService/GetTicket", o->token, 0, &req.base,
                       &helpdesk__v1__ticket__descriptor, a, &resp, err))
      goto done;
    const char *owner = ((Helpdesk__V1__Ticket *)resp)->owner_id;
    if (strcmp(owner, s->workers[all[i].worker].agent_id) == 0)
      owner_ok++;
    else
      owner_wrong++;
  }
  printf(
      "check=claim agents=%u claims=%zu duplicates=%zu owner_ok=%zu owner_wrong=%zu "
      "created=%zu created_claimed=%zu\n",
      s->n_workers, total, duplicates, owner_ok, owner_wrong, s->n_created, created_claimed);
  if (duplicates || owner_wrong) {
    hd_err_set(err, HD_INTERNAL,
               "%zu tickets were returned by two claims, %zu claimed tickets are owned by "
               "another agent than their claimer",
               duplicates, owner_wrong);
    goto done;
  }
  rc = 0;
done:
  hd_arena_free(a);
  hd_client_destroy(tickets);
  free(all);
  return rc;
}

const bench_scenario bench_claim = {
    .name = "claim",
    .what =
        "RoutingService/ClaimNext: one agent per caller racing on one queue of --prepare "
        "tickets; checks duplicates and owners afterwards",
    .prepare = claim_prepare,
    .op = claim_op,
    .finish = claim_finish,
    .cleanup = claim_cleanup};

/* ---- queue_latency ---- */

typedef struct latency_worker {
  char tenant[NAME_MAX_LEN];
  char *token; /* a service of the worker's tenant */
  hd_client *tickets;
  hd_kv *kv;
  int64_t depth; /* the queue's depth after the worker's last ticket */
} latency_worker;

typedef struct latency_shared {
  latency_worker *workers;
  unsigned n_workers;
} latency_shared;

static void latency_cleanup(void *shared) {
  latency_shared *s = shared;
  if (!s) return;
  for (unsigned i = 0; s->workers && i < s->n_workers; i++) {
    free(s->workers[i].token);
    hd_client_destroy(s->workers[i].tickets);
    hd_kv_close(s->workers[i].kv);
  }
  free(s->workers);
  free(s);
}

/* Each worker's tenant, token, channel to the ticket service and Redis connection. Caller frees
 * *shared with latency_cleanup. */
static int latency_prepare(const bench_opts *o, hd_client *routing, void **shared, hd_err *err) {
  (void)routing;
  latency_shared *s = calloc(1, sizeof *s);
  *shared = s;
  if (!s || !(s->workers = calloc(o->concurrency, sizeof *s->workers)))
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  s->n_workers = o->concurrency;
  const hd_client_config cfg = {.target = o->tickets_target};
  for (unsigned i = 0; i < o->concurrency; i++) {
    latency_worker *lw = &s->workers[i];
    snprintf(lw->tenant, sizeof lw->tenant, "%s-q%u", o->tenant, i);
    if (rc__mint(o, lw->tenant, "bench-agent", HD_ROLE_SERVICE | HD_ROLE_AGENT, &lw->token, err) ||
        hd_client_new(&cfg, &lw->tickets, err) || bench_kv_open(&lw->kv, err) ||
        hd_kv_queue_depth(lw->kv, lw->tenant, CLAIM_QUEUE, &lw->depth, err))
      return -1;
    /* One ticket first, waited for: routing's consumer has caught up with what earlier runs
     * left in the event stream before the clock starts. */
    char key[96];
    int64_t id = 0;
    snprintf(key, sizeof key, "bench-lat-%ld-%u-warm", (long)getpid(), i);
    hd_arena *a = hd_arena_new(1u << 20);
    const int r = a ? rc__create(lw->tickets, lw->token, key, a, &id, err)
                    : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    hd_arena_free(a);
    if (r || rc__wait_depth(lw->kv, lw->tenant, lw->depth + 1, &lw->depth, err)) return -1;
  }
  return 0;
}

static int latency_op(bench_worker *w, hd_arena *a, hd_err *err) {
  latency_shared *s = w->shared;
  latency_worker *lw = &s->workers[w->index];
  char key[96];
  int64_t id = 0, depth = 0;
  snprintf(key, sizeof key, "bench-lat-%ld-%u-%" PRIu64, (long)getpid(), w->index, w->seq);
  if (rc__create(lw->tickets, lw->token, key, a, &id, err)) return -1;
  const int64_t answered = hd_monotonic_us();
  if (rc__wait_depth(lw->kv, lw->tenant, lw->depth + 1, &depth, err)) return -1;
  w->measured_us = hd_monotonic_us() - answered;
  lw->depth = depth;
  return 0;
}

const bench_scenario bench_queue_latency = {
    .name = "queue_latency",
    .what =
        "CreateTicket's answer to the ticket waiting in its Redis queue (routing's consumer), "
        "a tenant per caller",
    .prepare = latency_prepare,
    .op = latency_op,
    .cleanup = latency_cleanup};

/* ---- redis_script ---- */

static int script_op(bench_worker *w, hd_arena *a, hd_err *err) {
  (void)a;
  bench_kv_workers *s = w->shared;
  const char *queues[] = {"empty"};
  bool claimed = false;
  hd_kv_claim out;
  if (hd_kv_queue_claim_any(s->kv[w->index], "hd-bench-floor", queues, 1, "bench", 1000, NULL,
                            &claimed, &out, err))
    return -1;
  if (claimed) return hd_err_set(err, HD_INTERNAL, "the empty floor queue held %s", out.member);
  return 0;
}

const bench_scenario bench_redis_script = {
    .name = "redis_script",
    .what = "the kit's claim script (EVALSHA) on an empty queue: the floor of a claim in Redis",
    .prepare = bench_kv_workers_prepare,
    .op = script_op,
    .cleanup = bench_kv_workers_cleanup};
