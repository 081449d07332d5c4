/* Schema migrations: under a named lock (so replicas starting together take turns), apply in
 * order each migration not yet recorded in schema_migrations, and record it. */
#include "db/migrate.h"

#include <stdio.h>
#include <string.h>

#include "db/db_internal.h"

#define MIGRATE_LOCK_BUDGET_S  30u     /* how long to wait for another replica's migration */
#define MIGRATE_LOCK_TRY_MAX_S 5u      /* one GET_LOCK wait; kept below the read timeout */
#define MIGRATE_MAX_RECORDED   100000u /* rows of schema_migrations read */

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

/* Takes the named lock, waiting up to MIGRATE_LOCK_BUDGET_S in waits shorter than the read
 * timeout. *locked: it was taken (then the caller releases it). */
static int migrate__lock(hd_db *db, const char *name, bool *locked, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  unsigned wait = db->rw_timeout_s / 2;
  if (wait < 1) wait = 1;
  if (wait > MIGRATE_LOCK_TRY_MAX_S) wait = MIGRATE_LOCK_TRY_MAX_S;
  *locked = false;
  for (unsigned waited = 0; waited < MIGRATE_LOCK_BUDGET_S; waited += wait) {
    const hd_db_param p[] = {hd_db_text(name), hd_db_int(wait)};
    if (hd_db_query(db, "SELECT GET_LOCK(?, ?)", p, 2, 1, &rows, err) != 0) goto done;
    const bool is_null = hd_db_is_null(rows, 0, 0);
    const int64_t got = hd_db_i64(rows, 0, 0);
    hd_db_rows_free(rows);
    rows = NULL;
    if (is_null) {
      hd_err_set(err, HD_INTERNAL, "GET_LOCK('%s') failed", name);
      goto done;
    }
    if (got == 1) {
      *locked = true;
      rc = 0;
      goto done;
    }
  }
  hd_err_set(err, HD_UNAVAILABLE,
             "database %s: another replica held the migration lock for more than %u s",
             db->database, MIGRATE_LOCK_BUDGET_S);
done:
  hd_db_rows_free(rows);
  return rc;
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
static int migrate__apply(hd_db *db, const char *table, const hd_migration *migs, size_t count,
                          const hd_db_rows *rows, size_t *applied, hd_err *err) {
  size_t r = 0;
  const size_t nrec = hd_db_rows_count(rows);
  for (size_t i = 0; i < count; i++) {
    const hd_migration *m = &migs[i];
    while (r < nrec && hd_db_i64(rows, r, 0) < m->version) r++;
    if (r < nrec && hd_db_i64(rows, r, 0) == m->version) continue;
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
  char lock[80];
  char table[MIGRATE_TABLE_MAX];
  char sql[256];
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
  /* Lock names are per server, hence the database in it; longer names are cut (two databases
   * sharing a long prefix then merely take turns). */
  snprintf(lock, sizeof lock, "%.56s.migrate", db->database);
  if (migrate__lock(db, lock, &locked, &local) != 0) goto done;
  db->pinned = true; /* the lock lives in this connection: never continue on another one */
  snprintf(sql, sizeof sql,
           "CREATE TABLE IF NOT EXISTS %s (version INT NOT NULL PRIMARY KEY, "
           "name VARCHAR(200) NOT NULL, applied_at DATETIME(6) NOT NULL"
           ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
           table);
  if (hd_db_exec_script(db, sql, &local) != 0) goto done;
  snprintf(sql, sizeof sql, "SELECT version FROM %s ORDER BY version", table);
  if (hd_db_query(db, sql, NULL, 0, MIGRATE_MAX_RECORDED, &rows, &local) != 0) goto done;
  if (migrate__apply(db, table, migs, count, rows, &done_now, &local) != 0) goto done;
  rc = 0;
done:
  if (locked) {
    hd_db_rows *released = NULL;
    hd_err ignored;
    const hd_db_param p = hd_db_text(lock);
    /* Fails only when the connection is gone, and the lock with it. */
    if (hd_db_query(db, "SELECT RELEASE_LOCK(?)", &p, 1, 1, &released, &ignored) == 0)
      hd_db_rows_free(released);
  }
  db->pinned = false;
  hd_db_rows_free(rows);
  if (applied) *applied = done_now;
  if (err) *err = local;
  return rc;
}
