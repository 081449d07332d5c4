/* The tenant_settings table (see tenant_settings.h). */
#include "tenant_settings.h"

#include <stdbool.h>
#include <string.h>

#include "rpc/pb_enum.h"

static const char SQL_GET[] =
    "SELECT reminder_channel, reminder_target, review_link, account_verification_optional FROM "
    "tenant_settings WHERE tenant = ?";
/* A new row takes the given values (the defaults for fields outside the mask); an existing one
 * changes only the columns whose flag is 1. */
static const char SQL_PUT[] =
    "INSERT INTO tenant_settings (tenant, reminder_channel, reminder_target, review_link, "
    "account_verification_optional, updated_by, updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?) ON "
    "DUPLICATE KEY UPDATE "
    "reminder_channel = IF(?, VALUES(reminder_channel), reminder_channel), "
    "reminder_target = IF(?, VALUES(reminder_target), reminder_target), "
    "review_link = IF(?, VALUES(review_link), review_link), "
    "account_verification_optional = IF(?, VALUES(account_verification_optional), "
    "account_verification_optional), updated_by = VALUES(updated_by), "
    "updated_at_us = VALUES(updated_at_us)";

/* The paths an update_mask may name, and their fields. */
static const struct {
  const char *path;
  unsigned fields;
} MASK_PATHS[] = {
    {"reminder_channel", TENANT_SETTINGS_REMINDER_CHANNEL},
    {"reminder_target", TENANT_SETTINGS_REMINDER_TARGET},
    {"review_link", TENANT_SETTINGS_REVIEW_LINK},
    {"account_verification_optional", TENANT_SETTINGS_VERIFICATION_OPTIONAL},
    {"*", TENANT_SETTINGS_ALL},
};

int tenant_settings_mask(const Google__Protobuf__FieldMask *mask, unsigned *fields, hd_err *err) {
  *fields = 0;
  if (!mask || mask->n_paths == 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "update_mask is required: name the fields to change (reminder_channel, "
                      "reminder_target, review_link, account_verification_optional), or \"*\" "
                      "for all of them");
  if (mask->n_paths > TENANT_SETTINGS_MASK_PATHS_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "update_mask has %zu paths; at most %d are allowed",
                      mask->n_paths, TENANT_SETTINGS_MASK_PATHS_MAX);
  unsigned set = 0;
  for (size_t i = 0; i < mask->n_paths; i++) {
    const char *path = mask->paths[i] ? mask->paths[i] : "";
    unsigned f = 0;
    for (size_t k = 0; k < sizeof MASK_PATHS / sizeof MASK_PATHS[0] && !f; k++)
      if (strcmp(path, MASK_PATHS[k].path) == 0) f = MASK_PATHS[k].fields;
    if (!f)
      return hd_err_set(err, HD_INVALID_ARGUMENT,
                        "update_mask path \"%.64s\" is not a field of TenantSettings you can "
                        "change: use reminder_channel, reminder_target, review_link or \"*\" "
                        "(account_verification_optional is one too)",
                        path);
    set |= f;
  }
  *fields = set;
  return 0;
}

int tenant_settings_get(hd_db *db, const char *tenant, hd_arena *arena,
                        Helpdesk__V1__TenantSettings **out, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(tenant)};
  Helpdesk__V1__TenantSettings *s =
      hd_arena_new_message(arena, &helpdesk__v1__tenant_settings__descriptor);
  if (!s) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  if (hd_db_query(db, SQL_GET, p, 1, 1, &rows, err)) goto done;
  s->tenant = hd_arena_strdup(arena, tenant);
  s->reminder_target = "";
  s->review_link = "";
  if (hd_db_rows_count(rows) == 1) {
    size_t len = 0;
    const char *channel = hd_db_str(rows, 0, 0, &len);
    int v = 0;
    if (!hd_db_is_null(rows, 0, 0) &&
        hd_pb_enum_parse(&helpdesk__v1__reminder_channel__descriptor, channel, len, &v) == 0)
      s->reminder_channel = (Helpdesk__V1__ReminderChannel)v;
    s->reminder_target = hd_arena_strdup(arena, hd_db_str(rows, 0, 1, NULL));
    s->review_link = hd_arena_strdup(arena, hd_db_str(rows, 0, 2, NULL));
    s->account_verification_optional = hd_db_i64(rows, 0, 3) != 0;
  }
  if (!s->tenant || !s->reminder_target || !s->review_link) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
    goto done;
  }
  *out = s;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

int tenant_settings_put(hd_db *db, const char *tenant, const Helpdesk__V1__TenantSettings *s,
                        unsigned fields, const char *updated_by, int64_t now_us, hd_err *err) {
  const bool channel_set = fields & TENANT_SETTINGS_REMINDER_CHANNEL;
  const bool target_set = fields & TENANT_SETTINGS_REMINDER_TARGET;
  const bool link_set = fields & TENANT_SETTINGS_REVIEW_LINK;
  const bool optional_set = fields & TENANT_SETTINGS_VERIFICATION_OPTIONAL;
  const char *channel =
      channel_set && s->reminder_channel
          ? hd_pb_enum_name(&helpdesk__v1__reminder_channel__descriptor, (int)s->reminder_channel)
          : NULL;
  const char *target = target_set && s->reminder_target ? s->reminder_target : "";
  const char *link = link_set && s->review_link ? s->review_link : "";
  const bool optional = optional_set && s->account_verification_optional;
  const hd_db_param p[] = {hd_db_text(tenant),     channel ? hd_db_text(channel) : hd_db_null(),
                           hd_db_text(target),     hd_db_text(link),
                           hd_db_int(optional),    hd_db_text(updated_by),
                           hd_db_int(now_us),      hd_db_int(channel_set),
                           hd_db_int(target_set),  hd_db_int(link_set),
                           hd_db_int(optional_set)};
  return hd_db_exec(db, SQL_PUT, p, sizeof p / sizeof p[0], NULL, NULL, err);
}
