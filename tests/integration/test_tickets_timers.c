/* Durable ticket timers driven by the fixture's manual clock: the follow-ups the system sends to
 * a silent customer, the move to TO_BE_CONFIRMED after the last one, the auto-close after the
 * configured silence, a customer's reply stopping it all, and timers that still fire after the
 * Redis wake-ups are deleted or the service restarts. The loop polls Redis every 50 ms here;
 * tests wait for it with a bounded poll (at most 5 s), never by sleeping out an interval.
 * tickets_timers_fire_due is also called directly at chosen times (on its own connections).
 *
 * Tickets are opened with CreateTicket and assigned with AssignTicket (ticket_fixture); they are
 * read back through ticket_store_get on the test's own connection, which also serves after the
 * restart test gives the service a new port its client does not know. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock/clock.h"
#include "test_env.h"
#include "ticket_call.h"
#include "ticket_fixture.h"
#include "ticket_state.h"
#include "ticket_store.h"
#include "ticket_timers.h"
#include "tickets_service.h"

#define TENANT       "acme"
#define HOUR_US      (3600LL * HD_US_PER_S)
#define DAY_US       (24 * HOUR_US)
#define INTENT(x)    HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_##x
#define PB_STATUS(x) HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_##x

typedef struct lt {
  tf t;
  hd_worker w; /* the test's own connections: setup, checks, direct tickets_timers_fire_due */
} lt;

/* ---- fixture (one service per test: the clock and the timers are the service's) ---- */

static int setup(void **state) {
  setenv("HELPDESK_TICKETS_TIMER_POLL", "50ms", 1);
  lt *l = calloc(1, sizeof *l);
  if (!l || tf_start(&l->t) != 0) {
    free(l);
    return -1;
  }
  /* The timers' tests reply without an account verification (test_tickets_verify.c checks it). */
  hd_err verr = {0};
  if (tf_fixture_verification_optional(&l->t.f, "acme", true, &verr) != 0) {
    tf_stop(&l->t);
    free(l);
    return -1;
  }
  l->w.db = tf_db_open(&l->t);
  hd_kv_config kc;
  hd_test_kv_config(&kc);
  hd_err err = {0};
  if (hd_kv_new(&kc, &l->w.kv, &err) != 0) {
    hd_db_close(l->w.db);
    tf_stop(&l->t);
    free(l);
    return -1;
  }
  *state = l;
  return 0;
}

/* The service's wake-up set, for this test's database. */
static void zset_name(lt *l, char *buf, size_t cap) {
  assert_int_equal(tickets_timer_zset(hd_svc_env_of(l->t.f.svc), buf, cap), 0);
}

/* tf_stop deletes the wake-up set too. */
static int teardown(void **state) {
  lt *l = *state;
  hd_kv_close(l->w.kv);
  hd_db_close(l->w.db);
  tf_stop(&l->t);
  free(l);
  return 0;
}

static void advance(lt *l, int64_t us) { hd_clock_advance(&l->t.f.clock, us); }

/* ---- set-up and checks ---- */

/* A PENDING_RESPONSE ticket of cust-1 (opened by them) owned by agent-1. */
static int64_t new_ticket(lt *l) {
  const int64_t id = tf_create(&l->t, l->t.customer, NULL, "Mail bounces")->id;
  tf_assign(&l->t, id, "agent-1");
  return id;
}

/* The ticket as stored, through the store on the test's connection (see the top). */
static Helpdesk__V1__Ticket *get(lt *l, int64_t id) {
  Helpdesk__V1__Ticket *t = NULL;
  hd_err err = {0};
  if (ticket_store_get(l->w.db, TENANT, id, false, l->t.arena, &t, NULL, &err) != 0)
    fail_msg("get ticket %" PRId64 ": %s", id, err.msg);
  return t;
}

/* Polls (every 20 ms, at most 5 s) until the timer loop has brought the ticket to status with
 * follow_ups sent. */
static Helpdesk__V1__Ticket *wait_for(lt *l, int64_t id, Helpdesk__V1__TicketStatus status,
                                      int32_t follow_ups) {
  Helpdesk__V1__Ticket *t = NULL;
  for (int i = 0; i < 250; i++) {
    t = get(l, id);
    if (t->status == status && t->follow_up_count == follow_ups) return t;
    usleep(20000);
  }
  fail_msg("ticket %" PRId64 " stayed in status %d with %d follow-ups (waited for %d with %d)", id,
           (int)t->status, (int)t->follow_up_count, (int)status, (int)follow_ups);
  return NULL;
}

/* How many comments the system wrote on the ticket (its follow-ups). */
static int64_t system_comments(lt *l, int64_t id) {
  return tf_sqlf(&l->t,
                 "SELECT COUNT(*) FROM comments WHERE ticket_id = %" PRId64
                 " AND "
                 "author_id = 'system'",
                 id);
}

/* Gives the loop time for several rounds (50 ms each) to show that it does nothing. */
static void let_the_loop_run(void) { usleep(300000); }

/* ---- calls ---- */

static Helpdesk__V1__Ticket *must_reply(lt *l, int64_t id, Helpdesk__V1__ReplyIntent intent) {
  Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
  req.ticket_id = id;
  req.intent = intent;
  req.body = "Could you send us the bounce message you receive?";
  return ((Helpdesk__V1__ReplyToTicketResponse *)tf_must(
              &l->t, "ReplyToTicket", l->t.agent, &req.base,
              &helpdesk__v1__reply_to_ticket_response__descriptor))
      ->ticket;
}

static Helpdesk__V1__Ticket *must_customer_reply(lt *l, int64_t id) {
  Helpdesk__V1__AddCustomerReplyRequest req = HELPDESK__V1__ADD_CUSTOMER_REPLY_REQUEST__INIT;
  req.ticket_id = id;
  req.body = "Here it is: 550 mailbox unavailable.";
  return ((Helpdesk__V1__AddCustomerReplyResponse *)tf_must(
              &l->t, "AddCustomerReply", l->t.customer, &req.base,
              &helpdesk__v1__add_customer_reply_response__descriptor))
      ->ticket;
}

static Helpdesk__V1__Ticket *must_op(lt *l, const char *rpc, int64_t id) {
  Helpdesk__V1__SuspendTicketRequest suspend = HELPDESK__V1__SUSPEND_TICKET_REQUEST__INIT;
  Helpdesk__V1__ResumeTicketRequest resume = HELPDESK__V1__RESUME_TICKET_REQUEST__INIT;
  suspend.ticket_id = resume.ticket_id = id;
  const ProtobufCMessage *req = strcmp(rpc, "SuspendTicket") == 0 ? &suspend.base : &resume.base;
  return (Helpdesk__V1__Ticket *)tf_must(&l->t, rpc, l->t.agent, req,
                                         &helpdesk__v1__ticket__descriptor);
}

/* tickets_timers_fire_due at at_us on the test's own connections; returns how many fired. */
static size_t fire_due(lt *l, int64_t at_us) {
  size_t fired = 99;
  hd_err err = {0};
  if (tickets_timers_fire_due(hd_svc_env_of(l->t.f.svc), &l->w, at_us, &fired, &err) != 0)
    fail_msg("fire_due: %s", err.msg);
  return fired;
}

/* ---- the loop, on the clock ---- */

static void test_unanswered_request_info_is_followed_up_three_times_then_auto_closed(void **state) {
  lt *l = *state;
  const int64_t id = new_ticket(l);
  const int64_t t0 = tf_now(&l->t);
  Helpdesk__V1__Ticket *t = must_reply(l, id, INTENT(REQUEST_INFO));
  assert_int_equal(t->due_time_us, t0 + DAY_US);

  /* A second before the interval: nothing. */
  advance(l, DAY_US - HD_US_PER_S);
  let_the_loop_run();
  t = get(l, id);
  assert_int_equal(t->status, PB_STATUS(PENDING_FEEDBACK));
  assert_int_equal(t->follow_up_count, 0);
  const int64_t version = t->version;

  advance(l, 2 * HD_US_PER_S);
  t = wait_for(l, id, PB_STATUS(PENDING_FEEDBACK), 1);
  assert_int_equal(t->version, version + 1);
  /* Sent a second late (the clock stepped past the due time): the next is a day after the send. */
  const int64_t sent = t0 + DAY_US + HD_US_PER_S;
  assert_int_equal(t->due_time_us, sent + DAY_US);
  assert_int_equal(tf_sqlf(&l->t,
                           "SELECT COUNT(*) FROM comments WHERE ticket_id = %" PRId64 " AND "
                           "author_id = 'system' AND author_role = 'system' AND body LIKE 'We "
                           "have not heard from you%%(follow-up 1 of 3)'",
                           id),
                   1);

  advance(l, DAY_US);
  t = wait_for(l, id, PB_STATUS(PENDING_FEEDBACK), 2);
  assert_int_equal(t->due_time_us, sent + 2 * DAY_US);

  advance(l, DAY_US);
  t = wait_for(l, id, PB_STATUS(TO_BE_CONFIRMED), 3);
  assert_int_equal(t->due_time_us, sent + 2 * DAY_US + 3 * DAY_US);
  assert_int_equal(tf_sqlf(&l->t,
                           "SELECT COUNT(*) FROM comments WHERE ticket_id = %" PRId64 " AND "
                           "author_id = 'system' AND body LIKE '%%closes by itself in 3 "
                           "days%%(follow-up 3 of 3)'",
                           id),
                   1);

  advance(l, 3 * DAY_US);
  t = wait_for(l, id, PB_STATUS(CLOSED), 3);
  assert_int_equal(t->due_time_us, 0);
  assert_true(t->close_time_us >= t0 + 6 * DAY_US);

  /* The history says the system did it, step by step. */
  static const char *const steps[] = {
      "action = 'FOLLOW_UP' AND field = 'follow_up_count' AND from_value = '0' AND to_value = '1'",
      "action = 'FOLLOW_UP' AND field = 'follow_up_count' AND from_value = '1' AND to_value = '2'",
      "action = 'FOLLOW_UP_LAST' AND field = 'status' AND from_value = 'PENDING_FEEDBACK' AND "
      "to_value = 'TO_BE_CONFIRMED'",
      "action = 'AUTO_CLOSE' AND field = 'status' AND from_value = 'TO_BE_CONFIRMED' AND "
      "to_value = 'CLOSED'",
  };
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
    assert_int_equal(tf_sqlf(&l->t,
                             "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " "
                             "AND actor_id = 'system' AND actor_role = 'system' AND %s",
                             id, steps[i]),
                     1);
  assert_int_equal(tf_sqlf(&l->t,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "actor_id = 'system' AND field = 'comment'",
                           id),
                   3);
  assert_int_equal(tf_sqlf(&l->t,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.auto_closed' AND payload LIKE "
                           "'%%\"actor_id\":\"system\"%%'",
                           id),
                   1);
  assert_int_equal(tf_sqlf(&l->t,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.replied' AND payload LIKE "
                           "'%%\"actor_id\":\"system\"%%'",
                           id),
                   3);
}

static void test_customer_reply_stops_the_follow_ups_and_later_time_changes_nothing(void **state) {
  lt *l = *state;
  const int64_t id = new_ticket(l);
  must_reply(l, id, INTENT(REQUEST_INFO));
  advance(l, DAY_US + HD_US_PER_S);
  wait_for(l, id, PB_STATUS(PENDING_FEEDBACK), 1);

  Helpdesk__V1__Ticket *t = must_customer_reply(l, id);
  assert_int_equal(t->status, PB_STATUS(FEEDBACK));
  assert_int_equal(t->follow_up_count, 0);
  assert_int_equal(t->due_time_us, 0);
  const int64_t version = t->version;

  advance(l, 10 * DAY_US);
  assert_int_equal(fire_due(l, tf_now(&l->t)), 0);
  let_the_loop_run();
  t = get(l, id);
  assert_int_equal(t->status, PB_STATUS(FEEDBACK));
  assert_int_equal(t->follow_up_count, 0);
  assert_int_equal(t->version, version);
  assert_int_equal(system_comments(l, id), 1);
}

static void test_final_answer_closes_by_itself_after_three_days_of_silence(void **state) {
  lt *l = *state;
  const int64_t id = new_ticket(l);
  Helpdesk__V1__Ticket *t = must_reply(l, id, INTENT(FINAL_ANSWER));
  assert_int_equal(t->status, PB_STATUS(TO_BE_CONFIRMED));
  assert_int_equal(t->due_time_us, tf_now(&l->t) + 3 * DAY_US);

  advance(l, 3 * DAY_US - HD_US_PER_S);
  let_the_loop_run();
  assert_int_equal(get(l, id)->status, PB_STATUS(TO_BE_CONFIRMED));

  advance(l, 2 * HD_US_PER_S);
  t = wait_for(l, id, PB_STATUS(CLOSED), 0);
  assert_true(t->close_time_us > 0);
  assert_int_equal(tf_sqlf(&l->t,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.auto_closed'",
                           id),
                   1);
}

static void test_auto_close_fires_by_the_sweep_after_the_redis_wake_ups_are_deleted(void **state) {
  lt *l = *state;
  const int64_t id = new_ticket(l);
  must_reply(l, id, INTENT(FINAL_ANSWER));
  char zset[128];
  zset_name(l, zset, sizeof zset);
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  const char *card[] = {"ZCARD", zset};
  assert_int_equal(hd_kv_cmd(l->w.kv, 2, card, NULL, true, &r, &err), 0);
  assert_int_equal(r->integer, 1); /* the wake-up the reply scheduled */
  hd_kv_reply_free(r);

  tf_delete_wake_ups(&l->t);
  assert_int_equal(hd_kv_cmd(l->w.kv, 2, card, NULL, true, &r, &err), 0);
  assert_int_equal(r->integer, 0);
  hd_kv_reply_free(r);

  /* Nothing in Redis says the ticket is due; MariaDB does, and the sweep (every 30 s of the
   * service's clock) asks it. */
  advance(l, 3 * DAY_US + HD_US_PER_S);
  wait_for(l, id, PB_STATUS(CLOSED), 0);
}

/* Stops the service, moves the clock down_us while nothing runs, and starts it again on the same
 * database and clock (on a new port, which the fixture's client does not know: see the top). */
static void outage(lt *l, int64_t down_us) {
  hd_svc_stop(l->t.f.svc);
  l->t.f.svc = NULL;
  advance(l, down_us);
  const hd_svc_options opts = {
      .listen_addr = "127.0.0.1:0", .clock = &l->t.f.clock, .db_name = l->t.f.db_name};
  hd_err err = {0};
  if (hd_svc_start(&tickets_service_def, &opts, &l->t.f.svc, &err) != 0)
    fail_msg("restart: %s", err.msg);
}

static void test_due_timer_fires_after_a_service_restart_with_redis_wiped(void **state) {
  lt *l = *state;
  const int64_t id = new_ticket(l);
  must_reply(l, id, INTENT(REQUEST_INFO));

  /* Down for two days, and Redis lost its wake-ups meanwhile. */
  tf_delete_wake_ups(&l->t);
  outage(l, 2 * DAY_US);

  /* Two follow-ups fell due while it was down: one is sent now, the next a day after it. */
  Helpdesk__V1__Ticket *t = wait_for(l, id, PB_STATUS(PENDING_FEEDBACK), 1);
  assert_int_equal(t->due_time_us, tf_now(&l->t) + DAY_US);
  let_the_loop_run();
  assert_int_equal(get(l, id)->follow_up_count, 1);
}

/* Prints the ticket's history, a row a line: its time, seconds since from_us, actor, action,
 * field, from -> to. Returns how many rows. */
static size_t print_history(lt *l, int64_t id, int64_t from_us) {
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT created_at_us, action, field, COALESCE(from_value, ''), COALESCE(to_value, ''), "
           "actor_id FROM ticket_history WHERE ticket_id = %" PRId64 " ORDER BY id",
           id);
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  if (hd_db_query(l->w.db, sql, NULL, 0, 100, &rows, &err) != 0) fail_msg("history: %s", err.msg);
  const size_t n = hd_db_rows_count(rows);
  for (size_t i = 0; i < n; i++) {
    const int64_t at = hd_db_i64(rows, i, 0);
    const time_t secs = (time_t)(at / HD_US_PER_S);
    struct tm tm;
    char iso[32];
    gmtime_r(&secs, &tm);
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    print_message("  %s  (+%9" PRId64 " s)  %-7s %-15s %-16s %s -> %s\n", iso,
                  (int64_t)((at - from_us) / HD_US_PER_S), hd_db_str(rows, i, 5, NULL),
                  hd_db_str(rows, i, 1, NULL), hd_db_str(rows, i, 2, NULL),
                  hd_db_str(rows, i, 3, NULL), hd_db_str(rows, i, 4, NULL));
  }
  hd_db_rows_free(rows);
  return n;
}

/* The time of the one history row the system wrote with this action, field and new value (fails
 * the test unless there is exactly one). */
#define STEP_WHERE                                 \
  "FROM ticket_history WHERE ticket_id = %" PRId64 \
  " AND actor_id = 'system' AND action = '%s' "    \
  "AND field = '%s' AND to_value = '%s'"
static int64_t system_step_at(lt *l, int64_t id, const char *action, const char *field,
                              const char *to_value) {
  if (tf_sqlf(&l->t, "SELECT COUNT(*) " STEP_WHERE, id, action, field, to_value) != 1)
    fail_msg("not one %s %s -> %s row of the system", action, field, to_value);
  return tf_sqlf(&l->t, "SELECT created_at_us " STEP_WHERE, id, action, field, to_value);
}

static void test_after_an_outage_silence_is_counted_from_what_was_sent(void **state) {
  lt *l = *state;
  const int64_t id = new_ticket(l);
  const int64_t t0 = tf_now(&l->t);
  must_reply(l, id, INTENT(REQUEST_INFO)); /* follow-ups due t0 + 1d, 2d, 3d; close at 6d */

  /* Down for ten days: past every follow-up's due time and past the auto-close's. */
  outage(l, 10 * DAY_US);
  const int64_t back = tf_now(&l->t);

  /* One follow-up now, not three at once and a close with no silence. */
  Helpdesk__V1__Ticket *t = wait_for(l, id, PB_STATUS(PENDING_FEEDBACK), 1);
  assert_int_equal(t->due_time_us, back + DAY_US);
  let_the_loop_run();
  t = get(l, id);
  assert_int_equal(t->status, PB_STATUS(PENDING_FEEDBACK));
  assert_int_equal(t->follow_up_count, 1);

  /* The next one a full interval after that send, and not a second before. */
  advance(l, DAY_US - HD_US_PER_S);
  let_the_loop_run();
  assert_int_equal(get(l, id)->follow_up_count, 1);
  advance(l, HD_US_PER_S);
  t = wait_for(l, id, PB_STATUS(PENDING_FEEDBACK), 2);
  assert_int_equal(t->due_time_us, back + 2 * DAY_US);

  /* The last one moves it to TO_BE_CONFIRMED; the close comes after the full three days. */
  advance(l, DAY_US);
  t = wait_for(l, id, PB_STATUS(TO_BE_CONFIRMED), 3);
  const int64_t confirmed = back + 2 * DAY_US;
  assert_int_equal(t->due_time_us, confirmed + 3 * DAY_US);
  advance(l, 3 * DAY_US - HD_US_PER_S);
  let_the_loop_run();
  assert_int_equal(get(l, id)->status, PB_STATUS(TO_BE_CONFIRMED));
  advance(l, HD_US_PER_S);
  t = wait_for(l, id, PB_STATUS(CLOSED), 3);

  /* The history says when each step happened. */
  print_message("history of ticket %" PRId64
                " (request for information at +0; service down "
                "from +0 to +%" PRId64 " s):\n",
                id, (int64_t)((back - t0) / HD_US_PER_S));
  assert_true(print_history(l, id, t0) >= 6);
  const int64_t f1 = system_step_at(l, id, "FOLLOW_UP", "follow_up_count", "1");
  const int64_t f2 = system_step_at(l, id, "FOLLOW_UP", "follow_up_count", "2");
  const int64_t f3 = system_step_at(l, id, "FOLLOW_UP_LAST", "status", "TO_BE_CONFIRMED");
  const int64_t closed = system_step_at(l, id, "AUTO_CLOSE", "status", "CLOSED");
  assert_int_equal(f1, back);
  assert_int_equal(f2, back + DAY_US);
  assert_int_equal(f3, back + 2 * DAY_US);
  assert_true(closed - f3 >= 3 * DAY_US);
  assert_int_equal(t->close_time_us, closed);
  assert_int_equal(system_comments(l, id), 3);
}

static void test_resumed_ticket_is_followed_up_again_from_the_resume(void **state) {
  lt *l = *state;
  const int64_t id = new_ticket(l);
  must_reply(l, id, INTENT(REQUEST_INFO));
  must_op(l, "SuspendTicket", id);
  advance(l, 5 * DAY_US);
  assert_int_equal(fire_due(l, tf_now(&l->t)), 0); /* suspended: no timer */
  Helpdesk__V1__Ticket *t = must_op(l, "ResumeTicket", id);
  assert_int_equal(t->status, PB_STATUS(PENDING_FEEDBACK));
  assert_int_equal(t->due_time_us, tf_now(&l->t) + DAY_US);
  advance(l, DAY_US);
  wait_for(l, id, PB_STATUS(PENDING_FEEDBACK), 1);
}

/* ---- tickets_timers_fire_due at chosen times ---- */

static void test_fire_due_counts_the_next_wait_from_the_send_not_from_the_due_time(void **state) {
  lt *l = *state;
  const int64_t t0 = tf_now(&l->t);
  const int64_t a = new_ticket(l);
  const int64_t b = new_ticket(l);
  must_reply(l, a, INTENT(REQUEST_INFO)); /* first follow-up due t0 + 1d */
  must_reply(l, b, INTENT(FINAL_ANSWER)); /* auto-close due t0 + 3d */

  assert_int_equal(fire_due(l, t0 + HOUR_US), 0);

  /* Five minutes late: the next follow-up is a day after this one was sent. */
  const int64_t sent1 = t0 + DAY_US + 5 * 60 * HD_US_PER_S;
  assert_int_equal(fire_due(l, sent1), 1);
  Helpdesk__V1__Ticket *t = get(l, a);
  assert_int_equal(t->follow_up_count, 1);
  assert_int_equal(t->due_time_us, sent1 + DAY_US);

  /* At 100 hours: a's 2nd follow-up (due at 48 h 5 min) and b's auto-close (due 72 h); a's 3rd is
   * due a day after its 2nd was sent, not at once. */
  assert_int_equal(fire_due(l, t0 + 100 * HOUR_US), 2);
  t = get(l, a);
  assert_int_equal(t->status, PB_STATUS(PENDING_FEEDBACK));
  assert_int_equal(t->follow_up_count, 2);
  assert_int_equal(t->due_time_us, t0 + 124 * HOUR_US);
  assert_int_equal(get(l, b)->status, PB_STATUS(CLOSED));
  assert_int_equal(get(l, b)->close_time_us, t0 + 100 * HOUR_US);

  /* The 3rd at 124 h: TO_BE_CONFIRMED, closing three days of silence later (196 h). */
  assert_int_equal(fire_due(l, t0 + 124 * HOUR_US - 1), 0);
  assert_int_equal(fire_due(l, t0 + 124 * HOUR_US), 1);
  t = get(l, a);
  assert_int_equal(t->status, PB_STATUS(TO_BE_CONFIRMED));
  assert_int_equal(t->follow_up_count, 3);
  assert_int_equal(t->due_time_us, t0 + 196 * HOUR_US);
  assert_int_equal(fire_due(l, t0 + 196 * HOUR_US - 1), 0);
  assert_int_equal(fire_due(l, t0 + 196 * HOUR_US), 1);
  assert_int_equal(get(l, a)->status, PB_STATUS(CLOSED));
  assert_int_equal(fire_due(l, t0 + 30 * DAY_US), 0);
}

/* A ticket whose timer cannot be applied (a damaged row) is set aside for an hour instead of
 * failing every batch: the other due tickets still close. */
static void test_a_damaged_ticket_does_not_hold_back_the_other_timers(void **state) {
  lt *l = *state;
  const int64_t t0 = tf_now(&l->t);
  const int64_t bad = new_ticket(l), good = new_ticket(l);
  must_reply(l, bad, INTENT(FINAL_ANSWER)); /* due first */
  hd_clock_advance(&l->t.f.clock, HD_US_PER_S);
  must_reply(l, good, INTENT(FINAL_ANSWER));
  /* a status no release ever wrote: reading the row fails */
  hd_err err = {0};
  char sql[160];
  snprintf(sql, sizeof sql, "UPDATE tickets SET status = 'DAMAGED' WHERE id = %" PRId64, bad);
  assert_int_equal(hd_db_exec(l->w.db, sql, NULL, 0, NULL, NULL, &err), 0);

  const int64_t at = t0 + 4 * DAY_US;
  assert_int_equal(fire_due(l, at), 1);
  assert_int_equal(get(l, good)->status, PB_STATUS(CLOSED));
  assert_int_equal(tf_sqlf(&l->t, "SELECT timer_due_us FROM tickets WHERE id = %" PRId64, bad),
                   at + 3600 * HD_US_PER_S);
}

static void test_fire_due_clears_a_timer_the_status_no_longer_fits(void **state) {
  lt *l = *state;
  const int64_t t0 = tf_now(&l->t);
  const int64_t id = new_ticket(l);
  must_reply(l, id, INTENT(REQUEST_INFO));
  /* Another operation moved the ticket on and left the follow-up timer behind: no RPC does
   * that, so the change goes straight through the store. */
  const ticket_change move = {.action = "TEST_MOVE", .status = TICKET_PROCESSING};
  tf_force_change(&l->t, id, &move);
  const int64_t events =
      tf_sqlf(&l->t, "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64, id);
  const int64_t history =
      tf_sqlf(&l->t, "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64, id);

  assert_int_equal(fire_due(l, t0 + 2 * DAY_US), 1);
  Helpdesk__V1__Ticket *t = get(l, id);
  assert_int_equal(t->status, PB_STATUS(PROCESSING));
  assert_int_equal(t->follow_up_count, 0);
  assert_int_equal(t->due_time_us, 0);
  assert_int_equal(tf_sqlf(&l->t,
                           "SELECT COUNT(*) FROM tickets WHERE id = %" PRId64 " AND timer_kind IS "
                           "NULL",
                           id),
                   1);
  assert_int_equal(tf_sqlf(&l->t, "SELECT COUNT(*) FROM comments WHERE ticket_id = %" PRId64, id),
                   1);
  assert_int_equal(tf_sqlf(&l->t, "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64, id),
                   events);
  assert_int_equal(
      tf_sqlf(&l->t, "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64, id),
      history);
  assert_int_equal(fire_due(l, t0 + 2 * DAY_US), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_unanswered_request_info_is_followed_up_three_times_then_auto_closed, setup,
          teardown),
      cmocka_unit_test_setup_teardown(
          test_customer_reply_stops_the_follow_ups_and_later_time_changes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_final_answer_closes_by_itself_after_three_days_of_silence, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_auto_close_fires_by_the_sweep_after_the_redis_wake_ups_are_deleted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_due_timer_fires_after_a_service_restart_with_redis_wiped,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_resumed_ticket_is_followed_up_again_from_the_resume,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_after_an_outage_silence_is_counted_from_what_was_sent,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_fire_due_counts_the_next_wait_from_the_send_not_from_the_due_time, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_damaged_ticket_does_not_hold_back_the_other_timers,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_fire_due_clears_a_timer_the_status_no_longer_fits, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
