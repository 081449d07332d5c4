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

/* The migration sets a database holds: a service's own (NULL: recorded in schema_migrations) and
 * the kit's (HD_MIGRATE_SET_KIT: common/svc/migrations, the tables every service shares such as
 * the outbox, recorded in kit_schema_migrations), each numbered on its own. */
#define HD_MIGRATE_SET_KIT "kit"

/* Applies, in order, each migration of set whose version is not yet in its table (set NULL:
 * schema_migrations; otherwise <set>_schema_migrations, set being 1..32 of [a-z_]) (version
 * PRIMARY KEY, name, applied_at UTC), creating that table when missing. migs ends after
 * n entries or at an entry whose version is 0, whichever comes first; versions must strictly
 * increase (else INVALID_ARGUMENT, nothing run). Replicas serialise on a lock row (the set's
 * table name in hd_migration_lock, created when missing), taken with SELECT ... FOR UPDATE and
 * written with this call's token as a 120 s lease (renewed before each migration; a dead
 * holder's lease is taken over when it ran out), waited for up to 30 s; no GET_LOCK, which
 * Galera refuses, and two takers on different Galera nodes conflict at certification, where one
 * loses and waits. Each one re-reads the applied set under the lock, and stops (INTERNAL) when
 * its lease was taken over. A migration is
 * recorded after its last statement succeeded; MariaDB commits DDL at once, so a migration that
 * failed half-way is run again from its start next time: write its statements to be re-runnable
 * (IF NOT EXISTS) when there is more than one. Each statement must finish within the handle's
 * rw_timeout_s.
 * *applied (may be NULL) receives how many this call applied, also on failure. UNAVAILABLE when
 * the database cannot be reached or the lock not taken in time; INTERNAL naming the migration
 * that failed (UNAVAILABLE, naming it, when the server went away during it); migrations before
 * it stay applied. The lock is released unless the connection is gone (its lease then runs out).
 * Not inside a transaction (INTERNAL). */
/* The kit's set, embedded from common/svc/migrations (ends with a version 0 entry). */
extern const hd_migration hd_kit_migrations[];
extern const size_t hd_kit_migrations_count;

int hd_migrate(hd_db *db, const char *set, const hd_migration *migs, size_t n, size_t *applied,
               hd_err *err);

#endif
