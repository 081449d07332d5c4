/* What the files of common/db share: the handle, its connection and statement cache, and the
 * mapping of MariaDB errors to hd_err. Not for use outside common/db. */
#ifndef HD_DB_DB_INTERNAL_H
#define HD_DB_DB_INTERNAL_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"

/* Prepared statements kept per connection; the least recently used one is closed beyond this.
 * The server's max_prepared_stmt_count (16382 by default) bounds connections x this. */
#define DB_STMT_CACHE_MAX 128

/* Bytes of a statement's text quoted in an error message. */
#define DB_SQL_QUOTE_MAX 40

/* Server and client error numbers the module acts on (mysqld_error.h / errmsg.h). */
enum {
  DB_ER_DUP_KEY = 1022,
  DB_ER_WSREP_NOT_READY = 1047, /* ER_UNKNOWN_COM_ERROR: a Galera node not synced / not primary */
  DB_ER_SERVER_SHUTDOWN = 1053,
  DB_ER_BAD_DB = 1049,
  DB_ER_DUP_ENTRY = 1062,
  DB_ER_UNKNOWN_VAR = 1193, /* ER_UNKNOWN_SYSTEM_VARIABLE: a server without Galera's */
  DB_ER_LOCK_WAIT_TIMEOUT = 1205,
  DB_ER_LOCK_DEADLOCK = 1213,
  DB_ER_DUP_ENTRY_WITH_KEY_NAME = 1586,
  DB_ER_CONNECTION_KILLED = 1927,
  DB_CR_CONNECTION_ERROR = 2002,
  DB_CR_CONN_HOST_ERROR = 2003,
  DB_CR_SERVER_GONE_ERROR = 2006,
  DB_CR_OUT_OF_MEMORY = 2008,
  DB_CR_SERVER_LOST = 2013,
  DB_CR_SERVER_LOST_EXTENDED = 2055,
};

typedef struct db_cached_stmt {
  char *sql;         /* owned copy of the statement's text: the key */
  size_t len;        /* strlen(sql) */
  uint64_t hash;     /* FNV-1a of sql */
  uint64_t last_use; /* the handle's use_clock at the last lookup: evicts the least recent */
  MYSQL_STMT *st;
} db_cached_stmt;

typedef enum db_tx_state {
  DB_TX_NONE, /* autocommit */
  DB_TX_OPEN, /* between START TRANSACTION and COMMIT / ROLLBACK */
  DB_TX_LOST  /* the connection died inside the transaction: refuse statements until it ends */
} db_tx_state;

typedef struct db_nodes db_nodes;

struct hd_db {
  db_nodes *nodes; /* HELPDESK_DB_NODES (db_nodes.c); NULL: host and port alone */
  char *host, *socket, *user, *password, *database; /* owned copies; NULL when unset */
  char *tls_ca, *tls_cert, *tls_key;                /* owned copies; NULL when unset */
  unsigned port;
  unsigned connect_timeout_s, rw_timeout_s;
  MYSQL *m;    /* NULL before the first use and after the connection was lost */
  bool pinned; /* a session lock is held: losing the connection must not reconnect */
  db_cached_stmt cache[DB_STMT_CACHE_MAX];
  size_t n_cached;
  uint64_t use_clock;
  db_tx_state tx;
  unsigned last_errno; /* error number of the last statement; 0 after one that succeeded */
  unsigned seed;       /* rand_r state of the transaction retry back-off */
};

/* Makes db usable for the next statement: refuses while a lost transaction is still open,
 * drops a connection the server has closed meanwhile (so nothing is sent into a dead socket),
 * connects when needed unless pinned. *reused: the connection existed before this call. */
int db_ready(hd_db *db, bool *reused, hd_err *err);

/* Closes the statement cache and the connection (the next use reconnects); a transaction that
 * was open becomes DB_TX_LOST. */
void db_drop(hd_db *db);

/* Fills err for a failed statement (sql: its text, quoted by its first words; errmsg: the
 * server's or client's message) and remembers errnum in db->last_errno. A lost connection is
 * dropped. Returns -1. */
int db_fail(hd_db *db, unsigned errnum, const char *errmsg, const char *sql, hd_err *err);

/* The connection is unusable after this error (server gone, lost, killed, shutting down). */
bool db_errno_gone(unsigned errnum);

/* After this error the statement certainly did not run: the request never reached the server,
 * or the server refused it as it killed the connection. Repeating it cannot apply it twice. */
bool db_errno_not_run(unsigned errnum);

/* Deadlock or lock-wait timeout: the transaction may succeed when run again. */
bool db_errno_retryable(unsigned errnum);

/* A Galera node refused the statement because it is not ready (joining, syncing, or cut off
 * from the primary component): nothing ran, the connection is dropped, and the statement or
 * transaction may be run again on a new connection (another node with HELPDESK_DB_NODES). */
bool db_errno_node_not_ready(unsigned errnum);

/* Runs one statement through the text protocol (BEGIN / COMMIT / scripts; never with input)
 * and discards any result. Outside a transaction, a statement that certainly did not run on a
 * connection that died while idle is sent once more on a new connection. */
int db_text(hd_db *db, const char *sql, size_t len, hd_err *err);

/* Writes "the first words of sql" (at most DB_SQL_QUOTE_MAX bytes, whitespace runs folded to
 * one space, "..." when cut) into buf. */
void db_sql_quote(const char *sql, char *buf, size_t size);

/* ---- several nodes (db_nodes.c) ---- */

/* Parses list ("host:port,host:port", at most 16, "[v6]:port" too). *out owned by the caller:
 * db_nodes_free(). INVALID_ARGUMENT naming the entry that is not host:port. */
int db_nodes_new(const char *list, db_nodes **out, hd_err *err);
void db_nodes_free(db_nodes *nodes);

/* Connects db (db->m) to a node: sets db->host / db->port to each node in turn, starting after
 * the one it was last connected to, and calls connect; keeps the first whose connection is made
 * and that is ready for the application (a Galera node with wsrep_ready ON, or a server without
 * Galera). UNAVAILABLE naming the list and the last failure when none is. */
typedef int (*db_connect_fn)(hd_db *db, hd_err *err);
int db_nodes_connect(hd_db *db, db_connect_fn connect, hd_err *err);

/* Building a result (db_rows.c). db_rows_new: NULL when out of memory; the caller frees with
 * hd_db_rows_free(). db_rows_begin_row appends a row of NULL cells (-1: out of memory).
 * db_rows_reserve returns room for len bytes and a NUL at the end of the data (NULL: out of
 * memory), valid until the next reserve; db_rows_commit makes those len bytes cell col of the
 * last row. */
hd_db_rows *db_rows_new(size_t ncols);
int db_rows_begin_row(hd_db_rows *r);
char *db_rows_reserve(hd_db_rows *r, size_t len);
void db_rows_commit(hd_db_rows *r, size_t col, size_t len);

#endif
