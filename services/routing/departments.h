/* The department catalog: the built-in rows (tenant '') every tenant shares, and a tenant's own
 * rows, which replace a built-in row of the same name for that tenant. The only code that reads
 * or writes the departments table. */
#ifndef ROUTING_DEPARTMENTS_H
#define ROUTING_DEPARTMENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "json/json.h"

#define ROUTING_DEPARTMENTS_MAX 100 /* departments one tenant's catalog may hold */
#define ROUTING_DESCRIPTION_MAX 500

/* The department name as tenant sees it (its own row, else the built-in one), without locking.
 * *out in arena; NULL when there is none (no error). */
int routing_department_get(hd_db *db, const char *tenant, const char *name, hd_arena *arena,
                           Helpdesk__V1__Department **out, hd_err *err);

/* 0 when tenant has department name; NOT_FOUND "department X does not exist ..." naming field
 * otherwise. */
int routing_department_require(hd_db *db, const char *tenant, const char *field, const char *name,
                               hd_err *err);

/* Every department tenant sees, by name. *out (an array of *n) in arena. */
int routing_departments_list(hd_db *db, const char *tenant, hd_arena *arena,
                             Helpdesk__V1__Department ***out, size_t *n, hd_err *err);

/* Writes tenant's own row for d (checked by the caller) inside the caller's transaction: locks
 * the tenant's row (or the gap where it goes), checks expected_version against the version
 * tenant sees (0 for a department that does not exist), and writes the row with that version + 1.
 * ABORTED for a stale expected_version (or a concurrent first change); FAILED_PRECONDITION when
 * a new department would pass ROUTING_DEPARTMENTS_MAX. *before (NULL when it did not exist) and
 * *after in arena. */
int routing_department_put(hd_db *db, const char *tenant, const Helpdesk__V1__Department *d,
                           int64_t expected_version, const char *updated_by, int64_t now_us,
                           hd_arena *arena, Helpdesk__V1__Department **before,
                           Helpdesk__V1__Department **after, hd_err *err);

/* The department as JSON for audit rows. Caller frees with json_decref; NULL when out of memory. */
json_t *routing_department_json(const Helpdesk__V1__Department *d);

#endif
