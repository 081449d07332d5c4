/* Card verifications and the refund rule (see card_refund.h). */
#include "card_refund.h"

#include <inttypes.h>
#include <string.h>

#include "refund_escalation.h"

#define VERIFICATION_COLS                                                               \
  "id, uid, payment_method_id, amount_minor, currency, bound_at_us, refund_due_at_us, " \
  "refunded_at_us"

int card_refund_start(hd_db *db, const char *tenant, const char *uid, int64_t payment_method_id,
                      const accounts_config *cfg, int64_t now_us, hd_arena *arena,
                      Helpdesk__V1__CardVerificationRefund **out, hd_err *err) {
  const int64_t due = now_us + cfg->card_refund_after_us;
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_text(uid),
                           hd_db_int(payment_method_id),
                           hd_db_int(cfg->card_verification_amount_minor),
                           hd_db_text(cfg->card_verification_currency),
                           hd_db_int(now_us),
                           hd_db_int(due)};
  uint64_t id = 0;
  *out = NULL;
  if (hd_db_exec(db,
                 "INSERT INTO card_verifications (tenant, uid, payment_method_id, amount_minor, "
                 "currency, bound_at_us, refund_due_at_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, &id, err))
    return -1;
  Helpdesk__V1__CardVerificationRefund *v =
      hd_arena_new_message(arena, &helpdesk__v1__card_verification_refund__descriptor);
  if (!v) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  v->id = (int64_t)id;
  v->uid = hd_arena_strdup(arena, uid);
  v->payment_method_id = payment_method_id;
  v->amount_minor = cfg->card_verification_amount_minor;
  v->currency = hd_arena_strdup(arena, cfg->card_verification_currency);
  v->bind_time_us = now_us;
  v->expected_refund_time_us = due;
  if (!v->uid || !v->currency) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  card_refund_status(v, now_us, arena);
  *out = v;
  return 0;
}

int card_refund_get(hd_db *db, const char *tenant, const char *uid, int64_t payment_method_id,
                    bool for_update, int64_t now_us, hd_arena *arena,
                    Helpdesk__V1__CardVerificationRefund **out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid), hd_db_int(payment_method_id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  if (hd_db_query(db,
                  for_update ? "SELECT " VERIFICATION_COLS
                               " FROM card_verifications WHERE tenant = ? AND uid = ? AND "
                               "payment_method_id = ? FOR UPDATE"
                             : "SELECT " VERIFICATION_COLS
                               " FROM card_verifications WHERE tenant = ? AND uid = ? AND "
                               "payment_method_id = ?",
                  p, 3, 1, &rows, err))
    goto done;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND,
               "payment method %" PRId64
               " of account '%s' has no card verification (only a "
               "BANK_CARD has one)",
               payment_method_id, uid);
    goto done;
  }
  Helpdesk__V1__CardVerificationRefund *v =
      hd_arena_new_message(arena, &helpdesk__v1__card_verification_refund__descriptor);
  if (!v) goto full;
  v->id = hd_db_i64(rows, 0, 0);
  v->uid = hd_arena_strdup(arena, hd_db_str(rows, 0, 1, NULL));
  v->payment_method_id = hd_db_i64(rows, 0, 2);
  v->amount_minor = hd_db_i64(rows, 0, 3);
  v->currency = hd_arena_strdup(arena, hd_db_str(rows, 0, 4, NULL));
  v->bind_time_us = hd_db_i64(rows, 0, 5);
  v->expected_refund_time_us = hd_db_i64(rows, 0, 6);
  v->refund_time_us = hd_db_i64(rows, 0, 7);
  if (!v->uid || !v->currency) goto full;
  if (refund_escalation_get(db, tenant, v->id, arena, &v->escalation, err)) goto done;
  card_refund_status(v, now_us, arena);
  *out = v;
  rc = 0;
  goto done;
full:
  hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
done:
  hd_db_rows_free(rows);
  return rc;
}

void card_refund_status(Helpdesk__V1__CardVerificationRefund *v, int64_t now_us, hd_arena *arena) {
  const double amount = (double)v->amount_minor / 100.0;
  const int64_t days_left = (v->expected_refund_time_us - now_us) / (24LL * 3600 * 1000000);
  if (v->refund_time_us) {
    v->status = HELPDESK__V1__REFUND_STATUS__REFUND_STATUS_REFUNDED;
    v->message = hd_arena_printf(arena,
                                 "the %.2f %s verification charge was refunded; it may take the "
                                 "card issuer a few days to show it",
                                 amount, v->currency);
  } else if (now_us > v->expected_refund_time_us) {
    v->status = HELPDESK__V1__REFUND_STATUS__REFUND_STATUS_OVERDUE;
    v->message = hd_arena_printf(arena,
                                 "the %.2f %s verification charge is past its expected refund "
                                 "date and was not refunded: escalated to the L2 consulting team "
                                 "(they consult iPay); tell the customer we are following it up",
                                 amount, v->currency);
  } else {
    v->status = HELPDESK__V1__REFUND_STATUS__REFUND_STATUS_PENDING;
    v->message = hd_arena_printf(arena,
                                 "the %.2f %s verification charge is refunded about one week "
                                 "after the card was bound; expected by the date given (%" PRId64
                                 " day(s) from now)",
                                 amount, v->currency, days_left);
  }
  if (!v->message) v->message = "";
}

int card_refund_mark_refunded(hd_db *db, const char *tenant,
                              Helpdesk__V1__CardVerificationRefund *v, int64_t now_us,
                              hd_arena *arena, hd_err *err) {
  const hd_db_param p[] = {hd_db_int(now_us), hd_db_text(tenant), hd_db_int(v->id)};
  /* FORCE INDEX: otherwise MariaDB estimates a range in each index starting with the tenant at
   * every execution (an UPDATE by primary key is not a const read). */
  if (hd_db_exec(db,
                 "UPDATE card_verifications FORCE INDEX (PRIMARY) SET refunded_at_us = ? "
                 "WHERE tenant = ? AND id = ? AND refunded_at_us IS NULL",
                 p, 3, NULL, NULL, err))
    return -1;
  v->refund_time_us = now_us;
  card_refund_status(v, now_us, arena);
  return 0;
}

json_t *card_refund_json(const Helpdesk__V1__CardVerificationRefund *v) {
  json_error_t je;
  return json_pack_ex(
      &je, 0, "{s:I, s:I, s:I, s:s, s:I, s:I, s:I}", "id", (json_int_t)v->id, "payment_method_id",
      (json_int_t)v->payment_method_id, "amount_minor", (json_int_t)v->amount_minor, "currency",
      v->currency, "bind_time_us", (json_int_t)v->bind_time_us, "expected_refund_time_us",
      (json_int_t)v->expected_refund_time_us, "refund_time_us", (json_int_t)v->refund_time_us);
}
