/* The ticket service's scenarios: a durable write (create), a read (get), a page oldest first
 * (list, list_status, list_owner; the agent's lists list_my_open, list_unassigned, list_followed,
 * list_updated) and the owner's work loop (workloop). The token's roles are agent + supervisor +
 * service and its user bench-agent (hd_bench.c), so one caller may do all of it. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_tickets.h"
#include "helpdesk/v1/tickets.pb-c.h"

#define TICKETS_METHOD(m) "/helpdesk.v1.TicketService/" m
/* The owner list_owner filters on (bench/load-tickets.sh too). */
#define BENCH_OWNER "bench-owner"
/* The token's user (hd_bench.c): the owner of the workloop's tickets. */
#define BENCH_CALLER "bench-agent"

typedef struct tickets_shared {
  int64_t *ids; /* tickets made by prepare (workloop), in creation order */
  size_t n;
  _Atomic size_t next;    /* the workloop's next ticket */
  int64_t min_id, max_id; /* get: the tenant's id range */
  int64_t since_us;       /* list_updated: the newest ticket's update time less an hour */
} tickets_shared;

static uint64_t bench__rand(bench_worker *w) {
  /* xorshift on the worker's sequence: cheap, different per worker, no shared state. */
  uint64_t x = (w->seq + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)w->index << 32);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

static int create__call(hd_client *c, const char *token, const char *key, hd_arena *a, int64_t *id,
                        hd_err *err) {
  Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  req.idempotency_key = (char *)key;
  req.customer_id = "bench-customer";
  req.subject = "Website returns 500 since the last deploy";
  req.description = "Every page of the shop answers 500 Internal Server Error since 09:00.";
  req.product = "Web Hosting";
  req.brand = "Bench";
  req.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  req.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL;
  ProtobufCMessage *resp = NULL;
  if (hd_client_call(c, TICKETS_METHOD("CreateTicket"), token, 0, &req.base,
                     &helpdesk__v1__ticket__descriptor, a, &resp, err) != 0)
    return -1;
  if (id) *id = ((Helpdesk__V1__Ticket *)resp)->id;
  return 0;
}

/* ---- create ---- */

static int create_op(bench_worker *w, hd_arena *a, hd_err *err) {
  char key[96];
  snprintf(key, sizeof key, "bench-%ld-%u-%" PRIu64, (long)getpid(), w->index, w->seq);
  return create__call(w->client, w->opts->token, key, a, NULL, err);
}

const bench_scenario bench_create = {
    .name = "create",
    .what = "TicketService/CreateTicket: a durable write (ticket, history, outbox)",
    .op = create_op};

/* ---- prepare: tickets made beforehand ---- */

/* Creates o->prepare tickets; caller frees *shared with tickets_cleanup. */
static int tickets_prepare(const bench_opts *o, hd_client *c, void **shared, hd_err *err) {
  tickets_shared *s = calloc(1, sizeof *s);
  if (!s) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  s->ids = o->prepare ? calloc(o->prepare, sizeof *s->ids) : NULL;
  if (o->prepare && !s->ids) {
    free(s);
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  }
  *shared = s;
  for (uint64_t i = 0; i < o->prepare; i++) {
    hd_arena *a = hd_arena_new(1u << 20);
    char key[96];
    snprintf(key, sizeof key, "bench-prep-%ld-%" PRIu64, (long)getpid(), i);
    int rc = a ? create__call(c, o->token, key, a, &s->ids[i], err)
               : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    hd_arena_free(a);
    if (rc) return -1;
    s->n++;
  }
  return 0;
}

static void tickets_cleanup(void *shared) {
  tickets_shared *s = shared;
  if (!s) return;
  free(s->ids);
  free(s);
}

/* The first ticket id of a listing (oldest or newest first). */
static int list__edge(const bench_opts *o, hd_client *c, bool newest, int64_t *id,
                      int64_t *updated_us, hd_err *err) {
  Helpdesk__V1__ListTicketsRequest req = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 1;
  req.page = &page;
  req.newest_first = newest;
  ProtobufCMessage *resp = NULL;
  hd_arena *a = hd_arena_new(1u << 20);
  int rc = -1;
  if (!a) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  if (hd_client_call(c, TICKETS_METHOD("ListTickets"), o->token, 0, &req.base,
                     &helpdesk__v1__list_tickets_response__descriptor, a, &resp, err) != 0)
    goto done;
  const Helpdesk__V1__ListTicketsResponse *r = (const Helpdesk__V1__ListTicketsResponse *)resp;
  if (r->n_tickets == 0) {
    hd_err_set(err, HD_FAILED_PRECONDITION, "tenant %s has no ticket to read", o->tenant);
    goto done;
  }
  *id = r->tickets[0]->id;
  if (updated_us) *updated_us = r->tickets[0]->update_time_us;
  rc = 0;
done:
  hd_arena_free(a);
  return rc;
}

/* ---- get ---- */

/* Creates o->prepare tickets (0: uses what the tenant has, e.g. a loaded million), then reads
 * the tenant's id range: get reads random ids in it. */
static int get_prepare(const bench_opts *o, hd_client *c, void **shared, hd_err *err) {
  if (tickets_prepare(o, c, shared, err)) return -1;
  tickets_shared *s = *shared;
  if (list__edge(o, c, false, &s->min_id, NULL, err) ||
      list__edge(o, c, true, &s->max_id, NULL, err))
    return -1;
  return 0;
}

static int get_op(bench_worker *w, hd_arena *a, hd_err *err) {
  const tickets_shared *s = w->shared;
  Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  req.ticket_id = s->min_id + (int64_t)(bench__rand(w) % (uint64_t)(s->max_id - s->min_id + 1));
  ProtobufCMessage *resp = NULL;
  return hd_client_call(w->client, TICKETS_METHOD("GetTicket"), w->opts->token, 0, &req.base,
                        &helpdesk__v1__ticket__descriptor, a, &resp, err);
}

const bench_scenario bench_get = {
    .name = "get",
    .what = "TicketService/GetTicket of a random ticket of the tenant (a read)",
    .prepare = get_prepare,
    .op = get_op,
    .cleanup = tickets_cleanup};

/* ---- list ---- */

/* The first page of 50 of a listing; req's page is set here. */
static int list__call(bench_worker *w, hd_arena *a, Helpdesk__V1__ListTicketsRequest *req,
                      hd_err *err) {
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 50;
  req->page = &page;
  ProtobufCMessage *resp = NULL;
  return hd_client_call(w->client, TICKETS_METHOD("ListTickets"), w->opts->token, 0, &req->base,
                        &helpdesk__v1__list_tickets_response__descriptor, a, &resp, err);
}

static int list__page(bench_worker *w, hd_arena *a, Helpdesk__V1__TicketStatus status,
                      const char *owner, hd_err *err) {
  Helpdesk__V1__ListTicketsRequest req = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  req.status = status;
  req.owner_id = (char *)(owner ? owner : "");
  return list__call(w, a, &req, err);
}

static int list_op(bench_worker *w, hd_arena *a, hd_err *err) {
  return list__page(w, a, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_UNSPECIFIED, NULL, err);
}
static int list_status_op(bench_worker *w, hd_arena *a, hd_err *err) {
  return list__page(w, a, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING_RESPONSE, NULL, err);
}
static int list_owner_op(bench_worker *w, hd_arena *a, hd_err *err) {
  return list__page(w, a, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_UNSPECIFIED, BENCH_OWNER, err);
}

/* "My open tickets": the owner's tickets in every open status (one index range per status). */
static int list_my_open_op(bench_worker *w, hd_arena *a, hd_err *err) {
  Helpdesk__V1__ListTicketsRequest req = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  req.owner_id = BENCH_OWNER;
  req.owner_filter = HELPDESK__V1__LIST_TICKETS_REQUEST__OWNER_FILTER__OWNER_FILTER_THIS;
  req.open_only = true;
  return list__call(w, a, &req, err);
}

static int list_unassigned_op(bench_worker *w, hd_arena *a, hd_err *err) {
  Helpdesk__V1__ListTicketsRequest req = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  req.owner_filter = HELPDESK__V1__LIST_TICKETS_REQUEST__OWNER_FILTER__OWNER_FILTER_NONE;
  return list__call(w, a, &req, err);
}

/* The tickets the token's user (bench-agent) follows: load-tickets.sh follows every 100th. */
static int list_followed_op(bench_worker *w, hd_arena *a, hd_err *err) {
  Helpdesk__V1__ListTicketsRequest req = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  req.followed_only = true;
  return list__call(w, a, &req, err);
}

/* Reads the newest ticket's update time: list_updated asks for the hour before it. */
static int updated_prepare(const bench_opts *o, hd_client *c, void **shared, hd_err *err) {
  (void)o;
  tickets_shared *s = calloc(1, sizeof *s);
  if (!s) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  *shared = s;
  int64_t id = 0, updated = 0;
  if (list__edge(o, c, true, &id, &updated, err)) return -1;
  s->since_us = updated - 3600 * INT64_C(1000000);
  if (s->since_us < 1) s->since_us = 1;
  return 0;
}

static int list_updated_op(bench_worker *w, hd_arena *a, hd_err *err) {
  const tickets_shared *s = w->shared;
  Helpdesk__V1__ListTicketsRequest req = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  req.updated_since_us = s->since_us;
  return list__call(w, a, &req, err);
}

const bench_scenario bench_list = {
    .name = "list",
    .what = "TicketService/ListTickets: the first page of 50, oldest first",
    .op = list_op};
const bench_scenario bench_list_status = {
    .name = "list_status",
    .what = "ListTickets filtered by status PENDING_RESPONSE: a page of 50, oldest first",
    .op = list_status_op};
const bench_scenario bench_list_owner = {
    .name = "list_owner",
    .what = "ListTickets filtered by owner " BENCH_OWNER ": a page of 50, oldest first",
    .op = list_owner_op};
const bench_scenario bench_list_my_open = {
    .name = "list_my_open",
    .what = "ListTickets: " BENCH_OWNER "'s open tickets (open_only): a page of 50, oldest first",
    .op = list_my_open_op};
const bench_scenario bench_list_unassigned = {
    .name = "list_unassigned",
    .what = "ListTickets: tickets nobody owns (OWNER_FILTER_NONE): a page of 50, oldest first",
    .op = list_unassigned_op};
const bench_scenario bench_list_followed = {
    .name = "list_followed",
    .what = "ListTickets: the tickets the caller follows (followed_only): a page of 50",
    .op = list_followed_op};
const bench_scenario bench_list_updated = {
    .name = "list_updated",
    .what = "ListTickets updated_since the newest ticket's update less an hour: a page of 50",
    .prepare = updated_prepare,
    .op = list_updated_op,
    .cleanup = tickets_cleanup};

/* ---- the owner's work loop ---- */

/* The bench tenant's replies go out without an account verification (VerifyTicketAccount asks
 * the accounts service, which this scenario does not run against): UpdateTenantSettings as a
 * tenant_admin minted with the driver's key. The work loop then measures the replies with the
 * gate's one settings read, not a verification per ticket. */
static int workloop__verification_optional(const bench_opts *o, hd_client *c, hd_err *err) {
  char *admin = NULL;
  hd_arena *a = hd_arena_new(1u << 20);
  int rc = a ? hd_auth_mint(o->auth, o->tenant, "bench-admin", HD_ROLE_TENANT_ADMIN,
                            (int64_t)time(NULL), 3600, &admin, err)
             : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  if (rc == 0) {
    Helpdesk__V1__TenantSettings s = HELPDESK__V1__TENANT_SETTINGS__INIT;
    s.account_verification_optional = true;
    char *path[] = {"account_verification_optional"};
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    mask.paths = path;
    mask.n_paths = 1;
    Helpdesk__V1__UpdateTenantSettingsRequest req =
        HELPDESK__V1__UPDATE_TENANT_SETTINGS_REQUEST__INIT;
    req.settings = &s;
    req.update_mask = &mask;
    ProtobufCMessage *resp = NULL;
    rc = hd_client_call(c, TICKETS_METHOD("UpdateTenantSettings"), admin, 0, &req.base,
                        &helpdesk__v1__tenant_settings__descriptor, a, &resp, err);
  }
  free(admin);
  hd_arena_free(a);
  return rc;
}

/* tickets_prepare, then each ticket assigned to the caller: a reply by anyone but the owner
 * moves a ticket to FEEDBACK, and an unowned ticket cannot be acknowledged. */
static int workloop_prepare(const bench_opts *o, hd_client *c, void **shared, hd_err *err) {
  if (workloop__verification_optional(o, c, err) || tickets_prepare(o, c, shared, err)) return -1;
  const tickets_shared *s = *shared;
  for (size_t i = 0; i < s->n; i++) {
    hd_arena *a = hd_arena_new(1u << 20);
    if (!a) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    Helpdesk__V1__AssignTicketRequest req = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
    req.ticket_id = s->ids[i];
    req.owner_id = BENCH_CALLER;
    ProtobufCMessage *resp = NULL;
    const int rc = hd_client_call(c, TICKETS_METHOD("AssignTicket"), o->token, 0, &req.base,
                                  &helpdesk__v1__ticket__descriptor, a, &resp, err);
    hd_arena_free(a);
    if (rc) return -1;
  }
  return 0;
}

static int reply__call(bench_worker *w, hd_arena *a, int64_t id, Helpdesk__V1__ReplyIntent intent,
                       const char *body, hd_err *err) {
  Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
  req.ticket_id = id;
  req.intent = intent;
  req.body = (char *)body;
  req.resolved = intent == HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_FINAL_ANSWER;
  ProtobufCMessage *resp = NULL;
  return hd_client_call(w->client, TICKETS_METHOD("ReplyToTicket"), w->opts->token, 0, &req.base,
                        &helpdesk__v1__reply_to_ticket_response__descriptor, a, &resp, err);
}

/* One ticket of those made beforehand: ACKNOWLEDGE, FINAL_ANSWER, CloseTicket. */
static int workloop_op(bench_worker *w, hd_arena *a, hd_err *err) {
  tickets_shared *s = w->shared;
  const size_t i = atomic_fetch_add(&s->next, 1);
  if (i >= s->n)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED,
                      "out of prepared tickets (%zu): raise --prepare or lower --calls", s->n);
  const int64_t id = s->ids[i];
  if (reply__call(w, a, id, HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_ACKNOWLEDGE,
                  "Thanks, I am looking into it now.", err) ||
      reply__call(w, a, id, HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_FINAL_ANSWER,
                  "The PHP version was reset by the deploy; I set it back to 8.2. Fixed.", err))
    return -1;
  Helpdesk__V1__CloseTicketRequest req = HELPDESK__V1__CLOSE_TICKET_REQUEST__INIT;
  req.ticket_id = id;
  ProtobufCMessage *resp = NULL;
  return hd_client_call(w->client, TICKETS_METHOD("CloseTicket"), w->opts->token, 0, &req.base,
                        &helpdesk__v1__ticket__descriptor, a, &resp, err);
}

const bench_scenario bench_workloop = {
    .name = "workloop",
    .what =
        "the owner's loop on tickets made and assigned to it beforehand (--prepare): "
        "ReplyToTicket ACKNOWLEDGE, ReplyToTicket FINAL_ANSWER, CloseTicket",
    .prepare = workloop_prepare,
    .op = workloop_op,
    .cleanup = tickets_cleanup};
