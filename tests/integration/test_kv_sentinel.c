/* Redis through Sentinel (common/kv/kv_sentinel.c): a list that is not host:port is refused with
 * the entry; Sentinels that do not answer are UNAVAILABLE naming the list; and, when
 * HELPDESK_REDIS_SENTINELS names running Sentinels (make test-cluster), a handle follows a
 * failover (SENTINEL FAILOVER): its writes go on, after a short outage, on the new primary,
 * without a new handle. Without Sentinels the failover test is skipped. */
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
#include "kv/kv.h"
#include "test_env.h"

static void test_sentinel_list_that_is_not_host_port_is_refused_with_the_entry(void **state) {
  (void)state;
  const char *bad[] = {"127.0.0.1", "127.0.0.1:0", "a:1,:2", "h:70000"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const hd_kv_config cfg = {.sentinels = bad[i]};
    hd_kv *kv = NULL;
    hd_err err = {0};
    assert_int_equal(hd_kv_new(&cfg, &kv, &err), -1);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "HELPDESK_REDIS_SENTINELS"));
    assert_null(kv);
  }
  const hd_kv_config spaced = {.sentinels = "127.0.0.1:1", .master_name = "my primary"};
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&spaced, &kv, &err), -1);
  assert_non_null(strstr(err.msg, "HELPDESK_REDIS_MASTER_NAME"));
}

static void test_sentinels_that_do_not_answer_are_unavailable_naming_the_list(void **state) {
  (void)state;
  char list[64];
  snprintf(list, sizeof list, "127.0.0.1:%d,127.0.0.1:%d", hd_test_free_port(),
           hd_test_free_port());
  const hd_kv_config cfg = {.sentinels = list, .timeout_ms = 500};
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  assert_int_equal(hd_kv_ping(kv, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  assert_non_null(strstr(err.msg, list));
  hd_kv_close(kv);
}

/* The primary's port as the handle sees it (CONFIG GET port on its connection). */
static long connected_port(hd_kv *kv) {
  const char *argv[] = {"CONFIG", "GET", "port"};
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  if (hd_kv_cmd(kv, 3, argv, NULL, true, &r, &err) != 0) fail_msg("CONFIG GET: %s", err.msg);
  const long port = r->n == 2 ? strtol(r->elems[1]->str, NULL, 10) : -1;
  hd_kv_reply_free(r);
  return port;
}

static void test_a_handle_follows_a_sentinel_failover_to_the_new_primary(void **state) {
  (void)state;
  const char *sentinels = getenv("HELPDESK_REDIS_SENTINELS");
  if (!sentinels || !*sentinels) {
    fprintf(stderr, "no HELPDESK_REDIS_SENTINELS: skipped (make test-cluster runs it)\n");
    skip();
  }
  const char *master = getenv("HELPDESK_REDIS_MASTER_NAME");
  const hd_kv_config cfg = {.sentinels = sentinels, .master_name = master, .timeout_ms = 1000};
  hd_kv *kv = NULL, *sentinel = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  char key[64];
  hd_test_unique(key, sizeof key, "sentinel-key");
  const char *set1[] = {"SET", key, "before"};
  if (hd_kv_cmd(kv, 3, set1, NULL, false, NULL, &err) != 0) fail_msg("SET: %s", err.msg);
  const long before = connected_port(kv);

  /* A manual failover through the first Sentinel. */
  char host[64] = "";
  unsigned sport = 0;
  sscanf(sentinels, "%63[^:]:%u", host, &sport);
  const hd_kv_config scfg = {.host = host, .port = sport};
  assert_int_equal(hd_kv_new(&scfg, &sentinel, &err), 0);
  const char *fo[] = {"SENTINEL", "FAILOVER", master && *master ? master : "helpdesk"};
  if (hd_kv_cmd(sentinel, 3, fo, NULL, false, NULL, &err) != 0) fail_msg("FAILOVER: %s", err.msg);

  /* Writes go on: each one either fails (UNAVAILABLE, during the switch) or lands on a primary;
   * within 30 s one lands on the new primary. */
  const int64_t t0 = hd_monotonic_us();
  long after = before;
  unsigned refused = 0;
  while (hd_monotonic_us() - t0 < 30 * HD_US_PER_S) {
    const char *set2[] = {"SET", key, "after"};
    hd_err werr = {0};
    if (hd_kv_cmd(kv, 3, set2, NULL, false, NULL, &werr) == 0) {
      after = connected_port(kv);
      if (after != before) break;
    } else {
      assert_int_equal(werr.code, HD_UNAVAILABLE);
      refused++;
    }
    usleep(50000);
  }
  fprintf(stderr, "failover: primary port %ld -> %ld after %.1f s, %u write(s) refused meanwhile\n",
          before, after, (double)(hd_monotonic_us() - t0) / HD_US_PER_S, refused);
  assert_int_not_equal(after, before);
  const char *get[] = {"GET", key};
  hd_kv_reply *r = NULL;
  assert_int_equal(hd_kv_cmd(kv, 2, get, NULL, true, &r, &err), 0);
  assert_string_equal(r->str, "after");
  hd_kv_reply_free(r);
  hd_kv_close(sentinel);
  hd_kv_close(kv);
}

/* A Sentinel of its own on a free port, with requirepass, watching the primary at port (a
 * private Redis). Its folder into dir (removed by sentinel_stop). */
static int sentinel_start(char dir[64], unsigned port, const char *password, unsigned *sport) {
  snprintf(dir, 64, "/tmp/hd-sentinel-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  *sport = (unsigned)hd_test_free_port();
  char conf[128], text[1024];
  snprintf(conf, sizeof conf, "%s/sentinel.conf", dir);
  snprintf(text, sizeof text,
           "port %u\nbind 127.0.0.1\ndaemonize yes\npidfile %s/sentinel.pid\n"
           "logfile %s/sentinel.log\ndir %s\nrequirepass %s\n"
           "sentinel monitor helpdesk 127.0.0.1 %u 1\n",
           *sport, dir, dir, dir, password, port);
  FILE *f = fopen(conf, "w");
  if (!f) return -1;
  fputs(text, f);
  fclose(f);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "redis-sentinel %s </dev/null >/dev/null 2>&1", conf);
  if (system(cmd) != 0) return -1;
  /* until it answers (a refusal of the unauthenticated PING is an answer) */
  for (int i = 0; i < 100; i++) {
    snprintf(cmd, sizeof cmd, "redis-cli -p %u PING 2>/dev/null | grep -q -E 'NOAUTH|PONG'",
             *sport);
    if (system(cmd) == 0) return 0;
    usleep(50000);
  }
  return -1;
}

static void sentinel_stop(const char *dir) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "kill $(cat %s/sentinel.pid) 2>/dev/null; sleep 0.2; rm -rf %s", dir,
           dir);
  if (system(cmd) != 0) fprintf(stderr, "could not stop the Sentinel of %s\n", dir);
}

/* A Sentinel with a password: without the Sentinel's login the handle cannot find the primary
 * (UNAVAILABLE with Sentinel's NOAUTH), with a wrong one the refusal names the user and the
 * settings (never the password), and with the right one it reaches the primary and works. */
static void test_sentinels_with_a_password_are_asked_after_auth(void **state) {
  (void)state;
  hd_test_redis red;
  assert_int_equal(hd_test_redis_start(&red), 0);
  hd_kv_config base;
  hd_test_kv_config(&base);
  char dir[64], list[32];
  unsigned sport = 0;
  assert_int_equal(sentinel_start(dir, red.port, "sentinel-pw", &sport), 0);
  snprintf(list, sizeof list, "127.0.0.1:%u", sport);
  static const struct {
    const char *password, *part;
  } wrong[] = {{NULL, "NOAUTH"}, {"not-it", "refused the login of user default"}};
  for (size_t i = 0; i < 2; i++) {
    hd_kv_config cfg = base;
    cfg.sentinels = list;
    cfg.timeout_ms = 1000;
    cfg.sentinel_password = wrong[i].password;
    hd_kv *kv = NULL;
    hd_err err = {0};
    assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
    assert_int_equal(hd_kv_ping(kv, &err), -1);
    assert_int_equal(err.code, HD_UNAVAILABLE);
    if (!strstr(err.msg, wrong[i].part)) fail_msg("expected \"%s\" in: %s", wrong[i].part, err.msg);
    assert_null(strstr(err.msg, "not-it"));
    hd_kv_close(kv);
  }
  hd_kv_config cfg = base;
  cfg.sentinels = list;
  cfg.timeout_ms = 1000;
  cfg.sentinel_password = "sentinel-pw";
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  if (hd_kv_ping(kv, &err) != 0) fail_msg("through the Sentinel: %s", err.msg);
  assert_int_equal(connected_port(kv), (long)red.port);
  hd_kv_close(kv);
  sentinel_stop(dir);
  hd_test_redis_stop(&red);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sentinel_list_that_is_not_host_port_is_refused_with_the_entry),
      cmocka_unit_test(test_sentinels_that_do_not_answer_are_unavailable_naming_the_list),
      cmocka_unit_test(test_a_handle_follows_a_sentinel_failover_to_the_new_primary),
      cmocka_unit_test(test_sentinels_with_a_password_are_asked_after_auth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
