/* common/kv leases against a real Redis: one holder at a time, fencing tokens that only grow,
 * renew and release only by the exact holder and token, expiry, a race of eight threads, the
 * scripts surviving an emptied script cache, and a fence counter with a bounded life that starts
 * above the caller's floor when it was lost. */
#include <pthread.h>
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

static hd_kv *kv_open(void) {
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  return kv;
}

/* The reply to a command of C-string arguments; caller frees. */
static hd_kv_reply *kv_run(hd_kv *kv, int argc, const char **argv) {
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(kv, argc, argv, NULL, false, &r, &err), 0);
  return r;
}

static void test_lease_goes_to_one_holder_and_others_are_refused(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char name[64];
  hd_test_unique(name, sizeof name, "queue_billing");
  bool acquired = false;
  int64_t fence_a = 0, fence_b = 99;
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-a", 60000, NULL, &acquired, &fence_a, &err),
                   0);
  assert_true(acquired);
  assert_true(fence_a >= 1);

  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-b", 60000, NULL, &acquired, &fence_b, &err),
                   0);
  assert_false(acquired);
  assert_int_equal(fence_b, 0);
  /* Not even the holder takes it twice: a lease is not re-entrant. */
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-a", 60000, NULL, &acquired, &fence_b, &err),
                   0);
  assert_false(acquired);

  /* The stored layout others may rely on: "{lease:<name>}" = "<holder>|<fence>", with a ttl. */
  char key[128], want[128];
  snprintf(key, sizeof key, "{lease:%s}", name);
  snprintf(want, sizeof want, "agent-a|%lld", (long long)fence_a);
  const char *get[] = {"GET", key};
  hd_kv_reply *r = kv_run(kv, 2, get);
  assert_int_equal(r->type, HD_KV_STR);
  assert_string_equal(r->str, want);
  hd_kv_reply_free(r);
  const char *pttl[] = {"PTTL", key};
  r = kv_run(kv, 2, pttl);
  assert_true(r->integer > 0 && r->integer <= 60000);
  hd_kv_reply_free(r);
  /* A refused attempt draws no token. */
  char fkey[128];
  snprintf(fkey, sizeof fkey, "{lease:%s}:fence", name);
  const char *getf[] = {"GET", fkey};
  r = kv_run(kv, 2, getf);
  assert_int_equal(r->type, HD_KV_STR);
  assert_int_equal(strtoll(r->str, NULL, 10), fence_a);
  hd_kv_reply_free(r);
  hd_kv_close(kv);
}

static void test_fencing_tokens_strictly_increase_across_acquisitions(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char name[64];
  hd_test_unique(name, sizeof name, "fences");
  int64_t last = 0;
  for (int i = 0; i < 10; i++) {
    bool acquired = false, released = false;
    int64_t fence = 0;
    const char *holder = i % 2 ? "agent-b" : "agent-a";
    assert_int_equal(hd_kv_lease_acquire(kv, name, holder, 60000, NULL, &acquired, &fence, &err),
                     0);
    assert_true(acquired);
    assert_true(fence > last);
    last = fence;
    assert_int_equal(hd_kv_lease_release(kv, name, holder, fence, &released, &err), 0);
    assert_true(released);
  }
  hd_kv_close(kv);
}

static void test_renew_extends_only_for_the_exact_holder_and_fence(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char name[64], key[128];
  hd_test_unique(name, sizeof name, "renew");
  snprintf(key, sizeof key, "{lease:%s}", name);
  bool acquired = false, held = false;
  int64_t fence = 0;
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-a", 1000, NULL, &acquired, &fence, &err),
                   0);
  assert_true(acquired);

  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-a", fence, 60000, &held, &err), 0);
  assert_true(held);
  const char *pttl[] = {"PTTL", key};
  hd_kv_reply *r = kv_run(kv, 2, pttl);
  assert_true(r->integer > 1000); /* extended past the first ttl */
  hd_kv_reply_free(r);

  held = true;
  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-a", fence + 1, 60000, &held, &err), 0);
  assert_false(held);
  held = true;
  if (fence > 1) {
    assert_int_equal(hd_kv_lease_renew(kv, name, "agent-a", fence - 1, 60000, &held, &err), 0);
    assert_false(held);
  }
  held = true;
  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-b", fence, 60000, &held, &err), 0);
  assert_false(held);
  /* A holder whose name is a prefix of the real one is not the holder. */
  held = true;
  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-", fence, 60000, &held, &err), 0);
  assert_false(held);

  /* A stale holder (an earlier token of the same holder) is refused after a new acquisition. */
  bool released = false;
  assert_int_equal(hd_kv_lease_release(kv, name, "agent-a", fence, &released, &err), 0);
  assert_true(released);
  int64_t fence2 = 0;
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-a", 60000, NULL, &acquired, &fence2, &err),
                   0);
  assert_true(acquired);
  assert_true(fence2 > fence);
  held = true;
  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-a", fence, 60000, &held, &err), 0);
  assert_false(held);
  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-a", fence2, 60000, &held, &err), 0);
  assert_true(held);
  hd_kv_close(kv);
}

static void test_release_by_a_non_holder_leaves_the_lease(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char name[64];
  hd_test_unique(name, sizeof name, "release");
  bool acquired = false, released = true, held = false;
  int64_t fence = 0, other = 0;
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-a", 60000, NULL, &acquired, &fence, &err),
                   0);
  assert_true(acquired);
  assert_int_equal(hd_kv_lease_release(kv, name, "agent-b", fence, &released, &err), 0);
  assert_false(released);
  released = true;
  assert_int_equal(hd_kv_lease_release(kv, name, "agent-a", fence + 1, &released, &err), 0);
  assert_false(released);
  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-a", fence, 60000, &held, &err), 0);
  assert_true(held);
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-b", 60000, NULL, &acquired, &other, &err),
                   0);
  assert_false(acquired);

  assert_int_equal(hd_kv_lease_release(kv, name, "agent-a", fence, &released, &err), 0);
  assert_true(released);
  assert_int_equal(hd_kv_lease_release(kv, name, "agent-a", fence, &released, &err), 0);
  assert_false(released); /* already gone */
  hd_kv_close(kv);
}

static void test_expired_lease_goes_to_the_next_holder_with_a_larger_fence(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char name[64];
  hd_test_unique(name, sizeof name, "expiry");
  bool acquired = false, held = true, released = true;
  int64_t fence_a = 0, fence_b = 0;
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-a", 50, NULL, &acquired, &fence_a, &err),
                   0);
  assert_true(acquired);
  acquired = false;
  for (int i = 0; i < 100 && !acquired; i++) { /* bounded: ~1 s */
    assert_int_equal(
        hd_kv_lease_acquire(kv, name, "agent-b", 60000, NULL, &acquired, &fence_b, &err), 0);
    if (!acquired) usleep(10000);
  }
  assert_true(acquired);
  assert_true(fence_b > fence_a);
  /* The old holder believes it holds the lease; it cannot renew or release it. */
  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-a", fence_a, 60000, &held, &err), 0);
  assert_false(held);
  assert_int_equal(hd_kv_lease_release(kv, name, "agent-a", fence_a, &released, &err), 0);
  assert_false(released);
  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-b", fence_b, 60000, &held, &err), 0);
  assert_true(held);
  hd_kv_close(kv);
}

typedef struct floor_ctx {
  int64_t floor;
  int calls;
} floor_ctx;

static int floor_fn(void *ctx, int64_t *floor, hd_err *err) {
  (void)err;
  floor_ctx *f = ctx;
  f->calls++;
  *floor = f->floor;
  return 0;
}

static int64_t pttl_of(hd_kv *kv, const char *key) {
  const char *argv[] = {"PTTL", key};
  hd_kv_reply *r = kv_run(kv, 2, argv);
  const int64_t v = r->integer;
  hd_kv_reply_free(r);
  return v;
}

static void test_fence_key_has_a_ttl_and_a_lost_counter_starts_above_the_floor(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char name[64], key[128], fkey[128];
  hd_test_unique(name, sizeof name, "lease_floor");
  snprintf(key, sizeof key, "{lease:%s}", name);
  snprintf(fkey, sizeof fkey, "{lease:%s}:fence", name);
  floor_ctx f = {.floor = 41};
  const hd_kv_fence_floor floor = {.fn = floor_fn, .ctx = &f};
  bool acquired = false, held = false, released = false;
  int64_t fence = 0;
  /* No counter: the floor is asked once, and the token is above it. */
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-a", 60000, &floor, &acquired, &fence, &err),
                   0);
  assert_true(acquired);
  assert_int_equal(fence, 42);
  assert_int_equal(f.calls, 1);
  /* Both keys have a bounded life: the lease its ttl, the counter its life. */
  int64_t t = pttl_of(kv, key);
  assert_true(t > 0 && t <= 60000);
  t = pttl_of(kv, fkey);
  assert_true(t > HD_KV_FENCE_LIFE_MS - 60000 && t <= HD_KV_FENCE_LIFE_MS);
  /* A renewal longer than the counter's life extends the counter with it. */
  const int64_t long_ttl = HD_KV_FENCE_LIFE_MS + 3600000;
  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-a", fence, long_ttl, &held, &err), 0);
  assert_true(held);
  assert_true(pttl_of(kv, fkey) > long_ttl - 60000);
  assert_int_equal(hd_kv_lease_release(kv, name, "agent-a", fence, &released, &err), 0);
  assert_true(released);

  /* The counter lost (expired or wiped) while the database has stored 100: above 100. */
  const char *del[] = {"DEL", fkey};
  hd_kv_reply_free(kv_run(kv, 2, del));
  f.floor = 100;
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-b", 60000, &floor, &acquired, &fence, &err),
                   0);
  assert_true(acquired);
  assert_int_equal(fence, 101);
  assert_int_equal(f.calls, 2);
  /* Refused while held, and the floor not asked: the counter is there. */
  int64_t other = 0;
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-c", 60000, &floor, &acquired, &other, &err),
                   0);
  assert_false(acquired);
  assert_int_equal(f.calls, 2);
  assert_int_equal(hd_kv_lease_release(kv, name, "agent-b", fence, &released, &err), 0);
  const char *dels[] = {"DEL", fkey, key};
  hd_kv_reply_free(kv_run(kv, 3, dels));
  hd_kv_close(kv);
}

enum { RACERS = 8, RACE_ROUNDS = 25 };

typedef struct racer {
  pthread_barrier_t *start;
  const char *name;
  char holder[16];
  bool acquired;
  int64_t fence;
  int rc;
} racer;

static void *race_main(void *arg) {
  racer *r = arg;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  hd_kv *kv = NULL;
  hd_err err = {0};
  r->rc = hd_kv_new(&cfg, &kv, &err);
  if (r->rc == 0) r->rc = hd_kv_ping(kv, &err); /* connected before the start line */
  pthread_barrier_wait(r->start);
  if (r->rc == 0)
    r->rc = hd_kv_lease_acquire(kv, r->name, r->holder, 60000, NULL, &r->acquired, &r->fence, &err);
  hd_kv_close(kv);
  return NULL;
}

static void test_eight_threads_racing_for_one_lease_exactly_one_wins(void **state) {
  (void)state;
  for (int round = 0; round < RACE_ROUNDS; round++) {
    char name[64];
    hd_test_unique(name, sizeof name, "race");
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, RACERS), 0);
    racer rs[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
      rs[i] = (racer){.start = &start, .name = name};
      snprintf(rs[i].holder, sizeof rs[i].holder, "agent-%d", i);
      assert_int_equal(pthread_create(&th[i], NULL, race_main, &rs[i]), 0);
    }
    int winners = 0;
    for (int i = 0; i < RACERS; i++) {
      assert_int_equal(pthread_join(th[i], NULL), 0);
      assert_int_equal(rs[i].rc, 0);
      if (rs[i].acquired) {
        winners++;
        assert_true(rs[i].fence >= 1);
      } else {
        assert_int_equal(rs[i].fence, 0);
      }
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(winners, 1);
  }
}

/* The last command the client with this id ran ("cmd=" of CLIENT LIST), asked from another
 * connection so the question does not overwrite the answer. */
static void last_command(hd_kv *observer, const char *id, char *buf, size_t size) {
  const char *list[] = {"CLIENT", "LIST", "ID", id};
  hd_kv_reply *r = kv_run(observer, 4, list);
  const char *at = strstr(r->str, " cmd=");
  assert_non_null(at);
  at += 5;
  const size_t n = strcspn(at, " \n");
  assert_true(n < size);
  memcpy(buf, at, n);
  buf[n] = '\0';
  hd_kv_reply_free(r);
}

static void test_lease_scripts_run_by_sha_and_survive_an_emptied_script_cache(void **state) {
  (void)state;
  hd_kv *kv = kv_open(), *observer = kv_open();
  hd_err err = {0};
  char name[64], id[24], cmd[64];
  hd_test_unique(name, sizeof name, "noscript");
  const char *client_id[] = {"CLIENT", "ID"};
  hd_kv_reply *r = kv_run(kv, 2, client_id);
  snprintf(id, sizeof id, "%lld", (long long)r->integer);
  hd_kv_reply_free(r);
  const char *flush[] = {"SCRIPT", "FLUSH"};
  hd_kv_reply_free(kv_run(observer, 2, flush));

  bool acquired = false, held = false, released = false;
  int64_t fence = 0;
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-a", 60000, NULL, &acquired, &fence, &err),
                   0);
  assert_true(acquired);
  last_command(observer, id, cmd, sizeof cmd);
  assert_string_equal(cmd, "eval"); /* EVALSHA answered NOSCRIPT; EVAL ran it and cached it */
  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-a", fence, 60000, &held, &err), 0);
  assert_true(held);
  last_command(observer, id, cmd, sizeof cmd);
  assert_string_equal(cmd, "eval");
  assert_int_equal(hd_kv_lease_renew(kv, name, "agent-a", fence, 60000, &held, &err), 0);
  assert_true(held);
  last_command(observer, id, cmd, sizeof cmd);
  assert_string_equal(cmd, "evalsha"); /* cached now: by SHA only */

  hd_kv_reply_free(kv_run(observer, 2, flush));
  assert_int_equal(hd_kv_lease_release(kv, name, "agent-a", fence, &released, &err), 0);
  assert_true(released);
  last_command(observer, id, cmd, sizeof cmd);
  assert_string_equal(cmd, "eval");
  int64_t fence2 = 0;
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-b", 60000, NULL, &acquired, &fence2, &err),
                   0);
  assert_true(acquired);
  assert_true(fence2 > fence);
  assert_int_equal(hd_kv_lease_acquire(kv, name, "agent-c", 60000, NULL, &acquired, &fence2, &err),
                   0);
  assert_false(acquired);
  last_command(observer, id, cmd, sizeof cmd);
  assert_string_equal(cmd, "evalsha");
  hd_kv_close(observer);
  hd_kv_close(kv);
}

static void test_lease_input_limits(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char at_max[HD_KV_MAX_NAME + 1], past_max[HD_KV_MAX_NAME + 2];
  memset(at_max, 'n', sizeof at_max);
  at_max[HD_KV_MAX_NAME] = '\0';
  memset(past_max, 'n', sizeof past_max);
  past_max[HD_KV_MAX_NAME + 1] = '\0';
  char name[64];
  hd_test_unique(name, sizeof name, "limits");
  /* A name at the maximum is unique per process too: overwrite its tail. */
  memcpy(at_max + HD_KV_MAX_NAME - strlen(name), name, strlen(name));
  bool acquired = false, held = false, released = false;
  int64_t fence = 0;

  assert_int_equal(hd_kv_lease_acquire(kv, at_max, at_max, 60000, NULL, &acquired, &fence, &err),
                   0);
  assert_true(acquired);
  assert_int_equal(hd_kv_lease_renew(kv, at_max, at_max, fence, 60000, &held, &err), 0);
  assert_true(held);
  assert_int_equal(hd_kv_lease_release(kv, at_max, at_max, fence, &released, &err), 0);
  assert_true(released);

  assert_int_equal(hd_kv_lease_acquire(kv, past_max, "a", 60000, NULL, &acquired, &fence, &err),
                   -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_false(acquired);
  assert_int_equal(hd_kv_lease_acquire(kv, name, past_max, 60000, NULL, &acquired, &fence, &err),
                   -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_lease_acquire(kv, "", "a", 60000, NULL, &acquired, &fence, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_lease_acquire(kv, name, "", 60000, NULL, &acquired, &fence, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_lease_acquire(kv, name, "a|1", 60000, NULL, &acquired, &fence, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "'|'"));
  assert_int_equal(hd_kv_lease_renew(kv, name, "a|1", 1, 60000, &held, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);

  /* ttl: 0 and one past the maximum are refused; the maximum is taken. */
  assert_int_equal(hd_kv_lease_acquire(kv, name, "a", 0, NULL, &acquired, &fence, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(
      hd_kv_lease_acquire(kv, name, "a", HD_KV_MAX_TTL_MS + 1, NULL, &acquired, &fence, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(
      hd_kv_lease_acquire(kv, name, "a", HD_KV_MAX_TTL_MS, NULL, &acquired, &fence, &err), 0);
  assert_true(acquired);
  assert_int_equal(hd_kv_lease_renew(kv, name, "a", fence, 0, &held, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_lease_renew(kv, name, "a", fence, HD_KV_MAX_TTL_MS + 1, &held, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  /* Tokens start at 1. */
  assert_int_equal(hd_kv_lease_renew(kv, name, "a", 0, 60000, &held, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_lease_release(kv, name, "a", 0, &released, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_lease_release(kv, name, "a", fence, &released, &err), 0);
  assert_true(released);
  hd_kv_close(kv);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lease_goes_to_one_holder_and_others_are_refused),
      cmocka_unit_test(test_fencing_tokens_strictly_increase_across_acquisitions),
      cmocka_unit_test(test_renew_extends_only_for_the_exact_holder_and_fence),
      cmocka_unit_test(test_release_by_a_non_holder_leaves_the_lease),
      cmocka_unit_test(test_expired_lease_goes_to_the_next_holder_with_a_larger_fence),
      cmocka_unit_test(test_eight_threads_racing_for_one_lease_exactly_one_wins),
      cmocka_unit_test(test_lease_scripts_run_by_sha_and_survive_an_emptied_script_cache),
      cmocka_unit_test(test_lease_input_limits),
      cmocka_unit_test(test_fence_key_has_a_ttl_and_a_lost_counter_starts_above_the_floor),
  };
  return cmocka_run_group_tests_name("kv_lease", tests, NULL, NULL);
}
