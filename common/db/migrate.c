/* Schema migrations: under a lock row (so replicas starting together take turns, on one server or
 * on any node of a Galera cluster), apply in order each migration not yet recorded in
 * schema_migrations, and record it. */
#include "db/migrate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/db_internal.h"

#define MIGRATE_LOCK_BUDGET_S 30u     /* how long to wait for another replica's migration */
#define MIGRATE_LEASE_S       120u    /* the lock row's lease, renewed before each migration */
#define MIGRATE_LOCK_POLL_MS  200u    /* pause between two looks at a lock another one holds */
#define MIGRATE_MAX_RECORDED  100000u /* rows of schema_migrations read */

#define MIGRATE_SET_MAX   32u /* characters of a set's name */
#define MIGRATE_TABLE_MAX (MIGRATE_SET_MAX + sizeof "_schema_migrations")

/* The table recording set's migrations (see hd_migrate) into table[MIGRATE_TABLE_MAX]. */
static int migrate__table(const char *set, char *table, hd_err *err) {
  if (!set) {
    snprintf(table, MIGRATE_TABLE_MAX, "schema_migrations");
    return 0;
  }
  const size_t n = strlen(set);
  if (n == 0 || n > MIGRATE_SET_MAX || strspn(set, "abcdefghijklmnopqrstuvwxyz_") != n)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "migration set '%.40s' must be 1 to %u of a-z and _", set, MIGRATE_SET_MAX);
  snprintf(table, MIGRATE_TABLE_MAX, "%s_schema_migrations", set);
  return 0;
}

/* The number of migrations before the end (n entries, or fewer when one has version 0), after
 * checking that versions strictly increase and every entry has a name and a script. */
static int migrate__count(const hd_migration *migs, size_t n, size_t *count, hd_err *err) {
  size_t i = 0;
  int prev = 0;
  for (; migs && i < n && migs[i].version != 0; i++) {
    const hd_migration *m = &migs[i];
    if (!m->name || !m->sql)
      return hd_err_set(err, HD_INVALID_ARGUMENT, "migration %d has no name or no script",
                        m->version);
    if (m->version <= prev)
      return hd_err_set(err, HD_INVALID_ARGUMENT, "migration %s: version %d does not follow %d",
                        m->name, m->version, prev);
    prev = m->version;
  }
  *count = i;
  return 0;
}

/* The lock is a row per migration set in hd_migration_lock (name PRIMARY KEY, holder, expires_at),
 * not GET_LOCK: Galera refuses GET_LOCK with wsrep_on (MDEV-30473), and a row lock alone would
 * not do either, because Galera does not replicate locks (SELECT ... FOR UPDATE is local to a
 * node) and MariaDB commits a transaction at the migration's first DDL. So taking the lock
 * writes the row: SELECT ... FOR UPDATE serialises takers on one node, and the UPDATE naming the
 * holder makes two takers on different nodes conflict at certification, where one loses with a
 * deadlock and looks again. The row is a lease that the holder renews before each migration; a
 * holder that died is taken over once its lease has run out. */
#define MIGRATE_LOCK_TABLE "hd_migration_lock"

typedef struct migrate_lock {
  const char *name; /* the set's table name: the row's key */
  char holder[64];  /* this call's token, written into the row while it holds the lock */
} migrate_lock;

/* One attempt to take (or renew) the lock row inside a transaction. *got: it is ours now. */
typedef struct migrate_take {
  const migrate_lock *lock;
  bool got;
} migrate_take;

static int migrate__take_tx(hd_db *db, void *arg, hd_err *err) {
  migrate_take *t = arg;
  int rc = -1;
  hd_db_rows *rows = NULL;
  const hd_db_param key = hd_db_text(t->lock->name);
  t->got = false;
  if (hd_db_query(db,
                  "SELECT holder, expires_at < UTC_TIMESTAMP(6) FROM " MIGRATE_LOCK_TABLE
                  " WHERE name = ? FOR UPDATE",
                  &key, 1, 1, &rows, err) != 0)
    goto done;
  if (hd_db_rows_count(rows) == 1) {
    size_t len = 0;
    const char *holder = hd_db_str(rows, 0, 0, &len);
    const bool free_or_ours =
        hd_db_is_null(rows, 0, 0) || hd_db_i64(rows, 0, 1) == 1 ||
        (len == strlen(t->lock->holder) && memcmp(holder, t->lock->holder, len) == 0);
    if (!free_or_ours) {
      rc = 0;
      goto done;
    }
  }
  const hd_db_param p[] = {key, hd_db_text(t->lock->holder), hd_db_int(MIGRATE_LEASE_S)};
  if (hd_db_exec(db,
                 "INSERT INTO " MIGRATE_LOCK_TABLE " (name, holder, expires_at) VALUES "
                 "(?, ?, UTC_TIMESTAMP(6) + INTERVAL ? SECOND) ON DUPLICATE KEY UPDATE "
                 "holder = VALUES(holder), expires_at = VALUES(expires_at)",
                 p, 3, NULL, NULL, err) != 0)
    goto done;
  t->got = true;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

static void migrate__pause_ms(unsigned ms) {
  const struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Takes the lock row, waiting up to MIGRATE_LOCK_BUDGET_S for another holder to release it or
 * for its lease to run out. A certification conflict with a taker on another node is a deadlock
 * at COMMIT, which hd_db_tx runs again; the loser then finds the row taken and waits. */
static int migrate__lock(hd_db *db, const migrate_lock *lock, hd_err *err) {
  const struct timespec zero = {0};
  struct timespec start = zero, now = zero;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (unsigned round = 0;; round++) {
    migrate_take t = {.lock = lock};
    if (hd_db_tx(db, migrate__take_tx, &t, 0, err) != 0 && err->code != HD_ABORTED) return -1;
    if (t.got && err->code == HD_OK) return 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= (time_t)MIGRATE_LOCK_BUDGET_S) break;
    migrate__pause_ms(round < 10 ? 50u : MIGRATE_LOCK_POLL_MS);
    hd_err_clear(err);
  }
  return hd_err_set(err, HD_UNAVAILABLE,
                    "database %s: another replica held the migration lock of %s for more than "
                    "%u s",
                    db->database, lock->name, MIGRATE_LOCK_BUDGET_S);
}

/* Renews the lease before a migration: still ours, or INTERNAL (it ran out and was taken over,
 * so this replica stops rather than migrate alongside another). */
static int migrate__renew(hd_db *db, const migrate_lock *lock, hd_err *err) {
  migrate_take t = {.lock = lock};
  if (hd_db_tx(db, migrate__take_tx, &t, 0, err) != 0) return -1;
  if (!t.got)
    return hd_err_set(err, HD_INTERNAL,
                      "the migration lock of %s was taken over by another replica (its %u s "
                      "lease ran out)",
                      lock->name, MIGRATE_LEASE_S);
  return 0;
}

/* Releases the lock row when it is still ours. Failures are ignored: the lease runs out. */
static void migrate__unlock(hd_db *db, const migrate_lock *lock) {
  hd_err ignored;
  const hd_db_param p[] = {hd_db_text(lock->name), hd_db_text(lock->holder)};
  (void)hd_db_exec(db,
                   "UPDATE " MIGRATE_LOCK_TABLE
                   " SET holder = NULL, expires_at = NULL WHERE name = ? AND holder = ?",
                   p, 2, NULL, NULL, &ignored);
}

/* Runs one migration's script and records it in table. */
static int migrate__one(hd_db *db, const char *table, const hd_migration *m, hd_err *err) {
  char sql[160];
  if (hd_db_exec_script(db, m->sql, err) != 0) return -1;
  const hd_db_param p[] = {hd_db_int(m->version), hd_db_text(m->name)};
  snprintf(sql, sizeof sql,
           "INSERT INTO %s (version, name, applied_at) VALUES (?, ?, UTC_TIMESTAMP(6))", table);
  return hd_db_exec(db, sql, p, 2, NULL, NULL, err);
}

/* Applies migs[0..count) that rows (the recorded versions, ascending) lacks; *applied counts
 * them. A failure names the migration; it stays UNAVAILABLE when the server went away. */
static int migrate__apply(hd_db *db, const migrate_lock *lock, const hd_migration *migs,
                          size_t count, const hd_db_rows *rows, size_t *applied, hd_err *err) {
  const char *table = lock->name;
  size_t r = 0;
  const size_t nrec = hd_db_rows_count(rows);
  for (size_t i = 0; i < count; i++) {
    const hd_migration *m = &migs[i];
    while (r < nrec && hd_db_i64(rows, r, 0) < m->version) r++;
    if (r < nrec && hd_db_i64(rows, r, 0) == m->version) continue;
    if (migrate__renew(db, lock, err) != 0) return -1;
    if (migrate__one(db, table, m, err) != 0) {
      char why[HD_ERR_MSG_MAX];
      snprintf(why, sizeof why, "%s", err->msg);
      return hd_err_set(err, err->code == HD_UNAVAILABLE ? HD_UNAVAILABLE : HD_INTERNAL,
                        "migration %s failed: %s", m->name, why);
    }
    (*applied)++;
  }
  return 0;
}

int hd_migrate(hd_db *db, const char *set, const hd_migration *migs, size_t n, size_t *applied,
               hd_err *err) {
  int rc = -1;
  hd_err local;
  hd_err_clear(&local);
  hd_db_rows *rows = NULL;
  bool locked = false;
  size_t count = 0, done_now = 0;
  char table[MIGRATE_TABLE_MAX];
  char sql[256];
  migrate_lock lock = {.name = table};
  if (migrate__table(set, table, &local) != 0) goto done;
  if (!db->database) {
    hd_err_set(&local, HD_INVALID_ARGUMENT, "migrations need a handle with a database name");
    goto done;
  }
  if (db->tx != DB_TX_NONE) {
    hd_err_set(&local, HD_INTERNAL, "hd_migrate called inside a transaction");
    goto done;
  }
  if (migrate__count(migs, n, &count, &local) != 0) goto done;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(lock.holder, sizeof lock.holder, "%ld-%lx-%lx", (long)getpid(),
           (unsigned long)(uintptr_t)db, (unsigned long)ts.tv_nsec);
  /* Binary collation: the key is a table name, compared byte for byte. */
  if (hd_db_exec_script(db,
                        "CREATE TABLE IF NOT EXISTS " MIGRATE_LOCK_TABLE
                        " (name VARBINARY(64) NOT NULL PRIMARY KEY, holder VARBINARY(64) NULL, "
                        "expires_at DATETIME(6) NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
                        "COLLATE=utf8mb4_nopad_bin",
                        &local) != 0)
    goto done;
  if (migrate__lock(db, &lock, &local) != 0) goto done;
  locked = true;
  snprintf(sql, sizeof sql,
           "CREATE TABLE IF NOT EXISTS %s (version INT NOT NULL PRIMARY KEY, "
           "name VARCHAR(200) NOT NULL, applied_at DATETIME(6) NOT NULL"
           ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
           table);
  if (hd_db_exec_script(db, sql, &local) != 0) goto done;
  snprintf(sql, sizeof sql, "SELECT version FROM %s ORDER BY version", table);
  if (hd_db_query(db, sql, NULL, 0, MIGRATE_MAX_RECORDED, &rows, &local) != 0) goto done;
  if (migrate__apply(db, &lock, migs, count, rows, &done_now, &local) != 0) goto done;
  rc = 0;
done:
  if (locked) migrate__unlock(db, &lock);
  hd_db_rows_free(rows);
  if (applied) *applied = done_now;
  if (err) *err = local;
  return rc;
}
