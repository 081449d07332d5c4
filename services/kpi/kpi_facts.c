/* Writing ticket and escalation facts (kpi_facts.h). */
#include "kpi_facts.h"

#include <string.h>

static const char *facts__s(const char *s) { return s ? s : ""; }

#define SEQ_NONE "-9223372036854775807" /* KPI_SEQ_NONE in SQL */

bool kpi_step_is_message_action(const char *a) {
  static const char *const MESSAGES[] = {"ACKNOWLEDGE",  "REQUEST_INFO",   "PROPOSE_SOLUTION",
                                         "FOLLOW_UP",    "FOLLOW_UP_LAST", "FINAL_ANSWER",
                                         "OTHER_ANSWER", "COMMENT"};
  if (!a) return false;
  for (size_t i = 0; i < sizeof MESSAGES / sizeof MESSAGES[0]; i++)
    if (strcmp(a, MESSAGES[i]) == 0) return true;
  return false;
}

bool kpi_step_is_staff(const char *r) {
  return r && (strcmp(r, "agent") == 0 || strcmp(r, "team_lead") == 0 ||
               strcmp(r, "supervisor") == 0 || strcmp(r, "tenant_admin") == 0);
}

/* One statement for every column group, each guarded by the seq it came from. MariaDB assigns
 * left to right and later assignments see earlier ones, so each guard column is assigned after
 * the columns it guards. */
static const char FACTS_UPSERT[] =
    "INSERT INTO ticket_facts (tenant, ticket_id, customer_id, state_version, status, owner_id, "
    "department, category, category_version, category_by, category_at_us, created_at_us, "
    "first_response_version, first_response_at_us, first_responder, close_version, "
    "close_action, closed_at_us, closed_owner, updated_at_us) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON DUPLICATE KEY UPDATE "
    "customer_id = IF(VALUES(customer_id) <> '', VALUES(customer_id), customer_id), "
    "status = IF(VALUES(state_version) > state_version, VALUES(status), status), "
    "owner_id = IF(VALUES(state_version) > state_version, VALUES(owner_id), owner_id), "
    "department = IF(VALUES(state_version) > state_version, VALUES(department), department), "
    "category = IF(VALUES(state_version) > state_version, VALUES(category), category), "
    "state_version = GREATEST(state_version, VALUES(state_version)), "
    "category_by = IF(VALUES(category_version) > category_version, VALUES(category_by), "
    "category_by), "
    "category_at_us = IF(VALUES(category_version) > category_version, VALUES(category_at_us), "
    "category_at_us), "
    "category_version = GREATEST(category_version, VALUES(category_version)), "
    "created_at_us = COALESCE(VALUES(created_at_us), created_at_us), "
    "first_response_at_us = IF(VALUES(first_response_version) > " SEQ_NONE
    " AND "
    "(first_response_version = " SEQ_NONE
    " OR "
    "VALUES(first_response_version) < first_response_version), "
    "VALUES(first_response_at_us), first_response_at_us), "
    "first_responder = IF(VALUES(first_response_version) > " SEQ_NONE
    " AND "
    "(first_response_version = " SEQ_NONE
    " OR "
    "VALUES(first_response_version) < first_response_version), "
    "VALUES(first_responder), first_responder), "
    "first_response_version = IF(VALUES(first_response_version) > " SEQ_NONE
    " AND "
    "(first_response_version = " SEQ_NONE
    " OR "
    "VALUES(first_response_version) < first_response_version), "
    "VALUES(first_response_version), first_response_version), "
    "close_action = IF(VALUES(close_version) > close_version, VALUES(close_action), "
    "close_action), "
    "closed_at_us = IF(VALUES(close_version) > close_version, VALUES(closed_at_us), "
    "closed_at_us), "
    "closed_owner = IF(VALUES(close_version) > close_version, VALUES(closed_owner), "
    "closed_owner), "
    "close_version = GREATEST(close_version, VALUES(close_version)), "
    "updated_at_us = VALUES(updated_at_us)";

static int facts__mark(hd_db *db, const char *tenant, int64_t ticket_id, int64_t seq,
                       const char *kind, const char *agent, int64_t at_us, hd_err *err) {
  if (!agent || !*agent) return 0;
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(ticket_id), hd_db_int(seq),
                           hd_db_text(kind),   hd_db_text(agent),    hd_db_int(at_us)};
  return hd_db_exec(
      db,
      "INSERT IGNORE INTO ticket_marks (tenant, ticket_id, seq, kind, agent_id, at_us) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      p, 6, NULL, NULL, err);
}

int kpi_facts_apply(hd_db *db, const char *tenant, int64_t ticket_id, const kpi_step *s,
                    int64_t now_us, bool *applied, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  *applied = false;
  const hd_db_param key[] = {hd_db_text(tenant), hd_db_int(ticket_id)};
  if (hd_db_query(db,
                  "SELECT floor_version FROM ticket_facts WHERE tenant = ? AND ticket_id = ? "
                  "FOR UPDATE",
                  key, 2, 1, &rows, err))
    goto done;
  if (s->seq > 0 && hd_db_rows_count(rows) && s->seq <= hd_db_i64(rows, 0, 0)) {
    rc = 0; /* already in the rebuilt facts */
    goto done;
  }
  const bool message = s->comment && kpi_step_is_message_action(s->action) &&
                       kpi_step_is_staff(s->actor_role) && s->actor_id && *s->actor_id;
  const bool closed = s->status_changed && s->status && strcmp(s->status, "CLOSED") == 0;
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_int(ticket_id),
                           hd_db_text(facts__s(s->customer_id)),
                           hd_db_int(s->seq),
                           hd_db_text(facts__s(s->status)),
                           hd_db_text(facts__s(s->owner_id)),
                           hd_db_text(facts__s(s->department)),
                           hd_db_text(facts__s(s->category)),
                           hd_db_int(s->category_changed ? s->seq : KPI_SEQ_NONE),
                           hd_db_text(s->category_changed ? facts__s(s->actor_id) : ""),
                           s->category_changed ? hd_db_int(s->time_us) : hd_db_null(),
                           s->created ? hd_db_int(s->time_us) : hd_db_null(),
                           hd_db_int(message ? s->seq : KPI_SEQ_NONE),
                           message ? hd_db_int(s->time_us) : hd_db_null(),
                           hd_db_text(message ? s->actor_id : ""),
                           hd_db_int(closed ? s->seq : KPI_SEQ_NONE),
                           hd_db_text(closed ? facts__s(s->action) : ""),
                           closed ? hd_db_int(s->time_us) : hd_db_null(),
                           hd_db_text(closed ? facts__s(s->owner_id) : ""),
                           hd_db_int(now_us)};
  if (hd_db_exec(db, FACTS_UPSERT, p, sizeof p / sizeof p[0], NULL, NULL, err)) goto done;
  if (message &&
      facts__mark(db, tenant, ticket_id, s->seq, "RESPONSE", s->actor_id, s->time_us, err))
    goto done;
  if (s->action && strcmp(s->action, "RESTART") == 0 && s->status_changed &&
      facts__mark(db, tenant, ticket_id, s->seq, "REOPEN", s->owner_id, s->time_us, err))
    goto done;
  if (s->action && strcmp(s->action, "TRANSFER") == 0 && s->owner_changed &&
      facts__mark(db, tenant, ticket_id, s->seq, "TRANSFER", s->owner_from, s->time_us, err))
    goto done;
  *applied = true;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* Resets each column group whose seq is at or below upto (rebuilt ones are negative), so that
 * what an event newer than upto wrote meanwhile stays; guards are assigned last. */
static const char FACTS_FORGET[] =
    "UPDATE ticket_facts SET "
    "status = IF(state_version <= ?, '', status), "
    "owner_id = IF(state_version <= ?, '', owner_id), "
    "department = IF(state_version <= ?, '', department), "
    "category = IF(state_version <= ?, '', category), "
    "state_version = IF(state_version <= ?, " SEQ_NONE
    ", state_version), "
    "category_by = IF(category_version <= ?, '', category_by), "
    "category_at_us = IF(category_version <= ?, NULL, category_at_us), "
    "category_version = IF(category_version <= ?, " SEQ_NONE
    ", category_version), "
    "created_at_us = NULL, "
    "first_response_at_us = IF(first_response_version <= ?, NULL, first_response_at_us), "
    "first_responder = IF(first_response_version <= ?, '', first_responder), "
    "first_response_version = IF(first_response_version <= ?, " SEQ_NONE
    ", first_response_version), "
    "close_action = IF(close_version <= ?, '', close_action), "
    "closed_at_us = IF(close_version <= ?, NULL, closed_at_us), "
    "closed_owner = IF(close_version <= ?, '', closed_owner), "
    "close_version = IF(close_version <= ?, " SEQ_NONE
    ", close_version) "
    "WHERE tenant = ? AND ticket_id = ?";

int kpi_facts_forget(hd_db *db, const char *tenant, int64_t ticket_id, int64_t upto, hd_err *err) {
  const hd_db_param m[] = {hd_db_text(tenant), hd_db_int(ticket_id), hd_db_int(upto)};
  if (hd_db_exec(db, "DELETE FROM ticket_marks WHERE tenant = ? AND ticket_id = ? AND seq <= ?", m,
                 3, NULL, NULL, err))
    return -1;
  hd_db_param p[17];
  for (size_t i = 0; i < 15; i++) p[i] = hd_db_int(upto);
  p[15] = hd_db_text(tenant);
  p[16] = hd_db_int(ticket_id);
  return hd_db_exec(db, FACTS_FORGET, p, 17, NULL, NULL, err);
}

int kpi_facts_set_floor(hd_db *db, const char *tenant, int64_t ticket_id, int64_t floor,
                        int64_t now_us, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(ticket_id), hd_db_int(floor),
                           hd_db_int(now_us)};
  return hd_db_exec(db,
                    "INSERT INTO ticket_facts (tenant, ticket_id, floor_version, updated_at_us) "
                    "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
                    "floor_version = GREATEST(floor_version, VALUES(floor_version))",
                    p, 4, NULL, NULL, err);
}

static const char ESCALATION_UPSERT[] =
    "INSERT INTO escalation_facts (tenant, escalation_id, ticket_id, kind, status, created_by, "
    "created_at_us, acknowledged_at_us, ended_at_us, updated_at_us) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
    "ticket_id = IF(VALUES(ticket_id) > 0, VALUES(ticket_id), ticket_id), "
    "kind = IF(VALUES(kind) <> '', VALUES(kind), kind), "
    "created_by = IF(VALUES(created_by) <> '', VALUES(created_by), created_by), "
    "created_at_us = COALESCE(created_at_us, VALUES(created_at_us)), "
    "acknowledged_at_us = COALESCE(acknowledged_at_us, VALUES(acknowledged_at_us)), "
    "ended_at_us = COALESCE(ended_at_us, VALUES(ended_at_us)), "
    "status = IF(LEAST(FIELD(VALUES(status), 'OPEN', 'ACKNOWLEDGED', 'RESOLVED', 'BOUNCED'), 3) > "
    "LEAST(FIELD(status, 'OPEN', 'ACKNOWLEDGED', 'RESOLVED', 'BOUNCED'), 3), VALUES(status), "
    "status), "
    "updated_at_us = VALUES(updated_at_us)";

static hd_db_param facts__time(int64_t t) { return t > 0 ? hd_db_int(t) : hd_db_null(); }

int kpi_facts_escalation(hd_db *db, const char *tenant, const kpi_escalation *e, int64_t now_us,
                         hd_err *err) {
  static const char *const STATUSES[] = {"OPEN", "ACKNOWLEDGED", "RESOLVED", "BOUNCED"};
  bool known = false;
  for (size_t i = 0; i < 4; i++)
    known = known || (e->status && strcmp(e->status, STATUSES[i]) == 0);
  if (!known)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "escalation %lld has status \"%.32s\"; OPEN, ACKNOWLEDGED, RESOLVED or "
                      "BOUNCED expected",
                      (long long)e->id, facts__s(e->status));
  const hd_db_param p[] = {hd_db_text(tenant),
                           hd_db_int(e->id),
                           hd_db_int(e->ticket_id),
                           hd_db_text(facts__s(e->kind)),
                           hd_db_text(e->status),
                           hd_db_text(facts__s(e->created_by)),
                           facts__time(e->created_at_us),
                           facts__time(e->acknowledged_at_us),
                           facts__time(e->ended_at_us),
                           hd_db_int(now_us)};
  return hd_db_exec(db, ESCALATION_UPSERT, p, sizeof p / sizeof p[0], NULL, NULL, err);
}
