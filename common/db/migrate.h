/* Numbered schema migrations, embedded at build time from services/<svc>/migrations/NNN_name.sql
 * and applied at start-up: idempotent, and safe when several replicas start at once. */
#ifndef HD_DB_MIGRATE_H
#define HD_DB_MIGRATE_H

#include <stddef.h>

#include "core/err.h"
#include "db/db.h"

typedef struct hd_migration {
  int version;      /* from the file name's number; strictly increasing */
  const char *name; /* file name without .sql */
  const char *sql;  /* ;-separated statements */
} hd_migration;

/* Applies, in order, each migration whose version is not yet in schema_migrations
 * (version PRIMARY KEY, name, applied_at). Replicas serialise on a named lock
 * (GET_LOCK('<database>.migrate', timeout)); each one re-reads the applied set under the lock.
 * *applied (may be NULL) receives how many this call applied. UNAVAILABLE when the database
 * cannot be reached or the lock not taken in time; INTERNAL naming the migration that failed. */
int hd_migrate(hd_db *db, const hd_migration *migs, size_t n, size_t *applied, hd_err *err);

#endif
