/* The service_actions table (see service_action_store.h). */
#include "service_action_store.h"

#include <stdio.h>
#include <string.h>

#include "account_store.h"
#include "rpc/pb_enum.h"

#define SA_COLS                                                                             \
  "id, ticket_id, uid, service_id, hosting_type, action, modifier, description, outcome, "  \
  "rule_id, verdict, consent_id, restore_date, restore_scope, restore_what, email_target, " \
  "email_address, dummy_account, email_result, screenshot_filename, internal_record_id, "   \
  "attachment_id, escalation_department, escalation_mode, routing_escalation_id, cleanup, " \
  "cleanup_at_us, cleanup_note, cleanup_record_id, recorded_by, created_at_us, last_error"

static int sa__enum(const ProtobufCEnumDescriptor *d, const hd_db_rows *rows, size_t r, size_t c) {
  size_t len = 0;
  const char *s = hd_db_str(rows, r, c, &len);
  int v = 0;
  return len && hd_pb_enum_parse(d, s, len, &v) == 0 ? v : 0;
}

static const char *sa__name(const ProtobufCEnumDescriptor *d, int v) {
  return account_enum_name(d, v);
}

/* Row r of an SA_COLS query into out (in arena); -1 when the arena is full. */
static int sa__row(const hd_db_rows *rows, size_t r, hd_arena *a, sa_row *out) {
  Helpdesk__V1__ServiceActionRecord *x =
      hd_arena_new_message(a, &helpdesk__v1__service_action_record__descriptor);
  if (!x) return -1;
#define S(i) hd_arena_strdup(a, hd_db_str(rows, r, (i), NULL))
  x->id = hd_db_i64(rows, r, 0);
  x->ticket_id = hd_db_i64(rows, r, 1);
  x->uid = S(2);
  x->service_id = hd_db_i64(rows, r, 3);
  x->hosting_type = sa__enum(&helpdesk__v1__hosting_type__descriptor, rows, r, 4);
  x->action = sa__enum(&helpdesk__v1__service_action__descriptor, rows, r, 5);
  x->modifier = sa__enum(&helpdesk__v1__service_action_modifier__descriptor, rows, r, 6);
  x->description = S(7);
  x->outcome = sa__enum(&helpdesk__v1__service_action_outcome__descriptor, rows, r, 8);
  x->rule_id = S(9);
  x->verdict = sa__enum(&helpdesk__v1__service_action_verdict__descriptor, rows, r, 10);
  x->consent_id = hd_db_i64(rows, r, 11);
  size_t len = 0;
  hd_db_str(rows, r, 12, &len);
  if (len) {
    Helpdesk__V1__RestoreDetails *d =
        hd_arena_new_message(a, &helpdesk__v1__restore_details__descriptor);
    if (!d) return -1;
    d->backup_date = S(12);
    d->scope = sa__enum(&helpdesk__v1__restore_scope__descriptor, rows, r, 13);
    d->what = S(14);
    if (!d->backup_date || !d->what) return -1;
    x->restore = d;
  }
  hd_db_str(rows, r, 15, &len);
  if (len) {
    Helpdesk__V1__EmailTest *e = hd_arena_new_message(a, &helpdesk__v1__email_test__descriptor);
    if (!e) return -1;
    e->target = sa__enum(&helpdesk__v1__email_test_target__descriptor, rows, r, 15);
    e->target_address = S(16);
    e->dummy_account = S(17);
    e->result = S(18);
    e->screenshot_filename = S(19);
    if (!e->target_address || !e->dummy_account || !e->result || !e->screenshot_filename) return -1;
    x->email_test = e;
  }
  x->internal_record_id = hd_db_i64(rows, r, 20);
  x->attachment_id = hd_db_i64(rows, r, 21);
  x->escalation_department = S(22);
  out->escalation_mode = S(23);
  x->routing_escalation_id = hd_db_i64(rows, r, 24);
  x->cleanup = sa__enum(&helpdesk__v1__service_action_cleanup__descriptor, rows, r, 25);
  x->cleanup_time_us = hd_db_i64(rows, r, 26);
  x->cleanup_note = S(27);
  out->cleanup_record_id = hd_db_i64(rows, r, 28);
  x->recorded_by = S(29);
  x->create_time_us = hd_db_i64(rows, r, 30);
  x->last_error = S(31);
#undef S
  out->rec = x;
  return x->uid && x->description && x->rule_id && x->escalation_department &&
                 out->escalation_mode && x->cleanup_note && x->recorded_by && x->last_error
             ? 0
             : -1;
}

int sa_store_insert(hd_db *db, const char *tenant, Helpdesk__V1__ServiceActionRecord *rec,
                    const char *escalation_mode, const void *screenshot, size_t screenshot_len,
                    hd_err *err) {
  const Helpdesk__V1__RestoreDetails *d = rec->restore;
  const Helpdesk__V1__EmailTest *e = rec->email_test;
  const hd_db_param p[] = {
      hd_db_text(tenant),
      hd_db_int(rec->ticket_id),
      hd_db_text(rec->uid),
      hd_db_int(rec->service_id),
      hd_db_text(sa__name(&helpdesk__v1__hosting_type__descriptor, (int)rec->hosting_type)),
      hd_db_text(sa__name(&helpdesk__v1__service_action__descriptor, (int)rec->action)),
      hd_db_text(sa__name(&helpdesk__v1__service_action_modifier__descriptor, (int)rec->modifier)),
      hd_db_text(rec->description),
      hd_db_text(sa__name(&helpdesk__v1__service_action_outcome__descriptor, (int)rec->outcome)),
      hd_db_text(rec->rule_id),
      hd_db_text(sa__name(&helpdesk__v1__service_action_verdict__descriptor, (int)rec->verdict)),
      hd_db_int(rec->consent_id),
      hd_db_text(d ? d->backup_date : ""),
      hd_db_text(d ? sa__name(&helpdesk__v1__restore_scope__descriptor, (int)d->scope) : ""),
      hd_db_text(d && d->what ? d->what : ""),
      hd_db_text(e ? sa__name(&helpdesk__v1__email_test_target__descriptor, (int)e->target) : ""),
      hd_db_text(e ? e->target_address : ""),
      hd_db_text(e && e->dummy_account ? e->dummy_account : ""),
      hd_db_text(e ? e->result : ""),
      hd_db_text(e ? e->screenshot_filename : ""),
      screenshot_len ? hd_db_blob(screenshot, screenshot_len) : hd_db_null(),
      hd_db_text(rec->escalation_department ? rec->escalation_department : ""),
      hd_db_text(escalation_mode ? escalation_mode : ""),
      hd_db_text(sa__name(&helpdesk__v1__service_action_cleanup__descriptor, (int)rec->cleanup)),
      hd_db_text(rec->recorded_by),
      hd_db_int(rec->create_time_us)};
  uint64_t id = 0;
  if (hd_db_exec(db,
                 "INSERT INTO service_actions (tenant, ticket_id, uid, service_id, hosting_type, "
                 "action, modifier, description, outcome, rule_id, verdict, consent_id, "
                 "restore_date, restore_scope, restore_what, email_target, email_address, "
                 "dummy_account, email_result, screenshot_filename, screenshot, "
                 "escalation_department, escalation_mode, cleanup, recorded_by, created_at_us) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                 "?, ?)",
                 p, sizeof p / sizeof p[0], NULL, &id, err))
    return -1;
  rec->id = (int64_t)id;
  return 0;
}

int sa_store_get(hd_db *db, const char *tenant, int64_t id, bool for_update, hd_arena *arena,
                 sa_row *out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  if (hd_db_query(db,
                  for_update ? "SELECT " SA_COLS
                               " FROM service_actions WHERE tenant = ? AND id = ? FOR UPDATE"
                             : "SELECT " SA_COLS
                               " FROM service_actions WHERE tenant = ? AND id = ?",
                  p, 2, 1, &rows, err))
    goto done;
  if (hd_db_rows_count(rows) == 0)
    rc = hd_err_set(err, HD_NOT_FOUND, "service action %lld not found", (long long)id);
  else if (sa__row(rows, 0, arena, out))
    rc = hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  else
    rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

int sa_store_list(hd_db *db, const char *tenant, int64_t ticket_id, hd_arena *arena,
                  Helpdesk__V1__ServiceActionRecord ***out, size_t *n, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(ticket_id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  *n = 0;
  if (hd_db_query(db,
                  "SELECT " SA_COLS
                  " FROM service_actions WHERE tenant = ? AND ticket_id = ? ORDER BY id",
                  p, 2, SA_LIST_MAX, &rows, err))
    goto done;
  const size_t count = hd_db_rows_count(rows);
  Helpdesk__V1__ServiceActionRecord **v =
      count ? HD_ARENA_ARRAY(arena, Helpdesk__V1__ServiceActionRecord *, count) : NULL;
  if (count && !v) goto full;
  for (size_t i = 0; i < count; i++) {
    sa_row row = {0};
    if (sa__row(rows, i, arena, &row)) goto full;
    v[i] = row.rec;
  }
  *out = v;
  *n = count;
  rc = 0;
  goto done;
full:
  rc = hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
done:
  hd_db_rows_free(rows);
  return rc;
}

int sa_store_screenshot(hd_db *db, const char *tenant, int64_t id, hd_arena *arena, void **data,
                        size_t *len, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *data = NULL;
  *len = 0;
  if (hd_db_query(db, "SELECT screenshot FROM service_actions WHERE tenant = ? AND id = ?", p, 2, 1,
                  &rows, err))
    goto done;
  rc = 0;
  if (hd_db_rows_count(rows) == 0 || hd_db_is_null(rows, 0, 0)) goto done;
  size_t n = 0;
  const char *s = hd_db_str(rows, 0, 0, &n);
  if (n && !(*data = hd_arena_memdup(arena, s, n)))
    rc = hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the screenshot");
  else
    *len = n;
done:
  hd_db_rows_free(rows);
  return rc;
}

int sa_store_set_sent(hd_db *db, const char *tenant, int64_t id, const char *column, int64_t value,
                      bool *changed, hd_err *err) {
  static const char *const allowed[] = {"internal_record_id", "attachment_id",
                                        "routing_escalation_id", "cleanup_record_id"};
  bool ok = false;
  for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
    ok = ok || strcmp(column, allowed[i]) == 0;
  if (!ok) return hd_err_set(err, HD_INTERNAL, "no such column of service_actions: %s", column);
  char sql[200];
  /* FORCE INDEX, here and below: otherwise MariaDB estimates a range in the index by tenant and
   * ticket at every execution (an UPDATE by primary key is not a const read). */
  snprintf(sql, sizeof sql,
           "UPDATE service_actions FORCE INDEX (PRIMARY) SET %s = ?, last_error = '' "
           "WHERE tenant = ? AND id = ? AND %s = 0",
           column, column);
  const hd_db_param p[] = {hd_db_int(value), hd_db_text(tenant), hd_db_int(id)};
  uint64_t n = 0;
  if (hd_db_exec(db, sql, p, 3, &n, NULL, err)) return -1;
  if (changed) *changed = n > 0;
  return 0;
}

int sa_store_set_error(hd_db *db, const char *tenant, int64_t id, const char *error, hd_err *err) {
  const char *e = error ? error : "";
  size_t n = strlen(e);
  if (n > SA_ERROR_MAX) { /* cut at a character's start, never inside one */
    n = SA_ERROR_MAX;
    while (n > 0 && ((unsigned char)e[n] & 0xC0) == 0x80) n--;
  }
  char msg[SA_ERROR_MAX + 1];
  memcpy(msg, e, n);
  msg[n] = '\0';
  const hd_db_param p[] = {hd_db_text(msg), hd_db_text(tenant), hd_db_int(id)};
  return hd_db_exec(db,
                    "UPDATE service_actions FORCE INDEX (PRIMARY) SET last_error = ? "
                    "WHERE tenant = ? AND id = ?",
                    p, 3, NULL, NULL, err);
}

int sa_store_set_cleanup(hd_db *db, const char *tenant, int64_t id, const char *note,
                         int64_t now_us, hd_err *err) {
  const hd_db_param p[] = {hd_db_int(now_us), hd_db_text(note), hd_db_text(tenant), hd_db_int(id)};
  return hd_db_exec(db,
                    "UPDATE service_actions FORCE INDEX (PRIMARY) SET cleanup_at_us = ?, "
                    "cleanup_note = ? WHERE tenant = ? AND id = ? AND cleanup_at_us IS NULL",
                    p, 4, NULL, NULL, err);
}

json_t *sa_store_json(const Helpdesk__V1__ServiceActionRecord *r) {
  json_error_t je;
  json_t *o = json_pack_ex(
      &je, 0, "{s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "id",
      (json_int_t)r->id, "ticket_id", (json_int_t)r->ticket_id, "service_id",
      (json_int_t)r->service_id, "hosting_type",
      sa__name(&helpdesk__v1__hosting_type__descriptor, (int)r->hosting_type), "action",
      sa__name(&helpdesk__v1__service_action__descriptor, (int)r->action), "modifier",
      sa__name(&helpdesk__v1__service_action_modifier__descriptor, (int)r->modifier), "outcome",
      sa__name(&helpdesk__v1__service_action_outcome__descriptor, (int)r->outcome), "rule_id",
      r->rule_id, "verdict",
      sa__name(&helpdesk__v1__service_action_verdict__descriptor, (int)r->verdict), "consent_id",
      (json_int_t)r->consent_id, "cleanup",
      sa__name(&helpdesk__v1__service_action_cleanup__descriptor, (int)r->cleanup), "cleanup_note",
      r->cleanup_note ? r->cleanup_note : "");
  if (o && r->cleanup_time_us)
    json_object_set_new(o, "cleanup_time_us", json_integer((json_int_t)r->cleanup_time_us));
  return o;
}
