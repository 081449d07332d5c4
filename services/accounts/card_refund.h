/* Card verifications: binding a BANK_CARD charges a small amount (1 USD by default) that is
 * refunded after a while (7 days by default). This is the one place of the refund rule:
 *   REFUNDED  when the refund was recorded;
 *   PENDING   while now <= bind time + HELPDESK_ACCOUNTS_CARD_REFUND_AFTER (the expected refund
 *             time; on that very moment the refund is due, not late);
 *   OVERDUE   once now is past it and nothing was refunded: then the refund is escalated to the
 *             L2 consulting team (refund_escalation.h).
 * Rows: card_verifications (one per BANK_CARD payment method) with its escalation
 * (refund_escalations) joined in. Writes run in the caller's transaction. */
#ifndef ACCOUNTS_CARD_REFUND_H
#define ACCOUNTS_CARD_REFUND_H

#include <stdbool.h>
#include <stdint.h>

#include "accounts_config.h"
#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/accounts.pb-c.h"
#include "json/json.h"

/* Records the verification of BANK_CARD payment method payment_method_id of account uid, bound
 * at now_us, with the configured charge and refund delay. *out in arena (status PENDING). */
int card_refund_start(hd_db *db, const char *tenant, const char *uid, int64_t payment_method_id,
                      const accounts_config *cfg, int64_t now_us, hd_arena *arena,
                      Helpdesk__V1__CardVerificationRefund **out, hd_err *err);

/* Reads the verification of payment method payment_method_id of account uid with its
 * escalation (when there is one); for_update locks the verification row. NOT_FOUND "payment
 * method 7 of account 'u' has no card verification (only a BANK_CARD has one)". status and
 * message are set for now_us (card_refund_status). *out in arena. */
int card_refund_get(hd_db *db, const char *tenant, const char *uid, int64_t payment_method_id,
                    bool for_update, int64_t now_us, hd_arena *arena,
                    Helpdesk__V1__CardVerificationRefund **out, hd_err *err);

/* The rule above: sets v->status and v->message (in arena) for now_us. */
void card_refund_status(Helpdesk__V1__CardVerificationRefund *v, int64_t now_us, hd_arena *arena);

/* Records the refund of the locked, unrefunded *v at now_us and updates *v (status REFUNDED). */
int card_refund_mark_refunded(hd_db *db, const char *tenant,
                              Helpdesk__V1__CardVerificationRefund *v, int64_t now_us,
                              hd_arena *arena, hd_err *err);

/* The audit's JSON object of v. New reference (caller json_decref()s it); NULL when out of
 * memory. */
json_t *card_refund_json(const Helpdesk__V1__CardVerificationRefund *v);

#endif
