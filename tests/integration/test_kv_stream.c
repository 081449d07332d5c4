/* common/kv streams against a real Redis: add, consumer groups, read once per group, ack,
 * take-over of entries a dead consumer left pending, blocking reads, trimming and input limits. */
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

#include "clock/clock.h"
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

static int64_t kv_int(hd_kv *kv, int argc, const char **argv) {
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(kv, argc, argv, NULL, false, &r, &err), 0);
  assert_int_equal(r->type, HD_KV_INT);
  const int64_t v = r->integer;
  hd_kv_reply_free(r);
  return v;
}

/* Entries pending in the group (XPENDING summary's count). */
static int64_t pending_count(hd_kv *kv, const char *stream, const char *group) {
  const char *argv[] = {"XPENDING", stream, group};
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(kv, 3, argv, NULL, true, &r, &err), 0);
  assert_int_equal(r->type, HD_KV_ARRAY);
  assert_true(r->n >= 1);
  const int64_t n = r->elems[0]->integer;
  hd_kv_reply_free(r);
  return n;
}

static void del_key(hd_kv *kv, const char *key) {
  const char *argv[] = {"DEL", key};
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(kv, 2, argv, NULL, false, NULL, &err), 0);
}

static char *add_one(hd_kv *kv, const char *stream, const char *value) {
  const hd_kv_field f = {"event", value, strlen(value)};
  char *id = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_stream_add(kv, stream, 1000, &f, 1, &id, &err), 0);
  assert_non_null(id);
  return id;
}

static void test_group_ensure_twice_succeeds_and_creates_the_stream(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char stream[64];
  hd_test_unique(stream, sizeof stream, "events");
  assert_int_equal(hd_kv_group_ensure(kv, stream, "kpi", &err), 0);
  assert_int_equal(hd_kv_group_ensure(kv, stream, "kpi", &err), 0); /* BUSYGROUP is success */
  assert_int_equal(hd_kv_group_ensure(kv, stream, "routing", &err), 0);
  const char *exists[] = {"EXISTS", stream};
  assert_int_equal(kv_int(kv, 2, exists), 1);
  const char *xlen[] = {"XLEN", stream};
  assert_int_equal(kv_int(kv, 2, xlen), 0);

  /* Ensuring a group on a key that is not a stream is a real error. */
  char key[64];
  hd_test_unique(key, sizeof key, "not_a_stream");
  const char *set[] = {"SET", key, "v"};
  assert_int_equal(hd_kv_cmd(kv, 3, set, NULL, false, NULL, &err), 0);
  assert_int_equal(hd_kv_group_ensure(kv, key, "kpi", &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  del_key(kv, key);
  del_key(kv, stream);
  hd_kv_close(kv);
}

static void test_entry_is_read_once_per_group_with_its_fields_and_ack_clears_it(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char stream[64];
  hd_test_unique(stream, sizeof stream, "events");
  assert_int_equal(hd_kv_group_ensure(kv, stream, "kpi", &err), 0);
  assert_int_equal(hd_kv_group_ensure(kv, stream, "routing", &err), 0);

  const char payload[] = {'{', '\0', '}', '\xff'};
  const hd_kv_field fields[] = {
      {"event_id", "tickets-1", 9},
      {"payload", payload, sizeof payload},
      {"empty", NULL, 0},
  };
  char *id = NULL;
  assert_int_equal(hd_kv_stream_add(kv, stream, 1000, fields, 3, &id, &err), 0);
  assert_non_null(id);
  assert_non_null(strchr(id, '-'));
  assert_int_equal(hd_kv_stream_add(kv, stream, 1000, fields, 1, NULL, &err),
                   0); /* id may be NULL */

  hd_kv_batch b = {0};
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "kpi-1", 1, -1, &b, &err), 0);
  assert_int_equal(b.n, 1); /* COUNT is honoured */
  hd_kv_entry *e = &b.entries[0];
  assert_string_equal(e->id, id);
  assert_int_equal(e->deliveries, 1);
  assert_int_equal(e->n, 3);
  assert_string_equal(e->fields[0].name, "event_id");
  assert_string_equal(e->fields[0].value, "tickets-1");
  assert_int_equal(e->fields[0].value_len, 9);
  assert_string_equal(e->fields[1].name, "payload");
  assert_int_equal(e->fields[1].value_len, sizeof payload);
  assert_memory_equal(e->fields[1].value, payload, sizeof payload);
  assert_string_equal(e->fields[2].name, "empty");
  assert_int_equal(e->fields[2].value_len, 0);
  assert_string_equal(e->fields[2].value, "");
  assert_int_equal(pending_count(kv, stream, "kpi"), 1);
  assert_int_equal(hd_kv_stream_ack(kv, stream, "kpi", id, &err), 0);
  assert_int_equal(pending_count(kv, stream, "kpi"), 0);
  assert_int_equal(hd_kv_stream_ack(kv, stream, "kpi", id, &err), 0); /* twice is once */
  hd_kv_batch_free(&b);
  assert_null(b.entries);
  assert_int_equal(b.n, 0);

  /* The second entry, then nothing: a group sees each entry once. */
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "kpi-2", 10, -1, &b, &err), 0);
  assert_int_equal(b.n, 1);
  assert_int_equal(b.entries[0].n, 1);
  assert_int_equal(hd_kv_stream_ack(kv, stream, "kpi", b.entries[0].id, &err), 0);
  hd_kv_batch_free(&b);
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "kpi-1", 10, -1, &b, &err), 0);
  assert_int_equal(b.n, 0);
  assert_null(b.entries);
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "kpi-1", 10, 20, &b, &err),
                   0); /* blocked 20 ms */
  assert_int_equal(b.n, 0);

  /* Another group reads both on its own. */
  assert_int_equal(hd_kv_stream_read(kv, stream, "routing", "r-1", 10, -1, &b, &err), 0);
  assert_int_equal(b.n, 2);
  assert_string_equal(b.entries[0].id, id);
  hd_kv_batch_free(&b);
  free(id);
  del_key(kv, stream);
  hd_kv_close(kv);
}

static void test_read_without_the_group_is_internal_nogroup(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char stream[64];
  hd_test_unique(stream, sizeof stream, "events");
  hd_kv_batch b = {(hd_kv_entry *)1, 5};
  assert_int_equal(hd_kv_stream_read(kv, stream, "nobody", "c", 10, -1, &b, &err), -1);
  assert_int_equal(err.code, HD_INTERNAL);
  assert_non_null(strstr(err.msg, "NOGROUP"));
  assert_null(b.entries);
  assert_int_equal(b.n, 0);
  hd_kv_close(kv);
}

static void test_entry_left_pending_by_a_dead_consumer_is_claimed_and_acked(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char stream[64];
  hd_test_unique(stream, sizeof stream, "events");
  assert_int_equal(hd_kv_group_ensure(kv, stream, "kpi", &err), 0);
  char *ids[3];
  for (int i = 0; i < 3; i++) ids[i] = add_one(kv, stream, i == 1 ? "second" : "other");

  hd_kv_batch b = {0};
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "dead", 10, -1, &b, &err), 0);
  assert_int_equal(b.n, 3);
  assert_int_equal(hd_kv_stream_ack(kv, stream, "kpi", ids[0], &err),
                   0); /* it acked one, then died */
  hd_kv_batch_free(&b);

  /* Not idle long enough yet: nothing to take. */
  assert_int_equal(hd_kv_stream_claim_stale(kv, stream, "kpi", "alive", 60000, 10, &b, &err), 0);
  assert_int_equal(b.n, 0);

  assert_int_equal(hd_kv_stream_claim_stale(kv, stream, "kpi", "alive", 0, 10, &b, &err), 0);
  assert_int_equal(b.n, 2);
  assert_string_equal(b.entries[0].id, ids[1]);
  assert_string_equal(b.entries[1].id, ids[2]);
  assert_int_equal(b.entries[0].deliveries, 2);
  assert_int_equal(b.entries[1].deliveries, 2);
  assert_int_equal(b.entries[0].n, 1);
  assert_string_equal(b.entries[0].fields[0].value, "second");
  assert_int_equal(hd_kv_stream_ack(kv, stream, "kpi", ids[1], &err), 0);
  hd_kv_batch_free(&b);

  /* The one still pending changes hands again: its delivery count keeps rising. */
  assert_int_equal(hd_kv_stream_claim_stale(kv, stream, "kpi", "third", 0, 10, &b, &err), 0);
  assert_int_equal(b.n, 1);
  assert_string_equal(b.entries[0].id, ids[2]);
  assert_int_equal(b.entries[0].deliveries, 3);
  assert_int_equal(hd_kv_stream_ack(kv, stream, "kpi", ids[2], &err), 0);
  hd_kv_batch_free(&b);

  assert_int_equal(hd_kv_stream_claim_stale(kv, stream, "kpi", "alive", 0, 10, &b, &err), 0);
  assert_int_equal(b.n, 0);
  assert_int_equal(pending_count(kv, stream, "kpi"), 0);
  for (int i = 0; i < 3; i++) free(ids[i]);
  del_key(kv, stream);
  hd_kv_close(kv);
}

static void test_claim_after_a_short_idle_takes_only_entries_idle_that_long(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char stream[64];
  hd_test_unique(stream, sizeof stream, "events");
  assert_int_equal(hd_kv_group_ensure(kv, stream, "kpi", &err), 0);
  char *old_id = add_one(kv, stream, "old");
  hd_kv_batch b = {0};
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "dead", 10, -1, &b, &err), 0);
  assert_int_equal(b.n, 1);
  hd_kv_batch_free(&b);
  /* Bounded wait until the first entry has been idle 300 ms, then a fresh one is delivered. */
  const int64_t start = hd_monotonic_us();
  while (hd_monotonic_us() - start < 300 * HD_US_PER_MS) usleep(10000);
  char *new_id = add_one(kv, stream, "new");
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "dead", 10, -1, &b, &err), 0);
  assert_int_equal(b.n, 1);
  hd_kv_batch_free(&b);

  assert_int_equal(hd_kv_stream_claim_stale(kv, stream, "kpi", "alive", 200, 10, &b, &err), 0);
  assert_int_equal(b.n, 1);
  assert_string_equal(b.entries[0].id, old_id);
  hd_kv_batch_free(&b);
  free(old_id);
  free(new_id);
  del_key(kv, stream);
  hd_kv_close(kv);
}

typedef struct late_adder {
  const char *stream;
  int rc;
} late_adder;

static void *late_add_main(void *arg) {
  late_adder *a = arg;
  hd_kv *kv = NULL;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  hd_err err = {0};
  const hd_kv_field f = {"event", "late", 4};
  usleep(100000);
  a->rc = hd_kv_new(&cfg, &kv, &err);
  if (a->rc == 0) a->rc = hd_kv_stream_add(kv, a->stream, 1000, &f, 1, NULL, &err);
  hd_kv_close(kv);
  return NULL;
}

static void test_blocking_read_returns_an_entry_added_while_it_waits(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char stream[64];
  hd_test_unique(stream, sizeof stream, "events");
  assert_int_equal(hd_kv_group_ensure(kv, stream, "kpi", &err), 0);
  late_adder a = {.stream = stream, .rc = -1};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, late_add_main, &a), 0);
  hd_kv_batch b = {0};
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "c", 10, 5000, &b, &err), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(a.rc, 0);
  assert_int_equal(b.n, 1);
  assert_string_equal(b.entries[0].fields[0].value, "late");
  hd_kv_batch_free(&b);
  del_key(kv, stream);
  hd_kv_close(kv);
}

static void test_blocking_read_longer_than_the_command_timeout_is_not_a_timeout(void **state) {
  (void)state;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  cfg.timeout_ms = 100;
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  char stream[64];
  hd_test_unique(stream, sizeof stream, "events");
  assert_int_equal(hd_kv_group_ensure(kv, stream, "kpi", &err), 0);
  hd_kv_batch b = {0};
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "c", 10, 300, &b, &err), 0);
  assert_int_equal(b.n, 0);
  /* The usual timeout is back for the next command: a 1 s BLPOP is cut at 100 ms. */
  const char *blpop[] = {"BLPOP", stream, "1"};
  char list[64];
  hd_test_unique(list, sizeof list, "empty_list");
  blpop[1] = list;
  assert_int_equal(hd_kv_cmd(kv, 3, blpop, NULL, false, NULL, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  del_key(kv, stream);
  hd_kv_close(kv);
}

static void test_maxlen_trims_the_stream_approximately(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char stream[64];
  hd_test_unique(stream, sizeof stream, "events");
  const hd_kv_field f = {"n", "x", 1};
  for (int i = 0; i < 500; i++)
    assert_int_equal(hd_kv_stream_add(kv, stream, 10, &f, 1, NULL, &err), 0);
  const char *xlen[] = {"XLEN", stream};
  const int64_t len = kv_int(kv, 2, xlen);
  assert_true(len >= 10);
  assert_true(len < 500); /* whole nodes are dropped, so "about" 10 */
  del_key(kv, stream);
  hd_kv_close(kv);
}

static void test_stream_input_limits(void **state) {
  (void)state;
  hd_kv *kv = kv_open();
  hd_err err = {0};
  char stream[64];
  hd_test_unique(stream, sizeof stream, "events");
  assert_int_equal(hd_kv_group_ensure(kv, stream, "kpi", &err), 0);

  hd_kv_field *many = calloc(HD_KV_MAX_FIELDS + 1, sizeof *many);
  char(*names)[8] = calloc(HD_KV_MAX_FIELDS + 1, sizeof *names);
  assert_non_null(many);
  assert_non_null(names);
  for (int i = 0; i <= HD_KV_MAX_FIELDS; i++) {
    snprintf(names[i], sizeof names[i], "f%d", i);
    many[i] = (hd_kv_field){names[i], "v", 1};
  }
  assert_int_equal(hd_kv_stream_add(kv, stream, 1000, many, HD_KV_MAX_FIELDS, NULL, &err), 0);
  assert_int_equal(hd_kv_stream_add(kv, stream, 1000, many, HD_KV_MAX_FIELDS + 1, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_stream_add(kv, stream, 1000, many, 0, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  hd_kv_batch b = {0};
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "c", 1, -1, &b, &err), 0);
  assert_int_equal(b.n, 1);
  assert_int_equal(b.entries[0].n, HD_KV_MAX_FIELDS);
  assert_string_equal(b.entries[0].fields[HD_KV_MAX_FIELDS - 1].name, names[HD_KV_MAX_FIELDS - 1]);
  hd_kv_batch_free(&b);
  free(many);
  free(names);

  const hd_kv_field no_name = {"", "v", 1}, null_value = {"f", NULL, 3};
  assert_int_equal(hd_kv_stream_add(kv, stream, 1000, &no_name, 1, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_stream_add(kv, stream, 1000, &null_value, 1, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  const hd_kv_field too_big = {"f", "v", (size_t)HD_KV_MAX_VALUE + 1};
  assert_int_equal(hd_kv_stream_add(kv, stream, 1000, &too_big, 1, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  const hd_kv_field ok = {"f", "v", 1};
  assert_int_equal(hd_kv_stream_add(kv, stream, 0, &ok, 1, NULL, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_stream_add(kv, stream, 1, &ok, 1, NULL, &err), 0);

  char at_max[HD_KV_MAX_NAME + 1], past_max[HD_KV_MAX_NAME + 2];
  memset(at_max, 's', sizeof at_max);
  at_max[HD_KV_MAX_NAME] = '\0';
  memcpy(at_max + HD_KV_MAX_NAME - strlen(stream), stream, strlen(stream)); /* unique per process */
  memset(past_max, 's', sizeof past_max);
  past_max[HD_KV_MAX_NAME + 1] = '\0';
  assert_int_equal(hd_kv_group_ensure(kv, at_max, at_max, &err), 0);
  assert_int_equal(hd_kv_stream_read(kv, at_max, at_max, at_max, 1, -1, &b, &err), 0);
  assert_int_equal(hd_kv_group_ensure(kv, past_max, "g", &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_group_ensure(kv, stream, past_max, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", past_max, 1, -1, &b, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_stream_ack(kv, stream, "kpi", "", &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  del_key(kv, at_max);

  /* count: 1 and the maximum are taken, 0 and one past are not. */
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "c", HD_KV_MAX_COUNT, -1, &b, &err), 0);
  hd_kv_batch_free(&b);
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "c", 0, -1, &b, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "c", HD_KV_MAX_COUNT + 1, -1, &b, &err),
                   -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_stream_claim_stale(kv, stream, "kpi", "c", 0, HD_KV_MAX_COUNT, &b, &err),
                   0);
  hd_kv_batch_free(&b);
  assert_int_equal(
      hd_kv_stream_claim_stale(kv, stream, "kpi", "c", 0, HD_KV_MAX_COUNT + 1, &b, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_stream_claim_stale(kv, stream, "kpi", "c", -1, 10, &b, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);

  /* block: 0 would wait forever; the maximum is allowed, one past it is not. */
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "c", 1, 0, &b, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "c", 1, HD_KV_MAX_BLOCK_MS + 1, &b, &err),
                   -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  hd_kv_field late = {"f", "v", 1};
  assert_int_equal(hd_kv_stream_add(kv, stream, 1000, &late, 1, NULL, &err), 0);
  assert_int_equal(hd_kv_stream_read(kv, stream, "kpi", "c", 1, HD_KV_MAX_BLOCK_MS, &b, &err), 0);
  assert_int_equal(b.n, 1); /* an entry was there: no wait */
  hd_kv_batch_free(&b);
  del_key(kv, stream);
  hd_kv_close(kv);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_group_ensure_twice_succeeds_and_creates_the_stream),
      cmocka_unit_test(test_entry_is_read_once_per_group_with_its_fields_and_ack_clears_it),
      cmocka_unit_test(test_read_without_the_group_is_internal_nogroup),
      cmocka_unit_test(test_entry_left_pending_by_a_dead_consumer_is_claimed_and_acked),
      cmocka_unit_test(test_claim_after_a_short_idle_takes_only_entries_idle_that_long),
      cmocka_unit_test(test_blocking_read_returns_an_entry_added_while_it_waits),
      cmocka_unit_test(test_blocking_read_longer_than_the_command_timeout_is_not_a_timeout),
      cmocka_unit_test(test_maxlen_trims_the_stream_approximately),
      cmocka_unit_test(test_stream_input_limits),
  };
  return cmocka_run_group_tests_name("kv_stream", tests, NULL, NULL);
}
