/* What ticket handlers share beyond the per-call vocabulary of rpc/call.h: the service's settings
 * and clock, the caller's tenant and roles, and loading a ticket the caller is allowed to see,
 * with the finer rules on it (the owner, the customer). The roles an RPC requires are in the
 * method table (service.c), checked before the handler runs.
 *
 * A mutating handler reads like this (the body runs inside one transaction, so a failure
 * anywhere leaves nothing behind; it may run again after a deadlock, so it only writes to the
 * database and to its arg):
 *
 *   static int close__tx(hd_db *db, void *arg, hd_err *err) {
 *     close_ctx *x = arg;
 *     Helpdesk__V1__Ticket *t;
 *     if (tk_ticket_load(x->call, db, x->req->ticket_id, true, &t, NULL, err)) return -1;
 *     ...
 *   }
 *   int tickets_close(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs) {
 *     ... check the request's fields with hd_call_check_* (before any database work) ...
 *     return hd_call_tx(call, close__tx, &ctx);
 *   }
 */
#ifndef TICKETS_TICKET_CALL_H
#define TICKETS_TICKET_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "rpc/call.h"
#include "svc/service.h"
#include "ticket_store.h"
#include "tickets_app.h"

static inline const tickets_config *tk_config(const hd_call *c) {
  return tickets_app_config(hd_call_env(c));
}
static inline hd_peer *tk_accounts(const hd_call *c) {
  return ((const tickets_app *)hd_call_env(c)->app)->accounts;
}
static inline int64_t tk_now(const hd_call *c) { return hd_clock_now_us(hd_call_env(c)->clock); }
static inline hd_db *tk_db(const hd_call *c) { return hd_call_worker(c)->db; }
static inline hd_kv *tk_kv(const hd_call *c) { return hd_call_worker(c)->kv; }
static inline const char *tk_tenant(const hd_call *c) { return c->principal->tenant; }
static inline ticket_actor tk_actor(const hd_call *c) { return ticket_actor_of(c->principal); }

/* Holds any staff role (agent, team_lead, supervisor, tenant_admin, service). */
bool tk_is_staff(const hd_principal *p);

/* A customer and nothing else: sees and acts on their own tickets only. */
bool tk_is_customer_only(const hd_principal *p);

/* The ticket's owner: a staff caller whose user id is owner_id (never true for an unowned ticket,
 * nor for a caller without a staff role). */
bool tk_is_owner(const hd_principal *p, const Helpdesk__V1__Ticket *t);

/* Staff answering a ticket someone else owns: the seed's "another engineer or support agent"
 * (false for an unowned ticket, for its owner and for a customer). Their customer-visible answers
 * move the ticket to FEEDBACK for the owner (TICKET_OP_OTHER_ANSWER). */
bool tk_is_other_engineer(const hd_principal *p, const Helpdesk__V1__Ticket *t);

/* Loads ticket id of the caller's tenant (ticket_store_get), and refuses what the caller may not
 * see: a customer asking for another customer's ticket gets NOT_FOUND exactly as for a missing
 * one (ids are not probed). *t and its strings in call->arena. meta may be NULL. */
int tk_ticket_load(hd_call *c, hd_db *db, int64_t id, bool for_update, Helpdesk__V1__Ticket **t,
                   ticket_meta *meta, hd_err *err);

/* The visibility rule tk_ticket_load applies, for a ticket read another way: NOT_FOUND (as for a
 * missing ticket) when a customer-only caller is not the ticket's customer. 0 / -1. */
int tk_ticket_visible(const hd_call *c, const Helpdesk__V1__Ticket *t, hd_err *err);

/* PERMISSION_DENIED "<what> is for the ticket's owner or a <roles>; ticket 42 is owned by bob"
 * unless the caller owns t or holds one of any_of. */
int tk_require_owner_or(hd_call *c, const Helpdesk__V1__Ticket *t, unsigned any_of,
                        const char *what, hd_err *err);

/* Schedules a timer wake-up in Redis after its transaction committed (best effort: MariaDB holds
 * the due time, and the timer loop's sweep finds it without Redis). */
void tk_timer_wake(hd_call *c, int64_t ticket_id, int64_t due_us);

/* The sorted set of timer wake-ups the timer loop watches, one per database (so services and
 * test fixtures sharing a Redis do not take each other's wake-ups):
 * "helpdesk:{tickets}:timers:<database>". 0, or -1 when buf is too small. */
int tickets_timer_zset(const hd_svc_env *env, char *buf, size_t cap);

#endif
