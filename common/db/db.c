/* The MariaDB handle: configuration, lazy connect with the session settings every service relies
 * on (utf8mb4, strict sql_mode, UTC), detection of a connection the server has closed, ping,
 * and plain-text statements for transaction control and scripts. */
#include "db/db.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/db_internal.h"

#define DB_DEFAULT_HOST              "127.0.0.1"
#define DB_DEFAULT_PORT              3306u
#define DB_DEFAULT_CONNECT_TIMEOUT_S 3u
#define DB_DEFAULT_RW_TIMEOUT_S      30u
#define DB_NAME_MAX                  64u
#define DB_LOCK_WAIT_MAX_S           50u /* InnoDB's own default */

/* mysql_library_init is run once per process before the first handle. */
static pthread_once_t db_library_once = PTHREAD_ONCE_INIT;

static void db__library_init(void) {
  /* A failure here surfaces as mysql_init() returning NULL at the first connect. */
  (void)mysql_library_init(0, NULL, NULL);
}

void hd_db_library_end(void) { mysql_library_end(); }

hd_db_param hd_db_text(const char *s) {
  return s ? (hd_db_param){.type = HD_DB_TEXT, .s = s, .len = strlen(s)} : hd_db_null();
}

/* [A-Za-z0-9_]{1,64}: the database name is spliced into CREATE DATABASE, so nothing else. */
static bool db__name_ok(const char *name) {
  const size_t n = strlen(name);
  if (n == 0 || n > DB_NAME_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

/* strdup of an optional string: *out stays NULL for NULL; false only when out of memory. */
static bool db__dup(const char *s, char **out) {
  *out = NULL;
  if (!s) return true;
  *out = strdup(s);
  return *out != NULL;
}

/* db__dup where "" also means unset. */
static bool db__dup_set(const char *s, char **out) { return db__dup(s && s[0] ? s : NULL, out); }

int hd_db_new(const hd_db_config *cfg, hd_db **out, hd_err *err) {
  int rc = -1;
  hd_db *db = NULL;
  *out = NULL;
  const char *name = cfg->database && cfg->database[0] ? cfg->database : NULL;
  if (name && !db__name_ok(name)) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "database name must be 1 to 64 of [A-Za-z0-9_]");
    goto done;
  }
  if (cfg->port > 65535) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "database port %u is out of range 1..65535", cfg->port);
    goto done;
  }
  db = calloc(1, sizeof *db);
  if (!db || !db__dup(cfg->host && cfg->host[0] ? cfg->host : DB_DEFAULT_HOST, &db->host) ||
      !db__dup(cfg->socket && cfg->socket[0] ? cfg->socket : NULL, &db->socket) ||
      !db__dup(cfg->user, &db->user) || !db__dup(cfg->password, &db->password) ||
      !db__dup(name, &db->database) || !db__dup_set(cfg->tls_ca_file, &db->tls_ca) ||
      !db__dup_set(cfg->tls_cert_file, &db->tls_cert) ||
      !db__dup_set(cfg->tls_key_file, &db->tls_key)) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating the database handle");
    goto done;
  }
  db->port = cfg->port ? cfg->port : DB_DEFAULT_PORT;
  if (cfg->nodes && cfg->nodes[0]) { /* several nodes, over TCP: db_nodes.c */
    if (db_nodes_new(cfg->nodes, &db->nodes, err) != 0) goto done;
    free(db->socket);
    db->socket = NULL;
  }
  db->connect_timeout_s =
      cfg->connect_timeout_s ? cfg->connect_timeout_s : DB_DEFAULT_CONNECT_TIMEOUT_S;
  db->rw_timeout_s = cfg->rw_timeout_s ? cfg->rw_timeout_s : DB_DEFAULT_RW_TIMEOUT_S;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  db->seed = (unsigned)((uintptr_t)db ^ (uintptr_t)ts.tv_nsec ^ (uintptr_t)getpid());
  pthread_once(&db_library_once, db__library_init);
  *out = db;
  db = NULL;
  rc = 0;
done:
  hd_db_close(db);
  return rc;
}

void hd_db_close(hd_db *db) {
  if (!db) return;
  db_drop(db);
  db_nodes_free(db->nodes);
  free(db->host);
  free(db->socket);
  free(db->user);
  free(db->password);
  free(db->database);
  free(db->tls_ca);
  free(db->tls_cert);
  free(db->tls_key);
  free(db);
}

void db_drop(hd_db *db) {
  for (size_t i = 0; i < db->n_cached; i++) {
    mysql_stmt_close(db->cache[i].st);
    free(db->cache[i].sql);
  }
  db->n_cached = 0;
  if (db->m) mysql_close(db->m);
  db->m = NULL;
  if (db->tx == DB_TX_OPEN) db->tx = DB_TX_LOST;
}

/* "127.0.0.1:3306" or the socket path, for messages. */
static void db__where(const hd_db *db, char *buf, size_t size) {
  if (db->socket)
    snprintf(buf, size, "%s", db->socket);
  else if (strchr(db->host, ':'))
    snprintf(buf, size, "[%s]:%u", db->host, db->port);
  else
    snprintf(buf, size, "%s:%u", db->host, db->port);
}

/* Session settings: strict writes (an over-long or invalid value is an error, not a silent
 * truncation), UTC for NOW() and TIMESTAMP columns, and a lock wait shorter than the client's
 * read timeout so a blocked statement ends as ER_LOCK_WAIT_TIMEOUT (retryable) rather than
 * as a lost connection. */
static int db__session(const hd_db *db, MYSQL *m) {
  unsigned lock_wait = db->rw_timeout_s / 2;
  if (lock_wait < 1) lock_wait = 1;
  if (lock_wait > DB_LOCK_WAIT_MAX_S) lock_wait = DB_LOCK_WAIT_MAX_S;
  char sql[320];
  const int n =
      snprintf(sql, sizeof sql,
               "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
               "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', "
               "innodb_lock_wait_timeout = %u",
               lock_wait);
  if (n < 0 || (size_t)n >= sizeof sql) return -1;
  if (mysql_real_query(m, sql, (unsigned long)n) != 0) return -1;
  return mysql_autocommit(m, 1) ? -1 : 0;
}

/* USE the configured database, creating it first when it does not exist yet. */
static int db__use_database(const hd_db *db, MYSQL *m) {
  if (!db->database || mysql_select_db(m, db->database) == 0) return 0;
  if (mysql_errno(m) != DB_ER_BAD_DB) return -1;
  char sql[128];
  const int n = snprintf(sql, sizeof sql,
                         "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4", db->database);
  if (n < 0 || (size_t)n >= sizeof sql) return -1;
  if (mysql_real_query(m, sql, (unsigned long)n) != 0) return -1;
  return mysql_select_db(m, db->database) == 0 ? 0 : -1;
}

/* TLS when a CA is set: enforced (no fallback to plaintext), the server's certificate verified
 * against the CA and the host name; the client certificate when one is set. Nonzero on failure. */
static int db__tls_options(const hd_db *db, MYSQL *m) {
  if (!db->tls_ca) return 0;
  const my_bool on = 1;
  return mysql_options(m, MYSQL_OPT_SSL_CA, db->tls_ca) ||
         (db->tls_cert && mysql_options(m, MYSQL_OPT_SSL_CERT, db->tls_cert)) ||
         (db->tls_key && mysql_options(m, MYSQL_OPT_SSL_KEY, db->tls_key)) ||
         mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on) ||
         mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
}

static int db__connect(hd_db *db, hd_err *err) {
  int rc = -1;
  char where[300];
  db__where(db, where, sizeof where);
  MYSQL *m = mysql_init(NULL);
  if (!m) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating a database connection");
    goto done;
  }
  const unsigned connect_timeout = db->connect_timeout_s, rw_timeout = db->rw_timeout_s;
  const unsigned protocol = db->socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
  const unsigned no_local_infile = 0;
  const my_bool no_reconnect = 0; /* a silent reconnect would lose a transaction and the cache */
  if (mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout) ||
      mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout) ||
      mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout) ||
      mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol) ||
      mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &no_local_infile) ||
      mysql_options(m, MYSQL_OPT_RECONNECT, &no_reconnect) ||
      mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4") || db__tls_options(db, m)) {
    hd_err_set(err, HD_INTERNAL, "cannot set the database connection options");
    goto done;
  }
  if (!mysql_real_connect(m, db->socket ? "localhost" : db->host, db->user, db->password, NULL,
                          db->socket ? 0 : db->port, db->socket, 0)) {
    db->last_errno = mysql_errno(m);
    hd_err_set(err, HD_UNAVAILABLE, "database unavailable: cannot connect to %s: %s", where,
               mysql_error(m));
    goto done;
  }
  if (db__session(db, m) != 0) {
    db->last_errno = mysql_errno(m);
    hd_err_set(err, HD_UNAVAILABLE, "database unavailable: cannot set up the session on %s: %s",
               where, mysql_error(m));
    goto done;
  }
  if (db__use_database(db, m) != 0) {
    db->last_errno = mysql_errno(m);
    hd_err_set(err, HD_UNAVAILABLE, "database unavailable: cannot use database %s on %s: %s",
               db->database ? db->database : "(none)", where, mysql_error(m));
    goto done;
  }
  db->m = m;
  m = NULL;
  rc = 0;
done:
  if (m) mysql_close(m);
  return rc;
}

/* True when the server has closed an idle connection (KILL, wait_timeout, restart): it is
 * readable although no answer is due. Sending into it would fail after the fact. */
static bool db__closed_by_server(MYSQL *m) {
  const my_socket fd = mysql_get_socket(m);
  if (fd < 0) return true;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, 0) > 0;
}

int db_ready(hd_db *db, bool *reused, hd_err *err) {
  *reused = false;
  if (db->tx == DB_TX_LOST)
    return hd_err_set(err, HD_UNAVAILABLE,
                      "database unavailable: the connection was lost inside the transaction (the "
                      "server rolled it back)");
  if (db->m && db__closed_by_server(db->m)) {
    const bool in_tx = db->tx == DB_TX_OPEN;
    db_drop(db);
    if (in_tx)
      return hd_err_set(err, HD_UNAVAILABLE,
                        "database unavailable: the server closed the connection inside the "
                        "transaction (rolled back)");
  }
  if (db->m) {
    *reused = true;
    return 0;
  }
  if (db->pinned)
    return hd_err_set(err, HD_UNAVAILABLE,
                      "database unavailable: the connection holding a session lock was lost");
  return db->nodes ? db_nodes_connect(db, db__connect, err) : db__connect(db, err);
}

int hd_db_ping(hd_db *db, hd_err *err) {
  for (int attempt = 0;; attempt++) {
    bool reused = false;
    if (db_ready(db, &reused, err) != 0) return -1;
    if (mysql_ping(db->m) == 0) return 0;
    const unsigned e = mysql_errno(db->m);
    const bool again = attempt == 0 && reused && db->tx == DB_TX_NONE && db_errno_gone(e);
    db_fail(db, e, mysql_error(db->m), "PING", err);
    if (!again) return -1;
  }
}

int db_text(hd_db *db, const char *sql, size_t len, hd_err *err) {
  for (int attempt = 0;; attempt++) {
    bool reused = false;
    if (db_ready(db, &reused, err) != 0) return -1;
    if (mysql_real_query(db->m, sql, (unsigned long)len) == 0) {
      MYSQL_RES *res = mysql_store_result(db->m);
      if (res) {
        mysql_free_result(res);
      } else if (mysql_field_count(db->m) != 0) {
        return db_fail(db, mysql_errno(db->m), mysql_error(db->m), sql, err);
      }
      db->last_errno = 0;
      return 0;
    }
    const unsigned e = mysql_errno(db->m);
    const bool again = attempt == 0 && reused && db->tx == DB_TX_NONE && db_errno_not_run(e);
    db_fail(db, e, mysql_error(db->m), sql, err);
    if (!again) return -1;
  }
}

bool hd_db_in_tx(const hd_db *db) { return db->tx != DB_TX_NONE; }
