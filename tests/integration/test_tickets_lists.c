/* The lists an agent works from, through ListTickets on the real ticket service: several
 * statuses at once and open only, unassigned (owner none) against any owner, the tickets the
 * caller follows, updated_since at its edges; each read page by page (two a page) oldest and
 * newest first and checked ticket by ticket against what the test made; tokens bound to their
 * filters; bad filters refused; a customer kept to their own tickets whatever the filters. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ticket_fixture.h"

#define OWNER_FILTER(name) HELPDESK__V1__LIST_TICKETS_REQUEST__OWNER_FILTER__OWNER_FILTER_##name
#define SET_MAX            16 /* tickets the set-up makes */
#define LIST_MAX           64 /* tickets a listing read here may have */

/* A ticket as the test made it: what a listing is checked against. */
typedef struct made {
  int64_t id;
  int64_t created_us;
  int64_t updated_us;
  const char *owner; /* "" for none */
  const char *customer;
  Helpdesk__V1__TicketStatus status;
  bool followed_by_agent; /* agent-1 follows it */
} made;

typedef struct world {
  made m[SET_MAX];
  size_t n;
} world;

/* Which made tickets a listing should return. */
typedef bool (*want_fn)(const made *m, const void *arg);

/* ---- helpers ---- */

static hd_code list_call(tf *t, const char *token, const Helpdesk__V1__ListTicketsRequest *r,
                         Helpdesk__V1__ListTicketsResponse **out, hd_err *err) {
  return tf_call(t, "ListTickets", token, &r->base,
                 &helpdesk__v1__list_tickets_response__descriptor, out, err);
}

static int by_created(const void *a, const void *b) {
  const made *x = *(const made *const *)a, *y = *(const made *const *)b;
  if (x->created_us != y->created_us) return x->created_us < y->created_us ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static int by_updated(const void *a, const void *b) {
  const made *x = *(const made *const *)a, *y = *(const made *const *)b;
  if (x->updated_us != y->updated_us) return x->updated_us < y->updated_us ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* Reads every page of r (page size 2) as token; fails the test on an error or a page that is
 * too long; the ids in order into ids (at most LIST_MAX). Returns how many. */
static size_t read_all(tf *t, const char *token, Helpdesk__V1__ListTicketsRequest r, int64_t *ids) {
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 2;
  r.page = &page;
  size_t n = 0;
  for (int pages = 0;; pages++) {
    if (pages > LIST_MAX) fail_msg("the listing does not end");
    Helpdesk__V1__ListTicketsResponse *out = NULL;
    hd_err err = {0};
    const hd_code code = list_call(t, token, &r, &out, &err);
    if (code != HD_OK) fail_msg("ListTickets: %s: %s", hd_code_name(code), err.msg);
    assert_true(out->n_tickets <= 2);
    for (size_t i = 0; i < out->n_tickets; i++) {
      assert_true(n < LIST_MAX);
      assert_string_equal(out->tickets[i]->description, "");
      ids[n++] = out->tickets[i]->id;
    }
    if (!*out->page->next_page_token) break;
    assert_int_equal(out->n_tickets, 2);
    page.page_token = hd_arena_strdup(t->arena, out->page->next_page_token);
  }
  return n;
}

/* Fails the test unless r lists exactly the made tickets want picks, in (create time, id)
 * order (update time with updated_since_us), oldest first and newest first, page by page. */
static void expect_listing_at(const char *file, int line, tf *t, const world *w, const char *token,
                              Helpdesk__V1__ListTicketsRequest r, want_fn want, const void *arg) {
  const made *exp[SET_MAX];
  size_t n_exp = 0;
  for (size_t i = 0; i < w->n; i++)
    if (want(&w->m[i], arg)) exp[n_exp++] = &w->m[i];
  qsort(exp, n_exp, sizeof exp[0], r.updated_since_us > 0 ? by_updated : by_created);
  for (int desc = 0; desc < 2; desc++) {
    r.newest_first = desc;
    int64_t got[LIST_MAX];
    const size_t n = read_all(t, token, r, got);
    bool same = n == n_exp;
    for (size_t i = 0; same && i < n; i++) same = got[i] == exp[desc ? n_exp - 1 - i : i]->id;
    if (!same) {
      char a[512] = "", b[512] = "";
      for (size_t i = 0; i < n; i++)
        snprintf(a + strlen(a), sizeof a - strlen(a), " %" PRId64, got[i]);
      for (size_t i = 0; i < n_exp; i++)
        snprintf(b + strlen(b), sizeof b - strlen(b), " %" PRId64,
                 exp[desc ? n_exp - 1 - i : i]->id);
      fail_msg("%s:%d: %s first: got [%s ] want [%s ]", file, line, desc ? "newest" : "oldest", a,
               b);
    }
  }
}
/* expect_listing(t, w, token, r, want, arg): the caller's line in a failure. */
#define expect_listing(...) expect_listing_at(__FILE__, __LINE__, __VA_ARGS__)

/* Creates a ticket of customer at time created_us (the fixture's clock is set there), gives it
 * owner ("" none) and status, and records it. The clock is left at created_us + 1 s. */
static made *make(tf *t, world *w, int64_t created_us, const char *customer, const char *owner,
                  Helpdesk__V1__TicketStatus status) {
  assert_true(w->n < SET_MAX);
  hd_clock_set(&t->f.clock, created_us);
  Helpdesk__V1__Ticket *tk = tf_create(t, t->agent, customer, "A ticket for the lists");
  if (*owner) tk = tf_assign(t, tk->id, owner);
  tk = tf_set_status(t, tk->id, status);
  made *m = &w->m[w->n++];
  *m = (made){.id = tk->id,
              .created_us = tk->create_time_us,
              .updated_us = tk->update_time_us,
              .owner = owner,
              .customer = customer,
              .status = tk->status};
  assert_int_equal(m->created_us, created_us);
  hd_clock_set(&t->f.clock, created_us + 1000000);
  return m;
}

/* The set-up most tests read: creation order differs from id order (the clock is moved back),
 * two tickets share a creation time, every kind of owner and several statuses. */
static void make_world(tf *t, world *w) {
  const int64_t t0 = tf_now(t);
  memset(w, 0, sizeof *w);
  make(t, w, t0 + 10000000, "cust-1", "agent-1", TF_STATUS(PROCESSING));
  make(t, w, t0 + 5000000, "cust-1", "agent-1", TF_STATUS(PENDING_RESPONSE));
  make(t, w, t0 + 20000000, "cust-2", "agent-1", TF_STATUS(CLOSED));
  make(t, w, t0 + 15000000, "cust-2", "agent-1", TF_STATUS(SUSPENDED));
  make(t, w, t0 + 25000000, "cust-1", "", TF_STATUS(PENDING_RESPONSE));
  make(t, w, t0 + 5000000, "cust-2", "", TF_STATUS(PENDING_RESPONSE)); /* = the 2nd's time */
  make(t, w, t0 + 30000000, "cust-1", "agent-2", TF_STATUS(PROCESSING));
  make(t, w, t0 + 1000000, "cust-1", "agent-1", TF_STATUS(CANCELLED));
  make(t, w, t0 + 2000000, "cust-2", "", TF_STATUS(CANCELLED));
  make(t, w, t0 + 40000000, "cust-1", "agent-1", TF_STATUS(PROCESSING));
  hd_clock_set(&t->f.clock, t0 + 100000000);
}

/* Predicates. */
typedef struct pick {
  unsigned statuses; /* bit per status; 0 = any */
  const char *owner; /* NULL any, "" none, else that owner */
  const char *customer;
  bool followed;
  int64_t since;
} pick;

static bool picks(const made *m, const void *arg) {
  const pick *p = arg;
  if (p->statuses && !(p->statuses & (1u << (unsigned)m->status))) return false;
  if (p->owner && strcmp(p->owner, m->owner) != 0) return false;
  if (p->customer && strcmp(p->customer, m->customer) != 0) return false;
  if (p->followed && !m->followed_by_agent) return false;
  if (p->since && m->updated_us < p->since) return false;
  return true;
}

#define BIT(name) (1u << (unsigned)TF_STATUS(name))
#define OPEN_BITS                                                                    \
  (BIT(PENDING_RESPONSE) | BIT(PROCESSING) | BIT(PENDING_FEEDBACK) | BIT(FEEDBACK) | \
   BIT(TO_BE_CONFIRMED) | BIT(SUSPENDED))

/* ---- statuses ---- */

static void test_statuses_list_exactly_the_named_statuses_oldest_first_across_pages(void **state) {
  tf *t = *state;
  world w;
  make_world(t, &w);
  Helpdesk__V1__TicketStatus st[] = {TF_STATUS(SUSPENDED), TF_STATUS(PROCESSING),
                                     TF_STATUS(SUSPENDED), TF_STATUS(PENDING_RESPONSE)};
  Helpdesk__V1__ListTicketsRequest r = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  r.statuses = st;
  r.n_statuses = 4; /* a repeat counts once */
  expect_listing(t, &w, t->agent, r, picks,
                 &(pick){.statuses = BIT(SUSPENDED) | BIT(PROCESSING) | BIT(PENDING_RESPONSE)});
  /* "My open tickets" the way a portal asks: the owner and the statuses. */
  r.owner_id = "agent-1";
  r.owner_filter = OWNER_FILTER(THIS);
  expect_listing(t, &w, t->agent, r, picks,
                 &(pick){.statuses = BIT(SUSPENDED) | BIT(PROCESSING) | BIT(PENDING_RESPONSE),
                         .owner = "agent-1"});
  /* One status in the list is the older status field. */
  r.n_statuses = 1;
  r.owner_filter = OWNER_FILTER(UNSPECIFIED);
  expect_listing(t, &w, t->agent, r, picks,
                 &(pick){.statuses = BIT(SUSPENDED), .owner = "agent-1"});
  r.n_statuses = 0;
  r.status = TF_STATUS(CANCELLED);
  r.owner_id = "";
  expect_listing(t, &w, t->agent, r, picks, &(pick){.statuses = BIT(CANCELLED)});
}

static void test_every_status_at_once_is_allowed_and_lists_everything(void **state) {
  tf *t = *state;
  world w;
  make_world(t, &w);
  Helpdesk__V1__TicketStatus st[8];
  for (int i = 0; i < 8; i++) st[i] = (Helpdesk__V1__TicketStatus)(i + 1);
  Helpdesk__V1__ListTicketsRequest r = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  r.statuses = st;
  r.n_statuses = 8; /* the limit */
  expect_listing(t, &w, t->agent, r, picks, &(pick){0});
  /* The largest page: every branch of the union read to its limit, one page. */
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 500;
  r.page = &page;
  Helpdesk__V1__ListTicketsResponse *out = NULL;
  tf_expect_ok(list_call(t, t->agent, &r, &out, &t->err), &t->err);
  assert_int_equal(out->n_tickets, w.n);
  assert_string_equal(out->page->next_page_token, "");
}

static void test_open_only_is_every_status_but_closed_and_cancelled(void **state) {
  tf *t = *state;
  world w;
  make_world(t, &w);
  Helpdesk__V1__ListTicketsRequest r = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  r.open_only = true;
  expect_listing(t, &w, t->agent, r, picks, &(pick){.statuses = OPEN_BITS});
  r.owner_id = "agent-1";
  expect_listing(t, &w, t->agent, r, picks, &(pick){.statuses = OPEN_BITS, .owner = "agent-1"});
  r.owner_id = "";
  r.owner_filter = OWNER_FILTER(NONE);
  expect_listing(t, &w, t->agent, r, picks, &(pick){.statuses = OPEN_BITS, .owner = ""});
}

static void test_the_largest_page_of_several_statuses_holds_500_and_continues(void **state) {
  tf *t = *state;
  int64_t ids[501];
  for (size_t i = 0; i < 501; i++) {
    hd_clock_set(&t->f.clock, tf_now(t) + 1000);
    ids[i] = tf_create(t, t->agent, "cust-1", "Many")->id;
  }
  Helpdesk__V1__ListTicketsRequest r = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 500;
  r.page = &page;
  r.open_only = true;
  r.owner_filter = OWNER_FILTER(NONE);
  Helpdesk__V1__ListTicketsResponse *out = NULL;
  tf_expect_ok(list_call(t, t->agent, &r, &out, &t->err), &t->err);
  assert_int_equal(out->n_tickets, 500);
  for (size_t i = 0; i < 500; i++) assert_int_equal(out->tickets[i]->id, ids[i]);
  assert_true(*out->page->next_page_token);
  page.page_token = hd_arena_strdup(t->arena, out->page->next_page_token);
  tf_expect_ok(list_call(t, t->agent, &r, &out, &t->err), &t->err);
  assert_int_equal(out->n_tickets, 1);
  assert_int_equal(out->tickets[0]->id, ids[500]);
  assert_string_equal(out->page->next_page_token, "");
}

/* ---- owners ---- */

static void test_unassigned_is_owner_none_and_any_owner_includes_it(void **state) {
  tf *t = *state;
  world w;
  make_world(t, &w);
  Helpdesk__V1__ListTicketsRequest r = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  r.owner_filter = OWNER_FILTER(NONE);
  expect_listing(t, &w, t->agent, r, picks, &(pick){.owner = ""});
  r.owner_filter = OWNER_FILTER(ANY);
  expect_listing(t, &w, t->agent, r, picks, &(pick){0});
  r.owner_filter = OWNER_FILTER(UNSPECIFIED); /* empty owner_id alone: any, as before */
  expect_listing(t, &w, t->agent, r, picks, &(pick){0});
  r.owner_filter = OWNER_FILTER(THIS);
  r.owner_id = "agent-2";
  expect_listing(t, &w, t->agent, r, picks, &(pick){.owner = "agent-2"});
  /* Assigning takes a ticket out of the unassigned list. */
  const made *m = NULL;
  for (size_t i = 0; i < w.n && !m; i++)
    if (!*w.m[i].owner && w.m[i].status == TF_STATUS(PENDING_RESPONSE)) m = &w.m[i];
  assert_non_null(m);
  tf_assign(t, m->id, "agent-2");
  w.m[m - w.m].owner = "agent-2";
  r.owner_filter = OWNER_FILTER(NONE);
  r.owner_id = "";
  r.open_only = true;
  expect_listing(t, &w, t->agent, r, picks, &(pick){.owner = "", .statuses = OPEN_BITS});
}

/* ---- followed ---- */

static void follow(tf *t, const char *token, int64_t id, bool on) {
  Helpdesk__V1__FollowTicketRequest f = HELPDESK__V1__FOLLOW_TICKET_REQUEST__INIT;
  Helpdesk__V1__UnfollowTicketRequest u = HELPDESK__V1__UNFOLLOW_TICKET_REQUEST__INIT;
  f.ticket_id = u.ticket_id = id;
  tf_must(t, on ? "FollowTicket" : "UnfollowTicket", token, on ? &f.base : &u.base,
          &helpdesk__v1__ticket__descriptor);
}

static void test_followed_only_lists_the_callers_follows_in_creation_order(void **state) {
  tf *t = *state;
  world w;
  make_world(t, &w);
  /* Followed newest first, so the follows' own order is not the listing's. */
  const size_t mine[] = {9, 6, 3, 1, 5, 7};
  for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
    follow(t, t->agent, w.m[mine[i]].id, true);
    w.m[mine[i]].followed_by_agent = true;
  }
  follow(t, t->agent2, w.m[0].id, true);
  follow(t, t->agent2, w.m[4].id, true);
  Helpdesk__V1__ListTicketsRequest r = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  r.followed_only = true;
  expect_listing(t, &w, t->agent, r, picks, &(pick){.followed = true});
  /* With other filters. */
  r.open_only = true;
  expect_listing(t, &w, t->agent, r, picks, &(pick){.followed = true, .statuses = OPEN_BITS});
  r.open_only = false;
  r.owner_id = "agent-1";
  expect_listing(t, &w, t->agent, r, picks, &(pick){.followed = true, .owner = "agent-1"});
  r.owner_id = "";
  /* Unfollowing takes it out; the followed flag is set on every ticket listed. */
  follow(t, t->agent, w.m[6].id, false);
  w.m[6].followed_by_agent = false;
  expect_listing(t, &w, t->agent, r, picks, &(pick){.followed = true});
  Helpdesk__V1__ListTicketsResponse *out = NULL;
  tf_expect_ok(list_call(t, t->agent, &r, &out, &t->err), &t->err);
  assert_int_equal(out->n_tickets, 5);
  for (size_t i = 0; i < out->n_tickets; i++) assert_true(out->tickets[i]->followed);
  /* Another agent's follows are theirs; an agent who follows nothing gets an empty list. */
  for (size_t i = 0; i < w.n; i++) w.m[i].followed_by_agent = i == 0 || i == 4;
  expect_listing(t, &w, t->agent2, r, picks, &(pick){.followed = true});
  tf_expect_ok(list_call(t, t->lead, &r, &out, &t->err), &t->err);
  assert_int_equal(out->n_tickets, 0);
}

/* ---- updated_since ---- */

static void test_updated_since_includes_its_own_microsecond_and_not_the_one_before(void **state) {
  tf *t = *state;
  world w;
  make_world(t, &w);
  /* Three later changes at known times, in another order than creation. */
  const int64_t t1 = tf_now(t) + 1000000;
  const size_t changed[] = {9, 0, 4};
  for (size_t i = 0; i < 3; i++) {
    hd_clock_set(&t->f.clock, t1 + (int64_t)i * 1000);
    Helpdesk__V1__Ticket *tk = tf_assign(t, w.m[changed[i]].id, "agent-2");
    assert_int_equal(tk->update_time_us, t1 + (int64_t)i * 1000);
    w.m[changed[i]].updated_us = tk->update_time_us;
    w.m[changed[i]].owner = "agent-2";
  }
  Helpdesk__V1__ListTicketsRequest r = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  r.updated_since_us = t1; /* equal: included */
  expect_listing(t, &w, t->agent, r, picks, &(pick){.since = t1});
  int64_t ids[LIST_MAX];
  assert_int_equal(read_all(t, t->agent, r, ids), 3);
  assert_int_equal(ids[0], w.m[9].id); /* oldest change first, whatever the creation order */
  assert_int_equal(ids[2], w.m[4].id);
  r.updated_since_us = t1 + 1; /* one microsecond after the first change: it is out */
  expect_listing(t, &w, t->agent, r, picks, &(pick){.since = t1 + 1});
  assert_int_equal(read_all(t, t->agent, r, ids), 2);
  r.updated_since_us = t1 + 2000; /* the last change's own microsecond */
  assert_int_equal(read_all(t, t->agent, r, ids), 1);
  r.updated_since_us = t1 + 2001;
  assert_int_equal(read_all(t, t->agent, r, ids), 0);
  /* Everything since the first creation; with another filter. */
  r.updated_since_us = w.m[7].created_us;
  expect_listing(t, &w, t->agent, r, picks, &(pick){.since = w.m[7].created_us});
  r.open_only = true;
  expect_listing(t, &w, t->agent, r, picks,
                 &(pick){.since = w.m[7].created_us, .statuses = OPEN_BITS});
}

/* ---- tokens ---- */

/* The first page's token of r (page size 1); fails the test when there is none. */
static char *first_token(tf *t, const char *token, Helpdesk__V1__ListTicketsRequest r) {
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 1;
  r.page = &page;
  Helpdesk__V1__ListTicketsResponse *out = NULL;
  tf_expect_ok(list_call(t, token, &r, &out, &t->err), &t->err);
  assert_true(*out->page->next_page_token);
  return hd_arena_strdup(t->arena, out->page->next_page_token);
}

/* Fails the test unless r continued with tok is refused as another listing's token. */
static void expect_token_refused(tf *t, const char *token, Helpdesk__V1__ListTicketsRequest r,
                                 char *tok) {
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 1;
  page.page_token = tok;
  r.page = &page;
  tf_call_refused(t, "ListTickets", token, &r.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT,
                  "page_token belongs to another listing");
}

static void test_a_token_continues_only_the_listing_of_its_filters(void **state) {
  tf *t = *state;
  world w;
  make_world(t, &w);
  for (size_t i = 0; i < w.n; i++) follow(t, t->agent, w.m[i].id, true);
  Helpdesk__V1__TicketStatus two[] = {TF_STATUS(PROCESSING), TF_STATUS(PENDING_RESPONSE)};
  Helpdesk__V1__TicketStatus swapped[] = {TF_STATUS(PENDING_RESPONSE), TF_STATUS(PROCESSING)};
  Helpdesk__V1__TicketStatus three[] = {TF_STATUS(PROCESSING), TF_STATUS(PENDING_RESPONSE),
                                        TF_STATUS(SUSPENDED)};
  const Helpdesk__V1__ListTicketsRequest plain = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;

  /* statuses: another set is another listing; the same set in another order is the same. */
  Helpdesk__V1__ListTicketsRequest a = plain, b = plain;
  a.statuses = two;
  a.n_statuses = 2;
  char *tok = first_token(t, t->agent, a);
  b.statuses = three;
  b.n_statuses = 3;
  expect_token_refused(t, t->agent, b, tok);
  expect_token_refused(t, t->agent, plain, tok);
  b = plain;
  b.open_only = true;
  expect_token_refused(t, t->agent, b, tok);
  b = plain;
  b.statuses = swapped;
  b.n_statuses = 2;
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 1;
  page.page_token = tok;
  b.page = &page;
  Helpdesk__V1__ListTicketsResponse *out = NULL;
  tf_expect_ok(list_call(t, t->agent, &b, &out, &t->err), &t->err);

  /* unassigned against any owner (both have an empty owner_id). */
  a = plain;
  a.owner_filter = OWNER_FILTER(NONE);
  tok = first_token(t, t->agent, a);
  expect_token_refused(t, t->agent, plain, tok);
  b = plain;
  b.owner_filter = OWNER_FILTER(ANY);
  expect_token_refused(t, t->agent, b, tok);
  expect_token_refused(t, t->agent, plain, first_token(t, t->agent, a));

  /* followed: not the plain listing, and not another agent's follows. */
  a = plain;
  a.followed_only = true;
  tok = first_token(t, t->agent, a);
  expect_token_refused(t, t->agent, plain, tok);
  expect_token_refused(t, t->agent2, a, tok);

  /* updated_since: another time is another listing. */
  a = plain;
  a.updated_since_us = w.m[7].created_us;
  tok = first_token(t, t->agent, a);
  b = plain;
  b.updated_since_us = w.m[7].created_us + 1;
  expect_token_refused(t, t->agent, b, tok);
  expect_token_refused(t, t->agent, plain, tok);
  /* And the plain listing's token does not continue the updated one (another order). */
  expect_token_refused(t, t->agent, a, first_token(t, t->agent, plain));
}

/* ---- refused filters ---- */

static void expect_list_refused(tf *t, const Helpdesk__V1__ListTicketsRequest *r,
                                const char *msg_part) {
  tf_call_refused(t, "ListTickets", t->agent, &r->base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_INVALID_ARGUMENT, msg_part);
}

static void test_bad_list_filters_are_invalid_argument_naming_the_field(void **state) {
  tf *t = *state;
  tf_create(t, t->customer, NULL, "One ticket");
  const Helpdesk__V1__ListTicketsRequest plain = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  Helpdesk__V1__ListTicketsRequest r = plain;
  Helpdesk__V1__TicketStatus st[9];
  for (int i = 0; i < 9; i++) st[i] = TF_STATUS(PROCESSING);

  st[1] = (Helpdesk__V1__TicketStatus)42;
  r.statuses = st;
  r.n_statuses = 2;
  expect_list_refused(t, &r, "statuses[1] has no value 42");
  st[1] = TF_STATUS(UNSPECIFIED);
  expect_list_refused(t, &r, "statuses[1] is required");
  st[1] = TF_STATUS(PROCESSING);
  r.n_statuses = 9; /* one past the limit, even of repeats */
  expect_list_refused(t, &r, "statuses has 9 entries; at most 8 are allowed");
  r.n_statuses = 2;
  r.status = TF_STATUS(CLOSED);
  expect_list_refused(t, &r, "set status or statuses, not both");
  r.status = TF_STATUS(UNSPECIFIED);
  r.open_only = true;
  expect_list_refused(t, &r, "open_only already names the statuses");
  r = plain;
  r.open_only = true;
  r.status = TF_STATUS(PROCESSING);
  expect_list_refused(t, &r, "open_only already names the statuses");

  r = plain;
  r.owner_filter = OWNER_FILTER(NONE);
  r.owner_id = "agent-1";
  expect_list_refused(t, &r, "owner_id is set but owner_filter is OWNER_FILTER_NONE");
  r.owner_filter = OWNER_FILTER(ANY);
  expect_list_refused(t, &r, "owner_id is set but owner_filter is OWNER_FILTER_ANY");
  r.owner_filter = OWNER_FILTER(THIS);
  r.owner_id = "";
  expect_list_refused(t, &r, "owner_id is required with OWNER_FILTER_THIS");
  r.owner_filter = (Helpdesk__V1__ListTicketsRequest__OwnerFilter)7;
  expect_list_refused(t, &r, "owner_filter has no value 7");

  r = plain;
  r.updated_since_us = -1;
  expect_list_refused(t, &r, "updated_since_us must be 0 (any time) or a time");
  r.updated_since_us = 0; /* any time */
  Helpdesk__V1__ListTicketsResponse *out = NULL;
  tf_expect_ok(list_call(t, t->agent, &r, &out, &t->err), &t->err);
  assert_int_equal(out->n_tickets, 1);
}

/* ---- customers ---- */

static void test_a_customer_sees_only_their_own_tickets_whatever_the_filters(void **state) {
  tf *t = *state;
  world w;
  make_world(t, &w);
  Helpdesk__V1__ListTicketsRequest r = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  r.open_only = true;
  expect_listing(t, &w, t->customer, r, picks,
                 &(pick){.customer = "cust-1", .statuses = OPEN_BITS});
  r.open_only = false;
  r.owner_filter = OWNER_FILTER(NONE);
  expect_listing(t, &w, t->customer, r, picks, &(pick){.customer = "cust-1", .owner = ""});
  expect_listing(t, &w, t->customer2, r, picks, &(pick){.customer = "cust-2", .owner = ""});
  r.owner_filter = OWNER_FILTER(UNSPECIFIED);
  r.updated_since_us = w.m[7].created_us;
  expect_listing(t, &w, t->customer, r, picks,
                 &(pick){.customer = "cust-1", .since = w.m[7].created_us});
  /* Followed: a customer follows nothing, and an agent's follows do not show. */
  for (size_t i = 0; i < w.n; i++) follow(t, t->agent, w.m[i].id, true);
  r.updated_since_us = 0;
  r.followed_only = true;
  Helpdesk__V1__ListTicketsResponse *out = NULL;
  tf_expect_ok(list_call(t, t->customer, &r, &out, &t->err), &t->err);
  assert_int_equal(out->n_tickets, 0);
  /* Another customer's id stays refused with every new filter. */
  r.followed_only = false;
  r.open_only = true;
  r.customer_id = "cust-2";
  tf_call_refused(t, "ListTickets", t->customer, &r.base,
                  &helpdesk__v1__list_tickets_response__descriptor, HD_PERMISSION_DENIED,
                  "a customer lists only their own tickets");
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)
      T(test_statuses_list_exactly_the_named_statuses_oldest_first_across_pages),
      T(test_every_status_at_once_is_allowed_and_lists_everything),
      T(test_open_only_is_every_status_but_closed_and_cancelled),
      T(test_the_largest_page_of_several_statuses_holds_500_and_continues),
      T(test_unassigned_is_owner_none_and_any_owner_includes_it),
      T(test_followed_only_lists_the_callers_follows_in_creation_order),
      T(test_updated_since_includes_its_own_microsecond_and_not_the_one_before),
      T(test_a_token_continues_only_the_listing_of_its_filters),
      T(test_bad_list_filters_are_invalid_argument_naming_the_field),
      T(test_a_customer_sees_only_their_own_tickets_whatever_the_filters),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
