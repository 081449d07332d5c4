/* A whole service (routing, which has no RPCs of its own yet) started through the shared
 * runtime: it serves health, answers its methods UNIMPLEMENTED, and when MariaDB and Redis are
 * down at start it starts anyway, reports NOT_SERVING, and serves once they come up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpdesk/v1/routing.pb-c.h"
#include "svc_fixture.h"
#include "test_env.h"

extern const hd_migration routing_migrations[];

static const hd_service_def routing_def = {
    .name = "routing",
    .default_port = 0,
    .descriptor = &helpdesk__v1__routing_service__descriptor,
    .migrations = routing_migrations,
};

static void test_service_serves_health_and_unknown_methods_are_unimplemented(void **state) {
  (void)state;
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &routing_def), 0);
  assert_int_equal(hd_fixture_health(&f), 1);
  char *tok = hd_fixture_token(&f, "acme", "agent-1", HD_ROLE_AGENT);
  hd_arena *a = hd_arena_new(1 << 16);
  hd_err err;
  void *rb;
  size_t rl;
  assert_int_equal(hd_client_call_raw(f.client, "/helpdesk.v1.RoutingService/ClaimNext", tok, 0, "", 0, a, &rb,
                                      &rl, &err), -1);
  assert_int_equal(err.code, HD_UNIMPLEMENTED);
  /* The schema_migrations table exists: migrations ran at start. */
  assert_int_equal(hd_fixture_sql_i64(&f, "SELECT COUNT(*) FROM information_schema.tables WHERE "
                                           "table_schema = DATABASE() AND table_name = 'schema_migrations'"), 1);
  hd_arena_free(a);
  free(tok);
  hd_fixture_stop(&f);
}

static void test_service_started_without_mariadb_and_redis_serves_once_they_come_up(void **state) {
  (void)state;
  int db_port = hd_test_free_port(), redis_port = hd_test_free_port();
  assert_true(db_port > 0 && redis_port > 0);
  char dir[128], buf[64], cmd[512];
  snprintf(dir, sizeof dir, "/tmp/hd-late-%d", (int)getpid());
  snprintf(buf, sizeof buf, "%d", db_port);
  setenv("HELPDESK_DB_PORT", buf, 1);
  snprintf(buf, sizeof buf, "%d", redis_port);
  setenv("HELPDESK_REDIS_PORT", buf, 1);
  setenv("HELPDESK_DB_SOCKET", "", 1); /* TCP to the port where nothing listens yet */
  setenv("HELPDESK_DB_HOST", "127.0.0.1", 1);

  hd_fixture f;
  memset(&f, 0, sizeof f);
  hd_clock_init_manual(&f.clock, 1767571200LL * HD_US_PER_S);
  snprintf(f.db_name, sizeof f.db_name, "hd_late_%d", (int)getpid());
  hd_svc_options opts = {.listen_addr = "127.0.0.1:0", .clock = &f.clock, .db_name = f.db_name};
  hd_err err = {0};
  assert_int_equal(hd_svc_start(&routing_def, &opts, &f.svc, &err), 0);
  snprintf(f.target, sizeof f.target, "127.0.0.1:%d", hd_svc_port(f.svc));
  hd_client_config cc = {.target = f.target};
  assert_int_equal(hd_client_new(&cc, &f.client, &err), 0);
  usleep(300000);
  assert_int_equal(hd_fixture_health(&f), 2); /* NOT_SERVING */

  snprintf(cmd, sizeof cmd, "%s/scripts/servers.sh start %s %d %d >/dev/null", HD_SOURCE_DIR, dir, db_port,
           redis_port);
  assert_int_equal(system(cmd), 0);
  int st = -1;
  for (int i = 0; i < 300 && st != 1; i++) {
    usleep(100000);
    st = hd_fixture_health(&f);
  }
  assert_int_equal(st, 1); /* SERVING once both answer */

  hd_client_destroy(f.client);
  hd_svc_stop(f.svc);
  snprintf(cmd, sizeof cmd, "%s/scripts/servers.sh stop %s && rm -rf %s", HD_SOURCE_DIR, dir, dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_service_serves_health_and_unknown_methods_are_unimplemented),
      cmocka_unit_test(test_service_started_without_mariadb_and_redis_serves_once_they_come_up),
  };
  return cmocka_run_group_tests_name("service_health", tests, NULL, NULL);
}
