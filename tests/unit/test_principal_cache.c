/* common/auth/principal_cache: a token verified once is answered from the cache until it
 * expires; refused tokens are never kept; a tampered token is refused even after its original
 * was kept; the cache is bounded and safe to share between threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/principal_cache.h"

#define SECRET "unit-test-secret-0123456789"
#define ISSUER "helpdesk"
#define NOW    1767225600LL /* 2026-01-01T00:00:00Z */
#define LEEWAY 30

static hd_auth_config cfg(void) {
  return (hd_auth_config){
      .secret = SECRET, .secret_len = strlen(SECRET), .issuer = ISSUER, .leeway_s = LEEWAY};
}

/* A token for user of tenant-a with the agent role, valid ttl_s from now_s. Caller frees. */
static char *token(const char *user, int64_t now_s, int64_t ttl_s) {
  const hd_auth_config c = cfg();
  hd_principal p;
  memset(&p, 0, sizeof p);
  snprintf(p.tenant, sizeof p.tenant, "%s", "tenant-a");
  snprintf(p.user_id, sizeof p.user_id, "%s", user);
  p.roles = HD_ROLE_AGENT;
  char *t = NULL;
  hd_err err = {0};
  if (hd_auth_sign(&c, &p, now_s, ttl_s, &t, &err) != 0) fail_msg("sign: %s", err.msg);
  return t;
}

static hd_principal_cache *cache_of(size_t slots) {
  hd_principal_cache *pc = NULL;
  hd_err err = {0};
  assert_int_equal(hd_principal_cache_new(slots, &pc, &err), 0);
  return pc;
}

static void test_second_verification_is_a_hit_with_the_same_principal(void **state) {
  (void)state;
  hd_principal_cache *pc = cache_of(64);
  const hd_auth_config c = cfg();
  char *t = token("alice", NOW, 3600);
  hd_principal a, b;
  hd_err err = {0};
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, strlen(t), NOW, &a, &err), 0);
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, strlen(t), NOW + 10, &b, &err), 0);
  assert_memory_equal(&a, &b, sizeof a);
  assert_string_equal(b.user_id, "alice");
  assert_string_equal(b.tenant, "tenant-a");
  uint64_t hits, misses;
  hd_principal_cache_counts(pc, &hits, &misses);
  assert_int_equal(hits, 1);
  assert_int_equal(misses, 1);
  free(t);
  hd_principal_cache_free(pc);
}

static void test_an_expired_token_is_refused_though_it_was_kept(void **state) {
  (void)state;
  hd_principal_cache *pc = cache_of(64);
  const hd_auth_config c = cfg();
  char *t = token("alice", NOW, 60);
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, strlen(t), NOW, &p, &err), 0);
  /* Still valid within the leeway, as hd_auth_verify counts it. */
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, strlen(t), NOW + 60 + LEEWAY - 1, &p, &err),
                   0);
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, strlen(t), NOW + 60 + LEEWAY, &p, &err),
                   -1);
  assert_int_equal(err.code, HD_UNAUTHENTICATED);
  assert_non_null(strstr(err.msg, "expired"));
  free(t);
  hd_principal_cache_free(pc);
}

static void test_a_tampered_token_is_refused_after_its_original_was_kept(void **state) {
  (void)state;
  hd_principal_cache *pc = cache_of(64);
  const hd_auth_config c = cfg();
  char *t = token("alice", NOW, 3600);
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, strlen(t), NOW, &p, &err), 0);
  const size_t n = strlen(t);
  t[n - 1] = t[n - 1] == 'A' ? 'B' : 'A'; /* the signature's last character */
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, n, NOW, &p, &err), -1);
  assert_int_equal(err.code, HD_UNAUTHENTICATED);
  /* A prefix of a kept token is another token too. */
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, n - 1, NOW, &p, &err), -1);
  free(t);
  hd_principal_cache_free(pc);
}

static void test_a_refused_token_is_never_kept(void **state) {
  (void)state;
  hd_principal_cache *pc = cache_of(64);
  const hd_auth_config c = cfg();
  char *t = token("alice", NOW, 60);
  hd_principal p;
  hd_err err = {0};
  /* Verified first when already expired: refused, and refused again (not kept). */
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, strlen(t), NOW + 3600, &p, &err), -1);
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, strlen(t), NOW + 3600, &p, &err), -1);
  uint64_t hits, misses;
  hd_principal_cache_counts(pc, &hits, &misses);
  assert_int_equal(hits, 0);
  assert_int_equal(misses, 2);
  free(t);
  hd_principal_cache_free(pc);
}

static void test_a_clock_gone_back_verifies_again(void **state) {
  (void)state;
  hd_principal_cache *pc = cache_of(64);
  const hd_auth_config c = cfg();
  char *t = token("alice", NOW, 3600);
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, strlen(t), NOW + 100, &p, &err), 0);
  assert_int_equal(hd_principal_cache_verify(pc, &c, t, strlen(t), NOW + 50, &p, &err), 0);
  uint64_t hits, misses;
  hd_principal_cache_counts(pc, &hits, &misses);
  assert_int_equal(hits, 0);
  assert_int_equal(misses, 2);
  free(t);
  hd_principal_cache_free(pc);
}

static void test_one_slot_holds_the_last_token_and_answers_each_right(void **state) {
  (void)state;
  hd_principal_cache *pc = cache_of(1);
  const hd_auth_config c = cfg();
  char *a = token("alice", NOW, 3600), *b = token("bob", NOW, 3600);
  hd_principal p;
  hd_err err = {0};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(hd_principal_cache_verify(pc, &c, a, strlen(a), NOW, &p, &err), 0);
    assert_string_equal(p.user_id, "alice");
    assert_int_equal(hd_principal_cache_verify(pc, &c, b, strlen(b), NOW, &p, &err), 0);
    assert_string_equal(p.user_id, "bob");
  }
  uint64_t hits, misses;
  hd_principal_cache_counts(pc, &hits, &misses);
  assert_int_equal(hits, 0); /* each evicts the other */
  assert_int_equal(misses, 6);
  free(a);
  free(b);
  hd_principal_cache_free(pc);
}

static void test_slots_are_bounded(void **state) {
  (void)state;
  hd_principal_cache *pc = NULL;
  hd_err err = {0};
  assert_int_equal(hd_principal_cache_new(0, &pc, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_principal_cache_new((size_t)HD_PRINCIPAL_CACHE_MAX + 1, &pc, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  hd_principal_cache_free(NULL);
}

#define THREADS 4
#define ROUNDS  2000

typedef struct race_arg {
  hd_principal_cache *pc;
  char *tokens[3];
  int wrong;
} race_arg;

static void *race_main(void *v) {
  race_arg *r = v;
  const hd_auth_config c = cfg();
  static const char *users[3] = {"alice", "bob", "carol"};
  for (int i = 0; i < ROUNDS; i++) {
    hd_principal p;
    hd_err err = {0};
    const int k = i % 3;
    if (hd_principal_cache_verify(r->pc, &c, r->tokens[k], strlen(r->tokens[k]), NOW, &p, &err) !=
            0 ||
        strcmp(p.user_id, users[k]) != 0)
      r->wrong++;
  }
  return NULL;
}

static void test_threads_sharing_a_cache_each_get_their_own_principal(void **state) {
  (void)state;
  hd_principal_cache *pc = cache_of(2); /* fewer slots than tokens: hits and evictions race */
  race_arg args[THREADS];
  char *tokens[3] = {token("alice", NOW, 3600), token("bob", NOW, 3600), token("carol", NOW, 3600)};
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) {
    args[i] = (race_arg){.pc = pc, .tokens = {tokens[0], tokens[1], tokens[2]}};
    assert_int_equal(pthread_create(&th[i], NULL, race_main, &args[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(args[i].wrong, 0);
  }
  uint64_t hits, misses;
  hd_principal_cache_counts(pc, &hits, &misses);
  assert_int_equal(hits + misses, (uint64_t)THREADS * ROUNDS);
  for (int i = 0; i < 3; i++) free(tokens[i]);
  hd_principal_cache_free(pc);
}

/* hd_auth_bearer with a cache in its config answers from it. */
static void test_bearer_uses_the_configured_cache(void **state) {
  (void)state;
  hd_principal_cache *pc = cache_of(64);
  hd_auth_config c = cfg();
  c.cache = pc;
  char *t = token("alice", NOW, 3600);
  char value[1024];
  snprintf(value, sizeof value, "Bearer %s", t);
  hd_principal p;
  hd_err err = {0};
  assert_int_equal(hd_auth_bearer(&c, value, strlen(value), NOW, &p, &err), 0);
  assert_int_equal(hd_auth_bearer(&c, value, strlen(value), NOW, &p, &err), 0);
  assert_string_equal(p.user_id, "alice");
  uint64_t hits, misses;
  hd_principal_cache_counts(pc, &hits, &misses);
  assert_int_equal(hits, 1);
  assert_int_equal(misses, 1);
  free(t);
  hd_principal_cache_free(pc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_second_verification_is_a_hit_with_the_same_principal),
      cmocka_unit_test(test_an_expired_token_is_refused_though_it_was_kept),
      cmocka_unit_test(test_a_tampered_token_is_refused_after_its_original_was_kept),
      cmocka_unit_test(test_a_refused_token_is_never_kept),
      cmocka_unit_test(test_a_clock_gone_back_verifies_again),
      cmocka_unit_test(test_one_slot_holds_the_last_token_and_answers_each_right),
      cmocka_unit_test(test_slots_are_bounded),
      cmocka_unit_test(test_threads_sharing_a_cache_each_get_their_own_principal),
      cmocka_unit_test(test_bearer_uses_the_configured_cache),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
