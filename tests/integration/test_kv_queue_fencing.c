/* Fences keep growing after a Redis wipe: a ticket claimed through common/kv's queue, assigned
 * through the real ticket service with the claim's fence, Redis wiped (FLUSHALL), the ticket
 * claimed again with the floor read from the database: AssignTicket with the new fence is
 * accepted. Without the floor the counter restarts at 1, and the same assignment is refused.
 *
 * The queue lives on a private redis-server this test starts, so its FLUSHALL wipes nothing
 * that other tests (run in parallel) use; the ticket service uses the shared one as always. */
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kv/kv.h"
#include "test_env.h"
#include "ticket_fixture.h"

#define GROUP    "acme"
#define QUEUE    "TECHNICAL"
#define LEASE_MS 60000

static void flushall(hd_test_redis *p) {
  hd_err err = {0};
  const char *argv[] = {"FLUSHALL"};
  assert_int_equal(hd_kv_cmd(p->kv, 1, argv, NULL, false, NULL, &err), 0);
}

/* The floor, as routing will read its own record: here the ticket's stored fence. */
typedef struct ticket_floor {
  tf *t;
  int64_t ticket_id;
  int calls;
} ticket_floor;

static int ticket_floor_fn(void *ctx, int64_t *floor, hd_err *err) {
  (void)err;
  ticket_floor *f = ctx;
  f->calls++;
  *floor = tf_sqlf(f->t, "SELECT fence FROM tickets WHERE id = %" PRId64, f->ticket_id);
  return 0;
}

static int64_t stored_fence(tf *t, int64_t id) {
  return tf_sqlf(t, "SELECT fence FROM tickets WHERE id = %" PRId64, id);
}

/* Puts the ticket in the queue (as routing does when it is created, or rebuilds after a wipe) and
 * claims it; the claim. */
static hd_kv_claim queue_and_claim(hd_test_redis *p, const char *member, int64_t created_us,
                                   const char *agent, const hd_kv_fence_floor *floor) {
  hd_err err = {0};
  bool ok = false;
  assert_int_equal(hd_kv_queue_add(p->kv, GROUP, QUEUE, member, created_us, NULL, &err), 0);
  hd_kv_claim c;
  assert_int_equal(hd_kv_queue_claim(p->kv, GROUP, QUEUE, agent, LEASE_MS, floor, &ok, &c, &err),
                   0);
  assert_true(ok);
  assert_string_equal(c.member, member);
  return c;
}

/* AssignTicket as routing (the service token) with the claim's fence, at the version it saw. */
static hd_code assign(tf *t, int64_t id, const char *owner, int64_t fence) {
  Helpdesk__V1__AssignTicketRequest rq = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  rq.ticket_id = id;
  rq.expected_version = tf_version(t, id);
  rq.owner_id = (char *)owner;
  rq.fence = fence;
  return tf_call(t, "AssignTicket", t->service, &rq.base, &helpdesk__v1__ticket__descriptor, NULL,
                 NULL);
}

/* The ticket's claim is released once its assignment is written (routing then removes it). */
static void release(hd_test_redis *p, const hd_kv_claim *c, const char *agent) {
  hd_err err = {0};
  bool released = false;
  assert_int_equal(
      hd_kv_queue_release(p->kv, GROUP, QUEUE, c->member, agent, c->fence, &released, &err), 0);
  assert_true(released);
}

/* The state of the test: the ticket service and the private Redis, each stopped in teardown,
 * also when the test failed half-way. */
typedef struct fencing {
  void *tf_state;
  hd_test_redis p;
} fencing;

static int fencing_setup(void **state) {
  fencing *x = calloc(1, sizeof *x);
  if (!x || tf_setup(&x->tf_state) != 0) {
    free(x);
    return -1;
  }
  if (hd_test_redis_start(&x->p) != 0) {
    tf_teardown(&x->tf_state);
    free(x);
    return -1;
  }
  *state = x;
  return 0;
}

static int fencing_teardown(void **state) {
  fencing *x = *state;
  if (!x) return 0;
  hd_test_redis_stop(&x->p);
  const int rc = tf_teardown(&x->tf_state);
  free(x);
  return rc;
}

static void test_claim_after_flushall_still_writes_with_the_floor_and_is_refused_without(
    void **state) {
  fencing *x = *state;
  tf *t = x->tf_state;
  hd_test_redis p = x->p;
  const Helpdesk__V1__Ticket *tk = tf_create(t, t->customer, NULL, "Website down");
  char member[32];
  snprintf(member, sizeof member, "%020" PRId64, tk->id);
  ticket_floor tfloor = {.t = t, .ticket_id = tk->id};
  const hd_kv_fence_floor floor = {.fn = ticket_floor_fn, .ctx = &tfloor};

  /* Two claims before the wipe, each written with its fence. The first finds no counter and
   * reads the floor (0: nothing fenced yet). */
  hd_kv_claim c = queue_and_claim(&p, member, tk->create_time_us, "agent-1", &floor);
  assert_int_equal(tfloor.calls, 1);
  assert_int_equal(c.fence, 1);
  tf_expect_ok(assign(t, tk->id, "agent-1", c.fence), &t->err);
  release(&p, &c, "agent-1");
  c = queue_and_claim(&p, member, tk->create_time_us, "agent-2", &floor);
  assert_int_equal(tfloor.calls, 1); /* the counter exists: no database read */
  assert_int_equal(c.fence, 2);
  tf_expect_ok(assign(t, tk->id, "agent-2", c.fence), &t->err);
  release(&p, &c, "agent-2");
  const int64_t before_wipe = stored_fence(t, tk->id);
  assert_int_equal(before_wipe, 2);

  /* Redis is wiped. Without a floor the counter restarts at 1: the ticket refuses the write
   * (fence 1 is not greater than the 2 it stored), and nothing changes. */
  flushall(&p);
  c = queue_and_claim(&p, member, tk->create_time_us, "agent-1", NULL);
  assert_int_equal(c.fence, 1);
  TF_REFUSED(t, HD_ABORTED, assign(t, tk->id, "agent-1", c.fence));
  tf_expect_err_has(t, "fence 1 is not greater than 2");
  assert_int_equal(stored_fence(t, tk->id), before_wipe);
  printf("without the floor: claim fence %" PRId64 " after FLUSHALL, stored %" PRId64
         ": AssignTicket %s\n",
         c.fence, before_wipe, t->err.msg);

  /* Wiped again, and claimed as routing will: the counter is missing, the floor comes from the
   * database, and the fence drawn is above it. The assignment is written. */
  flushall(&p);
  c = queue_and_claim(&p, member, tk->create_time_us, "agent-1", &floor);
  assert_int_equal(tfloor.calls, 2);
  assert_true(c.fence > before_wipe);
  assert_int_equal(c.fence, before_wipe + 1);
  tf_expect_ok(assign(t, tk->id, "agent-1", c.fence), &t->err);
  assert_int_equal(stored_fence(t, tk->id), c.fence);
  const Helpdesk__V1__Ticket *now = tf_get(t, t->supervisor, tk->id);
  assert_string_equal(now->owner_id, "agent-1");
  printf("with the floor: stored %" PRId64 " before FLUSHALL, claim fence %" PRId64
         " after it: AssignTicket OK, stored fence now %" PRId64 "\n",
         before_wipe, c.fence, stored_fence(t, tk->id));

  /* The counter goes on from there, and has a bounded life. */
  release(&p, &c, "agent-1");
  c = queue_and_claim(&p, member, tk->create_time_us, "agent-2", &floor);
  assert_int_equal(c.fence, before_wipe + 2);
  assert_int_equal(tfloor.calls, 2);
  tf_expect_ok(assign(t, tk->id, "agent-2", c.fence), &t->err);
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  const char *pttl[] = {"PTTL", "{q:" GROUP "}:fence"};
  assert_int_equal(hd_kv_cmd(p.kv, 2, pttl, NULL, false, &r, &err), 0);
  assert_true(r->integer > 0 && r->integer <= HD_KV_FENCE_LIFE_MS);
  hd_kv_reply_free(r);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_claim_after_flushall_still_writes_with_the_floor_and_is_refused_without,
          fencing_setup, fencing_teardown),
  };
  return cmocka_run_group_tests_name("kv_queue_fencing", tests, NULL, NULL);
}
