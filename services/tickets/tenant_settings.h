/* A tenant's ticket settings (reminder channel for UrgeTicket, review link for resolved final
 * answers): read by several handlers, written by UpdateTenantSettings. A tenant without a row
 * has the defaults: no reminder channel, no review link. */
#ifndef TICKETS_TENANT_SETTINGS_H
#define TICKETS_TENANT_SETTINGS_H

#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/tickets.pb-c.h"

/* Reads tenant's settings into *out (allocated in arena, strings too; the defaults when the
 * tenant never set any). */
int tenant_settings_get(hd_db *db, const char *tenant, hd_arena *arena,
                        Helpdesk__V1__TenantSettings **out, hd_err *err);

/* Replaces tenant's settings with s (its tenant field is ignored), recording who and when.
 * The caller validates s first. */
int tenant_settings_put(hd_db *db, const char *tenant, const Helpdesk__V1__TenantSettings *s,
                        const char *updated_by, int64_t now_us, hd_err *err);

#endif
