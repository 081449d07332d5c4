/* Helpers every ticket handler shares (see ticket_call.h). */
#include "ticket_call.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log/log.h"
#include "ticket_timers.h"

bool tk_is_staff(const hd_principal *p) { return (p->roles & HD_ROLES_STAFF) != 0; }

bool tk_is_customer_only(const hd_principal *p) {
  return (p->roles & HD_ROLE_CUSTOMER) && !tk_is_staff(p);
}

bool tk_is_owner(const hd_principal *p, const Helpdesk__V1__Ticket *t) {
  /* Staff only: a ticket assigned by mistake to its customer's id (or a token without a staff
   * role that carries an owner's id) gives no owner powers, internal records included. */
  return tk_is_staff(p) && t->owner_id && t->owner_id[0] && strcmp(t->owner_id, p->user_id) == 0;
}

bool tk_is_other_engineer(const hd_principal *p, const Helpdesk__V1__Ticket *t) {
  return tk_is_staff(p) && t->owner_id && t->owner_id[0] && !tk_is_owner(p, t);
}

int tk_ticket_load(hd_call *c, hd_db *db, int64_t id, bool for_update, Helpdesk__V1__Ticket **t,
                   ticket_meta *meta, hd_err *err) {
  if (id <= 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "ticket_id must be a positive id, got %" PRId64,
                      id);
  if (ticket_store_get(db, tk_tenant(c), id, for_update, c->arena, t, meta, err)) return -1;
  return tk_ticket_visible(c, *t, err);
}

int tk_ticket_visible(const hd_call *c, const Helpdesk__V1__Ticket *t, hd_err *err) {
  if (tk_is_customer_only(c->principal) && strcmp(t->customer_id, c->principal->user_id) != 0)
    return hd_err_set(err, HD_NOT_FOUND, "ticket %" PRId64 " not found", t->id);
  return 0;
}

int tk_require_owner_or(hd_call *c, const Helpdesk__V1__Ticket *t, unsigned any_of,
                        const char *what, hd_err *err) {
  if (tk_is_owner(c->principal, t) || (c->principal->roles & any_of)) return 0;
  char roles[128];
  hd_call_roles_text(any_of, roles, sizeof roles);
  if (t->owner_id && t->owner_id[0])
    hd_err_set(err, HD_PERMISSION_DENIED,
               "%s is for the ticket's owner or a %s; ticket %" PRId64 " is owned by %s", what,
               roles, t->id, t->owner_id);
  else
    hd_err_set(err, HD_PERMISSION_DENIED,
               "%s is for the ticket's owner or a %s; ticket %" PRId64
               " has no owner yet (assign it first)",
               what, roles, t->id);
  return hd_err_reason(err, HD_REASON_NOT_OWNER);
}

int tickets_timer_zset(const hd_svc_env *env, char *buf, size_t cap) {
  return hd_timer_zset(env, TICKETS_TIMER_SOURCE, buf, cap, NULL);
}

void tk_timer_wake(hd_call *c, int64_t ticket_id, int64_t due_us) {
  char member[96];
  snprintf(member, sizeof member, "%s:%" PRId64, tk_tenant(c), ticket_id);
  hd_timer_wake(hd_call_env(c), tk_kv(c), TICKETS_TIMER_SOURCE, member, due_us);
}
