/* The tenant_settings table (see tenant_settings.h). */
#include "tenant_settings.h"

#include "ticket_enum.h"

static const char SQL_GET[] =
    "SELECT reminder_channel, reminder_target, review_link FROM tenant_settings WHERE tenant = ?";
static const char SQL_PUT[] =
    "INSERT INTO tenant_settings (tenant, reminder_channel, reminder_target, review_link, "
    "updated_by, updated_at_us) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
    "reminder_channel = VALUES(reminder_channel), reminder_target = VALUES(reminder_target), "
    "review_link = VALUES(review_link), updated_by = VALUES(updated_by), "
    "updated_at_us = VALUES(updated_at_us)";

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
        ticket_enum_parse(&helpdesk__v1__reminder_channel__descriptor, channel, len, &v) == 0)
      s->reminder_channel = (Helpdesk__V1__ReminderChannel)v;
    s->reminder_target = hd_arena_strdup(arena, hd_db_str(rows, 0, 1, NULL));
    s->review_link = hd_arena_strdup(arena, hd_db_str(rows, 0, 2, NULL));
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
                        const char *updated_by, int64_t now_us, hd_err *err) {
  const char *channel =
      s->reminder_channel
          ? ticket_enum_name(&helpdesk__v1__reminder_channel__descriptor, (int)s->reminder_channel)
          : NULL;
  const hd_db_param p[] = {hd_db_text(tenant),
                           channel ? hd_db_text(channel) : hd_db_null(),
                           hd_db_text(s->reminder_target ? s->reminder_target : ""),
                           hd_db_text(s->review_link ? s->review_link : ""),
                           hd_db_text(updated_by),
                           hd_db_int(now_us)};
  return hd_db_exec(db, SQL_PUT, p, 6, NULL, NULL, err);
}
