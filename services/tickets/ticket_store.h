/* The tickets table and what every change of a ticket writes with it: the one place that turns
 * rows into Helpdesk__V1__Ticket and back, the single change pipeline (optimistic version check,
 * fence check, one history row per changed field, one outbox event, all in the caller's
 * transaction). Lists and history pages: ticket_query.h. Events go through the kit's outbox
 * (svc/outbox.h), CreateTicket's idempotency key through the kit's keys (svc/idem.h).
 *
 * How a mutating handler uses it (everything inside one hd_db_tx body, so a failure anywhere
 * rolls back the ticket, its history and its event together):
 *
 *   Helpdesk__V1__Ticket *t;
 *   ticket_meta meta;
 *   if (ticket_store_get(db, tenant, id, true, arena, &t, &meta, err)) return -1; // locks the row
 *   ... permission checks on t ...
 *   ticket_status to;
 *   if (ticket_transition(TICKET_OP_CLOSE, ticket_status_from_pb(t->status), NULL, &to, err))
 *     return -1;
 *   const ticket_change ch = {.action = "CLOSE", .event_type = TICKET_EVENT_CLOSED, .status = to};
 *   return ticket_store_update(db, tenant, id, req->expected_version, &ch, now_us, &actor, arena,
 *                              &resp_ticket, err);
 *
 * Every function takes the tenant and puts it in every WHERE: a ticket of another tenant is
 * NOT_FOUND exactly like a missing one. Strings passed in are borrowed for the call; strings
 * handed out live in the caller's arena. Inputs are validated by the handlers (lengths, UTF-8,
 * enums); the store trusts them and the schema's column sizes back them up. */
#ifndef TICKETS_TICKET_STORE_H
#define TICKETS_TICKET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "ticket_limits.h"
#include "ticket_state.h"

/* Outbox event types (the Redis stream's `type`); payloads are described at ticket_store_update
 * and ticket_store_event. Handlers pick the one that names their operation. */
#define TICKET_EVENT_CREATED          "ticket.created"
#define TICKET_EVENT_STATUS_CHANGED   "ticket.status_changed" /* default when the status changed */
#define TICKET_EVENT_OWNER_CHANGED    "ticket.owner_changed"  /* default when the owner changed */
#define TICKET_EVENT_UPDATED          "ticket.updated"        /* default otherwise */
#define TICKET_EVENT_REPLIED          "ticket.replied"
#define TICKET_EVENT_CUSTOMER_REPLIED "ticket.customer_replied"
#define TICKET_EVENT_ASSIGNED         "ticket.assigned"
#define TICKET_EVENT_TRANSFERRED      "ticket.transferred"
#define TICKET_EVENT_ESCALATED        "ticket.escalated" /* UpgradeTicket */
#define TICKET_EVENT_CATEGORY_SET     "ticket.category_set"
#define TICKET_EVENT_CLOSED           "ticket.closed"
#define TICKET_EVENT_AUTO_CLOSED      "ticket.auto_closed"
#define TICKET_EVENT_CANCELLED        "ticket.cancelled"
#define TICKET_EVENT_SUSPENDED        "ticket.suspended"
#define TICKET_EVENT_RESUMED          "ticket.resumed"
#define TICKET_EVENT_RESTARTED        "ticket.restarted"
#define TICKET_EVENT_MERGED           "ticket.merged"
#define TICKET_EVENT_COMMENTED        "ticket.commented"
#define TICKET_EVENT_RECORD_ADDED     "ticket.internal_record_added"
#define TICKET_EVENT_ATTACHMENT_ADDED "ticket.attachment_added"
#define TICKET_EVENT_TASK_CHANGED     "ticket.task_changed"
#define TICKET_EVENT_CONSENT_RECORDED "ticket.consent_recorded"
#define TICKET_EVENT_URGED            "ticket.urged"
#define TICKET_EVENT_RELEASED         "ticket.released" /* TransferTicket with release_to_queue */

/* The durable timer a ticket waits on (its due time is Ticket.due_time_us). */
typedef enum ticket_timer_kind {
  TICKET_TIMER_NONE = 0,
  TICKET_TIMER_FOLLOW_UP,  /* the next follow-up of a PENDING_FEEDBACK ticket is due */
  TICKET_TIMER_AUTO_CLOSE, /* a TO_BE_CONFIRMED ticket closes by itself */
} ticket_timer_kind;

/* "FOLLOW_UP", "AUTO_CLOSE" as stored in tickets.timer_kind; NULL for NONE or unknown. */
const char *ticket_timer_kind_name(ticket_timer_kind k);

/* The columns of a ticket that are not in the proto. */
typedef struct ticket_meta {
  int64_t fence;                  /* highest routing fence that wrote the ticket; 0 = none */
  ticket_timer_kind timer_kind;   /* NONE when no timer is set */
  int64_t timer_due_us;           /* 0 when no timer is set */
  int64_t last_customer_reply_us; /* 0 when the customer never replied */
  int64_t followers;              /* agents following the ticket (migration 007) */
} ticket_meta;

/* Who makes a change, for history rows and events. Both borrowed for the call. */
typedef struct ticket_actor {
  const char *user_id; /* a principal's user id, or "system" for timers */
  const char *role;    /* "customer", "agent", ..., or "system" */
} ticket_actor;

/* The actor for a caller: their user id and the most privileged role they hold (tenant_admin,
 * supervisor, team_lead, agent, service, customer in that order). Borrows from p. */
ticket_actor ticket_actor_of(const hd_principal *p);

/* ---- read ---- */

/* Reads ticket id of tenant. for_update locks the row (SELECT ... FOR UPDATE) until the caller's
 * transaction ends: do that before deciding on a change. *out is allocated in arena (strings too)
 * with associated_ticket_ids filled and followed = false (see ticket_store_mark_followed); meta may
 * be NULL. NOT_FOUND "ticket 42 not found" when it does not exist in this tenant. */
int ticket_store_get(hd_db *db, const char *tenant, int64_t id, bool for_update, hd_arena *arena,
                     Helpdesk__V1__Ticket **out, ticket_meta *meta, hd_err *err);

/* A plain (non-locking) read of ticket id with Ticket.followed filled for viewer_id (NULL or ""
 * → false): one query, and a second only when somebody follows the ticket; as ticket_store_get
 * otherwise. */
int ticket_store_get_viewed(hd_db *db, const char *tenant, int64_t id, const char *viewer_id,
                            hd_arena *arena, Helpdesk__V1__Ticket **out, hd_err *err);

/* Sets t->followed: whether viewer_id follows ticket t (false for NULL or empty viewer_id).
 * followers is t's count of followers as read with it (ticket_meta.followers): 0 answers false
 * without reading; TICKET_FOLLOWERS_UNKNOWN when it was not read. */
#define TICKET_FOLLOWERS_UNKNOWN (-1)
int ticket_store_mark_followed(hd_db *db, Helpdesk__V1__Ticket *t, int64_t followers,
                               const char *viewer_id, hd_err *err);

/* ---- create ---- */

/* A new ticket. Strings borrowed; NULL product/brand are empty, NULL or "" department is none. */
typedef struct ticket_new {
  const char *customer_id;
  const char *subject;
  const char *description;
  const char *product;
  const char *brand;
  Helpdesk__V1__ServiceType service_type;
  Helpdesk__V1__IssueType issue_type;
  const char *department;
} ticket_new;

/* Inserts a ticket in PENDING_RESPONSE (version 1, level 1, title = subject, no owner) with its
 * CREATE history row (field status, and department when given) and a ticket.created event.
 * Call inside hd_db_tx. *out_id receives the new id. */
int ticket_store_insert(hd_db *db, const char *tenant, const ticket_new *t, int64_t now_us,
                        const ticket_actor *actor, int64_t *out_id, hd_err *err);

/* The Ticket a successful ticket_store_insert of t just wrote (id, now_us), built without reading
 * it back: what the row holds right after the insert (nobody follows a new ticket, nothing is
 * merged into it). *out and its strings in arena. */
int ticket_store_new_proto(const char *tenant, const ticket_new *t, int64_t id, int64_t now_us,
                           hd_arena *arena, Helpdesk__V1__Ticket **out, hd_err *err);

/* ---- change ---- */

/* A numeric field to set (set = false leaves it unchanged). */
typedef struct ticket_set {
  bool set;
  int64_t value;
} ticket_set;
#define TICKET_SET(v) ((ticket_set){.set = true, .value = (int64_t)(v)})

/* The timer to set or clear (set = false leaves it unchanged). */
typedef struct ticket_timer {
  bool set;
  ticket_timer_kind kind; /* NONE clears the timer */
  int64_t due_us;         /* > 0 with a kind */
} ticket_timer;
#define TICKET_TIMER_SET(k, due) ((ticket_timer){.set = true, .kind = (k), .due_us = (due)})
#define TICKET_TIMER_CLEAR       ((ticket_timer){.set = true, .kind = TICKET_TIMER_NONE})

/* An extra member of an event payload: a string (str, NULL → null) or, with is_int, a number. */
typedef struct ticket_event_field {
  const char *key;
  const char *str;
  int64_t num;
  bool is_int;
} ticket_event_field;
#define TICKET_EV_STR(k, v) ((ticket_event_field){.key = (k), .str = (v)})
#define TICKET_EV_INT(k, v) ((ticket_event_field){.key = (k), .num = (int64_t)(v), .is_int = true})

/* What one operation changes. Zero-initialise and set only what changes (designated
 * initialisers): NULL strings, 0 enums and unset ticket_set / ticket_timer leave a column alone.
 *
 * Rules the store applies by itself:
 *  - a status that becomes CLOSED or CANCELLED sets close_time_us = now and clears the timer
 *    (unless the change sets them); a status that leaves CLOSED/CANCELLED clears close_time_us;
 *  - version + 1 and update_time_us = now on every update, even one that changes no column
 *    (adding a comment is a change of the ticket too). */
typedef struct ticket_change {
  const char *action;        /* required: the operation, for history and event ("FINAL_ANSWER") */
  const char *event_type;    /* NULL → TICKET_EVENT_STATUS_CHANGED / _OWNER_CHANGED / _UPDATED;
                               an update that changes no audited field and has no event_type
                               writes no event */
  ticket_status status;      /* TICKET_STATUS_NONE = unchanged */
  ticket_set suspended_from; /* a ticket_status; TICKET_SET(TICKET_STATUS_NONE) clears it */
  const char *owner_id;      /* NULL = unchanged, "" = no owner */
  const char *department;    /* NULL = unchanged, "" = none */
  const char *title;         /* NULL = unchanged */
  ticket_set level;
  Helpdesk__V1__Category category; /* UNSPECIFIED = unchanged */
  ticket_set follow_up_count;
  ticket_set resolved; /* 0 or 1 */
  ticket_set merged_into_id;
  ticket_set close_time_us; /* 0 clears */
  ticket_set last_customer_reply_us;
  ticket_timer timer;
  int64_t fence; /* > 0: refused with ABORTED unless greater than the stored fence,
                               which it then replaces; 0 = no fence */
  const ticket_event_field *event_fields; /* extra payload members (a comment's id, say) */
  size_t n_event_fields;
  /* A history row of something that is not a column, written with the change's own rows and
   * before them (field "comment", value its id, say; from_value NULL); NULL field: none. */
  const char *note_field;
  const char *note_value;
} ticket_change;

/* Applies change to ticket id of tenant, inside the caller's transaction:
 *  1. locks the row (NOT_FOUND "ticket 42 not found");
 *  2. expected_version != 0 and != the row's → ABORTED "ticket 42 was changed by someone else:
 *     version is now 7, you sent 5";
 *  3. change->fence > 0 and <= the row's fence → ABORTED "ticket 42 was written by a newer claim:
 *     fence 9 is not greater than 12"; a change that sets a status or an owner and would leave
 *     the ticket in an owned status without an owner → FAILED_PRECONDITION (ticket_check_owned:
 *     "ticket 42 has no owner, and a ticket in status PROCESSING must have one: assign it
 *     first (AssignTicket)"), so no operation can write one;
 *  4. UPDATE tickets SET ..., version = version + 1 WHERE tenant = ? AND id = ? AND version = ?;
 *  5. the change's note (note_field), then one ticket_history row per audited field that
 *     changed, all in one INSERT (status, suspended_from, owner_id,
 *     department, title, level, category, follow_up_count, resolved, merged_into_id) with
 *     action, field, from → to (enum names, decimal numbers, "true"/"false" for resolved, "" for
 *     none), actor, role, now;
 *  6. one outbox row: {"event": type, "tenant", "ticket_id", "version" (new), "action",
 *     "actor_id", "actor_role", "time_us", "ticket": {"status", "owner_id", "department",
 *     "customer_id", "category", "level", "service_type", "issue_type"} after the change
 *     (none = null), "changes": {field: {"from", "to"}}, then the change's event_fields}.
 * out (may be NULL; then arena may be NULL too) receives the ticket after the change, in arena.
 * Timers, fence and last_customer_reply_us are columns, not history: they change silently. */
int ticket_store_update(hd_db *db, const char *tenant, int64_t id, int64_t expected_version,
                        const ticket_change *change, int64_t now_us, const ticket_actor *actor,
                        hd_arena *arena, Helpdesk__V1__Ticket **out, hd_err *err);

/* A ticket row the caller has read FOR UPDATE in the current transaction (ticket_store_get with
 * for_update, or tk_ticket_load) and not changed since: ticket_store_update_locked applies a
 * change to it without reading it again. Borrowed. */
typedef struct ticket_locked {
  const Helpdesk__V1__Ticket *ticket;
  ticket_meta meta;
} ticket_locked;

/* ticket_store_update on a row already locked by the caller (steps 2 to 6 above, the same
 * checks and writes, one read fewer). When anything has changed the ticket's row since it was
 * read (a merge counting into its target, say), use ticket_store_update. */
int ticket_store_update_locked(hd_db *db, const char *tenant, const ticket_locked *row,
                               int64_t expected_version, const ticket_change *change,
                               int64_t now_us, const ticket_actor *actor, hd_arena *arena,
                               Helpdesk__V1__Ticket **out, hd_err *err);

/* One history row for something that is not a ticket column (a comment, an attachment, a task
 * added: field "comment", to_value its id). from/to may be NULL (stored as NULL, read as ""). */
int ticket_store_history_append(hd_db *db, const char *tenant, int64_t ticket_id,
                                const ticket_actor *actor, const char *action, const char *field,
                                const char *from_value, const char *to_value, int64_t now_us,
                                hd_err *err);

/* One outbox row (hd_outbox_append) with the standard envelope {"event", "tenant", "ticket_id",
 * "actor_id", "actor_role", "time_us"} followed by fields[0..n). INTERNAL for a field named like
 * an envelope member or twice. */
int ticket_store_event(hd_db *db, const char *tenant, int64_t ticket_id, const char *event_type,
                       const ticket_actor *actor, int64_t now_us, const ticket_event_field *fields,
                       size_t n, hd_err *err);

/* ---- timers ---- */

/* A ticket whose timer is due. */
typedef struct ticket_due {
  char tenant[HD_TENANT_MAX + 1];
  int64_t id;
  ticket_timer_kind kind;
  int64_t due_us;
} ticket_due;

/* Takes up to max (1..HD_PAGE_SIZE_MAX) tickets whose timer is due (timer_due_us <= now_us), the
 * earliest first, and locks them with FOR UPDATE SKIP LOCKED, so scheduler replicas running at
 * once never take the same ticket. Call inside hd_db_tx and apply each one with
 * ticket_store_update in the same transaction, re-checking the status there (a customer reply
 * clears the timer, so an answered ticket is no longer due). *out in arena (NULL when *n == 0). */
int ticket_store_take_due(hd_db *db, int64_t now_us, size_t max, hd_arena *arena, ticket_due **out,
                          size_t *n, hd_err *err);

#endif
