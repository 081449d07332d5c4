/* Escalation rows (the escalations table): to departments (escalations.c) and to Level 2
 * (level2.c). Reading one into the contract's message, creating one, recording the comments and
 * records written on the ticket, undoing a creation whose ticket-side work failed, and the
 * routing events each change publishes (outbox, in the caller's transaction). */
#ifndef ROUTING_ESCALATION_STORE_H
#define ROUTING_ESCALATION_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "rpc/server.h"

#define ESCAL_PRODUCT_MAX 100
#define ESCAL_CONTEXT_MAX 5000
#define ESCAL_LINK_MAX    500
#define ESCAL_NOTE_MAX    20000

/* Routing's events about escalations (the outbox's event_type). */
#define ESCAL_EVENT_CREATED      "routing.escalation_created"
#define ESCAL_EVENT_ACKNOWLEDGED "routing.escalation_acknowledged"
#define ESCAL_EVENT_RESOLVED     "routing.escalation_resolved"
#define ESCAL_EVENT_BOUNCED      "routing.escalation_bounced"
#define ESCAL_EVENT_OVERDUE      "routing.escalation_overdue"

/* The SELECT list escal_from_row reads, in its order (alias e). */
#define ESCAL_COLUMNS                                                                          \
  "e.id, e.ticket_id, e.kind, e.mode, e.from_department, e.to_department, e.status, "          \
  "e.product, e.brand, e.context, e.thread_link, e.created_by, e.created_by_role, "            \
  "e.response_window_s, e.due_at_us, e.overdue, e.last_update_at_us, e.acknowledged_by, "      \
  "e.acknowledged_at_us, e.resolved_by, e.resolution, e.resolved_at_us, e.assign_comment_id, " \
  "e.resolve_comment_id, e.internal_record_id, e.version, e.created_at_us, e.updated_at_us"

/* Row r of rows (selected with ESCAL_COLUMNS) as a message in arena. NULL when out of memory. */
Helpdesk__V1__Escalation *escal_from_row(const hd_db_rows *rows, size_t r, hd_arena *arena);

/* Escalation id of tenant; for_update locks it. NOT_FOUND when there is none. *out in arena. */
int escal_get(hd_db *db, const char *tenant, int64_t id, bool for_update, hd_arena *arena,
              Helpdesk__V1__Escalation **out, hd_err *err);

/* What a new escalation says (strings borrowed). */
typedef struct escal_new {
  int64_t ticket_id;
  Helpdesk__V1__EscalationKind kind;
  Helpdesk__V1__EscalationMode mode;
  const char *from_department, *to_department;
  const char *product, *brand, *context, *thread_link;
  const char *created_by, *created_by_role;
  int64_t response_window_s;
} escal_new;

/* Inserts an OPEN escalation at now_us, due now_us + its window; *id gets its id. Inside the
 * caller's transaction. */
int escal_insert(hd_db *db, const char *tenant, const escal_new *e, int64_t now_us, int64_t *id,
                 hd_err *err);

/* Records what was written on the ticket for escalation id (0 leaves a column alone) and
 * publishes ESCAL_EVENT_CREATED, inside the caller's transaction. */
int escal_created(hd_db *db, const hd_call *c, int64_t id, int64_t assign_comment_id,
                  int64_t internal_record_id, int64_t now_us, hd_err *err);

/* Undoes escalation id and its idempotency key (key may be NULL or ""), in its own transaction:
 * its ticket-side work failed, so nothing of the call stays in routing. Best effort (logged). */
void escal_forget(hd_call *c, int64_t id, const char *key);

/* Appends routing event type about escalation e (as it is after the change) of tenant, by
 * actor_id as actor_role (the caller, or "system" for a timer), at now_us. The payload after the
 * envelope: ticket_id, kind, mode, from_department, to_department, status, due_time_us, overdue,
 * created_by, create_time_us, acknowledge_time_us, resolve_time_us (0: not yet); the kpi
 * service's facts read it (services/kpi/kpi_consume.c). */
int escal_event(hd_db *db, const char *tenant, const char *actor_id, const char *actor_role,
                const char *type, const Helpdesk__V1__Escalation *e, int64_t now_us, hd_err *err);

/* escal_event by the handler's caller. */
int escal_call_event(hd_db *db, const hd_call *c, const char *type,
                     const Helpdesk__V1__Escalation *e, int64_t now_us, hd_err *err);

/* The short names of the contract's escalation enums, as the table stores them. */
const char *escal_kind_name(Helpdesk__V1__EscalationKind k);
const char *escal_mode_name(Helpdesk__V1__EscalationMode m);
const char *escal_status_name(Helpdesk__V1__EscalationStatus s);

/* The response window of department name as tenant sees it (its own row, else the built-in
 * one, by routing_department_get): *window_s; NOT_FOUND naming field when the tenant has no
 * such department. */
int escal_department_window(hd_db *db, const char *tenant, const char *field, const char *name,
                            int64_t *window_s, hd_err *err);

#endif
