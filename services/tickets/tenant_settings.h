/* A tenant's ticket settings (reminder channel for UrgeTicket, review link for resolved final
 * answers, whether replies wait for an account verification): read by several handlers, written
 * field by field by UpdateTenantSettings (its update_mask). Read from MariaDB on every use (no
 * cache), so a change applies to the next call. A tenant without a row has the defaults: no
 * reminder channel, no review link, replies wait for a verification. */
#ifndef TICKETS_TENANT_SETTINGS_H
#define TICKETS_TENANT_SETTINGS_H

#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"

/* Reads tenant's settings into *out (allocated in arena, strings too; the defaults when the
 * tenant never set any). */
int tenant_settings_get(hd_db *db, const char *tenant, hd_arena *arena,
                        Helpdesk__V1__TenantSettings **out, hd_err *err);

/* The fields an update may change, as bits of a set. */
enum {
  TENANT_SETTINGS_REMINDER_CHANNEL = 1u << 0,
  TENANT_SETTINGS_REMINDER_TARGET = 1u << 1,
  TENANT_SETTINGS_REVIEW_LINK = 1u << 2,
  TENANT_SETTINGS_VERIFICATION_OPTIONAL = 1u << 3,
  TENANT_SETTINGS_ALL = (1u << 4) - 1
};

#define TENANT_SETTINGS_MASK_PATHS_MAX 8 /* paths in one update_mask */

/* The set of fields an update_mask names (*fields, never 0 on success): each path is a field
 * name of TenantSettings that can be changed ("reminder_channel", "reminder_target",
 * "review_link", "account_verification_optional") or "*" for all of them; a path named twice counts
 * once. INVALID_ARGUMENT for no mask or one without paths ("update_mask is required ..."), more
 * than TENANT_SETTINGS_MASK_PATHS_MAX paths, or a path that is none of these (named in the
 * message). Paths are bounded by the request size and compared byte for byte. */
int tenant_settings_mask(const Google__Protobuf__FieldMask *mask, unsigned *fields, hd_err *err);

/* Writes the fields of s named in fields (TENANT_SETTINGS_* bits) to tenant's settings and
 * leaves the others as stored (the defaults when the tenant has no row yet), recording who and
 * when; the row stays locked until the caller's transaction ends. s's tenant field is ignored.
 * The caller validates the fields first, and the settings as a whole after (read them back with
 * tenant_settings_get in the same transaction). */
int tenant_settings_put(hd_db *db, const char *tenant, const Helpdesk__V1__TenantSettings *s,
                        unsigned fields, const char *updated_by, int64_t now_us, hd_err *err);

#endif
