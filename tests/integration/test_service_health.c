/* A whole service (routing) started through the shared runtime: it serves health, answers a
 * method it does not have UNIMPLEMENTED, and when MariaDB and Redis are
 * down at start it starts anyway, reports NOT_SERVING (MariaDB is down: readiness follows it for
 * every service, Redis only for one that needs it), and serves once they come up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "routing_service.h"
#include "svc_fixture.h"
#include "test_env.h"

static void test_service_serves_health_and_unknown_methods_are_unimplemented(void **state) {
  (void)state;
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &routing_service_def), 0);
  assert_int_equal(hd_fixture_health(&f), 1);
  char *tok = hd_fixture_token(&f, "acme", "agent-1", HD_ROLE_AGENT);
  hd_arena *a = hd_arena_new(1 << 16);
  hd_err err;
  void *rb;
  size_t rl;
  assert_int_equal(hd_client_call_raw(f.client, "/helpdesk.v1.RoutingService/NoSuchMethod", tok, 0,
                                      "", 0, a, &rb, &rl, &err),
                   -1);
  assert_int_equal(err.code, HD_UNIMPLEMENTED);
  /* The schema_migrations table exists: migrations ran at start. */
  assert_int_equal(
      hd_fixture_sql_i64(&f,
                         "SELECT COUNT(*) FROM information_schema.tables WHERE "
                         "table_schema = DATABASE() AND table_name = 'schema_migrations'"),
      1);
  hd_arena_free(a);
  free(tok);
  hd_fixture_stop(&f);
}

static void test_service_started_without_mariadb_and_redis_serves_once_they_come_up(void **state) {
  (void)state;
  hd_test_outage o;
  assert_int_equal(hd_test_outage_begin(&o), 0);
  char dir[128], cmd[512];
  snprintf(dir, sizeof dir, "/tmp/hd-late-%d", (int)getpid());
  hd_fixture f;
  assert_int_equal(hd_fixture_start_unready(&f, &routing_service_def), 0);
  usleep(300000);
  assert_int_equal(hd_fixture_health(&f), 2); /* NOT_SERVING */

  snprintf(cmd, sizeof cmd, "%s/scripts/servers.sh start %s %d %d >/dev/null", HD_SOURCE_DIR, dir,
           o.db_port, o.redis_port);
  assert_int_equal(system(cmd), 0);
  int st = -1;
  for (int i = 0; i < 300 && st != 1; i++) {
    usleep(100000);
    st = hd_fixture_health(&f);
  }
  assert_int_equal(st, 1); /* SERVING once both answer */

  hd_fixture_stop(&f); /* drops its database on the late servers */
  hd_test_outage_end(&o);
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
