/* The service_actions table: what agents did on customers' hosting services, and what the ticket
 * and routing services made of it (migrations/004_service_action_policy.sql). Every call runs in
 * the caller's transaction or on its own; strings of the records live in the arena given. */
#ifndef ACCOUNTS_SERVICE_ACTION_STORE_H
#define ACCOUNTS_SERVICE_ACTION_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/accounts.pb-c.h"
#include "json/json.h"

#define SA_TEXT_MAX           2000 /* description, restore what, result, clean-up note */
#define SA_FILENAME_MAX       255
#define SA_SCREENSHOT_MAX     (5L * 1024 * 1024) /* the ticket's attachment limit */
#define SA_LIST_MAX           500 /* actions ListServiceActions answers for one ticket */
#define SA_ERROR_MAX          500
#define SA_ESCALATION_KEY_PFX "service-action-"

/* A recorded action with what the contract does not show. */
typedef struct sa_row {
  Helpdesk__V1__ServiceActionRecord *rec;
  const char *escalation_mode; /* "ASSIGN", "CONSULT", "" when none */
  int64_t cleanup_record_id;   /* the clean-up's internal record; 0 while pending or none */
} sa_row;

/* Inserts rec (its id set here; create_time_us, recorded_by and the rest from rec) with the
 * escalation mode and the screenshot (NULL, 0: none). */
int sa_store_insert(hd_db *db, const char *tenant, Helpdesk__V1__ServiceActionRecord *rec,
                    const char *escalation_mode, const void *screenshot, size_t screenshot_len,
                    hd_err *err);

/* Action id of tenant (for_update locks it). NOT_FOUND "service action 7 not found". */
int sa_store_get(hd_db *db, const char *tenant, int64_t id, bool for_update, hd_arena *arena,
                 sa_row *out, hd_err *err);

/* The ticket's actions, oldest first (at most SA_LIST_MAX). Arrays in arena. */
int sa_store_list(hd_db *db, const char *tenant, int64_t ticket_id, hd_arena *arena,
                  Helpdesk__V1__ServiceActionRecord ***out, size_t *n, hd_err *err);

/* The screenshot kept for the attachment: *data (in arena) and *len; *len 0 when none. */
int sa_store_screenshot(hd_db *db, const char *tenant, int64_t id, hd_arena *arena, void **data,
                        size_t *len, hd_err *err);

/* What the ticket or routing service answered, kept once: column ("internal_record_id",
 * "attachment_id", "routing_escalation_id", "cleanup_record_id") set to value while still 0
 * (*changed says whether it was), last_error cleared. */
int sa_store_set_sent(hd_db *db, const char *tenant, int64_t id, const char *column, int64_t value,
                      bool *changed, hd_err *err);

/* Why the last call for action id failed (cut to SA_ERROR_MAX bytes). */
int sa_store_set_error(hd_db *db, const char *tenant, int64_t id, const char *error, hd_err *err);

/* Records the clean-up of action id: its time and note. */
int sa_store_set_cleanup(hd_db *db, const char *tenant, int64_t id, const char *note,
                         int64_t now_us, hd_err *err);

/* The audit's JSON of a record (without the screenshot); a new reference, NULL when out of
 * memory. */
json_t *sa_store_json(const Helpdesk__V1__ServiceActionRecord *r);

#endif
