/* common/kv queues and claims against a real Redis: oldest first (ties by member), add is
 * idempotent, a leased member is skipped and comes back at its place when released or expired
 * (with a greater fence), renew and release only by the exact holder and fence, a lost fence
 * counter seeded from the floor, a ttl on every lease and fence key, one claim over several
 * queues of a group, and the claim race: eight threads in each of two processes take a queue of
 * 2000 members, each leased exactly once. */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kv/kv.h"
#include "test_env.h"

#define LONG_TTL 600000 /* ms: no lease expires while a test runs */

static hd_kv *kv_open(void) {
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  return kv;
}

/* The integer reply to a command of C-string arguments. */
static int64_t kv_int(hd_kv *kv, int argc, const char **argv) {
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(kv, argc, argv, NULL, false, &r, &err), 0);
  assert_int_equal(r->type, HD_KV_INT);
  const int64_t v = r->integer;
  hd_kv_reply_free(r);
  return v;
}

/* PTTL of key. */
static int64_t pttl(hd_kv *kv, const char *key) {
  const char *argv[] = {"PTTL", key};
  return kv_int(kv, 2, argv);
}

static void del(hd_kv *kv, const char *key) {
  const char *argv[] = {"DEL", key};
  kv_int(kv, 2, argv);
}

/* A fresh group of this process; its keys in buffers of 160 bytes. */
typedef struct qnames {
  char group[64], queue[16], wait[160], leases[160], fence[160];
} qnames;

static void qnames_init(qnames *q, const char *prefix) {
  hd_test_unique(q->group, sizeof q->group, prefix);
  snprintf(q->queue, sizeof q->queue, "TECHNICAL");
  snprintf(q->wait, sizeof q->wait, "{q:%s}:w:%s", q->group, q->queue);
  snprintf(q->leases, sizeof q->leases, "{q:%s}:l:%s", q->group, q->queue);
  snprintf(q->fence, sizeof q->fence, "{q:%s}:fence", q->group);
}

static void qdelete(hd_kv *kv, const qnames *q) {
  del(kv, q->wait);
  del(kv, q->leases);
  del(kv, q->fence);
}

static void add(hd_kv *kv, const qnames *q, const char *member, int64_t created_us) {
  hd_err err = {0};
  bool added = false;
  assert_int_equal(hd_kv_queue_add(kv, q->group, q->queue, member, created_us, &added, &err), 0);
  assert_true(added);
}

/* Claims as holder for ttl_ms (no floor) and fails the test unless something was claimed. */
static hd_kv_claim claim(hd_kv *kv, const qnames *q, const char *holder, int64_t ttl_ms) {
  hd_err err = {0};
  bool claimed = false;
  hd_kv_claim c;
  assert_int_equal(
      hd_kv_queue_claim(kv, q->group, q->queue, holder, ttl_ms, NULL, &claimed, &c, &err), 0);
  assert_true(claimed);
  return c;
}

static void expect_empty(hd_kv *kv, const qnames *q) {
  hd_err err = {0};
  bool claimed = true;
  hd_kv_claim c;
  assert_int_equal(
      hd_kv_queue_claim(kv, q->group, q->queue, "agent-z", LONG_TTL, NULL, &claimed, &c, &err), 0);
  assert_false(claimed);
  assert_int_equal(c.fence, 0);
  assert_string_equal(c.member, "");
}

static void test_claims_go_oldest_first_and_equal_times_by_member(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  qnames q;
  qnames_init(&q, "order");
  add(kv, &q, "t-0003", 3000);
  add(kv, &q, "t-0001", 1000);
  add(kv, &q, "t-0002b", 2000);
  add(kv, &q, "t-0002a", 2000);
  /* Adding again is a no-op that keeps the first time. */
  bool added = true;
  assert_int_equal(hd_kv_queue_add(kv, q.group, q.queue, "t-0001", 9999, &added, &err), 0);
  assert_false(added);

  int64_t depth = 0, age = 0;
  bool has = false;
  assert_int_equal(hd_kv_queue_depth(kv, q.group, q.queue, &depth, &err), 0);
  assert_int_equal(depth, 4);
  assert_int_equal(hd_kv_queue_oldest_age(kv, q.group, q.queue, 61000, &has, &age, &err), 0);
  assert_true(has);
  assert_int_equal(age, 60000);

  const char *want[] = {"t-0001", "t-0002a", "t-0002b", "t-0003"};
  const int64_t created[] = {1000, 2000, 2000, 3000};
  int64_t last_fence = 0;
  for (int i = 0; i < 4; i++) {
    const hd_kv_claim c = claim(kv, &q, "agent-a", LONG_TTL);
    assert_string_equal(c.member, want[i]);
    assert_int_equal(c.created_us, created[i]);
    assert_true(c.fence > last_fence);
    last_fence = c.fence;
  }
  expect_empty(kv, &q);
  /* Leased members still count: they leave the queue when removed. */
  assert_int_equal(hd_kv_queue_depth(kv, q.group, q.queue, &depth, &err), 0);
  assert_int_equal(depth, 4);

  bool removed = false;
  assert_int_equal(hd_kv_queue_remove(kv, q.group, q.queue, "t-0001", &removed, &err), 0);
  assert_true(removed);
  assert_int_equal(hd_kv_queue_remove(kv, q.group, q.queue, "t-0001", &removed, &err), 0);
  assert_false(removed);
  assert_int_equal(hd_kv_queue_oldest_age(kv, q.group, q.queue, 61000, &has, &age, &err), 0);
  assert_int_equal(age, 59000);
  for (int i = 1; i < 4; i++) {
    assert_int_equal(hd_kv_queue_remove(kv, q.group, q.queue, want[i], &removed, &err), 0);
    assert_true(removed);
  }
  assert_int_equal(hd_kv_queue_depth(kv, q.group, q.queue, &depth, &err), 0);
  assert_int_equal(depth, 0);
  assert_int_equal(hd_kv_queue_oldest_age(kv, q.group, q.queue, 61000, &has, &age, &err), 0);
  assert_false(has);
  assert_int_equal(age, 0);
  expect_empty(kv, &q);
  qdelete(kv, &q);
  hd_kv_close(kv);
}

static void test_released_member_is_claimable_again_at_its_place(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  qnames q;
  qnames_init(&q, "release");
  add(kv, &q, "t-1", 100);
  add(kv, &q, "t-2", 200);
  add(kv, &q, "t-3", 300);
  const hd_kv_claim a = claim(kv, &q, "agent-a", LONG_TTL);
  const hd_kv_claim b = claim(kv, &q, "agent-b", LONG_TTL);
  assert_string_equal(a.member, "t-1");
  assert_string_equal(b.member, "t-2");

  /* Only the exact holder with its fence releases; a prefix of the holder is not the holder. */
  bool released = true;
  assert_int_equal(
      hd_kv_queue_release(kv, q.group, q.queue, "t-1", "agent-b", a.fence, &released, &err), 0);
  assert_false(released);
  assert_int_equal(
      hd_kv_queue_release(kv, q.group, q.queue, "t-1", "agent-", a.fence, &released, &err), 0);
  assert_false(released);
  assert_int_equal(
      hd_kv_queue_release(kv, q.group, q.queue, "t-1", "agent-a", b.fence, &released, &err), 0);
  assert_false(released);
  assert_int_equal(
      hd_kv_queue_release(kv, q.group, q.queue, "t-1", "agent-a", a.fence, &released, &err), 0);
  assert_true(released);
  assert_int_equal(
      hd_kv_queue_release(kv, q.group, q.queue, "t-1", "agent-a", a.fence, &released, &err), 0);
  assert_false(released); /* already released */

  /* t-1 is the oldest again, ahead of t-3, and its new claim has a greater fence. */
  const hd_kv_claim c = claim(kv, &q, "agent-c", LONG_TTL);
  assert_string_equal(c.member, "t-1");
  assert_true(c.fence > b.fence);
  /* The first holder's fence no longer holds it. */
  bool held = true;
  assert_int_equal(
      hd_kv_queue_renew(kv, q.group, q.queue, "t-1", "agent-a", a.fence, LONG_TTL, &held, &err), 0);
  assert_false(held);
  assert_string_equal(claim(kv, &q, "agent-d", LONG_TTL).member, "t-3");
  expect_empty(kv, &q);
  qdelete(kv, &q);
  hd_kv_close(kv);
}

static void test_expired_lease_is_taken_again_with_a_greater_fence_and_stale_calls_refused(
    void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  qnames q;
  qnames_init(&q, "expiry");
  add(kv, &q, "t-1", 100);
  add(kv, &q, "t-2", 200);
  const hd_kv_claim a = claim(kv, &q, "agent-a", LONG_TTL);
  assert_string_equal(a.member, "t-1");
  /* Renewed by its holder, to a lease that ends 1 ms later: then it is let go to expire. */
  bool held = false;
  assert_int_equal(
      hd_kv_queue_renew(kv, q.group, q.queue, "t-1", "agent-a", a.fence, 1, &held, &err), 0);
  assert_true(held);

  /* Until t-1's lease expires, claims get t-2; afterwards t-1 again, being older. */
  hd_kv_claim b = {0};
  bool got_t1 = false;
  for (int i = 0; i < 200 && !got_t1; i++) { /* bounded: ~2 s */
    bool claimed = false;
    assert_int_equal(
        hd_kv_queue_claim(kv, q.group, q.queue, "agent-b", LONG_TTL, NULL, &claimed, &b, &err), 0);
    if (claimed && strcmp(b.member, "t-1") == 0) {
      got_t1 = true;
    } else {
      if (claimed) assert_string_equal(b.member, "t-2");
      usleep(10000);
    }
  }
  assert_true(got_t1);
  assert_true(b.fence > a.fence);

  /* The old holder believes it holds t-1: renew and release with its stale fence are refused. */
  held = true;
  assert_int_equal(
      hd_kv_queue_renew(kv, q.group, q.queue, "t-1", "agent-a", a.fence, LONG_TTL, &held, &err), 0);
  assert_false(held);
  bool released = true;
  assert_int_equal(
      hd_kv_queue_release(kv, q.group, q.queue, "t-1", "agent-a", a.fence, &released, &err), 0);
  assert_false(released);
  /* Even the new holder's name with the old fence is refused. */
  assert_int_equal(
      hd_kv_queue_renew(kv, q.group, q.queue, "t-1", "agent-b", a.fence, LONG_TTL, &held, &err), 0);
  assert_false(held);
  assert_int_equal(
      hd_kv_queue_renew(kv, q.group, q.queue, "t-1", "agent-b", b.fence, LONG_TTL, &held, &err), 0);
  assert_true(held);
  assert_int_equal(
      hd_kv_queue_release(kv, q.group, q.queue, "t-1", "agent-b", b.fence, &released, &err), 0);
  assert_true(released);
  qdelete(kv, &q);
  hd_kv_close(kv);
}

typedef struct floor_ctx {
  int64_t floor;
  int calls;
  bool fail;
} floor_ctx;

static int floor_fn(void *ctx, int64_t *floor, hd_err *err) {
  floor_ctx *f = ctx;
  f->calls++;
  if (f->fail) return hd_err_set(err, HD_UNAVAILABLE, "the floor's database is down");
  *floor = f->floor;
  return 0;
}

static void test_lost_fence_counter_is_seeded_from_the_floor(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  qnames q;
  qnames_init(&q, "floor");
  add(kv, &q, "t-1", 100);
  add(kv, &q, "t-2", 200);
  add(kv, &q, "t-3", 300);
  floor_ctx f = {.floor = 500};
  const hd_kv_fence_floor floor = {.fn = floor_fn, .ctx = &f};
  bool claimed = false;
  hd_kv_claim c;
  /* No counter yet: the script refuses, the floor is asked once, the claim draws above it. */
  assert_int_equal(
      hd_kv_queue_claim(kv, q.group, q.queue, "agent-a", LONG_TTL, &floor, &claimed, &c, &err), 0);
  assert_true(claimed);
  assert_int_equal(f.calls, 1);
  assert_int_equal(c.fence, 501);
  /* With a counter, the floor is not asked. */
  assert_int_equal(
      hd_kv_queue_claim(kv, q.group, q.queue, "agent-a", LONG_TTL, &floor, &claimed, &c, &err), 0);
  assert_int_equal(f.calls, 1);
  assert_int_equal(c.fence, 502);

  /* The counter lost (as an expiry or a wipe loses it): a failing floor fails the claim and
   * writes nothing, so t-3 stays free. */
  del(kv, q.fence);
  f.fail = true;
  assert_int_equal(
      hd_kv_queue_claim(kv, q.group, q.queue, "agent-a", LONG_TTL, &floor, &claimed, &c, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  assert_false(claimed);
  assert_int_equal(f.calls, 2);
  const char *exists[] = {"EXISTS", q.fence};
  assert_int_equal(kv_int(kv, 2, exists), 0);
  const char *hlen[] = {"HLEN", q.leases};
  assert_int_equal(kv_int(kv, 2, hlen), 2);

  /* The database has since stored 900: the next token is above it. */
  f.fail = false;
  f.floor = 900;
  assert_int_equal(
      hd_kv_queue_claim(kv, q.group, q.queue, "agent-a", LONG_TTL, &floor, &claimed, &c, &err), 0);
  assert_true(claimed);
  assert_string_equal(c.member, "t-3");
  assert_int_equal(c.fence, 901);

  /* A floor outside 0..2^53-1 is the caller's bug: INTERNAL, nothing claimed. */
  del(kv, q.fence);
  assert_int_equal(hd_kv_queue_release(kv, q.group, q.queue, "t-3", "agent-a", 901, &claimed, &err),
                   0);
  assert_true(claimed); /* released: t-3 is free again */
  f.floor = -1;
  assert_int_equal(
      hd_kv_queue_claim(kv, q.group, q.queue, "agent-a", LONG_TTL, &floor, &claimed, &c, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_false(claimed);

  /* No floor: nothing stores these fences, and a lost counter starts again at 1. */
  assert_int_equal(
      hd_kv_queue_claim(kv, q.group, q.queue, "agent-a", LONG_TTL, NULL, &claimed, &c, &err), 0);
  assert_true(claimed);
  assert_int_equal(c.fence, 1);
  qdelete(kv, &q);
  hd_kv_close(kv);
}

static void test_every_lease_and_fence_key_has_a_ttl(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  qnames q;
  qnames_init(&q, "ttl");
  for (int i = 0; i < 5; i++) {
    char m[16];
    snprintf(m, sizeof m, "t-%d", i);
    add(kv, &q, m, 100 + i);
  }
  const hd_kv_claim a = claim(kv, &q, "agent-a", 10000);
  claim(kv, &q, "agent-b", 20000);
  /* The lease hash lives until its last lease ends (20 s), no longer. */
  int64_t t = pttl(kv, q.leases);
  assert_true(t > 10000 && t <= 20000);
  /* The counter lives its life past the last draw. */
  t = pttl(kv, q.fence);
  assert_true(t > HD_KV_FENCE_LIFE_MS - 60000 && t <= HD_KV_FENCE_LIFE_MS);
  /* A renewal past both extends them; the counter to at least the lease. */
  const int64_t long_ttl = HD_KV_FENCE_LIFE_MS + 3600000;
  bool held = false;
  assert_int_equal(
      hd_kv_queue_renew(kv, q.group, q.queue, a.member, "agent-a", a.fence, long_ttl, &held, &err),
      0);
  assert_true(held);
  t = pttl(kv, q.leases);
  assert_true(t > long_ttl - 60000 && t <= long_ttl);
  t = pttl(kv, q.fence);
  assert_true(t > long_ttl - 60000 && t <= long_ttl);
  /* A shorter claim later never shortens them. */
  claim(kv, &q, "agent-c", 1000);
  assert_true(pttl(kv, q.leases) > long_ttl - 60000);
  assert_true(pttl(kv, q.fence) > long_ttl - 60000);
  /* The queue itself has none: it is the data (kv.h says why), and it empties by removal. */
  assert_int_equal(pttl(kv, q.wait), -1);
  qdelete(kv, &q);
  hd_kv_close(kv);
}

static void test_queue_input_limits(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  qnames q;
  qnames_init(&q, "limits");
  char at_max[HD_KV_MAX_NAME + 1], past_max[HD_KV_MAX_NAME + 2];
  memset(at_max, 'm', sizeof at_max);
  at_max[HD_KV_MAX_NAME] = '\0';
  memset(past_max, 'm', sizeof past_max);
  past_max[HD_KV_MAX_NAME + 1] = '\0';
  bool ok = false;
  hd_kv_claim c;

  /* A member and a holder at the maximum go through, and come back whole. */
  assert_int_equal(hd_kv_queue_add(kv, q.group, q.queue, at_max, 1, &ok, &err), 0);
  assert_true(ok);
  assert_int_equal(hd_kv_queue_claim(kv, q.group, q.queue, at_max, LONG_TTL, NULL, &ok, &c, &err),
                   0);
  assert_true(ok);
  assert_string_equal(c.member, at_max);
  assert_int_equal(
      hd_kv_queue_renew(kv, q.group, q.queue, at_max, at_max, c.fence, LONG_TTL, &ok, &err), 0);
  assert_true(ok);
  assert_int_equal(hd_kv_queue_release(kv, q.group, q.queue, at_max, at_max, c.fence, &ok, &err),
                   0);
  assert_true(ok);

  assert_int_equal(hd_kv_queue_add(kv, q.group, q.queue, past_max, 1, &ok, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_queue_add(kv, q.group, q.queue, "", 1, &ok, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_queue_add(kv, "a{b", q.queue, "m", 1, &ok, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "'{' or '}'"));
  assert_int_equal(hd_kv_queue_add(kv, "a}b", q.queue, "m", 1, &ok, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_queue_add(kv, past_max, q.queue, "m", 1, &ok, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_queue_add(kv, q.group, "", "m", 1, &ok, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  /* Creation times at +-2^53 are taken; one past is refused. */
  assert_int_equal(hd_kv_queue_add(kv, q.group, q.queue, "edge", HD_KV_MAX_DUE_US, &ok, &err), 0);
  assert_int_equal(hd_kv_queue_add(kv, q.group, q.queue, "edge-", -HD_KV_MAX_DUE_US, &ok, &err), 0);
  assert_int_equal(hd_kv_queue_add(kv, q.group, q.queue, "past", HD_KV_MAX_DUE_US + 1, &ok, &err),
                   -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  /* ... and come back exactly. */
  assert_int_equal(hd_kv_queue_claim(kv, q.group, q.queue, "a", LONG_TTL, NULL, &ok, &c, &err), 0);
  assert_string_equal(c.member, "edge-");
  assert_int_equal(c.created_us, -HD_KV_MAX_DUE_US);

  /* ttl 0 and one past the maximum; fence 0. */
  assert_int_equal(hd_kv_queue_claim(kv, q.group, q.queue, "a", 0, NULL, &ok, &c, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(
      hd_kv_queue_claim(kv, q.group, q.queue, "a", HD_KV_MAX_TTL_MS + 1, NULL, &ok, &c, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_queue_claim(kv, q.group, q.queue, "", LONG_TTL, NULL, &ok, &c, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_queue_renew(kv, q.group, q.queue, "m", "a", 0, LONG_TTL, &ok, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_queue_renew(kv, q.group, q.queue, "m", "a", 1, 0, &ok, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_queue_release(kv, q.group, q.queue, "m", "a", 0, &ok, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_queue_release(kv, q.group, q.queue, past_max, "a", 1, &ok, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  qdelete(kv, &q);
  hd_kv_close(kv);
}

static void test_claim_over_several_queues_takes_the_oldest_free_member_of_any(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  qnames a, b;
  qnames_init(&a, "any");
  b = a;
  snprintf(b.queue, sizeof b.queue, "BILLING");
  snprintf(b.wait, sizeof b.wait, "{q:%s}:w:%s", b.group, b.queue);
  snprintf(b.leases, sizeof b.leases, "{q:%s}:l:%s", b.group, b.queue);
  add(kv, &a, "t-a1", 100);
  add(kv, &a, "t-a2", 300);
  add(kv, &b, "t-b1", 200);
  add(kv, &b, "t-b2", 300);
  const char *const queues[] = {a.queue, b.queue, "EMPTY"};
  const char *want[] = {"t-a1", "t-b1", "t-a2", "t-b2"}; /* 300 twice: the queue listed first */
  const size_t from[] = {0, 1, 0, 1};
  int64_t last = 0, fences[4];
  hd_kv_claim c;
  bool claimed = false;
  for (int i = 0; i < 4; i++) {
    assert_int_equal(hd_kv_queue_claim_any(kv, a.group, queues, 3, "agent-a", LONG_TTL, NULL,
                                           &claimed, &c, &err),
                     0);
    assert_true(claimed);
    assert_string_equal(c.member, want[i]);
    assert_int_equal(c.queue, from[i]);
    assert_true(c.fence > last); /* one counter for the group */
    last = fences[i] = c.fence;
  }
  assert_int_equal(
      hd_kv_queue_claim_any(kv, a.group, queues, 3, "agent-a", LONG_TTL, NULL, &claimed, &c, &err),
      0);
  assert_false(claimed);
  /* A member released in one queue is the oldest free again, and its lease is that queue's. */
  bool released = false;
  assert_int_equal(hd_kv_queue_release(kv, b.group, b.queue, "t-b1", "agent-a", 2, &released, &err),
                   0);
  assert_true(released);
  assert_int_equal(
      hd_kv_queue_claim_any(kv, a.group, queues, 3, "agent-b", LONG_TTL, NULL, &claimed, &c, &err),
      0);
  assert_string_equal(c.member, "t-b1");
  assert_int_equal(c.queue, 1);
  bool held = false;
  assert_int_equal(
      hd_kv_queue_renew(kv, b.group, b.queue, "t-b1", "agent-b", c.fence, LONG_TTL, &held, &err),
      0);
  assert_true(held);

  /* 1..HD_KV_MAX_CLAIM_QUEUES queues. */
  const char *many[HD_KV_MAX_CLAIM_QUEUES + 1];
  for (int i = 0; i <= HD_KV_MAX_CLAIM_QUEUES; i++) many[i] = "EMPTY";
  assert_int_equal(hd_kv_queue_claim_any(kv, a.group, many, HD_KV_MAX_CLAIM_QUEUES, "agent-a",
                                         LONG_TTL, NULL, &claimed, &c, &err),
                   0);
  assert_false(claimed);
  assert_int_equal(hd_kv_queue_claim_any(kv, a.group, many, HD_KV_MAX_CLAIM_QUEUES + 1, "agent-a",
                                         LONG_TTL, NULL, &claimed, &c, &err),
                   -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(
      hd_kv_queue_claim_any(kv, a.group, many, 0, "agent-a", LONG_TTL, NULL, &claimed, &c, &err),
      -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  many[3] = "";
  assert_int_equal(
      hd_kv_queue_claim_any(kv, a.group, many, 4, "agent-a", LONG_TTL, NULL, &claimed, &c, &err),
      -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  qdelete(kv, &a);
  del(kv, b.wait);
  del(kv, b.leases);
  hd_kv_close(kv);
}

/* ---- the claim race: 8 threads in each of 2 processes, 2000 members ---- */

enum { RACE_ENTRIES = 2000, RACE_THREADS = 8, RACE_PROCS = 2 };

/* Shared between the two processes (MAP_SHARED): per member, how often it was claimed and the
 * fence of its (last) claim; per process, claims made and failures. */
typedef struct race_board {
  int claims[RACE_ENTRIES];
  int64_t fence[RACE_ENTRIES];
  int made[RACE_PROCS];
  int failures[RACE_PROCS];
  int total; /* claims of both processes: past twice the entries, a broken claim stops the race */
} race_board;

typedef struct racer {
  const qnames *q;
  race_board *board;
  pthread_barrier_t *start;
  int proc;
  char holder[32];
} racer;

static void *race_main(void *arg) {
  racer *r = arg;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  cfg.timeout_ms = 30000; /* a loaded machine must not turn a slow reply into a failure */
  hd_kv *kv = NULL;
  hd_err err = {0};
  int rc = hd_kv_new(&cfg, &kv, &err);
  if (rc == 0) rc = hd_kv_ping(kv, &err); /* connected before the start line */
  pthread_barrier_wait(r->start);
  while (rc == 0) {
    bool claimed = false;
    hd_kv_claim c;
    rc = hd_kv_queue_claim(kv, r->q->group, r->q->queue, r->holder, LONG_TTL, NULL, &claimed, &c,
                           &err);
    if (rc != 0 || !claimed) break;
    if (__atomic_add_fetch(&r->board->total, 1, __ATOMIC_SEQ_CST) > 2 * RACE_ENTRIES) break;
    const int i = atoi(c.member + 2); /* "e-<i>" */
    if (i < 0 || i >= RACE_ENTRIES) {
      rc = -1;
      break;
    }
    __atomic_fetch_add(&r->board->claims[i], 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&r->board->fence[i], c.fence, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&r->board->made[r->proc], 1, __ATOMIC_SEQ_CST);
  }
  if (rc != 0) {
    fprintf(stderr, "racer %s: %s\n", r->holder, err.msg);
    __atomic_fetch_add(&r->board->failures[r->proc], 1, __ATOMIC_SEQ_CST);
  }
  hd_kv_close(kv);
  return NULL;
}

/* One process's eight racers: waits for the byte on go_fd after writing one on ready_fd. */
static void race_process(const qnames *q, race_board *board, int proc, int ready_fd, int go_fd) {
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, RACE_THREADS + 1);
  racer rs[RACE_THREADS];
  pthread_t th[RACE_THREADS];
  for (int i = 0; i < RACE_THREADS; i++) {
    rs[i] = (racer){.q = q, .board = board, .start = &start, .proc = proc};
    snprintf(rs[i].holder, sizeof rs[i].holder, "agent-p%d-t%d", proc, i);
    pthread_create(&th[i], NULL, race_main, &rs[i]);
  }
  char b = 'r';
  if (write(ready_fd, &b, 1) != 1 || read(go_fd, &b, 1) != 1)
    __atomic_fetch_add(&board->failures[proc], 1, __ATOMIC_SEQ_CST);
  pthread_barrier_wait(&start);
  for (int i = 0; i < RACE_THREADS; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&start);
}

static int cmp_i64(const void *a, const void *b) {
  const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void test_threads_in_two_processes_lease_every_entry_exactly_once(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  qnames q;
  qnames_init(&q, "race");
  for (int i = 0; i < RACE_ENTRIES; i++) {
    char m[16];
    snprintf(m, sizeof m, "e-%d", i);
    add(kv, &q, m, 1000000 + i / 4); /* four members per creation time: ties too */
  }
  race_board *board =
      mmap(NULL, sizeof *board, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(board != MAP_FAILED);
  memset(board, 0, sizeof *board);
  int ready[2], go[2];
  assert_int_equal(pipe(ready), 0);
  assert_int_equal(pipe(go), 0);
  const pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    race_process(&q, board, 1, ready[1], go[0]);
    _exit(0);
  }
  /* The parent's racers start when both processes are connected and waiting. */
  char b = 0;
  assert_int_equal(read(ready[0], &b, 1), 1);
  assert_int_equal(write(go[1], "g", 1), 1);
  int self_ready[2], self_go[2];
  assert_int_equal(pipe(self_ready), 0);
  assert_int_equal(pipe(self_go), 0);
  assert_int_equal(write(self_go[1], "g", 1), 1);
  race_process(&q, board, 0, self_ready[1], self_go[0]);
  int status = -1;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  int claims = 0, doubles = 0, missing = 0;
  int64_t *fences = calloc(RACE_ENTRIES, sizeof *fences);
  assert_non_null(fences);
  for (int i = 0; i < RACE_ENTRIES; i++) {
    claims += board->claims[i];
    if (board->claims[i] > 1) doubles++;
    if (board->claims[i] == 0) missing++;
    fences[i] = board->fence[i];
  }
  qsort(fences, RACE_ENTRIES, sizeof *fences, cmp_i64);
  int repeated_fences = 0;
  for (int i = 1; i < RACE_ENTRIES; i++)
    if (fences[i] == fences[i - 1]) repeated_fences++;
  printf(
      "claim race: processes=%d threads=%d entries=%d claims=%d (parent %d, child %d) "
      "double_claims=%d unclaimed=%d repeated_fences=%d failures=%d\n",
      RACE_PROCS, RACE_PROCS * RACE_THREADS, RACE_ENTRIES, claims, board->made[0], board->made[1],
      doubles, missing, repeated_fences, board->failures[0] + board->failures[1]);
  assert_int_equal(board->failures[0] + board->failures[1], 0);
  assert_int_equal(claims, RACE_ENTRIES);
  assert_int_equal(doubles, 0);
  assert_int_equal(missing, 0);
  assert_int_equal(repeated_fences, 0);
  assert_true(fences[0] >= 1);
  /* Both processes took part. */
  assert_true(board->made[0] > 0 && board->made[1] > 0);
  expect_empty(kv, &q);
  free(fences);
  for (int i = 0; i < 2; i++) {
    close(ready[i]);
    close(go[i]);
    close(self_ready[i]);
    close(self_go[i]);
  }
  munmap(board, sizeof *board);
  qdelete(kv, &q);
  hd_kv_close(kv);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_claims_go_oldest_first_and_equal_times_by_member),
      cmocka_unit_test(test_released_member_is_claimable_again_at_its_place),
      cmocka_unit_test(
          test_expired_lease_is_taken_again_with_a_greater_fence_and_stale_calls_refused),
      cmocka_unit_test(test_lost_fence_counter_is_seeded_from_the_floor),
      cmocka_unit_test(test_every_lease_and_fence_key_has_a_ttl),
      cmocka_unit_test(test_queue_input_limits),
      cmocka_unit_test(test_claim_over_several_queues_takes_the_oldest_free_member_of_any),
      cmocka_unit_test(test_threads_in_two_processes_lease_every_entry_exactly_once),
  };
  return cmocka_run_group_tests_name("kv_queue", tests, NULL, NULL);
}
