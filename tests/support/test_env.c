/* Test environment from HELPDESK_* variables set by scripts/test.sh. */
#include "test_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"

void hd_test_db_config(hd_db_config *cfg, const char *database) {
  int64_t port = 3306;
  hd_config_int("HELPDESK_DB_PORT", 3306, 1, 65535, &port, NULL);
  *cfg = (hd_db_config){
      .host = hd_config_str("HELPDESK_DB_HOST", "127.0.0.1"),
      .port = (unsigned)port,
      .socket = hd_config_str("HELPDESK_DB_SOCKET", NULL),
      .user = hd_config_str("HELPDESK_DB_USER", "root"),
      .password = hd_config_str("HELPDESK_DB_PASSWORD", ""),
      .database = database,
      .tls_ca_file = hd_config_str("HELPDESK_DB_TLS_CA", NULL),
      .tls_cert_file = hd_config_str("HELPDESK_DB_TLS_CERT", NULL),
      .tls_key_file = hd_config_str("HELPDESK_DB_TLS_KEY", NULL),
  };
}

int hd_test_drop_database(const char *name) {
  hd_db_config cfg;
  hd_test_db_config(&cfg, NULL);
  hd_db *db = NULL;
  hd_err err = {0};
  char sql[128];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", name);
  const int rc = hd_db_new(&cfg, &db, &err) == 0 ? hd_db_exec_script(db, sql, &err) : -1;
  if (rc != 0) fprintf(stderr, "dropping database %s: %s\n", name, err.msg);
  hd_db_close(db);
  return rc;
}

void hd_test_kv_config(hd_kv_config *cfg) {
  hd_err err = {0};
  if (hd_config_kv(cfg, &err) != 0) {
    fprintf(stderr, "the suite's Redis settings: %s\n", err.msg);
    abort();
  }
}

const char *hd_test_unique(char *buf, size_t size, const char *prefix) {
  static unsigned counter; /* test process only */
  snprintf(buf, size, "%s_%d_%u", prefix, (int)getpid(), ++counter);
  return buf;
}

int hd_test_free_port(void) {
  int port = 0;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

static const char *const outage__vars[HD_TEST_OUTAGE_VARS] = {
    "HELPDESK_DB_PORT", "HELPDESK_REDIS_PORT", "HELPDESK_DB_SOCKET", "HELPDESK_DB_HOST",
    "HELPDESK_DB_PASSWORD"};

int hd_test_outage_begin(hd_test_outage *o) {
  memset(o, 0, sizeof *o);
  o->db_port = hd_test_free_port();
  o->redis_port = hd_test_free_port();
  if (o->db_port <= 0 || o->redis_port <= 0) return -1;
  for (int i = 0; i < HD_TEST_OUTAGE_VARS; i++) {
    const char *v = getenv(outage__vars[i]);
    o->saved[i] = v ? strdup(v) : NULL;
  }
  char port[16];
  snprintf(port, sizeof port, "%d", o->db_port);
  setenv("HELPDESK_DB_PORT", port, 1);
  snprintf(port, sizeof port, "%d", o->redis_port);
  setenv("HELPDESK_REDIS_PORT", port, 1);
  setenv("HELPDESK_DB_SOCKET", "", 1); /* TCP, to the port where nothing listens */
  setenv("HELPDESK_DB_HOST", "127.0.0.1", 1);
  return 0;
}

void hd_test_outage_end(hd_test_outage *o) {
  for (int i = 0; i < HD_TEST_OUTAGE_VARS; i++) {
    if (o->saved[i])
      setenv(outage__vars[i], o->saved[i], 1);
    else
      unsetenv(outage__vars[i]);
    free(o->saved[i]);
    o->saved[i] = NULL;
  }
}

static char *test_env__dup_env(const char *name) {
  const char *v = getenv(name);
  return v ? strdup(v) : NULL;
}

static void test_env__restore(const char *name, char **saved) {
  if (*saved)
    setenv(name, *saved, 1);
  else
    unsetenv(name);
  free(*saved);
  *saved = NULL;
}

/* Runs redis-server on r->port (pidfile r->pidfile) and connects r->kv once it answers PING
 * (at most 10 s). 0, or -1 (r->kv closed). */
static int test_env__redis_launch(hd_test_redis *r) {
  /* The suite's login (HELPDESK_REDIS_USER / _PASSWORD) is an ACL user here too, so services
   * pointed at this Redis log in as they do on the suite's; its default user stays open for the
   * test's own connection. The values are single-quoted: one holding a quote is not used. */
  const char *user = hd_config_str("HELPDESK_REDIS_USER", "default");
  const char *pass = hd_config_str("HELPDESK_REDIS_PASSWORD", NULL);
  char acl[400] = "";
  if (pass && !strchr(pass, '\'') && !strchr(user, '\'') && strcmp(user, "default") != 0)
    snprintf(acl, sizeof acl, " --user '%s' on '>%s' '~*' '&*' '+@all'", user, pass);
  char cmd[900];
  snprintf(cmd, sizeof cmd,
           "redis-server --port %u --bind 127.0.0.1 --save '' --appendonly no --daemonize yes "
           "--pidfile %s --logfile /dev/null --dir /tmp%s >/dev/null",
           r->port, r->pidfile, acl);
  if (system(cmd) != 0) {
    fprintf(stderr, "hd_test_redis: redis-server would not start on port %u\n", r->port);
    return -1;
  }
  hd_kv_config cfg = {.host = "127.0.0.1", .port = r->port, .timeout_ms = 5000};
  hd_err err = {0};
  if (hd_kv_new(&cfg, &r->kv, &err) == 0)
    for (int i = 0; i < 200; i++) {
      if (hd_kv_ping(r->kv, &err) == 0) return 0;
      usleep(50000);
    }
  fprintf(stderr, "hd_test_redis: redis-server on port %u does not answer: %s\n", r->port, err.msg);
  return -1;
}

/* SHUTDOWN NOSAVE through r->kv, which it closes. */
static void test_env__redis_shutdown(hd_test_redis *r) {
  if (r->kv) {
    hd_err err = {0};
    const char *shutdown[] = {"SHUTDOWN", "NOSAVE"};
    (void)hd_kv_cmd(r->kv, 2, shutdown, NULL, false, NULL, &err); /* the reply is the hang-up */
    hd_kv_close(r->kv);
    r->kv = NULL;
  }
  unlink(r->pidfile);
}

int hd_test_redis_start(hd_test_redis *r) {
  memset(r, 0, sizeof *r);
  r->port = (unsigned)hd_test_free_port();
  if (!r->port) return -1;
  snprintf(r->pidfile, sizeof r->pidfile, "/tmp/hd-test-redis-%u.pid", r->port);
  if (test_env__redis_launch(r) != 0) {
    hd_test_redis_stop(r);
    return -1;
  }
  char port[16];
  snprintf(port, sizeof port, "%u", r->port);
  r->saved_host = test_env__dup_env("HELPDESK_REDIS_HOST");
  r->saved_port = test_env__dup_env("HELPDESK_REDIS_PORT");
  setenv("HELPDESK_REDIS_HOST", "127.0.0.1", 1);
  setenv("HELPDESK_REDIS_PORT", port, 1);
  r->pointed = true;
  return 0;
}

void hd_test_redis_down(hd_test_redis *r) {
  if (r->port) test_env__redis_shutdown(r);
}

int hd_test_redis_up(hd_test_redis *r) {
  if (!r->port || r->kv) return -1;
  return test_env__redis_launch(r);
}

void hd_test_redis_stop(hd_test_redis *r) {
  if (!r->port) return;
  test_env__redis_shutdown(r);
  if (r->pointed) {
    test_env__restore("HELPDESK_REDIS_HOST", &r->saved_host);
    test_env__restore("HELPDESK_REDIS_PORT", &r->saved_port);
    r->pointed = false;
  }
  r->port = 0;
}
