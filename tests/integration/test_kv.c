/* common/kv against a real Redis: binary-safe commands and reply conversion, error mapping,
 * lazy connect, reconnect after a killed connection or a restarted server, timeouts,
 * idempotency keys and timer wake-ups. Leases and streams have their own files. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* Runs a command of C-string arguments; the reply (caller frees) or NULL when it failed. */
static hd_kv_reply *kv_run(hd_kv *kv, hd_err *err, int argc, const char **argv) {
  hd_kv_reply *r = NULL;
  if (hd_kv_cmd(kv, argc, argv, NULL, false, &r, err) != 0) return NULL;
  return r;
}

static int64_t client_id(hd_kv *kv) {
  hd_err err = {0};
  const char *argv[] = {"CLIENT", "ID"};
  hd_kv_reply *r = kv_run(kv, &err, 2, argv);
  assert_non_null(r);
  assert_int_equal(r->type, HD_KV_INT);
  const int64_t id = r->integer;
  hd_kv_reply_free(r);
  return id;
}

static void kill_client(int64_t id) {
  hd_kv *killer = kv_open();
  char idbuf[24];
  snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
  const char *argv[] = {"CLIENT", "KILL", "ID", idbuf};
  hd_err err = {0};
  hd_kv_reply *r = kv_run(killer, &err, 4, argv);
  assert_non_null(r);
  assert_int_equal(r->type, HD_KV_INT);
  assert_int_equal(r->integer, 1);
  hd_kv_reply_free(r);
  hd_kv_close(killer);
}

/* ---- commands and replies ---- */

static void test_cmd_round_trips_a_binary_value_with_nul_bytes(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  char key[64];
  hd_test_unique(key, sizeof key, "kv_bin");
  const char value[] = {'a', '\0', 'b', '\xff', '\0'};
  const char *set[] = {"SET", key, value};
  const size_t set_len[] = {3, strlen(key), sizeof value};
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(kv, 3, set, set_len, false, &r, &err), 0);
  assert_int_equal(r->type, HD_KV_STATUS);
  assert_string_equal(r->str, "OK");
  hd_kv_reply_free(r);

  const char *get[] = {"GET", key};
  assert_int_equal(hd_kv_cmd(kv, 2, get, NULL, true, &r, &err), 0);
  assert_int_equal(r->type, HD_KV_STR);
  assert_int_equal(r->len, sizeof value);
  assert_memory_equal(r->str, value, sizeof value);
  assert_int_equal(r->str[r->len], '\0');
  hd_kv_reply_free(r);

  /* A binary key too: the key bytes after a NUL are part of the key. */
  const char bkey[] = {'k', '\0', 'x'};
  const char *set2[] = {"SET", bkey, "v"};
  const size_t set2_len[] = {3, sizeof bkey, 1};
  assert_int_equal(hd_kv_cmd(kv, 3, set2, set2_len, false, NULL, &err), 0);
  const char *exists[] = {"EXISTS", "k"};
  r = kv_run(kv, &err, 2, exists);
  assert_non_null(r);
  assert_int_equal(r->integer, 0);
  hd_kv_reply_free(r);
  const char *del[] = {"DEL", key, bkey};
  const size_t del_len[] = {3, strlen(key), sizeof bkey};
  assert_int_equal(hd_kv_cmd(kv, 3, del, del_len, false, &r, &err), 0);
  assert_int_equal(r->integer, 2);
  hd_kv_reply_free(r);
  hd_kv_close(kv);
}

static void test_cmd_converts_nil_int_status_and_nested_arrays(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char key[64];
  hd_test_unique(key, sizeof key, "kv_types");
  const char *get[] = {"GET", key};
  hd_kv_reply *r = kv_run(kv, &err, 2, get);
  assert_non_null(r);
  assert_int_equal(r->type, HD_KV_NIL);
  hd_kv_reply_free(r);

  const char *incr[] = {"INCRBY", key, "-5"};
  r = kv_run(kv, &err, 3, incr);
  assert_non_null(r);
  assert_int_equal(r->type, HD_KV_INT);
  assert_int_equal(r->integer, -5);
  hd_kv_reply_free(r);

  const char *eval[] = {"EVAL", "return {1, {'a', false, ''}, {}}", "0"};
  r = kv_run(kv, &err, 3, eval);
  assert_non_null(r);
  assert_int_equal(r->type, HD_KV_ARRAY);
  assert_int_equal(r->n, 3);
  assert_int_equal(r->elems[0]->type, HD_KV_INT);
  assert_int_equal(r->elems[0]->integer, 1);
  const hd_kv_reply *inner = r->elems[1];
  assert_int_equal(inner->type, HD_KV_ARRAY);
  assert_int_equal(inner->n, 3);
  assert_int_equal(inner->elems[0]->type, HD_KV_STR);
  assert_string_equal(inner->elems[0]->str, "a");
  assert_int_equal(inner->elems[1]->type, HD_KV_NIL);
  assert_int_equal(inner->elems[2]->type, HD_KV_STR);
  assert_int_equal(inner->elems[2]->len, 0);
  assert_string_equal(inner->elems[2]->str, "");
  assert_int_equal(r->elems[2]->type, HD_KV_ARRAY);
  assert_int_equal(r->elems[2]->n, 0);
  hd_kv_reply_free(r);

  const char *del[] = {"DEL", key};
  assert_int_equal(hd_kv_cmd(kv, 2, del, NULL, false, NULL, &err), 0);
  hd_kv_close(kv);
}

static void test_redis_error_reply_is_internal_with_redis_text(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char key[64];
  hd_test_unique(key, sizeof key, "kv_wrongtype");
  const char *set[] = {"SET", key, "v"};
  assert_int_equal(hd_kv_cmd(kv, 3, set, NULL, false, NULL, &err), 0);
  const char *lpush[] = {"LPUSH", key, "x"};
  hd_kv_reply *r = (hd_kv_reply *)1;
  assert_int_equal(hd_kv_cmd(kv, 3, lpush, NULL, false, &r, &err), -1);
  assert_null(r);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_non_null(strstr(err.msg, "LPUSH"));
  assert_non_null(strstr(err.msg, "WRONGTYPE"));

  const char *bogus[] = {"NO-SUCH-COMMAND"};
  assert_int_equal(hd_kv_cmd(kv, 1, bogus, NULL, true, NULL, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_non_null(strstr(err.msg, "unknown command"));

  /* The connection is still good after an error reply. */
  assert_int_equal(hd_kv_ping(kv, &err), 0);
  const char *del[] = {"DEL", key};
  assert_int_equal(hd_kv_cmd(kv, 2, del, NULL, false, NULL, &err), 0);
  hd_kv_close(kv);
}

static void test_error_nested_in_an_array_reply_is_internal(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  const char *eval[] = {"EVAL", "return {1, {2, redis.error_reply('boom inside')}}", "0"};
  hd_kv_reply *r = (hd_kv_reply *)1;
  assert_int_equal(hd_kv_cmd(kv, 3, eval, NULL, false, &r, &err), -1);
  assert_null(r);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_non_null(strstr(err.msg, "boom inside"));
  hd_kv_close(kv);
}

static void test_transient_redis_errors_are_unavailable_not_internal(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  /* A script's error reply carries any text; these words are what a loading or busy server says. */
  const char *loading[] = {
      "EVAL", "return redis.error_reply('LOADING Redis is loading the dataset in memory')", "0"};
  assert_int_equal(hd_kv_cmd(kv, 3, loading, NULL, false, NULL, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  const char *oom[] = {"EVAL", "return redis.error_reply('OOM command not allowed')", "0"};
  assert_int_equal(hd_kv_cmd(kv, 3, oom, NULL, false, NULL, &err), -1);
  assert_int_equal(err.code, HD_RESOURCE_EXHAUSTED);
  /* BUSYGROUP starts like BUSY but is a plain error. */
  const char *busygroup[] = {
      "EVAL", "return redis.error_reply('BUSYGROUP Consumer Group name already exists')", "0"};
  assert_int_equal(hd_kv_cmd(kv, 3, busygroup, NULL, false, NULL, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  hd_kv_close(kv);
}

static void test_cmd_argument_count_limits(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  const char **argv = calloc(HD_KV_MAX_ARGS + 1, sizeof *argv);
  assert_non_null(argv);
  char key[64];
  hd_test_unique(key, sizeof key, "kv_args");
  argv[0] = "DEL";
  for (int i = 1; i <= HD_KV_MAX_ARGS; i++) argv[i] = key;
  hd_kv_reply *r = NULL;
  assert_int_equal(hd_kv_cmd(kv, HD_KV_MAX_ARGS, argv, NULL, false, &r, &err), 0);
  assert_int_equal(r->type, HD_KV_INT);
  hd_kv_reply_free(r);
  assert_int_equal(hd_kv_cmd(kv, HD_KV_MAX_ARGS + 1, argv, NULL, false, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_cmd(kv, 0, argv, NULL, false, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  const char *with_null[] = {"GET", NULL};
  assert_int_equal(hd_kv_cmd(kv, 2, with_null, NULL, false, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  free(argv);
  hd_kv_close(kv);
}

/* ---- connection ---- */

static void test_ping_answers_when_redis_is_up(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  assert_int_equal(hd_kv_ping(kv, &err), 0);
  assert_int_equal(hd_kv_ping(kv, &err), 0);
  hd_kv_close(kv);
}

static void test_redis_down_is_unavailable_with_address_while_new_succeeds(void **state) {
  (void)state;
  const unsigned port = (unsigned)hd_test_free_port();
  hd_kv_config cfg = {.host = "127.0.0.1", .port = port, .timeout_ms = 500};
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  char want[64];
  snprintf(want, sizeof want, "redis unavailable at 127.0.0.1:%u: ", port);

  assert_int_equal(hd_kv_ping(kv, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  assert_non_null(strstr(err.msg, want));
  assert_non_null(strstr(err.msg, "refused"));

  bool acquired = true;
  int64_t fence = 7;
  assert_int_equal(hd_kv_lease_acquire(kv, "down", "a", 1000, NULL, &acquired, &fence, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  assert_false(acquired);
  assert_int_equal(fence, 0);
  const hd_kv_field f = {"k", "v", 1};
  assert_int_equal(hd_kv_stream_add(kv, "down", 10, &f, 1, NULL, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  const char *get[] = {"GET", "x"};
  assert_int_equal(hd_kv_cmd(kv, 2, get, NULL, true, NULL, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  assert_non_null(strstr(err.msg, want));
  hd_kv_close(kv);
}

static void test_killed_connection_is_replaced_and_idempotent_command_retried(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  const int64_t before = client_id(kv);
  kill_client(before);
  assert_int_equal(hd_kv_ping(kv, &err), 0); /* retried once on a fresh connection */
  const int64_t after = client_id(kv);
  assert_true(after != before);
  hd_kv_close(kv);
}

static void test_killed_connection_fails_a_non_idempotent_command_once_without_retry(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char key[64];
  hd_test_unique(key, sizeof key, "kv_noretry");
  kill_client(client_id(kv));
  const char *incr[] = {"INCR", key};
  assert_int_equal(hd_kv_cmd(kv, 2, incr, NULL, false, NULL, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  assert_non_null(strstr(err.msg, "redis unavailable at "));
  /* The next call reconnects; the failed INCR was not sent again behind our back. */
  hd_kv_reply *r = kv_run(kv, &err, 2, incr);
  assert_non_null(r);
  assert_int_equal(r->integer, 1);
  hd_kv_reply_free(r);
  const char *del[] = {"DEL", key};
  assert_int_equal(hd_kv_cmd(kv, 2, del, NULL, false, NULL, &err), 0);
  hd_kv_close(kv);
}

static void test_redis_started_after_the_handle_is_used_once_it_answers(void **state) {
  (void)state;
  /* A private Redis, down before the handle is made: its port has no server yet. */
  hd_test_redis own;
  assert_int_equal(hd_test_redis_start(&own), 0);
  hd_test_redis_down(&own);
  hd_kv_config cfg = {.host = "127.0.0.1", .port = own.port, .timeout_ms = 500};
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  assert_int_equal(hd_kv_ping(kv, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);

  assert_int_equal(hd_test_redis_up(&own), 0);
  int rc = -1;
  for (int i = 0; i < 100 && rc != 0; i++) { /* at most ~5 s for the handle to reconnect */
    usleep(50000);
    rc = hd_kv_ping(kv, &err);
  }
  assert_int_equal(rc, 0);

  /* The server goes away: the handle says so, and does not crash or leak. */
  const char *shutdown[] = {"SHUTDOWN", "NOSAVE"};
  assert_int_equal(hd_kv_cmd(kv, 2, shutdown, NULL, false, NULL, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  rc = 0;
  for (int i = 0; i < 100 && rc == 0; i++) {
    rc = hd_kv_ping(kv, &err);
    if (rc == 0) usleep(50000);
  }
  assert_int_equal(rc, -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  hd_kv_close(kv);
  hd_test_redis_stop(&own); /* already gone: puts the settings back */
}

static void test_command_slower_than_the_timeout_is_unavailable_and_the_next_works(void **state) {
  (void)state;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  cfg.timeout_ms = 100;
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  char key[64];
  hd_test_unique(key, sizeof key, "kv_slow");
  const char *blpop[] = {"BLPOP", key, "1"}; /* blocks 1 s on an empty list */
  assert_int_equal(hd_kv_cmd(kv, 3, blpop, NULL, false, NULL, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  assert_non_null(strstr(err.msg, "no answer within the 100 ms timeout"));
  assert_int_equal(hd_kv_ping(kv, &err), 0);
  hd_kv_close(kv);
}

/* ---- idempotency keys ---- */

static void test_idem_first_claim_wins_and_a_duplicate_gets_the_first_value(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char scope[64];
  hd_test_unique(scope, sizeof scope, "tenant");
  bool claimed = false;
  char *existing = (char *)"untouched";
  assert_int_equal(
      hd_kv_idem_claim(kv, scope, "req-1", "ticket-41", 60000, &claimed, &existing, &err), 0);
  assert_true(claimed);
  assert_null(existing);

  assert_int_equal(
      hd_kv_idem_claim(kv, scope, "req-1", "ticket-99", 60000, &claimed, &existing, &err), 0);
  assert_false(claimed);
  assert_string_equal(existing, "ticket-41");
  free(existing);
  assert_int_equal(hd_kv_idem_claim(kv, scope, "req-1", "ticket-99", 60000, &claimed, NULL, &err),
                   0);
  assert_false(claimed);

  /* Another key, or the same key in another scope, is its own claim. */
  assert_int_equal(hd_kv_idem_claim(kv, scope, "req-2", "ticket-42", 60000, &claimed, NULL, &err),
                   0);
  assert_true(claimed);
  char other[64];
  hd_test_unique(other, sizeof other, "tenant");
  assert_int_equal(hd_kv_idem_claim(kv, other, "req-1", "ticket-7", 60000, &claimed, NULL, &err),
                   0);
  assert_true(claimed);

  /* The stored layout: idem:{<scope>}:<key>, with a ttl. */
  char key[160];
  snprintf(key, sizeof key, "idem:{%s}:req-1", scope);
  const char *get[] = {"GET", key};
  hd_kv_reply *r = kv_run(kv, &err, 2, get);
  assert_non_null(r);
  assert_string_equal(r->str, "ticket-41");
  hd_kv_reply_free(r);
  const char *pttl[] = {"PTTL", key};
  r = kv_run(kv, &err, 2, pttl);
  assert_non_null(r);
  assert_true(r->integer > 0 && r->integer <= 60000);
  hd_kv_reply_free(r);
  hd_kv_close(kv);
}

static void test_idem_key_can_be_claimed_again_after_it_expires(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char scope[64];
  hd_test_unique(scope, sizeof scope, "tenant");
  bool claimed = false;
  assert_int_equal(hd_kv_idem_claim(kv, scope, "k", "first", 50, &claimed, NULL, &err), 0);
  assert_true(claimed);
  char *existing = NULL;
  claimed = false;
  for (int i = 0; i < 100 && !claimed; i++) { /* bounded: ~1 s */
    free(existing);
    existing = NULL;
    assert_int_equal(hd_kv_idem_claim(kv, scope, "k", "second", 60000, &claimed, &existing, &err),
                     0);
    if (!claimed) {
      assert_string_equal(existing, "first");
      usleep(10000);
    }
  }
  assert_true(claimed);
  assert_null(existing);
  assert_int_equal(hd_kv_idem_claim(kv, scope, "k", "third", 60000, &claimed, &existing, &err), 0);
  assert_false(claimed);
  assert_string_equal(existing, "second");
  free(existing);
  hd_kv_close(kv);
}

static void test_idem_empty_value_is_stored_and_returned(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char scope[64];
  hd_test_unique(scope, sizeof scope, "tenant");
  bool claimed = false;
  char *existing = NULL;
  assert_int_equal(hd_kv_idem_claim(kv, scope, "k", "", 60000, &claimed, &existing, &err), 0);
  assert_true(claimed);
  assert_int_equal(hd_kv_idem_claim(kv, scope, "k", "x", 60000, &claimed, &existing, &err), 0);
  assert_false(claimed);
  assert_non_null(existing);
  assert_string_equal(existing, "");
  free(existing);
  hd_kv_close(kv);
}

static void test_idem_input_limits(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char scope[64];
  hd_test_unique(scope, sizeof scope, "tenant");
  char at_max[HD_KV_MAX_NAME + 2];
  memset(at_max, 'k', sizeof at_max);
  at_max[HD_KV_MAX_NAME] = '\0';
  char past_max[HD_KV_MAX_NAME + 2];
  memset(past_max, 'k', sizeof past_max);
  past_max[HD_KV_MAX_NAME + 1] = '\0';
  char scope_at_max[HD_KV_MAX_NAME + 1];
  snprintf(scope_at_max, sizeof scope_at_max, "%s%0*d", scope,
           (int)(HD_KV_MAX_NAME - strlen(scope)), 0);
  assert_int_equal(strlen(scope_at_max), HD_KV_MAX_NAME);
  bool claimed = true;

  assert_int_equal(hd_kv_idem_claim(kv, scope, at_max, "v", 60000, &claimed, NULL, &err), 0);
  assert_true(claimed);
  assert_int_equal(hd_kv_idem_claim(kv, scope_at_max, at_max, "v", 60000, &claimed, NULL, &err), 0);
  assert_true(claimed);
  assert_int_equal(hd_kv_idem_claim(kv, scope, past_max, "v", 60000, &claimed, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_false(claimed);
  assert_int_equal(hd_kv_idem_claim(kv, past_max, "k", "v", 60000, &claimed, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_idem_claim(kv, "", "k", "v", 60000, &claimed, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_idem_claim(kv, scope, "", "v", 60000, &claimed, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_idem_claim(kv, scope, "k", NULL, 60000, &claimed, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  /* A brace in the scope would move the hash tag: "a}:b" + "c" and "a" + "b}:c" would collide. */
  assert_int_equal(hd_kv_idem_claim(kv, "a}:b", "c", "v", 60000, &claimed, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_idem_claim(kv, "a{b", "c", "v", 60000, &claimed, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  /* ttl: 1 ms and the maximum are taken, 0 and one past the maximum are not. */
  assert_int_equal(
      hd_kv_idem_claim(kv, scope, "ttl-max", "v", HD_KV_MAX_TTL_MS, &claimed, NULL, &err), 0);
  assert_true(claimed);
  assert_int_equal(hd_kv_idem_claim(kv, scope, "ttl-1", "v", 1, &claimed, NULL, &err), 0);
  assert_int_equal(hd_kv_idem_claim(kv, scope, "ttl-0", "v", 0, &claimed, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(
      hd_kv_idem_claim(kv, scope, "ttl-big", "v", HD_KV_MAX_TTL_MS + 1, &claimed, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  hd_kv_close(kv);
}

/* ---- timers ---- */

static void test_timer_next_is_the_earliest_and_pop_due_removes_up_to_now_inclusive(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char zset[64];
  hd_test_unique(zset, sizeof zset, "timers");
  const int64_t t0 = 1767571200000000LL; /* 2026-01-05, in µs */
  bool has = true;
  int64_t due = -1, popped = -1;
  assert_int_equal(hd_kv_timer_next(kv, zset, &has, &due, &err), 0);
  assert_false(has);

  assert_int_equal(hd_kv_timer_schedule(kv, zset, "ticket-3", t0 + 3000, &err), 0);
  assert_int_equal(hd_kv_timer_schedule(kv, zset, "ticket-1", t0 + 1000, &err), 0);
  assert_int_equal(hd_kv_timer_schedule(kv, zset, "ticket-2", t0 + 2000, &err), 0);
  assert_int_equal(hd_kv_timer_next(kv, zset, &has, &due, &err), 0);
  assert_true(has);
  assert_int_equal(due, t0 + 1000);

  /* Scheduling a member again moves it. */
  assert_int_equal(hd_kv_timer_schedule(kv, zset, "ticket-1", t0 + 5000, &err), 0);
  assert_int_equal(hd_kv_timer_next(kv, zset, &has, &due, &err), 0);
  assert_int_equal(due, t0 + 2000);

  assert_int_equal(hd_kv_timer_pop_due(kv, zset, t0 + 1999, &popped, &err), 0);
  assert_int_equal(popped, 0);
  assert_int_equal(hd_kv_timer_pop_due(kv, zset, t0 + 3000, &popped, &err),
                   0); /* at or before now */
  assert_int_equal(popped, 2);
  assert_int_equal(hd_kv_timer_next(kv, zset, &has, &due, &err), 0);
  assert_true(has);
  assert_int_equal(due, t0 + 5000);
  assert_int_equal(hd_kv_timer_pop_due(kv, zset, t0 + 5001, &popped, &err), 0);
  assert_int_equal(popped, 1);
  assert_int_equal(hd_kv_timer_next(kv, zset, &has, &due, &err), 0);
  assert_false(has);
  assert_int_equal(due, 0);
  hd_kv_close(kv);
}

static void test_timer_due_time_limits_are_exact_at_the_edge(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char zset[64];
  hd_test_unique(zset, sizeof zset, "timers");
  bool has = false;
  int64_t due = 0, popped = 0;
  assert_int_equal(hd_kv_timer_schedule(kv, zset, "late", HD_KV_MAX_DUE_US, &err), 0);
  assert_int_equal(hd_kv_timer_next(kv, zset, &has, &due, &err), 0);
  assert_int_equal(due, HD_KV_MAX_DUE_US);
  assert_int_equal(hd_kv_timer_schedule(kv, zset, "early", -HD_KV_MAX_DUE_US, &err), 0);
  assert_int_equal(hd_kv_timer_next(kv, zset, &has, &due, &err), 0);
  assert_int_equal(due, -HD_KV_MAX_DUE_US);
  assert_int_equal(hd_kv_timer_schedule(kv, zset, "odd", 1767571200123457LL, &err), 0);

  assert_int_equal(hd_kv_timer_schedule(kv, zset, "x", HD_KV_MAX_DUE_US + 1, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_timer_schedule(kv, zset, "x", -HD_KV_MAX_DUE_US - 1, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_timer_pop_due(kv, zset, HD_KV_MAX_DUE_US + 1, &popped, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);

  assert_int_equal(hd_kv_timer_pop_due(kv, zset, -HD_KV_MAX_DUE_US, &popped, &err), 0);
  assert_int_equal(popped, 1);
  assert_int_equal(hd_kv_timer_next(kv, zset, &has, &due, &err), 0);
  assert_int_equal(due, 1767571200123457LL); /* an odd µs survives the double score */
  assert_int_equal(hd_kv_timer_pop_due(kv, zset, HD_KV_MAX_DUE_US, &popped, &err), 0);
  assert_int_equal(popped, 2);

  char name_at_max[HD_KV_MAX_NAME + 1], name_past[HD_KV_MAX_NAME + 2];
  memset(name_at_max, 'm', sizeof name_at_max);
  name_at_max[HD_KV_MAX_NAME] = '\0';
  memset(name_past, 'm', sizeof name_past);
  name_past[HD_KV_MAX_NAME + 1] = '\0';
  assert_int_equal(hd_kv_timer_schedule(kv, zset, name_at_max, 1, &err), 0);
  assert_int_equal(hd_kv_timer_schedule(kv, zset, name_past, 1, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_timer_schedule(kv, zset, "", 1, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_timer_next(kv, name_past, &has, &due, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_timer_pop_due(kv, zset, 1, &popped, &err), 0);
  assert_int_equal(popped, 1);
  hd_kv_close(kv);
}

static void test_timer_on_a_key_of_another_type_is_internal(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char key[64];
  hd_test_unique(key, sizeof key, "timers_wrongtype");
  const char *set[] = {"SET", key, "v"};
  assert_int_equal(hd_kv_cmd(kv, 3, set, NULL, false, NULL, &err), 0);
  bool has = true;
  int64_t due = 1;
  assert_int_equal(hd_kv_timer_next(kv, key, &has, &due, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_non_null(strstr(err.msg, "WRONGTYPE"));
  assert_false(has);
  const char *del[] = {"DEL", key};
  assert_int_equal(hd_kv_cmd(kv, 2, del, NULL, false, NULL, &err), 0);
  hd_kv_close(kv);
}

int main(void) {
  signal(SIGPIPE,
         SIG_IGN); /* as the rpc runtime does: a write to a closed socket is an error, not death */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cmd_round_trips_a_binary_value_with_nul_bytes),
      cmocka_unit_test(test_cmd_converts_nil_int_status_and_nested_arrays),
      cmocka_unit_test(test_redis_error_reply_is_internal_with_redis_text),
      cmocka_unit_test(test_error_nested_in_an_array_reply_is_internal),
      cmocka_unit_test(test_transient_redis_errors_are_unavailable_not_internal),
      cmocka_unit_test(test_cmd_argument_count_limits),
      cmocka_unit_test(test_ping_answers_when_redis_is_up),
      cmocka_unit_test(test_redis_down_is_unavailable_with_address_while_new_succeeds),
      cmocka_unit_test(test_killed_connection_is_replaced_and_idempotent_command_retried),
      cmocka_unit_test(test_killed_connection_fails_a_non_idempotent_command_once_without_retry),
      cmocka_unit_test(test_redis_started_after_the_handle_is_used_once_it_answers),
      cmocka_unit_test(test_command_slower_than_the_timeout_is_unavailable_and_the_next_works),
      cmocka_unit_test(test_idem_first_claim_wins_and_a_duplicate_gets_the_first_value),
      cmocka_unit_test(test_idem_key_can_be_claimed_again_after_it_expires),
      cmocka_unit_test(test_idem_empty_value_is_stored_and_returned),
      cmocka_unit_test(test_idem_input_limits),
      cmocka_unit_test(test_timer_next_is_the_earliest_and_pop_due_removes_up_to_now_inclusive),
      cmocka_unit_test(test_timer_due_time_limits_are_exact_at_the_edge),
      cmocka_unit_test(test_timer_on_a_key_of_another_type_is_internal),
  };
  return cmocka_run_group_tests_name("kv", tests, NULL, NULL);
}
