/* MariaDB access: one connection per worker thread, prepared statements only (a per-connection
 * statement cache keyed by SQL text), transactions that roll back on every error path and are
 * retried on deadlock / lock-wait timeout, reconnect after the server went away. */
#ifndef HD_DB_DB_H
#define HD_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct hd_db_config {
  const char *host;     /* borrowed for the life of the hd_db */
  unsigned port;
  const char *socket;   /* NULL → TCP */
  const char *user;
  const char *password;
  const char *database; /* the service's own schema; created by hd_db_open when missing */
  unsigned connect_timeout_s; /* default 3 when 0 */
  unsigned rw_timeout_s;      /* read/write timeout, default 30 when 0 */
} hd_db_config;

typedef struct hd_db hd_db;

/* Creates a handle; connects lazily on first use (so a service starts while MariaDB is down).
 * Caller frees with hd_db_close(). Returns -1 only on out of memory. */
int hd_db_new(const hd_db_config *cfg, hd_db **out, hd_err *err);

/* Closes the connection and its statement cache. NULL is a no-op. */
void hd_db_close(hd_db *db);

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
static inline hd_db_param hd_db_double(double v) { return (hd_db_param){.type = HD_DB_DOUBLE, .d = v}; }
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

/* Runs a statement that returns no rows. affected / insert_id may be NULL.
 * Errors: ALREADY_EXISTS for a duplicate key (ER_DUP_ENTRY), ABORTED for deadlock or lock-wait
 * timeout (so a transaction retry can see it), UNAVAILABLE when the server is gone (the handle
 * reconnects on next use; outside a transaction a statement is retried once after reconnect),
 * INTERNAL otherwise. Messages name the failing statement's first words, never the values. */
int hd_db_exec(hd_db *db, const char *sql, const hd_db_param *params, size_t n, uint64_t *affected,
               uint64_t *insert_id, hd_err *err);

/* Runs a query and fetches every row (max_rows caps it: more rows → RESOURCE_EXHAUSTED).
 * *out owned by caller (hd_db_rows_free). */
int hd_db_query(hd_db *db, const char *sql, const hd_db_param *params, size_t n, size_t max_rows,
                hd_db_rows **out, hd_err *err);

/* The body of a transaction: returns 0 to commit, -1 (with err set) to roll back. */
typedef int (*hd_db_tx_fn)(hd_db *db, void *arg, hd_err *err);

/* BEGIN; fn; COMMIT. Any error → ROLLBACK. A deadlock or lock-wait timeout (ABORTED from the
 * server, ER_LOCK_DEADLOCK 1213 / ER_LOCK_WAIT_TIMEOUT 1205) anywhere in fn or at COMMIT is
 * retried up to max_attempts times in all (default 5 when 0), with a short jittered back-off;
 * fn must therefore be safe to run again (no side effects outside the database).
 * Only a failure the server reported as 1213/1205 (the handle remembers the last server errno)
 * is retried; an ABORTED the body sets itself (a stale version, say) is returned as is. */
int hd_db_tx(hd_db *db, hd_db_tx_fn fn, void *arg, unsigned max_attempts, hd_err *err);

/* True while a transaction is open on db. */
bool hd_db_in_tx(const hd_db *db);

/* Runs several ;-separated statements as plain text (migrations only, never with input). */
int hd_db_exec_script(hd_db *db, const char *sql, hd_err *err);

#endif
