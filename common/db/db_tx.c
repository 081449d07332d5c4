/* Transactions: START TRANSACTION, the body, COMMIT; ROLLBACK on every failure; the whole
 * transaction run again, after a short jittered pause, when the server chose it as a deadlock
 * victim or its lock wait timed out, when Galera's certification refused it at COMMIT (also a
 * deadlock, 1213), or when a Galera node was not ready for it (1047; the retry reconnects). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db_internal.h"

/* Ten: two writers of one row on two Galera nodes lose certification to each other often enough
 * that five attempts ran out (tests/integration/test_db_galera.c); ten with the back-off below
 * wait at most about 0.4 s in all. */
#define TX_DEFAULT_ATTEMPTS 10u
#define TX_BACKOFF_BASE_US  2000u /* before the second attempt: 1..3 ms, doubling per attempt */
#define TX_BACKOFF_MAX_US   64000u

static int tx__text(hd_db *db, const char *sql, hd_err *err) {
  return db_text(db, sql, strlen(sql), err);
}

/* Ends the open transaction without keeping anything. When ROLLBACK itself fails, the connection
 * is closed: the server rolls back a transaction whose connection is gone. */
static void tx__rollback(hd_db *db) {
  if (db->tx == DB_TX_OPEN) {
    hd_err ignored;
    if (tx__text(db, "ROLLBACK", &ignored) != 0) db_drop(db);
  }
  db->tx = DB_TX_NONE;
}

static void tx__backoff(hd_db *db, unsigned attempt) {
  unsigned base = TX_BACKOFF_BASE_US;
  for (unsigned i = 1; i < attempt && base < TX_BACKOFF_MAX_US; i++) base *= 2;
  const unsigned us = base / 2 + (unsigned)rand_r(&db->seed) % base;
  const struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000L};
  nanosleep(&ts, NULL);
}

/* One run of the transaction. *retry: it failed in a way that running it again may cure. */
static int tx__attempt(hd_db *db, hd_db_tx_fn fn, void *arg, bool *retry, hd_err *err) {
  *retry = false;
  if (tx__text(db, "START TRANSACTION", err) != 0) {
    *retry = db_errno_node_not_ready(db->last_errno);
    return -1;
  }
  db->tx = DB_TX_OPEN;
  db->last_errno = 0;
  hd_err_clear(err);
  if (fn(db, arg, err) != 0) {
    if (err->code == HD_OK)
      hd_err_set(err, HD_INTERNAL, "the transaction body failed without saying why");
    /* Only the server's own deadlock / lock-wait verdict on the body's last statement. */
    *retry = (err->code == HD_ABORTED && db_errno_retryable(db->last_errno)) ||
             (err->code == HD_UNAVAILABLE && db_errno_node_not_ready(db->last_errno));
    tx__rollback(db);
    return -1;
  }
  if (db->tx == DB_TX_LOST) {
    tx__rollback(db);
    return hd_err_set(err, HD_UNAVAILABLE,
                      "database unavailable: the connection was lost inside the transaction");
  }
  if (tx__text(db, "COMMIT", err) != 0) {
    *retry = db_errno_retryable(db->last_errno) || db_errno_node_not_ready(db->last_errno);
    tx__rollback(db);
    return -1;
  }
  db->tx = DB_TX_NONE;
  return 0;
}

int hd_db_tx(hd_db *db, hd_db_tx_fn fn, void *arg, unsigned max_attempts, hd_err *err) {
  hd_err local;
  hd_err_clear(&local);
  int rc = -1;
  if (db->tx != DB_TX_NONE) {
    hd_err_set(&local, HD_INTERNAL,
               "hd_db_tx called inside a transaction: transactions do not nest");
    goto done;
  }
  const unsigned attempts = max_attempts ? max_attempts : TX_DEFAULT_ATTEMPTS;
  for (unsigned attempt = 1;; attempt++) {
    bool retry = false;
    if (tx__attempt(db, fn, arg, &retry, &local) == 0) {
      rc = 0;
      break;
    }
    if (!retry || attempt >= attempts) break;
    tx__backoff(db, attempt);
  }
done:
  if (err) *err = local;
  return rc;
}
