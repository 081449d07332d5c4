/* MariaDB access: one connection per worker thread, prepared statements only (a per-connection
 * statement cache keyed by SQL text), transactions that roll back on every error path and are
 * retried on deadlock / lock-wait timeout, reconnect after the server went away.
 *
 * Threads: an hd_db belongs to one thread at a time; handles share nothing, so each thread
 * uses its own. The client library is initialised once per process by the first hd_db_new;
 * mariadb-connector-c 3 keeps no per-thread state, so threads need no mysql_thread_init/end.
 *
 * Each connection runs with utf8mb4, sql_mode STRICT_ALL_TABLES (+ NO_ZERO_DATE,
 * NO_ZERO_IN_DATE, ERROR_FOR_DIVISION_BY_ZERO), time_zone '+00:00', autocommit, and
 * innodb_lock_wait_timeout = rw_timeout_s / 2 (so a blocked statement ends as a retryable
 * lock-wait timeout before the client gives up on the connection). */
#ifndef HD_DB_DB_H
#define HD_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct hd_db_config {
  const char *host; /* default 127.0.0.1; hd_db_new copies every string */
  unsigned port;
  const char *socket; /* NULL → TCP */
  const char *user;
  const char *password;
  const char *database; /* the service's own schema, [A-Za-z0-9_]{1,64}; created on connect when
                         * missing. NULL: no database selected (administrative handles) */
  unsigned connect_timeout_s; /* default 3 when 0 */
  unsigned rw_timeout_s;      /* read/write timeout, default 30 when 0 */
  const char *nodes; /* HELPDESK_DB_NODES "h1:p1,h2:p2,...": several nodes (Galera) instead of
                      * host/port/socket; the handle uses one and, when its connection is lost,
                      * moves to the next ready one (db_nodes.c). NULL or "": host and port */
  /* TLS (NULL or "" → unset). With tls_ca_file the connection must be TLS and the server's
   * certificate must chain to it and name the host; tls_cert_file and tls_key_file are the
   * client's certificate (for a user created REQUIRE X509). Over TCP only (not the socket). */
  const char *tls_ca_file;
  const char *tls_cert_file;
  const char *tls_key_file;
} hd_db_config;

typedef struct hd_db hd_db;

/* Creates a handle; connects lazily on first use (so a service starts while MariaDB is down).
 * Caller frees with hd_db_close(). Never fails because the server is down: -1 only on out of
 * memory (RESOURCE_EXHAUSTED) or a database name or port that can never work (INVALID_ARGUMENT). */
int hd_db_new(const hd_db_config *cfg, hd_db **out, hd_err *err);

/* Closes the connection and its statement cache. NULL is a no-op. */
void hd_db_close(hd_db *db);

/* Frees the client library's process-wide state (mysql_library_end). Optional: only for a
 * process that wants nothing left at exit (tests under a leak checker), after every hd_db is
 * closed and no thread uses one any more. */
void hd_db_library_end(void);

/* Connects now if not connected (creating the database if missing) and pings.
 * UNAVAILABLE with the server's message when it cannot. */
int hd_db_ping(hd_db *db, hd_err *err);

/* A bound parameter. Strings and blobs are borrowed for the call. */
typedef enum hd_db_type { HD_DB_NULL, HD_DB_INT, HD_DB_TEXT, HD_DB_BLOB, HD_DB_DOUBLE } hd_db_type;
typedef struct hd_db_param {
  hd_db_type type;
  int64_t i;
  double d;
  const void *s; /* TEXT / BLOB bytes */
  size_t len;
} hd_db_param;

static inline hd_db_param hd_db_int(int64_t v) { return (hd_db_param){.type = HD_DB_INT, .i = v}; }
static inline hd_db_param hd_db_null(void) { return (hd_db_param){.type = HD_DB_NULL}; }
static inline hd_db_param hd_db_double(double v) {
  return (hd_db_param){.type = HD_DB_DOUBLE, .d = v};
}
/* TEXT from a NUL-terminated string; NULL → SQL NULL. */
hd_db_param hd_db_text(const char *s);
static inline hd_db_param hd_db_textn(const char *s, size_t n) {
  return (hd_db_param){.type = HD_DB_TEXT, .s = s, .len = n};
}
static inline hd_db_param hd_db_blob(const void *p, size_t n) {
  return (hd_db_param){.type = HD_DB_BLOB, .s = p, .len = n};
}

/* Result rows, fully fetched. Every cell is kept as bytes (numbers in their text form),
 * NUL-terminated for convenience. Caller frees with hd_db_rows_free(). */
typedef struct hd_db_rows hd_db_rows;
size_t hd_db_rows_count(const hd_db_rows *r);
size_t hd_db_rows_columns(const hd_db_rows *r);
bool hd_db_is_null(const hd_db_rows *r, size_t row, size_t col);
/* Borrowed, valid until hd_db_rows_free(); "" for NULL. */
const char *hd_db_str(const hd_db_rows *r, size_t row, size_t col, size_t *len);
int64_t hd_db_i64(const hd_db_rows *r, size_t row, size_t col); /* 0 for NULL */
double hd_db_f64(const hd_db_rows *r, size_t row, size_t col);
void hd_db_rows_free(hd_db_rows *r);

/* Runs a statement that returns no rows. affected (rows changed, MariaDB's default meaning) and
 * insert_id may be NULL. Errors: ALREADY_EXISTS for a duplicate key (ER_DUP_ENTRY; the message
 * names the key), ABORTED for deadlock or lock-wait timeout (so a transaction retry can see it),
 * UNAVAILABLE when the server is gone (the handle drops the connection and its statements and
 * reconnects on next use), INTERNAL otherwise (a wrong parameter count included).
 * Reconnect: a connection the server closed while idle (KILL, wait_timeout, restart) is noticed
 * before sending and replaced. Outside a transaction, a statement whose connection broke is run
 * once more on a new connection when it certainly did not run (the request could not be sent,
 * or the server refused it as it killed the connection); when the connection broke while waiting
 * for the answer, the statement may have been applied, and hd_db_exec reports UNAVAILABLE
 * rather than risk applying it twice. Inside a transaction nothing is retried: the transaction
 * is lost, and every statement until hd_db_tx ends fails with UNAVAILABLE.
 * Messages name the failing statement's first words, never the bound values. */
int hd_db_exec(hd_db *db, const char *sql, const hd_db_param *params, size_t n, uint64_t *affected,
               uint64_t *insert_id, hd_err *err);

/* Runs a query and fetches every row (max_rows caps it: more rows → RESOURCE_EXHAUSTED; 0 allows
 * only an empty result). At most max_rows + 1 rows are read into memory. Errors as hd_db_exec;
 * the statement must be a read: after a broken connection it is run once more on a new one.
 * *out owned by caller (hd_db_rows_free); NULL on failure. DOUBLE / FLOAT cells hold the
 * shortest text that reads back as the same number. */
int hd_db_query(hd_db *db, const char *sql, const hd_db_param *params, size_t n, size_t max_rows,
                hd_db_rows **out, hd_err *err);

/* The body of a transaction: returns 0 to commit, -1 (with err set) to roll back. */
typedef int (*hd_db_tx_fn)(hd_db *db, void *arg, hd_err *err);

/* BEGIN; fn; COMMIT. Any error → ROLLBACK (when ROLLBACK itself fails the connection is closed,
 * which rolls back too). A deadlock or lock-wait timeout (ABORTED from the server,
 * ER_LOCK_DEADLOCK 1213 / ER_LOCK_WAIT_TIMEOUT 1205) anywhere in fn or at COMMIT is
 * retried up to max_attempts times in all (default 10 when 0), and so is a transaction a Galera
 * node refused because it is not ready (1047, UNAVAILABLE; the retry reconnects, with
 * HELPDESK_DB_NODES to the next ready node); Galera's certification conflict is 1213 at COMMIT.
 * Each retry follows a short jittered back-off (1-3 ms, doubling per attempt, at most 64 ms); fn
 * must therefore be safe to run again (no side effects outside the database). Only fn failing with
 * ABORTED right after a statement the server failed with 1213/1205 (the handle remembers the last
 * statement's errno) is retried; an ABORTED the body sets itself (a stale version, say) is returned
 * as is. A lost connection is never retried (UNAVAILABLE; at COMMIT the message says the outcome is
 * unknown). Called while a transaction is open on db (from inside fn): INTERNAL, nothing is run —
 * transactions do not nest. err may be NULL. */
int hd_db_tx(hd_db *db, hd_db_tx_fn fn, void *arg, unsigned max_attempts, hd_err *err);

/* True while a transaction is open on db. */
bool hd_db_in_tx(const hd_db *db);

/* Runs several statements as plain text (migrations only, never with input): a statement ends
 * where a line ends with ';'; lines starting with "--" are left out. Stops at the first error,
 * mapped as for hd_db_exec. Statements that return rows have them discarded. */
int hd_db_exec_script(hd_db *db, const char *sql, hd_err *err);

#endif
