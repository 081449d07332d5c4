/* The account_verifications table and the reply gate (see account_verification.h). */
#include "account_verification.h"

#include <inttypes.h>
#include <string.h>

#include "core/utf8.h"
#include "rpc/pb_enum.h"
#include "tenant_settings.h"

static const char SQL_INSERT[] =
    "INSERT INTO account_verifications (tenant, ticket_id, customer_id, service_id, domain, "
    "hostname, resource_id, verified, reason, message, matched_service_id, verified_by, "
    "verified_by_role, created_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_LATEST[] =
    "SELECT id, ticket_id, customer_id, service_id, domain, hostname, resource_id, verified, "
    "reason, message, matched_service_id, verified_by, verified_by_role, created_at_us FROM "
    "account_verifications WHERE tenant = ? AND ticket_id = ? ORDER BY id DESC LIMIT 1";

/* The byte length of s's first max characters (all of s when it has fewer); s is valid UTF-8. */
static size_t av__prefix_bytes(const char *s, size_t len, size_t max) {
  size_t chars = 0;
  for (size_t i = 0; i < len; i++) {
    if (((unsigned char)s[i] & 0xC0) == 0x80) continue; /* a continuation byte */
    if (chars == max) return i;
    chars++;
  }
  return len;
}

int account_verification_insert(hd_db *db, const char *tenant, Helpdesk__V1__AccountVerification *v,
                                hd_err *err) {
  const char *msg = v->message ? v->message : "";
  size_t msg_len = strlen(msg);
  if (!hd_utf8_valid(msg, msg_len, NULL)) {
    msg = "(the accounts service's reason was not valid UTF-8)";
    msg_len = strlen(msg);
  }
  msg_len = av__prefix_bytes(msg, msg_len, ACCOUNT_VERIFICATION_MESSAGE_MAX);
  const char *reason =
      hd_pb_enum_name(&helpdesk__v1__account_verification_reason__descriptor, (int)v->reason);
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_int(v->ticket_id),
                           hd_db_text(v->customer_id),
                           hd_db_int(v->service_id),
                           hd_db_text(v->domain ? v->domain : ""),
                           hd_db_text(v->hostname ? v->hostname : ""),
                           hd_db_text(v->resource_id ? v->resource_id : ""),
                           hd_db_int(v->verified ? 1 : 0),
                           hd_db_text(reason ? reason : "UNSPECIFIED"),
                           hd_db_textn(msg, msg_len),
                           hd_db_int(v->matched_service_id),
                           hd_db_text(v->verified_by),
                           hd_db_text(v->verified_by_role),
                           hd_db_int(v->create_time_us)};
  uint64_t id = 0;
  if (hd_db_exec(db, SQL_INSERT, p, sizeof p / sizeof p[0], NULL, &id, err)) return -1;
  v->id = (int64_t)id;
  return 0;
}

/* Row 0 of rows (SQL_LATEST's columns) as a message in arena; NULL when out of room. */
static Helpdesk__V1__AccountVerification *av__from_row(const hd_db_rows *rows, hd_arena *arena) {
  Helpdesk__V1__AccountVerification *v =
      hd_arena_new_message(arena, &helpdesk__v1__account_verification__descriptor);
  if (!v) return NULL;
  size_t len = 0;
  const char *s = NULL;
#define AV_STR(field, col) \
  (s = hd_db_str(rows, 0, (col), &len), v->field = hd_arena_strndup(arena, s, len))
  v->id = hd_db_i64(rows, 0, 0);
  v->ticket_id = hd_db_i64(rows, 0, 1);
  AV_STR(customer_id, 2);
  v->service_id = hd_db_i64(rows, 0, 3);
  AV_STR(domain, 4);
  AV_STR(hostname, 5);
  AV_STR(resource_id, 6);
  v->verified = hd_db_i64(rows, 0, 7) != 0;
  s = hd_db_str(rows, 0, 8, &len);
  int reason = 0;
  if (hd_pb_enum_parse(&helpdesk__v1__account_verification_reason__descriptor, s, len, &reason))
    reason = 0; /* a reason this build does not know reads as UNSPECIFIED */
  v->reason = (Helpdesk__V1__AccountVerificationReason)reason;
  AV_STR(message, 9);
  v->matched_service_id = hd_db_i64(rows, 0, 10);
  AV_STR(verified_by, 11);
  AV_STR(verified_by_role, 12);
  v->create_time_us = hd_db_i64(rows, 0, 13);
#undef AV_STR
  if (!v->customer_id || !v->domain || !v->hostname || !v->resource_id || !v->message ||
      !v->verified_by || !v->verified_by_role)
    return NULL;
  return v;
}

/* *out = ticket_id's latest verification (NULL when none), in arena. */
static int av__latest(hd_db *db, const char *tenant, int64_t ticket_id, hd_arena *arena,
                      Helpdesk__V1__AccountVerification **out, hd_err *err) {
  *out = NULL;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(ticket_id)};
  int rc = hd_db_query(db, SQL_LATEST, p, 2, 1, &rows, err);
  if (rc == 0 && hd_db_rows_count(rows) == 1 && !(*out = av__from_row(rows, arena)))
    rc = hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  hd_db_rows_free(rows);
  return rc;
}

int account_verification_state(hd_db *db, const char *tenant, int64_t ticket_id, hd_arena *arena,
                               Helpdesk__V1__AccountVerification **latest, bool *required,
                               bool *allowed, hd_err *err) {
  Helpdesk__V1__TenantSettings *s = NULL;
  Helpdesk__V1__AccountVerification *v = NULL;
  if (tenant_settings_get(db, tenant, arena, &s, err) ||
      av__latest(db, tenant, ticket_id, arena, &v, err))
    return -1;
  if (latest) *latest = v;
  if (required) *required = !s->account_verification_optional;
  *allowed = s->account_verification_optional || (v && v->verified);
  return 0;
}

int account_verification_gate(hd_db *db, const char *tenant, int64_t ticket_id, const char *request,
                              hd_arena *arena, Helpdesk__V1__TenantSettings **settings,
                              hd_err *err) {
  Helpdesk__V1__TenantSettings *s = NULL;
  Helpdesk__V1__AccountVerification *v = NULL;
  if (tenant_settings_get(db, tenant, arena, &s, err)) return -1;
  if (settings) *settings = s;
  if (s->account_verification_optional) return 0; /* one read for such tenants */
  if (av__latest(db, tenant, ticket_id, arena, &v, err)) return -1;
  if (v && v->verified) return 0;
  if (!v)
    hd_err_set(err, HD_FAILED_PRECONDITION,
               "%s on ticket %" PRId64 ": " ACCOUNT_VERIFICATION_REQUIRED_TEXT
               "; it was never verified (only ACKNOWLEDGE may go out before)",
               request, ticket_id);
  else
    hd_err_set(err, HD_FAILED_PRECONDITION,
               "%s on ticket %" PRId64 ": " ACCOUNT_VERIFICATION_REQUIRED_TEXT
               "; its latest verification (%" PRId64 ") said no: %.200s",
               request, ticket_id, v->id, v->message);
  return hd_err_reason(err, HD_REASON_ACCOUNT_NOT_VERIFIED);
}
