/* The facts the KPI keeps of tickets and escalations, written the same way whether a step comes
 * from an event of the stream (kpi_consume.c) or a row of a ticket's history (kpi_rebuild.c):
 * that one path is why a rebuild gives the stream's figures.
 *
 * A step is one change of a ticket: when, by whom, the operation, the ticket's state after it
 * and what it changed. Steps may arrive in any order and are applied so that the result does not
 * depend on it (see migrations/001_init.sql): state by the newest seq, the first response by the
 * oldest, the close that stands by the newest close, counted facts as rows keyed by seq. */
#ifndef KPI_KPI_FACTS_H
#define KPI_KPI_FACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"

/* Rebuilt steps get seq = KPI_REBUILT_SEQ_BASE + their position (1, 2, ...): negative, ordered,
 * below every version an event can carry. */
#define KPI_REBUILT_SEQ_BASE (-1000000000000LL)

/* The seq of a column group that holds nothing yet: below every seq (the columns' default). */
#define KPI_SEQ_NONE (-INT64_MAX)

/* One change of a ticket. Strings borrowed; NULL is "". */
typedef struct kpi_step {
  int64_t seq;            /* the ticket's version after the change, or a rebuilt seq */
  int64_t time_us;        /* when it happened */
  const char *actor_id;   /* who */
  const char *actor_role; /* as which role: "agent", "customer", "system", ... */
  const char *action;     /* the operation: CREATE, ACKNOWLEDGE, CLOSE, TRANSFER, ... */
  bool created;           /* the ticket was created by it */
  /* The ticket after it. */
  const char *customer_id;
  const char *status; /* "CLOSED" */
  const char *owner_id;
  const char *department;
  const char *category; /* "LOWER", "MEDIUM", "HARD"; "" none */
  /* What it changed. */
  bool status_changed;
  bool owner_changed;
  const char *owner_from; /* with owner_changed */
  bool category_changed;
  bool comment; /* it added a message to the conversation */
} kpi_step;

/* True for the operations by which staff speak to the customer (a reply of any intent, another
 * engineer's answer, a comment). */
bool kpi_step_is_message_action(const char *action);

/* True for roles whose messages count as responses: agent, team_lead, supervisor,
 * tenant_admin (not customer, service or system). */
bool kpi_step_is_staff(const char *role);

/* Applies s to ticket ticket_id of tenant inside the caller's transaction. A step whose seq is
 * positive and at or below the ticket's floor_version (set by a rebuild) is already in the facts
 * and is skipped (*applied = false). */
int kpi_facts_apply(hd_db *db, const char *tenant, int64_t ticket_id, const kpi_step *s,
                    int64_t now_us, bool *applied, hd_err *err);

/* Removes what the facts of ticket ticket_id hold from its versions up to upto (and from an
 * earlier rebuild), keeping what newer events wrote, so that a rebuild of the history up to that
 * version writes it anew; inside the caller's transaction. */
int kpi_facts_forget(hd_db *db, const char *tenant, int64_t ticket_id, int64_t upto, hd_err *err);

/* Sets the floor of ticket ticket_id: events up to version floor are in its facts. */
int kpi_facts_set_floor(hd_db *db, const char *tenant, int64_t ticket_id, int64_t floor,
                        int64_t now_us, hd_err *err);

/* What is known of an escalation after one event (or from routing's record). NULL strings and
 * 0 times are "not known here". */
typedef struct kpi_escalation {
  int64_t id;
  int64_t ticket_id;
  const char *kind;       /* "DEPARTMENT", "LEVEL2" */
  const char *status;     /* "OPEN", "ACKNOWLEDGED", "RESOLVED", "BOUNCED"; required */
  const char *created_by; /* who escalated */
  int64_t created_at_us;
  int64_t acknowledged_at_us;
  int64_t ended_at_us; /* resolved or bounced */
} kpi_escalation;

/* Upserts e for tenant inside the caller's transaction: the most advanced status wins, known
 * values fill unknown ones. INVALID_ARGUMENT for an unknown status. */
int kpi_facts_escalation(hd_db *db, const char *tenant, const kpi_escalation *e, int64_t now_us,
                         hd_err *err);

#endif
