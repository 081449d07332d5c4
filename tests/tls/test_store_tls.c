/* The links to MariaDB and Redis over TLS, against TLS-only servers (scripts/servers.sh with
 * HELPDESK_SERVERS_TLS=1, started by scripts/store-tls-check.sh): the connections are encrypted
 * (the server says which cipher), plaintext is refused, and a server certificate the configured
 * CA did not sign is refused. Prints the proof lines ("tls proof: ...") for the closing note. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "db/db.h"
#include "kv/kv.h"
#include "test_env.h"

static int needs_tls_servers(void **state) {
  (void)state;
  if (!getenv("HELPDESK_DB_TLS_CA") || !getenv("HELPDESK_REDIS_TLS_CA")) {
    fprintf(stderr,
            "test_store_tls: run by scripts/store-tls-check.sh, which starts TLS-only "
            "servers and sets HELPDESK_DB_TLS_* and HELPDESK_REDIS_TLS_*\n");
    return -1;
  }
  return 0;
}

/* The value of the session status variable `name`, into buf. */
static void db_status(hd_db *db, const char *name, char *buf, size_t size) {
  hd_err err = {0};
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(name)};
  if (hd_db_query(db,
                  "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
                  "WHERE VARIABLE_NAME = ?",
                  p, 1, 1, &rows, &err) != 0)
    fail_msg("%s", err.msg);
  assert_int_equal(hd_db_rows_count(rows), 1);
  snprintf(buf, size, "%s", hd_db_str(rows, 0, 0, NULL));
  hd_db_rows_free(rows);
}

static void test_mariadb_connection_is_tls_with_a_cipher(void **state) {
  (void)state;
  hd_db_config cfg;
  hd_test_db_config(&cfg, NULL);
  hd_db *db = NULL;
  hd_err err = {0};
  assert_int_equal(hd_db_new(&cfg, &db, &err), 0);
  assert_int_equal(hd_db_ping(db, &err), 0);
  char cipher[128], version[64];
  db_status(db, "SSL_CIPHER", cipher, sizeof cipher);
  db_status(db, "SSL_VERSION", version, sizeof version);
  printf("tls proof: MariaDB %s:%u Ssl_cipher=%s Ssl_version=%s\n", cfg.host, cfg.port, cipher,
         version);
  assert_true(cipher[0] != '\0');
  assert_non_null(strstr(version, "TLS"));
  hd_db_close(db);
}

static void test_mariadb_without_tls_is_refused(void **state) {
  (void)state;
  hd_db_config cfg;
  hd_test_db_config(&cfg, NULL);
  cfg.tls_ca_file = cfg.tls_cert_file = cfg.tls_key_file = NULL;
  hd_db *db = NULL;
  hd_err err = {0};
  assert_int_equal(hd_db_new(&cfg, &db, &err), 0);
  assert_int_equal(hd_db_ping(db, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  printf("tls proof: MariaDB without TLS: %s\n", err.msg);
  hd_db_close(db);
}

static void test_mariadb_server_certificate_not_from_the_ca_is_refused(void **state) {
  (void)state;
  hd_db_config cfg;
  hd_test_db_config(&cfg, NULL);
  char other_ca[512];
  snprintf(other_ca, sizeof other_ca, "%s", getenv("HELPDESK_TLS_OTHER_CA"));
  cfg.tls_ca_file = other_ca;
  hd_db *db = NULL;
  hd_err err = {0};
  assert_int_equal(hd_db_new(&cfg, &db, &err), 0);
  assert_int_equal(hd_db_ping(db, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  printf("tls proof: MariaDB with another CA: %s\n", err.msg);
  hd_db_close(db);
}

static hd_kv_reply *kv_run(hd_kv *kv, int argc, const char **argv) {
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  if (hd_kv_cmd(kv, argc, argv, NULL, true, &r, &err) != 0) fail_msg("%s", err.msg);
  return r;
}

static void test_redis_connection_is_tls_and_the_plain_port_is_off(void **state) {
  (void)state;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  assert_int_equal(hd_kv_ping(kv, &err), 0);
  const char *port[] = {"CONFIG", "GET", "port"}, *tls_port[] = {"CONFIG", "GET", "tls-port"};
  hd_kv_reply *p = kv_run(kv, 3, port), *t = kv_run(kv, 3, tls_port);
  printf("tls proof: Redis port=%s tls-port=%s (connected to %u)\n", p->elems[1]->str,
         t->elems[1]->str, cfg.port);
  assert_string_equal(p->elems[1]->str, "0");
  assert_int_equal(atoi(t->elems[1]->str), (int)cfg.port);
  hd_kv_reply_free(p);
  hd_kv_reply_free(t);
  /* Real work through the TLS path: a value, a script, and a blocking read that times out. */
  const char *set[] = {"SET", "tls:check", "value over tls"}, *get[] = {"GET", "tls:check"};
  hd_kv_reply_free(kv_run(kv, 3, set));
  hd_kv_reply *g = kv_run(kv, 2, get);
  assert_string_equal(g->str, "value over tls");
  hd_kv_reply_free(g);
  bool acquired = false;
  int64_t fence = 0;
  assert_int_equal(hd_kv_lease_acquire(kv, "tls-check", "me", 5000, NULL, &acquired, &fence, &err),
                   0);
  assert_true(acquired);
  assert_int_equal(hd_kv_group_ensure(kv, "tls:stream", "g", &err), 0);
  hd_kv_batch b = {0};
  assert_int_equal(hd_kv_stream_read(kv, "tls:stream", "g", "c", 10, 200, &b, &err), 0);
  assert_int_equal(b.n, 0);
  hd_kv_batch_free(&b);
  hd_kv_close(kv);
}

static void test_redis_plaintext_on_the_tls_port_gets_no_answer(void **state) {
  (void)state;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  const struct timeval tv = {.tv_sec = 2};
  redisContext *c = redisConnectWithTimeout(cfg.host, (int)cfg.port, tv);
  assert_non_null(c);
  assert_int_equal(c->err, 0);
  redisSetTimeout(c, tv);
  redisReply *r = redisCommand(c, "PING");
  printf("tls proof: Redis plaintext PING on the TLS port: %s\n",
         r ? "answered (wrong)" : c->errstr);
  assert_null(r);
  redisFree(c);
}

static void test_redis_server_certificate_not_from_the_ca_is_refused(void **state) {
  (void)state;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  cfg.tls_ca_file = getenv("HELPDESK_TLS_OTHER_CA");
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  assert_int_equal(hd_kv_ping(kv, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  assert_non_null(strstr(err.msg, "server certificate refused"));
  printf("tls proof: Redis with another CA: %s\n", err.msg);
  hd_kv_close(kv);
}

static void test_redis_without_a_client_certificate_is_refused(void **state) {
  (void)state;
  hd_kv_config cfg;
  hd_test_kv_config(&cfg);
  cfg.tls_cert_file = cfg.tls_key_file = NULL;
  hd_kv *kv = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_new(&cfg, &kv, &err), 0);
  assert_int_equal(hd_kv_ping(kv, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  printf("tls proof: Redis without a client certificate: %s\n", err.msg);
  hd_kv_close(kv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mariadb_connection_is_tls_with_a_cipher),
      cmocka_unit_test(test_mariadb_without_tls_is_refused),
      cmocka_unit_test(test_mariadb_server_certificate_not_from_the_ca_is_refused),
      cmocka_unit_test(test_redis_connection_is_tls_and_the_plain_port_is_off),
      cmocka_unit_test(test_redis_plaintext_on_the_tls_port_gets_no_answer),
      cmocka_unit_test(test_redis_server_certificate_not_from_the_ca_is_refused),
      cmocka_unit_test(test_redis_without_a_client_certificate_is_refused),
  };
  return cmocka_run_group_tests(tests, needs_tls_servers, NULL);
}
