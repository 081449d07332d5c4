/* Routing's claims against real MariaDB, Redis and a real ticket service: the race of many
 * threads in two processes (exactly one winner per ticket, none lost or doubled), leases that
 * expire or are released (the manual clock), renewal, capacity and presence. */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "routing_fixture.h"

#define RACE_TICKETS 400
#define RACE_THREADS 8 /* per process */
#define RACE_AGENTS  (2 * RACE_THREADS)
#define CLAIM        "/helpdesk.v1.RoutingService/ClaimNext"

/* ---- the race ---- */

typedef struct racer {
  hd_client *client;
  const char *token;
  int64_t ids[RACE_TICKETS];
  int n;
  int errors;
  char last_error[HD_ERR_MSG_MAX + 64];
} racer;

static void *racer_run(void *arg) {
  racer *r = arg;
  hd_arena *a = hd_arena_new(1u << 20);
  for (int tries = 0; tries < RACE_TICKETS + 50; tries++) {
    Helpdesk__V1__ClaimNextRequest rq = HELPDESK__V1__CLAIM_NEXT_REQUEST__INIT;
    rq.lease_seconds = 600;
    Helpdesk__V1__ClaimNextResponse *rs = NULL;
    hd_err err = {0};
    if (hd_client_call(r->client, CLAIM, r->token, 0, &rq.base,
                       &helpdesk__v1__claim_next_response__descriptor, a, (ProtobufCMessage **)&rs,
                       &err)) {
      r->errors++;
      snprintf(r->last_error, sizeof r->last_error, "%s: %s", hd_code_name(err.code), err.msg);
      continue;
    }
    if (!rs->claim) break;
    r->ids[r->n++] = rs->claim->ticket_id;
  }
  hd_arena_free(a);
  return NULL;
}

/* Runs n racers on threads, each with its token, through client; fills rs. */
static void race_threads(hd_client *client, char **tokens, racer *rs, int n) {
  pthread_t th[RACE_THREADS];
  for (int i = 0; i < n; i++) {
    rs[i] = (racer){.client = client, .token = tokens[i]};
    pthread_create(&th[i], NULL, racer_run, &rs[i]);
  }
  for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
}

/* The second process (this binary run again: gRPC does not survive fork alone): argv =
 * racer <target> <tokens file> <out file>. Writes "<ticket id>\n" per claim and "E <n>" errors. */
static int racer_main(const char *target, const char *tokens_path, const char *out_path) {
  char *tokens[RACE_THREADS] = {0};
  FILE *in = fopen(tokens_path, "r");
  if (!in) return 2;
  char line[4096];
  for (int i = 0; i < RACE_THREADS && fgets(line, sizeof line, in); i++) {
    line[strcspn(line, "\n")] = '\0';
    tokens[i] = strdup(line);
  }
  fclose(in);
  hd_client *client = NULL;
  hd_err err = {0};
  hd_client_config cc = {.target = target, .default_timeout_us = 20 * HD_US_PER_S};
  if (hd_client_new(&cc, &client, &err)) return 3;
  static racer rs[RACE_THREADS];
  race_threads(client, tokens, rs, RACE_THREADS);
  FILE *out = fopen(out_path, "w");
  int errors = 0;
  for (int i = 0; i < RACE_THREADS; i++) {
    for (int k = 0; k < rs[i].n; k++) fprintf(out, "%" PRId64 "\n", rs[i].ids[k]);
    errors += rs[i].errors;
    if (rs[i].errors) fprintf(stderr, "racer: %s\n", rs[i].last_error);
    free(tokens[i]);
  }
  fprintf(out, "E %d\n", errors);
  fclose(out);
  hd_client_destroy(client);
  return 0;
}

/* The index of ticket id in ids[0..n), or -1 (ids need not be contiguous: on Galera they step
 * by the cluster's size). */
static int64_t race__index(const int64_t *ids, int n, int64_t id) {
  for (int i = 0; i < n; i++)
    if (ids[i] == id) return i;
  return -1;
}

static void test_claim_race_many_threads_two_processes_one_winner_per_ticket(void **state) {
  rf *f = *state;
  static int64_t ids[RACE_TICKETS];
  rf_create_queued(f, ids, RACE_TICKETS);
  char *tokens[RACE_AGENTS];
  for (int i = 0; i < RACE_AGENTS; i++) {
    char agent[32];
    snprintf(agent, sizeof agent, "racer-%02d", i);
    rf_agent(f, agent, "TECHNICAL", 1000, "AVAILABLE");
    tokens[i] = rf_token(f, agent, HD_ROLE_AGENT);
  }
  char tokens_path[64], out_path[64];
  snprintf(tokens_path, sizeof tokens_path, "/tmp/hd-race-tokens-%d", (int)getpid());
  snprintf(out_path, sizeof out_path, "/tmp/hd-race-out-%d", (int)getpid());
  FILE *tk = fopen(tokens_path, "w");
  for (int i = RACE_THREADS; i < RACE_AGENTS; i++) fprintf(tk, "%s\n", tokens[i]);
  fclose(tk);
  const pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    execl("/proc/self/exe", "test_routing_claims", "racer", f->r.target, tokens_path, out_path,
          (char *)NULL);
    _exit(127);
  }
  static racer mine[RACE_THREADS];
  const int64_t t0 = hd_monotonic_us();
  race_threads(f->r.client, tokens, mine, RACE_THREADS);
  int status = 0;
  waitpid(child, &status, 0);
  const int64_t elapsed = hd_monotonic_us() - t0;
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  static int wins[RACE_TICKETS];
  memset(wins, 0, sizeof wins);
  int winners = 0, duplicates = 0, errors = 0, by_parent = 0, by_child = 0;
  for (int i = 0; i < RACE_THREADS; i++) {
    errors += mine[i].errors;
    for (int k = 0; k < mine[i].n; k++) {
      const int64_t idx = race__index(ids, RACE_TICKETS, mine[i].ids[k]);
      assert_true(idx >= 0 && idx < RACE_TICKETS);
      wins[idx]++;
      by_parent++;
    }
  }
  FILE *out = fopen(out_path, "r");
  assert_non_null(out);
  char line[64];
  while (fgets(line, sizeof line, out)) {
    if (line[0] == 'E') {
      errors += atoi(line + 2);
      continue;
    }
    const int64_t idx = race__index(ids, RACE_TICKETS, strtoll(line, NULL, 10));
    assert_true(idx >= 0 && idx < RACE_TICKETS);
    wins[idx]++;
    by_child++;
  }
  fclose(out);
  unlink(out_path);
  unlink(tokens_path);
  int lost = 0;
  for (int i = 0; i < RACE_TICKETS; i++) {
    if (wins[i] >= 1) winners++;
    if (wins[i] > 1) duplicates += wins[i] - 1;
    if (wins[i] == 0) lost++;
  }
  print_message(
      "claim race: %d threads in 2 processes (%d agents), %d tickets, %d winners "
      "(parent %d, child %d), duplicates %d, lost %d, errors %d, %.0f claims/s\n",
      2 * RACE_THREADS, RACE_AGENTS, RACE_TICKETS, winners, by_parent, by_child, duplicates, lost,
      errors, (double)RACE_TICKETS * 1e6 / (double)elapsed);
  assert_int_equal(duplicates, 0);
  assert_int_equal(lost, 0);
  assert_int_equal(winners, RACE_TICKETS);
  assert_int_equal(errors, 0);
  /* The ticket service agrees: every ticket is owned by one of the racers, each exactly once. */
  assert_int_equal(tf_sqlf(&f->t, "SELECT COUNT(*) FROM tickets WHERE owner_id LIKE 'racer-%%'"),
                   RACE_TICKETS);
  assert_int_equal(rf_sqlf(f, "SELECT COUNT(*) FROM claims"), RACE_TICKETS);
  assert_int_equal(rf_sqlf(f, "SELECT COUNT(*) FROM routing_tickets WHERE queue <> ''"), 0);
  /* Fences only grow: the highest recorded covers every claim. */
  assert_true(rf_sqlf(f, "SELECT highest_fence FROM claim_fences WHERE tenant = 'acme'") >=
              RACE_TICKETS);
  for (int i = 0; i < RACE_AGENTS; i++) free(tokens[i]);
}

/* ---- leases ---- */

static hd_code renew(rf *f, const char *token, int64_t id, int64_t fence, int64_t lease_s,
                     hd_arena *a, Helpdesk__V1__Claim **out, hd_err *err) {
  Helpdesk__V1__RenewClaimRequest rq = HELPDESK__V1__RENEW_CLAIM_REQUEST__INIT;
  rq.ticket_id = id;
  rq.fence = fence;
  rq.lease_seconds = lease_s;
  return hd_fixture_call(&f->r, "/helpdesk.v1.RoutingService/RenewClaim", token, &rq.base,
                         &helpdesk__v1__claim__descriptor, a, (ProtobufCMessage **)out, err);
}

static hd_code release(rf *f, const char *token, int64_t id, int64_t fence, hd_arena *a,
                       Helpdesk__V1__ReleaseClaimResponse **out, hd_err *err) {
  Helpdesk__V1__ReleaseClaimRequest rq = HELPDESK__V1__RELEASE_CLAIM_REQUEST__INIT;
  rq.ticket_id = id;
  rq.fence = fence;
  rq.reason = "needs another team";
  return hd_fixture_call(&f->r, "/helpdesk.v1.RoutingService/ReleaseClaim", token, &rq.base,
                         &helpdesk__v1__release_claim_response__descriptor, a,
                         (ProtobufCMessage **)out, err);
}

static void test_expired_lease_returns_ticket_to_its_place_and_the_next_claim_fences_it(
    void **state) {
  rf *f = *state;
  int64_t ids[3];
  rf_create_queued(f, ids, 3);
  rf_agent(f, "agent-a", "TECHNICAL", 10, "AVAILABLE");
  rf_agent(f, "agent-b", "TECHNICAL", 10, "AVAILABLE");
  char *ta = rf_token(f, "agent-a", HD_ROLE_AGENT), *tb = rf_token(f, "agent-b", HD_ROLE_AGENT);
  hd_arena *a = hd_arena_new(1u << 20);
  Helpdesk__V1__Claim *c1 = NULL, *c2 = NULL;
  hd_err err;
  assert_int_equal(rf_claim(f, NULL, ta, "", 60, a, &c1, &err), HD_OK);
  assert_non_null(c1);
  assert_int_equal(c1->ticket_id, ids[0]);
  assert_string_equal(c1->department, "TECHNICAL");
  assert_int_equal(c1->expire_time_us, c1->claim_time_us + 60 * HD_US_PER_S);
  assert_string_equal(tf_get(&f->t, f->t.lead, ids[0])->owner_id, "agent-a");
  /* The lease runs out on routing's clock: the ticket waits again, at its place (oldest). */
  hd_clock_advance(&f->r.clock, 61 * HD_US_PER_S);
  assert_int_equal(rf_wait_sql(f, 1,
                               "SELECT COUNT(*) FROM routing_tickets WHERE ticket_id = %" PRId64
                               " AND queue = 'TECHNICAL'",
                               ids[0]),
                   1);
  assert_int_equal(rf_sqlf(f, "SELECT COUNT(*) FROM claims"), 0);
  assert_int_equal(renew(f, ta, ids[0], c1->fence, 0, a, NULL, &err), HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, "expired"));
  assert_int_equal(rf_claim(f, NULL, tb, "", 60, a, &c2, &err), HD_OK);
  assert_non_null(c2);
  assert_int_equal(c2->ticket_id, ids[0]);
  assert_true(c2->fence > c1->fence);
  assert_string_equal(tf_get(&f->t, f->t.lead, ids[0])->owner_id, "agent-b");
  assert_int_equal(tf_sqlf(&f->t, "SELECT fence FROM tickets WHERE id = %" PRId64, ids[0]),
                   c2->fence);
  assert_int_equal(
      rf_wait_sql(f, 3, "SELECT COUNT(*) FROM outbox WHERE event_type LIKE 'routing.claim_%%'"),
      3); /* taken, released (expired), taken */
  assert_int_equal(rf_sqlf(f,
                           "SELECT COUNT(*) FROM outbox WHERE event_type = "
                           "'routing.claim_released' AND payload LIKE '%%\"expired\"%%'"),
                   1);
  hd_arena_free(a);
  free(ta);
  free(tb);
}

static void test_renew_extends_and_release_returns_ticket_by_age(void **state) {
  rf *f = *state;
  int64_t ids[2];
  rf_create_queued(f, ids, 2);
  rf_agent(f, "agent-a", "TECHNICAL", 10, "AVAILABLE");
  rf_agent(f, "agent-b", "TECHNICAL", 10, "AVAILABLE");
  char *ta = rf_token(f, "agent-a", HD_ROLE_AGENT), *tb = rf_token(f, "agent-b", HD_ROLE_AGENT);
  hd_arena *a = hd_arena_new(1u << 20);
  Helpdesk__V1__Claim *c1 = NULL, *c2 = NULL, *r = NULL;
  hd_err err;
  assert_int_equal(rf_claim(f, NULL, ta, "", 60, a, &c1, &err), HD_OK);
  assert_int_equal(rf_claim(f, NULL, tb, "", 60, a, &c2, &err), HD_OK);
  assert_int_equal(c1->ticket_id, ids[0]);
  assert_int_equal(c2->ticket_id, ids[1]);
  hd_clock_advance(&f->r.clock, 50 * HD_US_PER_S);
  assert_int_equal(renew(f, tb, ids[0], c1->fence, 0, a, &r, &err), HD_PERMISSION_DENIED);
  assert_int_equal(renew(f, ta, ids[0], c1->fence + 1000, 0, a, &r, &err), HD_FAILED_PRECONDITION);
  assert_int_equal(renew(f, ta, ids[0], 0, 0, a, &r, &err), HD_INVALID_ARGUMENT);
  assert_int_equal(renew(f, ta, ids[0], c1->fence, 3601, a, &r, &err), HD_INVALID_ARGUMENT);
  assert_int_equal(renew(f, ta, ids[0], c1->fence, 120, a, &r, &err), HD_OK);
  assert_int_equal(r->expire_time_us, c1->claim_time_us + 170 * HD_US_PER_S);
  /* Past the first lease, still held: the renewal counts. */
  hd_clock_advance(&f->r.clock, 30 * HD_US_PER_S);
  usleep(600000); /* three rounds of the expiry loop */
  assert_int_equal(rf_sqlf(f, "SELECT COUNT(*) FROM claims WHERE ticket_id = %" PRId64, ids[0]), 1);
  /* Released: back in the queue ahead of the newer ticket (agent-b's lease expired meanwhile and
   * put that one back too). */
  Helpdesk__V1__ReleaseClaimResponse *rel = NULL;
  assert_int_equal(release(f, tb, ids[0], c1->fence, a, &rel, &err), HD_PERMISSION_DENIED);
  assert_int_equal(release(f, ta, ids[0], c1->fence, a, &rel, &err), HD_OK);
  assert_string_equal(rel->department, "TECHNICAL");
  assert_int_equal(release(f, ta, ids[0], c1->fence, a, &rel, &err), HD_FAILED_PRECONDITION);
  assert_int_equal(rf_wait_sql(f, 2, "SELECT COUNT(*) FROM routing_tickets WHERE queue <> ''"), 2);
  Helpdesk__V1__Claim *c3 = NULL;
  assert_int_equal(rf_claim(f, NULL, tb, "", 60, a, &c3, &err), HD_OK);
  assert_int_equal(c3->ticket_id, ids[0]);
  assert_true(c3->fence > c2->fence);
  hd_arena_free(a);
  free(ta);
  free(tb);
}

/* Waits (bounded, 20 s) until the ticket service names owner (""= none) for ticket id. */
static const char *wait_owner(rf *f, int64_t id, const char *owner) {
  const char *now = "";
  for (int i = 0; i < 400; i++) {
    now = tf_get(&f->t, f->t.lead, id)->owner_id;
    if (strcmp(now, owner) == 0) break;
    usleep(50000);
  }
  return now;
}

static void test_released_or_expired_claim_unowns_the_ticket_and_the_next_claim_owns_it(
    void **state) {
  rf *f = *state;
  int64_t ids[2];
  rf_create_queued(f, ids, 2);
  rf_agent(f, "agent-a", "TECHNICAL", 10, "AVAILABLE");
  rf_agent(f, "agent-b", "TECHNICAL", 10, "AVAILABLE");
  char *ta = rf_token(f, "agent-a", HD_ROLE_AGENT), *tb = rf_token(f, "agent-b", HD_ROLE_AGENT);
  hd_arena *a = hd_arena_new(1u << 20);
  Helpdesk__V1__Claim *c1 = NULL, *c2 = NULL, *c3 = NULL;
  hd_err err;
  assert_int_equal(rf_claim(f, NULL, ta, "", 60, a, &c1, &err), HD_OK);
  assert_int_equal(c1->ticket_id, ids[0]);
  assert_string_equal(tf_get(&f->t, f->t.lead, ids[0])->owner_id, "agent-a");
  /* Released: unowned in the ticket service at once, its release fenced by the claim. */
  Helpdesk__V1__ReleaseClaimResponse *rel = NULL;
  assert_int_equal(release(f, ta, ids[0], c1->fence, a, &rel, &err), HD_OK);
  assert_string_equal(rel->department, "TECHNICAL");
  const Helpdesk__V1__Ticket *t = tf_get(&f->t, f->t.lead, ids[0]);
  assert_string_equal(t->owner_id, "");
  assert_int_equal(t->status, TF_STATUS(PENDING_RESPONSE));
  assert_int_equal(tf_sqlf(&f->t,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64
                           " AND action = 'RELEASE' AND field = 'owner_id' AND "
                           "from_value = 'agent-a'",
                           ids[0]),
                   1);
  char like[64];
  snprintf(like, sizeof like, "%%\"fence\":%" PRId64 "%%", c1->fence);
  assert_int_equal(tf_sqlf(&f->t,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64
                           " AND event_type = 'ticket.released' AND payload LIKE '%s'",
                           ids[0], like),
                   1);
  /* The next claim takes it (still the oldest) and makes agent-b its owner; once routing has
   * applied the events so far (an older assignment's event applied after a newer claim ends that
   * claim: ticket_events.c). */
  assert_int_equal(rf_wait_sql(f, 1,
                               "SELECT COUNT(*) FROM consumed_versions WHERE entity = "
                               "'helpdesk:events:tickets|acme|%" PRId64 "' AND version >= %" PRId64,
                               ids[0], t->version),
                   1);
  assert_int_equal(rf_claim(f, NULL, tb, "", 60, a, &c2, &err), HD_OK);
  assert_non_null(c2);
  assert_int_equal(c2->ticket_id, ids[0]);
  assert_string_equal(tf_get(&f->t, f->t.lead, ids[0])->owner_id, "agent-b");
  /* agent-b's lease runs out (once routing has seen the assignment: the release event applied
   * late says unowned until then): the expiry releases it in the ticket service the same way. */
  assert_int_equal(rf_wait_sql(f, 1,
                               "SELECT COUNT(*) FROM consumed_versions WHERE entity = "
                               "'helpdesk:events:tickets|acme|%" PRId64 "' AND version >= %" PRId64,
                               ids[0], c2->ticket_version),
                   1);
  assert_int_equal(rf_sqlf(f,
                           "SELECT COUNT(*) FROM routing_tickets WHERE ticket_id = %" PRId64
                           " AND owner_id = 'agent-b' AND queue = ''",
                           ids[0]),
                   1);
  hd_clock_advance(&f->r.clock, 61 * HD_US_PER_S);
  assert_string_equal(wait_owner(f, ids[0], ""), "");
  assert_int_equal(tf_get(&f->t, f->t.lead, ids[0])->status, TF_STATUS(PENDING_RESPONSE));
  assert_int_equal(rf_wait_sql(f, 1,
                               "SELECT COUNT(*) FROM routing_tickets WHERE ticket_id = %" PRId64
                               " AND queue = 'TECHNICAL' AND owner_id = ''",
                               ids[0]),
                   1);
  assert_int_equal(rf_claim(f, NULL, ta, "", 60, a, &c3, &err), HD_OK);
  assert_non_null(c3);
  assert_int_equal(c3->ticket_id, ids[0]);
  assert_true(c3->fence > c2->fence);
  assert_string_equal(tf_get(&f->t, f->t.lead, ids[0])->owner_id, "agent-a");
  assert_int_equal(tf_events(&f->t, TICKET_EVENT_RELEASED, ids[0]), 2);
  hd_arena_free(a);
  free(ta);
  free(tb);
}

static void test_claim_refused_at_capacity_and_unless_available(void **state) {
  rf *f = *state;
  rf_create_queued(f, NULL, 3);
  rf_agent(f, "agent-a", "TECHNICAL", 1, "AVAILABLE");
  rf_agent(f, "agent-away", "TECHNICAL", 10, "AWAY");
  rf_agent(f, "agent-b", "BILLING", 0, "AVAILABLE"); /* BILLING's default capacity: 10 */
  char *ta = rf_token(f, "agent-a", HD_ROLE_AGENT);
  char *tw = rf_token(f, "agent-away", HD_ROLE_AGENT);
  char *tb = rf_token(f, "agent-b", HD_ROLE_AGENT);
  char *tn = rf_token(f, "nobody", HD_ROLE_AGENT);
  char *tc = rf_token(f, "agent-a", HD_ROLE_CUSTOMER);
  hd_arena *a = hd_arena_new(1u << 20);
  Helpdesk__V1__Claim *c = NULL;
  hd_err err;
  assert_int_equal(rf_claim(f, NULL, tw, "", 0, a, &c, &err), HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, "AWAY"));
  assert_int_equal(rf_claim(f, NULL, tn, "", 0, a, &c, &err), HD_NOT_FOUND);
  assert_int_equal(rf_claim(f, NULL, tc, "", 0, a, &c, &err), HD_PERMISSION_DENIED);
  assert_int_equal(rf_claim(f, NULL, ta, "BILLING", 0, a, &c, &err), HD_PERMISSION_DENIED);
  assert_int_equal(rf_claim(f, NULL, ta, "billing", 0, a, &c, &err), HD_INVALID_ARGUMENT);
  assert_int_equal(rf_claim(f, NULL, ta, "", 3601, a, &c, &err), HD_INVALID_ARGUMENT);
  assert_int_equal(rf_claim(f, NULL, ta, "TECHNICAL", 3600, a, &c, &err), HD_OK);
  assert_non_null(c);
  assert_int_equal(rf_claim(f, NULL, ta, "", 0, a, &c, &err), HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, "at capacity"));
  assert_int_equal(rf_sqlf(f, "SELECT COUNT(*) FROM claims"), 1); /* the refusal wrote nothing */
  /* Nothing waits in BILLING: no claim, a message saying which queue was empty. */
  assert_int_equal(rf_claim(f, NULL, tb, "", 0, a, &c, &err), HD_OK);
  assert_null(c);
  assert_string_equal(err.msg, "no unclaimed ticket in BILLING");
  /* Back AVAILABLE: the agent claims. */
  rf_agent(f, "agent-away", "TECHNICAL", 10, "AVAILABLE");
  assert_int_equal(rf_claim(f, NULL, tw, "", 0, a, &c, &err), HD_OK);
  assert_non_null(c);
  hd_arena_free(a);
  free(ta);
  free(tw);
  free(tb);
  free(tn);
  free(tc);
}

/* The agent's load as GetAgentLoad answers it (as the agent). */
static Helpdesk__V1__AgentLoad *load_of(rf *f, const char *token) {
  Helpdesk__V1__GetAgentLoadRequest rq = HELPDESK__V1__GET_AGENT_LOAD_REQUEST__INIT;
  return (Helpdesk__V1__AgentLoad *)rf_must(f, "GetAgentLoad", token, &rq.base,
                                            &helpdesk__v1__agent_load__descriptor);
}

/* ClaimNext by token until it hands out a ticket (bounded, 10 s): a ticket returned to its queue
 * is in routing's records before it is back in the Redis queue. */
static Helpdesk__V1__Claim *claim_when_back(rf *f, const char *token, hd_arena *a) {
  Helpdesk__V1__Claim *c = NULL;
  hd_err err;
  for (int i = 0; i < 200; i++) {
    assert_int_equal(rf_claim(f, NULL, token, "", 60, a, &c, &err), HD_OK);
    if (c) return c;
    usleep(50000);
  }
  fail_msg("no ticket came back to the queue within 10 s");
  return NULL;
}

static void test_released_or_expired_ticket_no_longer_counts_against_its_last_owner(void **state) {
  rf *f = *state;
  int64_t ids[1];
  rf_create_queued(f, ids, 1);
  rf_agent(f, "agent-a", "TECHNICAL", 1, "AVAILABLE");
  char *ta = rf_token(f, "agent-a", HD_ROLE_AGENT);
  hd_arena *a = hd_arena_new(1u << 20);
  Helpdesk__V1__Claim *c = NULL;
  hd_err err;
  /* Claimed: it counts (in flight or owned), and a second claim is refused at capacity. */
  assert_int_equal(rf_claim(f, NULL, ta, "", 60, a, &c, &err), HD_OK);
  assert_non_null(c);
  assert_int_equal(load_of(f, ta)->load, 1);
  assert_true(load_of(f, ta)->at_capacity);
  Helpdesk__V1__Claim *refused = NULL;
  assert_int_equal(rf_claim(f, NULL, ta, "", 60, a, &refused, &err), HD_FAILED_PRECONDITION);
  assert_non_null(strstr(err.msg, "at capacity"));
  /* Released: back in its queue while the ticket service still names agent-a; it no longer
   * counts, and agent-a may claim again. */
  Helpdesk__V1__ReleaseClaimResponse *rel = NULL;
  assert_int_equal(release(f, ta, ids[0], c->fence, a, &rel, &err), HD_OK);
  assert_int_equal(
      rf_wait_sql(f, 1, "SELECT COUNT(*) FROM routing_tickets WHERE queue = 'TECHNICAL'"), 1);
  Helpdesk__V1__AgentLoad *l = load_of(f, ta);
  assert_int_equal(l->load, 0);
  assert_int_equal(l->open_tickets, 0);
  assert_int_equal(l->n_tickets, 0);
  assert_false(l->at_capacity);
  c = claim_when_back(f, ta, a);
  assert_int_equal(c->ticket_id, ids[0]);
  /* Expired: the same. */
  hd_clock_advance(&f->r.clock, 61 * HD_US_PER_S);
  assert_int_equal(rf_wait_sql(f, 0, "SELECT COUNT(*) FROM claims"), 0);
  assert_int_equal(
      rf_wait_sql(f, 1, "SELECT COUNT(*) FROM routing_tickets WHERE queue = 'TECHNICAL'"), 1);
  assert_int_equal(load_of(f, ta)->load, 0);
  c = claim_when_back(f, ta, a);
  assert_int_equal(c->ticket_id, ids[0]);
  hd_arena_free(a);
  free(ta);
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "racer") == 0) return racer_main(argv[2], argv[3], argv[4]);
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, rf_setup, rf_teardown)
      T(test_claim_race_many_threads_two_processes_one_winner_per_ticket),
      T(test_expired_lease_returns_ticket_to_its_place_and_the_next_claim_fences_it),
      T(test_renew_extends_and_release_returns_ticket_by_age),
      T(test_released_or_expired_ticket_no_longer_counts_against_its_last_owner),
      T(test_released_or_expired_claim_unowns_the_ticket_and_the_next_claim_owns_it),
      T(test_claim_refused_at_capacity_and_unless_available),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
